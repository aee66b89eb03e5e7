"""``qlwork score`` — compute the official result of a period (正式结果) and write it to
``data/processed/results/<period>/`` (see :mod:`qlwork.workflow.official`)."""
from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "score", help="计算正式结果：得分、等级、名次与预警 compute the official result",
        description="按指数规格计算各单位的综合得分、等级、同类名次与预警（含一票否决、加分与公布精度），"
                    "写入 data/processed/results/<期别>/（正式结果，报告、通知书、看板均读取它）"
                    " — compute and persist the official result of a period")
    p.add_argument("--period", default=None, help="期别，如 2025H2；all 表示全部期别（默认最新一期）")
    p.add_argument("--spec", default=None, help="指数规格文件 spec file (YAML/JSON)，见 docs/index_engine.md")
    p.add_argument("--weights", default=None, help="权重文件 weights file written by `qlwork weights` (.parquet/.csv)")
    p.add_argument("--normalization", default=None, choices=["minmax", "zscore", "goalposts", "target", "rank"],
                   help="标准化方法 normalisation (覆盖规格 overrides the spec)")
    p.add_argument("--aggregation", default=None, choices=["arithmetic", "geometric"], help="合成方法 aggregation")
    p.add_argument("--imputation", default=None, choices=["none", "mean", "median", "reweight"], help="缺失值处理")
    p.add_argument("--outliers", default=None, choices=["none", "winsorise", "log"], help="异常值处理")
    p.add_argument("--social-share", type=float, default=None, help="群众评价占比 social-evaluation share")
    add_public_arguments(p)
    p.add_argument("--processed", default=None, help="数据文件夹 processed folder (默认 data/processed)")
    p.add_argument("--raw", default=None, help="原始数据文件夹 raw folder (默认 data/raw)")
    p.add_argument("--top", type=int, default=3, help="摘要中每类列出的单位数 units listed per type in the summary")
    p.set_defaults(func=_run)


def add_public_arguments(p) -> None:
    """--public / --public-source / --no-public, the same for every command that scores."""
    p.add_argument("--public", default=None,
                   help="群众评价得分文件 public scores (.parquet/.csv；或 qlwork survey 的输出)。"
                        "默认使用 data/processed/public_<期别>.parquet（若存在）")
    p.add_argument("--public-source", default=None, choices=["direct", "eblup"],
                   help="群众评价口径：direct 直接估计（默认）或 eblup 小域估计")
    p.add_argument("--no-public", action="store_true", help="不使用群众评价 ignore survey scores")


def overrides_from_args(args) -> dict:
    """Spec fields given on the command line (None = not given)."""
    ov: dict = {}
    for a, f in (("normalization", "normalization"), ("aggregation", "aggregation"), ("imputation", "imputation"),
                 ("outliers", "outliers"), ("social_share", "social_share")):
        v = getattr(args, a, None)
        if v is not None:
            ov[f] = v
    src = getattr(args, "public_source", None)
    if src:
        ov["public_source"] = f"survey-{src}"
    return ov


def project_from_args(args):
    from ..workflow import Project

    return Project.open(raw=getattr(args, "raw", None), processed=getattr(args, "processed", None))


def specs_from_args(project, args) -> dict:
    ov = overrides_from_args(args)
    return {fid: project.spec(fid, ov, spec_file=getattr(args, "spec", None), weights_file=getattr(args, "weights", None))
            for fid in project.frameworks()}


def summary_zh(official, top: int = 3) -> str:
    """A short Chinese summary of an official result (per framework: methods, grades, best/worst, warnings)."""
    from ..labels import WARNING_SHORT, method_label, period_label

    lines = []
    f_all = official.ranking()
    for fid, res in official.results.items():
        f = f_all[f_all["framework"] == fid]
        s = res.spec
        lines.append(f"【{res.framework.name}】{period_label(res.period)}：{len(f)} 个单位；"
                     f"{method_label('normalization', s.normalization)}，{method_label('aggregation', s.aggregation)}，"
                     f"群众评价 {method_label('public_source', res.params.get('public_detail') or res.params['public'])}"
                     f"（占比 {s.social_share:g}）；公布精度 {s.precision.decimals} 位小数；规格指纹 {s.fingerprint()}")
        grades = f["grade"].value_counts()
        lines.append("  等级分布：" + "，".join(f"{g} {int(grades.get(g, 0))}" for g in s.grade_labels))
        d = s.precision.decimals
        for t, g in f.groupby("unit_type", sort=True):
            g = g.sort_values(["rank", "unit_id"], na_position="last")
            best = "、".join(f"{r.unit_name}({r.total:.{d}f})" for r in g.head(top).itertuples())
            worst = "、".join(f"{r.unit_name}({r.total:.{d}f})" for r in g.dropna(subset=["total"]).tail(top).itertuples())
            lines.append(f"  {t}（{len(g)} 个，均分 {g['total'].mean():.{d}f}）前{top}：{best}；后{top}：{worst}")
        w = res.warnings["code"].value_counts()
        if len(w):
            lines.append("  预警：" + "，".join(f"{WARNING_SHORT.get(c, c)}({c}) {n}" for c, n in w.items()))
        vetoed = int((res.ranking["veto"].astype(str) != "").sum())
        bonus = int((res.scores["bonus"] > 0).sum())
        if vetoed or bonus:
            lines.append(f"  一票否决 {vetoed} 个单位；加分 {bonus} 个单位（上限 {s.bonus_cap:g} 分）")
    return "\n".join(lines)


def _run(args) -> int:
    from filelock import FileLock

    from ..workflow import score

    prj = project_from_args(args)
    specs = specs_from_args(prj, args)
    prj.processed.mkdir(parents=True, exist_ok=True)
    # one writer per processed folder at a time: two analysts scoring at once get whole results, in turn
    with FileLock(str(prj.processed / ".score.lock"), timeout=600):
        out = score(prj, args.period, specs=specs, public_file=args.public, no_public=args.no_public)
    for per, off in out.items():
        print(summary_zh(off, args.top))
        print(f"已写入正式结果 written: {prj.rel(prj.processed / 'results' / per)}/（规格 spec.yaml，清单 manifest.json）")
    return 0
