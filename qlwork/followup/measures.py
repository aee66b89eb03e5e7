"""Measures derived from the ledger and the risk register, for views and as framework indicators.

Ledger, per unit, on a date A (items *due*: 整改期限 ≤ A)::

    rect_close_rate  = 100 · #(due items 已销号 with 销号日期 ≤ A) / #due        (%)
    rect_ontime_rate = 100 · #(due items 已销号 with 销号日期 ≤ 整改期限) / #due  (%)
    rect_overdue     = #due − #(closed by A)                                     (items)

Risk register, per unit, on a date A::

    risk_high_uncontrolled = #(risk points of level 高 without 防控措施)
    risk_high_posts_uncontrolled = #(posts with at least one such point)
    risk_review_overdue    = #(risk points whose 最近评估日期 is more than review_months before A,
                               or after A — not yet reviewed on A)
    risk_key_post_coverage = 100 · #(key posts covered) / #(key posts)            (%)

A key post is *covered* when it has at least one identified risk point and every risk point of
the post has control measures.  A rate with an empty denominator takes ``policy.empty_rate``
(default 100: no item to rectify / no key post counts as complete).

**As framework indicators.**  A framework uses a measure by declaring an indicator whose ``id``
is the measure id and whose ``source`` is the register's title (整改台账 / 廉政风险点登记表)::

    - {id: rect_close_rate, name: 预警问题整改销号率, direction: 1, unit: "%", source: 整改台账,
       kind: percent, weight: 0.10, range: [0, 100], goalposts: [50, 100]}

``qlwork ingest`` then adds its values to ``values.parquet`` (:func:`derived_values`): the
ledger measures for every period P on A = the last day of P, counting only items of earlier
periods (the items of P's own warnings are issued after P ends), for every unit of the
framework; the risk measures for the latest period only (the register is a snapshot: it
keeps the last review, not the history), for the units that appear in the register.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd

from ..errors import Problem
from ..registers.ledger import CLOSED, LEDGER
from ..registers.risk import RISK
from .dates import period_end
from .items import LedgerPolicy

__all__ = ["Measure", "MEASURES", "ledger_measures", "risk_measures", "derived_values", "DERIVED_SOURCES"]


@dataclass(frozen=True)
class Measure:
    id: str
    name: str
    unit: str
    direction: int
    register: str  # LEDGER.title or RISK.title


MEASURES: dict[str, Measure] = {m.id: m for m in [
    Measure("rect_close_rate", "预警问题整改销号率", "%", 1, LEDGER.title),
    Measure("rect_ontime_rate", "预警问题按期销号率", "%", 1, LEDGER.title),
    Measure("rect_overdue", "逾期未销号整改事项数", "项", -1, LEDGER.title),
    Measure("risk_high_uncontrolled", "未落实防控措施的高等级风险点数", "个", -1, RISK.title),
    Measure("risk_high_posts_uncontrolled", "高风险点未落实防控措施的岗位数", "个", -1, RISK.title),
    Measure("risk_review_overdue", "逾期未评估的风险点数", "个", -1, RISK.title),
    Measure("risk_key_post_coverage", "关键岗位风险防控覆盖率", "%", 1, RISK.title),
]}

#: framework ``source`` values that mean "derived from a register"
DERIVED_SOURCES = {LEDGER.title: "ledger", RISK.title: "risk"}

_LEDGER_COLS = ["unit_id", "n_items", "n_due", "n_closed", "n_closed_on_time", "rect_close_rate",
                "rect_ontime_rate", "rect_overdue"]
_RISK_COLS = ["unit_id", "n_posts", "n_key_posts", "n_key_covered", "n_risk_points", "n_high",
              "risk_high_uncontrolled", "risk_high_posts_uncontrolled", "risk_review_overdue", "risk_key_post_coverage"]


def _ts(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s.astype(object).where(s.notna(), None), errors="coerce")


def ledger_measures(ledger: pd.DataFrame, as_of: _dt.date, *, units=None, before_period: str | None = None,
                    policy: LedgerPolicy = LedgerPolicy()) -> pd.DataFrame:
    """Per unit: items, due, closed, on time and the three ledger measures on ``as_of`` (module doc).

    ``units``: ids to report (units without items get the empty rate and 0 overdue);
    ``before_period``: count only items of earlier periods."""
    t = ledger
    if before_period is not None and len(t):
        t = t[t["period"].astype(str) < str(before_period)]
    a = pd.Timestamp(as_of)
    ids = pd.Index(sorted(set(map(str, units)) if units is not None else set(t["unit_id"].astype(str))), name="unit_id")
    if len(t):
        deadline, closed = _ts(t["deadline"]), _ts(t["closed"])
        due = (deadline <= a).fillna(False)
        is_closed = (t["status"] == CLOSED) & closed.notna() & (closed <= a).fillna(False)
        on_time = is_closed & (closed <= deadline).fillna(False)
        g = pd.DataFrame({"unit_id": t["unit_id"].astype(str).to_numpy(), "n_items": 1, "n_due": due.to_numpy(int),
                          "n_closed": (is_closed & due).to_numpy(int), "n_closed_on_time": (on_time & due).to_numpy(int)})
        agg = g.groupby("unit_id").sum()
    else:
        agg = pd.DataFrame(columns=["n_items", "n_due", "n_closed", "n_closed_on_time"])
    agg = agg.reindex(ids).fillna(0).astype("int64")
    due = agg["n_due"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        agg["rect_close_rate"] = np.where(due > 0, 100.0 * agg["n_closed"] / np.maximum(due, 1), policy.empty_rate)
        agg["rect_ontime_rate"] = np.where(due > 0, 100.0 * agg["n_closed_on_time"] / np.maximum(due, 1),
                                           policy.empty_rate)
    agg["rect_overdue"] = (agg["n_due"] - agg["n_closed"]).astype(float)
    return agg.reset_index()[_LEDGER_COLS]


def risk_measures(risk: pd.DataFrame, as_of: _dt.date, *, policy: LedgerPolicy = LedgerPolicy()) -> pd.DataFrame:
    """Per unit of the register: posts, key posts, risk points and the four risk measures (module doc)."""
    if risk is None or not len(risk):
        return pd.DataFrame(columns=_RISK_COLS)
    t = risk.copy()
    t["unit_id"] = t["unit_id"].astype(str)
    t["post"] = t["post"].astype(str)
    has_risk = t["risk_id"].notna()
    controlled = t["controls"].notna()
    high_unc = has_risk & (t["level"] == "高") & ~controlled
    a = pd.Timestamp(as_of)
    rev = _ts(t["reviewed"])
    limit = a - pd.DateOffset(months=policy.review_months)
    overdue = has_risk & ~((rev >= limit) & (rev <= a)).fillna(False)
    t = t.assign(_risk=has_risk, _high=has_risk & (t["level"] == "高"), _hu=high_unc, _ov=overdue,
                 _unc=has_risk & ~controlled, _key=t["key_post"] == "是")
    posts = t.groupby(["unit_id", "post"]).agg(key=("_key", "any"), risks=("_risk", "sum"), unc=("_unc", "sum"),
                                              hu=("_hu", "sum"))
    posts["covered"] = posts["key"] & (posts["risks"] > 0) & (posts["unc"] == 0)
    pu = posts.groupby("unit_id").agg(n_posts=("key", "size"), n_key_posts=("key", "sum"),
                                      n_key_covered=("covered", "sum"),
                                      risk_high_posts_uncontrolled=("hu", lambda s: int((s > 0).sum())))
    ru = t.groupby("unit_id").agg(n_risk_points=("_risk", "sum"), n_high=("_high", "sum"),
                                  risk_high_uncontrolled=("_hu", "sum"), risk_review_overdue=("_ov", "sum"))
    out = pu.join(ru).astype("int64")
    k = out["n_key_posts"].to_numpy(float)
    out["risk_key_post_coverage"] = np.where(k > 0, 100.0 * out["n_key_covered"] / np.maximum(k, 1), policy.empty_rate)
    for c in ("risk_high_uncontrolled", "risk_high_posts_uncontrolled", "risk_review_overdue"):
        out[c] = out[c].astype(float)
    return out.reset_index()[_RISK_COLS]


def derived_values(frameworks: Mapping, units: pd.DataFrame, periods, *, ledger: pd.DataFrame | None,
                   risk: pd.DataFrame | None, policy: LedgerPolicy = LedgerPolicy(),
                   register_dir: str = "registers") -> tuple[pd.DataFrame, list[Problem]]:
    """Values (``values.parquet`` columns) of every framework indicator that declares a register as its
    ``source`` (module doc), and the problems: an id that is no measure (``unknown_measure``), a
    register that is absent (``register_missing``, a warning; no values)."""
    cols = ["unit_id", "period", "indicator_id", "value", "source", "file", "sheet", "row", "column"]
    probs: list[Problem] = []
    parts: list[pd.DataFrame] = []
    periods = sorted(map(str, periods or []))
    for key, fw in frameworks.items():
        wanted = [i for i in fw.indicators.values() if i.source in DERIVED_SOURCES]
        if not wanted or not periods:
            continue
        fu = units[units["framework"].astype(str) == key]
        for ind in wanted:
            m = MEASURES.get(ind.id)
            yaml_file = f"framework_{key}.yaml"
            if m is None or m.register != ind.source:
                ok = [x.id for x in MEASURES.values() if x.register == ind.source]
                probs.append(Problem("unknown_measure", f"指标 {ind.id} 的来源为“{ind.source}”，但不是该登记表可计算的指标",
                                     "indicator id is not a measure of the register it names", file=yaml_file,
                                     column=ind.id, found=ind.id, expected="、".join(ok)))
                continue
            reg = ledger if m.register == LEDGER.title else risk
            schema = LEDGER if m.register == LEDGER.title else RISK
            if reg is None:
                probs.append(Problem("register_missing", f"指标 {ind.id}（{ind.name}）取自{schema.title}，但没有该登记表，无法计算",
                                     "the register this indicator is derived from is absent", file=yaml_file, column=ind.id,
                                     expected=f"{register_dir}/{schema.file_name}", severity="warning"))
                continue
            applies = fu[[ind.applies(t) for t in fu["unit_type"]]]["unit_id"].astype(str)
            targets = periods if m.register == LEDGER.title else periods[-1:]
            for per in targets:
                a = period_end(per)
                if m.register == LEDGER.title:
                    tab = ledger_measures(reg, a, units=applies, before_period=per, policy=policy)
                else:
                    tab = risk_measures(reg, a, policy=policy)
                    tab = tab[tab["unit_id"].isin(set(applies))]
                first = (reg.assign(unit_id=reg["unit_id"].astype(str)).groupby("unit_id")["row"].min()
                         if len(reg) else pd.Series(dtype=float))
                parts.append(pd.DataFrame({
                    "unit_id": tab["unit_id"].astype(str).to_numpy(), "period": per, "indicator_id": ind.id,
                    "value": tab[m.id].astype(float).to_numpy(), "source": schema.title,
                    "file": f"{register_dir}/{schema.file_name}", "sheet": schema.sheet,
                    "row": tab["unit_id"].map(first).fillna(0).astype("int32").to_numpy(),
                    "column": f"派生 derived:{m.id}"}))
    if not parts:
        return pd.DataFrame(columns=cols), probs
    return pd.concat(parts, ignore_index=True)[cols], probs
