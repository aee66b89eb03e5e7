"""``qlwork dashboard`` — serve the review dashboard (评审看板) with Voilà.

Runs Voilà on the ``dashboards/`` folder only (never the whole project), with
``dashboards/voila.json`` as its configuration (kernel culling, execution
timeout, sources stripped, tracebacks hidden).  Binds 127.0.0.1 by default;
``--host 0.0.0.0`` serves a meeting room (see docs/dashboard.md).  Each viewer
gets a kernel of their own.

Extra Voilà/Jupyter settings may follow ``--`` as ``--Class.trait=value``
(e.g. ``-- --MappingKernelManager.cull_idle_timeout=600``); settings that would
widen what is served or shown (bind address, served folder, tracebacks, code)
are refused: use ``--host`` for the bind address.
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

__all__ = ["register", "dashboards_dir", "voila_command", "dashboard_url", "check_extra_options"]

NOTEBOOK = "review.ipynb"
_OPTION = re.compile(r"--([A-Za-z_]\w*)\.([A-Za-z_]\w*)=(.*)", re.S)
# traits that decide where the server listens, which folder it serves and
# whether code or tracebacks reach the page: fixed by this command
_FIXED_TRAITS = {"ip", "port", "port_retries", "root_dir", "notebook_path", "show_tracebacks",
                 "strip_sources", "open_browser", "allow_remote_access", "token", "password"}


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


def _voila_main() -> str:
    """``python -c`` code that runs Voilà with qlwork's template folder on ``JUPYTER_PATH``.

    Voilà finds templates only through ``JUPYTER_PATH``; setting it in the server process
    itself keeps the command self-contained (whoever starts it, with whatever environment)
    and imports nothing of qlwork there."""
    share = str(voila_share_dir())
    return ("import os, sys; p = os.environ.get('JUPYTER_PATH'); "
            f"os.environ['JUPYTER_PATH'] = os.pathsep.join([{share!r}] + ([p] if p else [])); "
            "from voila.app import main; sys.exit(main())")


def voila_command(host: str = "127.0.0.1", port: int = 8866, extra: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The Voilà command line; run it with ``cwd=dashboards_dir()`` so that
    ``voila.json`` there is read and only that folder is served.  ``extra``
    settings (checked by :func:`check_extra_options`) come before the fixed
    ones, so the fixed ones win."""
    return [
        sys.executable, "-c", _voila_main(), ".",
        *check_extra_options(extra),
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


def _run(args) -> int:
    host, port = args.host, int(args.port)
    if not (0 < port < 65536):
        raise QlworkError(Problem("bad_port", "端口号必须在 1–65535 之间", "port must be 1-65535",
                                  found=port, expected="1–65535"))
    extra = check_extra_options(getattr(args, "voila_options", None) or [])
    folder = dashboards_dir()
    _check_port(host, port)
    env = dict(os.environ)
    # The kernel runs with cwd = dashboards/; pin the data root explicitly.
    env.setdefault("QLWORK_ROOT", str(project_root()))
    env.setdefault("MPLBACKEND", "Agg")
    print(f"评审看板 review dashboard: {dashboard_url(host, port)}", flush=True)
    if host in ("0.0.0.0", "::"):
        print("已绑定所有网络接口：会议室内其他电脑请用本机 IP 地址访问（每位观看者各有一个内核）。"
              " Bound to all interfaces; viewers use this machine's IP.", flush=True)
    print("按 Ctrl-C 停止 press Ctrl-C to stop", flush=True)
    # SIGTERM (service stop, test teardown) ends the server like Ctrl-C does
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    with tempfile.TemporaryDirectory(prefix="qlwork_kernels_") as ipdir:
        env["IPYTHONDIR"] = _kernel_profile(Path(ipdir))
        proc = subprocess.Popen(voila_command(host, port, extra), cwd=folder, env=env)
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


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "dashboard", help="启动评审看板（Voilà）serve the review dashboard",
        description="用 Voilà 启动评审看板，只发布 dashboards/ 文件夹；默认仅本机可访问。"
                    " Serve dashboards/ with Voilà; binds 127.0.0.1 by default.")
    p.add_argument("--host", default="127.0.0.1",
                   help="绑定地址 bind address（会议室共享用 0.0.0.0）[127.0.0.1]")
    p.add_argument("--port", type=int, default=8866, help="端口 port [8866]")
    p.add_argument("voila_options", nargs="*", metavar="-- --Class.trait=value",
                   help="附加的 Voilà 设置，写在 -- 之后，例如 -- --MappingKernelManager.cull_idle_timeout=600"
                        " extra Voilà settings after --")
    p.set_defaults(func=_run)
