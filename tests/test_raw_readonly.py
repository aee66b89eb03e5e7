"""``data/raw/`` is read-only to the code.

A private copy of the demo project (raw workbooks, processed store, notebooks,
dashboard) is snapshotted — SHA-256, size, mode and mtime of every file and
folder under ``data/raw`` (a folder's mtime changes when anything is created,
renamed or deleted in it, so even a temp file written and removed again is
seen) — then every ``qlwork`` sub-command runs on it as a user would
(``QLWORK_ROOT`` pointing at the copy, default paths), in pipeline order,
with a snapshot after each step.  ``qlwork dashboard`` is started, the review
page rendered through the server (its kernel runs dashboards/review.ipynb)
and stopped with Ctrl-C.  The analysis notebooks are executed once, in
tests/test_notebooks.py, with the same raw-folder snapshot around each run.
At the end nothing under ``data/raw`` may have changed, appeared or
disappeared, and the outputs must exist elsewhere (so the steps did run).

``test_every_subcommand_is_covered`` fails when a new sub-command is added to
``qlwork/commands/`` without a step here; ``test_snapshot_detects_changes``
shows that the check itself can fail.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from rawsnap import diff, snapshot

PERIOD = "2025H2"
REPO = Path(__file__).resolve().parents[1]


def _small_scope(root: Path) -> str:
    """The smallest 乡镇 with at least 3 units: a report run of a few seconds."""
    import pandas as pd

    u = pd.read_parquet(root / "data" / "processed" / "units.parquet", columns=["township"])
    n = u["township"].value_counts()
    return str(n[n >= 3].sort_values(kind="stable").index[0])


# (step name, argv, accepted exit codes) in the order an analyst runs them.
# "<small>" and "<other>" are filled in at run time.
STEPS = [
    ("validate", ["validate"], {0, 1}),  # 1: the demo's deliberate errors are reported
    ("ingest", ["ingest", "--exclude-invalid"], {0}),
    ("weights", ["weights"], {0}),
    ("survey", ["survey", "--period", PERIOD], {0}),
    ("score", ["score", "--period", PERIOD], {0}),
    ("sensitivity", ["sensitivity", "--period", PERIOD, "--draws", "20", "--no-progress"], {0}),
    ("report", ["report", "--period", PERIOD, "--scope", "<small>", "--quiet"], {0}),
    # `qlwork demo` writes data/raw by design, but refuses an existing non-empty folder without --force …
    ("demo (no --force)", ["demo"], {1, 2}),
    # … and with --out it writes only there
    ("demo --out other", ["demo", "--out", "<other>"], {0}),
]
# sub-commands covered by other tests in this module
ELSEWHERE = {"dashboard": "test_dashboard_start_render_stop"}


@pytest.fixture(scope="module")
def project(demo_root, tmp_path_factory):
    """(root, env, snapshot of data/raw) for a private copy of the demo project."""
    root = tmp_path_factory.mktemp("raw_ro") / "project"
    root.mkdir()
    shutil.copy2(demo_root / "pyproject.toml", root / "pyproject.toml")
    (root / "qlwork").mkdir()  # marks a project root, like the demo root
    shutil.copytree(demo_root / "data" / "raw", root / "data" / "raw")  # copy2: mtimes preserved
    (root / "data" / "processed").mkdir()
    for f in ("values.parquet", "units.parquet", "problems.parquet"):
        shutil.copy2(demo_root / "data" / "processed" / f, root / "data" / "processed" / f)
    for d in ("notebooks", "dashboards"):
        shutil.copytree(REPO / d, root / d)
    env = dict(os.environ, QLWORK_ROOT=str(root), MPLBACKEND="Agg")
    return root, env, snapshot(root / "data" / "raw")


@pytest.fixture(scope="module")
def pipeline(project):
    """Run every step once, in order: {step: (argv, exit code, stdout, stderr, what the step changed)}.

    Module-scoped so that selecting one step (``-k report``) still runs the
    steps it depends on."""
    root, env, before = project
    other = root.parent / "other_demo"
    done = {}
    for name, argv, _ in STEPS:
        argv = [_small_scope(root) if a == "<small>" else str(other) if a == "<other>" else a for a in argv]
        r = subprocess.run([sys.executable, "-m", "qlwork", *argv], cwd=root, env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=600)
        after = snapshot(root / "data" / "raw")
        # compared with the state before this step, so a failure names the step that wrote
        done[name] = (argv, r.returncode, r.stdout, r.stderr, diff(before, after))
        before = after
    return done


@pytest.mark.parametrize("name", [s[0] for s in STEPS])
def test_command_leaves_raw_untouched(pipeline, name):
    ok = {s[0]: s[2] for s in STEPS}[name]
    argv, rc, out, err, changed = pipeline[name]
    assert rc in ok, f"qlwork {' '.join(argv)} → {rc}\n{out[-2000:]}\n{err[-3000:]}"
    assert changed == [], f"qlwork {' '.join(argv)} changed data/raw: {changed}"


def test_refused_demo_says_why(pipeline):
    """The refusal is a readable message naming the folder and --force, not a traceback."""
    _, _, out, err, _ = pipeline["demo (no --force)"]
    text = out + err
    assert "Traceback" not in text
    assert "--force" in text and "raw" in text


def test_every_subcommand_is_covered():
    """A new plugin in qlwork/commands/ must get a step here (or in ELSEWHERE)."""
    commands = {p.stem for p in (REPO / "qlwork" / "commands").glob("*.py") if not p.stem.startswith("_")}
    covered = {argv[0] for _, argv, _ in STEPS} | set(ELSEWHERE)
    assert commands - covered == set(), f"sub-commands not run by this test: {sorted(commands - covered)}"
    # and `qlwork --help` lists exactly these plugins
    r = subprocess.run([sys.executable, "-m", "qlwork", "--help"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0
    assert all(f"    {c} " in r.stdout or f"    {c}\n" in r.stdout for c in commands), r.stdout


def test_dashboard_start_render_stop(project, pipeline):
    """``qlwork dashboard`` started, the review page rendered by the server
    (a kernel executes dashboards/review.ipynb on the scored data), then
    stopped with Ctrl-C (SIGINT to the process group, as a terminal does)."""
    root, env, before = project
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = subprocess.Popen([sys.executable, "-m", "qlwork", "dashboard", "--port", str(port)], cwd=root, env=env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         start_new_session=True)
    page = ""
    try:
        deadline = time.time() + 90
        while time.time() < deadline and p.poll() is None:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).close()
                break
            except OSError:
                time.sleep(0.3)
        assert p.poll() is None, "dashboard server exited"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/voila/render/review.ipynb", timeout=240) as r:
            assert r.status == 200
            page = r.read().decode("utf-8", "replace")
    finally:
        os.killpg(p.pid, signal.SIGINT)
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(10)
            pytest.fail("qlwork dashboard did not stop on Ctrl-C within 30 s")
    assert "application/vnd.jupyter.widget-view+json" in page, page[-1500:]  # the dashboard widget was built
    assert diff(before, snapshot(root / "data" / "raw")) == []


def test_raw_unchanged_after_everything(project, pipeline):
    """Last: the whole tree is as it was, and the steps did write their outputs — elsewhere."""
    root, _, before = project
    after = snapshot(root / "data" / "raw")
    assert diff(before, after) == []
    assert len(after) == len(before) > 10
    proc = root / "data" / "processed"
    for f in (f"results/{PERIOD}/manifest.json", f"public_{PERIOD}.parquet", "weights_ahp.parquet"):
        assert (proc / f).is_file(), f
    assert any((proc / "reports" / PERIOD).rglob("*.xlsx"))
    other = root.parent / "other_demo"
    assert (other / "units.xlsx").is_file() or any(other.rglob("*.xlsx"))


def test_snapshot_detects_changes(tmp_path):
    """The check itself can fail: a touched, a chmod-ed, an added and a removed
    file are all seen, and a temp file created and deleted again shows as the
    folder's mtime."""
    raw = tmp_path / "raw"
    (raw / "sub").mkdir(parents=True)
    (raw / "sub2").mkdir()
    for n in ("a.xlsx", "b.csv", "sub/c.yaml", "e.xlsx"):
        (raw / n).write_text(n)
    # fixed, old mtimes so that a change made within the same clock tick is still visible
    for p in (raw / "sub", raw / "sub2", *raw.rglob("*.*")):
        os.utime(p, ns=(10**18, 10**18))
    before = snapshot(raw)
    assert diff(before, snapshot(raw)) == []
    (raw / "a.xlsx").write_text("a.xlsx")  # same content, new mtime
    (raw / "b.csv").chmod(0o600)
    (raw / "sub" / "c.yaml").unlink()
    (raw / "sub" / "d.yaml").write_text("x")
    (raw / "sub2" / ".~tmp").write_text("x")
    (raw / "sub2" / ".~tmp").unlink()
    with open(raw / "e.xlsx", "r+") as fh:  # same size, same mtime, other bytes
        fh.write("E")
    os.utime(raw / "e.xlsx", ns=(10**18, 10**18))
    d = "\n".join(diff(before, snapshot(raw)))
    assert "changed: a.xlsx (mtime)" in d and "changed: b.csv (mode)" in d
    assert "removed: sub/c.yaml" in d and "added: sub/d.yaml" in d and "changed: sub (mtime)" in d
    assert "changed: sub2 (mtime)" in d
    assert "changed: e.xlsx (sha256)" in d
