"""qlwork.io.ingest: registry and workbook readers, the Parquet store, all-or-nothing writes."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from openpyxl import Workbook

from qlwork.demo import generate_demo
from qlwork.io.safe import MARKER, write_marker
from qlwork.errors import QlworkError
from qlwork.framework import load_framework
from qlwork.io.build import VALUE_COLUMNS, ingest
from qlwork.io.ingest import UNIT_COLUMNS, load_units, load_values, read_department_workbook

from mini_framework import FW

UNITS = [["单位编码", "单位名称", "单位类型", "市州", "县市区", "乡镇(街道)", "框架", "在编人数", "服务人口"],
         ["U1", "甲局", "机关", "清江市", "临川县", "东城街道", "county", 20, 1000],
         ["U2", "乙校", "学校", "清江市", "临川县", "东城街道", "county", "３０", 800],
         ["U3", "丙校", "学校", "清江市", "临川县", "西城街道", "county", 40, None]]
HEAD = [["2025年上半年报送表（纪检监察）"], ["填报单位：临川县纪委监委（盖章）"],
        ["序号", "单位编码", "单位名称", "甲", None, None],
        [None, None, None, "问题数（件）", "整改率（%）", "乱收费数（件）"]]
ROWS = [[1, "U1", "甲局", 0, 95, "/"],          # Excel row 5
        [2, "U2", "乙校", 1, "９８.５", 0],      # row 6: full-width digits
        [3, "U3", "丙校", "2", "100%", " 1 "]]  # row 7: text numbers, % sign, spaces


def write_xlsx(path: Path, rows, sheet="数据", merges=()):
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    for r in rows:
        ws.append(r)
    for m in merges:
        ws.merge_cells(m)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


def make_raw(root: Path, rows_h1=ROWS) -> Path:
    raw = root / "raw"
    raw.mkdir(parents=True)
    (raw / "framework_county.yaml").write_text(yaml.safe_dump(FW, allow_unicode=True), encoding="utf-8")
    write_xlsx(raw / "units.xlsx", UNITS, "单位名录")
    merges = ["A3:A4", "B3:B4", "C3:C4", "D3:F3"]
    write_xlsx(raw / "departments" / "2025H1" / "纪检监察.xlsx", HEAD + rows_h1 + [[], ["备注：略"]], merges=merges)
    write_xlsx(raw / "departments" / "2025H2" / "纪检监察.xlsx", HEAD + ROWS + [["填表人：张某"]], merges=merges)
    return raw


def test_period_range():
    from qlwork.periods import period_range

    assert period_range("2024H2", "2025H2") == ["2024H2", "2025H1", "2025H2"]
    assert period_range("2025H1", "2025H1") == ["2025H1"]


def test_read_workbook_messy_cells_and_provenance(tmp_path):
    raw = make_raw(tmp_path)
    fw = {"county": load_framework(FW)}
    res = read_department_workbook(raw / "departments/2025H1/纪检监察.xlsx", fw, period="2025H1",
                                   department="纪检监察", file_label="departments/2025H1/纪检监察.xlsx")
    assert res.problems == [] and res.sheets == {"数据": "county"}
    c = res.cells.set_index(["unit_id", "indicator_id"])
    assert c.loc[("U2", "pct"), "value"] == 98.5
    assert c.loc[("U3", "pct"), "value"] == 100.0
    assert c.loc[("U3", "cnt"), "value"] == 2.0
    assert c.loc[("U3", "sch"), "value"] == 1.0
    assert c.loc[("U1", "sch"), "status"] == "missing"
    assert tuple(c.loc[("U2", "pct"), ["row", "column", "sheet", "source"]]) == (6, "E", "数据", "纪检监察")
    assert len(res.cells) == 9  # notes rows skipped


def test_load_units(tmp_path):
    u = load_units(make_raw(tmp_path))
    assert list(u.columns) == UNIT_COLUMNS
    assert u["unit_id"].tolist() == ["U1", "U2", "U3"]
    assert u.loc[1, "staff"] == 30.0  # full-width digits
    assert np.isnan(u.loc[2, "population"])


def test_load_units_raises_located(tmp_path):
    raw = make_raw(tmp_path)
    write_xlsx(raw / "units.xlsx", UNITS + [["U2", "又一个", "学校", "", "", "", "county", 1, 1]], "单位名录")
    with pytest.raises(QlworkError) as e:
        load_units(raw)
    p = e.value.problems[0]
    assert (p.code, p.file, p.row, p.column) == ("duplicate_unit", "units.xlsx", 5, "A")


def test_ingest_clean(tmp_path):
    raw = make_raw(tmp_path)
    res = ingest(raw, tmp_path / "out")
    v = load_values(tmp_path / "out")
    assert list(v.columns) == VALUE_COLUMNS
    # 3 units × 3 indicators × 2 periods, minus U1's not-applicable "sch" in both periods
    assert res.n_values == len(v) == 16 and res.n_excluded == 0
    assert v["value"].dtype == np.float64
    h1 = v[v.period == "2025H1"].set_index(["unit_id", "indicator_id"])
    assert h1.loc[("U2", "pct"), "value"] == 98.5
    assert (h1.loc[("U2", "pct"), "file"], h1.loc[("U2", "pct"), "row"], h1.loc[("U2", "pct"), "column"]) == (
        "departments/2025H1/纪检监察.xlsx", 6, "E")
    units = pd.read_parquet(tmp_path / "out" / "units.parquet")
    assert list(units.columns) == UNIT_COLUMNS and len(units) == 3
    assert len(pd.read_parquet(tmp_path / "out" / "problems.parquet")) == 0
    assert "写入 16 个数值" in res.summary_zh()
    assert res.to_frame().shape[0] >= 5


def test_a_workbook_outside_the_period_folders_is_named_not_skipped(tmp_path):
    """A clerk saves 审计.xlsx next to the period folders: it is not read, and validation says where
    it is and where it belongs (before, it vanished without a word)."""
    from qlwork.io.validate import validate

    raw = make_raw(tmp_path)
    write_xlsx(raw / "departments" / "审计.xlsx", HEAD + ROWS, merges=["A3:A4", "B3:B4", "C3:C4", "D3:F3"])
    rep = validate(raw)
    bad = [p for p in rep.problems if p.code == "misplaced_file"]
    assert len(bad) == 1 and bad[0].file == "departments/审计.xlsx" and bad[0].severity == "error"
    assert "departments/<期别>/审计.xlsx" in str(bad[0].expected) and "未读取" in bad[0].message
    assert not [p for p in rep.problems if p.code != "misplaced_file"]


def test_ingest_with_errors_writes_nothing(tmp_path):
    bad = [list(r) for r in ROWS]
    bad[0][3] = "待核实"
    bad[1][4] = 120
    raw = make_raw(tmp_path, bad)
    out = tmp_path / "out"
    out.mkdir()
    write_marker(out, "processed")  # an earlier ingest's folder
    (out / "values.parquet").write_bytes(b"old")
    with pytest.raises(QlworkError) as e:
        ingest(raw, out)
    assert sorted(p.code for p in e.value.problems) == ["non_numeric", "out_of_range"]
    assert (out / "values.parquet").read_bytes() == b"old"  # untouched
    assert sorted(os.listdir(out)) == [MARKER, "values.parquet"]  # no partial files, no temp files


def test_ingest_exclude_invalid(tmp_path):
    bad = [list(r) for r in ROWS]
    bad[0][3] = "待核实"
    bad[1][4] = 120
    bad.append([4, "U9", "无名局", 1, 90, "/"])
    raw = make_raw(tmp_path, bad)
    res = ingest(raw, tmp_path / "out", exclude_invalid=True)
    v = load_values(tmp_path / "out")
    # 16 clean values minus the two bad cells; the unknown unit's 2 numbers excluded too
    assert len(v) == 14 and res.n_excluded == 2 + 3
    assert "U9" not in set(v.unit_id)
    assert not ((v.period == "2025H1") & (v.unit_id == "U1") & (v.indicator_id == "cnt")).any()
    probs = pd.read_parquet(tmp_path / "out" / "problems.parquet")
    assert sorted(probs.code) == ["non_numeric", "out_of_range", "unknown_unit"]
    assert "排除无效单元格 5 个" in res.summary_zh()


def test_load_values_missing_store(tmp_path):
    with pytest.raises(QlworkError) as e:
        load_values(tmp_path)
    assert "qlwork ingest" in str(e.value)


# ------------------------------------------------------------------ the demo
@pytest.fixture(scope="module")
def demo_ingested(tmp_path_factory):
    root = tmp_path_factory.mktemp("proj")
    generate_demo(root / "data" / "raw")
    return root


def test_demo_ingest_matches_an_independent_reading(demo_ingested, tmp_path):
    raw = demo_ingested / "data" / "raw"
    with pytest.raises(QlworkError):  # the demo has deliberate errors
        ingest(raw, tmp_path / "strict")
    assert not (tmp_path / "strict").exists() or not any((tmp_path / "strict").iterdir())
    res = ingest(raw, tmp_path / "out", exclude_invalid=True)
    v = load_values(tmp_path / "out")
    units = pd.read_parquet(tmp_path / "out" / "units.parquet")
    assert res.periods == ("2024H1", "2024H2", "2025H1", "2025H2")
    assert not v.duplicated(["unit_id", "period", "indicator_id"]).any()
    assert set(v.unit_id) <= set(units.unit_id)
    # pandas' own reader on one workbook (two-row header) agrees with the store
    f = "departments/2025H2/审计.xlsx"
    df = pd.read_excel(raw / f, sheet_name="机关及企事业单位", header=[2, 3], engine="openpyxl")
    df = df[df.iloc[:, 1].astype(str).str.match(r"U\d{6}$")]
    col = [c for c in df.columns if str(c[1]).startswith("政府采购合规率")][0]
    ref = pd.to_numeric(df[col].astype(str).str.translate(str.maketrans("０１２３４５６７８９．", "0123456789."))
                        .str.strip().str.rstrip("%"), errors="coerce")
    ref.index = df.iloc[:, 1].to_numpy()
    got = v[(v.file == f) & (v.indicator_id == "procure_comp")].set_index("unit_id")["value"]
    assert len(got) == len(ref) > 100
    np.testing.assert_allclose(got.reindex(ref.index).to_numpy(), ref.to_numpy())
    # per-period counts: applicable cells only (village units have no county indicators)
    fw_c = load_framework(raw / "framework_county.yaml")
    app = fw_c.applicability(["机关", "学校", "医院", "企业"])
    dept = [i for i in fw_c.indicator_ids if fw_c.indicators[i].source == "审计"]
    n_exp = sum(int(app.loc[t, dept].sum()) * n for t, n in units[units.framework == "county"].unit_type.value_counts().items())
    assert (v[(v.file == f) & (v.sheet == "机关及企事业单位")].shape[0]) == n_exp


def _qlwork(args, root: Path):
    env = dict(os.environ, QLWORK_ROOT=str(root), PYTHONIOENCODING="utf-8")
    exe = Path(sys.executable).parent / "qlwork"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "qlwork"]
    return subprocess.run(cmd + args, cwd=root, env=env, capture_output=True, text=True, timeout=300)


def test_cli_ingest(demo_ingested):
    r = _qlwork(["ingest"], demo_ingested)
    assert r.returncode == 2 and "待核实" in r.stderr
    assert not (demo_ingested / "data" / "processed" / "values.parquet").exists()
    r = _qlwork(["ingest", "--exclude-invalid"], demo_ingested)
    assert r.returncode == 0, r.stderr
    assert "写入" in r.stdout and "排除无效单元格" in r.stdout
    assert (demo_ingested / "data" / "processed" / "values.parquet").is_file()
    assert len(load_values(demo_ingested / "data" / "processed")) > 50_000


def test_package_level_ingest_is_the_function(tmp_path):
    import qlwork
    import qlwork.io.ingest  # noqa: F401

    res = qlwork.ingest(make_raw(tmp_path), tmp_path / "o")
    assert res.n_values == 16
    assert len(qlwork.load_values(tmp_path / "o")) == 16
    assert len(qlwork.load_units(tmp_path / "raw")) == 3


# ------------------------------------------------------------- property test
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

_FULL = str.maketrans("0123456789.-", "０１２３４５６７８９．－")
_messy = st.sampled_from(["number", "text", "full", "spaces", "percent"])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(vals=st.lists(st.tuples(st.integers(0, 50), st.floats(0, 100, allow_nan=False).map(lambda x: round(x, 1)),
                               _messy, _messy), min_size=3, max_size=3))
def test_messy_forms_read_back_exactly(tmp_path, vals):
    """Whatever form a department types a number in, the value read back is the number."""
    def form(x, how):
        s = repr(x)
        return {"number": x, "text": s, "full": s.translate(_FULL), "spaces": f" {s} ", "percent": f"{s}%"}[how]
    rows = [[i + 1, f"U{i + 1}", "x", form(c, hc), form(p, hp), "/" if i == 0 else 0]
            for i, (c, p, hc, hp) in enumerate(vals)]
    d = tmp_path / f"h{abs(hash(str(vals)))}"
    write_xlsx(d / "w.xlsx", HEAD + rows)
    res = read_department_workbook(d / "w.xlsx", {"county": load_framework(FW)}, period="2025H1", department="纪检监察")
    got = res.cells.set_index(["unit_id", "indicator_id"])["value"]
    for i, (c, p, _, _) in enumerate(vals):
        assert got[(f"U{i + 1}", "cnt")] == c
        assert got[(f"U{i + 1}", "pct")] == p


# ------------------------------------------------------- monthly submissions roll up
def _monthly_raw(tmp_path, months, rows_of):
    raw = tmp_path / "raw"
    raw.mkdir(parents=True)
    (raw / "framework_county.yaml").write_text(yaml.safe_dump(FW, allow_unicode=True), encoding="utf-8")
    write_xlsx(raw / "units.xlsx", UNITS, "单位名录")
    for i, m in enumerate(months):
        write_xlsx(raw / "departments" / m / "纪检监察.xlsx", HEAD + rows_of(i) + [["备注：略"]],
                   merges=["A3:A4", "B3:B4", "C3:C4", "D3:F3"])
    return raw


def test_monthly_values_roll_up_into_the_half_year(tmp_path):
    months = ("2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06")
    cnt = [1, 0, 2, 0, 3, 1]            # counts: sum → 7
    pct = [90, 92, 94, 96, 98, 100]    # percentages: mean → 95

    def rows(i):
        return [[1, "U1", "甲局", cnt[i], pct[i], "/"], [2, "U2", "乙校", 0, 100, i], [3, "U3", "丙校", 1, 50, 0]]

    raw = _monthly_raw(tmp_path, months, rows)
    res = ingest(raw, tmp_path / "out")
    v = load_values(tmp_path / "out").set_index(["unit_id", "indicator_id"])
    assert list(load_values(tmp_path / "out").columns) == VALUE_COLUMNS
    assert set(v["period"]) == {"2025H1"}
    assert v.loc[("U1", "cnt"), "value"] == 7 and v.loc[("U1", "cnt"), "rollup"] == "sum"
    assert v.loc[("U1", "pct"), "value"] == pytest.approx(95.0) and v.loc[("U1", "pct"), "rollup"] == "mean"
    assert v.loc[("U2", "sch"), "value"] == 0 + 1 + 2 + 3 + 4 + 5
    assert v.loc[("U1", "cnt"), "parts"] == ",".join(months)
    assert v.loc[("U1", "cnt"), "file"].split("; ") == [f"departments/{m}/纪检监察.xlsx" for m in months]
    fine = pd.read_parquet(tmp_path / "out" / "values_fine.parquet")
    assert len(fine) == 6 * 8 and set(fine["grain"]) == {"M"}
    assert fine.loc[(fine.unit_id == "U1") & (fine.indicator_id == "cnt"), "value"].tolist() == cnt
    assert res.n_fine == 48 and res.n_rolled == 8 and "汇总为半年值 8 个" in res.summary_zh()


def test_half_year_in_progress_is_not_rolled(tmp_path):
    raw = _monthly_raw(tmp_path, ("2025-07", "2025-08"), lambda i: [list(r) for r in ROWS])
    res = ingest(raw, tmp_path / "out")  # warnings only
    assert res.n_values == 0 and res.n_fine == 16
    assert {p.code for p in res.report.problems} == {"rollup_incomplete"}
