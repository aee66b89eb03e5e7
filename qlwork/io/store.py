"""Reading the processed store (``data/processed/*.parquet``) with located errors.

The store is rebuilt by code, but it can still be missing (ingest not run yet),
cut short (disk full on another machine, a copy interrupted) or replaced by
something else.  Every reader in the workbench goes through :func:`read_store`,
so the user sees which file is wrong and what to run — in Chinese with an
English gloss — instead of a pyarrow traceback.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

from ..errors import Problem, QlworkError

__all__ = ["read_store"]

_HINTS = {
    "values.parquet": "qlwork ingest", "units.parquet": "qlwork ingest", "problems.parquet": "qlwork ingest",
}


def _hint(path: Path) -> str:
    name = path.name
    if name in _HINTS:
        return _HINTS[name]
    for prefix, cmd in (("public_", "qlwork survey"), ("sensitivity_", "qlwork sensitivity"),
                        ("scores_", "qlwork score"), ("weights_", "qlwork weights")):
        if name.startswith(prefix):
            return cmd
    return "qlwork ingest"


def read_store(path: str | Path, columns: Sequence[str] | None = None, *, command: str | None = None) -> pd.DataFrame:
    """``pd.read_parquet(path, columns=columns)``, or a :class:`QlworkError` naming the file.

    Missing file → ``file_not_found``; unreadable (corrupt, truncated, not Parquet) →
    ``store_unreadable``; a requested column absent → ``store_missing_column``.  Each
    message says which command rebuilds the file.
    """
    p = Path(path)
    cmd = command or _hint(p)
    if not p.is_file():
        raise QlworkError(Problem(
            "file_not_found", f"找不到 {p.name}，请先运行 {cmd}", f"{p.name} not found; run `{cmd}` first",
            file=str(p), expected=f"由 {cmd} 写出的 Parquet 文件 a Parquet file written by {cmd}"))
    if columns is not None:
        try:
            import pyarrow.parquet as pq

            names = set(pq.read_schema(p).names)
        except Exception as e:  # noqa: BLE001 — any pyarrow failure means the file is unusable
            raise _unreadable(p, cmd, e) from None
        missing = [c for c in columns if c not in names]
        if missing:
            raise QlworkError(Problem(
                "store_missing_column", f"{p.name} 缺少列 {'、'.join(missing)}，请重新运行 {cmd}",
                f"{p.name} lacks column(s) {', '.join(missing)}; re-run `{cmd}`",
                file=str(p), column=", ".join(missing), found=", ".join(sorted(names)),
                expected=", ".join(columns)))
    try:
        return pd.read_parquet(p, columns=list(columns) if columns is not None else None)
    except Exception as e:  # noqa: BLE001
        raise _unreadable(p, cmd, e) from None


def _unreadable(p: Path, cmd: str, e: Exception) -> QlworkError:
    # the pyarrow message (English, internal) is not shown: the remedy is the same whatever it says
    size = p.stat().st_size if p.exists() else 0
    return QlworkError(Problem(
        "store_unreadable",
        f"无法读取 {p.name}（文件已损坏、不完整或不是 Parquet 格式，{size} 字节），请重新运行 {cmd}",
        f"cannot read {p.name} (corrupt, truncated or not Parquet, {size} bytes); re-run `{cmd}`",
        file=str(p), found=f"{size} 字节、无法解析的文件 {size} bytes, unparseable",
        expected=f"由 {cmd} 写出的完整 Parquet 文件 a complete Parquet file written by {cmd}"))
