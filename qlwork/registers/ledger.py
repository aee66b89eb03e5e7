"""The rectification ledger (整改台账): one row per rectification item, filled in by units and supervisors.

File ``data/raw/registers/整改台账.xlsx`` (sheet 整改台账); the template and each
period's pre-filled copy are written by ``qlwork ledger`` (:mod:`qlwork.workflow.follow_through`)::

    事项编号 | 单位编码 | 预警期别 | 预警类型 | 问题描述 | 问题类别 | 关联指标 | 关联风险点 | 责任单位 | 责任人 |
    下发日期 | 整改期限 | 整改状态 | 整改措施 | 销号日期 | 佐证材料 | 备注

Checks (each a located problem, besides those of :func:`~qlwork.registers.base.read_register`:
unknown unit, unreadable period or date, a status outside 未整改/整改中/已销号/逾期,
duplicate 事项编号):

- ``deadline_before_issue``: 整改期限 earlier than 下发日期;
- ``closed_without_date`` / ``closed_without_evidence``: 已销号 without 销号日期 / 佐证材料
  (an item is closed on evidence, 对账销号);
- ``date_without_closure``: a 销号日期 on an item that is not 已销号;
- ``closed_before_issue``: 销号日期 before 下发日期;
- ``unknown_indicator``: a 关联指标 that is neither an id nor a name of the unit's framework;
- ``unknown_risk_point``: a 关联风险点 not in the unit's rows of the risk register (when given);
- ``unknown_period``: a 预警期别 that is not one of the data's periods;
- ``no_responsible_person`` (warning): 整改中/已销号 without 责任人.

Rows with an error are marked ``_bad``; the merge (:mod:`qlwork.followup.merge`) keeps
their earlier state instead.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping

import pandas as pd

from ..errors import Problem
from .base import Column, RegisterSchema, is_blank, read_register
from .rules import _period_problems

__all__ = ["LEDGER", "STATUSES", "CLASSES", "OPEN", "IN_PROGRESS", "CLOSED", "OVERDUE", "LEDGER_FIELDS",
           "read_ledger", "split_list"]

OPEN, IN_PROGRESS, CLOSED, OVERDUE = "未整改", "整改中", "已销号", "逾期"
STATUSES = (OPEN, IN_PROGRESS, CLOSED, OVERDUE)
#: 堵点 (a procedure or system that blocks), 痛点 (what the public feels), 污染点 (misconduct)
CLASSES = ("堵点", "痛点", "污染点")

LEDGER = RegisterSchema(
    name="ledger", title="整改台账", file_name="整改台账.xlsx", sheet="整改台账",
    columns=(
        Column("item_id", "事项编号", "text", help="qlwork 生成，勿改，如 2025H2-U000123-rectify_rate；新增事项自编唯一编号"),
        Column("unit_id", "单位编码", "unit", help="被预警（责任）单位的单位编码"),
        Column("period", "预警期别", "period", help="产生该问题的评价期，如 2025H2"),
        Column("warning", "预警类型", "text", aliases=("问题来源",), help="如 低于合格线、同类末位；其他来源写 巡察反馈 等"),
        Column("problem", "问题描述", "text", help="体检报告单发现的问题"),
        Column("klass", "问题类别", "choice", choices=CLASSES, help="堵点、痛点或污染点"),
        Column("indicators", "关联指标", "text", required=False, help="指标编码或名称，多个用“；”分隔"),
        Column("risk_points", "关联风险点", "text", required=False, help="廉政风险点编号，多个用“；”分隔"),
        Column("resp_unit", "责任单位", "text", required=False, help="默认为被预警单位"),
        Column("person", "责任人", "text", required=False, help="整改责任人（整改中、已销号时必填）"),
        Column("issued", "下发日期", "date", help="预警通知书下发日期，如 2026-01-15"),
        Column("deadline", "整改期限", "date", help="默认下发后 30 天"),
        Column("status", "整改状态", "choice", choices=STATUSES,
               help="未整改、整改中、已销号（逾期由期限自动判定，也可填写）"),
        Column("measures", "整改措施", "text", required=False, help="已采取的整改措施"),
        Column("closed", "销号日期", "date", required=False, help="已销号时必填"),
        Column("evidence", "佐证材料", "text", required=False, help="已销号时必填：文件名、文号或说明"),
        Column("note", "备注", "text", required=False, help="选填"),
    ),
    unique=("item_id",),
    description="每条预警生成的整改事项：问题、关联指标或风险点、类别、责任单位与责任人、期限、状态与佐证；"
                "状态只能向前（未整改 → 整改中 → 已销号），逾期按日期判定。",
)

#: the ledger's fields (register keys) in order
LEDGER_FIELDS = [c.key for c in LEDGER.columns]

_SPLIT = re.compile(r"[；;、,，\s]+")


def split_list(v) -> list[str]:
    """A list cell ("rectify_rate；审计问题整改率") → its items (blank → [])."""
    if is_blank(v):
        return []
    return [t for t in _SPLIT.split(str(v).strip()) if t]


def read_ledger(path: str | Path, *, units: pd.DataFrame | None = None, frameworks: Mapping | None = None,
                risk: pd.DataFrame | None = None, periods=None, label: str | None = None,
                period_parser=None, root=None) -> tuple[pd.DataFrame, list[Problem]]:
    """The ledger register → (rows: the schema's keys + file/sheet/row/_bad, problems).

    ``units``: registry (unit_id[, framework]); ``frameworks``: registry key → Framework (to check
    关联指标); ``risk``: the risk register's rows (to check 关联风险点); ``periods``: the data's periods.
    Indicator names in 关联指标 are rewritten to their ids.
    """
    df, probs = read_register(path, LEDGER, units=units, label=label, period_parser=period_parser,
                               positions=(where_col := {}), root=root)
    fw_of = ({} if units is None or "framework" not in units.columns
             else dict(zip(units["unit_id"].astype(str), units["framework"].astype(str))))
    risk_ids: dict[str, set] = {}
    if risk is not None and len(risk):
        r = risk.dropna(subset=["risk_id"])
        for u, g in r.groupby(r["unit_id"].astype(str)):
            risk_ids[u] = set(g["risk_id"].astype(str))

    def bad(i, code, zh, en, key, found=None, expected=None, severity="error"):
        r = df.loc[i]
        probs.append(Problem(code, zh, en, file=r["file"], sheet=r["sheet"], row=int(r["row"]),
                             column=where_col.get(key, key), found=found, expected=expected, severity=severity))
        if severity == "error":
            df.loc[i, "_bad"] = True

    reported = {(p.row, p.column) for p in probs}  # cells already reported by the reader (e.g. bad_date)
    ind_out = []
    for i, r in df.iterrows():
        issued, deadline, closed, status = (None if is_blank(r[k]) else r[k] for k in ("issued", "deadline", "closed",
                                                                                        "status"))
        if issued is not None and deadline is not None and deadline < issued:
            bad(i, "deadline_before_issue", "整改期限早于下发日期", "deadline before the issue date", "deadline",
                found=str(deadline), expected=f"不早于下发日期 {issued}")
        if status == CLOSED:
            if closed is None and (int(r["row"]), where_col.get("closed")) not in reported:
                bad(i, "closed_without_date", "已销号事项未填写销号日期", "closed item without a closing date", "closed",
                    found="空白 blank", expected="销号日期，如 2026-02-10")
            if is_blank(r["evidence"]):
                bad(i, "closed_without_evidence", "已销号事项未提供佐证材料（对账销号）",
                    "closed item without evidence", "evidence", found="空白 blank", expected="佐证材料的文件名、文号或说明")
        elif closed is not None and status in STATUSES:
            bad(i, "date_without_closure", f"填写了销号日期，但整改状态为“{status}”",
                "a closing date on an item that is not closed", "closed", found=f"{status}，{closed}",
                expected="已销号，或删去销号日期")
        if closed is not None and issued is not None and closed < issued:
            bad(i, "closed_before_issue", "销号日期早于下发日期", "closed before the issue date", "closed",
                found=str(closed), expected=f"不早于下发日期 {issued}")
        if status in (IN_PROGRESS, CLOSED) and is_blank(r["person"]):
            bad(i, "no_responsible_person", f"“{status}”事项未填写责任人", "no responsible person", "person",
                found="空白 blank", expected="责任人姓名", severity="warning")
        # 关联指标: ids or names of the unit's framework
        toks = split_list(r["indicators"])
        fw = (frameworks or {}).get(fw_of.get(str(r["unit_id"]), "")) if toks else None
        ids = []
        if fw is not None:
            by_name = {v.name: k for k, v in fw.indicators.items()}
            for t in toks:
                if t in fw.indicators:
                    ids.append(t)
                elif t in by_name:
                    ids.append(by_name[t])
                else:
                    bad(i, "unknown_indicator", f"关联指标“{t}”不在单位所属指标体系“{fw.name}”中",
                        "linked indicator not in the unit's framework", "indicators", found=t,
                        expected="指标编码或名称，如 " + "、".join(list(fw.indicators)[:4]))
        else:
            ids = toks
        ind_out.append("；".join(ids) if ids else None)
        if risk is not None:
            known = risk_ids.get(str(r["unit_id"]), set())
            for t in split_list(r["risk_points"]):
                if t not in known:
                    bad(i, "unknown_risk_point", f"关联风险点“{t}”不在该单位的廉政风险点登记表中",
                        "linked risk point not in the unit's risk register", "risk_points", found=t,
                        expected="、".join(sorted(known)[:6]) or "（该单位未登记风险点）")
    if len(df):
        df["indicators"] = ind_out
    probs += _period_problems(df, periods, where_col.get("period", "预警期别"))
    return df, probs

