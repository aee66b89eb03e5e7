"""数据概况 — what the shown result rests on: units, the official result's provenance,
and which data cells were excluded as invalid and why.

* units of the current filters by region × unit type (from the official result);
* the official result of the period: when and by which command it was computed, its
  spec fingerprint and the input files with their checksums — paths relative to the
  project (never a server path);
* the problems ``qlwork ingest`` found (``problems.parquet`` through the catalogue):
  per excluded cell its file, sheet, row, column, what was found and what was expected.
  Problems of the period's departmental workbooks and of the registers are listed.
"""
from __future__ import annotations

import pandas as pd

from ...labels import COLUMN_LABELS, WARNING_SHORT, period_label
from ..html import TABLE_CSS, esc, info_html, is_missing, relative_path, table_html, td, warning_codes
from . import Tab, register_tab

__all__ = ["OverviewTab", "period_problems", "MAX_PROBLEMS"]

MAX_PROBLEMS = 200
DATA_NOTES = ("missing_data", "missing_public")


def period_problems(problems: pd.DataFrame | None, period: str) -> pd.DataFrame:
    """Problems of the period's workbooks (``.../<period>/...``) and of period-free files (registers)."""
    if problems is None or problems.empty:
        return pd.DataFrame(columns=["code", "message", "file", "sheet", "row", "column", "found", "expected", "severity"])
    files = problems["file"].fillna("").astype(str).str.replace("\\", "/", regex=False)
    in_period = files.str.contains(f"/{period}/", regex=False) | files.str.startswith(f"{period}/")
    other_period = files.str.contains(r"/\d{4}(?:H[12]|Q[1-4]|-\d{2})/", regex=True) & ~in_period
    return problems[in_period | ~other_period]


@register_tab
class OverviewTab(Tab):
    key, title, order = "overview", "数据概况", 60

    def build(self):
        self.out = self.w.HTML().add_class("qlw-overview")
        self.box.children = [self.out]

    def render(self):
        app = self.app
        f = app.state.filters
        fw = app.framework
        scope = app.scope_rows()
        head = self.head(f"{esc(period_label(f.period))} · {esc(fw.name)} · {esc(f.scope_label())}",
                         f"筛选范围内 {len(scope)} 个单位", n_units=len(scope))
        parts = [TABLE_CSS, head, self._problems(f.period), self._counts(scope, f), self._notes(scope),
                 self._provenance(f.period)]
        self.out.value = "".join(parts)

    # ------------------------------------------------------------ pieces
    def _counts(self, scope: pd.DataFrame, f) -> str:
        if scope.empty:
            return info_html("没有符合筛选条件的单位。")
        free = [lev for lev in ("city", "county", "township") if getattr(f, lev) in ("全部", "", None)]
        level = next((lev for lev in free if scope[lev].nunique() > 1), free[-1] if free else "township")
        tab = pd.crosstab(scope[level].fillna("—"), scope["unit_type"].fillna("—"), margins=True, margins_name="合计")
        cols = [("region", COLUMN_LABELS[level])] + [(str(c), str(c)) for c in tab.columns]
        rows = [{"region": td(esc(idx), "t"), **{str(c): td(int(v)) for c, v in r.items()}} for idx, r in tab.iterrows()]
        return ("<div class='qlw-head' style='font-size:14px'>单位数量（" + esc(COLUMN_LABELS[level]) + " × 单位类型）</div>"
                + table_html(cols, rows, cls="qlw-counts", attrs='style="width:auto"'))

    def _notes(self, scope: pd.DataFrame) -> str:
        codes = scope["warnings"].map(warning_codes)
        n = {c: int(codes.map(lambda x, c=c: c in x).sum()) for c in DATA_NOTES}
        nograde = int(scope["grade"].map(lambda g: is_missing(g) or str(g) == "").sum())
        bits = [f"{WARNING_SHORT[c]} {n[c]} 个" for c in DATA_NOTES]
        return (f"<div style='margin:6px 0'>数据提示：{'，'.join(bits)}；未定等 {nograde} 个"
                "（缺失的指标按评分规格处理，见各单位体检报告单）。</div>")

    def _provenance(self, period: str) -> str:
        man = self.app.data.manifest(period)
        fps = man.get("spec_fingerprints", {})
        fid = self.app.state.filters.framework
        inputs = man.get("inputs", {}) or {}
        rows = [{"file": td(esc(_rel(p)), "t"), "sha": td(f"<code>{esc(str(h)[:12])}</code>", "t")}
                for p, h in inputs.items()]
        return ("<div class='qlw-head' style='font-size:14px'>正式结果的来源</div>"
                f"<div>评价期 {esc(period_label(period))}；由 <code>{esc(_rel_command(man.get('command') or 'qlwork score'))}</code> "
                f"于 {esc(str(man.get('written_at', '—')).replace('T', ' '))} 计算；qlwork "
                f"{esc((man.get('software') or {}).get('qlwork', '—'))}；评分规格指纹 <code>{esc(fps.get(fid, '—'))}</code>。"
                f"结果保存在项目的 <code>data/processed/results/{esc(period)}/</code>。</div>"
                + (table_html([("file", "输入文件（项目内相对路径）"), ("sha", "SHA-256（前 12 位）")], rows,
                              cls="qlw-inputs", attrs='style="width:auto"') if rows else ""))

    def _problems(self, period: str) -> str:
        allp = self.app.data.problems()
        p = period_problems(allp, period)
        n_all = 0 if allp is None else len(allp)
        title = (f"<div class='qlw-head' style='font-size:14px'>校验时排除的数据（{esc(period_label(period))}及登记表："
                 f"<span class='qlw-n-problems'>{len(p)}</span> 条；全部期别共 {n_all} 条）</div>")
        if allp is None:
            return title + info_html("没有校验记录（problems.parquet）：请运行 <code>qlwork ingest --exclude-invalid</code>。")
        if p.empty:
            return title + "<div style='color:#555'>本期数据没有被排除的单元格。</div>"
        cols = [("where", "位置（文件 · 工作表 · 行 · 列）"), ("message", "问题"), ("found", "发现"),
                ("expected", "应为"), ("severity", "处理")]
        rows = []
        for r in p.head(MAX_PROBLEMS).itertuples():
            where = " · ".join(str(x) for x in (_rel(r.file, raw=True), r.sheet,
                                                None if is_missing(r.row) else f"第 {int(r.row)} 行",
                                                None if is_missing(r.column) else f"{r.column} 列") if x)
            rows.append({"where": td(esc(where), "t"), "message": td(esc(r.message), "t"),
                         "found": td(esc("" if is_missing(r.found) else r.found), "t"),
                         "expected": td(esc("" if is_missing(r.expected) else r.expected), "t"),
                         "severity": td(_handling(r.code, r.severity), "t", ' style="white-space:nowrap"'),
                         "_attrs": f' data-code="{esc(r.code)}"'})
        more = f"<div style='color:#777'>仅列出前 {MAX_PROBLEMS} 条。</div>" if len(p) > MAX_PROBLEMS else ""
        return (title + "<div style='color:#555'>以下单元格的值未被采用（文件路径相对于 data/raw）：</div>"
                + table_html(cols, rows, cls="qlw-problems qlw-wrap") + more)


def _rel(path, raw: bool = False) -> str:
    """A path relative to the project (``raw``: relative to data/raw, as problems.parquet names files)."""
    s = relative_path(path)
    return s.split("data/raw/", 1)[1] if raw and s.startswith("data/raw/") else s


def _rel_command(cmd: str) -> str:
    return " ".join(_rel(t) if t.startswith("/") else t for t in str(cmd).split())


def _handling(code, severity) -> str:
    """How the value was treated, in the words of the review meeting."""
    if str(severity) == "warning":
        return "已按规则修正"
    if str(code) in ("missing_value", "period_gap"):
        return "缺失（按评分规格处理）"
    return "未采用"
