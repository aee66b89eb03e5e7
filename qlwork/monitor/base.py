"""What every detector returns: per-cell statistics on the panel's grid."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Scores", "DETECTORS", "DETECTOR_ZH"]

#: detector ids, in the order the alert table lists them
DETECTORS = ("history", "peers", "shift", "drift", "joint")
DETECTOR_ZH = {
    "history": "本单位历史（突变）",
    "peers": "同类比较（离群）",
    "shift": "水平突变（持续偏移）",
    "drift": "趋势漂移（逐月累积）",
    "joint": "多指标组合异常",
}


@dataclass(frozen=True)
class Scores:
    """One detector's statistics for every tested cell.

    Arrays cover the evaluated periods only (``t_idx``: their positions on the panel's time
    axis): units × indicators × evaluated periods (units × evaluated periods for ``joint``).
    ``z``: the signed statistic (a robust z, or the CUSUM/GLR statistic; for ``joint`` the
    Mahalanobis distance d²), NaN where the cell is not tested; ``p``:
    its p-value under the detector's null; ``expected``: the value the cell would have
    without an anomaly, on the original scale (history: the baseline plus this month's
    common component; peers: the peer median); ``extra``: detector-specific arrays
    (onsets, group sizes, contributions).
    """

    detector: str
    z: np.ndarray
    p: np.ndarray
    expected: np.ndarray | None = None
    extra: dict = field(default_factory=dict)
    t_idx: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def tested(self) -> np.ndarray:
        return np.isfinite(self.p)
