"""qlwork.io.excel: messy-cell parsing, header helpers, row reading, deterministic saving."""
from __future__ import annotations

import math
import time
import zipfile

import pytest
from hypothesis import given, strategies as st
from openpyxl import Workbook

from qlwork.io import excel
from qlwork.io.excel import (
    FIXED_TIMESTAMP, cell_text, col_index, col_letter, combine_header_rows, find_row, header_key,
    is_missing_marker, normalize_text, parse_fraction, parse_number, read_rows, read_workbook, save_deterministic,
)


@pytest.mark.parametrize("raw, value, status", [
    (12, 12.0, "ok"), (3.5, 3.5, "ok"), ("12", 12.0, "ok"), ("１２", 12.0, "ok"), ("９８．５", 98.5, "ok"),
    (" 7 ", 7.0, "ok"), ("1,234.5", 1234.5, "ok"), ("96.5%", 96.5, "ok"), ("３‰", 3.0, "ok"), ("－３", -3.0, "ok"),
    ("1e2", 100.0, "ok"), (None, math.nan, "missing"), ("", math.nan, "missing"), ("—", math.nan, "missing"),
    ("/", math.nan, "missing"), ("-", math.nan, "missing"), ("无", math.nan, "missing"), ("空", math.nan, "missing"),
    ("／", math.nan, "missing"), (float("nan"), math.nan, "missing"), ("待核实", math.nan, "non_numeric"),
    ("12件", math.nan, "non_numeric"), (True, math.nan, "non_numeric"), (float("inf"), math.nan, "non_numeric"),
])
def test_parse_number(raw, value, status):
    p = parse_number(raw)
    assert p.status == status
    if status == "ok":
        assert p.value == value and p.ok
    else:
        assert math.isnan(p.value) and not p.ok


def test_percent_sign_can_be_refused():
    assert parse_number("50%", percent_ok=False).status == "non_numeric"


@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False))
def test_parse_number_round_trips_text_and_full_width(x):
    text = repr(x)
    assert parse_number(text).value == x
    full = text.translate(str.maketrans("0123456789.-", "０１２３４５６７８９．－"))
    assert parse_number(full).value == x


@pytest.mark.parametrize("raw, want", [
    (3, 3.0), ("3", 3.0), ("３", 3.0), ("1/3", 1 / 3), ("１／５", 0.2), (" 1 / 7 ", 1 / 7), (0.5, 0.5),
    (None, None), ("", None), ("—", None), ("x", None), ("1/0", None), (0, None), (-2, None), ("0/3", None),
])
def test_parse_fraction(raw, want):
    got = parse_fraction(raw)
    assert got == pytest.approx(want) if want is not None else got is None


def test_text_helpers():
    assert normalize_text("  ＡＢ\u3000 c\n d ") == "AB c d"
    assert normalize_text(None) == ""
    assert cell_text(123.0) == "123" and cell_text(" U1 ") == "U1" and cell_text(1.5) == "1.5"
    assert is_missing_marker("—") and is_missing_marker(None) and not is_missing_marker(0)
    assert header_key("党员干部立案处分人数\n（人/百人）") == "党员干部立案处分人数"
    assert header_key("满意率 (%)") == "满意率"
    assert header_key('选人用人"一报告两评议"满意率（%）') == "选人用人一报告两评议满意率"
    assert header_key("Disc_Cases") == "disc_cases"
    assert col_letter(1) == "A" and col_letter(28) == "AB" and col_index("ab") == 28


def test_combine_header_rows_and_find_row():
    rows = [["单位编码", "干部清正", None, "社会清朗"], [None, "立案数", "函询数", "舆情数"]]
    assert combine_header_rows(rows) == ["单位编码", "干部清正 / 立案数", "干部清正 / 函询数", "社会清朗 / 舆情数"]
    assert combine_header_rows([]) == []
    table = [("标题",), (), ("序号", "单位编码 "), (1, "U1")]
    assert find_row(table, ["单位编码"]) == 3
    assert find_row(table, ["没有"]) is None


@pytest.fixture(params=["calamine", "openpyxl"])
def reader(request, monkeypatch):
    if request.param == "openpyxl":
        monkeypatch.setattr(excel, "_calamine", lambda: None)
    return request.param


def test_read_rows_keeps_excel_numbering(tmp_path, reader):
    wb = Workbook()
    ws = wb.active
    ws.title = "甲"
    ws["B3"] = "x"
    ws["C5"] = 2
    ws["D4"] = "１２"
    ws.merge_cells("B3:C3")
    wb.create_sheet("乙")["A1"] = "y"
    wb.save(tmp_path / "t.xlsx")
    rows = read_rows(tmp_path / "t.xlsx", "甲")
    assert len(rows) == 5
    assert all(v is None for v in rows[0])
    assert rows[2][1] == "x" and (len(rows[2]) < 3 or rows[2][2] is None)
    assert rows[3][3] == "１２" and rows[4][2] == 2
    both = read_workbook(tmp_path / "t.xlsx")
    assert list(both) == ["甲", "乙"] and both["乙"][0][0] == "y"
    assert read_rows(tmp_path / "t.xlsx")[2][1] == "x"  # first sheet by default


def test_save_deterministic(tmp_path):
    def build():
        wb = Workbook()
        wb.active.append(["单位编码", 1, "1/3"])
        return wb
    save_deterministic(build(), tmp_path / "a.xlsx")
    time.sleep(2.1)  # zip timestamps have 2-second resolution; the clock must not leak in
    save_deterministic(build(), tmp_path / "b.xlsx")
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.xlsx") as z:
        assert {i.date_time for i in z.infolist()} == {FIXED_TIMESTAMP}
        assert b"2025-12-31T00:00:00Z" in z.read("docProps/core.xml")
    assert read_rows(tmp_path / "a.xlsx")[0] == ("单位编码", 1, "1/3")


@pytest.mark.parametrize("write_only", [True, False])
def test_rows_xml_appended_at_save(tmp_path, reader, write_only):
    wb = Workbook(write_only=write_only)
    ws = wb.create_sheet("数据") if write_only else wb.active
    if not write_only:
        ws.title = "数据"
    ws.append(["标题"])
    empty = wb.create_sheet("空")  # a sheet whose data all come from the fast path
    body = [[1, "U1", " 3 ", None, 2.5], ["a&b<c>", None, -1, True]]
    save_deterministic(wb, tmp_path / "f.xlsx", append_rows={"数据": excel.rows_xml(body, 2),
                                                             "空": excel.rows_xml([["x", 7]], 1)})
    rows = read_workbook(tmp_path / "f.xlsx")
    assert rows["数据"][0][0] == "标题"
    r2, r3 = rows["数据"][1], rows["数据"][2]
    assert (r2[0], r2[1], r2[2], r2[3], r2[4]) == (1, "U1", " 3 ", None, 2.5)
    assert (r3[0], r3[2], r3[3]) == ("a&b<c>", -1, True)
    assert rows["空"][0][:2] == ("x", 7)
