"""The official result's headline, read fast: ranking, specs and frameworks without the build stages.

:func:`load_result` rebuilds every framework's whole :class:`IndexResult` (node scores,
stages, effective weights, history, …: ~25 Parquet files, about half a second).  A face
that first shows only the ranking — the review dashboard's first table, read by every
viewer's kernel at start-up — needs three files: the manifest (specs), each framework
as scored and ``ranking.parquet``.  :func:`load_summary` reads just those; the node
scores of a framework are read on request.  Nothing is recomputed: every value is the
persisted official one (the same files :func:`load_result` reads).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from ..errors import Problem, QlworkError
from ..framework import load_framework
from ..io.catalogue import read_table
from ..spec import IndexSpec
from .official import RESULT_COLUMNS, available_periods, result_dir

__all__ = ["ResultSummary", "load_summary"]


@dataclass(frozen=True, repr=False)
class ResultSummary:
    """Ranking, specs and frameworks of one period's official result (see the module doc)."""

    period: str
    processed: Path
    manifest: Mapping[str, Any]
    specs: Mapping[str, IndexSpec]  # framework id → spec
    frameworks: Mapping[str, Any]  # framework id → Framework as scored
    ranking: pd.DataFrame  # every unit of every framework (RESULT_COLUMNS), as OfficialResult.ranking()
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def node_scores(self, framework: str) -> pd.DataFrame:
        """The node scores of one framework (index unit_id; a column per node)."""
        if framework not in self._cache:
            t = read_table("result_scores", self.processed, period=self.period, framework=framework)
            t["unit_id"] = t["unit_id"].astype(str)
            self._cache[framework] = t.set_index("unit_id")
        return self._cache[framework]

    def __repr__(self) -> str:
        return f"ResultSummary({self.period}: {len(self.ranking)} 个单位, {', '.join(self.specs)})"


def load_summary(processed: str | Path, period: str) -> ResultSummary:
    """The headline of ``period``'s official result (located error when it was never computed)."""
    processed = Path(processed)
    man = result_dir(processed, period) / "manifest.json"
    if not man.is_file():
        raise QlworkError(Problem("no_official_result", f"还没有 {period} 的正式结果，请先运行 qlwork score --period {period}",
                                  f"no official result for {period}; run `qlwork score --period {period}`",
                                  file=f"results/{period}/manifest.json",
                                  found="、".join(available_periods(processed)) or "无 none"))
    try:
        manifest = json.loads(man.read_text(encoding="utf-8"))
        specs = {fid: IndexSpec.from_dict(d) for fid, d in manifest.get("specs", {}).items()}
        fws = {fid: load_framework(json.loads((result_dir(processed, period) / fid / "framework.json")
                                              .read_text(encoding="utf-8"))) for fid in specs}
    except (OSError, ValueError) as e:
        raise QlworkError(Problem("store_unreadable", f"无法读取 {period} 的正式结果，请重新运行 qlwork score",
                                  "cannot read the official result; re-run `qlwork score`",
                                  file=f"results/{period}/", found=str(e)[:100])) from None
    rk = read_table("result_ranking", processed, period=period).reindex(columns=RESULT_COLUMNS)
    for c in ("rank", "n_peers", "rank_in_region"):
        rk[c] = rk[c].astype("Int64")
    for c in ("framework", "period", "unit_id", "unit_name", "unit_type", "peer_group", "city", "county",
              "township", "grade", "grade_rule", "veto", "bonus_detail", "warnings"):
        rk[c] = rk[c].astype(object).where(rk[c].notna(), None)
    return ResultSummary(period, processed, manifest, specs, fws, rk)
