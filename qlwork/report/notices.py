"""Warning notices (预警通知书) for every warned unit, and their summary sheet.

A notice lists each reason the unit was warned (below the pass mark, bottom N
of its peer group, large drop, internal/public divergence — whatever codes the
index engine emitted) and, for each, the indicators behind it: the indicators
with the largest weighted point loss under the goal concerned (the public
indicators for a divergence warning).
"""
from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Iterable

import pandas as pd

from ..labels import period_label
from .files import StaleFiles, write_file
from .unit_report import UnitReportBuilder, template_env

__all__ = ["warned_units", "notice_context", "render_notice", "write_notices", "write_notice_summary",
           "NOTICE_SUFFIX"]

DEFAULT_ISSUER = "清廉单元建设评价工作办公室"
#: Notice files: ``<code>_<name>_预警通知书.html`` (next to nothing else in ``notices/``).
NOTICE_SUFFIX = "_预警通知书"


def warned_units(builder: UnitReportBuilder) -> list[str]:
    """Units with at least one warning, in the order of the score table."""
    return [u for u in builder.unit_ids() if u in builder.warn]


def notice_context(builder: UnitReportBuilder, unit_id: str, *, number: int = 1, issuer: str = DEFAULT_ISSUER,
                   deadline_days: int = 30, date: str | None = None) -> dict:
    ctx = builder.context(unit_id)
    ctx.update({"number": f"〔{period_label(builder.period or '')}〕预警第 {number:03d} 号", "issuer": issuer,
                "deadline_days": int(deadline_days),
                "date": date or _dt.date.today().strftime("%Y年%m月%d日")})
    return ctx


def render_notice(builder: UnitReportBuilder, unit_id: str, **kw) -> str:
    return template_env().get_template("notice.html.j2").render(**notice_context(builder, unit_id, **kw))


def write_notices(builder: UnitReportBuilder, out_dir: str | Path, *, units: Iterable[str] | None = None,
                  progress: bool = True, atomic: bool = True, **kw) -> list[Path]:
    """``<out_dir>/<code>_<name>_预警通知书.html`` for each warned unit (each file atomically)."""
    from tqdm.auto import tqdm

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ids = warned_units(builder)
    if units is not None:
        keep = {str(u) for u in units}
        ids = [u for u in ids if u in keep]
    tpl = template_env().get_template("notice.html.j2")
    stale = StaleFiles(out_dir, {f"{builder.stem(u)}{NOTICE_SUFFIX}.{ext}" for u in builder.unit_ids() for ext in ("html", "pdf")}) \
        if any(out_dir.iterdir()) else None
    paths = []
    for k, uid in enumerate(tqdm(ids, desc="预警通知书 notices", unit="份", disable=not progress, leave=False), 1):
        p = out_dir / f"{builder.stem(uid)}{NOTICE_SUFFIX}.html"
        if stale is not None:
            stale.remove(uid, {p.name}, NOTICE_SUFFIX)
        write_file(p, tpl.render(**notice_context(builder, uid, number=k, **kw)), atomic=atomic)
        paths.append(p)
    return paths


def write_notice_summary(result, builder: UnitReportBuilder, path: str | Path) -> Path:
    """预警汇总.xlsx: one row per warning with its reason and the indicators behind it."""
    from openpyxl import Workbook

    from ._common import COLUMN_ZH
    from .excel import _finish_sheet, save_workbook, _formats_for, _grade_rules, _letter, _warn_rule, _widths, _write_block, \
        warning_table

    wt = warning_table(result, builder)
    wb = Workbook()
    ws = wb.active
    ws.title = "预警汇总"
    heads = [COLUMN_ZH.get(c, c) for c in wt.columns]
    h, last = _write_block(ws, wt, heads, start_row=1, formats=_formats_for(wt))
    _widths(ws, wt, heads)
    _finish_sheet(ws, h, last, len(heads), title=f"{builder.period} 预警汇总")
    if last > h:
        _grade_rules(ws, _letter(wt, "grade"), h + 1, last)
        _warn_rule(ws, _letter(wt, "reason_zh"), h + 1, last)
    ws2 = wb.create_sheet("按原因统计")
    counts = (wt.groupby(["code", "reason_zh"]).size().rename("单位数").reset_index()
              if len(wt) else pd.DataFrame(columns=["code", "reason_zh", "单位数"]))
    _write_block(ws2, counts, ["预警代码", "预警原因", "条数"], start_row=1)
    _widths(ws2, counts, ["预警代码", "预警原因", "条数"])
    return save_workbook(wb, path)
