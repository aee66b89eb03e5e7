"""The bad-input corpus (tests/bad_inputs/): every realistic mistake gets a located,
bilingual message — file, sheet, row, column, what was found, what was expected —
and never an unhandled exception.  The expected message parts live in
tests/bad_inputs/cases.yaml (generated with the files by make_corpus.py)."""
from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from qlwork.errors import Problem, QlworkError

HERE = Path(__file__).resolve().parent / "bad_inputs"
CASES = yaml.safe_load((HERE / "cases.yaml").read_text(encoding="utf-8"))["cases"]
DEFAULT_DEST = "departments/2025H1/纪检监察.xlsx"
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _raw(tmp_path: Path, file: Path, dest: str) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(HERE / "base" / "framework_county.yaml", raw / "framework_county.yaml")
    shutil.copy(HERE / "base" / "units.xlsx", raw / "units.xlsx")
    target = raw / dest
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(file, target)
    return raw


def run_loader(case: dict, tmp_path: Path):
    """→ (problems, result object or None).  QlworkError is turned into its problems;
    any other exception fails the test (it propagates)."""
    file = HERE / "files" / case["file"]
    loader = case["loader"]
    try:
        if loader == "department":
            from qlwork.io.validate import run_checks

            res = run_checks(_raw(tmp_path, file, case.get("dest", DEFAULT_DEST)))
            return list(res.report.problems), res
        if loader == "registry":
            from qlwork.io.ingest import read_units

            units, probs = read_units(_raw(tmp_path, file, "units.xlsx"))
            return probs, units
        if loader == "framework":
            from qlwork.framework import load_framework

            return [], load_framework(file)
        if loader == "questionnaire":
            from qlwork.framework import load_framework
            from qlwork.weights.questionnaire import read_questionnaire

            fw = load_framework(HERE / "base" / "framework_county.yaml")
            q = read_questionnaire(file, frameworks=[fw])
            return list(q.problems), q
        if loader == "survey":
            from qlwork.survey.read import read_survey

            res = read_survey(file, known_units=["U1", "U2", "U3", "U4"])
            return list(res.problems), res
    except QlworkError as e:
        assert case.get("raises"), f"unexpected QlworkError: {e}"
        return e.problems, None
    raise AssertionError(f"unknown loader {loader}")


def _matches(p: Problem, exp: dict) -> bool:
    for k, v in exp.items():
        if k == "code":
            if p.code != v:
                return False
        elif k in ("row", "sheet", "column", "severity"):
            if getattr(p, k) != v and not (k == "sheet" and v is None):
                return False
        elif k == "file":
            if not p.file or not str(p.file).endswith(v):
                return False
        elif k in ("found", "expected"):
            if v not in str(getattr(p, k)):
                return False
        elif k == "zh":
            if v not in p.message:
                return False
        elif k == "en":
            if v not in p.message_en:
                return False
        else:
            raise AssertionError(f"unknown key {k} in cases.yaml")
    return True


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_bad_input(case, tmp_path):
    problems, result = run_loader(case, tmp_path)
    shown = "\n".join(str(p) for p in problems)
    if case.get("raises"):
        assert result is None, "expected a QlworkError"
    for exp in case.get("problems", []):
        hits = [p for p in problems if _matches(p, exp)]
        assert hits, f"no problem matching {exp} in:\n{shown}"
    if case.get("no_errors"):
        errors = [p for p in problems if p.severity == "error"]
        assert not errors, shown
    if not case.get("problems") and not case.get("no_errors"):
        pytest.fail("a case must expect problems or no errors")
    # every message is bilingual: Chinese first, an English gloss, and located
    for p in problems:
        assert _CJK.search(p.message), f"no Chinese in {p}"
        assert p.message_en and not _CJK.match(p.message_en), f"no English gloss in {p}"
        assert p.file or p.sheet or p.row is not None or p.column, f"problem not located: {p}"
        assert str(p).startswith(f"[{p.code}]")
    for key, want in (case.get("values") or {}).items():
        a, b = key.split("/")
        if case["loader"] == "department":
            cells = result.cells
            got = cells.loc[(cells.unit_id == a) & (cells.indicator_id == b) & cells["valid"], "value"]
            assert list(got) == [want], (key, list(got), shown)
        else:  # survey: respondent / column
            d = result.data.set_index("respondent_id")
            assert d.loc[a, b] == want
    if case.get("encoding"):
        assert result.encoding == case["encoding"]
        assert case["encoding"] in repr(result)


def test_corpus_is_large_and_covers_the_issue():
    files = sorted(p.name for p in (HERE / "files").iterdir())
    assert len(files) >= 40
    assert files == sorted(c["file"] for c in CASES), "every file has exactly one case"
    codes = {p["code"] for c in CASES for p in c.get("problems", [])}
    for need in ("unknown_sheet", "no_indicator_columns", "merged_cells", "normalized_id", "normalized_text",
                 "duplicate", "unknown_unit", "out_of_range", "mixed_scale", "non_numeric", "formula_no_value",
                 "empty_workbook", "encrypted_file", "unreadable_file", "xls_format", "answer_out_of_scale",
                 "not_reciprocal", "cycle", "duplicate_id", "weights_not_one", "bad_period", "period_normalized",
                 "sheet_name", "bad_encoding"):
        assert need in codes, need


def test_corpus_is_reproducible(tmp_path):
    """make_corpus.py rebuilds byte-identical files (run in a copy, compare hashes)."""
    work = tmp_path / "bad_inputs"
    shutil.copytree(HERE, work, ignore=shutil.ignore_patterns("__pycache__"))
    before = {p.relative_to(work): hashlib.sha256(p.read_bytes()).hexdigest() for p in work.rglob("*") if p.is_file()}
    subprocess.run([sys.executable, str(work / "make_corpus.py")], check=True, capture_output=True,
                   cwd=HERE.parents[1])
    after = {p.relative_to(work): hashlib.sha256(p.read_bytes()).hexdigest() for p in work.rglob("*") if p.is_file()}
    assert before == after
