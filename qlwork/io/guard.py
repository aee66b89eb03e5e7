"""What qlwork reads, and how much of it: file type, size and structure limits (issue 17).

Every reader of the raw folder opens its files through :func:`read_input_bytes` and, for
workbooks, :func:`inspect_xlsx`.  Each refusal is a located, bilingual
:class:`~qlwork.errors.Problem`; nothing is ever opened that could hang or exhaust memory:

- **file type** — only regular files are read (a named pipe, a device such as
  ``/dev/zero``, a socket or a folder named like a file is reported, never opened for
  reading); a symbolic link is followed only when its target lies inside the raw folder;
  a FIFO is opened non-blocking and checked with ``fstat`` on the open descriptor, so a
  swap after the check cannot slip one in;
- **size** — a file larger than :attr:`Limits.max_file_bytes` is not read;
- **workbooks** (.xlsx is a zip of XML) — the sum of the members' unpacked sizes is
  bounded (:attr:`Limits.max_unpacked_bytes`), a member that unpacks more than
  :attr:`Limits.max_ratio` times its packed size is a *zip bomb*, every member qlwork
  reads is decompressed by Python's ``zipfile`` with its declared size as a hard cap and
  its CRC checked (a member that lies about its size is refused before the fast
  reader sees it), XML with a DTD (entity expansion) is refused, and the **used range**
  of every sheet is measured from the cell positions themselves before the sheet is
  loaded: the readers materialise ``rows × columns`` cells, so one value in XFD1048576
  would mean 17 billion cells; a sheet over :attr:`Limits.max_cells` is reported and
  not read.  Hidden and very-hidden sheets are not read (reported as a warning), nor
  are values of linked workbooks trusted silently (warning).

The bounds are generous for real data (the province demo's largest sheet is 33,000 rows
× 9 columns) and are parameters (:class:`Limits`), never hidden state.
"""
from __future__ import annotations

import io
import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import Problem, QlworkError

__all__ = ["Limits", "DEFAULT_LIMITS", "read_input_bytes", "input_file_problem", "SheetInfo", "XlsxInfo",
           "inspect_xlsx", "used_range", "raw_label"]


def raw_label(path: Path, root: Path, default: str | None = None) -> str:
    """How a message names an input: its path as written under the raw folder
    (``departments/2025-03/x.xlsx``), not a link target's — neither the file's nor a linked
    folder's; ``default`` (else the path as given) when it is not under ``root`` at all."""
    try:
        return Path(os.path.abspath(path)).relative_to(os.path.abspath(root)).as_posix()
    except ValueError:
        pass
    for cand in (path.parent.resolve() / path.name, path.resolve()):
        try:
            return cand.relative_to(Path(root).resolve()).as_posix()
        except ValueError:
            continue
    return str(path) if default is None else default


@dataclass(frozen=True)
class Limits:
    """Resource bounds of the readers (defaults fit a province with room to spare)."""

    max_file_bytes: int = 512 << 20        # one input file as stored
    max_csv_bytes: int = 2 << 30           # survey / margins CSV
    max_yaml_bytes: int = 4 << 20          # framework, items, spec YAML
    max_unpacked_bytes: int = 1 << 30      # sum of a workbook's unpacked members
    max_member_bytes: int = 512 << 20      # one unpacked member (a sheet's XML)
    max_ratio: float = 100.0               # unpacked / packed of a member above ratio_floor
    ratio_floor: int = 16 << 20            # members smaller than this are not ratio-checked
    max_members: int = 10_000              # entries of the zip
    max_sheets: int = 500
    max_cells: int = 1 << 25               # rows × columns of one sheet's used range (33.5 M)
    max_yaml_depth: int = 50
    max_yaml_nodes: int = 200_000          # YAML nodes after expanding anchors/aliases
    max_id_chars: int = 64
    max_text_chars: int = 200


DEFAULT_LIMITS = Limits()


def _mb(n: float) -> str:
    return f"{n / (1 << 20):,.1f} MB"


# ----------------------------------------------------------------------- file type
def _kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "文件夹 folder"
    if stat.S_ISFIFO(mode):
        return "命名管道 named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "设备文件 device"
    if stat.S_ISSOCK(mode):
        return "套接字 socket"
    return "特殊文件 special file"


def _type_problem(label: str, found: str) -> Problem:
    return Problem("not_regular_file", f"这不是普通文件（{found.split(' ')[0]}），未读取；请放入真正的数据文件",
                   f"not a regular file ({found.split(' ', 1)[-1]}); not read — put the real data file here",
                   file=label, found=found, expected="普通文件 a regular file")


def _within(p: Path, base: Path) -> bool:
    return p == base or base in p.parents


def _outside(label: str, target: Path, base: Path) -> Problem:
    return Problem("outside_raw", "这是指向原始数据文件夹之外的符号链接（文件或其所在文件夹），未读取",
                   "a symbolic link (the file or a folder on its path) to a file outside the raw-data folder; not read",
                   file=label, found=str(target), expected=f"{base} 之内的文件 a file inside the raw folder")


def input_file_problem(path: str | os.PathLike, *, root: str | os.PathLike | None = None,
                       label: str | None = None) -> Problem | None:
    """A located problem when ``path`` must not be read: missing, not a regular file, or a
    link — the file or a folder on its way below ``root`` — whose target lies outside ``root``
    (the raw folder).  Looks only at metadata."""
    path = Path(path)
    label = label or str(path)
    try:
        lst = os.lstat(path)
    except FileNotFoundError:
        return Problem("file_not_found", "找不到文件", "file not found", file=label, expected=str(path))
    except OSError as e:
        return Problem("unreadable_file", "无法访问文件", f"cannot access the file: {e.strerror or e}", file=label)
    if stat.S_ISLNK(lst.st_mode):
        try:
            target = path.resolve(strict=True)
        except (OSError, RuntimeError):
            return Problem("broken_link", "这是一个失效的符号链接（目标不存在或循环），未读取",
                           "a broken or looping symbolic link; not read", file=label, found=os.readlink(path),
                           expected="存在的普通文件 an existing regular file")
        if root is not None and not _within(target, Path(root).resolve()):
            return _outside(label, target, Path(root).resolve())
        mode = os.stat(target).st_mode
    else:
        mode = lst.st_mode
        if root is not None:
            # a linked *folder* on the way (departments/2025-03 → /elsewhere) leads out of the raw
            # folder just as a linked file does; only paths written under root are checked
            base, lexical = Path(root).resolve(), Path(os.path.abspath(path))
            if _within(lexical, Path(os.path.abspath(root))) or _within(lexical, base):
                try:
                    target = path.resolve(strict=True)
                except (OSError, RuntimeError):
                    target = None
                if target is not None and not _within(target, base):
                    return _outside(label, target, base)
    if not stat.S_ISREG(mode):
        return _type_problem(label, _kind_of(mode))
    return None


def read_input_bytes(path: str | os.PathLike, *, root: str | os.PathLike | None = None, label: str | None = None,
                     max_bytes: int = DEFAULT_LIMITS.max_file_bytes) -> bytes:
    """The bytes of one input file, or a :class:`QlworkError` with a located problem: not a
    regular file (checked before opening and again on the open descriptor), a link out of
    ``root``, larger than ``max_bytes``, or unreadable."""
    path = Path(path)
    label = label or str(path)
    bad = input_file_problem(path, root=root, label=label)
    if bad is not None:
        raise QlworkError(bad)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        raise QlworkError(Problem("unreadable_file", "无法打开文件", f"cannot open the file: {e.strerror or e}",
                                  file=label)) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # swapped for a pipe or device after the check
            raise QlworkError(_type_problem(label, _kind_of(st.st_mode)))
        if st.st_size > max_bytes:
            raise QlworkError(Problem(
                "file_too_large", f"文件过大（{_mb(st.st_size)}，上限 {_mb(max_bytes)}），未读取",
                f"file too large ({_mb(st.st_size)}; limit {_mb(max_bytes)}); not read", file=label,
                found=_mb(st.st_size), expected=f"≤ {_mb(max_bytes)}"))
        chunks, total = [], 0
        while True:
            b = os.read(fd, 1 << 20)
            if not b:
                break
            total += len(b)
            if total > max_bytes:  # grew while being read
                raise QlworkError(Problem("file_too_large", f"文件过大（上限 {_mb(max_bytes)}），未读取",
                                          f"file too large (limit {_mb(max_bytes)}); not read", file=label,
                                          expected=f"≤ {_mb(max_bytes)}"))
            chunks.append(b)
        return b"".join(chunks)
    except OSError as e:
        raise QlworkError(Problem("unreadable_file", "读取文件时出错", f"error reading the file: {e.strerror or e}",
                                  file=label)) from None
    finally:
        os.close(fd)


# ----------------------------------------------------------------------- workbooks
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SHEET = re.compile(rb"<(?:\w+:)?sheet\b([^>]*)>")
_ATTR = re.compile(rb'([\w:]+)\s*=\s*"([^"]*)"')
_REL = re.compile(rb"<(?:\w+:)?Relationship\b[^>]*>")
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*\bref="([^"]+)"')
_FCELL = re.compile(rb'<(?:\w+:)?c\b([^>]*)>((?:(?!</(?:\w+:)?c>).)*?<(?:\w+:)?f\b.*?)</(?:\w+:)?c>', re.S)
_HAS_V = re.compile(rb'<(?:\w+:)?v>[^<]+</(?:\w+:)?v>|<(?:\w+:)?is>')
_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c)(?=[\s/>])([^>]*)>")
_REF = re.compile(rb"([A-Za-z]{1,4})?(\d+)?$")
# a cell without a position, beyond column Z or row 999,999 / a row without a number below 1,000,000
_ODD_CELL = re.compile(rb'<c(?! r="[A-Z]\d{1,6}")[\s>/]')
_ODD_ROW = re.compile(rb'<row(?! r="\d{1,6}")[\s>/]')


@dataclass(frozen=True)
class SheetInfo:
    """One sheet as the workbook declares it, with what its XML shows.

    ``rows``/``cols``: extent of the used range (an upper bound; exact when the sheet is
    wide or tall); ``merged``, ``formulas``, ``formulas_no_value`` as
    :class:`qlwork.io.excel.SheetFacts`."""

    name: str
    state: str = "visible"  # visible | hidden | veryHidden
    target: str = ""
    rows: int = 0
    cols: int = 0
    merged: tuple = ()
    formulas: tuple = ()
    formulas_no_value: tuple = ()

    @property
    def hidden(self) -> bool:
        return self.state != "visible"

    @property
    def cells(self) -> int:
        return self.rows * self.cols


@dataclass(frozen=True)
class XlsxInfo:
    """A checked workbook: its bytes (read once), sheets, and the problems found.

    ``errors`` block the whole file; ``sheet_errors`` name sheets that are not read (used
    range too large); ``notes`` are warnings (hidden sheets, external links)."""

    data: bytes
    label: str
    sheets: tuple[SheetInfo, ...] = ()
    errors: tuple[Problem, ...] = ()
    sheet_errors: tuple[Problem, ...] = ()
    notes: tuple[Problem, ...] = ()
    external_links: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.errors

    def readable(self) -> list[str]:
        """Names of the visible sheets whose used range is within the limits, in workbook order."""
        bad = {p.sheet for p in self.sheet_errors}
        return [s.name for s in self.sheets if not s.hidden and s.name not in bad]

    def sheet(self, name: str) -> SheetInfo | None:
        return next((s for s in self.sheets if s.name == name), None)


def _letters(n: int) -> str:
    """1-based column number → Excel letters (28 → "AB")."""
    out = ""
    while n > 0:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out or "A"


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n


def used_range(xml: bytes, max_cells: int | None = None) -> tuple[int, int]:
    """(rows, columns) from row 1 / column A to the farthest cell in a sheet's XML — the
    extent a reader materialises.  Cells and rows without a position attribute are placed
    after the previous one, as readers do.  Two regular-expression searches prove most
    sheets small — every position explicit, no column beyond Z, no row number of seven
    digits, so at most 26 × 999,999 cells — and return (last row, 26); when that bound could
    exceed ``max_cells``, or the sheet is wide, tall or unusual, every row and cell tag is
    walked for the exact extent."""
    odd = (_ODD_CELL.search(xml) or _ODD_ROW.search(xml) or b":c " in xml or b":c>" in xml
           or b":row " in xml or b":row>" in xml)
    if not odd:
        # every cell at an explicit position in columns A–Z, every row numbered below 1,000,000:
        # at most 26 × 999,999 cells; the last row tag gives the extent of an ordered sheet
        last = xml.rfind(b'<row r="')
        rows = int(xml[last + 8:xml.index(b'"', last + 8)]) if last >= 0 else 0
        cols = 26 if b"<c " in xml else 0
        if max_cells is None or 999_999 * cols <= max_cells:
            return rows, cols
    max_r = max_c = row = col = 0
    for m in _TAG.finditer(xml):
        attrs = dict(_ATTR.findall(m.group(2)))
        r = attrs.get(b"r")
        if m.group(1) == b"row":
            row = int(r) if r and r.isdigit() else row + 1
            col = 0
        else:
            ref = _REF.match(r.strip()) if r else None
            if ref and ref.group(1):
                col = _col_number(ref.group(1))
                if ref.group(2):
                    row = int(ref.group(2))
            else:
                col += 1
            max_c = max(max_c, col)
        max_r = max(max_r, row)
    return max_r, max_c


def _problem(code: str, zh: str, en: str, label: str, **kw) -> Problem:
    return Problem(code, zh, en, file=label, **kw)


def _read_member(z: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits, label: str) -> bytes:
    """One member, decompressed with its declared size as a hard cap (zipfile stops there and
    checks the CRC, so a member that unpacks to more than it declares is refused)."""
    with z.open(info) as fh:
        data = fh.read(limits.max_member_bytes + 1)
    if len(data) > limits.max_member_bytes:
        raise QlworkError(_problem("zip_bomb", "工作簿内部文件解压后过大，未读取（疑似压缩炸弹）",
                                   "a part of the workbook unpacks beyond the limit; not read (zip bomb?)", label,
                                   found=info.filename, expected=f"≤ {_mb(limits.max_member_bytes)}"))
    head = data[:2048]
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        raise QlworkError(_problem("xml_dtd", "工作簿的 XML 含 DTD/实体定义（Excel 从不写入，可能是实体膨胀攻击），未读取",
                                   "workbook XML declares a DTD/entities (never written by Excel; entity "
                                   "expansion?); not read", label, found=info.filename,
                                   expected="Excel 保存的 .xlsx a workbook saved by Excel"))
    return data


def inspect_xlsx(source: str | os.PathLike | bytes, label: str | None = None, *,
                 root: str | os.PathLike | None = None, limits: Limits = DEFAULT_LIMITS,
                 facts: bool = True) -> XlsxInfo:
    """Check a workbook before anything parses it (see the module docstring).

    ``source`` is a path (read with :func:`read_input_bytes`) or the file's bytes.  Never
    raises for a bad file: problems are returned in :class:`XlsxInfo`."""
    if isinstance(source, (bytes, bytearray)):
        data, label = bytes(source), label or "workbook"
        suffix = Path(label).suffix.lower()
    else:
        path = Path(source)
        label = label or str(path)
        suffix = path.suffix.lower()
        try:
            data = read_input_bytes(path, root=root, label=label, max_bytes=limits.max_file_bytes)
        except QlworkError as e:
            return XlsxInfo(b"", label, errors=tuple(e.problems))
    try:
        return _inspect(data, label, suffix, limits, facts)
    except QlworkError as e:
        return XlsxInfo(data, label, errors=tuple(e.problems))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, KeyError,
            NotImplementedError, RuntimeError) as e:  # corrupt members, unsupported compression, bad CRC
        return XlsxInfo(data, label, errors=(_problem(
            "unreadable_file", "工作簿已损坏（压缩包内容与其目录不符或无法解压），未读取",
            f"the workbook is corrupt (zip contents do not match their directory or cannot be unpacked): "
            f"{type(e).__name__}", label, found=str(e)[:80], expected=".xlsx 工作簿 an .xlsx workbook"),))


def _inspect(data: bytes, label: str, suffix: str, limits: Limits, want_facts: bool) -> XlsxInfo:
    head = data[:8]
    if head.startswith(_OLE_MAGIC):
        if suffix == ".xls":
            raise QlworkError(_problem(
                "xls_format", "这是旧版 Excel 97–2003（.xls）文件，请在 Excel 中另存为 .xlsx 后再提交",
                "old .xls (Excel 97-2003) format; please save as .xlsx", label, found=".xls",
                expected=".xlsx 工作簿 an .xlsx workbook"))
        raise QlworkError(_problem(
            "encrypted_file", "工作簿设置了打开密码（已加密），无法读取，请取消密码后另存为 .xlsx",
            "workbook is password-protected (encrypted); remove the password and save as .xlsx", label,
            found="加密文件 encrypted (OLE container)", expected="未加密的 .xlsx unencrypted .xlsx"))
    bio = io.BytesIO(data)
    if not zipfile.is_zipfile(bio):
        kind = "空文件 empty file" if not head else f"文件头 {head[:4]!r}"
        raise QlworkError(_problem(
            "unreadable_file", "不是有效的 xlsx 工作簿（文件损坏、不完整或扩展名不对），无法读取",
            "not a valid .xlsx workbook (corrupt, truncated or renamed); not read", label, found=kind,
            expected=".xlsx 工作簿 an .xlsx workbook"))
    z = zipfile.ZipFile(bio)
    infos = z.infolist()
    names = {i.filename: i for i in infos}
    if "xl/workbook.xml" not in names:
        raise QlworkError(_problem(
            "unreadable_file", "压缩包中没有工作簿内容（xl/workbook.xml），文件已损坏或不是 Excel 文件",
            "zip file without xl/workbook.xml: corrupt or not an Excel file", label,
            found="zip 压缩包 a zip archive", expected=".xlsx 工作簿 an .xlsx workbook"))
    if len(infos) > limits.max_members:
        raise QlworkError(_problem("too_many_parts", f"工作簿内部文件过多（{len(infos)} 个），未读取",
                                   f"the workbook has too many parts ({len(infos)}); not read", label,
                                   found=len(infos), expected=f"≤ {limits.max_members}"))
    total = sum(i.file_size for i in infos)
    if total > limits.max_unpacked_bytes:
        raise QlworkError(_problem(
            "zip_bomb", f"工作簿解压后过大（{_mb(total)}，上限 {_mb(limits.max_unpacked_bytes)}），未读取",
            f"the workbook unpacks to {_mb(total)} (limit {_mb(limits.max_unpacked_bytes)}); not read", label,
            found=_mb(total), expected=f"≤ {_mb(limits.max_unpacked_bytes)}"))
    for i in infos:
        if i.file_size > limits.ratio_floor and i.file_size > limits.max_ratio * max(i.compress_size, 1):
            raise QlworkError(_problem(
                "zip_bomb", f"工作簿内部文件 {i.filename} 的压缩比异常（{i.file_size / max(i.compress_size, 1):,.0f} 倍），"
                "疑似压缩炸弹，未读取", f"part {i.filename} unpacks {i.file_size / max(i.compress_size, 1):,.0f}× "
                "its packed size (zip bomb?); not read", label, found=f"{_mb(i.compress_size)} → {_mb(i.file_size)}",
                expected=f"≤ {limits.max_ratio:g} 倍 times"))
    wbx = _read_member(z, names["xl/workbook.xml"], limits, label)
    rels: dict[bytes, str] = {}
    if "xl/_rels/workbook.xml.rels" in names:
        for m in _REL.finditer(_read_member(z, names["xl/_rels/workbook.xml.rels"], limits, label)):
            a = dict(_ATTR.findall(m.group(0)))
            rels[a.get(b"Id", b"")] = a.get(b"Target", b"").decode("utf-8", "replace")
    for extra in ("xl/sharedStrings.xml", "xl/styles.xml"):
        if extra in names:  # read by the fast reader: same caps and CRC check here first
            _read_member(z, names[extra], limits, label)
    import html

    sheets: list[SheetInfo] = []
    sheet_errors: list[Problem] = []
    notes: list[Problem] = []
    tags = _SHEET.findall(wbx)
    if len(tags) > limits.max_sheets:
        raise QlworkError(_problem("too_many_sheets", f"工作簿的工作表过多（{len(tags)} 张），未读取",
                                   f"the workbook has too many sheets ({len(tags)}); not read", label,
                                   found=len(tags), expected=f"≤ {limits.max_sheets}"))
    for t in tags:
        a = dict(_ATTR.findall(t))
        name = html.unescape(a.get(b"name", b"").decode("utf-8", "replace"))
        rid = next((v for k, v in a.items() if k.endswith(b":id")), b"")
        state = a.get(b"state", b"visible").decode("ascii", "replace") or "visible"
        target = rels.get(rid, "")
        target = target.lstrip("/") if target.startswith("/") else "xl/" + target
        info = SheetInfo(name, state, target)
        if info.hidden:
            notes.append(Problem(
                "hidden_sheet", f"工作表“{name}”是{'深度隐藏' if state == 'veryHidden' else '隐藏'}的，未读取；"
                "如需使用其中的数据，请在 Excel 中取消隐藏后重新提交",
                f"sheet {name!r} is {state}; not read — unhide it in Excel if its data are meant to be used",
                file=label, sheet=name, found=state, expected="可见工作表 a visible sheet", severity="warning"))
        elif target in names:
            xml = _read_member(z, names[target], limits, label)
            rows, cols = used_range(xml, limits.max_cells)
            merged = tuple(m.decode() for m in _MERGE.findall(xml)) if want_facts and b"mergeCell" in xml else ()
            forms, novalue = [], []
            if want_facts and b"<f" in xml:
                for attrs, body in _FCELL.findall(xml):
                    ref = dict(_ATTR.findall(attrs)).get(b"r", b"?").decode()
                    forms.append(ref)
                    if not _HAS_V.search(body):
                        novalue.append(ref)
            info = SheetInfo(name, state, target, rows, cols, merged, tuple(forms), tuple(novalue))
            if info.cells > limits.max_cells:
                far = f"{_letters(min(cols, 16384))}{rows}"
                sheet_errors.append(Problem(
                    "used_range", f"工作表已用区域过大（A1:{far}，约 {info.cells:,} 个单元格，上限 {limits.max_cells:,}），"
                    "未读取；多半是远处的某个单元格有内容或格式，请删除多余的行列后另存",
                    f"the sheet's used range A1:{far} (~{info.cells:,} cells, limit {limits.max_cells:,}) is too large; "
                    "not read — a stray value far away? delete the extra rows/columns and save again",
                    file=label, sheet=name, found=f"A1:{far}", expected=f"≤ {limits.max_cells:,} 个单元格 cells"))
        sheets.append(info)
    links = tuple(n for n in names if n.startswith("xl/externalLinks/") and n.endswith(".xml"))
    if links:
        notes.append(Problem(
            "external_link", f"工作簿链接了 {len(links)} 个外部工作簿：引用单元格的值是保存时的缓存副本，qlwork 不会打开被链接的文件；"
            "请确认数值已更新，或粘贴为数值后重新提交",
            f"the workbook links {len(links)} external workbook(s): linked cells hold cached copies and the linked "
            "files are never opened; check the values or paste them as values", file=label, found=list(links)[:5],
            expected="不含外部链接的工作簿 a workbook without external links", severity="warning"))
    return XlsxInfo(data, label, tuple(sheets), (), tuple(sheet_errors), tuple(notes), links)
