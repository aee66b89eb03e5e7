"""Fuzzing compute_index (hypothesis, issue 10): random tables with NaN, ±inf, huge and
tiny values, all-equal columns, empty and single-unit peer groups.  The engine either
raises a located QlworkError or returns scores in [0, 100]; a unit without a total
always carries a reason code in ``result.warnings``."""
from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qlwork.errors import QlworkError
from qlwork.engine.index import compute_index

FW = {"id": "R", "unit_types": ["机关", "学校", "医院"], "children": [
    {"id": "A", "weight": 0.6, "children": [
        {"id": "x1", "weight": 0.7, "direction": 1, "goalposts": [0, 50]},
        {"id": "x2", "weight": 0.3, "direction": -1, "goalposts": [0, 50]}]},
    {"id": "B", "weight": 0.4, "children": [
        {"id": "x3", "weight": 0.5, "direction": 1, "goalposts": [10, 90], "applies_to": ["学校"]},
        {"id": "x4", "weight": 0.5, "direction": 1, "goalposts": [0, 100]}]}]}
IDS = ["x1", "x2", "x3", "x4"]
SET = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

nasty = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e-300, -1e-300, 1e300, -1e300, 5e-324, np.nan, np.inf, -np.inf, 50.0]),
    st.floats(0, 100, allow_nan=False))


@st.composite
def cases(draw):
    n = draw(st.integers(1, 9))
    X = np.array([[draw(nasty) for _ in IDS] for _ in range(n)], dtype=float)
    if draw(st.booleans()):  # an all-equal column
        X[:, draw(st.integers(0, 3))] = draw(st.sampled_from([0.0, 42.0, 1e300]))
    types = [draw(st.sampled_from(["机关", "学校", "医院"])) for _ in range(n)]  # some groups empty or single
    return X, types


def _run(X, types, **kw):
    uid = [f"u{i}" for i in range(len(X))]
    units = pd.DataFrame({"unit_id": uid, "unit_type": types, "unit_name": uid, "city": "c", "county": "k",
                          "township": "t"})
    data = pd.DataFrame(X, columns=IDS, index=pd.Index(uid, name="unit_id"))
    return compute_index(data, FW, units=units, **kw)


def _check(res):
    s = res.scores
    vals = s.to_numpy(dtype=float)
    fin = vals[np.isfinite(vals)]
    assert ((fin >= -1e-9) & (fin <= 100 + 1e-9)).all(), fin
    assert not np.isinf(vals).any()
    n = res.normalized.to_numpy(dtype=float)
    n = n[~np.isnan(n)]
    assert ((n >= -1e-9) & (n <= 100 + 1e-9)).all()
    # a published total that is NaN has a reason code
    missing = s.index[s["total"].isna()]
    warned = set(res.warnings["unit_id"]) if len(res.warnings) else set()
    assert set(missing) <= warned, (list(missing), res.warnings)
    w = res.leaf_weights.to_numpy(dtype=float)
    assert np.isfinite(w).all() and abs(w.sum() - 1) < 1e-9


@SET
@given(c=cases(), norm=st.sampled_from(["minmax", "zscore", "goalposts", "rank"]),
       agg=st.sampled_from(["arithmetic", "geometric"]), peer=st.sampled_from(["unit_type", None]))
def test_compute_index_never_crashes_on_nasty_tables(c, norm, agg, peer):
    X, types = c
    try:
        res = _run(X, types, normalization=norm, aggregation=agg, peer_group=peer)
    except QlworkError as e:
        assert e.problems and all(p.message and p.message_en for p in e.problems)
        return
    _check(res)


@SET
@given(c=cases(), imp=st.sampled_from(["none", "mean", "median"]))
def test_imputation_choices_on_nasty_tables(c, imp):
    X, types = c
    try:
        res = _run(X, types, imputation=imp)
    except QlworkError as e:
        assert e.problems and all(p.message and p.message_en for p in e.problems)
        return
    _check(res)


def test_single_unit_and_all_equal_columns():
    X = np.full((1, 4), 30.0)
    res = _run(X, ["学校"])
    _check(res)
    X = np.full((5, 4), 30.0)
    res = _run(X, ["机关"] * 5)
    _check(res)
    assert res.scores["total"].nunique() <= 1  # equal inputs, equal scores
