"""Scoring tasks: the official result of a period, a labelled re-scoring of a scope, and what-if.

* :func:`score` — the official result (``qlwork score``): every framework, one spec each,
  veto and bonus registers and the survey's public scores applied, persisted to
  ``data/processed/results/<period>/`` with a manifest.
* :func:`rescore_scope` — an *explicit* re-scoring inside a scope (e.g. a township's own
  index of its villages): labelled 范围内重新评分（非正式结果） on every page, never
  producing warning notices.
* :func:`what_if` — the dashboard's live weights: the official design scored by the one
  scorer (:func:`qlwork.engine.scorer.nominal_scores`) with other local weights.
"""
from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..engine.index import compute_index
from ..errors import Problem, QlworkError
from ..io.catalogue import path_of
from .official import OfficialResult, input_checksums, load_result, save_result
from .project import Project

__all__ = ["score", "score_period", "rescore_scope", "what_if", "official_or_score", "RESCORE_LABEL"]

RESCORE_LABEL = "范围内重新评分（非正式结果）"


def _public_for(project: Project, spec, periods, public_file=None):
    if spec.public_source in ("none", "indicators"):
        return None, []
    if str(spec.public_source).startswith("file:"):
        f = project.root / spec.public_source[5:]
        return project.public(periods, file=f), [f]
    if public_file is not None:
        return project.public(periods, file=public_file), [Path(public_file)]
    t = project.public(periods)
    files = [project.public_path(p) for p in periods if project.public_path(p).is_file()]
    return t, files


def score_period(project: Project, period: str, *, specs: Mapping[str, Any] | None = None,
                 public_file: str | Path | None = None, no_public: bool = False) -> tuple[OfficialResult, list[Path]]:
    """Score every framework for ``period`` (in memory); returns (result, input files used)."""
    values = project.values()
    units = project.units()
    periods = sorted(values["period"].astype(str).unique())
    if period not in periods:
        raise QlworkError(Problem("unknown_period", f"数据中没有期别 {period}", "period not in the data",
                                  file=project.rel(path_of("values", project.processed)), column="period",
                                  found=period, expected="、".join(periods)))
    upto = [p for p in periods if p <= period]
    veto, bonus = project.registers()
    files = [path_of("values", project.processed), path_of("units", project.processed)]
    files += [p for p in (path_of("veto", project.processed), path_of("bonus", project.processed)) if p.is_file()]
    files += sorted(project.raw.glob("framework_*.yaml"))
    results = {}
    for fid, fw in project.frameworks().items():
        spec = (specs or {}).get(fid) or project.spec(fid)
        if no_public:
            spec = spec.replace(public_source="none")
        u = units[units["framework_id"] == fid]
        if u.empty:
            continue
        v = values[values["unit_id"].isin(u["unit_id"]) & values["period"].isin(upto)
                   & values["indicator_id"].isin(fw.indicator_ids)]
        if v.empty:
            continue
        pub, pfiles = _public_for(project, spec, upto, public_file)
        if pub is None and spec.public_source.startswith("survey") and spec.social_share > 0:
            spec = spec.replace(public_source="indicators")  # no survey output: the data's public indicators
        files += pfiles
        results[fid] = compute_index(v, fw, spec, period=period, units=u, public=pub,
                                     veto=_rows(veto, u), bonus=_rows(bonus, u))
    if not results:
        raise QlworkError(Problem("no_data", "没有可评分的数据", "nothing to score", found=period))
    return OfficialResult(period=period, results=results), list(dict.fromkeys(files))


def _rows(t, u):
    if t is None or t.empty:
        return None
    return t[t["unit_id"].astype(str).isin(set(u["unit_id"].astype(str)))]


def score(project: Project, periods: str | list[str] | None = None, *, specs: Mapping[str, Any] | None = None,
          public_file: str | Path | None = None, no_public: bool = False, write: bool = True,
          command: str | None = None) -> dict[str, OfficialResult]:
    """The official result of each period (default: the latest; ``"all"``: every period)."""
    all_p = project.periods()
    if periods in (None, "latest"):
        plist = [all_p[-1]]
    elif periods == "all":
        plist = all_p
    elif isinstance(periods, str):
        plist = [periods]
    else:
        plist = list(periods)
    out = {}
    cmd = command if command is not None else " ".join(shlex.quote(a) for a in ["qlwork", *sys.argv[1:]])
    for p in plist:
        off, files = score_period(project, p, specs=specs, public_file=public_file, no_public=no_public)
        if write:
            save_result(off, project.processed, inputs=input_checksums(project, files), command=cmd)
            off = load_result(project.processed, p)  # what every face will read
        out[p] = off
    return out


def official_or_score(project: Project, period: str) -> OfficialResult:
    """The persisted official result (never re-scored); a located error names the command when missing."""
    return load_result(project.processed, period)


def rescore_scope(project: Project, period: str, scope: str, *, specs: Mapping[str, Any] | None = None,
                  public_file=None, no_public: bool = False) -> OfficialResult:
    """Re-score inside a scope only (labelled, never official; no notices are issued from it)."""
    off = load_result(project.processed, period)
    sc = off.scope(scope)
    values = project.values()
    units = project.units()
    veto, bonus = project.registers()
    results = {}
    for fid, base in off.results.items():
        u = units[(units["framework_id"] == fid) & units["unit_id"].isin(sc.unit_ids)]
        if u.empty:
            continue
        fw = base.framework
        spec = (specs or {}).get(fid) or base.spec
        if no_public:
            spec = spec.replace(public_source="none")
        upto = [p for p in project.periods() if p <= period]
        v = values[values["unit_id"].isin(u["unit_id"]) & values["period"].isin(upto)]
        if v.empty:
            continue
        pub, _ = _public_for(project, spec, upto, public_file)
        results[fid] = compute_index(v, fw, spec, period=period, units=u, public=pub,
                                     veto=_rows(veto, u), bonus=_rows(bonus, u))
    return OfficialResult(period=period, results=results, manifest={"kind": "rescored", "scope": sc.label,
                                                                    "label": RESCORE_LABEL})


def what_if(result, local_weights: Mapping[str, float]) -> pd.DataFrame:
    """Totals, grades and ranks of an official :class:`IndexResult` under other local weights.

    The design is the official one (:func:`qlwork.sensitivity.from_index.design_inputs`) and the
    totals come from :func:`qlwork.engine.scorer.nominal_scores` — the function that produced the
    official totals — so at the official weights the what-if equals the official result exactly.
    Returns unit_id, total_raw, total (published), grade, rank (peer group).
    """
    from ..engine.grading import publish, publish_units, rank_within
    from ..engine.rules import grade_published
    from ..engine.scorer import make_design, nominal_scores
    from ..sensitivity.from_index import design_inputs

    key = "whatif_design"
    if key not in result._cache:
        kw = design_inputs(result)
        X = kw.pop("normalized")
        result._cache[key] = make_design(result.framework, X, **kw)
    d = result._cache[key]
    hier = d.hier
    local = hier.center.copy()
    pos = {k: j for j, k in enumerate(hier.items)}
    for k, v in local_weights.items():
        if k in pos:
            local[pos[k]] = float(v)
    local = hier.normalize_local(local)
    S = nominal_scores(d, local)
    dec = result.decimals
    spec = result.spec
    uid = pd.Index(d.unit_ids.astype(str), name="unit_id")
    total = publish(S, dec)
    vetoed = d.grade_cap >= 0 if d.grade_cap is not None else np.zeros(len(S), bool)
    grade, _ = grade_published(publish_units(S, dec), spec.bands(), dec, vetoed, spec.veto_cap)
    groups = pd.Series(np.asarray(d.group_labels, dtype=object)[d.groups], index=uid)
    rank = rank_within(pd.Series(S, index=uid), groups, decimals=dec)
    return pd.DataFrame({"unit_id": uid.to_numpy(), "total_raw": S, "total": total, "grade": grade,
                         "rank": rank.to_numpy()}).set_index("unit_id", drop=False).rename_axis(None)
