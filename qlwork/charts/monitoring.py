"""Charts of dynamic monitoring (动态监测), in the house style of :mod:`qlwork.charts.plots`.

- :func:`sparkline` — one unit's monthly series against its peers' band (median, 25–75 %
  and 10–90 % of the same peer group each month), alert months marked; ``compact=True``
  gives the thumbnail the dashboard lists next to each alert (:func:`sparkline_png`);
- :func:`alerts_by_period` — alerts per month, stacked by detector;
- :func:`recall_chart` — recall of each detector by kind of planted anomaly, with the
  false-alarm rates (the evaluation in docs/monitoring.md).

Inputs are tidy tables: :func:`qlwork.monitor.views.unit_series`,
the alert table, :class:`qlwork.monitor.evaluate.Evaluation`.
"""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .. import periods as P
from .layout import _check, _finish, _legend_below, _new, wrap_label
from .style import HALF_WIDTH, PEER_COLOR, SERIES_PALETTE, UNIT_COLOR, WEAK_COLOR, figsize, style_context

__all__ = ["sparkline", "sparkline_png", "alerts_by_period", "recall_chart", "DETECTOR_COLORS"]

#: one colour per detector, shared by every monitoring chart
DETECTOR_COLORS = {"本单位历史（突变）": SERIES_PALETTE[3], "同类比较（离群）": SERIES_PALETTE[0],
                   "水平突变（持续偏移）": SERIES_PALETTE[1], "趋势漂移（逐月累积）": SERIES_PALETTE[4],
                   "多指标组合异常": SERIES_PALETTE[2]}


def _tick_labels(periods: list[str]) -> tuple[list[int], list[str]]:
    """Positions and labels of the time ticks: every 3rd month (its year on January), every quarter."""
    pos, lab = [], []
    for i, x in enumerate(periods):
        p = P.try_parse(x)
        if p is None:
            continue
        if p.grain == "M":
            if (p.index - 1) % 3:
                continue
            lab.append(f"{p.year}年\n{p.index}月" if p.index == 1 or not pos else f"{p.index}月")
        elif p.grain == "Q":
            lab.append(f"{p.year}年\nQ{p.index}" if p.index == 1 or not pos else f"Q{p.index}")
        else:
            lab.append(p.label_zh)
        pos.append(i)
    return pos, lab


def sparkline(series: pd.DataFrame, *, title: str | None = None, compact: bool = False, ax=None):
    """One unit against its peers' band over time (columns of
    :func:`qlwork.monitor.views.unit_series`; names from its ``attrs``).

    The band is the same peer group's 10–90 % (light) and 25–75 % (darker) range and the
    dashed line its median, period by period; red dots are the periods with an alert.
    ``compact`` draws a small thumbnail without legend and axis titles.
    """
    _check(series, ["period", "value", "peer_median", "peer_p10", "peer_p90", "alert"], "监测趋势图")
    a = series.attrs
    x = np.arange(len(series))
    name, ind, measure = a.get("unit_name", ""), a.get("indicator_name", ""), a.get("measure", "")
    with style_context(0.75 if compact else 1.0):
        fig, ax = _new(ax, (HALF_WIDTH * 0.95, 1.15) if compact else figsize("full", aspect=0.42))
        ax.fill_between(x, series["peer_p10"], series["peer_p90"], color=PEER_COLOR, alpha=0.16, lw=0,
                        label="同类 10%–90%")
        if "peer_p25" in series:
            ax.fill_between(x, series["peer_p25"], series["peer_p75"], color=PEER_COLOR, alpha=0.28, lw=0,
                            label="同类 25%–75%")
        ax.plot(x, series["peer_median"], color=PEER_COLOR, lw=1.0, ls="--", label="同类中位数")
        ax.plot(x, series["value"], color=UNIT_COLOR, lw=1.6 if not compact else 1.2, marker="o",
                ms=2.5 if not compact else 1.6, label="本单位", zorder=3)
        hit = series["alert"].to_numpy(bool) & np.isfinite(series["value"].to_numpy(float))
        if hit.any():
            ax.scatter(x[hit], series["value"].to_numpy(float)[hit], s=42 if not compact else 18, facecolor="none",
                       edgecolor=WEAK_COLOR, lw=1.6, zorder=4, label="预警")
        pos, lab = _tick_labels(list(series["period"]))
        ax.set_xticks(pos, lab)
        ax.set_xlim(-0.5, len(series) - 0.5)
        if compact:
            ax.set_title(wrap_label(f"{name} · {ind}", 26, 1), fontsize="medium", loc="left")
            ax.tick_params(labelsize="small")
            ax.set_ylabel(measure, fontsize="small")
            return fig
        grain = P.GRAIN_ADJ_ZH.get(a.get("grain", "M"), "")
        n = int(series["peer_n"].max()) if "peer_n" in series else 0
        t = title or f"{name} · {ind}（{grain}）\n与同类单位比较：{a.get('peer_name', '')}，每期 {n} 个单位"
        handles = [Line2D([], [], color=UNIT_COLOR, marker="o", ms=3, lw=1.6, label="本单位"),
                   Line2D([], [], color=PEER_COLOR, ls="--", lw=1.0, label="同类中位数"),
                   Patch(color=PEER_COLOR, alpha=0.35, label="同类 25%–75%"),
                   Patch(color=PEER_COLOR, alpha=0.16, label="同类 10%–90%")]
        if hit.any():
            handles.append(Line2D([], [], ls="", marker="o", mfc="none", mec=WEAK_COLOR, mew=1.6, ms=7,
                                  label="预警（提示核查）"))
        _legend_below(fig, ax, handles=handles, ncols=len(handles))
        return _finish(fig, ax, t, None, wrap_label(f"{ind}（{measure}）" if measure else ind, 14, 2))


def sparkline_png(result, unit_id: str, indicator_id: str, *, compact: bool = True, dpi: int = 96) -> bytes:
    """PNG bytes of :func:`sparkline` for a unit and indicator of a monitoring result
    (the dashboard's thumbnail next to each alert)."""
    from ..monitor.views import unit_series

    fig = sparkline(unit_series(result, unit_id, indicator_id), compact=compact)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def alerts_by_period(alerts: pd.DataFrame, *, title: str = "各期预警数（按检测方法）", ax=None):
    """Alerts per period, stacked by detector (``period``, ``detector_zh`` columns)."""
    _check(alerts, ["period", "detector_zh"], "预警数柱状图")
    t = alerts.pivot_table(index="period", columns="detector_zh", values="period", aggfunc="size", fill_value=0) \
        if "unit_id" not in alerts else alerts.pivot_table(index="period", columns="detector_zh", values="unit_id",
                                                            aggfunc="size", fill_value=0)
    t = t.loc[P.sort_periods(t.index)]
    cols = [c for c in DETECTOR_COLORS if c in t.columns]
    with style_context():
        fig, ax = _new(ax, figsize("full", aspect=0.45))
        bottom = np.zeros(len(t))
        x = np.arange(len(t))
        for c in cols:
            ax.bar(x, t[c].to_numpy(), bottom=bottom, color=DETECTOR_COLORS[c], label=c, width=0.7)
            bottom += t[c].to_numpy()
        for xi, b in zip(x, bottom):
            ax.text(xi, b, f"{int(b)}", ha="center", va="bottom", fontsize="small")
        ax.set_xticks(x, [P.label_zh(p).replace("年", "年\n", 1) for p in t.index])
        ax.set_ylim(0, max(bottom.max() * 1.15, 1))
        _legend_below(fig, ax, ncols=min(len(cols), 3))
        return _finish(fig, ax, title, None, "预警条数")


def recall_chart(evaluation, *, title: str = "各检测方法的检出率与误报率（示例数据中的人为异常）", ax=None):
    """Recall by kind of planted anomaly (groups) and detector (bars); the legend gives each
    detector's false-alarm rate on clean unit-indicator-months."""
    from ..monitor.base import DETECTOR_ZH
    from ..monitor.evaluate import KINDS_ZH

    rec = evaluation.recall
    fa = evaluation.false_alarms.set_index("detector")["rate"]
    kinds = [k for k in KINDS_ZH if k in set(rec["kind"])]
    dets = [d for d in DETECTOR_ZH if d in set(rec["detector"])]
    with style_context():
        fig, ax = _new(ax, figsize("full", aspect=0.55))
        w = 0.8 / len(dets)
        x = np.arange(len(kinds))
        for j, d in enumerate(dets):
            r = rec[rec["detector"] == d].set_index("kind").reindex(kinds)["recall"].to_numpy(float)
            ax.bar(x - 0.4 + w * (j + 0.5), r, width=w, color=DETECTOR_COLORS[DETECTOR_ZH[d]],
                   label=f"{DETECTOR_ZH[d]}（误报率 {fa.get(d, np.nan):.2%}）")
        any_r = rec[rec["detector"] == "any"].set_index("kind").reindex(kinds)["recall"].to_numpy(float)
        ax.scatter(x, any_r, marker="D", color="#222222", zorder=4, s=22,
                   label=f"任一方法（误报率 {fa.get('any', np.nan):.2%}）")
        ax.axhline(0.8, color=WEAK_COLOR, lw=0.8, ls=":")
        ax.text(len(kinds) - 0.5, 0.81, "0.8", color=WEAK_COLOR, ha="right", va="bottom", fontsize="small")
        ax.set_xticks(x, [wrap_label(KINDS_ZH[k].split(" ")[0], 6) for k in kinds])
        ax.set_ylim(0, 1.05)
        _legend_below(fig, ax, ncols=2)
        return _finish(fig, ax, title, None, "检出率（recall）")
