"""The sensitivity engine ranks and grades on the same 1e-6 grid as the index engine.

``qlwork.engine.grading`` rounds scores half-to-even to 6 decimals before ranking and grading
(``on_grid``); the Monte Carlo engine packs scores into integer sort keys and counts
grades in a compiled kernel.  Both must agree on every score, including the awkward
ones: float noise just under a cut-off (89.99999999999999 is 90), two scores closer
than 1e-6 on either side of a grid half-point, and exact half-points (rounded to even).
The expected values come from pandas ``rank(method="min")`` and ``assign_grades`` on
the rounded scores — a second implementation of the same rule.
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qlwork.engine.grading import assign_grades, parse_bands, rank_within
from qlwork.sensitivity import kernels
from qlwork.sensitivity.engine import SCORE_SCALE, grade_index, rank_matrix

BANDS = parse_bands(None)  # 优秀 ≥ 90, 良好 ≥ 80, 合格 ≥ 60, 不合格
CUTS = np.array([lo for _, lo in BANDS[:-1]])
LABELS = [lab for lab, _ in BANDS]

# scores built around the awkward places: cut-offs, grid half-points, float-noise neighbours
awkward = st.one_of(
    st.sampled_from([90.0, 89.99999999999999, 90.00000000000001, 80.0, 79.9999999999999, 60.0,
                     59.99999949999999, 59.9999995, 59.999999500000004, 72.0000005, 72.0000015]),
    st.floats(0, 100, allow_nan=False).map(lambda v: round(v, 7)),
    st.floats(0, 100, allow_nan=False),
)


def _engine_ranks(s: np.ndarray) -> np.ndarray:
    order, rank = rank_matrix(s[None, :])
    out = np.empty(len(s), dtype=np.int64)
    out[order[0]] = rank[0]
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(awkward, min_size=1, max_size=40))
def test_engine_ranks_equal_index_ranks(scores):
    s = np.array(scores)
    expected = rank_within(pd.Series(s), method="min").to_numpy(dtype=np.int64)
    np.testing.assert_array_equal(_engine_ranks(s), expected)


@settings(max_examples=300, deadline=None)
@given(st.lists(awkward, min_size=1, max_size=40))
def test_engine_grades_equal_index_grades(scores):
    s = np.array(scores)
    design = SimpleNamespace(grade_cuts=CUTS, forced_grade=None)
    got = [LABELS[g] for g in grade_index(design, s[None, :])[0]]
    assert got == assign_grades(pd.Series(s)).tolist()


@pytest.mark.skipif(not kernels.available(), reason="numba 未安装 (numba not installed)")
def test_compiled_kernel_grades_and_keys_equal_numpy_path():
    s = np.array([[89.99999999999999, 90.0, 59.9999995, 59.999999500000004, 72.0000005, 72.0000015, 12.3]])
    keys = np.empty(s.shape, np.uint64)
    grade = np.zeros((s.shape[1], len(LABELS)), np.int64)
    forced = np.full(s.shape[1], -1, np.int8)
    kernels.make_keys(s, SCORE_SCALE, keys, CUTS, forced, grade)
    got_grades = [LABELS[int(np.argmax(row))] for row in grade]
    assert got_grades == assign_grades(pd.Series(s[0])).tolist()
    # key order (high 32 bits) ties exactly the units the index engine ties
    hi = (keys[0] >> np.uint64(32)).astype(np.int64)
    ranks = pd.Series(-hi).rank(method="min", ascending=False).astype(int).to_numpy()
    np.testing.assert_array_equal(ranks, rank_within(pd.Series(s[0])).to_numpy(dtype=np.int64))
    # by hand: 89.99999999999999 and 90 tie; 59.9999995 rounds half-to-even to 60.0 (tie with
    # the next, 59.9999995000…04, which rounds up to 60.0 too); 72.0000005 → 72.0 and
    # 72.0000015 → 72.000002 stay apart
    assert ranks.tolist() == [1, 1, 5, 5, 4, 3, 7]
    assert got_grades[:4] == ["优秀", "优秀", "合格", "合格"]
