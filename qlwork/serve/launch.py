"""Start the dashboard server (``qlwork dashboard`` parses its options and calls :func:`serve`).

Runs :mod:`qlwork.serve.voila_app` (Voilà behind a Host/Origin gate, with a
login and XSRF protection) as a script on the ``dashboards/`` folder only
(never the whole project), with ``dashboards/voila.json`` as its
configuration (kernel culling, preheated pool, execution timeout, sources
stripped, tracebacks hidden).  Binds 127.0.0.1 by default; any other address
serves a meeting room and then always needs a login: a token is generated
unless one is given or a password is set, and the link to share (with its QR
code) is printed (see docs/dashboard.md).  Each viewer gets a kernel of their
own.

Extra Voilà/Jupyter settings may be passed as ``--Class.trait=value`` (e.g.
``--MappingKernelManager.cull_idle_timeout=600``); settings that would widen
what is served or shown (bind address, served folder, tracebacks, code,
login, allowed hosts, XSRF) are refused: the bind address is ``host``.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from ..dashboard import VOILA_TEMPLATE, voila_share_dir
from ..errors import Problem, QlworkError
from ..paths import project_root
from . import access

__all__ = ["serve", "access_for", "dashboards_dir", "voila_command", "dashboard_url", "check_extra_options",
           "SERVER_SCRIPT", "NOTEBOOK"]

NOTEBOOK = "review.ipynb"
#: run as a script, so that the server process imports nothing of qlwork (see its docstring)
SERVER_SCRIPT = Path(__file__).resolve().parent / "voila_app.py"
_OPTION = re.compile(r"--([A-Za-z_]\w*)\.([A-Za-z_]\w*)=(.*)", re.S)
# traits that decide where the server listens, which folder it serves and
# whether code or tracebacks reach the page: fixed by this command
_FIXED_TRAITS = {"ip", "port", "port_retries", "root_dir", "notebook_path", "show_tracebacks",
                 "strip_sources", "open_browser", "allow_remote_access", "token", "password",
                 # who may log in and from where (qlwork.serve): --login, --password, --allow-host
                 "auto_token", "hashed_password", "password_required", "allowed_hosts", "identity_provider_class",
                 "authorizer_class", "login_handler_class", "cookie_secret", "tornado_settings", "allow_origin",
                 "allow_origin_pat", "disable_check_xsrf", "allow_unauthenticated_access",
                 "multi_kernel_manager_class", "file_allowlist", "file_denylist", "prelaunch_hook"}


def dashboards_dir(root: str | os.PathLike | None = None) -> Path:
    """The folder holding ``review.ipynb`` and ``voila.json``.

    The project's own ``dashboards/`` when it has one, else the one next to
    the installed package (a temp project root in tests holds only data).
    """
    cands = [Path(root) / "dashboards"] if root else []
    cands += [project_root() / "dashboards", Path(__file__).resolve().parents[2] / "dashboards"]
    for c in cands:
        if (c / NOTEBOOK).is_file():
            return c.resolve()
    raise QlworkError(Problem(
        "no_dashboard", "找不到看板笔记本 dashboards/review.ipynb", "dashboard notebook not found",
        file=str(cands[0] / NOTEBOOK), expected="项目根目录下的 dashboards/review.ipynb"))


def dashboard_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{shown}:{port}/voila/render/{NOTEBOOK}"


def check_extra_options(options: list[str] | tuple[str, ...]) -> list[str]:
    """Validate extra Voilà settings given after ``--``.

    Each must be ``--Class.trait=value``; flags (``--debug`` shows tracebacks)
    and the traits in ``_FIXED_TRAITS`` are refused with a located message.
    """
    problems = []
    for i, opt in enumerate(options, 1):
        m = _OPTION.fullmatch(opt)
        if m is None:
            problems.append(Problem(
                "bad_voila_option", "无法识别的 Voilà 附加设置（只接受 --类名.设置=值 的形式）",
                "extra Voilà settings must look like --Class.trait=value",
                found=f"第 {i} 个附加参数 {opt}", expected="例如 --MappingKernelManager.cull_idle_timeout=600"))
        elif m.group(2) in _FIXED_TRAITS:
            problems.append(Problem(
                "fixed_voila_option", f"设置 {m.group(2)} 由 qlwork dashboard 固定，不能在附加参数中修改"
                "（绑定地址用 --host，端口用 --port）",
                f"{m.group(2)} is fixed by qlwork dashboard (use --host/--port)",
                found=f"第 {i} 个附加参数 {opt}", expected="不涉及绑定地址、发布目录、代码与错误追踪显示的设置"))
    if problems:
        raise QlworkError(problems)
    return list(options)


def _server_main() -> str:
    """``python -c`` code that runs the server script with qlwork's Voilà template folder
    on ``JUPYTER_PATH`` (Voilà finds templates only there).  Setting it in the server
    process itself keeps the command self-contained (whoever starts it, with whatever
    environment) and imports nothing of qlwork there."""
    share = str(voila_share_dir())
    return ("import os, runpy; p = os.environ.get('JUPYTER_PATH'); "
            f"os.environ['JUPYTER_PATH'] = os.pathsep.join([{share!r}] + ([p] if p else [])); "
            f"runpy.run_path({str(SERVER_SCRIPT)!r}, run_name='__main__')")


def voila_command(host: str = "127.0.0.1", port: int = 8866, extra: list[str] | tuple[str, ...] = (), *,
                  allowed_hosts: list[str] | tuple[str, ...] = (), pool: int | None = None) -> list[str]:
    """The server's command line; run it with ``cwd=dashboards_dir()`` so that
    ``voila.json`` there is read and only that folder is served.  ``extra``
    settings (checked by :func:`check_extra_options`) come before the fixed
    ones, so the fixed ones win.  ``allowed_hosts``: the room's names and
    addresses (:func:`qlwork.serve.access.room_hosts`); ``pool``: preheated
    kernels (default: ``voila.json``).  The token and password never appear
    here (a command line is visible to every user of the machine): they go
    to the server in its environment."""
    cmd = [sys.executable, "-c", _server_main(), ".", *check_extra_options(extra)]
    if pool is not None:
        cmd.append(f"--VoilaConfiguration.default_pool_size={int(pool)}")
    cmd += [f"--QlworkVoila.allowed_hosts={h}" for h in allowed_hosts]
    return cmd + [
        "--no-browser",
        f"--Voila.ip={host}",
        f"--port={int(port)}",
        "--Voila.port_retries=0",
        # Voilà's lab template without its CDN links (qlwork/dashboard/share, on JUPYTER_PATH);
        # a viewer cannot switch it back with ?template=lab (which would fetch from a CDN)
        f"--VoilaConfiguration.template={VOILA_TEMPLATE}",
        "--VoilaConfiguration.allow_template_override=NO",
        "--VoilaConfiguration.show_tracebacks=False",
    ]


def _check_port(host: str, port: int) -> None:
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            raise QlworkError(Problem(
                "port_in_use", f"无法在 {host}:{port} 上启动看板：端口已被占用或地址不可用",
                f"cannot bind {host}:{port}: {e.strerror}", found=f"{host}:{port}",
                expected="换一个端口，例如 --port 8867")) from None


def access_for(host: str, *, login: bool = False, password: bool = False,
               allow_host: list[str] | tuple[str, ...] = ()) -> tuple[str, str, list[str]]:
    """(token, password hash, room hosts) for a server bound to ``host``
    (policy: :mod:`qlwork.serve.access`): a room always gets a login."""
    room = not access.is_loopback(host)
    token = os.environ.get(access.ENV_TOKEN, "")
    if token:
        access.check_token(token)
    hashed = ""
    if password:
        hashed = access.hash_password(access.password_from_env() or _ask_password())
    if not token and not hashed and (room or login):
        token = access.new_token()
    return token, hashed, access.room_hosts(host, list(allow_host or []))


def _ask_password() -> str:
    import getpass

    if not sys.stdin.isatty():
        raise QlworkError(Problem(
            "no_password", "--password 需要在终端输入密码，或设置环境变量 QLWORK_DASHBOARD_PASSWORD",
            "--password needs a terminal to type it, or QLWORK_DASHBOARD_PASSWORD"))
    first = getpass.getpass("看板密码 dashboard password: ")
    if getpass.getpass("再输入一次 again: ") != first:
        raise QlworkError(Problem("password_mismatch", "两次输入的密码不一致", "the passwords differ"))
    return first


def _announce(host: str, port: int, token: str, hashed: str, hosts: list[str], qr: bool) -> None:
    urls = access.share_urls(host, port, f"voila/render/{NOTEBOOK}", token, hosts)
    if access.is_loopback(host):
        print(f"评审看板 review dashboard: {urls[0]}", flush=True)
        if token or hashed:
            print("已启用登录 login required" + ("（链接中含访问口令 the link carries the token）" if token else ""),
                  flush=True)
    else:
        print("评审看板已向会议室开放（需要登录）。请把下面的链接发给参会人员：\n"
              "Review dashboard served to the meeting room (login required). Share this link:", flush=True)
        for u in urls:
            print(f"  {u}", flush=True)
        if hashed and not token:
            print("参会人员打开链接后输入您设置的密码。 Viewers enter the password you set.", flush=True)
        elif hashed:
            print("也可以不带口令打开，再输入密码。 Or open it without the token and enter the password.", flush=True)
        print("每位观看者各有一个内核；会后请按 Ctrl-C 停止。 Each viewer gets a kernel of their own.", flush=True)
        if qr and urls:
            try:
                print(access.qr_text(urls[0]), flush=True)
            except Exception:  # noqa: BLE001 — a QR code is a convenience; the link is printed above
                pass
    print("按 Ctrl-C 停止 press Ctrl-C to stop", flush=True)


def serve(host: str = "127.0.0.1", port: int = 8866, *, pool: int | None = None,
          extra: list[str] | tuple[str, ...] = (), login: bool = False, password: bool = False,
          allow_host: list[str] | tuple[str, ...] = (), qr: bool = True) -> int:
    """Run the dashboard server until it stops (Ctrl-C, SIGTERM); its exit code."""
    port = int(port)
    if not (0 < port < 65536):
        raise QlworkError(Problem("bad_port", "端口号必须在 1–65535 之间", "port must be 1-65535",
                                  found=port, expected="1–65535"))
    if pool is not None and not (0 <= pool <= 64):
        raise QlworkError(Problem("bad_pool", "预热内核数必须在 0–64 之间", "--pool must be 0-64",
                                  found=pool, expected="0–64（会议人数左右）"))
    extra = check_extra_options(extra or [])
    folder = dashboards_dir()
    _check_port(host, port)
    token, hashed, hosts = access_for(host, login=login, password=password, allow_host=allow_host)
    env = dict(os.environ)
    # The kernel runs with cwd = dashboards/; pin the data root explicitly.
    env.setdefault("QLWORK_ROOT", str(project_root()))
    env.setdefault("MPLBACKEND", "Agg")
    env.pop(access.ENV_PASSWORD, None)  # the plain password goes no further than this process
    env.pop(access.ENV_TOKEN, None)
    env.pop(access.ENV_PASSWORD_HASH, None)
    if token:
        env[access.ENV_TOKEN] = token  # read and removed by the server before any kernel starts
    if hashed:
        env[access.ENV_PASSWORD_HASH] = hashed
    _announce(host, port, token, hashed, hosts, qr=qr and sys.stdout.isatty())
    # SIGTERM (service stop, test teardown) ends the server like Ctrl-C does
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    with tempfile.TemporaryDirectory(prefix="qlwork_kernels_") as ipdir:
        env["IPYTHONDIR"] = _kernel_profile(Path(ipdir))
        proc = subprocess.Popen(voila_command(host, port, extra, allowed_hosts=hosts, pool=pool), cwd=folder, env=env)
        try:
            return proc.wait()
        except (KeyboardInterrupt, SystemExit):
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
            raise


def _kernel_profile(ipdir: Path) -> str:
    """An IPython folder of the dashboard's own for its kernels.

    ``IPKernelApp.quiet = False``: what a kernel writes to stderr (the
    tracebacks the dashboard prints when it shows a Chinese alert instead) is
    echoed to this server's log, where the administrator finds it; Voilà keeps
    it out of the page.  No history database; the user's own IPython profile
    and start-up files do not change what the committee sees.
    """
    prof = ipdir / "profile_default"
    prof.mkdir(parents=True, exist_ok=True)
    (prof / "ipython_kernel_config.json").write_text(json.dumps(
        {"IPKernelApp": {"quiet": False}, "HistoryManager": {"enabled": False}}), encoding="utf-8")
    return str(ipdir)


