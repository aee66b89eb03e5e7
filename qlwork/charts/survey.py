"""Charts for public satisfaction vs internal scores (issue 6), in the house style.

Built on :mod:`qlwork.charts.plots` (CJK font, colours, layout helpers):

- :func:`public_internal_scatter` — internal vs public with the public 95 %
  intervals, the expected-public line and flagged units labelled;
- :func:`bland_altman_ci_plot` — Bland–Altman with the confidence bands of the
  bias and both limits of agreement (numbers from :func:`qlwork.analysis.compare.bland_altman`);
- :func:`region_gap_plot` — mean residual gap (public − expected) per region
  with 95 % intervals, sorted, to see whether gaps are regional.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.patheffects import withStroke
from scipy import stats

from ..analysis.compare import bland_altman
from .plots import (FULL_WIDTH, PEER_COLOR, UNIT_COLOR, WEAK_COLOR, _check, _finish, _legend_below, _new,
                    _place_point_labels, figsize, style_context, wrap_label)

__all__ = ["public_internal_scatter", "bland_altman_ci_plot", "region_gap_plot"]


def public_internal_scatter(data: pd.DataFrame, *, internal: str = "internal", public: str = "public",
                            public_se: str = "public_se", flag: str = "flag_low_public",
                            label: str = "unit_id", expected: str | None = "public_expected",
                            title: str = "专业分与获得感：区间与背离预警",
                            xlabel: str = "专业分（内部考核）", ylabel: str = "获得感（群众评价，95% 区间）",
                            group: str | None = "unit_type", z: float = 1.96, max_labels: int = 15, ax=None):
    """Internal (x) vs public (y) with vertical 95 % intervals; flagged units red and labelled.

    ``data`` is typically :func:`qlwork.analysis.compare.divergence` output; the
    expected-public line is drawn per ``group`` (peer group), as it was fitted.
    Flagged units are labelled most divergent first (``resid_gap``), only
    where a label overlaps nothing; the legend title says how many are labelled.
    """
    _check(data, [internal, public, public_se], "获得感散点图")
    d = data.dropna(subset=[internal, public])
    fl = d[flag].astype(bool) if flag and flag in d.columns else pd.Series(False, index=d.index)
    with style_context():
        fig, ax = _new(ax, (FULL_WIDTH * 0.85, FULL_WIDTH * 0.85))
        ok = d[~fl]
        ax.errorbar(ok[internal], ok[public], yerr=z * ok[public_se].fillna(0), fmt="o", ms=2.5, lw=0.5,
                    alpha=0.35, color=UNIT_COLOR, ecolor=UNIT_COLOR, label="单位（95% 区间）")
        bad = d[fl]
        if len(bad):
            ax.errorbar(bad[internal], bad[public], yerr=z * bad[public_se].fillna(0), fmt="o", ms=4, lw=1.0,
                        color=WEAK_COLOR, ecolor=WEAK_COLOR, label="背离预警：获得感明显低于预期", zorder=4)
        if expected and expected in d.columns:
            # the expected public score is a line per peer group (divergence fits one per group):
            # one line across groups would zig-zag between them
            parts = d.groupby(group, sort=True) if group and group in d.columns else [(None, d)]
            for k, (_, sub) in enumerate(parts):
                o = sub.sort_values(internal)
                ax.plot(o[internal], o[expected], color=PEER_COLOR, lw=1.0, ls="--",
                        label="同类单位的预期获得感" if k == 0 else None)
        lo = float(min(d[internal].min(), d[public].min()))
        hi = float(max(d[internal].max(), d[public].max()))
        ax.plot([lo, hi], [lo, hi], color="#555555", lw=0.7, ls=":", label="y = x")
        handles, _ = ax.get_legend_handles_labels()
        n_flag = int(fl.sum())
        note = f"n = {len(d)}；预警 {n_flag} 个（单侧检验，BH 校正）"
        _legend_below(fig, ax, handles=handles, ncols=2, title=note)
        _finish(fig, ax, title, xlabel, ylabel)  # layout final before labels are measured
        if len(bad):
            # most divergent first; labels that cannot be placed without overlap are left out
            order = bad.sort_values("resid_gap") if "resid_gap" in bad.columns else bad
            lab = order[label] if label in order.columns else pd.Series(order.index.astype(str), index=order.index)
            placed = _place_point_labels(fig, ax, order[internal].to_numpy(float), order[public].to_numpy(float),
                                         [wrap_label(t, 10, 1) for t in lab], max_labels, color=WEAK_COLOR,
                                         avoid=(d[internal].to_numpy(float), d[public].to_numpy(float)),
                                         avoid_bars=(bad[internal].to_numpy(float),
                                                     (bad[public] - z * bad[public_se].fillna(0)).to_numpy(float),
                                                     (bad[public] + z * bad[public_se].fillna(0)).to_numpy(float)),
                                         zorder=6, path_effects=[withStroke(linewidth=2.2, foreground="white")])
            if placed < n_flag:  # same length class of text: the layout does not move
                for lg in fig.legends or [ax.get_legend()]:
                    lg.set_title(f"n = {len(d)}；预警 {n_flag} 个，标注 {placed} 个（单侧检验，BH 校正）")
        return fig


def bland_altman_ci_plot(x, y, *, title: str = "Bland–Altman：专业分 − 获得感（含置信区间）",
                         xlabel: str = "两者均值", ylabel: str = "差值（专业分 − 获得感）", level: float = 0.95,
                         ax=None):
    """Bland–Altman plot with shaded confidence intervals of the bias and both LoA."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    r = bland_altman(x, y, level=level)
    mean = (x + y) / 2
    diff = x - y
    with style_context():
        fig, ax = _new(ax, figsize("full", aspect=0.55))
        ax.scatter(mean, diff, s=9, alpha=0.5, color=UNIT_COLOR, lw=0)
        for v, ci, txt, c in ((r.bias, r.bias_ci, "平均差", "#222222"),
                              (r.loa_high, r.loa_high_ci, "一致性上限", WEAK_COLOR),
                              (r.loa_low, r.loa_low_ci, "一致性下限", WEAK_COLOR)):
            ax.axhline(v, color=c, lw=1.0, ls="-" if txt == "平均差" else "--")
            ax.axhspan(ci[0], ci[1], color=c, alpha=0.12, lw=0)
            ax.text(1.0, v, f" {txt} {v:.1f}\n [{ci[0]:.1f}, {ci[1]:.1f}]", transform=ax.get_yaxis_transform(),
                    va="center", ha="left", color=c, fontsize=7)
        ax.axhline(0, color="#555555", lw=0.6, ls=":")
        return _finish(fig, ax, title, xlabel, ylabel,
                       note=f"n = {r.n}；阴影为 {level:.0%} 置信区间（t 分布，SE(LoA) = √(3SD²/n)）")


def region_gap_plot(data: pd.DataFrame, *, region: str = "county", gap: str = "resid_gap",
                    title: str = "各地区获得感差距（相对同类单位预期）",
                    xlabel: str = "平均差距：获得感 − 预期（分，95% 区间）", level: float = 0.95, ax=None):
    """Mean gap per region with t-intervals, sorted (lowest first)."""
    _check(data, [region, gap], "地区差距图")
    g = data.groupby(region)[gap].agg(["mean", "std", "count"]).dropna(subset=["mean"])
    g = g.sort_values("mean")
    t = stats.t.ppf(1 - (1 - level) / 2, np.maximum(g["count"] - 1, 1))
    half = t * g["std"].fillna(0) / np.sqrt(g["count"])
    with style_context():
        fig, ax = _new(ax, figsize("full", rows=len(g)))
        ypos = np.arange(len(g))
        colors = [WEAK_COLOR if (m + h) < 0 else UNIT_COLOR for m, h in zip(g["mean"], half)]
        ax.errorbar(g["mean"], ypos, xerr=half, fmt="none", ecolor=colors, lw=1.0)
        ax.scatter(g["mean"], ypos, color=colors, s=16, zorder=3)
        ax.axvline(0, color="#555555", lw=0.7, ls=":")
        ax.set_yticks(ypos, [wrap_label(f"{r}（{int(c)}）", 12, 1) for r, c in zip(g.index, g["count"])])
        ax.invert_yaxis()  # lowest gap at the top
        return _finish(fig, ax, title, xlabel, "地区（单位数）", note="红色：区间整体低于 0，该地区群众评价系统性偏低")
