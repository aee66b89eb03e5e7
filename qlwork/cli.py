"""The ``qlwork`` command.

Sub-commands live one per module in :mod:`qlwork.commands`; each module
defines ``register(subparsers)`` which adds its parser and sets
``func(args) -> int``.  Errors that carry located problems are printed as
readable bilingual messages (exit code 2), never as tracebacks.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from .errors import QlworkError

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qlwork",
        description="清廉指数研究工作台 — integrity-index research workbench",
    )
    sub = parser.add_subparsers(dest="command", metavar="命令 command")
    from . import commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{commands.__name__}.{info.name}")
        mod.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        _guard_raw(args)
        return int(args.func(args) or 0)
    except QlworkError as e:
        print(f"错误 error:\n{e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("已中断 interrupted", file=sys.stderr)
        return 130


def _guard_raw(args: argparse.Namespace) -> None:
    """Every sub-command but ``demo`` (which builds the demo inputs) must not write into data/raw."""
    if args.command == "demo" or not getattr(args, "out", None):
        return
    from .paths import ensure_outside_raw

    ensure_outside_raw(args.out, getattr(args, "raw", None) or None)
    if getattr(args, "raw", None):  # the default raw folder stays protected as well
        ensure_outside_raw(args.out)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
