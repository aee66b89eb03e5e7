"""The review dashboard as its widgets show it, without a browser.

The application is built in-process on the county demo (with survey estimates,
official results of every period and the latest sensitivity analysis, as ``make data``
builds them) and driven by setting filters as a person would.  What each tab shows is
read from the widget state (the HTML of its widgets, :mod:`tests.dashboard_state`) and
compared with values known independently of the dashboard: the official result files
read with pandas, the sensitivity Parquet, a hand re-weighting of the goal scores for
the weights view, and the printed 体检报告单 for the unit card.
"""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qlwork.dashboard.app import ReviewDashboard, build_review_dashboard
from qlwork.dashboard.data import OFFICIAL_PRESET, DashboardData
from qlwork.dashboard.html import scope_css
from qlwork.dashboard.state import ALL, Filters, apply_filters, valid_filters
from qlwork.dashboard.tabs.weights import rebalance, round_weights, simulate
from qlwork.errors import Problem, QlworkError
from qlwork.labels import WARNING_LABELS, period_label

from dashboard_state import parse_table, ranking_state

REPO = Path(__file__).resolve().parents[1]
TABS = ["排行榜", "体检报告单", "权重模拟", "敏感性分析", "动态监测", "群众评价", "整改跟踪", "风险点", "数据概况"]


# ------------------------------------------------------------------ pure helpers
def test_rebalance_hand_example():
    # a: 0.5 → 0.7; the others (0.3, 0.2) share the remaining 0.3 in proportion 3:2 → 0.18, 0.12
    assert rebalance({"a": 0.5, "b": 0.3, "c": 0.2}, "a", 0.7) == pytest.approx({"a": 0.7, "b": 0.18, "c": 0.12})
    assert rebalance({"a": 1.0, "b": 0.0, "c": 0.0}, "a", 0.4) == pytest.approx({"a": 0.4, "b": 0.3, "c": 0.3})
    assert rebalance({"a": 0.5, "b": 0.5}, "a", 1.7) == pytest.approx({"a": 1.0, "b": 0.0})


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.01, 1.0), min_size=2, max_size=6), st.floats(0.0, 1.0), st.data())
def test_rebalance_keeps_sum_and_proportions(ws, value, data):
    keys = [f"k{i}" for i in range(len(ws))]
    w = dict(zip(keys, np.array(ws) / sum(ws)))
    changed = data.draw(st.sampled_from(keys))
    out = rebalance(w, changed, value)
    assert sum(out.values()) == pytest.approx(1.0)
    assert out[changed] == pytest.approx(value)
    others = [k for k in keys if k != changed]
    for a, b in zip(others, others[1:]):
        assert out[a] * w[b] == pytest.approx(out[b] * w[a], abs=1e-12)


def test_round_weights_largest_remainder():
    # thirds on a 0.001 grid: 333 + 333 + 333 = 999, one unit left → first key by tie-break
    assert round_weights({"a": 1, "b": 1, "c": 1}) == {"a": 0.334, "b": 0.333, "c": 0.333}
    assert round_weights({"a": 0.55, "b": 0.3, "c": 0.15}, keep="a") == {"a": 0.55, "b": 0.3, "c": 0.15}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=2, max_size=7).filter(lambda v: sum(v) > 1e-3))
def test_round_weights_sum_exactly_one(ws):
    out = round_weights({f"k{i}": v for i, v in enumerate(ws)})
    assert round(sum(v * 1000 for v in out.values())) == 1000
    total = sum(ws)
    for i, v in enumerate(ws):
        assert abs(out[f"k{i}"] - v / total) <= 0.001 + 1e-12


def test_scope_css_confines_the_print_sheet():
    css = ("@page { size: A4; }\nhtml, body { margin: 0; }\n* { box-sizing: border-box; }\n"
           "h1 { font-size: 18pt; }\n.a, .b td { color: red; }\n"
           "@media screen { body { background: #eee; } .page { width: 210mm; } }\n@media print { .page { padding: 0; } }")
    out = scope_css(css, ".r")
    assert "@page" not in out and "@media" not in out and "padding: 0" not in out  # print-only rules dropped
    assert ".r {margin: 0;}" in out and ".r, .r * {box-sizing: border-box;}" in out
    assert ".r h1 {font-size: 18pt;}" in out and ".r .a, .r .b td {color: red;}" in out
    assert ".r {background: #eee;}" in out and ".r .page {width: 210mm;}" in out
    # every rule starts with the root: nothing styles the rest of the page
    assert all(line.startswith(".r") for line in out.splitlines())


def test_filters_cascade_and_validate():
    f = Filters("2025H2", "QLI", city="A", county="A1", township="t", unit_type="学校")
    g = f.with_(county="A2")
    assert (g.city, g.county, g.township, g.unit_type) == ("A", "A2", ALL, "学校")  # below the change: reset
    assert f.with_(city="B").county == ALL
    frame = pd.DataFrame({"unit_id": ["1", "2", "3"], "city": ["A", "A", "B"], "county": ["A1", "A2", "B1"],
                          "township": ["t", "u", "v"], "unit_type": ["学校", "机关", "学校"]})
    assert apply_filters(frame, f)["unit_id"].tolist() == ["1"]
    v, opts = valid_filters(frame, Filters("p", "x", city="A", county="B1", township="v"))
    assert (v.city, v.county, v.township) == ("A", ALL, ALL)  # B1 is not a county of A
    assert opts["county"] == [ALL, "A1", "A2"] and opts["township"] == [ALL, "t", "u"]


# ------------------------------------------------------------------ on the demo
@pytest.fixture(scope="module")
def root(request) -> Path:
    if os.environ.get("QLWORK_TEST_ROOT"):
        return Path(os.environ["QLWORK_TEST_ROOT"])
    return Path(request.getfixturevalue("demo_root_full"))


@pytest.fixture(scope="module")
def data(root) -> DashboardData:
    return DashboardData.open(root)


@pytest.fixture(scope="module")
def app(data) -> ReviewDashboard:
    return ReviewDashboard(data, chart=False)


def official(root: Path, period: str, framework: str) -> pd.DataFrame:
    """The official ranking as ``qlwork score`` wrote it, read with plain pandas."""
    rk = pd.read_parquet(Path(root) / "data" / "processed" / "results" / period / "ranking.parquet")
    rk = rk[rk["framework"] == framework].copy()
    rk["unit_id"] = rk["unit_id"].astype(str)
    return rk.set_index("unit_id", drop=False).rename_axis(None)


def expected_order(rk: pd.DataFrame) -> list[str]:
    return rk.sort_values(["total", "unit_id"], ascending=[False, True], na_position="last")["unit_id"].tolist()


def check_rows_equal_official(shown: pd.DataFrame, rk: pd.DataFrame):
    """Every shown row's 综合得分 (2 dp), 等级, 同类名次 and 预警 are the official ones."""
    assert len(shown), "no rows shown"
    for r in shown.to_dict("records"):
        o = rk.loc[r["unit_id"]]
        assert r["综合得分"] == ("—" if pd.isna(o["total"]) else f"{o['total']:.2f}"), (r, o["total"])
        assert r["等级"] == (o["grade"] if isinstance(o["grade"], str) and o["grade"] else "—")
        rank = "—" if pd.isna(o["rank"]) else str(int(o["rank"]))
        assert r["同类名次"] == f"{rank}/{int(o['n_peers'])}"
        assert set(r["codes"]) == set(filter(None, str(o["warnings"] or "").split(";")))


def test_app_builds_and_first_table_is_the_official_ranking(app, data, root):
    assert app.error.value == ""
    assert "qlw-ready" in app.widget._dom_classes
    assert [app.tab_widget.get_title(i) for i in range(len(app.tabs))] == TABS
    f = app.state.filters
    assert f.period == data.periods[-1] and f.framework == "QLI"
    assert app.dd["period"].options[-1] == (period_label(f.period), f.period)  # 2025年下半年, never 2025H2
    rk = official(root, f.period, "QLI")
    head, rows, n_head = parse_table(app.tab("ranking").table.value, "qlw-rank")
    assert n_head == 1
    for col in ("综合得分", "等级", "较上期", "同类名次", "预警"):
        assert col in head
    shown = pd.DataFrame(rows)
    assert shown["unit_id"].tolist() == expected_order(rk)[:20]
    check_rows_equal_official(shown, rk)


def _expected_n(tab: str, app, root) -> int:
    f = app.state.filters
    rk = apply_filters(official(root, f.period, f.framework), f)
    if tab == "survey":
        return int(rk[["internal", "public"]].notna().all(axis=1).sum())
    if tab == "sensitivity":
        p = Path(root) / "data" / "processed" / f"sensitivity_{f.period}.parquet"
        if not p.is_file():
            return len(rk)
        s = pd.read_parquet(p)
        s = s[(s["framework"] == f.framework)]
        return int(s["unit_id"].astype(str).isin(rk["unit_id"]).sum()) or len(rk)
    return len(rk)


def _view_attrs(html: str) -> dict:
    m = re.search(r'<div class="qlw-view"([^>]*)>', html)
    assert m, html[:300]
    return dict(re.findall(r'data-([\w-]+)="([^"]*)"', m.group(1)))


def _tab_html(app, key: str) -> str:
    t = app.tab(key)
    return {"ranking": lambda: t.head_html.value, "unit": lambda: t.head_html.value,
            "weights": lambda: t.head_html.value, "sensitivity": lambda: t.out.value,
            "survey": lambda: t.out.value, "overview": lambda: t.out.value, "monitoring": lambda: t.out.value,
            "rectification": lambda: t.out.value, "risk": lambda: t.out.value}[key]()


def test_every_filter_rerenders_every_tab(app, data, root):
    """Whatever tab is open, changing any filter re-renders it, and its heading and unit
    count follow the new filters (period label, framework name, scope, number of units)."""
    latest, first = data.periods[-1], data.periods[0]
    rk = official(root, latest, "QLI")
    county = sorted(rk["county"].unique())[-1]
    township = sorted(rk.loc[rk["county"] == county, "township"].unique())[0]
    utype = rk.loc[rk["county"] == county, "unit_type"].value_counts().index[0]
    changes = [dict(period=first), dict(period=latest), dict(county=county), dict(township=township),
               dict(unit_type=utype), dict(county=ALL), dict(framework="QLV"), dict(framework="QLI"),
               dict(city=sorted(rk["city"].unique())[0])]
    for key in ("ranking", "unit", "weights", "sensitivity", "monitoring", "survey", "rectification", "risk", "overview"):
        app.set_filter(city=ALL, county=ALL, period=latest, framework="QLI")
        app.show_tab(key)
        for ch in changes:
            before = app.tab(key).renders
            # through the dropdown widget, as a person does
            name, value = next(iter(ch.items()))
            app.dd[name].value = value
            assert app.error.value == "", app.error.value
            assert app.tab(key).renders == before + 1, (key, ch)
            f = app.state.filters
            html = _tab_html(app, key)
            attrs = _view_attrs(html)
            assert int(attrs["version"]) == app.tab(key).renders
            assert period_label(f.period) in html and app.framework.name in html and f.scope_label() in html
            assert int(attrs["n-units"]) == _expected_n(key, app, root), (key, ch, attrs)
    app.set_filter(city=ALL, county=ALL, period=latest, framework="QLI")


def test_township_filter_and_ranking_rows(app, root, data):
    rk = official(root, data.periods[-1], "QLI")
    county = sorted(rk["county"].unique())[0]
    towns = sorted(rk.loc[rk["county"] == county, "township"].unique())
    app.set_filter(county=county)
    assert list(app.dd["township"].options) == [ALL, *towns]  # only the chosen county's townships
    app.set_filter(township=towns[1])
    app.show_tab("ranking")
    exp = rk[(rk["county"] == county) & (rk["township"] == towns[1])]
    _, rows, _ = parse_table(app.tab("ranking").table.value, "qlw-rank")
    assert [r["unit_id"] for r in rows] == expected_order(exp)[:20]
    app.set_filter(county=ALL)
    assert app.state.filters.township == ALL


@pytest.mark.parametrize("framework", ["QLI", "QLV"])
def test_ranking_shows_the_official_result_for_every_unit(app, data, root, framework):
    """Score (2 dp), grade, peer rank and warning set of every unit shown equal the official
    result, in official order — all units, a county and a township of the earliest period
    (tests/test_consistency.py checks the latest two against every other output)."""
    for period in data.periods[:1]:
        rk = official(root, period, framework)
        county = rk["county"].value_counts().index[0]
        township = rk.loc[rk["county"] == county, "township"].value_counts().index[0]
        for scope in (dict(), dict(county=county), dict(county=county, township=township)):
            shown = ranking_state(app, period=period, framework=framework, **scope)
            exp = rk
            for k, v in scope.items():
                exp = exp[exp[k] == v]
            assert sorted(shown["unit_id"]) == sorted(exp["unit_id"])  # every unit of the scope, once
            assert shown["unit_id"].tolist() == expected_order(exp)
            check_rows_equal_official(shown, rk)
    app.set_filter(city=ALL, county=ALL, period=data.periods[-1], framework="QLI")
    app.tab("ranking").size_dd.value = 20


def test_paging_and_sorting(app, root, data):
    rk = official(root, data.periods[-1], "QLI")
    order = expected_order(rk)
    t = app.tab("ranking")
    app.show_tab("ranking")
    t.size_dd.value = 50
    t.next_btn.click()
    assert [r["unit_id"] for r in parse_table(t.table.value, "qlw-rank")[1]] == order[50:100]
    t.prev_btn.click()
    t.sort_dd.value = "change"
    t.order_tb.value = True  # biggest drops first; no change (new units) last
    exp = rk.sort_values(["change", "unit_id"], na_position="last")["unit_id"].head(50).tolist()
    assert [r["unit_id"] for r in parse_table(t.table.value, "qlw-rank")[1]] == exp
    t.sort_dd.value = "total"
    t.order_tb.value = False
    t.size_dd.value = 20


def test_weights_at_official_weights_equal_the_official_result(app, root, data):
    app.show_tab("weights")
    t = app.tab("weights")
    t.reset()
    assert t.current_weights() == app.data.weight_presets(app.state.filters.period, "QLI")[OFFICIAL_PRESET]
    sim = t.sim
    rk = official(root, data.periods[-1], "QLI")
    assert (sim["sim_total"].to_numpy() == rk.loc[sim.index, "total"].to_numpy()).all()  # exactly
    assert (sim["sim_grade"].astype(str).to_numpy() == rk.loc[sim.index, "grade"].astype(str).to_numpy()).all()
    assert (sim["sim_rank"].to_numpy() == rk.loc[sim.index, "rank"].astype(float).to_numpy()).all()
    assert 'class="qlw-changed"' not in t.table.value
    assert '<b class=\'qlw-nchanged\'>0</b>' in t.summary.value


def _hand_reweight(result, weights: dict) -> pd.Series:
    """Second method for the weights view: the goals' internal sub-scores (each goal's share of
    the unit's effective weights that scored it) re-weighted by the new level-1 weights over the
    goals the unit has, then total = (1 − s)·internal + s·public (or internal) + bonus."""
    fw = result.framework
    ids = fw.indicator_ids
    W = result.effective_weights.reindex(index=result.scores.index, columns=ids).fillna(0.0)
    X = result.normalized.reindex(index=result.scores.index, columns=ids).fillna(0.0)
    goal = pd.Series({i: fw.level1_of(i) for i in ids})
    wg = W.T.groupby(goal).sum().T
    sub = (W * X).T.groupby(goal).sum().T / wg.where(wg > 0)
    w = pd.Series(weights)
    present = wg > 0
    internal = (sub.fillna(0) * w).where(present, 0).sum(axis=1) / (present * w).sum(axis=1)
    s = result.spec.social_share
    sc = result.scores
    return pd.Series(np.where(sc["public"].notna(), (1 - s) * internal + s * sc["public"], internal)
                     + sc["bonus"].fillna(0), index=sc.index)


def test_weight_slider_rerank_equals_a_hand_reweighting(app, data):
    app.show_tab("weights")
    t = app.tab("weights")
    fw = app.framework
    node = fw.level1[0]
    t.sliders[node].value = 0.55
    w = t.current_weights()
    assert w[node] == pytest.approx(0.55) and sum(w.values()) == pytest.approx(1.0, abs=1e-12)
    lw = fw.local_weights()
    rest = sum(lw[n] for n in fw.level1[1:])
    for n in fw.level1[1:]:  # the others keep their official proportions (0.001 grid)
        assert w[n] == pytest.approx(lw[n] / rest * 0.45, abs=0.001)
    used = json.loads(re.search(r"data-weights='([^']+)'", t.summary.value).group(1).replace("&quot;", '"'))
    assert used == pytest.approx(w)
    res = app.index_result
    hand = _hand_reweight(res, w)
    sim = t.sim
    assert np.allclose(sim["sim_total"], (hand.reindex(sim.index) + 1e-9).round(2), atol=0.0051)
    # the table's rows: simulated top 20 and the grade changes, highlighted
    _, rows, _ = parse_table(t.table.value, "qlw-wrank")
    order = sim.sort_values(["sim_total", "unit_id"], ascending=[False, True])["unit_id"].tolist()
    assert [r["unit_id"] for r in rows][:20] == order[:20]
    changed = sim[sim["grade_changed"]]
    assert {r["unit_id"] for r in rows if r["changed"]} == set(changed["unit_id"])
    assert f"<b class='qlw-nchanged'>{len(changed)}</b>" in t.summary.value
    assert t.update_s < 1.0
    t.preset_dd.value = "等权重"
    assert set(t.current_weights().values()) == {1 / len(fw.level1)}
    t.reset()
    assert 'class="qlw-changed"' not in t.table.value
    assert app.error.value == ""


def test_weights_never_list_units_without_a_grade(app):
    """A unit with no official grade (missing data) is counted apart, never as "nan → nan"."""
    res = app.index_result
    rows = app.scope_rows().copy()
    lost = rows.index[:3]
    rows.loc[lost, "grade"] = None
    sim = simulate(res, rows, app.data.weight_presets(app.state.filters.period, "QLI")[OFFICIAL_PRESET])
    assert sim.loc[lost, "no_grade"].all() and not sim.loc[lost, "grade_changed"].any()
    assert not sim["grade_changed"].any()  # official weights: nothing else changes either


def _page_content(html: str, closing: int) -> str:
    """What is inside ``<div class="page">`` (the card is wrapped in one more div), whitespace-normalised."""
    body = html[html.index('<div class="page">') + len('<div class="page">'):]
    body = body[:body.rindex("</body>")] if "</body>" in body else body
    for _ in range(closing):
        body = body[:body.rindex("</div>")]
    return re.sub(r"\s+", " ", body).strip()


def test_unit_card_is_the_printed_report(app, data, root):
    from qlwork.report.unit_report import UnitReportBuilder
    from qlwork.workflow import load_result
    from qlwork.workflow.reporting import sensitivity_tables

    app.set_filter(city=ALL, county=ALL, period=data.periods[-1], framework="QLI")
    t = app.tab("unit")
    app.state.select_unit(None)
    app.show_tab("unit")
    assert "qlw-unit-hint" in t.card.value and "<img" not in t.card.value and "<svg" not in t.card.value
    off = load_result(Path(root) / "data" / "processed", data.periods[-1])
    sens = sensitivity_tables(data.project, data.periods[-1], off, 0, None, False)
    # the printed report lists each unit's high-level risk points without controls (qlwork report)
    from qlwork.registers.risk import uncontrolled_high
    from qlwork.workflow.follow_through import follow_registers

    risk = uncontrolled_high(follow_registers(data.project).risk)
    for fid in ("QLI", "QLV"):
        app.set_filter(framework=fid)
        res = off.results[fid]
        printed = UnitReportBuilder(res, sensitivity=(sens or {}).get(fid), period=data.periods[-1], risk_points=risk)
        ids = list(res.scores.index)
        with_risk = [u for u in ids if risk.get(u)][:1]
        assert with_risk, fid
        for uid in (ids[0], ids[len(ids) // 2], ids[-1], *with_risk):
            app.open_unit(uid)
            assert app.current.key == "unit" and app.error.value == ""
            # the same partial with the same context: the printed page's content, character for character
            assert _page_content(t.card.value, 2) == _page_content(printed.render(uid), 1)
            assert f"{res.scores.loc[uid, 'total']:.2f}" in t.card.value
            assert ("未落实防控措施的高等级廉政风险点" in t.card.value) == bool(risk.get(uid))
    # a unit outside a newly chosen county is not shown under that county
    other = official(root, data.periods[-1], "QLV")
    uid = app.state.unit_id
    county = next(c for c in sorted(other["county"].unique()) if c != other.loc[uid, "county"])
    app.set_filter(county=county)
    assert app.state.unit_id is None and "不在当前筛选范围" in t.card.value
    app.set_filter(county=ALL, framework="QLI")


def test_unit_search_and_download(app, data):
    app.set_filter(framework="QLI")
    app.show_tab("unit")
    t = app.tab("unit")
    key = app.scope_rows()["unit_name"].iloc[0][:2]
    t.search_tx.value = key
    opts = t.unit_dd.options
    assert opts and all(key in lab for lab, _ in opts)
    assert len(opts) == int(app.scope_rows()["unit_name"].str.contains(key, regex=False).sum())
    t.unit_dd.value = opts[0][1]
    assert app.state.unit_id == opts[0][1]
    t.download()
    assert "qlw-download" in t.links.value and "text/html" in t.links.value
    t.search_tx.value = ""


def test_sensitivity_leads_with_uncertain_units(app, data, root):
    period = data.periods[-1]
    app.set_filter(period=period, framework="QLI", county=ALL)
    app.show_tab("sensitivity")
    t = app.tab("sensitivity")
    s = pd.read_parquet(Path(root) / "data" / "processed" / f"sensitivity_{period}.parquet")
    s = s[s["framework"] == "QLI"].set_index("unit_id")
    params = json.loads((Path(root) / "data" / "processed" / f"sensitivity_{period}.params.json").read_text("utf-8"))
    grade_u = s["p_nominal_grade"] < 0.95
    bottom_u = (s["p_bottom_n"] > 0.05) & (s["p_bottom_n"] < 0.95)
    assert params["QLI"]["description_zh"] in t.out.value  # what was simulated
    assert f"<b class='qlw-n-grade'>{int(grade_u.sum())}</b>" in t.out.value
    assert f"<b class='qlw-n-bottom'>{int(bottom_u.sum())}</b>" in t.out.value
    listed = re.findall(r'<li data-unit="([^"]+)">(.*?)</li>', t.listing.value)
    n_u = int((grade_u | bottom_u).sum())
    assert len(listed) == min(n_u, 30) and n_u > 0
    assert all(grade_u[u] or bottom_u[u] for u, _ in listed)  # only uncertain units, none of the stable top
    # bottom-N uncertain units first, then the least stable grades
    first = [u for u, _ in listed[:int(bottom_u.sum())]]
    assert all(bottom_u[u] for u in first)
    for u, text in listed:
        lo, hi = re.search(r"名次 (\S+)–(\S+)，", text).groups()
        assert lo == str(int(s.loc[u, "rank_p05"])) and hi == str(int(s.loc[u, "rank_p95"]))  # whole numbers
    assert (f"共 {n_u} 个" in t.listing.value) if n_u > 30 else (f"全部 {n_u} 个" in t.listing.value)
    # a period without a sensitivity analysis says so
    app.set_filter(period=data.periods[0])
    assert "尚无结果" in t.out.value and "qlwork sensitivity --period" in t.out.value
    app.set_filter(period=period)


def test_survey_marks_only_the_official_divergence(app, data, root):
    period = data.periods[-1]
    app.set_filter(period=period, framework="QLV", county=ALL)
    app.show_tab("survey")
    t = app.tab("survey")
    rk = official(root, period, "QLV")
    div = rk[rk["warnings"].fillna("").str.contains("divergence")]
    head, rows, n_head = parse_table(t.out.value, "qlw-agreement")
    assert n_head == 1 and rows and all(r["单位类型"] for r in rows)  # one header row, no blank one
    n_both = int(rk[["internal", "public"]].notna().all(axis=1).sum())
    assert next(r for r in rows if r["单位类型"] == "全部")["单位数"] == str(n_both)
    listed = re.findall(r'<li data-unit="([^"]+)">', t.listing.value)
    assert set(listed) == set(div["unit_id"]) if len(div) <= 30 else len(listed) == 30
    assert f"{len(div)} 个" in t.listing.value and WARNING_LABELS["divergence"] in t.listing.value
    # each listed unit's public score is below its internal score's expectation (low side only)
    frame = t.frame.set_index("unit_id")
    assert (frame.loc[listed, "resid_gap"] < 0).all()
    assert set(frame.index[frame["diverges"]]) == set(div["unit_id"])
    app.set_filter(framework="QLI")


def test_overview_lists_excluded_cells_without_server_paths(app, data, root):
    app.show_tab("overview")
    html = app.tab("overview").out.value
    prob = pd.read_parquet(Path(root) / "data" / "processed" / "problems.parquet")
    period = app.state.filters.period
    files = prob["file"].astype(str)
    exp = prob[files.str.contains(f"/{period}/") | ~files.str.contains(r"/\d{4}H[12]/")]
    assert f"<span class='qlw-n-problems'>{len(exp)}</span>" in html
    assert f"全部期别共 {len(prob)} 条" in html
    for r in exp.itertuples():
        assert str(r.message) in html.replace("&#x27;", "'").replace("&quot;", '"')
    app.set_filter(period=data.periods[-2])  # the demo's invalid cells are in 2025H1
    html = app.tab("overview").out.value
    assert "未采用" in html and "qlw-problems" in html
    for text in (str(root), "/tmp/", "/work/", "/home/"):
        assert text not in html
    app.set_filter(period=data.periods[-1])


def test_no_tab_shows_a_server_path(app, root):
    for t in app.tabs:
        app.show_tab(t.key)
    blob = json.dumps([w.value for t in app.tabs for w in t.box.children if hasattr(w, "value")
                       and isinstance(w.value, str)], ensure_ascii=False)
    assert str(root) not in blob and str(REPO) not in blob


def test_callback_errors_are_shown_not_raised(data):
    a = ReviewDashboard(data, chart=False)

    def boom(*_a, **_k):
        raise QlworkError(Problem("test_fault", "模拟的数据故障", "simulated fault"))

    a.data.ranking = boom  # instance attribute: only this app's data object
    try:
        a.dd["period"].value = data.periods[0]  # must not raise
    finally:
        del a.data.ranking
    assert "qlwork-error" in a.error.value
    assert "模拟的数据故障" in a.error.value and "操作未完成" in a.error.value
    assert "Traceback" not in a.error.value


def test_no_official_result_gives_a_readable_page(tmp_path):
    (tmp_path / "data" / "processed").mkdir(parents=True)
    (tmp_path / "pyproject.toml").touch()
    app = build_review_dashboard(tmp_path)
    text = app.widget.children[0].value
    assert "qlwork-error" in text and "尚无正式结果" in text and "make data" in text
    assert str(tmp_path) not in text


def test_kernel_start_reads_the_result_and_defers_charts(root):
    """What a viewer's kernel does: import, read the latest official result, render the first
    table — without scoring (the scorer raises if called) and without importing matplotlib or
    scipy (charts follow in a thread)."""
    code = (
        "import sys, time\n"
        "t0 = time.perf_counter()\n"
        "import qlwork.dashboard.app\n"
        "from qlwork.dashboard import build_review_dashboard\n"
        "t1 = time.perf_counter()\n"
        "import qlwork.engine.index as ei, qlwork.engine.scorer as es, qlwork.workflow.scoring as ws\n"
        "def no(*a, **k): raise AssertionError('scored at start-up')\n"
        "ei.compute_index = ws.compute_index = es.nominal_scores = es.scores_for = no\n"
        "app = build_review_dashboard(background_chart=True)\n"
        "t2 = time.perf_counter()\n"
        "assert app.tab('ranking').table.value.count('data-unit=') == 20, app.error.value\n"
        "heavy = [m for m in ('matplotlib', 'scipy', 'statsmodels', 'seaborn') if m in sys.modules]\n"
        "print(round(t1 - t0, 3), round(t2 - t1, 3), ','.join(heavy))\n")
    env = dict(os.environ, QLWORK_ROOT=str(root), MPLBACKEND="Agg")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode == 0, out.stderr[-2000:]
    imp, first, heavy = (out.stdout.strip().split(" ") + [""])[:3]
    assert heavy == "", f"imported at start-up: {heavy}"
    assert float(imp) + float(first) < 10.0, out.stdout
    print(f"kernel start: import {imp} s, first table {first} s")


# ------------------------------------------------------------------ command + config
def test_voila_json_settings():
    cfg = json.loads((REPO / "dashboards" / "voila.json").read_text(encoding="utf-8"))
    assert cfg["VoilaConfiguration"]["show_tracebacks"] is False
    assert cfg["VoilaConfiguration"]["strip_sources"] is True
    assert cfg["MappingKernelManager"]["cull_idle_timeout"] > 0
    assert cfg["VoilaExecutor"]["timeout"] > 0


def test_review_notebook_has_a_title_and_no_outputs():
    nb = json.loads((REPO / "dashboards" / "review.ipynb").read_text(encoding="utf-8"))
    assert nb["metadata"]["title"] == "清廉指数评审看板"  # the page's <title>
    assert all(not c.get("outputs") for c in nb["cells"])


def test_voila_template_fetches_nothing_from_outside():
    """The dashboard's own Voilà template links nothing outside the server (the browser test
    checks every request of the page stays on 127.0.0.1)."""
    from qlwork.dashboard import VOILA_TEMPLATE, voila_share_dir

    folder = voila_share_dir() / "voila" / "templates" / VOILA_TEMPLATE
    assert (folder / "index.html.j2").is_file() and (folder / "page.html").is_file()
    for f in folder.iterdir():
        text = f.read_text(encoding="utf-8")
        code = re.sub(r"\{#.*?#\}", "", text, flags=re.S)  # comments may name the CDN they remove
        assert not re.search(r"""(href|src)=["']https?://""", code), f.name
    assert json.loads((folder / "conf.json").read_text(encoding="utf-8"))["base_template"] == "lab"


def test_dashboard_command_parser_and_busy_port(capsys):
    """Through the CLI as a user types it (commands are imported by the CLI only)."""
    from qlwork.cli import build_parser, main

    args = build_parser().parse_args(["dashboard"])
    assert (args.host, args.port) == ("127.0.0.1", 8866)
    assert (REPO / "dashboards" / "review.ipynb").is_file()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["dashboard", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert "端口已被占用" in err and "Traceback" not in err


def test_what_if_panel_moves_score_grade_and_rank(app, data, root):
    """The unit view's 模拟改进 panel: no change shows the official numbers; moving an indicator
    shows what qlwork.analysis.rescore.what_if_indicator gives (the engine's stages and the one scorer;
    tests/test_improvement_demo.py checks it against compute_index on the changed input data)."""
    from qlwork.analysis.rescore import what_if_indicator
    from qlwork.workflow import load_result

    period = data.periods[-1]
    app.set_filter(city=ALL, county=ALL, period=period, framework="QLI")
    off = load_result(Path(root) / "data" / "processed", period)
    res = off.results["QLI"]
    uid = res.ranking.sort_values("rank").index[-1]  # the last of some peer group: room to improve
    app.open_unit(uid)
    t = app.tab("unit")
    panel = next(k for k in t.panels.children if "qlw-whatif-panel" in k._dom_classes)
    hb = panel.children[1]
    dd, sl, reset = hb.children
    out = panel.children[2]
    off_total = f"{res.scores.loc[uid, 'total']:.2f}"
    assert f"<b class='qlw-whatif-total'>{off_total}</b>" in out.value and "（未改动）" in out.value
    # move the indicator to the best end of its range (direction-aware)
    ind = res.framework.indicators[dd.value]
    best = sl.max if ind.direction > 0 else sl.min
    sl.value = best
    want = what_if_indicator(res, uid, {dd.value: best})
    assert f"<b class='qlw-whatif-total'>{want['total']:.2f}</b>" in out.value
    assert f"<b class='qlw-whatif-rank'>{want['rank']}</b>" in out.value
    assert want["total"] >= res.scores.loc[uid, "total"]
    reset.click()
    assert "（未改动）" in out.value and f"<b class='qlw-whatif-total'>{off_total}</b>" in out.value


# ------------------------------------------------------------------ after the ranking: 动态监测, 整改跟踪, 风险点
def _text(html: str) -> str:
    html = re.sub(r"(?s)<style>.*?</style>", "", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_monitoring_tab_lists_the_stored_alerts_of_the_scope(app, data, root):
    """动态监测 shows the alerts ``qlwork monitor`` stored (read here with pandas), for the units of
    the filters; the checkbox adds the alerts pointing to a better value; a county shows fewer."""
    latest = data.periods[-1]
    alerts = pd.read_parquet(Path(root) / "data" / "processed" / f"alerts_{latest}.parquet")
    alerts["unit_id"] = alerts["unit_id"].astype(str)
    app.set_filter(city=ALL, county=ALL, period=latest, framework="QLI")
    app.show_tab("monitoring")
    tab = app.tab("monitoring")
    for county in (ALL, sorted(official(root, latest, "QLI")["county"].unique())[0]):
        app.set_filter(county=county)
        ids = set(apply_filters(official(root, latest, "QLI"), app.state.filters)["unit_id"])
        mine = alerts[alerts["unit_id"].isin(ids)]
        for worse in (True, False):
            tab.worse.value = worse
            want = mine[mine["worse"]] if worse else mine
            attrs = _view_attrs(tab.out.value)
            assert int(attrs["n_alerts"]) == len(want), (county, worse)
            assert f"有{'指向变差的' if worse else ''}超常预警 {len(want)} 条" in _text(tab.out.value)
            if len(want):
                head, rows, n_head = parse_table(tab.table.value, "qlw-mon-alerts")
                assert n_head == 1 and head[:4] == ["单位", "类型", "指标", "检测方法"]
                top = want.sort_values("strength", ascending=False).iloc[0]
                assert rows[0]["unit_id"] == top["unit_id"] and rows[0]["强度"] == f"{top['strength']:.1f}"
                shown_units = {r["unit_id"] for r in rows}
                assert shown_units <= set(want["unit_id"])
        tab.worse.value = True
    app.set_filter(county=ALL)
    # the trend chart of the first row: a real image, drawn from values_fine without re-monitoring
    tab._chart(tab.pick.value)
    assert tab.chart.layout.display == "" and tab.chart.value[:8] == b"\x89PNG\r\n\x1a\n"
    app.set_filter(period=data.periods[0])  # no monitoring for that period: a hint, no table
    assert "qlwork monitor --period" in tab.out.value and tab.table.value == ""
    app.set_filter(period=latest)


def test_rectification_tab_counts_the_ledger_of_the_scope(app, data, root):
    """整改跟踪's headline figures equal the ledger ``qlwork ledger update`` wrote (read with pandas)
    for the units and periods of the filters, and follow a county filter."""
    latest = data.periods[-1]
    led = pd.read_parquet(Path(root) / "data" / "processed" / "ledger" / "ledger.parquet")
    led["unit_id"] = led["unit_id"].astype(str)
    app.set_filter(city=ALL, county=ALL, period=latest, framework="QLI")
    app.show_tab("rectification")
    tab = app.tab("rectification")
    seen = set()
    for county in [ALL] + sorted(official(root, latest, "QLI")["county"].unique())[:2]:
        app.set_filter(county=county)
        ids = set(apply_filters(official(root, latest, "QLI"), app.state.filters)["unit_id"])
        mine = led[led["unit_id"].isin(ids) & (led["period"].astype(str) <= latest)]
        html = tab.out.value
        figs = dict(re.findall(r"data-fig='([^']+)'><div class='qlw-fig-v'>([^<]*)<", html))
        assert int(figs["整改事项"]) == len(mine), county
        assert int(figs["已销号"]) == int((mine["status_eff"] == "已销号").sum()), county
        assert int(figs["逾期未销号"]) == int(mine["overdue"].sum()), county
        head, rows, _ = parse_table(html.split("data-table='整改事项'")[1].split("data-table=")[0], "qlw-wrap")
        assert "单位编码" in head and {r["单位编码"] for r in rows} <= ids
        seen.add(figs["整改事项"])
    assert len(seen) > 1, "the county filter did not change the figures"
    app.set_filter(county=ALL)


def test_risk_tab_lists_high_risks_without_controls_of_the_scope(app, data, root):
    """风险点's high-level points without controls are the register's rows (read with pandas) of the
    units of the filters with level 高 and no control measure."""
    latest = data.periods[-1]
    reg = pd.read_excel(Path(root) / "data" / "raw" / "registers" / "廉政风险点登记表.xlsx", sheet_name="廉政风险点",
                        skiprows=[1], dtype=str, engine="openpyxl")
    app.set_filter(city=ALL, county=ALL, period=latest, framework="QLI")
    app.show_tab("risk")
    tab = app.tab("risk")
    county = sorted(official(root, latest, "QLI")["county"].unique())[0]
    app.set_filter(county=county)
    ids = set(apply_filters(official(root, latest, "QLI"), app.state.filters)["unit_id"])
    want = reg[reg["单位编码"].isin(ids) & (reg["风险等级"] == "高") & reg["防控措施"].isna()]
    want = want.drop_duplicates(["单位编码", "风险点编号"])
    html = tab.out.value
    figs = dict(re.findall(r"data-fig='([^']+)'><div class='qlw-fig-v'>([^<]*)<", html))
    assert int(figs["未落实防控的高等级风险点"]) == len(want)
    # one date for both follow-through tabs: the ledger's (qlwork ledger update --as-of)
    led = pd.read_parquet(Path(root) / "data" / "processed" / "ledger" / "ledger.parquet")
    assert figs["截至日期"] == str(led["as_of"].iloc[0])[:10]
    head, rows, _ = parse_table(html.split("data-table='未落实防控的高等级风险点'")[1].split("data-table=")[0], "qlw-wrap")
    assert sorted((r["单位编码"], r["风险点编号"]) for r in rows) == sorted(zip(want["单位编码"], want["风险点编号"]))
    app.set_filter(county=ALL)
