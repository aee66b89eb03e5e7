"""``qlwork regions`` — 市州, 县市区 and 乡镇 results from their units' official results (never re-scored)."""
from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser("regions", help="区域结果：市州、县市区、乡镇 region results",
                              description="由正式结果计算市州、县市区、乡镇的区域结果：平均分及置信区间、分布、优秀与不合格占比、"
                                          "同级名次、较上期（不重新评分），写入 data/processed/regions/ — region results")
    p.add_argument("--period", required=True, help="期别，如 2025H2；all 表示全部有正式结果的期别")
    p.add_argument("--level", default=None, choices=["city", "county", "township"], help="只显示这一层级")
    p.add_argument("--ci", default="t", choices=["t", "bootstrap"], help="置信区间方法（默认 t）")
    p.add_argument("--conf", type=float, default=0.95, help="置信水平（默认 0.95）")
    p.add_argument("--draws", type=int, default=2000, help="自助法重抽样次数")
    p.add_argument("--seed", type=int, default=20251231, help="自助法随机种子")
    p.add_argument("--processed", default=None, help="数据文件夹 processed folder (默认 data/processed)")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from ..followup.regions import LEVEL_LABELS, describe_zh
    from ..labels import period_label
    from ..workflow import Project, available_periods
    from ..workflow.follow_through import regions_table

    prj = Project.open(processed=args.processed)
    periods = available_periods(prj.processed) if args.period == "all" else [args.period]
    for per in periods:
        t = regions_table(prj, per, ci=args.ci, level=args.conf, draws=args.draws, seed=args.seed, write=True)
        print(f"【{period_label(per)}】{describe_zh(args.ci, args.conf, args.draws, args.seed)}")
        show = t if args.level is None else t[t["level"] == args.level]
        for (fid, lv), g in show.groupby(["framework", "level"], sort=False):
            if lv == "township" and args.level is None:
                print(f"  {fid} {LEVEL_LABELS[lv]}：{len(g)} 个（--level township 查看）")
                continue
            for r in g.sort_values("rank").itertuples():
                ci = "—" if r.ci_low != r.ci_low else f"{r.ci_low:.2f}–{r.ci_high:.2f}"
                print(f"  {fid} {LEVEL_LABELS[lv]} {r.region}：{r.mean:.2f}（{ci}），第 {r.rank}/{r.n_regions}，"
                      f"优秀 {100 * r.share_top:.1f}%，不合格 {100 * r.share_bottom:.1f}%，较上期 {r.change:+.2f}")
        print(f"已写入 written: {prj.rel(prj.processed / 'regions' / f'regions_{per}.parquet')}")
    return 0
