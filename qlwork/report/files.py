"""Writing report files: one file at a time into a report folder, and removing a unit's stale files.

A report set is built in a private staging folder that is swapped in as a whole
(:mod:`qlwork.report.batch`), so inside it files are written directly
(``atomic=False``); standalone callers get an atomic write per file.
"""
from __future__ import annotations

import bisect
from pathlib import Path

from ..io.safe import atomic_write_text, safe_filename

__all__ = ["write_file", "remove_stale", "listing", "StaleFiles"]


def write_file(path: Path, text: str, *, atomic: bool = True) -> Path:
    """Write one report file.  ``atomic=False`` is for a private staging folder that is itself
    swapped in atomically (:mod:`qlwork.report.batch`): the old file is unlinked first (it may be a
    hard link into the live set), then written directly — no per-file temp-file bookkeeping."""
    if atomic:
        return atomic_write_text(path, text)
    path.unlink(missing_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


class StaleFiles:
    """The files of a report folder, to remove a unit's earlier files when it is written again.

    The listing is taken once and kept sorted, so finding a unit's files is a binary search
    (re-listing the folder for each of 1,500 units would cost O(units × files))."""

    def __init__(self, out_dir: Path, protect: set[str] = frozenset()):
        self.dir = Path(out_dir)
        self.names = sorted(f.name for f in listing(self.dir))
        # the files this run writes for *other* units: unit "U1" must never remove "U1_A_…" of unit U1_A
        self.protect = set(protect)

    def remove(self, uid: str, keep: set[str], suffix: str = "") -> None:
        """Remove ``<id>.*`` / ``<id>_<old name>….*`` (``<id>`` = the id's safe file name; ending in
        ``suffix`` when given) not in ``keep`` and not written for another unit in this run."""
        uid = safe_filename(uid)
        i = bisect.bisect_left(self.names, uid)
        while i < len(self.names) and self.names[i].startswith(uid):
            name = self.names[i]
            stem = name.rsplit(".", 1)[0]
            if (stem == f"{uid}{suffix}" or stem.startswith(f"{uid}_")) and name not in keep \
                    and name not in self.protect and (not suffix or stem.endswith(suffix)):
                (self.dir / name).unlink(missing_ok=True)
            i += 1


def remove_stale(out_dir: Path, uid: str, keep: set[str], suffix: str = "") -> None:
    """Remove a unit's earlier report files in ``out_dir`` (``<uid>.html``, ``<uid>_<old name>….pdf``)
    that are not in ``keep`` — a renamed unit must not leave its old files behind.  For many units
    use one :class:`StaleFiles`."""
    StaleFiles(out_dir).remove(uid, keep, suffix)


def listing(out_dir: Path) -> list[Path]:
    return [f for f in out_dir.iterdir() if f.is_file()] if out_dir.is_dir() else []
