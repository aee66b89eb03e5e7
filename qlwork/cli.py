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
        _check_period(args)
        return int(args.func(args) or 0)
    except QlworkError as e:
        print(f"错误 error:\n{e}", file=sys.stderr)
        return 2
    except OSError as e:  # disk full, read-only, no permission … : a located message, never a traceback
        from .io.safe import os_error_problem

        print(f"错误 error:\n{QlworkError(os_error_problem(e))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("已中断 interrupted", file=sys.stderr)
        return 130


def _check_period(args: argparse.Namespace) -> None:
    """A period names files (``scores_<period>.parquet``): only ``YYYYH1``/``YYYYH2`` is accepted —
    and, for ``qlwork monitor``, which watches months and quarters too, any canonical period id
    (``2025Q1``, ``2025-03``: no separator, nothing else)."""
    period = getattr(args, "period", None)
    if period is None or period == "all":  # --period all: every period (score, ledger, regions)
        return
    from .errors import Problem
    from . import periods as P

    if args.command == "monitor":  # (accepted, canonical spelling, forms zh, forms en, expected)
        ok, canon_of = P.is_canonical(period), P.normalize
        zh, en, expected = P.EXPECTED_FORMS, "2025H1, 2025Q1 or 2025-03", P.EXPECTED_FORMS
    else:
        ok, canon_of = bool(P.HALF_YEAR_RE.match(str(period))), P.normalize_half_year
        zh, en, expected = "2025H1 或 2025H2", "2025H1 or 2025H2", "YYYYH1 或 YYYYH2"
    if not ok:
        canon = canon_of(period) if "/" not in str(period) and "\\" not in str(period) else None
        raise QlworkError(Problem("bad_period", f"--period 应写作 {zh}" + (f"（是否指 {canon}？）" if canon else ""),
                                  f"--period must look like {en}" + (f" (did you mean {canon}?)" if canon else ""),
                                  column="--period", found=str(period), expected=expected))


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
