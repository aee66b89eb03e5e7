"""Reading survey files: encodings, Excel, located problems, validity rules, scoring."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qlwork.errors import QlworkError
from qlwork.survey.read import SCALES, ItemsSpec, detect_encoding, load_items, read_survey
from qlwork.survey.scoring import ValidityRules, apply_validity, score_responses

HEADER = "respondent_id,unit_id,period,age_group,sex,area,q1,q2,q3,q4,q5,status"
ROWS = [
    "R1,U000001,2025H2,18-29,男,城镇,5,4,4,3,9,完成",  # clean; q5 don't know
    "R2,U000001,2025H2,30-39,女,农村,5,5,5,5,5,完成",  # straight-liner at max
    "R3,U000002,2025H2,40-49,女,城镇,3,3,3,3,3,完成",  # all same but not max
    "R4,U000002,2025H2,50-59,男,农村,2,7,4,4,4,完成",  # 7 is outside the scale
    "R5,U999999,2025H2,60-65,男,城镇,4,4,4,4,4,完成",  # unknown unit
    "R6,U000002,2025-H2,18-29,女,农村,4,4,4,4,4,完成",  # bad period label
    "R7,U000001,2025H2,18-29,女,农村,1,2,,,,中断",  # incomplete
    "R8,U000001,2025H2,18-29,女,农村,9,9,9,9,9,完成",  # all don't know
]
UNITS = ["U000001", "U000002"]


def _write(tmp_path, enc, name="s.csv", rows=ROWS, header=HEADER):
    p = tmp_path / name
    p.write_bytes(("\n".join([header, *rows]) + "\n").encode(enc))
    return p


@pytest.mark.parametrize("enc,expected", [("utf-8-sig", "utf-8-sig"), ("utf-8", "utf-8"), ("gbk", "gbk")])
def test_encodings_detected_and_named(tmp_path, enc, expected):
    r = read_survey(_write(tmp_path, enc), known_units=UNITS)
    assert r.encoding == expected
    assert r.data["sex"].iloc[0] == "男"
    assert len(r.data) == 8


def test_gb18030_only_characters(tmp_path):
    # 𠀀 (U+20000) is not in GBK, only GB18030
    rows = [ROWS[0].replace("城镇", "城镇𠀀")]
    r = read_survey(_write(tmp_path, "gb18030", rows=rows))
    assert r.encoding == "gb18030"


def test_located_problems(tmp_path):
    r = read_survey(_write(tmp_path, "utf-8-sig"), known_units=UNITS)
    by = {p.code: p for p in r.problems}
    assert by["answer_out_of_scale"].row == 5 and by["answer_out_of_scale"].column == "q2"
    assert by["answer_out_of_scale"].found == "7"
    assert by["unknown_unit"].row == 6 and by["unknown_unit"].found == "U999999"
    assert by["bad_period"].row == 7 and by["bad_period"].column == "period"
    assert "量表" in by["answer_out_of_scale"].message and by["answer_out_of_scale"].message_en
    assert not r.ok
    with pytest.raises(QlworkError):
        read_survey(_write(tmp_path, "utf-8-sig"), known_units=UNITS, strict=True)


def test_missing_columns_raise_located(tmp_path):
    p = _write(tmp_path, "utf-8", header=HEADER.replace(",q3", ",qq3"))
    with pytest.raises(QlworkError) as e:
        read_survey(p)
    assert e.value.problems[0].column == "q3" and e.value.problems[0].row == 1


def test_excel_reader(tmp_path):
    df = pd.read_csv(_write(tmp_path, "utf-8"), dtype=str)
    x = tmp_path / "s.xlsx"
    df.to_excel(x, index=False)
    r = read_survey(x, known_units=UNITS)
    assert r.encoding == "xlsx" and len(r.data) == 8
    assert any(p.code == "unknown_unit" for p in r.problems)


def test_validity_counts_per_rule(tmp_path):
    r = read_survey(_write(tmp_path, "utf-8-sig"), known_units=UNITS)
    v = apply_validity(r.data)
    c = v.counts.set_index("rule")["removed"]
    # R4, R5, R6 data problems; R7 incomplete; R8 all don't know; R2 straight-lining at max
    assert c["data_problem"] == 3
    assert c["incomplete"] == 1
    assert c["all_dont_know"] == 1
    assert c["straight_lining"] == 1
    assert v.valid.tolist() == [True, False, True, False, False, False, False, False]
    # "all_same" also removes R3 (all 3s); None keeps R2
    v2 = apply_validity(r.data, rules=ValidityRules(straight_lining="all_same"))
    assert not v2.valid.iloc[2]
    v3 = apply_validity(r.data, rules=ValidityRules(straight_lining=None))
    assert v3.valid.iloc[1]


def test_likert_scoring_drops_dont_know_from_denominator(tmp_path):
    r = read_survey(_write(tmp_path, "utf-8-sig"), known_units=UNITS)
    s = score_responses(r.data)
    # R1: q1..q4 = 5,4,4,3 → 100,75,75,50 → mean 75 (q5 = 9 not counted)
    assert s["overall"].iloc[0] == pytest.approx(75)
    assert s["service_sat"].iloc[0] == pytest.approx(75)
    # village mapping: v_sat_integrity = mean(q1, q2) = (100+75)/2; v_sat_relations = q4 only = 50
    assert s["v_sat_integrity"].iloc[0] == pytest.approx(87.5)
    assert s["v_sat_relations"].iloc[0] == pytest.approx(50)
    # satisfied share: q1..q4 satisfied codes {4,5}: 3 of 4
    assert s["sat_share"].iloc[0] == pytest.approx(0.75)
    assert np.isnan(s["overall"].iloc[7])  # all don't know


def test_ten_point_scheme():
    spec = ItemsSpec(("a", "b", "c"), {}, {}, SCALES["ten_point"])
    df = pd.DataFrame({"a": [10.0, 8], "b": [9.0, 99], "c": [6.0, 10]})
    s = score_responses(df, spec)
    assert s["overall"].tolist() == pytest.approx([250 / 3, 90])  # mean × 10; 99 = 不了解 dropped
    assert s["sat_share"].tolist() == pytest.approx([2 / 3, 0.5])  # 满意 10 and 基本满意 9 count
    rate = ItemsSpec(("a", "b", "c"), {}, {}, SCALES["ten_point_rate"])
    assert score_responses(df, rate)["overall"].tolist() == pytest.approx([200 / 3, 50])


def test_load_items_yaml(tmp_path):
    p = tmp_path / "items.yaml"
    p.write_text("scale: likert5\nitems: {q1: 廉洁, q2: 公道}\n"
                 "indicators:\n  village: {v_sat_integrity: [q1, q2]}\n", encoding="utf-8")
    spec = load_items(p)
    assert spec.items == ("q1", "q2") and spec.indicators["village"]["v_sat_integrity"] == ("q1", "q2")
    p.write_text("items: {q1: a}\nindicators: {county: {service_sat: [q1, q9]}}\n", encoding="utf-8")
    with pytest.raises(QlworkError) as e:
        load_items(p)
    assert "q9" in str(e.value)
    p.write_text("!!python/object:os.system {}\n", encoding="utf-8")  # safe loader refuses
    with pytest.raises(QlworkError):
        load_items(p)
    assert detect_encoding("中文".encode("gbk")) == "gbk"
