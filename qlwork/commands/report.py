"""``qlwork report --period 2025H2 [--scope 县市区|市州|乡镇|单位类型] [--units all|U000123,...] [--pdf]``

Writes the report set of the official result (``qlwork score``) for a scope —
a filter: every number is the official one — to
``data/processed/reports/<period>/<scope>/`` (see :mod:`qlwork.report.batch`).
``--rescore`` re-scores inside the scope instead (labelled, no notices).
"""
from __future__ import annotations

import sys

__all__ = ["register"]


def register(subparsers) -> None:
    p = subparsers.add_parser("report", help="生成报告：排行榜 Excel、体检报告单、预警通知书 — write reports",
                              description="按期别和范围，从正式结果（qlwork score）生成评审报告（排行榜 Excel、体检报告单、"
                                          "预警通知书、图表、PDF）；范围只是筛选，分数、等级、名次、预警均为正式结果 — "
                                          "write the review reports of the official result for a period and scope")
    p.add_argument("--period", required=True, help="期别，如 2025H2 (period)")
    p.add_argument("--scope", default=None,
                   help="范围：市州、县市区、乡镇名称或单位类型（默认全部）scope: a 市州, 县市区, 乡镇 or unit type")
    p.add_argument("--units", default="all", help="all 或逗号分隔的单位编码 (only these units' reports)")
    p.add_argument("--pdf", action="store_true", help="同时用无头 Chromium 生成 PDF (also print PDFs)")
    p.add_argument("--no-charts", action="store_true", help="不生成分析图表 (skip analyst charts)")
    p.add_argument("--rescore", action="store_true",
                   help="在范围内重新评分（非正式结果，每页标注，不发预警通知书）re-score inside the scope (labelled)")
    p.add_argument("--sensitivity-draws", type=int, default=0,
                   help="重新做敏感性分析的抽样次数；0 表示使用已保存的结果 (Monte Carlo draws; 0 = the saved run)")
    p.add_argument("--seed", type=int, default=None, help="随机种子 random seed（默认取规格）")
    p.add_argument("--processed", default=None, help="数据文件夹 processed folder (默认 data/processed)")
    p.add_argument("--raw", default=None, help="原始数据文件夹 raw folder (默认 data/raw)")
    p.add_argument("--out", default=None, help="输出文件夹 (默认 data/processed/reports/<period>/<scope>)")
    p.add_argument("--quiet", action="store_true", help="不显示进度 (no progress bars)")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from ..workflow.reporting import report
    from .score import project_from_args

    prj = project_from_args(args)
    rs = report(prj, args.period, args.scope, units=args.units, pdf=args.pdf, charts=not args.no_charts,
                out=args.out, rescore=args.rescore, sensitivity_draws=args.sensitivity_draws, seed=args.seed,
                quiet=args.quiet)
    print(repr(rs))
    for m in rs.messages:
        print(m, file=sys.stderr)
    print(f"输出 output: {prj.rel(rs.out_dir)}")
    return 0
