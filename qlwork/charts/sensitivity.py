"""Charts of a :class:`~qlwork.sensitivity.summaries.SensitivityResult`.

Thin adapters over the house charts :func:`qlwork.charts.plots.rank_interval_plot`
and :func:`qlwork.charts.plots.grade_probability_plot` (one style, CJK fonts): they
choose which units to show and map the result's columns.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import Problem, QlworkError

__all__ = ["rank_interval_plot", "grade_probability_plot", "select_units"]


def select_units(result, *, group: str | None = None, units: Sequence[str] | None = None, n: int = 40,
                 how: str = "spread") -> pd.DataFrame:
    """Rows of ``result.units`` to draw.

    ``units`` explicit ids; else within ``group`` (default: the largest peer
    group) either ``how="spread"`` — n units evenly spaced along the nominal
    ranking (an overview) — or ``how="unstable"`` — the n widest intervals.
    """
    u = result.units
    if units is not None:
        missing = [x for x in units if x not in set(u["unit_id"])]
        if missing:
            raise QlworkError(Problem("unknown_unit", f"单位不存在：{missing[:5]}", "unknown unit ids", found=missing[:5]))
        return u[u["unit_id"].isin(list(units))]
    if group is None:
        group = u["peer_group"].value_counts().index[0]
    d = u[u["peer_group"] == group].sort_values("nominal_rank", kind="stable")
    if len(d) <= n:
        return d
    if how == "unstable":
        return d.loc[d["rank_interval_width"].sort_values(ascending=False, kind="stable").index[:n]]
    idx = np.unique(np.linspace(0, len(d) - 1, n).round().astype(int))
    return d.iloc[idx]


def _labels(d: pd.DataFrame) -> pd.Series:
    if "unit_name" in d.columns:
        return d["unit_name"].astype(str)
    return d["unit_id"].astype(str)


def rank_interval_plot(result, *, group=None, units=None, n: int = 40, how: str = "spread", ax=None, **kw):
    """Units sorted by nominal rank with their median rank and 5–95 % rank interval."""
    from .plots import rank_interval_plot as _plot

    d = select_units(result, group=group, units=units, n=n, how=how)
    data = pd.DataFrame({"unit": _labels(d).to_numpy(), "nominal_rank": d["nominal_rank"].to_numpy(),
                         "rank_median": d["median_rank"].to_numpy(), "rank_lo": d["rank_p05"].to_numpy(),
                         "rank_hi": d["rank_p95"].to_numpy()})
    return _plot(data, ax=ax, **kw)


def grade_probability_plot(result, *, group=None, units=None, n: int = 40, how: str = "unstable", ax=None, **kw):
    """Stacked P(grade) bars (default: the n units least sure of their grade in the largest group)."""
    from .plots import grade_probability_plot as _plot

    if units is None and how == "unstable":
        u = result.units
        if group is not None:
            u = u[u["peer_group"] == group]
        units = list(u.sort_values("p_nominal_grade", kind="stable")["unit_id"].iloc[:n])
    d = select_units(result, group=group, units=units, n=n, how=how)
    data = pd.DataFrame({"unit": _labels(d).to_numpy()})
    for g in result.grade_labels:
        data[g] = d[f"p_{g}"].to_numpy()
    return _plot(data, grades=list(result.grade_labels), ax=ax, **kw)
