"""Grades, ranks within peer groups and regions, and warning rules.

* **Grades** from bands ``{label: lower bound}`` (default 优秀 ≥ 90, 良好 ≥ 80,
  合格 ≥ 60, else 不合格 — ``framework.DEFAULT_GRADES``).  A score equal to a
  cut-off gets the higher grade (``score >= bound``).  Missing score → missing
  grade.
* **Ranks**: 1 = best (highest score) within each group; ties take the
  *minimum* rank of the tied block ("competition ranking" 1, 2, 2, 4 — what a
  published 排行榜 shows, and COINr's ``rank(ties.method="min")``).  Missing
  scores are not ranked.
* **Bottom N**: a unit is in the bottom N of its group when fewer than N units
  of the group score strictly lower (ties at the boundary are all flagged).
* **Comparison grid.**  Grades, ranks, ties and bottom N compare scores rounded
  to ``SCORE_DECIMALS`` (6) decimals, i.e. on a 1e-6-point grid — the grid the
  sensitivity engine ranks on (``qlwork.sensitivity.engine.SCORE_RESOLUTION``).
  Effective-weight sums are not exact in floating point: a unit whose every
  indicator scores 90 can come out as 89.99999999999999 under one availability
  pattern and 90.0 under another.  Without the grid such a unit would be graded
  良好 although its score *is* 90, and two equal scores would get different
  ranks.  The stored scores themselves are not rounded.
"""
from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import pandas as pd

from ..framework import DEFAULT_GRADES

__all__ = ["parse_bands", "assign_grades", "rank_within", "bottom_n_mask", "lowest_grade", "SCORE_DECIMALS",
           "on_grid"]

#: Scores are compared after rounding to this many decimals (a 1e-6-point grid).
SCORE_DECIMALS = 6


def on_grid(values) -> np.ndarray:
    """Scores rounded to the comparison grid (``SCORE_DECIMALS`` decimals); NaN stays NaN.

    Beyond |v| ≥ 1e12 the float spacing already exceeds the grid, so such values are
    returned unchanged (rounding them would overflow in ``v·10⁶``).
    """
    v = np.asarray(values, dtype=float)
    small = np.abs(np.nan_to_num(v, nan=0.0)) < 1e12
    return np.where(small, np.round(np.where(small, v, 0.0), SCORE_DECIMALS), v)


def parse_bands(bands=None) -> tuple[tuple[str, float], ...]:
    """Normalise grade bands to ``((label, lower), ...)`` highest first, last open-ended.

    Accepts ``None`` (defaults), a mapping label → lower bound, or a sequence of
    ``(label, lower)`` pairs.
    """
    if bands is None:
        return DEFAULT_GRADES
    if isinstance(bands, Mapping):
        items = [(str(k), float(v)) for k, v in bands.items()]
    else:
        items = [(str(k), float(v)) for k, v in bands]
    if len(items) < 2:
        raise ValueError("at least two grade bands are needed")
    items.sort(key=lambda t: -t[1])
    return tuple(items[:-1]) + ((items[-1][0], -math.inf),)


def lowest_grade(bands=None) -> str:
    return parse_bands(bands)[-1][0]


def assign_grades(scores, bands=None) -> pd.Series:
    """Grade of every score: first band whose lower bound ``<= score``."""
    b = parse_bands(bands)
    s = pd.Series(scores, dtype=float) if not isinstance(scores, pd.Series) else scores.astype(float)
    v = on_grid(s.to_numpy())
    lows = np.array([lo for _, lo in b])
    labels = np.array([lab for lab, _ in b], dtype=object)
    # bands are sorted high → low: count how many bounds the score clears from the top
    idx = np.argmax(v[:, None] >= lows[None, :], axis=1) if len(v) else np.array([], int)
    out = labels[idx] if len(v) else np.array([], dtype=object)
    out = np.where(np.isnan(v), None, out)
    return pd.Series(out, index=s.index, dtype="str", name="grade")


def rank_within(scores, groups=None, method: str = "min", ascending: bool = False) -> pd.Series:
    """Rank (1 = best) of each score within its group; ties by ``method`` (default "min").

    ``groups``: None (one group), a Series aligned with ``scores`` or an array.
    Returns a nullable ``Int64`` Series (missing score → <NA>).
    """
    s = pd.Series(scores, dtype=float) if not isinstance(scores, pd.Series) else scores.astype(float)
    s = pd.Series(on_grid(s.to_numpy()), index=s.index)  # equal up to float noise → tied
    if groups is None:
        r = s.rank(method=method, ascending=ascending)
    else:
        g = groups.to_numpy() if isinstance(groups, pd.Series) else np.asarray(groups)
        r = s.groupby(g, dropna=False).rank(method=method, ascending=ascending)
    return r.round().astype("Int64").rename("rank")


def bottom_n_mask(scores, groups=None, n: int = 3) -> pd.Series:
    """True where fewer than ``n`` units of the same group score strictly lower."""
    s = pd.Series(scores, dtype=float) if not isinstance(scores, pd.Series) else scores.astype(float)
    low_rank = rank_within(s, groups, method="min", ascending=True)
    return (low_rank <= n).fillna(False).astype(bool).rename("bottom_n")
