"""What the scoring commands (score, sensitivity, report) read before they start."""
from __future__ import annotations

from pathlib import Path


def processed_inputs(args):
    """``(processed folder, raw folder, values, units, frameworks)`` for a scoring command.

    Folders come from ``--processed`` / ``--raw`` or the project defaults; the two
    tables from the processed store through :func:`qlwork.io.store.read_store` (a
    missing or damaged file is a located error); the frameworks from the raw
    folder, or the built-in ones when it has none (:func:`qlwork.io.ingest.load_frameworks`).
    """
    from .. import paths
    from ..io.ingest import load_frameworks
    from ..io.store import read_store

    proc = Path(args.processed) if args.processed else paths.processed_dir()
    raw = Path(args.raw) if args.raw else paths.raw_dir()
    values = read_store(proc / "values.parquet")
    units = read_store(proc / "units.parquet")
    return proc, raw, values, units, load_frameworks(raw)
