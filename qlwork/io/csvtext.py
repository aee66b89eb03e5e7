"""Text tables from the raw folder (survey files, margins, user-given CSV): one way to read them.

A CSV is read only as a regular file within the size limit (:mod:`qlwork.io.guard`);
its encoding is detected and named (UTF-8 with or without BOM, GBK, GB18030 — what
Excel on a Chinese Windows saves), UTF-16 and files that mix UTF-8 and GBK lines are
reported with line numbers, NUL bytes are reported, and pandas never shifts a row's
fields into an index or drops them silently.  Every refusal is a located, bilingual
:class:`~qlwork.errors.Problem`.
"""
from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd

from ..errors import Problem, QlworkError

__all__ = ["detect_encoding", "read_text", "read_csv_table"]


def detect_encoding(raw: bytes, file: str | None = None) -> str:
    """Name the encoding of a CSV file: ``utf-8-sig`` (BOM), ``utf-8``, ``gbk`` or ``gb18030``.
    UTF-16 ("Unicode text" from Excel) is reported, not guessed; so is a file whose lines
    mix UTF-8 and GBK (pasted together from two sources), with the line numbers."""
    if raw.startswith(b"\xef\xbb\xbf"):
        enc = "utf-8-sig"
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise QlworkError(Problem("bad_encoding", "文件是 UTF-16 编码（Excel“Unicode 文本”），请另存为“CSV UTF-8”",
                                  "the file is UTF-16 (Excel 'Unicode text'); save it as CSV UTF-8", file=file,
                                  found="UTF-16", expected="UTF-8、GBK 或 GB18030"))
    else:
        enc = None
    try:
        raw.decode(enc or "utf-8")
        return enc or "utf-8"
    except UnicodeDecodeError:
        pass
    mixed = _mixed_lines(raw)
    if mixed:
        bad, good = mixed
        raise QlworkError(Problem(
            "mixed_encoding", f"文件中多数行是 UTF-8 编码，但第 {'、'.join(map(str, bad[:10]))} 行不是（可能是从 GBK 文件粘贴而来），"
            "无法可靠读取；请统一另存为“CSV UTF-8”", f"most lines are UTF-8 but line(s) {bad[:10]} are not (pasted from a "
            "GBK file?); save the whole file as CSV UTF-8", file=file, row=bad[0],
            found=f"{len(bad)} 行非 UTF-8 lines not UTF-8, {good} 行 UTF-8", expected="统一的 UTF-8 编码 one encoding"))
    if enc is None:
        for e in ("gbk", "gb18030"):
            try:
                raw.decode(e)
                return e
            except UnicodeDecodeError:
                continue
    raise QlworkError(Problem("bad_encoding", "无法识别文件编码（应为 UTF-8、GBK 或 GB18030）",
                              "cannot detect the encoding (expected UTF-8, GBK or GB18030)", file=file,
                              found="未知编码 unknown encoding", expected="UTF-8、GBK 或 GB18030"))


def _mixed_lines(raw: bytes) -> tuple[list[int], int] | None:
    """(line numbers that are not UTF-8, number of non-ASCII lines that are) when both kinds
    occur — a file that is neither one encoding nor the other."""
    bad, good = [], 0
    for i, line in enumerate(raw.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            good += 1
        except UnicodeDecodeError:
            bad.append(i)
    return (bad, good) if bad and good else None


def read_text(path: str | Path, *, label: str | None = None, root: str | Path | None = None) -> tuple[str, str]:
    """(text, encoding) of a CSV file in the raw folder: a regular file within the size limit
    (:func:`qlwork.io.guard.read_input_bytes`), no NUL bytes, one detected encoding."""
    from .guard import DEFAULT_LIMITS, read_input_bytes

    label = label or str(path)
    raw = read_input_bytes(path, root=root, label=label, max_bytes=DEFAULT_LIMITS.max_csv_bytes)
    if not raw.startswith((b"\xff\xfe", b"\xfe\xff")) and b"\x00" in raw:
        pos = raw.index(b"\x00")
        line = raw.count(b"\n", 0, pos) + 1
        raise QlworkError(Problem("nul_bytes", f"文件第 {line} 行含空字符（NUL，0x00），不是文本文件或已损坏，未读取",
                                  f"line {line} holds NUL bytes (0x00): not a text file, or damaged; not read",
                                  file=label, row=line, found="0x00", expected="CSV 文本 CSV text"))
    enc = detect_encoding(raw, label)
    return raw.decode(enc), enc


def _field_count_mismatch(text: str) -> tuple[int | None, int, int]:
    """(line, fields, header fields) of the first row with more fields than the header (slow
    path, only after pandas warned)."""
    import csv

    rows = csv.reader(io.StringIO(text, newline=""))
    want = 0
    try:
        want = len(next(rows, []))
        for row in rows:
            if len(row) > want:
                return rows.line_num, len(row), want
    except csv.Error:
        pass
    return None, 0, want


def read_csv_table(path: str | Path, *, label: str | None = None, root: str | Path | None = None,
                   **kw) -> tuple[pd.DataFrame, str]:
    """A CSV file as a table of text (``read_text`` + pandas), with located messages for an
    empty file or a broken row (unbalanced quotes, wrong number of fields)."""
    label = label or str(path)
    text, enc = read_text(path, label=label, root=root)
    if not text.strip():
        raise QlworkError(Problem("empty_file", "文件是空的，未读取", "the file is empty; not read", file=label,
                                  expected="表头行和数据行 a header row and data rows"))
    import warnings

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            # index_col=False: a first row with extra fields must not silently become the index (shifting columns)
            df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""], index_col=False, **kw)
        if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
            line, n, want = _field_count_mismatch(text)
            raise QlworkError(Problem(
                "bad_csv", f"CSV 第 {line} 行有 {n} 列，而表头有 {want} 列（多出的列会被错位或丢弃），未读取",
                f"line {line} has {n} fields but the header has {want} (extra fields would shift or be lost); not read",
                file=label, row=line, found=f"{n} 列 fields", expected=f"{want} 列 fields"))
    except QlworkError:
        raise
    except pd.errors.EmptyDataError:
        raise QlworkError(Problem("empty_file", "文件是空的，未读取", "the file is empty; not read", file=label)) from None
    except (pd.errors.ParserError, ValueError, OverflowError) as e:
        m = re.search(r"line (\d+)", str(e))
        raise QlworkError(Problem(
            "bad_csv", "CSV 格式错误（引号不成对或某行的列数与表头不同），未读取", f"malformed CSV (unbalanced quotes or a "
            f"row with another number of fields than the header); not read: {str(e)[:120]}", file=label,
            row=int(m.group(1)) if m else None, found=str(e)[:80], expected="每行列数与表头相同 as many fields as the header")) from None
    return df, enc
