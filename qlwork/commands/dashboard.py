"""``qlwork dashboard`` — serve the review dashboard (评审看板) with Voilà.

Parses the options and calls :func:`qlwork.serve.launch.serve` (the server,
its login, allowed hosts and kernel rules: docs/dashboard.md).  Binds
127.0.0.1 by default; ``--host 0.0.0.0`` serves a meeting room and then
always needs a login.  Extra Voilà settings may follow ``--`` as
``--Class.trait=value``; those that would widen what is served or shown are
refused.
"""
from __future__ import annotations

__all__ = ["register"]


def _run(args) -> int:
    from ..serve.launch import serve

    return serve(args.host, args.port, pool=args.pool, extra=args.voila_options or [], login=args.login,
                 password=args.password, allow_host=args.allow_host, qr=not args.no_qr)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "dashboard", help="启动评审看板（Voilà）serve the review dashboard",
        description="用 Voilà 启动评审看板，只发布 dashboards/ 文件夹；默认仅本机可访问。"
                    " Serve dashboards/ with Voilà; binds 127.0.0.1 by default.")
    p.add_argument("--host", default="127.0.0.1",
                   help="绑定地址 bind address（会议室共享用 0.0.0.0，此时必须登录）[127.0.0.1]")
    p.add_argument("--port", type=int, default=8866, help="端口 port [8866]")
    p.add_argument("--login", action="store_true",
                   help="本机访问也要求登录（生成访问口令） require a login on loopback too (a token is generated)")
    p.add_argument("--password", action="store_true",
                   help="设置登录密码（在终端输入，或用环境变量 QLWORK_DASHBOARD_PASSWORD）"
                        " set a login password (typed, or QLWORK_DASHBOARD_PASSWORD)")
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="另外允许的主机名或地址（例如内网域名），可重复 another host name or address viewers use")
    p.add_argument("--pool", type=int, default=None, metavar="N",
                   help="预热内核数，约等于同时打开看板的人数（默认见 voila.json）"
                        " preheated kernels, about the number of people who open the page at once")
    p.add_argument("--no-qr", action="store_true", help="不显示二维码 no QR code in the terminal")
    p.add_argument("voila_options", nargs="*", metavar="-- --Class.trait=value",
                   help="附加的 Voilà 设置，写在 -- 之后，例如 -- --MappingKernelManager.cull_idle_timeout=600"
                        " extra Voilà settings after --")
    p.set_defaults(func=_run)
