"""The dashboard's web server: Voilà 0.5 behind a gate (issue 18).

``qlwork dashboard`` runs this file as a script (``python …/voila_app.py .
--Voila.ip=…``) instead of ``python -m voila``.  It is Voilà with:

* **A Host allow-list, checked before any route.**  DNS rebinding: a page on
  ``evil.example`` whose name is re-pointed at this machine reaches the
  server with ``Host: evil.example`` and would read the scores as a
  same-origin page.  Only the loopback names and the addresses this server
  is meant to be reached by (``--QlworkVoila.allowed_hosts``) pass; ``0.0.0.0``
  never does.  A request carrying an ``Origin`` header passes only when that
  origin is this very origin (scheme://Host), so another site's websocket
  or POST is refused before a handler runs.
* **A login whenever the server is reachable from other machines**: a token
  (``?token=…`` in the shared link, then a cookie) and/or a password, checked
  by jupyter_server's identity provider, with constant-time comparisons, a
  Chinese login page, no password change from the browser and failed logins
  slowed down.  The server refuses to listen on a non-loopback address
  without one.  The secrets come in through environment variables that are
  removed before any kernel starts (kernels inherit the environment).
* **XSRF protection on.**  Voilà's page-close request (``POST
  /voila/api/shutdown/<kernel>``, sent from ``beforeunload``) reads the
  ``_xsrf`` cookie; Voilà sets that cookie on its tree page only, so a page
  opened directly by its URL sent an empty token and got 403
  (voila-dashboards/voila#1458) and closed tabs left their kernels running.
  The render page sets the cookie here, so the check can stay on.
* **No viewer is left at "Loading widget…"** (the multi-viewer flake): the idle
  culler counts a kernel's idle time from its last activity, and a kernel
  from the preheated pool last worked when it was filled — often minutes
  before a viewer takes it.  Handed to a viewer, it was "idle" long enough to
  be culled at the next culling round, before that viewer's page had loaded
  and connected; the page then had no kernel.  Here a kernel that has never
  had a connection is not culled until ``connect_grace`` seconds after it was
  handed out, and a pool kernel's idle clock restarts at hand-over.
* **No request-info socket**: Voilà's ``/voila/query/<kernel>`` gives whoever
  names a kernel, without a login, the URL its viewer opened (token
  included); it serves notebooks that call ``voila.utils.wait_for_request()``,
  which the dashboard does not, so it is not routed.
* **A preheated pool that refills without starving the viewers**: pool kernels
  start ``kernel_start_concurrency`` at a time (one per core; Voilà starts
  them all at once), in the order they were queued, and when the pool is
  empty a new viewer queues for the next pool kernel instead of starting one
  more kernel beside all the others.

Why a script: the server process then imports nothing of qlwork (it needs
none of it; a broken qlwork fails inside the kernel, where the page explains
it, not in the server), and it stays small.  Only the standard library,
tornado, jupyter_server and Voilà are imported.
"""
from __future__ import annotations

import asyncio
import collections
import functools
import hmac
import html
import ipaddress
import logging
import os
import sys
import tempfile
import time
from urllib.parse import urlsplit

import tornado.web
from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.auth.identity import PasswordIdentityProvider
from jupyter_server.auth.login import LoginFormHandler
from jupyter_server.auth.security import passwd_check
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from jupyter_server._tz import utcnow
from tornado.escape import url_escape
from traitlets import Float, Integer, List, Unicode, default
from voila.app import Voila
from voila.request_info_handler import RequestInfoSocketHandler
from voila.tornado.handler import TornadoVoilaHandler

__all__ = [
    "ENV_TOKEN", "ENV_PASSWORD_HASH", "LOOPBACK_NAMES", "host_name", "is_loopback", "host_allowed",
    "origin_allowed", "GatedApplication", "DashboardIdentityProvider", "DashboardKernelManager",
    "QlworkVoila", "main",
]

ENV_TOKEN = "QLWORK_DASHBOARD_TOKEN"
ENV_PASSWORD_HASH = "QLWORK_DASHBOARD_PASSWORD_HASH"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
# tornado settings that would reopen what the gate closes: ignored if a config file sets them
_GATE_SETTINGS = frozenset({"disable_check_xsrf", "allow_remote_access", "allow_origin", "allow_origin_pat",
                            "allow_unauthenticated_access", "local_hostnames", "cookie_secret"})
log = logging.getLogger("qlwork.serve")


# ------------------------------------------------------------------ host and origin
def host_name(host: str) -> str:
    """The name part of a ``Host`` header or netloc: lower case, without the
    port, IPv6 brackets or a trailing dot (``[::1]:8866`` → ``::1``)."""
    h = (host or "").strip().lower()
    if h.startswith("["):
        end = h.find("]")
        return h[1:end] if end > 0 else h
    if h.count(":") == 1:
        h = h.rsplit(":", 1)[0]
    return h.rstrip(".")


def is_loopback(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ::1 (a bind address or a host name)."""
    name = host_name(host)
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_allowed(host: str, allowed) -> bool:
    """True when the ``Host`` header names this server: a loopback name or one
    of ``allowed`` (exact names or addresses, case-insensitive).  ``0.0.0.0``
    and any other name are refused."""
    name = host_name(host)
    return bool(name) and (is_loopback(name) or name in {host_name(a) for a in allowed})


def origin_allowed(origin: str, host: str, allowed) -> bool:
    """An ``Origin`` header is accepted only when it is this very origin:
    http(s), the same host and port as the ``Host`` header, and that host
    allowed.  ``null`` (sandboxed frames, files) is refused.  The scheme is not
    compared with the request's: a TLS proxy in front makes the page https
    while the server sees http, and nobody else can serve this host:port."""
    try:
        u = urlsplit(origin.strip())
    except ValueError:
        return False
    if u.scheme not in ("http", "https") or not u.netloc:
        return False
    return u.netloc.lower() == (host or "").strip().lower() and host_allowed(u.netloc, allowed)


class RefusedHandler(tornado.web.RequestHandler):
    """403 for a request the gate refuses, whatever its method or route."""

    def initialize(self, reason: str) -> None:
        self.reason = reason

    def prepare(self) -> None:
        log.warning("refused %s %s (Host %r, Origin %r): %s", self.request.method, self.request.path,
                    self.request.host, self.request.headers.get("Origin"), self.reason)
        self.set_status(403)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish("拒绝访问：请用会议组织者提供的地址打开看板。 Forbidden: open the dashboard with the address "
                    "the organiser gave.\n")


class GatedApplication(tornado.web.Application):
    """The tornado application with the Host/Origin gate in front of every route
    (static files, websockets and the login page included)."""

    def __init__(self, *args, allowed_hosts=(), **kwargs):
        self.allowed_hosts = frozenset(host_name(h) for h in allowed_hosts) | LOOPBACK_NAMES
        super().__init__(*args, **kwargs)

    def find_handler(self, request, **kwargs):
        if not host_allowed(request.host, self.allowed_hosts):
            return self.get_handler_delegate(request, RefusedHandler, {"reason": "Host not allowed"})
        origin = request.headers.get("Origin")
        if origin is not None and not origin_allowed(origin, request.host, self.allowed_hosts):
            return self.get_handler_delegate(request, RefusedHandler, {"reason": "cross-origin request"})
        return super().find_handler(request, **kwargs)


# ------------------------------------------------------------------ login
def _same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


class DashboardIdentityProvider(PasswordIdentityProvider):
    """jupyter_server's token/password identity provider with constant-time
    comparisons, and no password change or anonymous login from the form."""

    @default("allow_password_change")
    def _no_password_change(self):
        return False

    async def get_user_token(self, handler):
        if not _same(self.get_token(handler), self.token):
            return None
        user = self.get_user_cookie(handler)
        if asyncio.iscoroutine(user) or isinstance(user, asyncio.Future):
            user = await user
        return user or self.generate_anonymous_user(handler)

    def process_login_form(self, handler):
        typed = handler.get_argument("password", default="")
        if not typed or not self.auth_enabled:
            return None
        if (self.hashed_password and passwd_check(self.hashed_password, typed)) or _same(typed, self.token):
            return self.generate_anonymous_user(handler)
        return None


_LOGIN_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>评审看板 登录 · Review dashboard login</title>
<style>body{{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;background:#f4f6f8;margin:0}}
main{{max-width:420px;margin:12vh auto;background:#fff;padding:28px 32px;border-radius:8px;
box-shadow:0 1px 4px rgba(0,0,0,.15)}}h1{{font-size:22px;margin:0 0 6px}}p{{color:#555;font-size:14px}}
input[type=password]{{width:100%;box-sizing:border-box;font-size:16px;padding:8px;margin:8px 0 14px}}
button{{font-size:16px;padding:8px 20px}}.err{{color:#b2182b;font-weight:bold}}</style></head>
<body><main><h1>评审看板</h1><p>请输入会议组织者提供的访问口令或密码。<br>
<small>Review dashboard: enter the access token or password the organiser gave you.</small></p>
{message}<form method="post" action="{action}">{xsrf}
<input type="password" name="password" autocomplete="current-password" autofocus aria-label="口令 password">
<button type="submit">进入 Enter</button></form></main></body></html>
"""


class DashboardLoginHandler(LoginFormHandler):
    """The login form in Chinese (English gloss), with failed attempts slowed
    down: one second per failure, and an address with ``MAX_FAILURES``
    failures in ``WINDOW_S`` seconds is refused until they age out."""

    MAX_FAILURES = 10
    WINDOW_S = 300.0
    DELAY_S = 1.0
    _failures: dict = collections.defaultdict(collections.deque)

    def _render(self, message=None):
        text = ""
        if message:
            text = ('<p class="err">口令或密码不正确，请重试。 Wrong token or password.</p>'
                    if message.get("error") != "locked" else
                    '<p class="err">尝试次数过多，请几分钟后再试。 Too many attempts; try again in a few minutes.</p>')
        nxt = self.get_argument("next", default=self.base_url)
        action = html.escape(f"{self.base_url.rstrip('/')}/login?next={url_escape(nxt)}", quote=True)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.write(_LOGIN_PAGE.format(message=text, action=action, xsrf=self.xsrf_form_html()))

    def _recent_failures(self) -> collections.deque:
        q = self._failures[self.request.remote_ip]
        while q and q[0] < time.monotonic() - self.WINDOW_S:
            q.popleft()
        return q

    @allow_unauthenticated
    async def post(self):
        q = self._recent_failures()
        if len(q) >= self.MAX_FAILURES:
            self.set_status(429)
            self._render(message={"error": "locked"})
            return
        user = self.identity_provider.process_login_form(self)
        if user is None:
            q.append(time.monotonic())
            log.warning("failed dashboard login from %s (%d in %d s)", self.request.remote_ip, len(q),
                        self.WINDOW_S)
            await asyncio.sleep(self.DELAY_S)
            self.set_status(401)
            self._render(message={"error": "invalid"})
            return
        self.current_user = user
        self.identity_provider.set_login_cookie(self, user)
        self._redirect_safe(self.get_argument("next", default=self.base_url))


# ------------------------------------------------------------------ render page
class RenderHandler(TornadoVoilaHandler):
    """Voilà's render page, which also sets the ``_xsrf`` cookie its
    page-close shutdown request reads (voila#1458) and, when the preheated
    pool is empty, queues the viewer for the next pool kernel."""

    @tornado.web.authenticated
    async def get(self, path=None):
        self.xsrf_token  # noqa: B018 — reading it sets the cookie on this response
        queue = getattr(self.kernel_manager, "queue_viewer", None)
        if queue is not None:
            queue(self.notebook_path or path)
        await super().get(path)


# ------------------------------------------------------------------ kernels
class DashboardKernelManager(AsyncMappingKernelManager):
    """The mapping kernel manager with a grace period for kernels whose viewer
    has not connected yet (see the module docstring: culled before their page
    connected, they left the viewer at "Loading widget…")."""

    connect_grace = Float(300.0, config=True, help=(
        "Seconds a kernel that never had a connection is kept from the idle culler, counted from "
        "when it was handed to a viewer (or first seen by the culler). A viewer whose page has not "
        "connected by then has left."))
    kernel_start_concurrency = Integer(config=True, help=(
        "Pool kernels that may start and execute the dashboard at the same time (default: the number "
        "of cores, at most 4). Each start costs about 2.5 CPU-seconds; Voilà started a whole refill "
        "at once, which slowed every viewer who was loading a page."))

    @default("kernel_start_concurrency")
    def _concurrency_default(self):
        return max(1, min(4, os.cpu_count() or 1))

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._connected_once: set[str] = set()
        self._waiting_since: dict[str, float] = {}

    def notify_connect(self, kernel_id):
        self._connected_once.add(kernel_id)
        self._waiting_since.pop(kernel_id, None)
        super().notify_connect(kernel_id)

    def awaiting_viewer(self, kernel_id: str) -> None:
        """A kernel was handed to a viewer whose page will connect shortly:
        its idle clock restarts and the grace period begins."""
        if kernel_id in self._kernels:
            self._kernels[kernel_id].last_activity = utcnow()
        self._waiting_since[kernel_id] = time.monotonic()

    async def cull_kernel_if_idle(self, kernel_id):
        for k in [k for k in self._waiting_since if k not in self._kernels]:
            del self._waiting_since[k]
        self._connected_once &= set(self._kernels)
        if kernel_id not in self._connected_once:
            since = self._waiting_since.setdefault(kernel_id, time.monotonic())
            if time.monotonic() - since < self.connect_grace:
                return None
        return await super().cull_kernel_if_idle(kernel_id)


def _pooled_factory(voila_factory, base_class, preheat_kernel, pool_size, page_config_hook=None):
    """Voilà's kernel-manager factory, with the pool behaviour of this server."""
    cls = voila_factory(base_class, preheat_kernel, pool_size, page_config_hook=page_config_hook)
    if not preheat_kernel:
        return cls

    class PooledKernelManager(cls):
        _start_slots: asyncio.Semaphore | None = None

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            # Pool kernels start in the order they were queued (the semaphore is
            # first come, first served): a delay before some of them would let a
            # later one overtake, and the viewer waiting for the earlier one waits longer.
            self.fill_delay = 0

        async def _initialize(self, notebook_path, kernel_id=None, **kwargs):
            if kernel_id is not None:  # a restart, not a pool fill
                return await super()._initialize(notebook_path, kernel_id, **kwargs)
            if self._start_slots is None:
                self._start_slots = asyncio.Semaphore(max(1, int(self.kernel_start_concurrency)))
            async with self._start_slots:
                content = await super()._initialize(notebook_path, None, **kwargs)
                try:  # hold the slot until the notebook has executed: that is the CPU burst
                    await asyncio.shield(content["task"])
                except Exception:  # noqa: BLE001 — the viewer who takes this kernel gets the error
                    pass
                self.log.info("Pool kernel executed the dashboard: %s", content.get("kernel_id"))
                return content

        async def get_rendered_notebook(self, notebook_name, extra_kernel_env_variables={}, **kwargs):  # noqa: B006
            out = await super().get_rendered_notebook(notebook_name, extra_kernel_env_variables, **kwargs)
            self.awaiting_viewer(out[2])
            return out

        def queue_viewer(self, notebook_name) -> None:
            """An empty pool is refilled now, so the arriving viewer waits in
            line for a pool kernel rather than starting one more at once."""
            # only the notebooks Voilà pooled at start-up (not any path a request names)
            if notebook_name in self._pools and not self._pools[notebook_name] and self.notebook_data:
                self.fill_if_needed(delay=0, notebook_name=notebook_name)

    return PooledKernelManager


# ------------------------------------------------------------------ the application
class QlworkVoila(Voila):
    """Voilà with the gate, the login, XSRF and the kernel rules above."""

    name = "qlwork-voila"
    allowed_hosts = List(Unicode(), config=True, help=(
        "Host names and addresses (besides the loopback ones) this server answers to: the "
        "meeting-room address(es) of this machine. Anything else gets 403 (DNS rebinding)."))

    @default("identity_provider_class")
    def _identity_provider_class_default(self):
        return DashboardIdentityProvider

    def initialize(self, argv=None):
        super().initialize(argv)
        token = os.environ.pop(ENV_TOKEN, "")
        hashed = os.environ.pop(ENV_PASSWORD_HASH, "")
        if token:
            self.token = token
        if hashed:
            self.config.PasswordIdentityProvider.hashed_password = hashed
        self.identity_provider_class = DashboardIdentityProvider
        if not issubclass(self.voila_configuration.multi_kernel_manager_class, DashboardKernelManager):
            self.voila_configuration.multi_kernel_manager_class = DashboardKernelManager
        dropped = sorted(_GATE_SETTINGS & set(self.tornado_settings))
        if dropped:
            self.log.warning("ignoring tornado settings that would bypass the dashboard's gate: %s", dropped)
            self.tornado_settings = {k: v for k, v in self.tornado_settings.items() if k not in _GATE_SETTINGS}
        if not is_loopback(self.ip) and not (self.token or hashed):
            self.log.critical("拒绝启动：看板绑定在 %s（其他电脑可以访问），但没有设置访问口令或密码。"
                              " Refusing to serve %s to other machines without a token or password.",
                              self.ip, self.ip)
            self.exit(2)

    def init_settings(self):
        import voila.app as voila_app

        original = voila_app.voila_kernel_manager_factory
        voila_app.voila_kernel_manager_factory = functools.partial(_pooled_factory, original)
        try:
            settings = super().init_settings()
        finally:
            voila_app.voila_kernel_manager_factory = original
        # the login form, in Chinese, with failed attempts slowed down
        self.identity_provider.login_handler_class = DashboardLoginHandler
        settings["xsrf_cookie_kwargs"] = {"samesite": "Strict"}
        return settings

    def init_handlers(self):
        # /voila/query/<kernel> hands a preheated kernel its viewer's request (URL and
        # query string: the token) to anyone who names the kernel, without a login; it
        # serves notebooks that call voila.utils.wait_for_request(), which ours does not
        return [(h[0], RenderHandler, *h[2:]) if len(h) > 1 and h[1] is TornadoVoilaHandler else h
                for h in super().init_handlers() if not (len(h) > 1 and h[1] is RequestInfoSocketHandler)]

    def start(self):
        # Voilà's start(), with the gated application
        self.connection_dir = tempfile.mkdtemp(prefix="voila_", dir=self.connection_dir_root)
        self.log.info("Storing connection files in %s." % self.connection_dir)
        settings = self.init_settings()
        allowed = set(self.allowed_hosts)
        if not is_loopback(self.ip) and self.ip not in ("", "0.0.0.0", "::"):
            allowed.add(self.ip)
        self.app = GatedApplication(allowed_hosts=allowed, **settings)
        self.app.settings.update(self.tornado_settings)
        self.app.add_handlers(".*$", self.init_handlers())
        self.log.info("answering to hosts: %s", ", ".join(sorted(self.app.allowed_hosts)))
        self.listen()


def main(argv=None) -> None:
    QlworkVoila.launch_instance(argv)


if __name__ == "__main__":
    sys.exit(main())
