"""Oracle tests against COINr's ASEM example (bluefoxr/COINr, commit b9682034).

The reference files in ``tests/data/coinr_asem/`` (a copy of
``../shared/reference/coinr-asem/``, so the oracle runs in every clone; see the
README there) hold every build stage of COINr's ASEM Sustainable Connectivity
index (51 countries × 49 indicators).  We rebuild four stages with qlwork and
compare with COINr's own numbers:

* Denominated → Imputed: mean of the unit's ``Group_EurAsia`` group (COINr
  ``i_mean_grp``), by :func:`qlwork.engine.impute.impute` and through
  ``compute_index(imputation="mean", peer_group=...)``;
* Imputed → Treated: winsorisation by skew/kurtosis (``v06_TreatSummary.csv``
  gives the number of points winsorised per indicator);
* Treated → Normalised: min–max 0–100 with directions;
* Normalised → Aggregated: weighted arithmetic means level by level, weights
  and tree from ``ASEM_iMeta.csv``; plus the published headline ranks.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qlwork.engine.aggregate import aggregate_matrix, effective_weights
from qlwork.framework import load_framework
from qlwork.engine.index import compute_index
from qlwork.engine.impute import impute
from qlwork.engine.normalize import minmax, treat_outliers

REF = Path(__file__).resolve().parent / "data" / "coinr_asem"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "coinr-asem"


def _meta():
    return pd.read_csv(REF / "ASEM_iMeta.csv")


def _framework_from_imeta(meta: pd.DataFrame) -> dict:
    """Nested framework mapping built from COINr's iMeta (code, parent, weight, direction).

    COINr weights are relative within a parent (all 1 here); qlwork wants sibling
    weights summing to 1, so they are divided by the sibling sum.
    """
    kids: dict[str, list] = {}
    for r in meta.itertuples(index=False):
        kids.setdefault(r.Parent, []).append(r)

    def node(code, weight):
        ch = kids.get(code, [])
        tot = sum(float(c.Weight) for c in ch)
        d = {"id": code, "children": []}
        if weight is not None:
            d["weight"] = weight
        for c in ch:
            w = float(c.Weight) / tot
            if c.Type == "Indicator":
                d["children"].append({"id": c.iCode, "weight": w, "direction": int(c.Direction)})
            else:
                d["children"].append(node(c.iCode, w))
        return d

    return node("Index", None)


def _indicators(meta):
    return meta.loc[meta.Type == "Indicator", "iCode"].tolist()


def test_vendored_copy_is_the_shared_reference():
    """The copy under tests/data is byte-identical to ../shared/reference (where that exists)."""
    files = sorted(p.name for p in REF.iterdir() if p.name != "README.md")
    assert {"ASEM_iMeta.csv", "v06_Normalised.csv", "COINrDoc_ASEM_results.xlsx"} <= set(files)
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} not present (fresh clone): the vendored copy is the reference")
    for f in files:
        assert (REF / f).read_bytes() == (SHARED / f).read_bytes(), f


def test_group_mean_imputation_matches_coinr_imputed():
    meta = _meta()
    ind = _indicators(meta)
    den = pd.read_csv(REF / "v06_Denominated.csv")
    imp = pd.read_csv(REF / "v06_Imputed.csv")
    assert int(den[ind].isna().sum().sum()) == 65 and not imp[ind].isna().any().any()
    groups = pd.factorize(den["Group_EurAsia"])[0]
    X, filled = impute(den[ind].to_numpy(float), groups, "mean")
    np.testing.assert_allclose(X, imp[ind].to_numpy(float), rtol=1e-12, atol=1e-12)
    assert filled.sum() == 65 and (filled == den[ind].isna().to_numpy()).all()
    # the whole-sample mean (no groups) is *not* what COINr did: the groups matter
    X_all, _ = impute(den[ind].to_numpy(float), None, "mean")
    assert not np.allclose(X_all, imp[ind].to_numpy(float))


def test_engine_imputes_within_peer_groups_like_coinr():
    """compute_index(imputation="mean", peer_group="Group_EurAsia") fills the same 65 cells with COINr's values."""
    meta = _meta()
    fw = load_framework(_framework_from_imeta(meta))
    den = pd.read_csv(REF / "v06_Denominated.csv").set_index("UnitCode")
    imp = pd.read_csv(REF / "v06_Imputed.csv").set_index("UnitCode")
    units = den[["UnitName", "Group_EurAsia"]].rename(columns={"UnitName": "unit_name"})
    res = compute_index(den[fw.indicator_ids], fw, units=units, peer_group="Group_EurAsia", imputation="mean")
    assert len(res.imputed) == 65 == res.params["n_imputed"]
    want = imp.stack().loc[list(zip(res.imputed["unit_id"], res.imputed["indicator_id"]))].astype(float)
    np.testing.assert_allclose(res.imputed["value"].to_numpy(), want.to_numpy(), rtol=1e-12)
    assert set(res.units["peer_group"]) == {"Asia", "Europe"} and res.scores["total_raw"].notna().all()


def test_winsorisation_matches_coinr_treated():
    meta = _meta()
    ind = _indicators(meta)
    imp = pd.read_csv(REF / "v06_Imputed.csv")
    treated = pd.read_csv(REF / "v06_Treated.csv")
    summary = pd.read_csv(REF / "v06_TreatSummary.csv", keep_default_na=False).set_index("IndCode")
    Y, summ = treat_outliers(imp[ind].to_numpy(float), method="winsorise")
    np.testing.assert_allclose(Y, treated[ind].to_numpy(float), rtol=0, atol=1e-9)
    summ["ind"] = [ind[j] for j in summ["column"]]
    summ = summ.set_index("ind")
    # COINr's summary counts the points winsorised at each end
    assert (summ.loc[summary.index, "n_low"].to_numpy() == summary["Low"].to_numpy()).all()
    assert (summ.loc[summary.index, "n_high"].to_numpy() == summary["High"].to_numpy()).all()
    assert set(summ.index[summ.status == "winsorised"]) == set(summary.index[summary.Treatment != "None"])


def test_minmax_matches_coinr_normalised():
    meta = _meta()
    ind = _indicators(meta)
    treated = pd.read_csv(REF / "v06_Treated.csv")
    norm = pd.read_csv(REF / "v06_Normalised.csv")
    d = meta.set_index("iCode").loc[ind, "Direction"].to_numpy()
    N = minmax(treated[ind].to_numpy(float), None, d)
    np.testing.assert_allclose(N, norm[ind].to_numpy(float), rtol=0, atol=1e-9)


def test_arithmetic_aggregation_matches_coinr_aggregated():
    meta = _meta()
    ind = _indicators(meta)
    fw = load_framework(_framework_from_imeta(meta))
    norm = pd.read_csv(REF / "v06_Normalised.csv").set_index("UnitCode")
    agg = pd.read_csv(REF / "v06_Aggregated.csv").set_index("UnitCode")
    # one matrix product with the collapsed effective weights
    W = effective_weights(fw)
    idx = aggregate_matrix(norm[fw.indicator_ids].to_numpy(float), W)[:, 0]
    np.testing.assert_allclose(idx, agg["Index"].to_numpy(), rtol=0, atol=1e-9)
    # and the whole engine on the normalised data: min–max of 0–100 data with its
    # own min 0 and max 100 per column is the identity, so node scores must match
    wide = norm[ind].copy()
    for c in ind:  # undo COINr's direction flip so qlwork's flip restores it
        if meta.set_index("iCode").loc[c, "Direction"] == -1:
            wide[c] = 100 - wide[c]
    res = compute_index(wide, fw, normalization="minmax")
    nodes = [c for c in agg.columns if c in fw.nodes and c != "Index"]
    assert len(nodes) == 10
    for n in nodes:
        np.testing.assert_allclose(res.scores[n].to_numpy(), agg.loc[res.scores.index, n].to_numpy(), atol=1e-9, err_msg=n)
    np.testing.assert_allclose(res.scores["total_raw"].to_numpy(), agg.loc[res.scores.index, "Index"].to_numpy(), atol=1e-9)


def test_published_scores_and_ranks():
    meta = _meta()
    fw = load_framework(_framework_from_imeta(meta))
    treated = pd.read_csv(REF / "v06_Treated.csv").set_index("UnitCode")
    published = pd.read_csv(REF / "v06_ResultsScore_2dp.csv").set_index("UnitCode")
    ranks = pd.read_csv(REF / "v06_ResultsRank.csv").set_index("UnitCode")
    res = compute_index(treated[fw.indicator_ids], fw, normalization="minmax")
    frame = res.to_frame()
    np.testing.assert_allclose(frame.loc[published.index, "total_raw"].round(2), published["Index"], atol=0.006)
    assert (frame.loc[ranks.index, "rank"].astype(int).to_numpy() == ranks["Index"].to_numpy()).all()
    assert frame.sort_values("rank").index[0] == "CHE"


def test_full_build_from_imputed_with_outlier_treatment():
    """Imputed → (winsorise, min–max, aggregate) in one compute_index call."""
    meta = _meta()
    fw = load_framework(_framework_from_imeta(meta))
    imp = pd.read_csv(REF / "v06_Imputed.csv").set_index("UnitCode")
    agg = pd.read_csv(REF / "v06_Aggregated.csv").set_index("UnitCode")
    res = compute_index(imp[fw.indicator_ids], fw, normalization="minmax", outliers="winsorise")
    np.testing.assert_allclose(res.scores["total_raw"].to_numpy(), agg.loc[res.scores.index, "Index"].to_numpy(), atol=1e-9)
    assert res.params["n_outliers_changed"] > 0
    assert len(res.outliers) == res.params["n_outliers_changed"]
