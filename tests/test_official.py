"""The official result: spec, veto, bonus, published precision, warning rules, the one scorer.

Hand cases: every expected number below is worked out in the comments from the
framework's weights and the goalposts — independent of the engine's code path.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qlwork.engine.index import compute_index
from qlwork.errors import QlworkError
from qlwork.spec import IndexSpec, load_specs, spec_for
from qlwork.framework import load_framework


def fw_one(bonus_cap=5.0, veto=("v1",)):
    """One goal, two indicators on goalposts [0, 100], weights .5/.5: total = mean of the raw values."""
    return load_framework({
        "id": "T", "name": "测试", "grades": {"优秀": 90, "良好": 80, "合格": 60, "不合格": 0}, "pass_mark": 60,
        "bottom_n": 3, "social_share": 0.0, "bonus": {"cap": bonus_cap},
        "veto": [{"id": v, "name": f"否决事项{v}"} for v in veto],
        "children": [{"id": "A", "weight": 1.0, "children": [
            {"id": "x1", "weight": 0.5, "direction": 1, "goalposts": [0, 100]},
            {"id": "x2", "weight": 0.5, "direction": 1, "goalposts": [0, 100]}]}]})


def wide(values: dict) -> pd.DataFrame:
    """unit → (x1, x2)."""
    return pd.DataFrame({k: {"x1": a, "x2": b} for k, (a, b) in values.items()}).T


# ------------------------------------------------------------ precision
def test_precision_boundary_89_995_vs_89_994999():
    # total = (x1 + x2)/2: 89.995 → published 90.00 (优秀); 89.994999 → 89.99 (良好)
    d = wide({"a": (89.995, 89.995), "b": (89.994999, 89.994999), "c": (89.996, 89.996), "d": (50, 50)})
    r = compute_index(d, fw_one(), normalization="goalposts", bottom_n=0)
    f = r.to_frame()
    assert f.loc["a", "total"] == 90.0 and f.loc["a", "grade"] == "优秀"
    assert f.loc["b", "total"] == 89.99 and f.loc["b", "grade"] == "良好"
    # the case: 89.996 is shown as 90.00 — and graded by that same number
    assert f.loc["c", "total"] == 90.0 and f.loc["c", "grade"] == "优秀"
    # a and c share rank 1 (equal published scores), b is third
    assert f.loc[["a", "c", "b", "d"], "rank"].tolist() == [1, 1, 3, 4]


def test_precision_is_a_spec_choice():
    d = wide({"a": (89.995, 89.995), "b": (89.994999, 89.994999)})
    r = compute_index(d, fw_one(), normalization="goalposts", decimals=1, bottom_n=0)
    # one decimal: 89.995 → 90.0, 89.994999 → 90.0 (half-up at the first decimal): both 优秀, tied
    assert r.scores["total"].tolist() == [90.0, 90.0] and r.ranking["rank"].tolist() == [1, 1]
    assert r.spec.precision.decimals == 1 and r.params["decimals"] == 1


# ------------------------------------------------------------ veto
def test_veto_caps_the_grade_and_warns():
    d = wide({"a": (95, 95), "b": (85, 85), "c": (50, 50), "d": (70, 70), "e": (75, 75)})
    veto = pd.DataFrame({"unit_id": ["a", "c"], "veto_id": ["v1", "v1"], "name": ["否决事项v1", "否决事项v1"]})
    r = compute_index(d, fw_one(), normalization="goalposts", veto=veto, bottom_n=0)
    f = r.to_frame()
    # a scores 95 (优秀 by score) but is capped at the lowest grade; its score and rank are unchanged
    assert f.loc["a", "total"] == 95 and f.loc["a", "grade"] == "不合格" and f.loc["a", "grade_rule"] == "veto"
    assert f.loc["a", "rank"] == 1 and f.loc["a", "veto"] == "否决事项v1"
    assert f.loc["b", "grade"] == "良好" and f.loc["b", "grade_rule"] == "score-cutoff"
    w = r.warnings
    assert set(w[w.code == "veto"].unit_id) == {"a", "c"}
    assert w[(w.unit_id == "a") & (w.code == "veto")].reason_zh.iloc[0] == "发生一票否决事项，等级最高为不合格"


def test_veto_cap_is_configurable_and_never_raises_a_grade():
    d = wide({"a": (95, 95), "c": (50, 50)})
    veto = pd.DataFrame({"unit_id": ["a", "c"], "veto_id": ["v1", "v1"]})
    r = compute_index(d, fw_one(), normalization="goalposts", veto=veto, veto_grade="合格", bottom_n=0)
    f = r.to_frame()
    assert f.loc["a", "grade"] == "合格"  # capped from 优秀
    assert f.loc["c", "grade"] == "不合格"  # the cap is a ceiling: a low score stays low


def test_veto_of_another_period_does_not_apply():
    d = pd.DataFrame([(u, p, i, v) for u, v in (("a", 95.0), ("b", 85.0)) for p in ("2025H1", "2025H2")
                      for i in ("x1", "x2")], columns=["unit_id", "period", "indicator_id", "value"])
    veto = pd.DataFrame({"unit_id": ["a"], "period": ["2025H1"], "veto_id": ["v1"]})
    r = compute_index(d, fw_one(), normalization="goalposts", veto=veto, bottom_n=0)
    assert r.to_frame().loc["a", "grade"] == "优秀" and "veto" not in r.warnings.code.tolist()


# ------------------------------------------------------------ bonus
def test_bonus_added_after_aggregation_up_to_the_cap():
    d = wide({"a": (80, 80), "b": (88, 88), "c": (70, 70), "d": (60, 60)})
    bonus = pd.DataFrame({"unit_id": ["a", "b", "b", "c"], "points": [3.0, 1.5, 4.0, 0.004],
                          "item": ["甲", "乙", "丙", "丁"]})
    r = compute_index(d, fw_one(bonus_cap=5), normalization="goalposts", bonus=bonus, bottom_n=0)
    f = r.to_frame()
    # a: 80 + 3 = 83 (良好); b: 88 + min(1.5 + 4, 5) = 93 (优秀, capped); c: 70 + 0.004 = 70.004 → 70.00
    assert f.loc["a", "total"] == 83.0 and f.loc["a", "bonus"] == 3.0 and f.loc["a", "grade"] == "良好"
    assert f.loc["b", "total"] == 93.0 and f.loc["b", "bonus"] == 5.0 and f.loc["b", "grade"] == "优秀"
    assert f.loc["c", "total"] == 70.0 and f.loc["c", "total_raw"] == pytest.approx(70.004)
    # shown separately: the internal score is the aggregate, the bonus its own column and detail
    assert f.loc["b", "internal"] == 88.0 and "乙 +1.5" in f.loc["b", "bonus_detail"]
    assert r.params["bonus_over_cap"] == 1


def test_no_bonus_rule_means_no_bonus():
    d = wide({"a": (80, 80)})
    r = compute_index(d, fw_one(bonus_cap=0), normalization="goalposts",
                      bonus=pd.DataFrame({"unit_id": ["a"], "points": [3.0]}), bottom_n=0)
    assert r.scores.loc["a", "total"] == 80.0


# ------------------------------------------------------------ warning rules
def test_bottom_n_only_in_groups_larger_than_n():
    # the township case: three units, each alone in its type → nobody is "bottom 3"
    d = wide({"a": (50, 50), "b": (60, 60), "c": (70, 70)})
    units = pd.DataFrame({"unit_id": ["a", "b", "c"], "unit_type": ["机关", "学校", "医院"]})
    r = compute_index(d, fw_one(), normalization="goalposts", units=units)
    assert "bottom_n" not in r.warnings.code.tolist()
    # four units of one type: the last three are warned; min group size is configurable
    d4 = wide({"a": (50, 50), "b": (60, 60), "c": (70, 70), "d": (80, 80)})
    r4 = compute_index(d4, fw_one(), normalization="goalposts")
    assert sorted(r4.warnings[r4.warnings.code == "bottom_n"].unit_id) == ["a", "b", "c"]
    r5 = compute_index(d4, fw_one(), normalization="goalposts", warnings={"bottom_min_group": 5})
    assert "bottom_n" not in r5.warnings.code.tolist()


def test_rules_can_be_switched_off():
    d = wide({"a": (50, 50), "b": (60, 60), "c": (70, 70), "d": (80, 80)})
    r = compute_index(d, fw_one(), normalization="goalposts", warnings={"below_pass": False, "bottom_n": 0})
    assert r.warnings.empty


# ------------------------------------------------------------ one scorer
def _public_case():
    """Five units, one internal goal and one public indicator (weight .3 at the root); u2 lacks the
    public indicator.  Under imputation none compute_index scores u2 from the internal score alone."""
    fw = load_framework({"id": "P", "grades": {"A": 70, "B": 50, "C": 0}, "social_share": 0.3, "bottom_n": 0,
                         "children": [
                             {"id": "I", "weight": 0.7, "children": [
                                 {"id": "i1", "weight": 0.6, "direction": 1, "goalposts": [0, 100]},
                                 {"id": "i2", "weight": 0.4, "direction": 1, "goalposts": [0, 100]}]},
                             {"id": "S", "weight": 0.3, "children": [
                                 {"id": "p1", "weight": 1.0, "direction": 1, "goalposts": [0, 100], "public": True}]}]})
    d = pd.DataFrame({"i1": [80, 60, 40, 90, 20.0], "i2": [50, 70, 30, 10, 90.0],
                      "p1": [90, np.nan, 20, 40, 60.0]}, index=[f"u{i}" for i in range(5)])
    return fw, d


def test_sensitivity_nominal_equals_compute_index_with_public_missing():
    from qlwork.sensitivity import Fixed, run

    fw, d = _public_case()
    r = compute_index(d, fw, normalization="goalposts", imputation="none", peer_group="all")
    # u1: internal = .6·60 + .4·70 = 64; public missing → total = internal = 64 (missing_public warning)
    assert r.scores.loc["u1", "total"] == 64.0 and np.isnan(r.scores.loc["u1", "public"])
    assert "missing_public" in r.warnings[r.warnings.unit_id == "u1"].code.tolist()
    # u0: internal = .6·80 + .4·50 = 68; total = .7·68 + .3·90 = 74.6
    assert r.scores.loc["u0", "total"] == 74.6
    s = run(r, weights=Fixed(), draws=2, progress=False).to_frame().set_index("unit_id")
    f = r.to_frame()
    np.testing.assert_array_equal(s.loc[f.index, "nominal_score"], f["total_raw"])
    assert s.loc[f.index, "nominal_rank"].tolist() == f["rank"].astype(int).tolist()
    assert s.loc[f.index, "nominal_grade"].tolist() == f["grade"].tolist()


def test_pair_probabilities_use_the_published_grid():
    from qlwork.sensitivity import Dirichlet, run

    # a and b are tied at exactly 80 under every weight (both indicators 80); c, d elsewhere
    d = wide({"a": (80, 80), "b": (80, 80), "c": (60, 95), "d": (30, 70)})
    r = compute_index(d, fw_one(), normalization="goalposts", bottom_n=0)
    s = run(r, weights=Dirichlet(5), draws=300, seed=1, pairs=[("a", "b"), ("a", "c")], progress=False)
    pr = s.pair_table() if hasattr(s, "pair_table") else s.pairs
    row = pr[(pr.iloc[:, 0] == "a") & (pr.iloc[:, 1] == "b")]
    assert float(row.filter(like="p_").iloc[0, 0]) == 0.0  # a tie never "swaps"
    other = pr[(pr.iloc[:, 0] == "a") & (pr.iloc[:, 1] == "c")]
    assert float(other.filter(like="p_").iloc[0, 0]) > 0.0  # a real crossing does


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 100), st.floats(0, 100)), min_size=2, max_size=12),
       st.floats(0, 1), st.sampled_from(["arithmetic", "geometric"]))
def test_what_if_at_official_weights_equals_the_official_result(rows, w1, agg):
    from qlwork.workflow import what_if

    d = wide({f"u{i}": r for i, r in enumerate(rows)})
    r = compute_index(d, fw_one(), normalization="goalposts", aggregation=agg, bottom_n=0)
    same = what_if(r, {})
    f = r.to_frame()
    np.testing.assert_array_equal(same.loc[f.index, "total"], f["total"])
    assert same.loc[f.index, "grade"].tolist() == f["grade"].tolist()
    assert same.loc[f.index, "rank"].tolist() == f["rank"].astype(int).tolist()
    # other weights: the what-if equals compute_index run with those weights (same scorer)
    moved = what_if(r, {"x1": w1, "x2": 1 - w1})
    r2 = compute_index(d, fw_one(), normalization="goalposts", aggregation=agg, bottom_n=0,
                       weights={"x1": w1, "x2": 1 - w1})
    np.testing.assert_allclose(moved.loc[f.index, "total_raw"], r2.scores.loc[f.index, "total_raw"], atol=1e-9)


# ------------------------------------------------------------ spec
def test_spec_round_trip_and_fingerprint(tmp_path):
    fw = fw_one()
    s = spec_for(fw, {"normalization": "zscore", "warnings": {"bottom_n": 5}, "precision": {"decimals": 1}})
    assert s.warnings.bottom_n == 5 and s.warnings.drop_points == fw.drop_points and s.bonus_cap == 5
    back = IndexSpec.from_dict(json.loads(json.dumps(s.to_dict())))
    assert back == s and back.fingerprint() == s.fingerprint()
    (tmp_path / "s.yaml").write_text(s.to_yaml(), encoding="utf-8")
    assert spec_for(fw, load_specs(tmp_path / "s.yaml")["T"]) == s
    assert spec_for(fw, {"normalization": "rank"}).fingerprint() != s.fingerprint()


@pytest.mark.parametrize("bad, code", [
    ({"normalization": "nope"}, "bad_spec"),
    ({"grades": [["优秀", 90], ["良好", 90], ["不合格", 0]]}, "bad_spec"),
    ({"pass_mark": float("nan")}, "bad_spec"),
    ({"warnings": {"bottom_n": -1}}, "bad_spec"),
    ({"veto_grade": "特等"}, "bad_spec"),
    ({"framework_fingerprint": "000000000000"}, "spec_framework_changed"),
    ({"typo_field": 1}, "bad_spec"),
])
def test_bad_specs_are_located_errors(bad, code):
    with pytest.raises(QlworkError) as e:
        spec_for(fw_one(), bad)
    assert e.value.problems[0].code == code


def test_score_with_spec_and_weights_files(tmp_path, capsys):
    """`qlwork score --spec FILE --weights FILE`: both applied and recorded in the manifest."""
    from qlwork.cli import main
    from qlwork.framework import builtin_framework

    fw = load_framework(builtin_framework("county"))
    rng = np.random.default_rng(3)
    units = pd.DataFrame({"unit_id": [f"U{i:03d}" for i in range(16)], "unit_type": ["机关", "学校", "医院", "企业"] * 4,
                          "unit_name": [f"单位{i}" for i in range(16)], "county": "甲县", "framework": "county"})
    rows = [(u, "2025H2", i, float(rng.uniform(0, 100))) for u, t in zip(units.unit_id, units.unit_type)
            for i in fw.indicator_ids if fw.indicators[i].applies(t) and not fw.indicators[i].public]
    proc = tmp_path / "processed"
    proc.mkdir()
    pd.DataFrame(rows, columns=["unit_id", "period", "indicator_id", "value"]).to_parquet(proc / "values.parquet")
    units.to_parquet(proc / "units.parquet")
    (tmp_path / "spec.yaml").write_text("framework: QLI\nnormalization: goalposts\nprecision: {decimals: 1}\n",
                                        encoding="utf-8")
    lw = fw.local_weights()
    wt = pd.DataFrame({"framework": "county", "id": lw.index, "local_weight": 1.0, "method": "equal"})
    wt.to_csv(tmp_path / "w.csv", index=False)
    assert main(["score", "--period", "2025H2", "--processed", str(proc), "--raw", str(tmp_path / "raw"),
                 "--spec", str(tmp_path / "spec.yaml"), "--weights", str(tmp_path / "w.csv")]) == 0
    man = json.loads((proc / "results" / "2025H2" / "manifest.json").read_text(encoding="utf-8"))
    sp = man["specs"]["QLI"]
    assert sp["normalization"] == "goalposts" and sp["precision"]["decimals"] == 1
    assert sp["weights"]["source"] == "file" and sp["weights"]["method"] == "equal"
    out = pd.read_parquet(proc / "results" / "2025H2" / "ranking.parquet")
    assert (out["total"] * 10 == (out["total"] * 10).round()).all()  # one decimal
    # the spec written next to the result reproduces it
    assert main(["score", "--period", "2025H2", "--processed", str(proc), "--raw", str(tmp_path / "raw"),
                 "--spec", str(proc / "results" / "2025H2" / "spec.yaml")]) == 0
    again = pd.read_parquet(proc / "results" / "2025H2" / "ranking.parquet")
    pd.testing.assert_series_equal(again["total"], out["total"])
