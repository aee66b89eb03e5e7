"""权重模拟 — what the ranking would be under other level-1 weights (a simulation, not official).

The sliders set the level-1 weights (the others rescale so that all sum to 1, on a
0.001 grid, :func:`rebalance` + :func:`round_weights`); lower levels keep the
official weights.  Totals, grades and peer ranks under the new weights come from
:func:`qlwork.workflow.what_if` — the scorer that produced the official result — so
at the official weights the simulation *is* the official result (tested).

A unit counts as a grade change only when both its official and its simulated grade
exist and differ: units without a grade (missing data) are counted apart, never
listed as "nan → nan".
"""
from __future__ import annotations

import functools
import json
import math
import time
from typing import Mapping

import pandas as pd

from ...errors import Problem, QlworkError
from ...labels import COLUMN_LABELS, period_label
from ..data import OFFICIAL_PRESET
from ..html import TABLE_CSS, esc, fmt, fmt_int, grade_badge, info_html, is_missing, td
from ..state import sort_rows
from ..widgets import set_options
from . import Tab, register_tab
from .ranking import ranking_table_html

__all__ = ["WeightsTab", "rebalance", "round_weights", "normalise", "simulate", "MAX_CHANGED"]

MAX_CHANGED = 100
MAX_SENTENCES = 12


def normalise(w: Mapping[str, float]) -> dict:
    s = sum(max(float(v), 0.0) for v in w.values())
    if s <= 0:
        raise QlworkError(Problem("bad_weights", "一级指标权重之和必须大于 0", "level-1 weights must sum to > 0",
                                  found=dict(w), expected="至少一个权重大于 0"))
    return {k: max(float(v), 0.0) / s for k, v in w.items()}


def rebalance(weights: Mapping[str, float], changed: str, value: float) -> dict:
    """New level-1 weights with ``weights[changed] = value`` and the others rescaled
    proportionally so that all sum to 1 (equal shares if the others were all zero);
    ``value`` is clipped to [0, 1]."""
    value = float(min(max(value, 0.0), 1.0))
    others = {k: max(float(v), 0.0) for k, v in weights.items() if k != changed}
    if not others:
        return {changed: 1.0}
    rest = 1.0 - value
    tot = sum(others.values())
    new = ({k: rest / len(others) for k in others} if tot <= 1e-9 else {k: v / tot * rest for k, v in others.items()})
    new[changed] = value
    return {k: new[k] for k in weights}


def round_weights(weights: Mapping[str, float], step: float = 0.001, keep: str | None = None) -> dict:
    """Weights on a grid of ``step`` that still sum to exactly 1 (largest remainder /
    Hamilton rounding), so the numbers shown are the numbers used.  ``keep`` (a key
    already on the grid) is left unchanged."""
    w = normalise(weights)
    units = int(round(1 / step))
    fixed = {keep: int(round(w[keep] * units))} if keep in w else {}
    rest = {k: v for k, v in w.items() if k not in fixed}
    budget = units - sum(fixed.values())
    tot = sum(rest.values())
    raw = {k: (v / tot * budget if tot > 0 else budget / len(rest)) for k, v in rest.items()} if rest else {}
    fl = {k: int(math.floor(v)) for k, v in raw.items()}
    left = budget - sum(fl.values())
    for k in sorted(raw, key=lambda k: (-(raw[k] - fl[k]), k))[:max(left, 0)]:
        fl[k] += 1
    out = {**fl, **fixed}
    return {k: out[k] / units for k in weights}


def simulate(result, official: pd.DataFrame, weights: Mapping[str, float]) -> pd.DataFrame:
    """Official rows (``official``: ranking rows, index unit_id) with the what-if under ``weights``:
    sim_total, sim_grade, sim_rank, rank_change (official − simulated: + = moves up), grade_changed
    (both grades defined and different) and no_grade (either grade missing)."""
    from ...workflow import what_if

    wi = what_if(result, dict(weights))
    out = official.copy()
    ids = out.index.astype(str)
    out["sim_total"] = wi["total"].reindex(ids).to_numpy(float)
    out["sim_grade"] = wi["grade"].reindex(ids).astype(object).to_numpy()
    out["sim_rank"] = pd.to_numeric(wi["rank"].reindex(ids), errors="coerce").to_numpy(float)
    off_rank = pd.to_numeric(out["rank"], errors="coerce").to_numpy(float)
    out["rank_change"] = off_rank - out["sim_rank"].to_numpy(float)
    g0 = out["grade"].astype(object)
    g1 = out["sim_grade"].astype(object)
    no_grade = g0.map(is_missing).to_numpy() | g1.map(is_missing).to_numpy() | \
        (g0.astype(str) == "").to_numpy() | (g1.astype(str) == "").to_numpy()
    out["no_grade"] = no_grade
    out["grade_changed"] = ~no_grade & (g0.astype(str).to_numpy() != g1.astype(str).to_numpy())
    return out


def _rank_move(v) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "—"
    if math.isnan(f) or f == 0:
        return '<span style="color:#666">—</span>'
    return (f'<span style="color:#1a7f37">↑{int(f)}</span>' if f > 0 else f'<span style="color:#c62828">↓{int(-f)}</span>')


@register_tab
class WeightsTab(Tab):
    key, title, order = "weights", "权重模拟", 30

    def build(self):
        w = self.w
        g = self.app.guard
        style = {"description_width": "initial"}
        self.preset_dd = w.Dropdown(description="预设权重", style=style,
                                    layout=w.Layout(width="260px")).add_class("qlw-preset")
        self.reset_btn = w.Button(description="恢复正式权重", layout=w.Layout(width="120px")).add_class("qlw-reset")
        self.slider_box = w.VBox()
        self.wsum = w.HTML().add_class("qlw-weights-sum")
        self.head_html = w.HTML().add_class("qlw-weights-head")
        self.summary = w.HTML().add_class("qlw-weights-summary")
        self.table = w.HTML().add_class("qlw-weights-table")
        self.sliders: dict = {}
        self.weights: dict = {}
        self.presets: dict = {}
        self._fw_key = None
        self._lock = False
        self.wseq = 0
        self.update_s = float("nan")
        self.preset_dd.observe(g("预设权重")(self._on_preset), "value")
        self.reset_btn.on_click(g("恢复正式权重")(lambda _b: self.reset()))
        intro = w.HTML("<div style='color:#555'>模拟：拖动滑块调整一级指标权重（其余按比例调整，合计始终为 1；二级及以下沿用正式权重），"
                       "查看排名与等级如何变化。<b>这是模拟，不是正式结果</b>；恢复正式权重时与正式结果完全一致。</div>")
        self.summary.layout = w.Layout(flex="1 1 520px", min_width="0")
        controls = w.VBox([w.HBox([self.preset_dd, self.reset_btn],
                                  layout=w.Layout(grid_gap="4px 10px", align_items="center")),
                           self.slider_box, self.wsum], layout=w.Layout(flex="0 0 auto"))
        self.box.children = [
            self.head_html, intro,
            w.HBox([controls, self.summary], layout=w.Layout(flex_flow="row wrap", align_items="flex-start",
                                                             grid_gap="4px 24px", width="100%")),
            w.Box([self.table], layout=w.Layout(width="100%", overflow="auto"))]

    # ------------------------------------------------------------ sliders
    def _setup(self):
        """(Re)build the sliders for the framework shown (official weights)."""
        f = self.app.state.filters
        fw = self.app.framework
        self._fw_key = (f.period, f.framework)
        self.presets = self.app.data.weight_presets(f.period, f.framework)
        self._lock = True
        try:
            set_options(self.preset_dd, list(self.presets), OFFICIAL_PRESET)
        finally:
            self._lock = False
        self.weights = dict(self.presets[OFFICIAL_PRESET])
        shown = round_weights(self.weights)
        self.sliders = {}
        kids = []
        for n in fw.level1:
            s = self.w.FloatSlider(value=shown[n], min=0.0, max=1.0, step=0.001, readout_format=".3f",
                                   continuous_update=False, description=fw.name_of(n),
                                   style={"description_width": "80px"},
                                   layout=self.w.Layout(width="420px")).add_class(f"qlw-w-{n}").add_class("qlw-wslider")
            s.observe(self.app.guard("调整权重")(functools.partial(self._on_slider, n)), "value")
            self.sliders[n] = s
            kids.append(s)
        self.slider_box.children = kids

    def current_weights(self) -> dict:
        """The level-1 weights the simulation uses (exactly the official ones after a reset)."""
        return dict(self.weights)

    def slider_weights(self) -> dict:
        return {n: float(s.value) for n, s in self.sliders.items()}

    def set_weights(self, weights: Mapping[str, float], *, exact: bool = False):
        """Show ``weights`` on the sliders and simulate them (``exact``: use them as given,
        not rounded to the slider grid — the presets)."""
        shown = round_weights(weights)
        self._lock = True
        try:
            for n, v in shown.items():
                self.sliders[n].value = v
        finally:
            self._lock = False
        self.weights = normalise(weights) if exact else shown
        self.refresh(force=True)

    def _on_slider(self, node: str, ch):
        if self._lock:
            return
        val = round(float(ch["new"]), 3)
        new = round_weights(rebalance(self.slider_weights() | {node: ch["old"]}, node, val), keep=node)
        self._lock = True
        try:
            for n, v in new.items():
                self.sliders[n].value = v
        finally:
            self._lock = False
        self.weights = new
        self._lock = True
        try:
            self.preset_dd.value = None  # the weights shown are no preset any more
        finally:
            self._lock = False
        self.refresh(force=True)

    def _on_preset(self, ch):
        if self._lock or ch["new"] is None:
            return
        self.set_weights(self.presets[ch["new"]], exact=True)

    def reset(self):
        self._lock = True
        try:
            self.preset_dd.value = OFFICIAL_PRESET
        finally:
            self._lock = False
        self.set_weights(self.presets[OFFICIAL_PRESET], exact=True)

    # ------------------------------------------------------------ render
    def render(self):
        t0 = time.perf_counter()
        app = self.app
        f = app.state.filters
        if self._fw_key != (f.period, f.framework) or not self.sliders:
            self._setup()
        fw = app.framework
        weights = self.current_weights()
        self.wsum.value = (f"<div style='padding:2px 0 6px 88px;color:#345'>权重合计 "
                           f"<b class='qlw-wtotal'>{sum(self.slider_weights().values()):.3f}</b></div>")
        scope = app.scope_rows()
        sim = simulate(app.index_result, scope, weights)
        self.sim = sim
        sel = sort_rows(sim.assign(total_official=sim["total"], total=sim["sim_total"]), "total", False)
        changed = sel[sel["grade_changed"]]
        n_missing = int(sel["no_grade"].sum())
        top = sel.head(app.page_size)
        extra = changed[~changed["unit_id"].isin(top["unit_id"])].head(MAX_CHANGED)
        shown = sel[sel["unit_id"].isin(set(top["unit_id"]) | set(extra["unit_id"]))]
        self.shown = shown
        dec = app.decimals
        grades = app.grades
        cols = [("seq", "序号"), ("unit_name", COLUMN_LABELS["unit_name"]), ("unit_type", COLUMN_LABELS["unit_type"]),
                ("total", "模拟" + COLUMN_LABELS["total"]), ("sim_grade", "模拟" + COLUMN_LABELS["grade"]),
                ("sim_rank", "模拟" + COLUMN_LABELS["rank"]), ("total_official", "正式" + COLUMN_LABELS["total"]),
                ("grade", "正式" + COLUMN_LABELS["grade"]), ("rank", "正式" + COLUMN_LABELS["rank"]),
                ("rank_change", "名次变化")]
        extra_cells = {
            "sim_grade": lambda r: td(grade_badge(r["sim_grade"], grades, vetoed=bool(r.get("veto"))), "c qlw-sim-grade"),
            "sim_rank": lambda r: td(f"{fmt_int(r['sim_rank'])}<small>/{fmt_int(r.get('n_peers'))}</small>", "qlw-sim-rank"),
            "total_official": lambda r: td(fmt(r["total_official"], dec), "qlw-off-total"),
            "rank_change": lambda r: td(_rank_move(r["rank_change"]), "qlw-rank-move"),
        }
        self.wseq += 1
        self.table.value = ranking_table_html(shown, cols, grades, decimals=dec, cls="qlw-wrank", seq=self.wseq,
                                              extra=extra_cells, changed=set(changed["unit_id"]))
        self.update_s = time.perf_counter() - t0
        wt = "，".join(f"{esc(fw.name_of(n))} {v:.3f}" for n, v in weights.items())
        is_official = all(abs(weights[n] - self.presets[OFFICIAL_PRESET][n]) < 1e-12 for n in weights)
        sentences = "".join(
            f"<li>{esc(r.unit_name)}（{esc(r.unit_type)}）：{esc(r.grade)} → {esc(r.sim_grade)}"
            f"（{COLUMN_LABELS['total']} {fmt(r.total_official, dec)} → {fmt(r.sim_total, dec)}，"
            f"{COLUMN_LABELS['rank']} {fmt_int(r.rank)} → {fmt_int(r.sim_rank)}）</li>"
            for r in changed.head(MAX_SENTENCES).itertuples())
        listed = (f"<div>等级变化的单位{'（列出前 %d 个）' % MAX_SENTENCES if len(changed) > MAX_SENTENCES else ''}：</div>"
                  f"<ul class='qlw-sentences qlw-changed-list'>{sentences}</ul>") if len(changed) else ""
        self.head_html.value = self.head(
            f"{esc(period_label(f.period))} · {esc(fw.name)} · {esc(f.scope_label())}",
            "当前为正式权重：模拟结果与正式结果相同。" if is_official else "当前为模拟权重（非正式结果）。",
            n_units=len(sel), changed=len(changed))
        self.summary.value = (
            TABLE_CSS + f"<div style='margin:6px 0' class='qlw-wcurrent' data-weights='{esc(json.dumps(weights))}'>"
            f"当前权重：{wt}。筛选范围内 <b>{len(sel)}</b> 个单位，<b class='qlw-nchanged'>{len(changed)}</b> 个单位等级发生变化"
            f"（表中黄色底色）" + (f"；另有 {n_missing} 个单位因数据缺失未定等，不参与比较" if n_missing else "")
            + f"。表中为模拟得分前 {len(top)} 名"
            + (f"及其余等级变化单位中的前 {len(extra)} 个。" if len(changed) - len(changed[changed['unit_id'].isin(top['unit_id'])]) > MAX_CHANGED
               else ("及其余全部等级变化单位。" if len(extra) else "。"))
            + listed
            + f"<span style='color:#888;font-size:12px'>重新计算用时 {self.update_s:.2f} 秒</span></div>"
            + ("" if len(sel) else info_html("没有符合筛选条件的单位。")))

