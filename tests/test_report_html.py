"""Per-unit health-check reports (体检报告单), notices, PDFs and the batch layout."""
from __future__ import annotations

import json
import hashlib
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))
from report_fixtures import TRICKY_NAMES, make_result  # noqa: E402

from qlwork.report import UnitReportBuilder, find_chromium, generate_reports, html_to_pdf, html_to_png  # noqa: E402
from qlwork.report.notices import render_notice, warned_units  # noqa: E402
from qlwork.report.svg import score_bars  # noqa: E402

NEEDS_CHROMIUM = pytest.mark.skipif(find_chromium() is None, reason="未安装 Chromium (no Chromium)")


@pytest.fixture(scope="module")
def result():
    return make_result(40)


@pytest.fixture(scope="module")
def builder(result):
    return UnitReportBuilder(result, scope="示范市")


def test_report_contents(builder, result):
    uid = result.scores.index[4]
    html = builder.render(uid)
    f = result.to_frame().set_index("unit_id").loc[uid]
    assert "清廉单元体检报告单" in html and f["unit_name"] in html and uid in html
    for n in result.framework.level1:
        assert result.framework.name_of(n) in html
    assert f"{f['total']:.2f}" in html and str(f["grade"]) in html  # the published total, 2 decimals
    assert html.count("<svg") >= 3  # node bars, trend (two periods), public-vs-internal
    assert "上半年" in html and "2025H1" not in html  # the trend axis: the earlier period as a person reads it
    for sec in ("优势指标", "薄弱指标", "变化趋势", "群众评价与专业评价", "预警情况", "排名与等次的不确定性"):
        assert sec in html
    # self-contained: no external stylesheet, script or image
    assert not re.search(r'<(link|script)[^>]+(href|src)=', html)
    assert not re.search(r'<img[^>]+src="(?!data:)', html)
    assert "@page" in html and "A4" in html and "Noto Sans CJK SC" in html


def test_formula_like_name_escaped(builder):
    html = builder.render("U000001")
    name = TRICKY_NAMES[0]
    assert name not in html  # raw quotes must be escaped
    assert name.replace('"', "&#34;") in html or name.replace('"', "&quot;") in html


def test_peer_statistics_against_pandas(builder, result):
    # peer median of G2 for one unit, computed directly from the scores table
    uid = result.scores.index[9]
    peers = result.units.loc[result.scores.index, "peer_group"]
    mates = peers.index[peers == peers[uid]]
    ctx = builder.context(uid)
    g2 = next(n for n in ctx["nodes"] if n["id"] == "G2")
    assert g2["median"] == pytest.approx(float(np.median(result.scores.loc[mates, "G2"])), abs=1e-12)
    assert g2["value"] == result.scores.at[uid, "G2"]
    assert ctx["peer_n"] == len(mates)
    # weak / strong by the one rule, recomputed with pandas: gap to the peer median (0.1 point),
    # weak = gap < 0 ordered by weight × gap, strong = gap > 0 ordered by weight × gap descending
    N = result.normalized.loc[mates]
    gap = (result.normalized.loc[uid] - N.median()).round(1).dropna()
    w = result.effective_weights.loc[uid]
    pub = {i for i in result.framework.indicator_ids if result.framework.indicators[i].public}
    eff = pd.Series({i: (g if i in pub else w[i] * g) for i, g in gap.items()})
    want_weak = [i for i in eff[gap < 0].sort_values(kind="stable").index][:3]
    want_strong = [i for i in eff[gap > 0].sort_values(ascending=False, kind="stable").index][:3]
    assert [r["id"] for r in ctx["weakest"]] == want_weak
    assert [r["id"] for r in ctx["strongest"]] == want_strong
    assert not {r["id"] for r in ctx["weakest"]} & {r["id"] for r in ctx["strongest"]}
    # decomposition: the weights printed scored the unit; the points lost add up to 100 − internal
    lost = sum(r["loss"] for r in ctx["indicators"] if not r["public"])
    assert lost == pytest.approx(100 - result.scores.at[uid, "internal"], abs=1e-9)


def test_closeness_rank_band_by_brute_force(builder, result):
    peers = result.units.loc[result.scores.index, "peer_group"]
    for uid in result.scores.index[:12]:
        u = builder.uncertainty(uid)
        s = result.scores.at[uid, "total"]
        tot = result.scores.loc[peers.index[peers == peers[uid]], "total"]
        assert u["rank_lo"] == 1 + int((tot > s + 1.0).sum())
        assert u["rank_hi"] == int((tot >= s - 1.0).sum())
        assert u["rank_lo"] <= result.ranking.at[uid, "rank"] <= u["rank_hi"]


def test_sensitivity_replaces_closeness(result):
    f = result.to_frame()
    sens = pd.DataFrame({"unit_id": f["unit_id"], "rank_p05": 2.0, "rank_p95": 7.0, "median_rank": 4.0,
                         "p_优秀": 0.0, "p_良好": 0.25, "p_合格": 0.7, "p_不合格": 0.05, "p_bottom_n": 0.13})
    b = UnitReportBuilder(result, sensitivity=sens)
    u = b.uncertainty("U000003")
    assert u["source"] == "sensitivity" and (u["rank_lo"], u["rank_hi"], u["rank_median"]) == (2, 7, 4)
    assert u["p_bottom"] == 0.13 and [g["p"] for g in u["grade_probs"]] == [0.0, 0.25, 0.7, 0.05]
    html = b.render("U000003")
    assert "2–7" in html and "13%" in html  # 0.13 shown as a percentage


def test_svg_bar_geometry():
    # width 660, labels 150, right margin 52 → plot 458 px; a score of 50 draws 229 px (row height 26)
    svg = score_bars([{"label": "干部清正", "value": 50.0, "p25": 40.0, "median": 45.0, "p75": 60.0}])
    assert 'width="229.0"' in svg
    # interquartile band 40..60 → 20 % of 458 = 91.6 px starting at 150 + 183.2
    assert 'x="333.2"' in svg and 'width="91.6"' in svg


@settings(max_examples=200, deadline=None)
@given(st.floats(0, 100), st.floats(0, 100))
def test_svg_value_label_never_crossed_by_peer_median(value, median):
    # the value label (≤ 30 px wide, "100.0" at 11 px) must not sit on the peer-median tick
    # (2 px wide): seen in a rendered report where "75.3" was struck through by the median
    svg = score_bars([{"label": "社会清朗", "value": value, "p25": None, "median": median, "p75": None}])
    tx = float(re.search(r'<text x="([\d.]+)"[^>]*font-size="11"[^>]*>[\d.]+</text>', svg).group(1))
    xm = float(re.search(r'<line x1="([\d.]+)"[^>]*stroke-width="2"/>', svg).group(1))
    assert not (tx - 1 < xm + 1 and xm - 1 < tx + 30), (tx, xm)
    bar_end = 150 + 458 * value / 100
    assert tx >= bar_end + 4 - 0.05  # the label stays right of its bar
    assert tx + 30 <= 660  # and inside the chart


def test_notices_for_warned_units_only(builder, result):
    codes = result.warnings[~result.warnings["code"].isin(["missing_data", "missing_public"])]
    assert set(warned_units(builder)) == set(codes["unit_id"])
    uid = codes["unit_id"].iloc[0]
    html = render_notice(builder, uid, number=3)
    assert "预警通知书" in html and "预警第 003 号" in html
    for reason in codes.loc[codes["unit_id"] == uid, "reason_zh"]:
        assert reason in html
    assert "主要相关指标" in html


def test_batch_layout_and_manifest(result, tmp_path):
    rs = generate_reports(result, period="2025H2", scope="示范市", out_dir=tmp_path / "set", progress=False,
                          charts=False)
    out = tmp_path / "set"
    assert rs.out_dir == out
    names = result.to_frame().set_index("unit_id")["unit_name"]
    files = sorted(p.name for p in (out / "units").glob("*.html"))
    assert [f.split("_", 1)[0] for f in files] == sorted(result.scores.index)  # <code>_<name>.html
    assert "U000005_测试单位0005号.html" in files and "U000002_86联络处.html" in files  # readable names …
    for f in files:  # … and safe: no separators, quotes, spaces or control characters
        assert not set(f) & set('/\\:*?"<>| \t\n') and f.isprintable(), f
    assert names["U000001"].startswith("=HYPERLINK")
    assert len(list((out / "notices").glob("*_预警通知书.html"))) == len(warned_units(UnitReportBuilder(result)))
    assert (out / "清廉指数_2025H2_示范市_QLI.xlsx").is_file() and (out / "notices" / "预警汇总_QLI.xlsx").is_file()
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for entry in man["files"]:
        assert hashlib.sha256((out / entry["path"]).read_bytes()).hexdigest() == entry["sha256"]
    index = (out / "index.html").read_text(encoding="utf-8")
    from urllib.parse import quote

    assert f'href="{quote("units/U000005_测试单位0005号.html")}"' in index
    assert index.count('<section id="fw-QLI">') == 1  # one index per framework
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_subset_rewrites_only_those_units(result, tmp_path):
    out = tmp_path / "set"
    generate_reports(result, out_dir=out, progress=False, charts=False)
    before = {p.name: p.stat().st_mtime_ns for p in (out / "units").glob("*.html")}
    rs = generate_reports(result, out_dir=out, units=["U000002"], progress=False, charts=False)
    after = {p.name: p.stat().st_mtime_ns for p in (out / "units").glob("*.html")}
    assert set(after) == set(before)
    changed = {k for k in after if after[k] != before[k]}
    assert changed == {"U000002_86联络处.html"} and len(rs.unit_reports) == 1


@NEEDS_CHROMIUM
@pytest.mark.browser
def test_render_to_png_and_pdf(builder, tmp_path):
    from PIL import Image

    html = tmp_path / "U000005.html"
    html.write_text(builder.render("U000005"), encoding="utf-8")
    png = html_to_png(html, tmp_path / "u.png")
    assert png is not None and png.stat().st_size > 50_000
    im = np.asarray(Image.open(png).convert("RGB")).astype(int)
    assert im.shape[:2] == (1754, 1240)
    assert im.std() > 20  # not a blank page
    dark = (im.sum(axis=2) < 200).mean()
    assert 0.005 < dark < 0.3  # text is drawn (CJK glyphs, not an empty page or a black one)
    # the font the report asks for first is installed here (else Chromium draws tofu boxes)
    import shutil
    import subprocess

    if shutil.which("fc-match"):
        css_first = re.search(r'font-family:\s*"([^"]+)"', html.read_text(encoding="utf-8")).group(1)
        got = subprocess.run(["fc-match", "-f", "%{family}", css_first], capture_output=True, text=True).stdout
        assert css_first in got, (css_first, got)
    pdf = html_to_pdf(html, tmp_path / "u.pdf")
    data = pdf.read_bytes()
    assert data[:5] == b"%PDF-" and len(data) > 20_000
    assert re.search(rb"/MediaBox ?\[0 0 59[45]\.?\d* 84[12]", data)  # A4 = 595 × 842 pt


def test_cli_report_scope(tmp_path, capsys):
    from qlwork.cli import main
    from report_fixtures import raw_values, registry

    proc, raw, out = tmp_path / "processed", tmp_path / "raw", tmp_path / "out"
    proc.mkdir()
    raw.mkdir()
    units = registry(36, seed=2)
    raw_values(units, seed=2).to_parquet(proc / "values.parquet")
    units.to_parquet(proc / "units.parquet")
    pd.DataFrame({"unit_id": units["unit_id"], "public": np.linspace(50, 95, len(units)),
                  "public_se": 3.0}).to_csv(tmp_path / "public.csv", index=False)
    assert main(["score", "--period", "2025H2", "--processed", str(proc), "--raw", str(raw),
                 "--normalization", "goalposts", "--public", str(tmp_path / "public.csv")]) == 0
    args = ["report", "--period", "2025H2", "--scope", "甲县", "--processed", str(proc), "--raw", str(raw),
            "--out", str(out), "--no-charts", "--quiet"]
    assert main(args) == 0
    jia = set(units.loc[units["county"] == "甲县", "unit_id"])
    assert {p.stem.split("_", 1)[0] for p in (out / "units").glob("*.html")} == jia
    book = next(out.glob("清廉指数_2025H2_甲县_*.xlsx"))
    import openpyxl

    wb = openpyxl.load_workbook(book)
    assert "群众评价" in wb.sheetnames  # public scores given → the public sheet appears
    assert main(["report", "--period", "2025H2", "--scope", "不存在县", "--processed", str(proc),
                 "--raw", str(raw), "--out", str(out), "--quiet"]) == 2
    assert "找不到范围" in capsys.readouterr().err


def test_report_files_readable_by_group(result, tmp_path):
    import os
    import stat

    out = tmp_path / "set"
    old = os.umask(0o022)
    try:
        generate_reports(result, out_dir=out, progress=False, charts=False, notices=False)
    finally:
        os.umask(old)
    modes = {stat.S_IMODE(p.stat().st_mode) for p in out.rglob("*") if p.is_file()}
    assert modes == {0o644}


def test_large_drop_names_the_indicators_that_fell(builder, result):
    w = result.warnings[result.warnings["code"] == "large_drop"]
    assert len(w)
    uid = w["unit_id"].iloc[0]
    nh = result.normalized_history
    delta = (nh.xs("2025H2", level=0).loc[uid] - nh.xs("2025H1", level=0).loc[uid]).dropna()
    expected = list(delta[delta < 0].sort_values().index[:3])
    got = next(x for x in builder.warnings_of(uid) if x["code"] == "large_drop")["behind"]
    assert [r["id"] for r in got] == expected
    assert [r["change"] for r in got] == pytest.approx(list(delta[expected]), abs=1e-12)


def test_bottom_n_uncertain_when_p_bottom_below_half(result):
    f = result.to_frame()
    bottom = result.warnings.loc[result.warnings["code"] == "bottom_n", "unit_id"]
    sens = pd.DataFrame({"unit_id": f["unit_id"], "rank_p05": 1.0, "rank_p95": 9.0,
                         "p_bottom_n": np.where(f["unit_id"] == bottom.iloc[0], 0.3, 0.9)})
    b = UnitReportBuilder(result, sensitivity=sens)
    flags = {u: next(x for x in b.warnings_of(u) if x["code"] == "bottom_n")["uncertain"] for u in bottom}
    assert flags[bottom.iloc[0]] is True and not any(v for u, v in flags.items() if u != bottom.iloc[0])
    assert "不确定" in render_notice(b, bottom.iloc[0])


def test_agrees_with_index_result_unit(builder, result):
    """Second method: IndexResult.unit() (the index engine's own per-unit view) must agree."""
    for uid in result.scores.index[:8]:
        ur = result.unit(uid)
        ctx = builder.context(uid)
        for n in ctx["nodes"]:
            assert n["median"] == pytest.approx(float(ur.peers.loc[n["id"], "median"]), abs=1e-12)
            assert n["p25"] == pytest.approx(float(ur.peers.loc[n["id"], "q1"]), abs=1e-12)
        assert ctx["peer_n"] == ur.n_peers and ctx["rank"] == ur.rank and ctx["grade"] == ur.grade
        mine = [r["id"] for r in ctx["strongest"]]
        theirs = list(ur.strongest["indicator_id"])
        if (ur.strongest["diff"] > 0).all():
            assert mine == theirs
        assert ctx["trend"]["values"] == pytest.approx(list(ur.trend["total"]), abs=1e-12)


@NEEDS_CHROMIUM
@pytest.mark.browser
def test_batch_pdf(tmp_path):
    small = make_result(4, seed=4)
    rs = generate_reports(small, out_dir=tmp_path / "set", progress=False, charts=False, pdf=True,
                          notices=False)
    assert len(rs.pdfs) == len(rs.unit_reports) == 4
    for p in rs.pdfs:
        assert p.is_file() and p.read_bytes()[:5] == b"%PDF-" and p.with_suffix(".html").is_file()


def _divergent_result():
    """A result whose public scores (with standard errors) sit ~12 points under internal for every unit —
    a scale difference shared by the peers — and one unit 30 under: only that unit diverges."""
    base = make_result(40)
    internal = base.scores["internal"]
    pub = (internal - 12).copy()
    odd = internal.index[5]
    pub[odd] -= 18
    t = pd.DataFrame({"unit_id": pub.index, "public": pub.clip(0, 100).to_numpy(), "public_se": 2.0})
    return make_result(40, public=t, social_share=0.3), odd, internal.index[6]


def test_divergence_warning_comes_from_the_result():
    # one definition (qlwork.analysis.compare.divergence, computed when the result is scored):
    # the report shows the result's divergence warning, the notice lists it, nothing recomputes it
    res, odd, usual = _divergent_result()
    assert res.warnings[res.warnings.code == "divergence"].unit_id.tolist() == [odd]
    b = UnitReportBuilder(res)
    w = next(x for x in b.warnings_of(odd) if x["code"] == "divergence")
    assert w["reason"] == "群众评价显著低于专业分"
    assert not [x for x in b.warnings_of(usual) if x["code"] == "divergence"]

def test_gap_comment_follows_the_divergence_warning():
    # the "纸面合规" comment is printed exactly when the result raised the divergence warning
    res, odd, usual = _divergent_result()
    b = UnitReportBuilder(res)
    flagged = b.render(odd)
    assert "需关注“纸面合规”" in flagged and "群众评价显著低于按专业分预期的水平" in flagged
    plain = b.render(usual)
    assert "纸面合规" not in plain and "未发现显著背离" in plain

def test_cli_report_with_sensitivity_and_charts(tmp_path):
    # regression: `qlwork report --sensitivity-draws N` (charts on) crashed in export_charts
    import openpyxl

    from qlwork.cli import main
    from report_fixtures import raw_values, registry

    proc, raw, out = tmp_path / "processed", tmp_path / "raw", tmp_path / "out"
    proc.mkdir()
    raw.mkdir()
    units = registry(16, seed=5)
    raw_values(units, seed=5).to_parquet(proc / "values.parquet")
    units.to_parquet(proc / "units.parquet")
    assert main(["score", "--period", "2025H2", "--processed", str(proc), "--raw", str(raw),
                 "--normalization", "goalposts"]) == 0
    assert main(["report", "--period", "2025H2", "--processed", str(proc), "--raw", str(raw), "--out", str(out),
                 "--quiet", "--sensitivity-draws", "16"]) == 0
    book = next(out.glob("清廉指数_2025H2_*.xlsx"))
    assert "敏感性" in openpyxl.load_workbook(book, read_only=True).sheetnames
    groups = sorted(units["unit_type"].unique())
    assert {p.stem for p in (out / "charts").glob("*排名区间_*.png")} == {f"QLI_排名区间_{g}" for g in groups}


def test_rewriting_a_unit_removes_its_files_under_an_old_name(result, tmp_path):
    from qlwork.report import write_unit_reports

    out = tmp_path / "units"
    out.mkdir()
    stale = ["U000005_旧名称.html", "U000005_旧名称.pdf", "U000005.html"]
    others = ["U0000051_别的单位.html", "U000006_测试单位0006号.pdf", "U000005_测试单位0005号_附件.txt"]
    for n in stale + others:
        (out / n).write_text("old", encoding="utf-8")
    paths = write_unit_reports(result, out, units=["U000005"], progress=False)
    assert [p.name for p in paths] == ["U000005_测试单位0005号.html"]
    left = sorted(p.name for p in out.iterdir())
    assert not set(stale) & set(left)
    assert set(others) - {"U000005_测试单位0005号_附件.txt"} <= set(left)  # other units untouched
