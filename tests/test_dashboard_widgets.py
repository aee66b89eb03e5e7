"""Dashboard logic without a browser: the widget application is built in-process
on the county demo and driven by setting widget values.

Expected rows come from compute_index + plain pandas on the same processed
files (a second path that must agree), weights arithmetic is checked by hand.
"""
from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qlwork.dashboard.app import (ALL, DashboardData, ReviewDashboard, WeightModel, build_review_dashboard,
                              filter_ranking, load_dashboard_data, rebalance, round_weights, sort_ranking)
from qlwork.errors import Problem, QlworkError

REPO = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ pure helpers
def test_rebalance_hand_example():
    # a: 0.5 → 0.7; the others (0.3, 0.2) share the remaining 0.3 in proportion 3:2
    # → b = 0.3·0.3/0.5 = 0.18, c = 0.3·0.2/0.5 = 0.12
    out = rebalance({"a": 0.5, "b": 0.3, "c": 0.2}, "a", 0.7)
    assert out == pytest.approx({"a": 0.7, "b": 0.18, "c": 0.12})
    # the others all zero → equal shares of what is left
    assert rebalance({"a": 1.0, "b": 0.0, "c": 0.0}, "a", 0.4) == pytest.approx({"a": 0.4, "b": 0.3, "c": 0.3})
    # out-of-range values are clipped
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
    # keep: 'a' stays at 0.55, the rest 0.45 split 2:1 → 0.3, 0.15
    assert round_weights({"a": 0.55, "b": 0.3, "c": 0.15}, keep="a") == {"a": 0.55, "b": 0.3, "c": 0.15}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=2, max_size=7).filter(lambda v: sum(v) > 1e-3))
def test_round_weights_sum_exactly_one(ws):
    out = round_weights({f"k{i}": v for i, v in enumerate(ws)})
    assert round(sum(v * 1000 for v in out.values())) == 1000
    assert all(abs(v * 1000 - round(v * 1000)) < 1e-9 for v in out.values())
    total = sum(ws)
    for i, v in enumerate(ws):
        assert abs(out[f"k{i}"] - v / total) <= 0.001 + 1e-12


def test_grade_colours_match_the_charts():
    from qlwork.dashboard import app as dashboard
    from qlwork.charts import plots

    assert dashboard._FALLBACK_GRADE_COLORS == plots.GRADE_COLORS
    assert dashboard.grade_colors() == plots.GRADE_COLORS


def test_filter_and_sort_small_table():
    f = pd.DataFrame({"unit_id": ["u1", "u2", "u3", "u4"], "unit_name": ["甲", "乙", "丙", "丁"],
                      "unit_type": ["机关", "学校", "机关", "机关"], "city": ["A", "A", "B", "A"],
                      "county": ["A1", "A2", "B1", "A1"], "total": [70.0, 80.0, 90.0, 70.0]})
    got = sort_ranking(filter_ranking(f, unit_type="机关", city="A"), "total", False)
    assert got["unit_id"].tolist() == ["u1", "u4"]  # tie on 70 → unit_id order
    assert sort_ranking(f, "total", True)["unit_id"].tolist() == ["u1", "u4", "u2", "u3"]
    assert filter_ranking(f, county="B1")["unit_id"].tolist() == ["u3"]
    assert filter_ranking(f, search="乙")["unit_id"].tolist() == ["u2"]


# ------------------------------------------------------------------ on the demo
@pytest.fixture(scope="module")
def root(request) -> Path:
    if os.environ.get("QLWORK_TEST_ROOT"):
        return Path(os.environ["QLWORK_TEST_ROOT"])
    return Path(request.getfixturevalue("demo_root"))


@pytest.fixture(scope="module")
def data(root) -> DashboardData:
    return load_dashboard_data(root)


@pytest.fixture(scope="module")
def app(data) -> ReviewDashboard:
    return ReviewDashboard(data, chart=False)


_ORACLE: dict = {}


def oracle_frame(data: DashboardData, key: str, period: str, weights=None) -> pd.DataFrame:
    ck = (id(data), key, period, None if weights is None else tuple(sorted(weights.items())))
    if ck not in _ORACLE:
        _ORACLE[ck] = _oracle_frame(data, key, period, weights)
    return _ORACLE[ck].copy()


def _oracle_frame(data: DashboardData, key: str, period: str, weights=None) -> pd.DataFrame:
    from qlwork.engine.index import compute_index

    u = data.units[data.units["framework"] == key]
    v = data.values[data.values["unit_id"].isin(set(u["unit_id"]))]
    kw = {}
    if data.public_table() is not None:  # survey estimates present → the official public part
        kw["public"] = data.public_table()
    return compute_index(v, data.frameworks[key], period=period, units=u, weights=weights, **kw).to_frame()


def top(f: pd.DataFrame, n: int = 20) -> list[str]:
    return f.sort_values(["total", "unit_id"], ascending=[False, True])["unit_id"].head(n).tolist()


def table_ids(html: str) -> list[str]:
    import re

    return re.findall(r'<tr data-unit="([^"]+)"', html)


def test_app_builds_without_errors(app, data):
    assert app.error.value == ""
    assert app.period_dd.value == data.periods[-1]
    assert "qlw-ready" in app.widget._dom_classes
    assert [app.tabs.get_title(i) for i in range(len(app.tabs.children))] == [
        "排行榜", "体检报告单", "权重调整", "敏感性分析", "群众评价", "数据概况"]
    exp = oracle_frame(data, "county", data.periods[-1])
    assert table_ids(app.table.value) == top(exp)


def test_filters_select_the_right_rows(app, data):
    period = data.periods[0]
    app.period_dd.value = period
    exp = oracle_frame(data, "county", period)
    assert table_ids(app.table.value) == top(exp)
    city = app.city_dd.options[1]
    app.city_dd.value = city
    assert set(app.county_dd.options) - {ALL} == set(exp.loc[exp.city == city, "county"])
    county = app.county_dd.options[-1]
    app.county_dd.value = county
    sel = exp[(exp.city == city) & (exp.county == county)]
    assert table_ids(app.table.value) == top(sel)
    assert f"共 {len(sel)} 个单位" in app.page_lbl.value
    t = app.type_dd.options[1]
    app.type_dd.value = t
    sel = sel[sel.unit_type == t]
    assert table_ids(app.table.value) == top(sel)
    # sort by change, ascending (biggest drops first); NaN change last
    app.sort_dd.value = "change"
    app.order_tb.value = True
    exp_ids = sel.assign(k=sel["change"]).sort_values(["k", "unit_id"], na_position="last")["unit_id"].head(20)
    assert table_ids(app.table.value) == exp_ids.tolist()
    app.sort_dd.value = "total"
    app.order_tb.value = False
    app.type_dd.value = ALL
    app.county_dd.value = ALL
    app.city_dd.value = ALL
    app.period_dd.value = data.periods[-1]
    assert app.error.value == ""


def test_paging(app, data):
    exp = oracle_frame(data, "county", data.periods[-1])
    order = exp.sort_values(["total", "unit_id"], ascending=[False, True])["unit_id"].tolist()
    app.size_dd.value = 50
    app.next_btn.click()
    assert table_ids(app.table.value) == order[50:100]
    app.prev_btn.click()
    assert table_ids(app.table.value) == order[:50]
    app.size_dd.value = 20


@pytest.mark.parametrize("key", ["county", "village"])
def test_weight_model_equals_compute_index(data, key):
    """The fast re-aggregation must give compute_index's numbers exactly."""
    from qlwork.dashboard.app import IndexCache

    cache = IndexCache(data)
    period = data.periods[-1]
    model = WeightModel(cache.result(key, period), cache.frame(key, period))
    fw = data.frameworks[key]
    rng = np.random.default_rng(7)
    for _ in range(2):
        w = dict(zip(fw.level1, rng.dirichlet(np.ones(len(fw.level1)))))
        got = model.rerank(w).set_index("unit_id")
        exp = oracle_frame(data, key, period, weights=w).set_index("unit_id").reindex(got.index)
        assert np.allclose(got["total"], exp["total"], atol=1e-9, equal_nan=True)
        assert (got["rank"].astype("Float64").fillna(-1) == exp["rank"].astype("Float64").fillna(-1)).all()
        assert (got["grade"].astype(str) == exp["grade"].astype(str)).all()


def test_weight_sliders_rerank(app, data):
    app.tabs.selected_index = 2
    fw = app.framework
    node = fw.level1[0]
    app.sliders[node].value = 0.55
    w = app.current_weights()
    assert w[node] == pytest.approx(0.55)
    assert sum(w.values()) == pytest.approx(1.0, abs=1e-9)
    # the other weights keep their framework proportions (rounded to 0.001)
    base = {n: fw.nodes[n].weight for n in fw.level1}
    rest = sum(v for k, v in base.items() if k != node)
    for n in fw.level1[1:]:
        assert w[n] == pytest.approx(base[n] / rest * 0.45, abs=0.001)
    used = json.loads(app.wsummary.value.split("data-weights='")[1].split("'")[0].replace("&quot;", '"'))
    assert used == pytest.approx(w)
    exp = oracle_frame(data, "county", data.periods[-1], weights=w)
    assert table_ids(app.wtable.value)[:20] == top(exp)
    base_grades = oracle_frame(data, "county", data.periods[-1]).set_index("unit_id")["grade"].astype(str)
    n_changed = int((exp.set_index("unit_id")["grade"].astype(str) != base_grades.reindex(exp["unit_id"])).sum())
    assert app.wtable.value.count('class="qlw-changed"') == n_changed
    assert app.weight_update_s < 1.0
    app.preset_dd.value = "等权重"
    assert set(app.current_weights().values()) <= {0.25}
    app.reset_btn.click()
    assert app.current_weights() == pytest.approx({n: fw.nodes[n].weight for n in fw.level1})
    assert 'class="qlw-changed"' not in app.wtable.value
    app.tabs.selected_index = 0
    assert app.error.value == ""


def test_unit_view(app, data):
    uid = app.pick_dd.value
    app.open_unit(uid)
    assert app.tabs.selected_index == 1
    exp = oracle_frame(data, "county", data.periods[-1]).set_index("unit_id").loc[uid]
    card = app.unit_card.value
    assert str(exp["unit_name"]) in card
    assert f"{exp['total']:.2f}" in card
    s = app.unit_summary(uid)
    rep = app.cache.result("county", data.periods[-1]).unit(uid)
    assert np.allclose(s["profile"]["score"], rep.peers.loc[app.framework.level1, "score"])
    assert "相对薄弱指标" in card and "相对优势指标" in card
    app.search_tx.value = str(exp["unit_name"])[:3]
    assert app.unit_dd.options and all(str(exp["unit_name"])[:3] in lab for lab, _ in app.unit_dd.options)
    app.unit_dd.value = uid
    app.make_downloads()
    assert app.error.value == ""
    assert "qlw-download" in app.unit_links.value
    import base64
    import io
    import re

    import openpyxl

    links = dict(re.findall(r'download="([^"]+)" href="data:[^;]+;base64,([^"]+)"', app.unit_links.value))
    html_name = next(n for n in links if n.endswith(".html"))
    assert uid in html_name and str(exp["unit_name"]) in base64.b64decode(links[html_name]).decode("utf-8")
    book = openpyxl.load_workbook(io.BytesIO(base64.b64decode(next(v for n, v in links.items() if n.endswith(".xlsx")))))
    ws = book["汇总排行"]
    cells = {str(c.value) for row in ws.iter_rows() for c in row if c.value is not None}
    sel = app.filtered()
    assert set(sel["unit_id"]) <= cells  # every unit of the selection is in the workbook
    app.tabs.selected_index = 0


def test_other_views_and_framework_switch(app, data):
    for i in (3, 4, 5):
        app.tabs.selected_index = i
        assert app.error.value == ""
    app.tabs.selected_index = 0
    app.framework_dd.value = "village"
    assert app.error.value == ""
    exp = oracle_frame(data, "village", data.periods[-1])
    assert table_ids(app.table.value) == top(exp)
    assert set(app.sliders) == set(data.frameworks["village"].level1)
    app.framework_dd.value = "county"


def test_callback_errors_are_shown_not_raised(data):
    a = ReviewDashboard(data, chart=False)

    def boom(*_a, **_k):
        raise QlworkError(Problem("test_fault", "模拟的数据故障", "simulated fault"))

    a.cache.result = boom
    a.cache._frames.clear()
    a.period_dd.value = data.periods[0]  # must not raise
    assert "qlwork-error" in a.error.value
    assert "模拟的数据故障" in a.error.value and "操作未完成" in a.error.value
    assert "Traceback" not in a.error.value


def test_no_data_gives_a_readable_page(tmp_path):
    (tmp_path / "data" / "processed").mkdir(parents=True)
    app = build_review_dashboard(tmp_path)
    text = app.widget.children[0].value
    assert "qlwork-error" in text and "尚无数据" in text


# ------------------------------------------------------------------ command + config
def test_voila_json_settings():
    cfg = json.loads((REPO / "dashboards" / "voila.json").read_text(encoding="utf-8"))
    assert cfg["VoilaConfiguration"]["show_tracebacks"] is False
    assert cfg["VoilaConfiguration"]["strip_sources"] is True
    assert cfg["MappingKernelManager"]["cull_idle_timeout"] > 0
    assert cfg["MappingKernelManager"]["cull_interval"] > 0
    assert cfg["VoilaExecutor"]["timeout"] > 0


def test_dashboard_command_parser_and_busy_port(capsys):
    from qlwork.cli import build_parser, main
    from qlwork.serve.launch import dashboard_url, dashboards_dir, voila_command

    args = build_parser().parse_args(["dashboard"])
    assert (args.host, args.port) == ("127.0.0.1", 8866)
    cmd = voila_command("127.0.0.1", 9999)
    assert "--Voila.ip=127.0.0.1" in cmd and "--port=9999" in cmd and "--no-browser" in cmd
    assert (dashboards_dir() / "review.ipynb").is_file()
    assert dashboard_url("0.0.0.0", 8866) == "http://127.0.0.1:8866/voila/render/review.ipynb"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["dashboard", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert "端口已被占用" in err and "Traceback" not in err
