"""The review workbook (排行榜 Excel) for one period and scope.

Sheets: 汇总排行, one per level-1 node, 预警名单, 群众评价 (when public scores
exist), 敏感性 (when a sensitivity result is given), 图表 (when charts were
drawn) and 方法说明.  Values are written, never formulas; a text that Excel
would take for a formula (starting with = + - @) is stored as a string with
the quote prefix (OWASP "CSV injection").  Header frozen, auto-filter on,
number formats, conditional formats for grades and warnings, column widths
that fit Chinese text (a CJK character counts double), A4 landscape printing.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..io.safe import is_formula_like, safe_sheet_title, save_workbook
from ._common import COLUMN_ZH, clean_value, display_width, node_label, result_frame
from .methodology import data_files_table, methodology_table, weights_table
from .unit_report import UnitReportBuilder, sensitivity_frame

__all__ = ["write_workbook", "ranking_table", "warning_table", "public_table", "node_table",
           "SHEET_RANKING", "SHEET_WARNINGS", "SHEET_PUBLIC", "SHEET_SENSITIVITY", "SHEET_METHOD", "SHEET_CHARTS"]

SHEET_RANKING = "汇总排行"
SHEET_WARNINGS = "预警名单"
SHEET_PUBLIC = "群众评价"
SHEET_SENSITIVITY = "敏感性"
SHEET_CHARTS = "图表"
SHEET_METHOD = "方法说明"

GRADE_FILLS = {"优秀": "C6EFCE", "良好": "DDEBF7", "合格": "FFF2CC", "不合格": "FFC7CE"}
WARN_FILL = "F8CBAD"
HEADER_FILL = "1F4E78"

_FIRST = ["unit_id", "unit_name", "unit_type", "city", "county", "township", "framework",
          "total", "grade", "rank", "rank_in_region", "change", "warnings"]


def _sheet_name(name: str, used: set[str]) -> str:
    return safe_sheet_title(name, used)  # valid, unique, never formula-like (qlwork.io.safe)


def _join(v: Any) -> Any:
    if isinstance(v, (list, tuple, np.ndarray)):
        return "；".join(str(x) for x in v)
    return v


# ------------------------------------------------------------------ tables
def ranking_table(result, builder: UnitReportBuilder | None = None) -> pd.DataFrame:
    """``to_frame()`` reordered for reading (ids, names, total, grade, rank first), sorted by total;
    only the builder's units (a scope) when given."""
    f = result_frame(result)
    if builder is not None:
        f = f[f["unit_id"].isin(set(builder.unit_ids()))]
    if "warnings" in f.columns:
        f["warnings"] = f["warnings"].map(_join)
    cols = [c for c in _FIRST if c in f.columns] + [c for c in f.columns if c not in _FIRST]
    f = f[cols]
    if "total" in f.columns:
        f = f.sort_values(["total", "unit_id"], ascending=[False, True], na_position="last", kind="mergesort")
    return f.reset_index(drop=True)


def node_table(result, node_id: str, builder: UnitReportBuilder) -> pd.DataFrame:
    """One level-1 node: its score, the rank within the peer group and its indicators' 0–100 scores."""
    fw = result.framework
    f = result_frame(result).set_index("unit_id")
    f = f.loc[[u for u in builder.unit_ids() if u in f.index]]
    keep = [c for c in ("unit_name", "unit_type", "county") if c in f.columns]
    out = f[keep].copy()
    out[node_id] = builder.scores[node_id].reindex(out.index)
    out["node_rank"] = builder.node_rank[node_id].reindex(out.index)
    leaves = [i for i in fw.leaves_under(node_id) if i in builder.norm.columns]
    out = out.join(builder.norm[leaves])
    out = out.sort_values([node_id], ascending=False, na_position="last", kind="mergesort")
    return out.reset_index()


def warning_table(result, builder: UnitReportBuilder) -> pd.DataFrame:
    """One row per warning: unit, reason, detail and the indicators behind it."""
    f = result_frame(result).set_index("unit_id")
    rows = []
    for uid in builder.unit_ids():
        for w in builder.warnings_of(uid):
            r = f.loc[uid] if uid in f.index else pd.Series(dtype=object)
            rows.append({
                "unit_id": uid, "unit_name": r.get("unit_name", ""), "unit_type": r.get("unit_type", ""),
                "county": r.get("county", ""), "total": r.get("total", np.nan), "grade": r.get("grade", ""),
                "rank": r.get("rank", np.nan), "change": r.get("change", np.nan),
                "code": w["code"], "reason_zh": w["reason"], "detail": w["detail"], "相关一级指标": w["node"],
                "相关指标": "；".join(f"{b['name']}({b['value']:.1f}分，" +
                                   (f"较上期{b['change']:+.1f})" if "change" in b else f"同组中位{b['peer_median']:.1f})")
                                   for b in w["behind"]),
                "末位概率": w["p_bottom"],
            })
    cols = ["unit_id", "unit_name", "unit_type", "county", "total", "grade", "rank", "change",
            "code", "reason_zh", "detail", "相关一级指标", "相关指标", "末位概率"]
    out = pd.DataFrame(rows, columns=cols)
    if out["末位概率"].isna().all():
        out = out.drop(columns="末位概率")
    from .remedy import add_remedy_columns  # 限期治理建议 columns (issue 21)

    return add_remedy_columns(out, builder)


def public_table(result, builder: UnitReportBuilder) -> pd.DataFrame | None:
    """Internal vs public score per unit, their gap, ranks and quadrant around the peer medians."""
    s = builder.scores
    if "public" not in s.columns or s["public"].notna().sum() == 0:
        return None
    f = result_frame(result).set_index("unit_id")
    f = f.loc[[u for u in builder.unit_ids() if u in f.index]]
    out = f[[c for c in ("unit_name", "unit_type", "county") if c in f.columns]].copy()
    internal = s["internal"].reindex(out.index) if "internal" in s.columns else pd.Series(np.nan, index=out.index)
    public = s["public"].reindex(out.index)
    out["internal"], out["public"] = internal, public
    out["gap"] = public - internal
    g = builder.groups.reindex(out.index)
    out["专业分组内名次"] = internal.groupby(g).rank(ascending=False, method="min")
    out["获得感组内名次"] = public.groupby(g).rank(ascending=False, method="min")
    out["名次差"] = out["获得感组内名次"] - out["专业分组内名次"]
    mi = internal.groupby(g).transform("median")
    mp = public.groupby(g).transform("median")
    hi_i, hi_p = internal >= mi, public >= mp
    quad = np.select([hi_i & hi_p, hi_i & ~hi_p, ~hi_i & hi_p], ["双高", "专业分高、获得感低", "专业分低、获得感高"],
                     default="双低")
    out["象限"] = np.where(public.isna() | internal.isna(), "", quad)
    return out.reset_index()


# ------------------------------------------------------------------ writing
def _write_block(ws, df: pd.DataFrame, headers: Sequence[str], *, start_row: int | None = None,
                 formats: Mapping[str, str] | None = None) -> tuple[int, int]:
    """Append a header row and the values of ``df``; returns (header row, last row)."""
    from openpyxl.styles import Alignment, Font, PatternFill

    formats = formats or {}
    hrow = (ws.max_row + 2) if start_row is None and ws.max_row > 1 else (start_row or 1)
    fill = PatternFill("solid", fgColor=HEADER_FILL)
    font = Font(bold=True, color="FFFFFF")
    for j, h in enumerate(headers, start=1):
        c = ws.cell(row=hrow, column=j, value=clean_value(str(h)))
        if is_formula_like(c.value):  # a node named "=HYPERLINK(…)" stays text
            c.data_type, c.quotePrefix = "s", True
        c.fill, c.font = fill, font
        c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    cols = list(df.columns)
    fmts = [formats.get(c) for c in cols]
    arr = df.to_numpy(dtype=object)
    for i, row in enumerate(arr):
        r = hrow + 1 + i
        for j, v in enumerate(row):
            v = clean_value(v)
            if v is None:
                continue
            c = ws.cell(row=r, column=j + 1)
            if isinstance(v, str):
                c.value = v
                if is_formula_like(v):  # never a formula: store as text with the quote prefix
                    c.data_type = "s"
                    c.quotePrefix = True
            else:
                c.value = v
                if fmts[j] and isinstance(v, (int, float)):
                    c.number_format = fmts[j]
    return hrow, hrow + len(arr)


def _widths(ws, df: pd.DataFrame, headers: Sequence[str], *, lo: int = 6, hi: int = 48, sample: int = 800) -> None:
    from openpyxl.utils import get_column_letter

    for j, (c, h) in enumerate(zip(df.columns, headers), start=1):
        vals = df[c].head(sample)
        w = display_width(h) + 2
        for v in vals:
            v = clean_value(v)
            if v is None:
                continue
            w = max(w, display_width(f"{v:.2f}" if isinstance(v, float) else v) + 2)
        letter = get_column_letter(j)
        cur = ws.column_dimensions[letter].width or 0
        ws.column_dimensions[letter].width = max(min(max(w, lo), hi), cur if cur != 13 else 0)


def _formats_for(df: pd.DataFrame) -> dict[str, str]:
    out = {}
    for c in df.columns:
        s = str(c)
        if s in ("rank", "rank_in_region", "node_rank", "staff", "population", "字节数") or "名次" in s \
                or s in ("rank_lo", "rank_hi"):
            out[c] = "0"
        elif s == "change" or s == "gap" or s == "名次差":
            out[c] = "+0.00;-0.00;0.00"
        elif s.startswith(("p_", "prob_")) or s.endswith("概率"):
            out[c] = "0.0%"
        else:
            out[c] = "0.00"
    return out


def _finish_sheet(ws, hrow: int, last: int, ncols: int, *, freeze_col: int = 3, title: str = "") -> None:
    from openpyxl.utils import get_column_letter

    ws.freeze_panes = ws.cell(row=hrow + 1, column=freeze_col)
    if ncols:
        ws.auto_filter.ref = f"A{hrow}:{get_column_letter(ncols)}{max(last, hrow + 1)}"
    ws.row_dimensions[hrow].height = 30
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{hrow}:{hrow}"
    ws.print_options.gridLines = False
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.oddHeader.center.text = title.replace("&", "&&")  # "&" starts a header code (&F = file path)
    ws.oddFooter.center.text = "第 &P 页 / 共 &N 页"


def _grade_rules(ws, col_letter: str, first: int, last: int) -> None:
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.styles import PatternFill

    rng = f"{col_letter}{first}:{col_letter}{last}"
    for g, color in GRADE_FILLS.items():
        ws.conditional_formatting.add(rng, FormulaRule(formula=[f'${col_letter}{first}="{g}"'],
                                                       fill=PatternFill("solid", bgColor=color), stopIfTrue=True))


def _warn_rule(ws, col_letter: str, first: int, last: int) -> None:
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.styles import Font, PatternFill

    ws.conditional_formatting.add(f"{col_letter}{first}:{col_letter}{last}",
                                  FormulaRule(formula=[f'LEN(${col_letter}{first})>0'],
                                              fill=PatternFill("solid", bgColor=WARN_FILL),
                                              font=Font(color="9C0006")))


def _score_scale(ws, rng: str) -> None:
    from openpyxl.formatting.rule import ColorScaleRule

    ws.conditional_formatting.add(rng, ColorScaleRule(start_type="num", start_value=0, start_color="F8696B",
                                                      mid_type="num", mid_value=60, mid_color="FFEB84",
                                                      end_type="num", end_value=100, end_color="63BE7B"))


def _letter(df: pd.DataFrame, col: str) -> str | None:
    from openpyxl.utils import get_column_letter

    return get_column_letter(list(df.columns).index(col) + 1) if col in df.columns else None


def write_workbook(result, path: str | Path, *, period: str | None = None, scope: str | None = None,
                   builder: UnitReportBuilder | None = None, sensitivity: Any = None, compare: Any = None,
                   data_files: Iterable[str | Path] | pd.DataFrame | None = None, data_root: str | Path | None = None,
                   charts: Mapping[str, Sequence[Path]] | None = None,
                   extra_params: Mapping[str, Any] | None = None,
                   follow_through: Mapping[str, pd.DataFrame] | None = None) -> Path:
    """Write the review workbook for ``result`` to ``path`` (atomically); returns the path.

    ``sensitivity``: a sensitivity result or per-unit DataFrame (rank intervals,
    grade probabilities) → sheet 敏感性.  ``compare``: a survey-vs-internal
    comparison result/DataFrame → appended to 群众评价.  ``data_files``: input
    files whose SHA-256 goes into 方法说明 (paths, or a ready table).
    ``charts``: {name: [png, svg, ...]} from :func:`qlwork.report.charts.export_charts`.
    ``follow_through``: {sheet name: table with unit_id} — 整改台账 and 重点名录
    (:func:`qlwork.workflow.follow_through.review_sheets`), each cut to the workbook's units.
    """
    from openpyxl import Workbook
    from openpyxl.drawing.image import Image as XLImage
    from openpyxl.styles import Alignment, Font

    fw = result.framework
    params = dict(getattr(result, "params", {}) or {})
    period = period or params.get("period") or ""
    b = builder or UnitReportBuilder(result, sensitivity=sensitivity, compare=compare, period=period, scope=scope)
    extra = dict(extra_params or {})
    sp = getattr(sensitivity, "params", None)  # a SensitivityResult …
    if not isinstance(sp, Mapping) and isinstance(sensitivity, pd.DataFrame):
        sp = sensitivity.attrs.get("params")  # … or the persisted table with its params attached
    sens_params = sp if isinstance(sp, Mapping) else None
    from ..labels import period_label

    label = f"{fw.name} {period_label(period)}" + (f" · {scope}" if scope else "") + \
        (f" · {b.rescored}" if b.rescored else "")
    wb = Workbook()
    used: set[str] = set()

    # 汇总排行
    ws = wb.active
    ws.title = _sheet_name(SHEET_RANKING, used)
    rk = ranking_table(result, b)
    if b.rescored:
        rk.insert(0, "rescored", b.rescored)
    heads = [node_label(fw, c) for c in rk.columns]
    h, last = _write_block(ws, rk, heads, start_row=1, formats=_formats_for(rk))
    _widths(ws, rk, heads)
    _finish_sheet(ws, h, last, len(heads), title=f"{label} 汇总排行")
    if last > h:
        if (L := _letter(rk, "grade")):
            _grade_rules(ws, L, h + 1, last)
        if (L := _letter(rk, "warnings")):
            _warn_rule(ws, L, h + 1, last)
        if (L := _letter(rk, "total")):
            _score_scale(ws, f"{L}{h + 1}:{L}{last}")
        if (L := _letter(rk, "change")):
            from openpyxl.formatting.rule import CellIsRule
            from openpyxl.styles import Font as _F

            drop = float(params.get("drop_points", fw.drop_points) or fw.drop_points)
            ws.conditional_formatting.add(f"{L}{h + 1}:{L}{last}",
                                          CellIsRule(operator="lessThanOrEqual", formula=[str(-drop)],
                                                     font=_F(color="C00000", bold=True)))

    # one sheet per level-1 node
    for n in b.level1:
        ws = wb.create_sheet(_sheet_name(fw.name_of(n), used))
        t = node_table(result, n, b)
        heads = [node_label(fw, c) if c != "node_rank" else "组内名次" for c in t.columns]
        h, last = _write_block(ws, t, heads, start_row=1, formats=_formats_for(t))
        _widths(ws, t, heads)
        _finish_sheet(ws, h, last, len(heads), title=f"{label} {fw.name_of(n)}")
        if last > h:
            from openpyxl.utils import get_column_letter

            first_score = list(t.columns).index(n) + 1
            _score_scale(ws, f"{get_column_letter(first_score)}{h + 1}:{get_column_letter(first_score)}{last}")
            if len(t.columns) > first_score + 1:
                _score_scale(ws, f"{get_column_letter(first_score + 2)}{h + 1}:"
                                 f"{get_column_letter(len(t.columns))}{last}")

    # 预警名单
    ws = wb.create_sheet(_sheet_name(SHEET_WARNINGS, used))
    wt = warning_table(result, b)
    heads = [COLUMN_ZH.get(c, c) for c in wt.columns]
    h, last = _write_block(ws, wt, heads, start_row=1, formats=_formats_for(wt))
    _widths(ws, wt, heads)
    _finish_sheet(ws, h, last, len(heads), title=f"{label} 预警名单")
    if last > h:
        _grade_rules(ws, _letter(wt, "grade"), h + 1, last)
        _warn_rule(ws, _letter(wt, "reason_zh"), h + 1, last)
    else:
        ws.cell(row=2, column=1, value="本期无预警单位 (no warnings)")

    # 整改台账, 重点名录 (after the warnings they follow from)
    for name, t in (follow_through or {}).items():
        _follow_sheet(wb.create_sheet(_sheet_name(name, used)), t, b, f"{label} {name}")

    # 群众评价
    pt = public_table(result, b)
    cmp_df = _compare_frame(compare)
    if cmp_df is not None and "unit_id" in cmp_df.columns:
        cmp_df = cmp_df[cmp_df["unit_id"].astype(str).isin(set(b.unit_ids()))]
    if pt is not None and cmp_df is not None and "unit_id" in cmp_df.columns:
        # the divergence evidence (qlwork.analysis.compare.divergence) joins the public table as
        # Chinese-headed columns: one row per unit, nothing appended with English names
        ev = _compare_columns(cmp_df).drop(columns=["unit_id"]).set_index(cmp_df["unit_id"].astype(str).to_numpy())
        ev = ev[[c for c in ev.columns if c not in pt.columns]]
        pt = pt.join(ev, on="unit_id")
    if pt is not None or cmp_df is not None:
        ws = wb.create_sheet(_sheet_name(SHEET_PUBLIC, used))
        if pt is not None:
            heads = [COLUMN_ZH.get(c, c) for c in pt.columns]
            h, last = _write_block(ws, pt, heads, start_row=1, formats=_compare_formats(pt))
            _widths(ws, pt, heads)
            _finish_sheet(ws, h, last, len(heads), title=f"{label} 群众评价")
            if last > h:
                from openpyxl.formatting.rule import FormulaRule
                from openpyxl.styles import PatternFill

                L = _letter(pt, "象限")
                ws.conditional_formatting.add(f"{L}{h + 1}:{L}{last}", FormulaRule(
                    formula=[f'${L}{h + 1}="专业分高、获得感低"'], fill=PatternFill("solid", bgColor=WARN_FILL)))
                F = _letter(pt, COMPARE_ZH["flag_low_public"])
                if F:
                    ws.conditional_formatting.add(f"{F}{h + 1}:{F}{last}", FormulaRule(
                        formula=[f'${F}{h + 1}="是"'], fill=PatternFill("solid", bgColor=WARN_FILL)))
        if cmp_df is not None and pt is None:
            ct = _compare_columns(cmp_df)
            heads = [COLUMN_ZH.get(c, c) for c in ct.columns]
            hh, ll = _write_block(ws, ct, heads, start_row=1, formats=_compare_formats(ct))
            _widths(ws, ct, heads)
            _finish_sheet(ws, hh, ll, len(heads), title=f"{label} 群众评价")

    # 敏感性
    st = b.sens if b.sens is not None else sensitivity_frame(sensitivity)
    if st is not None:
        ws = wb.create_sheet(_sheet_name(SHEET_SENSITIVITY, used))
        names = result_frame(result).set_index("unit_id")
        names = names.loc[[u for u in b.unit_ids() if u in names.index]]
        left = names[[c for c in ("unit_name", "unit_type", "total", "rank", "grade") if c in names.columns]]
        t = st.drop(columns=[c for c in st.columns if c in left.columns]).copy()
        t.index.name = "unit_id"
        t = left.join(t, how="inner").reset_index()
        heads = [_sens_header(c) for c in t.columns]
        h, last = _write_block(ws, t, heads, start_row=1, formats=_formats_for(t))
        _widths(ws, t, heads)
        _finish_sheet(ws, h, last, len(heads), title=f"{label} 敏感性")
        if last > h and "grade" in t.columns:
            _grade_rules(ws, _letter(t, "grade"), h + 1, last)

    # 图表
    pngs = [(k, p) for k, ps in (charts or {}).items() for p in ps if str(p).lower().endswith(".png")]
    if pngs:
        ws = wb.create_sheet(_sheet_name(SHEET_CHARTS, used))
        row = 1
        for name, p in pngs:
            ws.cell(row=row, column=1, value=name).font = Font(bold=True, size=12)
            img = XLImage(str(p))
            scale = min(1.0, 900 / max(img.width, 1))
            img.width, img.height = int(img.width * scale), int(img.height * scale)
            ws.add_image(img, f"A{row + 1}")
            row += int(img.height / 20) + 4
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4

    # 方法说明: prose rows a reviewer reads, then the indicators with their weights, then the input files
    ws = wb.create_sheet(_sheet_name(SHEET_METHOD, used))
    ws.cell(row=1, column=1, value=f"方法说明 — {label}").font = Font(bold=True, size=13)
    files = [] if isinstance(data_files, pd.DataFrame) else list(data_files or params.get("data_files", []) or [])
    result_files = [f for f in files if Path(f).name in ("manifest.json", "spec.yaml")]
    m = methodology_table(result, period=period, sensitivity=sens_params, root=data_root, result_files=result_files,
                          extra=extra)
    h, last = _write_block(ws, m, list(m.columns), start_row=3)
    ws.column_dimensions["A"].width = 12
    ws.column_dimensions["B"].width = 26
    ws.column_dimensions["C"].width = 100
    for r in range(h + 1, last + 1):
        for c in (1, 2, 3):
            ws.cell(row=r, column=c).alignment = Alignment(wrap_text=True, vertical="top")
    _finish_sheet(ws, h, last, 0, freeze_col=1, title=f"{label} 方法说明")
    ws.cell(row=last + 2, column=1, value="指标与权重").font = Font(bold=True)
    wtab = weights_table(result)
    _write_block(ws, wtab, list(wtab.columns), start_row=last + 3,
                 formats={"局部权重": "0.0000", "综合权重": "0.0000"})
    last = ws.max_row
    ws.cell(row=last + 2, column=1, value="数据文件及 SHA-256 校验值（路径相对于项目根目录）").font = Font(bold=True)
    dft = data_files if isinstance(data_files, pd.DataFrame) else data_files_table(files, root=data_root)
    if len(dft):
        _write_block(ws, dft, list(dft.columns), start_row=last + 3)
    else:
        ws.cell(row=last + 3, column=1, value="未提供数据文件清单")

    wb.properties.title = f"{label} 清廉指数"
    wb.properties.creator = "qlwork"
    return save_workbook(wb, path)


def _follow_sheet(ws, table: pd.DataFrame, builder: UnitReportBuilder, title: str) -> None:
    """One follow-through table (rows of the builder's units), Chinese headers from qlwork.labels."""
    from ..labels import column_label

    t = table[table["unit_id"].astype(str).isin(set(builder.unit_ids()))].reset_index(drop=True)
    heads = [column_label(c) for c in t.columns]
    fm = {c: ("0" if c in ("days_overdue", "n_overdue", "row") else "0.00") for c in t.columns}
    h, last = _write_block(ws, t, heads, start_row=1, formats=fm)
    _widths(ws, t, heads)
    _finish_sheet(ws, h, last, len(heads), title=title)
    if last == h:
        ws.cell(row=2, column=1, value="无 (none)")


_SENS_ZH = {"rank_lo": "名次区间下限(5%)", "rank_hi": "名次区间上限(95%)", "rank_median": "模拟名次中位数",
            "p_bottom_n": "末位概率", "peer_group": "同类组", "group_size": "组内单位数", "nominal_score": "名义得分",
            "nominal_rank": "名义排名", "nominal_grade": "名义等级", "rank_interval_width": "排名区间宽度",
            "rank_resolution": "排名分辨率", "p_nominal_grade": "保持名义等级概率",
            "mean_abs_rank_shift": "平均排名变动"}


def _sens_header(c: str) -> str:
    if c in COLUMN_ZH:
        return COLUMN_ZH[c]
    if c in _SENS_ZH:
        return _SENS_ZH[c]
    if str(c).startswith("p_") and str(c)[2:] in GRADE_FILLS:
        return f"{str(c)[2:]}概率"
    return str(c)


#: Divergence columns (qlwork.analysis.compare.divergence) shown in 群众评价, with their Chinese headers.
COMPARE_ZH = {
    "public_se": "获得感标准误",
    "public_expected": "同类预期获得感",
    "resid_gap": "获得感−同类预期",
    "z_resid": "残差z值",
    "p_low_adj": "偏低检验校正p值(单侧,BH)",
    "flag_low_public": "背离预警",
    "p_bottom": "获得感末位概率",
    "public_rank_lo90": "获得感名次90%区间下限",
    "public_rank_hi90": "获得感名次90%区间上限",
}


def _compare_columns(cmp_df: pd.DataFrame) -> pd.DataFrame:
    """unit_id + the known divergence columns, renamed to Chinese; flags as 是/空."""
    keep = ["unit_id"] + [c for c in COMPARE_ZH if c in cmp_df.columns]
    out = cmp_df[keep].copy()
    if "flag_low_public" in out.columns:
        out["flag_low_public"] = np.where(out["flag_low_public"].fillna(False).astype(bool), "是", "")
    out["unit_id"] = out["unit_id"].astype(str)
    return out.rename(columns=COMPARE_ZH)


def _compare_formats(df: pd.DataFrame) -> dict[str, str]:
    f = _formats_for(df)
    for c in df.columns:
        if "p值" in str(c):
            f[c] = "0.0000"
        elif "90%区间" in str(c):
            f[c] = "0.0"
    return f


def _compare_frame(compare: Any) -> pd.DataFrame | None:
    if compare is None:
        return None
    if isinstance(compare, pd.DataFrame):
        return compare.reset_index() if "unit_id" not in compare.columns and compare.index.name else compare
    if hasattr(compare, "to_frame"):
        try:
            df = compare.to_frame()
        except Exception:  # noqa: BLE001
            return None
        if isinstance(df, pd.DataFrame):
            return df.reset_index() if df.index.name and df.index.name not in df.columns else df
    return None
