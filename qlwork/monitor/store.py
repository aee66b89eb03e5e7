"""Reading and writing the monitoring artefacts of ``data/processed``.

``alerts_<period>.parquet`` — the alert table (:data:`~.alerts.ALERT_COLUMNS`) of one
evaluation period, written by ``qlwork monitor``; ``alerts_<period>.params.json`` — the
parameters (every statistical choice), the tests per detector and month, and the input
files.  Both are replaced whole or not at all (:mod:`qlwork.io.safe`).
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .. import periods as P
from ..io.safe import atomic_write_text
from ..io.catalogue import read_table, write_table
from .api import MonitorResult

__all__ = ["write_alerts", "read_alerts", "alerts_path", "default_period", "available_alerts"]


def alerts_path(processed: str | Path, period: str) -> Path:
    return Path(processed) / f"alerts_{P.parse(period).id}.parquet"


def write_alerts(result: MonitorResult, processed: str | Path, *, inputs: list[str] | None = None) -> tuple[Path, Path]:
    """Write the alert table and its parameters; → (parquet path, json path)."""
    period = result.period or f"{result.evaluated[0]}_{result.evaluated[-1]}"
    proc = Path(processed)
    proc.mkdir(parents=True, exist_ok=True)
    path = proc / f"alerts_{period}.parquet"
    meta = proc / f"alerts_{period}.params.json"
    write_table("alerts", result.alerts, proc, period=period)  # checks the declared schema
    atomic_write_text(meta, json.dumps({
        "period": result.period, "evaluated": list(result.evaluated), "n_alerts": int(len(result.alerts)),
        "params": result.params, "tests": result.tests.to_dict(orient="records"), "inputs": inputs or [],
        "seconds": round(result.seconds, 2), "note": "预警只提示核查，不改变得分和等级 an alert is a prompt to look, never a grade change",
    }, ensure_ascii=False, indent=2, default=str))
    return path, meta


def read_alerts(processed: str | Path, period: str) -> pd.DataFrame:
    """The alert table of ``period`` (a located error naming ``qlwork monitor`` when missing)."""
    return read_table("alerts", processed, period=P.parse(period).id)


def available_alerts(processed: str | Path) -> list[str]:
    """Periods with an alert table in ``processed``, in order."""
    ids = [p.stem[len("alerts_"):] for p in Path(processed).glob("alerts_*.parquet")]
    return P.sort_periods([i for i in ids if P.try_parse(i) is not None])


def default_period(fine: pd.DataFrame, grain: str = "M") -> str:
    """The evaluation period (half-year) that holds the latest month of the series."""
    months = [p for p in pd.unique(fine["period"].astype(str)) if P.grain_of(p) == grain]
    if not months:
        from ..errors import Problem, QlworkError

        raise QlworkError(Problem("no_monitoring_data", "没有月度数值可供监测", "no monthly values to monitor",
                                  expected="values_fine.parquet 中的月度数值（先运行 qlwork ingest）"))
    return max(P.parse(m) for m in months).parent("H").id
