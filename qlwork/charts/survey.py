"""Charts for public satisfaction (获得感) vs internal scores (专业分), in the house style.

- :func:`agreement_scatter` — internal vs public with the identity line and peer-median
  quadrants, flagged units labelled where a label fits;
- :func:`bland_altman_plot` — difference against mean with bias and limits of agreement;
- :func:`public_internal_scatter` — internal vs public with the public 95 %
  intervals, the expected-public line and flagged units labelled;
- :func:`bland_altman_ci_plot` — Bland–Altman with the confidence bands of the
  bias and both limits of agreement (numbers from :func:`qlwork.analysis.compare.bland_altman`);
- :func:`region_gap_plot` — mean residual gap (public − expected) per region
  with 95 % intervals, sorted, to see whether gaps are regional.
"""
from __future__ import annotations

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patheffects import withStroke

from .layout import _check, _finish, _legend_below, _new, _num, _place_point_labels, wrap_label
from .style import (FULL_WIDTH, PEER_COLOR, SERIES_PALETTE, UNIT_COLOR, WEAK_COLOR, figsize, style_context)

__all__ = ["agreement_scatter", "bland_altman_plot", "public_internal_scatter", "bland_altman_ci_plot",
           "region_gap_plot"]


# ------------------------------------------------------- internal vs public
def agreement_scatter(data: pd.DataFrame, *, x: str = "internal", y: str = "public",
                      label: str | None = None, flag: str | None = None, group: str | None = None,
                      title: str = "专业分与获得感（群众评价）对比", xlabel: str = "专业分（内部考核，0–100）",
                      ylabel: str = "获得感（群众满意度，0–100）", quadrants: bool = True,
                      max_labels: int = 12, ax=None) -> Figure:
    """Scatter of internal vs public scores with the identity line and peer-median quadrants.

    Columns: ``x`` (internal score), ``y`` (public score); optional ``label``
    (unit name, written next to flagged points), ``flag`` (bool: divergence
    flag, drawn red), ``group`` (unit type, coloured).  The text box gives n,
    Spearman ρ and Pearson r.
    """
    cols = [x, y] + [c for c in (label, flag, group) if c]
    _check(data, cols, "散点图")
    d = data[cols].dropna(subset=[x, y])
    xv, yv = d[x].to_numpy(float), d[y].to_numpy(float)
    from scipy import stats

    rho = stats.spearmanr(xv, yv).statistic if len(d) > 2 else np.nan
    r = np.corrcoef(xv, yv)[0, 1] if len(d) > 2 else np.nan
    with style_context():
        fig, ax = _new(ax, (FULL_WIDTH * 0.8, FULL_WIDTH * 0.8))
        if group:
            for i, (g, sub) in enumerate(d.groupby(group, sort=False)):
                ax.scatter(sub[x], sub[y], s=12, alpha=0.7, color=SERIES_PALETTE[i % 10], label=str(g), lw=0)
        else:
            ax.scatter(xv, yv, s=12, alpha=0.65, color=UNIT_COLOR, lw=0)
        lo = float(np.nanmin([xv.min(), yv.min()]))
        hi = float(np.nanmax([xv.max(), yv.max()]))
        pad = (hi - lo) * 0.05 + 1e-9
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="#555555", lw=0.8, ls=":", label="y = x（完全一致）")
        if quadrants:
            mx, my = np.median(xv), np.median(yv)
            ax.axvline(mx, color=PEER_COLOR, lw=0.7, ls="--")
            ax.axhline(my, color=PEER_COLOR, lw=0.7, ls="--")
            ax.text(hi + pad, lo - pad, "专业分高、获得感低", ha="right", va="bottom", color=WEAK_COLOR,
                    fontsize=mpl.rcParams["xtick.labelsize"])
            ax.text(lo - pad, hi + pad, " 专业分低、获得感高", ha="left", va="top", color="#555555",
                    fontsize=mpl.rcParams["xtick.labelsize"])
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(lo - pad, hi + pad)
        if flag:
            fl = d[d[flag].astype(bool)]
            ax.scatter(fl[x], fl[y], s=30, facecolor="none", edgecolor=WEAK_COLOR, lw=1.0, label="背离预警", zorder=4)
            if label:
                handles, _ = ax.get_legend_handles_labels()
                _legend_below(fig, ax, handles=handles, ncols=min(4, len(handles)),
                              title=f"n = {len(d)}，Spearman ρ = {rho:.2f}，Pearson r = {r:.2f}")
                _finish(fig, ax, title, xlabel, ylabel)  # layout final before labels are measured
                _place_point_labels(fig, ax, fl[x].to_numpy(float), fl[y].to_numpy(float),
                                    [wrap_label(v, 10, 1) for v in fl[label]], max_labels, color=WEAK_COLOR)
                return fig
        handles, _ = ax.get_legend_handles_labels()
        _legend_below(fig, ax, handles=handles, ncols=min(4, len(handles)),
                      title=f"n = {len(d)}，Spearman ρ = {rho:.2f}，Pearson r = {r:.2f}")
        return _finish(fig, ax, title, xlabel, ylabel)


def bland_altman_plot(data: pd.DataFrame, *, a: str = "internal", b: str = "public",
                      title: str = "Bland–Altman 一致性图：专业分 − 获得感",
                      xlabel: str = "两者均值（0–100）", ylabel: str = "差值（专业分 − 获得感）",
                      z: float = 1.96, ax=None) -> Figure:
    """Bland–Altman plot of ``a − b`` against ``(a + b) / 2``.

    Columns: ``a`` and ``b`` (two scores on the same scale).  Bias = mean(d),
    limits of agreement = bias ± z·SD(d) with SD on n − 1 (Bland & Altman,
    Lancet 1986; same as statsmodels ``mean_diff_plot``).  The numbers are in
    the line labels; compute them for tables with ``qlwork.analysis.compare``.
    """
    _check(data, [a, b], "Bland–Altman 图")
    d = data[[a, b]].dropna()
    av, bv = d[a].to_numpy(float), d[b].to_numpy(float)
    diff = av - bv
    mean = (av + bv) / 2
    bias = diff.mean()
    sd = diff.std(ddof=1) if len(diff) > 1 else np.nan
    lo, hi = bias - z * sd, bias + z * sd
    with style_context():
        fig, ax = _new(ax, figsize("full", aspect=0.55))
        ax.scatter(mean, diff, s=11, alpha=0.6, color=UNIT_COLOR, lw=0)
        ax.axhline(0, color="#555555", lw=0.7, ls=":")
        fs = mpl.rcParams["xtick.labelsize"]
        for v, txt, c, ls in ((bias, f"平均差 {_num(bias)}", "#222222", "-"),
                              (hi, f"上限 {_num(hi)}", WEAK_COLOR, "--"), (lo, f"下限 {_num(lo)}", WEAK_COLOR, "--")):
            ax.axhline(v, color=c, lw=1.0, ls=ls)
            ax.text(1.0, v, f" {txt}", transform=ax.get_yaxis_transform(), va="center", ha="left",
                    color=c, fontsize=fs)
        span = max(abs(diff - bias).max() if len(diff) else 0, z * sd if np.isfinite(sd) else 0) or 1.0
        ax.set_ylim(bias - span * 1.15, bias + span * 1.15)
        return _finish(fig, ax, title, xlabel, ylabel,
                       note=f"n = {len(d)}；一致性界限 = 平均差 ± {z:g} × 标准差（Bland & Altman 1986）")


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


def _minus(v: float, digits: int = 1) -> str:
    """A number with a true minus sign (U+2212), as typeset."""
    return f"{v:.{digits}f}".replace("-", "−")


def bland_altman_ci_plot(x, y, *, title: str = "Bland–Altman：专业分 − 获得感（含置信区间）",
                         xlabel: str = "两者均值", ylabel: str = "差值（专业分 − 获得感）", level: float = 0.95,
                         ax=None):
    """Bland–Altman plot with shaded confidence intervals of the bias and both LoA."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    from ..analysis.compare import bland_altman  # statsmodels: imported when this chart is drawn

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
            ax.text(1.0, v, f" {txt} {_minus(v)}\n [{_minus(ci[0])}, {_minus(ci[1])}]",
                    transform=ax.get_yaxis_transform(), va="center", ha="left", color=c, fontsize=7)
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
    from scipy import stats

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
