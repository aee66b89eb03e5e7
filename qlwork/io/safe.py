"""File safety: the one rule every qlwork writer follows (issue 17).

(Longer than 600 lines because issues 15 and 17 ask for *one* file-safety module, so that a
writer cannot follow half of the rule; its four sections below are independent.)

Four guarantees, each in one place (docs/robustness.md lists the tests that prove them):

1. **Whole or nothing.**  Every file goes through :func:`atomic_path`: the writer fills a
   hidden temporary file next to the target (``.<name>.<pid>.<random>.tmp``), which is
   flushed to disk (``fsync``), renamed over the target (``os.replace``, atomic on POSIX
   and Windows) and the folder entry flushed too.  A reader sees the old file or the new
   one; a killed run leaves the old output (its temp file is swept by the next write of
   the same target once its pid is gone).  A folder of many files (a report set) is built
   in a hidden staging folder and swapped in with one ``renameat2(RENAME_EXCHANGE)``
   (:func:`swap_dirs`).  A full disk (``ENOSPC``) or another OS refusal becomes a located
   bilingual :class:`~qlwork.errors.QlworkError` (:func:`os_error_problem`), and the old
   output is intact because nothing was renamed.

2. **Only qlwork's own folders are replaced.**  Every output folder qlwork creates gets a
   marker file :data:`MARKER` (``.qlwork-output``, JSON: kind and, for folders that are
   replaced as a whole, the list of files qlwork wrote).  :func:`claim_output_dir`
   refuses to write into a non-empty folder without the marker; :func:`swap_dirs`
   refuses to replace one, and deletes only files that the marker lists — a file a person
   put into a report folder is never deleted (the swap is refused instead).

3. **Safe names.**  Ids from the data become file names only through
   :func:`safe_filename` (no separators, ``..``, control/invisible characters or Windows
   reserved names; a short hash keeps changed ids unique) and :func:`unique_filenames`
   (no two ids share a name, even on case-insensitive disks).

4. **Formula-safe text.**  No text qlwork writes becomes a spreadsheet formula (CSV or
   formula injection, OWASP https://owasp.org/www-community/attacks/CSV_Injection): text
   starting with ``= + - @``, tab or CR (after leading spaces) is stored as text —
   prefixed with ``'`` in CSV (:func:`safe_csv`), as a string cell with the quote prefix in
   Excel (:func:`harden_workbook`, run by :func:`save_workbook` on every cell, header and
   sheet name of every workbook qlwork saves).
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import glob
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import time
import unicodedata
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import numpy as np
import pandas as pd

from ..errors import Problem, QlworkError

__all__ = [
    # atomic files
    "atomic_path", "atomic_paths", "atomic_write_text", "atomic_write_bytes", "sweep_stale", "temp_files",
    "os_error_problem", "output_errors",
    # output folders
    "MARKER", "read_marker", "write_marker", "check_output_dir", "claim_output_dir", "check_output_file", "staging_dir",
    "swap_dirs", "check_replaceable", "remove_own",
    # names
    "safe_filename", "unique_filenames",
    # formula-safe text
    "FORMULA_START", "is_formula_like", "escape_csv_cell", "escape_frame", "safe_csv", "safe_excel",
    "excel_value", "safe_sheet_title", "harden_workbook", "save_workbook",
]


# =========================================================== OS errors → located messages
_OS_MESSAGES = {
    errno.ENOSPC: ("disk_full", "磁盘空间不足，未写入；原有输出保持不变，请清理磁盘后重试",
                   "no space left on the device; nothing written, the previous output is unchanged"),
    errno.EDQUOT: ("disk_full", "磁盘配额已满，未写入；原有输出保持不变",
                   "disk quota exceeded; nothing written, the previous output is unchanged"),
    errno.EFBIG: ("disk_full", "文件过大，文件系统无法写入；原有输出保持不变",
                  "file too large for the file system; the previous output is unchanged"),
    errno.EROFS: ("read_only", "输出位置在只读文件系统上，无法写入", "the output is on a read-only file system"),
    errno.EACCES: ("no_permission", "没有写入该位置的权限", "permission denied for the output location"),
    errno.EPERM: ("no_permission", "没有写入该位置的权限", "operation not permitted on the output location"),
    errno.ENAMETOOLONG: ("name_too_long", "输出路径或文件名过长", "output path or file name too long"),
    errno.ENOTDIR: ("not_a_folder", "输出路径中有一段不是文件夹", "a part of the output path is not a folder"),
    errno.EISDIR: ("is_a_folder", "输出文件的位置是一个文件夹", "the output file's path is a folder"),
    errno.EIO: ("io_error", "磁盘读写错误（I/O error），未写入", "input/output error; nothing written"),
    errno.ENOENT: ("not_found", "找不到输出路径", "output path not found"),
    errno.EEXIST: ("exists", "输出位置已存在同名项目", "something with that name already exists"),
}
_ERRNO_TEXT = re.compile(r"\[?errno (\d+)\]?|No space left on device|Disk quota exceeded|Read-only file system",
                         re.IGNORECASE)
_TEXT_ERRNO = {"no space left on device": errno.ENOSPC, "disk quota exceeded": errno.EDQUOT,
               "read-only file system": errno.EROFS}


def _errno_of(e: BaseException) -> int | None:
    n = getattr(e, "errno", None)
    if isinstance(n, int) and n in _OS_MESSAGES:
        return n
    m = _ERRNO_TEXT.search(str(e))  # pyarrow's OSError carries the errno only in its text
    if m:
        if m.group(1):
            return int(m.group(1))
        return _TEXT_ERRNO.get(m.group(0).lower())
    return n if isinstance(n, int) else None


def os_error_problem(e: BaseException, path: str | os.PathLike | None = None) -> Problem:
    """A located, bilingual :class:`Problem` for an :class:`OSError` met while writing ``path``."""
    n = _errno_of(e)
    code, zh, en = _OS_MESSAGES.get(n, ("os_error", "操作系统拒绝了写入", "the operating system refused the write"))
    where = str(path or getattr(e, "filename", "") or "") or None
    return Problem(code, zh, f"{en} ({os.strerror(n) if n else type(e).__name__})", file=where,
                   found=(f"errno {n} {errno.errorcode.get(n, '')}".strip() if n else str(e)[:120]),
                   expected="可写入且空间充足的位置 a writable location with free space")


_TRANSLATED = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM,
               errno.ENAMETOOLONG, errno.EIO}


@contextlib.contextmanager
def output_errors(path: str | os.PathLike | None = None) -> Iterator[None]:
    """Turn a write failure of the OS (disk full, read-only, no permission …) inside the block
    into a :class:`QlworkError` naming ``path``; other exceptions pass unchanged."""
    try:
        yield
    except QlworkError:
        raise
    except OSError as e:
        if _errno_of(e) in _TRANSLATED:
            raise QlworkError(os_error_problem(e, path)) from e
        raise


# =========================================================== atomic files
def _umask() -> int:
    try:  # Linux ≥ 4.7: read without changing it (os.umask is process-wide, racy with threads)
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _fsync_path(path: Path, *, directory: bool = False) -> None:
    """Flush a file's data (or a folder's entries) to the disk; a file system that cannot
    (some network mounts refuse fsync on folders) is tolerated."""
    try:
        fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    except OSError:
        if directory:
            return
        raise
    try:
        os.fsync(fd)
    except OSError as e:
        if not directory or e.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def temp_files(target: str | os.PathLike) -> list[Path]:
    """Temp files of :func:`atomic_path` for ``target`` (live or stale)."""
    target = Path(target)
    if not target.parent.is_dir():
        return []
    return sorted(target.parent.glob(f".{glob.escape(target.name)}.*.tmp"))


def sweep_stale(target: str | os.PathLike) -> list[Path]:
    """Remove temp files of ``target`` left by writers that no longer run (killed with
    SIGKILL); returns the removed paths.  Temp names without a pid are removed when older
    than an hour.  A live writer's temp file is never touched."""
    removed = []
    for p in temp_files(target):
        middle = p.name[len(Path(target).name) + 2:-len(".tmp")]
        pid_txt = middle.split(".", 1)[0]
        try:
            stale = not _pid_alive(int(pid_txt)) if pid_txt.isdigit() else \
                time.time() - p.stat().st_mtime > 3600
        except FileNotFoundError:
            continue
        if stale and p.is_file() and not p.is_symlink():
            try:
                p.unlink()
                removed.append(p)
            except FileNotFoundError:  # another sweeper was first
                pass
    return removed


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, *, durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success flush it to disk and rename it
    over ``target`` (then flush the folder).  On any failure the temp file is removed and
    ``target`` is untouched; OS write failures (disk full …) raise a located QlworkError."""
    target = Path(target)
    with output_errors(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        sweep_stale(target)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
    tmp_path = Path(tmp)
    try:
        with output_errors(target):
            yield tmp_path
            # mkstemp makes 0600 files; give the output the mode a plain open() would
            # (the previous file's mode, else 0666 minus the umask) so colleagues can read it.
            try:
                mode = target.stat().st_mode & 0o7777
            except FileNotFoundError:
                mode = 0o666 & ~_umask()
            if tmp_path.exists():
                os.chmod(tmp_path, mode)
                if durable:
                    _fsync_path(tmp_path)
            os.replace(tmp_path, target)
            if durable:
                _fsync_path(target.parent, directory=True)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_paths(*targets: str | os.PathLike) -> Iterator[tuple[Path, ...]]:
    """Temp paths for several files that are renamed into place together, only after the
    block wrote all of them (a failure in the block leaves every target unchanged)."""
    with contextlib.ExitStack() as stack:
        yield tuple(stack.enter_context(atomic_path(t)) for t in targets)


def atomic_write_text(target: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(target)


def atomic_write_bytes(target: str | os.PathLike, data: bytes) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


# =========================================================== output folders and the marker
#: the file that marks a folder as written by qlwork (JSON: kind, files)
MARKER = ".qlwork-output"


def read_marker(folder: str | os.PathLike) -> dict | None:
    """The marker of ``folder`` as a dict, or None when the folder has none (or an unreadable one)."""
    p = Path(folder) / MARKER
    try:
        if not p.is_file() or p.is_symlink() or p.stat().st_size > 16 << 20:
            return None
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("qlwork") == "output" else None


def write_marker(folder: str | os.PathLike, kind: str, files: Iterable[str] | None = None) -> Path:
    """Mark ``folder`` as qlwork's (``kind``: report, processed, demo, staging …); ``files`` lists
    the files qlwork wrote there (relative, POSIX) for folders replaced as a whole."""
    body: dict[str, Any] = {"qlwork": "output", "kind": kind}  # no time stamp: same output, same bytes
    if files is not None:
        body["files"] = sorted(str(f) for f in files)
    return atomic_write_text(Path(folder) / MARKER, json.dumps(body, ensure_ascii=False, indent=0))


def _inside(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def _refuse(code: str, zh: str, en: str, folder: Path, found: Any, expected: str) -> QlworkError:
    return QlworkError(Problem(code, zh, en, file=str(folder), found=found, expected=expected))


def _raw_guard(folder: Path) -> None:
    from ..paths import ensure_outside_raw

    ensure_outside_raw(folder)


def _listing(folder: Path, limit: int = 5) -> list[str]:
    out = []
    for p in folder.iterdir():
        out.append(p.name)
        if len(out) >= limit:
            break
    return out


def check_output_dir(folder: str | os.PathLike, kind: str, *, trusted: str | os.PathLike | None = None) -> Path:
    """The checks of :func:`claim_output_dir` without creating or marking anything (to fail
    before a long computation)."""
    return claim_output_dir(folder, kind, trusted=trusted, dry_run=True)


def claim_output_dir(folder: str | os.PathLike, kind: str, *, trusted: str | os.PathLike | None = None,
                     dry_run: bool = False) -> Path:
    """Make sure qlwork may write files into ``folder`` and mark it as qlwork's.

    Allowed: a folder that does not exist yet (created and marked), an empty folder, a
    folder with a marker of the same ``kind``, and ``trusted`` (default: the project's
    ``data/processed`` when ``kind == "processed"``) — for ``processed`` also a folder that
    holds the store written by ``qlwork ingest`` (values.parquet and units.parquet).  Refused with a located bilingual
    error: a path that is a file, anything inside ``data/raw``, a folder marked for another
    kind, and a non-empty folder without the marker — qlwork never writes into a person's
    folder.
    """
    from .. import paths

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise _refuse("not_a_folder", "输出路径是一个文件而不是文件夹，未写入", "the output path is a file, not a folder",
                      folder, "文件 file", "文件夹路径 a folder path")
    resolved = folder.resolve()
    _raw_guard(resolved)
    if trusted is None and kind == "processed":
        trusted = paths.processed_dir()
    with output_errors(folder):
        if not folder.exists():
            if not dry_run:
                folder.mkdir(parents=True, exist_ok=True)
                write_marker(folder, kind)
            return folder
        mark = read_marker(folder)
        if mark is not None:
            if mark.get("kind") != kind:
                raise _refuse("wrong_output_kind", f"该文件夹是 qlwork 的{mark.get('kind')}输出文件夹，不能写入{kind}输出",
                              f"the folder holds qlwork {mark.get('kind')} output, not {kind} output",
                              folder, mark.get("kind"), kind)
            return folder
        store = kind == "processed" and (folder / "values.parquet").is_file() and (folder / "units.parquet").is_file()
        if (trusted is not None and resolved == Path(trusted).resolve()) or store or not any(folder.iterdir()):
            if not dry_run:
                write_marker(folder, kind)
            return folder
    raise _refuse("foreign_folder", "输出文件夹非空且不是 qlwork 创建的（没有 .qlwork-output 标记），为保护其中的文件，"
                  "qlwork 不会向其中写入或替换任何内容；请指定一个新的或空的文件夹",
                  "the output folder is not empty and was not created by qlwork (no .qlwork-output marker); "
                  "nothing is written or replaced there — give a new or empty folder", folder,
                  _listing(folder), "新的或空的文件夹 a new or empty folder")


def check_output_file(path: str | os.PathLike, *, kind: str = "processed") -> Path:
    """Make sure qlwork may write the single file ``path``: not a folder, device or link; an
    existing file is replaced only inside a qlwork folder (:func:`claim_output_dir` rules for
    its folder; a new file may be created in any folder outside data/raw)."""
    path = Path(path)
    if str(path) in ("", ".") or path.name in ("", ".", ".."):
        raise _refuse("bad_output", "输出文件名无效", "invalid output file name", path, str(path), "如 weights.csv")
    _raw_guard(path.resolve())
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise _refuse("bad_output", "输出路径已存在且不是普通文件（文件夹、链接或设备），未写入",
                      "the output path exists and is not a regular file (folder, link or device); nothing written",
                      path, "非普通文件 not a regular file", "新的文件名 a new file name")
    if path.exists():
        parent = path.parent
        mark = read_marker(parent)
        from .. import paths

        if mark is None and parent.resolve() != paths.processed_dir().resolve():
            raise _refuse("foreign_file", "输出文件已存在，且所在文件夹不是 qlwork 的输出文件夹；为保护该文件，未覆盖",
                          "the output file exists in a folder qlwork did not create; it is not overwritten",
                          path, path.name, "新的文件名或 qlwork 的输出文件夹 a new name or a qlwork output folder")
    else:
        with output_errors(path):
            path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _own_files(folder: Path, kind: str) -> list[str] | None:
    """Files qlwork wrote into ``folder`` (from its marker), [] for an empty folder, None when
    the folder is not qlwork's ``kind`` output.  A report set written before markers existed
    (inside the project's data/processed, with the manifest.json that lists its files) counts
    as qlwork's."""
    mark = read_marker(folder)
    if mark is not None:
        if mark.get("kind") != kind or not isinstance(mark.get("files"), list):
            return None
        return [str(f) for f in mark["files"]]
    if not any(folder.iterdir()):
        return []
    if kind == "report" and (folder / "manifest.json").is_file():
        from .. import paths

        if _inside(folder.resolve(), paths.processed_dir().resolve()):
            try:
                man = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
                return [str(f["path"]) for f in man.get("files", [])] + ["manifest.json"]
            except (OSError, ValueError, TypeError, KeyError):
                return None
    return None


def check_replaceable(target: str | os.PathLike, kind: str) -> None:
    """Raise a located error unless ``target`` may be replaced as a whole by a new ``kind``
    folder: it does not exist, is empty, or is marked ``kind`` and holds only files the
    marker lists (a file someone added is never deleted: the replace is refused)."""
    target = Path(target)
    if not target.exists() and not target.is_symlink():
        return
    if target.is_symlink() or not target.is_dir():
        raise _refuse("not_a_folder", "输出路径已存在且不是文件夹（文件或链接），不会替换",
                      "the output path exists and is not a folder (file or link); it is not replaced", target,
                      "文件或链接 file or link", "新的文件夹路径 a new folder path")
    _raw_guard(target.resolve())
    own = _own_files(target, kind)
    if own is None:
        raise _refuse("foreign_folder", "输出文件夹不是 qlwork 生成的（没有 .qlwork-output 标记），qlwork 不会替换或删除它；"
                      "请指定一个新的或空的文件夹",
                      "the output folder was not created by qlwork (no .qlwork-output marker); it is not "
                      "replaced or deleted — give a new or empty folder", target, _listing(target),
                      "新的、空的或 qlwork 生成的文件夹 a new, empty or qlwork folder")
    known = set(own) | {MARKER}
    extra = sorted(p.relative_to(target).as_posix() for p in target.rglob("*")
                   if not p.is_dir() and p.relative_to(target).as_posix() not in known)
    if extra:
        raise _refuse("foreign_files", f"输出文件夹中有 {len(extra)} 个不是 qlwork 生成的文件，为保护它们，不替换该文件夹；"
                      "请移走这些文件后重试", f"the output folder holds {len(extra)} file(s) qlwork did not write; "
                      "it is not replaced — move them away and retry", target, extra[:10],
                      "只含 qlwork 生成文件的文件夹 a folder with qlwork's files only")


def remove_own(folder: Path, files: Iterable[str]) -> list[str]:
    """Delete the listed files (and the marker), then empty sub-folders; returns what is left."""
    folder = Path(folder)
    for rel in list(files) + [MARKER]:
        p = folder / rel
        if ".." in Path(rel).parts or Path(rel).is_absolute() or not _inside(p.parent.resolve(), folder.resolve()):
            continue
        try:
            if p.is_file() or p.is_symlink():
                p.unlink()
        except FileNotFoundError:
            pass
    for d in sorted((p for p in folder.rglob("*") if p.is_dir() and not p.is_symlink()),
                    key=lambda p: -len(p.parts)):
        with contextlib.suppress(OSError):
            d.rmdir()
    with contextlib.suppress(OSError):
        folder.rmdir()
    return [p.relative_to(folder).as_posix() for p in folder.rglob("*")] if folder.exists() else []


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths (Linux renameat2); False when unsupported."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return fn(_AT_FDCWD, os.fsencode(str(a)), _AT_FDCWD, os.fsencode(str(b)), _RENAME_EXCHANGE) == 0


def _files_of(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if not p.is_dir() and p.name != MARKER)


def _fsync_tree(folder: Path) -> None:
    """Flush every file of a staging folder (in threads: fsync releases the GIL, and the file
    system commits many at once), then the folders."""
    from concurrent.futures import ThreadPoolExecutor

    files = [p for p in folder.rglob("*") if p.is_file()]
    dirs = [folder] + [p for p in folder.rglob("*") if p.is_dir()]
    with ThreadPoolExecutor(max_workers=8) as ex:
        list(ex.map(_fsync_path, files))
        list(ex.map(lambda d: _fsync_path(d, directory=True), dirs))


def swap_dirs(new: str | os.PathLike, target: str | os.PathLike, *, kind: str = "report") -> list[str]:
    """Put the finished folder ``new`` at ``target`` in one step and mark it ``kind`` (with its
    file list).  ``target`` must be replaceable (:func:`check_replaceable`); the previous
    folder's own files are deleted afterwards.  Returns files that could not be deleted
    because qlwork did not write them (left in a hidden ``.<name>.old-<pid>`` folder)."""
    new, target = Path(new), Path(target)
    with output_errors(target):
        check_replaceable(target, kind)
        write_marker(new, kind, _files_of(new))
        _fsync_tree(new)
        if not target.exists():
            os.rename(new, target)
            _fsync_path(target.parent, directory=True)
            return []
        old_files = _own_files(target, kind) or []
        if _exchange(new, target):
            _fsync_path(target.parent, directory=True)
            return remove_own(new, old_files)  # ``new`` now holds the previous set
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.rename(target, old)
        os.rename(new, target)
        _fsync_path(target.parent, directory=True)
        return remove_own(old, old_files)


def staging_dir(target: str | os.PathLike, *, keep_existing: bool, kind: str = "report") -> Path:
    """A fresh hidden folder next to ``target`` (a hard-linked copy of it when ``keep_existing``),
    marked as a staging folder; stale staging folders of dead runs are removed first."""
    target = Path(target)
    check_replaceable(target, kind)
    with output_errors(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        _clean_stale(target)
        st = target.with_name(f".{target.name}.staging-{os.getpid()}-{time.monotonic_ns() % 10**9}")
        try:
            if keep_existing and target.is_dir():
                try:
                    shutil.copytree(target, st, copy_function=os.link)
                except OSError:
                    shutil.rmtree(st, ignore_errors=True)
                    shutil.copytree(target, st)
            else:
                st.mkdir()
            write_marker(st, "staging")
        except BaseException:  # disk full while preparing: leave nothing behind
            shutil.rmtree(st, ignore_errors=True)
            raise
    return st


def _clean_stale(target: Path) -> None:
    """Remove staging folders of runs that are gone and leftovers of earlier swaps — only
    folders qlwork marked (a person's folder with a similar name is left alone)."""
    for p in target.parent.glob(f".{glob.escape(target.name)}.staging-*"):
        try:
            pid = int(p.name.rsplit("-", 2)[-2])
        except (ValueError, IndexError):
            pid = -1
        mark = read_marker(p)
        if mark is not None and mark.get("kind") in ("staging", "report") and \
                (pid <= 0 or not _pid_alive(pid) or pid == os.getpid()):
            shutil.rmtree(p, ignore_errors=True)
    for p in target.parent.glob(f".{glob.escape(target.name)}.old-*"):
        mark = read_marker(p)
        if mark is not None and isinstance(mark.get("files"), list):
            remove_own(p, mark["files"])


# =========================================================== safe file names
#: Windows device names: a file called "CON.html" cannot be opened there
_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$",
             *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10)),
             "COM¹", "COM²", "COM³", "LPT¹", "LPT²", "LPT³"}
_NAME_EXTRA = set("-_.()（）·")
_MAX_NAME_BYTES = 150  # leaves room for suffixes ("_预警通知书.html", ".pdf") under the 255-byte limit


def _clean_part(text: str) -> str:
    s = unicodedata.normalize("NFKC", text)
    out = []
    for ch in s:
        cat = unicodedata.category(ch)
        out.append(ch if (cat[0] in "LN" or ch in _NAME_EXTRA) and ch.isprintable() else "_")
    s = re.sub(r"_+", "_", "".join(out))
    s = re.sub(r"\.{2,}", ".", s)
    return s.strip("._ ")


def _trim_bytes(s: str, n: int) -> str:
    b = s.encode("utf-8")
    if len(b) <= n:
        return s
    return b[:n].decode("utf-8", errors="ignore").rstrip("._ ")


def safe_filename(id_: Any, name: Any = None, *, suffix: str = "", max_bytes: int = _MAX_NAME_BYTES,
                  hashed: bool = True) -> str:
    """A file name for an id (and an optional readable name): ``<id>`` or ``<id>_<name>`` + ``suffix``.

    Letters and digits of any script (Chinese kept), ``- _ . ( ) （ ） ·`` stay; separators,
    ``..``, control and invisible characters, spaces and other punctuation become ``_``;
    leading/trailing dots are removed and Windows device names (``CON``, ``COM1`` …) get a
    leading ``_``.  When the id had to change, ``-`` and 8 hex digits of its SHA-256 are
    appended, so two different ids never share a name (``"YY/001"`` → ``"YY_001-1b9d…"``,
    while ``"YY_001"`` stays ``"YY_001"``).  The name part is shortened to fit ``max_bytes``.
    ``hashed=False`` leaves the hash out (for labels inside a name pattern, not for ids).
    """
    raw = "" if id_ is None else str(id_)
    part = _clean_part(raw) or "_"
    changed = part != raw
    if len(part.encode("utf-8")) > max_bytes - 9:
        part, changed = _trim_bytes(part, max_bytes - 9), True
    if part.split(".")[0].upper() in _RESERVED:
        part, changed = "_" + part, True
    if changed and hashed:
        part += "-" + hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    room = max_bytes - len(part.encode("utf-8")) - 1
    if name is not None and str(name).strip() and room > 0:
        extra = _trim_bytes(_clean_part(str(name)), room)
        if extra:
            part = f"{part}_{extra}"
    return part + suffix


def unique_filenames(ids: Iterable[Any], names: Mapping[Any, Any] | None = None, *, suffix: str = "") -> dict:
    """``{id: file name}`` for many ids with :func:`safe_filename`; names that would collide
    (also when compared case-insensitively, as on Windows/macOS disks) get the id's hash."""
    ids = list(dict.fromkeys(ids))
    out = {i: safe_filename(i, (names or {}).get(i), suffix=suffix) for i in ids}
    seen: dict[str, Any] = {}
    for i in ids:
        key = out[i].casefold()
        if key in seen:
            h = hashlib.sha256(str(i).encode("utf-8", "surrogatepass")).hexdigest()[:8]
            stem = out[i][: len(out[i]) - len(suffix)] if suffix else out[i]
            out[i] = f"{stem}-{h}{suffix}"
            key = out[i].casefold()
        seen[key] = i
    return out


# =========================================================== formula-safe text
#: first characters that make spreadsheet software treat a text as a formula (OWASP)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_LEAD_SPACE = " \u3000\xa0\n"
#: Excel's limit on the characters of one cell
EXCEL_MAX_CHARS = 32767


def is_formula_like(value: Any) -> bool:
    """True for a text that a spreadsheet would read as a formula (also after leading spaces)."""
    return isinstance(value, str) and (value.startswith(FORMULA_START)
                                       or value.lstrip(_LEAD_SPACE).startswith(FORMULA_START[:4]))


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
    """Write ``df`` as CSV with formula-like text escaped, atomically (UTF-8 with BOM so that
    Excel on Chinese Windows shows the characters).  With ``path=None`` the text is returned."""
    safe = escape_frame(df)
    kwargs.setdefault("lineterminator", "\n")
    if path is None:
        return safe.to_csv(index=index, **kwargs)
    path = Path(path)
    with atomic_path(path) as tmp:
        safe.to_csv(tmp, index=index, encoding=encoding, **kwargs)
    return path


_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def excel_value(v: Any) -> Any:
    """A value openpyxl can store: NaN/NA → None, numpy scalars → Python scalars, text without
    the control characters XML forbids and at most Excel's 32,767 characters."""
    if v is None:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and np.isnan(v):
        return None
    if isinstance(v, str):
        v = _ILLEGAL_XML.sub("", v)
        return v if len(v) <= EXCEL_MAX_CHARS else v[:EXCEL_MAX_CHARS - 1] + "…"
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return v


_BAD_TITLE = re.compile(r"[\[\]:*?/\\\x00-\x1f]")


def safe_sheet_title(name: Any, used: set[str] | None = None) -> str:
    """A valid, unique, never formula-like sheet title (≤ 31 characters, no ``[]:*?/\\``,
    no leading/trailing apostrophe, ``=…`` prefixed with ``_``)."""
    base = _BAD_TITLE.sub("_", _ILLEGAL_XML.sub("", str(name))).strip("'") or "Sheet"
    if is_formula_like(base):
        base = "_" + base
    base = base[:31]
    used = used if used is not None else set()
    out, k = base, 2
    while out.casefold() in {u.casefold() for u in used}:
        suf = f"_{k}"
        out, k = base[: 31 - len(suf)] + suf, k + 1
    used.add(out)
    return out


def harden_workbook(wb) -> None:
    """Make every cell, header and sheet title of an openpyxl workbook formula-safe: a text
    cell that openpyxl took for a formula or that starts like one is stored as a string with
    the quote prefix; text is clipped to Excel's limit; sheet titles are made safe.  qlwork
    never writes formulas on purpose, so nothing legitimate is lost."""
    used: set[str] = set()
    for ws in wb.worksheets:
        title = safe_sheet_title(ws.title, used)
        if title != ws.title:
            ws.title = title
        for cell in getattr(ws, "_cells", {}).values():
            v = cell._value
            if not isinstance(v, str):
                if cell.data_type == "f":  # an ArrayFormula or similar object: keep it as text
                    cell._value, cell.data_type = str(getattr(v, "text", v)), "s"
                continue
            clean = excel_value(v)
            if clean != v:
                cell._value = v = clean
            if cell.data_type == "f" or is_formula_like(v):
                cell.data_type = "s"
                cell.quotePrefix = True


@contextlib.contextmanager
def _exact_floats():
    """openpyxl writes numbers with ``%.16g``, which can move a float by one ulp; ``repr`` is
    Python's shortest round-trip form, so a value read back equals the float written."""
    import math

    from openpyxl.cell import _writer
    from openpyxl.compat import safe_string

    def exact(value):
        if isinstance(value, float) and math.isfinite(value):
            return repr(value)
        return safe_string(value)

    old = _writer.safe_string
    _writer.safe_string = exact
    try:
        yield
    finally:
        _writer.safe_string = old


def save_workbook(wb, path: str | Path | io.BytesIO) -> Path | io.BytesIO:
    """Save an openpyxl workbook formula-safe (:func:`harden_workbook`) with exact float text,
    atomically to a path or into a BytesIO buffer."""
    harden_workbook(wb)
    if isinstance(path, io.BytesIO):
        with _exact_floats():
            wb.save(path)
        path.seek(0)
        return path
    path = Path(path)
    with _exact_floats(), atomic_path(path) as tmp:
        wb.save(tmp)
    return path


def safe_excel(sheets: Mapping[str, pd.DataFrame] | pd.DataFrame, path: str | Path | io.BytesIO, *,
               index: bool = False, sheet_name: str = "Sheet1") -> Path | io.BytesIO:
    """Write one or several tables to an .xlsx: header row then values; every text cell is a
    string (never a formula), NaN an empty cell.  ``path`` may be a file path (written
    atomically) or a BytesIO buffer."""
    from openpyxl import Workbook

    if isinstance(sheets, pd.DataFrame):
        sheets = {sheet_name: sheets}
    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for name, df in sheets.items():
        ws = wb.create_sheet(safe_sheet_title(name, used))
        d = df.reset_index() if index else df
        rows = [list(d.columns)] + list(d.itertuples(index=False, name=None))
        for r, row in enumerate(rows, start=1):
            for c, v in enumerate(row, start=1):
                v = excel_value(v)
                if v is None:
                    continue
                if not isinstance(v, (int, float, str, bool)) and not hasattr(v, "isoformat"):
                    v = excel_value(str(v))
                cell = ws.cell(row=r, column=c, value=v)
                if isinstance(v, str):
                    cell.data_type = "s"  # openpyxl would take "=..." for a formula
    return save_workbook(wb, path)
