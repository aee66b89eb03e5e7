"""Agreement (CCC, Bland–Altman, rank correlations), models, divergence flags."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from qlwork.analysis.compare import agreement, bland_altman, divergence, fit_models, lins_ccc, p_bottom_n

X = [1, 2, 3, 4, 5]
Y = [2, 1, 4, 3, 6]


def test_ccc_by_hand():
    # x̄ = 3, ȳ = 3.2; Σdx² = 10, Σdy² = 14.8, Σdxdy = 10
    # 1/n moments: s_x² = 2, s_y² = 2.96, s_xy = 2 → ρc = 4/(2 + 2.96 + 0.04) = 0.8
    r = lins_ccc(X, Y)
    assert r.ccc == pytest.approx(0.8)
    assert r.pearson_r == pytest.approx(2 / math.sqrt(2 * 2.96))
    # n−1 moments: 2.5, 3.7, 2.5 → ρc = 5/(2.5 + 3.7 + 0.04) = 0.801282…
    assert lins_ccc(X, Y, ddof=1).ccc == pytest.approx(5 / 6.24)


def test_ccc_interval_epir_route():
    # second route, as R epiR::epi.ccc computes it: Lin's asymptotic SE of ρc
    # (sep), then the delta method for z = atanh(ρc): se_z = sep/(1 − ρc²).
    rng = np.random.default_rng(1)
    x = rng.normal(70, 10, 40)
    y = x + rng.normal(2, 5, 40)
    k = len(x)
    sx2, sy2 = x.var(), y.var()
    r = np.corrcoef(x, y)[0, 1]
    p = 2 * r * math.sqrt(sx2 * sy2) / (sx2 + sy2 + (y.mean() - x.mean()) ** 2)
    u = (y.mean() - x.mean()) / (sx2 * sy2) ** 0.25
    sep = math.sqrt(((1 - r**2) * p**2 * (1 - p**2) / r**2 + 2 * p**3 * (1 - p) * u**2 / r
                     - 0.5 * p**4 * u**4 / r**2) / (k - 2))
    t = math.atanh(p)
    set_ = sep / (1 - p**2)
    res = lins_ccc(x, y)
    assert res.ccc == pytest.approx(p)
    assert res.ci_low == pytest.approx(math.tanh(t - 1.959964 * set_), abs=1e-6)
    assert res.ci_high == pytest.approx(math.tanh(t + 1.959964 * set_), abs=1e-6)
    assert res.ci_low < res.ccc < res.ci_high


def test_bland_altman_by_hand():
    # d = x − y = (−1, 1, −1, 1, −1): bias = −0.2; deviations (−.8, 1.2, −.8, 1.2, −.8),
    # Σ = 4.8, SD² = 4.8/4 = 1.2; LoA = −0.2 ± 1.96·√1.2
    r = bland_altman(X, Y)
    sd = math.sqrt(1.2)
    assert r.bias == pytest.approx(-0.2)
    assert r.sd == pytest.approx(sd)
    assert r.loa_low == pytest.approx(-0.2 - 1.96 * sd)
    assert r.loa_high == pytest.approx(-0.2 + 1.96 * sd)
    t4 = 2.7764451  # t(0.975, 4)
    assert r.bias_ci[0] == pytest.approx(-0.2 - t4 * sd / math.sqrt(5), rel=1e-6)
    # SE(LoA) = √(3·SD²/n) = √0.72
    assert r.loa_high_ci[1] == pytest.approx(-0.2 + 1.96 * sd + t4 * math.sqrt(0.72), rel=1e-6)


def _frame(seed=0, m=120):
    rng = np.random.default_rng(seed)
    t = rng.choice(["机关", "学校", "医院"], m)
    c = rng.choice(["甲县", "乙县", "丙县", "丁县"], m)
    internal = rng.normal(80, 6, m)
    public = 0.8 * internal + 14 + rng.normal(0, 3, m)
    se = rng.uniform(1.5, 4, m)
    return pd.DataFrame({"unit_id": [f"U{i:04d}" for i in range(m)], "unit_type": t, "county": c,
                         "internal": internal, "public": public, "public_se": se})


def test_agreement_table_uses_scipy_tau_b():
    d = _frame()
    a = agreement(d)
    assert set(a.index) == {"全部", "机关", "学校", "医院"}
    sub = d[d["unit_type"] == "学校"]
    assert a.loc["学校", "kendall_tau_b"] == pytest.approx(stats.kendalltau(sub["internal"], sub["public"])[0])
    assert a.loc["全部", "ccc"] == pytest.approx(lins_ccc(d["internal"], d["public"]).ccc)


def test_models_recover_slope():
    d = _frame(1, 300)
    m = fit_models(d)
    assert m.wls.params["internal"] == pytest.approx(0.8, abs=0.1)
    assert m.mixed is not None
    assert "MixedLM" in set(m.to_frame()["model"])


def test_divergence_flags_planted_units():
    d = _frame(2, 200)
    planted = d.index[d["internal"] > d.groupby("unit_type")["internal"].transform("median")][:5]
    d.loc[planted, "public"] -= 25
    out = divergence(d, draws=500)
    assert out.loc[planted, "flag_low_public"].all()
    assert (out.loc[planted, "quadrant"] == "专业分高、获得感低").all()
    assert out["flag_low_public"].sum() <= 8
    # BH-adjusted p are never smaller than raw p
    assert (out["p_gap_adj"] >= out["p_gap"] - 1e-15).all()


def test_p_bottom_by_hand_and_seeded():
    # well separated scores: the three lowest are certain, the rest impossible
    p = p_bottom_n([10, 20, 30, 90, 95], [0.1] * 5, n_bottom=3, draws=200)
    assert p["p_bottom"].tolist() == [1, 1, 1, 0, 0]
    # two tied units competing for one bottom slot: ≈ 0.5 each
    q = p_bottom_n([50, 50, 90], [5, 5, 0.1], n_bottom=1, draws=4000, seed=3)
    assert q["p_bottom"][0] == pytest.approx(0.5, abs=0.04)
    q2 = p_bottom_n([50, 50, 90], [5, 5, 0.1], n_bottom=1, draws=4000, seed=3)
    assert q.equals(q2)


def test_survey_plots_draw(tmp_path):
    from qlwork.charts.survey import bland_altman_ci_plot, public_internal_scatter, region_gap_plot

    d = _frame(4, 80)
    d.loc[:2, "public"] -= 30
    out = divergence(d, draws=100)
    for fig in (public_internal_scatter(out), bland_altman_ci_plot(out["internal"], out["public"]),
                region_gap_plot(out)):
        path = tmp_path / "f.png"
        fig.savefig(path)
        assert path.stat().st_size > 1000


def test_ordinal_model_recovers_direction():
    from qlwork.analysis.compare import ordinal_model

    rng = np.random.default_rng(5)
    n = 3000
    d = pd.DataFrame({"sex": rng.choice(["男", "女"], n), "area": rng.choice(["城镇", "农村"], n)})
    latent = 0.8 * (d["area"] == "农村") + rng.logistic(size=n)  # rural respondents rate higher
    d["q1"] = np.digitize(latent, [-1.5, -0.5, 0.5, 1.5]) + 1
    d.loc[:50, "q1"] = 9  # 不了解 dropped
    res = ordinal_model(d, "q1", covariates=("sex", "area"))
    # area dummy (reference 农村 after sorting? get_dummies drops the first level: 农村 < 城镇)
    coef = res.params.filter(like="area").iloc[0]
    name = res.params.filter(like="area").index[0]
    expected_sign = -1 if name.endswith("城镇") else 1
    assert np.sign(coef) == expected_sign
    assert abs(coef) == pytest.approx(0.8, abs=0.2)
    assert res.model.qlwork_params["n_valid"] == n - 51


def test_large_drop_by_hand():
    from qlwork.analysis.compare import large_drop

    cur = pd.DataFrame({"mean": [60.0, 70.0], "se": [3.0, 3.0]}, index=["A", "B"])
    prev = pd.DataFrame({"mean": [75.0, 74.0], "se": [4.0, 4.0]}, index=["A", "B"])
    out = large_drop(cur, prev)
    # se of the change = √(9 + 16) = 5; A: −15 < −10 → flag; B: −4 > −10 → no flag
    assert out["change_se"].tolist() == pytest.approx([5.0, 5.0])
    assert out["flag_drop"].tolist() == [True, False]


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 100_000), st.floats(-20, 20), st.floats(0.5, 2.0))
def test_ccc_invariants(seed, shift, scale):
    rng = np.random.default_rng(seed)
    x = rng.normal(70, 8, 30)
    y = scale * x + shift + rng.normal(0, 3, 30)
    c = lins_ccc(x, y)
    assert c.ccc == pytest.approx(lins_ccc(y, x).ccc)  # symmetric
    assert abs(c.ccc) <= abs(c.pearson_r) + 1e-12  # ρc = r · C_b with 0 < C_b ≤ 1
    assert c.ci_low <= c.ccc <= c.ci_high
    assert lins_ccc(x, x + 1e-9 * rng.normal(size=30)).ccc == pytest.approx(1.0, abs=1e-9)


def test_z_gap_bh_and_rank_gap_by_hand():
    # four units of one peer group; internal se given for two of them
    d = pd.DataFrame({"unit_id": list("ABCD"), "unit_type": "机关",
                      "internal": [90.0, 80.0, 70.0, 60.0], "internal_se": [3.0, 0.0, 4.0, np.nan],
                      "public": [60.0, 78.0, 75.0, 62.0], "public_se": [4.0, 2.0, 3.0, 2.0]})
    out = divergence(d, internal_se="internal_se", draws=200)
    # z = gap / √(se_int² + se_pub²): A 30/5 = 6; B 2/2 = 1; C −5/5 = −1; D −2/2 = −1 (missing se_int → 0)
    assert out["z_gap"].tolist() == pytest.approx([6.0, 1.0, -1.0, -1.0])
    p = 2 * stats.norm.sf([6.0, 1.0, 1.0, 1.0])
    # Benjamini–Hochberg by hand: sorted p: p_A < p_B = p_C = p_D (rank 4 for the ties' step-up)
    # adj_A = min(4/1·p_A, adj of larger) ; the tied three share min(4/4·p_B, …) = p_B
    adj = np.array([min(4 * p[0], p[1]), p[1], p[2], p[3]])
    assert out["p_gap_adj"].to_numpy() == pytest.approx(adj)
    assert out["flag_z"].tolist() == [True, False, False, False]
    # ranks within the group, 1 = best: internal A1 B2 C3 D4; public B1 C2 D3 A4
    assert out["rank_internal"].tolist() == [1, 2, 3, 4]
    assert out["rank_public"].tolist() == [4, 1, 2, 3]
    assert out["rank_gap"].tolist() == [3, -1, -1, -1]
    # flag when |rank gap| ≥ ceil(0.25 · 4) = 1 → all four; with frac 0.5 → ≥ 2 → only A
    assert out["flag_rank"].all()
    assert divergence(d, rank_gap_frac=0.5, draws=200)["flag_rank"].tolist() == [True, False, False, False]
    # quadrants around the medians (internal 75, public 68.5)
    assert out["quadrant"].tolist() == ["专业分高、获得感低", "专业分高、获得感高", "专业分低、获得感高",
                                        "专业分低、获得感低"]


def test_wls_weights_are_inverse_public_variance():
    # second method: weighted least squares by hand, β = (X'WX)⁻¹X'Wy with W = diag(1/se²)
    d = _frame(6, 150)
    m = fit_models(d, covariates=(), region=None)
    X = np.column_stack([np.ones(len(d)), d["internal"]])
    W = 1 / d["public_se"].to_numpy() ** 2
    beta = np.linalg.solve(X.T @ (X * W[:, None]), X.T @ (W * d["public"].to_numpy()))
    assert m.wls.params.to_numpy() == pytest.approx(beta, rel=1e-10)
    assert m.mixed is None


def test_mixedlm_detects_regional_gaps():
    # public = internal-driven part + a county effect: the random-intercept variance must
    # recover the planted county spread (sd 4 → variance ≈ 16), and be near 0 without it
    rng = np.random.default_rng(12)
    counties = [f"县{i:02d}" for i in range(20)]
    d = _frame(7, 600)
    d["county"] = rng.choice(counties, len(d))
    effect = dict(zip(counties, rng.normal(0, 4, len(counties))))
    planted = d.assign(public=d["public"] + d["county"].map(effect))
    m_planted, m_none = fit_models(planted), fit_models(d)
    v_planted = float(m_planted.mixed.cov_re.iloc[0, 0])
    v_none = float(m_none.mixed.cov_re.iloc[0, 0])
    # a variance on the boundary is recorded with the result, not sprayed as a warning
    assert m_planted.params["mixed_warnings"] == []
    if v_none < 1e-6:
        assert any("boundary" in w for w in m_none.params["mixed_warnings"])
    true_var = np.var(list(effect.values()), ddof=1)
    assert v_planted == pytest.approx(true_var, rel=0.5)
    assert v_none < 0.1 * v_planted
