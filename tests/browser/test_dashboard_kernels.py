"""The dashboard's kernels on a running server: no viewer loses their kernel
before the page has connected, and the preheated pool is sized by
configuration and refilled one kernel at a time (qlwork.serve.voila_app).

The stuck-viewer bug these tests pin down: a pool kernel last worked when it
was filled, so when a viewer took it minutes later the idle culler found it
"idle" longer than ``cull_idle_timeout`` and shut it down at its next round,
before the viewer's page had loaded and connected: the page stayed at
"Loading widget…" (one of five same-second viewers in about one CI run in
three; with the real settings, 900 s / 60 s, the first viewer of a meeting
whose server was started a quarter of an hour before).  The same happened to
a freshly started kernel whose page took longer than the timeout to load on a
busy machine.  Before the fix, step 2 below failed every time (culled within
one interval).
"""
from __future__ import annotations

import base64
import http.client
import json
import os
import re
import secrets
import socket
import time
from urllib.parse import urlparse

import pytest

from . import dashboard_server as ds

pytestmark = pytest.mark.browser
TIMEOUT_S = 4  # cull_idle_timeout for the test
INTERVAL_S = 1
GRACE_S = 10


def _get_page(base: str) -> str:
    """Open the page as a browser's first request does (no websocket yet);
    return the kernel id it was given."""
    u = urlparse(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
    conn.request("GET", "/voila/render/review.ipynb")
    html = conn.getresponse().read()
    conn.close()
    m = re.search(rb'id="jupyter-config-data"[^>]*>(.*?)</script>', html, re.S)
    return json.loads(m.group(1))["kernelId"]


def _connect(base: str, kid: str) -> socket.socket:
    """A websocket to the kernel, as the page opens it (kept open, never read)."""
    u = urlparse(base)
    s = socket.create_connection((u.hostname, u.port), timeout=30)
    key = base64.b64encode(secrets.token_bytes(16)).decode()
    s.sendall((f"GET /api/kernels/{kid}/channels?session_id={secrets.token_hex(8)} HTTP/1.1\r\n"
               f"Host: {u.hostname}:{u.port}\r\nOrigin: {base}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = s.recv(4096)
    assert head.startswith(b"HTTP/1.1 101"), head[:200]
    return s


def _culled(srv, kid: str) -> bool:
    return bool(re.search(rf"Culling '\w+' kernel '\w+' \({kid}\)", srv.log_text()))


def _wait(cond, timeout: float) -> float:
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout:
            return float("inf")
        time.sleep(0.2)
    return time.monotonic() - t0


@pytest.fixture(scope="module")
def culling_server(dashboard_root, tmp_path_factory):
    srv = ds.start(tmp_path_factory.mktemp("kernels"), dict(os.environ, QLWORK_ROOT=str(dashboard_root)),
                   host="127.0.0.1", extra=[f"--MappingKernelManager.cull_idle_timeout={TIMEOUT_S}",
                                            f"--MappingKernelManager.cull_interval={INTERVAL_S}",
                                            f"--DashboardKernelManager.connect_grace={GRACE_S}"])
    yield srv
    srv.stop()


def test_a_handed_out_kernel_waits_for_its_viewer(culling_server):
    srv = culling_server
    # 1. the pool kernel idles longer than the timeout: the pool is never culled
    time.sleep(TIMEOUT_S + 3 * INTERVAL_S)
    assert "Culling '" not in srv.log_text()
    # 2. a viewer takes it; their page has not connected yet (a slow laptop, a busy server)
    kid = _get_page(srv.base)
    assert f"Using pre-heated kernel: {kid}" in srv.log_text()
    time.sleep(TIMEOUT_S + 3 * INTERVAL_S)
    assert not _culled(srv, kid), "handed-out kernel culled before its page connected"
    # 3. the page connects, stays as long as it likes (an open tab is never culled) and leaves
    ws = _connect(srv.base, kid)
    time.sleep(TIMEOUT_S + 3 * INTERVAL_S)
    assert not _culled(srv, kid)
    ws.close()
    # ...then the ordinary idle rule applies again
    assert _wait(lambda: _culled(srv, kid), TIMEOUT_S + 4 * INTERVAL_S + 5) < float("inf"), srv.log_text()[-2000:]


def test_a_viewer_who_never_connects_is_culled_after_the_grace(culling_server):
    srv = culling_server
    _wait(lambda: srv.log_text().count("is filled with") >= 2, 120)  # the refilled pool kernel
    kid = _get_page(srv.base)
    t0 = time.monotonic()
    waited = _wait(lambda: _culled(srv, kid), GRACE_S + TIMEOUT_S + 10)
    assert waited < float("inf"), srv.log_text()[-2000:]
    assert GRACE_S - 1 <= time.monotonic() - t0 <= GRACE_S + 4 * INTERVAL_S + 4


def test_pool_size_from_the_command_and_one_start_at_a_time(dashboard_root, tmp_path_factory):
    """``--pool 2``: two preheated kernels; with ``kernel_start_concurrency=1``
    started one after the other (each start executes the dashboard, 2–3
    CPU-seconds; Voilà starts them all at once, which is what slowed everyone
    when a pool refilled; the default is one at a time per core)."""
    srv = ds.start(tmp_path_factory.mktemp("pool"), dict(os.environ, QLWORK_ROOT=str(dashboard_root)),
                   host="127.0.0.1", args=["--pool", "2"], wait_pool=False,
                   extra=["--DashboardKernelManager.kernel_start_concurrency=1"])
    try:
        seen: dict[str, float] = {}
        t0 = time.monotonic()
        while "is filled with 2 kernel(s)" not in srv.log_text():
            for k in re.findall(r"Kernel started: ([0-9a-f-]+)", srv.log_text()):
                seen.setdefault(k, time.monotonic() - t0)
            assert time.monotonic() - t0 < 180, srv.log_text()[-2000:]
            time.sleep(0.05)
        for k in re.findall(r"Kernel started: ([0-9a-f-]+)", srv.log_text()):
            seen.setdefault(k, time.monotonic() - t0)
        assert len(seen) == 2 and len(srv.kernels()) == 2
        # the next kernel starts only once the previous one has executed the dashboard: in the
        # server log, "executed" of the first comes before "Kernel started" of the second
        log = srv.log_text()
        first, second = sorted(seen, key=seen.get)
        executed = log.find(f"Pool kernel executed the dashboard: {first}")
        assert executed >= 0, log[-2000:]
        assert executed < log.find(f"Kernel started: {second}"), log[-2000:]
    finally:
        srv.stop()
