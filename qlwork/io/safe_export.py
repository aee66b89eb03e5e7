"""Exports that are safe to open: no text cell ever becomes a formula.

A unit name or free-text answer starting with ``=``, ``+``, ``-`` or ``@`` (or a tab
or carriage return) is read by Excel as a formula when the file is opened — CSV
injection (OWASP, "CSV Injection", https://owasp.org/www-community/attacks/CSV_Injection).
qlwork writes such text as text:

- CSV (:func:`safe_csv`): the cell is prefixed with a single quote ``'`` (the OWASP
  recommendation); numbers are untouched, so ``-2.5`` stays a number;
- Excel (:func:`safe_excel`, and :mod:`qlwork.report.excel`): the cell is stored as a
  string (``cell.data_type == "s"``), so it shows exactly as typed.

Files are written whole-or-nothing through :func:`qlwork.io.atomic.atomic_path`.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .atomic import atomic_path

__all__ = ["FORMULA_START", "is_formula_like", "escape_csv_cell", "escape_frame", "safe_csv", "safe_excel"]

#: first characters that make spreadsheet software treat a text as a formula
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(value: Any) -> bool:
    """True for a text that a spreadsheet would read as a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_START)


def escape_csv_cell(value: Any) -> Any:
    """``"=HYPERLINK(...)"`` → ``"'=HYPERLINK(...)"``; anything else unchanged."""
    return "'" + value if is_formula_like(value) else value


def escape_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with formula-like text cells (and column names) escaped for CSV.
    Numeric columns are not touched."""
    out = df.copy()
    for c in out.columns:
        s = out[c]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            continue
        mask = s.map(is_formula_like).to_numpy(dtype=bool)
        if mask.any():
            s = s.astype(object)
            s[mask] = ["'" + v for v in s[mask]]
            out[c] = s
    out.columns = [escape_csv_cell(c) for c in out.columns]
    if not isinstance(out.index, pd.RangeIndex):
        out.index = out.index.map(escape_csv_cell)
    return out


def safe_csv(df: pd.DataFrame, path: str | Path | None = None, *, index: bool = False,
             encoding: str = "utf-8-sig", **kwargs) -> Path | str:
    """Write ``df`` as CSV with formula-like text escaped, atomically.

    ``encoding`` defaults to UTF-8 with BOM so that Excel (Chinese Windows) opens the
    file with the right characters.  With ``path=None`` the CSV text is returned.
    """
    safe = escape_frame(df)
    kwargs.setdefault("lineterminator", "\n")
    if path is None:
        return safe.to_csv(index=index, **kwargs)
    path = Path(path)
    with atomic_path(path) as tmp:
        safe.to_csv(tmp, index=index, encoding=encoding, **kwargs)
    return path


def _cell_value(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, (np.generic,)):
        v = v.item()
    if isinstance(v, float) and np.isnan(v):
        return None
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return v


def safe_excel(sheets: Mapping[str, pd.DataFrame] | pd.DataFrame, path: str | Path | io.BytesIO, *,
               index: bool = False, sheet_name: str = "Sheet1") -> Path | io.BytesIO:
    """Write one or several tables to an .xlsx: header row then values; every text cell
    is stored as a string (never a formula), NaN as an empty cell.  ``path`` may be a
    file path (written atomically) or a BytesIO buffer."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(sheets, pd.DataFrame):
        sheets = {sheet_name: sheets}
    wb = Workbook()
    wb.remove(wb.active)
    for name, df in sheets.items():
        ws = wb.create_sheet(str(name)[:31])
        d = df.reset_index() if index else df
        rows = [list(d.columns)] + list(d.itertuples(index=False, name=None))
        for r, row in enumerate(rows, start=1):
            for c, v in enumerate(row, start=1):
                v = _cell_value(v)
                if v is None:
                    continue
                if not isinstance(v, (int, float, str, bool)) and not hasattr(v, "isoformat"):
                    v = str(v)
                if isinstance(v, str):
                    v = ILLEGAL_CHARACTERS_RE.sub("", v)  # control characters are not allowed in xlsx
                cell = ws.cell(row=r, column=c, value=v)
                if isinstance(v, str):
                    cell.data_type = "s"  # openpyxl would take "=..." for a formula
    if isinstance(path, io.BytesIO):
        wb.save(path)
        path.seek(0)
        return path
    path = Path(path)
    with atomic_path(path) as tmp:
        wb.save(tmp)
    return path
