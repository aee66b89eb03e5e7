"""Dynamic monitoring (``qlwork monitor``): read the monthly store, run the detectors, write the alerts.

The CLI, notebooks and the dashboard call these; the statistics are in :mod:`qlwork.monitor`
(docs/monitoring.md).  An alert is a prompt to look, never a grade change.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["monitor_period", "load_alerts", "alert_sheet", "ALERT_SHEET"]

#: name of the review workbook's sheet of alerts
ALERT_SHEET = "超常预警"


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


def alert_sheet(processed: str | Path, period: str) -> pd.DataFrame | None:
    """The review workbook's 超常预警 sheet: one row per unit, indicator and detector
    (:func:`qlwork.monitor.views.condense_alerts`), strongest first, Chinese headers but
    ``unit_id`` (the workbook cuts it to its units).  None when ``qlwork monitor`` has not run
    for ``period``."""
    from ..monitor.store import available_alerts
    from ..monitor.views import condense_alerts
    from ..periods import label_zh

    if period not in available_alerts(processed):
        return None
    c = condense_alerts(load_alerts(processed, period))
    return pd.DataFrame({
        "unit_id": c["unit_id"].astype(str).to_numpy(), "单位名称": c["unit_name"].to_numpy(),
        "单位类型": c["unit_type"].to_numpy(), "指标": c["indicator_name"].to_numpy(),
        "检测方法": c["detector_zh"].to_numpy(), "首次": [label_zh(x) for x in c["first"]],
        "最近": [label_zh(x) for x in c["last"]], "预警月数": c["months"].astype(int).to_numpy(),
        "强度": c["strength"].astype(float).round(1).to_numpy(),
        "方向": ["变差" if w else "变好" for w in c["worse"].astype(bool)], "依据": c["evidence"].to_numpy()})
