"""Tables the faces need: one unit's series against its peers, alerts for a period and scope.

The dashboard tab 动态监测, the review workbook's 超常预警 sheet, the notebook and the
command read alerts through :func:`alerts_for` and draw a unit through
:func:`unit_series` → :func:`qlwork.charts.monitoring.sparkline`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import periods as P
from ..errors import Problem, QlworkError
from .api import MonitorResult

__all__ = ["unit_series", "stored_series", "alerts_for", "alert_counts", "condense_alerts", "SERIES_COLUMNS", "CONDENSED_COLUMNS"]

SERIES_COLUMNS = ["period", "period_label", "value", "peer_median", "peer_p10", "peer_p25", "peer_p75", "peer_p90",
                  "peer_n", "alert", "detectors", "strength"]


def unit_series(result: MonitorResult, unit_id: str, indicator_id: str) -> pd.DataFrame:
    """The unit's values over the whole series and its peer group's median and 10/25/75/90 %
    quantiles in each period (original scale), with the alerts of the evaluated periods.

    Columns :data:`SERIES_COLUMNS`; ``attrs`` carry unit and indicator names, the peer
    group and the measurement unit for chart labels."""
    return _series(result.panel, result.alerts, unit_id, indicator_id)


def stored_series(fine: pd.DataFrame, units: pd.DataFrame, frameworks, alerts: pd.DataFrame, unit_id: str,
                  indicator_id: str, *, peer_by=("framework", "unit_type")) -> pd.DataFrame:
    """:func:`unit_series` without a :class:`MonitorResult`: from the stored tables a face has —
    ``values_fine.parquet``, the registry and the persisted alert table (``qlwork monitor``).

    Only the unit's peer group and the one indicator are put into a panel (a few hundred
    series instead of the whole province), so the dashboard draws a sparkline in
    milliseconds; values, peer quantiles and alert marks are those of :func:`unit_series`."""
    from .panel import build_panel

    uid, iid = str(unit_id), str(indicator_id)
    reg = units.assign(unit_id=units["unit_id"].astype(str)).drop_duplicates("unit_id")
    me = reg[reg["unit_id"] == uid]
    if me.empty:
        raise QlworkError(Problem("not_monitored", f"单位 {uid} 不在单位名录中", f"unit {uid} is not in the registry",
                                  found=uid, expected="单位名录中的编码 a registry id"))
    peers = reg
    for c in peer_by:
        peers = peers[peers[c].astype(str) == str(me.iloc[0][c])]
    v = fine[(fine["indicator_id"].astype(str) == iid) & fine["unit_id"].astype(str).isin(set(peers["unit_id"]))]
    grains = [P.grain_of(x) for x in pd.unique(v["period"].astype(str))]
    grain = "M" if "M" in grains else ("Q" if "Q" in grains else "H")
    panel = build_panel(v, peers, frameworks, grain=grain, indicators=[iid], peer_by=peer_by)
    return _series(panel, alerts, uid, iid)


def _series(p, a: pd.DataFrame, unit_id: str, indicator_id: str) -> pd.DataFrame:
    ui = np.flatnonzero(p.unit_ids == str(unit_id))
    ki = np.flatnonzero(p.indicator_ids == str(indicator_id))
    if not len(ui) or not len(ki):
        raise QlworkError(Problem(
            "not_monitored", f"单位 {unit_id} 的指标 {indicator_id} 不在监测数据中",
            f"unit {unit_id} / indicator {indicator_id} is not in the monitored panel",
            found=f"{unit_id} / {indicator_id}", expected="监测面板中的单位与指标 a monitored unit and indicator"))
    u, k = int(ui[0]), int(ki[0])
    peers = p.x[p.group == p.group[u], k, :]
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            q = np.nanpercentile(peers, [10, 25, 50, 75, 90], axis=0)
    mine = a[(a["unit_id"] == str(unit_id)) & (a["indicator_id"].str.split("+").map(lambda s: str(indicator_id) in s))]
    by = mine.groupby("period").agg(detectors=("detector_zh", "、".join), strength=("strength", "max"))
    out = pd.DataFrame({
        "period": list(p.periods), "period_label": [P.label_zh(x) for x in p.periods], "value": p.x[u, k, :],
        "peer_median": q[2], "peer_p10": q[0], "peer_p25": q[1], "peer_p75": q[3], "peer_p90": q[4],
        "peer_n": np.isfinite(peers).sum(axis=0)})
    out = out.join(by, on="period")
    out["alert"] = out["detectors"].notna()
    out["detectors"] = out["detectors"].fillna("")
    out = out[SERIES_COLUMNS]
    itab = p.indicators.set_index("indicator_id").loc[str(indicator_id)]
    reg = p.units.set_index("unit_id").loc[str(unit_id)]
    out.attrs.update({"unit_id": str(unit_id), "unit_name": str(reg.get("unit_name", unit_id)),
                      "indicator_id": str(indicator_id), "indicator_name": str(itab["name"]),
                      "measure": str(itab["unit"]), "peer_group": p.group_labels[p.group[u]],
                      "peer_name": p.group_names[p.group[u]],
                      "direction": int(itab["direction"]), "grain": p.grain})
    return out


def alerts_for(alerts: pd.DataFrame, units: pd.DataFrame | None = None, *, period=None, detectors=None,
               worse_only: bool = False, **scope) -> pd.DataFrame:
    """The alerts of ``period`` (any grain: ``2025H2`` keeps its months) and of a scope given as
    registry columns (``county="宁溪县"``, ``unit_type="村居"``, ``unit_id=[...]``), strongest first.

    ``units`` (the registry) is needed for scope columns the alert table does not carry."""
    a = alerts
    if period is not None:
        outer = P.parse(period)
        a = a[[outer.contains(P.parse(x)) for x in a["period"]]] if len(a) else a
    if detectors is not None:
        a = a[a["detector"].isin([detectors] if isinstance(detectors, str) else list(detectors))]
    if worse_only:
        a = a[a["worse"].astype(bool)]
    for col, want in scope.items():
        want = [want] if isinstance(want, (str, int)) else list(want)
        if col in a.columns:
            a = a[a[col].astype(str).isin([str(w) for w in want])]
            continue
        if units is None or col not in units.columns:
            raise QlworkError(Problem("bad_scope", f"无法按 {col} 筛选预警", f"cannot filter alerts by {col}",
                                      found=col, expected="单位名录中的列 a registry column"))
        ids = units.loc[units[col].astype(str).isin([str(w) for w in want]), "unit_id"].astype(str)
        a = a[a["unit_id"].isin(set(ids))]
    return a.sort_values(["strength", "period"], ascending=[False, True], kind="stable").reset_index(drop=True)


def alert_counts(alerts: pd.DataFrame) -> pd.DataFrame:
    """Alerts per period × detector (Chinese detector names as columns), periods in order."""
    if not len(alerts):
        return pd.DataFrame()
    t = alerts.pivot_table(index="period", columns="detector_zh", values="unit_id", aggfunc="size", fill_value=0)
    return t.loc[P.sort_periods(t.index)]


CONDENSED_COLUMNS = ["unit_id", "unit_name", "unit_type", "indicator_id", "indicator_name", "detector", "detector_zh",
                     "first", "last", "months", "strength", "worse", "evidence"]


def condense_alerts(alerts: pd.DataFrame) -> pd.DataFrame:
    """One row per unit, indicator and detector: the first and last period alerted, how many
    periods, the largest strength and the evidence of the strongest period — what a review
    sheet lists (a level shift alerts every month it persists; the committee needs it once)."""
    if not len(alerts):
        return pd.DataFrame(columns=CONDENSED_COLUMNS)
    a = alerts.assign(_k=alerts["period"].map(P.sort_key))
    a = a.sort_values(["strength"], ascending=False, kind="stable")
    key = ["unit_id", "indicator_id", "detector"]
    top = a.drop_duplicates(key).set_index(key)
    g = a.groupby(key, sort=False)
    out = top[["unit_name", "unit_type", "indicator_name", "detector_zh", "strength", "worse", "evidence"]].copy()
    out["first"] = g["period"].agg(lambda s: min(s, key=P.sort_key))
    out["last"] = g["period"].agg(lambda s: max(s, key=P.sort_key))
    out["months"] = g.size()
    out = out.reset_index()[CONDENSED_COLUMNS]
    return out.sort_values(["strength", "unit_id"], ascending=[False, True], kind="stable").reset_index(drop=True)
