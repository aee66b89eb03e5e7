"""Published precision: the index engine, the Monte Carlo engine and its compiled kernel
rank and grade the same published scores.

A score is published rounded half-up (四舍五入) to ``decimals`` after snapping it to the
1e-6 grid (float noise such as 89.99499999999999 for 89.995 never decides a grade).
The expected values come from Python's :mod:`decimal` with ``ROUND_HALF_UP`` applied to
the score's 1e-6-grid value — a second implementation of the rule — and pandas
``rank(method="min")``.
"""
from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qlwork.engine.grading import assign_grades, bottom_n_mask, parse_bands, publish, publish_units, rank_within
from qlwork.sensitivity import kernels
from qlwork.sensitivity.engine import grade_index, published_keys, rank_matrix

BANDS = parse_bands(None)  # 优秀 ≥ 90, 良好 ≥ 80, 合格 ≥ 60, 不合格
CUTS = np.array([lo for _, lo in BANDS[:-1]])
LABELS = [lab for lab, _ in BANDS]

awkward = st.one_of(
    st.sampled_from([90.0, 89.99999999999999, 90.00000000000001, 89.995, 89.994999, 89.9949999, 80.0, 79.995,
                     79.9949999999, 60.0, 59.995, 59.99499999999999, 59.9999995, 72.0000005, 72.0050004, 0.005]),
    st.floats(0, 100, allow_nan=False).map(lambda v: round(v, 3)),
    st.floats(0, 100, allow_nan=False),
)


def _decimal_units(v: float, d: int) -> int:
    """The rule written with decimal: micro-points = v·10⁶ in floating point rounded half-even
    to an integer (the 1e-6 grid), then half-up to d decimals in exact decimal arithmetic."""
    micro = Decimal(float(v) * 1e6).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    return int((micro / Decimal(10 ** (6 - d))).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _grade(units: int, d: int) -> str:
    for lab, lo in BANDS[:-1]:
        if units >= int(round(lo * 10 ** d)):
            return lab
    return BANDS[-1][0]


def test_hand_cases_precision_boundary():
    # the hand case: 89.995 publishes as 90.00 (优秀), 89.994999 as 89.99 (良好)
    assert publish([89.995, 89.994999], 2).tolist() == [90.0, 89.99]
    assert assign_grades(pd.Series([89.995, 89.994999, 89.99499999999999]), decimals=2).tolist() == ["优秀", "良好", "优秀"]
    # 89.996 shows as 90.00 and is graded 优秀 — shown and graded by the same number
    assert publish([89.996], 2)[0] == 90.0 and assign_grades(pd.Series([89.996]), decimals=2).iloc[0] == "优秀"
    # equal published scores share a rank: 85.204 and 85.196 both publish as 85.20
    r = rank_within(pd.Series([85.204, 85.196, 85.21, 80.0]), decimals=2)
    assert r.tolist() == [2, 2, 1, 4]
    # at the 1e-6 grid they are different scores
    assert rank_within(pd.Series([85.204, 85.196]), decimals=6).tolist() == [1, 2]


@settings(max_examples=300, deadline=None)
@given(st.lists(awkward, min_size=1, max_size=40), st.sampled_from([0, 1, 2, 3, 6]))
def test_publish_units_equal_decimal_rule(scores, d):
    got = publish_units(np.array(scores), d).astype(np.int64).tolist()
    assert got == [_decimal_units(v, d) for v in scores]


def _engine_ranks(s: np.ndarray, step: int) -> np.ndarray:
    order, rank = rank_matrix(s[None, :], step=step)
    out = np.empty(len(s), dtype=np.int64)
    out[order[0]] = rank[0]
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(awkward, min_size=1, max_size=40), st.sampled_from([2, 6]))
def test_engine_ranks_equal_index_ranks(scores, d):
    s = np.array(scores)
    expected = pd.Series([_decimal_units(v, d) for v in scores]).rank(method="min", ascending=False).astype(int)
    np.testing.assert_array_equal(rank_within(pd.Series(s), decimals=d).to_numpy(dtype=np.int64), expected)
    np.testing.assert_array_equal(_engine_ranks(s, 10 ** (6 - d)), expected)


def _design(d):
    return SimpleNamespace(grade_cuts=CUTS, grade_cap=None, decimals=d, step=10 ** (6 - d),
                           cut_units=np.ceil(np.round(CUTS * 10 ** d, 6)).astype(np.int64))


@settings(max_examples=200, deadline=None)
@given(st.lists(awkward, min_size=1, max_size=40), st.sampled_from([2, 6]))
def test_engine_grades_equal_index_grades(scores, d):
    s = np.array(scores)
    expected = [_grade(_decimal_units(v, d), d) for v in scores]
    assert assign_grades(pd.Series(s), decimals=d).tolist() == expected
    got = [LABELS[g] for g in grade_index(_design(d), s[None, :])[0]]
    assert got == expected


@pytest.mark.skipif(not kernels.available(), reason="numba 未安装 (numba not installed)")
@pytest.mark.parametrize("d", [2, 6])
def test_compiled_kernel_grades_and_keys_equal_numpy_path(d):
    s = np.array([[89.99999999999999, 90.0, 89.995, 89.994999, 59.9999995, 72.0000005, 72.0050004, 12.3]])
    keys = np.empty(s.shape, np.uint64)
    grade = np.zeros((s.shape[1], len(LABELS)), np.int64)
    cap = np.full(s.shape[1], -1, np.int8)
    cap[-1] = 1  # capped at 良好: 12.3 stays 不合格 (a cap never raises a grade)
    cap[0] = 2  # 89.999… capped at 合格
    des = _design(d)
    kernels.make_keys(s, des.step, keys, des.cut_units.astype(float), cap, grade)
    got = [LABELS[int(np.argmax(row))] for row in grade]
    expected = [_grade(_decimal_units(v, d), d) for v in s[0]]
    expected[0] = "合格"
    assert got == expected
    hi = (keys[0] >> np.uint64(32)).astype(np.int64)
    ranks = pd.Series(-hi).rank(method="min", ascending=False).astype(int).to_numpy()
    np.testing.assert_array_equal(ranks, rank_within(pd.Series(s[0]), decimals=d).to_numpy(dtype=np.int64))
    numpy_path = published_keys(s[0], des.step, np.empty(s.shape[1]))
    np.testing.assert_array_equal(-hi + (1 << 31), numpy_path.astype(np.int64))


def test_bottom_n_needs_a_group_larger_than_n():
    s = pd.Series([50.0, 60.0, 70.0, 40.0, 45.0, 48.0, 90.0])
    g = pd.Series(["a", "a", "a", "b", "b", "b", "b"])
    m = bottom_n_mask(s, g, n=3, decimals=2)
    # group a has 3 units: nobody is "bottom 3" of three; group b (4 units): the last three
    assert m.tolist() == [False, False, False, True, True, True, False]
    assert bottom_n_mask(s, g, n=3, decimals=2, min_group=3).tolist()[:3] == [True, True, True]
