"""Dynamic monitoring (``qlwork monitor``): read the monthly store, run the detectors, write the alerts.

The CLI, notebooks and the dashboard call these; the statistics are in :mod:`qlwork.monitor`
(docs/monitoring.md).  An alert is a prompt to look, never a grade change.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["monitor_period", "load_alerts"]


def monitor_period(processed: str | Path, raw: str | Path, *, period=None, grain: str = "M",
                   out: str | Path | None = None, **params):
    """Alerts of ``period`` (default: the half-year of the latest month) from
    ``values_fine.parquet`` and ``units.parquet`` in ``processed``, frameworks from ``raw``;
    written to ``out`` (default ``processed``) as ``alerts_<period>.parquet`` and
    ``.params.json``.  → (:class:`~qlwork.monitor.MonitorResult`, parquet path, json path)."""
    from ..io.ingest import load_frameworks
    from ..io.store import read_store
    from ..monitor import monitor
    from ..monitor.store import default_period, write_alerts

    proc = Path(processed)
    fine = read_store(proc / "values_fine.parquet")
    units = read_store(proc / "units.parquet")
    period = period or default_period(fine, grain)
    res = monitor(fine, units, load_frameworks(Path(raw)), period=period, grain=grain, **params)
    path, meta = write_alerts(res, Path(out) if out else proc,
                              inputs=[str(proc / "values_fine.parquet"), str(proc / "units.parquet")])
    return res, path, meta


def load_alerts(processed: str | Path, period: str) -> pd.DataFrame:
    """The alert table ``qlwork monitor`` wrote for ``period`` (schema checked by the catalogue)."""
    from ..monitor.store import read_alerts

    return read_alerts(processed, period)
