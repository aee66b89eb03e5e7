"""Rectification items from the warnings of an official result (预警 → 整改事项).

One warning notice asks the unit to rectify "around the 堵点, 痛点 and 污染点 the 体检报告单
found".  For each unit warned in period P (codes :attr:`LedgerPolicy.codes`), the items are:

- **score warnings** (below_pass, bottom_n, large_drop): one item per indicator among the
  unit's ``items_per_unit`` internal indicators with the largest weighted points lost
  (``IndexResult.indicator_table()['points_lost']`` — the exact decomposition the 体检报告单
  prints; ties in framework order, so the items are the indicators the notice names); when the only score warning is a large drop and the previous period's official
  result is given, the indicators whose 0–100 score fell most instead.  The warnings share
  the items (a unit below the pass mark and in the bottom three gets one item per indicator,
  not two);
- **divergence** (public significantly below internal): one item linked to the unit's public
  (survey) indicators;
- **veto**: one item per veto event, linked to the unit's high-level risk points (those
  without control measures first; at most ``items_per_unit``) from the risk register.

Class (问题类别), :func:`classify`: a veto event and an indicator counting misconduct
(direction −1, source in ``pollution_sources`` — 纪检监察, 审计) are 污染点; a survey indicator,
a divergence and an indicator from ``pain_sources`` (信访, 群众评价) are 痛点; the rest —
procedures, compliance and rectification rates — are 堵点.  The class is a proposal: the
register's 问题类别 column is the one a supervisor may change.

Item ids are deterministic (``<period>-<unit>-<indicator id | divergence | veto-k>``), so
creating the items twice gives the same ids and the merge adds nothing the second time.
Issue date and deadline are explicit: ``issued`` (default :func:`default_issue_date`) and
``issued + deadline_days`` (30).
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..labels import NOTICE_CODES, WARNING_SHORT
from ..registers.ledger import LEDGER_FIELDS, OPEN
from .dates import default_issue_date

__all__ = ["LedgerPolicy", "classify", "items_from_warnings", "ITEM_COLUMNS", "empty_items"]

#: the ledger's columns (register fields, then the unit's framework and where the row came from)
ITEM_COLUMNS = LEDGER_FIELDS + ["framework", "origin"]

_SCORE_CODES = ("below_pass", "bottom_n", "large_drop")


@dataclass(frozen=True)
class LedgerPolicy:
    """Every choice of the follow-through rules, recorded in each export (``to_dict``)."""

    deadline_days: int = 30          # 整改期限 = 下发日期 + deadline_days
    notice_lag_days: int = 15        # default 下发日期 = period end + notice_lag_days
    items_per_unit: int = 3          # indicators (or risk points) linked per warned unit
    codes: tuple[str, ...] = NOTICE_CODES
    pain_sources: tuple[str, ...] = ("信访", "群众评价")
    pollution_sources: tuple[str, ...] = ("纪检监察", "审计")
    repeat_periods: int = 2          # warned in this many consecutive periods → 重点名录
    review_months: int = 12          # a risk point not reviewed for longer is overdue
    empty_rate: float = 100.0        # a rate with nothing in its denominator (无整改任务视为完成)

    def __post_init__(self):
        from ..errors import Problem, QlworkError

        for name in ("deadline_days", "notice_lag_days", "items_per_unit", "repeat_periods", "review_months"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < (0 if name == "notice_lag_days" else 1):
                raise QlworkError(Problem("bad_policy", f"整改规则参数 {name} 应为正整数", f"{name} must be a positive integer",
                                          column=name, found=v, expected="正整数 a positive integer"))

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    def describe_zh(self) -> list[tuple[str, str]]:
        return [("整改期限", f"预警通知书下发后 {self.deadline_days} 天"),
                ("默认下发日期", f"评价期结束后第 {self.notice_lag_days} 天"),
                ("每个预警单位生成的整改事项", f"失分最多的 {self.items_per_unit} 个指标（一票否决、背离各一项）"),
                ("问题类别", f"污染点：一票否决及{'、'.join(self.pollution_sources)}的逆向指标；"
                             f"痛点：群众评价、背离及{'、'.join(self.pain_sources)}指标；其余为堵点"),
                ("重点名录", f"有逾期未销号事项，或连续 {self.repeat_periods} 期被预警"),
                ("风险点评估逾期", f"最近评估日期距今超过 {self.review_months} 个月"),
                ("无整改任务时的整改率", f"{self.empty_rate:g}%")]


def classify(indicator, policy: LedgerPolicy = LedgerPolicy()) -> str:
    """堵点 / 痛点 / 污染点 of an indicator (module doc)."""
    if getattr(indicator, "public", False) or indicator.source in policy.pain_sources:
        return "痛点"
    if indicator.direction < 0 and indicator.source in policy.pollution_sources:
        return "污染点"
    return "堵点"


def empty_items() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in ITEM_COLUMNS})


def _short(codes) -> str:
    return "、".join(WARNING_SHORT.get(c, c) for c in codes)


def items_from_warnings(official, *, policy: LedgerPolicy = LedgerPolicy(), issued: _dt.date | None = None,
                        risk: pd.DataFrame | None = None, previous=None) -> pd.DataFrame:
    """New rectification items for every warned unit of ``official`` (an OfficialResult), columns
    :data:`ITEM_COLUMNS`, status 未整改.  ``risk``: rows of the risk register (to link veto items);
    ``previous``: the previous period's OfficialResult (to name the indicators behind a large drop)."""
    issued = issued or default_issue_date(official.period, policy.notice_lag_days)
    deadline = issued + _dt.timedelta(days=policy.deadline_days)
    rows: list[dict] = []
    k = policy.items_per_unit
    for fid, res in official.results.items():
        w = res.warnings
        w = w[w["code"].astype(str).isin(policy.codes)]
        if w.empty:
            continue
        fw = res.framework
        it = res.indicator_table()
        it = it[~it["public"].astype(bool)]
        by_unit = {u: g for u, g in it.groupby("unit_id", sort=False)}
        prev_norm = None
        if previous is not None and fid in previous.results:
            prev_norm = previous.results[fid].normalized
        frame = res.to_frame().set_index("unit_id")
        order = {i: j for j, i in enumerate(fw.indicator_ids)}
        pub_ids = [i for i in fw.public_indicators() if i in res.normalized.columns]
        for uid, g in w.groupby(w["unit_id"].astype(str), sort=True):
            codes = list(dict.fromkeys(g["code"].astype(str)))
            name = str(frame.at[uid, "unit_name"]) if uid in frame.index and "unit_name" in frame.columns else uid
            base = {"unit_id": uid, "period": official.period, "resp_unit": name, "person": None, "issued": issued,
                    "deadline": deadline, "status": OPEN, "measures": None, "closed": None, "evidence": None,
                    "note": None, "framework": fid, "origin": "new", "risk_points": None}
            score_codes = [c for c in codes if c in _SCORE_CODES]
            if score_codes:
                u = by_unit.get(uid)
                picks: list[tuple[str, str]] = []
                if u is not None and score_codes == ["large_drop"] and prev_norm is not None and uid in prev_norm.index:
                    cur = res.normalized.loc[uid]
                    before = prev_norm.loc[uid].reindex(cur.index)
                    fall = (cur - before)[[i for i in u["indicator_id"] if i in cur.index]].dropna()
                    fall = fall[fall < 0].sort_values(kind="stable")
                    for i, d in fall.head(k).items():
                        picks.append((i, f"{fw.indicators[i].name}得分较上期下降 {-d:.1f} 分（{before[i]:.1f} → {cur[i]:.1f}）"))
                if u is not None and not picks:
                    # ties in framework order, as the notice lists them (UnitReportBuilder.behind)
                    top = u[u["points_lost"] > 0].assign(_o=u["indicator_id"].map(order)).sort_values(
                        ["points_lost", "_o"], ascending=[False, True], kind="stable").head(k)
                    for r in top.itertuples():
                        picks.append((r.indicator_id, f"{r.name}得分 {r.normalized:.1f}（同组中位数 {r.peer_median:.1f}，"
                                                      f"失分 {r.points_lost:.2f}）"))
                for i, text in picks:
                    rows.append(dict(base, item_id=f"{official.period}-{uid}-{i}", warning=_short(score_codes),
                                     problem=text, klass=classify(fw.indicators[i], policy), indicators=i))
            if "divergence" in codes:
                f = frame.loc[uid] if uid in frame.index else pd.Series(dtype=object)
                rows.append(dict(base, item_id=f"{official.period}-{uid}-divergence", warning=_short(["divergence"]),
                                 problem=f"群众评价（获得感）{_fmt(f.get('public'))} 分，显著低于专业分 {_fmt(f.get('internal'))} 分",
                                 klass="痛点", indicators="；".join(pub_ids) or None))
            if "veto" in codes:
                links = _risk_links(risk, uid, k)
                for j, r in enumerate(g[g["code"] == "veto"].itertuples(), start=1):
                    rows.append(dict(base, item_id=f"{official.period}-{uid}-veto-{j}", warning=_short(["veto"]),
                                     problem=f"一票否决事项：{r.detail or r.reason_zh}", klass="污染点", indicators=None,
                                     risk_points=links))
    out = pd.DataFrame(rows, columns=ITEM_COLUMNS) if rows else empty_items()
    return out.sort_values(["period", "unit_id", "item_id"], kind="stable").reset_index(drop=True)


def _fmt(v: Any) -> str:
    try:
        return f"{float(v):.2f}"
    except (TypeError, ValueError):
        return "—"


def _risk_links(risk: pd.DataFrame | None, uid: str, k: int) -> str | None:
    """The unit's high-level risk points, those without control measures first (ids joined by ；)."""
    if risk is None or not len(risk):
        return None
    r = risk[(risk["unit_id"].astype(str) == uid) & (risk["level"] == "高") & risk["risk_id"].notna()]
    if r.empty:
        return None
    r = r.assign(_has=r["controls"].notna()).sort_values(["_has", "risk_id"], kind="stable")
    return "；".join(r["risk_id"].astype(str).head(k))


def policy_from(mapping: Mapping[str, Any] | None) -> LedgerPolicy:
    """A policy from a mapping (e.g. command-line options); unknown keys are an error."""
    if not mapping:
        return LedgerPolicy()
    from ..errors import Problem, QlworkError

    fields = set(LedgerPolicy.__dataclass_fields__)
    unknown = sorted(set(mapping) - fields)
    if unknown:
        raise QlworkError(Problem("bad_policy", f"未知的整改规则参数 {unknown}", "unknown policy fields",
                                  found=unknown, expected="、".join(sorted(fields))))
    return LedgerPolicy(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in mapping.items() if v is not None})
