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
* **Published precision.**  Grades, ranks, ties and bottom N compare the
  *published* score: the score rounded half-up to ``decimals`` (the spec's
  published precision, 2 for official results) after snapping it to the 1e-6
  grid (:func:`publish_units`).  89.995 publishes as 90.00 and is 优秀;
  89.994999 publishes as 89.99 and is 良好; two units both published as 85.20
  share a rank.  ``decimals=6`` (the default of these primitives) is the bare
  float-noise grid.  The sensitivity engine ranks on exactly these units.
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

#: Default grade bands: lower bounds, highest first (DOMAIN.md §1.6 convention 90/80/60).
DEFAULT_GRADES = (("优秀", 90.0), ("良好", 80.0), ("合格", 60.0), ("不合格", -math.inf))

__all__ = ["DEFAULT_GRADES", "parse_bands", "assign_grades", "rank_within", "bottom_n_mask", "lowest_grade", "SCORE_DECIMALS",
           "on_grid", "publish_units", "publish"]

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


def publish_units(values, decimals: int = 6) -> np.ndarray:
    """Published score in units of 10^-decimals (floats holding integers; NaN stays NaN).

    ``u = ⌊(rint(v·10⁶) + q/2) / q⌋`` with ``q = 10^(6 − decimals)``: the score is
    snapped to the 1e-6 grid (float noise such as 89.99499999999999 for an exact
    89.995 is removed) and then rounded half-up (四舍五入) to ``decimals``.
    """
    d = int(decimals)
    if not 0 <= d <= 6:
        raise ValueError("decimals must be 0–6")
    v = np.asarray(values, dtype=float)
    big = np.abs(np.nan_to_num(v, nan=0.0)) >= 1e12
    micro = np.rint(np.where(big, 0.0, v) * 1e6)
    q = 10.0 ** (6 - d)
    u = np.floor((micro + q / 2.0) / q) if d < 6 else micro
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(big, np.round(v * 10.0 ** d), u)


def publish(values, decimals: int = 2) -> np.ndarray:
    """Published scores as floats (half-up to ``decimals``, see :func:`publish_units`)."""
    return publish_units(values, decimals) / 10.0 ** int(decimals)


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


def assign_grades(scores, bands=None, decimals: int = 6) -> pd.Series:
    """Grade of every score: first band whose lower bound ``<= published score``."""
    b = parse_bands(bands)
    s = pd.Series(scores, dtype=float) if not isinstance(scores, pd.Series) else scores.astype(float)
    scale = 10.0 ** int(decimals)
    v = publish_units(s.to_numpy(), decimals)
    # a cut-off is compared in published units too: score ≥ 89.995 ⇔ units ≥ ⌈89.995·10^d⌉
    lows = np.array([np.ceil(np.round(lo * scale, 6)) if np.isfinite(lo) else lo for _, lo in b])
    labels = np.array([lab for lab, _ in b], dtype=object)
    # bands are sorted high → low: count how many bounds the score clears from the top
    idx = np.argmax(v[:, None] >= lows[None, :], axis=1) if len(v) else np.array([], int)
    out = labels[idx] if len(v) else np.array([], dtype=object)
    out = np.where(np.isnan(v), None, out)
    return pd.Series(out, index=s.index, dtype="str", name="grade")


def rank_within(scores, groups=None, method: str = "min", ascending: bool = False, decimals: int = 6) -> pd.Series:
    """Rank (1 = best) of each score within its group; ties by ``method`` (default "min").

    ``groups``: None (one group), a Series aligned with ``scores`` or an array.
    Returns a nullable ``Int64`` Series (missing score → <NA>).
    """
    s = pd.Series(scores, dtype=float) if not isinstance(scores, pd.Series) else scores.astype(float)
    s = pd.Series(publish_units(s.to_numpy(), decimals), index=s.index)  # equal published scores → tied
    if groups is None:
        r = s.rank(method=method, ascending=ascending)
    else:
        g = groups.to_numpy() if isinstance(groups, pd.Series) else np.asarray(groups)
        r = s.groupby(g, dropna=False).rank(method=method, ascending=ascending)
    return r.round().astype("Int64").rename("rank")


def bottom_n_mask(scores, groups=None, n: int = 3, decimals: int = 6, min_group: int | None = None) -> pd.Series:
    """True where fewer than ``n`` units of the same group score strictly lower.

    Only in groups with at least ``min_group`` scored units (default ``n + 1``): a
    unit alone in its type, or one of three units, is not "bottom 3".
    """
    s = pd.Series(scores, dtype=float) if not isinstance(scores, pd.Series) else scores.astype(float)
    low_rank = rank_within(s, groups, method="min", ascending=True, decimals=decimals)
    g = groups.to_numpy() if isinstance(groups, pd.Series) else (np.zeros(len(s)) if groups is None else np.asarray(groups))
    size = s.notna().groupby(g).transform("sum").to_numpy()
    big_enough = size >= (n + 1 if min_group is None else min_group)
    return ((low_rank <= n).fillna(False).astype(bool) & big_enough).rename("bottom_n")
