"""Messy department workbooks (one per department per period).

Layout of every data sheet (Excel rows):

1. title, merged across the table: ``2025年上半年清廉单元监测指标数据报送表（纪检监察）``
2. ``填报单位：清江市纪委监委（盖章）`` (A–E merged) and ``填报日期：…`` further right
3. header, upper row: 序号 | 单位编码 | 单位名称 | 单位类型 | 所属县市区 (each merged with row 4)
   then the level-1 goal names (干部清正 …) merged across their indicators
4. header, lower row: indicator names with their unit, ``党员干部立案处分人数（人/百人）``
5. … data, one row per unit; ``/`` (or ``—``) where the indicator does not apply
   to the unit type; some numbers typed as text, some in full-width digits, some
   percentages with a ``%`` sign
then a blank row, a notes row (``备注：…``) and a signature row (``填表人：…``).

Sheets: ``机关及企事业单位`` (county framework) and ``村（社区）`` (village framework),
plus a ``填表说明`` sheet of instructions.  Deliberate errors are put into one
workbook and listed in ``_truth/deliberate_errors.csv``.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from ..io.excel import rows_xml, save_deterministic
from ..framework import Framework
from ..periods import from_month, parse

__all__ = ["SHEET_NAMES", "DEPT_OFFICE", "write_department_workbooks", "ERROR_FILE"]

#: framework key → data sheet name
SHEET_NAMES = {"county": "机关及企事业单位", "village": "村（社区）"}
DEPT_OFFICE = {"纪检监察": "纪委监委", "组织": "委组织部", "宣传": "委宣传部", "审计": "审计局", "信访": "信访局"}
#: (period, department) of the workbook that carries the deliberate errors
ERROR_FILE = ("2025H1", "纪检监察")
_FULL = str.maketrans("0123456789.-", "０１２３４５６７８９．－")
_ID_COLS = ["序号", "单位编码", "单位名称", "单位类型", "所属县市区"]
_HEADER_ROWS = 4  # data start at row 5


def _period_label(p: str) -> tuple[str, str]:
    """(Chinese period label, submission date: the 10th of the month after the period)."""
    per = parse(p)
    nxt = from_month(per.last_month + 1)
    return per.label_zh, f"{nxt.year}年{nxt.index}月10日"


def _fmt(v: float, rng_u: float, percent: bool):
    """A clean number or, now and then, its messy text form."""
    num = int(v) if float(v).is_integer() else float(v)
    if rng_u < 0.04:
        return str(num)                      # text number
    if rng_u < 0.06:
        return str(num).translate(_FULL)     # full-width digits
    if rng_u < 0.07:
        return f" {num} "                    # stray spaces
    if percent and rng_u < 0.09:
        return f"{num}%"
    return num


@dataclass
class _Sheet:
    name: str
    fw_key: str
    indicators: list  # Indicator objects
    groups: list      # (level-1 name, n indicators)
    rows: list        # data rows (lists)


def write_department_workbooks(out: Path, rng: np.random.Generator, units: pd.DataFrame,
                               frameworks: dict[str, Framework], values: dict[str, dict[str, np.ndarray]],
                               periods: tuple[str, ...], office_region: str,
                               fine: dict | None = None, fine_rng: np.random.Generator | None = None) -> list[dict]:
    """Write ``departments/<period>/<dept>.xlsx``; return the deliberate-error records.

    ``fine``: department → (period ids, {framework key: {indicator or denominator id: units ×
    periods array}}) for the departments that report monthly or quarterly
    (:data:`qlwork.demo.monthly.SCHEDULE`); they get no half-year workbook.  Their messy
    cells are drawn from ``fine_rng`` so the half-year workbooks stay byte-identical."""
    fine = fine or {}
    depts = sorted({i.source for fw in frameworks.values() for i in fw.indicators.values() if not i.public},
                   key=lambda d: list(DEPT_OFFICE).index(d) if d in DEPT_OFFICE else 99)
    errors: list[dict] = []
    fw_units = {k: units[units["framework"] == k].reset_index(drop=True) for k in frameworks}
    for pi, period in enumerate(periods):
        for dept in depts:
            sheets = _sheets(frameworks, fw_units, dept, lambda key, iid: values[key][iid][:, pi], rng,
                             with_denominators=False)
            if dept in fine:
                continue  # the draws above keep the other workbooks' messiness where it was
            rel = Path("departments") / period / f"{dept}.xlsx"
            if (period, dept) == ERROR_FILE:
                errors += _inject_errors(rng, sheets, rel.as_posix(), units)
            _write_workbook(out / rel, sheets, dept, period, office_region)
    for dept, (ids, arrays) in fine.items():
        for pi, period in enumerate(ids):
            sheets = _sheets(frameworks, fw_units, dept, lambda key, iid: arrays[key][iid][:, pi], fine_rng or rng,
                             with_denominators=True)
            _write_workbook(out / "departments" / period / f"{dept}.xlsx", sheets, dept, period, office_region)
    return errors


def _sheets(frameworks, fw_units, dept, column, rng, *, with_denominators: bool) -> list[_Sheet]:
    """The data sheets of one department workbook (one per framework it reports for)."""
    sheets = []
    for key, fw in frameworks.items():
        inds = [i for i in fw.indicators.values() if i.source == dept and not i.public]
        if not inds:
            continue
        groups: list = []
        for i in inds:
            g = fw.name_of(fw.level1_of(i.id))
            if groups and groups[-1][0] == g:
                groups[-1][1] += 1
            else:
                groups.append([g, 1])
        dens = [d for d in fw.denominators.values() if d.source == dept] if with_denominators else []
        if dens:
            groups.append(["辅助数据（不计分）", len(dens)])
        uu = fw_units[key]
        n = len(uu)
        mess_u = rng.random((n, len(inds)))
        na_marker = "—" if dept in ("宣传", "信访") else "/"
        cols = []
        for k, ind in enumerate(inds + dens):
            v = column(key, ind.id)
            pct = ind.unit in ("%", "‰")
            mu = mess_u[:, k] if k < len(inds) else np.ones(n)  # denominators are typed cleanly
            col = [na_marker if np.isnan(x) else _fmt(x, mu[j], pct) for j, x in enumerate(v)]
            cols.append(col)
        ids = uu["unit_id"].tolist()
        names = uu["unit_name"].tolist()
        types = uu["unit_type"].tolist()
        counties = uu["county"].tolist()
        rows = [[None, ids[j], names[j], types[j], counties[j]] + [c[j] for c in cols] for j in range(n)]
        sheets.append(_Sheet(SHEET_NAMES[key], key, inds + dens, groups, rows))
    return sheets


def _inject_errors(rng: np.random.Generator, sheets: list[_Sheet], rel: str, units: pd.DataFrame) -> list[dict]:
    """Put the deliberate errors into the sheets; rows are located after writing."""
    recs: list[dict] = []
    cs = next(s for s in sheets if s.fw_key == "county")
    vs = next(s for s in sheets if s.fw_key == "village")
    ind_col = {s.name: {ind.id: 6 + k for k, ind in enumerate(s.indicators)} for s in sheets}
    n = len(cs.rows)
    pick = rng.choice(np.arange(10, n - 10), size=6, replace=False)
    r_nn, r_neg, r_miss, r_unk, src, gone = (cs.rows[int(i)] for i in pick)
    # 1. non-numeric value
    c = ind_col[cs.name]["disc_cases"]
    r_nn[c - 1] = "待核实"
    recs.append(dict(code="non_numeric", sheet=cs.name, row_ref=id(r_nn), column=get_column_letter(c),
                     unit_id=r_nn[1], indicator_id="disc_cases", found="待核实",
                     description="非数值 non-numeric value"))
    # 2. negative count
    c = ind_col[cs.name]["eight_rules"]
    r_neg[c - 1] = -3
    recs.append(dict(code="out_of_range", sheet=cs.name, row_ref=id(r_neg), column=get_column_letter(c),
                     unit_id=r_neg[1], indicator_id="eight_rules", found="-3",
                     description="负的计数 negative count"))
    # 3. applicable indicator left blank
    c = ind_col[cs.name]["talk_inquiry"]
    r_miss[c - 1] = None
    recs.append(dict(code="missing_value", sheet=cs.name, row_ref=id(r_miss), column=get_column_letter(c),
                     unit_id=r_miss[1], indicator_id="talk_inquiry", found="",
                     description="适用指标缺失 applicable indicator missing"))
    # 4. unknown unit id (a row for a unit that is not in the registry)
    bad = list(r_unk)
    bad[1] = f"U{len(units) + 501:06d}"
    bad[2] = bad[2].replace("局", "事务中心") if "局" in bad[2] else bad[2] + "（筹）"
    cs.rows.insert(cs.rows.index(r_unk) + 1, bad)
    recs.append(dict(code="unknown_unit", sheet=cs.name, row_ref=id(bad), column="B",
                     unit_id=bad[1], indicator_id="", found=bad[1],
                     description="名录中没有的单位编码 unit id not in the registry"))
    # 5. duplicated unit row (copied right below itself)
    dup = list(src)
    cs.rows.insert(cs.rows.index(src) + 1, dup)
    recs.append(dict(code="duplicate", sheet=cs.name, row_ref=id(dup), column="B",
                     unit_id=dup[1], indicator_id="", found=dup[1],
                     description="单位重复填报 duplicated unit row"))
    # 6. a unit left out of this period (present in the other periods)
    cs.rows.remove(gone)
    recs.append(dict(code="period_gap", sheet=cs.name, row_ref=None, column="",
                     unit_id=gone[1], indicator_id="", found="",
                     description="本期缺少该单位（其他各期均有） unit missing from this period"))
    # 7. a rate above 100 % in the village sheet
    r_pct = vs.rows[int(rng.integers(10, len(vs.rows) - 10))]
    c = ind_col[vs.name]["v_micropower"]
    r_pct[c - 1] = 120
    recs.append(dict(code="out_of_range", sheet=vs.name, row_ref=id(r_pct), column=get_column_letter(c),
                     unit_id=r_pct[1], indicator_id="v_micropower", found="120",
                     description="百分比超过 100 rate above 100 %"))
    # locate rows
    pos = {}
    for s in sheets:
        for j, r in enumerate(s.rows):
            pos[id(r)] = _HEADER_ROWS + 1 + j
    for rec in recs:
        ref = rec.pop("row_ref")
        rec["row"] = pos[ref] if ref is not None else None
        rec["file"] = rel
    return recs


def _write_workbook(path: Path, sheets: list[_Sheet], dept: str, period: str, region: str) -> None:
    label, date = _period_label(period)
    wb = Workbook(write_only=True)
    fast: dict[str, str] = {}
    for s in sheets:
        ws = wb.create_sheet(s.name)
        width = len(_ID_COLS) + len(s.indicators)
        last = get_column_letter(width)
        ws.append([f"{label}清廉单元建设监测指标数据报送表（{dept}）"])
        ws.merged_cells.add(f"A1:{last}1")
        ws.append([f"填报单位：{region}{DEPT_OFFICE.get(dept, dept)}（盖章）", None, None, None, None,
                   f"填报日期：{date}"])
        ws.merged_cells.add("A2:E2")
        top = list(_ID_COLS)
        for g, k in s.groups:
            top += [g] + [None] * (k - 1)
        ws.append(top)
        ws.append([None] * len(_ID_COLS) + [f"{i.name}（{i.unit}）" for i in s.indicators])
        for j in range(len(_ID_COLS)):
            L = get_column_letter(j + 1)
            ws.merged_cells.add(f"{L}3:{L}4")
        c0 = len(_ID_COLS) + 1
        for g, k in s.groups:
            if k > 1:
                ws.merged_cells.add(f"{get_column_letter(c0)}3:{get_column_letter(c0 + k - 1)}3")
            c0 += k
        for j, r in enumerate(s.rows, start=1):
            r[0] = j
        nrow = _HEADER_ROWS + len(s.rows) + 2
        end = from_month(parse(period).last_month)
        tail = [[], ["备注：1.“/”或“—”表示该指标不适用于本单位类型；2.比率类指标按每百名在编人员计算，保留两位小数；"
                     f"3.数据截至{end.year}年{end.index}月{calendar.monthrange(end.year, end.index)[1]}日。"],
                ["填表人：王某某", None, "联系电话：0731-8xxxxxxx", None, "审核人：李某某"]]
        ws.merged_cells.add(f"A{nrow}:{last}{nrow}")
        # data and footer rows go through the fast XML path (openpyxl is too slow at province scale)
        fast[s.name] = rows_xml(s.rows + tail, _HEADER_ROWS + 1)
    ws = wb.create_sheet("填表说明")
    for line in ("填表说明", "1. 每个单位填写一行，单位编码以单位名录为准，不得自行编码。",
                 "2. 不适用的指标填“/”，确无数据的请注明原因。", "3. 比率、百分比保留一至两位小数。"):
        ws.append([line])
    save_deterministic(wb, path, append_rows=fast)
