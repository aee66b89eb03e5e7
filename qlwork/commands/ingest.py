"""``qlwork ingest`` — read data/raw into Parquet tables under data/processed."""
from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "ingest", help="读取原始数据写入 Parquet read raw data into Parquet",
        description="校验并读取单位名录和部门报表，写入 data/processed/values.parquet、units.parquet、problems.parquet"
                    " — validate and read the raw data into data/processed")
    p.add_argument("--raw", default=None, help="原始数据文件夹 raw data folder (默认 default: data/raw)")
    p.add_argument("--out", default=None, help="输出文件夹 output folder (默认 default: data/processed)")
    p.add_argument("--exclude-invalid", action="store_true",
                   help="排除无效单元格后继续写入 write the valid cells and record the problems instead of stopping")
    p.set_defaults(func=_run)


def _run(args) -> int:
    import sys

    from ..io.build import ingest

    res = ingest(args.raw, args.out, exclude_invalid=args.exclude_invalid, progress=sys.stderr.isatty())
    print(res.summary_zh())
    return 0
