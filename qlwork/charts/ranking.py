"""Ranking charts: the 排行榜 bars and score trends over periods.

Bars are coloured by the unit's **grade** (:func:`qlwork.charts.style.grade_color`;
a vetoed unit in the veto colour whatever its score), never by the score, so a
chart agrees with the table, the workbook and the 体检报告单.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.patheffects import withStroke

from ..periods import sort_key as _period_key  # the one home of period order
from ..labels import VETO_COLOR, period_label
from .layout import _check, _finish, _legend_below, _new, _wrap_all, wrap_label
from .style import (GRADE_ORDER, LABELS, PASS_LINE_COLOR, PEER_COLOR, SERIES_PALETTE, UNIT_COLOR, figsize, grade_color,
                    score_axis_label, style_context)

__all__ = ["ranking_bar", "trend_lines"]

#: a white outline keeps a value readable where it crosses the pass line or a grid line
_HALO = [withStroke(linewidth=2.0, foreground="white")]


# ------------------------------------------------------------ ranking (排行榜)
def ranking_bar(data: pd.DataFrame, *, label: str = "unit_name", score: str = "total",
                grade: str | None = "grade", pass_mark: float | None = 60.0,
                title: str = "清廉指数排行榜", xlabel: str | None = None,
                top_n: int | None = None, highlight: Iterable[str] | None = None,
                label_width: float = 11, show_values: bool = True, xlim: tuple[float, float] | None = None,
                veto: str | None = "veto", grades: Sequence[str] = GRADE_ORDER, decimals: int = 2,
                ax=None) -> Figure:
    """Horizontal ranking bars, best at the top, coloured by grade, with the pass line.

    Columns: ``label`` (unit name), ``score`` (0–100, the published total), ``grade``
    (优秀/良好/合格/不合格, best first in ``grades``; optional — bars are neutral blue
    without it) and ``veto`` (optional text: a non-empty value draws the bar in the veto
    colour, whatever the score).  ``highlight`` lists labels drawn in bold.  ``top_n``
    keeps the best n.  Values are written with ``decimals`` places (published precision).
    """
    xlabel = score_axis_label(score) if xlabel is None else xlabel
    has_veto = bool(veto) and veto in data.columns
    cols = [label, score] + ([grade] if grade and grade in data.columns else []) + ([veto] if has_veto else [])
    _check(data, [label, score], "排行榜")
    d = data[cols].dropna(subset=[score]).sort_values(score, ascending=False, kind="mergesort")
    vetoed = (d[veto].fillna("").astype(str).str.strip().ne("").to_numpy() if has_veto
              else np.zeros(len(d), dtype=bool))
    if top_n:
        d, vetoed = d.head(top_n), vetoed[:top_n]
    n = len(d)
    labels, lines = _wrap_all(d[label], label_width)
    with style_context():
        fig, ax = _new(ax, figsize("full", n, max_lines=lines, extra=1.1))
        y = np.arange(n)
        if grade in d.columns:
            colors = [grade_color(g, grades, vetoed=bool(v)) for g, v in zip(d[grade], vetoed)]
        else:
            colors = [VETO_COLOR if v else UNIT_COLOR for v in vetoed]
        vals = d[score].to_numpy(float)
        ax.barh(y, vals, color=colors, height=0.72, edgecolor="none")
        ax.set_yticks(y, labels)
        ax.set_ylim(n - 0.4, -0.6)
        lo = 0.0 if xlim is None else xlim[0]
        hi = (max(100.0, np.nanmax(vals) * 1.02) if xlim is None else xlim[1])
        ax.set_xlim(lo, hi + (8 if show_values and xlim is None else 0))
        ax.grid(axis="y", visible=False)
        if show_values:
            fs = mpl.rcParams["ytick.labelsize"]
            for yi, v in zip(y, vals):
                ax.text(v + 0.6, yi, f"{v:.{decimals}f}", va="center", ha="left", fontsize=fs * 0.9, color="#333333",
                        path_effects=_HALO)
        handles = []
        if grade in d.columns:
            present = set(d[grade].astype(str)[~vetoed])
            handles = [Patch(color=grade_color(g, grades), label=g) for g in grades if g in present]
            handles += [Patch(color=grade_color(g, grades), label=g) for g in sorted(present - set(grades))
                        if g not in ("nan", "None", "<NA>", "")]
        if vetoed.any():
            handles.append(Patch(color=VETO_COLOR, label="一票否决"))
        if pass_mark is not None:
            ax.axvline(pass_mark, color=PASS_LINE_COLOR, ls="--", lw=1.0)
            handles.append(Line2D([], [], color=PASS_LINE_COLOR, ls="--", lw=1.0, label=f"合格线 {pass_mark:g} 分"))
        if highlight:
            hl = set(map(str, highlight))
            for t, name in zip(ax.get_yticklabels(), d[label].astype(str)):
                if name in hl:
                    t.set_fontweight("bold")
                    t.set_color(UNIT_COLOR)
        if handles:
            # Below the axes, outside the bars: never covers a bar or competes with a long title.
            _legend_below(fig, ax, handles=handles, ncols=len(handles))
        return _finish(fig, ax, title, xlabel, None)


# ---------------------------------------------------------------- trend lines

def trend_lines(data: pd.DataFrame, *, period: str = "period", score: str = "score",
                series: str = "unit_name", highlight: Iterable[str] | None = None,
                pass_mark: float | None = None, title: str = "得分变化趋势", ylabel: str = "得分（0–100）",
                max_labelled: int = 8, ylim: tuple[float, float] | None = None, ax=None) -> Figure:
    """Lines over periods (2024H1 < 2024H2 < 2025H1 …, any grain: :func:`qlwork.periods.sort_key`), one per series.

    Columns: ``period``, ``score``, ``series`` (unit or node label).  With at most
    ``max_labelled`` series every line gets a colour and an end label; with more,
    lines are thin grey and only ``highlight`` series are coloured and labelled.
    """
    _check(data, [period, score, series], "趋势图")
    d = data[[period, score, series]].dropna(subset=[score])
    periods = sorted(d[period].astype(str).unique(), key=_period_key)
    pos = {p: i for i, p in enumerate(periods)}
    names = [str(x) for x in d[series].astype(str).unique()]
    hl = list(map(str, highlight)) if highlight is not None else (names if len(names) <= max_labelled else [])
    with style_context():
        fig, ax = _new(ax, figsize("full", aspect=0.5))
        k = 0
        ends = []
        for name, g in d.assign(_x=d[period].astype(str).map(pos)).groupby(d[series].astype(str), sort=False):
            g = g.sort_values("_x")
            if name in hl:
                c = SERIES_PALETTE[k % len(SERIES_PALETTE)]
                k += 1
                ax.plot(g["_x"], g[score], marker="o", ms=3.5, lw=1.6, color=c, zorder=3)
                ends.append((float(g[score].iloc[-1]), int(g["_x"].iloc[-1]), name, c))
            else:
                ax.plot(g["_x"], g[score], lw=0.6, color=PEER_COLOR, alpha=0.45, zorder=1)
        if ylim is not None:
            ax.set_ylim(*ylim)
        # End labels, spread vertically so they never overlap: one label height
        # (font size × 1.3, converted to data units with the axes' approximate
        # height) apart, then shifted down as a block if they run off the top.
        if ends:
            ends.sort()
            lo, hi = ax.get_ylim()
            fs = mpl.rcParams["legend.fontsize"]
            fs = mpl.font_manager.FontProperties(size=fs).get_size_in_points()
            axes_pts = fig.get_figheight() * 72 * 0.62
            gap = 1.3 * fs * (hi - lo) / axes_pts
            ys = [e[0] for e in ends]
            pos = []
            for v in ys:
                pos.append(max(v, pos[-1] + gap) if pos else v)
            over = pos[-1] - (hi - gap / 2)
            if over > 0:
                pos = [p - over for p in pos]
            under = (lo + gap / 2) - pos[0]
            if under > 0:  # too many labels for the height: extend the axis instead
                ax.set_ylim(lo - under, hi)
            moved = any(abs(yv - v) > gap / 3 for (v, *_), yv in zip(ends, pos))
            dx = 0.22 if moved else 0.08
            for (v, x, name, c), yv in zip(ends, pos):
                if moved:  # leader lines fan out in the gap left of the labels, never through them
                    ax.plot([x + 0.03, x + dx - 0.03], [v, yv], color=c, lw=0.5, zorder=2)
                ax.text(x + dx, yv, wrap_label(name, 12, 1), va="center", ha="left", color=c, fontsize=fs)
        if pass_mark is not None:
            ax.axhline(pass_mark, color=PASS_LINE_COLOR, ls="--", lw=1.0)
            ax.text(0, pass_mark, f"合格线 {pass_mark:g} ", color=PASS_LINE_COLOR, va="bottom", ha="left",
                    fontsize=mpl.rcParams["xtick.labelsize"], path_effects=_HALO)
        ax.set_xticks(range(len(periods)), [period_label(p) for p in periods])
        ax.set_xlim(-0.2, len(periods) - 1 + (1.4 if ends else 0.2))
        return _finish(fig, ax, title, LABELS["period"], ylabel)
