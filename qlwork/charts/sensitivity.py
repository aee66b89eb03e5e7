"""Charts of rank and grade uncertainty (sensitivity analysis).

:func:`rank_interval_plot` and :func:`grade_probability_plot` draw either a tidy
table (documented columns) or a :class:`~qlwork.sensitivity.summaries.SensitivityResult`
directly: for a result, :func:`select_units` chooses which units to show and the
result's columns are mapped (one function per chart, whatever the caller holds).
"""
from __future__ import annotations

from typing import Sequence

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..errors import Problem, QlworkError
from .layout import _check, _finish, _legend_below, _new, _wrap_all
from .style import GRADE_ORDER, UNIT_COLOR, WEAK_COLOR, figsize, grade_color, style_context

__all__ = ["rank_interval_plot", "grade_probability_plot", "select_units", "uncertainty_order"]


#: Columns that mark a per-unit sensitivity table (SensitivityResult.units, or the persisted
#: ``sensitivity_<period>.parquet`` of one framework).
_SENS_COLUMNS = ("unit_id", "peer_group", "nominal_rank", "rank_p05", "rank_p95")


def _units_of(source) -> pd.DataFrame:
    """The per-unit table of a SensitivityResult, or the sensitivity table itself."""
    u = source if isinstance(source, pd.DataFrame) else getattr(source, "units", None)
    if not isinstance(u, pd.DataFrame) or not set(_SENS_COLUMNS) <= set(u.columns):
        raise QlworkError(Problem("bad_plot_input", "需要敏感性分析结果或其单位表（sensitivity_<期别>.parquet）",
                                  "needs a SensitivityResult or its per-unit table", found=type(source).__name__,
                                  expected="、".join(_SENS_COLUMNS)))
    if "framework" in u.columns and u["framework"].nunique() > 1:
        raise QlworkError(Problem("bad_plot_input", "敏感性表包含多个指标体系，请先按 framework 筛选",
                                  "the table mixes frameworks; filter one", found=sorted(u["framework"].unique())))
    return u


def _grade_labels(source, u: pd.DataFrame, grades: Sequence[str] | None) -> list[str]:
    if grades is not None:
        return list(grades)
    labels = getattr(source, "grade_labels", None)
    if labels:
        return list(labels)
    known = [g for g in GRADE_ORDER if f"p_{g}" in u.columns]
    return known or [c[2:] for c in u.columns if c.startswith("p_") and c not in ("p_nominal_grade", "p_bottom_n")]


def uncertainty_order(u: pd.DataFrame) -> pd.DataFrame:
    """Units whose grade or bottom-N status is uncertain first (what a meeting discusses).

    Order: least sure of the official grade (``p_nominal_grade`` ascending), then the
    bottom-N probability closest to ½; units sure of both (P(grade) ≥ 95 % and
    P(bottom N) ≤ 5 % or ≥ 95 %) come last, by nominal rank.
    """
    pg = u["p_nominal_grade"].astype(float).fillna(1.0)
    pb = u["p_bottom_n"].astype(float).fillna(0.0) if "p_bottom_n" in u.columns else pd.Series(0.0, index=u.index)
    sure = (pg >= 0.95) & ((pb <= 0.05) | (pb >= 0.95))
    key = pd.DataFrame({"sure": sure, "pg": pg, "pb": (pb - 0.5).abs(), "r": u["nominal_rank"]})
    return u.loc[key.sort_values(["sure", "pg", "pb", "r"], kind="stable").index]


def select_units(result, *, group: str | None = None, units: Sequence[str] | None = None, n: int = 40,
                 how: str = "spread") -> pd.DataFrame:
    """Rows of the per-unit table (of a SensitivityResult, or the persisted table) to draw.

    ``units`` explicit ids; else within ``group`` (default: the largest peer
    group) either ``how="spread"`` — n units evenly spaced along the nominal
    ranking (an overview) — ``how="unstable"`` — the n widest intervals — or
    ``how="uncertain"`` — grade or bottom-N status uncertain first
    (:func:`uncertainty_order`).  Rows come back in nominal-rank order.
    """
    u = _units_of(result)
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
    if how == "uncertain":
        return d.loc[uncertainty_order(d).index[:n]].sort_values("nominal_rank", kind="stable")
    idx = np.unique(np.linspace(0, len(d) - 1, n).round().astype(int))
    return d.iloc[idx]


def _labels(d: pd.DataFrame) -> pd.Series:
    if "unit_name" in d.columns:
        return d["unit_name"].astype(str)
    return d["unit_id"].astype(str)


# ------------------------------------------------------------ rank intervals
def _rank_interval_table(data: pd.DataFrame, *, label: str = "unit", nominal: str = "nominal_rank",
                       median: str = "rank_median", lo: str = "rank_lo", hi: str = "rank_hi",
                       title: str = "排名不确定性：名义排名与5%–95%排名区间",
                       interval_label: str = "5%–95% 排名区间", nominal_label: str = "名义排名",
                       note: str | None = None, label_width: float = 11, ax=None) -> Figure:
    """Units sorted by nominal rank (1 at the top) with their simulated rank intervals.

    Columns: ``label`` (unit name), ``nominal`` (rank under the official
    settings), ``median`` (median simulated rank), ``lo``/``hi`` (e.g. 5th and
    95th percentile ranks).  Rank 1 = best.
    """
    _check(data, [label, nominal, median, lo, hi], "排名区间图")
    d = data[[label, nominal, median, lo, hi]].sort_values(nominal, kind="mergesort")
    n = len(d)
    labels, lines = _wrap_all([f"{int(r) if float(r).is_integer() else r}. {x}" for x, r in
                               zip(d[label], d[nominal])], label_width + 2)
    with style_context():
        fig, ax = _new(ax, figsize("full", n, max_lines=lines, extra=1.3))
        y = np.arange(n)
        ax.hlines(y, d[lo], d[hi], color=UNIT_COLOR, alpha=0.55, lw=3.2, label=interval_label)
        ax.scatter(d[median], y, s=16, color=UNIT_COLOR, zorder=3, label="模拟排名中位数")
        ax.scatter(d[nominal], y, s=22, marker="D", facecolor="white", edgecolor=WEAK_COLOR, lw=1.0,
                   zorder=4, label=nominal_label)
        ax.set_yticks(y, labels)
        ax.set_ylim(n - 0.4, -0.6)
        top = float(np.nanmax(d[[nominal, hi]].to_numpy(float)))
        ax.set_xlim(0.5, top + 0.5)
        ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(integer=True))  # ranks are whole numbers
        ax.grid(axis="y", visible=False)
        _legend_below(fig, ax, ncols=3)
        return _finish(fig, ax, title, "名次（1 = 最好）", None, note=note)


# ------------------------------------------------------- grade probabilities
def _grade_probability_table(data: pd.DataFrame, *, label: str = "unit", grades: Sequence[str] = GRADE_ORDER,
                           grade: str = "grade", probability: str = "probability", sort: bool = True,
                           title: str = "等级概率（模拟中各等级出现的比例）", label_width: float = 11,
                           ax=None) -> Figure:
    """Stacked horizontal bars of P(grade) per unit.

    Either wide — column ``label`` plus one column per grade in ``grades``
    (probabilities summing to 1 per row) — or tidy — columns ``label``,
    ``grade``, ``probability``.  With ``sort`` units are ordered by expected
    grade (best first).
    """
    if isinstance(data, pd.DataFrame) and grade in data.columns and probability in data.columns:
        _check(data, [label, grade, probability], "等级概率图")
        wide = data.pivot_table(index=label, columns=grade, values=probability, aggfunc="sum",
                                sort=False).reset_index()
    else:
        _check(data, [label], "等级概率图")
        wide = data
    gs = [g for g in grades if g in wide.columns]
    if not gs:
        raise QlworkError(Problem("missing_columns", f"等级概率图：没有等级列 {list(grades)}",
                                  "no grade-probability columns", found=list(map(str, wide.columns)),
                                  expected=list(grades)))
    P = wide[gs].to_numpy(float)
    P = np.nan_to_num(P)
    order = np.arange(len(wide))
    if sort:
        expected = P @ np.arange(len(gs))  # 0 = best grade
        order = np.lexsort((-P[:, 0], expected))
    P = P[order]
    names = wide[label].to_numpy()[order]
    n = len(names)
    labels, lines = _wrap_all(names, label_width)
    with style_context():
        fig, ax = _new(ax, figsize("full", n, max_lines=lines, extra=1.2))
        y = np.arange(n)
        left = np.zeros(n)
        for j, g in enumerate(gs):
            ax.barh(y, P[:, j], left=left, color=grade_color(g, gs), height=0.75, label=g, edgecolor="white", lw=0.3)
            left += P[:, j]
        ax.set_yticks(y, labels)
        ax.set_ylim(n - 0.4, -0.6)
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(mpl.ticker.PercentFormatter(1.0))
        ax.grid(axis="y", visible=False)
        _legend_below(fig, ax, ncols=len(gs), title="等级")
        return _finish(fig, ax, title, "概率", None)


def _rank_interval_of_result(result, *, group=None, units=None, n: int = 40, how: str = "spread", ax=None, **kw):
    """Units sorted by nominal rank with their median rank and 5–95 % rank interval."""
    d = select_units(result, group=group, units=units, n=n, how=how)
    data = pd.DataFrame({"unit": _labels(d).to_numpy(), "nominal_rank": d["nominal_rank"].to_numpy(),
                         "rank_median": d["median_rank"].to_numpy(), "rank_lo": d["rank_p05"].to_numpy(),
                         "rank_hi": d["rank_p95"].to_numpy()})
    if "title" not in kw:
        g = d["peer_group"].iloc[0] if len(d) and d["peer_group"].nunique() == 1 else None
        size = int(d["group_size"].iloc[0]) if g is not None and "group_size" in d.columns else len(d)
        kw["title"] = f"组内名次不确定性：{g}（共 {size} 个单位）" if g is not None else "组内名次不确定性"
        if size > len(d) and "note" not in kw:
            what = {"spread": "沿名次均匀选取", "unstable": "名次区间最宽者",
                    "uncertain": "等级或末位预警不确定者优先"}.get(how, "")
            kw["note"] = f"显示其中 {len(d)} 个单位（{what}）"
    kw.setdefault("nominal_label", "正式名次")
    return _rank_interval_table(data, ax=ax, **kw)


def _grade_probability_of_result(result, *, group=None, units=None, n: int = 40, how: str = "unstable",
                                 grades: Sequence[str] | None = None, ax=None, **kw):
    """Stacked P(grade) bars (default: the n units least sure of their grade in the largest group;
    ``how="uncertain"``: grade or bottom-N uncertain first, across all groups)."""
    u = _units_of(result)
    labels = _grade_labels(result, u, grades)
    if units is None and how in ("unstable", "uncertain"):
        if group is not None:
            u = u[u["peer_group"] == group]
        order = uncertainty_order(u) if how == "uncertain" else u.sort_values("p_nominal_grade", kind="stable")
        units = list(order["unit_id"].iloc[:n])
    d = select_units(result, group=group, units=units, n=n, how=how)
    data = pd.DataFrame({"unit": _labels(d).to_numpy()})
    for g in labels:
        data[g] = d[f"p_{g}"].to_numpy()
    return _grade_probability_table(data, grades=labels, ax=ax, **kw)


def _is_unit_table(data) -> bool:
    return isinstance(data, pd.DataFrame) and set(_SENS_COLUMNS) <= set(data.columns)


def rank_interval_plot(data, *, group=None, units=None, n: int = 40, how: str = "spread", ax=None, **kw) -> Figure:
    """Units by nominal (official) rank with their simulated rank intervals.

    ``data``: a SensitivityResult or its per-unit table (also the persisted
    ``sensitivity_<period>.parquet`` filtered to one framework) — then
    ``group``/``units``/``n``/``how`` choose the units (:func:`select_units`) — or a
    ready table with the columns ``unit``, ``nominal_rank``, ``rank_median``,
    ``rank_lo``, ``rank_hi`` (see :func:`_rank_interval_table`).
    """
    if isinstance(data, pd.DataFrame) and not _is_unit_table(data):
        return _rank_interval_table(data, ax=ax, **kw)
    return _rank_interval_of_result(data, group=group, units=units, n=n, how=how, ax=ax, **kw)


def grade_probability_plot(data, *, group=None, units=None, n: int = 40, how: str = "unstable", ax=None,
                           **kw) -> Figure:
    """Stacked P(grade) bars per unit, from a SensitivityResult or its per-unit table (default: the
    ``n`` units least sure of their grade), or from a ready table (wide or tidy)."""
    if isinstance(data, pd.DataFrame) and not _is_unit_table(data):
        return _grade_probability_table(data, ax=ax, **kw)
    return _grade_probability_of_result(data, group=group, units=units, n=n, how=how, ax=ax, **kw)
