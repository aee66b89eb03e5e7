"""``qlwork ingest``: validate the raw folder and write the processed store, whole or nothing.

Reads through :mod:`qlwork.io.ingest` (the raw readers) and :mod:`qlwork.io.validate`
(the checks); writes ``values``, ``values_fine``, ``units``, ``problems``, ``veto`` and
``bonus`` (declared in :mod:`qlwork.io.catalogue`).

``values`` holds one value per unit, half-year and indicator: read from a half-year
workbook, or rolled up from monthly and quarterly workbooks by the rule the framework
declares (:func:`qlwork.io.rollup.rollup_all`; ``rollup`` and ``parts`` say how).
``values_fine`` keeps every monthly and quarterly value and every denominator as
submitted, for monitoring (``qlwork monitor``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .. import paths as _paths
from .. import periods as P
from ..errors import Problem, QlworkError, problems_frame
from .safe import atomic_paths, check_output_dir, claim_output_dir
from .catalogue import CATALOGUE
from .ingest import REGISTRY_FILE, UNIT_COLUMNS, default_raw_dir
from .validate import run_checks

__all__ = ["ingest", "IngestResult", "VALUE_COLUMNS", "FINE_COLUMNS", "split_values"]


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
    fine_path: Path | None = None
    n_fine: int = 0        # monthly / quarterly values and denominators kept for monitoring
    n_rolled: int = 0      # half-year values rolled up from them
    fine_periods: tuple = ()

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([
            ("数值 values", self.n_values), ("单位 units", self.n_units), ("期别 periods", " ".join(self.periods)),
            ("排除的单元格 excluded cells", self.n_excluded), ("工作簿 workbooks", self.n_files),
            ("月度/季度数值 monthly/quarterly values", self.n_fine), ("由其汇总的半年值 rolled-up values", self.n_rolled),
            ("问题 problems", len(self.report.problems) if self.report is not None else 0),
            ("输出 output", str(self.values_path)),
        ], columns=["项目 item", "值 value"])

    def summary_zh(self) -> str:
        rep = self.report
        text = (f"已读取 {self.n_files} 个部门工作簿：写入 {self.n_values} 个数值（{self.n_units} 个单位，"
                f"期别 {'、'.join(self.periods)}）→ {self.values_path}")
        if self.n_fine:
            fp = self.fine_periods
            text += (f"\n月度/季度数值 {self.n_fine} 个（{fp[0]}…{fp[-1]}，供动态监测）→ {self.fine_path}；"
                     f"其中汇总为半年值 {self.n_rolled} 个")
        if self.n_excluded or (rep is not None and rep.problems):
            text += (f"\n排除无效单元格 {self.n_excluded} 个；问题 {len(rep.errors)} 个错误、{len(rep.warnings)} 个警告，"
                     f"详见 {self.problems_path}（运行 qlwork validate 查看）")
        return text

    def __repr__(self) -> str:
        return (f"IngestResult(values={self.n_values}, units={self.n_units}, periods={list(self.periods)}, "
                f"excluded={self.n_excluded}, out='{self.values_path.parent}')")


#: columns of values.parquet (the evaluation-period values the index scores)
VALUE_COLUMNS = ["unit_id", "period", "indicator_id", "value", "source", "file", "sheet", "row", "column",
                 "rollup", "parts"]
#: columns of values_fine.parquet (months, quarters and denominators as submitted)
FINE_COLUMNS = ["unit_id", "period", "indicator_id", "value", "source", "file", "sheet", "row", "column", "grain"]
_CELL_VALUE_COLUMNS = ["unit_id", "period", "indicator_id", "value", "source", "file", "sheet", "row", "column"]


def split_values(cells: pd.DataFrame, frameworks: dict, rolled=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Valid cells → (values, fine): the half-year table the index scores (read directly or
    rolled up by :func:`qlwork.io.rollup.rollup_all`) and the finer table as submitted."""
    from .rollup import rollup_all

    v = cells[_CELL_VALUE_COLUMNS].reset_index(drop=True)
    grain = v["period"].map({p: P.grain_of(p) for p in pd.unique(v["period"])})
    denoms = {d for fw in frameworks.values() for d in fw.denominators}
    fine_mask = (grain != "H").to_numpy() | v["indicator_id"].isin(denoms).to_numpy()
    fine = v[fine_mask].assign(grain=grain[fine_mask].to_numpy())
    if rolled is None:
        rolled = rollup_all(v, frameworks, grain="H")
    return _tidy(rolled.values.copy(), fine)


def _tidy(values: pd.DataFrame, fine: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    values = values.sort_values(["period", "unit_id", "source", "row", "column", "indicator_id"],
                                kind="stable").reset_index(drop=True)[VALUE_COLUMNS]
    fine = fine.sort_values(["period", "unit_id", "source", "row", "column"], kind="stable").reset_index(drop=True)
    fine = fine[FINE_COLUMNS]
    for df in (values, fine):
        df["value"] = df["value"].astype("float64")
        df["row"] = df["row"].astype("int32")
        for c in ("unit_id", "period", "indicator_id", "source", "file", "sheet", "column"):
            df[c] = df[c].astype(str)
    fine["grain"] = fine["grain"].astype(str)
    values["rollup"] = values["rollup"].astype(str)
    values["parts"] = values["parts"].astype(str)
    return values, fine


def ingest(raw_dir: str | Path | None = None, out_dir: str | Path | None = None,
           exclude_invalid: bool = False, *, progress: bool = False) -> IngestResult:
    """Validate the raw folder and write ``values.parquet``, ``values_fine.parquet``,
    ``units.parquet``, ``problems.parquet`` and the registers under ``out_dir`` (default
    ``data/processed``); see the module docstring for the two value tables.

    If validation finds errors: with ``exclude_invalid=False`` raise
    :class:`QlworkError` carrying every error and write nothing; with
    ``exclude_invalid=True`` write only the valid cells and record the problems
    (the excluded cells are counted in ``n_excluded``).
    """
    base = Path(raw_dir) if raw_dir is not None else default_raw_dir()
    out = Path(out_dir) if out_dir is not None else _paths.processed_dir()
    check_output_dir(out, "processed")  # before the long read; claimed (created, marked) only when writing
    checked = run_checks(base, progress=progress)
    report = checked.report
    if report.errors and not exclude_invalid:
        raise QlworkError(report.errors)
    if checked.units is None or checked.units.empty:
        raise QlworkError(report.errors or [Problem("no_units", "单位名录为空", "the unit registry is empty",
                                                    file=REGISTRY_FILE)])
    cells = checked.cells
    keep = cells["valid"].to_numpy() & (cells["status"] == "ok").to_numpy()
    values, fine = split_values(cells.loc[keep], checked.frameworks, checked.rolled)
    if checked.derived is not None and len(checked.derived):  # indicators derived from registers (half-year)
        derived = checked.derived[_CELL_VALUE_COLUMNS].assign(rollup="", parts="")
        values, _ = _tidy(pd.concat([values, derived], ignore_index=True), fine)
    n_excluded = int((~cells["valid"]).sum())
    units = checked.units[UNIT_COLUMNS].reset_index(drop=True)
    probs = problems_frame(report.problems)
    for c in ("found", "expected"):
        probs[c] = probs[c].map(lambda v: None if v is None else str(v))
    probs["row"] = probs["row"].astype("Int64")
    paths = {name: out / f"{name}.parquet" for name in ("values", "values_fine", "units", "problems", "veto", "bonus")}
    claim_output_dir(out, "processed")  # never into a person's non-empty folder
    veto = checked.veto if checked.veto is not None else pd.DataFrame(columns=list(CATALOGUE["veto"].columns))
    bonus = checked.bonus if checked.bonus is not None else pd.DataFrame(columns=list(CATALOGUE["bonus"].columns))
    # write every table into a temp file first, then rename them together: a failure leaves the old store intact
    with atomic_paths(*(paths[k] for k in ("values", "units", "problems", "veto", "bonus", "values_fine"))) \
            as (tv, tu, tp, tvt, tb, tf):
        values.to_parquet(tv, index=False)
        fine.to_parquet(tf, index=False)
        units.to_parquet(tu, index=False)
        probs.to_parquet(tp, index=False)
        veto.astype({"row": "int64"}).to_parquet(tvt, index=False)
        bonus.astype({"row": "int64"}).to_parquet(tb, index=False)
    return IngestResult(
        values_path=paths["values"], units_path=paths["units"], problems_path=paths["problems"],
        n_values=len(values), n_units=int(values["unit_id"].nunique()),
        periods=tuple(P.sort_periods(values["period"].unique())), n_excluded=n_excluded,
        n_files=report.n_files, report=report, fine_path=paths["values_fine"], n_fine=len(fine),
        n_rolled=int((values["rollup"] != "").sum()), fine_periods=tuple(P.sort_periods(fine["period"].unique())),
    )


