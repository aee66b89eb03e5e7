"""One call that writes a whole report set, all-or-nothing.

``generate_reports`` writes the workbook(s), the per-unit reports, the warning
notices, the analyst charts, an index page and a manifest into a hidden
staging folder next to the target, then swaps the staging folder in with one
atomic ``renameat2(RENAME_EXCHANGE)`` on Linux (two renames elsewhere).  A
reader, or a run killed half-way, therefore sees either the previous report
set or the new one — never a mixture.  A run killed by SIGKILL leaves only its
hidden staging folder, which the next run removes.

Layout of ``data/processed/reports/<period>/<scope>/``::

    清廉指数_<period>_<scope>_<framework>.xlsx   review workbook (per framework)
    units/<code>_<name>.html (.pdf)              体检报告单 (two A4 pages)
    notices/<code>_<name>_预警通知书.html (.pdf)   warning notices
    notices/预警汇总_<framework>.xlsx             their summary sheet
    charts/<framework>_<chart>.png/.svg          analyst charts
    index.html                                   one index per framework: workbook, charts, every unit's files
    manifest.json
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from ..io.safe import (MARKER, atomic_write_text, check_replaceable, output_errors, safe_filename, staging_dir,
                       swap_dirs)
from ..paths import reports_dir
from ._common import result_frame, sha256_file
from .charts import export_charts
from .excel import write_workbook
from .notices import NOTICE_SUFFIX, write_notice_summary, write_notices
from .unit_report import UnitReportBuilder, template_env, write_unit_reports

__all__ = ["ReportSet", "generate_reports", "swap_dirs", "staging_dir", "UNIT_REPORT_PAGES", "NOTICE_PAGES"]

#: Printed pages promised (docs/reports.md): a 体检报告单 is two A4 pages, a 预警通知书 one.
UNIT_REPORT_PAGES = 2
NOTICE_PAGES = 1


@dataclass(frozen=True)
class ReportSet:
    """What one report run wrote (paths are final, after the swap)."""

    out_dir: Path
    period: str
    scope: str
    workbooks: tuple[Path, ...] = ()
    unit_reports: tuple[Path, ...] = ()
    notices: tuple[Path, ...] = ()
    pdfs: tuple[Path, ...] = ()
    charts: tuple[Path, ...] = ()
    messages: tuple[str, ...] = ()
    seconds: Mapping[str, float] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        rows = [(k, p) for k in ("workbooks", "unit_reports", "notices", "pdfs", "charts") for p in getattr(self, k)]
        return pd.DataFrame(rows, columns=["kind", "path"])

    def __repr__(self) -> str:
        return (f"ReportSet({self.period} {self.scope!r} → {self.out_dir}: {len(self.workbooks)} 工作簿, "
                f"{len(self.unit_reports)} 体检报告单, {len(self.notices)} 预警通知书, {len(self.pdfs)} PDF, "
                f"{len(self.charts)} 图表; {sum(self.seconds.values()):.1f} s)")


@contextmanager
def _sigterm_as_exit():
    """During a run, SIGTERM raises SystemExit so the staging folder is removed (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise SystemExit(128 + signum)

    try:
        old = signal.signal(signal.SIGTERM, handler)
    except (ValueError, OSError):
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


# --------------------------------------------------------------- the run
def _pick(obj: Any, fw_id: str, n: int) -> Any:
    """The part of a per-framework mapping for ``fw_id``; a single object is used for every
    framework (its rows are matched to each result's units by unit_id)."""
    if obj is None:
        return None
    if isinstance(obj, Mapping) and not isinstance(obj, pd.DataFrame):
        return obj.get(fw_id)
    return obj


def generate_reports(results, *, period: str | None = None, scope: str | None = None,
                     out_dir: str | Path | None = None, units: Iterable[str] | None = None,
                     sensitivity: Any = None, compare: Any = None, history: pd.DataFrame | None = None,
                     data_files: Iterable[str | Path] | None = None, data_root: str | Path | None = None,
                     pdf: bool = False, charts: bool = True, unit_reports: bool = True, notices: bool = True,
                     progress: bool = True, issuer: str | None = None, root: str | Path | None = None,
                     scope_units: Iterable[str] | None = None, rescored: str | None = None,
                     follow_through: Mapping[str, pd.DataFrame] | None = None,
                     risk_points: pd.DataFrame | Mapping[str, list] | None = None) -> ReportSet:
    """Write the full report set for one or more IndexResults (one per framework).

    Parameters
    ----------
    results : IndexResult or a sequence of them (e.g. the county and village frameworks)
    period, scope : labels; ``out_dir`` defaults to ``data/processed/reports/<period>/<scope>``
    units : only (re)write these units' reports and notices; the rest of an existing
        set is kept (hard-linked into the new set).  Workbooks always cover the scope.
    sensitivity, compare : optional results (or {framework_id: result}) → sheets 敏感性/群众评价
        and the uncertainty section of each report
    history : long table (unit_id, period, total) of earlier periods for the trend charts
    data_files, data_root : input files listed with SHA-256 in 方法说明 (paths relative to data_root)
    pdf : print reports and notices to PDF with headless Chromium when available
    scope_units : the scope's units (a filter on the official result: every number, rank and peer
        statistic stays the official one); None = every unit of the results
    rescored : a label (e.g. 范围内重新评分（非正式结果）) printed on every page and sheet when the
        results were re-scored inside the scope; no warning notices are issued then
    follow_through : {sheet name: table} added to each workbook (整改台账, 重点名录), cut to its units
    risk_points : rows of the risk register (or unit → rows); each 体检报告单 lists the unit's high-level
        points without control measures
    """
    res_list = list(results) if isinstance(results, (list, tuple)) else [results]
    if isinstance(risk_points, pd.DataFrame):  # the register's rows → unit: high-level points without controls
        from ..registers.risk import uncontrolled_high

        risk_points = uncontrolled_high(risk_points)
    if not res_list:
        raise ValueError("没有可报告的结果 (no results given)")
    period = period or str((getattr(res_list[0], "params", {}) or {}).get("period") or "")
    scope = scope or "全部"
    target = Path(out_dir) if out_dir else reports_dir(safe_filename(period or "period"), root) / safe_filename(scope)
    check_replaceable(target, "report")  # before any work: only a folder qlwork made is ever replaced
    subset = None if units is None else [str(u) for u in units]
    data_files = list(data_files or [])
    with _sigterm_as_exit(), output_errors(target):  # disk full → a message naming the report folder
        return _generate(res_list, period, scope, target, subset, sensitivity, compare, history, data_files,
                         data_root, pdf, charts, unit_reports, notices and not rescored, progress, issuer,
                         None if scope_units is None else set(map(str, scope_units)), rescored, follow_through,
                         risk_points)


def _generate(res_list, period, scope, target, subset, sensitivity, compare, history, data_files, data_root,
              pdf, charts, unit_reports, notices, progress, issuer, scope_units=None, rescored=None,
              follow_through=None, risk_points=None) -> ReportSet:
    timing: dict[str, float] = {}
    messages: list[str] = []
    st = staging_dir(target, keep_existing=subset is not None)
    written: dict[str, list[Path]] = {k: [] for k in ("workbooks", "unit_reports", "notices", "pdfs", "charts")}
    index_sections: list[dict] = []
    try:
        for res in res_list:
            fw = res.framework
            n = len(res_list)
            t0 = time.perf_counter()
            b = UnitReportBuilder(res, sensitivity=_pick(sensitivity, fw.id, n), history=history,
                                  compare=_pick(compare, fw.id, n), period=period, scope=scope,
                                  scope_ids=scope_units, rescored=rescored, risk_points=risk_points)
            if not b.unit_ids():
                continue
            timing["peer statistics"] = timing.get("peer statistics", 0) + time.perf_counter() - t0
            stem = f"清廉指数_{safe_filename(period)}_{safe_filename(scope)}_{safe_filename(fw.id)}"
            chart_map: dict[str, list[Path]] = {}
            if charts:
                t0 = time.perf_counter()
                cmp = _pick(compare, fw.id, n)
                chart_map, skipped = export_charts(res, st / "charts", sensitivity_table=b.sens,
                                                   stem=safe_filename(fw.id),
                                                   divergence=cmp if isinstance(cmp, pd.DataFrame) else None,
                                                   units=b.unit_ids())
                for k, v in skipped.items():
                    messages.append(f"图表 {fw.id}/{k} 未生成 (chart skipped): {v}")
                written["charts"] += [p for ps in chart_map.values() for p in ps]
                timing["charts"] = timing.get("charts", 0) + time.perf_counter() - t0
            t0 = time.perf_counter()
            written["workbooks"].append(write_workbook(
                res, st / f"{stem}.xlsx", period=period, scope=scope, builder=b,
                sensitivity=_pick(sensitivity, fw.id, n), compare=_pick(compare, fw.id, n),
                data_files=data_files, data_root=data_root, charts=chart_map, follow_through=follow_through))
            timing["workbook"] = timing.get("workbook", 0) + time.perf_counter() - t0
            ids = b.unit_ids() if subset is None else [u for u in subset if u in set(b.unit_ids())]
            if unit_reports:
                t0 = time.perf_counter()
                # the staging folder is swapped in as a whole, so files inside it need no temp files
                written["unit_reports"] += write_unit_reports(b, st / "units", units=ids, progress=progress,
                                                              atomic=False)
                timing["unit reports"] = timing.get("unit reports", 0) + time.perf_counter() - t0
            if notices:
                t0 = time.perf_counter()
                kw = {"issuer": issuer} if issuer else {}
                written["notices"] += write_notices(b, st / "notices", units=ids, progress=progress,
                                                    atomic=False, **kw)
                written["workbooks"].append(write_notice_summary(res, b, st / "notices" / f"预警汇总_{safe_filename(fw.id)}.xlsx"))
                timing["notices"] = timing.get("notices", 0) + time.perf_counter() - t0
            f = result_frame(res)
            f = f[f["unit_id"].isin(set(b.unit_ids()))]
            from ..labels import WARNING_SHORT

            rows = []
            for r in f.to_dict("records"):
                codes = [c for c in str(r.get("warnings") or "").split(";") if c]
                rows.append({"unit_id": r["unit_id"], "unit_name": r.get("unit_name", ""), "stem": b.stem(r["unit_id"]),
                             "unit_type": r.get("unit_type", ""), "peer_group": r.get("peer_group", ""),
                             "total": r.get("total"), "grade": r.get("grade", ""), "rank": r.get("rank"),
                             "n_peers": r.get("n_peers"), "color": b._color(r["unit_id"]),
                             "warnings": "、".join(WARNING_SHORT.get(c, c) for c in codes)})
            index_sections.append({"id": fw.id, "name": fw.name, "stem": stem, "dec": b.dec,
                                   "charts_prefix": f"{fw.id}_", "rows": rows})
        if pdf:
            t0 = time.perf_counter()
            from .pdf import find_chromium, print_pdfs

            if find_chromium() is None:
                messages.append("未找到 Chromium，跳过 PDF (no Chromium found; PDF skipped)")
            else:
                pr = print_pdfs(written["unit_reports"] + written["notices"], progress=progress)
                written["pdfs"] += list(pr.pdfs)
                messages.append(f"PDF {len(pr.pdfs)} 份 ({pr.engine})")
                if pr.failed:
                    messages.append(f"PDF 失败 {len(pr.failed)} 份 (failed): {list(pr.failed[:5])}")
                # the promise: a 体检报告单 is two A4 pages, a notice one
                long = {p.name: n for p, n in pr.pages.items()
                        if n > (UNIT_REPORT_PAGES if p.parent.name == "units" else NOTICE_PAGES)}
                if long:
                    messages.append(f"超出页数的 PDF {len(long)} 份 (more pages than promised): "
                                    + "、".join(f"{k}（{v} 页）" for k, v in list(long.items())[:5]))
            timing["pdf"] = time.perf_counter() - t0
        _write_index(st, index_sections, period, scope, rescored)
        _write_manifest(st, period, scope, res_list, messages)
        _share_permissions(st)
        left = swap_dirs(st, target, kind="report")
        if left:
            messages.append(f"旧报告中有 {len(left)} 个非 qlwork 文件未删除，留在隐藏文件夹中 "
                            f"(files qlwork did not write were kept): {left[:5]}")
    except BaseException:
        shutil.rmtree(st, ignore_errors=True)
        raise

    def final(ps):
        return tuple(target / Path(p).relative_to(st) for p in ps)

    return ReportSet(out_dir=target, period=period, scope=scope,
                     **{k: final(v) for k, v in written.items()}, messages=tuple(messages), seconds=timing)


def _share_permissions(st: Path) -> None:
    """Temporary files are created 0600 (mkstemp); give report files the umask's usual mode,
    since they are meant to be read by colleagues and web servers."""
    mask = os.umask(0)
    os.umask(mask)
    for p in st.rglob("*"):
        if p.is_file():
            os.chmod(p, 0o666 & ~mask)


def _write_index(st: Path, sections: Sequence[dict], period: str, scope: str, rescored: str | None) -> None:
    """``index.html``: one index per framework — its workbook, charts and every unit's report (and
    notice), best first — with links to the files actually present (relative, URL-encoded)."""
    files = {p.relative_to(st).as_posix() for p in st.rglob("*") if p.is_file()}
    out = []
    for sec in sections:
        rows = sorted(sec["rows"], key=lambda r: (-(r["total"] if r["total"] is not None and r["total"] == r["total"]
                                                     else -1e9), r["unit_id"]))
        for r in rows:
            for key, rel in (("report", f"units/{r['stem']}.html"), ("report_pdf", f"units/{r['stem']}.pdf"),
                             ("notice", f"notices/{r['stem']}{NOTICE_SUFFIX}.html"),
                             ("notice_pdf", f"notices/{r['stem']}{NOTICE_SUFFIX}.pdf")):
                r[key] = rel if rel in files else None
        out.append({**sec, "rows": rows,
                    "workbook": next((f for f in (f"{sec['stem']}.xlsx",) if f in files), None),
                    "notice_summary": next((f for f in (f"notices/预警汇总_{sec['id']}.xlsx",) if f in files), None),
                    "charts": sorted(f for f in files if f.startswith(f"charts/{sec['charts_prefix']}")
                                     and f.endswith(".png")),
                    "n_warned": sum(1 for r in rows if r["warnings"])})
    html = template_env().get_template("index.html.j2").render(
        period=period, scope=scope, sections=out, rescored=rescored or "",
        generated=_dt.datetime.now().strftime("%Y-%m-%d %H:%M"))
    atomic_write_text(st / "index.html", html)


def _write_manifest(st: Path, period: str, scope: str, res_list, messages) -> None:
    files = []
    for p in sorted(st.rglob("*")):
        if p.is_file() and p.name not in ("manifest.json", MARKER):
            files.append({"path": p.relative_to(st).as_posix(), "bytes": p.stat().st_size, "sha256": sha256_file(p)})
    man = {"period": period, "scope": scope, "generated": _dt.datetime.now().isoformat(timespec="seconds"),
           "frameworks": [{"id": r.framework.id, "version": r.framework.version,
                           "fingerprint": r.framework.fingerprint()} for r in res_list],
           "messages": list(messages), "files": files}
    atomic_write_text(st / "manifest.json", json.dumps(man, ensure_ascii=False, indent=1, default=str))
