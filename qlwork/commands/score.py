"""``qlwork score`` — score every unit for one period and write data/processed/scores_<period>.parquet."""
from __future__ import annotations

import json
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "score", help="计算清廉指数得分、排名与等级 score, rank and grade every unit",
        description="读取 data/processed 中的数值与单位名录，按框架计算各节点得分、总分、排名、等级与预警，"
                    "写入 data/processed/scores_<期别>.parquet（含参数 JSON） — compute the index for one period")
    p.add_argument("--period", default=None, help="期别，如 2025H2（默认最新一期 default: latest)")
    p.add_argument("--normalization", default="minmax",
                   choices=["minmax", "zscore", "goalposts", "target", "rank"], help="标准化方法 normalisation")
    p.add_argument("--aggregation", default="arithmetic", choices=["arithmetic", "geometric"], help="合成方法 aggregation")
    p.add_argument("--imputation", default="none", choices=["none", "mean", "median", "reweight"],
                   help="缺失值处理 imputation")
    p.add_argument("--outliers", default=None, choices=["winsorise", "log"], help="异常值处理 outlier treatment")
    p.add_argument("--social-share", type=float, default=None, help="群众评价占比 social-evaluation share (默认取框架)")
    add_public_arguments(p)
    p.add_argument("--processed", default=None, help="数据文件夹 processed folder (默认 data/processed)")
    p.add_argument("--raw", default=None, help="原始数据文件夹 raw folder, for frameworks (默认 data/raw)")
    p.add_argument("--top", type=int, default=3, help="摘要中每类列出的单位数 units listed per type in the summary")
    p.set_defaults(func=_run)


#: Short Chinese names of the warning codes for the console summary.
_WARN_SHORT = {"below_pass": "低于合格线", "bottom_n": "同类末位", "large_drop": "大幅下降",
               "missing_data": "数据缺失", "missing_public": "缺群众评价", "veto": "一票否决"}


def _read_table(path: Path):
    import pandas as pd

    from ..io.store import read_store

    return read_store(path) if path.suffix == ".parquet" else pd.read_csv(path, encoding="utf-8-sig")



def add_public_arguments(p) -> None:
    """--public / --public-source / --no-public, the same for every command that scores."""
    p.add_argument("--public", default=None,
                   help="群众评价得分文件 public scores (.parquet/.csv: unit_id[, period], public; 或 qlwork survey 的输出)。"
                        "默认使用 data/processed/public_<期别>.parquet（若存在） default: the survey output if present")
    p.add_argument("--public-source", default="direct", choices=["direct", "eblup"],
                   help="群众评价口径 direct estimate or shrunk EBLUP (survey output only)")
    p.add_argument("--no-public", action="store_true", help="不使用群众评价 ignore survey scores")


def public_scores(args, values, proc: Path):
    """The public (survey) part for ``compute_index(public=...)`` as the CLI finds it.

    ``--no-public`` → None; ``--public FILE`` → that file; otherwise every period's
    ``data/processed/public_<period>.parquet`` that exists (``qlwork survey --period P``),
    stacked on a (period, unit_id) index.  Shared by ``score`` and ``sensitivity`` so
    both rank the same totals.  Prints what it used.
    """
    import pandas as pd

    if getattr(args, "no_public", False):
        return None
    which = getattr(args, "public_source", "direct")
    if getattr(args, "public", None):
        print(f"群众评价 public scores: {args.public}（{which}）")
        return load_public(Path(args.public), which)
    found = {}
    from ..periods import sort_periods

    for per in sort_periods(values["period"].astype(str).unique()):
        cand = proc / f"public_{per}.parquet"
        if cand.is_file():
            found[per] = load_public(cand, which)
    if not found:
        return None
    parts = []
    for per, s in found.items():
        s = s if isinstance(s, pd.Series) else s.set_index("unit_id").iloc[:, -1]
        parts.append(pd.Series(s.to_numpy(dtype=float), index=pd.MultiIndex.from_arrays(
            [[per] * len(s), s.index.astype(str)], names=["period", "unit_id"])))
    pub = pd.concat(parts)
    pub.attrs["public_source"] = which
    print(f"群众评价 public scores（{which}）: 期别 {'、'.join(found)}")
    return pub

def load_public(path: Path, which: str = "direct"):
    """Public scores for ``compute_index(public=...)`` from a file.

    The ``qlwork survey`` output (long estimates with ``indicator_id``) goes through
    :func:`qlwork.survey.pipeline.public_component` (indicator "overall");
    any other table is passed on as is (unit_id[, period], public/score/estimate).
    """
    tab = _read_table(Path(path))
    if "indicator_id" in tab.columns and "mean" in tab.columns:
        from ..survey.pipeline import public_component

        return public_component(tab, which=which)
    return tab


def score_all(values, units, frameworks: dict, **kw):
    """Run :func:`qlwork.engine.index.compute_index` once per framework key of the registry.

    Returns ``(frame, results)``: the concatenated ``to_frame()`` tables (with
    ``framework`` and ``period`` columns) and ``{key: IndexResult}``.
    """
    import pandas as pd

    from ..errors import Problem, QlworkError
    from ..engine.index import compute_index

    if "framework" in units.columns:
        keys = [k for k in pd.unique(units["framework"].astype(str))]
    else:
        keys = list(frameworks)
    unknown = [k for k in keys if k not in frameworks]
    if unknown:
        raise QlworkError(Problem("unknown_framework", f"单位名录引用了不存在的框架 {unknown}",
                                  "the registry names frameworks that are not available", column="framework",
                                  found=unknown, expected=list(frameworks)))
    frames, results = [], {}
    for key in keys:
        fw = frameworks[key]
        u = units[units["framework"].astype(str) == key] if "framework" in units.columns else units
        v = values[values["unit_id"].isin(u["unit_id"]) & values["indicator_id"].isin(fw.indicator_ids)]
        if v.empty:
            continue
        res = compute_index(v, fw, units=u, **kw)
        f = res.to_frame()
        f.insert(1, "framework", key)
        f.insert(2, "period", res.period)
        frames.append(f)
        results[key] = res
    if not frames:
        raise QlworkError(Problem("no_data", "没有可评分的数据", "nothing to score"))
    return pd.concat(frames, ignore_index=True), results


def summary_zh(frame, results: dict, top: int = 3) -> str:
    lines = []
    for key, res in results.items():
        f = frame[frame["framework"] == key]
        p = res.params
        lines.append(f"【{res.framework.name}】{res.period}：{len(f)} 个单位；标准化 {p['normalization']}，"
                     f"合成 {p['aggregation']}，缺失 {p['imputation']}，群众评价 {p['public']}"
                     f"（占比 {p['social_share']:g}）")
        grades = f["grade"].value_counts()
        lines.append("  等级分布：" + "，".join(f"{g} {int(grades.get(g, 0))}" for g, _ in p["grades"]))
        for t, g in f.groupby("unit_type", sort=True):
            g = g.sort_values(["rank", "unit_id"], na_position="last")
            best = "、".join(f"{r.unit_name}({r.total:.1f})" for r in g.head(top).itertuples())
            worst = "、".join(f"{r.unit_name}({r.total:.1f})" for r in g.dropna(subset=["total"]).tail(top).itertuples())
            lines.append(f"  {t}（{len(g)} 个，均分 {g['total'].mean():.1f}）前{top}：{best}；后{top}：{worst}")
        w = res.warnings["code"].value_counts()
        if len(w):
            lines.append("  预警：" + "，".join(f"{_WARN_SHORT.get(c, c)}({c}) {n}" for c, n in w.items()))
    return "\n".join(lines)


def _run(args) -> int:
    import pandas as pd

    from ..io.atomic import atomic_path, atomic_write_text

    from ._inputs import processed_inputs

    proc, raw, values, units, frameworks = processed_inputs(args)
    kw = dict(period=args.period, normalization=args.normalization, aggregation=args.aggregation,
              imputation=args.imputation, outliers=args.outliers, social_share=args.social_share)
    pub = public_scores(args, values, proc)
    if pub is not None:
        kw["public"] = pub
    frame, results = score_all(values, units, frameworks, **kw)
    period = frame["period"].iloc[0]
    out = proc / f"scores_{period}.parquet"
    warn = pd.concat([r.warnings.assign(framework=k) for k, r in results.items()], ignore_index=True)
    params = {k: r.params for k, r in results.items()}
    # Each file is replaced atomically; the lock keeps the three files of one period from
    # one run when two analysts score the same period at once (last writer wins as a set).
    from filelock import FileLock

    with FileLock(str(proc / f".scores_{period}.lock"), timeout=600):
        with atomic_path(out) as tmp:
            frame.to_parquet(tmp, index=False)
        with atomic_path(proc / f"warnings_{period}.parquet") as tmp:
            warn.to_parquet(tmp, index=False)
        atomic_write_text(proc / f"scores_{period}.params.json",
                          json.dumps(params, ensure_ascii=False, indent=2, default=str))
    print(summary_zh(frame, results, args.top))
    print(f"已写入 written: {out}（参数 params: {out.with_suffix('').name}.params.json）")
    return 0
