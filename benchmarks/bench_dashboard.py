"""Benchmark: the review dashboard (issue 9 targets).

* **Browser** — read from ``benchmarks/dashboard_timings.json``, written by
  the browser test (``tests/browser/test_dashboard.py``: Voilà + headless
  Chromium) under the data scale it ran on: first full render (navigation →
  ranking table on screen, target < 8 s on the county demo) and weight slider →
  updated ranking on screen (target < 1 s county, < 3 s province).  ``make
  test`` records the county scale; for the province scale run
  ``QLWORK_TEST_ROOT=<province root> pytest tests/browser`` on a root holding the
  province's processed Parquet store.  When the file is missing (or
  ``QLWORK_BENCH_BROWSER=1``) the browser test is run first.
* **In the kernel, province scale** (≈30,000 units, demo streams in memory as
  in ``bench_index``, scored and saved once as the official result): building
  the dashboard from the official result (no scoring: the ranking's files and the
  first table) and one slider move → re-ranked weights table through
  ``qlwork.workflow.what_if`` (target < 3 s; the browser adds ≈0.3 s of transport
  and drawing, see the county rows), for both frameworks.
* **A meeting room: 10 and 20 viewers within one second** — ``viewers.py``:
  protocol viewers (the requests a browser makes, without a browser's 3–5
  CPU-seconds of page rendering, which in the room each laptop does) plus a
  real Chromium page arriving first (it moves a weight slider while the
  others load) and one arriving last; on ``qlwork dashboard --login --pool N``
  against the same room with today's default pool of one kernel (the
  baseline).  First ranking table per viewer, stuck viewers, slider latency,
  peak memory (PSS: shared pages counted once) and CPU.  Rooms to run:
  ``QLWORK_BENCH_ROOMS`` (default ``10,20``; empty skips).
* **Five simultaneous viewers** — from ``tests/browser/test_multi_viewer.py``
  (``multi_viewer_*`` keys of the same file): five browser contexts open the
  page at once (render time of each, own kernel each), a slider move and a
  period change for all five while the others are open, kernel shutdown when a
  tab is closed and culling of the kernels of viewers who vanished, and the
  peak RSS of the whole server (Voilà + kernels).
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
TIMINGS = HERE / "dashboard_timings.json"


def _row(name, seconds, target, passed, notes, baseline=None, peak_rss_mb=None):
    ratio = round(baseline / seconds, 2) if baseline and seconds else None
    row = {"name": name, "seconds": None if seconds is None else round(float(seconds), 3),
           "baseline_seconds": baseline, "ratio": ratio, "target": target, "passed": passed, "notes": notes}
    if peak_rss_mb is not None:
        row["peak_rss_mb"] = round(float(peak_rss_mb), 1)
    return row


def multi_viewer_rows(t: dict, zh: str, ctx: str, slider_target: float = 1.0) -> list[dict]:
    """Rows from the five-viewer browser test (``multi_viewer_*`` keys)."""
    if "multi_viewer_render_s" not in t:
        return []
    n = t.get("multi_viewer_n", 5)
    renders = t["multi_viewer_render_s"]
    rss = t.get("multi_viewer_peak_rss_mb")
    kern = t.get("multi_viewer_peak_kernel_rss_mb")
    cull = t.get("multi_viewer_cull_idle_timeout_s")
    return [
        _row(f"dashboard {n} simultaneous viewers: slowest first render, {zh} (browser)", max(renders), "", True,
             f"{n} browser contexts navigate at once (spread {t.get('multi_viewer_arrival_spread_s')} s); "
             f"navigation → ranking table per viewer {renders} s; each its own kernel "
             f"(peak {t.get('multi_viewer_peak_kernels')} kernel processes incl. the pre-started one); "
             f"peak RSS of one kernel {kern} MiB; {ctx}", peak_rss_mb=rss),
        _row(f"dashboard weight slider → updated ranking with {n} viewers open, {zh} (browser)",
             t["multi_viewer_slider_s"], f"< {slider_target:g} s", t["multi_viewer_slider_s"] < slider_target,
             f"worst of {t.get('multi_viewer_slider_all_s')}; the other viewers' tables unchanged; {ctx}",
             peak_rss_mb=rss),
        _row(f"dashboard period change by all {n} viewers at once → all {n} tables updated, {zh} (browser)",
             t.get("multi_viewer_all_period_change_s"), "", True, ctx),
        _row(f"dashboard kernels stopped after their tabs are closed, {zh}",
             t.get("multi_viewer_tab_close_shutdown_s"), "", True,
             "2 tabs closed → their kernels gone (Voilà's beforeunload shutdown request, XSRF check on: the "
             "render page sets the _xsrf cookie it needs, voila#1458); " + ctx),
        _row(f"dashboard kernels culled after their viewers vanished, {zh}",
             t.get("multi_viewer_dropped_culled_s"), f"≈ idle timeout ({cull} s in the test) + interval", True,
             f"2 browser contexts dropped without closing the tab → MappingKernelManager culls the "
             f"disconnected kernels (cull_idle_timeout {cull} s, cull_interval "
             f"{t.get('multi_viewer_cull_interval_s')} s in the test; 900 s / 60 s in voila.json); the open "
             f"tab, idle as long, kept its kernel; {ctx}"),
    ]


SLIDER_TARGET = {"county": 1.0, "province": 3.0}


def browser_rows() -> list[dict]:
    if not TIMINGS.is_file() or os.environ.get("QLWORK_BENCH_BROWSER") == "1":
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/browser"],
                       cwd=ROOT, check=False)
    if not TIMINGS.is_file():
        return [_row("dashboard browser test (no timings)", None, "", False,
                     "tests/browser did not write benchmarks/dashboard_timings.json (chromium missing?)")]
    allrec = json.loads(TIMINGS.read_text(encoding="utf-8"))
    rows = []
    for scale in ("county", "province"):
        t = allrec.get(scale)
        if not isinstance(t, dict):
            continue
        ctx = f"recorded {t.get('recorded_at', '')}; load avg {t.get('load_avg_1min', '?')} on the shared 2-core machine"
        zh = "county demo" if scale == "county" else "province demo (≈33,000 units)"
        if "first_render_s" in t:
            target = 8.0 if scale == "county" else None
            rows.append(_row(f"dashboard first full render, {zh} (browser)", t["first_render_s"],
                             "< 8 s" if target else "", t["first_render_s"] < target if target else True,
                             f"Voilà (preheated kernel pool, server ready after {t.get('server_ready_s', '?')} s) + "
                             f"headless Chromium with an empty cache, navigation → ranking table on screen, first "
                             f"page of a fresh server (its HTML response alone takes most of it); bar chart after "
                             f"{t.get('first_chart_s', '?')} s; {ctx}"))
        if "second_viewer_render_s" in t:
            rows.append(_row(f"dashboard render for a second viewer, {zh} (browser)", t["second_viewer_render_s"],
                             "", True, f"new tab on the running server gets its own kernel; {ctx}"))
        if "slider_update_s" in t:
            tgt = SLIDER_TARGET[scale]
            rows.append(_row(f"dashboard weight slider → updated ranking, {zh} (browser)", t["slider_update_s"],
                             f"< {tgt:g} s", t["slider_update_s"] < tgt,
                             f"worst of {t.get('slider_update_all_s')}; slider readout edit → re-ranked weights "
                             f"table on screen; {ctx}"))
        rows += multi_viewer_rows(t, zh, ctx, SLIDER_TARGET[scale])
    return rows


def kernel_rows() -> list[dict]:
    """The kernel side at province scale: the official result of the latest period is scored and
    saved once (as ``qlwork score`` does), then the dashboard is built from it — what a viewer's
    kernel does — and a weight slider is moved (what-if through the one scorer)."""
    sys.path.insert(0, str(HERE))
    from bench_index import province_values

    from qlwork.dashboard.app import ReviewDashboard
    from qlwork.dashboard.data import DashboardData
    from qlwork.engine.index import compute_index
    from qlwork.workflow.official import OfficialResult, save_result

    values, units, fws, note = province_values()
    units = units.copy()
    for c in ("unit_name", "city", "county", "township"):
        if c not in units.columns:
            units[c] = units["unit_id"] if c == "unit_name" else "—"
    units["unit_id"] = units["unit_id"].astype(str)
    period = sorted(values["period"].unique().tolist())[-1]
    rows = []
    with tempfile.TemporaryDirectory() as td:
        root = Path(td)
        results = {}
        for key, fw in fws.items():
            u = units[units["framework"] == key]
            results[fw.id] = compute_index(values[values["unit_id"].isin(set(u["unit_id"]))], fw, period=period,
                                           units=u)
        save_result(OfficialResult(period=period, results=results), root / "data" / "processed")
        n_units = values["unit_id"].nunique()
        t0 = time.perf_counter()
        app = ReviewDashboard(DashboardData.open(root), chart=False)
        build = time.perf_counter() - t0
        assert app.error.value == "", app.error.value
        rows.append(_row("dashboard build in the kernel from the official result, province", build, "", True,
                         f"read the result's ranking (load_summary) + first table; no scoring; {n_units:,} units"))
        for key, label in (("village", "村居 framework"), ("county", "county framework")):
            fid = fws[key].id
            n_fw = int((units["framework"] == key).sum())
            app.set_filter(framework=fid)
            app.show_tab("weights")
            tab = app.tab("weights")
            node = fws[key].level1[0]
            times = []
            for v in (0.5, 0.1, 0.35):
                t1 = time.perf_counter()
                tab.sliders[node].value = v
                times.append(time.perf_counter() - t1)
                assert app.error.value == "", app.error.value
            worst = max(times)
            rows.append(_row(f"dashboard slider → re-ranked table in the kernel, province {label} ({n_fw:,} units)",
                             worst, "< 3 s", worst < 3.0,
                             f"worst of {[round(x, 3) for x in times]}; qlwork.workflow.what_if (the one scorer); "
                             f"{note}; {n_units:,} units in the province"))
    return rows


ROOM_TARGET_S = 10.0  # every viewer's first table (issue 18)
KERNEL_BUDGET_MB = 400.0  # PSS of one viewer's kernel, county demo


def room_rows() -> list[dict]:
    rooms = [int(x) for x in os.environ.get("QLWORK_BENCH_ROOMS", "10,20").split(",") if x.strip()]
    if not rooms:
        return []
    sys.path.insert(0, str(HERE))
    import viewers

    rows = []
    with tempfile.TemporaryDirectory(prefix="qlwork_room_") as td:
        root = viewers.demo_root(Path(td))
        node = viewers.level1_node(root)
        record = {}
        for n in rooms:
            runs = {}
            for pool in (1, n):
                srv = viewers.start_server(root, Path(td), pool)
                try:
                    runs[pool] = viewers.meeting(srv, n, node)
                finally:
                    srv.stop()
            record[str(n)] = runs
            rows += _room_rows(n, runs[n], runs[1])
        _save_rooms(record)
    return rows


def _room_rows(n: int, r: dict, base: dict) -> list[dict]:
    ctx = (f"load avg {r['load_avg_1min']} (baseline run {base['load_avg_1min']}) on the shared 2-core machine; "
           f"{n - r['probes']} protocol viewers + {r['probes']} Chromium pages (viewers.py)")
    ok = not r["stuck"] and r["slowest_table_s"] is not None
    kernel_pss = r["peak_kernel_pss_mb"]
    return [
        _row(f"dashboard {n} viewers open the page within 1 s, pool of {n} preheated kernels: slowest first "
             f"ranking table", r["slowest_table_s"], f"< {ROOM_TARGET_S:g} s, none stuck",
             ok and r["slowest_table_s"] < ROOM_TARGET_S,
             f"baseline: the same room with the default pool of 1 (slowest {base['slowest_table_s']} s, median "
             f"{base['median_table_s']} s, stuck {len(base['stuck'])}); here median {r['median_table_s']} s, "
             f"every viewer {r['table_s']} s, stuck {len(r['stuck'])}; real Chromium pages: first arrival "
             f"{r['browser_first_table_s']} s, last arrival ({r['browser_last_arrived_s']} s after the first) "
             f"{r['browser_last_table_s']} s to the table on screen; {r['distinct_kernels']} distinct kernels; "
             f"CPU during the meeting: Voilà {r['cpu_server_s']} s, kernels {r['cpu_kernels_s']} s "
             f"(baseline {base['cpu_server_s']} / {base['cpu_kernels_s']} s); {ctx}",
             baseline=base["slowest_table_s"], peak_rss_mb=r["peak_pss_mb"]),
        _row(f"dashboard weight slider → re-ranked table while {n} viewers load (browser)", r["slider_max_s"],
             "< 1 s", r["slider_max_s"] is not None and r["slider_max_s"] < 1.0,
             f"worst of {len(r['slider_s'])} moves {r['slider_s']} by the first viewer while the others were "
             f"loading; baseline (pool of 1): worst {base['slider_max_s']} s; {ctx}",
             baseline=base["slider_max_s"], peak_rss_mb=r["peak_pss_mb"]),
        _row(f"dashboard memory with {n} viewers: peak PSS of one viewer's kernel (MiB, in the seconds column)",
             kernel_pss, f"< {KERNEL_BUDGET_MB:g} MiB per viewer", kernel_pss < KERNEL_BUDGET_MB,
             f"peak of the whole server (Voilà + {r['peak_kernels']} kernels: {n} viewers' and the refilling pool) "
             f"{r['peak_pss_mb']:.0f} MiB PSS, {r['peak_rss_mb']:.0f} MiB as a sum of RSS (shared pages counted per "
             f"process); baseline run (pool of 1): {base['peak_pss_mb']:.0f} MiB PSS; budget: (viewers + pool) × "
             f"{KERNEL_BUDGET_MB:g} MiB; {ctx}", peak_rss_mb=r["peak_pss_mb"]),
    ]


def _save_rooms(record: dict) -> None:
    allrec = json.loads(TIMINGS.read_text(encoding="utf-8")) if TIMINGS.is_file() else {}
    allrec["rooms"] = {"recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **record}
    tmp = TIMINGS.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(allrec, ensure_ascii=False, indent=2), encoding="utf-8")
    tmp.replace(TIMINGS)


def run() -> list[dict]:
    rows = browser_rows()
    try:
        rows += room_rows()
    except Exception as e:  # noqa: BLE001 — reported as a failed row
        rows.append(_row("dashboard meeting-room viewers (failed)", None, f"< {ROOM_TARGET_S:g} s", False,
                         f"{type(e).__name__}: {e}"[:300]))
    try:
        rows += kernel_rows()
    except Exception as e:  # noqa: BLE001 — reported as a failed row
        rows.append(_row("dashboard province kernel timings (failed)", None, "< 3 s", False,
                         f"{type(e).__name__}: {e}"[:300]))
    return rows


if __name__ == "__main__":
    for r in run():
        print(r)
