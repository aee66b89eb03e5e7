"""动态监测 — 超常预警 of the period for the units of the filters.

Reads the alert table ``qlwork monitor`` persisted for the period (``alerts_<period>.parquet``;
statistics in docs/monitoring.md) and shows, for the units of the filters:

* one sentence on what was monitored and that an alert is a prompt to look, never a grade change;
* alerts per month and detector (a table: the committee reads numbers, not bars);
* one row per unit, indicator and detector (:func:`qlwork.monitor.views.condense_alerts`),
  strongest first, pointing to a worse value by default (the checkbox shows both directions);
* a sparkline thumbnail of the unit against its peers' band in the first rows, and
  the chosen row's series in full size against its peer group's band (a sparkline from ``values_fine.parquet``
  through :func:`qlwork.monitor.views.stored_series`: nothing is re-monitored in the kernel).
"""
from __future__ import annotations

import pandas as pd

from ...labels import period_label
from ..html import TABLE_CSS, esc, fmt, info_html, table_html, td
from ..widgets import figure_png, image, set_options, show_png
from . import Tab, register_tab

__all__ = ["MonitoringTab", "scope_alerts", "MAX_ROWS"]

MAX_ROWS = 30
THUMBS = 8  # rows that get a sparkline thumbnail (each ≈ 0.1 s to draw)


def scope_alerts(alerts: pd.DataFrame, unit_ids, *, worse_only: bool = True) -> pd.DataFrame:
    """Alerts of the given units (``worse_only``: pointing to a worse value), strongest first."""
    a = alerts[alerts["unit_id"].astype(str).isin({str(u) for u in unit_ids})]
    if worse_only and "worse" in a.columns:
        a = a[a["worse"].astype(bool)]
    return a.sort_values(["strength", "unit_id"], ascending=[False, True], kind="mergesort")


@register_tab
class MonitoringTab(Tab):
    key, title, order = "monitoring", "动态监测", 45

    def build(self):
        w = self.w
        self.out = w.HTML().add_class("qlw-monitoring")
        self.worse = w.Checkbox(value=True, description="只看指向变差的预警", indent=False,
                                layout=w.Layout(width="auto")).add_class("qlw-mon-worse")
        self.pick = w.Dropdown(description="趋势图", options=[], layout=w.Layout(width="min(100%, 560px)"),
                               style={"description_width": "initial"}).add_class("qlw-mon-pick")
        self.chart = image("qlw-mon-chart", "min(100%, 760px)")
        self.table = w.HTML().add_class("qlw-mon-table")
        g = self.app.guard
        self.worse.observe(g("只看变差方向")(lambda ch: self.refresh(force=True)), "value")
        self.pick.observe(g("趋势图")(lambda ch: self._chart(ch["new"])), "value")
        self._busy = False
        self.box.children = [self.out, self.worse, self.table, self.pick, self.chart]

    def render(self):
        app = self.app
        f, fw, scope, title = self.selection()
        alerts = self.app.data.alerts(f.period)
        show_png(self.chart, None)
        self._busy = True
        try:
            set_options(self.pick, [])
        finally:
            self._busy = False
        if alerts is None:
            self.table.value = ""
            self.out.value = self.head(title, n_units=len(scope)) + info_html(
                f"{esc(period_label(f.period))}尚无动态监测结果。运行 <code>qlwork monitor --period {esc(f.period)}</code> "
                "后，此处列出月度、季度数据中的超常变化。")
            return
        a = scope_alerts(alerts, scope["unit_id"], worse_only=self.worse.value)
        from ...monitor.views import alert_counts, condense_alerts

        c = condense_alerts(a)
        n_units = int(a["unit_id"].nunique()) if len(a) else 0
        months = sorted(set(a["period"].astype(str))) if len(a) else []
        lead = (f"<div style='margin:4px 0'>筛选范围内 <b>{len(scope)}</b> 个单位中，<b class='qlw-mon-units'>{n_units}</b> "
                f"个单位有{'指向变差的' if self.worse.value else ''}超常预警 <b class='qlw-mon-n'>{len(a)}</b> 条"
                f"（合并为 {len(c)} 项：同一单位、指标与方法只列一次）。预警只是提示核查，不改变等级与名次；"
                "误报率由 Benjamini–Hochberg 方法控制（见 docs/monitoring.md）。</div>")
        self.out.value = (TABLE_CSS + self.head(title, f"评价期内 {len(months)} 个月有预警", n_units=len(scope),
                                                n_alerts=len(a)) + lead)
        if not len(a):
            self.table.value = info_html("筛选范围内没有超常预警。")
            return
        counts = alert_counts(a)
        ccols = [("period", "月份")] + [(str(k), str(k)) for k in counts.columns]
        crow = [{"period": td(esc(period_label(p)), "t"), **{str(k): td(int(v)) for k, v in r.items()}}
                for p, r in counts.iterrows()]
        cols = [("unit", "单位"), ("type", "类型"), ("ind", "指标"), ("det", "检测方法"), ("span", "时段"),
                ("n", "月数"), ("s", "强度"), ("ev", "依据")]
        thumbs = self._thumbs(c.head(THUMBS)) if app.chart_enabled else {}
        if thumbs:
            cols.append(("trend", "趋势（本单位与同类）"))
        rows = []
        for r in c.head(MAX_ROWS).itertuples():
            span = period_label(r.first) if r.first == r.last else f"{period_label(r.first)}–{period_label(r.last)}"
            rows.append({"unit": td(esc(r.unit_name), "t"), "type": td(esc(r.unit_type), "t"),
                         "ind": td(esc(r.indicator_name), "t"), "det": td(esc(r.detector_zh), "t"),
                         "span": td(esc(span), "t"), "n": td(int(r.months)), "s": td(fmt(r.strength, 1)),
                         "ev": td(esc(r.evidence), "t"), "trend": td(thumbs.get(r.Index, ""), "c"),
                         "_attrs": f' data-unit="{esc(r.unit_id)}" data-indicator="{esc(r.indicator_id)}"'})
        more = (f"<div style='color:#777'>共 {len(c)} 项，按强度列出前 {MAX_ROWS} 项。</div>" if len(c) > MAX_ROWS else "")
        self.table.value = (TABLE_CSS + "<div class='qlw-head' style='font-size:14px'>各月预警数（按检测方法）</div>"
                            + table_html(ccols, crow, cls="qlw-mon-counts", attrs='style="width:auto"')
                            + "<div class='qlw-head' style='font-size:14px;margin-top:8px'>预警单位与指标（强度从高到低）</div>"
                            + table_html(cols, rows, cls="qlw-mon-alerts qlw-wrap") + more)
        # a joint alert names several indicators ("a+b"): its chart shows the first
        opts = [(f"{r.unit_name} · {r.indicator_name}（{r.detector_zh}）", (str(r.unit_id), str(r.indicator_id).split("+")[0]))
                for r in c.head(MAX_ROWS).itertuples()]
        self._busy = True
        try:
            set_options(self.pick, opts, opts[0][1] if opts else None)
        finally:
            self._busy = False
        if opts and app.chart_enabled:
            self._chart(opts[0][1])

    def _series(self, unit_id: str, indicator_id: str):
        from ...monitor.views import stored_series

        prj = self.app.data.project
        return stored_series(prj.values_fine(), prj.units(), prj.frameworks_by_key(),
                             self.app.data.alerts(self.app.state.filters.period), unit_id, indicator_id.split("+")[0])

    def _thumbs(self, rows: pd.DataFrame) -> dict:
        """{row index: <img>} compact sparklines (a joint alert shows its first indicator)."""
        import base64

        from ...charts.monitoring import sparkline

        out = {}
        for r in rows.itertuples():
            png = figure_png(sparkline(self._series(str(r.unit_id), str(r.indicator_id)), compact=True), dpi=96)
            out[r.Index] = (f"<img class='qlw-spark' alt='{esc(r.unit_name)} {esc(r.indicator_name)} 趋势' "
                            f"style='width:190px;height:auto' src='data:image/png;base64,{base64.b64encode(png).decode()}'>")
        return out

    def _chart(self, choice):
        if self._busy or not choice:
            return
        from ...charts.monitoring import sparkline

        show_png(self.chart, figure_png(sparkline(self._series(choice[0], choice[1]))))
