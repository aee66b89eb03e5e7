"""Properties of the improvement analysis over the whole county demo (issue 21).

* For every line of every unit of both frameworks (exhaustive): applying each
  suggested single improvement and re-scoring with the engine
  crosses the stated line at the published precision, one grid step less does not,
  an indicator that cannot do it alone does not even at its best value, every
  cheapest combination crosses, and an unreachable line stays uncrossed with every
  indicator at its best — under the official spec and under other normalisations
  and aggregations.
* The engine re-scoring (:func:`qlwork.analysis.rescore.rescore`) is the official
  scorer: with nothing changed it reproduces every official total (to 1e-12, published
  identically), and
  with changes it equals ``compute_index`` run on the changed input data.
* The closed-form response of one unit's indicator equals the engine's
  normalisation of the changed column (random groups, every method; hypothesis).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qlwork.analysis.improvement import suggest
from qlwork.analysis.rescore import rescore
from qlwork.engine.grading import publish_units
from qlwork.engine.index import compute_index
from qlwork.engine.normalize import normalize

PERIOD = "2025H2"


@pytest.fixture(scope="module")
def project(demo_root):
    from qlwork.workflow import Project

    return Project.open(demo_root)


@pytest.fixture(scope="module")
def official(project):
    from qlwork.workflow import load_result

    return load_result(project.processed, PERIOD)


def inputs(project, fid):
    """What ``qlwork score`` scored framework ``fid`` from (values up to the period, units, registers)."""
    values, units = project.values(), project.units()
    veto, bonus = project.registers()
    u = units[units["framework_id"] == fid]
    v = values[values["unit_id"].isin(u["unit_id"]) & (values["period"] <= PERIOD)]

    def rows(t):
        return None if t is None or t.empty else t[t["unit_id"].astype(str).isin(set(u["unit_id"].astype(str)))]

    return v, u, rows(veto), rows(bonus)


def check_plan(r, plan):
    """Every claim of the plan, re-scored by the engine; returns the number of scenarios checked."""
    d = r.decimals
    L = plan.lines.set_index(["unit_id", "line"])
    tgt = L["target_units"]
    S = plan.singles
    n = 0
    # singles that cross: at the value, and not one grid step less (unless that is no improvement at all)
    cr = S[S["crosses"]]
    if len(cr):
        t = np.array([tgt[k] for k in zip(cr["unit_id"], cr["line"])])
        eng = rescore(r, [(u, {i: v}) for u, i, v in zip(cr["unit_id"], cr["indicator_id"], cr["target_value"])])
        got = publish_units(eng["total_raw"].to_numpy(), d)
        assert (got >= t).all(), cr[got < t]
        np.testing.assert_array_equal(eng["total"].to_numpy(), cr["total"].to_numpy())
        below = (cr["target_value"] - cr["direction"] * cr["step"]).round(9)
        better = ((below - cr["value"]) * cr["direction"] > 1e-9).to_numpy()
        b = cr[better]
        eng_b = rescore(r, [(u, {i: v}) for u, i, v in zip(b["unit_id"], b["indicator_id"], below[better])])
        got_b = publish_units(eng_b["total_raw"].to_numpy(), d)
        assert (got_b < t[better]).all(), b[got_b >= t[better]]
        n += len(cr) + len(b)
    # singles that cannot: not even at their best value
    no = S[~S["crosses"] & (S["best_value"] != S["value"])]
    if len(no):
        t = np.array([tgt[k] for k in zip(no["unit_id"], no["line"])])
        eng = rescore(r, [(u, {i: v}) for u, i, v in zip(no["unit_id"], no["indicator_id"], no["best_value"])])
        assert (publish_units(eng["total_raw"].to_numpy(), d) < t).all()
        n += len(no)
    # combinations cross; unreachable lines stay uncrossed with everything at its best
    scen, want, cross = [], [], []
    for (u, line), c in plan.combos.groupby(["unit_id", "line"]):
        scen.append((u, dict(zip(c["indicator_id"], c["target_value"]))))
        want.append(tgt[(u, line)])
        cross.append(True)
    for (u, line), lr in L[L["status"] == "unreachable"].iterrows():
        s = S[(S["unit_id"] == u) & (S["line"] == line)]
        scen.append((u, dict(zip(s["indicator_id"], s["best_value"]))))
        want.append(tgt[(u, line)])
        cross.append(False)
    if scen:
        eng = rescore(r, scen)
        got = publish_units(eng["total_raw"].to_numpy(), d) >= np.array(want)
        np.testing.assert_array_equal(got, np.array(cross))
        n += len(scen)
    assert L["status"].isin(["ok", "unreachable", "no_room"]).all()
    return n


@pytest.mark.parametrize("fid", ["QLI", "QLV"])
def test_official_suggestions_cross_and_are_minimal(official, fid):
    """Exhaustive: every line of every unit of the official result (warned or not)."""
    r = official.results[fid]
    plan = suggest(r, verify=False)
    warned = set(r.warnings.loc[r.warnings["code"].isin(["below_pass", "bottom_n"]), "unit_id"])
    assert warned <= set(plan.lines["unit_id"])
    assert set(plan.lines["line"]) >= {"pass", "bottom_n", "grade"}
    top = r.spec.grades[0][1]
    below_top = set(r.scores.index[r.scores["total"] < top])
    assert set(plan.lines["unit_id"]) == below_top | warned  # a line for every unit that has one
    assert check_plan(r, plan) > 1000


@pytest.mark.parametrize("norm,agg", [("zscore", "arithmetic"), ("rank", "arithmetic"), ("goalposts", "geometric"),
                                      ("target", "arithmetic"), ("minmax", "geometric")])
def test_other_methods_suggestions_cross_and_are_minimal(project, official, norm, agg):
    fid = "QLI"
    base = official.results[fid]
    v, u, veto, bonus = inputs(project, fid)
    r = compute_index(v, base.framework, base.spec.replace(normalization=norm, aggregation=agg), period=PERIOD,
                      units=u, veto=veto, bonus=bonus)
    plan = suggest(r, "warned", verify=True)
    assert len(plan.lines) >= 5
    assert plan.singles.loc[plan.singles["crosses"], "verified"].fillna(False).all()
    check_plan(r, plan)


def test_outliers_and_group_imputation_take_the_engine_path(project, official):
    fid = "QLI"
    base = official.results[fid]
    v, u, veto, bonus = inputs(project, fid)
    r = compute_index(v, base.framework, base.spec.replace(outliers="winsorise"), period=PERIOD, units=u)
    from qlwork.analysis.response import ResponseModel

    assert not ResponseModel.from_result(r).fast_ok.any()
    w = r.warnings
    units = sorted(set(w.loc[w["code"].isin(["below_pass", "bottom_n"]), "unit_id"]))[:4]
    plan = suggest(r, units, lines=("pass", "bottom_n"), verify=True)
    assert len(plan.singles)
    check_plan(r, plan)


def test_rescore_reproduces_the_official_result(official):
    """Unchanged units: the official totals to the last bits (the matrix product may block differently,
    ≤ 1e-12), the same published totals, ranks and grades."""
    for r in official.results.values():
        out = rescore(r, [(u, {}) for u in r.scores.index])
        np.testing.assert_allclose(out["total_raw"].to_numpy(), r.scores["total_raw"].to_numpy(), rtol=0, atol=1e-12)
        np.testing.assert_array_equal(out["total"].to_numpy(), r.scores["total"].to_numpy())
        np.testing.assert_array_equal(out["rank"].to_numpy(dtype=float), r.ranking["rank"].to_numpy(dtype=float))
        assert (out["grade"].to_numpy() == r.ranking["grade"].to_numpy()).all()


def test_rescore_equals_compute_index_on_changed_inputs(project, official):
    """The literal official scorer: the values table changed, every framework input as `qlwork score`."""
    fid = "QLI"
    r = official.results[fid]
    v, u, veto, bonus = inputs(project, fid)
    plan = suggest(r, "warned", verify=False)
    cr = plan.singles[plan.singles["crosses"]].head(3)
    cases = [(a, {i: x}) for a, i, x in zip(cr["unit_id"], cr["indicator_id"], cr["target_value"])]
    big = plan.combos.groupby(["unit_id", "line"]).filter(lambda g: len(g) >= 2)
    if len(big):
        k = big.iloc[0]
        c = big[(big["unit_id"] == k["unit_id"]) & (big["line"] == k["line"])]
        cases.append((k["unit_id"], dict(zip(c["indicator_id"], c["target_value"]))))
    eng = rescore(r, cases)
    for (uid, ch), (_, row) in zip(cases, eng.iterrows()):
        vv = v.copy()
        for ind, x in ch.items():
            m = (vv["unit_id"] == uid) & (vv["period"] == PERIOD) & (vv["indicator_id"] == ind)
            assert m.sum() == 1
            vv.loc[m, "value"] = x
        full = compute_index(vv, r.framework, r.spec, period=PERIOD, units=u, veto=veto, bonus=bonus)
        assert full.scores.at[uid, "total_raw"] == pytest.approx(row["total_raw"], abs=1e-9)
        assert full.scores.at[uid, "total"] == row["total"]
        assert full.ranking.at[uid, "grade"] == row["grade"]


# ---------------------------------------------------------------- the response model against the engine
@st.composite
def groups(draw):
    n = draw(st.integers(2, 9))
    vals = draw(st.lists(st.integers(0, 12), min_size=n, max_size=n))
    method = draw(st.sampled_from(["minmax", "zscore", "goalposts", "target", "rank"]))
    direction = draw(st.sampled_from([1, -1]))
    unit = draw(st.integers(0, n - 1))
    new = draw(st.integers(0, 12)) * 5.0 + draw(st.sampled_from([0.0, 0.5]))
    return [v * 5.0 for v in vals], method, direction, unit, new


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(groups())
def test_response_equals_engine_normalisation(case):
    vals, method, direction, unit, new = case
    fw = {"id": "H", "children": [{"id": "G", "weight": 1.0, "children": [
        {"id": "a", "weight": 1.0, "direction": direction, "range": [0, 100], "goalposts": [10, 50], "target": 40}]}]}
    ids = [f"u{k}" for k in range(len(vals))]
    r = compute_index(pd.DataFrame({"a": vals}, index=ids), fw, normalization=method, public_source="none")
    from qlwork.analysis.response import ResponseModel

    m = ResponseModel.from_result(r)
    got = m.value(np.array([unit]), np.array([0]), np.array([direction * new]))[0]
    col = np.array(vals, dtype=float)
    col[unit] = new
    want, _ = normalize(col[:, None], method, direction=[direction], low=[10.0], high=[50.0], target=[40.0])
    assert got == pytest.approx(want[unit, 0], abs=1e-9)


# ---------------------------------------------------------------- faces: 体检报告单, notice, workbook
def test_report_notice_and_workbook_carry_the_section(official):
    from qlwork.report.excel import warning_table
    from qlwork.report.notices import render_notice
    from qlwork.report.remedy import REMEDY_COLUMNS
    from qlwork.report.unit_report import UnitReportBuilder

    r = official.results["QLI"]
    b = UnitReportBuilder(r, period=PERIOD)
    w = r.warnings
    low = w.loc[w["code"] == "below_pass", "unit_id"].iloc[0]
    calm = next(u for u in r.scores.index if u not in set(w["unit_id"]))
    sec = b.improvement(low)
    assert sec and sec["lines"][0]["label"].startswith("合格线")
    html = b.render(low)
    assert "限期治理建议" in html
    first = sec["lines"][0]["singles"] or sec["lines"][0]["closest"]
    assert first[0] in html and (sec["lines"][0]["combo"] or sec["lines"][0]["note"]) in html
    assert b.improvement(calm) is None and "限期治理建议" not in b.render(calm)
    notice = render_notice(b, low)
    assert "限期治理建议（整改目标）" in notice and first[0] in notice
    # the numbers printed are the plan's, which the engine confirmed
    plan = b.improvement_plan()
    shown = plan.singles[(plan.singles["unit_id"] == low) & plan.singles["crosses"]].head(3)
    assert shown["verified"].fillna(False).all()
    wt = warning_table(r, b)
    assert set(REMEDY_COLUMNS.values()) <= set(wt.columns)
    row = wt[(wt["unit_id"] == low) & (wt["code"] == "below_pass")].iloc[0]
    assert row["整改目标"] == "合格线 60 分" and row["最省的改进组合"]
    # a labelled re-scoring never carries 限期治理建议 (it issues no notices)
    assert UnitReportBuilder(r, period=PERIOD, rescored="范围内重新评分（非正式结果）").improvement(low) is None
