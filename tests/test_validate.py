"""qlwork.io.validate: every check on small hand-made workbooks, the demo's deliberate
errors (each exactly once, located), read-only behaviour, and the CLI end to end."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from openpyxl import Workbook, load_workbook

from qlwork.io.validate import validate

# ---------------------------------------------------------------- mini raw folder
from mini_framework import FW

UNITS = [["单位编码", "单位名称", "单位类型", "市州", "县市区", "乡镇(街道)", "框架", "在编人数", "服务人口"],
         ["U1", "甲局", "机关", "清江市", "临川县", "东城街道", "county", 20, 1000],
         ["U2", "乙校", "学校", "清江市", "临川县", "东城街道", "county", 30, 800],
         ["U3", "丙校", "学校", "清江市", "临川县", "西城街道", "county", 40, 900]]
HEAD = [["2025年上半年报送表（纪检监察）"], ["填报单位：临川县纪委监委（盖章）"],
        ["序号", "单位编码", "单位名称", "甲", None, None],
        [None, None, None, "问题数（件）", "整改率（%）", "乱收费数（件）"]]


def data_rows():
    # Excel rows 5, 6, 7; messy but valid: full-width digits, text numbers, a % sign, "/" for n/a
    return [[1, "U1", "甲局", 0, 95, "/"],
            [2, "U2", "乙校", 1, "９８.５", 0],
            [3, "U3", "丙校", "2", "100%", 1]]


def write_xlsx(path: Path, rows, sheet="数据"):
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    for r in rows:
        ws.append(r)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


def make_raw(root: Path, periods=("2025H1", "2025H2"), rows=None, edit=None) -> Path:
    """A small raw folder; ``edit(period, rows) -> rows`` changes one period's rows."""
    raw = root / "raw"
    raw.mkdir(parents=True)
    (raw / "framework_county.yaml").write_text(yaml.safe_dump(FW, allow_unicode=True), encoding="utf-8")
    write_xlsx(raw / "units.xlsx", UNITS, "单位名录")
    for p in periods:
        body = data_rows() if rows is None else rows
        if edit:
            body = edit(p, [list(r) for r in body])
        write_xlsx(raw / "departments" / p / "纪检监察.xlsx", HEAD + body + [[], ["备注：“/”表示不适用"]])
    return raw


def only(report, code):
    probs = [p for p in report.problems if p.code == code]
    assert len(probs) == 1, [str(p) for p in report.problems]
    return probs[0]


# ----------------------------------------------------------------------- checks
def test_clean_folder_has_no_problems(tmp_path):
    rep = validate(make_raw(tmp_path))
    assert rep.problems == (), [str(p) for p in rep.problems]
    assert rep.ok and rep.n_files == 2 and rep.n_cells == 18 and rep.periods == ("2025H1", "2025H2")
    assert "未发现问题" in rep.summary_zh()


def _edit_h1(fn):
    return lambda p, rows: fn(rows) if p == "2025H1" else rows


@pytest.mark.parametrize("code, fn, row, col, found", [
    ("non_numeric", lambda r: r[0].__setitem__(3, "待核实") or r, 5, "D", "待核实"),
    ("out_of_range", lambda r: r[1].__setitem__(3, -3) or r, 6, "D", "-3"),
    ("out_of_range", lambda r: r[2].__setitem__(4, "120") or r, 7, "E", "120"),
    ("missing_value", lambda r: r[1].__setitem__(4, None) or r, 6, "E", "空白 blank"),
    ("missing_value", lambda r: r[2].__setitem__(5, "—") or r, 7, "F", "—"),
    ("unknown_unit", lambda r: r[:2] + [[3, "U9", "丁局", 0, 90, "/"]] + r[2:], 7, "B", "U9"),
    ("duplicate", lambda r: r + [list(r[0])], 8, "B", "U1"),
])
def test_each_cell_and_row_check(tmp_path, code, fn, row, col, found):
    rep = validate(make_raw(tmp_path, edit=_edit_h1(fn)))
    p = only(rep, code)
    assert (p.file, p.sheet, p.row, p.column) == ("departments/2025H1/纪检监察.xlsx", "数据", row, col)
    assert p.found == found
    assert p.message and p.message_en and p.expected
    assert not rep.ok
    assert [q.code for q in rep.errors] == [code]


def test_not_applicable_value_is_a_warning(tmp_path):
    rep = validate(make_raw(tmp_path, edit=_edit_h1(lambda r: r[0].__setitem__(5, 2) or r)))
    p = only(rep, "not_applicable_value")
    assert p.severity == "warning" and (p.row, p.column) == (5, "F")
    assert rep.ok  # warnings do not block


def test_unit_missing_from_one_period_is_a_period_gap(tmp_path):
    rep = validate(make_raw(tmp_path, edit=_edit_h1(lambda r: r[:1] + r[2:])))
    p = only(rep, "period_gap")
    assert (p.file, p.sheet, p.row) == ("departments/2025H1/纪检监察.xlsx", "数据", None)
    assert "U2" in p.message
    assert len(rep.errors) == 1  # no missing_value per indicator on top


def test_department_missing_a_period(tmp_path):
    raw = make_raw(tmp_path, periods=("2024H2", "2025H1", "2025H2"))
    write_xlsx(raw / "departments" / "2025H1" / "组织.xlsx", HEAD + data_rows())
    write_xlsx(raw / "departments" / "2025H2" / "组织.xlsx", HEAD + data_rows())
    rep = validate(raw)
    p = only(rep, "period_gap")
    assert p.file == "departments/2024H2/组织.xlsx"


def test_whole_period_missing(tmp_path):
    rep = validate(make_raw(tmp_path, periods=("2024H1", "2025H1")))
    codes = [p.code for p in rep.problems]
    assert codes == ["period_gap"]
    assert rep.problems[0].file == "departments/2024H2/"


def test_unit_never_reported(tmp_path):
    rep = validate(make_raw(tmp_path, edit=lambda p, r: r[:2]))
    p = only(rep, "unit_not_reported")
    assert "U3" in p.message and p.file == "departments/2025H1/纪检监察.xlsx"


def test_layout_problems(tmp_path):
    raw = make_raw(tmp_path)
    path = raw / "departments" / "2025H1" / "纪检监察.xlsx"
    wb = load_workbook(path)
    ws = wb["数据"]
    ws["G4"] = "神秘指标（个）"          # unknown header
    ws["G5"] = 3
    ws["H4"] = "cnt"                    # the same indicator again, by id
    ws["A9"] = None
    ws["D9"] = 5                        # a value without unit id
    ws2 = wb.create_sheet("补充")        # numbers but no header
    ws2.append(["x", 1, 2])
    wb.create_sheet("填表说明").append(["说明文字"])  # instruction sheet: ignored
    wb.save(path)
    (raw / "departments" / "2025年上半年").mkdir()
    write_xlsx(raw / "departments" / "2025年上半年" / "组织.xlsx", HEAD + data_rows())
    rep = validate(raw)
    assert (only(rep, "unknown_column").row, only(rep, "unknown_column").column) == (4, "G")
    assert only(rep, "duplicate_column").column == "H"
    assert only(rep, "missing_unit_id").row == 9
    assert only(rep, "unknown_sheet").sheet == "补充"
    assert only(rep, "bad_period").file == "departments/2025年上半年/组织.xlsx"


def test_headers_matched_by_name_without_unit_suffix_or_by_id(tmp_path):
    head = [["序号", "单位编码", "问 题 数", "pct", "乱收费数\n(件)"]]
    rows = [[1, "U1", 0, 95, "/"], [2, "U2", 1, 98, 0], [3, "U3", 2, 99, 1]]
    raw = make_raw(tmp_path, periods=("2025H1",))
    write_xlsx(raw / "departments" / "2025H1" / "纪检监察.xlsx", head + rows)
    rep = validate(raw)
    assert rep.ok and rep.problems == () and rep.n_cells == 9


def test_registry_problems(tmp_path):
    raw = make_raw(tmp_path)
    write_xlsx(raw / "units.xlsx", UNITS + [["U1", "重复局", "机关", "", "", "", "county", 5, 5],
                                           ["U4", "丁局", "机关", "", "", "", "town", "很多", 5],
                                           ["U5", "戊园", "园区", "", "", "", "county", 5, 5]], "单位名录")
    rep = validate(raw)
    assert only(rep, "duplicate_unit").row == 5
    assert (only(rep, "unknown_framework").row, only(rep, "unknown_framework").column) == (6, "G")
    assert (only(rep, "bad_number").row, only(rep, "bad_number").column) == (6, "H")
    assert only(rep, "unknown_unit_type").severity == "warning"


def test_missing_raw_folder(tmp_path):
    rep = validate(tmp_path / "nope")
    assert not rep.ok and rep.problems[0].code == "folder_not_found"


# ------------------------------------------------------------------- the demo
def _tree_hash(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        h.update(p.relative_to(folder).as_posix().encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory):
    """``qlwork demo`` run as a command in a fresh project folder (QLWORK_ROOT)."""
    root = tmp_path_factory.mktemp("proj")
    r = _qlwork(["demo"], root)
    assert r.returncode == 0, r.stderr
    assert "已生成示例数据" in r.stdout
    return root


@pytest.fixture(scope="module")
def demo_raw(demo_root):
    return demo_root / "data" / "raw"


@pytest.fixture(scope="module")
def demo_report(demo_raw):
    before = _tree_hash(demo_raw)
    rep = validate(demo_raw)
    assert _tree_hash(demo_raw) == before, "validate must not modify data/raw"
    return rep


def test_demo_errors_each_reported_once_with_location(demo_raw, demo_report):
    truth = pd.read_csv(demo_raw / "_truth" / "deliberate_errors.csv", encoding="utf-8-sig", dtype=str).fillna("")
    reg = pd.read_csv(demo_raw / "_truth" / "register_errors.csv", encoding="utf-8-sig", dtype=str).fillna("")
    got = sorted((p.file, p.sheet, str(p.row) if p.row is not None else "", p.code) for p in demo_report.problems
                 if p.code != "bonus_sum_capped")
    want = sorted(list(zip(truth.file, truth.sheet, truth.row, truth.code)) + list(zip(reg.file, reg.sheet, reg.row, reg.code)))
    assert got == want
    # the unit whose two bonus items add up to more than the cap: one warning (capped when scored)
    capped = [p for p in demo_report.problems if p.code == "bonus_sum_capped"]
    assert len(capped) == 1 and capped[0].severity == "warning" and capped[0].found == 6.0
    assert len(demo_report.errors) == len(truth) + len(reg) == 9
    assert [p.code for p in demo_report.warnings] == ["bonus_sum_capped"]


def test_demo_errors_found_independently(demo_raw, demo_report):
    """Locate the planted errors by scanning the workbook directly (not via the truth file)."""
    f = "departments/2025H1/纪检监察.xlsx"
    wb = load_workbook(demo_raw / f)
    units = set(pd.read_excel(demo_raw / "units.xlsx", engine="openpyxl", dtype={"单位编码": str})["单位编码"])
    expected = set()
    for ws in wb.worksheets:
        if ws.title == "填表说明":
            continue
        seen = set()
        for row in ws.iter_rows(min_row=5):
            cells = [c for c in row if c.value is not None]
            if not cells or not isinstance(row[1].value, str) or not row[1].value.startswith("U"):
                continue
            uid = row[1].value
            if uid not in units:
                expected.add((ws.title, row[0].row, "B", "unknown_unit"))
                continue
            if uid in seen:
                expected.add((ws.title, row[0].row, "B", "duplicate"))
            seen.add(uid)
            for c in row[5:]:
                if c.value == "待核实":
                    expected.add((ws.title, c.row, c.column_letter, "non_numeric"))
                elif isinstance(c.value, (int, float)) and (c.value < 0 or c.value > 100):
                    expected.add((ws.title, c.row, c.column_letter, "out_of_range"))
                elif c.value is None:
                    expected.add((ws.title, c.row, c.column_letter, "missing_value"))
    wb.close()
    dept = [p for p in demo_report.problems if not (p.file or "").startswith("registers/")]
    got = {(p.sheet, p.row, p.column, p.code) for p in dept if p.row is not None}
    assert got == expected
    assert all(p.file == f for p in dept)
    codes = sorted(p.code for p in dept)
    assert codes == sorted(["non_numeric", "out_of_range", "out_of_range", "missing_value", "unknown_unit",
                            "duplicate", "period_gap"])
    # the non-numeric cell shows what was found
    assert next(p for p in demo_report.problems if p.code == "non_numeric").found == "待核实"


def test_demo_report_frame(demo_report):
    df = demo_report.to_frame()
    assert len(df) == 10 and {"code", "file", "sheet", "row", "column", "found", "expected"} <= set(df.columns)
    assert demo_report.counts()["out_of_range"] == 2
    assert "9 个错误" in demo_report.summary_zh()


# --------------------------------------------------------------------- the CLI
def _qlwork(args, root: Path):
    env = dict(os.environ, QLWORK_ROOT=str(root), PYTHONIOENCODING="utf-8")
    exe = Path(sys.executable).parent / "qlwork"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "qlwork"]
    return subprocess.run(cmd + args, cwd=root, env=env, capture_output=True, text=True, timeout=300)


def test_cli_demo_then_validate(demo_root, demo_raw, tmp_path):
    """End to end: `qlwork demo` (the fixture, in a temp project) then `qlwork validate`."""
    assert (demo_raw / "units.xlsx").is_file()
    r = _qlwork(["demo"], demo_root)  # refuses to overwrite
    assert r.returncode != 0 and "--force" in r.stderr
    before = _tree_hash(demo_raw)
    r = _qlwork(["validate"], demo_root)
    assert r.returncode == 1, r.stderr
    for code in ("unknown_unit", "duplicate", "non_numeric", "out_of_range", "missing_value", "period_gap"):
        assert f"[{code}]" in r.stdout
    assert "待核实" in r.stdout and "纪检监察.xlsx" in r.stdout and "9 个错误" in r.stdout
    assert "[unknown_veto]" in r.stdout and "[bonus_above_cap]" in r.stdout
    assert _tree_hash(demo_raw) == before
    # a clean folder exits 0
    clean = make_raw(tmp_path / "clean")
    r = _qlwork(["validate", "--raw", str(clean)], tmp_path)
    assert r.returncode == 0 and "未发现问题" in r.stdout


def test_package_level_validate_is_the_function_after_submodule_import(tmp_path):
    import qlwork
    import qlwork.io.validate  # noqa: F401 - binds the package attribute to the module

    rep = qlwork.validate(make_raw(tmp_path))
    assert rep.ok and rep.n_files == 2
