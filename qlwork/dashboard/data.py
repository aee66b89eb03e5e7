"""What the review dashboard reads, loaded through :mod:`qlwork.workflow` — never scored here.

:class:`DashboardData` opens the project once per kernel and reads, each on first
use and then cached:

* the **official result** of a period, the files ``qlwork score`` wrote: first only its
  headline (:func:`qlwork.workflow.load_summary`: ranking, specs, frameworks — three
  files, what the first table needs, so a viewer's kernel starts fast and never
  scores), the whole result (:func:`qlwork.workflow.load_result`) when a tab needs it;
* the persisted **sensitivity** table of a period
  (:func:`qlwork.workflow.uncertainty.load_sensitivity`), used only when it was
  computed for the same spec (fingerprints agree);
* the **problems** found at ingestion (``problems.parquet`` through the catalogue),
  i.e. which cells were excluded as invalid and why;
* named **weight presets** for the weights view (``weights_<method>.parquet`` of
  ``qlwork weights``, read with :meth:`Project.weights_from_file`);
* one :class:`~qlwork.report.unit_report.UnitReportBuilder` per (period, framework) —
  the 体检报告单's peer statistics, shared by the dashboard card and print.

The only computation of scores in the dashboard is the weights view's what-if,
which calls :func:`qlwork.workflow.what_if` (the one scorer).
"""
from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import Problem, QlworkError
from ..io.catalogue import path_of, read_table
from ..workflow import Project, available_periods, load_result, load_summary

__all__ = ["DashboardData", "SensitivityData", "PRESET_NAMES", "OFFICIAL_PRESET", "EQUAL_PRESET"]

OFFICIAL_PRESET = "正式权重"
EQUAL_PRESET = "等权重"
#: Chinese names of the weight files ``qlwork weights`` writes (weights_<method>.parquet).
PRESET_NAMES = {"ahp": "AHP 专家组权重", "entropy": "熵权法", "critic": "CRITIC 法", "combined": "组合赋权",
                "combine": "组合赋权", "pca": "主成分法"}


@dataclass(frozen=True)
class SensitivityData:
    """The persisted sensitivity analysis of one period: per-unit table and its parameters."""

    table: pd.DataFrame  # framework, unit_id, nominal_rank, rank_p05, rank_p95, p_<grade>, p_nominal_grade, p_bottom_n …
    params: dict  # framework id → parameters (description_zh: what was simulated)
    stale: tuple = ()  # framework ids whose table was computed for another spec (not shown)

    def of(self, framework: str) -> pd.DataFrame | None:
        if framework in self.stale:
            return None
        t = self.table[self.table["framework"].astype(str) == framework]
        if t.empty:
            return None
        t = t.copy()
        t["unit_id"] = t["unit_id"].astype(str)
        return t.set_index("unit_id", drop=False).rename_axis(None)


@dataclass
class DashboardData:
    """The project's official results and side tables, read lazily (one instance per kernel)."""

    project: Project
    periods: list[str]
    _cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def open(cls, root: str | Path | None = None) -> "DashboardData":
        if root is None:
            prj = Project.open()
        else:  # an explicit root wins over QLWORK_ROOT (Project.open prefers the variable)
            from .. import paths

            root = Path(root).resolve()
            prj = Project(root, paths.raw_dir(root), paths.processed_dir(root))
        periods = available_periods(prj.processed)
        if not periods:
            raise QlworkError(Problem(
                "no_official_result", "尚无正式结果：请先运行 `make data`（或 `qlwork score --period all`）",
                "no official result yet: run `make data` or `qlwork score --period all`",
                file=prj.rel(prj.processed / "results"), expected="results/<评价期>/manifest.json"))
        return cls(prj, periods)

    @property
    def root(self) -> Path:
        return self.project.root

    @property
    def latest(self) -> str:
        return self.periods[-1]

    # ------------------------------------------------------------ official result
    def summary(self, period: str):
        """Ranking, specs and frameworks of ``period``'s official result (read once, fast)."""
        key = ("summary", period)
        if key not in self._cache:
            self._cache[key] = load_summary(self.project.processed, period)
        return self._cache[key]

    def spec(self, period: str, framework: str):
        return self.summary(period).specs[framework]

    def framework(self, period: str, framework: str):
        return self.summary(period).frameworks[framework]

    def result(self, period: str):
        """The :class:`~qlwork.workflow.official.OfficialResult` of ``period`` (read once)."""
        key = ("result", period)
        if key not in self._cache:
            self._cache[key] = load_result(self.project.processed, period)
        return self._cache[key]

    def index_result(self, period: str, framework: str):
        off = self.result(period)
        if framework not in off.results:
            raise QlworkError(Problem("no_framework_result", f"{period} 的正式结果中没有指标体系 {framework}",
                                      "framework not in the official result of this period", found=framework,
                                      expected="、".join(off.results)))
        return off.results[framework]

    def frameworks(self, period: str) -> dict[str, Any]:
        """Framework id → Framework (as scored) of the period's official result."""
        return dict(self.summary(period).frameworks)

    def ranking(self, period: str, framework: str) -> pd.DataFrame:
        """The official ranking of one framework (``OfficialResult.ranking()`` rows, unit_id as index)
        with the level-1 goal scores of the result joined."""
        key = ("ranking", period, framework)
        if key not in self._cache:
            sm = self.summary(period)
            rk = sm.ranking
            rk = rk[rk["framework"] == framework].copy()
            scores = sm.node_scores(framework)
            nodes = [n for n in sm.frameworks[framework].level1 if n in scores.columns]
            sc = scores[nodes]
            rk = rk.set_index("unit_id", drop=False).rename_axis(None)
            for n in nodes:
                rk[n] = sc[n].reindex(rk.index).to_numpy(float)
            self._cache[key] = rk
        return self._cache[key]

    def manifest(self, period: str) -> dict:
        return dict(self.summary(period).manifest)

    # ------------------------------------------------------------ side tables
    def sensitivity(self, period: str) -> SensitivityData | None:
        """The persisted sensitivity analysis of ``period`` for this official result, or None."""
        key = ("sensitivity", period)
        if key not in self._cache:
            from ..workflow.uncertainty import load_sensitivity

            got = load_sensitivity(self.project, period)
            if got is None:
                self._cache[key] = None
            else:
                table, params = got
                fps = {fid: sp.fingerprint() for fid, sp in self.summary(period).specs.items()}
                stale = tuple(fid for fid, fp in fps.items()
                              if (params.get(fid) or {}).get("spec_fingerprint") not in (None, fp))
                self._cache[key] = SensitivityData(table, params, stale)
        return self._cache[key]

    def problems(self) -> pd.DataFrame | None:
        """Problems found at ingestion (``problems.parquet``): the cells excluded as invalid and why."""
        key = ("problems",)
        if key not in self._cache:
            p = path_of("problems", self.project.processed)
            self._cache[key] = read_table("problems", self.project.processed) if p.is_file() else None
        return self._cache[key]

    def weight_presets(self, period: str, framework: str) -> dict[str, dict[str, float]]:
        """Named level-1 weight sets: the official weights, equal weights, and those of
        ``weights_<method>.parquet`` (``qlwork weights``) for this framework."""
        key = ("presets", period, framework)
        if key in self._cache:
            return self._cache[key]
        fw = self.framework(period, framework)
        lw = fw.local_weights()
        l1 = list(fw.level1)
        official = {n: float(lw[n]) for n in l1}
        s = sum(official.values())
        out = {OFFICIAL_PRESET: {n: v / s for n, v in official.items()},
               EQUAL_PRESET: {n: 1.0 / len(l1) for n in l1}}
        folder = self.project.processed
        for f in sorted(folder.glob("weights_*.parquet")):
            method = f.stem[len("weights_"):]
            try:
                got = self.project.weights_from_file(f, framework)
            except Exception:  # noqa: BLE001 — an unreadable optional file just adds no preset (logged)
                traceback.print_exc()
                continue
            vals = (got or {}).get("values") or {}
            w = {n: float(vals[n]) for n in l1 if n in vals}
            if len(w) == len(l1) and sum(w.values()) > 0:
                t = sum(w.values())
                out[PRESET_NAMES.get(method.lower(), method)] = {n: v / t for n, v in w.items()}
        self._cache[key] = out
        return out

    def alerts(self, period: str) -> pd.DataFrame | None:
        """The 超常预警 ``qlwork monitor`` stored for ``period`` (None when it has not run for it)."""
        key = ("alerts", period)
        if key not in self._cache:
            from ..monitor.store import available_alerts
            from ..workflow.monitoring import load_alerts

            proc = self.project.processed
            self._cache[key] = load_alerts(proc, period) if period in available_alerts(proc) else None
        return self._cache[key]

    def risk_points(self) -> dict:
        """unit → its high-level risk points without controls (the register in data/raw/registers),
        as the printed 体检报告单 lists them; empty without a register."""
        if "risk_points" not in self._cache:
            from ..registers.risk import uncontrolled_high
            from ..workflow.follow_through import follow_registers

            risk = follow_registers(self.project).risk
            self._cache["risk_points"] = uncontrolled_high(risk) if risk is not None and len(risk) else {}
        return self._cache["risk_points"]

    def unit_builder(self, period: str, framework: str):
        """The 体检报告单 builder of the official result (peer statistics over the whole result,
        with the period's sensitivity analysis when it belongs to this result) — as in print."""
        key = ("builder", period, framework)
        if key not in self._cache:
            from ..report.unit_report import UnitReportBuilder

            sens = self.sensitivity(period)
            table = sens.of(framework) if sens is not None else None
            if table is not None:
                table = table.drop(columns=["framework", "period"], errors="ignore").set_index("unit_id").rename_axis("unit_id")
            self._cache[key] = UnitReportBuilder(self.index_result(period, framework), sensitivity=table,
                                                 period=period, risk_points=self.risk_points())
        return self._cache[key]
