"""Small helpers shared by the report writers (no I/O beyond hashing files)."""
from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "display_width", "is_formula_like", "clean_value", "sha256_file", "slug",
    "units_frame", "result_frame", "node_label", "COLUMN_ZH",
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

_FORMULA_START = ("=", "+", "-", "@")


def display_width(text: Any) -> int:
    """Width in 'Latin characters': East-Asian wide/full-width characters count double."""
    s = "" if text is None else str(text)
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in s)


def is_formula_like(value: Any) -> bool:
    """A text that Excel would read as a formula (CSV/formula injection, OWASP)."""
    return isinstance(value, str) and value.startswith(_FORMULA_START)


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
    return v if isinstance(v, (str, float, int)) else str(v)


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def slug(text: str) -> str:
    """A folder/file-name-safe version of a scope label (Chinese kept, separators removed)."""
    s = re.sub(r'[\\/:*?"<>|\s,，]+', "_", str(text)).strip("._")
    return s or "all"


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
