"""Closed-form tipping points: a hand-built two-unit case and brute force against qlwork.engine.index."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qlwork.errors import QlworkError
from qlwork.framework import load_framework
from qlwork.engine.index import compute_index
from qlwork.sensitivity import make_design
from qlwork.sensitivity.tipping import score_path, tipping_points

TWO = {"id": "R", "grades": {"优": 80, "良": 60, "差": 0}, "social_share": 0.0, "children": [
    {"id": "A", "weight": 0.6, "children": [{"id": "a", "weight": 1.0, "direction": 1}]},
    {"id": "B", "weight": 0.4, "children": [{"id": "b", "weight": 1.0, "direction": 1}]}]}


def test_two_unit_hand_case():
    """U1 = (90, 40), U2 = (50, 70); weights A 0.6, B 0.4.

    Moving w_A by δ (w_B = 0.4 − δ): T1 = 0.6·90 + 0.4·40 + δ(90 − 40) = 70 + 50δ,
    T2 = 0.6·50 + 0.4·70 + δ(50 − 70) = 58 − 20δ.  Tie: 70 + 50δ = 58 − 20δ → δ = −12/70,
    w_A = 0.6 − 0.171429 = 0.428571 (then U2 leads).  Upward no tie for δ ≤ 0.4.
    Grades (80/60): T1 = 80 at δ = 0.2, T1 = 60 at δ = −0.2; T2 = 60 at δ = −0.1.
    """
    fw = load_framework(TWO)
    X = pd.DataFrame({"a": [90.0, 50.0], "b": [40.0, 70.0]}, index=["U1", "U2"])
    t = tipping_points(make_design(fw, X)).to_frame().set_index(["unit_id", "weight_id"])
    u1, u2 = t.loc[("U1", "A")], t.loc[("U2", "A")]
    assert u1.rank_delta_down == pytest.approx(-12 / 70) and u2.rank_delta_down == pytest.approx(-12 / 70)
    assert u1.rank_weight_down == pytest.approx(0.6 - 12 / 70)
    assert np.isinf(u1.rank_delta_up) and u1.rank_after_down == 2 and u2.rank_after_down == 1
    assert u1.grade_delta_up == pytest.approx(0.2) and u1.grade_after_up == "优"
    assert u1.grade_delta_down == pytest.approx(-0.2) and u1.grade_after_down == "差"
    assert u2.grade_delta_down == pytest.approx(-0.1) and u2.grade_after_down == "良" and np.isinf(u2.grade_delta_up)
    # moving B is the mirror image: δ_B = −δ_A
    assert t.loc[("U1", "B")].rank_delta_up == pytest.approx(12 / 70)


FW = {
    "id": "T", "grades": {"优": 70, "良": 50, "差": 0}, "social_share": 0.3, "bottom_n": 2,
    "children": [
        {"id": "A", "weight": 0.5, "children": [
            {"id": "a1", "weight": 0.6, "direction": 1},
            {"id": "a2", "weight": 0.4, "direction": 1, "applies_to": ["机关"]}]},
        {"id": "B", "weight": 0.3, "children": [
            {"id": "b1", "weight": 0.5, "direction": 1},
            {"id": "b2", "weight": 0.3, "direction": 1},
            {"id": "b3", "weight": 0.2, "direction": 1, "applies_to": ["学校"]}]},
        {"id": "C", "weight": 0.2, "children": [
            {"id": "c1", "weight": 0.7, "direction": 1, "applies_to": ["机关"]},
            {"id": "c2", "weight": 0.3, "direction": 1, "public": True}]},
    ],
}


def _case(n=25, seed=1):
    fw = load_framework(FW)
    rng = np.random.default_rng(seed)
    ids = [f"U{i:02d}" for i in range(n)]
    types = rng.choice(["机关", "学校"], n)
    X = pd.DataFrame(rng.uniform(0, 100, (n, 7)).round(2), index=ids, columns=fw.indicator_ids)
    units = pd.DataFrame({"unit_id": ids, "unit_type": types})
    return fw, X, units


def _moved(fw, item, delta):
    """Local weights with ``item`` moved by δ and its siblings rescaled proportionally."""
    lw = fw.local_weights()
    parent = fw.item(item).parent
    sibs = fw.children(parent)
    lk = lw[item]
    out = {c: lw[c] * (1 - lk - delta) / (1 - lk) for c in sibs}
    out[item] = lk + delta
    return out


@pytest.mark.parametrize("item", ["A", "C", "a1", "b2", "c1"])
def test_score_path_equals_index_with_moved_weights(item):
    """The linear-fractional closed form reproduces compute_index totals (missing indicators, s = 0.3)."""
    fw, X, units = _case()
    res = compute_index(X, fw, units=units, normalization="minmax")
    from qlwork.sensitivity.from_index import design_from_index

    d = design_from_index(res)
    lk = fw.local_weights()[item]
    deltas = np.array([-0.9 * lk, -0.3 * lk, 0.0, 0.4 * (1 - lk), 0.95 * (1 - lk)])
    path = pd.DataFrame(score_path(d, item, deltas), index=d.unit_ids)
    for k, dl in enumerate(deltas):
        r = compute_index(X, fw, units=units, normalization="minmax", weights=_moved(fw, item, dl))
        np.testing.assert_allclose(path[k].to_numpy(), r.scores["total_raw"].reindex(d.unit_ids).to_numpy(), atol=1e-9)


@pytest.mark.parametrize("item", ["A", "b1"])
def test_tipping_points_match_brute_force(item):
    fw, X, units = _case(n=9, seed=4)
    res = compute_index(X, fw, units=units, normalization="minmax", decimals=6)
    t = tipping_points(res, [item]).to_frame().set_index("unit_id")
    rank0 = res.ranking["rank"].astype(int)
    grade0 = res.ranking["grade"]
    lk = fw.local_weights()[item]
    eps = 1e-7
    for u, row in t.iterrows():
        for side, d in (("up", row.rank_delta_up), ("down", row.rank_delta_down)):
            if np.isfinite(d):
                before = compute_index(X, fw, units=units, decimals=6, weights=_moved(fw, item, d - np.sign(d) * eps))
                after = compute_index(X, fw, units=units, decimals=6, weights=_moved(fw, item, d + np.sign(d) * eps))
                assert before.ranking["rank"][u] == rank0[u], (u, side)
                assert after.ranking["rank"][u] == row[f"rank_after_{side}"], (u, side)
            # no rank change anywhere between 0 and the tipping point (coarse grid)
            lim = d if np.isfinite(d) else ((1 - lk) if side == "up" else -lk) * 0.999
            for x in np.linspace(0, lim, 4)[1:-1]:
                assert compute_index(X, fw, units=units, decimals=6, weights=_moved(fw, item, x)).ranking["rank"][u] == rank0[u]
        for side, d in (("up", row.grade_delta_up), ("down", row.grade_delta_down)):
            if np.isfinite(d):
                after = compute_index(X, fw, units=units, decimals=6, weights=_moved(fw, item, d + np.sign(d) * eps))
                before = compute_index(X, fw, units=units, decimals=6, weights=_moved(fw, item, d - np.sign(d) * eps))
                assert before.ranking["grade"][u] == grade0[u]
                assert after.ranking["grade"][u] == row[f"grade_after_{side}"] != grade0[u]


def test_refuses_geometric_and_public_mix():
    fw, X, units = _case()
    res = compute_index(X, fw, units=units, aggregation="geometric")
    with pytest.raises(QlworkError, match="算术"):
        tipping_points(res)
    village = dict(FW)
    village["children"] = [dict(c) for c in FW["children"]]
    village["children"][1] = {"id": "B", "weight": 0.3, "children": [
        {"id": "b1", "weight": 0.5, "direction": 1}, {"id": "b2", "weight": 0.5, "direction": 1, "public": True}]}
    fw2 = load_framework(village)
    X2 = X.drop(columns=["b3"])
    r2 = compute_index(X2, fw2, units=units)
    with pytest.raises(QlworkError, match="群众评价"):
        tipping_points(r2, ["B"])
    tipping_points(r2, ["a1"])  # does not touch the public mix: fine
