"""整改跟踪 and 风险点 — what happened after the ranking, for the units of the filters.

Both tabs show :class:`qlwork.workflow.follow_views.TabData` (the same tables ``qlwork ledger
status`` and the review workbook's 整改台账 / 重点名录 sheets are made from): headline figures,
then each table with Chinese headers.  The units are those of the period's official result
inside the dashboard's filters; nothing is scored here.  Without the registers in
``data/raw/registers/`` the tab says which command makes their templates.
"""
from __future__ import annotations

from typing import Any

from ..html import TABLE_CSS, esc, frame_html, info_html
from . import Tab, register_tab

__all__ = ["RectificationTab", "RiskTab", "tab_data_html", "MAX_ROWS"]

MAX_ROWS = 40


def _figure(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.1f}" if not v.is_integer() else str(int(v))
    return str(v)


def tab_data_html(data, *, order: tuple[str, ...] | None = None, max_rows: int = MAX_ROWS) -> str:
    """Headline figures, notes and tables of a :class:`~qlwork.workflow.follow_views.TabData`."""
    figs = "".join(f"<div class='qlw-fig' data-fig='{esc(k)}'><div class='qlw-fig-v'>{esc(_figure(v))}</div>"
                   f"<div class='qlw-fig-k'>{esc(k)}</div></div>" for k, v in data.figures.items())
    parts = [f"<div class='qlw-figs' style='display:flex;flex-wrap:wrap;gap:6px 18px;margin:6px 0'>{figs}</div>"]
    parts += [f"<div class='qlw-note' style='color:#555;margin:2px 0'>{esc(n)}</div>" for n in data.notes]
    names = [n for n in (order or tuple(data.tables)) if n in data.tables]
    for name in names:
        t = _without_context(data.tables[name])
        body = frame_html(t, max_rows=max_rows, cls="qlw-wrap qlw-follow") if len(t) else \
            "<div style='color:#555'>（无）</div>"
        parts.append(f"<div class='qlw-head' style='font-size:14px;margin-top:10px' data-table='{esc(name)}'>"
                     f"{esc(name)}（{len(t)}）</div>{body}")
    return "".join(parts)


#: columns that only repeat the filters or the headline date: left out when constant (as the ranking does)
CONTEXT_COLUMNS = ("截至日期", "市州", "县市区", "乡镇（街道）", "单位类型")


def _without_context(t):
    if len(t) < 2:
        return t
    drop = [c for c in CONTEXT_COLUMNS if c in t.columns and t[c].nunique(dropna=False) == 1]
    return t.drop(columns=drop)


_FIG_CSS = """<style>
.qlw-fig { min-width: 84px; } .qlw-fig-v { font-size: 20px; font-weight: 600; color: #234; }
.qlw-fig-k { font-size: 12px; color: #666; }
/* many columns (a ledger has 16): headers and long ids may break, so a table fits 1366 px */
.qlw-table.qlw-follow th { word-break: normal; }
.qlw-table.qlw-follow td { overflow-wrap: anywhere; }
.qlw-table.qlw-follow td.nw { white-space: nowrap; overflow-wrap: normal; }
</style>"""


class _FollowTab(Tab):
    order_tables: tuple[str, ...] = ()

    def build(self):
        self.out = self.w.HTML().add_class(f"qlw-{self.key}")
        self.box.children = [self.out]

    def data(self, prj, period: str, filters: dict):
        raise NotImplementedError

    def render(self):
        app = self.app
        f, fw, scope, title = self.selection()
        title = f"{self.title} · {title}"
        filters = {k: getattr(f, k) for k in ("framework", "city", "county", "township", "unit_type")}
        d = self.data(app.data.project, f.period, filters)
        if not d.tables:
            self.out.value = self.head(title, n_units=len(scope)) + info_html("<br>".join(esc(n) for n in d.notes))
            return
        self.out.value = (TABLE_CSS + _FIG_CSS + self.head(title, f"筛选范围内 {len(scope)} 个单位", n_units=len(scope))
                          + tab_data_html(d, order=self.order_tables or None))


@register_tab
class RectificationTab(_FollowTab):
    key, title, order = "rectification", "整改跟踪", 52
    order_tables = ("整改进度", "重点名录", "整改事项", "回头看", "按区域")

    def data(self, prj, period, filters):
        from ...workflow.follow_views import rectification_tab

        return rectification_tab(prj, period, **filters)


@register_tab
class RiskTab(_FollowTab):
    key, title, order = "risk", "风险点", 54

    def data(self, prj, period, filters):
        from ...workflow.follow_views import risk_tab

        return risk_tab(prj, period, **filters)
