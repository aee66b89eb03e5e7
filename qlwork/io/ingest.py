"""Read the raw data folder into tidy tables and store them as Parquet.

Raw layout (``docs/data.md``)::

    data/raw/units.xlsx                          unit registry (sheet 单位名录)
    data/raw/framework_<key>.yaml                one framework per key used in the registry's 框架 column
    data/raw/departments/<period>/<部门>.xlsx     department submissions; the folder is a canonical
                                                 period id of any grain: 2025H1, 2025Q1 or 2025-03

Department workbooks are matched to indicators **by header text**: each column
header (after :func:`qlwork.io.excel.header_key`: full width → half width, unit
suffix such as ``（人/百人）`` and spaces removed) is compared with the indicator
names and ids of every framework; the lower row of a two-row header wins over
the upper (group) row.  A sheet belongs to the framework whose indicators its
headers match best.  The department is the workbook's file name (stem) and is
stored as ``source``.

Outputs under ``data/processed/`` (written by :func:`qlwork.io.build.ingest`): ``values.parquet`` (unit_id,
period, indicator_id, value, source, file, sheet, row, column, rollup, parts) — one value
per unit, half-year and indicator, read directly or rolled up from months and quarters
(:mod:`qlwork.io.rollup`; ``rollup`` names the rule, "" for a value read from one cell);
``values_fine.parquet`` (the same columns as submitted plus ``grain``: every monthly
and quarterly value and every denominator, the input of ``qlwork monitor``);
``units.parquet`` and ``problems.parquet``.  Writing is all-or-nothing
(:mod:`qlwork.io.safe`); a run that finds errors writes nothing unless
``exclude_invalid=True``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import Problem, QlworkError
from .excel import (
    book_rows, cell_text, col_index, col_letter, facts_of, find_row, header_key, normalize_text, open_book,
    parse_number, split_ref, workbook_file_problem,
)
from ..framework import Framework, load_framework
from .guard import raw_label
from .ids import registry_id_problem, skeleton, text_problem, visible
from .. import paths as _paths
from .. import periods as P
from ..paths import PACKAGE_DATA, raw_dir as default_raw_dir

__all__ = [
    "UNIT_FIELDS", "load_units", "read_units", "load_frameworks", "read_department_workbook",
    "department_files", "read_departments", "load_values", "load_fine_values",
]

#: registry fields: internal name → accepted header labels (matched with header_key)
UNIT_FIELDS: dict[str, tuple[str, ...]] = {
    "unit_id": ("单位编码", "unit_id", "单位代码", "编码", "单位编码 unit_id"),
    "unit_name": ("单位名称", "unit_name", "名称", "单位"),
    "unit_type": ("单位类型", "unit_type", "类型"),
    "city": ("市州", "city", "市(州)", "所属市州"),
    "county": ("县市区", "county", "县(市、区)", "所属县市区"),
    "township": ("乡镇(街道)", "township", "乡镇", "乡镇街道", "所属乡镇(街道)"),
    "framework": ("框架", "framework", "指标体系"),
    "staff": ("在编人数", "staff", "在编人员数", "人数"),
    "population": ("服务人口", "population", "人口"),
}
_REQUIRED_UNIT = ("unit_id", "unit_name", "unit_type", "framework")
UNIT_COLUMNS = list(UNIT_FIELDS)
REGISTRY_FILE = "units.xlsx"
REGISTRY_SHEET = "单位名录"

#: header labels that identify the unit column of a department sheet
UNIT_ID_LABELS = ("单位编码", "unit_id", "单位代码", "统一编码", "单位编号")
#: descriptive columns of department sheets that are not indicators (ignored)
_DESCRIPTIVE = {header_key(x) for x in (
    "序号", "单位名称", "单位类型", "所属县市区", "县市区", "市州", "所属市州", "乡镇(街道)", "乡镇", "所属乡镇",
    "备注", "说明", "编号", "name", "unit_name", "unit_type", "county", "city", "township", "no", "序",
)}
_NOTE_PREFIXES = ("备注", "注", "填表人", "说明", "审核", "合计", "小计", "制表", "联系", "负责人", "单位负责人")
#: sheets that hold instructions, never data
_TEXT_SHEETS = {"填表说明", "说明", "目录", "封面", "说明页", "readme"}


def _rel(path: Path, base: Path) -> str:
    return raw_label(path, base)


# ------------------------------------------------------------------ registry
def read_units(raw_dir: str | Path | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """Read ``units.xlsx`` → (registry DataFrame, problems).  Never raises for bad
    rows; rows with a problem that makes them unusable (no id, duplicate id) are dropped.
    Columns: :data:`UNIT_COLUMNS` plus ``excel_row`` (Excel row)."""
    base = Path(raw_dir) if raw_dir is not None else default_raw_dir()
    path = base / REGISTRY_FILE
    problems: list[Problem] = []
    empty = pd.DataFrame(columns=UNIT_COLUMNS + ["excel_row"])
    if not path.exists() and not path.is_symlink():
        return empty, [Problem("file_not_found", "找不到单位名录 units.xlsx", "unit registry units.xlsx not found",
                               file=REGISTRY_FILE, expected=str(path))]
    checked = open_book(path, REGISTRY_FILE, root=base, facts=False)  # type, size, zip bomb, used range
    if checked.errors:
        return empty, list(checked.errors)
    problems += list(checked.notes) + list(checked.sheet_errors)
    try:
        book = book_rows(checked)
    except QlworkError as e:
        return empty, problems + list(e.problems)
    except Exception as e:  # a corrupt or non-xlsx file
        return empty, problems + [Problem(
            "unreadable_file", "无法读取单位名录", f"cannot read the unit registry: {type(e).__name__}",
            file=REGISTRY_FILE, found=type(e).__name__, expected=".xlsx 工作簿")]
    if not book:
        return empty, problems + [Problem("no_header", "单位名录中没有可读取的工作表", "no readable sheet in the unit registry",
                                          file=REGISTRY_FILE, expected=REGISTRY_SHEET)]
    if REGISTRY_SHEET in book:
        sheet = REGISTRY_SHEET
    else:
        # another sheet name ("Sheet1", "单位名单"): use the first sheet with a 单位编码 header, and say so
        found = [n for n in book if find_row(book[n], UNIT_FIELDS["unit_id"]) is not None]
        sheet = found[0] if found else next(iter(book))
        if found:
            problems.append(Problem(
                "sheet_name", f"单位名录工作表应名为“{REGISTRY_SHEET}”，未找到，已读取含“单位编码”表头的工作表“{sheet}”",
                f"no sheet named {REGISTRY_SHEET}; read sheet {sheet!r}, which has a 单位编码 header",
                file=REGISTRY_FILE, sheet=sheet, found=list(book), expected=REGISTRY_SHEET, severity="warning"))
    rows = book[sheet]
    h = find_row(rows, UNIT_FIELDS["unit_id"])
    if h is None:
        is_empty = not any(v is not None and normalize_text(v) for r in rows for v in r)
        return empty, problems + [Problem(
            "no_header", ("单位名录是空的" if is_empty else "单位名录中找不到表头“单位编码”")
            + f"（应有工作表“{REGISTRY_SHEET}”，其表头行含 单位编码、单位名称、单位类型、框架）",
            ("the unit registry is empty" if is_empty else "no 单位编码 header in the unit registry")
            + f" (expected a sheet {REGISTRY_SHEET} whose header row has 单位编码, 单位名称, 单位类型, 框架)",
            file=REGISTRY_FILE, sheet=sheet, found=list(book) if not is_empty else "空工作簿 empty workbook",
            expected=f"工作表 {REGISTRY_SHEET}，表头含 单位编码 等列")]
    header = rows[h - 1]
    keymap = {header_key(lbl): f for f, labels in UNIT_FIELDS.items() for lbl in labels}
    colmap: dict[str, int] = {}
    for c, v in enumerate(header):
        f = keymap.get(header_key(v)) if v is not None else None
        if f and f not in colmap:
            colmap[f] = c
    missing = [f for f in _REQUIRED_UNIT if f not in colmap]
    if missing:
        return empty, [Problem("missing_column", f"单位名录缺少列 {[UNIT_FIELDS[f][0] for f in missing]}",
                               f"registry lacks columns {missing}", file=REGISTRY_FILE, sheet=sheet, row=h,
                               expected="、".join(UNIT_FIELDS[f][0] for f in UNIT_COLUMNS))]
    recs = []
    seen: dict[str, int] = {}
    seen_skel: dict[str, tuple[str, int]] = {}
    for r in range(h + 1, len(rows) + 1):
        row = rows[r - 1]
        get = lambda f: row[colmap[f]] if f in colmap and colmap[f] < len(row) else None  # noqa: E731
        uid = cell_text(get("unit_id"))
        if not uid:
            if any(v not in (None, "") for v in row):
                problems.append(Problem("missing_unit_id", "单位名录中该行没有单位编码", "registry row without a unit id",
                                        file=REGISTRY_FILE, sheet=sheet, row=r, column=col_letter(colmap["unit_id"] + 1)))
            continue
        if uid in seen:
            typed = get("unit_id") if isinstance(get("unit_id"), str) and get("unit_id") != uid else uid
            problems.append(Problem("duplicate_unit", f"单位编码 {uid} 在名录中重复（首次出现于第 {seen[uid]} 行）"
                                    + (f"，本行写作 {typed!r}（全角或含空格）" if typed != uid else ""),
                                    f"unit id {uid} appears twice in the registry", file=REGISTRY_FILE, sheet=sheet,
                                    row=r, column=col_letter(colmap["unit_id"] + 1), found=typed, expected="唯一编码 unique id"))
            continue
        bad = registry_id_problem(uid, seen_skel, file=REGISTRY_FILE, sheet=sheet, row=r,
                                  column=col_letter(colmap["unit_id"] + 1))
        if bad is not None:  # unsafe or a look-alike of another row: the row is not used
            problems.append(bad)
            continue
        seen[uid] = r
        seen_skel.setdefault(skeleton(uid), (uid, r))
        rec: dict[str, Any] = {"unit_id": uid, "excel_row": r}
        for f in ("unit_name", "unit_type", "city", "county", "township", "framework"):
            rec[f] = normalize_text(get(f)) if f in colmap else ""
            tp = text_problem(rec[f]) if rec[f] else None
            if tp is not None:  # control or invisible characters, or an endless text: reported, then removed
                problems.append(Problem(tp[0], f"{UNIT_FIELDS[f][0]}：{tp[1]}", f"{f}: {tp[2]}", file=REGISTRY_FILE,
                                        sheet=sheet, row=r, column=col_letter(colmap[f] + 1), found=tp[3],
                                        expected="可见的文字 visible text" if tp[0] == "bad_text" else "≤ 200 个字符 characters"))
                rec[f] = visible(rec[f])[:200]
            rawv = get(f)
            if isinstance(rawv, str) and rawv != rec[f] and rawv.strip(" ") != rec[f]:
                # full-width / non-breaking spaces or full-width letters: matched after normalising
                problems.append(Problem(
                    "normalized_text", f"{UNIT_FIELDS[f][0]} {rawv!r} 含全角空格或全角字符，已按 {rec[f]!r} 读取和匹配",
                    f"{f} {rawv!r} has full-width spaces or characters; read and matched as {rec[f]!r}",
                    file=REGISTRY_FILE, sheet=sheet, row=r, column=col_letter(colmap[f] + 1), found=rawv,
                    expected=rec[f], severity="warning"))
        if isinstance(get("unit_id"), str) and get("unit_id") != uid:
            problems.append(Problem(
                "normalized_id", f"单位编码 {get('unit_id')!r} 含全角字符或首尾空格，已按 {uid!r} 读取",
                f"unit id {get('unit_id')!r} has full-width characters or surrounding spaces; read as {uid!r}",
                file=REGISTRY_FILE, sheet=sheet, row=r, column=col_letter(colmap["unit_id"] + 1),
                found=get("unit_id"), expected=uid, severity="warning"))
        for f in ("staff", "population"):
            if f not in colmap:
                rec[f] = np.nan
                continue
            p = parse_number(get(f), percent_ok=False)
            if p.status == "non_numeric" or (p.ok and p.value < 0):
                problems.append(Problem("bad_number", f"{UNIT_FIELDS[f][0]} 应为非负数", f"{f} must be a non-negative number",
                                        file=REGISTRY_FILE, sheet=sheet, row=r, column=col_letter(colmap[f] + 1),
                                        found=get(f), expected=">= 0"))
            rec[f] = p.value if p.ok and p.value >= 0 else np.nan
        for f in ("unit_type", "framework"):
            if not rec[f]:
                problems.append(Problem("missing_field", f"缺少{UNIT_FIELDS[f][0]}", f"missing {f}", file=REGISTRY_FILE,
                                        sheet=sheet, row=r, column=col_letter(colmap[f] + 1), expected=UNIT_FIELDS[f][0]))
        recs.append(rec)
    df = pd.DataFrame(recs, columns=UNIT_COLUMNS + ["excel_row"])
    df["staff"] = pd.to_numeric(df["staff"], errors="coerce").astype(float)
    df["population"] = pd.to_numeric(df["population"], errors="coerce").astype(float)
    df.attrs["sheet"] = sheet
    df.attrs["columns"] = {f: col_letter(c + 1) for f, c in colmap.items()}
    return df, problems


def load_units(raw_dir: str | Path | None = None) -> pd.DataFrame:
    """The unit registry as a DataFrame with columns unit_id, unit_name, unit_type,
    city, county, township, framework, staff, population (one row per unit).

    Raises :class:`QlworkError` with located problems if the registry has errors.
    """
    df, problems = read_units(raw_dir)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise QlworkError(errors)
    return df[UNIT_COLUMNS].reset_index(drop=True)


# ---------------------------------------------------------------- frameworks
def load_frameworks(raw_dir: str | Path | None = None) -> dict[str, Framework]:
    """Frameworks of the raw folder: ``framework_<key>.yaml`` → ``{key: Framework}``.
    Falls back to the built-in county and village frameworks if the folder has none."""
    base = Path(raw_dir) if raw_dir is not None else default_raw_dir()
    files = sorted(base.glob("framework_*.yaml")) or sorted(PACKAGE_DATA.glob("framework_*.yaml"))
    return {p.stem[len("framework_"):]: load_framework(p, root=base if p.parent == base else None) for p in files}


def _name_maps(frameworks: dict[str, Framework]) -> dict[str, dict[str, str]]:
    """framework key → {header_key(name or id): indicator or denominator id}."""
    out = {}
    for k, fw in frameworks.items():
        m = {}
        for ind in fw.reported.values():
            m[header_key(ind.id)] = ind.id
            m[header_key(ind.name)] = ind.id
        out[k] = m
    return out


# ---------------------------------------------------------- department files
def department_files(raw_dir: str | Path | None = None) -> list[tuple[str, str, Path]]:
    """(period, department, path) for every ``departments/<period>/<dept>.xlsx``, sorted.
    ``period`` is the folder name as it is (a folder that is no canonical period id —
    ``2025H1``, ``2025Q1``, ``2025-03`` — is reported by :func:`read_departments`, with the
    canonical name when one is clear)."""
    base = Path(raw_dir) if raw_dir is not None else default_raw_dir()
    out = []
    for p in sorted((base / "departments").glob("*/*.xlsx")):
        if p.name.startswith(("~$", ".")):
            continue
        out.append((p.parent.name, p.stem, p))
    return out


#: files in a period folder that look like submissions but are not .xlsx
_OTHER_SUFFIXES = (".xls", ".xlsm", ".xlsb", ".et", ".csv", ".ods", ".wps")


def _sheet_fact_problems(facts, label, sheet, start, unit_c, ind_cols, nmap, data_rows) -> list[Problem]:
    """Merged cells over data rows and formula cells without a cached value (data area only;
    merged header cells and a merged one-row notes line are normal)."""
    if facts is None:
        return []
    out: list[Problem] = []
    data_cols = {unit_c + 1: "单位编码"} | {c + 1: ind for c, ind in ind_cols}
    for ref in facts.merged:
        a, _, b = ref.partition(":")
        (ca, ra), (cb, rb) = split_ref(a), split_ref(b or a)
        if rb < start or not any(r in data_rows for r in range(max(ra, start), rb + 1)):
            continue
        hit = [data_cols[c] for c in range(col_index(ca), col_index(cb) + 1) if c in data_cols] if ca and cb else []
        if not hit:
            continue
        out.append(Problem(
            "merged_cells", f"数据区有合并单元格 {ref}：只有左上角单元格有值，其余单元格按空白处理，请取消合并并逐行填写",
            f"merged cells {ref} in the data area: only the top-left cell holds the value, the others read as blank; "
            "unmerge and fill every row", file=label, sheet=sheet, row=max(ra, start), column=ca, found=ref,
            expected="每个单元格单独填写 one value per cell (no merged cells)"))
    for ref in facts.formulas_no_value:
        col, r = split_ref(ref)
        if r < start or col_index(col) not in data_cols:
            continue
        out.append(Problem(
            "formula_no_value", f"单元格 {ref} 是公式但没有保存计算结果（缓存值），qlwork 不执行公式，按空白处理；"
            "请在 Excel 中打开并保存，或改为填写数值",
            f"cell {ref} holds a formula without a cached value; formulas are never evaluated, the cell reads as blank: "
            "open and save the file in Excel, or type the value", file=label, sheet=sheet, row=r, column=col,
            found="公式（无缓存值） formula without cached value", expected="数值或已计算的公式 a value"))
    return out


@dataclass
class SheetRead:
    """Cells read from one department workbook (one record per unit row × indicator column)."""

    cells: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    sheets: dict = field(default_factory=dict)  # sheet name → framework key


_CELL_COLS = ["unit_id", "period", "indicator_id", "value", "status", "text", "source", "file", "sheet",
              "row", "column", "framework", "unit_col"]


def read_department_workbook(path: str | Path, frameworks: dict[str, Framework], *, period: str,
                             department: str, file_label: str | None = None,
                             root: str | Path | None = None) -> SheetRead:
    """Read every data sheet of one department workbook.

    Returns the cells (unit_id, period, indicator_id, value, status ∈ ok/missing/non_numeric,
    text, source, file, sheet, Excel row, column letter, framework key, unit_col) and
    the layout problems (no header, unknown or duplicate columns, rows without unit id).
    Value checks (range, applicability, unknown units …) are done by :mod:`qlwork.io.validate`.
    ``root`` (the raw folder): a symbolic link is read only when its target lies inside it.
    """
    path = Path(path)
    label = file_label or str(path)
    problems: list[Problem] = []
    names = _name_maps(frameworks)
    cols: dict[str, list] = {c: [] for c in _CELL_COLS}
    sheets: dict[str, str] = {}
    checked = open_book(path, label, root=root)  # type, size, zip bomb, used range, hidden sheets
    if checked.errors:
        return SheetRead(pd.DataFrame(columns=_CELL_COLS), list(checked.errors), {})
    problems += list(checked.notes) + list(checked.sheet_errors)
    facts = facts_of(checked)
    try:
        book = book_rows(checked)
    except Exception as e:  # calamine's own errors for a damaged sheet
        return SheetRead(pd.DataFrame(columns=_CELL_COLS), problems + [Problem(
            "unreadable_file", "无法读取工作簿（不是有效的 xlsx 文件？）", f"cannot read workbook: {type(e).__name__}",
            file=label, found=type(e).__name__, expected=".xlsx 工作簿")], {})
    if not any(v is not None and normalize_text(v) for rows in book.values() for r in rows for v in r):
        return SheetRead(pd.DataFrame(columns=_CELL_COLS), problems + [Problem(
            "empty_workbook", "工作簿是空的（所有工作表都没有内容），未读取", "the workbook is empty (no sheet has any content)",
            file=label, sheet=", ".join(book) or None, found="空工作簿 empty workbook",
            expected="含“单位编码”表头和数据行的工作表 a sheet with a 单位编码 header and data rows")], {})
    for sheet, rows in book.items():
        h = find_row(rows, UNIT_ID_LABELS)
        if h is None:
            has_numbers = any(isinstance(v, (int, float)) and not isinstance(v, bool) for r in rows for v in r)
            if normalize_text(sheet).lower() in _TEXT_SHEETS or not has_numbers:
                continue
            problems.append(Problem(
                "unknown_sheet", "工作表中找不到表头“单位编码”，无法识别，未读取",
                "sheet has no 单位编码 header; not read", file=label, sheet=sheet,
                expected="含“单位编码”列的表头 a header row with 单位编码"))
            continue
        upper = rows[h - 1]
        lower = rows[h] if h < len(rows) else ()
        width = max(len(upper), len(lower))
        unit_c = next(c for c, v in enumerate(upper) if v is not None and header_key(v) in {header_key(x) for x in UNIT_ID_LABELS})
        # which framework do the headers speak?
        score = {k: 0 for k in frameworks}
        for c in range(width):
            for v in (lower[c] if c < len(lower) else None, upper[c] if c < len(upper) else None):
                if v is not None:
                    for k, m in names.items():
                        score[k] += header_key(v) in m
        if not score or max(score.values()) == 0:
            problems.append(Problem(
                "no_indicator_columns", "工作表表头中没有可识别的指标名称", "no indicator column recognised in the header",
                file=label, sheet=sheet, row=h, expected="框架中的指标名称或编号 indicator names or ids of a framework"))
            continue
        fkey = max(score, key=lambda k: (score[k], k == "county"))
        sheets[sheet] = fkey
        nmap = names[fkey]
        ind_cols: list[tuple[int, str]] = []
        seen: dict[str, int] = {}
        # a two-row header: the row below the 单位编码 row names indicators (above: group labels)
        two_row = any(v is not None and header_key(v) in nmap for v in lower)
        if not two_row:
            lower = ()
        for c in range(width):
            if c == unit_c:
                continue
            lo = lower[c] if c < len(lower) else None
            up = upper[c] if c < len(upper) else None
            ind = None
            for v in (lo, up):
                if v is not None and header_key(v) in nmap:
                    ind = nmap[header_key(v)]
                    break
            if ind is None:
                # an unrecognised header: ignore descriptive or group labels, report the rest
                txt = lo if lo is not None else up
                if txt is None or header_key(txt) in _DESCRIPTIVE:
                    continue
                if lo is None and any(header_key(x) in nmap for x in lower if x is not None):
                    continue  # upper-row group label (merged over indicators)
                if lo is not None and header_key(lo) in _DESCRIPTIVE:
                    continue
                problems.append(Problem(
                    "unknown_column", f"表头“{normalize_text(txt)}”不是框架中的指标，该列未读取",
                    f"header {normalize_text(txt)!r} matches no indicator; column not read",
                    file=label, sheet=sheet, row=h + (1 if lo is not None else 0), column=col_letter(c + 1),
                    found=normalize_text(txt), expected="框架中的指标名称或编号 an indicator name or id"))
                continue
            if ind in seen:
                problems.append(Problem(
                    "duplicate_column", f"指标 {ind} 在表头中出现两次（首次在 {col_letter(seen[ind] + 1)} 列），该列未读取",
                    f"indicator {ind} appears in two columns; the second is not read",
                    file=label, sheet=sheet, row=h, column=col_letter(c + 1), found=ind, expected="每个指标一列"))
                continue
            seen[ind] = c
            ind_cols.append((c, ind))
        start = h + 2 if two_row else h + 1
        ucol = col_letter(unit_c + 1)
        letters = {c: col_letter(c + 1) for c, _ in ind_cols}
        for r in range(start, len(rows) + 1):
            row = rows[r - 1]
            uid = cell_text(row[unit_c]) if unit_c < len(row) else ""
            if not uid:
                first = next((normalize_text(v) for v in row if v is not None and normalize_text(v)), "")
                if not first or first.startswith(_NOTE_PREFIXES):
                    continue
                if any(parse_number(row[c]).ok for c, _ in ind_cols if c < len(row)):
                    problems.append(Problem(
                        "missing_unit_id", "该行有数据但没有单位编码，未读取", "row has values but no unit id; not read",
                        file=label, sheet=sheet, row=r, column=ucol, expected="单位编码 unit id"))
                continue
            if uid.startswith(_NOTE_PREFIXES):
                continue
            raw_id = row[unit_c]
            if isinstance(raw_id, str) and raw_id != uid:
                problems.append(Problem(
                    "normalized_id", f"单位编码 {raw_id!r} 含全角字符或首尾空格，已按 {uid!r} 匹配单位名录",
                    f"unit id {raw_id!r} has full-width characters or surrounding spaces; matched as {uid!r}",
                    file=label, sheet=sheet, row=r, column=ucol, found=raw_id, expected=uid, severity="warning"))
            for c, ind in ind_cols:
                raw = row[c] if c < len(row) else None
                p = parse_number(raw)
                cols["unit_id"].append(uid)
                cols["indicator_id"].append(ind)
                cols["value"].append(p.value)
                cols["status"].append(p.status)
                # keep the typed text only where it matters for messages (not for clean numbers)
                cols["text"].append(None if p.status == "ok" else p.text)
                cols["row"].append(r)
                cols["column"].append(letters[c])
                cols["sheet"].append(sheet)
        data_rows = set(cols["row"][len(cols["period"]):])
        problems += _sheet_fact_problems(facts.get(sheet), label, sheet, start, unit_c, ind_cols, nmap, data_rows)
        n_new = len(cols["unit_id"]) - len(cols["period"])
        cols["period"] += [period] * n_new
        cols["source"] += [department] * n_new
        cols["file"] += [label] * n_new
        cols["framework"] += [fkey] * n_new
        cols["unit_col"] += [ucol] * n_new
    if not sheets and not any(p.severity == "error" for p in problems):
        problems.append(Problem(
            "no_data_sheet", "工作簿中没有含“单位编码”表头的数据表，未读取任何数据",
            "no sheet with a 单位编码 header: nothing read from this workbook", file=label,
            sheet="、".join(book) or None, found=list(book),
            expected="含“单位编码”表头和数据行的工作表 a sheet with a 单位编码 header and data rows"))
    cells = pd.DataFrame(cols, columns=_CELL_COLS)
    cells["value"] = cells["value"].astype(float)
    cells["row"] = cells["row"].astype("int64")
    return SheetRead(cells, problems, sheets)


def read_departments(raw_dir: str | Path | None = None, frameworks: dict[str, Framework] | None = None,
                     *, progress: bool = False) -> tuple[pd.DataFrame, list[Problem], dict]:
    """All department workbooks → (cells, layout problems, {(file): {sheet: framework}})."""
    base = Path(raw_dir) if raw_dir is not None else default_raw_dir()
    frameworks = frameworks if frameworks is not None else load_frameworks(base)
    files = department_files(base)
    it = files
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(files, desc="读取部门报表 reading workbooks", unit="file")
    parts, problems, layout = [], [], {}
    # a workbook saved next to the period folders instead of inside one is never read: say where it is
    for p in sorted((base / "departments").glob("*")):
        if p.suffix.lower() in (".xlsx", *_OTHER_SUFFIXES) and not p.name.startswith(("~$", ".")) \
                and not p.is_dir():
            problems.append(Problem(
                "misplaced_file", f"文件 {p.name} 不在期别文件夹中，未读取；请放入 departments/<期别>/（如 departments/2025H2/{p.name}）",
                f"{p.name} is not inside a period folder; not read — move it to departments/<period>/",
                file=_rel(p, base), found="departments/" + p.name, expected=f"departments/<期别>/{p.name}"))
    for p in sorted((base / "departments").glob("*/*")):
        if p.suffix.lower() in _OTHER_SUFFIXES and not p.name.startswith(("~$", ".")):
            label = _rel(p, base)
            bad = workbook_file_problem(p, label, root=base)
            if bad is None or bad.code not in ("xls_format", "not_regular_file", "outside_raw", "broken_link",
                                               "file_too_large"):
                bad = Problem("not_xlsx", f"文件 {p.name} 不是 .xlsx 工作簿，未读取；请在 Excel 中另存为 .xlsx",
                              f"{p.name} is not an .xlsx workbook; not read — please save as .xlsx", file=label,
                              found=p.suffix, expected=".xlsx")
            problems.append(bad)
    for period, dept, path in it:
        label = _rel(path, base)
        if not P.is_canonical(period):
            # folder names are keys of the store and data/raw is never renamed by code: a folder
            # "2025年上半年" is reported with the name to use, never silently merged with "2025H1"
            canon = P.normalize(period)
            if canon:
                zh = f"文件夹名 {period!r} 不是规范期别，未读取；请改名为 {canon}"
                en = f"folder {period!r} is not a canonical period; not read — rename it to {canon}"
            else:
                zh = (f"文件夹名 {period!r} 不是期别，未读取；期别写作 {P.EXPECTED_FORMS}"
                      "（“2025-1”无法判断是月、季还是半年）")
                en = (f"folder {period!r} is not a period like 2025H1, 2025Q1 or 2025-03; not read "
                      "(“2025-1” could be a month, a quarter or a half-year)")
            problems.append(Problem("bad_period", zh, en, file=label, found=period,
                                    expected=canon or P.EXPECTED_FORMS))
            continue
        res = read_department_workbook(path, frameworks, period=period, department=dept, file_label=label, root=base)
        parts.append(res.cells)
        problems += res.problems
        layout[label] = res.sheets
    cells = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=_CELL_COLS)
    return cells, problems, layout


def load_values(processed_dir: str | Path | None = None) -> pd.DataFrame:
    """The tidy value table written by :func:`ingest` (``values.parquet``): unit_id,
    period, indicator_id, value, source, file, sheet, row, column, rollup, parts."""
    base = Path(processed_dir) if processed_dir is not None else _paths.processed_dir()
    from .store import read_store

    return read_store(base / "values.parquet")


def load_fine_values(processed_dir: str | Path | None = None) -> pd.DataFrame:
    """Monthly and quarterly values and denominators as submitted (``values_fine.parquet``):
    unit_id, period, indicator_id, value, source, file, sheet, row, column, grain."""
    base = Path(processed_dir) if processed_dir is not None else _paths.processed_dir()
    from .store import read_store

    return read_store(base / "values_fine.parquet")
