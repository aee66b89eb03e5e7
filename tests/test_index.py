"""compute_index end to end on hand-computed cases (arithmetic written in comments).

Framework F used below (local weights)::

    QLI ─ A (0.6) ─ i1 (0.5, +1)
        │         └ i2 (0.5, −1)      ← cost indicator
        └ B (0.4) ─ i3 (0.25, +1)
                  └ i4 (0.75, +1)

With ``normalization="goalposts"`` and goalposts [0, 100] (i2: [0, 100] with
direction −1 gives 100 − x) the normalised values are known exactly.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from qlwork.engine.aggregate import aggregate_matrix, aggregate_rows, effective_weights, node_weights
from qlwork.errors import QlworkError
from qlwork.framework import load_framework
from qlwork.engine.grading import publish
from qlwork.engine.index import compute_index

GP = [0, 100]


def make_fw(public=False, social_share=0.0, applies_i4=None):
    i4 = {"id": "i4", "weight": 0.75, "direction": 1, "goalposts": GP}
    if applies_i4:
        i4["applies_to"] = applies_i4
    i3 = {"id": "i3", "weight": 0.25, "direction": 1, "goalposts": GP}
    if public:
        i3["public"] = True
    return {"id": "QLI", "name": "测试指数", "social_share": social_share, "unit_types": ["机关", "学校"],
            "children": [
                {"id": "A", "weight": 0.6, "children": [
                    {"id": "i1", "weight": 0.5, "direction": 1, "goalposts": GP},
                    {"id": "i2", "weight": 0.5, "direction": -1, "goalposts": GP}]},
                {"id": "B", "weight": 0.4, "children": [i3, i4]}]}


# normalised values N (i2 raw = 100 − N):
#        i1   i2   i3   i4
#  u1    20   80   40   60
#  u2    50   50  100    0
#  u3   100    0   10   90
RAW = pd.DataFrame({"i1": [20, 50, 100.0], "i2": [20, 50, 100.0], "i3": [40, 100, 10.0], "i4": [60, 0, 90.0]},
                   index=["u1", "u2", "u3"])


def test_arithmetic_hand():
    r = compute_index(RAW, make_fw(), normalization="goalposts")
    # A = .5·i1 + .5·i2: u1 .5·20+.5·80 = 50, u2 50, u3 .5·100+.5·0 = 50
    # B = .25·i3 + .75·i4: u1 10+45 = 55, u2 25+0 = 25, u3 2.5+67.5 = 70
    # total = .6·A + .4·B: u1 30+22 = 52, u2 30+10 = 40, u3 30+28 = 58
    f = r.to_frame()
    np.testing.assert_allclose(f["A"], [50, 50, 50])
    np.testing.assert_allclose(f["B"], [55, 25, 70])
    np.testing.assert_allclose(f["total"], [52, 40, 58])
    assert f["rank"].tolist() == [2, 3, 1]
    assert f["grade"].tolist() == ["不合格", "不合格", "不合格"]
    # every total (52, 40, 58) is below the default pass mark 60 → one below_pass warning each
    bp = r.warnings[r.warnings.code == "below_pass"]
    assert bp.unit_id.tolist() == ["u1", "u2", "u3"] and bp.detail.iloc[1] == "综合得分 40.00 < 60"
    # cost indicator flipped: u3 has the largest raw i2 (100) → normalised 0
    assert r.normalized.loc["u3", "i2"] == 0


def test_geometric_hand():
    r = compute_index(RAW, make_fw(), normalization="goalposts", aggregation="geometric")
    # A = i1^.5 · i2^.5: u1 √(20·80) = 40, u2 50, u3 √(100·max(0, eps=1)) = 10
    # B = i3^.25 · i4^.75: u1 40^.25·60^.75, u2 100^.25·1^.75 = 3.16228, u3 10^.25·90^.75
    B = [40 ** .25 * 60 ** .75, 100 ** .25, 10 ** .25 * 90 ** .75]
    A = [40.0, 50.0, 10.0]
    np.testing.assert_allclose(r.scores["A"], A, rtol=1e-12)
    np.testing.assert_allclose(r.scores["B"], B, rtol=1e-12)
    # total = A^.6 · B^.4 (nested geometric means = one geometric mean with effective weights)
    tot = [a ** .6 * b ** .4 for a, b in zip(A, B)]
    np.testing.assert_allclose(r.scores["total_raw"], tot, rtol=1e-12)
    # the published total is rounded half-up to 2 decimals: 45.1739 → 45.17, 16.5723 → 16.57, 19.3318 → 19.33
    assert r.scores["total"].tolist() == [45.17, 16.57, 19.33]
    assert r.params["geometric_eps"] == 1.0


def test_minmax_cost_case():
    # min–max: i1 20,50,100 → 0, 37.5, 100; i2 cost 20,50,100 → 100, 62.5, 0
    # i3 40,100,10 → 33.33, 100, 0;  i4 60,0,90 → 66.67, 0, 100
    # u1: A = .5·0 + .5·100 = 50; B = .25·33.333 + .75·66.667 = 58.333; total = 30 + 23.333 = 53.333
    r = compute_index(RAW, make_fw(), normalization="minmax")
    assert r.scores.loc["u1", "total_raw"] == pytest.approx(30 + 0.4 * (0.25 * 100 / 3 + 0.75 * 200 / 3))
    assert r.scores.loc["u1", "total"] == 53.33  # published at 2 decimals
    assert r.scores.loc["u2", "A"] == pytest.approx(50.0)  # .5·37.5 + .5·62.5


MISS = pd.DataFrame({"i1": [20, np.nan, 100, 30.0], "i2": [20, 50, 100, 50.0], "i3": [40, 100, 10, 50.0],
                     "i4": [60, 0, 90, 50.0]}, index=["u1", "u2", "u3", "u4"])


def test_missing_none():
    r = compute_index(MISS, make_fw(), normalization="goalposts", imputation="none")
    # u2 lacks i1 → A and total missing; B = .25·100 + .75·0 = 25 still computed
    assert math.isnan(r.scores.loc["u2", "A"]) and math.isnan(r.scores.loc["u2", "total"])
    assert r.scores.loc["u2", "B"] == 25
    w = r.warnings[r.warnings.unit_id == "u2"]
    assert "missing_data" in w.code.tolist() and "i1" in w[w.code == "missing_data"].detail.iloc[0]
    assert pd.isna(r.to_frame().loc["u2", "rank"]) and r.to_frame().loc["u2", "grade_rule"] == "missing"


def test_missing_mean():
    r = compute_index(MISS, make_fw(), normalization="goalposts", imputation="mean")
    # i1 filled with mean(20, 100, 30) = 50 → A = .5·50 + .5·50 = 50; total = .6·50 + .4·25 = 40
    assert r.scores.loc["u2", "total"] == pytest.approx(40)
    assert r.imputed.to_dict("records") == [
        {"unit_id": "u2", "period": "当期", "indicator_id": "i1", "method": "mean", "value": 50.0}]


def test_missing_median():
    r = compute_index(MISS, make_fw(), normalization="goalposts", imputation="median")
    # median(20, 100, 30) = 30 → A = .5·30 + .5·50 = 40; total = 24 + 10 = 34
    assert r.scores.loc["u2", "total"] == pytest.approx(34)
    assert r.params["n_imputed"] == 1


def test_missing_reweight():
    r = compute_index(MISS, make_fw(), normalization="goalposts", imputation="reweight")
    # A from i2 alone (weight renormalised to 1) = 50; total = .6·50 + .4·25 = 40
    assert r.scores.loc["u2", "A"] == 50 and r.scores.loc["u2", "total"] == pytest.approx(40)
    assert len(r.imputed) == 0


def test_not_applicable_renormalised_within_node():
    units = pd.DataFrame({"unit_id": ["u1", "u2", "u3"], "unit_type": ["机关", "学校", "学校"],
                          "county": ["甲县", "甲县", "乙县"]})
    r = compute_index(RAW, make_fw(applies_i4=["机关"]), units=units, normalization="goalposts", peer_group="all")
    # i4 does not apply to 学校: their B = i3 alone; u2 B = 100, total = 30 + 40 = 70; u3 B = 10 → 30 + 4 = 34
    assert r.scores.loc["u2", "B"] == 100 and r.scores.loc["u2", "total"] == pytest.approx(70)
    assert r.scores.loc["u3", "total"] == pytest.approx(34)
    assert r.scores.loc["u1", "total"] == pytest.approx(52)  # 机关 keeps i4
    # not applicable is not missing data
    assert "missing_data" not in r.warnings.code.tolist()
    f = r.to_frame()
    assert f.loc["u1", "rank_in_region"] == 2 and f.loc["u2", "rank_in_region"] == 1  # 甲县: 70 > 52


def test_rank_ties_and_bottom_n():
    df = pd.DataFrame({"i1": [90, 80, 80, 70.0], "i2": [10, 20, 20, 30.0], "i3": [90, 80, 80, 70.0],
                       "i4": [90, 80, 80, 70.0]}, index=list("abcd"))
    r = compute_index(df, make_fw(), normalization="goalposts", bottom_n=1)
    # totals 90, 80, 80, 70 (every normalised value equal within a unit) → ranks 1, 2, 2, 4
    np.testing.assert_allclose(r.scores["total"], [90, 80, 80, 70])
    f = r.to_frame()
    assert f["rank"].tolist() == [1, 2, 2, 4]
    assert f["grade"].tolist() == ["优秀", "良好", "良好", "合格"]
    assert f.loc["d", "warnings"] == "bottom_n" and f.loc["a", "warnings"] == ""


def test_social_share_from_public_indicator_and_argument():
    fw = make_fw(public=True, social_share=0.3)
    r = compute_index(RAW, fw, normalization="goalposts")
    # internal tree drops i3: B = i4; internal u1 = .6·50 + .4·60 = 54; public = i3 = 40
    # total = .7·54 + .3·40 = 37.8 + 12 = 49.8
    assert r.scores.loc["u1", "internal"] == pytest.approx(54)
    assert r.scores.loc["u1", "public"] == pytest.approx(40)
    assert r.scores.loc["u1", "total"] == pytest.approx(49.8)
    assert r.params["public"] == "indicators"
    # public argument overrides: u1 public 100 → .7·54 + 30 = 67.8
    r2 = compute_index(RAW, fw, normalization="goalposts", public=pd.Series({"u1": 100.0, "u2": 0.0, "u3": 50.0}))
    assert r2.scores.loc["u1", "total"] == pytest.approx(67.8) and r2.params["public"] == "argument"
    # social_share argument wins over the framework's
    r3 = compute_index(RAW, fw, normalization="goalposts", social_share=0.5)
    assert r3.scores.loc["u1", "total"] == pytest.approx(0.5 * 54 + 0.5 * 40)


def test_public_absent_total_is_internal():
    fw = make_fw(public=True, social_share=0.3)
    r = compute_index(RAW.drop(columns="i3"), fw, normalization="goalposts")
    assert r.params["public"] == "absent"
    np.testing.assert_allclose(r.scores["total"], r.scores["internal"])


def test_partial_public_is_missing_with_warning_not_mixed():
    fw = make_fw(public=True, social_share=0.3)
    r = compute_index(RAW, fw, normalization="goalposts", public=pd.Series({"u1": 100.0}))
    # one public source per result (the spec's): u1's public is the survey score; u2/u3 have none
    # (their public indicator i3 in the data is not mixed in) → total = internal + a warning
    assert r.scores.loc["u1", "public"] == 100 and r.scores[["public"]].loc[["u2", "u3"]].isna().all().all()
    assert r.scores.loc["u2", "total"] == pytest.approx(round(r.scores.loc["u2", "internal"], 2))
    mp = r.warnings[r.warnings.code == "missing_public"]
    assert mp.unit_id.tolist() == ["u2", "u3"]


def test_weights_override_local_and_leaf():
    # local override: A 0.5, B 0.5 → u1 = .5·50 + .5·55 = 52.5
    r = compute_index(RAW, make_fw(), normalization="goalposts", weights={"A": 0.5, "B": 0.5})
    assert r.scores.loc["u1", "total"] == pytest.approx(52.5) and r.params["weights"] == "local weights"
    # leaf weights (index = exactly the indicators): all on i4 → total = i4
    lw = pd.Series({"i1": 0.0, "i2": 0.0, "i3": 0.0, "i4": 1.0})
    r = compute_index(RAW, make_fw(), normalization="goalposts", weights=lw)
    np.testing.assert_allclose(r.scores["total"], [60, 0, 90])
    assert r.params["weights"] == "leaf weights"
    # a dict (even keyed by every indicator) is read as *local* weights, re-normalised per node:
    r = compute_index(RAW, make_fw(), normalization="goalposts",
                      weights={"i1": 1.0, "i2": 1.0, "i3": 0.0, "i4": 1.0})
    # A = .5·20 + .5·80 = 50, B = i4 = 60 → total = .6·50 + .4·60 = 54
    assert r.scores.loc["u1", "total"] == pytest.approx(54) and r.params["weights"] == "local weights"


def _long(periods):
    rows = []
    for k, per in enumerate(periods):
        for u in RAW.index:
            for i in RAW.columns:
                rows.append({"unit_id": u, "period": per, "indicator_id": i, "value": float(RAW.loc[u, i])})
    return pd.DataFrame(rows)


def test_long_multi_period_change_and_drop_warning():
    d = _long(["2025H1", "2025H2"])
    # u3's i1 falls from 100 to 0 in 2025H2; everything else unchanged
    m = (d.period == "2025H2") & (d.unit_id == "u3") & (d.indicator_id == "i1")
    d.loc[m, "value"] = 0.0
    r = compute_index(d, make_fw(), normalization="goalposts", drop_points=10)
    assert r.period == "2025H2" and r.params["previous_period"] == "2025H1"
    # u3: A was .5·100 + 0 = 50, now 0 → total drops by .6·50 = 30
    assert r.to_frame().loc["u3", "change"] == pytest.approx(-30)
    assert r.to_frame().loc["u1", "change"] == pytest.approx(0)
    assert "large_drop" in r.warnings[r.warnings.unit_id == "u3"].code.tolist()
    assert set(r.history.index.get_level_values("period")) == {"2025H1", "2025H2"}
    # choosing the earlier period ranks it and has no previous period
    r1 = compute_index(d, make_fw(), normalization="goalposts", period="2025H1")
    assert r1.scores.loc["u3", "total"] == pytest.approx(58) and r1.to_frame()["change"].isna().all()
    # previous= an IndexResult
    r2 = compute_index(d[d.period == "2025H2"], make_fw(), normalization="goalposts", previous=r1)
    assert r2.to_frame().loc["u3", "change"] == pytest.approx(-30)


def test_veto_caps_grade():
    df = RAW * 0 + 100.0  # every unit perfect
    df["i2"] = 0.0
    r = compute_index(df, make_fw(), normalization="goalposts", veto=["u2"])
    f = r.to_frame()
    assert f.loc["u1", "grade"] == "优秀" and f.loc["u2", "grade"] == "不合格"
    assert f.loc["u2", "grade_rule"] == "veto" and f.loc["u1", "grade_rule"] == "score-cutoff"
    assert "veto" in f.loc["u2", "warnings"]


def test_unit_report():
    units = pd.DataFrame({"unit_id": ["u1", "u2", "u3"], "unit_name": ["甲", "乙", "丙"], "unit_type": ["机关"] * 3,
                          "county": ["甲县"] * 3})
    d = _long(["2025H1", "2025H2"])
    r = compute_index(d, make_fw(), units=units, normalization="goalposts")
    rep = r.unit("u1")
    assert rep.unit_name == "甲" and rep.rank == 2 and rep.n_peers == 3 and rep.grade == "不合格"
    # peer mean of total: (52 + 40 + 58)/3 = 50; median 52
    assert rep.peers.loc["total", "peer_mean"] == pytest.approx(50) and rep.peers.loc["total", "median"] == 52
    # quartiles, linear interpolation on the sorted totals 40, 52, 58: q1 at position 0.5 → 46, q3 at 1.5 → 55
    assert rep.peers.loc["total", "q1"] == pytest.approx(46) and rep.peers.loc["total", "q3"] == pytest.approx(55)
    # u1 vs peer medians of normalised values (i1 50, i2 50, i3 40, i4 60): diffs −30, +30, 0, 0
    assert rep.strongest.iloc[0]["indicator_id"] == "i2" and rep.weakest.iloc[0]["indicator_id"] == "i1"
    assert rep.trend.index.tolist() == ["2025H1", "2025H2"]
    assert rep.to_dict()["scores"]["total"] == pytest.approx(52)
    with pytest.raises(QlworkError):
        r.unit("nope")


def test_wide_entry_point_columns():
    fw = {"id": "QLI", "children": [
        {"id": "A", "weight": 0.6, "children": [{"id": "x1", "weight": 0.5, "direction": 1},
                                                {"id": "x2", "weight": 0.5, "direction": -1}]},
        {"id": "B", "weight": 0.4, "children": [{"id": "x3", "weight": 1.0, "direction": 1}]}]}
    df = pd.DataFrame({"x1": [1, 2, 3.0], "x2": [3, 2, 1.0], "x3": [0, 5, 10.0]}, index=["a", "b", "c"])
    f = compute_index(df, fw).to_frame()
    assert len(f) == 3 and {"QLI", "A", "B", "total", "rank", "grade"} <= set(f.columns)
    # min–max: a = 0 everywhere, c = 100 everywhere, b = 50
    np.testing.assert_allclose(f["total"], [0, 50, 100])
    assert f["rank"].tolist() == [3, 2, 1] and f["unit_type"].eq("全部").all()


def test_errors_are_located():
    with pytest.raises(QlworkError) as e:
        compute_index(RAW, make_fw(), normalization="nope")
    assert e.value.problems[0].code == "bad_spec" and e.value.problems[0].found == "nope"
    d = _long(["2025H1"])
    d = pd.concat([d, d.head(1)])
    with pytest.raises(QlworkError) as e:
        compute_index(d, make_fw())
    assert e.value.problems[0].code == "duplicate_value"
    bad = _long(["2025H1"]).astype({"value": object})
    bad.loc[0, "value"] = "十"
    with pytest.raises(QlworkError) as e:
        compute_index(bad, make_fw())
    assert e.value.problems[0].code == "not_a_number"
    with pytest.raises(QlworkError) as e:
        compute_index(RAW, make_fw(), units=pd.DataFrame({"unit_id": ["u1"], "unit_type": ["机关"]}))
    assert e.value.problems[0].code == "unknown_unit"
    with pytest.raises(QlworkError):
        compute_index(_long(["2025H1"]), make_fw(), period="2030H1")


def test_effective_weights_and_matrix_core():
    fw = load_framework(make_fw())
    # leaf weights: i1 .6·.5 = .3, i2 .3, i3 .4·.25 = .1, i4 .4·.75 = .3
    np.testing.assert_allclose(effective_weights(fw), [[0.3, 0.3, 0.1, 0.3]])
    # i4 unavailable → B = i3 alone: i3 gets .4; i1 unavailable → i2 gets .6
    W = effective_weights(fw, available=np.array([[1, 1, 1, 0], [0, 1, 1, 1]], bool))
    np.testing.assert_allclose(W, [[0.3, 0.3, 0.4, 0.0], [0.0, 0.6, 0.1, 0.3]])
    # draws of local weights (DataFrame rows = draws)
    draws = pd.DataFrame({"A": [0.5, 1.0], "B": [0.5, 0.0]})
    np.testing.assert_allclose(effective_weights(fw, draws), [[0.25, 0.25, 0.125, 0.375], [0.5, 0.5, 0, 0]])
    N = np.array([[20, 80, 40, 60], [50, 50, 100, 0.0]])
    np.testing.assert_allclose(aggregate_matrix(N, effective_weights(fw)), [[52], [40]])
    G = aggregate_matrix(N, effective_weights(fw), "geometric")
    assert G[1, 0] == pytest.approx(50 ** .6 * (100 ** .25) ** .4)  # i4 = 0 floored at eps = 1
    nw = node_weights(fw)
    np.testing.assert_allclose(nw["B"], [[0, 0, 0.25, 0.75]])
    np.testing.assert_allclose(aggregate_rows(N, np.array([[0, 0, 0, 0.0], [1, 0, 0, 0]])), [np.nan, 50])


def test_score_command_writes_parquet_and_params(tmp_path, capsys):
    """`qlwork score` on a small synthetic store (built-in county framework)."""
    import json

    from qlwork.cli import main
    from qlwork.framework import builtin_framework

    fw = load_framework(builtin_framework("county"))
    rng = np.random.default_rng(7)
    units = pd.DataFrame({"unit_id": [f"U{i:03d}" for i in range(12)], "unit_name": [f"单位{i}" for i in range(12)],
                          "unit_type": ["机关", "学校", "医院", "企业"] * 3, "city": "甲市",
                          "county": ["甲县", "乙县"] * 6, "township": "", "framework": "county"})
    rows = []
    for per in ("2025H1", "2025H2"):
        for u, t in zip(units.unit_id, units.unit_type):
            for i in fw.indicator_ids:
                if fw.indicators[i].applies(t) and not fw.indicators[i].public:
                    rows.append((u, per, i, float(rng.uniform(0, 100))))
    values = pd.DataFrame(rows, columns=["unit_id", "period", "indicator_id", "value"])
    proc = tmp_path / "processed"
    proc.mkdir()
    values.to_parquet(proc / "values.parquet")
    units.to_parquet(proc / "units.parquet")
    rc = main(["score", "--period", "2025H2", "--processed", str(proc), "--raw", str(tmp_path / "raw")])
    assert rc == 0
    res_dir = proc / "results" / "2025H2"
    out = pd.read_parquet(res_dir / "ranking.parquet")
    assert len(out) == 12 and set(out.framework) == {"QLI"} and out["total"].between(0, 100).all()
    man = json.loads((res_dir / "manifest.json").read_text(encoding="utf-8"))
    assert man["kind"] == "official" and set(man["specs"]) == {"QLI"}
    assert {"processed/values.parquet", "processed/units.parquet"} <= {k.split("/", 1)[-1] for k in man["inputs"]} \
        or any(k.endswith("values.parquet") for k in man["inputs"])
    params = json.loads((res_dir / "QLI" / "params.json").read_text(encoding="utf-8"))
    assert params["period"] == "2025H2" and params["previous_period"] == "2025H1"
    text = capsys.readouterr().out
    assert "等级分布" in text and "已写入" in text
    assert "低于合格线(below_pass)" in text  # uniform random values: some totals are below 60
    # the same numbers as calling the engine directly
    direct = compute_index(values, fw, units=units).to_frame()
    np.testing.assert_array_equal(out.set_index("unit_id").loc[direct.index, "total"], direct["total"])
    # a public-score file (unit_id, public) is used as the public component
    pd.DataFrame({"unit_id": units.unit_id, "public": 50.0}).to_csv(tmp_path / "pub.csv", index=False)
    assert main(["score", "--processed", str(proc), "--raw", str(tmp_path / "raw"), "--public",
                 str(tmp_path / "pub.csv")]) == 0
    out2 = pd.read_parquet(res_dir / "ranking.parquet").set_index("unit_id")
    p2 = json.loads((res_dir / "QLI" / "params.json").read_text(encoding="utf-8"))
    assert p2["public"] == "argument"
    np.testing.assert_allclose(out2.loc[direct.index, "total_raw"], 0.7 * direct["internal"] + 0.3 * 50)


def test_other_normalisations_through_the_engine():
    # rank: i1 20,50,100 → 0,50,100; i2 cost → 100,50,0; i3 40,100,10 → 50,100,0; i4 60,0,90 → 50,0,100
    # u1: A = .5·0 + .5·100 = 50; B = .25·50 + .75·50 = 50; total = 50
    r = compute_index(RAW, make_fw(), normalization="rank")
    assert r.scores.loc["u1", "total"] == pytest.approx(50)
    # z-score: raw z kept, graded scale = clip(50 + 10 z)
    z = compute_index(RAW, make_fw(), normalization="zscore")
    np.testing.assert_allclose(z.normalized.to_numpy(), np.clip(50 + 10 * z.raw_z.to_numpy(), 0, 100))
    # i3 40,100,10: mean 50, sd = sqrt((100+2500+1600)/2) = 45.826 → z(u1) = -10/45.826 = -0.21822
    assert z.raw_z.loc["u1", "i3"] == pytest.approx(-0.218218, abs=1e-6)
    assert "50 + 10·z" in z.params["zscore_scale"]
    # target: framework has no targets → goalposts' best end (100; cost indicator: 0)
    t = compute_index(RAW, make_fw(), normalization="target")
    # i1: worst 20 → (x-20)/(100-20): u2 = 30/80 = 37.5
    assert t.normalized.loc["u2", "i1"] == pytest.approx(37.5)


def test_outliers_reported_in_engine():
    df = pd.DataFrame({"i1": [1, 2, 3, 4, 5, 6, 7, 8, 9, 100.0]}, index=[f"u{i}" for i in range(10)])
    for c in ("i2", "i3", "i4"):
        df[c] = np.arange(10.0)
    r = compute_index(df, make_fw(), normalization="minmax", outliers="winsorise")
    # the 100 becomes 9 (next value inwards) before min–max, so u9's i1 = 100 and u8's i1 = 100 too
    assert r.outliers.to_dict("records") == [{"unit_id": "u9", "period": "当期", "indicator_id": "i1",
                                              "original": 100.0, "treated": 9.0, "treatment": "winsorise"}]
    assert r.normalized.loc["u8", "i1"] == 100 and r.params["outlier_summary"][0]["n_high"] == 1


def test_public_dataframe_with_periods_and_custom_peer_groups():
    d = _long(["2025H1", "2025H2"])
    fw = make_fw(public=True, social_share=0.5)
    d = d[d.indicator_id != "i3"]  # public indicator only from the argument
    pub = pd.DataFrame({"unit_id": ["u1", "u1", "u2", "u3"], "period": ["2025H1", "2025H2", "2025H2", "2025H2"],
                        "public": [0.0, 100.0, 50.0, 50.0]})
    r = compute_index(d, fw, normalization="goalposts", public=pub,
                      peer_group=pd.Series({"u1": "x", "u2": "x", "u3": "y"}))
    # internal u1 = .6·50 + .4·60 = 54; 2025H2 total = .5·54 + .5·100 = 77; 2025H1 total = .5·54 + 0 = 27
    assert r.scores.loc["u1", "total"] == pytest.approx(77)
    assert r.history.loc[("2025H1", "u1"), "total"] == pytest.approx(27)
    # u2/u3 lack a 2025H1 public score → total = internal there, with missing_public only in 2025H1 (not current)
    assert r.history.loc[("2025H1", "u2"), "total"] == pytest.approx(r.history.loc[("2025H1", "u2"), "internal"])
    assert r.to_frame().loc["u1", "change"] == pytest.approx(50)
    # u2 has a public score only in 2025H2: change is measured on the internal score (unchanged → 0)
    assert r.to_frame().loc["u2", "change"] == pytest.approx(0) and "internal" in r.params["change_rule"]
    # custom peer groups: u3 alone in "y" → rank 1
    assert r.to_frame().loc["u3", "rank"] == 1 and r.units.loc["u3", "peer_group"] == "y"


def test_params_are_json_serialisable():
    import json

    r = compute_index(MISS, make_fw(), normalization="goalposts", imputation="mean", outliers="winsorise")
    json.dumps(r.params, ensure_ascii=False)
    assert {"normalization", "aggregation", "imputation", "social_share", "grades", "rank_ties"} <= set(r.params)


def test_engine_equals_matrix_core_per_pattern():
    """Second method: every unit's internal score = its normalised row @ effective weights of its pattern."""
    from qlwork.framework import builtin_framework

    fw = load_framework(builtin_framework("county"))
    rng = np.random.default_rng(3)
    types = np.array(["机关", "学校", "医院", "企业"])[rng.integers(0, 4, 60)]
    units = pd.DataFrame({"unit_id": [f"U{i:02d}" for i in range(60)], "unit_type": types})
    rows = [(u, i, float(rng.gamma(2, 10))) for u, t in zip(units.unit_id, types) for i in fw.indicator_ids
            if fw.indicators[i].applies(t) and rng.random() > 0.1]  # 10 % missing at random
    data = pd.DataFrame(rows, columns=["unit_id", "indicator_id", "value"])
    for agg in ("arithmetic", "geometric"):
        r = compute_index(data, fw, units=units, imputation="reweight", aggregation=agg)
        N = r.normalized.to_numpy()
        avail = ~np.isnan(N) & ~np.array([fw.indicators[i].public for i in fw.indicator_ids])
        for k in range(len(N)):
            W = effective_weights(fw, available=avail[k])
            expect = aggregate_matrix(N[k:k + 1], W, agg)[0, 0]
            assert r.scores["internal"].iloc[k] == pytest.approx(expect, rel=1e-12)


def test_benchmark_runner_discovers_and_writes_table(tmp_path):
    """benchmarks/run.py: discovery of bench_*.py and the RESULTS.md table (no benchmark is run)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"
    spec = importlib.util.spec_from_file_location("bench_runner", path)
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    assert "index" in runner.discover()
    info = runner.machine_info()
    rows = [{"name": "x", "seconds": 1.234, "baseline_seconds": 12.0, "ratio": 9.7, "target": "< 2 s",
             "passed": True, "notes": "a|b", "peak_rss_mb": 100.0}]
    out = tmp_path / "RESULTS.md"
    runner.write_markdown({"demo": {"info": info, "rows": rows}}, info, out)
    text = out.read_text(encoding="utf-8")
    assert "| demo | x | 1.234 | 12.000 | 9.7 | < 2 s | ✅ | 100 |" in text and "a\\|b" in text


# ------------------------------------------------ every normalisation, full 3 × 4 tables by hand
# RAW and make_fw() as above (i2 is the cost indicator; goalposts [0, 100], no targets).
# A = .5·i1 + .5·i2, B = .25·i3 + .75·i4, total = .6·A + .4·B.
HAND = {
    # min–max: i1 20,50,100 → 0, 37.5, 100 | i2 s = −x: −20,−50,−100 → 100, 62.5, 0
    #          i3 40,100,10 → 33.33, 100, 0 | i4 60,0,90 → 66.67, 0, 100
    # A: 50, 50, 50 | B: 8.333 + 50 = 58.333, 25, 75 | total: 30 + 23.333, 30 + 10, 30 + 30
    "minmax": {"N": [[0, 100, 100 / 3, 200 / 3], [37.5, 62.5, 100, 0], [100, 0, 0, 100]],
               "A": [50, 50, 50], "B": [175 / 3, 25, 75], "total": [30 + 70 / 3, 40, 60], "rank": [2, 3, 1]},
    # distance to target: no target → goalposts' best end (100; cost: 0)
    #   i1 worst 20: (x − 20)/80 → 0, 37.5, 100 | i2 s = −x, t = 0, worst −100: (s + 100)/100 → 80, 50, 0
    #   i3 worst 10: (x − 10)/90 → 33.33, 100, 0 | i4 worst 0: x/100 → 60, 0, 90
    # A: 40, 43.75, 50 | B: 8.333 + 45 = 53.333, 25, 67.5 | total: 24 + 21.333, 26.25 + 10, 30 + 27
    "target": {"N": [[0, 80, 100 / 3, 60], [37.5, 50, 100, 0], [100, 0, 0, 90]],
               "A": [40, 43.75, 50], "B": [160 / 3, 25, 67.5], "total": [24 + 64 / 3, 36.25, 57], "rank": [2, 3, 1]},
    # percentile rank 100·(r − 1)/(n − 1): i1 0, 50, 100 | i2 cost 100, 50, 0 | i3 ranks 2,3,1 → 50, 100, 0
    #   i4 ranks 2,1,3 → 50, 0, 100 | A: 50, 50, 50 | B: 50, 25, 75 | total: 50, 40, 60
    "rank": {"N": [[0, 100, 50, 50], [50, 50, 100, 0], [100, 0, 0, 100]],
             "A": [50, 50, 50], "B": [50, 25, 75], "total": [50, 40, 60], "rank": [2, 3, 1]},
}
# z-score (sd with n − 1), graded on 50 + 10·z:
#   i1 mean 56.667, sd = √((36.667² + 6.667² + 43.333²)/2) = √1633.33 = 40.4145 → z −0.90726, −0.16496, 1.07222
#   i2 is i1 with the sign flipped → z 0.90726, 0.16496, −1.07222  ⇒ A = 50 for every unit
#   i3 mean 50, sd = √(4200/2) = 45.8258 → z −0.218218, 1.091089, −0.872872; i4 mean 50, same sd → the negatives
#   B = 50 + 10·(.25·z3 + .75·z4) = 50 + 10·(.5·z4): u1 50 + 5·0.218218 = 51.091089,
#       u2 50 − 5·1.091089 = 44.544554, u3 50 + 5·0.872872 = 54.364358
#   total = .6·50 + .4·B: 50.436436, 47.817822, 51.745743
Z1 = np.array([-0.907265, -0.164957, 1.072222])
Z3 = np.array([-0.218218, 1.091089, -0.872872])
HAND["zscore"] = {"N": np.column_stack([50 + 10 * Z1, 50 - 10 * Z1, 50 + 10 * Z3, 50 - 10 * Z3]).tolist(),
                  "A": [50, 50, 50], "B": [51.091089, 44.544554, 54.364358],
                  "total": [50.436436, 47.817822, 51.745743], "rank": [2, 3, 1]}


@pytest.mark.parametrize("norm", sorted(HAND))
def test_each_normalisation_full_table_by_hand(norm):
    h = HAND[norm]
    r = compute_index(RAW, make_fw(), normalization=norm)
    np.testing.assert_allclose(r.normalized[["i1", "i2", "i3", "i4"]].to_numpy(), h["N"], atol=2e-5)
    f = r.to_frame()
    for col in ("A", "B"):
        np.testing.assert_allclose(f[col].to_numpy(float), h[col], atol=2e-5, err_msg=col)
    np.testing.assert_allclose(f["total_raw"].to_numpy(float), h["total"], atol=2e-5)
    # published: half-up to 2 decimals (the hand values are given to 6)
    np.testing.assert_allclose(f["total"].to_numpy(float), np.floor(np.array(h["total"]) * 100 + 0.5) / 100, atol=1e-9)
    assert f["rank"].tolist() == h["rank"] and r.params["normalization"] == norm


# ---------------------------------------- comparison groups = peer group × period
def _two_period_two_types():
    """u1, u2 机关 and u3, u4 学校; i1 by period (the other indicators constant 50):

    ========  ===  ===  ===  ===
    period     u1   u2   u3   u4
    2025H1     10   20  100  300
    2025H2    (—)   20  100  200      u1's 2025H2 value is missing
    ========  ===  ===  ===  ===
    """
    i1 = {("2025H1", "u1"): 10, ("2025H1", "u2"): 20, ("2025H1", "u3"): 100, ("2025H1", "u4"): 300,
          ("2025H2", "u2"): 20, ("2025H2", "u3"): 100, ("2025H2", "u4"): 200}
    rows = [(u, per, "i1", float(v)) for (per, u), v in i1.items()]
    rows += [(u, per, i, 50.0) for per in ("2025H1", "2025H2") for u in ("u1", "u2", "u3", "u4")
             for i in ("i2", "i3", "i4")]
    units = pd.DataFrame({"unit_id": ["u1", "u2", "u3", "u4"], "unit_type": ["机关", "机关", "学校", "学校"],
                          "county": ["甲县", "乙县", "甲县", "乙县"]})
    return pd.DataFrame(rows, columns=["unit_id", "period", "indicator_id", "value"]), units


def test_minmax_within_peer_group_and_period():
    d, units = _two_period_two_types()
    r = compute_index(d, make_fw(), units=units, normalization="minmax", imputation="reweight")
    n = r.normalized_history["i1"]
    # 2025H1 机关 10, 20 → 0, 100; 学校 100, 300 → 0, 100 (pooling the types would give u2 = 100·10/290 = 3.4)
    assert [n[("2025H1", u)] for u in ("u1", "u2", "u3", "u4")] == [0, 100, 0, 100]
    # 2025H2 机关 has u2 alone → constant group → 100; 学校 100, 200 → 0, 100
    # (pooling the periods would give u2 = 100·(20 − 10)/(20 − 10) in 机关 but u4 2025H2 = 50 in 学校)
    assert np.isnan(n[("2025H2", "u1")]) and [n[("2025H2", u)] for u in ("u2", "u3", "u4")] == [100, 0, 100]
    # ranks are within unit type: u4 is first among 学校 in 2025H2
    assert r.to_frame().loc["u4", "rank"] == 1 and r.to_frame().loc["u3", "rank"] == 2


def test_goalposts_comparable_across_periods():
    # fixed goalposts [0, 100]: u2's i1 = 20 scores 20 in both periods whatever its peers did
    # (min–max gives it 100 in both periods but for different reasons — see the test above)
    d, units = _two_period_two_types()
    r = compute_index(d, make_fw(), units=units, normalization="goalposts", imputation="reweight")
    n = r.normalized_history["i1"]
    assert n[("2025H1", "u2")] == n[("2025H2", "u2")] == 20
    assert n[("2025H1", "u4")] == 100  # 300 is clipped at the upper goalpost


def test_mean_imputation_uses_the_same_peer_group_and_period():
    d, units = _two_period_two_types()
    r = compute_index(d, make_fw(), units=units, normalization="goalposts", imputation="mean")
    # u1 2025H2 i1 ← mean of 机关 in 2025H2 = u2's 20 — not u1's own 2025H1 value 10, not the
    # all-type mean (20 + 100 + 200)/3 = 106.7, not the 机关 mean over both periods (10 + 20 + 20)/3 = 16.7
    assert r.imputed.to_dict("records") == [
        {"unit_id": "u1", "period": "2025H2", "indicator_id": "i1", "method": "mean", "value": 20.0}]
    # median on the same one-value group gives the same 20
    rm = compute_index(d, make_fw(), units=units, normalization="goalposts", imputation="median")
    assert rm.imputed["value"].tolist() == [20.0]
    # u1's total in 2025H2 = u2's (identical values after the fill): .6·(.5·20 + .5·50) + .4·50 = 21 + 20 = 41
    assert r.scores.loc["u1", "total"] == pytest.approx(41) == r.scores.loc["u2", "total"]


# ------------------------------------------------------- float noise at boundaries
def _noise_fw():
    g = [0, 100]
    return {"id": "R", "children": [
        {"id": "A", "weight": 0.2, "children": [{"id": "x1", "weight": 0.1, "direction": 1, "goalposts": g},
                                                {"id": "x2", "weight": 0.9, "direction": 1, "goalposts": g}]},
        {"id": "B", "weight": 0.8, "children": [{"id": "x3", "weight": 0.7, "direction": 1, "goalposts": g},
                                                {"id": "x4", "weight": 0.3, "direction": 1, "goalposts": g}]}]}


def test_float_noise_never_splits_a_tie_or_a_grade():
    # Every indicator of a and b is 90, of c and d 60: each total is a weighted mean of equal values,
    # so it *is* 90 (a, b) or 60 (c, d) — b and d lack x2 (reweighted), a and c have all four.
    # In floating point the effective weights (.02, .18, .56, .24) give 89.99999999999999 and 59.99999999999999:
    # (whether the noise appears depends on the summation order; the published rounding removes it either way)
    assert publish([89.99999999999999, 59.99999999999999], 2).tolist() == [90.0, 60.0]
    df = pd.DataFrame({"x1": [90, 90, 60, 60.0], "x2": [90, np.nan, 60, np.nan], "x3": [90, 90, 60, 60.0],
                       "x4": [90, 90, 60, 60.0]}, index=list("abcd"))
    r = compute_index(df, _noise_fw(), normalization="goalposts", imputation="reweight", bottom_n=0)
    f = r.to_frame()
    np.testing.assert_allclose(f["total_raw"], [90, 90, 60, 60], atol=1e-12)
    assert f["total"].tolist() == [90, 90, 60, 60]  # published exactly
    assert f["grade"].tolist() == ["优秀", "优秀", "合格", "合格"]  # a score of 90 is 优秀, 60 is 合格
    assert f["rank"].tolist() == [1, 1, 3, 3]
    assert "below_pass" not in r.warnings.code.tolist()
    # reweighted units are told the score was computed from the available indicators
    m = r.warnings[r.warnings.code == "missing_data"]
    assert m.unit_id.tolist() == ["b", "d"] and (m.reason_zh == "指标数据缺失，已按可得指标重新分配权重计算").all()


def test_drop_of_exactly_the_threshold_is_not_a_large_drop():
    # 90 units: unit u<a> scores a on every indicator in 2025H1 and a − 10 in 2025H2 (a = 11 … 100),
    # so every change is −10 exactly and "a drop larger than 10 points" never applies.
    rows = [(f"u{a}", per, i, float(v)) for a in range(11, 101) for per, v in (("2025H1", a), ("2025H2", a - 10))
            for i in ("x1", "x2", "x3", "x4")]
    d = pd.DataFrame(rows, columns=["unit_id", "period", "indicator_id", "value"])
    r = compute_index(d, _noise_fw(), normalization="goalposts", drop_points=10, bottom_n=0, pass_mark=0)
    change = r.to_frame()["change"].to_numpy(float)
    np.testing.assert_allclose(change, -10)
    assert (change == -10).all()  # changes of published totals: no float noise left
    assert "large_drop" not in r.warnings.code.tolist()
    # a threshold just under 10 flags all 90
    r = compute_index(d, _noise_fw(), normalization="goalposts", drop_points=9.99, bottom_n=0, pass_mark=0)
    assert (r.warnings.code == "large_drop").sum() == 90


def test_registry_gaps_are_located_errors_not_silent_types():
    # a blank unit type used to take another type's applicability silently (or crash in numpy)
    units = pd.DataFrame({"unit_id": ["u1", "u2", "u3"], "unit_type": ["机关", None, "学校"]})
    with pytest.raises(QlworkError) as e:
        compute_index(RAW, make_fw(applies_i4=["机关"]), units=units)
    p = e.value.problems[0]
    assert (p.code, p.column) == ("missing_unit_type", "unit_type") and "u2" in p.message and p.message_en
    # a blank peer-group label likewise
    units = pd.DataFrame({"unit_id": ["u1", "u2", "u3"], "unit_type": ["机关"] * 3, "grp": ["x", "", "y"]})
    with pytest.raises(QlworkError) as e:
        compute_index(RAW, make_fw(), units=units, peer_group="grp")
    assert e.value.problems[0].code == "bad_peer_group" and "u2" in e.value.problems[0].message


def test_unit_without_region_is_not_ranked_in_one():
    units = pd.DataFrame({"unit_id": ["u1", "u2", "u3"], "unit_type": ["机关"] * 3, "county": ["甲县", None, "甲县"],
                          "city": ["清江市"] * 3})
    r = compute_index(RAW, make_fw(), units=units, normalization="goalposts")
    f = r.to_frame()
    # totals 52, 40, 58 (test_arithmetic_hand); 甲县 holds u1 and u3 only → u3 1st, u1 2nd; u2 has no county
    assert f.loc["u3", "rank_in_region"] == 1 and f.loc["u1", "rank_in_region"] == 2
    assert pd.isna(f.loc["u2", "rank_in_region"])
    assert r.unit("u1").n_region == 2 and r.unit("u2").n_region is None
    # region= another registry column: the unit report counts that region
    rc = compute_index(RAW, make_fw(), units=units, normalization="goalposts", region="city")
    assert rc.to_frame()["rank_in_region"].tolist() == [2, 3, 1] and rc.unit("u1").n_region == 3


def test_outlier_treatment_is_not_monotone():
    """Documented trade-off (docs/index_engine.md): data-driven winsorisation can lower an improving unit."""
    fw = {"id": "R", "children": [{"id": "A", "weight": 1.0, "children": [
        {"id": "x1", "weight": 1.0, "direction": 1, "goalposts": [0, 100]}]}]}
    idx = [f"u{i}" for i in range(10)]
    x = np.arange(1, 11.0)  # 1 … 10: skew 0 → passes untouched
    y = x.copy()
    y[-1] = 100.0           # 1 … 9, 100: skew 3.16, kurtosis 10.0 → the 100 becomes 9
    for norm, before, after in (("goalposts", 10.0, 9.0),            # raw value on [0, 100]
                                ("rank", 100.0, 100 * (9.5 - 1) / 9),  # ties with the 9: average rank 9.5
                                ("minmax", 100.0, 100.0)):            # still the group maximum
        a = compute_index(pd.DataFrame({"x1": x}, index=idx), fw, normalization=norm, outliers="winsorise")
        b = compute_index(pd.DataFrame({"x1": y}, index=idx), fw, normalization=norm, outliers="winsorise")
        assert a.scores.loc["u9", "total_raw"] == pytest.approx(before) and b.scores.loc["u9", "total_raw"] == pytest.approx(after)
        # without treatment (the default) the improvement never costs anything
        c = compute_index(pd.DataFrame({"x1": y}, index=idx), fw, normalization=norm)
        assert c.scores.loc["u9", "total"] >= a.scores.loc["u9", "total"]


def test_inputs_are_never_modified():
    d = _long(["2025H1", "2025H2"])
    d.loc[3, "value"] = np.nan
    units = pd.DataFrame({"unit_id": ["u1", "u2", "u3"], "unit_type": ["机关"] * 3, "county": ["甲县"] * 3})
    pub = pd.Series({"u1": 10.0, "u2": 20.0, "u3": 30.0})
    copies = (d.copy(), units.copy(), pub.copy(), MISS.copy())
    fw = make_fw(public=True, social_share=0.3)
    compute_index(d, fw, units=units, imputation="mean", outliers="winsorise", public=pub)
    compute_index(MISS, fw, imputation="median", normalization="zscore")
    for a, b in zip((d, units, pub, MISS), copies):
        if isinstance(a, pd.Series):
            pd.testing.assert_series_equal(a, b)
        else:
            pd.testing.assert_frame_equal(a, b)
