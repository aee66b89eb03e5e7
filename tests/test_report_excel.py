"""The review workbook: sheets, headers, exact numbers, formats, methodology, no formulas."""
from __future__ import annotations

import hashlib
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from report_fixtures import TRICKY_NAMES, make_result  # noqa: E402

openpyxl = pytest.importorskip("openpyxl")

from qlwork.report import write_workbook  # noqa: E402
from qlwork.io.safe import is_formula_like  # noqa: E402
from qlwork.report._common import display_width  # noqa: E402
from qlwork.report.excel import GRADE_FILLS  # noqa: E402


@pytest.fixture(scope="module")
def result():
    return make_result(48)


@pytest.fixture(scope="module")
def data_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("raw")
    (d / "departments").mkdir()
    a = d / "departments" / "纪检监察.xlsx"
    a.write_bytes(b"department workbook bytes \x00\x01")
    b = d / "units.xlsx"
    b.write_bytes(b"registry")
    return d, [a, b]


@pytest.fixture(scope="module")
def book(result, data_files, tmp_path_factory):
    root, files = data_files
    path = tmp_path_factory.mktemp("xl") / "清廉指数.xlsx"
    write_workbook(result, path, period="2025H2", scope="示范市", data_files=files, data_root=root)
    return path, openpyxl.load_workbook(path)


def _table(ws, header_row=1):
    rows = list(ws.iter_rows(min_row=header_row, values_only=True))
    return pd.DataFrame(rows[1:], columns=rows[0])


def test_sheet_names(book, result):
    _, wb = book
    level1 = [result.framework.name_of(n) for n in result.framework.level1]
    assert wb.sheetnames == ["汇总排行", *level1, "预警名单", "群众评价", "方法说明"]
    assert level1 == ["干部清正", "政府清廉", "政治清明", "社会清朗"]


def test_ranking_header_and_numbers_equal_index_result(book, result):
    _, wb = book
    ws = wb["汇总排行"]
    header = [c.value for c in ws[1]]
    assert header[:4] == ["单位编码", "单位名称", "单位类型", "同类组"] or header[:3] == ["单位编码", "单位名称", "单位类型"]
    for h in ("综合得分", "等级", "同类名次", "县市区内名次", "较上期", "预警", "专业分", "群众评价（获得感）",
              "干部清正(G1)", "社会清朗(G4)"):
        assert h in header, h
    t = _table(ws).set_index("单位编码")
    f = result.to_frame().set_index("unit_id")
    assert len(t) == len(f) == 48
    # values written, not rounded: every number equals the IndexResult's float exactly
    for col, h in (("total", "综合得分"), ("G1", "干部清正(G1)"), ("G3", "政治清明(G3)"), ("internal", "专业分"),
                   ("public", "群众评价（获得感）"), ("change", "较上期")):
        got = t[h].astype(float).reindex(f.index).to_numpy()
        np.testing.assert_array_equal(got, f[col].astype(float).to_numpy())
    assert (t["同类名次"].reindex(f.index).to_numpy() == f["rank"].to_numpy()).all()
    assert (t["等级"].reindex(f.index) == f["grade"]).all()
    # sorted best first
    tot = t["综合得分"].astype(float).to_numpy()
    assert (np.diff(tot) <= 0).all()


def test_formula_like_names_are_strings(book):
    path, wb = book
    ws = wb["汇总排行"]
    col = [c.value for c in ws[1]].index("单位名称") + 1
    seen = {}
    for r in range(2, ws.max_row + 1):
        c = ws.cell(row=r, column=col)
        if is_formula_like(c.value):
            seen[c.value] = c
    assert set(seen) == set(TRICKY_NAMES.values())
    for c in seen.values():
        assert c.data_type == "s"
    # and in the file itself there is no formula element anywhere
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/sheet"):
                xml = z.read(name).decode("utf-8")
                assert "<f>" not in xml and "<f " not in xml, name


def test_layout_freeze_filter_print_widths(book):
    _, wb = book
    ws = wb["汇总排行"]
    assert ws.freeze_panes == "C2"
    assert ws.auto_filter.ref.startswith("A1:")
    assert ws.page_setup.orientation == "landscape"
    assert int(ws.page_setup.paperSize) == 9  # A4 in the OOXML paper-size table
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    header = [c.value for c in ws[1]]
    name_letter = openpyxl.utils.get_column_letter(header.index("单位名称") + 1)
    # "测试单位0005号" = 6 CJK (12) + 5 Latin = 17 columns, plus padding
    assert ws.column_dimensions[name_letter].width >= 17
    assert display_width("清廉ab") == 6


def test_number_formats(book):
    _, wb = book
    ws = wb["汇总排行"]
    header = [c.value for c in ws[1]]
    assert ws.cell(row=2, column=header.index("综合得分") + 1).number_format == "0.00"
    assert ws.cell(row=2, column=header.index("同类名次") + 1).number_format == "0"


def test_conditional_formats_for_grades_and_warnings(book):
    _, wb = book
    ws = wb["汇总排行"]
    header = [c.value for c in ws[1]]
    g = openpyxl.utils.get_column_letter(header.index("等级") + 1)
    w = openpyxl.utils.get_column_letter(header.index("预警") + 1)
    rules = {str(rng.sqref): [r for r in rs] for rng, rs in ws.conditional_formatting._cf_rules.items()}
    grade_rng = next(k for k in rules if k.startswith(f"{g}2:"))
    formulas = " ".join(f for r in rules[grade_rng] for f in r.formula)
    for grade in GRADE_FILLS:
        assert f'"{grade}"' in formulas
    assert any(k.startswith(f"{w}2:") for k in rules)
    assert "预警名单" in wb.sheetnames and wb["预警名单"].conditional_formatting


def test_node_sheet_equals_normalized(book, result):
    _, wb = book
    t = _table(wb["干部清正"]).set_index("单位编码")
    fw = result.framework
    assert "干部清正(G1)" in t.columns and "组内名次" in t.columns
    for iid in fw.leaves_under("G1"):
        h = f"{fw.name_of(iid)}({iid})"
        got = t[h].astype(float).reindex(result.normalized.index)
        np.testing.assert_array_equal(got.to_numpy(), result.normalized[iid].astype(float).to_numpy())


def test_warning_sheet_lists_every_warning_with_indicators(book, result):
    _, wb = book
    t = _table(wb["预警名单"])
    w = result.warnings[~result.warnings["code"].isin(["missing_data", "missing_public"])]
    assert len(t) == len(w) > 0
    assert set(t["预警代码"]) == set(w["code"])
    assert t["相关指标"].str.contains("同组中位|较上期").all()
    drops = t[t["预警代码"] == "large_drop"]
    assert len(drops) and drops["相关指标"].str.contains("较上期-").all()  # the indicators that fell


def test_public_sheet_gap(book, result):
    _, wb = book
    t = _table(wb["群众评价"]).set_index("单位编码")
    s = result.scores
    np.testing.assert_allclose(t["获得感−专业分"].astype(float).reindex(s.index),
                               (s["public"] - s["internal"]).to_numpy(), rtol=0, atol=1e-12)
    assert set(t["象限"]) <= {"双高", "双低", "专业分高、获得感低", "专业分低、获得感高"}


def test_methodology_sheet(book, result, data_files):
    _, wb = book
    ws = wb["方法说明"]
    cells = [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]
    text = "\n".join(cells)
    fw = result.framework
    assert fw.fingerprint() in text and fw.version in text and fw.id in text
    assert result.spec.fingerprint() in text
    # the spec in plain Chinese: every row of describe_zh (what a reviewer reads) …
    for item, value in result.spec.describe_zh():
        if item not in ("指标体系", "规格指纹"):
            assert value in cells, (item, value)
    assert "固定阈值法（goalposts）" in text and "加权算术平均" in text and "2025年下半年" in text
    # … and no raw JSON, float noise, internal English values or absolute paths of this machine
    rows = [str(c.value) for row in ws.iter_rows(max_col=3) for c in row if c.value is not None]
    for bad in ("null", "Infinity", "-inf", "{", "[", "0000000", "minmax", "arithmetic", "unit_type", "None"):
        assert not [r for r in rows if bad in r], bad
    assert not [c for c in cells if c.startswith("/")], "absolute path"
    root, files = data_files
    for f in files:  # checksums computed independently here
        assert hashlib.sha256(f.read_bytes()).hexdigest() in cells
    assert "departments/纪检监察.xlsx" in cells
    # every indicator with its effective weight (no float noise in the stored numbers)
    for iid in fw.indicator_ids:
        assert iid in cells
    weights = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, float)]
    assert all(len(repr(w)) <= 14 for w in weights), [w for w in weights if len(repr(w)) > 14][:3]


def test_methodology_plain_values():
    from qlwork.report.methodology import plain, rel_path

    assert plain(0.04000000000000001) == "0.04" and plain(0.2 * 3) == "0.6" and plain(60.0) == "60"
    assert plain(float("-inf")) == "无下限" and plain(float("inf")) == "无上限" and plain(None) == "—"
    assert plain(float("nan")) == "—" and plain([1, 2.5]) == "1、2.5" and plain({"a": 0.1 + 0.2}) == "a：0.3"
    assert plain(True) == "是" and plain(12345) == "12,345"
    assert rel_path("/somewhere/else/file.xlsx", "/project") == "file.xlsx"
    assert rel_path("/project/data/raw/units.xlsx", "/project") == "data/raw/units.xlsx"


def test_sensitivity_sheet(result, tmp_path):
    f = result.to_frame()
    sens = pd.DataFrame({"unit_id": f["unit_id"], "rank_p05": f["rank"], "rank_p95": f["rank"] + 2,
                         "median_rank": f["rank"] + 1, "p_优秀": 0.1, "p_良好": 0.2, "p_合格": 0.6,
                         "p_不合格": 0.1, "p_bottom_n": 0.05})
    path = write_workbook(result, tmp_path / "s.xlsx", sensitivity=sens)
    wb = openpyxl.load_workbook(path)
    assert "敏感性" in wb.sheetnames and "图表" not in wb.sheetnames
    t = _table(wb["敏感性"]).set_index("单位编码")
    assert (t["名次区间上限(95%)"].reindex(f["unit_id"]).to_numpy() == (f["rank"] + 2).to_numpy()).all()
    assert (t["末位概率"] == 0.05).all() and (t["合格概率"] == 0.6).all()


def test_real_sensitivity_result(result, tmp_path):
    from qlwork.sensitivity import run

    sens = run(result, draws=64, seed=5, progress=False)
    path = write_workbook(result, tmp_path / "r.xlsx", sensitivity=sens)
    wb = openpyxl.load_workbook(path)
    t = _table(wb["敏感性"]).set_index("单位编码")
    u = sens.to_frame().set_index("unit_id")
    np.testing.assert_array_equal(t["末位概率"].reindex(u.index).astype(float), u["p_bottom_n"].astype(float))
    text = [str(c.value) for row in wb["方法说明"].iter_rows() for c in row if c.value is not None]
    said = next(t for t in text if "共模拟" in t or "模拟" in t and "64" in t)
    assert "64" in said and "5" in said  # draws and seed, in a sentence


def test_charts_exported_and_embedded(tmp_path):
    from qlwork.report.charts import export_charts

    small = make_result(12, seed=3)
    charts, skipped = export_charts(small, tmp_path / "charts", stem="QLI", dpi=50)
    assert {"排行榜", "专业分与获得感"} <= set(charts), skipped
    for name, paths in charts.items():
        assert {p.suffix for p in paths} == {".png", ".svg"} and all(p.stat().st_size > 1000 for p in paths)
    path = write_workbook(small, tmp_path / "c.xlsx", charts=charts)
    wb = openpyxl.load_workbook(path)
    assert "图表" in wb.sheetnames and len(wb["图表"]._images) == len(charts)


def test_divergence_warning_of_the_result_is_listed(tmp_path):
    # the workbook lists the result's divergence warning (one definition, scored with the result)
    base = make_result(40)
    internal = base.scores["internal"]
    pub = (internal - 12).copy()
    odd = internal.index[7]
    pub[odd] -= 18
    res = make_result(40, public=pd.DataFrame({"unit_id": pub.index, "public": pub.clip(0, 100).to_numpy(),
                                               "public_se": 2.0}), social_share=0.3)
    path = write_workbook(res, tmp_path / "c.xlsx")
    wb = openpyxl.load_workbook(path)
    t = _table(wb["预警名单"])
    d = t[t["预警代码"] == "divergence"]
    assert list(d["单位编码"]) == [odd]

def test_rank_interval_charts_from_a_real_sensitivity_run(tmp_path):
    # regression: the sensitivity table carries unit_name, and joining it to the result's
    # unit_name raised inside export_charts, which aborted `qlwork report --sensitivity-draws`
    from qlwork.report import UnitReportBuilder
    from qlwork.report.charts import export_charts
    from qlwork.sensitivity import run

    small = make_result(16, seed=3)
    sens = run(small, draws=32, seed=5, progress=False)
    table = UnitReportBuilder(small, sensitivity=sens).sens
    charts, skipped = export_charts(small, tmp_path / "charts", sensitivity_table=table, stem="QLI", dpi=50)
    assert skipped == {}
    groups = sorted(small.units["peer_group"].astype(str).unique())
    # ranks are within a peer group: one rank-interval chart per group
    assert sorted(k for k in charts if k.startswith("排名区间")) == [f"排名区间_{g}" for g in groups]
    svg = charts[f"排名区间_{groups[0]}"][1].read_text(encoding="utf-8")
    assert "组内排名不确定性" in svg and groups[0] in svg


def test_public_sheet_carries_divergence_evidence_in_chinese(result, tmp_path):
    # a real qlwork.analysis.compare.divergence table: its evidence joins the public table as
    # Chinese-headed columns (one header row, one row per unit), values written exactly
    from qlwork.analysis.compare import divergence

    s = result.scores
    rng = np.random.default_rng(4)
    d = pd.DataFrame({"unit_id": s.index, "internal": s["internal"],
                      "public": 0.8 * s["internal"] + 12 + rng.normal(0, 1.0, len(s)),
                      "public_se": np.linspace(1.0, 2.0, len(s)),
                      "unit_type": result.units.loc[s.index, "peer_group"]})
    d.loc[d.index[[2, 5]], "public"] -= 25  # two clearly divergent units
    cmp = divergence(d.reset_index(drop=True), draws=200)
    path = write_workbook(result, tmp_path / "p.xlsx", compare=cmp)
    wb = openpyxl.load_workbook(path)
    ws = wb["群众评价"]
    header = [c.value for c in ws[1]]
    assert None not in header and ws.max_row == len(s) + 1  # nothing appended below
    assert not [h for h in header if h.isascii()]  # every header Chinese (z/p inside are fine)
    t = _table(ws).set_index("单位编码")
    c = cmp.set_index("unit_id")
    for col, h in (("resid_gap", "获得感−同类预期"), ("p_low_adj", "偏低检验校正p值(单侧,BH)"),
                   ("public_expected", "同类预期获得感"), ("p_bottom", "获得感末位概率")):
        np.testing.assert_array_equal(t[h].astype(float).reindex(c.index).to_numpy(), c[col].astype(float).to_numpy())
    flagged = set(c.index[c["flag_low_public"]])
    assert flagged and set(t.index[t["背离预警"] == "是"]) == flagged
    L = openpyxl.utils.get_column_letter(header.index("背离预警") + 1)
    rules = {str(r.sqref) for r in ws.conditional_formatting}
    assert any(r.startswith(f"{L}2:") for r in rules)


def test_scatter_chart_marks_divergent_units(tmp_path):
    from qlwork.report.charts import export_charts

    small = make_result(12, seed=3)
    f = small.to_frame()
    odd = f["unit_id"].iloc[4]
    cmp = pd.DataFrame({"unit_id": f["unit_id"], "flag_low_public": f["unit_id"] == odd})
    charts, skipped = export_charts(small, tmp_path / "charts", divergence=cmp, stem="QLI", dpi=50)
    svg = charts["专业分与获得感"][1].read_text(encoding="utf-8")
    assert skipped == {} and "背离预警" in svg  # the flagged point's legend entry
    name = f.set_index("unit_id").loc[odd, "unit_name"]
    assert name in svg  # and its label
