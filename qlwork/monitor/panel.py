"""The monitoring panel: a tidy value table → a dense units × indicators × periods array.

Every detector works on :class:`Panel` arrays, never on DataFrames.  The time axis is
the full run of periods of one grain (months or quarters) from the first to the last
in the data, so a missing month is a ``NaN`` column, not a gap in the axis.

Peer groups (同类单位): units of the same framework and unit type by default
(``peer_by``), the same grouping the index ranks within.

Variance-stabilising transforms (per indicator, from ``kind``): counts →
Anscombe ``2√(x + 3/8)`` (Poisson noise has variance ≈ 1 on this scale; Anscombe 1948),
amounts → ``log(1 + x)``, percentages → the empirical logit
``log((x + ½)/(100 + ½ − x))`` (Cox 1970: a rate near its ceiling of 100 % varies less
and is skewed downward; on the logit scale a fall from 99 to 95 weighs what it means);
rates per head, scores and changes are used as they are.  The
detectors' robust z-scores are computed on the transformed scale (``Panel.y``); evidence
is shown on the original scale.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .. import periods as P
from ..errors import Problem, QlworkError
from ..framework import Framework

__all__ = ["Panel", "build_panel", "TRANSFORMS", "transform", "inverse"]

#: kind → transform name
TRANSFORMS = {"count": "anscombe", "amount": "log1p", "percent": "logit"}
#: Haldane–Anscombe offset of the empirical logit of a percentage (Cox 1970)
LOGIT_OFFSET = 0.5
#: Noise floor on the transformed scale: an Anscombe-transformed Poisson count has SD ≈ 1,
#: so a count's robust SD is never taken below 1 (a village with 0 petitions in 11 of 12
#: months would otherwise have SD 0 and every single petition would be "infinitely" odd).
FLOORS = {"anscombe": 1.0, "log1p": 0.05, "logit": 0.0, "none": 0.0}


def transform(x: np.ndarray, how: str) -> np.ndarray:
    if how == "anscombe":
        return 2.0 * np.sqrt(np.maximum(x, 0.0) + 0.375)
    if how == "log1p":
        return np.log1p(np.maximum(x, 0.0))
    if how == "logit":
        c = np.clip(x, 0.0, 100.0)
        return np.log((c + LOGIT_OFFSET) / (100.0 + LOGIT_OFFSET - c))
    return x


def inverse(y: np.ndarray, how: str) -> np.ndarray:
    if how == "anscombe":
        return np.maximum((y / 2.0) ** 2 - 0.375, 0.0)
    if how == "log1p":
        return np.expm1(y)
    if how == "logit":
        e = np.exp(y)
        return ((100.0 + LOGIT_OFFSET) * e - LOGIT_OFFSET) / (1.0 + e)
    return y


@dataclass(frozen=True)
class Panel:
    """Units × indicators × periods of one grain.

    ``x``: values on the original scale (NaN = missing or not applicable); ``y``: on the
    transformed scale; ``group``: peer-group code per unit (``group_labels[code]``, and
    ``group_names[code]`` as a person reads it, without the framework key);
    ``fw_group``: the framework-wide group code per unit (the fallback for small groups).
    """

    x: np.ndarray
    y: np.ndarray
    unit_ids: np.ndarray
    indicator_ids: np.ndarray
    periods: tuple
    grain: str
    group: np.ndarray
    group_labels: tuple
    group_names: tuple
    fw_group: np.ndarray
    fw_labels: tuple
    transforms: tuple
    floors: np.ndarray
    units: pd.DataFrame = field(repr=False)
    indicators: pd.DataFrame = field(repr=False)

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.x.shape

    def period_index(self, period) -> np.ndarray:
        """Positions on the time axis of the periods of this grain inside ``period``."""
        p = P.parse(period)
        ids = [q for q in self.periods if p.contains(P.parse(q))]
        pos = {q: i for i, q in enumerate(self.periods)}
        return np.array([pos[q] for q in ids], dtype=np.int64)

    def __repr__(self) -> str:
        U, K, T = self.shape
        return (f"Panel({U} units × {K} indicators × {T} {P.GRAIN_ZH[self.grain]} "
                f"{self.periods[0] if T else ''}…{self.periods[-1] if T else ''}, {len(self.group_labels)} peer groups)")


def _codes(col: pd.Series) -> tuple[np.ndarray, list]:
    """(integer codes, distinct values as text) of a column; a categorical column (as read
    from Parquet) gives its codes without hashing 30 M strings."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return col.cat.codes.to_numpy(), [str(x) for x in col.cat.categories]
    codes, uniq = pd.factorize(col)
    return codes, [str(x) for x in uniq]


def _lookup(index: pd.Index, uniq: list, codes: np.ndarray) -> np.ndarray:
    """Position in ``index`` of every row's value (−1: absent or missing; code −1 is a missing value)."""
    pos = np.append(index.get_indexer(uniq), -1).astype(np.int32)
    return np.take(pos, codes)


def build_panel(values: pd.DataFrame, units: pd.DataFrame, frameworks: Mapping[str, Framework] | Framework,
                *, grain: str = "M", indicators: Sequence[str] | None = None,
                peer_by: Sequence[str] = ("framework", "unit_type")) -> Panel:
    """The panel of ``grain`` (``"M"`` months, ``"Q"`` quarters, ``"H"`` half-years) from a tidy
    table ``unit_id, period, indicator_id, value`` (other grains and denominators are left
    out) and the unit registry (``unit_id`` and the ``peer_by`` columns)."""
    if isinstance(frameworks, Framework):
        frameworks = {frameworks.id: frameworks}
    meta = {}
    for key, fw in frameworks.items():
        for iid, ind in fw.indicators.items():
            meta.setdefault(iid, (ind, key))
    need = {"unit_id", "period", "indicator_id", "value"}
    if not need <= set(values.columns):
        raise QlworkError(Problem("missing_column", "数值表缺少列", "value table lacks columns",
                                  found=list(values.columns), expected=sorted(need)))
    v = values[["unit_id", "period", "indicator_id", "value"]]
    pcodes, puniq = _codes(v["period"])
    g_of = [P.grain_of(x) for x in puniq]
    keep_p = [x for x, g in zip(puniq, g_of) if g == grain]
    if not keep_p:
        raise QlworkError(Problem("no_monitoring_data", f"没有{P.GRAIN_ADJ_ZH[grain]}数值可供监测",
                                  f"no {grain} values to monitor", found="0 行 rows",
                                  expected="values_fine.parquet 中的月度/季度数值（先运行 qlwork ingest）"))
    axis = tuple(P.period_range(min(P.parse(x) for x in keep_p).id, max(P.parse(x) for x in keep_p).id))
    ti = _lookup(pd.Index(axis), puniq, pcodes)
    kcodes, kuniq = _codes(v["indicator_id"])
    # indicators with at least one value of this grain (a quarterly indicator is no monthly series)
    sel = kcodes[ti >= 0] if not (ti >= 0).all() else kcodes
    in_grain = np.bincount(sel.astype(np.int64) + 1, minlength=len(kuniq) + 1)[1:] > 0  # code −1: missing
    have = {k for k, h in zip(kuniq, in_grain) if h}
    wanted = [i for i in meta if i in have] if indicators is None else [i for i in indicators if i in have]
    inds = [i for i in wanted if i in meta]
    ki = _lookup(pd.Index(inds), kuniq, kcodes)
    ucodes, uuniq = _codes(v["unit_id"])
    uuniq = np.array(uuniq, dtype=object)
    ok = (ti >= 0) & (ki >= 0)
    every = bool(ok.all())
    present = np.zeros(len(uuniq), bool)
    present[ucodes if every else ucodes[ok]] = True
    reg = units.copy()
    reg["unit_id"] = reg["unit_id"].astype(str)
    reg = reg.drop_duplicates("unit_id")
    uids = reg["unit_id"][reg["unit_id"].isin(set(uuniq[present]))].to_numpy()
    unknown = sorted(set(uuniq[present]) - set(uids))
    if unknown:
        raise QlworkError(Problem("unknown_unit", f"数值中有单位名录没有的单位 {unknown[:5]}",
                                  "units not in the registry", column="unit_id", found=unknown[:5],
                                  expected="单位名录中的编码 registry ids"))
    ui = _lookup(pd.Index(uids), list(uuniq), ucodes)
    if not ok.any() or not inds:
        raise QlworkError(Problem("no_monitoring_data", f"没有{P.GRAIN_ADJ_ZH[grain]}数值可供监测",
                                  f"no {grain} values to monitor", found="0 行 rows",
                                  expected="values_fine.parquet 中的月度/季度数值（先运行 qlwork ingest）"))
    X = np.full((len(uids), len(inds), len(axis)), np.nan)
    K_, T_ = len(inds), len(axis)
    flat = ui.astype(np.int64)
    flat *= K_
    flat += ki
    flat *= T_
    flat += ti
    vals = v["value"].to_numpy(dtype=float)
    if every:
        X.reshape(-1)[flat] = vals
    else:
        X.reshape(-1)[flat[ok]] = vals[ok]
    reg = reg.set_index("unit_id").loc[uids].reset_index()
    missing = [c for c in peer_by if c not in reg.columns]
    if missing:
        raise QlworkError(Problem("missing_column", f"单位名录缺少分组列 {missing}", "registry lacks peer columns",
                                  found=list(reg.columns), expected=list(peer_by)))
    gkey = reg[peer_by[0]].astype(str)
    for c in peer_by[1:]:
        gkey = gkey + "·" + reg[c].astype(str)
    gcodes, glabels = pd.factorize(gkey, sort=True)
    # what a person reads: the grouping without the framework key (村居, 宁溪县·机关)
    shown = [c for c in peer_by if c != "framework"] or list(peer_by)
    gname = reg[shown[0]].astype(str)
    for c in shown[1:]:
        gname = gname + "·" + reg[c].astype(str)
    first = pd.Series(np.arange(len(reg))).groupby(gcodes).first().to_numpy()
    gnames = tuple(gname.to_numpy()[first])
    fkey = reg["framework"].astype(str) if "framework" in reg.columns else pd.Series("all", index=reg.index)
    fcodes, flabels = pd.factorize(fkey, sort=True)
    trans = tuple(TRANSFORMS.get(meta[i][0].kind, "none") for i in inds)
    Y = np.empty_like(X)
    for k, how in enumerate(trans):
        Y[:, k, :] = transform(X[:, k, :], how)
    itab = pd.DataFrame({
        "indicator_id": inds, "name": [meta[i][0].name for i in inds], "unit": [meta[i][0].unit for i in inds],
        "kind": [meta[i][0].kind for i in inds], "direction": [meta[i][0].direction for i in inds],
        "framework": [meta[i][1] for i in inds], "transform": list(trans)})
    return Panel(x=X, y=Y, unit_ids=uids, indicator_ids=np.array(inds, dtype=object), periods=axis, grain=grain,
                 group=gcodes.astype(np.int64), group_labels=tuple(glabels), group_names=gnames,
                 fw_group=fcodes.astype(np.int64),
                 fw_labels=tuple(flabels), transforms=trans, floors=np.array([FLOORS[t] for t in trans]),
                 units=reg, indicators=itab)
