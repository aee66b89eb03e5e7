"""The embedded demo province: deterministic, complete, and shaped per CONTRACTS.md."""
from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qlwork.demo import DEFAULT_SEED, PERIODS, generate_demo
from qlwork.demo.ahp import consistency_ratio
from qlwork.errors import QlworkError
from qlwork.io.excel import parse_fraction, read_rows, sheet_names
from qlwork.framework import load_framework


def _hashes(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo_a")
    cpu0 = time.process_time()
    summary = generate_demo(out, scale="county", seed=DEFAULT_SEED)
    return out, summary, time.process_time() - cpu0


def test_deterministic_byte_for_byte(demo, tmp_path):
    out, summary, _ = demo
    generate_demo(tmp_path / "b", scale="county", seed=DEFAULT_SEED)
    a, b = _hashes(out), _hashes(tmp_path / "b")
    assert a.keys() == b.keys()
    assert a == b
    # and another seed gives another province
    from qlwork.demo.regions import SCALES, build_registry
    r1 = build_registry(np.random.default_rng(1), SCALES["county"])
    r2 = build_registry(np.random.default_rng(2), SCALES["county"])
    assert r1["unit_name"].tolist() != r2["unit_name"].tolist()


def test_county_scale_is_fast_and_sized(demo):
    out, s, cpu = demo
    # CPU time, not wall time: the shared test machine may be busy (wall time is in s.seconds)
    assert cpu < 15
    assert 1200 <= s.n_units <= 1800
    assert set(s.units_by_type) == {"机关", "村居", "学校", "医院", "企业"}
    assert all(v > 0 for v in s.units_by_type.values())
    assert s.deliberate_errors == 9  # 7 in a department workbook, 2 in the veto and bonus registers
    assert "示例数据" in s.summary_zh()
    assert len(s.to_frame()) > 5


def test_layout_on_disk(demo):
    out, _, _ = demo
    for name in ("units.xlsx", "framework_county.yaml", "framework_village.yaml", "surveys/items.yaml",
                 "surveys/margins.csv", "_truth/latent.csv", "_truth/deliberate_errors.csv", "_truth/README.md"):
        assert (out / name).is_file(), name
    for p in PERIODS:
        assert sorted(f.stem for f in (out / "departments" / p).glob("*.xlsx")) == sorted(
            ["纪检监察", "组织", "宣传", "审计", "信访"])
        assert (out / "surveys" / f"survey_{p}.csv").is_file()
    assert len(list((out / "ahp").glob("expert_E*.xlsx"))) >= 5


def test_registry_contract(demo):
    out, s, _ = demo
    df = pd.read_excel(out / "units.xlsx", sheet_name="单位名录", engine="openpyxl", dtype={"单位编码": str})
    assert list(df.columns) == ["单位编码", "单位名称", "单位类型", "市州", "县市区", "乡镇(街道)", "框架", "在编人数", "服务人口"]
    assert df["单位编码"].str.fullmatch(r"U\d{6}").all()
    assert df["单位编码"].is_unique
    assert ((df["单位类型"] == "村居") == (df["框架"] == "village")).all()
    assert (df["在编人数"] > 0).all()
    assert len(df) == s.n_units
    # a proper three-level tree 市州 > 县市区 > 乡镇(街道): every county in one city, every
    # (county, township) in one county; township names read like townships
    assert (df.groupby("县市区")["市州"].nunique() == 1).all()
    assert (df.groupby(["市州", "县市区", "乡镇(街道)"]).size() > 0).all()
    assert (df.groupby("乡镇(街道)")["县市区"].nunique() == 1).all()  # names unique at county scale
    assert df["乡镇(街道)"].str.fullmatch(r"\w+(镇|乡|街道)").all()
    assert df["市州"].str.fullmatch(r"\w+(市|州)").all() and df["县市区"].str.fullmatch(r"\w+(县|区|市)").all()
    assert df["县市区"].nunique() == 3 and df["乡镇(街道)"].nunique() >= 20


def test_survey_contract(demo):
    out, _, _ = demo
    raw = (out / "surveys" / "survey_2025H2.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM
    df = pd.read_csv(out / "surveys" / "survey_2025H2.csv", encoding="utf-8-sig")
    assert list(df.columns) == ["respondent_id", "unit_id", "period", "age_group", "sex", "area",
                                "q1", "q2", "q3", "q4", "q5", "status"]
    assert 40_000 < len(df) < 90_000
    assert df["respondent_id"].is_unique
    items = df[[f"q{k}" for k in range(1, 6)]]
    assert set(np.unique(items.stack().dropna())) <= {1, 2, 3, 4, 5, 9}
    assert (items == 9).to_numpy().mean() > 0.01  # don't-know answers exist
    assert set(df["status"]) == {"完成", "中断"}
    assert items[df["status"] == "完成"].notna().all().all()
    assert items[df["status"] == "中断"].isna().any(axis=1).all()
    n = df.groupby("unit_id").size()
    assert n.min() >= 8 and n.max() <= 150 and 30 <= n.mean() <= 55
    assert ((items == 5).all(axis=1)).mean() > 0.005  # straight-liners
    # the sample is older than the population, so raking matters
    m = pd.read_csv(out / "surveys" / "margins.csv", encoding="utf-8-sig")
    pop_old = m[(m.variable == "age_group") & (m.level == "60-65")].population.sum() / m[m.variable == "age_group"].population.sum()
    assert (df["age_group"] == "60-65").mean() > pop_old + 0.05
    assert set(m["county"]) == set(pd.read_excel(out / "units.xlsx", engine="openpyxl")["县市区"])


def test_latent_drives_survey_and_low_public_flag(demo):
    out, _, _ = demo
    lat = pd.read_csv(out / "_truth" / "latent.csv")
    last = lat[lat.period == "2025H2"].set_index("unit_id")
    flagged = last[last.low_public]
    assert 5 <= len(flagged) <= 0.03 * len(last)
    assert (flagged.latent_internal - flagged.latent_public > 25).all()
    df = pd.read_csv(out / "surveys" / "survey_2025H2.csv", encoding="utf-8-sig")
    items = df[[f"q{k}" for k in range(1, 6)]].where(lambda x: x != 9)
    score = ((items - 1) * 25).mean(axis=1).groupby(df.unit_id).mean()
    r = np.corrcoef(score, last.loc[score.index, "latent_public"])[0, 1]
    assert r > 0.6
    # flagged units' survey scores are far below the rest
    assert score[flagged.index].mean() < score.drop(flagged.index).mean() - 15


def test_ahp_questionnaires(demo):
    out, _, _ = demo
    county = load_framework(out / "framework_county.yaml")
    info = read_rows(out / "ahp" / "expert_E01.xlsx", "专家信息")
    assert [r[0] for r in info[:4]] == ["专家编号", "姓名", "单位/职务", "权重"]
    rows = read_rows(out / "ahp" / "expert_E01.xlsx", "QLI_QLI")
    assert rows[0][0].startswith("层次分析法判断矩阵") and "E01" in rows[0][0]
    assert rows[2][:2] == ("编号", "名称") and list(rows[2][2:]) == county.level1
    A = np.array([[parse_fraction(v) for v in r[2:]] for r in rows[3:]])
    assert np.allclose(A * A.T, 1) and np.allclose(np.diag(A), 1)
    assert consistency_ratio(A) < 0.1
    # one pairwise matrix per inner node of each framework, for every expert
    village = load_framework(out / "framework_village.yaml")
    want = {"专家信息"} | {f"{fw.root}_{n}" for fw in (county, village) for n in fw.nodes}
    for f in sorted((out / "ahp").glob("expert_E*.xlsx")):
        assert set(sheet_names(f)) == want, f.name
    # the inconsistent expert and the skipped pair
    rows = read_rows(out / "ahp" / "expert_E04.xlsx", "QLI_G2")
    A = np.array([[parse_fraction(v) for v in r[2:]] for r in rows[3:]])
    assert consistency_ratio(A) > 0.1
    rows = read_rows(out / "ahp" / "expert_E05.xlsx", "QLV_V1")
    blanks = [(i, j) for i, r in enumerate(rows[3:]) for j, v in enumerate(r[2:]) if v is None]
    assert blanks == [(0, 2), (2, 0)]


def test_refuses_non_empty_folder(tmp_path):
    (tmp_path / "x.txt").write_text("keep")
    with pytest.raises(QlworkError) as e:
        generate_demo(tmp_path)
    assert e.value.problems[0].code == "folder_not_empty"
    assert (tmp_path / "x.txt").read_text() == "keep"


@pytest.mark.slow
def test_province_scale(tmp_path):
    """≈30,000 units and ≈1,000,000 responses in 2025H2, in reasonable CPU time."""
    cpu0 = time.process_time()
    s = generate_demo(tmp_path / "p", scale="province")
    cpu = time.process_time() - cpu0
    assert cpu < 180
    assert 27_000 <= s.n_units <= 36_000
    assert 900_000 <= s.respondents["2025H2"] <= 1_150_000
    units = pd.read_excel(tmp_path / "p" / "units.xlsx", engine="openpyxl")
    assert units["市州"].nunique() == 14 and 100 <= units["县市区"].nunique() <= 140
