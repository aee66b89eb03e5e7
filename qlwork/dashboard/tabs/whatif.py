"""模拟改进 — the unit view's what-if panel: move one of the unit's own indicators, see the
score, grade and peer rank it would reach (the 限期治理建议 made tangible in a meeting).

Every number comes from :func:`qlwork.analysis.rescore.what_if_indicator`, which re-scores
the unit through the engine's own stages and the one scorer with its peers' official
totals fixed — so with no change it shows the official result exactly.  Values are in
the indicator's own unit and stay inside its feasible range (framework ``range``).
"""
from __future__ import annotations

import math
from typing import Any

from ...labels import grade_color
from ..html import esc
from .unit import UnitPanel, register_unit_panel

__all__ = ["what_if_panel"]


def _indicators(result, uid: str) -> list[tuple[str, str, float, float, float, int]]:
    """(id, label, raw value, low, high, decimals) of the unit's own scored indicators."""
    fw = result.framework
    raw = result.stages.get("raw") if result.stages else None
    if raw is None or uid not in raw.index:
        return []
    out = []
    for i in fw.indicator_ids:
        ind = fw.indicators[i]
        v = raw.at[uid, i] if i in raw.columns else float("nan")
        if ind.public or v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        lo, hi = ind.valid_range
        if not math.isfinite(lo):
            lo = min(0.0, float(v))
        if not math.isfinite(hi):
            hi = max(float(v) * 2.0, (ind.goalposts[1] if ind.goalposts else float(v)) * 1.5, float(v) + 10.0)
        dec = 0 if ind.kind == "count" else 1
        unit = f"（{ind.unit}）" if ind.unit else ""
        out.append((i, f"{ind.name}{unit}", float(v), float(lo), float(hi), dec))
    return out


def what_if_panel(app: Any, uid: str):
    """The panel widget for one unit (see the module doc)."""
    import ipywidgets as w

    from ...analysis.rescore import what_if_indicator

    f = app.state.filters
    result = app.data.result(f.period).results[f.framework]
    inds = _indicators(result, uid)
    if not inds:
        return "<div class='qlw-info'>本单位没有可模拟的指标。</div>"
    by_id = {i[0]: i for i in inds}
    labels = list(result.spec.grade_labels)
    changes: dict[str, float] = {}
    style = {"description_width": "initial"}
    dd = w.Dropdown(options=[(lab, i) for i, lab, *_ in inds], description="指标", style=style,
                    layout=w.Layout(width="420px")).add_class("qlw-whatif-indicator")
    sl = w.FloatSlider(description="模拟值", style=style, continuous_update=False, readout_format=".1f",
                       layout=w.Layout(width="420px")).add_class("qlw-whatif-value")
    reset = w.Button(description="恢复正式值", layout=w.Layout(width="110px")).add_class("qlw-whatif-reset")
    out = w.HTML().add_class("qlw-whatif-result")
    busy = [False]

    def show():
        r = what_if_indicator(result, uid, changes)
        col = grade_color(r["grade"], labels, vetoed=r.get("grade_rule") == "veto")
        moved = "；".join(f"{esc(by_id[k][1])}：{by_id[k][2]:g} → {v:g}" for k, v in changes.items()) or "（未改动）"
        d = result.decimals
        out.value = (
            f"<div class='qlw-whatif'><div>改动 {moved}</div>"
            f"<div style='font-size:15px;margin-top:4px'>综合得分 <b>{r['official_total']:.{d}f}</b> → "
            f"<b class='qlw-whatif-total'>{r['total']:.{d}f}</b>；等级 {esc(r['official_grade'] or '—')} → "
            f"<b class='qlw-whatif-grade' style='color:{col}'>{esc(r['grade'] or '—')}</b>；同类名次 "
            f"{r['official_rank'] or '—'} → <b class='qlw-whatif-rank'>{r['rank'] or '—'}</b> / {r['n_peers'] or '—'}"
            f"{'（低于合格线）' if r['below_pass'] else ''}{'（仍在同类后几名）' if r['bottom_n'] else ''}</div>"
            "<div class='muted' style='color:#6b7280'>同类单位按正式结果不变；一票否决单位的等级不超过封顶等级。"
            "模拟不改变正式结果。</div></div>")

    def pick(_ch=None):
        i, lab, v, lo, hi, dec = by_id[dd.value]
        busy[0] = True
        try:
            sl.min, sl.max = min(lo, sl.min), max(hi, sl.max)  # widen before narrowing (trait order)
            sl.min, sl.max = lo, hi
            sl.step = 1.0 if dec == 0 else 0.1
            sl.readout_format = ".0f" if dec == 0 else ".1f"
            sl.value = changes.get(i, v)
        finally:
            busy[0] = False

    def moved(ch):
        if busy[0]:
            return
        i = dd.value
        if abs(ch["new"] - by_id[i][2]) < 1e-12:
            changes.pop(i, None)
        else:
            changes[i] = float(ch["new"])
        show()

    def do_reset(_b):
        changes.clear()
        pick()
        show()

    g = app.guard
    dd.observe(g("选择模拟指标")(pick), "value")
    sl.observe(g("模拟指标值")(moved), "value")
    reset.on_click(g("恢复正式值")(do_reset))
    pick()
    show()
    head = w.HTML("<h4 style='margin:10px 0 4px'>模拟改进（what-if）</h4>"
                  "<div style='color:#6b7280'>移动本单位某项指标的原始值，查看综合得分、等级与同类名次的变化。</div>")
    return w.VBox([head, w.HBox([dd, sl, reset], layout=w.Layout(flex_flow="row wrap", grid_gap="4px 10px")), out],
                  layout=w.Layout(border="1px solid #e5e7eb", padding="6px 10px", margin="8px 0")
                  ).add_class("qlw-whatif-panel")


register_unit_panel(UnitPanel("whatif", "模拟改进", what_if_panel, order=10))
