"""Benchmark: follow-through at province scale (≈30,000 units, ≈1,800 乡镇, ≈120 县市区).

Data: the demo province registry (``qlwork.demo.regions.build_registry`` with the province
spec) with synthetic published totals, grades and changes (a thin stand-in for an official
result: ``ranking()`` and per-framework spec/decimals), and a synthetic ledger of 24,000
items (three periods, statuses and dates drawn like the demo's).

Timed (``qlwork``):

- ``region_results`` — mean, t interval, quartiles, grade counts, shares, ranks and change for
  every 市州, 县市区 and 乡镇 of both frameworks (vectorised group-bys);
- ``status_as_of`` + ``ledger_measures`` — every item's status on a date and the three
  rectification measures for all 30,000 units.

Baselines (same process): a Python loop over regions computing the same statistics with numpy
per region (asserted equal), and a loop over units filtering the ledger per unit (asserted
equal on a subset, extrapolated linearly — noted in the row).
"""
from __future__ import annotations

import datetime as dt
import time
from types import SimpleNamespace as NS

import numpy as np
import pandas as pd
from scipy import stats

TARGET_SPEEDUP = 4.0  # ratio = baseline seconds / ours, like every other benchmark


class _Official:
    """What region_results reads from an OfficialResult: ranking(), results[fid].spec/decimals, period."""

    def __init__(self, ranking: pd.DataFrame):
        self._rk = ranking
        self.period = "2025H2"
        spec = NS(grade_labels=("优秀", "良好", "合格", "不合格"), bonus_cap=5.0)
        self.results = {"QLI": NS(spec=spec, decimals=2), "QLV": NS(spec=spec, decimals=2)}

    def ranking(self) -> pd.DataFrame:
        return self._rk


def province(seed: int = 20251231) -> pd.DataFrame:
    from qlwork.demo.regions import SCALES, build_registry

    rng = np.random.default_rng(seed)
    u = build_registry(np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0]), SCALES["province"])
    n = len(u)
    total = np.round(np.clip(rng.normal(78, 9, n), 20, 100), 2)
    grade = np.select([total >= 90, total >= 80, total >= 60], ["优秀", "良好", "合格"], "不合格")
    return pd.DataFrame({"framework": np.where(u["framework"] == "village", "QLV", "QLI"), "unit_id": u["unit_id"],
                         "city": u["city"], "county": u["county"], "township": u["township"], "total": total,
                         "grade": grade, "change": np.round(rng.normal(1, 4, n), 2)})


def _loop_regions(rk: pd.DataFrame) -> dict:
    out = {}
    for fid in rk["framework"].unique():
        f = rk[rk["framework"] == fid]
        for lv in ("city", "county", "township"):
            for reg in f[lv].unique():
                x = f.loc[f[lv] == reg, "total"].to_numpy(float)
                n = len(x)
                m, s = x.mean(), x.std(ddof=1) if n > 1 else np.nan
                half = stats.t.ppf(0.975, n - 1) * s / np.sqrt(n) if n > 1 else np.nan
                out[(fid, lv, reg)] = (n, m, m - half, np.median(x))
    return out


def _ledger(units: pd.Series, seed: int = 7, n: int = 24_000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    per = rng.choice(["2024H2", "2025H1", "2025H2"], n)
    issued = pd.to_datetime(pd.Series(per).map({"2024H2": "2025-01-15", "2025H1": "2025-07-15",
                                                "2025H2": "2026-01-15"}))
    deadline = issued + pd.Timedelta(days=30)
    closed_mask = rng.random(n) < 0.7
    closed = issued + pd.to_timedelta(rng.integers(5, 80, n), unit="D")
    return pd.DataFrame({"item_id": [f"I{i:06d}" for i in range(n)], "unit_id": rng.choice(units.to_numpy(), n),
                         "period": per, "issued": issued.dt.date, "deadline": deadline.dt.date,
                         "status": np.where(closed_mask, "已销号", rng.choice(["未整改", "整改中"], n)),
                         "closed": np.where(closed_mask, closed.dt.date, None)})


def run() -> list[dict]:
    from qlwork.followup.measures import ledger_measures
    from qlwork.followup.merge import status_as_of
    from qlwork.followup.regions import region_results

    rk = province()
    off = _Official(rk)
    t0 = time.perf_counter()
    reg = region_results(off)
    t_q = time.perf_counter() - t0
    t0 = time.perf_counter()
    base = _loop_regions(rk)
    t_b = time.perf_counter() - t0
    mine = reg.set_index(["framework", "level", "region"])
    for k, (n, m, lo, med) in list(base.items())[:: max(1, len(base) // 300)]:
        r = mine.loc[k]
        assert r["n_scored"] == n and abs(r["mean"] - m) < 1e-9 and abs(r["median"] - med) < 1e-9
        assert (np.isnan(lo) and np.isnan(r["ci_low"])) or abs(max(lo, 0) - r["ci_low"]) < 1e-9
    rows = [{"name": f"region results, {len(reg)} regions of {len(rk)} units (市州/县市区/乡镇 × 2 frameworks)",
             "seconds": round(t_q, 3), "baseline_seconds": round(t_b, 3), "ratio": round(t_b / t_q, 1),
             "target": f"≥ {TARGET_SPEEDUP:g}× vs the loop", "passed": t_b / t_q >= TARGET_SPEEDUP,
             "notes": "baseline: Python loop over regions with numpy statistics per region (equal results asserted)"}]

    led = _ledger(rk["unit_id"])
    a = dt.date(2026, 1, 31)
    t0 = time.perf_counter()
    st = status_as_of(led, a)
    meas = ledger_measures(st, a, units=rk["unit_id"])
    t_q = time.perf_counter() - t0
    sub = rk["unit_id"].iloc[:600]
    t0 = time.perf_counter()
    dl = pd.to_datetime(led["deadline"])
    cl = pd.to_datetime(led["closed"])
    want = {}
    for u in sub:
        m = (led["unit_id"] == u).to_numpy()
        due = m & (dl <= pd.Timestamp(a)).to_numpy()
        done = due & (led["status"] == "已销号").to_numpy() & (cl <= pd.Timestamp(a)).fillna(False).to_numpy()
        want[u] = 100.0 * done.sum() / due.sum() if due.sum() else 100.0
    t_b = (time.perf_counter() - t0) * len(rk) / len(sub)
    got = meas.set_index("unit_id").loc[sub, "rect_close_rate"]
    assert np.allclose(got.to_numpy(), [want[u] for u in sub])
    rows.append({"name": f"ledger status on a date + rectification measures, {len(led)} items × {len(rk)} units",
                 "seconds": round(t_q, 3), "baseline_seconds": round(t_b, 3), "ratio": round(t_b / t_q, 1),
                 "target": f"≥ {TARGET_SPEEDUP:g}× vs the loop", "passed": t_b / t_q >= TARGET_SPEEDUP,
                 "notes": f"baseline: loop over units filtering the ledger, timed on {len(sub)} units and "
                          "extrapolated linearly (equal results asserted)"})
    return rows


if __name__ == "__main__":  # pragma: no cover
    for r in run():
        print(r)
