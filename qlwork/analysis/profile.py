"""Indicator profiles: distribution, missingness, skew/kurtosis, zeros, drift.

Researchers look at the data before they weigh it.  :func:`indicator_profile`
returns one row per (group, indicator) — groups are unit type and period by
default — with the statistics COINr's ``get_stats`` reports (Becker et al.,
COINr, https://bluefoxr.github.io/COINr/), so that numbers can be checked
against COINr's published ASEM statistics table:

- quantiles: linear interpolation (R ``quantile`` type 7, numpy default);
- ``sd``: sample standard deviation (n − 1);
- ``skew`` and ``kurtosis``: bias-corrected sample skewness G1 and excess
  kurtosis G2 ("type 2", as Excel ``SKEW``/``KURT`` and COINr);
- outlier candidate (COINr/JRC rule): ``|skew| > 2`` **and** ``kurtosis > 3.5``
  (JRC/OECD Handbook on Constructing Composite Indicators, 2008; COINr
  ``qTreat`` defaults);
- IQR outliers: values below Q1 − 1.5·IQR or above Q3 + 1.5·IQR (Tukey fences);
- ``zero_share`` = zeros / non-missing values (COINr's ``Frac.Zero`` divides by
  all units: ``n_zero / (n + n_missing)``);
- missingness is counted against the *expected* cells: every unit of the
  registry (or, without one, every unit present in the period) for every
  indicator that applies to its unit type; non-applicable cells are excluded,
  not missing;
- drift: change of mean and median against the previous period of the same
  group, and the standardised drift ``(mean_t − mean_{t−1}) / sd_pooled``.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import Problem, QlworkError
from ..framework import Framework
from ..periods import sort_key as _sort_key

__all__ = ["indicator_profile", "outlier_units", "to_long", "period_key", "PROFILE_LABELS_ZH"]

#: Chinese column headers for exports (English ids stay the code's names).
PROFILE_LABELS_ZH = {
    "unit_type": "单位类型", "period": "考核期", "indicator_id": "指标编码", "name": "指标名称",
    "n_expected": "应报数", "n": "有效值数", "n_missing": "缺失数", "missing_share": "缺失率",
    "mean": "均值", "sd": "标准差", "min": "最小值", "q1": "下四分位数", "median": "中位数",
    "q3": "上四分位数", "max": "最大值", "iqr": "四分位距", "skew": "偏度", "kurtosis": "峰度",
    "n_zero": "零值数", "zero_share": "零值占比", "n_low_iqr": "低端离群数", "n_high_iqr": "高端离群数",
    "outlier_flag": "疑似离群指标", "prev_period": "上期", "mean_change": "均值变化",
    "median_change": "中位数变化", "drift_z": "标准化漂移", "missing_change": "缺失率变化",
}


def period_key(p: object):
    """Sort key for periods of any grain (2024H2 < 2025H1 < 2025Q1 < 2025-01): :func:`qlwork.periods.sort_key`."""
    return _sort_key(p)


def to_long(data: pd.DataFrame) -> pd.DataFrame:
    """Tidy long values (unit_id, [period], indicator_id, value) from long or wide input.

    Wide input: index = unit ids, numeric columns = indicators (non-numeric
    columns are ignored).  Long input must have unit_id, indicator_id, value.
    """
    if not isinstance(data, pd.DataFrame):
        raise QlworkError(Problem("bad_input", f"需要 DataFrame，收到 {type(data).__name__}",
                                  "expected a DataFrame", found=type(data).__name__))
    if {"unit_id", "indicator_id", "value"} <= set(data.columns):
        cols = [c for c in ("unit_id", "period", "indicator_id", "value") if c in data.columns]
        out = data[cols].copy()
        out["value"] = pd.to_numeric(out["value"], errors="coerce").astype(float)
        return out
    num = data.select_dtypes("number")
    if num.shape[1] == 0:
        raise QlworkError(Problem("bad_input", "输入既不是长表（unit_id, indicator_id, value）也没有数值列",
                                  "input is neither long (unit_id, indicator_id, value) nor wide numeric",
                                  found=list(map(str, data.columns))))
    w = num.astype(float)
    w.index = w.index.rename("unit_id")
    w.columns = w.columns.astype(str)
    return w.reset_index().melt(id_vars="unit_id", var_name="indicator_id", value_name="value")


def _expected_cells(long: pd.DataFrame, units: pd.DataFrame | None, framework: Framework | None) -> pd.DataFrame:
    """Long table with one row per expected (unit, period, indicator); missing values NaN."""
    has_period = "period" in long.columns
    inds = [str(i) for i in long["indicator_id"].unique()]  # order of appearance; fast on arrow strings
    if framework is not None:
        inds = [i for i in framework.indicator_ids if i in set(inds)] + [i for i in inds if i not in framework.indicators]
    idx_cols = ["period", "unit_id"] if has_period else ["unit_id"]
    wide = long.pivot_table(index=idx_cols, columns="indicator_id", values="value", aggfunc="first",
                            dropna=False, observed=True)
    wide = wide.reindex(columns=inds)
    if units is not None:
        uid = units.index if "unit_id" not in units.columns else pd.Index(units["unit_id"])
        uid = pd.Index(uid.astype(str), name="unit_id")
        if has_period:
            periods = sorted(long["period"].astype(str).unique(), key=period_key)
            full = pd.MultiIndex.from_product([periods, uid], names=["period", "unit_id"])
        else:
            full = uid
        wide = wide.reindex(full)
    # melt keeps the NaN cells (they are the missing values we count).
    wide.columns = wide.columns.astype(str)
    return wide.reset_index().melt(id_vars=idx_cols, var_name="indicator_id", value_name="value")


def _registry(units: pd.DataFrame | None) -> pd.DataFrame | None:
    if units is None:
        return None
    u = units.copy()
    if "unit_id" in u.columns:
        u = u.set_index("unit_id")
    u.index = u.index.astype(str).rename("unit_id")
    return u


def indicator_profile(data: pd.DataFrame, *, units: pd.DataFrame | None = None,
                      framework: Framework | None = None, by: Sequence[str] = ("unit_type", "period"),
                      skew_threshold: float = 2.0, kurt_threshold: float = 3.5,
                      iqr_k: float = 1.5) -> pd.DataFrame:
    """One row per (group, indicator) with distribution, missingness and drift.

    Parameters
    ----------
    data : long values (unit_id, period, indicator_id, value — as
        ``qlwork.io.ingest.load_values``) or wide (units × indicators).
    units : unit registry (``load_units``; unit_id index or column) — gives
        ``unit_type`` and regions for ``by`` and the expected units for missingness.
    framework : restricts nothing but orders indicators, adds Chinese names,
        and excludes cells where an indicator does not apply to the unit type.
    by : grouping columns; those not available (e.g. ``period`` for wide input,
        ``unit_type`` without a registry) are skipped and the used ones recorded
        in ``df.attrs["params"]``.

    Returns a DataFrame with columns: *by*, indicator_id, [name], n_expected, n,
    n_missing, missing_share, mean, sd, min, q1, median, q3, max, iqr, skew,
    kurtosis, n_zero, zero_share, n_low_iqr, n_high_iqr, outlier_flag and, when
    grouped by period, prev_period, mean_change, median_change, drift_z,
    missing_change.  See the module docstring for the formulas.
    """
    long = to_long(data)
    long["unit_id"] = long["unit_id"].astype(str)
    long["indicator_id"] = long["indicator_id"].astype(str)
    if "period" in long.columns:
        long["period"] = long["period"].astype(str)
    reg = _registry(units)
    cells = _expected_cells(long, reg, framework)
    if reg is not None:
        extra = [c for c in reg.columns if c in set(by) and c not in cells.columns]
        if extra:
            cells = cells.join(reg[extra], on="unit_id")
    used = [c for c in by if c in cells.columns]
    if framework is not None and "unit_type" in cells.columns:
        appl = np.ones(len(cells), dtype=bool)
        ut = cells["unit_type"].astype(str).to_numpy()
        ind = cells["indicator_id"].to_numpy()
        for iid, meta in framework.indicators.items():
            if meta.applies_to is not None:
                m = ind == iid
                appl[m] = np.isin(ut[m], list(meta.applies_to))
        cells = cells[appl]
    keys = used + ["indicator_id"]
    v = cells["value"].astype(float)
    g = cells.assign(value=v, _present=v.notna(), _zero=(v == 0)).groupby(keys, sort=False, observed=True)
    res = g.agg(n_expected=("value", "size"), n=("_present", "sum"), n_zero=("_zero", "sum"),
                mean=("value", "mean"), sd=("value", "std"), min=("value", "min"), max=("value", "max"),
                median=("value", "median"), skew=("value", "skew"))
    # SeriesGroupBy.kurt is new in pandas 3; fall back to apply on older pandas.
    res["kurtosis"] = g["value"].kurt() if hasattr(g["value"], "kurt") else g["value"].apply(lambda s: s.kurt())
    q = g["value"].quantile([0.25, 0.75]).unstack()
    res["q1"] = q[0.25]
    res["q3"] = q[0.75]
    res["iqr"] = res["q3"] - res["q1"]
    lo = (res["q1"] - iqr_k * res["iqr"]).rename("_lo")
    hi = (res["q3"] + iqr_k * res["iqr"]).rename("_hi")
    fences = cells[keys].join(lo, on=keys).join(hi, on=keys)
    cells = cells.assign(_low=(v < fences["_lo"].to_numpy()), _high=(v > fences["_hi"].to_numpy()))
    g2 = cells.groupby(keys, sort=False, observed=True)
    res["n_low_iqr"] = g2["_low"].sum()
    res["n_high_iqr"] = g2["_high"].sum()
    res["n"] = res["n"].astype(int)
    res["n_missing"] = res["n_expected"] - res["n"]
    res["missing_share"] = res["n_missing"] / res["n_expected"].where(res["n_expected"] > 0)
    res["zero_share"] = res["n_zero"] / res["n"].where(res["n"] > 0)
    res["outlier_flag"] = (res["skew"].abs() > skew_threshold) & (res["kurtosis"] > kurt_threshold)
    res = res.reset_index()
    if framework is not None:
        names = framework.names()
        res.insert(len(used) + 1, "name", res["indicator_id"].map(lambda i: names.get(i, i)))
    cols = keys + (["name"] if framework is not None else []) + [
        "n_expected", "n", "n_missing", "missing_share", "mean", "sd", "min", "q1", "median", "q3", "max",
        "iqr", "skew", "kurtosis", "n_zero", "zero_share", "n_low_iqr", "n_high_iqr", "outlier_flag"]
    res = res[cols]
    if "period" in used:
        res = _add_drift(res, [c for c in used if c != "period"])
    order = [c for c in keys if c != "indicator_id"]
    if order:
        res = res.assign(_pk=res["period"].map(period_key) if "period" in res.columns else 0)
        ind_order = {i: k for k, i in enumerate(res["indicator_id"].unique())}
        res = res.assign(_ik=res["indicator_id"].map(ind_order))
        sort_cols = [c if c != "period" else "_pk" for c in order] + ["_ik"]
        res = res.sort_values(sort_cols, kind="mergesort").drop(columns=["_pk", "_ik"])
    res = res.reset_index(drop=True)
    res.attrs["params"] = {"by": used, "skew_threshold": skew_threshold, "kurt_threshold": kurt_threshold,
                           "iqr_k": iqr_k, "quantiles": "linear (R type 7)",
                           "skew_kurtosis": "bias-corrected G1/G2 (Excel SKEW/KURT)",
                           "outlier_rule": f"|skew| > {skew_threshold} & kurtosis > {kurt_threshold}"}
    return res


def _add_drift(res: pd.DataFrame, others: list[str]) -> pd.DataFrame:
    keys = others + ["indicator_id"]
    r = res.assign(_pk=res["period"].map(period_key)).sort_values(keys + ["_pk"], kind="mergesort")
    g = r.groupby(keys, sort=False, observed=True)
    prev_mean = g["mean"].shift(1)
    prev_sd = g["sd"].shift(1)
    r["prev_period"] = g["period"].shift(1)
    r["mean_change"] = r["mean"] - prev_mean
    r["median_change"] = r["median"] - g["median"].shift(1)
    pooled = np.sqrt((r["sd"] ** 2 + prev_sd ** 2) / 2)
    r["drift_z"] = r["mean_change"] / pooled.where(pooled > 0)
    r["missing_change"] = r["missing_share"] - g["missing_share"].shift(1)
    return r.drop(columns="_pk").loc[res.index]


def outlier_units(data: pd.DataFrame, *, units: pd.DataFrame | None = None,
                  framework: Framework | None = None, by: Sequence[str] = ("unit_type", "period"),
                  iqr_k: float = 1.5, only_flagged: bool = True, profile: pd.DataFrame | None = None) -> pd.DataFrame:
    """The units behind the outliers: one row per value outside the Tukey fences.

    Columns: *by*, indicator_id, [name], unit_id, value, side ("high"/"low"),
    fence, median.  With ``only_flagged`` only indicators whose group has the
    skew/kurtosis outlier flag are listed (the COINr treatment candidates).
    """
    prof = profile if profile is not None else indicator_profile(
        data, units=units, framework=framework, by=by, iqr_k=iqr_k)
    used = prof.attrs.get("params", {}).get("by", [c for c in by if c in prof.columns])
    keys = used + ["indicator_id"]
    long = to_long(data)
    long["unit_id"] = long["unit_id"].astype(str)
    long["indicator_id"] = long["indicator_id"].astype(str)
    reg = _registry(units)
    if reg is not None:
        extra = [c for c in used if c not in long.columns and c in reg.columns]
        if extra:
            long = long.join(reg[extra], on="unit_id")
    p = prof if not only_flagged else prof[prof["outlier_flag"]]
    cols = keys + ["q1", "q3", "iqr", "median"] + (["name"] if "name" in p.columns else [])
    m = long.merge(p[cols], on=keys, how="inner")
    lo = m["q1"] - iqr_k * m["iqr"]
    hi = m["q3"] + iqr_k * m["iqr"]
    side = np.where(m["value"] > hi, "high", np.where(m["value"] < lo, "low", ""))
    m = m.assign(side=side, fence=np.where(side == "high", hi, lo))
    m = m[m["side"] != ""]
    out_cols = keys + (["name"] if "name" in m.columns else []) + ["unit_id", "value", "side", "fence", "median"]
    return m[out_cols].sort_values(keys + ["value"], ascending=[True] * len(keys) + [False], kind="mergesort") \
        .reset_index(drop=True)

