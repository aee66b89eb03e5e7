"""Public-satisfaction survey of a period (``qlwork survey``): weighting, unit estimates, shrinkage.

Reads ``data/raw/surveys/survey_<period>.csv`` (or ``.xlsx``), ``items.yaml``,
``margins.csv`` and the unit registry; applies the validity rules, rakes
within each 县市区, estimates every unit (Hájek mean + linearisation SE,
satisfaction share with Wilson interval on n_eff, reporting rule), shrinks
(Fay–Herriot REML, beta-binomial EB, toward unit-type × 县市区 means only) and
writes ``data/processed/public_<period>.parquet`` (catalogue artefact ``public``,
schema checked) atomically, with the run's parameters in the Parquet metadata.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..io.atomic import atomic_path
from ..io.catalogue import artefact, check_schema
from ..errors import QlworkError
from ..paths import processed_dir, raw_dir

__all__ = ["run_survey", "survey_summary_zh"]


def run_survey(period: str, raw: str | Path | None = None, out: str | Path | None = None, *,
        straight_lining: str | None = "all_max", trim_k: float | None = 5.0, fh_method: str = "REML",
        prop_method: str = "wilson", quiet: bool = False):
    from ..survey.pipeline import estimate_public, load_survey_inputs
    from ..survey.scoring import ValidityRules

    raw = Path(raw) if raw else raw_dir()
    out = Path(out) if out else processed_dir()
    path, items, margins, units = load_survey_inputs(raw, period)
    res = estimate_public(path, units, margins, items, period=period,
                          rules=ValidityRules(straight_lining=straight_lining), trim_k=trim_k,
                          fh_method=fh_method, prop_method=prop_method)
    target = artefact("public").path(out, period=period)
    est = res.estimates.copy()
    est.attrs = {}
    probs = check_schema(est, artefact("public"), file=str(target))
    if probs:
        raise QlworkError(probs)
    with atomic_path(target) as tmp:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(est, preserve_index=False)
        meta = dict(table.schema.metadata or {})
        meta[b"qlwork_params"] = json.dumps(res.params, ensure_ascii=False, default=str).encode()
        pq.write_table(table.replace_schema_metadata(meta), tmp)
    if not quiet:
        print(survey_summary_zh(res, target))
    return res, target


def _print_summary(res, target: Path) -> None:
    ov = res.overall()
    c = res.validity.counts
    print(f"群众评价 public survey {res.params['period']}: 受访 {len(res.validity.valid)} 人，"
          f"有效 {int(res.validity.valid.sum())} 人 (valid respondents)")
    for _, r in c[c["rule"] != "valid"].iterrows():
        print(f"  剔除 removed {r['removed']:>7}  {r['rule_zh']} ({r['rule']})")
    if res.rake is not None:
        print(f"  加权 raking: {res.rake.iterations} 次迭代 iterations, 收敛 converged={res.rake.converged}, "
              f"截尾 trimmed={res.rake.trimmed}")
    print(f"  单位 units {len(ov)}；可发布 reportable {int(ov['reportable'].sum())}；"
          f"有效样本量中位数 median n_eff {ov['n_eff'].median():.1f}；deff 中位数 {ov['deff'].median():.2f}")
    print(f"  总体得分 overall mean 中位数 {ov['mean'].median():.1f}（收缩后 EBLUP {ov['eblup'].median():.1f}）")
    warn = [p for p in res.problems if p.severity == "error"]
    if warn:
        print(f"  数据问题 data problems: {len(warn)}（首条 first: {warn[0]}）")
    print(f"已写入 written: {target}")


def survey_summary_zh(res, target: Path) -> str:
    lines = []
    print = lines.append  # noqa: A001 — the summary is returned, not printed
    ov = res.overall()
    c = res.validity.counts
    print(f"群众评价 public survey {res.params['period']}: 受访 {len(res.validity.valid)} 人，"
          f"有效 {int(res.validity.valid.sum())} 人 (valid respondents)")
    for _, r in c[c["rule"] != "valid"].iterrows():
        print(f"  剔除 removed {r['removed']:>7}  {r['rule_zh']} ({r['rule']})")
    if res.rake is not None:
        print(f"  加权 raking: {res.rake.iterations} 次迭代 iterations, 收敛 converged={res.rake.converged}, "
              f"截尾 trimmed={res.rake.trimmed}")
    print(f"  单位 units {len(ov)}；可发布 reportable {int(ov['reportable'].sum())}；"
          f"有效样本量中位数 median n_eff {ov['n_eff'].median():.1f}；deff 中位数 {ov['deff'].median():.2f}")
    print(f"  总体得分 overall mean 中位数 {ov['mean'].median():.1f}（收缩后 EBLUP {ov['eblup'].median():.1f}）")
    warn = [p for p in res.problems if p.severity == "error"]
    if warn:
        print(f"  数据问题 data problems: {len(warn)}（首条 first: {warn[0]}）")
    print(f"已写入 written: {target}")
    return "\n".join(lines)
