"""A report run killed half-way leaves the previous report set intact and no partial files."""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from report_fixtures import make_result  # noqa: E402

from qlwork.io.safe import MARKER, read_marker, write_marker  # noqa: E402
from qlwork.report import generate_reports, swap_dirs  # noqa: E402


def snapshot(d: Path) -> dict[str, str]:
    return {p.relative_to(d).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(d.rglob("*")) if p.is_file()}


SCRIPT = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {tests!r})
    from report_fixtures import make_result
    import qlwork.report.unit_report as ur
    from qlwork.report import generate_reports

    real = ur.UnitReportBuilder.context
    def slow(self, uid):  # slow each report down so the parent can kill the run midway
        time.sleep(0.02)
        return real(self, uid)
    ur.UnitReportBuilder.context = slow
    print("start", flush=True)
    generate_reports(make_result(200, seed=11), out_dir={out!r}, progress=False, charts=False)
    print("done", flush=True)
""")


@pytest.fixture()
def previous(tmp_path):
    out = tmp_path / "reports" / "2025H2" / "示范市"
    generate_reports(make_result(24), out_dir=out, progress=False, charts=False)
    return out, snapshot(out)


def _kill_midway(out: Path, sig: int) -> subprocess.CompletedProcess:
    env = dict(os.environ, MPLBACKEND="Agg")
    p = subprocess.Popen([sys.executable, "-c", SCRIPT.format(tests=str(HERE), out=str(out))],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    deadline = time.monotonic() + 60
    staged = None
    while time.monotonic() < deadline:  # wait until unit reports are being written into the staging folder
        cands = list(out.parent.glob(f".{out.name}.staging-*/units/*.html"))
        if len(cands) >= 5:
            staged = cands[0].parents[1]
            break
        if p.poll() is not None:
            break
        time.sleep(0.05)
    assert staged is not None, p.communicate()
    p.send_signal(sig)
    p.wait(timeout=30)
    return p


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killed_run_leaves_previous_set_intact(previous, sig):
    out, before = previous
    p = _kill_midway(out, sig)
    assert p.returncode != 0
    # the previous set is byte-for-byte what it was, and holds no partial/temporary file
    assert snapshot(out) == before
    assert not [f for f in out.rglob("*") if (f.name.startswith(".") and f.name != MARKER) or f.suffix == ".tmp"]
    leftovers = list(out.parent.glob(f".{out.name}.staging-*"))
    if sig == signal.SIGTERM:
        assert leftovers == []  # SIGTERM is turned into a clean exit that removes the staging folder
    # the next run removes whatever a SIGKILLed run left, then replaces the set completely
    rs = generate_reports(make_result(30, seed=3), out_dir=out, progress=False, charts=False)
    assert list(out.parent.glob(f".{out.name}.*")) == []
    assert len(list((out / "units").glob("*.html"))) == 30 == len(rs.unit_reports)


def test_error_midway_keeps_previous(previous, monkeypatch):
    out, before = previous
    import qlwork.report.batch as batch

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(batch, "write_notices", boom)
    with pytest.raises(RuntimeError):
        generate_reports(make_result(30, seed=5), out_dir=out, progress=False, charts=False)
    assert snapshot(out) == before
    assert list(out.parent.glob(f".{out.name}.*")) == []


def test_swap_dirs_replaces_whole_tree(tmp_path):
    old, new = tmp_path / "set", tmp_path / ".new"
    (old / "units").mkdir(parents=True)
    (old / "units" / "gone.html").write_text("old")
    (old / "a.txt").write_text("old")
    write_marker(old, "report", ["units/gone.html", "a.txt"])  # a set qlwork wrote
    new.mkdir()
    (new / "a.txt").write_text("new")
    swap_dirs(new, old)
    snap = snapshot(old)
    assert snap.pop(MARKER) and snap == {"a.txt": hashlib.sha256(b"new").hexdigest()}
    assert read_marker(old)["files"] == ["a.txt"] and read_marker(old)["kind"] == "report"
    assert not new.exists()


@pytest.mark.parametrize("setup", ["unmarked", "foreign_file", "other_kind", "file"])
def test_swap_dirs_never_replaces_what_qlwork_did_not_write(tmp_path, setup):
    from qlwork.errors import QlworkError

    old, new = tmp_path / "mydocs", tmp_path / ".new"
    if setup == "file":
        old.write_text("thesis")
    else:
        old.mkdir()
        (old / "thesis.docx").write_text("thesis")
        if setup == "foreign_file":
            write_marker(old, "report", ["a.txt"])
        if setup == "other_kind":
            write_marker(old, "processed")
    before = {p.relative_to(tmp_path).as_posix(): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    new.mkdir()
    (new / "a.txt").write_text("new")
    with pytest.raises(QlworkError) as e:
        swap_dirs(new, old)
    p = e.value.problems[0]
    assert p.code in ("foreign_folder", "foreign_files", "not_a_folder") and p.file == str(old)
    assert ("qlwork" in p.message or "不会替换" in p.message) and p.message_en
    after = {p.relative_to(tmp_path).as_posix(): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()
             and ".new" not in p.parts}
    assert after == before


def test_failed_subset_run_does_not_touch_hard_linked_files(previous, monkeypatch):
    """A --units run starts from hard links to the live files; rewriting one must never write
    through the link into the live set, even if the run then fails."""
    out, before = previous
    import qlwork.report.batch as batch

    def boom(*a, **k):
        raise RuntimeError("fail after the unit reports were written")

    monkeypatch.setattr(batch, "write_notices", boom)
    other = make_result(24, seed=99)  # different numbers → different report text
    with pytest.raises(RuntimeError):
        generate_reports(other, out_dir=out, units=["U000002", "U000003"], progress=False, charts=False)
    assert snapshot(out) == before
    assert list(out.parent.glob(f".{out.name}.*")) == []
