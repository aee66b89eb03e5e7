"""Regions and townships as entities: 市州, 县市区 and 乡镇 results from their units' official results.

Nothing is re-scored: every figure is a statistic of the published totals (``total``, 2 dp),
grades and changes of the official result of one period, per framework (the county and
village indices are not pooled: their indicators differ).  For region r of a level
(city / county / township) with scored units x₁…xₙ:

    mean        = (1/n) Σ xᵢ            (unweighted: each unit counts once)
    sd          = sample standard deviation (ddof 1);  se = sd / √n
    CI (t)      = mean ± t_{(1+c)/2, n−1} · se                    (default, c = 0.95)
    CI (bootstrap) = percentiles (1−c)/2, (1+c)/2 of the means of ``draws`` resamples
                  of the n units with replacement (seeded numpy Generator)
    distribution = min, quartiles (pandas linear interpolation), max, units per grade
    share_top / share_bottom = units graded in the best / worst grade ÷ units with a grade
    rank        = competition rank of the mean (published to the spec's decimals) among the
                  regions of the same level and framework; rank_in_parent among those of
                  the same parent (the counties of one city, the townships of one county)
    change      = mean of the units' official 较上期 (``change``) over the units that have
                  one — like for like, so units entering or leaving do not move it

Both intervals are truncated to the score scale [0, 100 + the framework's bonus cap].
The confidence interval treats the units as draws from the region's process (a superpopulation
view: "how precisely does this period's result measure the region?"); with all units of the
region observed there is no sampling error in the finite-population sense.  n < 2 gives no
interval.  The method and its parameters are in every row (``method``) and in :func:`describe_zh`.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..engine.grading import rank_within

__all__ = ["region_results", "REGION_COLUMNS", "LEVELS", "LEVEL_LABELS", "PARENT", "describe_zh"]

LEVELS = ("city", "county", "township")
LEVEL_LABELS = {"city": "市州", "county": "县市区", "township": "乡镇（街道）"}
PARENT = {"city": None, "county": "city", "township": "county"}

REGION_COLUMNS = ["framework", "period", "level", "region", "parent", "n_units", "n_scored", "mean", "sd", "se",
                  "ci_low", "ci_high", "min", "q25", "median", "q75", "max", "grade_counts", "n_top", "share_top",
                  "n_bottom", "share_bottom", "rank", "n_regions", "rank_in_parent", "n_in_parent", "change",
                  "n_change", "method"]


def describe_zh(ci: str = "t", level: float = 0.95, draws: int = 2000, seed: int = 0) -> str:
    how = (f"t 分布 {level:.0%} 置信区间（均值 ± t×标准误）" if ci == "t"
           else f"自助法 {level:.0%} 百分位置信区间（{draws} 次重抽样，种子 {seed}）") + "，截断于得分范围"
    return ("区域得分为区域内参评单位正式综合得分的简单平均（每个单位权重相同，不重新评分）；"
            f"{how}，把本期单位得分视为区域的一次观测；优秀/不合格占比以有等级的单位为分母；"
            "名次按均值（公布精度）在同级同指标体系的区域中排列；较上期为有上期得分单位的正式“较上期”变化的平均。")


def _boot(x: np.ndarray, level: float, draws: int, rng: np.random.Generator) -> tuple[float, float]:
    if len(x) < 2:
        return np.nan, np.nan
    idx = rng.integers(0, len(x), size=(draws, len(x)))
    m = x[idx].mean(axis=1)
    return float(np.quantile(m, (1 - level) / 2)), float(np.quantile(m, (1 + level) / 2))


def region_results(official, *, levels: Sequence[str] = LEVELS, ci: str = "t", level: float = 0.95,
                   draws: int = 2000, seed: int = 20251231) -> pd.DataFrame:
    """One row per (framework, level, region) of the official result's period (columns :data:`REGION_COLUMNS`)."""
    from ..errors import Problem, QlworkError

    if ci not in ("t", "bootstrap"):
        raise QlworkError(Problem("bad_method", f"未知的置信区间方法 {ci}", "unknown interval method", found=ci,
                                  expected="t 或 bootstrap"))
    if not 0 < level < 1:
        raise QlworkError(Problem("bad_method", "置信水平应在 0 与 1 之间", "level must be in (0, 1)", found=level,
                                  expected="如 0.95"))
    if ci == "bootstrap" and not (isinstance(draws, (int, np.integer)) and not isinstance(draws, bool) and draws >= 1):
        raise QlworkError(Problem("bad_method", "自助法重抽样次数应为正整数", "the number of bootstrap draws must be a "
                                  "positive integer", column="draws", found=draws, expected="如 2000"))
    bad = [lv for lv in levels if lv not in LEVELS]
    if bad:
        raise QlworkError(Problem("bad_level", f"未知的区域层级 {bad}", "unknown region level", found=bad,
                                  expected="、".join(LEVELS)))
    rk = official.ranking()
    rng = np.random.default_rng(seed)
    method = f"ci={ci};level={level:g}" + (f";draws={draws};seed={seed}" if ci == "bootstrap" else "")
    parts = []
    for fid, res in official.results.items():
        labels = list(res.spec.grade_labels)
        top, bottom = labels[0], labels[-1]
        f = rk[rk["framework"] == fid]
        for lv in levels:
            sub = f[f[lv].notna()].copy()
            if sub.empty:
                continue
            sub["_x"] = sub["total"].astype(float)
            g = sub.groupby(lv, sort=True)
            x = g["_x"]
            out = pd.DataFrame({"n_units": g.size(), "n_scored": x.count(), "mean": x.mean(), "sd": x.std(ddof=1),
                                "min": x.min(), "q25": x.quantile(0.25), "median": x.median(),
                                "q75": x.quantile(0.75), "max": x.max()})
            out["se"] = out["sd"] / np.sqrt(out["n_scored"])
            if ci == "t":
                tq = stats.t.ppf((1 + level) / 2, np.maximum(out["n_scored"] - 1, 1))
                half = np.where(out["n_scored"] >= 2, tq * out["se"], np.nan)
                out["ci_low"], out["ci_high"] = out["mean"] - half, out["mean"] + half
            else:
                lo_hi = [_boot(grp.dropna().to_numpy(float), level, draws, rng) for _, grp in x]
                out["ci_low"] = [a for a, _ in lo_hi]
                out["ci_high"] = [b for _, b in lo_hi]
            # the mean cannot leave the score scale: the interval is truncated to [0, 100 + bonus cap]
            hi = 100.0 + float(getattr(res.spec, "bonus_cap", 0.0) or 0.0)
            out["ci_low"], out["ci_high"] = out["ci_low"].clip(0.0, hi), out["ci_high"].clip(0.0, hi)
            graded = sub[sub["grade"].notna()]
            counts = graded.groupby([lv, "grade"]).size().unstack(fill_value=0).reindex(columns=labels, fill_value=0)
            counts = counts.reindex(out.index, fill_value=0)
            n_graded = counts.sum(axis=1)
            out["grade_counts"] = ["；".join(f"{k} {int(v)}" for k, v in zip(labels, row))
                                   for row in counts.to_numpy()]
            out["n_top"], out["n_bottom"] = counts[top].astype("int64"), counts[bottom].astype("int64")
            with np.errstate(invalid="ignore", divide="ignore"):
                out["share_top"] = np.where(n_graded > 0, out["n_top"] / n_graded.where(n_graded > 0, 1), np.nan)
                out["share_bottom"] = np.where(n_graded > 0, out["n_bottom"] / n_graded.where(n_graded > 0, 1), np.nan)
            ch = sub["change"].astype(float)
            out["change"] = ch.groupby(sub[lv]).mean()
            out["n_change"] = ch.notna().groupby(sub[lv]).sum().astype("int64")
            par = PARENT[lv]
            out["parent"] = g[par].first() if par else None  # first non-missing parent of the region's units
            out = out.rename_axis("region").reset_index()
            out["rank"] = rank_within(out["mean"], decimals=res.decimals).to_numpy()
            out["n_regions"] = int(out["mean"].notna().sum())
            pkey = out["parent"].astype(object).where(out["parent"].notna(), "") if par else pd.Series("", index=out.index)
            out["rank_in_parent"] = rank_within(out["mean"], pkey, decimals=res.decimals).to_numpy()
            out["n_in_parent"] = out.groupby(pkey.to_numpy())["mean"].transform("count").astype("int64")
            out.insert(0, "framework", fid)
            out.insert(1, "period", official.period)
            out.insert(2, "level", lv)
            out["method"] = method
            parts.append(out)
    if not parts:
        return pd.DataFrame(columns=REGION_COLUMNS)
    t = pd.concat(parts, ignore_index=True)[REGION_COLUMNS]
    for c in ("rank", "rank_in_parent"):
        t[c] = t[c].astype("Int64")
    for c in ("n_units", "n_scored", "n_regions", "n_in_parent", "n_change", "n_top", "n_bottom"):
        t[c] = t[c].astype("int64")
    t["parent"] = t["parent"].astype(object).where(t["parent"].notna(), None)
    return t
