"""Regional charts: regions × dimensions heat map of scores.

(The regional gap of public satisfaction, :func:`qlwork.charts.survey.region_gap_plot`,
lives with the survey charts.)
"""
from __future__ import annotations

import math
from typing import Sequence

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .layout import _check, _finish, _new, _wrap_all
from .style import FULL_WIDTH, SCORE_CMAP, figsize, style_context

__all__ = ["region_heatmap"]


# ------------------------------------------------------------ region heat map
def region_heatmap(data: pd.DataFrame, *, region: str = "region", node: str = "node",
                   score: str = "score", agg: str = "mean", title: str = "各地区分维度平均得分",
                   node_order: Sequence[str] | None = None, annotate: bool | None = None,
                   vmin: float = 40, vmax: float = 100, label_width: float = 8, ax=None) -> Figure:
    """Heat map regions (rows) × nodes (columns) of scores 0–100.

    Columns: ``region`` (e.g. 县市区 name), ``node`` (dimension label) and
    ``score``; several rows per cell are aggregated with ``agg`` (mean by
    default; unit-level tables can be passed directly).  Colour map
    :data:`SCORE_CMAP` (red low, blue high) on ``vmin``–``vmax`` = 40–100 by
    default, so the midpoint (yellow) is 70, 60 (pass) is orange and 90
    (优秀) is blue; values below ``vmin`` take the darkest red.
    """
    _check(data, [region, node, score], "地区热力图")
    tab = data.pivot_table(index=region, columns=node, values=score, aggfunc=agg, observed=True, sort=False)
    if node_order is not None:
        tab = tab.reindex(columns=[c for c in node_order if c in tab.columns])
    nr, nc = tab.shape
    rlabels, rl = _wrap_all(tab.index, label_width)
    annotate = (nr * nc <= 400) if annotate is None else annotate
    with style_context():
        # Characters that fit one column: axes ≈ 80 % of the width, 1 pt = 1/72 in.
        col_chars = max(3.0, math.floor(FULL_WIDTH * 0.8 / max(nc, 1) / (mpl.rcParams["xtick.labelsize"] / 72)) - 1)
        clabels, _ = _wrap_all(tab.columns, col_chars, 3)
        fig, ax = _new(ax, figsize("full", nr, max_lines=rl, extra=1.6))
        im = ax.imshow(tab.to_numpy(float), cmap=SCORE_CMAP, vmin=vmin, vmax=vmax, aspect="auto")
        ax.set_xticks(np.arange(nc), clabels)
        ax.set_yticks(np.arange(nr), rlabels)
        ax.tick_params(axis="x", top=True, labeltop=True, bottom=False, labelbottom=False)
        ax.grid(False)
        for s in ax.spines.values():
            s.set_visible(False)
        if annotate:
            v = tab.to_numpy(float)
            fs = mpl.rcParams["xtick.labelsize"] * 0.85
            mid = (vmin + vmax) / 2
            span = (vmax - vmin) or 1
            for i in range(nr):
                for j in range(nc):
                    if np.isfinite(v[i, j]):
                        dark = abs(v[i, j] - mid) / span > 0.3
                        ax.text(j, i, f"{v[i, j]:.1f}", ha="center", va="center", fontsize=fs,
                                color="white" if dark else "#222222")
        cb = fig.colorbar(im, ax=ax, shrink=min(1.0, 6 / max(nr, 1)) if nr > 6 else 1.0, pad=0.02,
                          extend="min" if np.nanmin(tab.to_numpy(float)) < vmin else "neither")
        cb.set_label("平均得分" if agg == "mean" else "得分")
        return _finish(fig, ax, title, None, None)
