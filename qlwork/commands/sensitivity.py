"""``qlwork sensitivity`` — Monte Carlo over weights and methods for one period.

Reads data/processed (values, units), scores every framework with
:func:`qlwork.engine.index.compute_index`, runs :func:`qlwork.sensitivity.run` and
writes ``data/processed/sensitivity_<period>.parquet`` (one row per unit) plus
``sensitivity_<period>.params.json`` atomically, then prints the least-stable
units of each framework.
"""
from __future__ import annotations

import json
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sensitivity", help="排名与等级的敏感性分析 sensitivity of ranks and grades to weights and methods",
        description="对权重（Dirichlet、±x% 扰动或层次分析法判断扰动）与方法选择做蒙特卡罗抽样，"
                    "输出每个单位的排名区间、等级概率与末位概率 — Monte Carlo over weights and methods")
    p.add_argument("--period", default=None, help="期别，如 2025H2（默认最新一期 default: latest)")
    p.add_argument("--draws", type=int, default=1000, help="抽样次数 number of draws [1000]")
    p.add_argument("--seed", type=int, default=20251231, help="随机种子 random seed [20251231]")
    p.add_argument("--model", choices=["dirichlet", "uniform", "ahp"], default="dirichlet",
                   help="权重扰动模型 weight model [dirichlet]")
    p.add_argument("--concentration", type=float, default=100.0, help="Dirichlet 集中参数 concentration [100]")
    p.add_argument("--pct", type=float, default=0.2, help="均匀扰动幅度 uniform ±x (0.2 = ±20%%) [0.2]")
    p.add_argument("--ahp-mode", choices=["saaty", "log"], default="saaty", help="判断扰动方式 judgment moves [saaty]")
    p.add_argument("--ahp-steps", type=int, default=1, help="Saaty 标度移动步数 steps [1]")
    p.add_argument("--normalizations", default=None,
                   help="参与抽样的标准化方法，逗号分隔 normalisations to mix, e.g. minmax,zscore,rank")
    p.add_argument("--imputations", default=None,
                   help="参与抽样的缺失值处理方法，逗号分隔 imputations to mix, e.g. none,mean,reweight")
    p.add_argument("--aggregations", default="arithmetic", help="合成方法，逗号分隔 aggregations [arithmetic]")
    p.add_argument("--social-share-range", default=None, help="群众评价占比范围 share range, e.g. 0.2,0.4")
    p.add_argument("--leave-one-out", action="store_true", help="随机剔除一个指标 leave one indicator out")
    p.add_argument("--chunk-size", type=int, default=512, help="每块抽样数 draws per chunk [512]")
    p.add_argument("--jobs", type=int, default=1, help="线程数 threads [1]")
    p.add_argument("--top", type=int, default=10, help="打印最不稳定的单位数 least-stable units printed [10]")
    from .score import add_public_arguments

    add_public_arguments(p)
    p.add_argument("--processed", default=None, help="数据文件夹 processed folder (默认 data/processed)")
    p.add_argument("--raw", default=None, help="原始数据文件夹 raw folder (默认 data/raw)")
    p.add_argument("--no-progress", action="store_true", help="不显示进度条 no progress bar")
    p.set_defaults(func=_run)


def _floats(text: str | None):
    if not text:
        return None
    vals = tuple(float(x) for x in text.split(","))
    return vals[0] if len(vals) == 1 else vals


def _model(args, fw, raw: Path):
    from ..sensitivity import AHPJudgments, Dirichlet, UniformPerturbation

    if args.model == "dirichlet":
        return Dirichlet(concentration=args.concentration), fw
    if args.model == "uniform":
        return UniformPerturbation(pct=args.pct), fw
    judgments = None
    folder = raw / "ahp"
    if folder.is_dir():
        from ..weights.hierarchy import hierarchy_weights
        from ..weights.questionnaire import read_questionnaires

        qs = read_questionnaires(folder)
        if qs.for_framework(fw.id):
            h = hierarchy_weights(fw, qs)
            judgments = {k: r.group.matrix for k, r in h.node_results.items() if r.group is not None}
            fw = h.framework_with_weights()
    return AHPJudgments(judgments=judgments, mode=args.ahp_mode, steps=args.ahp_steps), fw


def summary_zh(frame, top: int) -> str:
    lines = []
    for key, f in frame.groupby("framework", sort=False):
        wide = (f["rank_interval_width"] / f["group_size"].clip(lower=1))
        lines.append(f"【{key}】{len(f)} 个单位：排名区间宽度中位数 {f['rank_interval_width'].median():.0f} 位；"
                     f"等级不确定（保持名义等级概率 < 95%）{int((f['p_nominal_grade'] < 0.95).sum())} 个；"
                     f"末位概率 ≥ 50% 的 {int((f['p_bottom_n'] >= 0.5).sum())} 个")
        lines.append(f"  最不稳定的 {top} 个单位 least stable (排名区间 / 同类单位数):")
        for r in f.loc[wide.sort_values(ascending=False, kind="stable").index[:top]].itertuples():
            name = getattr(r, "unit_name", r.unit_id)
            lines.append(f"    {r.unit_id} {name}（{r.peer_group}）名义第 {r.nominal_rank}/{r.group_size} 名，"
                         f"区间 {r.rank_p05:.0f}–{r.rank_p95:.0f}，名义等级 {r.nominal_grade} "
                         f"概率 {r.p_nominal_grade:.0%}，末位概率 {r.p_bottom_n:.0%}")
    return "\n".join(lines)


def _run(args) -> int:
    import pandas as pd

    from ..io.safe import atomic_paths, claim_output_dir
    from ..errors import Problem, QlworkError
    from ..sensitivity import Methods, run
    from .score import public_scores, score_all

    from ._inputs import processed_inputs

    proc, raw, values, units, frameworks = processed_inputs(args)
    aggs = tuple(a.strip() for a in args.aggregations.split(",") if a.strip())
    norms = [n.strip() for n in args.normalizations.split(",")] if args.normalizations else None
    imps = [i.strip() for i in args.imputations.split(",")] if args.imputations else None
    methods = Methods(aggregations=aggs, social_share=_floats(args.social_share_range),
                      leave_one_out=args.leave_one_out)
    frames, params = [], {}
    pub = public_scores(args, values, proc)  # the same totals `qlwork score` ranks
    extra = {"public": pub} if pub is not None else {}
    for key, fw in frameworks.items():
        model, fw_used = _model(args, fw, raw)
        try:
            _, results = score_all(values, units[units["framework"].astype(str) == key] if "framework" in units else units,
                                   {key: fw_used}, period=args.period, aggregation=aggs[0], **extra)
        except QlworkError as e:
            if any(p.code == "no_data" for p in e.problems):
                continue
            raise
        res = results[key]
        data = None
        if norms or imps:
            data = values[values["indicator_id"].isin(fw_used.indicator_ids)]
        sens = run(res, weights=model, methods=methods, data=data, normalizations=norms, imputations=imps,
                   draws=args.draws,
                   seed=args.seed, chunk_size=args.chunk_size, n_jobs=args.jobs, progress=not args.no_progress)
        f = sens.to_frame()
        f.insert(1, "framework", key)
        f.insert(2, "period", res.period)
        frames.append(f)
        params[key] = sens.params
    if not frames:
        raise QlworkError(Problem("no_data", "没有可分析的数据", "nothing to analyse"))
    frame = pd.concat(frames, ignore_index=True)
    period = frame["period"].iloc[0]
    out = proc / f"sensitivity_{period}.parquet"
    claim_output_dir(proc, "processed", trusted=proc)  # the store it just read: qlwork's own folder
    with atomic_paths(out, proc / f"sensitivity_{period}.params.json") as (tmp, tmp_json):
        frame.to_parquet(tmp, index=False)
        tmp_json.write_text(json.dumps(params, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    print(summary_zh(frame, args.top))
    secs = sum(float(p.get("seconds") or 0) for p in params.values())
    print(f"已写入 written: {out}（{args.draws} 次抽样 draws, seed {args.seed}, {secs:.1f} s）")
    return 0
