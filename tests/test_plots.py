"""Charts (qlwork.charts.plots): Chinese glyphs, exports, wrapping, no overlap on 40 units."""
from __future__ import annotations

import functools
import itertools
import warnings

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib import font_manager as fm
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from qlwork.charts import plots as P
from qlwork.charts import survey as PS
from qlwork.errors import QlworkError
from qlwork.charts.fonts import find_cjk_font

N = 40
COUNTIES = ["芙蓉区", "天心区", "岳麓区", "开福区", "雨花区", "望城区", "长沙县", "浏阳市"]
KINDS = ["人民政府办公室", "教育局", "卫生健康局", "第一人民医院", "实验中学", "城市建设投资集团有限公司"]
NAMES = [f"{COUNTIES[i % 8]}{KINDS[i % 6]}{i // 6 + 1}" for i in range(N)]
NODES = ["干部清正", "政府清廉", "政治清明", "社会清朗", "服务对象满意度（群众评价）"]
PERIODS = ["2024H1", "2024H2", "2025H1", "2025H2"]


def _grade(x):
    return np.select([x >= 90, x >= 80, x >= 60], ["优秀", "良好", "合格"], "不合格")


def ranking_df():
    rng0 = np.random.default_rng(20251231)  # own seed: data independent of test order
    sc = np.clip(rng0.normal(78, 11, N), 30, 99.5)
    return pd.DataFrame({"unit_name": NAMES, "total": sc, "grade": _grade(sc)})


def scores_wide():
    rng0 = np.random.default_rng(20251232)  # own seed: data independent of test order
    return pd.DataFrame(np.clip(rng0.normal(75, 10, (N, len(NODES))), 0, 100), columns=NODES,
                        index=[f"U{i:06d}" for i in range(N)])


def rank_df():
    rng0 = np.random.default_rng(20251233)  # own seed: data independent of test order
    nr = np.arange(1, N + 1)
    med = np.clip(nr + rng0.normal(0, 2, N), 1, N)
    return pd.DataFrame({"unit": NAMES, "nominal_rank": nr, "rank_median": med,
                         "rank_lo": np.maximum(1, med - 5), "rank_hi": np.minimum(N, med + 5)})


def grade_prob_df():
    rng0 = np.random.default_rng(20251234)  # own seed: data independent of test order
    p = rng0.dirichlet([1, 1, 1, 1], N)
    d = pd.DataFrame(p, columns=list(P.GRADE_ORDER))
    d.insert(0, "unit", NAMES)
    return d


def agree_df():
    rng0 = np.random.default_rng(20251235)  # own seed: data independent of test order
    internal = np.clip(rng0.normal(78, 9, N), 0, 100)
    public = np.clip(0.6 * internal + rng0.normal(30, 7, N), 0, 100)
    d = pd.DataFrame({"unit_name": NAMES, "internal": internal, "public": public,
                      "unit_type": np.tile(["机关", "学校", "医院", "企业"], N // 4)})
    d["flag"] = (d["internal"] - d["public"]).abs() > 15
    return d


def region_df():
    rng0 = np.random.default_rng(20251236)  # own seed: data independent of test order
    return pd.DataFrame({"region": np.repeat([f"{c}{k}" for c in COUNTIES for k in ("城区街道", "乡镇片区", "开发区", "高新区", "农村")], len(NODES)),
                         "node": np.tile(NODES, N), "score": rng0.normal(76, 8, N * len(NODES))})


def trend_df():
    rng0 = np.random.default_rng(20251237)  # own seed: data independent of test order
    return pd.DataFrame({"period": np.tile(PERIODS[::-1], N),  # unsorted on purpose
                         "unit_name": np.repeat(NAMES, 4), "score": rng0.normal(76, 8, 4 * N)})


def dist_df():
    rng0 = np.random.default_rng(20251238)  # own seed: data independent of test order
    inds = ["党员干部立案处分人数", "审计发现问题金额占比", "巡察反馈问题整改销号率", "涉廉负面舆情条数", "12345热线投诉办结满意率"]
    return pd.DataFrame({"indicator": np.repeat(inds, 120), "value": rng0.gamma(2, 2, 600),
                         "unit_type": np.tile(["机关", "学校", "医院"], 200), "unit": "件/百人"})


def corr_df():
    rng0 = np.random.default_rng(20251239)  # own seed: data independent of test order
    cols = [f"指标{c}{i}" for c, i in zip("甲乙丙丁戊己庚辛壬癸子丑", range(12))]
    X = pd.DataFrame(rng0.normal(size=(200, 12)), columns=cols)
    X.iloc[:, 1] += X.iloc[:, 0]
    X.iloc[:, 5] -= X.iloc[:, 4]
    return X.corr()


def divergence_df():
    """Shaped like qlwork.analysis.compare.divergence output; 10 flagged units packed close together."""
    rng0 = np.random.default_rng(20251240)  # own seed: data independent of test order
    d = agree_df().rename(columns={"flag": "_f"}).drop(columns="_f")
    d["public_se"] = rng0.uniform(1.5, 5, N)
    d.loc[:9, "internal"] = 88 + rng0.uniform(0, 3, 10)  # a crowded corner: labels must not collide
    d.loc[:9, "public"] = 60 + rng0.uniform(0, 3, 10)
    d["public_expected"] = 0.6 * d["internal"] + 30 + d["unit_type"].map({"机关": 0, "学校": 3, "医院": -2, "企业": 1})
    d["flag_low_public"] = d.index < 10
    d["resid_gap"] = d["public"] - d["public_expected"]
    d["county"] = np.array(COUNTIES)[np.arange(N) % 8]
    return d


CHARTS = {
    "ranking_bar": lambda: P.ranking_bar(ranking_df(), highlight=[NAMES[3]]),
    "profile_radar": lambda: P.profile_radar(P.unit_vs_peers(scores_wide(), "U000003")),
    "profile_dots": lambda: P.profile_dots(P.unit_vs_peers(scores_wide(), "U000003")),
    "region_heatmap": lambda: P.region_heatmap(region_df(), node_order=NODES),
    "trend_lines": lambda: P.trend_lines(trend_df(), highlight=NAMES[:3], pass_mark=60),
    "trend_lines_few": lambda: P.trend_lines(trend_df().query("unit_name in @NAMES[:5]")),
    # Worst case for end labels: 8 series ending within half a point of each other.
    "trend_lines_crowded": lambda: P.trend_lines(pd.DataFrame({
        "period": np.tile(PERIODS, 8), "unit_name": np.repeat(NAMES[:8], 4),
        "score": np.r_[[[70 + k, 72 - k, 75, 80 + k * 0.06] for k in range(8)]].ravel()})),
    "distribution_plot": lambda: P.distribution_plot(dist_df(), group="unit_type", unit="unit"),
    "correlation_heatmap": lambda: P.correlation_heatmap(corr_df(), groups={c: c[2] < "丙" for c in corr_df().columns},
                                                         method_label="Spearman"),
    "rank_interval_plot": lambda: P.rank_interval_plot(rank_df()),
    "grade_probability_plot": lambda: P.grade_probability_plot(grade_prob_df()),
    "agreement_scatter": lambda: P.agreement_scatter(agree_df(), label="unit_name", flag="flag", group="unit_type"),
    "bland_altman_plot": lambda: P.bland_altman_plot(agree_df()),
    "ranking_bar_long_title": lambda: P.ranking_bar(
        ranking_df().head(8), title="一个很长的标题：某某县二〇二五年下半年清廉机关建设指数排行榜（机关、学校、医院、企业）"),
    # qlwork.charts.survey (issue 6): the same glyph, title and overlap checks
    "public_internal_scatter": lambda: PS.public_internal_scatter(divergence_df(), label="unit_name"),
    "bland_altman_ci_plot": lambda: PS.bland_altman_ci_plot(agree_df()["internal"], agree_df()["public"]),
    "region_gap_plot": lambda: PS.region_gap_plot(divergence_df()),
    "weights_comparison": lambda: P.weights_comparison(pd.DataFrame({
        "name": NAMES[:20], "nominal_weight": np.full(20, 0.05),
        "r2_share": np.random.default_rng(9).dirichlet(np.ones(20))})),
}


def _texts(fig):
    return [t for t in fig.findobj(mpl.text.Text) if t.get_visible() and t.get_text().strip()]


@functools.lru_cache(maxsize=None)
def rendered(name):
    """Build and draw a chart once (shared by the tests below; the CPU is shared too).

    Returns the figure, the glyph warnings raised while building and drawing
    it, and the Agg renderer it was drawn with.
    """
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        fig = CHARTS[name]()
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
    missing = [str(w.message) for w in rec if "missing from font" in str(w.message)]
    return fig, missing, canvas.get_renderer()


@pytest.mark.parametrize("name", list(CHARTS))
def test_every_chart_renders_chinese_without_missing_glyphs(name):
    fig, missing, _ = rendered(name)
    assert missing == [], missing
    assert isinstance(fig, mpl.figure.Figure)
    texts = _texts(fig)
    chinese = [t for t in texts if any("\u4e00" <= c <= "\u9fff" for c in t.get_text())]
    assert chinese, "每张图都应有中文标题或标签"
    # Every Chinese text resolves to the CJK font file (not silently to a fallback).
    cjk = find_cjk_font()
    for t in chinese:
        path = fm.findfont(t.get_fontproperties())
        assert fm.get_font(path).family_name == cjk.family, (t.get_text(), path)
    # A title that says what is measured.
    titles = [a.get_title(loc) for a in fig.axes for loc in ("left", "center")] + \
             [fig._suptitle.get_text() if fig._suptitle else ""]
    assert any(any("\u4e00" <= c <= "\u9fff" for c in s) for s in titles)


@pytest.mark.parametrize("name", ["ranking_bar", "profile_dots", "rank_interval_plot", "grade_probability_plot",
                                  "agreement_scatter", "bland_altman_plot", "region_heatmap"])
def test_inputs_not_mutated(name):
    makers = {"ranking_bar": (ranking_df, P.ranking_bar),
              "profile_dots": (lambda: P.unit_vs_peers(scores_wide(), "U000001"), P.profile_dots),
              "rank_interval_plot": (rank_df, P.rank_interval_plot),
              "grade_probability_plot": (grade_prob_df, P.grade_probability_plot),
              "agreement_scatter": (agree_df, P.agreement_scatter),
              "bland_altman_plot": (agree_df, P.bland_altman_plot),
              "region_heatmap": (region_df, P.region_heatmap)}
    make, fn = makers[name]
    df = make()
    before = df.copy()
    fn(df)
    pd.testing.assert_frame_equal(df, before)


def _overlaps(boxes) -> list[tuple[int, int]]:
    bad = []
    for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2):
        # Touching edges are fine; a shared area of more than 0.5 px² is an overlap.
        w = min(a.x1, b.x1) - max(a.x0, b.x0)
        h = min(a.y1, b.y1) - max(a.y0, b.y0)
        if w > 0.5 and h > 0.5:
            bad.append((i, j))
    return bad


@pytest.mark.parametrize("name,axis", [("ranking_bar", "y"), ("rank_interval_plot", "y"), ("weights_comparison", "y"),
                                       ("grade_probability_plot", "y"), ("region_heatmap", "y"),
                                       ("region_heatmap", "x"), ("correlation_heatmap", "x"),
                                       ("correlation_heatmap", "y"), ("trend_lines", "x")])
def test_no_overlapping_tick_labels_with_40_units(name, axis):
    fig, _, r = rendered(name)
    ax = fig.axes[0]
    labels = ax.get_yticklabels() if axis == "y" else ax.get_xticklabels()
    boxes = [t.get_window_extent(r) for t in labels if t.get_visible() and t.get_text()]
    if name in ("ranking_bar", "rank_interval_plot", "grade_probability_plot"):
        assert len(boxes) == N
    assert _overlaps(boxes) == []
    # And every label lies inside the figure (nothing cut off at the edges).
    W, H = fig.bbox.width, fig.bbox.height
    for b in boxes:
        assert b.x0 >= -1 and b.y0 >= -1 and b.x1 <= W + 1 and b.y1 <= H + 1


def test_ranking_figure_grows_with_units():
    small = P.ranking_bar(ranking_df().head(10))
    big = P.ranking_bar(ranking_df())
    assert big.get_figheight() > small.get_figheight() * 2
    assert big.get_figwidth() == pytest.approx(P.FULL_WIDTH)


def test_ranking_bar_colours_follow_grade_palette_and_pass_line():
    df = pd.DataFrame({"unit_name": ["甲", "乙", "丙", "丁"], "total": [95, 85, 70, 50],
                       "grade": ["优秀", "良好", "合格", "不合格"]})
    fig = P.ranking_bar(df, pass_mark=60)
    ax = fig.axes[0]
    bars = ax.patches[:4]
    got = [mpl.colors.to_hex(b.get_facecolor()) for b in bars]
    assert got == [P.GRADE_COLORS[g].lower() for g in ["优秀", "良好", "合格", "不合格"]]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["甲", "乙", "丙", "丁"]  # best on top
    assert any(line.get_xdata()[0] == 60 for line in ax.get_lines())
    legend_texts = [t.get_text() for lg in fig.legends for t in lg.get_texts()]
    assert legend_texts == ["优秀", "良好", "合格", "不合格", "合格线 60 分"]


def test_grade_palette_constant():
    assert tuple(P.GRADE_COLORS) == P.GRADE_ORDER
    assert len(set(P.GRADE_PALETTE)) == 4
    assert P.grade_color("未知") == P.OTHER_GRADE_COLOR


def test_grade_probability_accepts_tidy_input_and_sorts_best_first():
    tidy = pd.DataFrame({"unit": ["甲", "甲", "乙", "乙"], "grade": ["优秀", "合格", "优秀", "合格"],
                         "probability": [0.2, 0.8, 0.9, 0.1]})
    fig = P.grade_probability_plot(tidy)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["乙", "甲"]


# ------------------------------------------------------------------ exports
def test_save_figure_png_and_svg(tmp_path):
    fig = P.ranking_bar(ranking_df().head(8))  # small: a 300-dpi render is the slow part
    paths = P.save_figure(fig, tmp_path / "{period}" / "排行榜_{unit_type}", period="2025H2", unit_type="机关/学校")
    assert [p.name for p in paths] == ["排行榜_机关_学校.png", "排行榜_机关_学校.svg"]
    assert all(p.parent.name == "2025H2" for p in paths)
    with Image.open(paths[0]) as im:
        im.load()
        dpi = im.info.get("dpi")
        size = im.size
    assert dpi is not None and round(dpi[0]) == 300
    assert size[0] == pytest.approx(P.FULL_WIDTH * 300, abs=2)
    svg = paths[1].read_text(encoding="utf-8")
    assert "清廉指数排行榜" in svg and "<text" in svg  # text kept as text (searchable)
    assert find_cjk_font().family in svg
    assert not list(tmp_path.rglob("*.tmp"))  # atomic writes left no temp files


def test_save_figure_is_deterministic_and_ext_field(tmp_path):
    d = agree_df()
    # Same data, freshly drawn (as in two runs of a report) → same bytes.
    a = P.save_figure(P.bland_altman_plot(d), str(tmp_path / "a_{ext}_图"), formats=("svg",))
    b = P.save_figure(P.bland_altman_plot(d), str(tmp_path / "b_{ext}_图"), formats=("svg",))
    assert a[0].name == "a_svg_图"
    assert a[0].read_bytes() == b[0].read_bytes()


def test_save_figure_svg_outlines_option(tmp_path):
    fig = P.bland_altman_plot(agree_df())
    (svg,) = P.save_figure(fig, tmp_path / "ba", formats=("svg",), svg_text=False)
    text = svg.read_text(encoding="utf-8")
    assert "<text" not in text  # glyphs drawn as paths (matplotlib keeps the string in a comment)
    assert "<path" in text


def test_save_figure_missing_field_is_bilingual_error(tmp_path):
    fig = CHARTS["bland_altman_plot"]()
    with pytest.raises(QlworkError, match="文件名模式缺少字段"):
        P.save_figure(fig, tmp_path / "{period}_x")


# ------------------------------------------------------------------ wrapping
@pytest.mark.parametrize("text,width,expected", [
    ("干部清正", 10, "干部清正"),
    # 11 CJK chars at width 10 → two lines, balanced 6 + 5 (not 10 + 1).
    ("党员干部立案处分人数多", 10, "党员干部立案\n处分人数多"),
    # The parenthetical starts its own line when no extra line is needed.
    ("服务对象满意度（群众评价）", 10, "服务对象满意度\n（群众评价）"),
    # Latin words stay whole; ASCII counts half a character.
    ("12345热线投诉办结满意率", 6, "12345热线投\n诉办结满意率"),
    # Closing punctuation never starts a line.
    ("甲乙丙丁戊，己庚辛", 5, "甲乙丙丁戊，\n己庚辛"),
])
def test_wrap_label(text, width, expected):
    assert P.wrap_label(text, width) == expected


def test_wrap_label_max_lines_ellipsis_and_widths():
    out = P.wrap_label("一二三四五六七八九十一二三四五六七八九十", 5, max_lines=2)
    assert out == "一二三四五\n六七八九…"
    assert P.display_width("ab清廉") == 3.0
    assert P.wrap_label(None) == "" and P.wrap_label(float("nan")) == ""


# ------------------------------------------------------------- unit vs peers
def test_unit_vs_peers_hand_computed():
    s = pd.DataFrame({"G1": [10.0, 20, 30, 40, 50], "G2": [50.0, 50, 50, 60, np.nan]},
                     index=["a", "b", "c", "d", "e"])
    t = P.unit_vs_peers(s, "c", names={"G1": "干部清正"})
    g1, g2 = t.iloc[0], t.iloc[1]
    assert g1["label"] == "干部清正" and g2["label"] == "G2"
    # G1: median 30; linear quantiles: Q1 = 20, Q3 = 40; 2 lower + 0.5·1 tie of 5 → 50.
    assert (g1["score"], g1["peer_median"], g1["peer_q1"], g1["peer_q3"], g1["percentile"]) == (30, 30, 20, 40, 50)
    # G2 (NaN ignored, n = 4): 50 vs [50,50,50,60]: 0 lower + 0.5·3 ties → 1.5/4 = 37.5 %.
    assert g2["peer_n"] == 4 and g2["percentile"] == pytest.approx(37.5)
    assert g2["peer_median"] == 50 and g2["peer_q3"] == pytest.approx(52.5)


def test_bad_inputs_are_located_errors():
    with pytest.raises(QlworkError, match="缺少列"):
        P.ranking_bar(pd.DataFrame({"name": ["甲"], "total": [1.0]}))
    with pytest.raises(QlworkError, match="没有单位"):
        P.unit_vs_peers(scores_wide(), "nope")
    with pytest.raises(QlworkError, match="至少需要 3 个维度"):
        P.profile_radar(P.unit_vs_peers(scores_wide()[NODES[:2]], "U000001"))
    with pytest.raises(QlworkError, match="方阵"):
        P.correlation_heatmap(pd.DataFrame({"a": [1.0, 2.0]}))


def test_bland_altman_lines_match_formula():
    d = pd.DataFrame({"internal": [80.0, 70, 90, 60], "public": [70.0, 72, 80, 66]})
    fig = P.bland_altman_plot(d)
    # diffs 10, −2, 10, −6: mean 3; SD (n−1) = sqrt((49+25+49+81)/3) = sqrt(68) ≈ 8.246
    # LoA = 3 ± 1.96·8.246 = 19.16 / −13.16
    ys = sorted(round(l.get_ydata()[0], 2) for l in fig.axes[0].get_lines() if l.get_ydata()[0] != 0)
    assert ys == [pytest.approx(-13.16, abs=0.01), pytest.approx(3.0), pytest.approx(19.16, abs=0.01)]


def test_trend_periods_sorted_chronologically_and_written_as_a_person_reads_them():
    fig = CHARTS["trend_lines"]()
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == [
        "2024年上半年", "2024年下半年", "2025年上半年", "2025年下半年"]


def _drawn_texts(fig):
    """Every text matplotlib actually draws (tick labels outside the view limits are skipped)."""
    hidden = set()
    for ax in fig.axes:
        if not ax.get_visible():
            hidden.update(id(t) for t in ax.findobj(mpl.text.Text))
            continue
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                loc = tick.get_loc()
                if loc is None or not (lo - 1e-9 <= loc <= hi + 1e-9):
                    hidden.update((id(tick.label1), id(tick.label2)))
    return [t for t in fig.findobj(mpl.text.Text)
            if t.get_visible() and t.get_text().strip() and id(t) not in hidden]


@pytest.mark.parametrize("name", list(CHARTS))
def test_no_text_overlaps_any_other_text(name):
    # Titles, axis labels, tick labels, value labels, legends, notes: no two drawn
    # texts may share area (40 units for the unit charts).
    fig, _, r = rendered(name)
    texts = _drawn_texts(fig)
    # Text.get_window_extent: the text itself (an Annotation's own extent includes its arrow).
    for t in texts:
        if isinstance(t, mpl.text.Annotation):
            t.update_positions(r)
    boxes = [mpl.text.Text.get_window_extent(t, r) for t in texts]
    bad = [(texts[i].get_text(), texts[j].get_text()) for i, j in _overlaps(boxes)]
    assert bad == []
    # Nothing cut off at the figure's edges (long titles are wrapped).
    W, H = fig.bbox.width, fig.bbox.height
    outside = [t.get_text() for t, b in zip(texts, boxes) if b.x0 < -1 or b.y0 < -1 or b.x1 > W + 1 or b.y1 > H + 1]
    assert outside == []


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=list("清廉指数干部正政府明社会朗村事爽民心乡风朴群和睦（）、，：") + list("AB12"),
               min_size=0, max_size=40),
       st.sampled_from([3, 4, 5.5, 8, 10, 12]))
def test_wrap_label_properties(text, width):
    out = P.wrap_label(text, width)
    lines = out.split("\n")
    # Nothing lost or reordered (no spaces in this alphabet), and no empty lines.
    assert "".join(lines) == text
    assert all(lines) or text == ""
    # Each line fits, up to one closing punctuation mark kept off the next line
    # (1 character of slack); Latin/digit runs wider than a line are split.
    for line in lines:
        assert P.display_width(line) <= width + 1


def test_bland_altman_ci_plot_lines_and_bands_by_hand():
    # same four pairs as above: bias 3, SD = √68; t(0.975, 3) = 3.182446
    # bias CI = 3 ± 3.182446·√68/√4 = 3 ± 13.122 ; LoA CI = LoA ± 3.182446·√(3·68/4) = ± 22.727
    fig = PS.bland_altman_ci_plot([80.0, 70, 90, 60], [70.0, 72, 80, 66])
    ax = fig.axes[0]
    ys = sorted(round(line.get_ydata()[0], 2) for line in ax.get_lines())
    assert ys == [pytest.approx(-13.16, abs=0.01), 0.0, pytest.approx(3.0), pytest.approx(19.16, abs=0.01)]
    spans = ax.patches  # axhspan rectangles (y in data units)
    assert len(spans) == 3
    lows = sorted(p.get_y() for p in spans)
    highs = sorted(p.get_y() + p.get_height() for p in spans)
    t3, sd = 3.182446, np.sqrt(68)
    loa_lo, loa_hi = 3 - 1.96 * sd, 3 + 1.96 * sd
    h_l = t3 * np.sqrt(3 * 68 / 4)
    assert lows == pytest.approx(sorted([3 - t3 * sd / 2, loa_lo - h_l, loa_hi - h_l]), abs=1e-4)
    assert highs == pytest.approx(sorted([3 + t3 * sd / 2, loa_lo + h_l, loa_hi + h_l]), abs=1e-4)


def test_rank_axis_has_whole_number_ticks():
    fig = P.rank_interval_plot(rank_df().head(22))
    ax = fig.axes[0]
    lo, hi = ax.get_xlim()
    ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
    assert ticks and all(float(t).is_integer() for t in ticks)


# ------------------------------------------------------------------ the package (issue 15/16)
def test_grade_palette_is_the_labels_palette():
    from qlwork.labels import VETO_COLOR, grade_colors

    assert P.GRADE_COLORS == grade_colors(P.GRADE_ORDER)
    assert P.grade_color("优秀", vetoed=True) == VETO_COLOR == P.VETO_COLOR


def test_ranking_bar_draws_a_vetoed_unit_in_the_veto_colour():
    df = pd.DataFrame({"unit_name": ["甲", "乙", "丙"], "total": [95.0, 85.0, 55.0],
                       "grade": ["优秀", "不合格", "不合格"], "veto": [None, "重大违纪案件", ""]})
    fig = P.ranking_bar(df, pass_mark=60)
    got = [mpl.colors.to_hex(b.get_facecolor()) for b in fig.axes[0].patches[:3]]
    assert got == [P.GRADE_COLORS["优秀"].lower(), P.VETO_COLOR.lower(), P.GRADE_COLORS["不合格"].lower()]
    legend = [t.get_text() for lg in fig.legends for t in lg.get_texts()]
    assert legend == ["优秀", "不合格", "一票否决", "合格线 60 分"]
    values = [t.get_text() for t in fig.axes[0].texts]
    assert values == ["95.00", "85.00", "55.00"]  # published precision


def test_show_puts_a_png_into_the_cell_output():
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    from qlwork.charts import inline, show

    shell = InteractiveShell.instance()
    fig = P.ranking_bar(ranking_df().head(5))
    with capture_output() as cap:
        assert show(fig) is None
    assert len(cap.outputs) == 1 and "image/png" in cap.outputs[0].data
    png = cap.outputs[0].data["image/png"]
    png = png if isinstance(png, bytes) else __import__("base64").b64decode(png)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert inline() is True  # a Figure that ends a cell is shown as a PNG too
    assert shell.display_formatter.formatters["image/png"](fig)[:8] == b"\x89PNG\r\n\x1a\n"


def test_sensitivity_charts_take_the_persisted_table_uncertain_units_first():
    from qlwork.charts.sensitivity import select_units, uncertainty_order

    n = 50
    t = pd.DataFrame({"framework": "QLI", "unit_id": [f"U{i:03d}" for i in range(n)],
                      "unit_name": [f"单位{i}" for i in range(n)], "peer_group": "机关", "group_size": n,
                      "nominal_rank": np.arange(1, n + 1), "median_rank": np.arange(1, n + 1) * 1.0,
                      "rank_p05": np.maximum(1, np.arange(1, n + 1) - 2), "rank_p95": np.arange(1, n + 1) + 2,
                      "rank_interval_width": 4.0, "p_nominal_grade": 1.0, "p_bottom_n": 0.0,
                      "p_优秀": 0.0, "p_良好": 1.0, "p_合格": 0.0, "p_不合格": 0.0})
    t.loc[[10, 30], "p_nominal_grade"] = [0.6, 0.9]   # grade uncertain
    t.loc[47, "p_bottom_n"] = 0.5                     # bottom-N uncertain
    assert list(uncertainty_order(t)["unit_id"][:3]) == ["U010", "U030", "U047"]  # least sure of the grade first
    picked = select_units(t, n=5, how="uncertain")
    assert {"U010", "U030", "U047"} <= set(picked["unit_id"])
    assert list(picked["nominal_rank"]) == sorted(picked["nominal_rank"])
    fig = P.rank_interval_plot(t, n=5, how="uncertain")
    labels = [x.get_text() for x in fig.axes[0].get_yticklabels()]
    assert any("单位10" in s for s in labels) and "机关（共 50 个单位）" in fig.axes[0].get_title(loc="left")
    fig = P.grade_probability_plot(t, n=3, how="uncertain")
    assert {x.get_text() for x in fig.axes[0].get_yticklabels()} == {"单位10", "单位30", "单位47"}


def test_importing_the_charts_does_not_import_seaborn():
    import subprocess
    import sys

    code = ("import sys, qlwork.charts.plots, qlwork.charts.survey; "
            "print('seaborn' in sys.modules, 'matplotlib.pyplot' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]  # no seaborn (2 s of import), no pyplot (figures are pyplot-free)
