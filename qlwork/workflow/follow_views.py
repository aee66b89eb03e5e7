"""Data for the dashboard tabs 整改跟踪 (rectification) and 风险点 (integrity-risk points).

Each function returns a :class:`TabData`: tables ready to show (Chinese column labels from
:mod:`qlwork.labels`, rows already filtered and sorted), headline figures and notes.  Filters
are the dashboard's (period, framework, city, county, township, unit_type), applied to the
units of the period's official result.  Nothing is scored here.

The ledger is the one of the last ``qlwork ledger update`` with each item's status recomputed
on ``as_of`` (default: the date that update used); without one, it is merged in memory
(:func:`qlwork.workflow.follow_through.ledger_state`).  The risk register is read from
``data/raw/registers/`` (validated; rows with errors left out).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import pandas as pd

from ..followup.feedback import ledger_summary
from ..followup.merge import status_as_of
from ..followup.review import follow_up, inspection_list
from ..labels import label_columns, period_label
from .follow_through import (LedgerState, as_of_default, follow_registers, ledger_state, load_ledger, officials,
                             period_list_label, risk_table)
from .project import Project

__all__ = ["TabData", "rectification_tab", "risk_tab", "FILTERS"]

FILTERS = ("framework", "city", "county", "township", "unit_type")


@dataclass(frozen=True)
class TabData:
    """What a tab shows: ``tables`` (title → labelled DataFrame), ``figures`` (headline numbers), ``notes``."""

    title: str
    tables: Mapping[str, pd.DataFrame]
    figures: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([(k, v) for k, v in self.figures.items()], columns=["项目", "值"])


def _units(prj: Project, period: str, filters: Mapping[str, Any]) -> pd.DataFrame:
    rk = officials(prj, [period])[period].ranking()
    for k in FILTERS:
        v = filters.get(k)
        if v not in (None, "", "全部"):
            rk = rk[rk[k].astype(str) == str(v)]
    return rk


def _ledger_date(prj: Project):
    """The date of the last ``qlwork ledger update`` (None without one)."""
    led = load_ledger(prj)
    if led is None or not len(led):
        return None
    from ..followup.dates import as_date

    return as_date(str(led["as_of"].iloc[0]))


def _state(prj: Project, period: str, as_of) -> tuple[pd.DataFrame, str]:
    led = load_ledger(prj)
    if led is not None:
        a = as_of or (str(led["as_of"].iloc[0]) if len(led) else None) or as_of_default(period)
        from ..followup.dates import as_date

        a = as_date(a)
        t = status_as_of(led.drop(columns=["as_of", "status_eff", "overdue", "days_overdue", "closed_late"]), a)
        return t, str(a)
    st: LedgerState = ledger_state(prj, period, as_of=as_of or as_of_default(period))
    return st.table, str(st.as_of)


_ITEM_COLS = ["item_id", "unit_id", "unit_name", "county", "township", "period", "warning", "problem", "klass",
              "indicators", "person", "deadline", "status_eff", "days_overdue", "closed", "evidence"]


def rectification_tab(prj: Project, period: str, *, as_of=None, **filters) -> TabData:
    """整改跟踪: progress by class, the items (overdue first), the inspection list, the follow-up of
    the previous period's items and the close rate per region, for the filtered units."""
    units = _units(prj, period, filters)
    ids = set(units["unit_id"].astype(str))
    table, a = _state(prj, period, as_of)
    t = table[table["unit_id"].astype(str).isin(ids) & (table["period"].astype(str) <= period)].copy()
    info = units.set_index("unit_id")[["unit_name", "county", "township"]]
    t = t.join(info, on="unit_id")
    s = ledger_summary(t)
    s_pct = s.assign(close_rate=(100 * s["close_rate"].astype(float)).round(1)) if len(s) else s
    s_lab = label_columns(s_pct, mapping={"group": "类别", "n_items": "整改事项", "n_due": "已到期", "n_closed": "已销号",
                                          "n_overdue": "逾期未销号", "close_rate": "到期事项销号率(%)"})
    items = t.sort_values(["overdue", "days_overdue", "deadline", "item_id"], ascending=[False, False, True, True])
    offs = officials(prj)
    upto = {p: o for p, o in offs.items() if p <= period}
    ins = inspection_list(t, upto, period) if period in upto else pd.DataFrame()
    ins = ins[ins["unit_id"].isin(ids)] if len(ins) else ins
    if len(ins):  # as a person reads periods: 2025年上半年、2025年下半年
        ins = ins.assign(warned_periods=ins["warned_periods"].map(period_list_label))
    prev = [p for p in upto if p < period]
    fu = follow_up(t, upto[prev[-1]], upto[period]) if prev else pd.DataFrame()
    by_region = _rates_by(t, units)
    tot = s.iloc[0] if len(s) else None
    figures = {"截至日期": a, "整改事项": int(tot.n_items) if tot is not None else 0,
               "已销号": int(tot.n_closed) if tot is not None else 0,
               "逾期未销号": int(tot.n_overdue) if tot is not None else 0,
               "到期事项销号率(%)": None if tot is None or pd.isna(tot.close_rate) else round(100 * float(tot.close_rate), 1),
               "重点名录单位": int(len(ins))}
    notes = (f"{period_label(period)}及以前各期预警生成的整改事项；状态按 {a} 判定（逾期：未销号且已过整改期限）。",
             "回头看：上期整改事项关联指标在本期正式结果中的得分变化；名录：逾期未销号或连续两期预警。")
    return TabData("整改跟踪", {
        "整改进度": s_lab,
        "整改事项": label_columns(items.reindex(columns=_ITEM_COLS)),
        "重点名录": label_columns(ins.drop(columns=["reason_codes", "period", "framework"], errors="ignore")),
        "回头看": label_columns(fu.drop(columns=["framework", "as_of"], errors="ignore")),
        "按区域": by_region}, figures, notes)


def _rates_by(t: pd.DataFrame, units: pd.DataFrame) -> pd.DataFrame:
    """Close rate and overdue items per 县市区 and 乡镇 (units without items count with 0 items)."""
    rows = []
    for col, name in (("county", "县市区"), ("township", "乡镇（街道）")):
        for reg, g in t.groupby(col, sort=True):
            s = ledger_summary(g, by=None).iloc[0]
            rows.append({"层级": name, "区域": reg, "单位数": int((units[col] == reg).sum()),
                         "整改事项": int(s.n_items), "已到期": int(s.n_due), "已销号": int(s.n_closed),
                         "逾期未销号": int(s.n_overdue),
                         "到期事项销号率(%)": None if pd.isna(s.close_rate) else round(100 * float(s.close_rate), 1)})
    return pd.DataFrame(rows, columns=["层级", "区域", "单位数", "整改事项", "已到期", "已销号", "逾期未销号",
                                       "到期事项销号率(%)"])


def risk_tab(prj: Project, period: str, *, as_of=None, **filters) -> TabData:
    """风险点: per unit the posts, key posts, risk points and the four measures; the high-level points
    without control measures; reviews overdue; coverage per 县市区."""
    units = _units(prj, period, filters)
    a = as_of or _ledger_date(prj) or as_of_default(period)  # the same date as 整改跟踪
    got = risk_table(prj, as_of=a)
    if got is None:
        return TabData("风险点", {}, {"廉政风险点登记表": "无"},
                       ("没有 data/raw/registers/廉政风险点登记表.xlsx；模板：qlwork registers template",))
    rows, meas = got
    ids = set(units["unit_id"].astype(str))
    info = units.set_index("unit_id")[["unit_name", "unit_type", "county", "township"]]
    rows = rows[rows["unit_id"].astype(str).isin(ids)].join(info, on="unit_id")
    meas = meas[meas["unit_id"].astype(str).isin(ids)].join(info, on="unit_id")
    hi = rows[(rows["level"] == "高") & rows["controls"].isna() & rows["risk_id"].notna()]
    od = rows[rows["review_overdue"]]
    cols = ["unit_id", "unit_name", "unit_type", "county", "post", "key_post", "risk_id", "risk", "level",
            "controls", "owner", "reviewed"]
    m_cols = ["unit_id", "unit_name", "unit_type", "county", "township", "n_posts", "n_key_posts", "n_key_covered",
              "n_risk_points", "n_high", "risk_high_uncontrolled", "risk_high_posts_uncontrolled",
              "risk_review_overdue", "risk_key_post_coverage"]
    reg = meas.groupby("county").agg(单位数=("unit_id", "size"), 关键岗位数=("n_key_posts", "sum"),
                                     已覆盖=("n_key_covered", "sum"), 未落实防控的高等级风险点=("risk_high_uncontrolled", "sum"),
                                     逾期未评估=("risk_review_overdue", "sum")).reset_index().rename(
        columns={"county": "县市区"}) if len(meas) else pd.DataFrame()
    if len(reg):
        reg["关键岗位防控覆盖率(%)"] = (100 * reg["已覆盖"] / reg["关键岗位数"].where(reg["关键岗位数"] > 0)).round(1)
    figures = {"截至日期": str(a), "登记单位": int(meas["unit_id"].nunique()), "风险点": int(rows["risk_id"].notna().sum()),
               "未落实防控的高等级风险点": int(len(hi)), "逾期未评估": int(len(od)),
               "关键岗位防控覆盖率(%)": None if not len(meas) or meas["n_key_posts"].sum() == 0 else
               round(100 * float(meas["n_key_covered"].sum()) / float(meas["n_key_posts"].sum()), 1)}
    regs = follow_registers(prj)
    notes = (f"评估逾期：最近评估日期早于 {a} 前 12 个月；关键岗位覆盖：有风险点且全部落实防控措施。",) + \
        ((f"登记表有 {len(regs.errors)} 处错误，出错的行未计入（qlwork registers check 查看）。",) if regs.errors else ())
    return TabData("风险点", {
        "未落实防控的高等级风险点": label_columns(hi.reindex(columns=cols)),
        "逾期未评估": label_columns(od.reindex(columns=cols)),
        "各单位": label_columns(meas.reindex(columns=m_cols).sort_values(
            ["risk_high_uncontrolled", "risk_review_overdue"], ascending=False)),
        "按县市区": reg}, figures, notes)
