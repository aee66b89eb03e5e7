"""A meeting room on one machine: N viewers open the dashboard at once.

Twenty headless Chromium pages on the 2-core server would measure Chromium,
not the server: one page load costs 3–5 CPU-seconds of browser work
(JupyterLab's bundles, widget rendering), which in the room is done by each
viewer's own laptop.  So most viewers here are *protocol viewers*: they make
the requests a browser makes — the page (with the token), the ≈95 script
files a real page load fetched (recorded from the first probe), the kernel
model, the kernel websocket (Jupyter's v1 binary protocol), ``kernel_info``,
and the widget manager's ``request_states`` on the ``jupyter.widget.control``
comm — and their "first table" is the moment the ranking table's widget
state (rows with ``data-unit``) has arrived, i.e. what a browser needs to
draw it.  One or two real Chromium *probes* arrive with them: the first one
moves a weight slider again and again while the others are loading (slider →
re-ranked table on screen); the last to arrive measures a real page at the
back of the queue.  A viewer that never gets its table is reported as stuck.

Used by bench_dashboard.py (rows for 5, 10 and 20 viewers).
"""
from __future__ import annotations

import asyncio
import datetime
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PAGE = "/voila/render/review.ipynb"
CHROMIUM = os.environ.get("QLWORK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WS_PROTOCOL = "v1.kernel.websocket.jupyter.org"


# ------------------------------------------------------------------ the server
@dataclass
class Server:
    base: str
    port: int
    proc: subprocess.Popen
    log: Path
    token: str = ""

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def tree(self):
        import psutil

        try:
            top = psutil.Process(self.proc.pid)
            return [top, *top.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # only the group this module started
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(root: Path, logdir: Path, pool: int, extra=(), timeout: float = 600) -> Server:
    """``qlwork dashboard --login --pool N`` on loopback (a room's server,
    reached on 127.0.0.1), waiting until its pool is full."""
    port = _free_port()
    log = logdir / f"server_{port}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("QLWORK_DASHBOARD_")}
    env.update(QLWORK_ROOT=str(root), MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
    with open(log, "wb") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "qlwork", "dashboard", "--port", str(port), "--login",
                                 "--pool", str(pool), "--no-qr", *(["--", *extra] if extra else [])],
                                cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    srv = Server(f"http://127.0.0.1:{port}", port, proc, log)
    t0 = time.time()
    want = f"is filled with {pool} kernel(s)" if pool else "Voilà is running at"
    while want not in srv.text():
        if proc.poll() is not None or time.time() - t0 > timeout:
            srv.stop()
            raise RuntimeError(f"dashboard server did not get ready:\n{srv.text()[-3000:]}")
        time.sleep(0.3)
    m = re.search(r"[?&]token=([A-Za-z0-9_.~-]+)", srv.text())
    srv.token = m.group(1) if m else ""
    return srv


# ------------------------------------------------------------------ memory and CPU
class Sampler(threading.Thread):
    """Peak memory of the server's process tree (sum of RSS and of PSS, the
    latter counting shared pages once) and the largest kernel, every 0.5 s."""

    def __init__(self, srv: Server, every: float = 0.5):
        super().__init__(daemon=True)
        self.srv, self.every = srv, every
        self.peak_rss = self.peak_pss = self.peak_kernel_pss = 0.0
        self.peak_kernels = 0
        self._cpu: dict[int, tuple[str, float, float]] = {}  # pid -> (kind, first seen, last seen)
        self._halt = threading.Event()

    def cpu_seconds(self) -> dict:
        """CPU-seconds used while sampling by Voilà ("server") and the kernels,
        exited kernels included (their last sample)."""
        out = {"server": 0.0, "kernels": 0.0}
        for kind, a, b in self._cpu.values():
            out[kind] += b - a
        return out

    def run(self):
        while not self._halt.is_set():
            rss = pss = 0.0
            kernels = []
            for p in self.srv.tree():
                try:
                    t = p.cpu_times()
                    kind = "kernels" if any("ipykernel" in a for a in p.cmdline()) else "server"
                    first = self._cpu.get(p.pid, (kind, t.user + t.system, 0.0))[1]
                    self._cpu[p.pid] = (kind, first, t.user + t.system)
                    m = p.memory_full_info()
                    rss += m.rss / 2**20
                    pss += m.pss / 2**20
                    if any("ipykernel" in a for a in p.cmdline()):
                        kernels.append(m.pss / 2**20)
                except Exception:  # noqa: BLE001 — a process exiting while we look
                    pass
            self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)
            self.peak_kernel_pss = max([self.peak_kernel_pss, *kernels])
            self.peak_kernels = max(self.peak_kernels, len(kernels))
            self._halt.wait(self.every)

    def stop(self):
        self._halt.set()
        self.join(5)


# ------------------------------------------------------------------ protocol viewer
def _v1(channel: str, parts: list[bytes]) -> bytes:
    from jupyter_server.services.kernels.connection.base import serialize_msg_to_ws_v1

    return serialize_msg_to_ws_v1(parts, channel)


def _msg(session: str, msg_type: str, content: dict, metadata: dict | None = None) -> tuple[str, list[bytes]]:
    mid = uuid.uuid4().hex
    header = {"msg_id": mid, "msg_type": msg_type, "session": session, "username": "viewer",
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(), "version": "5.3"}
    parts = [json.dumps(x).encode() for x in (header, {}, metadata or {}, content)]
    return mid, parts


@dataclass
class ViewerResult:
    name: str
    arrived: float = float("nan")     # seconds after the burst started
    page_s: float = float("nan")      # arrival → page fully received
    table_s: float = float("nan")     # arrival → ranking table available (state or screen)
    kernel_id: str = ""
    error: str = ""
    slider_s: list = field(default_factory=list)
    phases: dict = field(default_factory=dict)  # protocol viewers: seconds after arrival at each step

    @property
    def stuck(self) -> bool:
        return not (self.table_s == self.table_s)  # NaN: never got its table


class ProtocolViewer:
    """One viewer's network conversation with the server (see module docstring)."""

    def __init__(self, name: str, srv: Server, assets: list[str], client):
        self.name, self.srv, self.assets, self.http = name, srv, assets, client
        self.cookies: dict[str, str] = {}
        self.ws = None
        self.result = ViewerResult(name)

    def _cookie_header(self) -> dict:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}

    async def _get(self, path: str, **kw):
        from tornado.httpclient import HTTPRequest

        r = await self.http.fetch(HTTPRequest(self.srv.base + path, headers=self._cookie_header(),
                                              request_timeout=600, **kw), raise_error=False)
        for sc in r.headers.get_list("Set-Cookie"):
            c = SimpleCookie()
            c.load(sc)
            self.cookies.update({k: m.value for k, m in c.items()})
        return r

    async def run(self, t0: float, timeout: float) -> ViewerResult:
        res = self.result
        res.arrived = time.perf_counter() - t0
        start = time.perf_counter()
        try:
            r = await self._get(f"{PAGE}?token={self.srv.token}")
            if r.code != 200:
                raise RuntimeError(f"page: HTTP {r.code}")
            res.page_s = time.perf_counter() - start
            m = re.search(rb'id="jupyter-config-data"[^>]*>(.*?)</script>', r.body, re.S)
            res.kernel_id = kid = json.loads(m.group(1))["kernelId"]
            sem = asyncio.Semaphore(6)  # a browser's connections per host

            async def fetch(path):
                async with sem:
                    await self._get(path)

            await asyncio.gather(*(fetch(a) for a in self.assets))
            res.phases["assets"] = round(time.perf_counter() - start, 3)
            await self._get(f"/api/kernels/{kid}")
            await asyncio.wait_for(self._widgets(kid, start), timeout)
            res.table_s = time.perf_counter() - start
        except Exception as e:  # noqa: BLE001 — reported as a stuck viewer with the reason
            res.error = f"{type(e).__name__}: {e}"[:300]
        return res

    async def _widgets(self, kid: str, start: float) -> None:
        from jupyter_server.services.kernels.connection.base import deserialize_msg_from_ws_v1
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        ws_url = self.srv.base.replace("http://", "ws://") + f"/api/kernels/{kid}/channels?session_id={uuid.uuid4()}"
        self.ws = await websocket_connect(
            HTTPRequest(ws_url, headers={**self._cookie_header(), "Origin": self.srv.base}),
            subprotocols=[WS_PROTOCOL], max_message_size=256 * 2**20)
        session = uuid.uuid4().hex
        self.result.phases["websocket"] = round(time.perf_counter() - start, 3)

        async def until(pred):
            while True:
                raw = await self.ws.read_message()
                if raw is None:
                    raise RuntimeError("websocket closed")
                channel, parts = deserialize_msg_from_ws_v1(raw)
                header, parent, _meta, content = (json.loads(p) for p in parts[:4])
                if pred(channel, header, parent, content):
                    return content

        mid, parts = _msg(session, "kernel_info_request", {})
        await self.ws.write_message(_v1("shell", parts), binary=True)
        await until(lambda ch, h, p, c: h["msg_type"] == "kernel_info_reply" and p.get("msg_id") == mid)
        self.result.phases["kernel_info"] = round(time.perf_counter() - start, 3)
        comm = uuid.uuid4().hex
        _, parts = _msg(session, "comm_open", {"comm_id": comm, "target_name": "jupyter.widget.control",
                                               "data": {}}, {"version": "1.0.0"})
        await self.ws.write_message(_v1("shell", parts), binary=True)
        _, parts = _msg(session, "comm_msg", {"comm_id": comm, "data": {"method": "request_states"}})
        await self.ws.write_message(_v1("shell", parts), binary=True)
        content = await until(lambda ch, h, p, c: h["msg_type"] == "comm_msg" and c.get("comm_id") == comm)
        states = content["data"].get("states", {})
        tables = [s["state"] for s in states.values()
                  if "qlw-rank-table" in (s["state"].get("_dom_classes") or ())]
        if not tables or "data-unit" not in (tables[0].get("value") or ""):
            raise RuntimeError("the widget state has no ranking table")
        _, parts = _msg(session, "comm_close", {"comm_id": comm, "data": {}})
        await self.ws.write_message(_v1("shell", parts), binary=True)

    async def leave(self) -> None:
        """Close the tab: Voilà's beacon (with the _xsrf token) and the websocket."""
        from tornado.httpclient import HTTPRequest

        if self.result.kernel_id and "_xsrf" in self.cookies:
            body = f"_xsrf={self.cookies['_xsrf']}"
            await self.http.fetch(HTTPRequest(
                f"{self.srv.base}/voila/api/shutdown/{self.result.kernel_id}", method="POST", body=body,
                headers={**self._cookie_header(), "Origin": self.srv.base,
                         "Content-Type": "application/x-www-form-urlencoded"}), raise_error=False)
        if self.ws is not None:
            self.ws.close()


# ------------------------------------------------------------------ real browsers
MARK_JS = """
(() => {
  const mark = () => {
    if (!window.__qlwTable && document.querySelector('.qlw-rank-table tr[data-unit]'))
      window.__qlwTable = performance.now();
  };
  new MutationObserver(mark).observe(document, {subtree: true, childList: true});
})();
"""


def record_assets(srv: Server) -> list[str]:
    """The script and style files one real page load fetches (replayed by the
    protocol viewers); the page's kernel is shut down afterwards."""
    from playwright.sync_api import sync_playwright

    paths: list[str] = []
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        ctx = b.new_context()
        page = ctx.new_page()
        page.on("requestfinished", lambda r: paths.append(r.url))
        page.goto(f"{srv.base}{PAGE}?token={srv.token}", wait_until="domcontentloaded", timeout=300_000)
        page.wait_for_selector(".qlw-rank-table tr[data-unit]", timeout=300_000)
        page.wait_for_timeout(1500)
        page.close(run_before_unload=True)
        ctx.close()
        b.close()
    out = []
    for u in paths:
        p = u[len(srv.base):] if u.startswith(srv.base) else ""
        if p.startswith(("/voila/static/", "/voila/labextensions/", "/voila/templates/", "/voila/api/themes")):
            out.append(p)
    return list(dict.fromkeys(out))


def _set_slider(page, node: str, value: float) -> None:
    box = page.locator(f".qlw-w-{node} .widget-readout")
    box.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(f"{value:.3f}")
    page.keyboard.press("Enter")


def _seq(page, table: str) -> int:
    return int(page.locator(f"table.{table}").first.get_attribute("data-seq"))


class Probe(threading.Thread):
    """A real Chromium viewer, launched before the meeting starts; after
    ``go`` (+ ``delay`` seconds) it opens the page.  With ``node`` it then
    moves that level-1 weight slider (alternating values) until ``until`` is
    set, timing each slider edit → re-ranked weights table on screen."""

    def __init__(self, srv: Server, res: ViewerResult, *, delay: float = 0.0, node: str | None = None,
                 until: threading.Event, timeout: float = 300.0):
        super().__init__(daemon=True)
        self.srv, self.res, self.delay, self.node, self.until, self.timeout = srv, res, delay, node, until, timeout
        self.ready, self.go = threading.Event(), threading.Event()
        self.t0 = 0.0

    def run(self):
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            ctx = b.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
            ctx.add_init_script(MARK_JS)
            page = ctx.new_page()
            self.ready.set()
            self.go.wait()
            time.sleep(self.delay)
            try:
                self._view(page)
            except Exception as e:  # noqa: BLE001
                self.res.error = f"{type(e).__name__}: {e}"[:300]
            finally:
                try:
                    page.close(run_before_unload=True)
                except Exception:  # noqa: BLE001
                    pass
                ctx.close()
                b.close()

    def _view(self, page):
        res, ms = self.res, int(self.timeout * 1000)
        res.arrived = time.perf_counter() - self.t0
        page.goto(f"{self.srv.base}{PAGE}?token={self.srv.token}", wait_until="commit", timeout=ms)
        page.wait_for_function("() => window.__qlwTable || (document.querySelector("
                               "'.qlw-rank-table tr[data-unit]') && (window.__qlwTable = performance.now()))",
                               timeout=ms)
        res.table_s = page.evaluate("window.__qlwTable") / 1000  # from navigation start, in the page
        res.kernel_id = page.evaluate("JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId")
        if not self.node:
            self.until.wait(self.timeout)
            return
        page.locator(".lm-TabBar-tab", has_text="权重模拟").first.click()
        page.wait_for_selector("table.qlw-wrank tr[data-unit]", timeout=120_000)
        values, i = (0.55, 0.10), 0
        while (not self.until.is_set() or i < 2) and i < 200:
            before = _seq(page, "qlw-wrank")
            t1 = time.perf_counter()
            _set_slider(page, self.node, values[i % 2])
            page.wait_for_function("([cls, n]) => { const t = document.querySelector('table.' + cls);"
                                   " return t && Number(t.dataset.seq) > n; }", arg=["qlw-wrank", before],
                                   timeout=120_000)
            res.slider_s.append(round(time.perf_counter() - t1, 3))
            i += 1
            page.wait_for_timeout(700)


# ------------------------------------------------------------------ the meeting
async def _protocol_viewers(srv, assets, n, t0, spread_s, timeout, hold: threading.Event, box: dict):
    from tornado.httpclient import AsyncHTTPClient

    client = AsyncHTTPClient(force_instance=True, max_clients=max(10, 8 * n))
    viewers = [ProtocolViewer(f"p{i}", srv, assets, client) for i in range(n)]

    async def one(i, v):
        await asyncio.sleep(spread_s * (i + 1) / (n + 1))  # between the two browsers
        return await v.run(t0, timeout)

    box["r"] = await asyncio.gather(*(one(i, v) for i, v in enumerate(viewers)))
    while not hold.is_set():  # the room stays until the probes are done
        await asyncio.sleep(0.2)
    await asyncio.gather(*(v.leave() for v in viewers))
    client.close()


def meeting(srv: Server, n: int, node: str, *, spread_s: float = 1.0, probes: int = 2,
            timeout: float = 300.0) -> dict:
    """``n`` viewers arrive within ``spread_s`` seconds: ``probes`` real
    Chromium pages (the first arrival moves a slider, the last arrives at the
    end of the spread) and ``n - probes`` protocol viewers in between."""
    assets = record_assets(srv)
    time.sleep(2)  # the pool refills after the recording page
    _wait_pool(srv)
    done_loading, leave = threading.Event(), threading.Event()
    first, last = ViewerResult("browser-first"), ViewerResult("browser-last")
    probes_ = [Probe(srv, first, node=node, until=done_loading, timeout=timeout)]
    if probes > 1:
        probes_.append(Probe(srv, last, delay=spread_s, until=leave, timeout=timeout))
    for p in probes_:
        p.start()
    for p in probes_:
        p.ready.wait(120)
    sampler = Sampler(srv)
    sampler.start()
    time.sleep(1.0)
    own0 = time.process_time()  # the load generator's own CPU (it shares the 2 cores with the server)
    t0 = time.perf_counter()
    for p in probes_:
        p.t0 = t0
        p.go.set()
    n_proto = max(0, n - probes)
    box: dict = {}
    pt = threading.Thread(target=lambda: asyncio.run(
        _protocol_viewers(srv, assets, n_proto, t0, spread_s, timeout, leave, box)), daemon=True)
    pt.start()

    def settled(v: ViewerResult) -> bool:
        return not v.stuck or bool(v.error)

    # until every viewer has its first table (or gave up)
    deadline = time.perf_counter() + timeout + 30
    while time.perf_counter() < deadline:
        if ("r" in box or not pt.is_alive()) and settled(first) and (probes < 2 or settled(last)):
            break
        time.sleep(0.2)
    all_loaded = time.perf_counter() - t0
    done_loading.set()
    probes_[0].join(60)
    leave.set()
    for p in probes_[1:]:
        p.join(60)
    pt.join(120)
    time.sleep(1.0)
    sampler.stop()
    cpu = sampler.cpu_seconds()
    own = time.process_time() - own0
    proto = box.get("r", [])
    everyone = [first, *proto] + ([last] if probes > 1 else [])
    tables = [v.table_s for v in everyone if not v.stuck]
    return {
        "n": n, "spread_s": spread_s, "probes": probes, "all_loaded_s": round(all_loaded, 3),
        "table_s": sorted(round(x, 3) for x in tables),
        "slowest_table_s": round(max(tables), 3) if tables else None,
        "median_table_s": round(sorted(tables)[len(tables) // 2], 3) if tables else None,
        "browser_first_table_s": round(first.table_s, 3), "browser_last_table_s": round(last.table_s, 3),
        "browser_last_arrived_s": round(last.arrived, 3),
        "slider_s": first.slider_s, "slider_max_s": max(first.slider_s) if first.slider_s else None,
        "stuck": [f"{v.name}: {v.error or 'no table'}" for v in everyone if v.stuck],
        "distinct_kernels": len({v.kernel_id for v in everyone if v.kernel_id}),
        "peak_rss_mb": round(sampler.peak_rss, 1), "peak_pss_mb": round(sampler.peak_pss, 1),
        "peak_kernel_pss_mb": round(sampler.peak_kernel_pss, 1), "peak_kernels": sampler.peak_kernels,
        "cpu_server_s": round(cpu["server"], 1), "cpu_kernels_s": round(cpu["kernels"], 1),
        "cpu_load_generator_s": round(own, 1),
        "assets": len(assets), "load_avg_1min": round(os.getloadavg()[0], 2),
        "viewers": [{"name": v.name, "arrived": round(v.arrived, 2), "page": round(v.page_s, 2),
                     "table": round(v.table_s, 2), **v.phases} for v in everyone],
    }


def _wait_pool(srv: Server, timeout: float = 600) -> None:
    """Until the preheated pool is full again (the last "filled" line after the last hand-over)."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        txt = srv.text()
        if txt.rfind("is filled with") > txt.rfind("Using pre-heated kernel"):
            return
        time.sleep(0.3)


def demo_root(workdir: Path) -> Path:
    """The project's processed data when present (``make data``), else a fresh
    county demo (demo → ingest → survey for each period → the official result
    of every period) in ``workdir``."""
    proj = ROOT / "data" / "processed" / "values.parquet"
    if proj.is_file() and not os.environ.get("QLWORK_BENCH_FRESH"):
        return ROOT
    root = workdir / "room_demo"
    env = dict(os.environ, QLWORK_ROOT=str(root), MPLBACKEND="Agg")
    (root / "data" / "raw").mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").touch()
    q = [sys.executable, "-m", "qlwork"]
    subprocess.run([*q, "demo", "--out", str(root / "data" / "raw")], env=env, check=True, capture_output=True)
    subprocess.run([*q, "ingest", "--exclude-invalid"], env=env, check=True, capture_output=True, cwd=root)
    import pandas as pd

    periods = sorted(pd.read_parquet(root / "data" / "processed" / "values.parquet",
                                     columns=["period"])["period"].astype(str).unique())
    for p in periods:
        subprocess.run([*q, "survey", "--period", p], env=env, check=True, capture_output=True, cwd=root)
    subprocess.run([*q, "score", "--period", "all"], env=env, check=True, capture_output=True, cwd=root)
    return root


def level1_node(root: Path) -> str:
    from qlwork.framework import load_framework

    raw = root / "data" / "raw" / "framework_county.yaml"
    return load_framework(raw if raw.is_file() else "county").level1[0]


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="N viewers open the dashboard at once")
    ap.add_argument("-n", type=int, default=20)
    ap.add_argument("--pool", type=int, default=None, help="preheated kernels [n]")
    ap.add_argument("--spread", type=float, default=1.0, help="arrivals within this many seconds")
    ap.add_argument("--probes", type=int, default=2)
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="qlwork_room_") as td:
        root = demo_root(Path(td))
        srv = start_server(root, Path(td), a.n if a.pool is None else a.pool)
        try:
            print(json.dumps(meeting(srv, a.n, level1_node(root), spread_s=a.spread, probes=a.probes),
                             ensure_ascii=False, indent=1))
        finally:
            srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
