"""Follow-through tasks: the rectification ledger, the risk register, regions — from the official result.

::

    from qlwork.workflow import Project
    from qlwork.workflow import follow_through as ft
    prj = Project.open()
    st = ft.ledger_state(prj, "2025H2", as_of="2026-01-31")   # merged in memory, nothing written
    st.table                                                # items with status on the date
    up = ft.ledger_update(prj, "2025H2", as_of="2026-01-31")  # …and written to data/processed/ledger/
    ft.inspection(prj, "2025H2", as_of="2026-01-31")          # 重点名录
    ft.regions_table(prj, "2025H2")                          # 市州/县市区/乡镇 from the official result

The registers are read from ``data/raw/registers/`` each time (validated, located problems;
cached per :class:`Project`); nothing in ``data/raw`` is written.  ``qlwork ledger update``
writes ``ledger/ledger.parquet`` (the merged ledger — the previous state of the next merge),
``ledger/followup_<period>.parquet``, ``ledger/inspection_<period>.parquet`` and the
pre-filled register ``ledger/整改台账_<period>.xlsx`` that goes back to the units; once filled
in, it replaces ``data/raw/registers/整改台账.xlsx``.  Every date is an argument (``as_of``,
``issued``); nothing here reads the clock.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import pandas as pd

from ..errors import Problem, QlworkError
from ..followup.dates import as_date, default_issue_date, previous_period, to_date
from ..followup.items import ITEM_COLUMNS, LedgerPolicy, items_from_warnings, policy_from
from ..followup.merge import merge_ledger, status_as_of
from ..followup.review import follow_up, inspection_list
from ..io.catalogue import path_of, read_table, write_table
from ..registers.follow import FollowRegisters, read_follow_registers
from ..registers.ledger import LEDGER
from ..registers.risk import RISK
from .official import available_periods, load_result
from .project import Project

__all__ = ["FollowRegisters", "LedgerState", "follow_registers", "ledger_state", "ledger_update", "load_ledger",
           "follow_up_table", "inspection", "regions_table", "township_view", "public_ranking", "officials",
           "risk_table", "register_templates", "as_of_default", "LEDGER_STORE_COLUMNS", "PUBLIC_COLUMNS", "review_sheets",
           "REVIEW_LEDGER_COLUMNS"]

#: the processed ledger (catalogue ``ledger``): the register fields, framework, origin, provenance, state
LEDGER_STORE_COLUMNS = ITEM_COLUMNS + ["file", "sheet", "row", "as_of", "status_eff", "overdue", "days_overdue",
                                       "closed_late"]


def follow_registers(prj: Project) -> FollowRegisters:
    """The project's registers (cached per Project); frameworks named by id in ``framework``."""
    if "follow_registers" not in prj._cache:
        from ..periods import normalize_half_year

        units = prj.units()
        keys = prj.framework_keys()
        periods = (sorted(read_table("values", prj.processed, columns=["period"])["period"].astype(str).unique())
                   if path_of("values", prj.processed).is_file() else None)
        regs = read_follow_registers(prj.raw, units=units, frameworks=prj.frameworks_by_key(), periods=periods,
                                     period_parser=normalize_half_year, base=prj.raw)
        for t in (regs.ledger, regs.ledger_rows):
            if t is not None:
                t["framework"] = t["framework"].map(lambda k: keys.get(k, k) if k is not None else None)
        prj._cache["follow_registers"] = regs
    return prj._cache["follow_registers"]


def officials(prj: Project, periods=None) -> dict:
    """{period: OfficialResult} of the given (default: every available) period, loaded once per Project."""
    cache = prj._cache.setdefault("officials", {})
    out = {}
    for p in (periods if periods is not None else available_periods(prj.processed)):
        if p not in cache:
            cache[p] = load_result(prj.processed, p)
        out[p] = cache[p]
    return out


def load_ledger(prj: Project) -> pd.DataFrame | None:
    """The merged ledger of the last ``qlwork ledger update`` (None when there is none)."""
    p = path_of("ledger", prj.processed)
    return read_table("ledger", prj.processed) if p.is_file() else None


@dataclass(frozen=True, repr=False)
class LedgerState:
    """The ledger merged with the warnings of ``periods``, with each item's status on ``as_of``."""

    periods: tuple[str, ...]
    as_of: _dt.date
    table: pd.DataFrame  # LEDGER_STORE_COLUMNS
    problems: tuple[Problem, ...]
    policy: LedgerPolicy
    issued: Mapping[str, _dt.date] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    def to_frame(self) -> pd.DataFrame:
        return self.table

    def counts(self) -> dict[str, int]:
        t = self.table
        return {"items": len(t), "new": int((t["origin"] == "new").sum()), "kept": int((t["origin"] == "kept").sum()),
                "closed": int((t["status_eff"] == "已销号").sum()), "overdue": int(t["overdue"].sum())}

    def summary_zh(self) -> str:
        c = self.counts()
        return (f"整改台账（截至 {self.as_of}）：{c['items']} 项，其中本次新增 {c['new']} 项、按上次台账保留 {c['kept']} 项；"
                f"已销号 {c['closed']} 项，逾期未销号 {c['overdue']} 项；登记表问题 {len(self.errors)} 个错误、"
                f"{len(self.problems) - len(self.errors)} 个警告")

    def __repr__(self) -> str:
        return f"LedgerState({'、'.join(self.periods)}, as_of={self.as_of}, {self.counts()})"


def _periods_arg(prj: Project, period: str) -> list[str]:
    have = available_periods(prj.processed)
    if str(period).lower() == "all":
        return have
    if period not in have:
        load_result(prj.processed, period)  # the located "no official result" error
    return [period]


def ledger_state(prj: Project, period: str, *, as_of, issued=None, policy: LedgerPolicy | Mapping | None = None,
                 new_items: bool = True) -> LedgerState:
    """Merge the previous ledger, the register and the items of ``period``'s warnings (``all``: every
    period with an official result); status on ``as_of`` (required).  Nothing is written."""
    a = as_date(as_of, name="as_of")
    pol = policy if isinstance(policy, LedgerPolicy) else policy_from(policy)
    regs = follow_registers(prj)
    pers = _periods_arg(prj, period)
    if issued is not None and len(pers) > 1:
        raise QlworkError(Problem("bad_argument", "指定下发日期时只能处理一个期别", "--issued needs a single period",
                                  column="issued", found=str(issued), expected="--period 2025H2 之类的单个期别"))
    offs = officials(prj)
    parts, when = [], {}
    if new_items:
        for p in pers:
            d = as_date(issued, name="issued") if issued is not None else default_issue_date(p, pol.notice_lag_days)
            when[p] = d
            prev = previous_period(p, offs)
            parts.append(items_from_warnings(offs[p], policy=pol, issued=d, risk=regs.risk,
                                             previous=offs.get(prev) if prev else None))
    new = pd.concat(parts, ignore_index=True) if parts else None
    merged, probs = merge_ledger(load_ledger(prj), regs.ledger_rows, new)
    table = _store_frame(status_as_of(merged, a))
    return LedgerState(tuple(pers), a, table, tuple(list(regs.problems) + probs), pol, when)


def _store_frame(t: pd.DataFrame) -> pd.DataFrame:
    """The ledger with the catalogue's types: text columns as text (dates ISO), row as Int64."""
    out = t.reindex(columns=LEDGER_STORE_COLUMNS).copy()
    for c in ("issued", "deadline", "closed"):
        out[c] = out[c].map(lambda v: None if to_date(v) is None else to_date(v).isoformat())
    for c in LEDGER_STORE_COLUMNS:
        if c in ("row", "overdue", "days_overdue", "closed_late"):
            continue
        out[c] = out[c].astype(object).where(out[c].notna(), None).map(lambda v: v if v is None else str(v))
    out["row"] = pd.to_numeric(out["row"], errors="coerce").astype("Int64")
    out["overdue"] = out["overdue"].astype(bool)
    out["closed_late"] = out["closed_late"].astype(bool)
    out["days_overdue"] = out["days_overdue"].astype("int64")
    return out.reset_index(drop=True)


@dataclass(frozen=True, repr=False)
class LedgerUpdate:
    state: LedgerState
    paths: tuple[Path, ...]

    def summary_zh(self) -> str:
        return self.state.summary_zh()

    def __repr__(self) -> str:
        return f"LedgerUpdate({self.state!r}, {len(self.paths)} files)"


def ledger_update(prj: Project, period: str, *, as_of, issued=None, policy=None,
                  exclude_invalid: bool = False) -> LedgerUpdate:
    """:func:`ledger_state`, then write the merged ledger, the follow-up and inspection list of ``period``
    and the pre-filled register for the units (``data/processed/ledger/``).  Register errors stop the
    update (nothing written) unless ``exclude_invalid``: then rows with an error keep their earlier state,
    and those with no earlier state go into the pre-filled register as written, to be corrected."""
    from ..registers.base import write_template

    st = ledger_state(prj, period, as_of=as_of, issued=issued, policy=policy)
    if st.errors and not exclude_invalid:
        raise QlworkError(st.errors)
    written = [write_table("ledger", st.table, prj.processed)]
    for p in st.periods:
        fu = follow_up_table(prj, p, state=st)
        if fu is not None:
            written.append(write_table("ledger_followup", _text(fu), prj.processed, period=p))
        written.append(write_table("inspection", _text(inspection(prj, p, state=st)), prj.processed, period=p))
    last = st.periods[-1] if st.periods else "all"
    rows = st.table.reindex(columns=[c.key for c in LEDGER.columns]).to_dict("records")
    # register rows with an error whose item is nowhere else go back to the units as written, to be corrected
    reg = follow_registers(prj).ledger_rows
    if reg is not None and len(reg):
        have = set(st.table["item_id"].astype(str))
        bad = reg[reg["_bad"].astype(bool) & ~reg["item_id"].astype(str).isin(have)]
        bad = bad[~bad["item_id"].astype(str).duplicated()]
        rows += [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
                 for r in bad.reindex(columns=[c.key for c in LEDGER.columns]).to_dict("records")]
    written.append(write_template(path_of("ledger", prj.processed).parent / f"整改台账_{last}.xlsx", LEDGER, rows))
    return LedgerUpdate(st, tuple(written))


def _text(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object:
            out[c] = out[c].where(out[c].notna(), None).map(lambda v: v if v is None or isinstance(v, str) else str(v))
    return out


def _state(prj: Project, period: str, as_of, policy, state: LedgerState | None) -> LedgerState:
    return state if state is not None else ledger_state(prj, period, as_of=as_of, policy=policy)


def follow_up_table(prj: Project, period: str, *, as_of=None, policy=None,
                    state: LedgerState | None = None) -> pd.DataFrame | None:
    """回头看 in ``period``: the items of the previous period with an official result, checked against
    ``period``'s official result (None when there is no earlier period)."""
    offs = officials(prj)
    prev = previous_period(period, offs)
    if prev is None:
        return None
    st = _state(prj, period, as_of, policy, state)
    return follow_up(st.table, offs[prev], offs[period], policy=st.policy)


def inspection(prj: Project, period: str, *, as_of=None, policy=None, state: LedgerState | None = None) -> pd.DataFrame:
    """重点名录 of ``period`` on ``as_of``: overdue items and repeated warnings, with the reasons."""
    st = _state(prj, period, as_of, policy, state)
    offs = officials(prj)
    return inspection_list(st.table, {p: o for p, o in offs.items() if p <= period}, period, policy=st.policy)


def regions_table(prj: Project, period: str, *, ci: str = "t", level: float = 0.95, draws: int = 2000,
                  seed: int = 20251231, write: bool = False) -> pd.DataFrame:
    """市州/县市区/乡镇 results of ``period`` from the official result (:mod:`qlwork.followup.regions`)."""
    from ..followup.regions import region_results

    t = region_results(officials(prj, [period])[period], ci=ci, level=level, draws=draws, seed=seed)
    if write:
        write_table("regions", t, prj.processed, period=period)
    return t


def township_view(prj: Project, period: str, township: str, *, framework: str | None = None,
                  unit_type: str | None = None) -> pd.DataFrame:
    """The units of one 乡镇 (by default its villages' framework when it has villages) with their official
    score, grade, peer rank and the rank within the township (``rank_in_scope``) — a filter, never re-scored."""
    off = officials(prj, [period])[period]
    sc = off.scope(township)
    if sc.column != "township":
        raise QlworkError(Problem("unknown_scope", f"“{township}”不是乡镇（街道）", "not a township", column="township",
                                  found=township, expected="乡镇（街道）名称"))
    t = sc.ranking(off)
    if framework is None and unit_type is None and (t["unit_type"] == "村居").any():
        unit_type = "村居"
    if framework is not None:
        t = t[t["framework"] == framework]
    if unit_type is not None:
        t = t[t["unit_type"] == unit_type]
    from ..engine.grading import rank_within

    dec = {fid: r.decimals for fid, r in off.results.items()}
    t = t.copy()
    if len(t):  # rank among the units shown (e.g. the township's villages), on the published totals
        t["rank_in_scope"] = rank_within(t["total"], t["framework"], decimals=max(dec.values())).to_numpy()
    return t.sort_values(["framework", "rank_in_scope", "unit_id"], na_position="last").reset_index(drop=True)


#: the columns of the public-release ranking: rank and grade, never a score or an indicator
PUBLIC_COLUMNS = ["rank", "unit_name", "unit_type", "peer_group", "grade"]


def public_ranking(prj: Project, period: str, scope: str | None = None) -> pd.DataFrame:
    """Public-release ranking (公开发布版): per peer group, the official rank and grade of every unit of
    the scope — no score and no indicator value.  For a scope the rank is the rank within the scope
    (``rank_in_scope``), as a township publishes its villages."""
    off = officials(prj, [period])[period]
    sc = off.scope(scope)
    t = sc.ranking(off)
    if sc.column is not None:
        t = t.assign(rank=t["rank_in_scope"])
    t = t.sort_values(["framework", "peer_group", "rank", "unit_name"], na_position="last", kind="stable")
    out = t[["framework"] + PUBLIC_COLUMNS].reset_index(drop=True)
    out["grade"] = out["grade"].fillna("未定等")
    return out


def risk_table(prj: Project, *, as_of, policy=None) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """(risk points with ``review_overdue`` on ``as_of``, per-unit risk measures), or None without a register."""
    from ..followup.measures import risk_measures

    a = as_date(as_of, name="as_of")
    pol = policy if isinstance(policy, LedgerPolicy) else policy_from(policy)
    risk = follow_registers(prj).risk
    if risk is None:
        return None
    t = risk.drop(columns=["_bad"], errors="ignore").copy()
    rev = pd.to_datetime(t["reviewed"].astype(object).where(t["reviewed"].notna(), None), errors="coerce")
    limit = pd.Timestamp(a) - pd.DateOffset(months=pol.review_months)
    t["review_overdue"] = t["risk_id"].notna() & ~((rev >= limit) & (rev <= pd.Timestamp(a))).fillna(False)
    return t, risk_measures(risk, a, policy=pol)


def register_templates(out_dir: str | Path, which=("veto", "bonus", "ledger", "risk")) -> list[Path]:
    """Empty templates (header, fill-in instructions, drop-down lists) of the chosen registers."""
    from ..registers.base import write_template
    from ..registers.rules import BONUS, VETO

    schemas = {"veto": VETO, "bonus": BONUS, "ledger": LEDGER, "risk": RISK}
    bad = [w for w in which if w not in schemas]
    if bad:
        raise QlworkError(Problem("unknown_register", f"未知的登记表 {bad}", "unknown register", found=bad,
                                  expected="、".join(schemas)))
    from ..io.safe import claim_output_dir

    claim_output_dir(out_dir, "templates")  # never into a person's non-empty folder
    return [write_template(Path(out_dir) / schemas[w].file_name, schemas[w]) for w in which]


#: columns of the 整改台账 sheet of the review workbook, in order
REVIEW_LEDGER_COLUMNS = ["item_id", "unit_id", "period", "warning", "problem", "klass", "indicators", "risk_points",
                         "resp_unit", "person", "issued", "deadline", "status_eff", "closed", "evidence",
                         "days_overdue", "as_of"]


def review_sheets(prj: Project, period: str) -> dict[str, pd.DataFrame] | None:
    """{整改台账, 重点名录} for the review workbook, as written by the last ``qlwork ledger update``
    (None when it has not run): the ledger on its date, and the inspection list of ``period``."""
    led = load_ledger(prj)
    if led is None:
        return None
    out = {"整改台账": led[led["period"].astype(str) <= str(period)].reindex(columns=REVIEW_LEDGER_COLUMNS)
           .sort_values(["period", "unit_id", "item_id"], ascending=[False, True, True]).reset_index(drop=True)}
    p = path_of("inspection", prj.processed, period=period)
    if p.is_file():
        ins = read_table("inspection", prj.processed, period=period)
        ins = ins.assign(warned_periods=ins["warned_periods"].map(period_list_label))
        out["重点名录"] = ins[["unit_id", "unit_name", "unit_type", "county", "township", "total", "grade", "reasons",
                            "n_overdue", "oldest_deadline", "warned_periods", "as_of"]]
    return out


def period_list_label(v) -> str | None:
    """"2025H1、2025H2" as a person reads it: "2025年上半年、2025年下半年" (blank stays blank)."""
    from ..labels import period_label

    if not isinstance(v, str) or not v:
        return None
    return "、".join(period_label(p) for p in v.split("、"))


def as_of_default(period: str, policy: LedgerPolicy = LedgerPolicy()) -> _dt.date:
    """A reproducible default date for views of ``period``: the day its warnings are issued."""
    return default_issue_date(period, policy.notice_lag_days)

