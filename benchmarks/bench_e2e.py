"""Benchmark: the province scale end to end, wall time and peak RSS per step.

Builds ``qlwork demo --scale province`` (≈30,000 units, ≈1,000,000 survey
responses in 2025H2) in a temporary project root, then runs the pipeline the
way an analyst would, each step a separate ``python -m qlwork`` process:
validate → ingest --exclude-invalid → weights → score → survey → sensitivity
(1,000 draws, the command's default) → report for one 县市区 → dashboard first build (in a kernel-like
process: ``qlwork.dashboard.app.build_review_dashboard`` on the processed store,
the work Voilà's kernel does before the first paint).

Peak RSS of a step is the child's own high-water mark (``VmHWM``, polled every 50 ms
while it runs; ``ru_maxrss`` would carry this process's peak across the child's exec); CPU
time is read with
``os.wait4`` (Linux reports KiB; it covers the child and any descendants it
waited for).  The machine has 24 GiB; the target per step is < 8 GiB so that
two analysts (or the dashboard and a batch) fit side by side.

Slow (5–10 min, mostly the Excel demo generation and ingest): it runs under
``make bench`` only, never in ``make test``.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PERIOD = "2025H2"
RSS_TARGET_MB = 8 * 1024
DRAWS = 1000  # the `qlwork sensitivity` default

DASH_SNIPPET = (
    "import time; t=time.perf_counter();"
    "from qlwork.dashboard.app import build_review_dashboard;"
    "app = build_review_dashboard();"
    "print('built', round(time.perf_counter()-t, 2), flush=True);"
    "failed = type(app).__name__ == '_Failed' or bool(app.error.value);"
    "raise SystemExit(1 if failed else 0)"
)


def run_step(cmd: list[str], env: dict, cwd: Path, log: Path) -> tuple[float, float, int, float]:
    """(wall seconds, peak RSS MiB, exit code, CPU seconds) of one child process."""
    with open(log, "ab") as fh:
        fh.write(("\n$ " + " ".join(cmd) + "\n").encode())
        fh.flush()
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT)
        # the child's own high-water mark, read while it runs (VmHWM only grows): ru_maxrss would carry
        # the peak of this benchmark process, which Linux keeps across the child's exec
        peak = 0.0
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            try:
                with open(f"/proc/{p.pid}/status", encoding="ascii") as st:
                    peak = max(peak, next(int(ln.split()[1]) / 1024 for ln in st if ln.startswith("VmHWM:")))
            except (OSError, StopIteration):
                pass
            time.sleep(0.05)
        secs = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
    return secs, peak, p.returncode, ru.ru_utime + ru.ru_stime


def first_county(root: Path) -> str:
    import pandas as pd

    u = pd.read_parquet(root / "data" / "processed" / "units.parquet", columns=["county"])
    return str(u["county"].value_counts().sort_index().index[0])


def steps(root: Path) -> list[tuple[str, list[str] | None, set[int]]]:
    q = [sys.executable, "-m", "qlwork"]
    raw = str(root / "data" / "raw")
    return [
        ("demo --scale province", q + ["demo", "--scale", "province", "--out", raw, "--force"], {0}),
        # validate reports the demo's deliberate errors: exit 1 with located problems is the expected outcome
        ("validate", q + ["validate"], {0, 1}),
        ("ingest --exclude-invalid", q + ["ingest", "--exclude-invalid"], {0}),
        ("weights (group AHP)", q + ["weights"], {0}),
        ("survey 2025H2 (≈1M responses)", q + ["survey", "--period", PERIOD], {0}),
        ("score 2025H2", q + ["score", "--period", PERIOD], {0}),
        (f"sensitivity 2025H2, {DRAWS} draws", q + ["sensitivity", "--period", PERIOD, "--draws", str(DRAWS),
                                                   "--no-progress"], {0}),
        ("report, one 县市区", None, {0}),  # scope filled in once units.parquet exists
        ("dashboard first build (kernel)", [sys.executable, "-c", DASH_SNIPPET], {0}),
    ]


def run() -> list[dict]:
    keep = os.environ.get("QLWORK_E2E_KEEP")  # keep the province root for inspection / browser timing runs
    tmp = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="qlwork_e2e_"))
    root = tmp / "project"
    (root / "data" / "raw").mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text("# qlwork e2e benchmark root\n", encoding="utf-8")
    env = dict(os.environ, QLWORK_ROOT=str(root), MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
    log = tmp / "e2e.log"
    rows: list[dict] = []
    total = 0.0
    try:
        for name, cmd, ok_codes in steps(root):
            if cmd is None:
                county = first_county(root)
                name = f"report, 县市区 {county}"
                cmd = [sys.executable, "-m", "qlwork", "report", "--period", PERIOD, "--scope", county, "--quiet"]
            load0 = os.getloadavg()[0]
            secs, rss, rc, cpu = run_step(cmd, env, ROOT, log)
            total += secs
            ok = rc in ok_codes and rss < RSS_TARGET_MB
            rows.append({"name": f"e2e province: {name}", "seconds": round(secs, 2), "baseline_seconds": None,
                         "ratio": None, "target": f"peak RSS < {RSS_TARGET_MB // 1024} GiB", "passed": ok,
                         "notes": f"exit {rc}{' (errors reported, expected)' if rc == 1 else ''}; separate process; "
                                  f"CPU {cpu:.1f} s; load average {load0:.1f} at start on {os.cpu_count()} cores",
                         "peak_rss_mb": round(rss, 1)})
            print(f"{name:45s} {secs:8.1f} s  {rss:8.0f} MiB  rc={rc}", flush=True)
            if rc not in ok_codes:
                rows[-1]["notes"] += f"; failed, see {log}"
                break
        peak = max(r["peak_rss_mb"] for r in rows)
        rows.append({"name": "e2e province: whole pipeline", "seconds": round(total, 2), "baseline_seconds": None,
                     "ratio": None, "target": "fits in 24 GiB", "passed": all(r["passed"] for r in rows),
                     "notes": f"{len(rows)} steps, max step peak RSS {peak:.0f} MiB", "peak_rss_mb": peak})
    finally:
        failed = not rows or not all(r["passed"] for r in rows)
        if not keep and not failed:  # a failed run keeps its folder and e2e.log for inspection
            shutil.rmtree(tmp, ignore_errors=True)
    return rows


if __name__ == "__main__":
    for r in run():
        print(r)
