"""Two or three analysts running ``qlwork score`` on the same store at once.

The official result of a period is one folder (``results/<period>/``) built in a
staging folder and swapped in whole, under one file lock (``.score.lock``), so
concurrent runs neither corrupt a file nor leave a mixed set (the ranking of one
run with the manifest or warnings of another).
"""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

PERIOD = "2025H2"
OUTPUTS = [f"results/{PERIOD}/ranking.parquet", f"results/{PERIOD}/warnings.parquet",
           f"results/{PERIOD}/manifest.json", f"results/{PERIOD}/spec.yaml"]

# `qlwork score` that pauses for `pause` seconds after its first output file is in
# place: a second run started at the same time then writes all its files inside that
# pause.  Without the lock the store would end with the second run's scores and the
# first run's warnings and params.
SLOW_WRITES = textwrap.dedent("""
    import sys, time, contextlib
    import qlwork.io.atomic as at
    real, pause, n = at.atomic_path, float(sys.argv.pop(1)), [0]
    @contextlib.contextmanager
    def slow(target):
        with real(target) as tmp:
            yield tmp
        n[0] += 1
        if n[0] == 1:
            time.sleep(pause)
    at.atomic_path = slow
    from qlwork.cli import main
    sys.exit(main(sys.argv[1:]))
""")


def _drop_timings(o):
    if isinstance(o, dict):
        return {k: _drop_timings(v) for k, v in o.items() if k not in ("seconds", "written_at", "command")}
    return [_drop_timings(v) for v in o] if isinstance(o, list) else o


def fingerprint(p: Path) -> str:
    """Bytes' SHA-256; params.json by content without its run timings."""
    if p.suffix == ".json":
        doc = _drop_timings(json.loads(p.read_text(encoding="utf-8")))
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()
    return hashlib.sha256(p.read_bytes()).hexdigest()


def outputs(proc: Path) -> dict[str, str]:
    return {f: fingerprint(proc / f) for f in OUTPUTS}


def args(proc: Path, raw: Path, norm: str = "minmax") -> list[str]:
    return ["score", "--period", PERIOD, "--processed", str(proc), "--raw", str(raw), "--normalization", norm]


def new_store(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True)
    for f in ("values.parquet", "units.parquet"):
        shutil.copy2(src / f, dst / f)
    for f in src.glob("public_*.parquet"):
        shutil.copy2(f, dst / f.name)
    return dst


@pytest.fixture(scope="module")
def refs(demo_root, demo_env, tmp_path_factory):
    """Single-run outputs for minmax and zscore, each in a store of its own."""
    raw, src = demo_root / "data" / "raw", demo_root / "data" / "processed"
    base = tmp_path_factory.mktemp("conc_refs")
    out = {}
    procs = {}
    for norm in ("minmax", "zscore"):
        d = new_store(src, base / norm)
        procs[norm] = subprocess.Popen([sys.executable, "-m", "qlwork", *args(d, raw, norm)], env=demo_env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for norm, p in procs.items():
        _, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
        out[norm] = outputs(base / norm)
    assert out["minmax"] != out["zscore"]
    return out


def start(cmd_args, env, pause=None):
    pre = [sys.executable, "-c", SLOW_WRITES, str(pause)] if pause is not None else [sys.executable, "-m", "qlwork"]
    return subprocess.Popen(pre + cmd_args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def finish(ps):
    for p in ps:
        _, err = p.communicate(timeout=240)
        assert p.returncode == 0, err


def leftovers(d: Path) -> list[str]:
    """Temp files and staging folders left behind (in the store and in results/)."""
    out = []
    for folder in (d, d / "results"):
        if folder.is_dir():
            out += [p.name for p in folder.iterdir()
                    if p.suffix == ".tmp" or (p.name.startswith(".") and p.suffix != ".lock")]
    return sorted(out)


def test_three_identical_runs_at_once(refs, demo_root, demo_env, tmp_path):
    store = new_store(demo_root / "data" / "processed", tmp_path / "store")
    raw = demo_root / "data" / "raw"
    finish([start(args(store, raw), demo_env) for _ in range(3)])
    assert outputs(store) == refs["minmax"]  # byte-identical to a single run
    f = pd.read_parquet(store / OUTPUTS[0])
    assert len(f) and f["unit_id"].is_unique
    assert leftovers(store) == []


def test_different_runs_at_once_leave_one_consistent_set(refs, demo_root, demo_env, tmp_path):
    """minmax and zscore runs write at the same time (the first pauses mid-set):
    the store ends with the complete set of one of them, never a mix."""
    store = new_store(demo_root / "data" / "processed", tmp_path / "store")
    raw = demo_root / "data" / "raw"
    finish([start(args(store, raw, "minmax"), demo_env, pause=6.0),
            start(args(store, raw, "zscore"), demo_env, pause=0.0)])
    got = outputs(store)
    assert got in (refs["minmax"], refs["zscore"]), {
        f: [k for k, r in refs.items() if r[f] == got[f]] for f in OUTPUTS}
    assert leftovers(store) == []
