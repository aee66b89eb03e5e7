"""Who may open the dashboard, proved on a running server (issue 18).

`qlwork dashboard --login` on loopback (the login a meeting room always gets,
without exposing the test machine) on the county demo:

* without the token, or with a wrong one, no page and no API: the render page
  redirects to the Chinese login form, APIs and kernel websockets answer 403;
  the right token (in the link, or typed into the form) gets the page;
* XSRF protection is on, and closing a tab still stops its kernel: the render
  page sets the ``_xsrf`` cookie (voila#1458); a cross-site POST to the
  shutdown route, one without the XSRF token and one without the login are
  refused and the kernel lives on; the page's own request stops it; in
  Chromium, closing the tab stops the kernel;
* Host allow-list (DNS rebinding) on every route, websockets included, and
  the kernel websocket accepts this origin only;
* the room (``--host 0.0.0.0``): the printed link carries a generated token,
  the machine's address answers only with it, ``--allow-host`` adds a name.
"""
from __future__ import annotations

import base64
import http.client
import json
import os
import re
import secrets
import time
from http.cookies import SimpleCookie
from urllib.parse import urlparse, urlsplit

import pytest

from . import dashboard_server as ds
from .conftest import CHROMIUM, CHROMIUM_ARGS, local_only

pytestmark = pytest.mark.browser
TIMEOUT = 120_000
PAGE = "/voila/render/review.ipynb"


@pytest.fixture(scope="module")
def login_server(dashboard_root, tmp_path_factory):
    env = {k: v for k, v in os.environ.items() if not k.startswith("QLWORK_DASHBOARD_")}
    srv = ds.start(tmp_path_factory.mktemp("access"), dict(env, QLWORK_ROOT=str(dashboard_root)),
                   host="127.0.0.1", args=["--login"])
    assert len(srv.token()) >= 32, srv.log_text()[-2000:]
    yield srv
    srv.stop()


class Client:
    """A small HTTP client that keeps cookies and sends raw paths and headers."""

    def __init__(self, base: str):
        u = urlparse(base)
        self.host, self.port = u.hostname, u.port
        self.origin = f"http://{u.hostname}:{u.port}"
        self.cookies: dict[str, str] = {}

    def request(self, method, path, *, headers=None, body=None, cookies=True):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        h = dict(headers or {})
        if cookies and self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        for sc in (r.headers.get_all("Set-Cookie") or []) if cookies else []:
            c = SimpleCookie()
            c.load(sc)
            for k, m in c.items():
                self.cookies[k] = m.value
        conn.close()
        return r, data

    def form(self, path, fields: dict, *, headers=None, cookies=True):
        body = "&".join(f"{k}={v}" for k, v in fields.items())
        h = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        return self.request("POST", path, headers=h, body=body, cookies=cookies)

    def ws_status(self, path, origin=None, host=None) -> int:
        h = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
             "Sec-WebSocket-Key": base64.b64encode(secrets.token_bytes(16)).decode()}
        if origin:
            h["Origin"] = origin
        if host:
            h["Host"] = host
        r, _ = self.request("GET", path, headers=h)
        return r.status


def kernel_id(html: bytes) -> str:
    m = re.search(rb'id="jupyter-config-data"[^>]*>(.*?)</script>', html, re.S)
    return json.loads(m.group(1))["kernelId"]


def _kernel_running(srv, kid: str) -> bool:
    return f"Kernel shutdown: {kid}" not in srv.log_text()


@pytest.fixture(scope="module")
def viewer(login_server):
    """A viewer who opened the shared link (token in the URL)."""
    c = Client(login_server.base)
    r, html = c.request("GET", f"{PAGE}?token={login_server.token()}")
    assert r.status == 200, html[:500]
    return c, kernel_id(html), html


# ------------------------------------------------------------------ login
def test_without_the_token_nothing_is_served(login_server):
    c = Client(login_server.base)
    r, body = c.request("GET", PAGE)
    assert r.status == 302 and r.headers["Location"].startswith("/login?next=")
    assert b"kernelId" not in body
    for path in (f"{PAGE}?token=wrong", f"{PAGE}?token={login_server.token()[:-1]}",
                 f"{PAGE}?token={login_server.token()}x"):
        r, body = c.request("GET", path)
        assert r.status == 302 and b"kernelId" not in body, path
    for path in ("/voila/api/contents", "/api/kernels/0b6f2a4e-9c1d-4e8a-a0c3-5d7e9f1b2c3d", "/voila/tree"):
        r, body = c.request("GET", path)
        assert r.status in (302, 403), (path, r.status)
        assert b"review.ipynb" not in body
    assert c.ws_status("/api/kernels/0b6f2a4e-9c1d-4e8a-a0c3-5d7e9f1b2c3d/channels", origin=c.origin) == 403
    r, _ = c.request("GET", PAGE, headers={"Authorization": "token wrong"})
    assert r.status == 302


def test_the_right_token_gets_the_page(viewer):
    c, kid, html = viewer
    assert re.fullmatch(r"[0-9a-f-]{36}", kid)
    assert b"application/vnd.jupyter.widget-view+json" in html
    assert any(k.startswith("username-") for k in c.cookies)  # logged in for the rest of the meeting
    assert "_xsrf" in c.cookies  # what the page-close request needs (voila#1458)
    r, html2 = c.request("GET", "/voila/api/contents")  # the cookie alone now suffices
    assert r.status == 200 and b"review.ipynb" in html2


def test_login_form_in_chinese(login_server):
    c = Client(login_server.base)
    r, form = c.request("GET", f"/login?next={PAGE}")
    assert r.status == 200
    text = form.decode()
    assert "评审看板" in text and "口令" in text and 'name="_xsrf"' in text
    xsrf = c.cookies["_xsrf"]
    r, body = c.form(f"/login?next={PAGE}", {"_xsrf": xsrf, "password": "not-the-token"})
    assert r.status == 401 and "口令或密码不正确" in body.decode()
    assert not any(k.startswith("username-") for k in c.cookies)
    r, body = c.form(f"/login?next={PAGE}", {"password": login_server.token()}, cookies=False)
    assert r.status == 403  # the form itself is XSRF-protected
    r, _ = c.form(f"/login?next={PAGE}", {"_xsrf": xsrf, "password": login_server.token()})
    assert r.status == 302 and r.headers["Location"] == PAGE
    assert any(k.startswith("username-") for k in c.cookies)
    # an open redirect is not offered
    r, _ = c.form("/login?next=http://evil.example/", {"_xsrf": xsrf, "password": login_server.token()})
    assert r.status == 302 and "evil" not in r.headers["Location"]


# ------------------------------------------------------------------ Host and Origin
def test_host_allow_list_on_every_route(login_server, viewer):
    c, kid, _ = viewer
    tok = login_server.token()
    routes = ["/", "/login", f"{PAGE}?token={tok}", "/voila/static/voila.js", "/voila/api/contents",
              f"/api/kernels/{kid}"]
    for bad in ("evil.example", f"evil.example:{login_server.port}", f"0.0.0.0:{login_server.port}",
                f"localhost.evil.example:{login_server.port}"):
        for path in routes:
            r, body = c.request("GET", path, headers={"Host": bad})
            assert r.status == 403, (bad, path, r.status)
            assert b"kernelId" not in body and b"review.ipynb" not in body
        assert c.ws_status(f"/api/kernels/{kid}/channels", origin=f"http://{bad}", host=bad) == 403
    for good in (f"localhost:{login_server.port}", f"127.0.0.1:{login_server.port}"):
        r, _ = c.request("GET", f"/voila/api/contents?token={tok}", headers={"Host": good})
        assert r.status == 200, good
    assert "refused" in login_server.log_text() and "Host not allowed" in login_server.log_text()


def test_kernel_websocket_accepts_this_origin_only(viewer):
    c, kid, _ = viewer
    ws = f"/api/kernels/{kid}/channels"
    for other in ("http://evil.example", "http://127.0.0.1:1", "null", f"http://{c.host}:{c.port}.evil.example",
                  f"http://localhost:{c.port}"):  # localhost is allowed, but it is not *this* origin
        assert c.ws_status(ws, origin=other) == 403, other
    assert c.ws_status(ws, origin=c.origin) == 101
    # Voilà's unauthenticated request-info socket (it would hand out the viewer's URL, token
    # included, to anyone naming the kernel) is not served: the dashboard does not use it
    assert c.ws_status(f"/voila/query/{kid}", origin=c.origin) == 404


# ------------------------------------------------------------------ XSRF and the shutdown route
def test_shutdown_route_refuses_cross_site_and_tokenless_requests(login_server, viewer):
    c, kid, _ = viewer
    path = f"/voila/api/shutdown/{kid}"
    xsrf = c.cookies["_xsrf"]
    # another site's page posting the form (it cannot read the cookie, but try with it anyway)
    r, _ = c.form(path, {"_xsrf": xsrf}, headers={"Origin": "http://evil.example",
                                                  "Referer": "http://evil.example/x"})
    assert r.status == 403
    # same origin, logged in, but no XSRF token (what Voilà's page sent before the fix)
    r, body = c.form(path, {}, headers={"Origin": c.origin})
    assert r.status == 403 and b"_xsrf" in body
    # a forged token
    r, _ = c.form(path, {"_xsrf": "2|00000000|" + "0" * 32 + "|1"}, headers={"Origin": c.origin})
    assert r.status == 403
    # the XSRF token without the login
    anon = Client(login_server.base)
    anon.cookies["_xsrf"] = xsrf
    r, _ = anon.form(path, {"_xsrf": xsrf}, headers={"Origin": c.origin})
    assert r.status == 403
    time.sleep(0.5)
    assert _kernel_running(login_server, kid)
    # the page's own request: login cookie, _xsrf cookie and the same value in the form
    r, _ = c.form(path, {"_xsrf": xsrf}, headers={"Origin": c.origin})
    assert r.status == 204
    deadline = time.time() + 30
    while _kernel_running(login_server, kid) and time.time() < deadline:
        time.sleep(0.2)
    assert not _kernel_running(login_server, kid)


def _close_tab_scenario(srv) -> tuple[str, dict]:
    """Runs in its own thread: the sync Playwright API cannot start a second
    driver in the thread that holds the session's browser (conftest)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        ctx = browser.new_context(viewport={"width": 1366, "height": 768})
        ctx.route("**/*", local_only([]))
        page = ctx.new_page()
        page.goto(f"{srv.base}{PAGE}?token={srv.token()}", wait_until="domcontentloaded", timeout=TIMEOUT)
        page.wait_for_selector(".qlw-rank-table tr[data-unit]", timeout=TIMEOUT)
        kid = page.evaluate("JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId")
        cookies = {c["name"]: c for c in ctx.cookies()}
        assert _kernel_running(srv, kid)
        t0 = time.time()
        page.close(run_before_unload=True)
        while _kernel_running(srv, kid) and time.time() - t0 < 30:
            time.sleep(0.2)
        ctx.close()
        browser.close()
    return kid, cookies


def test_closing_the_tab_stops_the_kernel_with_xsrf_on(login_server):
    """In Chromium (a fresh profile): the page opened directly by its link (no
    tree page first) gets the _xsrf cookie, and closing the tab stops its kernel."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("chromium not found")
    import concurrent.futures as cf

    with cf.ThreadPoolExecutor(1) as ex:
        kid, cookies = ex.submit(_close_tab_scenario, login_server).result(timeout=300)
    assert "_xsrf" in cookies and cookies["_xsrf"]["sameSite"] == "Strict"
    login = [c for n, c in cookies.items() if n.startswith("username-")]
    assert login and login[0]["httpOnly"]
    assert not _kernel_running(login_server, kid), login_server.log_text()[-3000:]
    assert "'_xsrf' argument missing" not in login_server.log_text().split(kid)[-1]


# ------------------------------------------------------------------ the meeting room
def test_room_link_carries_a_generated_token(tmp_path_factory, dashboard_root):
    env = {k: v for k, v in os.environ.items() if not k.startswith("QLWORK_DASHBOARD_")}
    srv = ds.start(tmp_path_factory.mktemp("room"), dict(env, QLWORK_ROOT=str(dashboard_root)), host="0.0.0.0",
                   args=["--allow-host", "review.example.org"], extra=["--VoilaConfiguration.preheat_kernel=False"],
                   wait_pool=False)
    try:
        log = srv.log_text()
        assert "会议室" in log and "需要登录" in log
        tok = srv.token()
        assert len(tok) >= 32
        links = re.findall(r"http://\S+/voila/render/\S+\?token=\S+", log)
        assert links and all(urlsplit(u).path == PAGE and u.endswith(tok) for u in links)
        assert any(urlsplit(u).hostname == "review.example.org" for u in links)
        assert tok not in " ".join(p.cmdline()[-1] for p in srv.tree() if p.cmdline())  # never on a command line
        for name in {"review.example.org", *(urlsplit(u).hostname for u in links)}:
            c = Client(srv.base)  # a new laptop: no login cookie yet
            host = f"[{name}]" if ":" in name else name
            r, _ = c.request("GET", "/voila/api/contents", headers={"Host": f"{host}:{srv.port}"})
            assert r.status == 403  # reachable name, but no login
            r, body = c.request("GET", f"/voila/api/contents?token={tok}", headers={"Host": f"{host}:{srv.port}"})
            assert r.status == 200 and b"review.ipynb" in body, name
        r, _ = c.request("GET", f"/voila/api/contents?token={tok}", headers={"Host": f"other.example:{srv.port}"})
        assert r.status == 403
        ips = [urlsplit(u).hostname for u in links if re.fullmatch(r"[\d.]+", urlsplit(u).hostname or "")]
        if ips:  # over the network, as a laptop in the room
            conn = http.client.HTTPConnection(ips[0], srv.port, timeout=10)
            conn.request("GET", f"/voila/api/contents?token={tok}")
            assert conn.getresponse().status == 200
    finally:
        srv.stop()
