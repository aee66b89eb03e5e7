"""Browser-test harness: a Voilà server on a free port against a temp project
root holding the county demo, and headless Debian Chromium driven by the
Playwright sync API with every non-local request aborted."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = os.environ.get("QLWORK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
DEMO_SEED = 20251231


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for it in items:
        if here in Path(str(it.fspath)).parents:
            it.add_marker(pytest.mark.browser)


def local_only(blocked: list[str]):
    """A Playwright route handler: local and data/blob URLs pass, anything else is
    aborted and its URL appended to ``blocked`` (the machine has no outside network;
    a page must not need it)."""
    def route(r):
        host = urlparse(r.request.url).hostname or ""
        if r.request.url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()
    return route


class Server(str):
    """Base URL of the running dashboard server; ``ready_s`` = launch → ready."""

    ready_s: float = float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_demo_root(root: Path, scale: str = "county", seed: int = DEMO_SEED) -> Path:
    """generate_demo + ingest(exclude_invalid=True) into ``root/data``."""
    demo = pytest.importorskip("qlwork.demo")
    ingest = pytest.importorskip("qlwork.io.ingest")
    raw = root / "data" / "raw"
    out = root / "data" / "processed"
    raw.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").touch()  # marks the folder as a project root
    demo.generate_demo(raw, scale=scale, seed=seed)
    ingest.ingest(raw_dir=raw, out_dir=out, exclude_invalid=True)
    return root


@pytest.fixture(scope="session")
def dashboard_root(request, tmp_path_factory) -> Path:
    """A temp project root with the county demo, processed as ``make dashboard``
    does (the suite's ``demo_root_full`` fixture when it provides one).  ``QLWORK_TEST_ROOT``
    points the browser tests at an existing processed root instead (e.g. a
    province-scale demo for the timing run)."""
    if os.environ.get("QLWORK_TEST_ROOT"):
        return Path(os.environ["QLWORK_TEST_ROOT"]).resolve()
    try:  # with survey estimates and sensitivity results, so every view has content
        return Path(request.getfixturevalue("demo_root_full"))
    except pytest.FixtureLookupError:
        pass
    return build_demo_root(tmp_path_factory.mktemp("qlwork_dash"))


@pytest.fixture(scope="session")
def voila_server(dashboard_root, tmp_path_factory):
    """``qlwork dashboard`` on a free local port; yields the base URL."""
    port = free_port()
    env = dict(os.environ, QLWORK_ROOT=str(dashboard_root), MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
    log = tmp_path_factory.mktemp("voila_log") / "voila.log"
    fh = open(log, "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "qlwork", "dashboard", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while True:
        if proc.poll() is not None:
            fh.close()
            pytest.fail(f"voila exited early ({proc.returncode}):\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(base + "/", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if time.time() > deadline:
            os.killpg(proc.pid, signal.SIGTERM)
            pytest.fail(f"voila did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.3)
    # voila.json pre-starts a kernel that executes the dashboard: a meeting-room
    # server is started before the meeting, so wait until that pool is filled
    cfg = json.loads((REPO / "dashboards" / "voila.json").read_text(encoding="utf-8"))
    if cfg.get("VoilaConfiguration", {}).get("preheat_kernel"):
        while "is filled with" not in log.read_text(errors="replace"):
            if time.time() > deadline + 120 or proc.poll() is not None:
                break
            time.sleep(0.3)
    server = Server(base)
    server.ready_s = time.time() - (deadline - 90)
    yield server
    os.killpg(proc.pid, signal.SIGTERM)  # the group of the server we started (voila + its kernels)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    fh.close()


@pytest.fixture(scope="session")
def chromium_browser():
    """Headless Debian Chromium, started once per session (one Playwright driver: the sync
    API allows one per thread)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"chromium not found at {CHROMIUM} (run `make system`)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def local_context(browser, width: int = 1366, height: int = 768):
    """A fresh browser context of that screen size in which only local requests pass;
    ``ctx.blocked_requests`` lists every URL that tried to leave 127.0.0.1."""
    ctx = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    blocked: list[str] = []
    ctx.route("**/*", local_only(blocked))
    ctx.blocked_requests = blocked
    return ctx


@pytest.fixture(scope="session")
def browser_context(chromium_browser):
    """A 1366×768 context with a fresh profile; only local requests pass."""
    ctx = local_context(chromium_browser)
    yield ctx
    ctx.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def data_scale(root: Path) -> str:
    """"province" for a province-sized registry (≥ 10,000 units), else "county"."""
    try:
        import pyarrow.parquet as pq

        n = pq.ParquetFile(Path(root) / "data" / "processed" / "units.parquet").metadata.num_rows
    except Exception:  # noqa: BLE001
        return "county"
    return "province" if n >= 10_000 else "county"


@pytest.fixture(scope="session")
def timings(dashboard_root):
    """Collects browser timings; merged into benchmarks/dashboard_timings.json
    under the data scale ("county" / "province"), read by bench_dashboard.py."""
    rec: dict = {}
    yield rec
    if rec:
        out = REPO / "benchmarks" / "dashboard_timings.json"
        out.parent.mkdir(exist_ok=True)
        allrec = {}
        if out.is_file():
            try:
                allrec = json.loads(out.read_text(encoding="utf-8"))
            except ValueError:
                allrec = {}
        scale = data_scale(dashboard_root)
        prev = dict(allrec.get(scale, {}))
        prev.update(rec)
        prev["load_avg_1min"] = round(os.getloadavg()[0], 2)  # the machine is shared: context for the numbers
        prev["recorded_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        allrec = {k: v for k, v in allrec.items() if isinstance(v, dict)}
        allrec[scale] = prev
        tmp = out.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(allrec, ensure_ascii=False, indent=2), encoding="utf-8")
        tmp.replace(out)
