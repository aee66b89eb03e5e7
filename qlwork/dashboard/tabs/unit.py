"""体检报告单 — one unit's health-check card, from the template the printed report uses.

The card is ``qlwork/templates/_unit_card.html.j2`` rendered with
:meth:`UnitReportBuilder.context` — the partial that ``unit_report.html.j2`` (print,
PDF) includes — so the dashboard shows exactly the printed numbers, strengths and
weaknesses, warnings and uncertainty.  The print style sheet is scoped to the card
(:func:`qlwork.dashboard.html.scope_css`) so it does not restyle the page.

Units to choose from are those of the current filters; with none selected (or the
selected one outside the filters) the tab says what to do instead of showing an
empty card.  Panels below the card (:func:`register_unit_panel`) are the hook for
more per-unit views (e.g. a what-if of the unit's weights).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ...labels import period_label
from ..html import esc, info_html, scope_css
from ..widgets import data_link
from . import Tab, register_tab

__all__ = ["UnitTab", "UnitPanel", "register_unit_panel", "unit_card_html", "card_css", "MAX_OPTIONS"]

MAX_OPTIONS = 500
CARD_ROOT = ".qlw-report"
_CSS: dict = {}


def card_css() -> str:
    """The printed report's CSS (``_report.css``), confined to the card."""
    if "css" not in _CSS:
        from ...report.unit_report import _TEMPLATES

        css = (_TEMPLATES / "_report.css").read_text(encoding="utf-8")
        # the print sheet's screen look (grey desk, white page) would grey the dashboard: page only
        _CSS["css"] = (scope_css(css, CARD_ROOT)
                       + f"\n{CARD_ROOT}{{background:transparent}} {CARD_ROOT} .page{{margin:4px 0}}")
    return _CSS["css"]


def unit_card_html(builder, unit_id: str) -> str:
    """The card of one unit: the 体检报告单 partial with the builder's context (as printed)."""
    from ...report.unit_report import template_env

    body = template_env().get_template("_unit_card.html.j2").render(**builder.context(unit_id))
    return f'<style>{card_css()}</style><div class="qlw-report"><div class="page">{body}</div></div>'


@dataclass(frozen=True)
class UnitPanel:
    """A section below the card: ``make(app, unit_id)`` returns a widget or an HTML string."""

    key: str
    title: str
    make: Callable[[Any, str], Any]
    order: int = 100


UNIT_PANELS: dict[str, UnitPanel] = {}


def register_unit_panel(panel: UnitPanel) -> UnitPanel:
    """Add a per-unit panel under the card (replaces one with the same key)."""
    UNIT_PANELS[panel.key] = panel
    return panel


@register_tab
class UnitTab(Tab):
    key, title, order = "unit", "体检报告单", 20
    uses_unit = True

    def build(self):
        w = self.w
        style = {"description_width": "initial"}
        g = self.app.guard
        self.search_tx = w.Text(placeholder="输入单位名称关键字", description="搜索单位", style=style,
                                layout=w.Layout(width="280px")).add_class("qlw-unit-search")
        self.unit_dd = w.Dropdown(description="单位", style=style,
                                  layout=w.Layout(width="420px")).add_class("qlw-unit-select")
        self.dl_btn = w.Button(description="下载体检报告单", layout=w.Layout(width="130px")).add_class("qlw-unit-dl")
        self.links = w.HTML().add_class("qlw-unit-links")
        self.head_html = w.HTML().add_class("qlw-unit-head")
        self.card = w.HTML().add_class("qlw-unit-card")
        self.panels = w.VBox().add_class("qlw-unit-panels")
        self._busy = False
        self.search_tx.observe(g("搜索单位")(self._on_search), "value")
        self.unit_dd.observe(g("选择单位")(self._on_unit), "value")
        self.dl_btn.on_click(g("下载体检报告单")(lambda _b: self.download()))
        bar = w.HBox([self.search_tx, self.unit_dd, self.dl_btn, self.links],
                     layout=w.Layout(flex_flow="row wrap", align_items="center", grid_gap="4px 10px"))
        self.box.children = [self.head_html, bar, self.card, self.panels]

    # ------------------------------------------------------------ events
    def _options(self):
        rows = self.app.scope_rows()
        text = (self.search_tx.value or "").strip()
        if text:
            rows = rows[rows["unit_name"].astype(str).str.contains(text, regex=False)]
        rows = rows.sort_values(["unit_name", "unit_id"])
        shown = rows.head(MAX_OPTIONS)
        return [(f"{r.unit_name}（{r.unit_type}，{r.township or r.county}）", r.unit_id)
                for r in shown.itertuples()], len(rows)

    def _fill(self):
        opts, n = self._options()
        uid = self.app.state.unit_id
        self._busy = True
        try:
            if list(self.unit_dd.options) != opts:
                self.unit_dd.options = opts
            self.unit_dd.value = uid if uid in {v for _, v in opts} else None
        finally:
            self._busy = False
        return n

    def _on_search(self, _ch):
        self._fill()

    def _on_unit(self, ch):
        if self._busy:
            return
        if self.app.state.select_unit(ch["new"]):
            self.refresh()

    # ------------------------------------------------------------ render
    def render(self):
        app = self.app
        f = app.state.filters
        uid = app.state.unit_id
        in_scope = set(app.scope_rows()["unit_id"])
        if uid is not None and uid not in in_scope:
            lost = app.ranking()["unit_name"].get(uid, uid)
            app.state.select_unit(None)
            uid = None
            note = (f"所选单位“{esc(lost)}”不在当前筛选范围（{esc(f.scope_label())}）内，请重新选择。")
        else:
            note = ""
        n = self._fill()
        self.links.value = ""
        self.head_html.value = self.head(
            f"{esc(period_label(f.period))} · {esc(app.framework.name)} · {esc(f.scope_label())}",
            f"可选单位 {n} 个" + (f"（列出前 {MAX_OPTIONS} 个，请用搜索缩小范围）" if n > MAX_OPTIONS else ""),
            n_units=n, unit=uid or "")
        self.dl_btn.disabled = uid is None
        if uid is None:
            self.card.value = info_html(
                (note + "<br>" if note else "") + "请在上方搜索并选择一个单位，或在“排行榜”中选中单位后点击“打开体检报告单”。"
                "体检报告单与打印版内容相同（同一模板）。", "qlw-info qlw-unit-hint")
            self.panels.children = []
            return
        builder = app.data.unit_builder(f.period, f.framework)
        self.card.value = unit_card_html(builder, uid)
        kids = []
        for p in sorted(UNIT_PANELS.values(), key=lambda p: (p.order, p.key)):
            got = p.make(app, uid)
            kids.append(self.w.HTML(got) if isinstance(got, str) else got)
        self.panels.children = kids

    def download(self):
        uid = self.app.state.unit_id
        if not uid:
            return
        f = self.app.state.filters
        b = self.app.data.unit_builder(f.period, f.framework)
        name = self.app.ranking()["unit_name"].get(uid, uid)
        self.links.value = data_link(b.render(uid).encode("utf-8"), f"体检报告单_{uid}_{name}_{f.period}.html",
                                     "text/html", "保存 HTML（可打印）")
