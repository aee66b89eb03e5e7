"""Indicator charts for researchers: distributions, correlations, nominal vs effective weights.

Inputs are tidy tables from :mod:`qlwork.analysis.profile` and
:mod:`qlwork.analysis.coherence`; each indicator keeps its own scale.
"""
from __future__ import annotations

import math
from typing import Mapping

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..errors import Problem, QlworkError
from .layout import _check, _finish, _legend_below, _new, _wrap_all, wrap_label
from .style import CORR_CMAP, FULL_WIDTH, HALF_WIDTH, PEER_COLOR, UNIT_COLOR, figsize, style_context

__all__ = ["distribution_plot", "correlation_heatmap", "weights_comparison"]


# ------------------------------------------------------- distributions per indicator
def distribution_plot(data: pd.DataFrame, *, indicator: str = "indicator", value: str = "value",
                      group: str | None = None, unit: str | None = None, ncols: int = 3,
                      title: str = "各指标取值分布", points: bool = True, max_points: int = 400,
                      seed: int = 0) -> Figure:
    """Small multiples: one box plot (with jittered points) per indicator.

    Columns: ``indicator`` (label), ``value``; optional ``group`` (e.g. 单位类型:
    one box per group) and ``unit`` (measurement unit shown in each panel's
    x label).  Indicators have their own scales, so each panel has its own
    axis.  ``max_points`` caps the jittered points per panel (sampled with
    ``seed``).
    """
    cols = [indicator, value] + [c for c in (group, unit) if c]
    _check(data, cols, "分布图")
    d = data[cols].dropna(subset=[value])
    inds = [str(x) for x in d[indicator].astype(str).unique()]
    groups = [str(x) for x in d[group].astype(str).unique()] if group else [None]
    n = len(inds)
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    gh = max(1.0, 0.28 * len(groups) + 0.55)
    rng = np.random.default_rng(seed)
    with style_context():
        fig = Figure(figsize=(FULL_WIDTH, nrows * (gh + 0.45) + 0.5), layout="constrained")
        axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
        # Characters that fit above one panel (its share of the width, minus the tick-label gutter).
        title_chars = max(6.0, math.floor(FULL_WIDTH / ncols * 72 / mpl.rcParams["axes.labelsize"]) - 4)
        for ax, ind in zip(axes, inds):
            sub = d[d[indicator].astype(str) == ind]
            data_g = [sub[value].to_numpy(float) if g is None else
                      sub.loc[sub[group].astype(str) == g, value].to_numpy(float) for g in groups]
            pos = np.arange(len(groups))
            nonempty = [i for i, v in enumerate(data_g) if len(v)]
            ax.boxplot([data_g[i] for i in nonempty], positions=pos[nonempty], orientation="horizontal",
                       widths=0.55, showfliers=not points, patch_artist=True,
                       boxprops=dict(facecolor="#DCE6F0", edgecolor="#4A6A8A", lw=0.8),
                       medianprops=dict(color="#B2182B", lw=1.2),
                       whiskerprops=dict(color="#4A6A8A", lw=0.8), capprops=dict(color="#4A6A8A", lw=0.8))
            if points:
                for i in nonempty:
                    v = data_g[i]
                    if len(v) > max_points:
                        v = rng.choice(v, max_points, replace=False)
                    ax.scatter(v, i + rng.uniform(-0.18, 0.18, len(v)), s=3, color="#333333", alpha=0.35,
                               lw=0, zorder=3)
            if group:
                ax.set_yticks(pos, [wrap_label(g, 5, 1) for g in groups])
            else:
                ax.set_yticks([])
            ax.set_ylim(len(groups) - 0.4, -0.6)
            ax.set_title(wrap_label(ind, title_chars, 2), fontsize=mpl.rcParams["axes.labelsize"], loc="left",
                         fontweight="normal")
            if unit:
                u = sub[unit].dropna().astype(str)
                ax.set_xlabel(f"单位：{u.iloc[0]}" if len(u) else "")
            ax.grid(axis="y", visible=False)
            ax.tick_params(axis="x", labelsize=mpl.rcParams["xtick.labelsize"] * 0.9)
        for ax in axes[n:]:
            ax.set_visible(False)
        if title:
            fig.suptitle(title, x=0.01, ha="left", fontweight="bold", fontsize=mpl.rcParams["axes.titlesize"])
        return fig


# --------------------------------------------------------------- correlations
def correlation_heatmap(corr: pd.DataFrame, *, groups: Mapping[str, str] | pd.Series | None = None,
                        names: Mapping[str, str] | None = None, title: str = "指标相关系数矩阵",
                        method_label: str = "Pearson", annotate: bool | None = None,
                        lower: bool = True, label_width: float = 9, ax=None) -> Figure:
    """Heat map of a square correlation matrix (−1…1, :data:`CORR_CMAP`).

    ``corr``: square DataFrame with the same labels on index and columns (e.g.
    ``qlwork.analysis.coherence.correlation_matrix``).  ``groups`` maps each variable to
    its node; variables are kept in the given order and lines separate nodes.
    ``names`` maps ids to display labels.  ``lower`` masks the upper triangle.
    """
    if not isinstance(corr, pd.DataFrame) or corr.shape[0] != corr.shape[1]:
        raise QlworkError(Problem("bad_plot_input", "相关系数热力图需要方阵 DataFrame",
                                  "correlation heat map needs a square DataFrame",
                                  found=getattr(corr, "shape", type(corr).__name__)))
    m = corr.to_numpy(float).copy()
    k = m.shape[0]
    if lower:
        m[np.triu_indices(k, 1)] = np.nan
    names = dict(names or {})
    labels, lines = _wrap_all([names.get(c, c) for c in corr.columns], label_width)
    annotate = k <= 16 if annotate is None else annotate
    side = min(FULL_WIDTH, max(HALF_WIDTH, 0.3 * k + 2.2))
    with style_context():
        fig, ax = _new(ax, (max(side, 3.6) + 0.9, max(side, 3.6) + 0.15 * lines))
        im = ax.imshow(m, cmap=CORR_CMAP, vmin=-1, vmax=1)
        fs = mpl.rcParams["xtick.labelsize"] * (1.0 if k <= 20 else max(0.55, 20 / k))
        ax.set_xticks(np.arange(k), labels, rotation=90, fontsize=fs)
        ax.set_yticks(np.arange(k), labels, fontsize=fs)
        ax.grid(False)
        for s in ax.spines.values():
            s.set_visible(False)
        if annotate:
            for i in range(k):
                for j in range(k):
                    if np.isfinite(m[i, j]) and i != j:
                        ax.text(j, i, f"{m[i, j]:.2f}".replace("0.", ".", 1) if m[i, j] >= 0 else
                                "−" + f"{-m[i, j]:.2f}".replace("0.", ".", 1),
                                ha="center", va="center", fontsize=fs * 0.8,
                                color="white" if abs(m[i, j]) > 0.6 else "#222222")
        if groups is not None:
            g = pd.Series(groups).reindex(corr.columns).astype(str).to_numpy()
            cuts = [i for i in range(1, k) if g[i] != g[i - 1]]
            for c in cuts:
                ax.axhline(c - 0.5, color="#333333", lw=0.8)
                ax.axvline(c - 0.5, color="#333333", lw=0.8)
        cb = fig.colorbar(im, ax=ax, shrink=0.7, pad=0.02)
        cb.set_label(f"{method_label} 相关系数")
        return _finish(fig, ax, title, None, None)


# --------------------------------------------------- nominal vs effective weights
def weights_comparison(data: pd.DataFrame, *, label: str = "name", nominal: str = "nominal_weight",
                       effective: str = "r2_share", title: str = "名义权重与有效权重对比",
                       effective_label: str = "有效权重（与总分相关系数平方的占比）", nominal_label: str = "名义权重",
                       label_width: float = 12, ax=None) -> Figure:
    """Paired bars per indicator: the nominal weight and the data-driven effective weight.

    Columns: ``label`` (indicator name), ``nominal`` and ``effective`` (shares
    summing to 1, e.g. ``qlwork.analysis.coherence.effective_weights`` output).  Order
    is kept (framework order).
    """
    _check(data, [label, nominal, effective], "权重对比图")
    d = data[[label, nominal, effective]]
    n = len(d)
    labels, lines = _wrap_all(d[label], label_width)
    with style_context():
        fig, ax = _new(ax, figsize("full", n, max_lines=lines, extra=1.2))
        y = np.arange(n)
        ax.barh(y - 0.19, d[nominal], height=0.36, color=PEER_COLOR, label=nominal_label)
        ax.barh(y + 0.19, d[effective], height=0.36, color=UNIT_COLOR, label=effective_label)
        ax.set_yticks(y, labels)
        ax.set_ylim(n - 0.4, -0.6)
        ax.xaxis.set_major_formatter(mpl.ticker.PercentFormatter(1.0))
        ax.grid(axis="y", visible=False)
        _legend_below(fig, ax, ncols=2)
        return _finish(fig, ax, title, "权重占比", None)
