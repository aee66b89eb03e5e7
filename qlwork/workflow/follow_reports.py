"""Follow-through documents: the jurisdiction report, feedback by level, the public-release ranking.

::

    from qlwork.workflow import Project
    from qlwork.workflow import follow_reports as fr
    prj = Project.open()
    fr.jurisdiction_report(prj, "2025H2", "宁溪县", as_of="2026-01-31")   # HTML + Excel
    fr.feedback(prj, "2025H2", "宁溪县", as_of="2026-01-31")              # one document per recipient
    fr.publish(prj, "2025H2", "金平镇")                                    # rank and grade only

Content: :mod:`qlwork.followup.feedback` (what each reader sees); numbers: the official result
(a scope is a filter), the ledger on ``as_of``, the region table.  Output (default
``data/processed/follow/<period>/<scope>/``): each file written atomically; the feedback set is
one folder swapped in whole (a folder qlwork did not create is never replaced).
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd

from ..errors import Problem, QlworkError
from ..followup.dates import as_date
from ..followup.feedback import (RECIPIENTS, FeedbackContext, in_charge_doc, jurisdiction_doc, leaders_doc,
                                 public_doc, unit_doc)
from ..followup.items import LedgerPolicy, policy_from
from ..io.safe import atomic_write_text, claim_output_dir
from .follow_through import inspection, ledger_state, officials, public_ranking, regions_table, risk_table
from .project import Project

__all__ = ["feedback_context", "jurisdiction_report", "feedback", "publish", "render_doc", "write_doc",
           "FeedbackSet", "MARKER"]

#: a file in every folder this module creates; a folder without it is never replaced
MARKER = ".qlwork-follow"


def _slug(text: str) -> str:
    from ..io.safe import safe_filename  # the one rule for names from data (same as the report's units/)

    return safe_filename(text)


def feedback_context(prj: Project, period: str, scope: str | None, *, as_of, policy=None, ci: str = "t",
                     level: float = 0.95, draws: int = 2000, seed: int = 20251231,
                     with_ledger: bool = True) -> FeedbackContext:
    """Everything a document of ``period`` and ``scope`` needs (official result, regions, ledger on ``as_of``)."""
    pol = policy if isinstance(policy, LedgerPolicy) else policy_from(policy)
    off = officials(prj, [period])[period]
    sc = off.scope(scope)
    regions = regions_table(prj, period, ci=ci, level=level, draws=draws, seed=seed)
    led = ins = risk = rmeas = None
    a = "—"
    if with_ledger:
        a = as_date(as_of, name="as_of")
        st = ledger_state(prj, period, as_of=a, policy=pol)
        led = st.table
        ins = inspection(prj, period, state=st)
        got = risk_table(prj, as_of=a, policy=pol)
        if got is not None:
            risk, rmeas = got
        a = str(a)
    return FeedbackContext(official=off, scope=sc, ranking=sc.ranking(off), regions=regions, ledger=led,
                           inspection=ins, risk=risk, risk_measures=rmeas, as_of=a, policy=pol,
                           ci={"ci": ci, "level": level, "draws": draws, "seed": seed})


# ------------------------------------------------------------------ rendering
def render_doc(doc: dict) -> str:
    from ..report.unit_report import template_env

    return template_env().get_template("follow_doc.html.j2").render(**doc)


def _doc_workbook(doc: dict, path: Path) -> Path:
    """One sheet per table of the document (Chinese headers, values as text/numbers), then 方法说明."""
    from openpyxl import Workbook

    from ..report.excel import _finish_sheet, _sheet_name, _widths, _write_block, save_workbook

    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for s in doc["sections"]:
        t = s.get("table")
        if not t or not t["rows"]:
            continue
        df = pd.DataFrame(t["rows"], columns=t["columns"]).map(_number)
        ws = wb.create_sheet(_sheet_name(s["heading"].strip("　 ").split("、", 1)[-1], used))
        h, last = _write_block(ws, df, list(df.columns), start_row=1)
        _widths(ws, df, list(df.columns))
        _finish_sheet(ws, h, last, len(df.columns), freeze_col=2, title=f"{doc['title']} {s['heading']}")
    ws = wb.create_sheet(_sheet_name("方法说明", used))
    m = pd.DataFrame(list(doc.get("method") or []) + [("评价期", doc["period"]), ("范围", doc["scope"]),
                                                      ("整改情况截至", doc["as_of"])], columns=["项目", "说明"])
    h, last = _write_block(ws, m, list(m.columns), start_row=1)
    _widths(ws, m, list(m.columns), hi=90)
    _finish_sheet(ws, h, last, 2, freeze_col=1, title=f"{doc['title']} 方法说明")
    wb.properties.title = doc["title"]
    wb.properties.creator = "qlwork"
    return save_workbook(wb, path)


def _number(v):
    """Formatted numbers back to numbers for Excel (12.34, 5, 40.0% → 0.4); other text unchanged."""
    if not isinstance(v, str):
        return v
    t = v.strip()
    try:
        if t.endswith("%"):
            return float(t[:-1]) / 100
        if t.lstrip("+-").replace(".", "", 1).isdigit():
            return float(t) if "." in t else int(t)
    except ValueError:
        pass
    return v


def write_doc(doc: dict, html: Path, xlsx: Path | None = None, *, atomic: bool = True) -> list[Path]:
    out = []
    if atomic:
        atomic_write_text(html, render_doc(doc))
    else:
        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(render_doc(doc), encoding="utf-8")
    out.append(html)
    if xlsx is not None:
        out.append(_doc_workbook(doc, xlsx))
    return out


def _out_dir(prj: Project, period: str, label: str, out) -> Path:
    return Path(out) if out is not None else prj.processed / "follow" / _slug(period) / _slug(label)


# ------------------------------------------------------------------ tasks
def jurisdiction_report(prj: Project, period: str, scope: str, *, as_of, out=None, **kw) -> list[Path]:
    """辖区报告 of one 市州/县市区/乡镇 (for a 乡镇: the view of its villages): HTML + Excel."""
    ctx = feedback_context(prj, period, scope, as_of=as_of, **kw)
    if ctx.scope.column not in ("city", "county", "township"):
        raise QlworkError(Problem("unknown_scope", f"“{scope}”不是市州、县市区或乡镇", "scope is not a region",
                                  column="scope", found=scope, expected="市州、县市区或乡镇（街道）名称"))
    d = claim_output_dir(_out_dir(prj, period, ctx.scope.label, out), "follow")  # never a person's folder
    stem = f"辖区报告_{_slug(ctx.scope.label)}_{_slug(period)}"
    return write_doc(jurisdiction_doc(ctx), d / f"{stem}.html", d / f"{stem}.xlsx")


@dataclass(frozen=True)
class FeedbackSet:
    out_dir: Path
    files: tuple[Path, ...]

    def __repr__(self) -> str:
        return f"FeedbackSet({self.out_dir}: {len(self.files)} 份)"


def feedback(prj: Project, period: str, scope: str, *, as_of, out=None,
             levels: Sequence[str] = ("leaders", "in_charge", "unit"), units: Iterable[str] | None = None,
             **kw) -> FeedbackSet:
    """分级反馈: one document per recipient (leaders of the jurisdiction, each sector's leader in charge,
    each unit's Party secretary) in ``<out>/分级反馈/`` (index.html says who sees what), swapped in whole."""
    from ..io.safe import staging_dir, swap_dirs
    from ..report.unit_report import template_env

    bad = [x for x in levels if x not in RECIPIENTS]
    if bad:
        raise QlworkError(Problem("unknown_level", f"未知的反馈对象 {bad}", "unknown recipient level", found=bad,
                                  expected="、".join(RECIPIENTS)))
    ctx = feedback_context(prj, period, scope, as_of=as_of, **kw)
    target = claim_output_dir(_out_dir(prj, period, ctx.scope.label, out), "follow") / "分级反馈"
    if target.exists() and not (target / MARKER).is_file():
        raise QlworkError(Problem("foreign_folder", "输出文件夹已存在且不是 qlwork 生成的，不会覆盖",
                                  "the output folder exists and was not created by qlwork; not replaced",
                                  file=str(target), expected="不存在的文件夹，或 qlwork 生成的分级反馈文件夹"))
    st = staging_dir(target, keep_existing=False, kind="feedback")
    files: list[Path] = []
    index: list[dict] = []
    try:
        (st / MARKER).write_text("qlwork feedback\n", encoding="utf-8")
        if "leaders" in levels:
            p = st / "01_党委政府主要领导.html"
            files += write_doc(leaders_doc(ctx), p, atomic=False)
            index.append({"level": RECIPIENTS["leaders"], "links": [(ctx.scope.label, p.name)]})
        if "in_charge" in levels:
            links = []
            for t in sorted(ctx.ranking["unit_type"].dropna().unique()):
                p = st / f"02_分管联系领导_{_slug(t)}.html"
                files += write_doc(in_charge_doc(ctx, t), p, atomic=False)
                links.append((t, p.name))
            index.append({"level": RECIPIENTS["in_charge"], "links": links})
        if "unit" in levels:
            keep = None if units is None else set(map(str, units))
            links = []
            for uid, name in zip(ctx.ranking["unit_id"], ctx.ranking["unit_name"]):
                if keep is not None and uid not in keep:
                    continue
                p = st / "03_单位党组织主要负责人" / f"{_slug(uid)}.html"
                link = f"qlwork report --period {period} --scope {ctx.scope.label} 输出的 units/{_slug(uid)}.html"
                files += write_doc(unit_doc(ctx, uid, report_link=link), p, atomic=False)
                links.append((f"{name}（{uid}）", f"03_单位党组织主要负责人/{p.name}"))
            index.append({"level": RECIPIENTS["unit"], "links": links})
        html = template_env().get_template("follow_index.html.j2").render(
            period=period, scope=ctx.scope.label, as_of=ctx.as_of, levels=index)
        (st / "index.html").write_text(html, encoding="utf-8")
        swap_dirs(st, target, kind="feedback")  # replaces only an earlier feedback set
    except BaseException:
        shutil.rmtree(st, ignore_errors=True)
        raise
    return FeedbackSet(target, tuple(target / Path(f).relative_to(st) for f in files))


def publish(prj: Project, period: str, scope: str | None = None, *, out=None) -> list[Path]:
    """公开发布版 ranking of ``scope`` (default all units): rank and grade per peer group, HTML + Excel."""
    table = public_ranking(prj, period, scope)
    off = officials(prj, [period])[period]
    sc = off.scope(scope)
    ctx = FeedbackContext(official=off, scope=sc, ranking=sc.ranking(off), regions=pd.DataFrame(), ledger=None,
                          inspection=None, risk=None, risk_measures=None, as_of="—", policy=LedgerPolicy(), ci={})
    d = claim_output_dir(_out_dir(prj, period, sc.label, out), "follow")  # never a person's folder
    stem = f"公开发布_{_slug(sc.label)}_{_slug(period)}"
    return write_doc(public_doc(ctx, table), d / f"{stem}.html", d / f"{stem}.xlsx")
