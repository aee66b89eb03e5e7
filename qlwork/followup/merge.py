"""Merging the ledger with new warnings, and each item's status on a given date.

:func:`merge_ledger` combines three tables keyed by 事项编号 (item_id):

1. ``previous`` — the ledger as merged last time (``data/processed/ledger/ledger.parquet``);
2. ``register`` — the rows of the register the units and supervisors filled in;
3. ``new`` — items created from this period's warnings (:mod:`.items`).

Rules:

- **No entry is lost**: every item of ``previous``, of ``register`` and of ``new`` is in the
  result.  An item of ``previous`` that was in the register before and is missing from it now
  is kept as it was (origin ``kept``) and reported (``entry_missing_from_register``, a
  warning); an item qlwork created that has not come back in a filled-in register yet stays
  ``new`` without a warning.  A new item whose id exists already is not
  added again (the register's state wins).
- **Status only moves forward**: progress 未整改 (0) → 整改中 (1) → 已销号 (2).  逾期 is a
  lateness marker, not a step: written by a person it keeps the item's progress.  A register
  row whose progress is lower than the previous one is reported (``status_backward``) and the
  previous status, closing date and evidence are kept.
- **Dates of record do not move**: a changed 下发日期 or 整改期限 (``deadline_changed``) or a
  changed 销号日期 of a closed item (``closed_date_changed``) is reported and the earlier value
  kept — an extension is recorded in 备注, never by moving the deadline.
- Register rows with errors (``_bad``) keep the previous state of their item; with no previous
  state the item created from the warning is used, and a row that is neither is left out (its
  problems say why).

:func:`status_as_of` computes, on a given date ``as_of`` (never the clock):

    closed_eff = status 已销号 and 销号日期 ≤ as_of
    overdue    = not closed_eff and 整改期限 < as_of
    status_eff = 已销号 if closed_eff, 逾期 if overdue, else the progress (未整改/整改中)
    days_overdue = (as_of − 整改期限) days when overdue, else 0
    closed_late  = closed_eff and 销号日期 > 整改期限
"""
from __future__ import annotations

import datetime as _dt

import numpy as np
import pandas as pd

from ..errors import Problem
from ..registers.ledger import CLOSED, IN_PROGRESS, LEDGER, LEDGER_FIELDS, OPEN, OVERDUE
from .dates import to_date
from .items import ITEM_COLUMNS

__all__ = ["merge_ledger", "status_as_of", "progress_of", "PROGRESS", "STATE_COLUMNS"]

PROGRESS = {OPEN: 0, IN_PROGRESS: 1, CLOSED: 2}

#: columns added by :func:`status_as_of`
STATE_COLUMNS = ["as_of", "status_eff", "overdue", "days_overdue", "closed_late"]

_KEEP_ON_BACKWARD = ("status", "closed", "evidence")
_DATES_OF_RECORD = ("issued", "deadline")


def progress_of(status, previous: int | None = None) -> int:
    """Progress step of a written status (逾期 keeps ``previous``, else counts as 未整改)."""
    if status in PROGRESS:
        return PROGRESS[status]
    return previous if previous is not None else 0


def _records(df: pd.DataFrame | None) -> dict[str, dict]:
    if df is None or not len(df):
        return {}
    out = {}
    for r in df.to_dict("records"):
        if r.get("item_id") is None or (isinstance(r.get("item_id"), float) and np.isnan(r["item_id"])):
            continue
        for k in ("issued", "deadline", "closed"):  # stored as text in the processed ledger, dates in the register
            r[k] = to_date(r.get(k))
        out[str(r["item_id"])] = {k: (None if _na(v) else v) for k, v in r.items()}
    return out


def _na(v) -> bool:
    return v is None or v is pd.NaT or v is pd.NA or (isinstance(v, float) and np.isnan(v))


def _same(a, b) -> bool:
    na, nb = _na(a), _na(b)
    return (na and nb) or (not na and not nb and a == b)


def merge_ledger(previous: pd.DataFrame | None, register: pd.DataFrame | None, new: pd.DataFrame | None,
                 *, label: str = f"registers/{LEDGER.file_name}") -> tuple[pd.DataFrame, list[Problem]]:
    """(merged ledger with columns :data:`ITEM_COLUMNS` + file/sheet/row, problems) — see the module doc."""
    probs: list[Problem] = []
    prev = _records(previous)
    reg_all = register if register is not None else pd.DataFrame(columns=LEDGER_FIELDS + ["file", "sheet", "row", "_bad"])
    bad_ids = set(reg_all.loc[reg_all["_bad"].astype(bool), "item_id"].dropna().astype(str)) if len(reg_all) else set()
    reg = _records(reg_all[~reg_all["_bad"].astype(bool)] if len(reg_all) else reg_all)
    out: dict[str, dict] = {}
    cols = ITEM_COLUMNS + ["file", "sheet", "row"]

    for iid, p in prev.items():
        r = reg.get(iid)
        if r is None:
            if p.get("origin") == "new":  # created by qlwork, not yet returned in a filled-in register
                out[iid] = dict(p)
                continue
            out[iid] = dict(p, origin="kept")
            if iid not in bad_ids:
                probs.append(Problem("entry_missing_from_register", f"整改事项 {iid} 不在登记表中，已按上次台账保留",
                                     "item missing from the register; kept as last merged", file=label,
                                     found=iid, expected="登记表保留全部事项（不得删除）", severity="warning"))
            continue
        m = dict(p)
        m.update({k: r.get(k) for k in LEDGER_FIELDS})
        m.update(file=r.get("file"), sheet=r.get("sheet"), row=r.get("row"), origin="register",
                 framework=p.get("framework"))
        where = dict(file=r.get("file"), sheet=r.get("sheet"), row=r.get("row"))
        for k in _DATES_OF_RECORD:
            if not _same(p.get(k), r.get(k)):
                probs.append(Problem("deadline_changed", f"事项 {iid} 的{_title(k)}由 {p.get(k)} 改为 {r.get(k)}，按原日期计",
                                     "a date of record was changed; the original is kept", column=_title(k),
                                     found=str(r.get(k)), expected=str(p.get(k)), severity="warning", **where))
                m[k] = p.get(k)
        p_prog = progress_of(p.get("status"))
        r_prog = progress_of(r.get("status"), p_prog)
        if r_prog < p_prog:
            probs.append(Problem("status_backward", f"事项 {iid} 的整改状态由“{p.get('status')}”退回“{r.get('status')}”，"
                                 "状态只能向前，保留原状态", "status moved backwards; the earlier status is kept",
                                 column=_title("status"), found=r.get("status"), expected=f"不低于“{p.get('status')}”",
                                 **where))
            for k in _KEEP_ON_BACKWARD:
                m[k] = p.get(k)
        elif p.get("status") == CLOSED and r.get("status") == CLOSED and not _same(p.get("closed"), r.get("closed")):
            probs.append(Problem("closed_date_changed", f"事项 {iid} 的销号日期由 {p.get('closed')} 改为 {r.get('closed')}，按原日期计",
                                 "the closing date of a closed item was changed; the original is kept",
                                 column=_title("closed"), found=str(r.get("closed")), expected=str(p.get("closed")),
                                 severity="warning", **where))
            m["closed"] = p.get("closed")
        elif r.get("status") == OVERDUE and p_prog > 0:
            m["status"] = p.get("status") if p.get("status") in PROGRESS else m["status"]
        out[iid] = m

    for iid, r in reg.items():
        if iid in out:
            continue
        out[iid] = dict({k: r.get(k) for k in LEDGER_FIELDS}, framework=r.get("framework"), origin="register",
                        file=r.get("file"), sheet=r.get("sheet"), row=r.get("row"))

    for iid, n in _records(new).items():
        if iid in out:  # an id only on rows with errors still gets its item (reported, never lost)
            continue
        out[iid] = dict(n, origin="new", file=None, sheet=None, row=None)

    df = pd.DataFrame(list(out.values()), columns=cols) if out else pd.DataFrame(columns=cols)
    df = df.sort_values(["period", "unit_id", "item_id"], kind="stable").reset_index(drop=True)
    return df, probs


def _title(key: str) -> str:
    return next(c.title for c in LEDGER.columns if c.key == key)


def _dates(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s.astype(object).where(s.notna(), None), errors="coerce")


def status_as_of(ledger: pd.DataFrame, as_of: _dt.date) -> pd.DataFrame:
    """A copy of ``ledger`` with :data:`STATE_COLUMNS` on ``as_of`` (module doc)."""
    t = ledger.copy()
    a = pd.Timestamp(as_of)
    deadline, closed = _dates(t["deadline"]), _dates(t["closed"])
    written = t["status"].astype(object)
    closed_eff = (written == CLOSED).to_numpy() & closed.notna().to_numpy() & (closed <= a).fillna(False).to_numpy()
    overdue = ~closed_eff & (deadline < a).fillna(False).to_numpy()
    prog = written.where(written.isin([OPEN, IN_PROGRESS]), None)
    # written 已销号 but closed after as_of (or without a date): on as_of the work was under way
    prog = prog.where(prog.notna() | (written != CLOSED), IN_PROGRESS).fillna(OPEN)
    t["as_of"] = str(as_of)
    t["status_eff"] = np.where(closed_eff, CLOSED, np.where(overdue, OVERDUE, prog.to_numpy(dtype=object)))
    t["overdue"] = overdue
    t["days_overdue"] = np.where(overdue, (a - deadline).dt.days.fillna(0).to_numpy(), 0).astype("int64")
    t["closed_late"] = closed_eff & (closed > deadline).fillna(False).to_numpy()
    return t
