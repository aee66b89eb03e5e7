"""Small helpers shared by the report writers (no I/O beyond hashing files)."""
from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

__all__ = [
    "display_width", "is_formula_like", "clean_value", "sha256_file", "slug",
    "units_frame", "result_frame", "node_label", "COLUMN_ZH", "safe_filename", "report_filename",
    "report_stems",
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


# Minimal safe file names for the report files.  (Issue 17 builds the project-wide
# ``qlwork.io.safe.safe_filename`` with the same signature; until it is on main this local
# one is used — same rule: no separators, "..", control or invisible characters.)
_KEEP_PUNCT = set("-_.()（）·")
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
_MAX_NAME_BYTES = 200  # well under the 255-byte limit of common file systems, with room for a suffix


def _clean_part(text: str) -> str:
    out = []
    for ch in unicodedata.normalize("NFC", text):
        cat = unicodedata.category(ch)
        if cat[0] in "LN" or ch in _KEEP_PUNCT:
            out.append(ch)
        elif cat[0] == "M" and out:  # combining marks stay with their letter
            out.append(ch)
        elif cat == "Cf":  # invisible (zero-width, bidi controls): dropped
            continue
        else:  # separators, spaces, control (Cc), invisible/format (Cf), private, other punctuation
            out.append("_")
    s = re.sub(r"_+", "_", "".join(out))
    s = re.sub(r"\.{2,}", ".", s).strip("._ ")
    return s


def _trim_bytes(text: str, n: int) -> str:
    b = text.encode("utf-8")[: max(n, 0)]
    return b.decode("utf-8", "ignore").rstrip("._ ")


def safe_filename(id_: Any, name: Any = None, *, suffix: str = "", max_bytes: int = _MAX_NAME_BYTES) -> str:
    """``<id>_<name><suffix>`` made safe as one file name: letters and digits of any script (Chinese
    kept) and ``- _ . ( ) （ ） ·`` stay; separators, ``..``, control and invisible characters, spaces and
    other punctuation become ``_``; Windows device names get a leading ``_``; the name part is
    shortened to fit ``max_bytes`` (UTF-8)."""
    part = _clean_part("" if id_ is None else str(id_)) or "_"
    part = _trim_bytes(part, max_bytes - 1) or "_"
    if part.split(".")[0].upper() in _RESERVED:
        part = "_" + part
    room = max_bytes - len(part.encode("utf-8")) - len(suffix.encode("utf-8")) - 1
    if name is not None and not (isinstance(name, float) and math.isnan(name)) and str(name).strip() and room > 0:
        extra = _trim_bytes(_clean_part(str(name)), room)
        if extra:
            part = f"{part}_{extra}"
    return part + suffix


def report_filename(unit_id: Any, unit_name: Any, suffix: str = ".html") -> str:
    """File name of a unit's report files: ``<code>_<name><suffix>`` (see :func:`safe_filename`)."""
    return safe_filename(unit_id, unit_name, suffix=suffix)


def report_stems(names: Mapping[Any, Any]) -> dict:
    """``{unit id: file stem}`` for many units; stems that would collide (also case-insensitively,
    as on Windows/macOS disks) get 8 hex digits of the id's SHA-256."""
    out, seen = {}, set()
    for uid, name in names.items():
        stem = report_filename(uid, name, "")
        if stem.casefold() in seen:
            stem = f"{stem}-{hashlib.sha256(str(uid).encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"
        seen.add(stem.casefold())
        out[uid] = stem
    return out


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
