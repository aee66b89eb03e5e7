"""Calendar dates of evaluation periods, and the one place a date is read from text.

Every computation of the follow-through package takes an explicit date (``as_of``,
``issued``); none reads the wall clock.  A period's *end* is its last calendar day
(2025H2 → 2025-12-31, 2025Q1 → 2025-03-31, 2025-03 → 2025-03-31).  Warnings of a
period are issued after it ends: by default ``notice_lag_days`` (15) after the end
(:func:`default_issue_date`), so 2025H2 notices are dated 2026-01-15.
"""
from __future__ import annotations

import calendar
import datetime as _dt
import math
import re
from typing import Any

from ..errors import Problem, QlworkError

__all__ = ["period_end", "period_start", "default_issue_date", "to_date", "as_date", "previous_period"]

_HALF = re.compile(r"^(\d{4})H([12])$")
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def _bounds(period: str) -> tuple[_dt.date, _dt.date]:
    p = str(period).strip()
    m = _HALF.match(p)
    if m:
        y, h = int(m[1]), int(m[2])
        return (_dt.date(y, 1, 1), _dt.date(y, 6, 30)) if h == 1 else (_dt.date(y, 7, 1), _dt.date(y, 12, 31))
    m = _QUARTER.match(p)
    if m:
        y, q = int(m[1]), int(m[2])
        first = 3 * (q - 1) + 1
        return _dt.date(y, first, 1), _dt.date(y, first + 2, calendar.monthrange(y, first + 2)[1])
    m = _MONTH.match(p)
    if m and 1 <= int(m[2]) <= 12:
        y, mo = int(m[1]), int(m[2])
        return _dt.date(y, mo, 1), _dt.date(y, mo, calendar.monthrange(y, mo)[1])
    raise QlworkError(Problem("bad_period", f"期别“{p}”无法识别", "period not recognised", found=p,
                              expected="如 2025H2、2025Q1 或 2025-03"))


def period_start(period: str) -> _dt.date:
    """First calendar day of a period."""
    return _bounds(period)[0]


def period_end(period: str) -> _dt.date:
    """Last calendar day of a period (2025H2 → 2025-12-31)."""
    return _bounds(period)[1]


def default_issue_date(period: str, lag_days: int = 15) -> _dt.date:
    """The date warnings of ``period`` are issued when none is given: end + ``lag_days``."""
    return period_end(period) + _dt.timedelta(days=int(lag_days))


def previous_period(period: str, periods) -> str | None:
    """The latest of ``periods`` before ``period`` (None when there is none)."""
    earlier = sorted(p for p in map(str, periods) if p < str(period))
    return earlier[-1] if earlier else None


def to_date(v: Any) -> _dt.date | None:
    """A cell or argument → a date (date/datetime/Timestamp/'2025-12-31'/'2025年12月31日'/'2025/12/31'), or None."""
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    try:
        import pandas as pd

        if v is pd.NaT or (isinstance(v, type(pd.NA)) and v is pd.NA):
            return None
        if isinstance(v, pd.Timestamp):
            return v.date()
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass
    if isinstance(v, _dt.datetime):
        return v.date()
    if isinstance(v, _dt.date):
        return v
    t = str(v).strip().replace("年", "-").replace("月", "-").replace("日", "").replace("/", "-").replace(".", "-")
    parts = [x for x in t.split("-") if x]
    if len(parts) != 3 or not all(x.isdigit() for x in parts):
        return None
    try:
        return _dt.date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        return None


def as_date(v: Any, *, name: str = "as_of") -> _dt.date:
    """A required date argument (``--as-of 2026-01-31``): a located error when missing or unreadable."""
    d = to_date(v)
    if d is None:
        raise QlworkError(Problem("bad_date", f"参数 {name} 不是有效日期", f"{name} is not a date", column=name,
                                  found=None if v is None else str(v), expected="日期，如 2026-01-31"))
    return d
