"""Who may open the dashboard: bind address, Host allow-list, token, password,
the link to share (and its QR code).

Policy for ``qlwork dashboard``; the server (:mod:`qlwork.serve.voila_app`)
enforces it.  The rules:

* loopback (127.0.0.1, ::1, localhost): only this machine can connect; no
  login unless asked for (``--login``) or a token is given;
* anything else — ``0.0.0.0`` or an address of this machine — is a meeting
  room: a login is required.  A token is generated unless one is given
  (``QLWORK_DASHBOARD_TOKEN``) or a password is set (``--password``); the
  link printed carries the token (``?token=…``), and opening it once keeps
  the viewer logged in (a cookie) for the rest of the meeting;
* the server answers only to the loopback names and the room's addresses
  (this machine's addresses for ``0.0.0.0``, its host name, and any
  ``--allow-host``), which stops DNS rebinding.
"""
from __future__ import annotations

import io
import ipaddress
import os
import re
import secrets
import socket
import string

from ..errors import Problem, QlworkError
from .voila_app import ENV_PASSWORD_HASH, ENV_TOKEN, host_name, is_loopback

__all__ = ["ENV_TOKEN", "ENV_PASSWORD_HASH", "ENV_PASSWORD", "is_loopback", "is_wildcard", "local_addresses",
           "room_hosts", "new_token", "check_token", "hash_password", "share_urls", "qr_text"]

ENV_PASSWORD = "QLWORK_DASHBOARD_PASSWORD"
MIN_TOKEN = 16
MIN_PASSWORD = 8
_TOKEN_CHARS = set(string.ascii_letters + string.digits + "-_.~")
_HOSTNAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*")


def is_wildcard(host: str) -> bool:
    return host in ("", "0.0.0.0", "::")


def local_addresses(ipv6: bool = True) -> list[str]:
    """This machine's non-loopback, non-link-local IP addresses, as the room
    would type them: the address of the interface with the default route
    (found by connecting a UDP socket, which sends nothing) and those its
    host name resolves to; IPv4 only unless ``ipv6``."""
    found: set[str] = set()
    for fam, probe in ((socket.AF_INET, "192.0.2.1"), (socket.AF_INET6, "2001:db8::1")):
        try:
            with socket.socket(fam, socket.SOCK_DGRAM) as s:
                s.connect((probe, 9))
                found.add(s.getsockname()[0])
        except OSError:
            pass
    try:
        found.update(i[4][0] for i in socket.getaddrinfo(socket.gethostname(), None))
    except OSError:
        pass
    out = []
    for a in found:
        try:
            ip = ipaddress.ip_address(a.split("%")[0])
        except ValueError:
            continue
        if not (ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast) and (
                ipv6 or ip.version == 4):
            out.append(str(ip))
    return sorted(out, key=lambda a: (":" in a, a))


def room_hosts(bind: str, extra: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The names and addresses the server answers to besides the loopback
    ones: none when bound to loopback (plus ``extra``); otherwise the bound
    address (or, for ``0.0.0.0``/``::``, every address of this machine) and
    its host names."""
    hosts: list[str] = []
    if not is_loopback(bind):
        # 0.0.0.0 listens on IPv4 only, :: on both
        hosts += local_addresses(ipv6=bind == "::") if is_wildcard(bind) else [host_name(bind)]
        for name in (socket.gethostname(), socket.getfqdn()):
            name = host_name(name)
            if name and not is_loopback(name):
                hosts.append(name)
    for raw in extra:
        h = host_name(raw)
        if not _valid_name(h) or any(c in raw for c in "/\\ @?#") or is_wildcard(h):
            raise QlworkError(Problem(
                "bad_allow_host", "--allow-host 只接受主机名或 IP 地址", "--allow-host takes a host name or IP address",
                found=h, expected="例如 review.example.org 或 192.168.1.20"))
        hosts.append(h)
    return list(dict.fromkeys(hosts))


def _valid_name(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return bool(_HOSTNAME.fullmatch(name))


def new_token() -> str:
    """A random access token (32 URL-safe characters, 192 bits)."""
    return secrets.token_urlsafe(24)


def check_token(token: str) -> str:
    """A token given by the administrator: long enough and URL-safe."""
    if len(token) < MIN_TOKEN or not set(token) <= _TOKEN_CHARS:
        raise QlworkError(Problem(
            "weak_token", f"{ENV_TOKEN} 中的访问口令太短或含有不能放进网址的字符",
            f"{ENV_TOKEN} must be at least {MIN_TOKEN} URL-safe characters",
            found=f"{len(token)} 个字符", expected=f"至少 {MIN_TOKEN} 个字母、数字或 -_.~"))
    return token


def hash_password(password: str) -> str:
    """The password as jupyter_server stores it (argon2), for the server."""
    if len(password) < MIN_PASSWORD:
        raise QlworkError(Problem("weak_password", f"看板密码至少需要 {MIN_PASSWORD} 个字符",
                                  f"the dashboard password needs at least {MIN_PASSWORD} characters",
                                  found=f"{len(password)} 个字符", expected=f"≥ {MIN_PASSWORD}"))
    from jupyter_server.auth.security import passwd

    return passwd(password)


def share_urls(bind: str, port: int, path: str, token: str = "", hosts: list[str] | None = None) -> list[str]:
    """The links to give out: one per room address (IPs first), or the
    loopback one; with ``?token=`` when a token is set."""
    if is_loopback(bind):
        names = ["127.0.0.1" if host_name(bind) == "localhost" else host_name(bind)]
    else:
        names = [h for h in (hosts or []) if h] or [bind]
    q = f"?token={token}" if token else ""
    out = []
    for n in names:
        shown = f"[{n}]" if ":" in n else n
        out.append(f"http://{shown}:{int(port)}/{path.lstrip('/')}{q}")
    return out


def qr_text(url: str) -> str:
    """The link as a QR code drawn with block characters for a terminal
    (``segno``; two modules per character row)."""
    import segno

    buf = io.StringIO()
    segno.make(url, error="m").terminal(out=buf, compact=True, border=2)
    return buf.getvalue()


def password_from_env() -> str | None:
    return os.environ.get(ENV_PASSWORD) or None
