"""Snapshot of a raw-data folder, to prove that nothing under ``data/raw`` changed.

Used by tests/test_raw_readonly.py (every CLI command) and tests/test_notebooks.py
(every notebook).  A folder's mtime is part of the snapshot, so even a temp file
written and removed again inside data/raw is seen.
"""
from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path


def snapshot(raw: Path) -> dict[str, tuple]:
    """{relative path: (kind, mode, mtime_ns, size, sha256)} for everything under raw."""
    snap = {".": ("dir", raw.stat().st_mode, raw.stat().st_mtime_ns, None, None)}
    for p in sorted(raw.rglob("*")):
        st = p.lstat()
        rel = p.relative_to(raw).as_posix()
        if stat.S_ISLNK(st.st_mode):  # a link is recorded, never followed (it may point at /dev/zero)
            snap[rel] = ("link", st.st_mode, st.st_mtime_ns, None, os.readlink(p))
        elif stat.S_ISDIR(st.st_mode):
            snap[rel] = ("dir", st.st_mode, st.st_mtime_ns, None, None)
        elif stat.S_ISREG(st.st_mode):
            snap[rel] = ("file", st.st_mode, st.st_mtime_ns, st.st_size, hashlib.sha256(p.read_bytes()).hexdigest())
        else:  # a named pipe or device: never opened
            snap[rel] = ("special", st.st_mode, st.st_mtime_ns, None, None)
    return snap


def diff(before: dict, after: dict) -> list[str]:
    """Readable differences between two snapshots; empty when nothing changed."""
    out = [f"新增 added: {k}" for k in sorted(after.keys() - before.keys())]
    out += [f"删除 removed: {k}" for k in sorted(before.keys() - after.keys())]
    names = ("kind", "mode", "mtime", "size", "sha256")
    for k in sorted(before.keys() & after.keys()):
        if before[k] != after[k]:
            what = [n for n, a, b in zip(names, before[k], after[k]) if a != b]
            out.append(f"改变 changed: {k} ({', '.join(what)})")
    return out
