"""``qlwork survey --period 2025H2`` — per-unit public-satisfaction estimates (获得感);
see :mod:`qlwork.workflow.survey`."""
from __future__ import annotations

__all__ = ["register"]


def register(subparsers) -> None:
    p = subparsers.add_parser("survey", help="群众满意度调查：加权、单位估计与收缩 public survey estimates",
                              description="群众满意度调查：有效性规则、按县市区加权（raking）、单位估计与小域收缩，写入 data/processed/public_<期别>.parquet")
    p.add_argument("--period", required=True, help="期次，如 2025H2 (period)")
    p.add_argument("--raw", default=None, help="原始数据目录 raw folder (default data/raw)")
    p.add_argument("--out", default=None, help="输出目录 output folder (default data/processed)")
    p.add_argument("--straight-lining", default="all_max", choices=["all_max", "all_same", "none"],
                   help="直线作答规则 straight-lining rule (default all_max, Jiangxi)")
    p.add_argument("--trim-k", type=float, default=5.0, help="权数截尾倍数 (× median; 0 = off)")
    p.add_argument("--fh-method", default="REML", choices=["REML", "ML"])
    p.add_argument("--prop-method", default="wilson", choices=["wilson", "beta"])
    p.set_defaults(func=lambda a: (_run()(a.period, a.raw, a.out,
                                       straight_lining=None if a.straight_lining == "none" else a.straight_lining,
                                       trim_k=a.trim_k or None, fh_method=a.fh_method,
                                       prop_method=a.prop_method), 0)[1])


def _run():
    from ..workflow.survey import run_survey

    return run_survey
