"""Sensitivity of the official result: Monte Carlo over weights (and optionally methods).

The design is built from the persisted official result of the period
(:func:`qlwork.sensitivity.from_index.design_from_index`), so the nominal scores,
ranks and grades of the simulation *are* the official ones; the defaults (weight
model, κ, draws, seed) come from the spec (``spec.sensitivity``), the same on every
surface (CLI, notebook 03, dashboard).
"""
from __future__ import annotations

import json
from typing import Sequence

import pandas as pd

from ..errors import Problem, QlworkError
from ..io.safe import atomic_write_text
from ..io.catalogue import path_of, write_table
from .official import load_result
from .project import Project

__all__ = ["run_sensitivity", "weight_model", "describe_simulation", "load_sensitivity"]


def weight_model(spec, *, model: str | None = None, concentration: float | None = None, pct: float = 0.2,
                 ahp_mode: str = "saaty", ahp_steps: int = 1, judgments=None):
    """The weight model: the spec's default (Dirichlet κ) unless overridden."""
    from ..sensitivity import AHPJudgments, Dirichlet, UniformPerturbation

    m = model or spec.sensitivity.model
    if m == "dirichlet":
        return Dirichlet(concentration=float(concentration or spec.sensitivity.concentration))
    if m == "uniform":
        return UniformPerturbation(pct=pct)
    if m == "ahp":
        return AHPJudgments(judgments=judgments, mode=ahp_mode, steps=ahp_steps)
    raise QlworkError(Problem("bad_option", f"未知的权重扰动模型 {m}", "unknown weight model", found=m,
                              expected="dirichlet | uniform | ahp"))


def describe_simulation(params: dict) -> str:
    """One sentence a meeting can read: what was simulated."""
    w = params.get("weights", {})
    if w.get("model") == "dirichlet":
        what = f"以正式权重为中心的狄利克雷分布随机扰动权重（集中参数 κ = {w.get('concentration'):g}，κ 越大扰动越小）"
    elif w.get("model") == "uniform":
        what = f"每个权重在 ±{float(w.get('pct', 0)):.0%} 范围内均匀随机扰动"
    elif w.get("model") == "ahp_judgments":
        what = f"专家判断矩阵的每个判断在 Saaty 标度上随机移动 {w.get('steps', 1)} 档"
    else:
        what = "权重随机扰动"
    m = params.get("methods", {})
    extra = []
    if len(m.get("aggregations", [])) > 1:
        extra.append("合成方法随机选取")
    share = m.get("social_share")
    if isinstance(share, (list, tuple)) and len(share) == 2 and share[1] > share[0]:
        extra.append(f"群众评价占比在 {share[0]:.0%}–{share[1]:.0%} 之间随机取值")
    if m.get("leave_one_out"):
        extra.append("每次随机剔除一个指标")
    if len(params.get("variants", [])) > 1:
        extra.append("标准化/缺失值处理方法随机选取")
    tail = ("，并" + "、".join(extra)) if extra else ""
    return (f"{what}{tail}，共模拟 {params.get('draws')} 次（随机种子 {params.get('seed')}）；"
            f"名次与等级按公布的综合得分（{params.get('published_decimals', 2)} 位小数）比较。")


def run_sensitivity(project: Project, period: str, *, draws: int | None = None, seed: int | None = None,
                    model: str | None = None, concentration: float | None = None, pct: float = 0.2,
                    ahp_mode: str = "saaty", ahp_steps: int = 1, normalizations: Sequence[str] | None = None,
                    imputations: Sequence[str] | None = None, aggregations: Sequence[str] | None = None,
                    social_share_range=None, leave_one_out: bool = False, chunk_size: int = 512, jobs: int = 1,
                    progress: bool = True, write: bool = True) -> tuple[pd.DataFrame, dict]:
    """Sensitivity of every framework's official result; returns (per-unit table, params per framework).

    Written to ``data/processed/sensitivity_<period>.parquet`` (+ ``.params.json``) when ``write``.
    """
    from ..sensitivity import Methods, run

    off = load_result(project.processed, period)
    frames, params = [], {}
    for fid, res in off.results.items():
        spec = res.spec
        judgments = None
        if (model or spec.sensitivity.model) == "ahp" and spec.weights.method == "ahp":
            judgments = _ahp_judgments(project, res.framework)
        wm = weight_model(spec, model=model, concentration=concentration, pct=pct, ahp_mode=ahp_mode,
                          ahp_steps=ahp_steps, judgments=judgments)
        aggs = tuple(aggregations or (spec.aggregation,))
        methods = Methods(aggregations=aggs, social_share=social_share_range, leave_one_out=leave_one_out)
        data = None
        if normalizations or imputations:
            v = project.values()
            data = v[v["indicator_id"].isin(res.framework.indicator_ids) & v["unit_id"].isin(res.scores.index)
                     & (v["period"].astype(str) <= period)]
        sens = run(res, weights=wm, methods=methods, data=data, normalizations=normalizations, imputations=imputations,
                   draws=int(draws or spec.sensitivity.draws), seed=int(seed if seed is not None else spec.sensitivity.seed),
                   chunk_size=chunk_size, n_jobs=jobs, progress=progress)
        f = sens.to_frame()
        f.insert(0, "framework", fid)
        f.insert(1, "period", period)
        frames.append(f)
        p = dict(sens.params)
        p["description_zh"] = describe_simulation(p)
        p["spec_fingerprint"] = spec.fingerprint()
        params[fid] = p
    if not frames:
        raise QlworkError(Problem("no_data", "没有可分析的数据", "nothing to analyse", found=period))
    frame = pd.concat(frames, ignore_index=True)
    if write:
        write_table("sensitivity", frame, project.processed, period=period)
        atomic_write_text(path_of("sensitivity", project.processed, period=period).with_suffix(".params.json"),
                          json.dumps(params, ensure_ascii=False, indent=2, default=str))
    return frame, params


def _ahp_judgments(project: Project, fw):
    folder = project.raw / "ahp"
    if not folder.is_dir():
        return None
    from ..weights.hierarchy import hierarchy_weights
    from ..weights.questionnaire import read_questionnaires

    qs = read_questionnaires(folder)
    if not qs.for_framework(fw.id):
        return None
    h = hierarchy_weights(fw, qs)
    return {k: r.group.matrix for k, r in h.node_results.items() if r.group is not None}


def load_sensitivity(project: Project, period: str) -> tuple[pd.DataFrame, dict] | None:
    """The persisted sensitivity table and params of a period, or None when not computed."""
    p = path_of("sensitivity", project.processed, period=period)
    if not p.is_file():
        return None
    from ..io.catalogue import read_table

    t = read_table("sensitivity", project.processed, period=period)
    pj = p.with_suffix(".params.json")
    params = json.loads(pj.read_text(encoding="utf-8")) if pj.is_file() else {}
    return t, params

