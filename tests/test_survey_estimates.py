"""Hájek means, linearisation SEs, proportion intervals, reporting rule."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from statsmodels.stats.proportion import proportion_confint

from qlwork.survey import (frequency_weight_se, group_estimates, proportion_interval, reporting_flags,
                           weighted_mean)


def test_linearisation_se_by_hand():
    # y = (0, 100, 100), w = (1, 1, 2): Σw = 4, ȳ_w = 300/4 = 75
    # residuals (−75, 25, 25); Σ w²r² = 5625 + 625 + 4·625 = 8750
    # var = n/(n−1) · 8750 / 4² = 1.5 · 546.875 = 820.3125 → se = 28.6411
    r = weighted_mean([0, 100, 100], [1, 1, 2])
    assert r.mean == pytest.approx(75)
    assert r.se == pytest.approx(math.sqrt(820.3125))
    assert r.n_eff == pytest.approx(16 / 6)
    assert r.deff == pytest.approx(1.125)


def test_linearisation_differs_from_frequency_weight_se():
    # same data as frequency weights: s² = Σ w r² / (Σw − 1) = (5625 + 625 + 2·625)/3 = 2500;
    # se = √(2500/4) = 25 ≠ 28.64
    assert frequency_weight_se([0, 100, 100], [1, 1, 2]) == pytest.approx(25)
    # with survey weights of size ~300 the frequency formula is wildly too small
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 40) * 100.0
    w = rng.uniform(100, 500, 40)
    lin = weighted_mean(y, w).se
    freq = frequency_weight_se(y, w)
    assert lin > 5 * freq


def test_equal_weights_reduce_to_s_over_sqrt_n():
    # with w ≡ c, var = n/(n−1) Σ(y−ȳ)²/n² = s²/n (s² with ddof = 1), the textbook SE
    y = np.array([3.0, 7.0, 8.0, 1.0, 5.5])
    r = weighted_mean(y, np.full(5, 42.0))
    assert r.se == pytest.approx(y.std(ddof=1) / math.sqrt(5))
    assert r.deff == pytest.approx(1.0)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_group_estimates_match_one_at_a_time(seed):
    rng = np.random.default_rng(seed)
    n = 400
    g = rng.choice([f"U{i:03d}" for i in range(12)], n)
    y = rng.uniform(0, 100, n)
    y[rng.random(n) < 0.05] = np.nan  # all-don't-know respondents
    w = rng.uniform(0.2, 5, n)
    tab = group_estimates(y, w, g)
    for unit in np.unique(g):
        m = g == unit
        one = weighted_mean(y[m], w[m])
        row = tab.loc[unit]
        assert row["mean"] == pytest.approx(one.mean)
        assert row["se"] == pytest.approx(one.se)
        assert row["n_eff"] == pytest.approx(one.n_eff)
        assert row["ci_low"] == pytest.approx(one.ci_low)


def test_proportion_interval_uses_n_eff():
    # p̂ = 0.95 on n_eff = 20 → Wilson interval of 19/20 (statsmodels) ; CP = beta
    lo, hi = proportion_interval([0.95], [20.0], method="wilson")
    l2, h2 = proportion_confint(19, 20, method="wilson")
    assert lo[0] == pytest.approx(l2) and hi[0] == pytest.approx(h2)
    lo, hi = proportion_interval([1.0], [20.0], method="beta")
    assert hi[0] == pytest.approx(1.0)
    assert lo[0] == pytest.approx(0.025 ** (1 / 20))  # Clopper–Pearson at x = n: (α/2)^(1/n)


def test_reporting_rule():
    est = pd.DataFrame({"n": [25, 100, 100, 100], "n_eff": [25, 15, 80, 80],
                        "ci_low": [70, 70, 60, 75], "ci_high": [80, 80, 90, 85]})
    f = reporting_flags(est)
    assert f["reportable"].tolist() == [False, False, False, True]
    assert "样本量<30" in f["flag_reason"][0]
    assert "有效样本量<20" in f["flag_reason"][1]
    assert "置信区间半宽>10" in f["flag_reason"][2]
    f2 = reporting_flags(est, min_n=20, min_n_eff=10, max_halfwidth=20)
    assert f2["reportable"].all()


def test_survey_command_writes_parquet(tmp_path, capsys):
    # a tiny raw folder: registry, one survey file, margins
    from qlwork.cli import main

    raw = tmp_path / "raw"
    (raw / "surveys").mkdir(parents=True)
    rng = np.random.default_rng(0)
    units = pd.DataFrame({"单位编码": [f"U{i:06d}" for i in range(1, 13)], "单位名称": [f"单位{i}" for i in range(12)],
                          "单位类型": ["机关"] * 6 + ["村居"] * 6, "市州": "甲市", "县市区": ["甲县", "乙县"] * 6,
                          "乡镇(街道)": "城关镇", "框架": ["county"] * 6 + ["village"] * 6,
                          "在编人数": 10, "服务人口": 1000})
    units.to_excel(raw / "units.xlsx", sheet_name="单位名录", index=False)
    n = 600
    df = pd.DataFrame({"respondent_id": [f"R{i}" for i in range(n)], "unit_id": rng.choice(units["单位编码"], n),
                       "period": "2025H2", "age_group": rng.choice(["18-29", "30-39"], n),
                       "sex": rng.choice(["男", "女"], n), "area": rng.choice(["城镇", "农村"], n)})
    for k in range(1, 6):
        df[f"q{k}"] = rng.integers(1, 6, n)
    df["status"] = "完成"
    df.to_csv(raw / "surveys" / "survey_2025H2.csv", index=False, encoding="utf-8-sig")
    m = [(c, v, l, 500) for c in ("甲县", "乙县") for v, ls in
         (("age_group", ("18-29", "30-39")), ("sex", ("男", "女")), ("area", ("城镇", "农村"))) for l in ls]
    pd.DataFrame(m, columns=["county", "variable", "level", "population"]).to_csv(
        raw / "surveys" / "margins.csv", index=False, encoding="utf-8-sig")
    out = tmp_path / "processed"
    assert main(["survey", "--period", "2025H2", "--raw", str(raw), "--out", str(out)]) == 0
    est = pd.read_parquet(out / "public_2025H2.parquet")
    assert set(est["indicator_id"]) == {"overall", "service_sat", "v_sat_integrity", "v_sat_disclosure",
                                        "v_sat_relations"}
    assert est["unit_id"].nunique() == 12
    assert "有效" in capsys.readouterr().out
    assert main(["survey", "--period", "2031H1", "--raw", str(raw), "--out", str(out)]) == 2


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 60), st.floats(1e-3, 1e3))
def test_weighted_mean_invariants(seed, n, c):
    # scale invariance: survey weights only matter relative to each other (Hájek ratio)
    rng = np.random.default_rng(seed)
    y = rng.uniform(0, 100, n)
    w = rng.uniform(0.1, 10, n)
    a, b = weighted_mean(y, w), weighted_mean(y, c * w)
    assert (b.mean, b.se, b.n_eff, b.deff) == pytest.approx((a.mean, a.se, a.n_eff, a.deff), rel=1e-9)
    assert y.min() - 1e-9 <= a.mean <= y.max() + 1e-9
    assert 1 - 1e-12 <= a.n_eff <= n + 1e-9 and a.deff >= 1 - 1e-12  # Kish: 1 ≤ n_eff ≤ n
    assert a.deff == pytest.approx(n / a.n_eff)
    assert a.ci_low <= a.mean <= a.ci_high
