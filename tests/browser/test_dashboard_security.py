"""What the dashboard server exposes, proved on real running servers.

* bind address: ``qlwork dashboard`` without ``--host`` listens on loopback
  only (the kernel's socket table, /proc/net/tcp*, and a connection attempt to
  this machine's non-loopback address); ``--host 0.0.0.0`` is what exposes it,
  and then only with a login (who may log in, Host/Origin and XSRF rules:
  test_dashboard_access.py).
* tracebacks: a dashboard that cannot load its data, and a notebook whose cell
  raises, show a Chinese message in the page and no traceback or source.
* served folder: only ``dashboards/`` — repository files, notebooks and data
  are not reachable through any of Voilà's routes, traversal included.
"""
from __future__ import annotations

import http.client
import json
import os
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

from . import dashboard_server as ds
from .conftest import LOCAL_HOSTS, REPO

pytestmark = pytest.mark.browser

ERROR_TEXT = "There was an error when executing cell"
TIMEOUT = 120_000
SECRET = "qlw-secret-7f3a"  # planted in a failing module: must never reach the page


@pytest.fixture(scope="module")
def broken_root(tmp_path_factory) -> Path:
    """A project root whose processed store is corrupt (not Parquet)."""
    root = tmp_path_factory.mktemp("broken_store")
    (root / "pyproject.toml").write_text("# broken store for the security test\n", encoding="utf-8")
    (root / "data" / "raw").mkdir(parents=True)
    proc = root / "data" / "processed"
    proc.mkdir(parents=True)
    for name in ("units.parquet", "values.parquet"):
        (proc / name).write_bytes(b"PAR1 this is not a parquet file " + SECRET.encode())
    # the dashboard reads the official result (qlwork score): corrupt that too
    res = proc / "results" / "2025H2"
    res.mkdir(parents=True)
    (res / "manifest.json").write_text('{"period": "2025H2", "specs": {}}', encoding="utf-8")
    (res / "ranking.parquet").write_bytes(b"PAR1 this is not a parquet file " + SECRET.encode())
    return root


@pytest.fixture(scope="module")
def default_server(broken_root, tmp_path_factory):
    """``qlwork dashboard --port P`` exactly as a user types it (no --host)."""
    srv = ds.start(tmp_path_factory.mktemp("sec_default"), dict(os.environ, QLWORK_ROOT=str(broken_root)))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def raising_server(tmp_path_factory):
    """The Voilà command line `qlwork dashboard` builds, on the real dashboards/
    folder and voila.json, with a kernel whose ``import qlwork.dashboard.app``
    raises: the notebook cell itself fails."""
    from qlwork.serve.launch import dashboards_dir, voila_command

    shadow = tmp_path_factory.mktemp("shadow")
    (shadow / "qlwork").mkdir()
    (shadow / "qlwork" / "__init__.py").write_text(
        f"def _fail():\n    raise RuntimeError('{SECRET} /srv/internal/path')\n_fail()\n", encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(shadow))
    env.pop("QLWORK_ROOT", None)
    cmd = voila_command("127.0.0.1", 0)
    cmd[cmd.index("--port=0")] = "--port={port}"
    srv = ds.start(tmp_path_factory.mktemp("sec_raise"), env, cmd=cmd, cwd=dashboards_dir())
    yield srv
    srv.stop()


# ------------------------------------------------------------ bind address
def test_default_binds_loopback_only(default_server):
    addrs = ds.listening_addresses(default_server.port)
    assert addrs, f"nothing listens on {default_server.port}"
    assert addrs <= {"127.0.0.1", "::1"}, addrs  # not 0.0.0.0 / ::
    assert f"http://127.0.0.1:{default_server.port}/" in default_server.log_text()
    for ip in ds.non_loopback_ipv4():
        assert not ds.can_connect(ip, default_server.port), f"reachable on {ip}"


def test_host_0000_is_needed_to_expose(tmp_path_factory, broken_root):
    ips = ds.non_loopback_ipv4()
    # no preheated kernel: this server only has to listen
    srv = ds.start(tmp_path_factory.mktemp("sec_open"), dict(os.environ, QLWORK_ROOT=str(broken_root)),
                   host="0.0.0.0", extra=["--VoilaConfiguration.preheat_kernel=False"], wait_pool=False)
    try:
        assert "0.0.0.0" in ds.listening_addresses(srv.port)
        assert "会议室" in srv.log_text()  # the command says it is exposed on purpose
        token = srv.token()
        assert token  # and a room always gets a login (tests/browser/test_dashboard_access.py)
        if not ips:
            pytest.skip("this machine has no non-loopback IPv4 address to try")
        for path, status in (("/voila/api/contents", 403), (f"/voila/api/contents?token={token}", 200)):
            conn = http.client.HTTPConnection(ips[0], srv.port, timeout=10)
            conn.request("GET", path)
            r = conn.getresponse()
            body = r.read().decode("utf-8", "replace")
            assert r.status == status and ("review.ipynb" in body) == (status == 200), (path, r.status)
    finally:
        srv.stop()


def test_cli_default_host_and_refused_options():
    from qlwork.cli import build_parser
    from qlwork.serve.launch import check_extra_options, voila_command
    from qlwork.errors import QlworkError

    args = build_parser().parse_args(["dashboard"])
    assert args.host == "127.0.0.1"
    cmd = voila_command(args.host, args.port)
    assert "--Voila.ip=127.0.0.1" in cmd and "--VoilaConfiguration.show_tracebacks=False" in cmd
    # the fixed settings come last, so a passed-through setting cannot override them
    assert cmd.index("--Voila.ip=127.0.0.1") > cmd.index(".") and cmd[-1].endswith("show_tracebacks=False")
    for bad in (["--debug"], ["--Voila.ip=0.0.0.0"], ["--VoilaConfiguration.show_tracebacks=True"],
                ["--Voila.root_dir=/"], ["--ServerApp.token=x"]):
        with pytest.raises(QlworkError) as e:
            check_extra_options(bad)
        assert bad[0] in str(e.value)
    assert check_extra_options(["--MappingKernelManager.cull_idle_timeout=60"])


# ------------------------------------------------------------ tracebacks hidden
def test_voila_config_hides_code_and_tracebacks():
    cfg = json.loads((REPO / "dashboards" / "voila.json").read_text(encoding="utf-8"))
    vc = cfg["VoilaConfiguration"]
    assert vc["show_tracebacks"] is False
    assert vc["strip_sources"] is True
    assert vc["file_allowlist"] == []  # the page needs no file from the folder
    assert re.match(r"[\u4e00-\u9fff]", cfg["VoilaExecutor"]["cell_error_instruction"])


def _open(ctx, url):
    page = ctx.new_page()
    page.goto(url, wait_until="domcontentloaded", timeout=TIMEOUT)
    page.wait_for_function(
        "(err) => document.querySelector('.qlw-ready') || document.body.innerText.includes(err)",
        arg=ERROR_TEXT, timeout=TIMEOUT)
    page.wait_for_timeout(500)  # late stream outputs would land now
    return page


def _ws_handshake(base: str, kernel_id: str, origin: str) -> int:
    """Status of a websocket upgrade to the kernel's channels from ``origin``."""
    import base64
    import secrets

    u = urlparse(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    conn.request("GET", f"/api/kernels/{kernel_id}/channels", headers={
        "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": base64.b64encode(secrets.token_bytes(16)).decode(), "Origin": origin})
    status = conn.getresponse().status
    conn.close()
    return status


def _assert_nothing_technical(page):
    html, text = page.content(), page.inner_text("body")
    for bad in ("Traceback", 'File "', ".py\", line", SECRET, "build_review_dashboard",
                "from qlwork", "/srv/internal"):
        assert bad not in html, (bad, text[:1500])


def test_broken_store_shows_chinese_message(default_server, browser_context):
    page = _open(browser_context, default_server.base + "/voila/render/review.ipynb")
    try:
        assert ERROR_TEXT not in page.inner_text("body")
        box = page.locator(".qlwork-error")
        assert box.count() == 1
        msg = box.inner_text().strip()
        assert re.match(r"[\u4e00-\u9fff]", msg), msg  # Chinese first
        assert "加载评审看板" in msg and "数据管理员" in msg
        _assert_nothing_technical(page)
        # this viewer's kernel: its websocket accepts this page's origin only
        kid = page.evaluate("JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId")
        own = f"http://127.0.0.1:{default_server.port}"
        assert _ws_handshake(default_server.base, kid, "http://evil.example") == 403
        assert _ws_handshake(default_server.base, kid, own) == 101
    finally:
        page.close()
    # the details reach the administrator: the kernels echo stderr to the server log
    log = default_server.log_text()
    assert "Traceback" in log and "Parquet" in log


def test_failing_cell_shows_generic_chinese_message(raising_server, browser_context):
    page = _open(browser_context, raising_server.base + "/voila/render/review.ipynb")
    try:
        text = page.inner_text("body")
        assert ERROR_TEXT in text
        assert "看板未能加载" in text and "数据管理员" in text
        assert "RuntimeError" not in text
        _assert_nothing_technical(page)
    finally:
        page.close()
    assert SECRET in raising_server.log_text()  # the administrator can still find it


# ------------------------------------------------------------ served folder
def _get(base: str, path: str, hops: int = 3) -> tuple[int, bytes, str]:
    """GET ``path`` sent as is (no client-side normalisation of ``..``),
    following local redirects."""
    u = urlparse(base)
    for _ in range(hops):
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        loc = r.getheader("Location")
        conn.close()
        if r.status in (301, 302, 303, 307, 308) and loc:
            lu = urlparse(loc)
            assert (lu.hostname or "127.0.0.1") in LOCAL_HOSTS, loc
            path = lu.path + (f"?{lu.query}" if lu.query else "")
            continue
        return r.status, body, path
    return r.status, body, path


OUTSIDE = [
    "/voila/files/../pyproject.toml",
    "/voila/files/..%2fpyproject.toml",
    "/voila/files/%2e%2e/pyproject.toml",
    "/voila/files/%2e%2e%2fdata%2fraw%2fframework_county.yaml",
    "/voila/files/voila.json",
    "/voila/files/review.ipynb",
    "/voila/render/../notebooks/01_explore_indicators.ipynb",
    "/voila/render/%2e%2e/notebooks/01_explore_indicators.ipynb",
    "/voila/render/..%2fnotebooks%2f01_explore_indicators.ipynb",
    "/voila/render/voila.json",
    "/voila/tree/..",
    "/voila/tree/%2e%2e/data",
    "/voila/api/contents/..",
    "/voila/api/contents/%2e%2e/pyproject.toml",
    "/voila/api/contents/..%2fdata%2fraw",
    "/voila/static/../../../../pyproject.toml",
    "/voila/static/..%2f..%2fapp.py",
    "/voila/templates/lab/static/..%2f..%2f..%2f..%2f..%2f..%2f..%2f..%2fpyproject.toml",
    "/voila/labextensions/..%2f..%2f..%2f..%2fpyproject.toml",
    "/tree", "/lab", "/notebooks/notebooks/01_explore_indicators.ipynb",
    "/api/contents", "/api/contents/pyproject.toml", "/api/kernels", "/api/sessions", "/api/terminals",
    "/files/pyproject.toml", "/files/data/raw/units.xlsx", "/files/data/raw/framework_county.yaml",
    "/edit/pyproject.toml", "/view/pyproject.toml",
]


def test_only_dashboards_folder_is_served(default_server, broken_root):
    markers = [b"[tool.pytest", b"\"cells\"", b"dependencies", b"framework:", SECRET.encode(),
               b"cull_idle_timeout", b"PK\x03\x04"]  # repo config, notebooks, yaml, data, voila.json, xlsx
    for path in OUTSIDE:
        status, body, final = _get(default_server.base, path)
        assert status >= 400, (path, final, status, body[:300])
        for m in markers:
            assert m not in body, (path, m)
    # what is listed is the dashboards folder and nothing else
    status, body, _ = _get(default_server.base, "/voila/api/contents")
    assert status == 200
    names = {c["name"] for c in json.loads(body)["content"]}
    assert names == {"review.ipynb"}, names
    status, body, _ = _get(default_server.base, "/voila/api/contents/review.ipynb")
    assert status == 200 and json.loads(body)["content"] is None  # metadata only, never the source
    status, body, _ = _get(default_server.base, "/")  # the folder page (filled in by the listing above)
    assert status == 200 and b"Voil" in body


def _send(base: str, method: str, path: str, headers=None) -> int:
    u = urlparse(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    conn.request(method, path, body=b"", headers=headers or {})
    status = conn.getresponse().status
    conn.close()
    return status


def test_no_kernel_can_be_started_or_named_from_outside(default_server):
    """XSRF protection is on (voila.json no longer turns it off; the render page
    sets the cookie Voilà's page-close request needs, voila#1458, see
    test_dashboard_access.py), and a cross-site request is refused before any
    route: nothing starts code or needs no kernel id."""
    cfg = json.loads((REPO / "dashboards" / "voila.json").read_text(encoding="utf-8"))
    assert "tornado_settings" not in cfg.get("Voila", {})
    assert "disable_check_xsrf" not in json.dumps(cfg)
    evil = {"Origin": "http://evil.example", "Referer": "http://evil.example/x"}
    n0 = len(default_server.kernels())
    for method, path in [("POST", "/api/kernels"), ("POST", "/api/sessions"), ("POST", "/api/contents"),
                         ("PUT", "/api/contents/x.ipynb"), ("POST", "/api/terminals"),
                         ("POST", "/voila/api/contents"), ("POST", "/voila/render/review.ipynb")]:
        assert _send(default_server.base, method, path, evil) in (403, 404, 405), (method, path)
        assert _send(default_server.base, method, path) in (403, 404, 405), (method, path)
    fake = "0b6f2a4e-9c1d-4e8a-a0c3-5d7e9f1b2c3d"  # kernel ids are random UUIDs, never listed
    assert _send(default_server.base, "POST", f"/voila/api/shutdown/{fake}", evil) == 403
    assert _send(default_server.base, "POST", f"/voila/api/shutdown/{fake}") == 403  # no XSRF token
    assert _send(default_server.base, "DELETE", f"/api/kernels/{fake}", evil) == 403
    assert _send(default_server.base, "GET", "/api/kernels") == 404
    assert len(default_server.kernels()) == n0


# ------------------------------------------------------------ documented
def test_readme_and_docs_say_how_to_expose_on_purpose():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    sec = readme[readme.index("### Serving the dashboard to a meeting room"):]
    sec = sec[:sec.find("\n## ")]
    assert "127.0.0.1" in sec and "HOST=0.0.0.0" in sec and "--host 0.0.0.0" in sec
    docs = (REPO / "docs" / "dashboard.md").read_text(encoding="utf-8")
    assert "HOST=0.0.0.0" in docs and "cull_idle_timeout" in docs
