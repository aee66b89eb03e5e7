"""Dynamic monitoring (动态监测 / 超常预警): alerts from indicator histories and peers.

One module per concern: :mod:`.panel` (tidy values → units × indicators × periods),
:mod:`.robust` and :mod:`.kernels` (robust statistics, compiled loops),
:mod:`.seasonal` (STL common component of peer groups), the detectors :mod:`.history`,
:mod:`.peers`, :mod:`.shifts`, :mod:`.joint`, :mod:`.fdr` (Benjamini–Hochberg),
:mod:`.alerts` (the alert table), :mod:`.api` (:func:`monitor`), :mod:`.evaluate`
(recall and false-alarm rate against planted anomalies), :mod:`.store` (reading and
writing ``alerts_<period>.parquet``).  The statistics are written out in
``docs/monitoring.md``.  An alert is a prompt to look, never a grade change.
"""
from __future__ import annotations

from .alerts import ALERT_COLUMNS, ALERT_LABELS_ZH
from .api import MonitorParams, MonitorResult, monitor, monitor_panel
from .base import DETECTOR_ZH, DETECTORS
from .evaluate import Evaluation, evaluate
from .panel import Panel, build_panel

__all__ = ["monitor", "monitor_panel", "MonitorParams", "MonitorResult", "Panel", "build_panel", "evaluate",
           "Evaluation", "DETECTORS", "DETECTOR_ZH", "ALERT_COLUMNS", "ALERT_LABELS_ZH"]
