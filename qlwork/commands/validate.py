"""``qlwork validate`` — check data/raw and print every problem, located (exit 1 on errors)."""
from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "validate", help="检查原始数据 check the raw data",
        description="检查单位名录和部门报表，逐条列出问题（文件、工作表、行、列）；有错误时退出码为 1"
                    " — check the registry and department workbooks; exit code 1 when errors are found")
    p.add_argument("--raw", default=None, help="原始数据文件夹 raw data folder (默认 default: data/raw)")
    p.set_defaults(func=_run)


def _run(args) -> int:
    import sys

    from ..io.validate import validate

    report = validate(args.raw, progress=sys.stderr.isatty())
    for i, prob in enumerate(report.problems, 1):
        kind = "错误 error" if prob.severity == "error" else "警告 warning"
        print(f"{i}. {kind} {prob}")
    print(report.summary_zh())
    return 0 if report.ok else 1
