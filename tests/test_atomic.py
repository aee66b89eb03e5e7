"""Whole-or-nothing outputs: :mod:`qlwork.io.atomic` semantics and a ``qlwork score``
run killed with SIGKILL at random moments.

Policy under test (see docs/robustness.md): temp files are
``.<name>.<pid>.<random>.tmp`` next to the target — hidden and ``.tmp``, so no
reader glob matches them; a writer that fails removes its own; one killed with
SIGKILL leaves its temp file, which the next write of the same target sweeps
(its pid is dead); a live writer's temp file is never touched.
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from qlwork.io.atomic import atomic_path, atomic_write_bytes, atomic_write_text, sweep_stale, temp_files

PERIOD = "2025H2"


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def hidden_or_tmp(d: Path) -> list[Path]:
    """Temp or hidden files, except the (empty, persistent) lock file of `qlwork score`."""
    return [p for p in d.rglob("*") if (p.name.startswith(".") or p.suffix == ".tmp") and p.suffix != ".lock"]


# ---------------------------------------------------------------- atomic_path

def test_failure_inside_keeps_previous_and_removes_temp(tmp_path):
    target = tmp_path / "scores.parquet"
    atomic_write_bytes(target, b"old content")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half of the new con")
            assert tmp.parent == target.parent and tmp.name.startswith(".scores.parquet.")
            raise RuntimeError("disk full")
    assert target.read_bytes() == b"old content"
    assert hidden_or_tmp(tmp_path) == []


def test_failure_on_first_write_leaves_nothing(tmp_path):
    target = tmp_path / "sub" / "new.xlsx"
    with pytest.raises(ValueError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"x")
            raise ValueError
    assert not target.exists() and list(target.parent.iterdir()) == []


def test_success_replaces_and_output_is_readable_by_others(tmp_path):
    target = tmp_path / "a.html"
    old_umask = os.umask(0o022)
    try:
        atomic_write_text(target, "一")
        # mkstemp creates 0600; the output gets the mode a plain open() would give
        assert target.stat().st_mode & 0o777 == 0o644
        target.chmod(0o640)
        atomic_write_text(target, "二")
        assert target.stat().st_mode & 0o777 == 0o640  # an existing file keeps its mode
    finally:
        os.umask(old_umask)
    assert target.read_text(encoding="utf-8") == "二"
    assert hidden_or_tmp(tmp_path) == []


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid  # reaped: no process has this pid (reuse within the test is vanishingly unlikely)


def test_stale_temp_of_killed_writer_is_swept_live_one_kept(tmp_path):
    target = tmp_path / "values.parquet"
    target.write_bytes(b"v1")
    stale = tmp_path / f".values.parquet.{_dead_pid()}.abc123.tmp"
    live = tmp_path / f".values.parquet.{os.getpid()}.def456.tmp"  # e.g. another analyst writing right now
    other = tmp_path / f".units.parquet.{_dead_pid()}.xyz.tmp"  # another target's: not ours to judge now
    for p in (stale, live, other):
        p.write_bytes(b"partial")
    assert set(temp_files(target)) == {stale, live}
    # readers never see temp files: the names match no output glob
    assert sorted(p.name for p in tmp_path.glob("*.parquet")) == ["values.parquet"]
    atomic_write_bytes(target, b"v2")
    assert not stale.exists() and live.exists() and other.exists()
    assert target.read_bytes() == b"v2"
    assert sweep_stale(tmp_path / "units.parquet") == [other]


def _writer(target: str, tag: int, n: int) -> None:
    rnd = random.Random(tag)
    for i in range(n):
        body = (f"{tag}:{i}:".encode() + bytes(rnd.getrandbits(8) for _ in range(20_000)))
        atomic_write_bytes(target, hashlib.sha256(body).hexdigest().encode() + b"\n" + body)


def test_concurrent_writers_never_produce_a_torn_file(tmp_path):
    """Four processes rewrite the same file 40 times each while this process
    reads it continuously: every read is one complete version (its embedded
    checksum matches), never a mix or a truncated file."""
    target = tmp_path / "shared.bin"
    _writer(str(target), 99, 1)
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(target), k, 40)) for k in range(4)]
    for p in procs:
        p.start()
    reads = torn = 0
    while any(p.is_alive() for p in procs):
        data = target.read_bytes()
        head, _, body = data.partition(b"\n")
        reads += 1
        torn += hashlib.sha256(body).hexdigest().encode() != head
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    assert reads > 10 and torn == 0
    assert hidden_or_tmp(tmp_path) == []


def test_concurrent_threads(tmp_path):
    target = tmp_path / "t.txt"
    errors = []

    def work(k):
        try:
            for i in range(50):
                atomic_write_text(target, f"{k}-{i}-" + "x" * 5000)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    ts = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert errors == []
    txt = target.read_text()
    assert txt.endswith("x" * 5000) and len(txt.split("-")[2]) == 5000
    assert hidden_or_tmp(tmp_path) == []


# ------------------------------------------------------- killing `qlwork score`

OUTPUTS = [f"results/{PERIOD}/ranking.parquet", f"results/{PERIOD}/warnings.parquet",
           f"results/{PERIOD}/manifest.json", f"results/{PERIOD}/QLI/scores.parquet"]

# Runs `qlwork score` with every Parquet write slowed down *after* the bytes are in the
# temp file, and says so on stdout: the parent kills it exactly inside atomic_path.
SLOW_SCORE = textwrap.dedent("""
    import sys, time, pandas as pd
    real = pd.DataFrame.to_parquet
    def slow(self, path, *a, **k):
        real(self, path, *a, **k)
        print("WRITING", path, flush=True)
        time.sleep(30)
    pd.DataFrame.to_parquet = slow
    from qlwork.cli import main
    sys.exit(main(sys.argv[1:]))
""")


@pytest.fixture()
def store(demo_root, tmp_path):
    """A private copy of the processed store with a completed `score` (minmax)."""
    proc = tmp_path / "processed"
    proc.mkdir()
    for f in ("values.parquet", "units.parquet"):
        shutil.copy2(demo_root / "data" / "processed" / f, proc / f)
    for f in (demo_root / "data" / "processed").glob("public_*.parquet"):
        shutil.copy2(f, proc / f.name)
    return proc


def score_cmd(proc: Path, raw: Path, norm: str) -> list[str]:
    return [sys.executable, "-m", "qlwork", "score", "--period", PERIOD, "--processed", str(proc),
            "--raw", str(raw), "--normalization", norm]


def _drop_timings(o):
    if isinstance(o, dict):
        return {k: _drop_timings(v) for k, v in o.items() if k not in ("seconds", "written_at", "command")}
    return [_drop_timings(v) for v in o] if isinstance(o, list) else o


def fingerprint(p: Path) -> str:
    """SHA-256 of the bytes; for manifest.json of its content without the run's timings
    (``seconds`` differs between two otherwise identical runs)."""
    if p.suffix == ".json":
        doc = _drop_timings(json.loads(p.read_text(encoding="utf-8")))  # also proves it is complete JSON
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()
    return sha(p)


def outputs(proc: Path) -> dict[str, str]:
    return {f: fingerprint(proc / f) for f in OUTPUTS}


def run_score(proc, raw, norm, env):
    r = subprocess.run(score_cmd(proc, raw, norm), env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return outputs(proc)


def test_score_killed_midway_leaves_old_or_new_never_partial(store, demo_root, demo_env):
    raw = demo_root / "data" / "raw"
    old = run_score(store, raw, "minmax", demo_env)
    new_dir = store.parent / "new"
    shutil.copytree(store, new_dir)
    t0 = time.perf_counter()
    new = run_score(new_dir, raw, "zscore", demo_env)  # the complete new output, for comparison
    full = time.perf_counter() - t0
    assert all(old[f] != new[f] for f in OUTPUTS)  # the two runs are distinguishable

    def check():
        for f in OUTPUTS:
            assert fingerprint(store / f) in (old[f], new[f]), f"{f} is neither the old nor the new output"
            if f.endswith(".parquet"):
                pd.read_parquet(store / f)  # readable
        assert sorted(p.name for p in (store / "results").iterdir() if not p.name.startswith(".")) == [PERIOD]

    # 1. killed exactly inside atomic_path (temp file written, not yet renamed)
    p = subprocess.Popen([sys.executable, "-c", SLOW_SCORE] + score_cmd(store, raw, "zscore")[3:],
                         env=demo_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    while line and not line.startswith("WRITING"):
        line = p.stdout.readline()
    assert line.startswith("WRITING"), p.stderr.read()
    tmp = Path(line.split(None, 1)[1].strip())
    # the whole result is built in a hidden staging folder next to results/<period>
    assert tmp.exists() and any(part.startswith(f".{PERIOD}.staging-{p.pid}-") for part in tmp.parts)
    p.kill()
    p.wait(10)
    p.stdout.close()
    p.stderr.close()
    assert outputs(store) == old  # previous outputs byte-identical
    assert tmp.exists()  # SIGKILL: nobody could clean up; invisible to readers (hidden, .tmp)
    check()

    # 2. killed at random moments of a real run (load, compute or write)
    rnd = random.Random(20251231)
    for delay in sorted(rnd.uniform(0.3, full) for _ in range(3)):
        p = subprocess.Popen(score_cmd(store, raw, "zscore"), env=demo_env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait(10)
        check()

    # 3. the next complete run sweeps what the killed ones left and writes the new output
    assert run_score(store, raw, "zscore", demo_env) == new
    assert hidden_or_tmp(store) == []
