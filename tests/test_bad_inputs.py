"""The bad-input corpus (tests/bad_inputs/): every realistic mistake and every hostile input
gets a located, bilingual message — file, sheet, row, column, what was found, what was
expected — and never an unhandled exception.  For every case the raw folder is unchanged
and no file outside the output folder appeared, changed or vanished.  The expected message
parts live in tests/bad_inputs/cases.yaml (generated with the files by make_corpus.py,
make_hostile.py and make_cli.py)."""
from __future__ import annotations

import contextlib
import errno
import hashlib
import importlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from qlwork.errors import Problem, QlworkError

HERE = Path(__file__).resolve().parent / "bad_inputs"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from rawsnap import diff, snapshot  # noqa: E402

CASES = yaml.safe_load((HERE / "cases.yaml").read_text(encoding="utf-8"))["cases"]
DEFAULT_DEST = "departments/2025H1/纪检监察.xlsx"
_CJK = re.compile(r"[\u4e00-\u9fff]")
UNITS = ["U1", "U2", "U3", "U4"]


def _files(root: Path, skip: Path | None = None) -> dict[str, tuple]:
    """{path: (kind, size, sha256 or link target)} of everything under ``root`` but ``skip``."""
    out = {}
    for p in sorted(root.rglob("*")):
        if skip is not None and (p == skip or skip in p.parents):
            continue
        rel = p.relative_to(root).as_posix()
        if p.is_symlink():
            out[rel] = ("link", os.readlink(p))
        elif p.is_dir():
            out[rel] = ("dir",)
        elif p.is_file():
            out[rel] = ("file", p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
        else:
            out[rel] = ("special", p.lstat().st_mode)
    return out


def _place(raw: Path, dest: str, file: Path | None, setup: str | None) -> None:
    """Put the case's input at ``raw/dest``: a copy of the corpus file, or a special object."""
    target = raw / dest
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() or target.is_symlink():
        target.unlink()
    if setup is None:
        shutil.copy(file, target)
    elif setup == "fifo":
        os.mkfifo(target)
    elif setup == "dev_zero":
        os.symlink("/dev/zero", target)
    elif setup == "dir":
        target.mkdir()
        (target / "x.txt").write_text("x")
    elif setup == "outside_link":
        os.symlink("/etc/hostname", target)
    elif setup == "broken_link":
        os.symlink(raw / "nowhere.xlsx", target)
    elif setup == "outside_folder_link":  # the file's folder (departments/2025-03) links out of raw
        away = raw.parent / "elsewhere" / target.parent.name
        away.mkdir(parents=True)
        shutil.copy(file or HERE / "files" / "dept_clean.xlsx", away / target.name)
        target.parent.rmdir()
        os.symlink(away, target.parent)
    elif setup == "outside_xlsx_link":  # a link to a real workbook outside the raw folder
        away = raw.parent / "elsewhere" / target.name
        away.parent.mkdir(parents=True)
        shutil.copy(file or HERE / "files" / "dept_clean.xlsx", away)
        os.symlink(away, target)
    elif setup == "inside_link":
        real = raw / "store" / "real.xlsx"
        real.parent.mkdir()
        shutil.copy(HERE / "files" / "dept_clean.xlsx", real)
        os.symlink(real, target)
    else:
        raise AssertionError(f"unknown setup {setup}")


def _raw(tmp_path: Path, case: dict) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(HERE / "base" / "framework_county.yaml", raw / "framework_county.yaml")
    shutil.copy(HERE / "base" / "units.xlsx", raw / "units.xlsx")
    file = HERE / "files" / case["file"] if case.get("file") else None
    dest = case.get("dest", DEFAULT_DEST if case["loader"] == "department" else
                    "units.xlsx" if case["loader"] == "registry" else f"input/{case.get('file') or 'x'}")
    _place(raw, dest, file, case.get("setup"))
    if case.get("setup") is None and case["loader"] == "department" and dest != DEFAULT_DEST and \
            not dest.startswith("departments/"):
        shutil.copy(HERE / "files" / "dept_clean.xlsx", raw / DEFAULT_DEST)
    return raw


def run_loader(case: dict, raw: Path):
    """→ (problems, result object or None) for the raw folder built by :func:`_raw`.
    QlworkError is turned into its problems; any other exception fails the test."""
    loader = case["loader"]
    file = raw / "input" / case["file"] if case.get("file") else None
    try:
        if loader == "department":
            from qlwork.io.validate import run_checks

            res = run_checks(raw)
            return list(res.report.problems), res
        if loader == "registry":
            from qlwork.io.ingest import read_units

            units, probs = read_units(raw)
            return probs, units
        if loader == "framework":
            from qlwork.framework import load_framework

            return [], load_framework(file, root=raw)
        if loader == "questionnaire":
            from qlwork.framework import load_framework
            from qlwork.weights.questionnaire import read_questionnaire

            fw = load_framework(HERE / "base" / "framework_county.yaml")
            q = read_questionnaire(file, frameworks=[fw], root=raw)
            return list(q.problems), q
        if loader == "survey":
            from qlwork.survey.read import read_survey

            res = read_survey(file, known_units=UNITS, root=raw)
            return list(res.problems), res
        if loader == "items":
            from qlwork.survey.read import load_items

            return [], load_items(file, root=raw)
        if loader == "margins":
            from qlwork.survey.pipeline import read_margins

            return [], read_margins(file, root=raw)
    except QlworkError as e:
        assert case.get("raises") or not case.get("no_errors"), f"unexpected QlworkError: {e}"
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


READER_CASES = [c for c in CASES if c["loader"] != "cli"]
CLI_CASES = [c for c in CASES if c["loader"] == "cli"]


@pytest.mark.parametrize("case", READER_CASES, ids=[c["id"] for c in READER_CASES])
def test_bad_input(case, tmp_path):
    raw = _raw(tmp_path, case)
    before = _files(tmp_path)
    raw_before = snapshot(raw)
    problems, result = run_loader(case, raw)
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
    # reading changed nothing: not the raw folder (strict: modes, mtimes), nothing beside it
    assert not diff(raw_before, snapshot(raw)), "the raw folder changed"
    assert _files(tmp_path) == before, "a reader wrote a file"
    assert not (tmp_path.parent / "evil.txt").exists() and not Path("/tmp/qlwork_hacked").exists()


# ---------------------------------------------------------------- the command line
@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A small project: the base raw folder, the clean workbook, a survey, margins and an AHP
    questionnaire, ingested into data/processed."""
    from qlwork.cli import main

    root = tmp_path_factory.mktemp("cli") / "project"
    raw = root / "data" / "raw"
    (raw / "departments" / "2025H1").mkdir(parents=True)
    (raw / "surveys").mkdir()
    (raw / "ahp").mkdir()
    (root / "pyproject.toml").write_text("# corpus project\n")
    (root / "qlwork").mkdir()
    shutil.copy(HERE / "base" / "framework_county.yaml", raw / "framework_county.yaml")
    shutil.copy(HERE / "base" / "units.xlsx", raw / "units.xlsx")
    shutil.copy(HERE / "files" / "dept_clean.xlsx", raw / DEFAULT_DEST)
    shutil.copy(HERE / "files" / "cli_survey.csv", raw / "surveys" / "survey_2025H1.csv")
    shutil.copy(HERE / "files" / "cli_margins.csv", raw / "surveys" / "margins.csv")
    shutil.copy(HERE / "files" / "ahp_clean.xlsx", raw / "ahp" / "expert_E01.xlsx")
    with _in_project(root):
        assert main(["ingest"]) == 0
        assert main(["score", "--period", "2025H1"]) == 0  # the official result the reports read
    return root


@contextlib.contextmanager
def _in_project(root: Path):
    old_cwd, old_env = os.getcwd(), os.environ.get("QLWORK_ROOT")
    os.chdir(root)
    os.environ["QLWORK_ROOT"] = str(root)
    try:
        yield
    finally:
        os.chdir(old_cwd)
        if old_env is None:
            os.environ.pop("QLWORK_ROOT", None)
        else:
            os.environ["QLWORK_ROOT"] = old_env


def _apply(root: Path, steps) -> None:
    import pandas as pd

    for s in steps or ():
        if "write" in s:
            (root / s["write"]).parent.mkdir(parents=True, exist_ok=True)
            (root / s["write"]).write_text(s["text"], encoding="utf-8")
        elif "mkdir" in s:
            (root / s["mkdir"]).mkdir(parents=True)
        elif "symlink" in s:
            os.symlink(root / s["to"], root / s["symlink"])
        elif "fifo" in s:
            os.mkfifo(root / s["fifo"])
        elif "replace" in s:
            p = root / s["replace"]
            p.write_bytes(p.read_bytes().replace(s["old"].encode(), s["new"].encode()))
        elif "rename_unit" in s:  # a store written by an older qlwork that let any id through
            for name in ("values.parquet", "units.parquet"):
                p = root / "data" / "processed" / name
                t = pd.read_parquet(p)
                t["unit_id"] = t["unit_id"].replace(s["rename_unit"], s["to"])
                t.to_parquet(p, index=False)
        else:
            raise AssertionError(f"unknown project step {s}")


def _enospc(monkeypatch, dotted: str) -> None:
    """Make a writer fail like a full disk: it writes a few bytes to its target, then raises."""
    mod_name, _, attr = dotted.rpartition(".")
    try:
        owner = importlib.import_module(mod_name)
    except ImportError:
        mod_name, _, cls = mod_name.rpartition(".")
        owner = getattr(importlib.import_module(mod_name), cls)

    def full(*args, **kw):
        for a in args:
            if isinstance(a, (str, os.PathLike)) and os.path.dirname(os.fspath(a)):
                with open(a, "wb") as fh:
                    fh.write(b"PAR1 half a file")
                break
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(owner, attr, full)


@pytest.mark.parametrize("case", CLI_CASES, ids=[c["id"] for c in CLI_CASES])
def test_command_line(case, project, tmp_path, monkeypatch, capsys):
    from qlwork.cli import main

    root = tmp_path / "project"
    shutil.copytree(project, root, symlinks=True)
    _apply(root, case.get("project"))
    with _in_project(root):
        for argv in case.get("before") or ():
            assert main(list(argv)) == 0, capsys.readouterr().err
        _apply(root, case.get("project_after"))
        capsys.readouterr()
        raw_before = snapshot(root / "data" / "raw")
        out = (root / case["out"]) if case.get("out") else None
        before = _files(tmp_path, skip=out)
        if case.get("enospc"):
            _enospc(monkeypatch, case["enospc"])
        code = main(list(case["argv"]))
        monkeypatch.undo()
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert code == case["exit"], err
    for exp in case.get("problems") or ():
        assert f"[{exp['code']}]" in err, err
        for k, lang in (("zh", "zh"), ("en", "en")):
            if k in exp:
                assert exp[k] in err, (exp[k], err)
    if code:
        assert _CJK.search(err) and re.search(r" — [-A-Za-z]", err), err  # Chinese first, an English gloss
    assert not diff(raw_before, snapshot(root / "data" / "raw")), "data/raw changed"
    assert _files(tmp_path, skip=out) == before, "something outside the output folder changed"
    for pattern in case.get("expect") or ():
        assert list(root.glob(pattern)), (pattern, sorted(p.relative_to(root).as_posix() for p in out.rglob("*")))


# ---------------------------------------------------------------- the corpus itself
def test_corpus_is_large_and_covers_the_issue():
    files = sorted(p.name for p in (HERE / "files").iterdir())
    assert len(files) >= 40
    assert files == sorted(c["file"] for c in CASES if c.get("file")), "every file has exactly one case"
    hostile = [c for c in CASES if c.get("problems") or c["loader"] == "cli" or c.get("setup")]
    assert len(hostile) >= 150, len(hostile)
    codes = {p["code"] for c in CASES for p in c.get("problems", [])}
    for need in ("unknown_sheet", "no_indicator_columns", "merged_cells", "normalized_id", "normalized_text",
                 "duplicate", "unknown_unit", "out_of_range", "mixed_scale", "non_numeric", "formula_no_value",
                 "empty_workbook", "encrypted_file", "unreadable_file", "xls_format", "answer_out_of_scale",
                 "not_reciprocal", "cycle", "duplicate_id", "weights_not_one", "bad_period", "period_normalized",
                 "sheet_name", "bad_encoding",
                 # issue 17: every class of hostile input
                 "unsafe_id", "lookalike_id", "confusable_id", "id_too_long", "bad_text", "text_too_long",
                 "used_range", "zip_bomb", "xml_dtd", "hidden_sheet", "external_link", "not_regular_file",
                 "outside_raw", "broken_link", "yaml_aliases", "yaml_too_deep", "duplicate_key", "bad_setting",
                 "bad_grades", "nul_bytes", "mixed_encoding", "no_answers", "empty_file", "bad_csv",
                 "bad_population", "duplicate_margin", "zero_population", "foreign_folder", "foreign_files",
                 "foreign_file", "not_a_folder", "output_in_raw", "disk_full", "bad_public"):
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
