"""Coherence (qlwork.analysis.coherence) and indicator profiles (qlwork.analysis.profile).

Oracles: hand computations (arithmetic in comments), independent second
methods (Hoyt's ANOVA for α, eigen-decomposition for PCA), and COINr's
published ASEM results (RawStatTable, RawCorrelations, v06_Aggregated) in
../shared/reference/coinr-asem (see its README for provenance).
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from qlwork.analysis import coherence as C
from qlwork.errors import QlworkError
from qlwork.framework import load_framework
from qlwork.analysis.profile import indicator_profile, outlier_units, to_long

# vendored copy of ../shared/reference/coinr-asem (byte-identical; see tests/data/coinr_asem/README.md)
ASEM = Path(__file__).resolve().parent / "data" / "coinr_asem"

# fmsb::CronbachAlpha example data (Nakazawa; fmsb docs, citing Bland & Altman BMJ 1997).
QUEST = pd.DataFrame({
    "Q1": [1, 5, 2, 3, 4, 2, 3, 4, 3, 2],
    "Q2": [2, 4, 1, 2, 4, 1, 2, 5, 2, 1],
    "Q3": [2, 5, 1, 3, 3, 2, 2, 4, 2, 2]}, dtype=float)


def small_framework():
    return load_framework({"id": "T", "name": "测试指数", "children": [
        {"id": "A", "name": "甲维度", "weight": 0.6, "children": [
            {"id": "a1", "name": "甲一", "weight": 0.5, "direction": 1},
            {"id": "a2", "name": "甲二", "weight": 0.3, "direction": 1},
            {"id": "a3", "name": "甲三（逆向）", "weight": 0.2, "direction": -1}]},
        {"id": "B", "name": "乙维度", "weight": 0.4, "children": [
            {"id": "b1", "name": "乙一", "weight": 0.5, "direction": 1},
            {"id": "b2", "name": "乙二", "weight": 0.5, "direction": 1}]}]})


def small_data(n=200, seed=7, flip_a2=False):
    rng = np.random.default_rng(seed)
    fa, fb = rng.normal(size=n), rng.normal(size=n)
    d = pd.DataFrame({
        "a1": 50 + 10 * (fa + 0.5 * rng.normal(size=n)),
        "a2": 50 + 10 * ((-fa if flip_a2 else fa) + 0.5 * rng.normal(size=n)),
        "a3": 5 - 1 * (fa + 0.5 * rng.normal(size=n)),  # a "less is better" count: low when fa high
        "b1": 70 + 5 * (fb + 0.7 * rng.normal(size=n)),
        "b2": 70 + 5 * (fb + 0.7 * rng.normal(size=n)),
    }, index=[f"U{i:04d}" for i in range(n)])
    return d


# ------------------------------------------------------------ Cronbach's α
def test_alpha_hand_computation_quest():
    # Item SS (n−1 cancels): Q1 12.9, Q2 18.4, Q3 12.4 → Σ = 43.7.
    # Row totals 5,14,4,8,11,5,7,13,7,5 (mean 7.9) → SS = 114.9.
    # α = 3/2 · (1 − 43.7/114.9) = 1.5 · 71.2/114.9 = 106.8/114.9 = 0.929504…
    assert C.cronbach_alpha(QUEST) == pytest.approx(106.8 / 114.9, abs=1e-12)
    assert C.cronbach_alpha(QUEST, missing="pairwise") == pytest.approx(106.8 / 114.9, abs=1e-12)


# pingouin's "cronbach_wide_missing" data set (real-statistics.com; raphaelvallat/pingouin
# src/pingouin/datasets/cronbach_wide_missing.csv): 12 respondents × 11 binary items, 4 blanks.
WIDE_MISSING = """Q1,Q2,Q3,Q4,Q5,Q6,Q7,Q8,Q9,Q10,Q11
1,1,1,1,1,1,1,1,1,1,1
1,1,1,1,1,1,1,1,0,1,0
,0,1,1,,1,1,1,1,0,0
1,1,1,0,1,1,0,1,1,0,0
1,1,1,1,1,0,0,0,1,0,0
0,1,,0,1,1,1,1,0,0,0
1,1,1,1,0,0,1,0,0,0,0
1,1,1,1,1,0,0,0,0,0,0
0,1,0,1,1,0,0,0,0,1,0
1,0,0,1,0,1,0,0,,0,0
1,1,1,0,0,0,0,0,0,0,0
1,0,0,1,0,0,0,0,0,0,0
"""


def test_alpha_matches_r_psych_published():
    import io

    d = pd.read_csv(io.StringIO(WIDE_MISSING))
    # Published in pingouin's docs, checked there against R:
    #   psych::alpha(data, use = "pairwise")     → 0.732660835214447
    #   psych::alpha(data, use = "complete.obs") → 0.8016949152542373
    assert C.cronbach_alpha(d, missing="pairwise") == pytest.approx(0.732660835214447, abs=1e-12)
    assert C.cronbach_alpha(d, missing="listwise") == pytest.approx(0.8016949152542373, abs=1e-12)


def test_alpha_if_deleted_hand():
    # Without Q3: Q1+Q2 = 3,9,3,5,8,3,5,9,5,3 (mean 5.3), SS = 56.1;
    # α = 2 · (1 − (12.9 + 18.4)/56.1) = 2 · 24.8/56.1 = 0.884135…
    s = C.alpha_if_deleted(QUEST)
    assert s["Q3"] == pytest.approx(2 * 24.8 / 56.1, abs=1e-12)


def _hoyt_alpha(M: np.ndarray) -> float:
    """Hoyt (1941): α = 1 − MS_residual / MS_persons from a persons × items two-way ANOVA."""
    n, k = M.shape
    g = M.mean()
    ss_p = k * ((M.mean(axis=1) - g) ** 2).sum()
    ss_i = n * ((M.mean(axis=0) - g) ** 2).sum()
    ss_t = ((M - g) ** 2).sum()
    ms_p = ss_p / (n - 1)
    ms_e = (ss_t - ss_p - ss_i) / ((n - 1) * (k - 1))
    return 1 - ms_e / ms_p


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(5, 30), st.integers(2, 6)),
              elements=st.floats(-50, 50, allow_nan=False, allow_infinity=False).map(lambda v: round(v, 2))))
def test_alpha_equals_hoyt_anova_and_is_permutation_invariant(M):
    if (M.std(axis=0) == 0).any() or M.sum(axis=1).std() == 0:
        return
    a = C.cronbach_alpha(M)
    assert a == pytest.approx(_hoyt_alpha(M), rel=1e-7, abs=1e-7)
    assert a <= 1 + 1e-12
    assert C.cronbach_alpha(M[::-1, ::-1]) == pytest.approx(a, rel=1e-9, abs=1e-9)


def test_standardized_alpha_equals_alpha_of_z_scores():
    Z = (QUEST - QUEST.mean()) / QUEST.std()
    assert C.standardized_alpha(QUEST) == pytest.approx(C.cronbach_alpha(Z), abs=1e-12)


def test_alpha_missing_handling():
    d = QUEST.copy()
    d.iloc[0, 0] = np.nan
    # listwise = α of the other 9 rows
    assert C.cronbach_alpha(d) == pytest.approx(C.cronbach_alpha(QUEST.iloc[1:]))
    # pairwise: covariance from pandas' pairwise-complete cov
    cv = d.cov().to_numpy()
    expected = 3 / 2 * (1 - np.trace(cv) / cv.sum())
    assert C.cronbach_alpha(d, missing="pairwise") == pytest.approx(expected)
    assert np.isnan(C.cronbach_alpha(QUEST[["Q1"]]))


def test_node_alpha_table():
    fw, d = small_framework(), small_data()
    t = C.node_alpha(d, fw).set_index("node")
    assert list(t.index) == ["A", "B"]
    assert t.loc["A", "k"] == 3 and t.loc["A", "n"] == 200
    # Directions applied + min–max: α equals the α of the prepared columns.
    prep = d.copy()
    prep["a3"] = -prep["a3"]
    prep = (prep - prep.min()) / (prep.max() - prep.min()) * 100
    assert t.loc["A", "alpha"] == pytest.approx(C.cronbach_alpha(prep[["a1", "a2", "a3"]]))
    assert t.loc["A", "alpha"] > 0.7  # one common factor
    assert t.attrs["params"]["missing"] == "listwise"


# ------------------------------------------------------------ correlations
@pytest.fixture(scope="module")
def coinr_xlsx():
    p = ASEM / "COINrDoc_ASEM_results.xlsx"
    return pd.read_excel(p, sheet_name=None, engine="openpyxl")


def test_correlation_matrix_matches_coinr_published(coinr_xlsx):
    raw = coinr_xlsx["DataRaw"].set_index("UnitCode")
    pub = coinr_xlsx["RawCorrelations"].set_index("IndCode")
    inds = list(pub.index)
    R = C.correlation_matrix(raw[inds])
    P = pub[inds].to_numpy(float)
    off = ~np.eye(len(inds), dtype=bool)  # COINr leaves the diagonal empty
    np.testing.assert_allclose(R.to_numpy()[off], P[off], atol=1e-9)


def test_correlations_tidy_and_spearman_second_method():
    from scipy import stats

    fw, d = small_framework(), small_data()
    t = C.correlations(d, fw)
    assert len(t) == 2 * (5 * 4 // 2)
    row = t[(t.method == "spearman") & (t.indicator_a == "a1") & (t.indicator_b == "b2")].iloc[0]
    assert row["r"] == pytest.approx(stats.spearmanr(d["a1"], d["b2"]).statistic)
    assert not row["same_node"] and row["name_a"] == "甲一"
    within = t[(t.method == "pearson") & t.same_node]
    assert set(zip(within.indicator_a, within.indicator_b)) == {("a1", "a2"), ("a1", "a3"), ("a2", "a3"), ("b1", "b2")}
    # a3 is "less is better": after directions are applied it correlates positively with a1.
    assert within.set_index(["indicator_a", "indicator_b"]).loc[("a1", "a3"), "r"] > 0.5
    raw = C.correlations(d, fw, prepare="none")
    assert raw.set_index(["method", "indicator_a", "indicator_b"]).loc[("pearson", "a1", "a3"), "r"] < -0.5


def test_direction_check_flags_wrong_direction():
    fw = small_framework()
    ok = C.direction_check(small_data(), fw)
    assert not ok["flag"].any()
    bad = C.direction_check(small_data(flip_a2=True), fw).set_index("indicator_id")
    # a2 now moves against a1 and a3 — but a1 then also disagrees with (a2+a3)/2 only weakly;
    # the clear signal is a2's corrected item–total correlation.
    assert bad.loc["a2", "flag"]
    assert bad.loc["a2", "r_rest"] < -0.3
    assert "方向" in bad.loc["a2", "reason"]
    assert not bad.loc["b1", "flag"]


def test_node_correlation_rest_is_mean_of_siblings():
    fw, d = small_framework(), small_data()
    t = C.node_correlations(d, fw).set_index("indicator_id")
    prep = d.copy()
    prep["a3"] = -prep["a3"]
    prep = (prep - prep.min()) / (prep.max() - prep.min()) * 100
    rest = prep[["a2", "a3"]].mean(axis=1)
    assert t.loc["a1", "r_rest"] == pytest.approx(np.corrcoef(prep["a1"], rest)[0, 1])
    node_a = 0.5 * prep["a1"] + 0.3 * prep["a2"] + 0.2 * prep["a3"]
    assert t.loc["a1", "r_node"] == pytest.approx(np.corrcoef(prep["a1"], node_a)[0, 1])


# -------------------------------------------------------------------- PCA
def test_pca_two_variables_hand():
    # Two standardised variables with correlation r have eigenvalues 1 ± r;
    # PC1 loadings are both √((1+r)/2)·√... = √((1+r)/2) · … → each loading² = (1+r)/2.
    rng = np.random.default_rng(3)
    x = rng.normal(size=500)
    y = 0.6 * x + rng.normal(size=500)
    r = np.corrcoef(x, y)[0, 1]
    ev, L = C.pca(np.c_[x, y])
    np.testing.assert_allclose(ev, [1 + r, 1 - r], atol=1e-12)
    np.testing.assert_allclose(L[:, 0] ** 2, [(1 + r) / 2] * 2, atol=1e-12)
    assert (L[:, 0] > 0).all()


def test_pca_matches_eigendecomposition_of_correlation_matrix():
    d = small_data()
    ev, L = C.pca(d.to_numpy())
    R = d.corr().to_numpy()
    w, V = np.linalg.eigh(R)
    np.testing.assert_allclose(ev, w[::-1], atol=1e-10)
    # Loadings reproduce the correlation matrix: L Lᵀ = R (all components kept).
    np.testing.assert_allclose(L @ L.T, R, atol=1e-10)


def test_node_pca_tables():
    fw, d = small_framework(), small_data()
    res = C.node_pca(d, fw)
    v = res.variance
    assert set(v.node) == {"A", "B"}
    assert v.groupby("node")["explained"].sum().to_numpy() == pytest.approx([1.0, 1.0])
    assert v[v.node == "A"]["cumulative"].iloc[-1] == pytest.approx(1.0)
    f = res.first_components()
    assert f.loc["A", "pc1_explained"] > 0.6 and f.loc["A", "n_eigen_gt1"] == 1
    assert len(res.loadings) == 3 * 3 + 2 * 2
    assert "PC1" in repr(res)


# ------------------------------------------------------- effective weights
def test_effective_weights_orthogonal_hand():
    # Exactly orthogonal, equal-variance columns (orthonormal basis, centred): with
    # y = 0.5 x1 + 0.3 x2 + 0.2 x3, Var(y) ∝ 0.25 + 0.09 + 0.04 = 0.38, so
    # r² = variance share = (0.25, 0.09, 0.04)/0.38 = (0.6579, 0.2368, 0.1053).
    rng = np.random.default_rng(1)
    A = rng.normal(size=(50, 4))
    A[:, 0] = 1.0
    Q, _ = np.linalg.qr(A)
    X = pd.DataFrame(Q[:, 1:] * 10 + 50, columns=["x1", "x2", "x3"])
    w = pd.Series({"x1": 0.5, "x2": 0.3, "x3": 0.2})
    y = X @ w
    t = C.effective_weights(X, weights=w, index=y).set_index("indicator_id")
    expected = np.array([0.25, 0.09, 0.04]) / 0.38
    np.testing.assert_allclose(t["r2"], expected, atol=1e-12)
    np.testing.assert_allclose(t["variance_share"], expected, atol=1e-12)
    np.testing.assert_allclose(t["r2_share"], expected, atol=1e-12)  # Σ r² = 1 here
    np.testing.assert_allclose(t["ratio"], expected / w.to_numpy(), atol=1e-12)
    # ratios 1.316, 0.789, 0.526: none outside [0.5, 2]; with low = 0.6 x3 is 偏低.
    assert (t["flag"] == "").all()
    t2 = C.effective_weights(X, weights=w, index=y, low=0.6).set_index("indicator_id")
    assert t2["flag"].to_dict() == {"x1": "", "x2": "", "x3": "偏低"}


def test_effective_weights_variance_shares_sum_to_one_with_framework():
    fw, d = small_framework(), small_data()
    t = C.effective_weights(d, fw)
    assert t["variance_share"].sum() == pytest.approx(1.0)
    assert t["nominal_weight"].sum() == pytest.approx(1.0)
    assert t["nominal_weight"].tolist() == pytest.approx([0.3, 0.18, 0.12, 0.2, 0.2])


# ----------------------------------------------------- node scores + ASEM
def asem_framework():
    meta = pd.read_csv(ASEM / "ASEM_iMeta.csv")
    meta = meta[meta.Type.isin(["Indicator", "Aggregate"])]

    def node(code):
        r = meta[meta.iCode == code].iloc[0]
        kids = meta[meta.Parent == code]
        if len(kids) == 0:
            return {"id": code, "name": r.iName, "direction": int(r.Direction)}
        ws = kids.Weight.astype(float) / kids.Weight.astype(float).sum()
        return {"id": code, "name": r.iName,
                "children": [{**node(c), "weight": float(w)} for c, w in zip(kids.iCode, ws)]}

    return load_framework(node("Index"))


@pytest.fixture(scope="module")
def asem():
    fw = asem_framework()
    norm = pd.read_csv(ASEM / "v06_Normalised.csv").set_index("UnitCode")[fw.indicator_ids]
    agg = pd.read_csv(ASEM / "v06_Aggregated.csv").set_index("UnitCode")
    return fw, norm, agg


def test_node_scores_match_coinr_aggregated(asem):
    fw, norm, agg = asem
    S = C.node_scores(norm, fw, prepare="none")
    for n in fw.node_ids:
        np.testing.assert_allclose(S[n].to_numpy(), agg[n].to_numpy(), atol=1e-9, err_msg=n)


def test_coherence_report_on_asem(asem):
    fw, norm, _ = asem
    rep = C.coherence_report(norm, fw, prepare="none")
    t = rep.to_frame()
    assert len(t) == 8 and t["k"].sum() == 49
    assert rep.effective_weights["variance_share"].sum() == pytest.approx(1.0)
    assert len(rep.correlations) == 2 * 49 * 48 // 2
    assert {"indicator_id", "flag", "reason"} <= set(rep.flagged.columns)
    assert "CoherenceReport(8 nodes" in repr(rep)


def test_index_result_input_uses_its_tables():
    fw, d = small_framework(), small_data()
    norm = C._inputs(d, fw).X
    scores = C.node_scores(norm, fw, prepare="none").rename(columns={"T": "total"})
    fake = SimpleNamespace(normalized=norm, framework=fw, scores=scores, leaf_weights=fw.leaf_weights())
    t1 = C.effective_weights(fake)
    t2 = C.effective_weights(d, fw)
    np.testing.assert_allclose(t1["r"], t2["r"], atol=1e-12)
    assert t1.attrs["params"]["index"] == "total"
    a = C.node_alpha(fake)
    assert a.attrs["params"]["prepare"] == "index_result"


def test_bad_inputs_are_located_errors():
    fw = small_framework()
    with pytest.raises(QlworkError, match="没有框架的任何指标列"):
        C.node_alpha(pd.DataFrame({"x": [1.0, 2.0]}), fw)
    with pytest.raises(QlworkError, match="需要指标体系"):
        C.node_alpha(small_data())
    with pytest.raises(QlworkError, match="pearson 或 spearman"):
        C.correlation_matrix(small_data(), method="kendall")
    with pytest.raises(QlworkError, match="需要宽表"):
        C.correlation_matrix([1, 2, 3])


def test_inputs_not_mutated():
    fw, d = small_framework(), small_data()
    before = d.copy()
    C.coherence_report(d, fw)
    pd.testing.assert_frame_equal(d, before)


# -------------------------------------------------------------- profiles
def test_profile_matches_coinr_published_stat_table(coinr_xlsx):
    raw = coinr_xlsx["DataRaw"].set_index("UnitCode")
    pub = coinr_xlsx["RawStatTable"].set_index("Indicator")
    p = indicator_profile(raw[list(pub.index)]).set_index("indicator_id")
    pairs = {"Min": "min", "Max": "max", "Mean": "mean", "Median": "median", "Q.25": "q1", "Q.75": "q3",
             "Std.dev": "sd", "Skew": "skew", "Kurtosis": "kurtosis", "N.missing": "n_missing",
             "Low.Outliers.IQR": "n_low_iqr", "High.Outliers.IQR": "n_high_iqr"}
    for theirs, ours in pairs.items():
        np.testing.assert_allclose(p[ours].astype(float), pub[theirs].astype(float), rtol=1e-9, atol=1e-9,
                                   err_msg=theirs)
    assert (p["outlier_flag"] == pub["SK.outlier.flag"].eq("Outliers")).all()
    # COINr's Frac.Zero divides by all units (incl. missing).
    np.testing.assert_allclose(p["n_zero"] / (p["n"] + p["n_missing"]), pub["Frac.Zero"], atol=1e-12)


def _long_example():
    # Two periods, two unit types; "x" applies to both, "y" only to 学校 (via framework).
    fw = load_framework({"id": "R", "name": "根", "children": [
        {"id": "G", "name": "目标", "weight": 1.0, "children": [
            {"id": "x", "name": "指标x", "weight": 0.5, "direction": 1},
            {"id": "y", "name": "指标y", "weight": 0.5, "direction": 1, "applies_to": ["学校"]}]}]})
    units = pd.DataFrame({"unit_id": ["u1", "u2", "u3", "u4"], "unit_type": ["机关", "机关", "学校", "学校"]})
    rows = [("u1", "2024H2", "x", 1.0), ("u2", "2024H2", "x", 3.0), ("u3", "2024H2", "x", 0.0),
            ("u4", "2024H2", "x", 2.0), ("u3", "2024H2", "y", 5.0), ("u4", "2024H2", "y", np.nan),
            ("u1", "2025H1", "x", 4.0),  # u2 has no 2025H1 row at all → missing
            ("u3", "2025H1", "x", 0.0), ("u4", "2025H1", "x", 0.0), ("u3", "2025H1", "y", 6.0),
            ("u4", "2025H1", "y", 8.0),
            ("u1", "2024H2", "y", 9.0)]  # y does not apply to 机关: excluded, not counted
    return fw, units, pd.DataFrame(rows, columns=["unit_id", "period", "indicator_id", "value"])


def test_profile_missingness_applicability_and_drift():
    fw, units, values = _long_example()
    p = indicator_profile(values, units=units, framework=fw)
    assert p.attrs["params"]["by"] == ["unit_type", "period"]
    k = p.set_index(["unit_type", "period", "indicator_id"])
    # 机关 x 2025H1: u1 = 4, u2 absent → expected 2, n 1, missing 50 %.
    r = k.loc[("机关", "2025H1", "x")]
    assert (r["n_expected"], r["n"], r["n_missing"], r["missing_share"]) == (2, 1, 1, 0.5)
    # y never profiled for 机关 (not applicable), so u1's stray value is ignored.
    assert ("机关", "2024H2", "y") not in k.index
    # 学校 y 2024H2: u3 = 5, u4 NaN → n 1 of 2.
    assert k.loc[("学校", "2024H2", "y"), "n_missing"] == 1
    # 学校 x: 2024H2 values 0, 2 (mean 1, one zero); 2025H1 0, 0 (mean 0, two zeros).
    a, b = k.loc[("学校", "2024H2", "x")], k.loc[("学校", "2025H1", "x")]
    assert a["zero_share"] == 0.5 and b["zero_share"] == 1.0
    assert b["prev_period"] == "2024H2"
    assert b["mean_change"] == pytest.approx(-1.0)
    # drift_z = −1 / √((sd_t² + sd_{t−1}²)/2) = −1 / √((0 + 2)/2) = −1  (sd of 0,2 = √2)
    assert b["drift_z"] == pytest.approx(-1.0)
    assert np.isnan(a["mean_change"])
    assert list(p.columns[:4]) == ["unit_type", "period", "indicator_id", "name"]


def test_profile_without_registry_and_outlier_units():
    rng = np.random.default_rng(5)
    v = np.r_[rng.normal(10, 1, 60), [60.0, 80.0]]
    wide = pd.DataFrame({"x": v, "z": rng.normal(size=62)}, index=[f"u{i}" for i in range(62)])
    p = indicator_profile(wide).set_index("indicator_id")
    assert p.loc["x", "outlier_flag"] and not p.loc["z", "outlier_flag"]
    o = outlier_units(wide)
    assert list(o["unit_id"][:2]) == ["u61", "u60"]
    assert (o["indicator_id"] == "x").all() and (o["side"] == "high").all()
    assert len(to_long(wide)) == 124


def test_real_index_result_agrees_with_own_aggregation():
    # Two implementations must agree: qlwork.engine.index (min–max, arithmetic, no imputation)
    # and this module's direction + min–max preparation and re-normalised aggregation.
    from qlwork.engine.index import compute_index

    fw, d = small_framework(), small_data()
    res = compute_index(d, fw)
    mine = C.node_scores(d, fw)
    for n in ("A", "B", "T"):
        np.testing.assert_allclose(res.scores[n].to_numpy(), mine[n].to_numpy(), atol=1e-9)
    t_res = C.effective_weights(res)
    t_df = C.effective_weights(d, fw)
    np.testing.assert_allclose(t_res["r"], t_df["r"], atol=1e-9)
    assert t_res["variance_share"].sum() == pytest.approx(1.0)
    assert len(C.coherence_report(res).to_frame()) == 2
