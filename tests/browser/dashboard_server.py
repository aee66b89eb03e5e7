"""Start `qlwork dashboard` (or the Voilà command it builds) as a separate
server for one test module, and look at it from outside: its listening
sockets, its kernel processes and their memory.

Used by test_dashboard_security.py and test_multi_viewer.py, which need
servers configured differently from the session server in conftest.py.
"""
from __future__ import annotations

import ipaddress
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .conftest import REPO, free_port


@dataclass
class Running:
    base: str
    port: int
    proc: subprocess.Popen
    log: Path
    started: float = field(default_factory=time.time)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def token(self) -> str:
        """The access token in the link the command printed ("" without login)."""
        m = re.search(r"[?&]token=([A-Za-z0-9_.~-]+)", self.log_text())
        return m.group(1) if m else ""

    def tree(self):
        """psutil processes of the server (the command, Voilà, the kernels)."""
        import psutil

        try:
            top = psutil.Process(self.proc.pid)
            return [top, *top.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def kernels(self) -> list:
        out = []
        for p in self.tree():
            try:
                if any("ipykernel_launcher" in a for a in p.cmdline()):
                    out.append(p)
            except Exception:  # noqa: BLE001 — a kernel exiting while we look
                pass
        return out

    def rss_mb(self) -> tuple[float, list[float]]:
        """(total RSS of the server tree, RSS of each kernel) in MiB."""
        total, ks = 0.0, []
        for p in self.tree():
            try:
                r = p.memory_info().rss / 2**20
                total += r
                if any("ipykernel_launcher" in a for a in p.cmdline()):
                    ks.append(r)
            except Exception:  # noqa: BLE001
                pass
        return total, ks

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # only the group we started
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)


def start(log_dir: Path, env: dict, *, host: str | None = None, extra: list[str] | tuple = (),
          args: list[str] | tuple = (), cmd: list[str] | None = None, cwd: Path = REPO, wait_pool: bool = True,
          timeout: float = 90) -> Running:
    """Start ``qlwork dashboard`` (``host=None``: no ``--host``, the default;
    ``args``: more options of the command, ``extra``: Voilà settings after
    ``--``) on a free port, or ``cmd`` (``{port}`` substituted) when given;
    wait until it answers and, when ``wait_pool``, until its preheated kernel
    is ready."""
    port = free_port()
    if cmd is None:
        cmd = [sys.executable, "-m", "qlwork", "dashboard", "--port", str(port), *args]
        if host is not None:
            cmd += ["--host", host]
        if extra:
            cmd += ["--", *extra]
    else:
        cmd = [c.replace("{port}", str(port)) for c in cmd]
    log = Path(log_dir) / f"server_{port}.log"
    fh = open(log, "wb")
    env = dict(env, MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    fh.close()
    srv = Running(f"http://127.0.0.1:{port}", port, proc, log)
    deadline = time.time() + timeout
    while True:
        if proc.poll() is not None:
            pytest.fail(f"dashboard server exited early ({proc.returncode}):\n{srv.log_text()}")
        try:
            with urllib.request.urlopen(srv.base + "/", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if time.time() > deadline:
            srv.stop()
            pytest.fail(f"dashboard server did not start:\n{srv.log_text()}")
        time.sleep(0.3)
    if wait_pool:
        while "is filled with" not in srv.log_text():
            if time.time() > deadline + 120 or proc.poll() is not None:
                break
            time.sleep(0.3)
    return srv


# ------------------------------------------------------------------ sockets
def _hex_addr(h: str) -> str:
    """/proc/net/tcp address field (little-endian words) → textual IP."""
    raw = bytes.fromhex(h)
    if len(raw) == 4:
        return str(ipaddress.IPv4Address(raw[::-1]))
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
    return str(ipaddress.IPv6Address(words))


def listening_addresses(port: int) -> set[str]:
    """Addresses with a TCP socket in LISTEN state on ``port`` (Linux /proc)."""
    out = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(name).read_text().splitlines()[1:]
        except OSError:
            continue
        for ln in lines:
            f = ln.split()
            addr, p = f[1].split(":")
            if int(p, 16) == port and f[3] == "0A":
                out.add(_hex_addr(addr))
    return out


def non_loopback_ipv4() -> list[str]:
    """This machine's IPv4 addresses other than loopback/link-local."""
    found = set()
    try:
        found.update(subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=5).stdout.split())
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        found.update(i[4][0] for i in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET))
    except OSError:
        pass
    out = []
    for a in found:
        try:
            ip = ipaddress.ip_address(a)
        except ValueError:
            continue
        if ip.version == 4 and not ip.is_loopback and not ip.is_link_local and not ip.is_unspecified:
            out.append(a)
    return sorted(out)


def can_connect(addr: str, port: int) -> bool:
    try:
        with socket.create_connection((addr, port), timeout=2):
            return True
    except OSError:
        return False
