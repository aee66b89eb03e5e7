"""Demo follow-through registers: the risk register and a filled-in rectification ledger.

Written by ``qlwork demo --follow-through`` *after* ``qlwork score --period all``: the ledger
holds the items qlwork creates from the warnings of every period but the latest
(:func:`qlwork.followup.items.items_from_warnings`, so its ids are the ones the merge
recognises), filled in as a county discipline office would have it on
:data:`REGISTER_DATE` — most old items closed with evidence (some after the deadline),
some still under way or untouched long after the deadline (overdue), plus a few items from
inspection feedback (巡察反馈) that no warning created.  The latest period's items are left
for ``qlwork ledger update`` to add.  The risk register lists two to four posts per unit
(key posts handle money, goods or affairs) with their risk points; most have control
measures and a review in the last year, some high-level points have none and some reviews
are old.

Deliberate errors (found by ``qlwork validate`` and ``qlwork ledger update``), listed with
their locations in ``_truth/follow_through_errors.csv``: in the ledger a status written
已完成, an item 已销号 without a closing date, a deadline before the issue date, an unknown
unit, an unknown linked indicator and a repeated item id; in the risk register a level
written 较高, a risk point without a review date, an unknown unit, a risk id used twice
and a post marked key on one row and not on another.
"""
from __future__ import annotations

import datetime as _dt
from pathlib import Path

import numpy as np
import pandas as pd

from ..io.safe import atomic_path
from ..registers.base import write_template
from ..registers.ledger import CLOSED, IN_PROGRESS, LEDGER, OPEN
from ..registers.risk import RISK
from ..registers.rules import REGISTER_DIR

__all__ = ["write_follow_through", "REGISTER_DATE", "POSTS"]

#: the date the demo register was handed in (before the latest period's notices)
REGISTER_DATE = _dt.date(2026, 1, 10)

#: posts per unit type: (post, key post?, [(risk, level, control measure)])
POSTS: dict[str, list[tuple[str, bool, list[tuple[str, str, str]]]]] = {
    "机关": [("财务会计", True, [("虚列支出、套取资金", "高", "财务支出双人审核、月度对账"),
                               ("公款私存、私设小金库", "高", "账户集中管理、季度抽查")]),
           ("政府采购", True, [("拆分采购规避招标", "高", "采购计划年度公示、限额以上集中采购"),
                              ("指定品牌、量身定制参数", "中", "需求论证会签")]),
           ("项目审批", True, [("违规审批、吃拿卡要", "高", "审批事项清单化、全程网办留痕")]),
           ("行政执法", True, [("选择性执法、以罚代管", "中", "执法记录仪全程记录、裁量基准")]),
           ("人事管理", False, [("违规选人用人", "中", "动议、考察全程纪实")]),
           ("办公室", False, [("公车私用、超标接待", "低", "公务用车平台派车")])],
    "学校": [("财务", True, [("违规收费、截留挪用", "高", "收费项目公示、银校直连")]),
           ("招生管理", True, [("违规招生、择校收费", "高", "招生结果公示、纪检全程监督")]),
           ("物资采购", True, [("教辅征订回扣", "中", "征订目录公开、家长自愿")]),
           ("食堂管理", True, [("食材采购虚高", "中", "大宗食材公开招标、陪餐制度")])],
    "医院": [("药品采购", True, [("收受药品回扣", "高", "带量采购、处方点评")]),
           ("医保结算", True, [("虚记费用骗取医保基金", "高", "智能审核、事前提醒")]),
           ("设备采购", True, [("设备参数倾向性设置", "高", "论证专家随机抽取")]),
           ("基建管理", True, [("工程变更虚增造价", "中", "变更三方签证、跟踪审计")]),
           ("临床科室", False, [("收受红包", "中", "红包拒收承诺、患者回访")])],
    "企业": [("工程招投标", True, [("围标串标、明招暗定", "高", "电子招投标、评标专家随机抽取")]),
           ("物资采购", True, [("以次充好、虚高定价", "中", "比价采购、验收双签")]),
           ("财务", True, [("违规担保、资金体外循环", "高", "资金集中管控、大额支付审批")]),
           ("销售", False, [("低价销售利益输送", "中", "定价审批、客户信用管理")])],
    "村居": [("村党组织书记", True, [("“一言堂”决定重大事项", "高", "四议两公开、村务监督委员会列席")]),
           ("村报账员", True, [("白条入账、虚报冒领", "高", "村账乡代管、非现金结算")]),
           ("村委会主任", True, [("惠农补贴优亲厚友", "中", "补贴名单公示、入户核查")]),
           ("村务监督委员会", False, [("监督流于形式", "低", "月度监督例会")])],
}

_SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘")
_GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红")
_MEASURES = ("修订内控制度并组织专题学习", "开展专项自查自纠，建立问题清单", "完善审批流程，实行双人复核",
             "召开专题民主生活会，制定整改方案", "加强宣传教育，开展入户走访", "引入第三方审计，逐项对账")
_INSPECTION = ("巡察反馈：“三重一大”事项未集体研究", "巡察反馈：公务接待超标准", "巡察反馈：合同管理不规范",
               "巡察反馈：村级工程未按规定招投标", "巡察反馈：党务公开不及时")


def _name(rng: np.random.Generator) -> str:
    return str(rng.choice(_SURNAMES)) + "".join(rng.choice(_GIVEN, size=int(rng.integers(1, 3))))


def _risk_rows(rng: np.random.Generator, units: pd.DataFrame, date: _dt.date) -> list[dict]:
    rows = []
    for u in units.itertuples(index=False):
        posts = POSTS.get(u.unit_type)
        if not posts:
            continue
        k = min(len(posts), int(rng.integers(2, 5)))
        pick = sorted(rng.choice(len(posts), size=k, replace=False))
        n = 0
        for j in pick:
            post, key, risks = posts[j]
            owner = _name(rng)
            if rng.random() < 0.04:  # a post not yet analysed: listed, no risk point
                rows.append({"unit_id": u.unit_id, "post": post, "key_post": "是" if key else "否"})
                continue
            for risk, level, control in risks:
                n += 1
                age = int(rng.integers(20, 330)) if rng.random() > 0.12 else int(rng.integers(380, 700))
                rows.append({"unit_id": u.unit_id, "post": post, "key_post": "是" if key else "否",
                             "risk_id": f"FX-{n:02d}", "risk": risk, "level": level,
                             "controls": None if (level == "高" and rng.random() < 0.08) else control,
                             "owner": owner, "reviewed": date - _dt.timedelta(days=age)})
    return rows


def _fill(rng: np.random.Generator, items: pd.DataFrame, latest: str, date: _dt.date) -> list[dict]:
    """Items as the units filled them in by ``date``."""
    rows = []
    for r in items.to_dict("records"):
        r = {k: r.get(k) for k in [c.key for c in LEDGER.columns]}
        age = 2 if r["period"] < latest else 1  # periods before the previous one: more time to close
        u = rng.random()
        p_closed = 0.90 if age == 2 else 0.70
        if u < p_closed:
            late = rng.random() < 0.15
            days = int(rng.integers(31, 90)) if late else int(rng.integers(7, 30))
            closed = r["issued"] + _dt.timedelta(days=days)
            if closed > date:
                closed = date - _dt.timedelta(days=1)
            r.update(status=CLOSED, closed=closed, person=_name(rng), measures=str(rng.choice(_MEASURES)),
                     evidence=f"整改报告及佐证材料（{r['unit_id']}-{closed:%Y%m%d}）")
        elif u < p_closed + 0.06:
            r.update(status=IN_PROGRESS, person=_name(rng), measures=str(rng.choice(_MEASURES)))
        else:
            r.update(status=OPEN)
        rows.append(r)
    return rows


def write_follow_through(raw: str | Path, processed: str | Path, *, seed: int = 20251231,
                         date: _dt.date = REGISTER_DATE, force: bool = False) -> dict:
    """Write both registers into ``<raw>/registers/`` from the official results in ``processed``;
    returns {"ledger": n items, "risk": n rows, "errors": planted errors}."""
    from ..followup.items import items_from_warnings
    from ..workflow.official import available_periods, load_result

    raw, processed = Path(raw), Path(processed)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 20]))
    from ..errors import Problem, QlworkError
    from ..io.catalogue import read_table

    if not (raw / "_truth").is_dir():  # never into a folder of real data
        raise QlworkError(Problem("not_a_demo_folder", "只能写入由 qlwork demo 生成的示例数据文件夹（含 _truth/）",
                                  "only a folder written by `qlwork demo` (with _truth/) takes the demo registers",
                                  file=str(raw), expected="qlwork demo 生成的文件夹"))
    if not force and any((raw / REGISTER_DIR / s.file_name).exists() for s in (LEDGER, RISK)):
        raise QlworkError(Problem("file_exists", "示例整改台账或廉政风险点登记表已存在；如需重写请加 --force",
                                  "the demo registers exist; use --force to rewrite them",
                                  file=str(raw / REGISTER_DIR), expected="不存在的文件，或 --force"))
    if len(available_periods(processed)) < 2:
        raise QlworkError(Problem("no_official_result", "示例整改台账由各期正式结果的预警生成，请先运行 qlwork score --period all",
                                  "the demo ledger is made from the official results; run `qlwork score --period all`",
                                  file=str(processed / "results"), expected="至少两期正式结果"))
    units = read_table("units", processed)
    units["unit_id"] = units["unit_id"].astype(str)
    risk = _risk_rows(rng, units, date)
    errors: list[dict] = []
    rfile = f"{REGISTER_DIR}/{RISK.file_name}"
    # planted risk-register errors (rows appended, so their Excel row is known)
    src = [r for r in risk if r.get("risk_id")]
    a, b, c = (src[int(i)] for i in rng.choice(len(src), size=3, replace=False))
    planted = [
        (dict(a, risk_id="FX-91", level="较高"), "bad_choice", "风险等级写成“较高”", "F"),
        (dict(b, risk_id="FX-92", reviewed=None), "missing_value", "风险点未填写最近评估日期", "I"),
        (dict(c, unit_id="U999998", risk_id="FX-01"), "unknown_unit", "单位编码不在名录中", "A"),
        (dict(a), "duplicate_entry", "同一单位的风险点编号重复", "D"),
        (dict(b, risk_id="FX-93", key_post="否" if b["key_post"] == "是" else "是"), "inconsistent_key_post",
         "同一岗位一行为关键岗位、另一行不是", "C"),
    ]
    for row, code, desc, col in planted:
        risk.append(row)
        # data start in Excel row 3 (row 2 holds the fill-in instructions)
        errors.append({"file": rfile, "sheet": RISK.sheet, "row": 2 + len(risk), "code": code,
                       "unit_id": row["unit_id"], "column": col, "description": desc})
    periods = available_periods(processed)
    latest = periods[-1]
    offs = {p: load_result(processed, p) for p in periods[:-1]}
    rdf = pd.DataFrame(risk).reindex(columns=[c.key for c in RISK.columns])
    good = rdf.iloc[: len(rdf) - len(planted)]
    parts = []
    for k, p in enumerate(periods[:-1]):
        parts.append(items_from_warnings(offs[p], risk=good, previous=offs.get(periods[k - 1]) if k else None))
    items = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    ledger = _fill(rng, items, periods[-2] if len(periods) > 1 else latest, date)
    # items from inspection feedback (巡察反馈), not from a warning
    others = units.sample(n=min(6, len(units)), random_state=int(rng.integers(1 << 31)))
    for j, u in enumerate(others.itertuples(index=False), start=1):
        issued = _dt.date(2025, 9, 1) + _dt.timedelta(days=7 * j)
        ledger.append({"item_id": f"XC-2025-{j:03d}", "unit_id": u.unit_id, "period": periods[-2], "warning": "巡察反馈",
                       "problem": _INSPECTION[j % len(_INSPECTION)], "klass": "堵点", "resp_unit": u.unit_name,
                       "person": _name(rng), "issued": issued, "deadline": issued + _dt.timedelta(days=60),
                       "status": IN_PROGRESS if j % 3 else CLOSED, "measures": str(rng.choice(_MEASURES)),
                       "closed": None if j % 3 else issued + _dt.timedelta(days=40),
                       "evidence": None if j % 3 else "巡察整改情况报告"})
    lfile = f"{REGISTER_DIR}/{LEDGER.file_name}"
    pick = [ledger[int(i)] for i in rng.choice(len(ledger) - 6, size=6, replace=False)]
    closed_one = next((r for r in ledger if r["status"] == CLOSED), pick[1])
    bad_ledger = [
        (dict(pick[0], item_id=pick[0]["item_id"] + "-x", status="已完成"), "bad_choice", "整改状态写成“已完成”", "M"),
        (dict(closed_one, item_id=closed_one["item_id"] + "-x", closed=None), "closed_without_date", "已销号但未填销号日期", "O"),
        (dict(pick[2], item_id=pick[2]["item_id"] + "-x", deadline=pick[2]["issued"] - _dt.timedelta(days=3)),
         "deadline_before_issue", "整改期限早于下发日期", "L"),
        (dict(pick[3], item_id=pick[3]["item_id"] + "-x", unit_id="U999999", risk_points=None), "unknown_unit", "单位编码不在名录中", "B"),
        (dict(pick[4], item_id=pick[4]["item_id"] + "-x", indicators="不存在的指标"), "unknown_indicator",
         "关联指标不在指标体系中", "G"),
        (dict(pick[5]), "duplicate_entry", "事项编号重复", None),
    ]
    for row, code, desc, col in bad_ledger:
        ledger.append(row)
        errors.append({"file": lfile, "sheet": LEDGER.sheet, "row": 2 + len(ledger), "code": code,
                       "unit_id": row["unit_id"], "column": col, "description": desc})
    d = raw / REGISTER_DIR
    write_template(d / RISK.file_name, RISK, risk)
    write_template(d / LEDGER.file_name, LEDGER, ledger)
    with atomic_path(raw / "_truth" / "follow_through_errors.csv") as tmp:
        pd.DataFrame(errors).to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\n")
    return {"ledger": len(ledger), "risk": len(risk), "errors": errors}
