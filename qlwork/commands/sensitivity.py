"""``qlwork sensitivity`` — Monte Carlo over weights (and methods) around the official result.

Reads the official result of the period (``qlwork score``), runs
:func:`qlwork.workflow.uncertainty.run_sensitivity` with the spec's defaults (κ,
draws, seed) unless overridden, writes ``data/processed/sensitivity_<period>.parquet``
(+ ``.params.json``) and prints the least-stable units of each framework.
"""
from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sensitivity", help="排名与等级的敏感性分析 sensitivity of ranks and grades to weights and methods",
        description="对权重（Dirichlet、±x% 扰动或层次分析法判断扰动）与方法选择做蒙特卡罗抽样，"
                    "输出每个单位的排名区间、等级概率与末位概率 — Monte Carlo over weights and methods")
    p.add_argument("--period", default=None, help="期别，如 2025H2（默认最新一期 default: latest)")
    p.add_argument("--draws", type=int, default=None, help="抽样次数 number of draws（默认取规格 default: the spec）")
    p.add_argument("--seed", type=int, default=None, help="随机种子 random seed（默认取规格）")
    p.add_argument("--model", choices=["dirichlet", "uniform", "ahp"], default=None,
                   help="权重扰动模型 weight model（默认取规格：dirichlet）")
    p.add_argument("--concentration", type=float, default=None, help="Dirichlet 集中参数 κ（默认取规格：100）")
    p.add_argument("--pct", type=float, default=0.2, help="均匀扰动幅度 uniform ±x (0.2 = ±20%%) [0.2]")
    p.add_argument("--ahp-mode", choices=["saaty", "log"], default="saaty", help="判断扰动方式 judgment moves [saaty]")
    p.add_argument("--ahp-steps", type=int, default=1, help="Saaty 标度移动步数 steps [1]")
    p.add_argument("--normalizations", default=None,
                   help="参与抽样的标准化方法，逗号分隔 normalisations to mix, e.g. minmax,zscore,rank")
    p.add_argument("--imputations", default=None,
                   help="参与抽样的缺失值处理方法，逗号分隔 imputations to mix, e.g. none,mean,reweight")
    p.add_argument("--aggregations", default=None, help="合成方法，逗号分隔 aggregations（默认取正式结果的合成方法）")
    p.add_argument("--social-share-range", default=None, help="群众评价占比范围 share range, e.g. 0.2,0.4")
    p.add_argument("--leave-one-out", action="store_true", help="随机剔除一个指标 leave one indicator out")
    p.add_argument("--chunk-size", type=int, default=512, help="每块抽样数 draws per chunk [512]")
    p.add_argument("--jobs", type=int, default=1, help="线程数 threads [1]")
    p.add_argument("--top", type=int, default=10, help="打印最不稳定的单位数 least-stable units printed [10]")
    p.add_argument("--processed", default=None, help="数据文件夹 processed folder (默认 data/processed)")
    p.add_argument("--raw", default=None, help="原始数据文件夹 raw folder (默认 data/raw)")
    p.add_argument("--no-progress", action="store_true", help="不显示进度条 no progress bar")
    p.set_defaults(func=_run)


def _floats(text: str | None):
    if not text:
        return None
    vals = tuple(float(x) for x in text.split(","))
    return vals[0] if len(vals) == 1 else vals


def _list(text):
    return [x.strip() for x in text.split(",") if x.strip()] if text else None


def summary_zh(frame, params: dict, top: int) -> str:
    lines = []
    for key, f in frame.groupby("framework", sort=False):
        wide = (f["rank_interval_width"] / f["group_size"].clip(lower=1))
        lines.append(f"【{key}】{len(f)} 个单位：排名区间宽度中位数 {f['rank_interval_width'].median():.0f} 位；"
                     f"等级不确定（保持正式等级概率 < 95%）{int((f['p_nominal_grade'] < 0.95).sum())} 个；"
                     f"末位概率 ≥ 50% 的 {int((f['p_bottom_n'] >= 0.5).sum())} 个")
        desc = (params.get(key) or {}).get("description_zh")
        if desc:
            lines.append(f"  模拟方式：{desc}")
        lines.append(f"  最不稳定的 {top} 个单位 least stable (排名区间 / 同类单位数):")
        for r in f.loc[wide.sort_values(ascending=False, kind="stable").index[:top]].itertuples():
            name = getattr(r, "unit_name", r.unit_id)
            lines.append(f"    {r.unit_id} {name}（{r.peer_group}）正式第 {r.nominal_rank}/{r.group_size} 名，"
                         f"区间 {r.rank_p05:.0f}–{r.rank_p95:.0f}，正式等级 {r.nominal_grade} "
                         f"概率 {r.p_nominal_grade:.0%}，末位概率 {r.p_bottom_n:.0%}")
    return "\n".join(lines)


def _run(args) -> int:
    from ..workflow import available_periods
    from ..workflow.uncertainty import run_sensitivity
    from .score import project_from_args

    prj = project_from_args(args)
    period = args.period or (available_periods(prj.processed) or prj.periods())[-1]
    frame, params = run_sensitivity(
        prj, period, draws=args.draws, seed=args.seed, model=args.model, concentration=args.concentration,
        pct=args.pct, ahp_mode=args.ahp_mode, ahp_steps=args.ahp_steps, normalizations=_list(args.normalizations),
        imputations=_list(args.imputations), aggregations=_list(args.aggregations),
        social_share_range=_floats(args.social_share_range), leave_one_out=args.leave_one_out,
        chunk_size=args.chunk_size, jobs=args.jobs, progress=not args.no_progress)
    print(summary_zh(frame, params, args.top))
    secs = sum(float(p.get("seconds") or 0) for p in params.values())
    draws = next(iter(params.values())).get("draws")
    print(f"已写入 written: {prj.rel(prj.processed / f'sensitivity_{period}.parquet')}（{draws} 次抽样 draws, {secs:.1f} s）")
    return 0
