"""qlwork.io.safe, qlwork.io.guard, qlwork.io.yamlsafe and qlwork.io.ids (issue 17): the rules
behind the corpus cases, checked as properties and against hand-made hostile inputs."""
from __future__ import annotations

import errno
import io
import os
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from qlwork.errors import QlworkError
from qlwork.io import safe
from qlwork.io.guard import Limits, inspect_xlsx, read_input_bytes, used_range
from qlwork.io.ids import id_problem, skeleton
from qlwork.io.safe import (
    MARKER, atomic_path, check_output_file, claim_output_dir, is_formula_like, read_marker,
    safe_filename, save_workbook, unique_filenames,
)
from qlwork.io.yamlsafe import load_yaml

ANY_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40) | st.sampled_from(
    ["..", ".", "../../x", "a/b", "a\\b", "CON", "con.txt", "COM1", "LPT9.html", "  ", "\u200b", "\ufeffU1",
     "U1\u202e", ".hidden", "x" * 400, "甲" * 200, "a..b", "...", "NUL", "~", "-", "=1+1"])
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


# ------------------------------------------------------------------ safe file names
@settings(max_examples=400, deadline=None)
@given(ANY_TEXT, st.none() | ANY_TEXT)
def test_safe_filename_is_a_single_harmless_name(id_, name):
    f = safe_filename(id_, name, suffix=".html")
    stem = f[: -len(".html")]
    assert stem and "/" not in f and "\\" not in f and ".." not in f
    assert not f.startswith((".", " ")) and not stem.endswith((".", " "))
    assert all(unicodedata.category(c)[0] not in "CZ" or c == " " for c in f), f  # no control/format/separator chars
    assert " " not in f
    assert stem.split(".")[0].upper() not in _RESERVED
    assert len(f.encode("utf-8")) <= 150 + len(".html".encode())
    out = Path("/srv/out")
    assert (out / f).parent == out and os.path.normpath(out / f).startswith("/srv/out/")


@settings(max_examples=400, deadline=None)
@given(ANY_TEXT, ANY_TEXT)
def test_safe_filename_never_merges_two_ids(a, b):
    if a != b:
        assert safe_filename(a) != safe_filename(b)


def test_safe_filename_examples():
    assert safe_filename("U000123") == "U000123"
    assert safe_filename("宁溪县发展和改革局") == "宁溪县发展和改革局"
    assert safe_filename("YY/001").startswith("YY_001-") and safe_filename("YY_001") == "YY_001"
    assert safe_filename("../../../../../raw/pwned").startswith("raw_pwned-")
    assert safe_filename("CON").startswith("_CON-")
    assert safe_filename("U1", "甲局/乙") == "U1_甲局_乙"  # the readable <code>_<name> form
    assert safe_filename("U1", "=HYPERLINK(1)", suffix=".pdf") == "U1_HYPERLINK(1).pdf"
    assert safe_filename("机关/学校", hashed=False) == "机关_学校"


def test_unique_filenames_are_unique_ignoring_case():
    names = unique_filenames(["u1", "U1", "Ｕ1", "U 1"], suffix=".html")
    assert len({n.casefold() for n in names.values()}) == 4
    assert names["u1"] == "u1.html" and names["U1"].startswith("U1-")  # the second of a pair gets the hash


# ------------------------------------------------------------------ formula-safe cells
TRICKY = ['=HYPERLINK("http://example.invalid","点我")', "+1", "-2", "@SUM(A1:A9)", "\t=cmd", "\r=1", " =1+1",
          "\u3000=1+1"]


def test_formula_rule():
    assert all(is_formula_like(t) for t in TRICKY)
    assert not any(is_formula_like(t) for t in ("单位", "1+1", "", "U=1", 3.0, None))


def test_harden_workbook_cells_headers_and_sheet_titles(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = "=SUM(1)"
    ws.append(TRICKY)  # a header row of formula-like names
    ws.append(["正常", "x" * 40000, 1.5])
    wb.create_sheet("=1+1")
    path = save_workbook(wb, tmp_path / "w.xlsx")
    back = load_workbook(path)
    assert back.sheetnames == ["_=SUM(1)", "_=1+1"]
    cells = [c for row in back["_=SUM(1)"].iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    assert [c.value for c in cells[: len(TRICKY)]][:5] == TRICKY[:5]  # text kept as typed
    assert all(c.data_type == "s" and c.quotePrefix for c in cells[: len(TRICKY)])
    assert len(back["_=SUM(1)"]["B2"].value) == safe.EXCEL_MAX_CHARS


def test_report_workbook_with_formula_framework_names(tmp_path):
    """A goal named =HYPERLINK(…) stays text in the header cells of 汇总排行 and in its own sheet's name."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from report_fixtures import raw_values, registry

    from qlwork.engine.index import compute_index
    from qlwork.framework import builtin_framework, load_framework
    from qlwork.report.excel import write_workbook

    data = load_framework(builtin_framework("county")).to_dict()
    evil = '=HYPERLINK("http://example.invalid","点我")'
    data["name"] = "+框架"
    data["children"][0]["name"] = evil
    fw = load_framework(data)
    units = registry(12)
    res = compute_index(raw_values(units), fw, period="2025H2", units=units, normalization="goalposts")
    path = write_workbook(res, tmp_path / "r.xlsx")
    wb = load_workbook(path)
    assert not any(n.startswith(("=", "+", "-", "@")) for n in wb.sheetnames), wb.sheetnames
    seen = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", (ws.title, c.coordinate, c.value)
                if isinstance(c.value, str) and "HYPERLINK" in c.value:
                    seen.append((ws.title, c.coordinate, c.row))
    assert any(r == 1 for _, _, r in seen), "the goal's name appears in a header, as text"


# ------------------------------------------------------------------ atomic writes and the marker
def test_atomic_path_fsyncs_file_and_folder(tmp_path, monkeypatch):
    synced = []
    real = os.fsync

    def spy(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        return real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    with atomic_path(tmp_path / "a.txt") as tmp:
        tmp.write_text("x")
    assert any(s.endswith(".tmp") for s in synced) and str(tmp_path) in synced


def test_disk_full_is_a_located_error_and_keeps_the_old_file(tmp_path):
    target = tmp_path / "scores.parquet"
    target.write_bytes(b"old")
    with pytest.raises(QlworkError) as e:
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise OSError(errno.ENOSPC, "No space left on device")
    p = e.value.problems[0]
    assert p.code == "disk_full" and p.file == str(target) and "磁盘空间不足" in p.message and "no space" in p.message_en
    assert target.read_bytes() == b"old" and sorted(os.listdir(tmp_path)) == ["scores.parquet"]
    # pyarrow's OSError names the errno only in its text
    assert safe.os_error_problem(OSError("[Errno 28] Error writing bytes to file")).code == "disk_full"


def test_claim_output_dir_rules(tmp_path):
    new = claim_output_dir(tmp_path / "new", "processed")
    assert read_marker(new)["kind"] == "processed"
    empty = tmp_path / "empty"
    empty.mkdir()
    claim_output_dir(empty, "processed")
    assert (empty / MARKER).is_file()
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "thesis.docx").write_text("t")
    for folder, kind, code in ((docs, "processed", "foreign_folder"), (new, "report", "wrong_output_kind"),
                               (docs / "thesis.docx", "processed", "not_a_folder")):
        with pytest.raises(QlworkError) as e:
            claim_output_dir(folder, kind)
        assert e.value.problems[0].code == code
    assert sorted(os.listdir(docs)) == ["thesis.docx"]
    with pytest.raises(QlworkError) as e:
        check_output_file(docs / "thesis.docx")
    assert e.value.problems[0].code == "foreign_file"
    assert check_output_file(docs / "w.csv") == docs / "w.csv"  # a new file beside a person's file is fine


# ------------------------------------------------------------------ reader limits
def _book(rows, **kw) -> bytes:
    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_used_range_is_measured_from_cell_positions():
    assert used_range(b'<sheetData><row r="1"><c r="A1"/><c r="C1"/></row><row r="7"><c r="B7"/></row></sheetData>',
                      max_cells=1) == (7, 3)
    assert used_range(b'<row r="2"><c r="XFD2"/></row>') == (2, 16384)
    assert used_range(b'<x:row><x:c/><x:c/><x:c/></x:row><x:row r="9"><x:c r="AA9"/><x:c/></x:row>') == (9, 28)
    assert used_range(b'<row r="5"><c t="s"><v>1</v></c><c/></row>', max_cells=1) == (5, 2)


def test_lowered_limits_are_each_a_located_problem(tmp_path):
    data = _book([["单位编码", "x"], ["U1", 1]])
    assert inspect_xlsx(data, "a.xlsx").ok
    cases = [(Limits(max_cells=3), "used_range"), (Limits(max_unpacked_bytes=1000), "zip_bomb"),
             (Limits(max_member_bytes=500), "zip_bomb"), (Limits(max_sheets=0), "too_many_sheets"),
             (Limits(max_members=3), "too_many_parts"), (Limits(max_file_bytes=100), "file_too_large")]
    p = tmp_path / "a.xlsx"
    p.write_bytes(data)
    for lim, code in cases:
        info = inspect_xlsx(p, "a.xlsx", limits=lim)
        probs = list(info.errors) + list(info.sheet_errors)
        assert [x.code for x in probs] == [code], (lim, probs)
        assert probs[0].file == "a.xlsx" and probs[0].message and probs[0].message_en


def test_pipes_devices_and_folders_are_never_opened(tmp_path):
    os.mkfifo(tmp_path / "pipe.xlsx")
    os.symlink("/dev/zero", tmp_path / "zero.csv")
    (tmp_path / "dir.yaml").mkdir()
    for name, code in (("pipe.xlsx", "not_regular_file"), ("zero.csv", "not_regular_file"),
                       ("dir.yaml", "not_regular_file")):
        with pytest.raises(QlworkError) as e:
            read_input_bytes(tmp_path / name)  # returns at once: a pipe is checked, not waited on
        assert e.value.problems[0].code == code
    with pytest.raises(QlworkError) as e:
        read_input_bytes(tmp_path / "zero.csv", root=tmp_path)
    assert e.value.problems[0].code == "outside_raw"


# ------------------------------------------------------------------ YAML
def test_yaml_limits():
    laughs = "a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{c}: &{c} [{','.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
    for text, code in ((laughs, "yaml_aliases"), ("a: " + "[" * 60 + "]" * 60, "yaml_too_deep"),
                       ("a: 1\nb: 2\na: 3\n", "duplicate_key"), ("a: &x [1, *x]\n", "cycle"),
                       ("a: [\n", "yaml_syntax"), ("x" * (5 << 20), "file_too_large")):
        with pytest.raises(QlworkError) as e:
            load_yaml(text, file="f.yaml")
        assert e.value.problems[0].code == code and e.value.problems[0].file == "f.yaml"
    data, info = load_yaml("base: &b {x: 1}\nuse: {<<: *b, y: 2}\n")
    assert data["use"] == {"x": 1, "y": 2} and info.nodes < 20


# ------------------------------------------------------------------ ids
def test_id_rules():
    for bad in ("a/b", "a\\b", "..", "x..y", "U\u200b1", "\ufeffU1", "U1\u2060", "U\x071", "U\ue0001"):
        assert id_problem(bad)[0] == "unsafe_id", bad
    assert id_problem("U" * 65)[0] == "id_too_long"
    for ok in ("U000123", "宁溪县-01", "A_1.2", "(甲)"):
        assert id_problem(ok) is None
    assert skeleton("U\u041e1") == skeleton("UO1") == skeleton("U01") == skeleton("u01") == skeleton("Ｕ０１")
    assert skeleton("U\u200b1") == skeleton("U1") and skeleton("U1") != skeleton("U2")
