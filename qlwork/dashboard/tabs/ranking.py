"""排行榜 — the official ranking of the selected framework, period and scope.

Every number is the official result's (``OfficialResult.ranking()``): the published
综合得分 (2 decimals), 等级, 同类名次 (/ 同类单位数), 较上期 and 预警; the level-1
goals, 专业分 and 群众评价 follow as details.  The table is one page of the
filtered, sorted units, full width; the bar chart of the same page sits below it,
so every column fits a 1366 px laptop screen.  Columns that would repeat the filter
(县市区 when one county is chosen …) are left out.
"""
from __future__ import annotations

import io
import math
import threading
import time
import traceback

import pandas as pd

from ...labels import COLUMN_LABELS, label_columns, period_label
from ..html import (TABLE_CSS, change_html, esc, fmt, fmt_int, grade_badge, info_html, is_missing, td,
                    warning_badges, warning_codes)
from ..state import ALL, sort_rows
from ..widgets import data_link, figure_png, image, set_options, show_png
from . import Tab, register_tab

__all__ = ["RankingTab", "ranking_columns", "ranking_table_html"]

PAGE_SIZES = (20, 50, 100, 200)


def ranking_columns(rows: pd.DataFrame, framework, filters) -> list[tuple[str, str]]:
    """(column, Chinese header) of the ranking table for these rows and filters."""
    cols = [("seq", "序号"), ("unit_name", COLUMN_LABELS["unit_name"])]
    if filters.unit_type in (ALL, "", None) and rows["unit_type"].nunique() > 1:
        cols.append(("unit_type", COLUMN_LABELS["unit_type"]))
    for lev in ("city", "county", "township"):
        if getattr(filters, lev) in (ALL, "", None) and lev in rows.columns and \
                (lev != "city" or rows["city"].nunique() > 1):
            cols.append((lev, COLUMN_LABELS[lev]))
    cols += [("total", COLUMN_LABELS["total"]), ("grade", COLUMN_LABELS["grade"]), ("rank", COLUMN_LABELS["rank"]),
             ("change", COLUMN_LABELS["change"]), ("warnings", COLUMN_LABELS["warnings"])]
    if "bonus" in rows.columns and (pd.to_numeric(rows["bonus"], errors="coerce").fillna(0) > 0).any():
        cols.append(("bonus", COLUMN_LABELS["bonus"]))
    cols.append(("internal", COLUMN_LABELS["internal"]))
    if "public" in rows.columns and rows["public"].notna().any():
        cols.append(("public", COLUMN_LABELS["public"]))
    cols += [(n, framework.name_of(n)) for n in framework.level1 if n in rows.columns]
    return cols


def ranking_table_html(rows: pd.DataFrame, columns, grades, *, start: int = 0, decimals: int = 2,
                       cls: str = "qlw-rank", seq: int = 0, extra: dict | None = None,
                       changed: set | None = None) -> str:
    """One page of the ranking as HTML.  Each ``<tr>`` carries ``data-unit``; cells show the
    official values as a person reads them (totals with ``decimals`` places, rank "9/104")."""
    extra = extra or {}
    changed = changed or set()
    head = "".join(f'<th data-col="{esc(k)}">{esc(h)}</th>' for k, h in columns)
    body = []
    for i, r in enumerate(rows.to_dict("records"), start=start + 1):
        uid = str(r["unit_id"])
        cells = []
        for k, _ in columns:
            v = r.get(k)
            if k == "seq":
                cells.append(td(i))
            elif k == "unit_name":
                cells.append(td(esc(v), "t name qlw-name", f' title="{esc(v)}（{esc(uid)}）"'))
            elif k in ("unit_type", "city", "county", "township"):
                cells.append(td(esc("" if is_missing(v) else v), "t"))
            elif k == "total":
                cells.append(td(f"<b>{fmt(v, decimals)}</b>", "qlw-total"))
            elif k == "grade":
                cells.append(td(grade_badge(v, grades, vetoed=bool(r.get("veto"))), "c qlw-grade-cell"))
            elif k == "rank":
                cells.append(td(f"{fmt_int(v)}<small>/{fmt_int(r.get('n_peers'))}</small>", "qlw-rank-cell"))
            elif k == "change":
                cells.append(td(change_html(v, decimals), "qlw-change"))
            elif k == "warnings":
                cells.append(td(warning_badges(v), "warn qlw-warn-cell",
                                f' data-codes="{esc(";".join(warning_codes(v)))}"'))
            elif k == "bonus":
                cells.append(td(fmt(v, decimals) if not is_missing(v) and float(v) > 0 else "", "qlw-bonus"))
            elif k in extra:
                cells.append(extra[k](r))
            else:
                cells.append(td(fmt(v, 1)))
        cls_tr = ' class="qlw-changed"' if uid in changed else ""
        body.append(f'<tr data-unit="{esc(uid)}"{cls_tr}>' + "".join(cells) + "</tr>")
    return (f'{TABLE_CSS}<table class="qlw-table {cls}" data-seq="{seq}" data-rows="{len(rows)}">'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


@register_tab
class RankingTab(Tab):
    key, title, order = "ranking", "排行榜", 10

    def build(self):
        w = self.w
        app = self.app
        style = {"description_width": "initial"}
        self.sort_dd = w.Dropdown(description="排序", style=style,
                                  layout=w.Layout(width="190px")).add_class("qlw-sort")
        self.order_tb = w.ToggleButtons(options=[("降序", False), ("升序", True)], value=False,
                                        style={"button_width": "52px"}).add_class("qlw-order")
        self.size_dd = w.Dropdown(options=list(PAGE_SIZES), value=app.page_size if app.page_size in PAGE_SIZES else 20,
                                  description="每页", style=style, layout=w.Layout(width="120px")).add_class("qlw-page-size")
        self.prev_btn = w.Button(description="上一页", layout=w.Layout(width="72px")).add_class("qlw-prev")
        self.next_btn = w.Button(description="下一页", layout=w.Layout(width="72px")).add_class("qlw-next")
        self.page_lbl = w.HTML().add_class("qlw-page")
        self.pick_dd = w.Dropdown(description="查看单位", style=style,
                                  layout=w.Layout(width="340px")).add_class("qlw-pick")
        self.open_btn = w.Button(description="打开体检报告单", button_style="info",
                                 layout=w.Layout(width="130px")).add_class("qlw-open-unit")
        self.xlsx_btn = w.Button(description="导出 Excel", layout=w.Layout(width="100px")).add_class("qlw-export")
        self.links = w.HTML().add_class("qlw-links")
        self.head_html = w.HTML().add_class("qlw-rank-head")
        self.table = w.HTML().add_class("qlw-rank-table")
        self.chart = image("qlw-chart", "100%")
        self.page = 0
        self.seq = 0
        self._busy = False
        self._chart_gen = 0
        g = app.guard
        for dd in (self.sort_dd, self.order_tb, self.size_dd):
            dd.observe(g("排序与分页")(self._on_sort), "value")
        self.prev_btn.on_click(g("翻页")(lambda _b: self.turn(-1)))
        self.next_btn.on_click(g("翻页")(lambda _b: self.turn(+1)))
        self.open_btn.on_click(g("打开体检报告单")(lambda _b: app.open_unit(self.pick_dd.value)))
        self.xlsx_btn.on_click(g("导出 Excel")(lambda _b: self.export()))
        bar = w.HBox([self.sort_dd, self.order_tb, self.size_dd, self.prev_btn, self.page_lbl, self.next_btn],
                     layout=w.Layout(flex_flow="row wrap", align_items="center", grid_gap="4px 10px"))
        pick = w.HBox([self.pick_dd, self.open_btn, self.xlsx_btn, self.links],
                      layout=w.Layout(flex_flow="row wrap", align_items="center", grid_gap="4px 10px"))
        # The table keeps its natural width (every column visible); the chart sits to its right
        # only where the screen has room for both (1920 px), else below it (1366–1680 px).
        table_box = w.Box([self.table], layout=w.Layout(flex="0 1 auto", max_width="100%", overflow="auto"))
        chart_box = w.Box([self.chart], layout=w.Layout(flex="1 1 460px", max_width="640px", min_width="0"))
        body = w.HBox([table_box, chart_box], layout=w.Layout(flex_flow="row wrap", align_items="flex-start",
                                                               grid_gap="8px 20px", width="100%"))
        self.box.children = [self.head_html, bar, pick, body]

    # ------------------------------------------------------------ data
    def rows(self) -> pd.DataFrame:
        """Every unit of the current filters, sorted as chosen (the official rows)."""
        return sort_rows(self.app.scope_rows(), self.sort_dd.value or "total", bool(self.order_tb.value))

    def page_rows(self) -> tuple[pd.DataFrame, int, int]:
        rows = self.rows()
        size = int(self.size_dd.value)
        pages = max(1, math.ceil(len(rows) / size))
        self.page = min(max(self.page, 0), pages - 1)
        start = self.page * size
        return rows.iloc[start:start + size], start, pages

    # ------------------------------------------------------------ events
    def _sort_options(self):
        fw = self.app.framework
        opts = [(COLUMN_LABELS["total"], "total"), (COLUMN_LABELS["rank"], "rank"), (COLUMN_LABELS["change"], "change")]
        opts += [(fw.name_of(n), n) for n in fw.level1] + [(COLUMN_LABELS["unit_name"], "unit_name")]
        return opts

    def _on_sort(self, _ch):
        if self._busy:
            return
        self.page = 0
        self.refresh(force=True)

    def turn(self, d: int):
        self.page += d
        self.refresh(force=True)

    # ------------------------------------------------------------ render
    def render(self):
        t0 = time.perf_counter()
        app = self.app
        f = app.state.filters
        fw = app.framework
        self._busy = True
        try:
            cur = self.sort_dd.value if self.sort_dd.value in {v for _, v in self._sort_options()} else "total"
            set_options(self.sort_dd, self._sort_options(), cur)
        finally:
            self._busy = False
        if self.stale:
            self.page = 0  # new filters: back to the first page
        rows, start, pages = self.page_rows()
        all_rows = app.scope_rows()
        n = len(all_rows)
        self.seq += 1
        cols = ranking_columns(all_rows if n else rows, fw, f)
        grades = app.grades
        self.table.value = (ranking_table_html(rows, cols, grades, start=start, decimals=app.decimals, seq=self.seq)
                            + ("" if n else info_html("没有符合筛选条件的单位。")))
        self.shown = rows
        self.columns = cols
        self.page_lbl.value = (f"第 {self.page + 1} / {pages} 页（第 {start + 1 if n else 0}–{start + len(rows)} 位，"
                               f"共 {n} 个单位）")
        self.prev_btn.disabled = self.page == 0
        self.next_btn.disabled = self.page >= pages - 1
        self.head_html.value = self.head(
            f"{esc(period_label(f.period))} · {esc(fw.name)} · {esc(f.scope_label())}", self._summary(all_rows, grades),
            n_units=n, rows=len(rows))
        self._busy = True
        try:
            set_options(self.pick_dd, [(f"{r.unit_name}（{r.unit_type}）", r.unit_id) for r in rows.itertuples()],
                        self.pick_dd.value)
        finally:
            self._busy = False
        self.links.value = ""
        self._chart_gen += 1
        if app.chart_enabled:
            if app.defer_first_chart:
                app.defer_first_chart = False
                threading.Thread(target=self._chart_later, args=(self._chart_gen,), name="qlw-first-chart",
                                 daemon=True).start()
            else:
                self._draw_chart(rows, start)
        self.render_s = time.perf_counter() - t0

    def _summary(self, rows: pd.DataFrame, grades) -> str:
        if not len(rows):
            return ""
        vc = rows["grade"].astype(str).value_counts()
        parts = [f"<b>{len(rows)}</b> 个单位"]
        parts += [f"{grade_badge(g, grades)} {int(vc.get(g, 0))}" for g in grades]
        nw = int((rows["warnings"].fillna("").astype(str) != "").sum())
        parts.append(f"有预警 <b>{nw}</b> 个")
        parts.append(f"综合得分平均 <b>{rows['total'].mean():.2f}</b>")
        return "　".join(parts) + ("　<small>（序号为当前排序下的位置；同类名次为该单位在全部同类单位中的正式名次）</small>")

    def _chart_png(self, rows: pd.DataFrame, start: int) -> bytes | None:
        if not len(rows):
            return None
        from ...charts.plots import ranking_bar

        f = self.app.state.filters
        d = rows.assign(unit_name=rows["unit_name"].astype(str), grade=rows["grade"].astype(str))
        title = f"{period_label(f.period)} {f.scope_label()}：第 {start + 1}–{start + len(rows)} 位的综合得分"
        return figure_png(ranking_bar(d, label="unit_name", score="total", grade="grade",
                                      pass_mark=self.app.pass_mark, title=title, label_width=9))

    def _draw_chart(self, rows, start):
        show_png(self.chart, self._chart_png(rows, start))

    def _chart_later(self, gen: int, delay: float = 1.5):
        # First paint fast: the charting stack (matplotlib, CJK font) takes a second or more to
        # import; the table is on screen first, the chart follows from this thread.
        time.sleep(delay)
        try:
            rows, start, _ = self.page_rows()
            png = self._chart_png(rows, start)
            if gen == self._chart_gen:
                show_png(self.chart, png)
        except Exception as e:  # noqa: BLE001 — shown in the page, logged
            traceback.print_exc()
            from ..html import error_html

            self.app.error.value = error_html(e, context="绘制排行榜图")

    def export(self):
        """An Excel workbook of every unit of the current filters (official values, Chinese headers)."""
        from ...io.safe_export import safe_excel

        f = self.app.state.filters
        fw = self.app.framework
        rows = self.rows()
        cols = ["unit_id", "unit_name", "unit_type", "city", "county", "township", "total", "grade", "rank", "n_peers",
                "change", "warnings", "veto", "bonus", "bonus_detail", "internal", "public", *fw.level1]
        out = label_columns(rows[[c for c in cols if c in rows.columns]], fw)
        buf = safe_excel({"排行榜": out}, io.BytesIO())
        name = f"清廉指数_{f.period}_{fw.id}_{f.scope_label()}.xlsx"
        self.links.value = data_link(buf.getvalue(), name,
                                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                                     f"下载（{len(rows)} 个单位）")

