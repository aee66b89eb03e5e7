"""Whole-or-nothing file output.

Every file qlwork writes (Parquet, Excel, HTML, PNG, SVG) goes through
:func:`atomic_path`: the writer fills a temporary file in the same folder,
which is renamed over the target only when writing finished.  ``os.replace``
is atomic on POSIX and Windows, so a reader (or a second analyst) sees either
the old file or the new one, never half of one; a killed run leaves the
previous output intact.

Temporary files are named ``.<name>.<pid>.<random>.tmp``: hidden and with a
``.tmp`` suffix, so no reader's ``glob("scores_*.parquet")`` ever matches
one.  A writer that fails or is interrupted (SIGTERM, Ctrl-C) removes its own
temp file; one killed outright (SIGKILL, power cut) cannot, so the next write
of the same target sweeps temp files whose owning process no longer exists
(:func:`sweep_stale`).  Temp files of a live writer (a second analyst writing
the same file at the same time) are left alone.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

__all__ = ["atomic_path", "atomic_write_text", "atomic_write_bytes", "sweep_stale", "temp_files"]


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


def temp_files(target: str | os.PathLike) -> list[Path]:
    """Temp files of :func:`atomic_path` for ``target`` (live or stale)."""
    target = Path(target)
    if not target.parent.is_dir():
        return []
    return sorted(target.parent.glob(f".{glob_escape(target.name)}.*.tmp"))


def glob_escape(name: str) -> str:
    import glob

    return glob.escape(name)


def sweep_stale(target: str | os.PathLike) -> list[Path]:
    """Remove temp files of ``target`` left by writers that no longer run
    (killed with SIGKILL); returns the removed paths.  Temp names without a
    pid (older layout) are removed when older than an hour."""
    import time

    removed = []
    for p in temp_files(target):
        middle = p.name[len(Path(target).name) + 2:-len(".tmp")]
        pid_txt = middle.split(".", 1)[0]
        try:
            stale = not _pid_alive(int(pid_txt)) if pid_txt.isdigit() else \
                time.time() - p.stat().st_mtime > 3600
        except FileNotFoundError:
            continue
        if stale:
            try:
                p.unlink()
                removed.append(p)
            except FileNotFoundError:  # another sweeper was first
                pass
    return removed


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it over ``target`` on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp makes 0600 files; give the output the mode a plain open() would
        # (the previous file's mode, else 0666 minus the umask) so colleagues can read it.
        try:
            mode = target.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
        if tmp_path.exists():
            os.chmod(tmp_path, mode)
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_text(target: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(target)


def atomic_write_bytes(target: str | os.PathLike, data: bytes) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)
