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
    assert f"{f['total']:.1f}" in html and str(f["grade"]) in html
    assert html.count("<svg") >= 3  # node bars, trend (two periods), public-vs-internal
    assert "2025H1" in html  # the trend axis shows the earlier period
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
    # weakest = largest weighted loss, checked by hand from the normalised row and leaf weights
    x = result.normalized.loc[uid].dropna()
    w = result.leaf_weights.reindex(x.index)
    loss = (w / w.sum()) * (100 - x)
    assert [r["id"] for r in ctx["weakest"]] == list(loss.sort_values(ascending=False).index[:3])


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
    assert sorted(p.stem for p in (out / "units").glob("*.html")) == sorted(result.scores.index)
    assert len(list((out / "notices").glob("*_预警通知书.html"))) == len(warned_units(UnitReportBuilder(result)))
    assert (out / "清廉指数_2025H2_示范市_QLI.xlsx").is_file() and (out / "notices" / "预警汇总_QLI.xlsx").is_file()
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for entry in man["files"]:
        assert hashlib.sha256((out / entry["path"]).read_bytes()).hexdigest() == entry["sha256"]
    assert "units/U000001.html" in (out / "index.html").read_text(encoding="utf-8")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_subset_rewrites_only_those_units(result, tmp_path):
    out = tmp_path / "set"
    generate_reports(result, out_dir=out, progress=False, charts=False)
    before = {p.name: p.stat().st_mtime_ns for p in (out / "units").glob("*.html")}
    rs = generate_reports(result, out_dir=out, units=["U000002"], progress=False, charts=False)
    after = {p.name: p.stat().st_mtime_ns for p in (out / "units").glob("*.html")}
    assert set(after) == set(before)
    changed = {k for k in after if after[k] != before[k]}
    assert changed == {"U000002.html"} and len(rs.unit_reports) == 1


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
    args = ["report", "--period", "2025H2", "--scope", "甲县", "--processed", str(proc), "--raw", str(raw),
            "--out", str(out), "--no-charts", "--quiet", "--normalization", "goalposts",
            "--public", str(tmp_path / "public.csv")]
    assert main(args) == 0
    jia = set(units.loc[units["county"] == "甲县", "unit_id"])
    assert {p.stem for p in (out / "units").glob("*.html")} == jia
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


def test_divergence_warning_states_the_residual_evidence(result):
    # a qlwork.analysis.compare.divergence table: the warning must give the evidence the flag rests on
    # (public score below the peers' expectation, BH-adjusted one-sided p), not only the raw gap
    s = result.scores
    cmp = pd.DataFrame({"unit_id": s.index, "gap": 20.0, "z_gap": 3.7, "quadrant": "专业分高、获得感低",
                        "resid_gap": -14.25, "p_low_adj": 0.0031,
                        "flag_low_public": np.arange(len(s)) == 3})
    b = UnitReportBuilder(result, compare=cmp)
    uid = s.index[3]
    w = next(x for x in b.warnings_of(uid) if x["code"] == "divergence")
    text = str(w)
    assert "获得感比同类单位预期低 14.2 分" in text and "p=0.0031" in text and "专业分−获得感 +20.0" in text
    assert not any(x["code"] == "divergence" for x in b.warnings_of(s.index[4]))
    assert "获得感比同类单位预期低 14.2 分" in render_notice(b, uid)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(40, 100), st.floats(40, 100)), min_size=2, max_size=6))
def test_trend_value_labels_never_struck_by_the_peer_line(pairs):
    # seen in a rendered report: the dashed peer-median line ran through "83.7", "80.7" …
    from qlwork.report.svg import trend_line

    values, peer = [p[0] for p in pairs], [p[1] for p in pairs]
    svg = trend_line([f"P{i}" for i in range(len(pairs))], values, peer=peer)
    cy = [float(m) for m in re.findall(r'<circle cx="[\d.]+" cy="([\d.-]+)"', svg)]
    base = [float(m) for m in re.findall(r'<text x="[\d.]+" y="([\d.-]+)" font-size="9.5"', svg)]
    line = re.search(r'<polyline points="([^"]+)"[^>]*stroke-dasharray', svg).group(1)
    peer_y = [float(pt.split(",")[1]) for pt in line.split()]
    assert len(cy) == len(base) == len(peer_y) == len(pairs)
    for y, b, py in zip(cy, base, peer_y):
        assert not (b - 11.4 <= py <= b + 1.9), (y, b, py)  # band [b − 9.5, b] ± 2 px clear (0.1 px: rounding)
        assert b < y - 3 or b > y + 3  # and the label is beside its point, not on it


@NEEDS_CHROMIUM
@pytest.mark.browser
def test_village_report_with_sensitivity_prints_on_two_a4_pages(tmp_path):
    # the longest report: 5 goals (四清一和), 26 indicators, trend, public gap and the
    # sensitivity section; before the print CSS was tightened it took three pages
    from qlwork.framework import builtin_framework, load_framework
    from qlwork.engine.index import compute_index
    from qlwork.sensitivity import run
    from report_fixtures import registry

    fw = load_framework(builtin_framework("village"))
    units = registry(30, seed=8).assign(unit_type="村居", framework="village")
    rng = np.random.default_rng(8)
    rows = []
    for p in ("2024H2", "2025H1", "2025H2"):
        for iid, ind in fw.indicators.items():
            lo, hi = ind.goalposts or (0.0, 100.0)
            q = rng.beta(5.0, 2.0, len(units))
            rows.append(pd.DataFrame({"unit_id": units["unit_id"], "period": p, "indicator_id": iid,
                                      "value": lo + (hi - lo) * (q if ind.direction > 0 else 1 - q)}))
    res = compute_index(pd.concat(rows), fw, period="2025H2", units=units, normalization="goalposts")
    b = UnitReportBuilder(res, sensitivity=run(res, draws=64, seed=3, progress=False))
    from qlwork.report.pdf import htmls_to_pdf

    htmls = []
    for uid in res.scores.index[:3]:
        html = tmp_path / f"{uid}.html"
        html.write_text(b.render(uid), encoding="utf-8")
        assert "排名与等次的不确定性" in html.read_text(encoding="utf-8")
        htmls.append(html)
    pdfs, _ = htmls_to_pdf(htmls, progress=False)  # one browser for the three
    pages = [len(re.findall(rb"/Type\s*/Page[^s]", p.read_bytes())) for p in pdfs]
    assert pages == [2, 2, 2]


def test_gap_comment_is_relative_to_the_peer_gap():
    # public scores sit ~12 points under internal for every unit (a scale difference shared
    # by the group), one unit 30 under: only that unit gets the "纸面合规" comment
    base = make_result(40)
    internal = base.scores["internal"]
    pub = (internal - 12).copy()
    odd = internal.index[5]
    pub[odd] -= 18
    res = make_result(40, public=pub.clip(0, 100), social_share=0.3)
    b = UnitReportBuilder(res)
    flagged = b.render(odd)
    assert "需关注“纸面合规”" in flagged and "比同组典型差值再低" in flagged
    usual = b.render(internal.index[6])
    assert "纸面合规" not in usual and "差值与同组单位相近" in usual


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
    assert main(["report", "--period", "2025H2", "--processed", str(proc), "--raw", str(raw), "--out", str(out),
                 "--quiet", "--normalization", "goalposts", "--sensitivity-draws", "16"]) == 0
    book = next(out.glob("清廉指数_2025H2_*.xlsx"))
    assert "敏感性" in openpyxl.load_workbook(book, read_only=True).sheetnames
    groups = sorted(units["unit_type"].unique())
    assert {p.stem for p in (out / "charts").glob("*排名区间_*.png")} == {f"QLI_排名区间_{g}" for g in groups}
