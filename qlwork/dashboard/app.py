"""The review dashboard application: a header, the filter bar and the registered tabs.

:class:`ReviewDashboard` owns the :class:`~qlwork.dashboard.state.ViewState`
(filters + selected unit) and the tabs (:mod:`qlwork.dashboard.tabs`).  Any filter
change — 评价期, 指标体系, 市州, 县市区, 乡镇, 单位类型 — bumps the state's version and
re-renders the visible tab at once; the other tabs re-render when next shown.  Every
callback is guarded: an error becomes a readable Chinese alert above the tabs, the
traceback goes to the server log.

Start-up reads the latest official result (``qlwork score`` output) and renders the
first ranking page; nothing is scored, other tabs are built when first opened and
the first chart is drawn after the table (``background_chart``).
"""
from __future__ import annotations

import functools
import time
import traceback
from pathlib import Path

import pandas as pd

from ..errors import Problem, QlworkError
from ..labels import period_label
from .data import DashboardData
from .html import error_html, esc
from .state import ALL, Filters, ViewState, apply_filters, valid_filters
from .widgets import guarded, set_options

__all__ = ["ReviewDashboard", "build_review_dashboard", "FILTERS", "ALL"]

#: the filter bar, left to right: (state field, label, CSS class)
FILTERS = (("period", "评价期", "qlw-period"), ("framework", "指标体系", "qlw-framework"),
           ("city", "市州", "qlw-city"), ("county", "县市区", "qlw-county"),
           ("township", "乡镇（街道）", "qlw-township"), ("unit_type", "单位类型", "qlw-unit-type"))

APP_CSS = """<style>
.qlw-app{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","PingFang SC",sans-serif}
.qlw-app .widget-dropdown select{max-width:100%}
.qlw-title{font-size:20px;font-weight:700;color:#7f1d1d;letter-spacing:.06em;margin:2px 0}
.qlw-app .lm-TabBar-tab{min-width:0;flex:0 1 auto;padding:0 14px}
</style>"""


class ReviewDashboard:
    """The ipywidgets review dashboard; display ``.widget`` (see the module doc)."""

    def __init__(self, data: DashboardData, *, page_size: int = 20, chart: bool = True,
                 background_chart: bool = False, tabs: list | None = None):
        import ipywidgets as w

        from .tabs import tab_types

        self.w = w
        self.data = data
        self.page_size = page_size
        self.chart_enabled = chart
        self.defer_first_chart = bool(background_chart and chart)
        self.last_update_s = float("nan")
        self.error = w.HTML().add_class("qlw-errors")
        period = data.latest
        fws = data.frameworks(period)
        if not fws:
            raise QlworkError(Problem("no_units", "正式结果中没有任何指标体系的单位", "no framework in the official result"))
        self.state = ViewState(Filters(period=period, framework=next(iter(fws))))

        style = {"description_width": "initial"}
        self.dd = {}
        for key, text, cls in FILTERS:
            width = {"period": "190px", "framework": "300px"}.get(key, "auto")
            dd = w.Dropdown(description=text, style=style, layout=w.Layout(width=width)).add_class(cls)
            dd.observe(self.guard(f"筛选{text}")(functools.partial(self._on_filter, key)), "value")
            self.dd[key] = dd
        self._busy = False
        self.header = w.HTML().add_class("qlw-header")
        self.status = w.HTML().add_class("qlw-status")
        self.tabs = [cls(self) for cls in (tabs or tab_types())]
        self.tab_widget = w.Tab(children=[t.box for t in self.tabs]).add_class("qlw-tabs")
        for i, t in enumerate(self.tabs):
            self.tab_widget.set_title(i, t.title)
        self.tab_widget.observe(self.guard("切换视图")(self._on_tab), "selected_index")
        filters = w.HBox(list(self.dd.values()),
                         layout=w.Layout(flex_flow="row wrap", grid_gap="4px 14px", align_items="center"))
        self.widget = w.VBox([w.HTML(APP_CSS), self.header, filters, self.error, self.tab_widget, self.status],
                             layout=w.Layout(width="100%")).add_class("qlw-app")
        self.guard("初始化看板")(self._start)()
        self.widget.add_class("qlw-ready")

    # ------------------------------------------------------------ helpers for tabs
    def guard(self, context: str):
        """Decorator for callbacks: errors become an alert; while it runs the app carries the
        class ``qlw-busy`` (a browser test waits for it to go: the view is then complete)."""
        inner = guarded(self.error, context)

        def deco(fn):
            g = inner(fn)

            @functools.wraps(fn)
            def run(*a, **k):
                self._depth = getattr(self, "_depth", 0) + 1
                if self._depth == 1 and hasattr(self, "widget"):
                    self.widget.add_class("qlw-busy")
                try:
                    return g(*a, **k)
                finally:
                    self._depth -= 1
                    if self._depth == 0 and hasattr(self, "widget"):
                        self.widget.remove_class("qlw-busy")
            return run
        return deco

    @property
    def framework(self):
        """The Framework (as scored) of the selected framework and period."""
        f = self.state.filters
        return self.data.framework(f.period, f.framework)

    @property
    def spec(self):
        """The IndexSpec of the selected framework's official result (bands, precision …)."""
        f = self.state.filters
        return self.data.spec(f.period, f.framework)

    @property
    def decimals(self) -> int:
        return int(self.spec.precision.decimals)

    @property
    def grades(self) -> list[str]:
        return [g for g, _ in self.spec.bands()]

    @property
    def index_result(self):
        """The whole IndexResult of the selection (loaded on first use, not at start-up)."""
        f = self.state.filters
        return self.data.index_result(f.period, f.framework)

    @property
    def pass_mark(self) -> float:
        bands = [lo for _, lo in self.spec.bands() if lo > float("-inf")]
        return float(min(bands)) if bands else float(self.framework.pass_mark)

    def ranking(self) -> pd.DataFrame:
        """The official ranking of the selected framework and period (all units)."""
        f = self.state.filters
        return self.data.ranking(f.period, f.framework)

    def scope_rows(self) -> pd.DataFrame:
        """The official ranking rows inside the current filters."""
        return apply_filters(self.ranking(), self.state.filters)

    def tab(self, key: str):
        return next(t for t in self.tabs if t.key == key)

    @property
    def current(self):
        return self.tabs[self.tab_widget.selected_index or 0]

    def show_tab(self, key: str):
        idx = [t.key for t in self.tabs].index(key)
        if self.tab_widget.selected_index == idx:
            self.tabs[idx].refresh()
        else:
            self.tab_widget.selected_index = idx  # the observer refreshes it

    def open_unit(self, unit_id: str | None):
        """Select a unit and show its 体检报告单."""
        if not unit_id:
            return
        self.state.select_unit(unit_id)
        self.show_tab("unit")

    # ------------------------------------------------------------ filters
    def _start(self):
        self._apply_filters(self.state.filters, initial=True)

    def set_filter(self, **kw):
        """Change filters programmatically (as a person would with the dropdowns)."""
        self._apply_filters(self.state.filters.with_(**kw))

    def _on_filter(self, key: str, ch):
        if self._busy:
            return
        self._apply_filters(self.state.filters.with_(**{key: ch["new"]}))

    def _apply_filters(self, new: Filters, initial: bool = False):
        t0 = time.perf_counter()
        data = self.data
        if new.period not in data.periods:
            new = new.with_(period=data.latest)
        fws = data.frameworks(new.period)
        if new.framework not in fws:
            new = new.with_(framework=next(iter(fws)))
        fw = fws[new.framework]
        new, opts = valid_filters(data.ranking(new.period, new.framework), new, list(fw.unit_types or ()))
        self._busy = True
        try:
            set_options(self.dd["period"], [(period_label(p), p) for p in data.periods], new.period)
            set_options(self.dd["framework"], [(f.name, fid) for fid, f in fws.items()], new.framework)
            for key in ("city", "county", "township", "unit_type"):
                set_options(self.dd[key], opts[key], getattr(new, key))
        finally:
            self._busy = False
        changed = self.state.set_filters(new)
        if "framework" in changed and self.state.unit_id is not None \
                and self.state.unit_id not in set(self.ranking()["unit_id"]):
            self.state.select_unit(None)
        if changed or initial:
            self._header()
            self.current.refresh()
        self.last_update_s = time.perf_counter() - t0
        self.status.value = (f'<span style="color:#888;font-size:12px">{esc(self.framework.name)} · '
                             f'{esc(period_label(new.period))} · {esc(new.scope_label())} · 更新用时 '
                             f'{self.last_update_s:.2f} 秒</span>')

    def _header(self):
        f = self.state.filters
        man = self.data.manifest(f.period)
        when = str(man.get("written_at", ""))[:10]
        self.header.value = (
            f'<div class="qlw-title">清廉指数评审看板</div>'
            f'<div style="color:#555">正式结果（qlwork score）· {esc(period_label(f.period))}'
            + (f" · 计算于 {esc(when)}" if when else "")
            + " · 所有得分、等级、名次与预警均为正式结果，看板不重新计算。</div>")

    def _on_tab(self, ch):
        if ch.get("new") is None:
            return
        self.tabs[ch["new"]].refresh()


def build_review_dashboard(root: str | Path | None = None, **kw):
    """Build the dashboard from the project's official results (``qlwork score``).

    Never raises: a problem (no official result yet, a broken file) becomes a readable
    Chinese message in the page.  Returns an object with ``.widget``.
    """
    import ipywidgets as w

    try:
        return ReviewDashboard(DashboardData.open(root), **kw)
    except Exception as e:  # noqa: BLE001 — the page must explain, not show a traceback
        traceback.print_exc()

        class _Failed:
            widget = w.VBox([w.HTML(error_html(e, context="加载评审看板"))]).add_class("qlw-ready")
            error = e
        return _Failed()

