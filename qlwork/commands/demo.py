"""``qlwork demo`` — write the synthetic demo province (default into data/raw)."""
from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "demo", help="生成示例省份数据 generate the synthetic demo data",
        description="生成可复现的示例数据（单位名录、部门报表、专家问卷、满意度调查）"
                    " — write the deterministic synthetic demo province")
    p.add_argument("--out", default=None, help="输出文件夹 output folder (默认 default: data/raw)")
    p.add_argument("--scale", choices=["county", "province"], default="county",
                   help="规模 scale: county ≈1,500 单位 units (秒级 seconds), province ≈30,000")
    p.add_argument("--seed", type=int, default=None, help="随机种子 random seed (默认 default 20251231)")
    p.add_argument("--force", action="store_true", help="覆盖非空文件夹 overwrite a non-empty folder")
    p.add_argument("--follow-through", action="store_true", dest="follow_through",
                   help="在 qlwork score 之后：写入示例整改台账与廉政风险点登记表（由正式结果的预警生成）"
                        " after `qlwork score`: write the demo ledger and risk registers")
    p.add_argument("--processed", default=None, help="正式结果所在的数据文件夹（--follow-through 用，默认 data/processed）")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from ..demo import DEFAULT_SEED, generate_demo

    seed = DEFAULT_SEED if args.seed is None else args.seed
    if args.follow_through:
        from ..demo.follow_through import write_follow_through
        from ..paths import processed_dir, raw_dir

        got = write_follow_through(args.out or raw_dir(), args.processed or processed_dir(), seed=seed,
                                   force=args.force)
        print(f"已写入示例整改台账 {got['ledger']} 项、廉政风险点登记表 {got['risk']} 行（故意错误 {len(got['errors'])} 处）")
        return 0
    s = generate_demo(args.out, scale=args.scale, seed=seed, force=args.force)
    print(s.summary_zh())
    return 0
