"""Unit profiles (体检报告单 charts): one unit against its peer group, per dimension.

:func:`unit_vs_peers` builds the table (score, peer median and quartiles,
percentile) that :func:`profile_radar` and :func:`profile_dots` draw.
"""
from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..errors import Problem, QlworkError
from .layout import _check, _finish, _legend_below, _new, _wrap_all, wrap_label
from .style import HALF_WIDTH, PEER_COLOR, STRONG_COLOR, UNIT_COLOR, WEAK_COLOR, figsize, style_context

__all__ = ["unit_vs_peers", "profile_radar", "profile_dots"]


# ------------------------------------------------------ unit vs peers (体检报告单)
def unit_vs_peers(scores: pd.DataFrame, unit_id: object, *, dimensions: Sequence[str] | None = None,
                  peers: Iterable | None = None, names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The table behind the health-check profile: a unit against its peer group.

    ``scores``: units × dimensions (index = unit ids; columns node or indicator
    ids, scores 0–100).  ``peers``: unit ids of the peer group (default: all
    rows).  Returns one row per dimension with columns ``dimension`` (id),
    ``label`` (Chinese name from ``names``), ``score``, ``peer_median``,
    ``peer_q1``, ``peer_q3`` (25 %/75 % quantiles, linear interpolation),
    ``peer_n`` and ``percentile`` (share of peers scoring strictly lower plus
    half the ties, ×100).
    """
    if unit_id not in scores.index:
        raise QlworkError(Problem("unknown_unit", f"得分表中没有单位 {unit_id!r}", "unit not in scores", found=unit_id))
    dims = list(dimensions) if dimensions is not None else list(scores.columns)
    peer_df = scores.loc[list(peers), dims] if peers is not None else scores[dims]
    x = scores.loc[unit_id, dims].astype(float)
    P = peer_df.astype(float).to_numpy()
    xv = x.to_numpy()
    valid = ~np.isnan(P)
    n = valid.sum(axis=0)
    lower = np.where(valid, P < xv, False).sum(axis=0)
    ties = np.where(valid, P == xv, False).sum(axis=0)
    pct = np.where(n > 0, (lower + 0.5 * ties) / np.maximum(n, 1) * 100, np.nan)
    names = dict(names or {})
    return pd.DataFrame({
        "dimension": dims,
        "label": [names.get(d, d) for d in dims],
        "score": xv,
        "peer_median": np.nanmedian(P, axis=0) if P.size else np.nan,
        "peer_q1": np.nanquantile(P, 0.25, axis=0) if P.size else np.nan,
        "peer_q3": np.nanquantile(P, 0.75, axis=0) if P.size else np.nan,
        "peer_n": n,
        "percentile": pct,
    })


_PROFILE_COLS = ["label", "score", "peer_median", "peer_q1", "peer_q3"]


def profile_radar(profile: pd.DataFrame, *, title: str = "各维度得分与同类单位比较",
                  unit_name: str = "本单位", peer_name: str = "同类单位", label_width: float = 7,
                  rmax: float = 100.0, ax=None) -> Figure:
    """Radar chart: the unit's score per dimension over the peer median and IQR band.

    Columns (see :func:`unit_vs_peers`): ``label``, ``score``, ``peer_median``,
    ``peer_q1``, ``peer_q3``.  At least 3 dimensions.
    """
    _check(profile, _PROFILE_COLS, "雷达图")
    if len(profile) < 3:
        raise QlworkError(Problem("too_few_dimensions", "雷达图至少需要 3 个维度，可改用点图 profile_dots",
                                  "a radar needs at least 3 dimensions; use profile_dots", found=len(profile)))
    d = profile[_PROFILE_COLS].reset_index(drop=True)
    k = len(d)
    ang = np.linspace(0, 2 * np.pi, k, endpoint=False)
    closed = np.r_[ang, ang[:1]]

    def ring(col: str) -> np.ndarray:
        v = d[col].to_numpy(float)
        return np.r_[v, v[:1]]

    with style_context():
        if ax is None:
            fig = Figure(figsize=(HALF_WIDTH * 1.25, HALF_WIDTH * 1.25), layout="constrained")
            ax = fig.add_subplot(projection="polar")
        else:
            fig = ax.figure
        ax.set_theta_offset(np.pi / 2)
        ax.set_theta_direction(-1)
        ax.fill_between(closed, ring("peer_q1"), ring("peer_q3"), color=PEER_COLOR, alpha=0.25,
                        label=f"{peer_name}四分位区间（25%–75%）", lw=0)
        ax.plot(closed, ring("peer_median"), color=PEER_COLOR, lw=1.2, ls="--", label=f"{peer_name}中位数")
        ax.plot(closed, ring("score"), color=UNIT_COLOR, lw=1.8, marker="o", ms=3.5, label=unit_name)
        ax.set_xticks(ang, [wrap_label(x, label_width, 3) for x in d["label"]])
        ax.set_ylim(0, rmax)
        rticks = np.linspace(0, rmax, 5)[1:]
        ax.set_yticks(rticks, [""] * len(rticks))
        # Radial scale written between the first two spokes on a white patch above the data:
        # polygon edges cross every angle between spokes, and plain tick labels sit under them.
        theta = np.pi / k
        for r in rticks:
            ax.text(theta, r, f"{r:g}", ha="center", va="center", zorder=6, color="#666666",
                    fontsize=mpl.rcParams["ytick.labelsize"] * 0.85,
                    bbox={"boxstyle": "round,pad=0.12", "facecolor": "white", "edgecolor": "none", "alpha": 0.85})
        ax.tick_params(axis="x", pad=2)
        _legend_below(fig, ax, ncols=1)
        if title:
            ax.set_title(title, loc="center", pad=14)
        return fig


def profile_dots(profile: pd.DataFrame, *, title: str = "各维度得分与同类单位比较",
                 xlabel: str = "得分（0–100）", unit_name: str = "本单位", peer_name: str = "同类单位",
                 label_width: float = 10, xlim: tuple[float, float] = (0, 100), ax=None) -> Figure:
    """Dot plot: per dimension, the peer IQR bar, the peer median tick and the unit's dot.

    Columns as :func:`profile_radar`.  The dot is green above the peer Q3 (强项
    strength), red below Q1 (弱项 weakness), blue otherwise.
    """
    _check(profile, _PROFILE_COLS, "点图")
    d = profile[_PROFILE_COLS].reset_index(drop=True)
    n = len(d)
    labels, lines = _wrap_all(d["label"], label_width)
    s = d["score"].to_numpy(float)
    q1, q3, med = (d[c].to_numpy(float) for c in ("peer_q1", "peer_q3", "peer_median"))
    col = np.where(s > q3, STRONG_COLOR, np.where(s < q1, WEAK_COLOR, UNIT_COLOR))
    with style_context():
        fig, ax = _new(ax, figsize("full", n, max_lines=lines, extra=1.3))
        y = np.arange(n)
        ax.hlines(y, q1, q3, color=PEER_COLOR, alpha=0.45, lw=7, label=f"{peer_name}四分位区间（25%–75%）")
        ax.scatter(med, y, marker="|", s=140, color="#444444", lw=1.6, label=f"{peer_name}中位数", zorder=3)
        ax.scatter(s, y, s=38, color=col, zorder=4, edgecolor="white", lw=0.6)
        ax.set_yticks(y, labels)
        ax.set_ylim(n - 0.5, -0.5)
        ax.set_xlim(*xlim)
        ax.grid(axis="y", visible=False)
        handles, _ = ax.get_legend_handles_labels()
        handles += [Line2D([], [], ls="", marker="o", color=c, label=lab) for c, lab in
                    ((UNIT_COLOR, unit_name), (STRONG_COLOR, f"{unit_name}（强项：高于75%分位）"),
                     (WEAK_COLOR, f"{unit_name}（弱项：低于25%分位）"))]
        _legend_below(fig, ax, handles=handles, ncols=2)
        return _finish(fig, ax, title, xlabel, None)
