"""Fuzzing the readers (hypothesis, issue 10): random cells, sheets, survey rows and
framework mappings.  A reader returns located problems or raises QlworkError — never
another exception — and what it accepts is finite and where it says it is."""
from __future__ import annotations

import math
from datetime import date, datetime

import numpy as np
import pandas as pd
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


# ------------------------------------------------------------------ hostile generated files (issue 17)
# Workbooks are assembled as zip + XML by hand, so the generator can write what no spreadsheet
# program would: cells far away or without positions, hidden sheets, formula-like sheet names,
# DTDs, external links, shared strings that do not exist.  Positions are drawn so that a used
# range is either small or beyond the reader's limit (an in-between one would only be slow).
ROWS = st.one_of(st.integers(1, 40), st.sampled_from([1_048_576, 2_000_000]))
COLS = st.one_of(st.integers(1, 12), st.sampled_from([16_384, 20_000]))
CELLV = st.one_of(st.none(), st.integers(-5, 10**9), st.floats(allow_nan=False, allow_infinity=False),
                  st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
                  st.sampled_from(["单位编码", "U1", "U2", "问题数（件）", "整改率（%）", "=1+1", "U\u200b1", "UО1", "../x"]))
SHEETNAME = st.one_of(st.sampled_from(["数据", "=HYPERLINK(1)", "填表说明", "x" * 31, "旧数据", "Sheet'1"]),
                      st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"), exclude_characters="[]:*?/\\"),
                              min_size=1, max_size=10))


def _xml_text(v) -> str:
    from xml.sax.saxutils import escape

    return escape(str(v))


def _col(n: int) -> str:
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


@st.composite
def hostile_workbook(draw) -> bytes:
    import io
    import zipfile

    names = draw(st.lists(SHEETNAME, min_size=1, max_size=4, unique_by=lambda s: s.casefold()))
    states = [draw(st.sampled_from(["visible", "visible", "hidden", "veryHidden"])) for _ in names]
    states[draw(st.integers(0, len(names) - 1))] = "visible"
    buf = io.BytesIO()
    z = zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED)
    sheets_xml, rels = [], []
    for i, (name, state) in enumerate(zip(names, states), start=1):
        rows = {}
        head = [["单位编码", "问题数（件）", "整改率（%）"]] if draw(st.booleans()) else []
        for r, vals in enumerate(head + [[draw(CELLV) for _ in range(3)] for _ in range(draw(st.integers(0, 6)))], 1):
            rows.setdefault(r, {}).update({c: v for c, v in enumerate(vals, 1) if v is not None})
        for _ in range(draw(st.integers(0, 3))):  # stray cells, possibly far away
            rows.setdefault(draw(ROWS), {})[draw(COLS)] = draw(CELLV)
        positions = draw(st.booleans())  # write r="" attributes, or leave them implicit
        body = []
        for r in sorted(rows):
            cells = []
            for c in sorted(rows[r]):
                v = rows[r][c]
                ref = f' r="{_col(c)}{r}"' if positions else ""
                if isinstance(v, (int, float)) and v is not None:
                    cells.append(f'<c{ref} t="n"><v>{v!r}</v></c>')
                elif v is not None:
                    cells.append(f'<c{ref} t="inlineStr"><is><t>{_xml_text(v)}</t></is></c>')
            body.append(f'<row r="{r}">' + "".join(cells) + "</row>")
        xml = ('<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
               "<sheetData>" + "".join(body) + "</sheetData></worksheet>")
        z.writestr(f"xl/worksheets/sheet{i}.xml", xml)
        sheets_xml.append(f'<sheet name="{_xml_text(name)}" sheetId="{i}" state="{state}" r:id="rId{i}"/>')
        rels.append(f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                    f'relationships/worksheet" Target="worksheets/sheet{i}.xml"/>')
    z.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/'
               'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
               "<sheets>" + "".join(sheets_xml) + "</sheets></workbook>")
    z.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.'
               'openxmlformats.org/package/2006/relationships">' + "".join(rels) + "</Relationships>")
    z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
               'package/2006/content-types"><Override PartName="/xl/workbook.xml" ContentType="application/'
               'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>')
    extra = draw(st.sampled_from(["", "dtd", "external", "shared"]))
    if extra == "dtd":
        z.writestr("xl/sharedStrings.xml", '<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "aaaa">]><sst/>')
    elif extra == "external":
        z.writestr("xl/externalLinks/externalLink1.xml", "<externalLink/>")
    elif extra == "shared":
        z.writestr("xl/sharedStrings.xml", '<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/'
                   'spreadsheetml/2006/main"><si><t>' + "甲" * draw(st.integers(0, 50)) + "</t></si></sst>")
    z.close()
    return buf.getvalue()


@SET
@given(book=hostile_workbook())
def test_generated_workbooks_give_problems_not_crashes(tmp_path_factory, book):
    from qlwork.framework import load_framework
    from qlwork.io.guard import inspect_xlsx
    from qlwork.io.ingest import read_department_workbook

    path = tmp_path_factory.mktemp("wb") / "x.xlsx"
    path.write_bytes(book)
    info = inspect_xlsx(path, "x.xlsx")
    for s in info.sheets:
        assert s.hidden or s.name in {p.sheet for p in info.sheet_errors} or s.cells <= (1 << 25)
    res = read_department_workbook(path, {"county": load_framework(FW)}, period="2025H1", department="纪检监察",
                                   file_label="x.xlsx")
    hidden = {s.name for s in info.sheets if s.hidden}
    assert not hidden & set(res.cells["sheet"])  # a hidden sheet is never read
    assert np.isfinite(res.cells.loc[res.cells["status"] == "ok", "value"].to_numpy(dtype=float)).all()
    for p in res.problems:
        assert p.file == "x.xlsx" and p.message and p.message_en


def _yaml_node(draw, depth: int, anchors: list) -> str:
    kind = draw(st.sampled_from(["scalar", "map", "seq", "alias"] if depth < 70 else ["scalar"]))
    if kind == "alias" and anchors:
        return "*" + draw(st.sampled_from(anchors))
    if kind in ("scalar", "alias"):
        return draw(st.sampled_from(["1", "-1", "0.5", ".nan", ".inf", "六十", "'=HYPERLINK(1)'", "null", "yes",
                                    "!!binary aGk=", "!!python/object/apply:os.system [x]", '"a\\x07b"', "[]", "{}",
                                    "'../x'", '"U\\u200b1"', "'甲'"]))
    anchor = ""
    if draw(st.booleans()):
        name = f"a{len(anchors)}"
        anchors.append(name)
        anchor = f"&{name} "
    n = draw(st.integers(0, 3))
    if kind == "map":
        keys = [draw(st.sampled_from(["id", "name", "weight", "direction", "children", "pass_mark", "bottom_n",
                                      "grades", "veto", "x", "<<"])) for _ in range(n)]
        return anchor + "{" + ", ".join(f"{k}: {_yaml_node(draw, depth + 1, anchors)}" for k in keys) + "}"
    return anchor + "[" + ", ".join(_yaml_node(draw, depth + 1, anchors) for _ in range(n)) + "]"


@SET
@given(data=st.data(), deep=st.integers(0, 80))
def test_generated_yaml_gives_problems_not_crashes(tmp_path_factory, data, deep):
    from qlwork.framework import load_framework
    from qlwork.survey.read import load_items

    anchors: list = []
    body = _yaml_node(data.draw, 0, anchors)
    text = "id: T\nname: 测\nchildren:\n  - {id: A, weight: 1, children: [{id: x, weight: 1, direction: 1}]}\n" \
           f"veto: {'[' * deep}{body}{']' * deep}\n" + data.draw(st.sampled_from(["", "pass_mark: 六十\n", "id: again\n"]))
    d = tmp_path_factory.mktemp("y")
    (d / "f.yaml").write_text(text, encoding="utf-8")
    try:
        fw = load_framework(d / "f.yaml")
        assert np.isfinite(fw.leaf_weights().to_numpy(dtype=float)).all()
        assert np.isfinite(fw.pass_mark) and isinstance(fw.bottom_n, int)
    except QlworkError as e:
        assert e.problems and all(p.message and p.message_en and p.file for p in e.problems)
    (d / "items.yaml").write_text(f"items: {{q1: a}}\nx: {body}\n", encoding="utf-8")
    try:
        load_items(d / "items.yaml")
    except QlworkError as e:
        assert e.problems and all(p.message and p.message_en for p in e.problems)


CSV_CELL = st.one_of(st.sampled_from(["R1", "U1", "U9", "2025H1", "5", "9", "", "完成", "中断", "男", "城镇", "30-39",
                                      '"', '""', "a,b", "\x00", "约36万", "-3", "=1+1", "\ufeff", "1e400", "\n"]),
                     st.text(max_size=5))


@SET
@given(rows=st.lists(st.lists(CSV_CELL, min_size=0, max_size=14), max_size=8),
       encs=st.lists(st.sampled_from(["utf-8", "gbk", "utf-8-sig", "utf-16"]), min_size=1, max_size=3),
       eol=st.sampled_from(["\n", "\r\n", "\r"]), header=st.booleans())
def test_generated_csv_gives_problems_not_crashes(tmp_path_factory, rows, encs, eol, header):
    from qlwork.survey.pipeline import read_margins
    from qlwork.survey.read import read_survey

    head = ["respondent_id", "unit_id", "period", "age_group", "sex", "area", "q1", "q2", "q3", "q4", "q5", "status"] \
        if header else ["county", "variable", "level", "population"]
    lines = [",".join(head)] + [",".join(r) for r in rows]
    raw = b""
    for i, line in enumerate(lines):  # each line in one of the drawn encodings: mixed files happen
        try:
            raw += (line + eol).encode(encs[i % len(encs)])
        except UnicodeEncodeError:
            raw += (line + eol).encode("utf-8")
    path = tmp_path_factory.mktemp("c") / "f.csv"
    path.write_bytes(raw)
    for reader in (lambda: read_survey(path, known_units=["U1"]), lambda: read_margins(path)):
        try:
            res = reader()
        except QlworkError as e:
            assert e.problems and all(p.message and p.message_en for p in e.problems)
            continue
        if isinstance(res, pd.DataFrame):  # margins: every population a finite non-negative number
            assert (res["population"] >= 0).all() and np.isfinite(res["population"]).all()
