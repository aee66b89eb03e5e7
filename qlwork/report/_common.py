"""Small helpers shared by the report writers (no I/O beyond hashing files)."""
from __future__ import annotations

import hashlib
import math
import unicodedata
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..io.safe import excel_value, safe_filename, unique_filenames

__all__ = [
    "display_width", "clean_value", "sha256_file",
    "units_frame", "result_frame", "node_label", "COLUMN_ZH", "report_filename", "report_stems",
]

#: Chinese headers for the columns of ``IndexResult.to_frame()`` (English gloss kept
#: out of the header so filters stay short; docs/reports.md lists the glosses).
from ..labels import COLUMN_LABELS

COLUMN_ZH = {
    **COLUMN_LABELS,
    "previous": "上期综合得分", "peer_n": "同类单位数", "staff": "在编人数", "population": "服务人口",
    "gap": "获得感−专业分", "code": "预警代码", "reason_zh": "预警原因", "detail": "详情",
    "rescored": "结果性质",
}


def display_width(text: Any) -> int:
    """Width in 'Latin characters': East-Asian wide/full-width characters count double."""
    s = "" if text is None else str(text)
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in s)


def clean_value(v: Any) -> Any:
    """A value openpyxl can store: NaN/NA → empty, numpy scalars → Python scalars."""
    if v is None:
        return None
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return None if math.isnan(f) else f
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(v, (list, tuple, set, dict, np.ndarray)):
        return str(list(v) if not isinstance(v, dict) else v)
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    # text without XML-illegal control characters, within Excel's cell limit (qlwork.io.safe)
    return excel_value(v if isinstance(v, (str, float, int)) else str(v))


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def report_filename(unit_id: Any, unit_name: Any, suffix: str = ".html") -> str:
    """File name of a unit's report files: ``<code>_<name><suffix>`` (:func:`qlwork.io.safe.safe_filename`:
    an id that had to change gets its hash, so two ids never share a name)."""
    if isinstance(unit_name, float) and math.isnan(unit_name):
        unit_name = None
    return safe_filename(unit_id, unit_name, suffix=suffix)


def report_stems(names: Mapping[Any, Any]) -> dict:
    """``{unit id: file stem}`` for many units; stems that would collide (also case-insensitively,
    as on Windows/macOS disks) get 8 hex digits of the id's SHA-256 (:func:`qlwork.io.safe.unique_filenames`)."""
    clean = {u: (None if isinstance(n, float) and math.isnan(n) else n) for u, n in names.items()}
    return unique_filenames(list(clean), clean)


def units_frame(result) -> pd.DataFrame:
    """The unit registry of a result, indexed by unit_id (columns as in units.parquet)."""
    u = getattr(result, "units", None)
    if u is None or len(u) == 0:
        return pd.DataFrame(index=pd.Index(result.scores.index, name="unit_id"))
    u = u.copy()
    if "unit_id" in u.columns:
        u = u.set_index("unit_id")
    u.index = u.index.astype(str)
    u.index.name = "unit_id"
    return u


def result_frame(result) -> pd.DataFrame:
    """``result.to_frame()`` with unit_id as a column (whatever the engine returned)."""
    f = result.to_frame()
    if "unit_id" not in f.columns:
        f = f.reset_index()
        if "unit_id" not in f.columns:
            f = f.rename(columns={f.columns[0]: "unit_id"})
    f["unit_id"] = f["unit_id"].astype(str)
    return f.reset_index(drop=True)


def node_label(framework, col: str) -> str:
    """Header for a column: Chinese for known fields, '名称(id)' for framework nodes."""
    if col in COLUMN_ZH:
        return COLUMN_ZH[col]
    if framework is not None:
        try:
            name = framework.name_of(col)
            return f"{name}({col})" if name != col else col
        except KeyError:
            pass
    return str(col)
