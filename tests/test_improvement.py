"""Hand cases of the improvement analysis (限期治理建议, issue 21).

Every expected number below is worked out by hand in the comment next to it (closed
forms for goalposts, targets and z-scores; the moving minimum of min–max; ranks by
counting) and checked a second way: the suggested raw value is put into the data
and ``compute_index`` — the official scorer — re-scores it: it must publish at or
above the line, and one grid step less must not.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from qlwork.analysis.improvement import CostRule, suggest
from qlwork.analysis.rescore import rescore, what_if_indicator
from qlwork.engine.index import compute_index
from qlwork.errors import QlworkError

GRADES = {"优秀": 90, "良好": 80, "合格": 60, "不合格": 0}


def framework(children, *, bottom_n=1, **extra):
    return {"id": "T", "name": "测试框架", "grades": GRADES, "pass_mark": 60, "social_share": 0.0,
            "bottom_n": bottom_n, **extra, "children": [{"id": "G", "name": "目标", "weight": 1.0, "children": children}]}


def ind(i, w, direction=1, *, kind="percent", unit="%", rng=(0, 100), goalposts=None, target=None, public=False):
    d = {"id": i, "name": f"指标{i}", "weight": w, "direction": direction, "kind": kind, "unit": unit,
         "range": [rng[0], rng[1]]}
    if goalposts:
        d["goalposts"] = list(goalposts)
    if target is not None:
        d["target"] = target
    if public:
        d["public"] = True
    return d


THREE = [ind("a", 0.5, goalposts=(50, 100)), ind("b", 0.3, -1, kind="count", unit="件", rng=(0, None), goalposts=(0, 10)),
         ind("c", 0.2, goalposts=(0, 100))]
DATA3 = pd.DataFrame({"a": [62, 50, 90, 95, 80], "b": [6, 10, 1, 0, 3], "c": [40, 0, 90, 80, 70]},
                     index=["X", "Y", "Z1", "Z2", "Z3"])


def score(data, fw, **kw):
    kw.setdefault("public_source", "none")
    return compute_index(data, fw, **kw)


def total_with(data, fw, unit, changes, **kw):
    """The published total of ``unit`` after changing its raw values — compute_index on the changed data."""
    d = data.copy().astype(float)
    for k, v in changes.items():
        d.loc[unit, k] = v
    return float(score(d, fw, **kw).scores.at[unit, "total"])


def row(plan, unit, line, indicator):
    s = plan.singles
    r = s[(s["unit_id"] == unit) & (s["line"] == line) & (s["indicator_id"] == indicator)]
    assert len(r) == 1, r
    return r.iloc[0]


def combo_of(plan, unit, line):
    c = plan.combos
    c = c[(c["unit_id"] == unit) & (c["line"] == line)]
    return dict(zip(c["indicator_id"], c["target_value"]))


# ---------------------------------------------------------------- goalposts, arithmetic
def test_goalposts_arithmetic_closed_form_and_pair():
    fw = framework(THREE)
    r = score(DATA3, fw, normalization="goalposts")
    # X: n = (24, 40, 40) → 0.5·24 + 0.3·40 + 0.2·40 = 32.00
    assert r.scores.at["X", "total"] == 32.0
    p = suggest(r)
    a = row(p, "X", "pass", "a")
    # 0.5·100(x − 50)/50 + 20 ≥ 59.995 (the smallest total publishing 60.00, half-up) → x ≥ 89.995 → 90.0 on the 0.1 grid
    assert a["value_exact"] == pytest.approx(89.995, abs=1e-6)
    assert a["target_value"] == 90.0 and a["total"] == 60.0 and a["grade"] == "合格" and bool(a["verified"])
    assert total_with(DATA3, fw, "X", {"a": 90.0}, normalization="goalposts") == 60.0
    assert total_with(DATA3, fw, "X", {"a": 89.9}, normalization="goalposts") == 59.9
    # b and c cannot do it alone: 32 + 0.3·60 = 50 and 32 + 0.2·60 = 44 at their best (0 件, 100 %)
    b, c = row(p, "X", "pass", "b"), row(p, "X", "pass", "c")
    assert not b["crosses"] and b["best_value"] == 0 and b["total"] == 50.0
    assert not c["crosses"] and c["best_value"] == 100 and c["total"] == 44.0
    # the cheapest "combination" of X is a alone
    assert combo_of(p, "X", "pass") == {"a": 90.0}
    # Y (all zeros) needs two: top gains a 50 + b 30 ≥ 60.  Least Σ|Δx|/span on the grids:
    # b = 6 件 (gain 12) and a ≥ 50 + (47.995/0.5)/2 = 97.995 → 98.0: effort 0.96 + 0.4 = 1.36
    # (a = 100 with b = 6 costs 1.40; a with c costs ≥ 1.50)
    assert combo_of(p, "Y", "pass") == {"a": 98.0, "b": 6.0}
    ly = p.lines.set_index(["unit_id", "line"]).loc[("Y", "pass")]
    assert ly["k_min"] == 2 and ly["combo_total"] == 60.0 and bool(ly["combo_verified"])
    assert total_with(DATA3, fw, "Y", {"a": 98.0, "b": 6}, normalization="goalposts") == 60.0
    assert total_with(DATA3, fw, "Y", {"a": 97.9, "b": 6}, normalization="goalposts") < 60.0


def test_published_precision_half_up_boundary():
    """On a 0.005 grid the answer is exactly 89.995: total 59.995 publishes as 60.00 (half-up)."""
    fw = framework(THREE)
    r = score(DATA3, fw, normalization="goalposts")
    p = suggest(r, ["X"], resolution={"a": 0.005})
    a = row(p, "X", "pass", "a")
    assert a["target_value"] == pytest.approx(89.995) and a["total"] == 60.0
    assert total_with(DATA3, fw, "X", {"a": 89.995}, normalization="goalposts") == 60.0
    assert total_with(DATA3, fw, "X", {"a": 89.99}, normalization="goalposts") == 59.99


def test_cost_rule_is_a_parameter():
    fw = framework(THREE)
    r = score(DATA3, fw, normalization="goalposts")
    # without the count rule the least effort is the same pair here (a–b is the most efficient)
    p = suggest(r, ["Y"], cost=CostRule(count_first=False))
    assert combo_of(p, "Y", "pass") == {"a": 98.0, "b": 6.0}
    # a made ten times harder: b to its best (0 件, gain 30), a ≥ 50 + (29.995/0.5)/2 = 79.9975 → 80.0;
    # effort 10·0.6 + 1.0 = 7.0 < a with c (10·0.8 + 1.0 = 9.0)
    p = suggest(r, ["Y"], cost=CostRule(indicator_costs={"a": 10.0}))
    assert combo_of(p, "Y", "pass") == {"a": 80.0, "b": 0.0}
    assert p.params["cost"]["indicator_costs"] == {"a": 10.0}
    with pytest.raises(ValueError):
        CostRule(measure="dollars")


# ---------------------------------------------------------------- peer-relative normalisations
ONE = pd.DataFrame({"a": [40.0, 50, 60, 70, 80]}, index=["X", "P1", "P2", "P3", "P4"])


def test_minmax_unit_at_the_peer_minimum_moves_the_minimum():
    fw = framework([ind("a", 1.0)])
    r = score(ONE, fw, normalization="minmax")
    assert r.scores.at["X", "total"] == 0.0
    p = suggest(r, ["X"])
    a = row(p, "X", "pass", "a")
    # X is the minimum: while x ≤ 50 it stays the minimum (score 0); beyond, min = 50, max = 80:
    # 100(x − 50)/30 ≥ 59.995 → x ≥ 67.9985 → 68.0
    assert a["value_exact"] == pytest.approx(67.9985, abs=1e-6)
    assert a["target_value"] == 68.0 and a["total"] == 60.0
    assert total_with(ONE, fw, "X", {"a": 68.0}) == 60.0
    assert total_with(ONE, fw, "X", {"a": 67.9}) == 59.67
    # the naive answer with the minimum held at 40 — 100(x − 40)/40 ≥ 59.995 → 64.0 — scores only 46.67
    assert total_with(ONE, fw, "X", {"a": 64.0}) == 46.67


def test_zscore_closed_form():
    fw = framework([ind("a", 1.0)])
    r = score(ONE, fw, normalization="zscore")
    p = suggest(r, ["X"])
    a = row(p, "X", "pass", "a")
    # others: n_o = 4, mean 65, Σ(dev²) = 500; n = 5.  The smallest total that publishes 60.00 is 59.9949995
    # (scores are snapped to the 1e-6 grid, ties to even, then rounded half-up), so 50 + 10 z ≥ 59.9949995
    # → z ≥ 0.99949995; with d = x − 65, z = (d n_o/n) / √((Q_o + d² n_o/n)/n_o)  ⇒
    # d = z √Q_o / √(n_o³/n² − z² n_o/n)
    z, n_o, n, q = 0.99949995, 4, 5, 500.0
    x_star = 65 + z * math.sqrt(q) / math.sqrt(n_o ** 3 / n ** 2 - z ** 2 * n_o / n)
    assert a["value_exact"] == pytest.approx(x_star, abs=1e-6)
    assert a["target_value"] == pytest.approx(math.ceil(x_star * 10) / 10)
    assert total_with(ONE, fw, "X", {"a": a["target_value"]}, normalization="zscore") >= 60.0
    assert total_with(ONE, fw, "X", {"a": a["target_value"] - 0.1}, normalization="zscore") < 60.0


def test_zscore_is_bounded_so_a_line_can_be_out_of_reach():
    fw = framework([ind("a", 1.0)])
    r = score(ONE, fw, normalization="zscore")
    # P4 (80) is 合格; 良好 needs z ≥ 2.9995 but one value among five has z < n_o/√n = 1.79.
    # At the feasible best, 100: others mean 55, Σdev² 500, d = 45 → z = 36/√530 = 1.5637 → 65.64
    p = suggest(r, ["P4"], lines=("grade",))
    line = p.lines.iloc[0]
    assert line["label"].startswith("良好") and not line["reachable"] and line["status"] == "unreachable"
    assert line["combo_total"] == pytest.approx(round(50 + 10 * 36 / math.sqrt(530), 2))
    assert p.combos.empty


def test_rank_normalisation_is_a_step():
    fw = framework([ind("a", 1.0)])
    r = score(ONE, fw, normalization="rank")
    p = suggest(r, ["X"])
    a = row(p, "X", "pass", "a")
    # percentile 100(r − 1)/4 ≥ 59.995 → average rank ≥ 3.3998: a tie with 70 gives r = 3.5 (62.5),
    # 69.9 gives r = 3 (50.0)
    assert a["target_value"] == 70.0 and a["total"] == 62.5
    assert a["value_exact"] == pytest.approx(70.0)
    assert total_with(ONE, fw, "X", {"a": 69.9}, normalization="rank") == 50.0


def test_distance_to_target_with_the_worst_unit_moving():
    fw = framework([ind("a", 1.0, target=90)])
    r = score(ONE, fw, normalization="target")
    p = suggest(r, ["X"])
    a = row(p, "X", "pass", "a")
    # worst = min(x, 50): 100(x − 50)/(90 − 50) ≥ 59.995 → x ≥ 73.998 → 74.0
    assert a["value_exact"] == pytest.approx(73.998, abs=1e-6)
    assert a["target_value"] == 74.0 and a["total"] == 60.0
    assert total_with(ONE, fw, "X", {"a": 73.9}, normalization="target") < 60.0


# ---------------------------------------------------------------- geometric aggregation
def test_goalposts_geometric_closed_form():
    fw = framework([ind("a", 0.5, goalposts=(50, 100)), ind("c", 0.5, goalposts=(0, 100))])
    data = DATA3[["a", "c"]]
    r = score(data, fw, normalization="goalposts", aggregation="geometric")
    # X: √(24 · 40) = 30.98
    assert r.scores.at["X", "total"] == pytest.approx(30.98)
    p = suggest(r, ["X"])
    a, c = row(p, "X", "pass", "a"), row(p, "X", "pass", "c")
    # √(40 n_a) ≥ 59.995 → n_a ≥ 89.985 → a ≥ 94.9925 → 95.0 (√3600 = 60.00; 94.9 → √3592 = 59.93)
    assert a["value_exact"] == pytest.approx(94.9925, abs=1e-6)
    assert a["target_value"] == 95.0 and a["total"] == 60.0
    # c alone would need n_c ≥ 149.97: at 100 the total is √2400 = 48.99
    assert not c["crosses"] and c["total"] == pytest.approx(48.99)
    kw = dict(normalization="goalposts", aggregation="geometric")
    assert total_with(data, fw, "X", {"a": 94.9}, **kw) == pytest.approx(59.93)


# ---------------------------------------------------------------- share, bonus, veto, bottom N, ranges
def test_public_share_and_bonus_are_fixed():
    fw = framework([ind("a", 1.0, goalposts=(50, 100))], social_share=0.3)
    data = DATA3[["a"]]
    pub = pd.Series(50.0, index=data.index)
    bonus = pd.Series({"X": 2.0})
    kw = dict(normalization="goalposts", public=pub, bonus=bonus, bonus_cap=5, public_source="survey-direct")
    r = compute_index(data, fw, **kw)
    # 0.7·24 + 0.3·50 + 2 = 33.80; 0.7 n ≥ 59.995 − 17 → n ≥ 61.4214 → a ≥ 80.7107 → 80.8 (60.12); 80.7 → 59.98
    assert r.scores.at["X", "total"] == 33.8
    a = row(suggest(r, ["X"]), "X", "pass", "a")
    assert a["target_value"] == 80.8 and a["total"] == 60.12
    d = data.copy().astype(float)
    d.loc["X", "a"] = 80.7
    assert compute_index(d, fw, **kw).scores.at["X", "total"] == 59.98


def test_veto_caps_the_grade_reached():
    fw = framework(THREE)
    r = score(DATA3, fw, normalization="goalposts", veto=["Z3"])
    # Z3 scores 65 (合格 by score) but is 不合格 by veto; its grade line (良好 at 80) can be crossed on score
    # (a 80 → 95: +15) while the grade stays 不合格
    p = suggest(r, ["Z3"])
    line = p.lines.set_index("line").loc["grade"]
    assert bool(line["vetoed"]) and bool(line["grade_capped"]) and line["combo_grade"] == "不合格"
    assert line["combo_total"] == 80.0
    from qlwork.report.remedy import unit_section

    p.params["veto_cap"] = r.spec.veto_cap
    sec = unit_section(p, "Z3")
    assert "一票否决" in sec["lines"][0]["note"] and "封顶" in sec["lines"][0]["singles"][0]


def test_bottom_n_line_holds_the_peers_fixed():
    fw = framework(THREE, bottom_n=2)
    r = score(DATA3, fw, normalization="goalposts")
    # published totals: Y 0, X 32, Z3 65, Z1 85, Z2 91.  Bottom 2 = {Y, X}.  To leave it X must beat the
    # second-lowest of the others (Y 0, Z3 65): 65.01, a alone: 32 + 0.5 Δn ≥ 65.005 → n_a ≥ 90.01 → a ≥ 95.005 → 95.1
    p = suggest(r, ["X"], lines=("bottom_n",))
    line = p.lines.iloc[0]
    assert line["target"] == 65.01 and "后 2 名" in line["label"]
    a = row(p, "X", "bottom_n", "a")
    assert a["target_value"] == 95.1 and a["total"] == 65.1 and a["rank"] == 3
    out = rescore(r, [("X", {"a": 95.1})]).iloc[0]
    assert not out["bottom_n"] and out["rank"] == 3
    assert rescore(r, [("X", {"a": 95.0})]).iloc[0]["bottom_n"]


def test_feasible_range_and_direction_are_respected():
    # goalposts beyond the range: Q (95 → 100·45/70 = 64.29, 合格) would need a ≥ 106 for 良好;
    # at the range's end (100 %) the score is 100·50/70 = 71.43
    fw = framework([ind("a", 1.0, goalposts=(50, 120))])
    r = score(pd.DataFrame({"a": [95.0, 60, 70]}, index=["Q", "R", "S"]), fw, normalization="goalposts")
    p = suggest(r, ["Q"], lines=("grade",))
    a = row(p, "Q", "grade", "a")
    assert a["best_value"] == 100 and not a["crosses"] and a["total"] == pytest.approx(71.43)
    assert p.lines.iloc[0]["status"] == "unreachable"
    # a "less is better" count goes down, never below 0
    p = suggest(score(DATA3, framework(THREE), normalization="goalposts"), ["Y"])
    b = row(p, "Y", "pass", "b")
    assert b["direction"] == -1 and b["best_value"] == 0 and b["value"] == 10


def test_survey_items_are_never_suggested():
    fw = framework([ind("a", 0.5, goalposts=(50, 100)), ind("s", 0.5, goalposts=(0, 100), public=True)],
                   social_share=0.3)
    data = pd.DataFrame({"a": [62, 80, 90], "s": [50, 70, 90]}, index=["X", "P1", "P2"])
    r = compute_index(data, fw, normalization="goalposts", public_source="indicators")
    p = suggest(r, ["X"])
    assert set(p.singles["indicator_id"]) == {"a"}


# ---------------------------------------------------------------- what-if and validation
def test_what_if_indicator_matches_the_official_scorer():
    fw = framework(THREE)
    r = score(DATA3, fw, normalization="minmax")
    same = what_if_indicator(r, "X", {})
    assert same["total"] == r.scores.at["X", "total"] and same["rank"] == r.ranking.at["X", "rank"]
    got = what_if_indicator(r, "X", {"a": 92.5, "b": 2})
    assert got["total"] == total_with(DATA3, fw, "X", {"a": 92.5, "b": 2}, normalization="minmax")
    d = DATA3.copy().astype(float)
    d.loc["X", ["a", "b"]] = [92.5, 2]
    assert got["rank_rescored"] == score(d, fw, normalization="minmax").ranking.at["X", "rank"]
    assert isinstance(got["total"], float) and got["changes"] == {"a": 92.5, "b": 2.0}
    with pytest.raises(QlworkError) as e:
        what_if_indicator(r, "X", {"a": 120})
    assert "超出可行范围" in str(e.value) and e.value.problems[0].column == "a"
    with pytest.raises(QlworkError):
        what_if_indicator(r, "X", {"zz": 1})
    with pytest.raises(QlworkError):
        what_if_indicator(r, "NOPE", {"a": 1})


def test_format_value():
    from qlwork.report.remedy import format_value

    assert format_value(62, "%", 0.1) == "62.0%"
    assert format_value(12.39, "‰", 0.1, current=True) == "12.39‰"
    assert format_value(2.0, "件", 1.0) == "2 件"
    assert format_value(-0.0, "件", 1.0) == "0 件"
    assert format_value(float("nan"), "件", 1.0) == "—"


def test_sentences_read_as_in_the_issue():
    fw = framework(THREE)
    r = score(DATA3, fw, normalization="goalposts")
    from qlwork.report.remedy import unit_section

    sec = unit_section(suggest(r, ["X", "Y"]), "X")
    assert sec["lines"][0]["singles"][0] == "指标a 由 62.0% 提高到 90.0% 以上，综合得分可达 60.00（合格）"
    sec = unit_section(suggest(r, ["X", "Y"]), "Y")
    assert sec["lines"][0]["combo"] == ("同时将指标a 由 50.0% 提高到 98.0% 以上、指标b 由 10 件 降低到 6 件 以下，"
                                        "综合得分可达 60.00（合格）")
    assert sec["lines"][0]["closest"] and not sec["lines"][0]["singles"]
    assert np.isfinite(sec["lines"][0]["gap"])


def test_a_combination_the_engine_does_not_confirm_is_raised_until_it_is(monkeypatch):
    """The closed form is the engine's number, so this only happens when other values of the group move
    with the unit's (outlier treatment); simulated here by a search that stops three grid steps short."""
    import qlwork.analysis.improvement_search as search

    real = search.combo

    def short(ctx, u, target, cand, cost):
        out = real(ctx, u, target, cand, cost)
        if out["values"] and len(out["values"]) > 1:
            out["values"] = {j: s - 3 * ctx.step[j] for j, s in out["values"].items()}
        return out

    monkeypatch.setattr(search, "combo", short)
    fw = framework(THREE)
    r = score(DATA3, fw, normalization="goalposts")
    p = suggest(r, ["Y"], verify=True)
    # (a, b) = (97.7 %, 9 件) → (97.8, 8) → (97.9, 7) → (98.0, 6): 53.8, 56.9, 60.0
    assert combo_of(p, "Y", "pass") == {"a": 98.0, "b": 6.0}
    line = p.lines.iloc[0]
    assert bool(line["combo_verified"]) and line["combo_total"] == 60.0


def test_bad_requests_get_located_errors():
    r = score(DATA3, framework(THREE), normalization="goalposts")
    for kw in ({"units": ["NOPE"]}, {"lines": ("pass", "moon")}, {"resolution": {"a": 0}},
               {"resolution": "fine"}):
        units = kw.pop("units", None)
        with pytest.raises(QlworkError) as e:
            suggest(r, units, **kw)
        assert e.value.problems and e.value.problems[0].code in ("unknown_unit", "bad_line", "bad_resolution")


def test_imputed_cells_are_not_suggested():
    fw = framework(THREE)
    d = DATA3.copy().astype(float)
    d.loc["X", "c"] = np.nan  # X did not report c; mean imputation fills it
    r = score(d, fw, normalization="goalposts", imputation="mean")
    p = suggest(r, ["X"])
    assert "c" not in set(p.singles["indicator_id"]) and "a" in set(p.singles["indicator_id"])
