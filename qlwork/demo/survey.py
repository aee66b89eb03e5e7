"""Respondent-level public-satisfaction surveys (``surveys/survey_<period>.csv``).

Respondent r of unit u answers item k on a 1–5 Likert scale by ordered
thresholds on a latent continuous answer

    y_rk = 1 + P[u,t]/25 − δ̄_u + δ(age, sex, area)_r + b_r + e_rk,
    answer = 1 + #{c ∈ (1.5, 2.5, 3.5, 4.5) : y_rk > c}

with b_r ~ N(0, 0.6²) (respondent), e_rk ~ N(0, 0.5²) (item).  The demographic
effect δ favours older, female and rural respondents and δ̄_u is its population
mean, so the *population-weighted* expected score tracks the latent public
score P while the raw sample mean is biased: the sample over-represents older,
female and rural people (raking on the margins corrects this).  4 % of answers
are 9 (不了解, don't know), 1 % of respondents straight-line all 5s, 3 % of
interviews stop early (status 中断, later items blank).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..io.safe import atomic_path, atomic_write_text

__all__ = ["AGE_GROUPS", "write_surveys", "ITEMS_YAML"]

AGE_GROUPS = np.array(["18-29", "30-39", "40-49", "50-59", "60-65"])
POP_AGE = np.array([0.24, 0.22, 0.21, 0.19, 0.14])
SAMPLE_AGE = np.array([0.10, 0.15, 0.22, 0.28, 0.25])
AGE_EFFECT = np.array([-0.25, -0.12, 0.0, 0.12, 0.25])
POP_FEMALE, SAMPLE_FEMALE, FEMALE_EFFECT = 0.49, 0.58, 0.08
RURAL_EFFECT = 0.15

ITEMS_YAML = """\
# 群众满意度调查题目及其与指标的对应关系 — survey items and their mapping to public indicators
likert: {1: 0, 2: 25, 3: 50, 4: 75, 5: 100}   # 1 很不满意 … 5 很满意 → 0–100
dont_know: 9                                   # 9 = 不了解 (don't know), excluded from means
scale_labels: {1: 很不满意, 2: 不太满意, 3: 一般, 4: 比较满意, 5: 很满意, 9: 不了解}
items:
  county:
    q1: 您对该单位工作人员廉洁自律情况是否满意？
    q2: 您对该单位办事公开透明程度是否满意？
    q3: 您对该单位办事效率和服务态度是否满意？
    q4: 您对该单位纠治"四风"、整治群众身边腐败问题的成效是否满意？
    q5: 总体而言，您对该单位清廉建设是否满意？
  village:
    q1: 您对本村（社区）干部廉洁自律情况是否满意？
    q2: 您对村（社区）干部办事公道程度是否满意？
    q3: 您对村务、财务公开情况是否满意？
    q4: 您对村（社区）干部联系服务群众情况是否满意？
    q5: 您对本村（社区）干群关系是否满意？
mapping:
  county:
    service_sat: [q1, q2, q3, q4, q5]
  village:
    v_sat_integrity: [q1, q2]
    v_sat_disclosure: [q3]
    v_sat_relations: [q4, q5]
"""


def _counts(rng: np.random.Generator, n_units: int, median: float) -> np.ndarray:
    return np.clip(np.round(median * np.exp(rng.normal(0, 0.6, n_units))), 8, 150).astype(int)


def write_surveys(out: Path, rng: np.random.Generator, units: pd.DataFrame, public: np.ndarray,
                  periods: tuple[str, ...], median_last: float, median_other: float) -> dict[str, int]:
    """Write the survey CSVs, ``items.yaml`` and ``margins.csv``; return respondents per period."""
    sdir = out / "surveys"
    sdir.mkdir(parents=True, exist_ok=True)
    n_units = len(units)
    village = (units["framework"] == "village").to_numpy()
    # urban share of each unit's respondents (sample) and of each county (population)
    counties = units["county"].to_numpy()
    county_names, county_idx = np.unique(counties, return_inverse=True)
    urban_pop = rng.uniform(0.35, 0.65, len(county_names))
    sample_urban = np.where(village, 0.12, 0.6)
    # population mean of the demographic effect in each unit's county
    pop_mean_eff = (POP_AGE @ AGE_EFFECT + POP_FEMALE * FEMALE_EFFECT
                    + (1 - urban_pop[county_idx]) * RURAL_EFFECT)
    unit_ids = units["unit_id"].to_numpy()
    sizes: dict[str, int] = {}
    for pi, period in enumerate(periods):
        med = median_last if pi == len(periods) - 1 else median_other
        n_u = _counts(rng, n_units, med)
        u = np.repeat(np.arange(n_units), n_u)
        n = len(u)
        age = rng.choice(5, size=n, p=SAMPLE_AGE)
        female = rng.random(n) < SAMPLE_FEMALE
        rural = rng.random(n) >= sample_urban[u]
        eff = AGE_EFFECT[age] + FEMALE_EFFECT * female + RURAL_EFFECT * rural
        base = 1 + public[u, pi] / 25 - pop_mean_eff[u] + eff + rng.normal(0, 0.6, n)
        y = base[:, None] + rng.normal(0, 0.5, (n, 5))
        ans = (1 + (y > 1.5).astype(np.int8) + (y > 2.5) + (y > 3.5) + (y > 4.5)).astype(np.int8)
        ans[rng.random((n, 5)) < 0.04] = 9
        straight = rng.random(n) < 0.01
        ans[straight] = 5
        stopped = rng.random(n) < 0.03
        cut = rng.integers(1, 5, n)  # answered items before stopping
        answers = pd.DataFrame(ans, columns=[f"q{k}" for k in range(1, 6)]).astype("Int8")
        for k in range(5):
            answers.loc[stopped & (cut <= k), f"q{k + 1}"] = pd.NA
        df = pd.DataFrame({
            "respondent_id": [f"R{period}-{i:07d}" for i in range(1, n + 1)],
            "unit_id": unit_ids[u],
            "period": period,
            "age_group": AGE_GROUPS[age],
            "sex": np.where(female, "女", "男"),
            "area": np.where(rural, "农村", "城镇"),
        })
        df = pd.concat([df, answers], axis=1)
        df["status"] = np.where(stopped, "中断", "完成")
        with atomic_path(sdir / f"survey_{period}.csv") as tmp:
            df.to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\n")
        sizes[period] = n
    atomic_write_text(sdir / "items.yaml", ITEMS_YAML)
    # population margins per 县市区 (adults 18–65, from the units' service population)
    pop = units.groupby("county", sort=True)["population"].sum().reindex(county_names).to_numpy(float) * 0.65
    rows = []
    for ci, c in enumerate(county_names):
        tot = pop[ci]
        parts = np.round(tot * POP_AGE).astype(int)
        parts[-1] += int(round(tot)) - parts.sum()  # margins share one total
        total = int(parts.sum())
        for g, v in zip(AGE_GROUPS, parts):
            rows.append((c, "age_group", g, int(v)))
        f = int(round(total * POP_FEMALE))
        rows += [(c, "sex", "男", total - f), (c, "sex", "女", f)]
        ur = int(round(total * urban_pop[ci]))
        rows += [(c, "area", "城镇", ur), (c, "area", "农村", total - ur)]
    m = pd.DataFrame(rows, columns=["county", "variable", "level", "population"])
    with atomic_path(sdir / "margins.csv") as tmp:
        m.to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\n")
    return sizes
