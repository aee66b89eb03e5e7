"""Helpers for reading (and deterministically writing) messy Excel workbooks.

Real submissions from departments are typed by hand into templates: a title
row, a "填报单位" row, two-row merged headers, a notes row at the bottom,
digits typed in full width (``"９６.５"``), numbers stored as text
(``"12"``, ``"96.5%"``, ``" 3 "``) and markers for "no value" such as
``"—"``, ``"/"``, ``"-"``, ``"无"``, ``"空"``.  Every reader in qlwork (department
workbooks, the unit registry, AHP questionnaires, survey files) uses these
helpers so the same cell is understood the same way everywhere.

Public helpers
--------------
- :func:`normalize_text` — NFKC (full width → half width), trim, collapse spaces;
  :func:`cell_text` — the same for identifiers (``123.0`` → ``"123"``).
- :func:`parse_number` / :class:`ParsedNumber` — one cell → number, missing, or non-numeric.
- :func:`parse_fraction` — AHP judgments ``"1/3"``, ``"３"``, ``0.333`` → float.
- :func:`is_missing_marker`, :data:`MISSING_MARKERS`.
- :func:`col_letter` / :func:`col_index` — Excel column letters ↔ 1-based indexes.
- :func:`header_key` — a header cell reduced for matching (no unit suffix, no spaces).
- :func:`combine_header_rows` — labels of a two-row merged header.
- :func:`find_row` — first row (1-based) whose cells contain a label.
- :func:`read_rows` / :func:`read_workbook` — rows of one or all sheets as tuples of values;
  :func:`open_book` / :func:`book_rows` — the same after the checks of :mod:`qlwork.io.guard`
  (file type, size, zip bomb, used range, hidden sheets), reading the file's bytes once.
- :func:`save_deterministic` — save an openpyxl workbook byte-for-byte reproducibly;
  :func:`rows_xml` — fast ``<row>`` XML for big sheets, appended at save time.
"""
from __future__ import annotations

import datetime as _dt
import io
import math
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from openpyxl.utils import column_index_from_string, get_column_letter

__all__ = [
    "MISSING_MARKERS",
    "ParsedNumber",
    "normalize_text",
    "cell_text",
    "is_missing_marker",
    "parse_number",
    "parse_fraction",
    "col_letter",
    "col_index",
    "header_key",
    "combine_header_rows",
    "find_row",
    "read_rows",
    "sheet_names",
    "read_workbook",
    "save_deterministic",
    "rows_xml",
    "FIXED_TIMESTAMP",
    "workbook_file_problem",
    "SheetFacts",
    "sheet_facts",
    "open_book",
    "book_rows",
    "facts_of",
    "split_ref",
]

#: Cell texts that mean "no value" (不适用 / 无数据).  Compared after
#: :func:`normalize_text`, so the full-width forms are covered too.
MISSING_MARKERS = frozenset({
    "", "—", "——", "－", "-", "--", "/", "／", "\\", "无", "空", "暂无", "不适用", "n/a", "na", "N/A", "NA",
    "null", "None", "nan", "NaN", "#N/A", "…", "...", "－－",
})

#: Timestamp written into every workbook qlwork generates (docProps and zip entries).
FIXED_TIMESTAMP = (2025, 12, 31, 0, 0, 0)

_SPACES = re.compile(r"\s+")
# unit suffix in a header: "立案数（件）", "满意率(%)", "比率 [‰]"
_UNIT_SUFFIX = re.compile(r"[（(\[【][^（）()\[\]【】]*[）)\]】]\s*$")


def normalize_text(value: Any) -> str:
    """Text of a cell, NFKC-normalised (full-width digits/letters/punctuation →
    ASCII), stripped, inner whitespace runs collapsed to one space.

    ``None`` becomes ``""``.  Dashes that NFKC keeps (``—``) are left alone so that
    :data:`MISSING_MARKERS` can recognise them.
    """
    if value is None:
        return ""
    s = unicodedata.normalize("NFKC", str(value))
    s = s.replace("\u3000", " ").replace("\xa0", " ")
    return _SPACES.sub(" ", s).strip()


def cell_text(value: Any) -> str:
    """A cell as identifier text: :func:`normalize_text`, but whole floats lose their
    ``.0`` (readers return ``123.0`` for an id typed as the number 123)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return normalize_text(value)


def is_missing_marker(value: Any) -> bool:
    """True for ``None``, NaN, blank text and the markers in :data:`MISSING_MARKERS`."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, (int, float)):
        return False
    return normalize_text(value) in MISSING_MARKERS


@dataclass(frozen=True)
class ParsedNumber:
    """Result of :func:`parse_number`.

    ``status`` is ``"ok"`` (``value`` is a finite float), ``"missing"`` (blank or a
    missing marker; ``value`` is NaN) or ``"non_numeric"`` (text that is not a number,
    e.g. ``"待核实"``; ``value`` is NaN).  ``text`` is set when the cell held text.
    """

    value: float
    status: str
    text: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
_NUM = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_MISSING = ParsedNumber(math.nan, "missing")


def parse_number(value: Any, *, percent_ok: bool = True) -> ParsedNumber:
    """Interpret one cell as a number.

    Accepts numbers, and text numbers after :func:`normalize_text`: full-width
    digits (``"１２"``), thousands separators in groups of three (``"1,234"``; a
    decimal comma ``"1,5"`` is non-numeric), a trailing ``%`` or
    ``‰`` sign when ``percent_ok`` (the number is kept as written: ``"96.5%"`` →
    96.5, because our indicators are recorded in their own unit), surrounding spaces.
    Booleans and dates are non-numeric (a date's text starts with ``"日期 date"``).
    """
    if value is None:
        return _MISSING
    if isinstance(value, bool):
        return ParsedNumber(math.nan, "non_numeric", str(value))
    if isinstance(value, (int, float)):
        v = float(value)
        if math.isnan(v):
            return _MISSING
        if math.isinf(v):
            return ParsedNumber(math.nan, "non_numeric", str(value))
        return ParsedNumber(v, "ok")
    if isinstance(value, (_dt.date, _dt.time, _dt.timedelta)):
        # a cell formatted as a date: Excel shows 2025/3/1 where 45717 was meant, or
        # someone typed a date — never guess the number
        return ParsedNumber(math.nan, "non_numeric", f"日期 date {value.isoformat() if hasattr(value, 'isoformat') else value}")
    text = normalize_text(value)
    if text in MISSING_MARKERS:
        return ParsedNumber(math.nan, "missing", text or None)
    s = text.replace(" ", "")
    if "," in s:
        # thousands separators only in groups of three ("1,234.5"); "1,5" is a decimal
        # comma or a typo and is reported, never read as 15
        if not _THOUSANDS.match(s.rstrip("%‰")):
            return ParsedNumber(math.nan, "non_numeric", text)
        s = s.replace(",", "")
    if percent_ok and s[-1:] in ("%", "‰"):
        s = s[:-1]
    if _NUM.match(s):
        v = float(s)
        if math.isfinite(v):  # "1e400" overflows to inf: not a usable number
            return ParsedNumber(v, "ok", text)
    return ParsedNumber(math.nan, "non_numeric", text)


def parse_fraction(value: Any) -> float | None:
    """An AHP judgment cell → float, or ``None`` when blank/missing/unreadable.

    ``3``, ``"3"``, ``"３"``, ``"1/3"``, ``"１／３"``, ``0.3333`` are accepted.
    Zero, negatives and non-finite values return ``None`` (not a valid ratio).
    """
    if is_missing_marker(value):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        v = float(value)
    else:
        s = normalize_text(value).replace(" ", "").replace("÷", "/")
        if "/" in s:
            a, _, b = s.partition("/")
            pa, pb = parse_number(a, percent_ok=False), parse_number(b, percent_ok=False)
            if not (pa.ok and pb.ok) or pb.value == 0:
                return None
            v = pa.value / pb.value
        else:
            p = parse_number(s, percent_ok=False)
            if not p.ok:
                return None
            v = p.value
    if not math.isfinite(v) or v <= 0:
        return None
    return v


def col_letter(index: int) -> str:
    """1-based column index → Excel letters (1 → "A", 27 → "AA")."""
    return get_column_letter(int(index))


def col_index(letters: str) -> int:
    """Excel column letters → 1-based index ("A" → 1)."""
    return column_index_from_string(letters.upper())


def header_key(value: Any) -> str:
    """A header cell reduced for matching: normalised, unit suffix such as
    ``（人/百人）`` or ``(%)`` removed, all spaces and line breaks removed,
    ASCII letters lower-cased.  ``"党员干部立案处分人数\\n（人/百人）"`` →
    ``"党员干部立案处分人数"``."""
    s = normalize_text(value)
    prev = None
    while prev != s:  # strip repeated suffixes "名称（%）（2025）"
        prev = s
        s = _UNIT_SUFFIX.sub("", s).strip()
    s = s.replace(" ", "").replace('"', "").replace("“", "").replace("”", "")
    return s.lower()


def combine_header_rows(rows: Sequence[Sequence[Any]], *, sep: str = " / ") -> list[str]:
    """Labels for a header spread over several rows with merged cells.

    Merged cells are read as a value in their first cell and blanks elsewhere, so
    the upper row is forward-filled to the right (a group title spans its columns)
    but only while the lower row has content; then each column's non-blank parts
    are joined top to bottom.  A label that only exists in the top row (merged
    vertically, e.g. "单位编码") is kept as is.

    >>> combine_header_rows([["单位编码", "干部清正", None], [None, "立案数", "函询数"]])
    ['单位编码', '干部清正 / 立案数', '干部清正 / 函询数']
    """
    if not rows:
        return []
    width = max(len(r) for r in rows)
    grid = [[normalize_text(r[i]) if i < len(r) else "" for i in range(width)] for r in rows]
    for level in range(len(grid) - 1):
        last = ""
        for i in range(width):
            if grid[level][i]:
                last = grid[level][i]
            elif last and any(grid[k][i] for k in range(level + 1, len(grid))):
                grid[level][i] = last
            else:
                last = ""
    out = []
    for i in range(width):
        parts = [grid[k][i] for k in range(len(grid)) if grid[k][i]]
        dedup = [p for j, p in enumerate(parts) if j == 0 or p != parts[j - 1]]
        out.append(sep.join(dedup))
    return out


def find_row(rows: Sequence[Sequence[Any]], labels: Iterable[str], *, max_rows: int = 20) -> int | None:
    """1-based number of the first row (within ``max_rows``) that has a cell whose
    :func:`header_key` equals one of ``labels`` (compared with :func:`header_key` too)."""
    keys = {header_key(x) for x in labels}
    for r, row in enumerate(rows[:max_rows], start=1):
        for v in row:
            if v is not None and header_key(v) in keys:
                return r
    return None


def _calamine():
    try:
        from python_calamine import CalamineWorkbook
    except ImportError:  # pragma: no cover - optional fast path
        return None
    return CalamineWorkbook


def _clean_row(row) -> tuple:
    # calamine reads blank cells as "" — make them None like openpyxl
    return tuple(None if v == "" else v for v in row)


def open_book(path: str | Path | bytes, label: str | None = None, *, root: str | Path | None = None,
              limits=None, facts: bool = True):
    """Check a workbook with :func:`qlwork.io.guard.inspect_xlsx` (file type, size, zip
    structure, used range of every sheet, hidden sheets) → :class:`~qlwork.io.guard.XlsxInfo`.
    Never raises for a bad file; read its sheets with :func:`book_rows`."""
    from .guard import DEFAULT_LIMITS, inspect_xlsx

    return inspect_xlsx(path, label, root=root, limits=limits or DEFAULT_LIMITS, facts=facts)


def book_rows(book, sheets: Iterable[str] | None = None) -> dict[str, list[tuple]]:
    """Rows of checked sheets of ``book`` (default: every readable sheet — visible and within
    the used-range limit), with the conventions of :func:`read_rows`.  Raises
    :class:`QlworkError` when the file itself was refused or a sheet asked for is not readable."""
    from ..errors import Problem, QlworkError

    if book.errors:
        raise QlworkError(list(book.errors))
    ok = book.readable()
    names = ok if sheets is None else list(sheets)
    for n in names:
        if n not in ok:
            bad = [p for p in book.sheet_errors if p.sheet == n] or [Problem(
                "hidden_sheet" if book.sheet(n) is not None else "missing_sheet",
                f"工作表“{n}”{'是隐藏的，未读取' if book.sheet(n) is not None else '不存在'}",
                f"sheet {n!r} is {'hidden; not read' if book.sheet(n) is not None else 'missing'}",
                file=book.label, sheet=n)]
            raise QlworkError(bad)
    cw = _calamine()
    if cw is not None:
        wb = cw.from_filelike(io.BytesIO(book.data))
        try:
            return {n: [_clean_row(r) for r in wb.get_sheet_by_name(n).to_python(skip_empty_area=False)]
                    for n in names}
        finally:
            wb.close()
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(book.data), read_only=True, data_only=True)
    try:
        out = {}
        for n in names:
            ws = wb[n]
            ws.reset_dimensions()
            out[n] = [tuple(r) for r in ws.iter_rows(min_row=1, values_only=True)]
        return out
    finally:
        wb.close()


def sheet_names(path: str | Path, *, hidden: bool = True) -> list[str]:
    """Sheet names of a workbook without loading its cells (``hidden=False``: visible ones only)."""
    from ..errors import QlworkError

    book = open_book(path, facts=False)
    if book.errors:
        raise QlworkError(list(book.errors))
    return [s.name for s in book.sheets if hidden or not s.hidden]


def read_workbook(path: str | Path, sheets: Iterable[str] | None = None) -> dict[str, list[tuple]]:
    """Rows of several sheets at once (every readable sheet when ``sheets`` is None — hidden
    sheets and sheets over the used-range limit are left out): ``{sheet name: rows}`` with
    the same row convention as :func:`read_rows`.

    The file is checked first (:func:`open_book`); then read with python-calamine (a Rust
    reader, ~100× faster than openpyxl on big sheets) when installed, else openpyxl in
    read-only mode.  Numbers may come back as floats (``3.0``), blanks as ``None``,
    formulas as their cached value.  A refused file raises :class:`QlworkError`.
    """
    return book_rows(open_book(path, facts=False), sheets)


def read_rows(path: str | Path, sheet: str | None = None) -> list[tuple]:
    """All rows of a sheet (first readable sheet when ``sheet`` is None) as tuples of cell
    values; row ``i`` of the list is Excel row ``i + 1`` (leading blank rows are
    kept), blank cells are ``None`` and merged cells are blank except their
    top-left cell.  Rows may have different lengths."""
    from ..errors import Problem, QlworkError

    book = open_book(path, facts=False)
    if sheet is None:
        if book.errors:
            raise QlworkError(list(book.errors))
        ok = book.readable()
        if not ok:
            raise QlworkError(list(book.sheet_errors) or [Problem(
                "no_sheet", "工作簿中没有可读取的工作表", "no readable sheet in the workbook", file=book.label)])
        sheet = ok[0]
    return book_rows(book, [sheet])[sheet]


_CORE_DATE = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")


def _xml_escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def rows_xml(rows: Iterable[Sequence[Any]], first_row: int) -> str:
    """SpreadsheetML ``<row>`` elements for plain values (numbers, text, None),
    starting at Excel row ``first_row``: the fast path for writing big sheets
    (openpyxl spends ~20 µs per cell; this ~1 µs).  Text is written as inline
    strings, like openpyxl's write-only mode.  Insert the result into a sheet with
    ``save_deterministic(..., append_rows={sheet_title: xml})``."""
    out = []
    r = first_row
    letters = [col_letter(i) for i in range(1, 200)]
    for row in rows:
        cells = []
        for j, v in enumerate(row):
            if v is None:
                continue
            ref = f"{letters[j]}{r}"
            if isinstance(v, bool):
                cells.append(f'<c r="{ref}" t="b"><v>{int(v)}</v></c>')
            elif isinstance(v, (int, float)):
                if isinstance(v, float) and not math.isfinite(v):
                    continue
                cells.append(f'<c r="{ref}" t="n"><v>{v!r}</v></c>')
            else:
                from .safe import excel_value

                t = _xml_escape(excel_value(str(v)))  # no XML-illegal control characters, ≤ 32,767
                sp = ' xml:space="preserve"' if t != t.strip() else ""
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t{sp}>{t}</t></is></c>')
        out.append(f'<row r="{r}">' + "".join(cells) + "</row>")
        r += 1
    return "".join(out)


def save_deterministic(wb, path: str | Path, *, timestamp: tuple = FIXED_TIMESTAMP,
                       append_rows: dict[str, str] | None = None, allow_formulas: bool = False) -> Path:
    """Save an openpyxl workbook so that the same content gives the same bytes.

    openpyxl stamps the current time into ``docProps/core.xml`` and into every zip
    entry; both are replaced by ``timestamp``.  ``append_rows`` maps sheet titles
    to ``<row>`` XML (from :func:`rows_xml`) appended to that sheet's data.  The
    file is written atomically (:func:`qlwork.io.safe.atomic_path`) and formula-safe
    (:func:`qlwork.io.safe.harden_workbook`) unless ``allow_formulas``.
    """
    from .safe import atomic_path, harden_workbook

    if not allow_formulas:  # only the bad-input corpus writes a formula, to test the readers
        harden_workbook(wb)  # every cell and sheet title formula-safe (rows_xml rows are inline text)
    extra = {}
    for i, ws in enumerate(wb.worksheets, start=1):
        if append_rows and ws.title in append_rows:
            extra[f"xl/worksheets/sheet{i}.xml"] = append_rows[ws.title]
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    iso = "%04d-%02d-%02dT%02d:%02d:%02dZ" % timestamp
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = _CORE_DATE.sub(lambda m: m.group(1) + iso.encode() + m.group(3), data)
            elif info.filename in extra:
                xml = extra[info.filename].encode("utf-8")
                if b"</sheetData>" in data:
                    data = data.replace(b"</sheetData>", xml + b"</sheetData>", 1)
                else:  # an empty sheet is written as <sheetData/>
                    data = data.replace(b"<sheetData/>", b"<sheetData>" + xml + b"</sheetData>", 1)
            zi = zipfile.ZipInfo(info.filename, date_time=timestamp)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            zout.writestr(zi, data)
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_bytes(out.getvalue())
    return path


# ------------------------------------------------------------- file sniffing
def workbook_file_problem(path: str | Path, label: str | None = None, *, root: str | Path | None = None):
    """The first located :class:`~qlwork.errors.Problem` that stops ``path`` from being read
    as an .xlsx workbook, else ``None`` (see :func:`qlwork.io.guard.inspect_xlsx`: not a
    regular file, .xls, encrypted, not a zip, no xl/workbook.xml, too large, zip bomb …).
    Looks only at the bytes, never runs anything."""
    book = open_book(path, label, root=root, facts=False)
    return book.errors[0] if book.errors else None


@dataclass(frozen=True)
class SheetFacts:
    """What the cell values alone do not show (read from the sheet XML).

    ``merged`` — merged ranges (``"D5:D6"``); ``formulas`` — cells holding a formula
    (their cached value is what readers return; formulas are never evaluated);
    ``formulas_no_value`` — formula cells saved without a cached value (e.g. written
    by a script and never opened in Excel): readers see them as blank.
    """

    merged: tuple = ()
    formulas: tuple = ()
    formulas_no_value: tuple = ()


def facts_of(book) -> dict[str, SheetFacts]:
    """{sheet name: :class:`SheetFacts`} of a checked workbook (:func:`open_book`)."""
    return {s.name: SheetFacts(s.merged, s.formulas, s.formulas_no_value) for s in book.sheets}


def sheet_facts(path: str | Path) -> dict[str, SheetFacts]:
    """{sheet name: :class:`SheetFacts`} from the workbook's XML (no cell values parsed;
    plain text search, so a big sheet costs one pass over its bytes)."""
    from ..errors import QlworkError

    book = open_book(path)
    if book.errors:
        raise QlworkError(list(book.errors))
    return facts_of(book)


def split_ref(ref: str) -> tuple[str, int]:
    """``"D12"`` → ``("D", 12)``."""
    m = re.match(r"([A-Za-z]+)(\d+)", ref)
    return (m.group(1).upper(), int(m.group(2))) if m else ("", 0)
