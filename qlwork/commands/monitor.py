"""``qlwork monitor --period 2025H2`` — 超常预警: alerts from monthly histories and peers.

Reads ``values_fine.parquet`` (monthly and quarterly values, written by ``qlwork ingest``)
and ``units.parquet``, runs the detectors of :mod:`qlwork.monitor` and writes
``data/processed/alerts_<period>.parquet`` with ``alerts_<period>.params.json``; prints a
short Chinese summary.  An alert is a prompt to look, never a grade change.
"""
from __future__ import annotations

from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "monitor", help="动态监测：超常预警 dynamic monitoring: abnormal-value alerts",
        description="用月度（或季度）数据检测本单位历史突变、同类离群、持续偏移、趋势漂移和多指标组合异常，"
                    "经 Benjamini–Hochberg 校正后写入 data/processed/alerts_<期别>.parquet；预警只提示核查，不改变得分和等级"
                    " — detect abnormal values in monthly data and write the alert table")
    p.add_argument("--period", default=None,
                   help="评价期，如 2025H2、2025Q4 或 2025-12（默认：含最新月份的半年 default: the half-year of the latest month)")
    p.add_argument("--grain", default="M", choices=["M", "Q"], help="监测的序列：M 月度，Q 季度 (series monitored)")
    p.add_argument("--fdr", type=float, default=None, help="错误发现率 Benjamini–Hochberg level (默认 0.05)")
    p.add_argument("--min-strength", type=float, default=None, help="最小强度（等效 |z|，默认 3）")
    p.add_argument("--detectors", default=None,
                   help="检测方法，逗号分隔 comma-separated: history,peers,shift,drift,joint（默认全部 all）")
    p.add_argument("--top", type=int, default=5, help="摘要列出的最强预警条数 strongest alerts listed")
    p.add_argument("--processed", default=None, help="数据文件夹 processed folder (默认 data/processed)")
    p.add_argument("--raw", default=None, help="原始数据文件夹 raw folder, for frameworks (默认 data/raw)")
    p.add_argument("--out", default=None, help="输出文件夹 output folder (默认同 --processed)")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from .. import paths
    from ..workflow.monitoring import monitor_period

    proc = Path(args.processed) if args.processed else paths.processed_dir()
    raw = Path(args.raw) if args.raw else paths.raw_dir()
    kw = {}
    if args.fdr is not None:
        kw["fdr"] = args.fdr
    if args.min_strength is not None:
        kw["min_strength"] = args.min_strength
    if args.detectors:
        kw["detectors"] = tuple(d.strip() for d in args.detectors.split(",") if d.strip())
    res, path, meta = monitor_period(proc, raw, period=args.period, grain=args.grain, out=args.out, **kw)
    print(res.summary_zh(top=args.top))
    print(f"已写入 written: {path}（{len(res.alerts)} 条预警，参数 {meta.name}，用时 {res.seconds:.1f} 秒）")
    return 0
