"""Benchmark: what one dashboard viewer's kernel costs to start (issue 18).

Every viewer of the review dashboard gets a kernel of their own, so the
kernel start is what a meeting room pays per person.  Measured here, on the
county demo (``viewers.demo_root``):

* **as Voilà starts it** — a new ``python -m ipykernel_launcher`` process
  (jupyter_client, cwd ``dashboards/``), then the dashboard cell, then the
  first ranking chart that the dashboard draws in a background thread:
  CPU-seconds of the kernel process for each step, and its memory (USS: pages
  of its own; PSS: shared pages divided among the processes sharing them);
* **step by step in a fresh interpreter** — import of ipykernel, of
  numpy/pandas/pyarrow, of ipywidgets and qlwork, opening the project, reading
  the official result of the latest period (nothing is scored in a kernel),
  building the widgets and first table, then matplotlib, the house style with
  the CJK font and the first chart: where the time goes;
* **forked from a pre-imported process** (the design proposed in
  docs/dashboard.md for larger rooms: a "zygote" that has imported
  everything forks each new kernel) — the same three steps, against the
  first figure as the baseline.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DASHBOARDS = ROOT / "dashboards"


def _cell() -> str:
    return "".join(json.loads((DASHBOARDS / "review.ipynb").read_text(encoding="utf-8"))["cells"][0]["source"])


def _cpu(p) -> float:
    t = p.cpu_times()
    return t.user + t.system


def _settle(p, quiet: float = 0.02) -> None:
    """Until the kernel's background chart thread has finished (CPU flat for 1 s)."""
    last = _cpu(p)
    time.sleep(2.5)  # the dashboard waits 2 s before drawing the first chart
    while True:
        time.sleep(1.0)
        now = _cpu(p)
        if now - last < quiet:
            return
        last = now


def _measure(p, kc, t_start: float) -> dict:
    t_ready, c_ready = time.perf_counter() - t_start, _cpu(p)
    t1 = time.perf_counter()
    kc.execute_interactive(_cell() + "\n;", timeout=300, output_hook=lambda msg: None)
    t_cell, c_cell = time.perf_counter() - t1, _cpu(p) - c_ready
    _settle(p)
    c_chart = _cpu(p) - c_ready - c_cell
    m = p.memory_full_info()
    return {"ready_s": round(t_ready, 3), "ready_cpu": round(c_ready, 3), "cell_s": round(t_cell, 3),
            "cell_cpu": round(c_cell, 3), "chart_cpu": round(c_chart, 3),
            "total_cpu": round(c_ready + c_cell + c_chart, 3),
            "rss_mb": round(m.rss / 2**20, 1), "uss_mb": round(m.uss / 2**20, 1), "pss_mb": round(m.pss / 2**20, 1)}


def voila_kernels(root: Path, n: int = 3) -> list[dict]:
    import psutil
    from jupyter_client.manager import KernelManager

    env = dict(os.environ, MPLBACKEND="Agg", QLWORK_ROOT=str(root))
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        km = KernelManager(kernel_name="python3")
        km.start_kernel(env=env, cwd=str(DASHBOARDS))
        kc = km.client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=120)
            out.append(_measure(psutil.Process(km.provisioner.process.pid), kc, t0))
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    return out


# ------------------------------------------------------------------ step by step
STEPS = r'''
import json, os, time
marks = []
def mark(name):
    marks.append((name, time.perf_counter(), time.process_time()))
mark("start")
import ipykernel.kernelapp
mark("import ipykernel")
import numpy, pandas, pyarrow, pyarrow.parquet
mark("import numpy + pandas + pyarrow")
import ipywidgets
mark("import ipywidgets")
from qlwork.dashboard.app import ReviewDashboard
from qlwork.dashboard.data import DashboardData
mark("import qlwork.dashboard")
d = DashboardData.open()
mark("open the project (periods with an official result)")
d.summary(d.latest)
mark("official result of the latest period (ranking, specs; nothing scored)")
app = ReviewDashboard(d, chart=False)  # the kernel draws its chart in a thread; here in turn
mark("build widgets and first table")
import matplotlib
mark("import matplotlib")
from qlwork.charts import plots
mark("import qlwork.charts (house style, CJK font)")
tab = app.tab("ranking")
rows, start, _ = tab.page_rows()
tab._chart_png(rows, start)
mark("draw the first ranking chart")
print(json.dumps([(n, round(t - marks[i][1], 3), round(cp - marks[i][2], 3))
                  for i, (n, t, cp) in enumerate(marks[1:])]), flush=True)
os._exit(0)
'''


def steps(root: Path) -> list[tuple[str, float, float]]:
    env = dict(os.environ, MPLBACKEND="Agg", QLWORK_ROOT=str(root))
    r = subprocess.run([sys.executable, "-c", STEPS], env=env, capture_output=True, text=True, timeout=300,
                       check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ forked kernels (the proposal)
ZYGOTE = r'''
import gc, json, os, sys, time
import psutil
os.environ.setdefault("MPLBACKEND", "Agg")
import numpy, pandas, pyarrow.parquet, ipywidgets, matplotlib.pyplot  # noqa
import ipykernel.kernelapp, ipykernel.ipkernel, IPython  # noqa
import qlwork.dashboard.app, qlwork.dashboard.data, qlwork.charts.plots, qlwork.workflow  # noqa
from jupyter_client import BlockingKernelClient
from jupyter_client.connect import write_connection_file
sys.path.insert(0, sys.argv[2])
from bench_kernel_start import _measure
gc.freeze()  # keep the collector from touching (and so copying) the shared objects
out = []
for i in range(int(sys.argv[1])):
    fn, _ = write_connection_file(os.path.join(sys.argv[3], f"k{i}.json"))
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        from ipykernel.kernelapp import IPKernelApp
        IPKernelApp.launch_instance(["-f", fn, "--IPKernelApp.quiet=True"])
        os._exit(0)
    kc = BlockingKernelClient(connection_file=fn)
    kc.load_connection_file()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    out.append(_measure(psutil.Process(pid), kc, t0))
    kc.shutdown()
    kc.stop_channels()
    os.waitpid(pid, 0)
m = psutil.Process().memory_full_info()
print(json.dumps({"kernels": out, "zygote_uss_mb": round(m.uss / 2**20, 1)}))
'''


def forked_kernels(root: Path, n: int = 3) -> dict:
    env = dict(os.environ, MPLBACKEND="Agg", QLWORK_ROOT=str(root))
    with tempfile.TemporaryDirectory() as td:
        r = subprocess.run([sys.executable, "-c", ZYGOTE, str(n), str(HERE), td], env=env, cwd=DASHBOARDS,
                           capture_output=True, text=True, timeout=600, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def _median(rows: list[dict], key: str) -> float:
    v = sorted(r[key] for r in rows)
    return v[len(v) // 2]


def run() -> list[dict]:
    sys.path.insert(0, str(HERE))
    import viewers

    with tempfile.TemporaryDirectory(prefix="qlwork_kstart_") as td:
        root = viewers.demo_root(Path(td))
        load = round(os.getloadavg()[0], 2)
        voila = voila_kernels(root)
        parts = steps(root)
        fork = forked_kernels(root)
    base = _median(voila, "total_cpu")
    ours = _median(fork["kernels"], "total_cpu")
    ctx = f"median of 3; county demo; load avg {load} on the shared 2-core machine"
    fmt = lambda rows: [(r["ready_cpu"], r["cell_cpu"], r["chart_cpu"]) for r in rows]  # noqa: E731
    step_txt = "; ".join(f"{n} {c:.2f}" for n, _t, c in parts)
    return [
        {"name": "dashboard kernel start as Voilà starts it: CPU-seconds to ready + dashboard cell + first chart",
         "seconds": base, "baseline_seconds": None, "ratio": None, "target": "", "passed": True,
         "peak_rss_mb": _median(voila, "pss_mb"),
         "notes": f"(ready, cell, chart) CPU-s per run {fmt(voila)}; wall to ready "
                  f"{_median(voila, 'ready_s')} s, cell {_median(voila, 'cell_s')} s; one kernel USS "
                  f"{_median(voila, 'uss_mb')} MiB, PSS {_median(voila, 'pss_mb')} MiB (peak RSS column: PSS); "
                  f"step by step in a fresh interpreter, CPU-s: {step_txt}; {ctx}"},
        {"name": "dashboard kernel start forked from a pre-imported process (proposed zygote design)",
         "seconds": ours, "baseline_seconds": base, "ratio": round(base / ours, 2) if ours else None,
         "target": "", "passed": True, "peak_rss_mb": _median(fork["kernels"], "pss_mb"),
         "notes": f"(ready, cell, chart) CPU-s per run {fmt(fork['kernels'])}; one kernel USS "
                  f"{_median(fork['kernels'], 'uss_mb')} MiB (its own pages; the rest shared copy-on-write with "
                  f"the zygote, USS {fork['zygote_uss_mb']} MiB, after gc.freeze()), PSS "
                  f"{_median(fork['kernels'], 'pss_mb')} MiB; not built into the server — see docs/dashboard.md; "
                  f"{ctx}"},
    ]


if __name__ == "__main__":
    for r in run():
        print(r)
