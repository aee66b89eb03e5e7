"""Grades, ranks with ties, bottom-N — expected values by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd

from qlwork.grading import assign_grades, bottom_n_mask, lowest_grade, parse_bands, rank_within


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
