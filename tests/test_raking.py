"""Raking (IPF), post-stratification, trimming and Kish design effects."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from qlwork.errors import QlworkError
from qlwork.survey import kish, poststratify, rake, rake_by


def _sample_2x2(counts):
    rows = []
    for (a, b), k in counts.items():
        rows += [{"sex": a, "area": b}] * k
    return pd.DataFrame(rows)


def test_rake_2x2_independent_table_by_hand():
    # One respondent per cell (a uniform table): IPF reaches the independence
    # solution T_ij = R_i C_j / N in one sweep.  R = (60, 40), C = (70, 30), N = 100:
    # T11 = 60*70/100 = 42, T12 = 60*30/100 = 18, T21 = 40*70/100 = 28, T22 = 40*30/100 = 12.
    s = _sample_2x2({("男", "城镇"): 1, ("男", "农村"): 1, ("女", "城镇"): 1, ("女", "农村"): 1})
    w = rake(s, {"sex": {"男": 60, "女": 40}, "area": {"城镇": 70, "农村": 30}})
    got = dict(zip(zip(s["sex"], s["area"]), w))
    assert got[("男", "城镇")] == pytest.approx(42)
    assert got[("男", "农村")] == pytest.approx(18)
    assert got[("女", "城镇")] == pytest.approx(28)
    assert got[("女", "农村")] == pytest.approx(12)


def test_rake_2x2_preserves_odds_ratio_by_hand():
    # Sample counts n = [[2, 1], [1, 1]] (odds ratio 2).  IPF keeps the cross-product
    # ratio of the starting table (Bishop, Fienberg & Holland 1975, §3.5), so with
    # R = (60, 40), C = (70, 30) and T11 = x:  x (x − 30) = 2 (60 − x)(70 − x)
    # → x² − 230x + 8400 = 0 → x = (230 − √19300)/2 = 45.5379…
    x = (230 - math.sqrt(19300)) / 2
    s = _sample_2x2({("男", "城镇"): 2, ("男", "农村"): 1, ("女", "城镇"): 1, ("女", "农村"): 1})
    w = rake(s, {"sex": {"男": 60, "女": 40}, "area": {"城镇": 70, "农村": 30}})
    cell = pd.Series(w.to_numpy()).groupby([s["sex"], s["area"]]).sum()
    assert cell[("男", "城镇")] == pytest.approx(x, rel=1e-9)
    assert cell[("男", "农村")] == pytest.approx(60 - x, rel=1e-9)
    assert cell[("女", "城镇")] == pytest.approx(70 - x, rel=1e-9)
    assert cell[("女", "农村")] == pytest.approx(x - 30, rel=1e-9)
    # two respondents in the same cell share the cell total equally
    both = w[(s["sex"] == "男") & (s["area"] == "城镇")]
    assert both.iloc[0] == pytest.approx(x / 2)
    assert w.attrs["converged"]


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 4), st.integers(2, 5))
def test_rake_meets_every_margin(seed, ka, kb):
    rng = np.random.default_rng(seed)
    n = 300
    s = pd.DataFrame({"a": rng.integers(0, ka, n).astype(str), "b": rng.integers(0, kb, n).astype(str),
                      "c": rng.choice(["x", "y"], n)})
    # make sure every level occurs
    s.loc[: ka - 1, "a"] = [str(i) for i in range(ka)]
    s.loc[: kb - 1, "b"] = [str(i) for i in range(kb)]
    ma = {str(i): float(v) for i, v in enumerate(rng.uniform(50, 500, ka))}
    mb_raw = rng.uniform(50, 500, kb)
    mb = {str(i): float(v) for i, v in enumerate(mb_raw / mb_raw.sum() * sum(ma.values()))}
    mc = {"x": sum(ma.values()) * 0.3, "y": sum(ma.values()) * 0.7}
    w = rake(s, {"a": ma, "b": mb, "c": mc}, max_iter=500, tol=1e-9)
    for col, m in (("a", ma), ("b", mb), ("c", mc)):
        tot = w.groupby(s[col]).sum()
        for lvl, target in m.items():
            assert tot[lvl] == pytest.approx(target, rel=1e-6)
    assert (w > 0).all()


def test_rake_by_groups_is_independent_per_group():
    rng = np.random.default_rng(1)
    n = 2000
    s = pd.DataFrame({"county": rng.choice(["甲县", "乙县", "丙县"], n), "sex": rng.choice(["男", "女"], n, p=[0.3, 0.7]),
                      "area": rng.choice(["城镇", "农村"], n)})
    margins = pd.DataFrame([
        (c, v, l, p) for c, base in (("甲县", 1000), ("乙县", 5000), ("丙县", 300))
        for v, l, p in (("sex", "男", base * 0.5), ("sex", "女", base * 0.5),
                        ("area", "城镇", base * 0.4), ("area", "农村", base * 0.6))
    ], columns=["county", "variable", "level", "population"])
    res = rake_by(s, margins, by="county")
    assert res.converged and res.max_rel_error < 1e-8
    # the same as raking each county separately (second method: a loop)
    for c, sub in s.groupby("county"):
        m = margins[margins["county"] == c]
        mm = {v: dict(zip(g["level"], g["population"])) for v, g in m.groupby("variable")}
        w1 = rake(sub, mm)
        np.testing.assert_allclose(res.weights.loc[sub.index].to_numpy(), w1.to_numpy(), rtol=1e-8)
    assert np.allclose(res.margins["achieved"], res.margins["target"], rtol=1e-8)


def test_trimming_caps_then_rerakes():
    # one design weight of 100 among weights of 1: raking on sex alone keeps the ratio,
    # trimming caps it at 5 × median and re-raking restores the margins.
    s = pd.DataFrame({"g": "x", "sex": ["男", "女"] * 50})
    d = np.ones(100)
    d[0] = 100.0
    margins = {"x": {"sex": {"男": 500, "女": 500}}}
    plain = rake_by(s, margins, by="g", weights=d).weights
    # men: Σd = 149 → factor 500/149; the heavy man gets 100·500/149 = 335.57;
    # women all 10; median of 100 weights = 10 → ratio 33.557
    assert plain.max() / plain.median() == pytest.approx(100 * 500 / 149 / 10)
    res = rake_by(s, margins, by="g", weights=d, trim_k=5)
    w = res.weights
    assert res.trimmed >= 1
    assert w.max() / w.median() <= 5 * (1 + 1e-3)  # cap then re-rake, repeated: the fixed point is at the cap
    assert w.groupby(s["sex"]).sum().to_numpy() == pytest.approx([500, 500])
    assert res.params["trim_k"] == 5


def test_kish_by_hand():
    # w = (1, 1, 2): Σw = 4, Σw² = 6 → n_eff = 16/6 = 2.667, deff = 3·6/16 = 1.125
    k = kish([1, 1, 2])
    assert k.loc["all", "n_eff"] == pytest.approx(16 / 6)
    assert k.loc["all", "deff"] == pytest.approx(1.125)
    # deff = 1 + CV² (population CV): mean 4/3, var = (1/9 + 1/9 + 4/9)/3 = 2/9, CV² = (2/9)/(16/9) = 1/8
    assert k.loc["all", "deff"] == pytest.approx(1 + 1 / 8)
    g = kish([1, 1, 2, 3, 3], ["a", "a", "a", "b", "b"])
    assert g.loc["b", "n_eff"] == pytest.approx(2.0)


def test_poststratify_by_hand_and_errors():
    s = pd.DataFrame({"sex": ["男", "男", "女"], "age": ["青", "青", "老"]})
    pop = pd.DataFrame({"sex": ["男", "女"], "age": ["青", "老"], "population": [100, 300]})
    w = poststratify(s, pop, ["sex", "age"])
    assert w.tolist() == pytest.approx([50, 50, 300])  # 100/2, 100/2, 300/1
    pop2 = pd.concat([pop, pd.DataFrame({"sex": ["女"], "age": ["青"], "population": [10]})])
    with pytest.raises(QlworkError) as e:
        poststratify(s, pop2, ["sex", "age"])
    assert "empty_cell" in str(e.value)
    # a respondent without an age (NA under pandas 3): a located problem naming the cell, not a TypeError
    s3 = pd.DataFrame({"sex": ["男", "男", "女"], "age": ["青", None, "老"]})
    with pytest.raises(QlworkError) as e:
        poststratify(s3, pop, ["sex", "age"])
    assert "（缺失）" in str(e.value)


def test_rake_reports_missing_column_and_unknown_level():
    s = pd.DataFrame({"sex": ["男", "女", "X"]})
    with pytest.raises(QlworkError):
        rake(s, {"age": {"a": 1}})
    res = rake_by(s.assign(g=1), {1: {"sex": {"男": 10, "女": 10}}}, by="g")
    assert any(p.code == "unknown_level" for p in res.problems)
