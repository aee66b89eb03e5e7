"""``qlwork report --period 2025H2 [--scope 县市区|市州|单位类型] [--units all|U000123,...] [--pdf]``

Scores the units in scope (``qlwork.engine.index.compute_index`` per framework, via
``qlwork score``'s ``score_all``), adds the public component and divergence
flags when ``data/processed/public_<period>.parquet`` exists (``qlwork
survey``), optionally a Monte Carlo sensitivity run, and writes the whole
report set atomically to ``data/processed/reports/<period>/<scope>/``
(see :mod:`qlwork.report.batch` for the layout).
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

__all__ = ["register", "run", "report", "select_scope"]


def register(subparsers) -> None:
    p = subparsers.add_parser("report", help="生成报告：排行榜 Excel、体检报告单、预警通知书 — write reports",
                              description="按期别和范围生成评审报告（排行榜 Excel、体检报告单、预警通知书、图表、PDF）— "
                                          "write the review reports for a period and scope")
    p.add_argument("--period", required=True, help="期别，如 2025H2 (period)")
    p.add_argument("--scope", default=None,
                   help="范围：市州、县市区名称或单位类型（默认全部）scope: a 市州, 县市区 or unit type (default all)")
    p.add_argument("--units", default="all", help="all 或逗号分隔的单位编码 (only these units' reports)")
    p.add_argument("--pdf", action="store_true", help="同时用无头 Chromium 生成 PDF (also print PDFs)")
    p.add_argument("--no-charts", action="store_true", help="不生成分析图表 (skip analyst charts)")
    p.add_argument("--normalization", default="minmax",
                   choices=["minmax", "zscore", "goalposts", "target", "rank"], help="标准化方法 normalisation")
    p.add_argument("--aggregation", default="arithmetic", choices=["arithmetic", "geometric"], help="合成方法")
    p.add_argument("--imputation", default="none", choices=["none", "mean", "median", "reweight"], help="缺失值处理")
    p.add_argument("--public", default=None,
                   help="群众评价得分文件 (.parquet/.csv: unit_id, public[, public_se]); 默认 public_<period>.parquet")
    p.add_argument("--sensitivity-draws", type=int, default=0,
                   help="敏感性分析抽样次数，0 表示不做 (Monte Carlo draws; 0 = none)")
    p.add_argument("--seed", type=int, default=20251231, help="随机种子 random seed")
    p.add_argument("--processed", default=None, help="数据文件夹 processed folder (默认 data/processed)")
    p.add_argument("--raw", default=None, help="原始数据文件夹 raw folder (默认 data/raw)")
    p.add_argument("--out", default=None, help="输出文件夹 (默认 data/processed/reports/<period>/<scope>)")
    p.add_argument("--quiet", action="store_true", help="不显示进度 (no progress bars)")
    p.set_defaults(func=_run)


def select_scope(units, scope: str | None):
    """Units of a 市州, 县市区 or unit type (exact name); all units for None/全部/all."""
    from ..errors import Problem, QlworkError

    if scope is None or str(scope).strip() in ("", "全部", "all", "ALL"):
        return units, "全部"
    scope = str(scope).strip()
    for col in ("city", "county", "unit_type", "township"):
        if col in units.columns:
            m = units[col].astype(str) == scope
            if m.any():
                return units[m], scope
    choices = []
    for col in ("city", "county", "unit_type"):
        if col in units.columns:
            choices += sorted(units[col].dropna().astype(str).unique())[:20]
    raise QlworkError(Problem("unknown_scope", f"找不到范围“{scope}”：不是已知的市州、县市区或单位类型",
                              "scope is not a known 市州, 县市区 or unit type", column="scope", found=scope,
                              expected="、".join(choices[:40])))


def _public(args, proc: Path, period: str):
    """(public Series for compute_index or None, table with public_se for divergence or None, note)."""
    import pandas as pd

    path = Path(args.public) if args.public else proc / f"public_{period}.parquet"
    if not path.is_file():
        return None, None, "无群众评价文件 (no public scores)"
    from ..io.store import read_store

    t = read_store(path) if path.suffix == ".parquet" else pd.read_csv(path, encoding="utf-8-sig")
    if "indicator_id" in t.columns:  # qlwork survey output (long, one row per unit × indicator)
        from ..survey.pipeline import public_component

        s = public_component(t)
        ov = t[t["indicator_id"] == "overall"].set_index("unit_id")
        se = ov["se"] if "se" in ov.columns else None
    else:
        t = t.set_index("unit_id")
        col = next(c for c in ("public", "score", "estimate", "mean") if c in t.columns)
        s = t[col].rename("public")
        se = t["public_se"] if "public_se" in t.columns else (t["se"] if "se" in t.columns else None)
    s.index = s.index.astype(str)
    tab = None
    if se is not None:
        tab = pd.DataFrame({"public_se": se.astype(float)})
        tab.index = tab.index.astype(str)
    return s, tab, f"群众评价 {path.name}"


def run(args) -> "object":

    from .. import paths
    from ..errors import Problem, QlworkError
    from ..report import generate_reports
    from ..report.methodology import data_files_from_values
    from .score import score_all

    from ._inputs import processed_inputs

    proc, raw, values, units, frameworks = processed_inputs(args)
    from ..periods import sort_key, sort_periods

    periods = sort_periods(values["period"].astype(str).unique())
    if args.period not in periods:
        raise QlworkError(Problem("unknown_period", f"数据中没有期别 {args.period}", "period not in the data",
                                  file=str(proc / "values.parquet"), column="period", found=args.period, expected="、".join(periods)))
    scoped, label = select_scope(units, args.scope)
    ids = set(scoped["unit_id"].astype(str))
    v = values[values["unit_id"].astype(str).isin(ids)]
    # the report never looks into later periods
    v = v[v["period"].astype(str).map(sort_key) <= sort_key(args.period)]
    public, se_tab, pub_note = _public(args, proc, args.period)
    kw = dict(period=args.period, normalization=args.normalization, aggregation=args.aggregation,
              imputation=args.imputation)
    if public is not None:
        kw["public"] = public[public.index.isin(ids)]
    _, results = score_all(v, scoped, frameworks, **kw)
    res_list = list(results.values())
    log = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr))
    log("已评分 scored: " + "；".join(repr(r) for r in res_list) + f"（{pub_note}）")

    compare = None
    if se_tab is not None:
        try:
            from ..analysis.compare import divergence

            compare = {}
            for r in res_list:
                d = r.scores[["internal", "public"]].join(se_tab, how="inner").dropna()
                d["unit_type"] = r.units.reindex(d.index)["peer_group"] if "peer_group" in r.units.columns \
                    else r.units.reindex(d.index)["unit_type"]
                if len(d) >= 5:
                    compare[r.framework.id] = divergence(d.rename_axis("unit_id").reset_index(), seed=args.seed)
        except Exception as e:  # noqa: BLE001 - divergence is an optional extra
            log(f"背离分析未完成 (divergence skipped): {e}")
            compare = None
    sens = None
    if args.sensitivity_draws > 0:
        from ..sensitivity import run as sens_run

        sens = {r.framework.id: sens_run(r, draws=args.sensitivity_draws, seed=args.seed,
                                         progress=not args.quiet) for r in res_list}
    subset = None if args.units in (None, "", "all", "ALL") else [u.strip() for u in args.units.split(",") if u.strip()]
    if subset:
        unknown = sorted(set(subset) - ids)
        if unknown:
            raise QlworkError(Problem("unknown_unit", f"范围“{label}”中没有这些单位：{unknown[:10]}",
                                      "units not in scope", found=unknown[:10], expected=f"范围 {label} 内的单位编码"))
    files = data_files_from_values(v, raw)
    if public is not None:
        files.append(Path(args.public) if args.public else proc / f"public_{args.period}.parquet")
    rs = generate_reports(res_list, period=args.period, scope=label, out_dir=args.out, units=subset,
                          sensitivity=sens, compare=compare, data_files=files, data_root=paths.project_root(),
                          pdf=args.pdf, charts=not args.no_charts, progress=not args.quiet)
    return rs


def _run(args) -> int:
    rs = run(args)
    print(repr(rs))
    for m in rs.messages:
        print(m)
    print(f"输出 output: {rs.out_dir}")
    return 0


def report(period: str, scope: str | None = None, *, units: str | Sequence[str] = "all", pdf: bool = False,
           charts: bool = True, normalization: str = "minmax", aggregation: str = "arithmetic",
           imputation: str = "none", public: str | None = None, sensitivity_draws: int = 0, seed: int = 20251231,
           processed: str | None = None, raw: str | None = None, out: str | None = None, quiet: bool = True):
    """The ``qlwork report`` command as a function (for notebooks); returns the :class:`ReportSet`."""
    import argparse

    if not isinstance(units, str):
        units = ",".join(map(str, units))
    ns = argparse.Namespace(period=period, scope=scope, units=units, pdf=pdf, no_charts=not charts,
                            normalization=normalization, aggregation=aggregation, imputation=imputation,
                            public=public, sensitivity_draws=sensitivity_draws, seed=seed,
                            processed=processed, raw=raw, out=out, quiet=quiet)
    return run(ns)
