"""The review dashboard in headless Chromium, as a committee member uses it, at 1366×768 and 1920×1080.

Voilà serves dashboards/review.ipynb (``qlwork dashboard``, one server for the session)
against a temp project holding the county demo with its official results, survey and
sensitivity analysis (``demo_root_full``).  Every test runs once per screen size in one
browser context per size.  What the page shows is compared with the official result
files read here with pandas (the oracle), never with the dashboard's own code:

* every ranking column is on screen (bounding boxes inside the viewport, no clipping,
  no overlap with the chart), also at 1440 and 1680 px;
* every filter changed on every tab re-renders that tab, and its heading and unit count
  follow the filters;
* no request leaves 127.0.0.1 (route interception; the page title is the dashboard's).

Screenshots of every view at both sizes go to test-artifacts/; first-render and
slider-to-update times to benchmarks/dashboard_timings.json.
"""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pandas as pd
import pytest

from qlwork.labels import period_label

from .conftest import local_context

pytestmark = pytest.mark.browser

ERROR_TEXT = "There was an error when executing cell"
SIZES = [(1366, 768), (1920, 1080)]
TABS = {"ranking": "排行榜", "unit": "体检报告单", "weights": "权重模拟", "sensitivity": "敏感性分析",
        "survey": "群众评价", "overview": "数据概况"}
TIMEOUT = 120_000
TITLE = "清廉指数评审看板"


# ----------------------------------------------------------------- oracle
class Oracle:
    """The official result files of the demo, read with pandas."""

    def __init__(self, root: Path):
        self.proc = Path(root) / "data" / "processed"
        self.periods = sorted(p.name for p in (self.proc / "results").iterdir() if (p / "manifest.json").is_file())
        self.names = {fid: json.loads((self.proc / "results" / self.periods[-1] / fid / "framework.json")
                                      .read_text(encoding="utf-8"))["name"] for fid in ("QLI", "QLV")}

    def ranking(self, period: str, framework: str = "QLI") -> pd.DataFrame:
        rk = pd.read_parquet(self.proc / "results" / period / "ranking.parquet")
        rk = rk[rk["framework"] == framework].copy()
        rk["unit_id"] = rk["unit_id"].astype(str)
        return rk.set_index("unit_id", drop=False).rename_axis(None)

    def scope(self, f: dict) -> pd.DataFrame:
        rk = self.ranking(f["period"], f["framework"])
        for k in ("city", "county", "township", "unit_type"):
            if f.get(k) not in (None, "全部"):
                rk = rk[rk[k] == f[k]]
        return rk

    def n_units(self, tab: str, f: dict) -> int:
        rk = self.scope(f)
        if tab == "survey":
            return int(rk[["internal", "public"]].notna().all(axis=1).sum())
        if tab == "sensitivity":
            p = self.proc / f"sensitivity_{f['period']}.parquet"
            if p.is_file():
                s = pd.read_parquet(p)
                s = s[s["framework"] == f["framework"]]
                return int(s["unit_id"].astype(str).isin(rk["unit_id"]).sum()) or len(rk)
        return len(rk)

    def top(self, f: dict, n: int = 20) -> list[str]:
        rk = self.scope(f)
        return rk.sort_values(["total", "unit_id"], ascending=[False, True], na_position="last")["unit_id"].head(n).tolist()


@pytest.fixture(scope="module")
def oracle(dashboard_root):
    return Oracle(Path(dashboard_root))


# ----------------------------------------------------------------- page helpers
def open_dashboard(ctx, base, width=1366, height=768):
    page = ctx.new_page()
    page.set_viewport_size({"width": width, "height": height})
    t0 = time.perf_counter()
    page.goto(base + "/voila/render/review.ipynb", wait_until="domcontentloaded", timeout=TIMEOUT)
    # either the app or Voilà's cell-error message: fail fast on the latter
    page.wait_for_function(
        "(err) => document.querySelector('.qlw-ready') || document.body.innerText.includes(err)",
        arg=ERROR_TEXT, timeout=TIMEOUT)
    assert ERROR_TEXT not in page.inner_text("body"), page.inner_text("body")[:2000]
    page.wait_for_selector(".qlw-rank-table tr[data-unit]", timeout=TIMEOUT)
    return page, time.perf_counter() - t0


def assert_no_errors(page):
    assert ERROR_TEXT not in page.content()
    errs = page.locator(".qlwork-error")
    assert errs.count() == 0, errs.first.inner_text()


_VISIBLE_VERSION = """() => { const v = [...document.querySelectorAll('.qlw-view')].filter(e => e.offsetParent !== null);
  return v.length ? Number(v[0].dataset.version) : -1; }"""


def seq(page, table: str | None = None) -> int:
    """How often the visible view (or, with ``table``, that table) has been rendered."""
    if table is None:
        return int(page.evaluate(_VISIBLE_VERSION))
    return int(page.locator(f"table.{table}").first.get_attribute("data-seq"))


def wait_seq(page, before: int, table: str | None = None, timeout=60_000):
    """Wait until the visible view (or ``table``) has been rendered again after ``before`` and the
    app is done (no ``qlw-busy``: charts and status drawn too)."""
    if table is None:
        page.wait_for_function(f"(n) => ({_VISIBLE_VERSION})() > n", arg=before, timeout=timeout)
    else:
        page.wait_for_function(
            "([cls, n]) => { const t = document.querySelector('table.' + cls);"
            " return t && Number(t.dataset.seq) > n; }", arg=[table, before], timeout=timeout)
    wait_idle(page, timeout)


def wait_idle(page, timeout=60_000):
    """Wait until no callback runs in the kernel (the app has no ``qlw-busy`` class) and every
    shown image has loaded."""
    page.wait_for_function("() => !document.querySelector('.qlw-app.qlw-busy') && [...document.images]"
                           ".filter(i => i.offsetParent !== null).every(i => i.complete)", timeout=timeout)


def view(page, key: str) -> dict:
    """The heading of tab ``key``: its text and data attributes."""
    loc = page.locator(f".qlw-tab-{key} .qlw-view").first
    return {"text": loc.inner_text(), **{k[5:]: v for k, v in loc.evaluate(
        "e => Object.fromEntries([...e.attributes].map(a => [a.name, a.value]))").items() if k.startswith("data-")}}


def table_ids(page, table="qlw-rank") -> list[str]:
    return page.locator(f"table.{table} tr[data-unit]").evaluate_all("rows => rows.map(r => r.dataset.unit)")


def table_totals(page, table="qlw-rank") -> list[float]:
    return [float(x) for x in page.locator(f"table.{table} tr[data-unit] td.qlw-total").all_inner_texts()]


def select(page, cls: str, label: str):
    """Choose ``label`` in a filter dropdown and wait for the visible view to re-render."""
    before = seq(page)
    page.locator(f".{cls} select").select_option(label=label)
    wait_seq(page, before)


def show_tab(page, name: str):
    page.locator(".lm-TabBar-tab", has_text=name).first.click()
    page.wait_for_function("(n) => { const t = [...document.querySelectorAll('.lm-TabBar-tab.lm-mod-current')];"
                           " return t.some(x => x.innerText.includes(n)); }", arg=name, timeout=10_000)
    page.wait_for_function(f"() => ({_VISIBLE_VERSION})() >= 0", timeout=60_000)
    wait_idle(page)


def shoot(page, artifacts: Path, name: str):
    w = page.viewport_size["width"]
    h = page.viewport_size["height"]
    wait_idle(page)
    page.wait_for_timeout(200)
    page.screenshot(path=str(artifacts / f"dashboard_{name}_{w}x{h}.png"))


def images_ok(page) -> bool:
    """No broken image: every shown <img> has loaded pixels."""
    return page.evaluate("() => [...document.images].filter(i => i.offsetParent !== null)"
                         ".every(i => i.complete && i.naturalWidth > 0)")


# ----------------------------------------------------------------- one context per screen size
@pytest.fixture(scope="module", params=SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def screen(request, voila_server, chromium_browser, timings):
    w, h = request.param
    ctx = local_context(chromium_browser, w, h)
    pg, first = open_dashboard(ctx, voila_server, w, h)
    if (w, h) == SIZES[0]:
        timings["first_render_s"] = round(first, 3)
        timings["server_ready_s"] = round(voila_server.ready_s, 3)
        t0 = time.perf_counter()
        pg.wait_for_function("() => { const i = document.querySelector('img.qlw-chart');"
                             " return i && i.naturalWidth > 0; }", timeout=TIMEOUT)
        timings["first_chart_s"] = round(first + time.perf_counter() - t0, 3)
    yield {"page": pg, "ctx": ctx, "size": (w, h)}
    pg.close()
    ctx.close()


# ----------------------------------------------------------------- tests
def test_first_render_is_the_official_ranking(screen, oracle, artifacts):
    page = screen["page"]
    assert_no_errors(page)
    assert page.title() == TITLE
    f = dict(period=oracle.periods[-1], framework="QLI")
    exp = oracle.top(f)
    assert table_ids(page) == exp
    assert table_totals(page) == oracle.ranking(f["period"]).loc[exp, "total"].round(2).tolist()
    assert period_label(f["period"]) in page.inner_text(".qlw-app")  # 2025年下半年, not 2025H2
    page.wait_for_function("() => { const i = document.querySelector('img.qlw-chart');"
                           " return i && i.naturalWidth > 0; }", timeout=TIMEOUT)
    shoot(page, artifacts, "1_排行榜")


_BOXES = """() => {
  const vw = window.innerWidth, vh = window.innerHeight;
  const ths = [...document.querySelectorAll('table.qlw-rank thead th')];
  const box = document.querySelector('.qlw-rank-table').parentElement;
  const chart = document.querySelector('img.qlw-chart');
  const tb = document.querySelector('table.qlw-rank').getBoundingClientRect();
  const cb = chart && chart.offsetParent ? chart.getBoundingClientRect() : null;
  const cr = box.getBoundingClientRect();
  return {vw, vh, scroll: box.scrollWidth - box.clientWidth,
          overlap: cb ? !(cb.left >= tb.right || cb.right <= tb.left || cb.top >= tb.bottom || cb.bottom <= tb.top) : false,
          cols: ths.map(t => { const r = t.getBoundingClientRect();
            return {text: t.innerText.trim(), col: t.dataset.col, left: r.left, right: r.right, top: r.top,
                    bottom: r.bottom, inBox: r.left >= cr.left - 0.5 && r.right <= cr.right + 0.5}; })};
}"""


def test_every_ranking_column_is_visible(screen, artifacts):
    """综合得分, 等级, 同类名次, 较上期 and 预警 — every column — lies inside the viewport and its
    box, nothing scrolls sideways and the chart covers no part of the table: at this size and,
    for the laptop context, at 1440 and 1680 px too."""
    page = screen["page"]
    show_tab(page, TABS["ranking"])
    widths = [screen["size"]] + ([(1440, 900), (1680, 1050)] if screen["size"] == SIZES[0] else [])
    for w, h in widths:
        page.set_viewport_size({"width": w, "height": h})
        page.wait_for_timeout(400)
        b = page.evaluate(_BOXES)
        texts = [c["text"] for c in b["cols"]]
        for need in ("综合得分", "等级", "同类名次", "较上期", "预警"):
            assert need in texts, texts
        for c in b["cols"]:
            assert 0 <= c["left"] and c["right"] <= b["vw"] and 0 <= c["top"] and c["bottom"] <= b["vh"], (w, c)
            assert c["inBox"], (w, c)  # not clipped by its container
        assert b["scroll"] <= 1, f"the table scrolls sideways at {w} px"
        assert not b["overlap"], f"the chart overlaps the table at {w} px"
        if (w, h) != screen["size"]:
            page.screenshot(path=str(artifacts / f"dashboard_1_排行榜_{w}x{h}.png"))
    page.set_viewport_size({"width": screen["size"][0], "height": screen["size"][1]})
    page.wait_for_timeout(300)


def _filters(page) -> dict:
    out = {}
    for key in ("period", "framework", "city", "county", "township", "unit_type"):
        out[key] = page.locator(f".qlw-{key.replace('_', '-')} select").evaluate("s => s.value")
    return out


def _check_view(page, oracle, key: str, f: dict):
    """The visible view follows the filters ``f`` (what the oracle says it must show)."""
    v = view(page, key)
    text = v["text"]
    assert period_label(f["period"]) in text and oracle.names[f["framework"]] in text, (key, f, text)
    for lev in ("county", "township", "unit_type"):
        if f[lev] != "全部":
            assert f[lev] in text, (key, lev, f, text)
    assert int(v["n-units"]) == oracle.n_units(key, f), (key, f, v)
    scope = set(oracle.scope(f)["unit_id"])
    if key == "ranking":
        assert table_ids(page) == oracle.top(f)
    elif key == "weights":
        assert set(table_ids(page, "qlw-wrank")) <= scope
    elif key in ("sensitivity", "survey"):
        listed = page.locator(f".qlw-tab-{key} li[data-unit]").evaluate_all("e => e.map(x => x.dataset.unit)")
        assert set(listed) <= scope
    elif key == "unit":
        opts = page.locator(".qlw-unit-select option").evaluate_all("o => o.map(x => x.textContent)")
        assert len(opts) == min(len(scope), 500)


def _real_values(page, oracle) -> dict:
    """Filters as the oracle reads them: the <select> values are the option labels."""
    f = _filters(page)
    back = {period_label(p): p for p in oracle.periods}
    f["period"] = back.get(f["period"], f["period"])
    names = {v: k for k, v in oracle.names.items()}
    f["framework"] = names.get(f["framework"], f["framework"])
    return f


@pytest.mark.parametrize("key", list(TABS))
def test_every_filter_rerenders_every_tab(screen, oracle, artifacts, key):
    """With this tab open, change 评价期, 指标体系, 市州, 县市区, 乡镇 and 单位类型 in turn: the tab
    re-renders at once and shows what the filters select."""
    page = screen["page"]
    latest, first = oracle.periods[-1], oracle.periods[0]
    rk = oracle.ranking(latest)
    county = rk["county"].value_counts().index[0]
    township = rk.loc[rk["county"] == county, "township"].value_counts().index[0]
    utype = rk.loc[(rk["county"] == county) & (rk["township"] == township), "unit_type"].value_counts().index[0]
    city = rk["city"].value_counts().index[0]
    steps = [("qlw-period", period_label(first)), ("qlw-period", period_label(latest)), ("qlw-city", city),
             ("qlw-county", county), ("qlw-township", township), ("qlw-unit-type", utype), ("qlw-county", "全部"),
             ("qlw-framework", oracle.names["QLV"]), ("qlw-framework", oracle.names["QLI"]), ("qlw-city", "全部")]
    show_tab(page, TABS[key])
    for cls, label in steps:
        before = seq(page)
        page.locator(f".{cls} select").select_option(label=label)
        wait_seq(page, before)
        assert_no_errors(page)
        _check_view(page, oracle, key, _real_values(page, oracle))
        if cls == "qlw-township" and key != "unit":
            shoot(page, artifacts, f"filter_{key}_乡镇")
    page.wait_for_timeout(300)
    assert images_ok(page)


def _set_slider(page, node: str, value: float):
    ro = page.locator(f".qlw-w-{node} .widget-readout")
    ro.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(f"{value:.2f}")
    page.keyboard.press("Enter")


def time_slider_moves(page, node: str, values=(0.55, 0.10)) -> list[float]:
    """Seconds from each slider edit to the re-ranked weights table on screen."""
    times = []
    for value in values:
        before = seq(page, "qlw-wrank")
        t0 = time.perf_counter()
        _set_slider(page, node, value)
        wait_seq(page, before, "qlw-wrank")
        times.append(time.perf_counter() - t0)
        page.wait_for_timeout(300)  # let the rebalanced sliders settle
    return times


def test_weights_simulation(screen, oracle, artifacts, timings):
    page = screen["page"]
    show_tab(page, TABS["weights"])
    page.wait_for_selector("table.qlw-wrank tr[data-unit]", timeout=TIMEOUT)
    f = dict(period=oracle.periods[-1], framework="QLI")
    # at the official weights the simulation is the official ranking, with no grade change
    assert table_ids(page, "qlw-wrank")[:20] == oracle.top(f)
    assert page.locator("table.qlw-wrank tr.qlw-changed").count() == 0
    assert "nan" not in page.inner_text(".qlw-tab-weights")
    cls = page.locator(".qlw-wslider").first.get_attribute("class")
    node = next(c[len("qlw-w-"):] for c in cls.split() if c.startswith("qlw-w-"))
    times = time_slider_moves(page, node, (0.55, 0.10))
    if screen["size"] == SIZES[0]:
        timings["slider_update_s"] = round(max(times), 3)
        timings["slider_update_all_s"] = [round(t, 3) for t in times]
    used = json.loads(page.locator(".qlw-wcurrent").get_attribute("data-weights"))
    assert used[node] == pytest.approx(0.10, abs=0.0006) and sum(used.values()) == pytest.approx(1.0)
    n_changed = int(page.inner_text(".qlw-nchanged"))
    assert page.locator("table.qlw-wrank tr.qlw-changed").count() == min(n_changed, page.locator(
        "table.qlw-wrank tr[data-unit]").count())
    assert_no_errors(page)
    shoot(page, artifacts, "3_权重模拟")
    before = seq(page, "qlw-wrank")
    page.locator("button.qlw-reset").click()
    wait_seq(page, before, "qlw-wrank")
    assert page.locator("table.qlw-wrank tr.qlw-changed").count() == 0


def test_unit_card(screen, oracle, artifacts):
    page = screen["page"]
    show_tab(page, TABS["unit"])
    hint = page.locator(".qlw-unit-hint")
    if page.locator(".qlw-unit-select select").evaluate("s => s.selectedIndex") < 0:
        assert hint.count() == 1 and images_ok(page)  # a hint, not broken images
        shoot(page, artifacts, "2_体检报告单_未选择")
    show_tab(page, TABS["ranking"])
    f = dict(period=oracle.periods[-1], framework="QLI")
    uid = table_ids(page)[0]  # the 查看单位 picker defaults to the first row shown
    page.locator("button.qlw-open-unit").click()
    page.wait_for_selector(".qlw-report h1", timeout=TIMEOUT)
    assert_no_errors(page)
    card = page.inner_text(".qlw-unit-card")
    o = oracle.ranking(f["period"]).loc[uid]
    assert o["unit_name"] in card and f"{o['total']:.2f}" in card and str(o["grade"]) in card
    assert "二、优势指标" in card and "三、薄弱指标" in card and "六、预警情况" in card
    assert images_ok(page)
    # the card keeps its width; nothing of it is cut off at this screen size
    right = page.locator(".qlw-report .page").evaluate("e => e.getBoundingClientRect().right")
    assert right <= screen["size"][0]
    shoot(page, artifacts, "2_体检报告单")
    page.locator(".qlw-unit-dl").click()
    page.wait_for_selector("a.qlw-download", timeout=60_000)


def test_sensitivity_and_survey_content(screen, oracle, artifacts):
    page = screen["page"]
    period = oracle.periods[-1]
    show_tab(page, TABS["sensitivity"])
    page.wait_for_selector(".qlw-tab-sensitivity li[data-unit]", timeout=TIMEOUT)
    params = json.loads((oracle.proc / f"sensitivity_{period}.params.json").read_text(encoding="utf-8"))
    text = page.inner_text(".qlw-tab-sensitivity")
    assert params["QLI"]["description_zh"] in text  # what was simulated
    s = pd.read_parquet(oracle.proc / f"sensitivity_{period}.parquet")
    s = s[s["framework"] == "QLI"].set_index("unit_id")
    first = page.locator(".qlw-tab-sensitivity li[data-unit]").first.get_attribute("data-unit")
    pb = s.loc[first, "p_bottom_n"]
    assert s.loc[first, "p_nominal_grade"] < 0.95 or 0.05 < pb < 0.95  # an uncertain unit leads
    assert not re.search(r"名次 \d+\.\d", text)  # whole-number rank bounds
    page.wait_for_function("() => [...document.querySelectorAll('.qlw-tab-sensitivity img')]"
                           ".some(i => i.offsetParent && i.naturalWidth > 0)", timeout=TIMEOUT)
    assert images_ok(page)
    shoot(page, artifacts, "4_敏感性分析")

    show_tab(page, TABS["survey"])
    page.wait_for_function("() => { const i = document.querySelector('img.qlw-survey-chart');"
                           " return i && i.naturalWidth > 0; }", timeout=TIMEOUT)
    rk = oracle.ranking(period)
    div = rk[rk["warnings"].fillna("").str.contains("divergence")]
    listed = page.locator(".qlw-tab-survey li[data-unit]").evaluate_all("e => e.map(x => x.dataset.unit)")
    assert set(listed) == set(div["unit_id"])
    assert f"{len(div)} 个" in page.inner_text(".qlw-n-div")
    heads = page.locator(".qlw-tab-survey table.qlw-agreement thead tr").count()
    assert heads == 1
    d = rk.dropna(subset=["internal", "public"])
    x, y = d["internal"].to_numpy(float), d["public"].to_numpy(float)
    ccc = 2 * ((x - x.mean()) * (y - y.mean())).mean() / (x.var() + y.var() + (x.mean() - y.mean()) ** 2)
    row = page.locator(".qlw-tab-survey table.qlw-agreement tr", has_text="全部").first.inner_text().split()
    assert row[1] == str(len(d)) and f"{ccc:.3f}" in row, (row, ccc)  # Lin 1989, 1/n moments
    shoot(page, artifacts, "5_群众评价")


def test_overview_shows_excluded_cells_and_no_server_path(screen, oracle, artifacts, dashboard_root):
    page = screen["page"]
    show_tab(page, TABS["overview"])
    select(page, "qlw-period", period_label(oracle.periods[-2]))  # the demo's invalid cells are in 2025H1
    prob = pd.read_parquet(oracle.proc / "problems.parquet")
    shown = page.locator(".qlw-tab-overview table.qlw-problems tr[data-code]").count()
    files = prob["file"].astype(str)
    exp = prob[files.str.contains(f"/{oracle.periods[-2]}/") | ~files.str.contains(r"/\d{4}H[12]/")]
    assert shown == len(exp) and shown > 0
    body = page.inner_text("body")
    assert str(dashboard_root) not in body and "/tmp/" not in body
    shoot(page, artifacts, "6_数据概况")
    select(page, "qlw-period", period_label(oracle.periods[-1]))


def test_nothing_leaves_the_server(screen):
    """Every request of the page (scripts, styles, fonts, widgets) went to 127.0.0.1."""
    assert screen["ctx"].blocked_requests == []
    body = screen["page"].content()
    assert "Traceback" not in body and "cdn.jsdelivr" not in body


def test_no_code_or_traceback_shown(screen):
    page = screen["page"]
    assert "Traceback" not in page.content()
    assert "build_review_dashboard" not in page.inner_text("body")
    assert re.search(r"qlwork\.dashboard", page.inner_text("body")) is None


def test_second_viewer_gets_own_kernel_fast(screen, voila_server, chromium_browser, oracle, timings):
    """A second committee member opening the page on the running server gets an independent
    kernel: their filters do not move the first viewer's table."""
    if screen["size"] != SIZES[0]:
        pytest.skip("one second viewer is enough")
    page = screen["page"]
    page.wait_for_timeout(4000)  # the pool refills after the first viewer took its kernel
    ctx = local_context(chromium_browser, *SIZES[1])
    try:
        other, t = open_dashboard(ctx, voila_server, *SIZES[1])
        timings["second_viewer_render_s"] = round(t, 3)
        assert_no_errors(other)
        select(other, "qlw-period", period_label(oracle.periods[0]))
        assert table_ids(other) == oracle.top(dict(period=oracle.periods[0], framework="QLI"))
        show_tab(page, TABS["ranking"])
        assert page.locator(".qlw-period select").evaluate("s => s.value") == period_label(oracle.periods[-1])
        assert ctx.blocked_requests == []
    finally:
        ctx.close()



AFTER_RANKING = {"monitoring": "动态监测", "rectification": "整改跟踪", "risk": "风险点"}


def test_after_ranking_tabs_fit_and_follow_the_filters(screen, oracle, artifacts):
    """动态监测, 整改跟踪 and 风险点 as a person sees them: they open, show what the filters select,
    follow a county filter, draw real sparklines (no broken image) and nothing scrolls sideways."""
    page = screen["page"]
    rk = oracle.ranking(oracle.periods[-1])
    county = rk["county"].value_counts().index[0]
    for i, (key, title) in enumerate(AFTER_RANKING.items()):
        show_tab(page, title)
        for label in (county, "全部"):
            select(page, "qlw-county", label)
            assert_no_errors(page)
            f = _real_values(page, oracle)
            v = view(page, key)
            assert int(v["n-units"]) == oracle.n_units(key, f), (key, f, v)
            assert oracle.names[f["framework"]] in v["text"] and (label == "全部" or label in v["text"])
            if key == "monitoring":
                n = page.locator(".qlw-tab-monitoring table.qlw-mon-alerts tr[data-unit]").count()
                if n:
                    page.wait_for_function("() => [...document.querySelectorAll('img.qlw-spark')]"
                                           ".some(i => i.naturalWidth > 0)", timeout=TIMEOUT)
                listed = page.locator(".qlw-tab-monitoring tr[data-unit]").evaluate_all(
                    "e => e.map(x => x.dataset.unit)")
                assert set(listed) <= set(oracle.scope(f)["unit_id"])
            overflow = page.evaluate(f"""() => {{ const b = document.querySelector('.qlw-tab-{key}');
                return [b.scrollWidth - b.clientWidth, document.documentElement.scrollWidth - window.innerWidth]; }}""")
            assert max(overflow) <= 1, (key, label, overflow)
            assert images_ok(page)
            if label == "全部":
                shoot(page, artifacts, f"{7 + i}_{title}")
