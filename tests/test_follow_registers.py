"""The follow-through registers in the style of the bad-input corpus (tests/bad_inputs/): each case is
one realistic mistake in a filled-in 整改台账 or 廉政风险点登记表, put into a small raw folder (the
corpus's base framework and units, one clean department workbook) and run through ``qlwork
validate``; the user must see a located, bilingual problem — file, sheet, Excel row, column, what
was found, what was expected.  Plus the template round trip: generate → fill → validate → ingest →
score, with a framework that uses a rectification rate as an indicator."""
from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from qlwork.registers.base import write_template
from qlwork.registers.ledger import LEDGER
from qlwork.registers.risk import RISK

BASE = Path(__file__).resolve().parent / "bad_inputs"
D = dt.date
LFILE, RFILE = f"registers/{LEDGER.file_name}", f"registers/{RISK.file_name}"
_CJK = re.compile(r"[\u4e00-\u9fff]")


def clean_ledger() -> list[dict]:
    """Three items of 2025H1 (rows 3–5): closed on time, under way, untouched."""
    base = dict(period="2025H1", warning="低于合格线", klass="堵点", issued=D(2025, 7, 15), deadline=D(2025, 8, 14))
    return [
        dict(base, item_id="2025H1-U1-pct", unit_id="U1", problem="整改率偏低", indicators="pct", resp_unit="甲局",
             person="张三", status="已销号", measures="专项整改", closed=D(2025, 8, 1), evidence="整改报告"),
        dict(base, item_id="2025H1-U2-cnt", unit_id="U2", problem="问题数多", indicators="cnt", person="李四",
             status="整改中", measures="自查自纠", risk_points="FX-01"),
        dict(base, item_id="2025H1-U3-sch", unit_id="U3", problem="乱收费", indicators="sch", status="未整改"),
    ]


def clean_risk() -> list[dict]:
    """Rows 3–5: U1 财务 (key, high, controlled), U2 采购 (key, medium), U3 办公室 (no point yet)."""
    return [
        dict(unit_id="U1", post="财务", key_post="是", risk_id="FX-01", risk="虚列支出", level="高", controls="双人审核",
             owner="王五", reviewed=D(2025, 6, 30)),
        dict(unit_id="U2", post="采购", key_post="是", risk_id="FX-01", risk="拆分采购", level="中", controls="集中采购",
             owner="赵六", reviewed=D(2025, 5, 10)),
        dict(unit_id="U3", post="办公室", key_post="否"),
    ]


def raw_folder(tmp: Path, ledger=None, risk=None, *, periods=("2025H1",), framework: str | None = None) -> Path:
    raw = tmp / "raw"
    raw.mkdir(parents=True)
    shutil.copy(BASE / "base" / "units.xlsx", raw / "units.xlsx")
    if framework is None:
        shutil.copy(BASE / "base" / "framework_county.yaml", raw / "framework_county.yaml")
    else:
        (raw / "framework_county.yaml").write_text(framework, encoding="utf-8")
    for p in periods:
        (raw / "departments" / p).mkdir(parents=True)
        shutil.copy(BASE / "files" / "dept_clean.xlsx", raw / "departments" / p / "纪检监察.xlsx")
    if ledger is not None:
        write_template(raw / LFILE, LEDGER, ledger)
    if risk is not None:
        write_template(raw / RFILE, RISK, risk)
    return raw


def edit(rows, i, **kw):
    rows = [dict(r) for r in rows]
    rows[i].update(kw)
    return rows


L, R = clean_ledger, clean_risk
CASES = [
    # (id, ledger rows, risk rows, expected problem parts)
    ("ledger_unknown_unit", edit(L(), 0, unit_id="U9"), R(),
     dict(code="unknown_unit", file=LFILE, row=3, column="B（单位编码）", found="U9")),
    ("ledger_status_not_a_choice", edit(L(), 1, status="已完成"), R(),
     dict(code="bad_choice", file=LFILE, row=4, column="M（整改状态）", found="已完成", expected="已销号", zh="整改状态")),
    ("ledger_closed_without_date", edit(L(), 0, closed=None), R(),
     dict(code="closed_without_date", row=3, column="O（销号日期）", zh="销号日期", en="closing date")),
    ("ledger_closed_without_evidence", edit(L(), 0, evidence=None), R(),
     dict(code="closed_without_evidence", row=3, column="P（佐证材料）", en="evidence")),
    ("ledger_date_but_not_closed", edit(L(), 1, closed=D(2025, 8, 2)), R(),
     dict(code="date_without_closure", row=4, column="O（销号日期）", found="整改中")),
    ("ledger_deadline_before_issue", edit(L(), 2, deadline=D(2025, 7, 1)), R(),
     dict(code="deadline_before_issue", row=5, column="L（整改期限）", found="2025-07-01", expected="2025-07-15")),
    ("ledger_closed_before_issue", edit(L(), 0, closed=D(2025, 7, 1)), R(),
     dict(code="closed_before_issue", row=3, column="O（销号日期）", found="2025-07-01")),
    ("ledger_unknown_indicator", edit(L(), 0, indicators="pct；整改率2"), R(),
     dict(code="unknown_indicator", row=3, column="G（关联指标）", found="整改率2", expected="pct")),
    ("ledger_unknown_risk_point", edit(L(), 1, risk_points="FX-09"), R(),
     dict(code="unknown_risk_point", row=4, column="H（关联风险点）", found="FX-09", expected="FX-01")),
    ("ledger_duplicate_item", L() + [dict(L()[1])], R(),
     dict(code="duplicate_entry", file=LFILE, row=6, found="2025H1-U2-cnt", expected="只登记一次")),
    # a new item whose 事项编号 the clerk left blank: located, never a pandas traceback
    ("ledger_blank_item_id", edit(L(), 1, item_id=None), R(),
     dict(code="missing_value", file=LFILE, row=4, column="A（事项编号）")),
    ("ledger_bad_date", edit(L(), 2, issued="2025-13-40"), R(),
     dict(code="bad_date", row=5, column="K（下发日期）", found="2025-13-40")),
    ("ledger_period_not_in_data", edit(L(), 2, period="2024H2"), R(),
     dict(code="unknown_period", row=5, found="2024H2", expected="2025H1")),
    ("ledger_bad_period", edit(L(), 2, period="2025Q1"), R(),
     dict(code="bad_period", row=5, column="C（预警期别）", found="2025Q1")),
    ("ledger_class_not_a_choice", edit(L(), 2, klass="难点"), R(),
     dict(code="bad_choice", row=5, column="F（问题类别）", found="难点", expected="污染点")),
    ("ledger_no_person", edit(L(), 1, person=None), R(),
     dict(code="no_responsible_person", row=4, column="J（责任人）", severity="warning")),
    ("risk_level_not_a_choice", L(), edit(R(), 0, level="较高"),
     dict(code="bad_choice", file=RFILE, row=3, column="F（风险等级）", found="较高", expected="高、中、低")),
    ("risk_without_review_date", L(), edit(R(), 1, reviewed=None),
     dict(code="missing_value", file=RFILE, row=4, column="I（最近评估日期）", zh="评估日期")),
    ("risk_without_level", L(), edit(R(), 1, level=None),
     dict(code="missing_value", row=4, column="F（风险等级）", expected="高、中、低")),
    ("risk_level_without_point", L(), edit(R(), 2, level="低"),
     dict(code="missing_value", row=5, column="E（风险点描述）", found="低")),
    ("risk_duplicate_point", L(), R() + [dict(R()[0], post="出纳")],
     dict(code="duplicate_entry", file=RFILE, row=6, column="D（风险点编号）", found="U1|FX-01", zh="第 3 行")),
    ("risk_key_post_inconsistent", L(), R() + [dict(unit_id="U1", post="财务", key_post="否", risk_id="FX-02",
                                                     risk="公款私存", level="中", controls="对账", reviewed=D(2025, 6, 1))],
     dict(code="inconsistent_key_post", row=6, column="C（是否关键岗位）", found="否", expected="是")),
    ("risk_key_post_not_a_choice", L(), edit(R(), 2, key_post="Y"),
     dict(code="bad_choice", row=5, column="C（是否关键岗位）", found="Y")),
    ("risk_unknown_unit", L(), edit(R(), 2, unit_id="X1"),
     dict(code="unknown_unit", file=RFILE, row=5, column="A（单位编码）", found="X1")),
]


def _matches(p, exp) -> bool:
    for k, v in exp.items():
        got = getattr(p, {"zh": "message", "en": "message_en"}.get(k, k))
        if k in ("code", "row", "column", "severity"):
            if got != v:
                return False
        elif k == "file":
            if not str(got or "").endswith(v):
                return False
        elif v not in str(got):
            return False
    return True


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_register_mistake_is_located(case, tmp_path):
    from qlwork.io.validate import validate

    _, ledger, risk, exp = case
    raw = raw_folder(tmp_path, ledger, risk)
    rep = validate(raw)
    mine = [p for p in rep.problems if (p.file or "").startswith("registers/")]
    shown = "\n".join(map(str, mine))
    hits = [p for p in mine if _matches(p, exp)]
    assert len(hits) == 1, f"expected exactly one {exp} in:\n{shown}"
    # one mistake, one problem (no echo of the same cell under another code)
    assert len(mine) == 1, shown
    for p in mine:
        assert _CJK.search(p.message) and p.message_en and not _CJK.match(p.message_en)
        assert p.file and p.sheet and p.row is not None and str(p).startswith(f"[{p.code}]")


def test_blank_key_cells_are_missing_values_not_a_traceback(tmp_path):
    """Two bonus rows whose 加分项目 (part of the duplicate key unit|period|item) is blank: each is a
    located missing value — not a duplicate of the other, not a pandas TypeError (pandas 3 keeps NaN
    through astype(str))."""
    from qlwork.io.validate import validate
    from qlwork.registers.rules import BONUS

    raw = raw_folder(tmp_path, L(), R())
    rows = [dict(unit_id="U1", period="2025H1", item=None, points=1, basis="县清廉办〔2025〕1号"),
            dict(unit_id="U1", period="2025H1", item=None, points=1, basis="县清廉办〔2025〕2号")]
    write_template(raw / "registers" / BONUS.file_name, BONUS, rows)
    mine = [p for p in validate(raw).problems if (p.file or "").endswith(BONUS.file_name)]
    assert sorted((p.code, p.row, p.column) for p in mine) == [("missing_value", 3, "C（加分项目）"),
                                                               ("missing_value", 4, "C（加分项目）")], mine


def test_clean_registers_have_no_problem_and_names_become_ids(tmp_path):
    from qlwork.io.validate import run_checks
    from qlwork.registers.follow import read_follow_registers

    raw = raw_folder(tmp_path, edit(L(), 0, indicators="整改率"), R())
    res = run_checks(raw)
    assert [p for p in res.report.problems if (p.file or "").startswith("registers/")] == []
    regs = read_follow_registers(raw, units=res.units, frameworks=res.frameworks, periods=["2025H1"])
    assert list(regs.ledger["indicators"]) == ["pct", "cnt", "sch"]  # the name 整改率 read as its id
    assert len(regs.risk) == 3 and regs.problems == ()


def test_missing_column_and_unreadable_file(tmp_path):
    from qlwork.io.validate import validate

    raw = raw_folder(tmp_path, L(), R())
    from openpyxl import load_workbook

    wb = load_workbook(raw / LFILE)
    wb["整改台账"]["M1"] = "状态（改了表头）"
    wb.save(raw / LFILE)
    (raw / RFILE).write_bytes(b"not a workbook")
    probs = [p for p in validate(raw).problems if (p.file or "").startswith("registers/")]
    # the register goes through the guard of every workbook reader (io/guard), with its codes
    assert {(p.code, p.file, p.row) for p in probs} == {("missing_column", LFILE, 1), ("unreadable_file", RFILE, None)}
    miss = next(p for p in probs if p.code == "missing_column")
    assert miss.expected == "整改状态" and "状态（改了表头）" in miss.found


# ------------------------------------------------------------------ derived indicators
FW_DERIVED = {"id": "T", "name": "测试框架", "unit_types": ["机关", "学校"], "children": [
    {"id": "A", "name": "甲", "weight": 0.6, "children": [
        {"id": "cnt", "name": "问题数", "direction": -1, "unit": "件", "source": "纪检监察", "kind": "count",
         "weight": 0.5, "range": [0, None]},
        {"id": "pct", "name": "整改率", "direction": 1, "unit": "%", "source": "纪检监察", "kind": "percent",
         "weight": 0.3, "range": [0, 100]},
        {"id": "sch", "name": "乱收费数", "direction": -1, "unit": "件", "source": "纪检监察", "kind": "count",
         "weight": 0.2, "range": [0, None], "applies_to": ["学校"]}]},
    {"id": "B", "name": "整改与防控", "weight": 0.4, "children": [
        {"id": "rect_close_rate", "name": "预警问题整改销号率", "direction": 1, "unit": "%", "source": "整改台账",
         "kind": "percent", "weight": 0.5, "range": [0, 100], "goalposts": [0, 100]},
        {"id": "risk_key_post_coverage", "name": "关键岗位风险防控覆盖率", "direction": 1, "unit": "%",
         "source": "廉政风险点登记表", "kind": "percent", "weight": 0.5, "range": [0, 100], "goalposts": [0, 100]}]}]}


def test_template_round_trip_and_rates_as_indicators(tmp_path):
    """generate the templates → fill them in (as a unit would, in Excel) → validate → ingest → score:
    the derived indicators carry the hand-computed rates into the official result."""
    from openpyxl import load_workbook

    from qlwork.io.build import ingest
    from qlwork.workflow import Project, load_result, score
    from qlwork.workflow.follow_through import register_templates

    raw = raw_folder(tmp_path, periods=("2025H1", "2025H2"),
                     framework=yaml.safe_dump(FW_DERIVED, allow_unicode=True, sort_keys=False))
    paths = register_templates(raw / "registers", ["ledger", "risk"])
    assert [p.name for p in paths] == [LEDGER.file_name, RISK.file_name]
    # fill in below the instruction row, cell by cell, as a person would
    for path, rows, schema in ((paths[0], clean_ledger(), LEDGER), (paths[1], clean_risk(), RISK)):
        wb = load_workbook(path)
        ws = wb[schema.sheet]
        assert [c.value for c in ws[1]] == [c.title for c in schema.columns]
        assert str(ws["A2"].value).startswith("填写说明")
        for r in rows:
            ws.append([r.get(c.key) for c in schema.columns])
        wb.save(path)
    res = ingest(raw, tmp_path / "processed", exclude_invalid=False)  # no error anywhere
    v = pd.read_parquet(tmp_path / "processed" / "values.parquet")
    d = v[v["source"].isin(["整改台账", "廉政风险点登记表"])].pivot_table(
        index=["period", "unit_id"], columns="indicator_id", values="value")
    # 2025H1: no item of an earlier period → every unit 100 (nothing to rectify)
    assert (d.loc["2025H1", "rect_close_rate"] == 100).all()
    # 2025H2 (A = 2025-12-31), items of 2025H1 due 2025-08-14: U1 closed → 100, U2 and U3 open → 0, U4 none → 100
    assert d.loc["2025H2", "rect_close_rate"].to_dict() == {"U1": 100.0, "U2": 0.0, "U3": 0.0, "U4": 100.0}
    # risk register: latest period only, units in the register; U3 has no key post → empty rate 100
    assert d.loc["2025H2", "risk_key_post_coverage"].dropna().to_dict() == {"U1": 100.0, "U2": 100.0, "U3": 100.0}
    assert "2025H1" not in d["risk_key_post_coverage"].dropna().index.get_level_values(0)
    assert res.report.ok
    # scored with goalposts [0, 100]: the normalised indicator equals the rate
    prj = Project.open(tmp_path, raw=raw, processed=tmp_path / "processed")
    score(prj, "2025H2", specs={"T": prj.spec("T", {"normalization": "goalposts"})})
    off = load_result(prj.processed, "2025H2")
    norm = off.results["T"].normalized["rect_close_rate"]
    assert norm.to_dict() == {"U1": 100.0, "U2": 0.0, "U3": 0.0, "U4": 100.0}
    b = off.results["T"].scores["B"]
    assert b["U1"] > b["U2"]  # the rate moves the goal score


def test_unknown_measure_and_missing_register(tmp_path):
    from qlwork.io.validate import validate

    fw = yaml.safe_load(yaml.safe_dump(FW_DERIVED, allow_unicode=True))
    fw["children"][1]["children"][0]["id"] = "rect_rate"  # not a measure of the ledger
    raw = raw_folder(tmp_path, periods=("2025H1",), framework=yaml.safe_dump(fw, allow_unicode=True))
    probs = {p.code: p for p in validate(raw).problems if p.code in ("unknown_measure", "register_missing")}
    assert probs["unknown_measure"].file == "framework_county.yaml" and probs["unknown_measure"].found == "rect_rate"
    assert "rect_close_rate" in probs["unknown_measure"].expected
    assert probs["register_missing"].severity == "warning" and RISK.file_name in probs["register_missing"].expected


def test_prefilled_register_keeps_formula_like_text_as_text(tmp_path):
    """A register written back to the units (the pre-filled 整改台账) keeps a unit's text exactly:
    ``=HYPERLINK(…)`` is a quote-prefixed string cell — never a formula, and no "'" added that would
    come back into data/raw with the filled-in register."""
    from openpyxl import load_workbook

    from qlwork.io.excel import read_workbook

    tricky = '=HYPERLINK("http://example.invalid","点我")'
    path = write_template(tmp_path / "整改台账.xlsx", LEDGER, edit(L(), 0, problem=tricky, measures="+1 项"))
    ws = load_workbook(path)["整改台账"]
    cell = ws["E3"]
    assert (cell.value, cell.data_type, cell.quotePrefix) == (tricky, "s", True)
    assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row)
    rows = read_workbook(path, ["整改台账"])["整改台账"]
    assert rows[2][4] == tricky and rows[2][13] == "+1 项"
