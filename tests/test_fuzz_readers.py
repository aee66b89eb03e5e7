"""Fuzzing the readers (hypothesis, issue 10): random cells, sheets, survey rows and
framework mappings.  A reader returns located problems or raises QlworkError — never
another exception — and what it accepts is finite and where it says it is."""
from __future__ import annotations

import math
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from qlwork.errors import QlworkError
from qlwork.io.excel import parse_fraction, parse_number

SET = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                    HealthCheck.function_scoped_fixture])

texty = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["1,234", "1,5", "９８．５", "95%", "—", "/", "待核实", "=1+1", "+1", "-2", "@A1", "1e400",
                     "nan", "inf", "-inf", " 3 ", "1/3", "１／３", "0", "-0", "1,234,567.5%", "１，２３４"]))
cell = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12),
    st.floats(allow_nan=True, allow_infinity=True), texty,
    st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 1, 1)).map(lambda d: datetime(d.year, d.month, d.day)))


@settings(max_examples=300, deadline=None)
@given(v=cell)
def test_parse_number_total_and_finite(v):
    p = parse_number(v)
    assert p.status in ("ok", "missing", "non_numeric")
    if p.ok:
        assert math.isfinite(p.value)
    else:
        assert math.isnan(p.value)
    f = parse_fraction(v)
    assert f is None or (math.isfinite(f) and f > 0)


def _write(path, rows):
    wb = Workbook()
    ws = wb.active
    ws.title = "数据"
    for r in rows:
        ws.append([None if isinstance(v, float) and not math.isfinite(v)
                   else ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in r])
    wb.save(path)


FW = {"id": "T", "name": "测试", "unit_types": ["机关", "学校"], "children": [
    {"id": "A", "name": "甲", "weight": 1.0, "children": [
        {"id": "cnt", "name": "问题数", "direction": -1, "unit": "件", "weight": 0.5, "range": [0, None]},
        {"id": "pct", "name": "整改率", "direction": 1, "unit": "%", "weight": 0.5, "range": [0, 100]}]}]}


@SET
@given(body=st.lists(st.tuples(st.sampled_from(["U1", "U2", "U9", None, "U1\u3000", "备注：x", 7]), cell, cell),
                     min_size=0, max_size=8),
       header_shift=st.integers(0, 3))
def test_department_reader_never_crashes(tmp_path_factory, body, header_shift):
    from qlwork.framework import load_framework
    from qlwork.io.ingest import read_department_workbook

    fw = {"county": load_framework(FW)}
    rows = [["标题"]] * header_shift + [["单位编码", "问题数（件）", "整改率（%）"]] + [list(r) for r in body]
    path = tmp_path_factory.mktemp("d") / "x.xlsx"
    _write(path, rows)
    res = read_department_workbook(path, fw, period="2025H1", department="纪检监察", file_label="x.xlsx")
    c = res.cells
    ok = c[c["status"] == "ok"]
    assert np.isfinite(ok["value"].to_numpy(dtype=float)).all()
    assert (c.loc[c["status"] != "ok", "value"].isna()).all()
    assert set(c["column"]) <= {"B", "C"}
    assert (c["row"] > header_shift + 1).all()
    for p in res.problems:
        assert p.file == "x.xlsx" and p.message and p.message_en


answer = st.one_of(st.sampled_from(["1", "2", "3", "4", "5", "9", "", "6", "0", "-1", "3.5", "满意", "５", "=1+4",
                                    "nan", "1e9"]), st.text(max_size=4))
period = st.sampled_from(["2025H1", "2025H2", "2025年上半年", "2025 h1", "2025-1", "", "H1", "２０２５Ｈ１"])


@SET
@given(rows=st.lists(st.tuples(st.sampled_from(["R1", "R2", "R3", ""]), st.sampled_from(["U1", "U9", ""]), period,
                               st.lists(answer, min_size=5, max_size=5), st.sampled_from(["完成", "中断", "x", ""])),
                     min_size=0, max_size=8),
       enc=st.sampled_from(["utf-8-sig", "utf-8", "gbk", "gb18030"]))
def test_survey_reader_never_crashes(tmp_path_factory, rows, enc):
    import csv
    import io

    from qlwork.survey.read import read_survey

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["respondent_id", "unit_id", "period", "age_group", "sex", "area", "q1", "q2", "q3", "q4", "q5",
                "status"])
    for rid, uid, per, ans, status in rows:
        w.writerow([rid, uid, per, "30-39", "男", "城镇", *ans, status])
    path = tmp_path_factory.mktemp("s") / "s.csv"
    try:
        path.write_bytes(buf.getvalue().encode(enc))
    except UnicodeEncodeError:
        return  # random text not representable in GBK: not a file a user could have
    try:
        res = read_survey(path, known_units=["U1"])
    except QlworkError as e:
        assert all(p.message and p.message_en for p in e.problems)
        return
    d = res.data
    for q in ("q1", "q2", "q3", "q4", "q5"):
        v = d[q].to_numpy(dtype=float)
        v = v[~np.isnan(v)]
        assert np.isin(v, [1, 2, 3, 4, 5, 9]).all()  # anything else is reported, not scored
    assert len(d) == len(rows)


def _node(draw, depth):
    kind = draw(st.sampled_from(["leaf", "node", "junk"] if depth < 3 else ["leaf", "junk"]))
    nid = draw(st.sampled_from(["a", "b", "c", "d", "A", "", None, 1]))
    if kind == "junk":
        return draw(st.one_of(st.none(), st.integers(), st.text(max_size=3), st.lists(st.integers(), max_size=2)))
    n = {"id": nid, "weight": draw(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.5, 1, "x"])))}
    if kind == "leaf":
        n["direction"] = draw(st.sampled_from([1, -1, 0, "负向", None, True]))
        if draw(st.booleans()):
            n["range"] = draw(st.sampled_from([[0, 100], [100, 0], [None, None], "x", [0]]))
        return n
    n["children"] = [_node(draw, depth + 1) for _ in range(draw(st.integers(0, 3)))]
    return n


@SET
@given(data=st.data())
def test_framework_loader_never_crashes(data):
    from qlwork.framework import load_framework

    root = {"id": "T", "children": [_node(data.draw, 1) for _ in range(data.draw(st.integers(0, 3)))]}
    try:
        fw = load_framework(root)
    except QlworkError as e:
        assert e.problems and all(p.message and p.message_en for p in e.problems)
        return
    w = fw.leaf_weights()
    assert np.isfinite(w.to_numpy(dtype=float)).all()
