"""``qlwork ingest``: validate the raw folder and write the processed store, whole or nothing.

Reads through :mod:`qlwork.io.ingest` (the raw readers) and :mod:`qlwork.io.validate`
(the checks); writes ``values``, ``units``, ``problems``, ``veto`` and ``bonus``
(declared in :mod:`qlwork.io.catalogue`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .. import paths as _paths
from ..errors import Problem, QlworkError, problems_frame
from .atomic import atomic_path
from .catalogue import CATALOGUE
from .ingest import REGISTRY_FILE, UNIT_COLUMNS, default_raw_dir
from .validate import run_checks

__all__ = ["ingest", "IngestResult", "VALUE_COLUMNS"]


@dataclass(frozen=True)
class IngestResult:
    """What :func:`ingest` wrote."""

    values_path: Path
    units_path: Path
    problems_path: Path
    n_values: int
    n_units: int
    periods: tuple
    n_excluded: int
    n_files: int
    report: Any = field(repr=False, default=None)  # ValidationReport

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([
            ("数值 values", self.n_values), ("单位 units", self.n_units), ("期别 periods", " ".join(self.periods)),
            ("排除的单元格 excluded cells", self.n_excluded), ("工作簿 workbooks", self.n_files),
            ("问题 problems", len(self.report.problems) if self.report is not None else 0),
            ("输出 output", str(self.values_path)),
        ], columns=["项目 item", "值 value"])

    def summary_zh(self) -> str:
        rep = self.report
        text = (f"已读取 {self.n_files} 个部门工作簿：写入 {self.n_values} 个数值（{self.n_units} 个单位，"
                f"期别 {'、'.join(self.periods)}）→ {self.values_path}")
        if self.n_excluded or (rep is not None and rep.problems):
            text += (f"\n排除无效单元格 {self.n_excluded} 个；问题 {len(rep.errors)} 个错误、{len(rep.warnings)} 个警告，"
                     f"详见 {self.problems_path}（运行 qlwork validate 查看）")
        return text

    def __repr__(self) -> str:
        return (f"IngestResult(values={self.n_values}, units={self.n_units}, periods={list(self.periods)}, "
                f"excluded={self.n_excluded}, out='{self.values_path.parent}')")


VALUE_COLUMNS = ["unit_id", "period", "indicator_id", "value", "source", "file", "sheet", "row", "column"]


def ingest(raw_dir: str | Path | None = None, out_dir: str | Path | None = None,
           exclude_invalid: bool = False, *, progress: bool = False) -> IngestResult:
    """Validate the raw folder and write ``values.parquet``, ``units.parquet`` and
    ``problems.parquet`` under ``out_dir`` (default ``data/processed``).

    If validation finds errors: with ``exclude_invalid=False`` raise
    :class:`QlworkError` carrying every error and write nothing; with
    ``exclude_invalid=True`` write only the valid cells and record the problems
    (the excluded cells are counted in ``n_excluded``).
    """
    base = Path(raw_dir) if raw_dir is not None else default_raw_dir()
    out = Path(out_dir) if out_dir is not None else _paths.processed_dir()
    checked = run_checks(base, progress=progress)
    report = checked.report
    if report.errors and not exclude_invalid:
        raise QlworkError(report.errors)
    if checked.units is None or checked.units.empty:
        raise QlworkError(report.errors or [Problem("no_units", "单位名录为空", "the unit registry is empty",
                                                    file=REGISTRY_FILE)])
    cells = checked.cells
    keep = cells["valid"].to_numpy() & (cells["status"] == "ok").to_numpy()
    values = cells.loc[keep, VALUE_COLUMNS].sort_values(
        ["period", "unit_id", "source", "row", "column"], kind="stable").reset_index(drop=True)
    values["value"] = values["value"].astype("float64")
    values["row"] = values["row"].astype("int32")
    n_excluded = int((~cells["valid"]).sum())
    units = checked.units[UNIT_COLUMNS].reset_index(drop=True)
    probs = problems_frame(report.problems)
    for c in ("found", "expected"):
        probs[c] = probs[c].map(lambda v: None if v is None else str(v))
    probs["row"] = probs["row"].astype("Int64")
    paths = {name: out / f"{name}.parquet" for name in ("values", "units", "problems", "veto", "bonus")}
    out.mkdir(parents=True, exist_ok=True)
    veto = checked.veto if checked.veto is not None else pd.DataFrame(columns=list(CATALOGUE["veto"].columns))
    bonus = checked.bonus if checked.bonus is not None else pd.DataFrame(columns=list(CATALOGUE["bonus"].columns))
    # write every table into a temp file first, then rename: a failure leaves the old store intact
    with atomic_path(paths["values"]) as tv, atomic_path(paths["units"]) as tu, atomic_path(paths["problems"]) as tp, \
            atomic_path(paths["veto"]) as tvt, atomic_path(paths["bonus"]) as tb:
        values.to_parquet(tv, index=False)
        units.to_parquet(tu, index=False)
        probs.to_parquet(tp, index=False)
        veto.astype({"row": "int64"}).to_parquet(tvt, index=False)
        bonus.astype({"row": "int64"}).to_parquet(tb, index=False)
    return IngestResult(
        values_path=paths["values"], units_path=paths["units"], problems_path=paths["problems"],
        n_values=len(values), n_units=int(values["unit_id"].nunique()),
        periods=tuple(sorted(values["period"].unique())), n_excluded=n_excluded,
        n_files=report.n_files, report=report,
    )


