"""Reports from the official result: workbook, 体检报告单, 预警通知书, charts, PDFs.

A scope is a filter: every score, grade, peer rank and warning printed is the
official one (the peer statistics too: medians and quartiles of the unit's whole
peer group); the workbook adds a rank within the scope.  Re-scoring inside a scope
happens only with ``rescore=True``: it is labelled 范围内重新评分（非正式结果） on
every page and sheet and never produces warning notices.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..errors import Problem, QlworkError
from .official import load_result
from .project import Project
from .scoring import RESCORE_LABEL, rescore_scope

__all__ = ["report", "sensitivity_tables"]


def sensitivity_tables(project: Project, period: str, official, draws: int, seed: int | None, progress: bool):
    """{framework: per-unit table} — a fresh run when ``draws`` > 0, else the persisted one of the
    same official result (same spec fingerprints), else None."""
    from .uncertainty import load_sensitivity, run_sensitivity

    if draws and draws > 0:
        frame, params = run_sensitivity(project, period, draws=draws, seed=seed, progress=progress, write=False)
    else:
        got = load_sensitivity(project, period)
        if got is None:
            return None
        frame, params = got
        fps = {fid: r.spec.fingerprint() for fid, r in official.results.items()}
        if any((params.get(fid) or {}).get("spec_fingerprint") not in (None, fp) for fid, fp in fps.items()):
            return None  # computed for another spec: not this result's uncertainty
    out = {}
    for fid, g in frame.groupby("framework"):
        t = g.drop(columns=["framework", "period"]).set_index("unit_id")
        t.index = t.index.astype(str)
        t.attrs["params"] = dict(params.get(fid) or {})  # what was simulated, for the 方法说明
        out[fid] = t
    return out


def report(project: Project, period: str, scope: str | None = None, *, units: str | Sequence[str] = "all",
           pdf: bool = False, charts: bool = True, out: str | Path | None = None, rescore: bool = False,
           sensitivity_draws: int = 0, seed: int | None = None, quiet: bool = True):
    """Write the report set of ``period`` for ``scope`` (default: everything); returns the ReportSet."""
    from ..report import generate_reports

    official = load_result(project.processed, period)
    sc = official.scope(scope)
    label = sc.label
    subset = None
    if units not in (None, "", "all", "ALL"):
        subset = [u.strip() for u in (units.split(",") if isinstance(units, str) else units) if str(u).strip()]
        unknown = sorted(set(subset) - set(sc.unit_ids))
        if unknown:
            raise QlworkError(Problem("unknown_unit", f"范围“{label}”中没有这些单位：{unknown[:10]}",
                                      "units not in scope", found=unknown[:10], expected=f"范围 {label} 内的单位编码"))
    if rescore:
        used = rescore_scope(project, period, scope)
        scope_units = None
        tag = RESCORE_LABEL
    else:
        used = official
        scope_units = sc.unit_ids
        tag = None
    sens = None if rescore else sensitivity_tables(project, period, official, sensitivity_draws, seed, not quiet)
    files = [project.processed / "results" / period / name for name in ("manifest.json", "spec.yaml")]
    # the inputs the official result was scored from (recorded in its manifest, project-relative)
    files += [project.root / rel for rel in (official.manifest.get("inputs") or {})]
    from .follow_through import follow_registers, review_sheets  # 整改台账 / 重点名录, 廉政风险点

    follow = None if rescore else review_sheets(project, period)
    if not rescore:  # 超常预警 (qlwork monitor): a prompt to look, next to the follow-through sheets
        from .monitoring import ALERT_SHEET, alert_sheet

        alerts = alert_sheet(project.processed, period)
        if alerts is not None:
            follow = {**(follow or {}), ALERT_SHEET: alerts}
    risk = None if rescore else follow_registers(project).risk
    return generate_reports(list(used.results.values()), period=period, scope=label + ("（重新评分）" if rescore else ""),
                            out_dir=out, units=subset, sensitivity=sens, data_files=files,
                            data_root=project.root, pdf=pdf, charts=charts, progress=not quiet,
                            root=project.root, scope_units=scope_units, rescored=tag, follow_through=follow,
                            risk_points=risk)

