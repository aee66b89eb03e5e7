"""Hand cases for the rectification ledger: the merge of ledger, register and new warnings (no entry
lost, status only forward, dates of record kept), the status on a date (overdue from dates, never
the clock), the ledger and risk measures, and period dates.  Every expected value is worked out
by hand in the comments."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qlwork.errors import QlworkError
from qlwork.followup.dates import as_date, default_issue_date, period_end, previous_period, to_date
from qlwork.followup.items import ITEM_COLUMNS, LedgerPolicy, classify
from qlwork.followup.measures import ledger_measures, risk_measures
from qlwork.followup.merge import PROGRESS, merge_ledger, progress_of, status_as_of
from qlwork.registers.ledger import LEDGER_FIELDS

D = dt.date


def item(iid, status="未整改", *, unit="U1", period="2025H1", issued=D(2025, 7, 15), deadline=D(2025, 8, 14),
         closed=None, evidence=None, person=None, origin="register", **kw):
    r = {c: None for c in ITEM_COLUMNS}
    r.update(item_id=iid, unit_id=unit, period=period, warning="低于合格线", problem=f"问题 {iid}", klass="堵点",
             issued=issued, deadline=deadline, status=status, closed=closed, evidence=evidence, person=person,
             framework="T", origin=origin, **kw)
    return r


def frame(rows, *, register=False):
    cols = ITEM_COLUMNS + ["file", "sheet", "row"] + (["_bad"] if register else [])
    out = []
    for k, r in enumerate(rows):
        r = dict(r)
        if register:
            r.setdefault("file", "registers/整改台账.xlsx")
            r.setdefault("sheet", "整改台账")
            r.setdefault("row", 3 + k)
            r.setdefault("_bad", False)
        out.append(r)
    return pd.DataFrame(out, columns=cols)


def by_id(df):
    """item id → row, missing cells as None (text columns read blanks as NaN)."""
    return {r["item_id"]: {k: (None if not isinstance(v, (str, dt.date)) and pd.isna(v) else v) for k, v in r.items()}
            for r in df.to_dict("records")}


# ------------------------------------------------------------------ merge
def test_merge_hand_case_no_entry_lost_and_status_only_forward():
    prev = frame([
        item("A", "整改中", person="张三"),
        item("B", "已销号", closed=D(2025, 8, 1), evidence="报告", person="李四"),
        item("C", origin="new"),  # created last time, not yet back in a filled-in register
        item("F", "整改中", person="王五"),  # was in the register, now deleted from it
    ])
    reg = frame([
        item("A", "未整改"),  # backwards: refused
        item("B", "已销号", closed=D(2025, 8, 9), evidence="报告"),  # closing date moved: refused
        item("D", "整改中", person="赵六"),  # a row of another source (巡察反馈), only in the register
    ], register=True)
    new = frame([item("A", origin="new"), item("E", period="2025H2", issued=D(2026, 1, 15),
                                               deadline=D(2026, 2, 14), origin="new")])
    out, probs = merge_ledger(prev, reg, new)
    m = by_id(out)
    assert sorted(m) == ["A", "B", "C", "D", "E", "F"]  # the union: nothing lost, nothing doubled
    assert m["A"]["status"] == "整改中" and m["A"]["person"] is None  # status kept, other fields from the register
    assert m["B"]["closed"] == D(2025, 8, 1)
    assert m["C"]["origin"] == "new" and m["D"]["origin"] == "register" and m["E"]["origin"] == "new"
    assert m["F"]["origin"] == "kept" and m["F"]["status"] == "整改中"
    codes = sorted(p.code for p in probs)
    assert codes == ["closed_date_changed", "entry_missing_from_register", "status_backward"]
    back = next(p for p in probs if p.code == "status_backward")
    assert (back.file, back.sheet, back.row, back.severity) == ("registers/整改台账.xlsx", "整改台账", 3, "error")
    assert back.found == "未整改" and "整改中" in back.expected
    assert next(p for p in probs if p.code == "closed_date_changed").severity == "warning"
    assert next(p for p in probs if p.code == "entry_missing_from_register").found == "F"


def test_forward_steps_are_accepted():
    steps = [("未整改", {}), ("整改中", {"person": "张三"}),
             ("已销号", {"person": "张三", "closed": D(2025, 8, 10), "evidence": "报告"})]
    prev = None
    for status, extra in steps:
        reg = frame([item("A", status, **extra)], register=True)
        prev, probs = merge_ledger(prev, reg, None)
        assert probs == [] and by_id(prev)["A"]["status"] == status


def test_written_overdue_keeps_the_progress():
    prev = frame([item("A", "整改中", person="张三")])
    out, probs = merge_ledger(prev, frame([item("A", "逾期", person="张三")], register=True), None)
    assert probs == [] and by_id(out)["A"]["status"] == "整改中"
    assert progress_of("逾期") == 0 and progress_of("逾期", 1) == 1 and PROGRESS["已销号"] == 2


def test_deadline_moved_is_reported_and_the_original_kept():
    prev = frame([item("A")])
    out, probs = merge_ledger(prev, frame([item("A", deadline=D(2025, 12, 31))], register=True), None)
    assert by_id(out)["A"]["deadline"] == D(2025, 8, 14)
    assert [(p.code, p.severity, p.found, p.expected) for p in probs] == [
        ("deadline_changed", "warning", "2025-12-31", "2025-08-14")]


def test_rows_with_errors_keep_the_earlier_state_or_the_new_item():
    prev = frame([item("A", "整改中", person="张三")])
    reg = frame([item("A", "已销号"), item("N", "整改中")], register=True)
    reg["_bad"] = True  # e.g. 已销号 without a closing date (reported by the reader)
    new = frame([item("N", period="2025H2", origin="new")])
    out, probs = merge_ledger(prev, reg, new)
    m = by_id(out)
    assert m["A"]["status"] == "整改中"  # earlier state, no "missing from register" warning for a bad row
    assert m["N"]["origin"] == "new" and m["N"]["status"] == "未整改"  # the warning's item is not lost
    assert probs == []


def test_merge_reads_the_stored_ledger_dates_as_dates():
    """The processed ledger keeps dates as ISO text; the register has dates: they compare equal."""
    prev = frame([item("A", "已销号", closed="2025-08-01", evidence="x", person="p", issued="2025-07-15",
                       deadline="2025-08-14")])
    out, probs = merge_ledger(prev, frame([item("A", "已销号", closed=D(2025, 8, 1), evidence="x", person="p")],
                                          register=True), None)
    assert probs == []


_STATUS = st.sampled_from(["未整改", "整改中", "已销号", "逾期"])


@settings(max_examples=40, deadline=None)
@given(prev=st.dictionaries(st.sampled_from("ABCDEFGH"), _STATUS, max_size=8),
       reg=st.dictionaries(st.sampled_from("ABCDEFGHIJ"), _STATUS, max_size=10),
       new=st.sets(st.sampled_from("ABCDEFGHIJKL"), max_size=12))
def test_property_union_kept_and_progress_never_falls(prev, reg, new):
    def rows(d, **kw):
        return [item(k, s, closed=D(2025, 8, 1) if s == "已销号" else None, evidence="e" if s == "已销号" else None,
                     person="p", **kw) for k, s in sorted(d.items())]

    p = frame(rows(prev))
    out, _ = merge_ledger(p, frame(rows(reg), register=True), frame([item(k, origin="new") for k in sorted(new)]))
    m = by_id(out)
    assert set(m) == set(prev) | set(reg) | set(new)
    assert len(out) == len(m)
    for k, s in prev.items():
        assert progress_of(m[k]["status"], progress_of(s)) >= progress_of(s)
    # merging the result again with the same register changes no status (idempotent); a register that
    # still states an earlier step is reported again, for the same items
    again, probs2 = merge_ledger(out, frame(rows(reg), register=True), None)
    assert {k: r["status"] for k, r in by_id(again).items()} == {k: r["status"] for k, r in m.items()}
    back = {x.message.split()[1] for x in probs2 if x.code == "status_backward"}
    assert back == {k for k, s in reg.items() if k in prev and progress_of(s, progress_of(prev[k])) < progress_of(prev[k])}


# ------------------------------------------------------------------ status on a date
def test_status_as_of_from_dates():
    led = frame([
        item("open", deadline=D(2026, 2, 14)),
        item("late_close", "已销号", deadline=D(2026, 2, 14), closed=D(2026, 2, 20), evidence="e", person="p"),
        item("on_time", "已销号", deadline=D(2026, 2, 14), closed=D(2026, 2, 1), evidence="e", person="p"),
        item("working", "整改中", deadline=D(2026, 2, 14), person="p"),
    ])

    def at(day):
        return by_id(status_as_of(led, day))

    s = at(D(2026, 2, 14))  # the deadline day itself is not late (overdue: deadline < as_of)
    assert [s[k]["status_eff"] for k in ("open", "late_close", "on_time", "working")] == ["未整改", "整改中", "已销号", "整改中"]
    assert not any(r["overdue"] for r in s.values())
    s = at(D(2026, 2, 18))  # closed on 02-20: on 02-18 it was still open, 4 days late
    assert (s["late_close"]["status_eff"], s["late_close"]["days_overdue"]) == ("逾期", 4)
    assert (s["open"]["status_eff"], s["open"]["days_overdue"]) == ("逾期", 4)
    assert s["working"]["status_eff"] == "逾期" and s["on_time"]["status_eff"] == "已销号"
    s = at(D(2026, 2, 21))
    assert s["late_close"]["status_eff"] == "已销号" and s["late_close"]["closed_late"]
    assert not s["on_time"]["closed_late"] and s["open"]["days_overdue"] == 7
    assert set(status_as_of(led, D(2026, 2, 21))["as_of"]) == {"2026-02-21"}


# ------------------------------------------------------------------ measures
def test_ledger_measures_hand_case():
    led = frame([
        item("a", "已销号", deadline=D(2025, 8, 14), closed=D(2025, 8, 1), evidence="e", person="p"),  # on time
        item("b", "已销号", deadline=D(2025, 8, 14), closed=D(2025, 9, 30), evidence="e", person="p"),  # late
        item("c", "整改中", deadline=D(2025, 8, 14), person="p"),  # due, open → overdue
        item("d", "未整改", deadline=D(2026, 2, 14)),  # not due on 2025-12-31
        item("e", "已销号", unit="U2", period="2025H2", deadline=D(2025, 8, 14), closed=D(2025, 8, 1), evidence="e"),
    ])
    m = ledger_measures(led, D(2025, 12, 31), units=["U1", "U2", "U3"], before_period="2025H2").set_index("unit_id")
    # U1: due a, b, c → closed 2 (66.67 %), on time 1 (33.33 %), overdue 1; U2's item is of 2025H2: not counted
    assert m.loc["U1", "n_due"] == 3 and m.loc["U1", "rect_close_rate"] == pytest.approx(200 / 3)
    assert m.loc["U1", "rect_ontime_rate"] == pytest.approx(100 / 3) and m.loc["U1", "rect_overdue"] == 1
    for u in ("U2", "U3"):  # nothing due: the empty rate (100), no overdue item
        assert (m.loc[u, "rect_close_rate"], m.loc[u, "rect_ontime_rate"], m.loc[u, "rect_overdue"]) == (100, 100, 0)
    m2 = ledger_measures(led, D(2025, 9, 1), units=["U1"]).set_index("unit_id")
    # on 09-01: b not yet closed → closed 1 of 3 due; d not due
    assert m2.loc["U1", "rect_close_rate"] == pytest.approx(100 / 3) and m2.loc["U1", "rect_overdue"] == 2


def test_risk_measures_hand_case():
    r = pd.DataFrame([
        # unit, post, key, risk_id, level, controls, reviewed
        ("U1", "财务", "是", "FX-01", "高", None, D(2025, 6, 30)),  # high, uncontrolled
        ("U1", "财务", "是", "FX-02", "中", "双人审核", D(2024, 6, 30)),  # review > 12 months before 2025-12-31
        ("U1", "采购", "是", "FX-03", "高", "集中采购", D(2025, 10, 1)),  # key post covered
        ("U1", "办公室", "否", "FX-04", "低", None, D(2026, 1, 5)),  # reviewed after A: not reviewed on A
        ("U2", "招生", "是", None, None, None, None),  # a key post without any risk point: not covered
        ("U3", "办公室", "否", "FX-01", "中", "制度", D(2025, 12, 1)),  # no key post: empty rate
    ], columns=["unit_id", "post", "key_post", "risk_id", "level", "controls", "reviewed"])
    r["risk"] = r["risk_id"]
    r["owner"] = "甲"
    m = risk_measures(r, D(2025, 12, 31)).set_index("unit_id")
    assert m.loc["U1", "risk_high_uncontrolled"] == 1 and m.loc["U1", "risk_high_posts_uncontrolled"] == 1
    assert m.loc["U1", "risk_review_overdue"] == 2  # FX-02 (old) and FX-04 (after A)
    # U1 key posts 财务 (has an uncontrolled point) and 采购 (covered) → 50 %
    assert (m.loc["U1", "n_key_posts"], m.loc["U1", "n_key_covered"], m.loc["U1", "risk_key_post_coverage"]) == (2, 1, 50)
    assert m.loc["U2", "risk_key_post_coverage"] == 0 and m.loc["U2", "n_risk_points"] == 0
    assert m.loc["U3", "risk_key_post_coverage"] == 100 and m.loc["U3", "risk_review_overdue"] == 0


# ------------------------------------------------------------------ dates and classes
def test_period_dates():
    assert period_end("2025H1") == D(2025, 6, 30) and period_end("2025H2") == D(2025, 12, 31)
    assert period_end("2024Q1") == D(2024, 3, 31) and period_end("2024-02") == D(2024, 2, 29)
    assert default_issue_date("2025H2") == D(2026, 1, 15) and default_issue_date("2025H1", 0) == D(2025, 6, 30)
    assert previous_period("2025H2", ["2024H2", "2025H1", "2025H2"]) == "2025H1"
    assert previous_period("2024H1", ["2024H1"]) is None
    for text in ("2026-01-31", "2026年1月31日", "2026/1/31", "2026.01.31", dt.datetime(2026, 1, 31, 8)):
        assert to_date(text) == D(2026, 1, 31)
    assert to_date("2026-02-30") is None and to_date(np.nan) is None
    with pytest.raises(QlworkError) as e:
        as_date("next week")
    assert e.value.problems[0].code == "bad_date" and e.value.problems[0].found == "next week"
    with pytest.raises(QlworkError):
        period_end("2025")


def test_classes_and_policy():
    from types import SimpleNamespace as NS

    pol = LedgerPolicy()
    assert classify(NS(public=True, source="群众评价", direction=1), pol) == "痛点"
    assert classify(NS(public=False, source="信访", direction=-1), pol) == "痛点"
    assert classify(NS(public=False, source="纪检监察", direction=-1), pol) == "污染点"
    assert classify(NS(public=False, source="审计", direction=1), pol) == "堵点"
    assert classify(NS(public=False, source="组织", direction=-1), pol) == "堵点"
    assert pol.to_dict()["deadline_days"] == 30 and len(pol.describe_zh()) >= 5
    with pytest.raises(QlworkError):
        LedgerPolicy(deadline_days=0)
    assert LEDGER_FIELDS[0] == "item_id"
