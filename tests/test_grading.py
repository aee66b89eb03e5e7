"""Grades, ranks with ties, bottom-N — expected values by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd

from qlwork.engine.grading import assign_grades, bottom_n_mask, lowest_grade, parse_bands, rank_within


def test_default_bands_and_boundaries():
    # a score equal to a cut-off gets the higher grade
    g = assign_grades([95, 90, 89.99, 80, 60, 59.99, np.nan])
    assert g.iloc[:6].tolist() == ["优秀", "优秀", "良好", "良好", "合格", "不合格"]
    assert pd.isna(g.iloc[6])


def test_custom_bands_mapping_and_pairs():
    bands = {"A": 85, "B": 70, "C": 0}
    assert assign_grades([85, 84, 3], bands).tolist() == ["A", "B", "C"]
    # the lowest band is open-ended: -5 is still "C"
    assert assign_grades([-5], [("A", 85), ("B", 70), ("C", 0)]).tolist() == ["C"]
    assert parse_bands(bands)[-1][1] == -np.inf and lowest_grade(bands) == "C"


def test_rank_ties_min_method():
    # scores 90, 80, 80, 70 → competition ranks 1, 2, 2, 4
    r = rank_within(pd.Series([90, 80, 80, 70], index=list("abcd")))
    assert r.tolist() == [1, 2, 2, 4]
    assert str(r.dtype) == "Int64"


def test_rank_within_groups_and_missing():
    s = pd.Series([50, 60, 70, 10, np.nan])
    g = pd.Series(["x", "x", "y", "y", "y"])
    r = rank_within(s, g)
    # group x: 60 → 1, 50 → 2; group y: 70 → 1, 10 → 2; NaN unranked
    assert r.iloc[:4].tolist() == [2, 1, 1, 2] and pd.isna(r.iloc[4])


def test_bottom_n_with_ties_at_boundary():
    # ascending: 1, 2, 3, 3, 9 → bottom 3 = 1, 2 and both 3s (fewer than 3 units strictly lower)
    m = bottom_n_mask(pd.Series([3, 1, 9, 2, 3]), None, 3)
    assert m.tolist() == [True, True, False, True, True]


def test_scores_equal_up_to_float_noise_are_equal():
    # 89.99999999999999 is float noise of an exact 90 (e.g. .02·90 + .18·90 + .56·90 + .24·90 summed
    # in another order): it gets the grade of 90, and ties with 90 in rank and in bottom N
    assert assign_grades([89.99999999999999, 59.99999999999999]).tolist() == ["优秀", "合格"]
    s = pd.Series([60.00000000000001, 60.0, 59.99999999999999, 50.0], index=list("abcd"))
    assert rank_within(s).tolist() == [1, 1, 1, 4]
    # bottom 1: d alone; bottom 2: the three tied 60s reach the boundary together
    assert bottom_n_mask(s, None, 1).tolist() == [False, False, False, True]
    assert bottom_n_mask(s, None, 2).tolist() == [True, True, True, True]
    # a genuine difference of 0.001 points is still a difference
    assert rank_within(pd.Series([80.001, 80.0])).tolist() == [1, 2]
    assert assign_grades([79.999]).tolist() == ["合格"]


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 10000), min_size=1, max_size=30), st.integers(0, 2 ** 32 - 1))
def test_ranks_and_grades_ignore_float_noise(cents, seed):
    # scores with 2 decimals (as published) plus noise of at most 1e-9 points
    s = np.array(cents) / 100.0
    noise = np.random.default_rng(seed).uniform(-1e-9, 1e-9, len(s))
    a, b = pd.Series(s), pd.Series(s + noise)
    assert rank_within(a).tolist() == rank_within(b).tolist()
    assert assign_grades(a).tolist() == assign_grades(b).tolist()
    # and the grades are those of the exact scores by the band table (≥ 90, ≥ 80, ≥ 60)
    want = ["优秀" if c >= 9000 else "良好" if c >= 8000 else "合格" if c >= 6000 else "不合格" for c in cents]
    assert assign_grades(b).tolist() == want


def test_grid_is_safe_for_extreme_values():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning from rounding 1e308·10⁶
        assert rank_within(pd.Series([1.7e308, -1e305, 5.0])).tolist() == [1, 3, 2]
        assert assign_grades([np.inf, -np.inf, np.nan]).iloc[:2].tolist() == ["优秀", "不合格"]
