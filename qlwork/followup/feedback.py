"""Feedback by level (分级反馈), the jurisdiction report and the public-release ranking: what each reader sees.

Every number comes from the official result of the period (a scope is a filter), the ledger
on ``as_of`` and the region table (:mod:`.regions`).  A document is a plain dict (title,
recipient, sections of paragraphs and tables with Chinese headers, method notes) rendered
by ``templates/follow_doc.html.j2`` and written as Excel by
:mod:`qlwork.workflow.follow_reports`.

Who sees what (:data:`RECIPIENTS`):

- **党委、政府主要领导** (Party committee and government leaders of the jurisdiction): the
  jurisdiction's result against its peer regions (mean with interval, rank, change, share
  优秀/不合格), its sub-regions, the warned units, the inspection list (重点名录) with reasons,
  and the progress of rectification by class — no indicator detail of single units;
- **分管联系领导** (the leader in charge of a sector = a unit type): every unit of the sector
  with score, grade, peer rank, change, warnings and its weakest indicators (names), the open
  and overdue rectification items, and the risk-point measures of each unit;
- **被评价单位党组织主要负责人** (the unit's Party secretary): the unit's own result, warnings,
  strengths and weaknesses, its rectification items with deadlines and status, its high-level
  risk points without control measures, and a pointer to its 体检报告单.

The public release (公开发布版) shows rank and grade per peer group only: no score, no indicator.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..labels import WARNING_SHORT, period_label
from ..registers.ledger import CLOSED, CLASSES
from .regions import LEVEL_LABELS, describe_zh

__all__ = ["RECIPIENTS", "Recipient", "FeedbackContext", "leaders_doc", "in_charge_doc", "unit_doc",
           "jurisdiction_doc", "public_doc", "weakest_names", "ledger_summary", "show"]


@dataclass(frozen=True)
class Recipient:
    key: str
    title: str
    sees: str


RECIPIENTS: dict[str, Recipient] = {r.key: r for r in [
    Recipient("leaders", "党委、政府主要领导",
              "本辖区综合结果与同级区域比较（均值及置信区间、名次、较上期、优秀与不合格占比）、下辖区域、预警单位名单、"
              "重点名录及原因、整改总体进度；不含单位的指标明细"),
    Recipient("in_charge", "分管联系领导",
              "分管领域（单位类型）各单位的综合得分、等级、同类名次、较上期、预警与主要薄弱指标，未销号和逾期的整改事项，"
              "各单位廉政风险点防控情况"),
    Recipient("unit", "被评价单位党组织主要负责人",
              "本单位综合得分、等级、名次、较上期变化、预警、优势与薄弱指标，本单位整改事项（期限、状态、是否逾期），"
              "未落实防控措施的高等级廉政风险点；详见体检报告单"),
]}


@dataclass(frozen=True)
class FeedbackContext:
    """Everything the documents of one period and scope are made from."""

    official: Any  # OfficialResult
    scope: Any  # Scope (a filter on the official result)
    ranking: pd.DataFrame  # scope.ranking(official): the official rows of the scope, with rank_in_scope
    regions: pd.DataFrame  # region_results of the whole official result
    ledger: pd.DataFrame | None  # the ledger on as_of (status_eff, overdue …), all units
    inspection: pd.DataFrame | None  # 重点名录 of the period (all units)
    risk: pd.DataFrame | None  # risk-register rows (all units)
    risk_measures: pd.DataFrame | None
    as_of: str
    policy: Any  # LedgerPolicy
    ci: Mapping[str, Any]  # region interval parameters (ci, level, draws, seed)
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def period(self) -> str:
        return self.official.period

    def by_unit(self, name: str) -> dict[str, pd.DataFrame]:
        """Rows of the ledger / risk register / warnings / strengths and weaknesses per unit (computed once)."""
        if name not in self._cache:
            if name == "sw":
                parts = []
                for res in self.official.results.values():
                    t = res.indicator_table()
                    t = t[t["unit_id"].astype(str).isin(self.scope.unit_ids)]
                    # the rule of IndexResult.strengths_weaknesses, for every unit at once
                    wk = t[t["gap"] < 0].sort_values(["unit_id", "contribution", "gap", "indicator_id"], kind="stable")
                    st = t[t["gap"] > 0].sort_values(["unit_id", "contribution", "gap", "indicator_id"],
                                                     ascending=[True, False, False, True], kind="stable")
                    parts += [st.groupby("unit_id").head(3).assign(kind="优势"),
                              wk.groupby("unit_id").head(3).assign(kind="薄弱")]
                df = pd.concat(parts, ignore_index=True).rename(columns={"gap": "diff"}) if parts else None
            elif name == "warnings":
                df = self.official.warnings()
                df = df[df["code"].isin(self.policy.codes)]
            else:
                df = getattr(self, name)
            self._cache[name] = ({} if df is None or not len(df) else
                                 {str(u): g for u, g in df.groupby(df["unit_id"].astype(str), sort=False)})
        return self._cache[name]

    def scoped(self, df: pd.DataFrame | None) -> pd.DataFrame:
        if df is None or not len(df):
            return pd.DataFrame(columns=[] if df is None else df.columns)
        return df[df["unit_id"].astype(str).isin(self.scope.unit_ids)]


# ------------------------------------------------------------------ formatting
def _f2(v) -> str:
    return "—" if v is None or pd.isna(v) else f"{float(v):.2f}"


def _pct(v) -> str:
    return "—" if v is None or pd.isna(v) else f"{100 * float(v):.1f}%"


def _int(v) -> str:
    return "—" if v is None or pd.isna(v) else str(int(v))


def _signed(v) -> str:
    return "—" if v is None or pd.isna(v) else f"{float(v):+.2f}"


def _rate(v) -> str:
    return "—" if v is None or pd.isna(v) else f"{float(v):.0f}%"


_NUMERIC = (_f2, _pct, _int, _signed, _rate)


def show(df: pd.DataFrame, spec: Mapping[str, tuple[str, Any]]) -> dict:
    """A table for a document: ``spec`` = {column: (Chinese header, formatter or None)}, in order.
    Returns {"columns": [...], "rows": [[text]], "numeric": [bool]} (what the template and Excel take)."""
    cols = [c for c in spec if c in df.columns]
    rows = []
    for rec in df[cols].to_dict("records"):
        rows.append(["—" if (fn is None and (rec[c] is None or (not isinstance(rec[c], str) and pd.isna(rec[c]))))
                     else (fn(rec[c]) if fn else str(rec[c])) for c, (_, fn) in ((c, spec[c]) for c in cols)])
    numeric = [spec[c][1] in _NUMERIC for c in cols]
    return {"columns": [spec[c][0] for c in cols], "rows": rows, "numeric": numeric}


def _codes(text) -> str:
    if not isinstance(text, str) or not text:
        return ""
    return "、".join(WARNING_SHORT.get(c, c) for c in text.split(";") if c)


def weakest_names(official, unit_ids, n: int = 3) -> dict[str, str]:
    """Unit → its ``n`` weakest indicators' names (the one strength/weakness rule of IndexResult)."""
    out: dict[str, str] = {}
    ids = set(map(str, unit_ids))
    for res in official.results.values():
        t = res.indicator_table()
        t = t[t["unit_id"].astype(str).isin(ids) & (t["gap"] < 0)]
        t = t.sort_values(["unit_id", "contribution", "gap", "indicator_id"], kind="stable")
        for u, g in t.groupby("unit_id", sort=False):
            out[str(u)] = "、".join(g["name"].head(n))
    return out


def ledger_summary(ledger: pd.DataFrame | None, by: str | None = "klass") -> pd.DataFrame:
    """Items, closed, overdue and the close rate (among items due) per ``by`` (and a 合计 row)."""
    cols = ["group", "n_items", "n_due", "n_closed", "n_overdue", "close_rate"]
    if ledger is None or not len(ledger):
        return pd.DataFrame(columns=cols)
    t = ledger.copy()
    due = pd.to_datetime(t["deadline"], errors="coerce") <= pd.Timestamp(str(t["as_of"].iloc[0]))
    t = t.assign(_due=due, _closed=t["status_eff"] == CLOSED, _od=t["overdue"].astype(bool))
    t["_closed_due"] = t["_closed"] & t["_due"]
    groups = [("合计", t)] + ([(k, t[t[by] == k]) for k in (CLASSES if by == "klass" else sorted(t[by].dropna().unique()))]
                             if by else [])
    rows = []
    for k, g in groups:
        n_due = int(g["_due"].sum())
        rows.append({"group": k, "n_items": len(g), "n_due": n_due, "n_closed": int(g["_closed"].sum()),
                     "n_overdue": int(g["_od"].sum()),
                     "close_rate": (g["_closed_due"].sum() / n_due) if n_due else np.nan})
    return pd.DataFrame(rows, columns=cols)


def _region_rows(ctx: FeedbackContext) -> pd.DataFrame:
    sc = ctx.scope
    if sc.column not in LEVEL_LABELS:
        return ctx.regions.iloc[0:0]
    r = ctx.regions
    return r[(r["level"] == sc.column) & (r["region"] == sc.label)]


def _region_sections(ctx: FeedbackContext, rows: pd.DataFrame, heading: str, *, parent_rank: bool = False,
                     paragraphs: list[str] | None = None) -> list[dict]:
    """One table per framework: region, units, mean, interval, rank, units per grade, shares, change."""
    out = []
    lvl = float(ctx.ci.get("level", 0.95))
    for k, (fid, g) in enumerate(rows.groupby("framework", sort=False)):
        res = ctx.official.results[fid]
        labels = list(res.spec.grade_labels)
        t = g.copy()
        t["ci"] = [("—" if pd.isna(a) else f"{a:.2f}–{b:.2f}") for a, b in zip(t["ci_low"], t["ci_high"])]
        rk, n = ("rank_in_parent", "n_in_parent") if parent_rank else ("rank", "n_regions")
        t["rank_text"] = [f"{_int(a)}/{_int(b)}" for a, b in zip(t[rk], t[n])]
        counts = [dict(x.split(" ") for x in str(c).split("；") if " " in x) for c in t["grade_counts"]]
        spec = {"region": ("区域", None), "n_scored": ("单位数", _int), "mean": ("平均综合得分", _f2),
                "ci": (f"{lvl:.0%}置信区间", None), "rank_text": ("区域内名次" if parent_rank else "同级名次", None)}
        for lab in labels:
            t[f"g_{lab}"] = [int(c.get(lab, 0)) for c in counts]
            spec[f"g_{lab}"] = (lab, _int)
        spec.update({"share_top": (f"{labels[0]}占比", _pct), "share_bottom": (f"{labels[-1]}占比", _pct),
                     "change": ("较上期", _signed)})
        out.append({"heading": f"{heading} · {res.framework.name}" if heading else res.framework.name,
                    "paragraphs": (paragraphs or []) if k == 0 else [], "table": show(t, spec)})
    return out


def _ci(r) -> str:
    return "—" if pd.isna(r.ci_low) else f"{r.ci_low:.2f}–{r.ci_high:.2f}"


def _doc(title: str, ctx: FeedbackContext, sections: list[dict], *, recipient: str | None = None,
         method: list[tuple[str, str]] | None = None) -> dict:
    return {"title": title, "recipient": recipient, "period": ctx.period, "scope": ctx.scope.label,
            "as_of": ctx.as_of, "sections": [s for s in sections if s], "method": method or [],
            "subtitle": f"{period_label(ctx.period)} · {ctx.scope.label} · 整改情况截至 {ctx.as_of}"}


def _method(ctx: FeedbackContext) -> list[tuple[str, str]]:
    m = [("数据来源", f"{period_label(ctx.period)}正式结果（qlwork score），范围只是筛选，未重新评分"),
         ("区域结果", describe_zh(**{k: ctx.ci[k] for k in ("ci", "level", "draws", "seed") if k in ctx.ci}))]
    fps = (ctx.official.manifest or {}).get("spec_fingerprints", {})
    if fps:
        m.append(("规格指纹", "；".join(f"{k} {v}" for k, v in fps.items())))
    m += list(ctx.policy.describe_zh())
    return m


def _warned_table(ctx: FeedbackContext) -> dict | None:
    rk = ctx.ranking
    w = rk[rk["warnings"].fillna("").astype(str).str.len() > 0].copy()
    notice = set(ctx.policy.codes)
    w["warn_text"] = [_codes(";".join(c for c in str(x).split(";") if c in notice)) for x in w["warnings"]]
    w = w[w["warn_text"] != ""]
    if w.empty:
        return None
    w = w.sort_values(["framework", "total", "unit_id"], na_position="first")
    _add_rank_text(w)
    return show(w, {"unit_name": ("单位名称", None), "unit_type": ("单位类型", None), "total": ("综合得分", _f2),
                    "grade": ("等级", None), "rank_text": ("同类名次", None), "warn_text": ("预警", None)})


def _add_rank_text(df: pd.DataFrame) -> None:
    df["rank_text"] = [f"{_int(a)}/{_int(b)}" for a, b in zip(df["rank"], df["n_peers"])]


def _inspection_table(ctx: FeedbackContext) -> dict | None:
    ins = ctx.scoped(ctx.inspection)
    if ins is None or ins.empty:
        return None
    return show(ins, {"unit_name": ("单位名称", None), "unit_type": ("单位类型", None), "grade": ("等级", None),
                      "reasons": ("列入重点名录的原因", None)})


_LEDGER_SUM_SPEC = {"group": ("类别", None), "n_items": ("整改事项", _int), "n_due": ("已到期", _int),
                    "n_closed": ("已销号", _int), "n_overdue": ("逾期未销号", _int), "close_rate": ("到期事项销号率", _pct)}


# ------------------------------------------------------------------ documents
def leaders_doc(ctx: FeedbackContext) -> dict:
    """党委、政府主要领导: the jurisdiction at a glance (module doc)."""
    own = _region_rows(ctx)
    names = {fid: r.framework.name for fid, r in ctx.official.results.items()}
    text = f"本辖区参评单位 {len(ctx.ranking)} 个"
    if len(own):
        text += "；" + "；".join(
            f"{names[r.framework]}平均 {r.mean:.2f} 分（置信区间 {_ci(r)}），在 {r.n_regions} 个同级区域中列第 "
            f"{_int(r.rank)} 位，较上期 {_signed(r.change)} 分" for r in own.itertuples())
    secs = _region_sections(ctx, own, "一、总体情况", paragraphs=[text + "。"]) or [
        {"heading": "一、总体情况", "paragraphs": [text + "。"], "table": None}]
    sub = _sub_regions(ctx)
    if sub is not None and len(sub):
        secs += _region_sections(ctx, sub, "二、下辖区域", parent_rank=True)
    wt = _warned_table(ctx)
    secs.append({"heading": "三、预警单位", "paragraphs": [] if wt else ["本期本辖区无预警单位。"], "table": wt})
    it = _inspection_table(ctx)
    secs.append({"heading": "四、重点名录（巡视巡察“回头看”）", "paragraphs": [] if it else ["无列入重点名录的单位。"],
                 "table": it})
    ls = ledger_summary(ctx.scoped(ctx.ledger))
    secs.append({"heading": "五、整改进度", "paragraphs": [] if len(ls) else ["暂无整改事项。"],
                 "table": show(ls, _LEDGER_SUM_SPEC) if len(ls) else None})
    return _doc(f"{ctx.scope.label}清廉指数评价结果反馈", ctx, secs, recipient=RECIPIENTS["leaders"].title,
                method=_method(ctx))


def _sub_regions(ctx: FeedbackContext) -> pd.DataFrame | None:
    child = {"city": "county", "county": "township"}.get(ctx.scope.column)
    if child is None:
        return None
    r = ctx.regions
    return r[(r["level"] == child) & (r["parent"] == ctx.scope.label)].sort_values(["framework", "rank_in_parent"])


def in_charge_doc(ctx: FeedbackContext, unit_type: str) -> dict:
    """分管联系领导 of one sector (unit type) in the scope (module doc)."""
    rk = ctx.ranking[ctx.ranking["unit_type"] == unit_type].copy()
    _add_rank_text(rk)
    rk["warn_text"] = [_codes(x) for x in rk["warnings"]]
    weak = weakest_names(ctx.official, rk["unit_id"])
    rk["weak"] = rk["unit_id"].map(weak).fillna("—")
    rk = rk.sort_values(["framework", "rank", "unit_id"], na_position="last")
    grades = rk["grade"].value_counts()
    text = (f"{ctx.scope.label}{unit_type}共 {len(rk)} 个单位，平均综合得分 {rk['total'].mean():.2f} 分；等级："
            + "，".join(f"{g} {int(v)}" for g, v in grades.items()) + "。")
    secs = [{"heading": "一、各单位结果", "paragraphs": [text], "table": show(rk, {
        "unit_name": ("单位名称", None), "total": ("综合得分", _f2), "grade": ("等级", None),
        "rank_text": ("同类名次", None), "change": ("较上期", _signed), "warn_text": ("预警", None),
        "weak": ("主要薄弱指标", None)})}]
    led = ctx.scoped(ctx.ledger)
    led = led[led["unit_id"].isin(set(rk["unit_id"])) & (led["status_eff"] != CLOSED)] if len(led) else led
    if len(led):
        names = dict(zip(rk["unit_id"], rk["unit_name"]))
        led = led.assign(unit_name=led["unit_id"].map(names)).sort_values(["overdue", "deadline"], ascending=[False, True])
    secs.append({"heading": "二、未销号的整改事项", "paragraphs": [] if len(led) else ["无未销号的整改事项。"],
                 "table": show(led, {"unit_name": ("单位名称", None), "problem": ("问题描述", None),
                                     "klass": ("类别", None), "deadline": ("整改期限", None),
                                     "status_eff": ("状态", None), "days_overdue": ("逾期天数", _int)})
                 if len(led) else None})
    rm = ctx.risk_measures
    if rm is not None and len(rm):
        rm = rm[rm["unit_id"].isin(set(rk["unit_id"]))].merge(rk[["unit_id", "unit_name"]], on="unit_id")
        secs.append({"heading": "三、廉政风险点防控", "paragraphs": [], "table": show(rm, {
            "unit_name": ("单位名称", None), "n_key_posts": ("关键岗位", _int), "n_risk_points": ("风险点", _int),
            "risk_high_uncontrolled": ("未落实防控的高等级风险点", _int),
            "risk_review_overdue": ("逾期未评估", _int), "risk_key_post_coverage": ("关键岗位覆盖率", _rate)})})
    return _doc(f"{ctx.scope.label}{unit_type}清廉指数评价结果反馈", ctx, secs, recipient=RECIPIENTS["in_charge"].title,
                method=_method(ctx))


def unit_doc(ctx: FeedbackContext, unit_id: str, *, report_link: str | None = None) -> dict:
    """被评价单位党组织主要负责人 of one unit (module doc)."""
    if "rows" not in ctx._cache:
        ctx._cache["rows"] = ctx.ranking.set_index("unit_id").to_dict("index")
    r = ctx._cache["rows"][unit_id]
    res = ctx.official.results[r["framework"]]
    dec = res.decimals
    lines = [f"{r['unit_name']}在{period_label(ctx.period)}{res.framework.name}评价中综合得分 {r['total']:.{dec}f} 分，"
             f"等级“{r['grade']}”，在{r['peer_group']}类 {_int(r['n_peers'])} 个单位中列第 {_int(r['rank'])} 位，"
             f"较上期 {_signed(r['change'])} 分。"]
    if isinstance(r.get("veto"), str) and r["veto"]:
        lines.append(f"一票否决事项：{r['veto']}（等级封顶）。")
    if isinstance(r.get("bonus_detail"), str) and r["bonus_detail"]:
        lines.append(f"加分：{r['bonus_detail']}。")
    w = ctx.by_unit("warnings").get(unit_id, pd.DataFrame(columns=["reason_zh", "detail"]))
    secs = [{"heading": "一、本单位结果", "paragraphs": lines, "table": None},
            {"heading": "二、预警情况", "paragraphs": [] if len(w) else ["本期未触发预警。"],
             "table": show(w, {"reason_zh": ("预警情形", None), "detail": ("情况说明", None)}) if len(w) else None}]
    sw = ctx.by_unit("sw").get(unit_id, pd.DataFrame(columns=["kind", "name", "normalized", "peer_median", "diff"]))
    secs.append({"heading": "三、优势与薄弱指标", "paragraphs": [] if len(sw) else ["各指标与同类中位数持平。"],
                 "table": show(sw, {"kind": ("类别", None), "name": ("指标", None), "normalized": ("得分", _f2),
                                    "peer_median": ("同类中位数", _f2), "diff": ("差值", _signed)}) if len(sw) else None})
    led = ctx.by_unit("ledger").get(unit_id, pd.DataFrame())
    secs.append({"heading": "四、整改事项", "paragraphs": [] if len(led) else ["暂无整改事项。"],
                 "table": show(led, {"item_id": ("事项编号", None), "problem": ("问题描述", None), "klass": ("类别", None),
                                     "deadline": ("整改期限", None), "status_eff": ("状态", None),
                                     "days_overdue": ("逾期天数", _int)}) if len(led) else None})
    mine = ctx.by_unit("risk").get(unit_id)
    hi = (mine[(mine["level"] == "高") & mine["controls"].isna() & mine["risk_id"].notna()]
          if mine is not None else pd.DataFrame())
    secs.append({"heading": "五、未落实防控措施的高等级廉政风险点",
                 "paragraphs": [] if len(hi) else ["本单位未登记廉政风险点。" if mine is None
                                                   else "高等级风险点均已落实防控措施。"],
                 "table": show(hi, {"post": ("岗位", None), "risk_id": ("编号", None), "risk": ("风险点", None),
                                    "owner": ("责任人", None), "reviewed": ("最近评估", None)}) if len(hi) else None})
    if report_link:
        secs.append({"heading": "附", "paragraphs": [f"本单位体检报告单：{report_link}"], "table": None})
    return _doc(f"{r['unit_name']}清廉指数评价结果反馈", ctx, secs, recipient=RECIPIENTS["unit"].title,
                method=_method(ctx))


def jurisdiction_doc(ctx: FeedbackContext) -> dict:
    """The jurisdiction report (辖区报告, 森林与树木): its own result against its peers, its sub-regions,
    its units, its warnings, its ledger and inspection list — for a 乡镇 the view of its villages."""
    own = _region_rows(ctx)
    peers = ctx.regions[(ctx.regions["level"] == ctx.scope.column)] if ctx.scope.column in LEVEL_LABELS else own
    parent = own["parent"].dropna().iloc[0] if len(own) and own["parent"].notna().any() else None
    if parent is not None:  # the peers that matter: the same parent's regions (townships of one county …)
        peers = peers[peers["parent"] == parent]
    peers = peers.assign(region=[f"▶ {x}" if x == ctx.scope.label else x for x in peers["region"]])
    where = f"{parent}的" if parent is not None else ""
    secs = _region_sections(ctx, peers.sort_values(["framework", "rank"]), "一、本辖区结果及同级比较",
                            parent_rank=parent is not None, paragraphs=[
        f"{LEVEL_LABELS.get(ctx.scope.column, '范围')}：{ctx.scope.label}（▶），与{where}同级区域（共 "
        f"{peers['region'].nunique()} 个）比较。"])
    sub = _sub_regions(ctx)
    if sub is not None and len(sub):
        secs += _region_sections(ctx, sub, "二、下辖区域", parent_rank=True)
    rk = ctx.ranking.copy()
    _add_rank_text(rk)
    rk["warn_text"] = [_codes(x) for x in rk["warnings"]]
    rk = rk.sort_values(["framework", "rank_in_scope", "unit_id"], na_position="last")
    secs.append({"heading": "三、各单位结果", "paragraphs": ["范围内名次按正式综合得分在本辖区同类单位中排列。"],
                 "table": show(rk, {"unit_name": ("单位名称", None), "unit_type": ("单位类型", None),
                                    "township": ("乡镇（街道）", None), "total": ("综合得分", _f2),
                                    "grade": ("等级", None), "rank_text": ("同类名次", None),
                                    "rank_in_scope": ("辖区内名次", _int), "change": ("较上期", _signed),
                                    "warn_text": ("预警", None)})})
    wt = _warned_table(ctx)
    secs.append({"heading": "四、预警单位", "paragraphs": [] if wt else ["无预警单位。"], "table": wt})
    led = ctx.scoped(ctx.ledger)
    ls = ledger_summary(led)
    secs.append({"heading": "五、整改台账", "paragraphs": [] if len(ls) else ["暂无整改事项。"],
                 "table": show(ls, _LEDGER_SUM_SPEC) if len(ls) else None})
    if len(led):
        names = dict(zip(ctx.ranking["unit_id"], ctx.ranking["unit_name"]))
        open_ = led[led["status_eff"] != CLOSED].assign(unit_name=lambda d: d["unit_id"].map(names))
        if len(open_):
            secs.append({"heading": "　未销号事项", "paragraphs": [], "table": show(
                open_.sort_values(["overdue", "deadline"], ascending=[False, True]),
                {"unit_name": ("单位名称", None), "problem": ("问题描述", None), "klass": ("类别", None),
                 "deadline": ("整改期限", None), "status_eff": ("状态", None), "days_overdue": ("逾期天数", _int)})})
    it = _inspection_table(ctx)
    secs.append({"heading": "六、重点名录", "paragraphs": [] if it else ["无列入重点名录的单位。"], "table": it})
    return _doc(f"{ctx.scope.label}清廉指数辖区报告", ctx, secs, method=_method(ctx))


def public_doc(ctx: FeedbackContext, table: pd.DataFrame) -> dict:
    """公开发布版: rank and grade per peer group (no score, no indicator)."""
    names = {fid: r.framework.name for fid, r in ctx.official.results.items()}
    secs = []
    for (fid, grp), g in table.groupby(["framework", "peer_group"], sort=False):
        secs.append({"heading": f"{names.get(fid, fid)} · {grp}（{len(g)} 个）", "paragraphs": [],
                     "table": show(g, {"rank": ("名次", _int), "unit_name": ("单位名称", None), "grade": ("等级", None)})})
    doc = _doc(f"{ctx.scope.label}{period_label(ctx.period)}清廉指数评价结果", ctx, secs)
    doc["subtitle"] = f"{period_label(ctx.period)} · {ctx.scope.label} · 公开发布版（名次与等级）"
    doc["method"] = [("说明", "名次为同类单位中的名次（范围发布时为范围内名次），得分相同者名次相同；"
                             "等级按正式结果；本表不含得分与指标数据。")]
    return doc
