"""Nothing runs that should not: YAML is loaded safely, nothing read from a file is
eval'ed, Excel formulas in inputs are never evaluated (cached value used, or the cell
reported), and exports keep formula-like text as text (CSV injection, OWASP)."""
from __future__ import annotations

import ast
import csv
import io
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook

from qlwork.errors import QlworkError

PKG = Path(__file__).resolve().parents[1] / "qlwork"
CORPUS = Path(__file__).resolve().parent / "bad_inputs"
TRICKY = ['=HYPERLINK("http://example.invalid","点我")', "+1", "-2", "@SUM(A1:A9)", "=1+1", "\t=cmd"]


def _sources():
    return sorted(p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts)


# ------------------------------------------------------------------ YAML and eval
def test_no_eval_exec_or_unsafe_loading_in_the_package():
    bad = []
    for p in _sources():
        tree = ast.parse(p.read_text(encoding="utf-8"), str(p))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            if isinstance(f, ast.Name) and name in ("eval", "exec", "compile"):
                bad.append(f"{p.name}:{node.lineno} {name}()")
            if name in ("unsafe_load", "full_load", "load_all", "unsafe_load_all"):
                bad.append(f"{p.name}:{node.lineno} yaml.{name}")
            if name == "load" and isinstance(f, ast.Attribute) and getattr(f.value, "id", "") == "yaml":
                loader = next((k.value for k in node.keywords if k.arg == "Loader"), None)
                ok = loader is not None and (
                    (isinstance(loader, ast.Attribute) and loader.attr in ("SafeLoader", "CSafeLoader"))
                    or (isinstance(loader, ast.Name) and loader.id == "_LineLoader"))
                if not ok:
                    bad.append(f"{p.name}:{node.lineno} yaml.load without a safe Loader")
            if name in ("query", "eval") and isinstance(f, ast.Attribute) and node.args \
                    and not isinstance(node.args[0], ast.Constant):
                bad.append(f"{p.name}:{node.lineno} .{name}() on a non-literal string")
            if name in ("loads", "load") and isinstance(f, ast.Attribute) and getattr(f.value, "id", "") in (
                    "pickle", "marshal", "dill"):
                bad.append(f"{p.name}:{node.lineno} {f.value.id}.{name}")
    assert not bad, bad


def test_framework_loader_is_a_safe_loader():
    import yaml

    from qlwork.framework import _LineLoader

    assert issubclass(_LineLoader, yaml.SafeLoader)


def test_python_tags_in_yaml_never_run(tmp_path, monkeypatch):
    from qlwork.framework import load_framework
    from qlwork.survey.read import load_items

    marker = tmp_path / "pwned"
    payload = f'!!python/object/apply:os.system ["touch {marker}"]'
    fw = tmp_path / "framework_x.yaml"
    fw.write_text(f"id: T\nname: {payload}\nchildren:\n  - {{id: a, name: x, direction: 1, weight: 1}}\n",
                  encoding="utf-8")
    with pytest.raises(QlworkError) as e:
        load_framework(fw)
    assert e.value.problems[0].code == "yaml_syntax" and e.value.problems[0].row == 2
    items = tmp_path / "items.yaml"
    items.write_text(f"items: {payload}\n", encoding="utf-8")
    with pytest.raises(QlworkError):
        load_items(items)
    assert not marker.exists()


def test_recursive_yaml_alias_is_reported_not_recursed():
    from qlwork.framework import load_framework

    with pytest.raises(QlworkError) as e:
        load_framework(CORPUS / "files" / "fw_cycle_alias.yaml")
    assert [p.code for p in e.value.problems] == ["cycle"]


# ------------------------------------------------------------------ formulas in inputs
def _formula_book(path: Path, cached: str | None) -> Path:
    """A department sheet whose 问题数 of U2 is the formula =D5+1; optionally patch in a
    cached value (openpyxl never writes one)."""
    shutil.copy(CORPUS / "files" / ("dept_formula_cached_value.xlsx" if cached else
                                    "dept_formula_no_cached_value.xlsx"), path)
    return path


def test_formula_cached_value_is_used_and_never_evaluated(tmp_path):
    from qlwork.io.excel import read_rows, sheet_facts

    p = _formula_book(tmp_path / "a.xlsx", cached="7")
    rows = read_rows(p, "数据")
    # Excel row 6, column D: the cached 7 — the formula =D5+1 would give 1
    assert rows[5][3] == 7
    facts = sheet_facts(p)["数据"]
    assert "D6" in facts.formulas and facts.formulas_no_value == ()


def test_formula_without_cached_value_is_reported(tmp_path):
    from qlwork.io.excel import read_rows, sheet_facts

    p = _formula_book(tmp_path / "b.xlsx", cached=None)
    assert read_rows(p, "数据")[5][3] is None  # blank, not computed
    assert sheet_facts(p)["数据"].formulas_no_value == ("D6",)


def test_dangerous_formula_is_only_text_to_qlwork(tmp_path):
    """=WEBSERVICE / =cmd|... (DDE) in an input: read as its cached value or blank, never run."""
    wb = Workbook()
    ws = wb.active
    ws.title = "数据"
    ws.append(["单位编码", "问题数"])
    ws.append(["U1", '=WEBSERVICE("http://example.invalid/x")'])
    ws.append(["U2", "=cmd|' /C calc'!A0"])
    p = tmp_path / "dde.xlsx"
    wb.save(p)
    from qlwork.io.excel import parse_number, read_rows, sheet_facts

    rows = read_rows(p, "数据")
    assert rows[1][1] is None and rows[2][1] is None
    assert set(sheet_facts(p)["数据"].formulas_no_value) == {"B2", "B3"}
    # a formula typed as text (e.g. in a CSV) is never a number
    assert parse_number("=1+1").status == "non_numeric"


def test_questionnaire_formula_cells_use_cached_values(tmp_path):
    """openpyxl data_only=True: a judgment written as =1/3 without a cached value is blank (reported),
    never computed."""
    from qlwork.weights.questionnaire import read_questionnaire

    wb = Workbook()
    info = wb.active
    info.title = "专家信息"
    for r in (["专家编号", "E09"], ["姓名", "李四"], ["单位/职务", "x"], ["权重", 1]):
        info.append(r)
    ws = wb.create_sheet("T_A")
    ws.append(["title"])
    ws.append(["note"])
    ws.append(["编号", "名称", "a", "b"])
    ws.append(["a", "甲", 1, "=1/3"])
    ws.append(["b", "乙", None, 1])
    p = tmp_path / "expert_E09.xlsx"
    wb.save(p)
    q = read_questionnaire(p)
    assert any(pr.code == "blank_pair" and pr.column == "D4" for pr in q.problems)


# ------------------------------------------------------------------ exports
def test_safe_csv_prefixes_formula_like_text(tmp_path):
    from qlwork.io.safe import safe_csv

    df = pd.DataFrame({"单位名称": TRICKY + ["普通单位"], "得分": [1.5, -2.0, 3, 4, 5, 6, 7]})
    path = safe_csv(df, tmp_path / "x.csv")
    text = path.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["单位名称", "得分"]
    names = [r[0] for r in rows[1:]]
    assert names[:-1] == ["'" + t for t in TRICKY] and names[-1] == "普通单位"
    assert [r[1] for r in rows[1:3]] == ["1.5", "-2.0"]  # numbers stay numbers
    assert not list(tmp_path.glob(".*.tmp"))


def test_safe_excel_stores_formula_like_text_as_strings(tmp_path):
    from qlwork.io.safe import safe_excel

    df = pd.DataFrame({"单位名称": TRICKY, "得分": range(len(TRICKY))})
    p = safe_excel({"汇总": df}, tmp_path / "x.xlsx")
    ws = load_workbook(p)["汇总"]
    cells = [ws.cell(row=r, column=1) for r in range(2, len(TRICKY) + 2)]
    assert [c.value for c in cells] == TRICKY
    assert all(c.data_type == "s" for c in cells)
    assert ws.cell(row=2, column=2).data_type == "n"


def test_report_workbook_keeps_tricky_unit_names_as_text(tmp_path):
    from report_fixtures import TRICKY_NAMES, make_result

    from qlwork.report.excel import write_workbook

    res = make_result(n=12)
    path = write_workbook(res, tmp_path / "r.xlsx")
    wb = load_workbook(path)
    seen = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.value in TRICKY_NAMES.values():
                    seen.setdefault(c.value, set()).add(c.data_type)
                if isinstance(c.value, str) and c.data_type == "f":
                    # the workbook's only formulas are the ones qlwork writes itself (none today)
                    raise AssertionError(f"formula in {ws.title}!{c.coordinate}: {c.value}")
    assert set(seen) == set(TRICKY_NAMES.values())
    assert all(t == {"s"} for t in seen.values()), seen


def test_every_csv_export_in_the_package_goes_through_safe_csv():
    """grep: ``to_csv`` is only used by the demo (synthetic raw data, no free text) and io/safe.py."""
    allowed = {"safe.py"}
    hits = []
    for p in _sources():
        if p.name in allowed or "demo" in p.parts:
            continue
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"\.to_csv\(|csv\.writer\(|DictWriter\(", line):
                hits.append(f"{p.relative_to(PKG)}:{i}")
    assert not hits, hits


def test_every_excel_export_escapes_formulas():
    """grep: no pandas ``to_excel`` in the package (it would turn "=..." text into formulas)."""
    hits = [f"{p.relative_to(PKG)}:{i}" for p in _sources()
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if ".to_excel(" in line]
    assert not hits, hits


def test_every_workbook_is_saved_through_the_one_rule():
    """grep: openpyxl workbooks are saved only by qlwork.io.safe.save_workbook (and the
    deterministic writer in io/excel.py, which applies the same harden_workbook), so every
    cell, header and sheet title qlwork writes is formula-safe."""
    allowed = {"safe.py", "excel.py"}
    hits = []
    for p in _sources():
        if p.name in allowed and p.parent.name == "io":
            continue
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"\bwb\.save\(|workbook\.save\(|\.save\(tmp\)", line):
                hits.append(f"{p.relative_to(PKG)}:{i}")
    assert not hits, hits
