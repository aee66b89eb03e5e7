"""``qlwork weights`` — AHP weights from the expert questionnaires in data/raw/ahp.

Prints each expert's CR at every node, the group weights with the consistency
table, and writes ``data/processed/weights_ahp.parquet`` (or .csv) atomically:
one row per node/indicator with local and global weights and every choice made.
"""
from __future__ import annotations

from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "weights", help="由专家问卷计算层次分析法权重 AHP weights from the expert questionnaires",
        description="读取 data/raw/ahp 的专家判断矩阵，输出各专家一致性比率、群组权重和层次总排序一致性"
                    " — read the expert questionnaires, print per-expert CR and group weights")
    p.add_argument("--raw", default=None, help="原始数据文件夹 raw folder (默认 default: data/raw)")
    p.add_argument("--out", default=None, help="输出文件 output file (默认 data/processed/weights_ahp.parquet)")
    p.add_argument("--format", choices=["parquet", "csv"], default=None, help="输出格式 output format")
    p.add_argument("--framework", default="all", help="框架编号或 county/village/all framework (默认 all)")
    p.add_argument("--approach", choices=["AIJ", "AIP"], default="AIJ", help="群组汇总 group aggregation")
    p.add_argument("--method", choices=["eigen", "geometric", "arithmetic"], default="eigen", help="权重方法 priority method")
    p.add_argument("--ri-table", default=None, help="随机一致性指标表 RI table (默认 default saaty1980)")
    p.add_argument("--inconsistent", choices=["keep", "exclude", "downweight"], default="keep",
                   help="不一致专家的处理 handling of experts with CR >= 0.1")
    p.add_argument("--blank", choices=["nan", "error"], default="nan", help="漏填的处理 blank pairs: 补全 nan / 报错 error")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from ..io.atomic import atomic_path
    from ..paths import processed_dir, raw_dir
    from ..workflow.weights import ahp_weights, weights_summary_zh

    raw = Path(args.raw) if args.raw else raw_dir()
    out_df, results, qs = ahp_weights(raw, framework=args.framework, approach=args.approach, method=args.method,
                                      ri_table=args.ri_table, inconsistent=args.inconsistent, blank=args.blank)
    print(weights_summary_zh(results, qs, raw))
    fmt = args.format or (Path(args.out).suffix.lstrip(".") if args.out else "parquet")
    out = Path(args.out) if args.out else processed_dir() / f"weights_ahp.{fmt}"
    if fmt == "csv":
        from ..io.safe_export import safe_csv  # node names starting with = + - @ stay text

        safe_csv(out_df, out)
    else:
        with atomic_path(out) as tmp:
            out_df.to_parquet(tmp, index=False)
    print(f"\n已写出 written: {out}")
    return 0
