"""``monitor()`` — run every detector over a panel and return the alerts of a period.

Steps (each module's docstring has its statistics; ``docs/monitoring.md`` the whole story):

1. :func:`~.panel.build_panel` — tidy values → units × indicators × periods, transformed;
2. peer-group and framework-wide column statistics (:mod:`.robust`);
3. the common component of each peer group — STL seasonal + remainder (:mod:`.seasonal`);
4. each series' rolling baseline (:mod:`.history`), then the detectors
   ``history``, ``peers``, ``shift``/``drift`` (:mod:`.shifts`), ``joint`` (:mod:`.joint`);
5. Benjamini–Hochberg per detector and period, strength threshold → alert table (:mod:`.alerts`).

Every statistical choice is a field of :class:`MonitorParams` and is recorded in
``MonitorResult.params`` (and in every export).  An alert is a prompt to look, never a
grade change.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .. import periods as P
from ..errors import Problem, QlworkError
from .alerts import ALERT_LABELS_ZH, assemble_alerts
from .base import DETECTOR_ZH, DETECTORS, Scores
from .calibrate import empirical_null
from .history import baseline, own_history
from .joint import joint_scores
from .panel import Panel, build_panel, inverse
from .peers import peer_scores
from .robust import group_stats, p_two_sided
from .seasonal import common_component
from .shifts import shift_scores

__all__ = ["MonitorParams", "MonitorResult", "monitor", "monitor_panel"]


@dataclass(frozen=True)
class MonitorParams:
    """Every statistical choice of the monitor (defaults documented in docs/monitoring.md)."""

    grain: str = "M"                   # the series monitored: "M" months, "Q" quarters
    detectors: tuple = DETECTORS
    peer_by: tuple = ("framework", "unit_type")
    # own history
    baseline_months: int = 12          # B: the months before t that form the baseline
    min_history: int = 6               # reported months needed in the baseline
    shrink_n0: float = 6.0             # pseudo-months of the peers' typical scale
    floor_frac: float = 0.25           # scale floor: this share of the indicator's peer spread
    # common component
    common: str = "stl"                # "stl" | "seasonal" | "shocks" | "none"
    min_group_common: int = 10         # a smaller group borrows the framework-wide median series
    # peers
    min_peers: int = 10                # below: scale shrunk toward the framework's; below 3: no test
    peer_n0: float = 6.0
    # shifts and drifts
    shift_window: int = 6              # L: months scanned for an onset
    clip: float = 4.0                  # Huber clip of standardised residuals
    # joint
    joint_min_group: int = 30
    joint_min_coverage: float = 0.8
    reweight_alpha: float = 0.001
    # calibration
    empirical_null: bool = True        # Efron's empirical null for history, shift and drift
    studentize: bool = False           # read MAD-scaled statistics as Student's t (exact tails, less power)
    # alerts
    fdr: float = 0.05                  # Benjamini–Hochberg level per detector and period
    min_strength: float = 3.0          # equivalent |z| an alert needs besides q ≤ fdr

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class MonitorResult:
    """Alerts of the evaluated periods, with the tests behind them.

    ``alerts``: :data:`~.alerts.ALERT_COLUMNS` (``to_frame()``; Chinese headers with
    ``to_frame(chinese=True)``); ``tests``: per detector and period the number of tests and
    alerts; ``params``: the choices; ``panel`` and ``scores`` (detector → :class:`~.base.Scores`)
    for charts and evaluation.
    """

    alerts: pd.DataFrame
    tests: pd.DataFrame
    params: dict
    period: str | None
    evaluated: tuple
    panel: Panel = field(repr=False)
    scores: dict = field(repr=False, default_factory=dict)
    seconds: float = 0.0
    cpu: dict = field(repr=False, default_factory=dict)  # CPU seconds per stage (benchmark notes)

    def to_frame(self, chinese: bool = False) -> pd.DataFrame:
        return self.alerts.rename(columns=ALERT_LABELS_ZH) if chinese else self.alerts

    def summary_zh(self, top: int = 5) -> str:
        a = self.alerts
        U, K, T = self.panel.shape
        what = "、".join(P.label_zh(x) for x in self.period.split("+")) if self.period else f"{P.label_zh(self.evaluated[0])}至{P.label_zh(self.evaluated[-1])}"
        lines = [f"动态监测 {what}：{U} 个单位 × {K} 项{P.GRAIN_ADJ_ZH[self.panel.grain]}指标，"
                 f"检验 {int(self.tests['tests'].sum()):,} 次，预警 {len(a)} 条"
                 f"（{a['unit_id'].nunique() if len(a) else 0} 个单位；BH 错误发现率 ≤ {self.params['fdr']:.0%}，"
                 f"强度 ≥ {self.params['min_strength']:g}）。预警只提示核查，不改变得分和等级。"]
        if len(a):
            by = a.groupby("detector").size()
            lines.append("  按方法：" + "，".join(f"{DETECTOR_ZH[d]} {int(by.get(d, 0))}" for d in DETECTORS if d in by))
            worse = a[a["worse"]]
            lines.append(f"  其中指向变差的 {len(worse)} 条；最强的 {min(top, len(a))} 条：")
            for r in a.sort_values("strength", ascending=False).head(top).itertuples():
                lines.append(f"  · {r.unit_name or r.unit_id}（{r.unit_id}）{r.detector_zh}，强度 {r.strength:.1f}：{r.evidence}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"MonitorResult(period={self.period!r}, evaluated={len(self.evaluated)} {self.panel.grain}, "
                f"alerts={len(self.alerts)}, units={self.panel.shape[0]}, indicators={self.panel.shape[1]}, "
                f"{self.seconds:.1f} s)")


def monitor(values: pd.DataFrame, units: pd.DataFrame, frameworks, *, period: Any = None,
            params: MonitorParams | None = None, indicators: Sequence[str] | None = None, **overrides) -> MonitorResult:
    """Run the detectors on the ``params.grain`` series of ``values`` and list the alerts of
    ``period`` (any grain that contains periods of the series, e.g. ``2025H2`` or ``2025-12``,
    or a list of them; ``None``: every period with enough history).

    ``values``: tidy ``unit_id, period, indicator_id, value`` (``values_fine.parquet``);
    ``units``: the registry (``unit_id``, ``unit_name``, ``unit_type``, ``framework``, …);
    ``frameworks``: a Framework or ``{key: Framework}``; ``overrides``: fields of
    :class:`MonitorParams`.
    """
    params = replace(params or MonitorParams(), **overrides)
    c0 = time.process_time()
    panel = build_panel(values, units, frameworks, grain=params.grain, indicators=indicators,
                        peer_by=params.peer_by)
    res = monitor_panel(panel, period=period, params=params)
    return replace(res, cpu={"panel": round(time.process_time() - c0 - sum(res.cpu.values()), 3)} | res.cpu)


def monitor_panel(panel: Panel, *, period: Any = None, params: MonitorParams | None = None) -> MonitorResult:
    """:func:`monitor` on a ready panel (the benchmark and the evaluation build panels directly)."""
    t0 = time.perf_counter()
    params = params or MonitorParams()
    bad = [d for d in params.detectors if d not in DETECTORS]
    if bad:
        raise QlworkError(Problem("bad_detector", f"未知的检测方法 {bad}", "unknown detectors", found=bad,
                                  expected="、".join(DETECTORS)))
    if not params.detectors:
        raise QlworkError(Problem("bad_detector", "没有选择检测方法", "no detector chosen", column="detectors",
                                  found="", expected="、".join(DETECTORS)))
    if not 0 < float(params.fdr) < 1:  # also NaN: a BH level outside (0, 1) tests nothing or everything
        raise QlworkError(Problem("bad_parameter", "错误发现率应在 0 与 1 之间", "the FDR level must be in (0, 1)",
                                  column="fdr", found=params.fdr, expected="如 0.05"))
    if not 0 <= float(params.min_strength) < float("inf"):
        raise QlworkError(Problem("bad_parameter", "最小强度应为非负有限数", "the minimum strength must be finite and ≥ 0",
                                  column="min_strength", found=params.min_strength, expected="如 3"))
    U, K, T = panel.shape
    if period is not None:
        many = [period] if isinstance(period, (str, P.Period)) else list(period)
        months_idx = np.unique(np.concatenate([panel.period_index(x) for x in many]))
        if not len(months_idx):
            raise QlworkError(Problem(
                "unknown_period", f"监测数据中没有 {'、'.join(P.label_zh(x) for x in many)}的{P.GRAIN_ADJ_ZH[panel.grain]}数值",
                f"no {panel.grain} values inside {many}", column="period", found=", ".join(map(str, many)),
                expected=f"{panel.periods[0]} … {panel.periods[-1]}"))
        period = "+".join(P.parse(x).id for x in many)
    else:
        months_idx = np.arange(min(params.min_history, T - 1), T)
    cpu: dict[str, float] = {}
    clock = [time.process_time()]

    def lap(name: str) -> None:
        now = time.process_time()
        cpu[name] = round(cpu.get(name, 0.0) + now - clock[0], 3)
        clock[0] = now

    G = len(panel.group_labels)
    F = len(panel.fw_labels)
    base_floor = panel.floors
    peer = group_stats(panel.y, panel.group, G, base_floor)
    group_fw = np.zeros(G, np.int64)
    for g in range(G):
        group_fw[g] = panel.fw_group[np.flatnonzero(panel.group == g)[0]]
    # framework-wide statistics are only the fallback of small groups: computed when one exists
    small = (peer.n < max(params.min_group_common, params.min_peers)) & (peer.n > 0)
    if small.any():
        fw = group_stats(panel.y, panel.fw_group, F, base_floor)
    else:
        fw = peer.__class__(*(_by_fw(a, F) for a in (peer.med, peer.sig, peer.sig_lo, peer.sig_hi, peer.trim, peer.n)))
    spread = np.array([np.nanmedian(peer.sig[:, k, :]) if np.isfinite(peer.sig[:, k, :]).any() else 0.0
                       for k in range(K)])
    floors = np.fmax(base_floor, params.floor_frac * np.nan_to_num(spread))
    lap("group statistics")
    common = common_component(peer, fw, group_fw, panel.grain, min_group=params.min_group_common, how=params.common)
    r = panel.y - common[panel.group]
    lap("common component")
    L = params.shift_window
    needed = np.concatenate([months_idx, months_idx - L + 1])
    base = baseline(panel, r, floors, needed[needed >= 0], months=params.baseline_months,
                    min_history=params.min_history, n0=params.shrink_n0)
    common_e = common[:, :, months_idx][panel.group]
    lap("baselines")
    scores: dict[str, Scores] = {}
    if "history" in params.detectors:
        scores["history"] = own_history(panel, r, common_e, base, months_idx, n0=params.shrink_n0,
                                        studentize=params.studentize)
        lap("history")
    if "peers" in params.detectors:
        scores["peers"] = peer_scores(panel, peer, fw, group_fw, months_idx, min_peers=params.min_peers,
                                      n0=params.peer_n0)
        lap("peers")
    if "shift" in params.detectors or "drift" in params.detectors:
        sh, dr = shift_scores(r, base, months_idx, window=L, clip=params.clip, n0=params.shrink_n0,
                              studentize=params.studentize)
        exp = _window_expected(panel, base, common_e, months_idx, L)
        for sc in (sh, dr):
            if sc.detector in params.detectors:
                scores[sc.detector] = Scores(sc.detector, sc.z, sc.p, exp, sc.extra, months_idx)
    del r
    lap("shift/drift")
    calib = {}
    if params.empirical_null:
        for det in ("history", "shift", "drift"):
            if det in scores:
                sc = scores[det]
                ref = sc.z if det == "history" else sc.extra["reference"]
                zc, d0, s0 = empirical_null(sc.z, ref)
                mult = 1.0 if det == "history" else L - 1
                p = np.minimum(1.0, mult * p_two_sided(zc))
                scores[det] = Scores(det, zc, p, sc.expected, sc.extra | {"null_centre": d0, "null_scale": s0},
                                     months_idx)
                calib[det] = {"null_scale_median": round(float(np.median(s0)), 4),
                              "null_scale_max": round(float(np.max(s0)), 4)}
    lap("empirical null")
    if "joint" in params.detectors:
        scores["joint"] = joint_scores(panel, months_idx, min_group=params.joint_min_group,
                                       min_coverage=params.joint_min_coverage, reweight_alpha=params.reweight_alpha)
        lap("joint")
    alerts, tests = assemble_alerts(panel, scores, months_idx, fdr=params.fdr, min_strength=params.min_strength)
    lap("BH and alert table")
    rec = params.to_dict() | {"floors": dict(zip(map(str, panel.indicator_ids), np.round(floors, 4).tolist())),
                              "transforms": dict(zip(map(str, panel.indicator_ids), panel.transforms)),
                              "peer_groups": list(panel.group_labels), "series": f"{panel.periods[0]}…{panel.periods[-1]}"}
    if calib:
        rec["empirical_null"] = calib
    if "joint" in scores:
        rec["joint_groups"] = {g: {k: v for k, v in d.items() if k != "correlation"}
                               for g, d in scores["joint"].extra["groups"].items()}
    return MonitorResult(alerts=alerts, tests=tests, params=rec, period=period,
                         evaluated=tuple(panel.periods[i] for i in months_idx), panel=panel, scores=scores,
                         seconds=time.perf_counter() - t0, cpu=cpu)


def _by_fw(a: np.ndarray, F: int) -> np.ndarray:
    """A placeholder framework-level table when no group is small (never read then)."""
    return np.full((F,) + a.shape[1:], np.nan) if a.dtype.kind == "f" else np.zeros((F,) + a.shape[1:], a.dtype)


def _window_expected(panel: Panel, base, common_e, months_idx, L) -> np.ndarray:
    """The level before a shift window, on the original scale: baseline median of month t − L + 1
    plus this month's common component (U × K × E)."""
    U, K, T = panel.shape
    exp = np.full((U, K, len(months_idx)), np.nan)
    for e, t in enumerate(months_idx):
        b = t - L + 1
        if b < 0 or base.col[b] < 0:
            continue
        for k, how in enumerate(panel.transforms):
            exp[:, k, e] = inverse(base.m[:, k, base.col[b]] + common_e[:, k, e], how)
    return exp
