"""No sub-command but ``demo`` writes into data/raw, even when asked to with --out."""
from __future__ import annotations

import os

import pytest

from qlwork.cli import main
from qlwork.errors import QlworkError
from qlwork.paths import ensure_outside_raw


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "data" / "raw" / "ahp").mkdir(parents=True)
    (tmp_path / "data" / "processed").mkdir(parents=True)
    monkeypatch.setenv("QLWORK_ROOT", str(tmp_path))
    return tmp_path


def test_inside_and_outside(project):
    raw = project / "data" / "raw"
    for p in (raw, raw / "x.parquet", raw / "ahp" / "sub" / "w.csv", project / "data" / "raw" / ".." / "raw" / "y.csv"):
        with pytest.raises(QlworkError) as e:
            ensure_outside_raw(p)
        assert "只读" in str(e.value) and "read-only" in str(e.value)
    assert ensure_outside_raw(project / "data" / "processed" / "w.csv") == (project / "data" / "processed" / "w.csv").resolve()
    # a sibling whose name merely starts with "raw" is not inside it
    assert ensure_outside_raw(project / "data" / "raw_copy" / "w.csv")


def test_symlink_into_raw_is_caught(project):
    link = project / "data" / "processed" / "to_raw"
    os.symlink(project / "data" / "raw", link)
    with pytest.raises(QlworkError):
        ensure_outside_raw(link / "w.parquet")


@pytest.mark.parametrize("argv", [
    ["weights", "--out", "data/raw/w.parquet"],
    ["ingest", "--out", "data/raw/processed"],
    ["survey", "--period", "2025H2", "--out", "data/raw"],
    ["report", "--period", "2025H2", "--out", "data/raw/reports"],
    ["registers", "template", "--out", "data/raw/registers"],
    ["publish", "--period", "2025H2", "--out", "data/raw/follow"],
    ["feedback", "--period", "2025H2", "--scope", "x", "--as-of", "2026-01-31", "--out", "data/raw"],
])
def test_commands_refuse_out_in_raw(project, monkeypatch, capsys, argv):
    monkeypatch.chdir(project)
    before = sorted(p.relative_to(project).as_posix() for p in (project / "data" / "raw").rglob("*"))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "data/raw 只读" in err and "read-only" in err and "Traceback" not in err
    after = sorted(p.relative_to(project).as_posix() for p in (project / "data" / "raw").rglob("*"))
    assert before == after


def test_explicit_raw_folder_is_protected_too(project, tmp_path_factory, monkeypatch, capsys):
    other_raw = tmp_path_factory.mktemp("elsewhere")
    monkeypatch.chdir(project)
    assert main(["weights", "--raw", str(other_raw), "--out", str(other_raw / "w.parquet")]) == 2
    assert "只读" in capsys.readouterr().err
