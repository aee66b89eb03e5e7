"""Excel registers that units and supervisors fill in (登记表): schema, template, reader.

A register is one sheet with a header row of Chinese column titles (a second
row may hold the fill-in instructions, marked ``填写说明``).  :class:`RegisterSchema`
declares the columns; :func:`write_template` writes an empty template (header,
instructions, data validation for choice columns, frozen header);
:func:`read_register` reads a filled-in workbook into a tidy table and returns
every problem located (file, sheet, Excel row, column, found, expected) instead of
raising on the first one.  The veto and bonus registers (this package) and the
rectification ledger and risk-point registers build on it.
"""
from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from ..errors import Problem, QlworkError
from ..io.excel import book_rows, cell_text, col_letter, header_key, normalize_text, open_book, parse_number

__all__ = ["Column", "RegisterSchema", "write_template", "read_register", "normalize_period_cell", "INSTRUCTION_MARK",
           "is_blank"]

INSTRUCTION_MARK = "填写说明"


@dataclass(frozen=True)
class Column:
    """One register column: internal key, Chinese title (+ accepted aliases), kind and rules."""

    key: str
    title: str
    kind: str = "text"  # text | unit | period | number | date | choice
    required: bool = True
    aliases: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    help: str = ""
    min_value: float | None = None
    max_value: float | None = None

    def labels(self) -> set[str]:
        return {header_key(x) for x in (self.title, self.key, *self.aliases)}


@dataclass(frozen=True)
class RegisterSchema:
    """A register: file name under ``data/raw/registers/``, sheet, columns, duplicate key."""

    name: str
    title: str
    file_name: str
    sheet: str
    columns: tuple[Column, ...]
    unique: tuple[str, ...] = ()
    description: str = ""
    extra_checks: tuple[Callable, ...] = field(default=(), compare=False)

    @property
    def keys(self) -> list[str]:
        return [c.key for c in self.columns]


def write_template(path: str | Path, schema: RegisterSchema, rows: Sequence[dict] | None = None) -> Path:
    """An Excel template (header, instruction row, optional example/demo rows), written atomically."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    from ..io.excel import save_deterministic

    wb = Workbook()
    ws = wb.active
    ws.title = schema.sheet
    ws.append([c.title for c in schema.columns])
    helps = [c.help or ("必填" if c.required else "选填") for c in schema.columns]
    helps[0] = f"{INSTRUCTION_MARK}：{helps[0]}"
    ws.append(helps)
    for r in rows or ():
        # text is kept as written (save_deterministic stores formula-like text as a quote-prefixed
        # string): a "'" added here would come back into data/raw with the filled-in register
        ws.append([_cell(r.get(c.key)) for c in schema.columns])
    bold = Font(bold=True)
    grey = Font(color="808080", italic=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    for j, c in enumerate(schema.columns, start=1):
        h = ws.cell(row=1, column=j)
        h.font, h.fill = bold, fill
        ws.cell(row=2, column=j).font = grey
        ws.cell(row=2, column=j).alignment = Alignment(wrap_text=True, vertical="top")
        ws.column_dimensions[col_letter(j)].width = max(12, min(40, 2 * len(c.title) + 6))
        if c.kind == "choice" and c.choices:
            dv = DataValidation(type="list", formula1='"' + ",".join(c.choices) + '"', allow_blank=not c.required)
            dv.error = f"请从下拉列表中选择：{'、'.join(c.choices)}"
            ws.add_data_validation(dv)
            dv.add(f"{col_letter(j)}3:{col_letter(j)}{max(5000, len(rows or ()) + 1000)}")
    ws.freeze_panes = "A3"
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    return save_deterministic(wb, out)  # same content → same bytes (the demo is byte-reproducible)


def is_blank(v: Any) -> bool:
    """A cell left blank: None, NaN or pandas' missing markers (text columns read blanks as NaN)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, float) and math.isnan(v)


def _cell(v: Any) -> Any:
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    return v


def normalize_period_cell(v: Any) -> str | None:
    """A half-year written in a register cell → canonical id (2025H2 / 2025年下半年), or None
    (:func:`qlwork.periods.normalize_half_year`, the one home of period parsing)."""
    from ..periods import normalize_half_year

    return normalize_half_year(normalize_text(v))


def _date(v: Any) -> _dt.date | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, _dt.datetime):
        return v.date()
    if isinstance(v, _dt.date):
        return v
    t = normalize_text(v).replace("年", "-").replace("月", "-").replace("日", "").replace("/", "-").replace(".", "-")
    try:
        return _dt.date.fromisoformat("-".join(p.zfill(2) if i else p for i, p in enumerate(t.strip("-").split("-"))))
    except ValueError:
        return None


def read_register(path: str | Path, schema: RegisterSchema, *, label: str | None = None,
                  units: pd.DataFrame | None = None,
                  period_parser: Callable[[Any], str | None] | None = None,
                  positions: dict | None = None, root: str | Path | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """Read a filled-in register → (table with the schema's keys + file/sheet/row, problems).

    ``positions``: a dict filled with each column's location text (key → "M（整改状态）") for
    checks the caller makes afterwards.

    Rows that are entirely blank and the instruction row are skipped.  Cells are
    checked by kind: ``unit`` against the registry (when given), ``period`` by
    :func:`normalize_period_cell`, ``number`` by :func:`qlwork.io.excel.parse_number`
    and the column's bounds, ``date`` as a calendar date, ``choice`` against the
    choices.  A row with an error keeps its other cells (the reader reports, the
    caller decides).  Duplicates of ``schema.unique`` are reported on the later row.

    The file is opened once through :func:`qlwork.io.excel.open_book` with ``root`` (the raw
    folder): a link out of it, a pipe, a folder, a zip bomb or a huge used range is a located
    problem; hidden sheets are never read (a warning names them).
    """
    path = Path(path)
    label = label or path.name
    problems: list[Problem] = []
    cols = [c.key for c in schema.columns] + ["file", "sheet", "row", "_bad"]
    book = open_book(path, label, root=root, facts=False)
    if book.errors:
        return pd.DataFrame(columns=cols), list(book.errors)
    problems += list(book.notes) + list(book.sheet_errors)
    names = book.readable()
    sheet = schema.sheet if schema.sheet in names else (names[0] if names else None)
    if sheet is None:
        return pd.DataFrame(columns=cols), problems + [Problem(
            "bad_register", "登记表没有可读取的工作表（隐藏或过大的工作表不读取）",
            "the register has no readable sheet (hidden or oversized sheets are not read)", file=label,
            expected=schema.sheet)]
    try:
        rows = book_rows(book, [sheet])[sheet]
    except QlworkError as e:
        return pd.DataFrame(columns=cols), problems + list(e.problems)
    except Exception as e:  # noqa: BLE001 - any unreadable workbook is one located problem
        return pd.DataFrame(columns=cols), problems + [Problem(
            "bad_register", f"无法读取登记表：{type(e).__name__}", "cannot read the register", file=label,
            sheet=sheet, expected="Excel 工作簿 (.xlsx)")]
    if not rows:
        return pd.DataFrame(columns=cols), []
    header = [header_key(x) for x in rows[0]]
    pos: dict[str, int] = {}
    for c in schema.columns:
        hit = [j for j, h in enumerate(header) if h and h in c.labels()]
        if hit:
            pos[c.key] = hit[0]
        elif c.required:
            problems.append(Problem("missing_column", f"登记表缺少列“{c.title}”", f"the register lacks the column {c.title}",
                                    file=label, sheet=sheet, row=1, expected=c.title,
                                    found="、".join(str(x) for x in rows[0] if x is not None)))
    if any(p.code == "missing_column" for p in problems):
        return pd.DataFrame(columns=cols), problems
    known_units = None if units is None else set(units["unit_id"].astype(str))
    out = []
    for i, r in enumerate(rows[1:], start=2):
        cells = {k: (r[j] if j < len(r) else None) for k, j in pos.items()}
        if all(cell_text(v) == "" for v in cells.values()):
            continue
        first = cell_text(r[0]) if r else ""
        if first.startswith(INSTRUCTION_MARK):
            continue
        rec: dict[str, Any] = {"file": label, "sheet": sheet, "row": i, "_bad": False}
        for c in schema.columns:
            v = cells.get(c.key)
            colname = f"{col_letter(pos[c.key] + 1)}（{c.title}）" if c.key in pos else c.title
            text = cell_text(v)
            where = dict(file=label, sheet=sheet, row=i, column=colname)
            if text == "":
                rec[c.key] = None
                if c.required:
                    problems.append(Problem("missing_value", f"“{c.title}”未填写", f"{c.key} is blank",
                                            expected=c.help or "必填 required", **where))
                    rec["_bad"] = True
                continue
            if c.kind == "unit":
                uid = normalize_text(v)
                rec[c.key] = uid
                if known_units is not None and uid not in known_units:
                    problems.append(Problem("unknown_unit", f"单位编码 {uid} 不在单位名录中", "unit not in the registry",
                                            found=uid, expected="单位名录中的编码 a registered unit id", **where))
                    rec["_bad"] = True
            elif c.kind == "period":
                per = (period_parser or normalize_period_cell)(v)
                rec[c.key] = per
                if per is None:
                    problems.append(Problem("bad_period", f"期别“{text}”无法识别", "period not recognised", found=text,
                                            expected="如 2025H2 或 2025年下半年", **where))
                    rec["_bad"] = True
            elif c.kind == "number":
                pn = parse_number(v)
                val = pn.value if pn.ok else None
                rec[c.key] = val
                if val is None or not math.isfinite(val):
                    problems.append(Problem("not_a_number", f"“{c.title}”不是数字", f"{c.key} is not a number",
                                            found=text, expected="数字 a number", **where))
                    rec["_bad"] = True
                elif (c.min_value is not None and val < c.min_value) or (c.max_value is not None and val > c.max_value):
                    lo = "" if c.min_value is None else f"{c.min_value:g}"
                    hi = "" if c.max_value is None else f"{c.max_value:g}"
                    problems.append(Problem("out_of_range", f"“{c.title}”超出允许范围", f"{c.key} out of range",
                                            found=val, expected=f"[{lo}, {hi}]", **where))
                    rec["_bad"] = True
            elif c.kind == "date":
                d = _date(v)
                rec[c.key] = d
                if d is None:
                    problems.append(Problem("bad_date", f"“{c.title}”不是有效日期", f"{c.key} is not a date",
                                            found=text, expected="日期，如 2025-12-31", **where))
                    rec["_bad"] = True
            elif c.kind == "choice":
                t = normalize_text(v)
                rec[c.key] = t
                if c.choices and t not in c.choices:
                    problems.append(Problem("bad_choice", f"“{c.title}”的取值“{t}”不在可选范围内",
                                            f"{c.key} is not one of the allowed values", found=t,
                                            expected="、".join(c.choices), **where))
                    rec["_bad"] = True
            else:
                rec[c.key] = normalize_text(v)
        out.append(rec)
    df = pd.DataFrame(out, columns=cols)
    if positions is not None:  # where each column sits, for checks made after reading (e.g. "M（整改状态）")
        positions.update({c.key: (f"{col_letter(pos[c.key] + 1)}（{c.title}）" if c.key in pos else c.title)
                          for c in schema.columns})
    if schema.unique and len(df):
        # a blank key cell is reported as missing, not as a duplicate (and astype(str) keeps NaN under pandas 3)
        keys = df[list(schema.unique)]
        blank = keys.apply(lambda col: col.map(is_blank)).any(axis=1)
        key = keys.apply(lambda col: col.map(lambda v: "" if is_blank(v) else str(v))).agg("|".join, axis=1)
        dup = key.duplicated(keep="first") & ~blank
        for _, r in df[dup].iterrows():
            first_row = int(df.loc[key == key[_]].iloc[0]["row"])
            problems.append(Problem("duplicate_entry", f"与第 {first_row} 行重复（{'、'.join(schema.unique)} 相同）",
                                    "duplicate register entry", file=label, sheet=sheet, row=int(r["row"]),
                                    found="|".join(str(r[k]) for k in schema.unique), expected="每项只登记一次"))
        df.loc[dup, "_bad"] = True
    return df, problems
