"""Reading expert questionnaires: values, fractions, located problems (expert, file, sheet, cell)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from qlwork.errors import QlworkError
from qlwork.framework import load_framework
from qlwork.weights.questionnaire import parse_judgment, read_questionnaire, read_questionnaires, write_questionnaire

FW = load_framework({"id": "T", "children": [
    {"id": "A", "weight": 0.6, "children": [{"id": "x1", "weight": 0.5, "direction": 1},
                                              {"id": "x2", "weight": 0.5, "direction": 1}]},
    {"id": "B", "weight": 0.3, "children": [{"id": "x3", "weight": 1.0, "direction": -1}]},
    {"id": "C", "weight": 0.1, "children": [{"id": "x4", "weight": 1.0, "direction": 1}]}]})


def root_matrix(a_ab=2.0, a_ac=6.0, a_bc=3.0):
    m = np.array([[1, a_ab, a_ac], [1 / a_ab, 1, a_bc], [1 / a_ac, 1 / a_bc, 1]])
    return pd.DataFrame(m, index=list("ABC"), columns=list("ABC"))


def write(tmp_path, eid="E01", root=None, weight=0.5):
    mats = {"T_T": root if root is not None else root_matrix(),
            "T_A": pd.DataFrame([[1, 3], [1 / 3, 1]], index=["x1", "x2"], columns=["x1", "x2"]),
            "T_B": pd.DataFrame([[1.0]], index=["x3"], columns=["x3"]),
            "T_C": pd.DataFrame([[1.0]], index=["x4"], columns=["x4"])}
    return write_questionnaire(tmp_path / f"expert_{eid}.xlsx", eid, mats, name="测试", weight=weight)


def edit(path, sheet, cell, value):
    wb = load_workbook(path)
    wb[sheet][cell] = value
    wb.save(path)


def test_roundtrip_numbers_and_fraction_text(tmp_path):
    p = write(tmp_path)
    ws = load_workbook(p)["T_T"]
    assert ws["D4"].value == 2 and ws["C5"].value == "1/2"  # as an expert writes them
    q = read_questionnaire(p, frameworks=[FW])
    assert q.expert_id == "E01" and q.weight == 0.5 and not q.problems
    np.testing.assert_allclose(q.matrices["T_T"].to_numpy(), root_matrix().to_numpy())


@pytest.mark.parametrize("text,value", [("1/3", 1 / 3), ("１／５", 0.2), (" 7 ", 7.0), (4, 4.0), ("0.5", 0.5)])
def test_parse_judgment(text, value):
    assert parse_judgment(text)[0] == pytest.approx(value)


@pytest.mark.parametrize("cell,value,code", [
    ("D4", 11, "off_scale"),
    ("D4", 0, "zero_judgment"),
    ("D4", "三", "not_a_number"),
    ("D4", 3, "not_reciprocal"),   # D4 = 3 but C5 still says 1/2
    ("C3", "x", "header_mismatch"),
])
def test_located_problems(tmp_path, cell, value, code):
    p = write(tmp_path)
    edit(p, "T_T", cell, value)
    q = read_questionnaire(p)
    probs = [x for x in q.problems if x.code == code]
    assert probs, [str(x) for x in q.problems]
    pr = probs[0]
    assert pr.file == "expert_E01.xlsx" and pr.sheet == "T_T"
    assert "E01" in pr.message and pr.message_en
    if code != "header_mismatch":
        assert pr.column == "D4" and pr.row == 4


def test_blank_pair_nan_or_error(tmp_path):
    p = write(tmp_path)
    edit(p, "T_T", "E4", None)   # a_AC
    edit(p, "T_T", "C6", None)   # a_CA
    q = read_questionnaire(p, blank="nan")
    pr = [x for x in q.problems if x.code == "blank_pair"][0]
    assert pr.severity == "warning" and pr.column == "E4"
    assert np.isnan(q.matrices["T_T"].loc["A", "C"]) and np.isnan(q.matrices["T_T"].loc["C", "A"])
    with pytest.raises(QlworkError) as e:
        read_questionnaires(tmp_path, blank="error")
    assert e.value.problems[0].code == "blank_pair"
    ok = read_questionnaires(tmp_path, blank="nan")
    assert np.isnan(ok.node("T", "T")["E01"].loc["A", "C"])


def test_upper_triangle_only_sheet_is_accepted(tmp_path):
    p = write(tmp_path)
    for c in ("C5", "C6", "D6"):
        edit(p, "T_T", c, None)
    q = read_questionnaire(p)
    assert not q.problems
    np.testing.assert_allclose(q.matrices["T_T"].to_numpy(), root_matrix().to_numpy())


def test_strict_raises_all_errors_and_nonstrict_collects(tmp_path):
    p1 = write(tmp_path, "E01")
    write(tmp_path, "E02")
    edit(p1, "T_T", "D4", 12)
    with pytest.raises(QlworkError) as e:
        read_questionnaires(tmp_path)
    assert any(x.code == "off_scale" for x in e.value.problems)
    qs = read_questionnaires(tmp_path, strict=False)
    assert len(qs.experts) == 2 and len(qs.problems_frame()) >= 1
    assert set(qs.for_framework("T")) == {"T", "A", "B", "C"}


def test_framework_mismatch_and_missing_sheet(tmp_path):
    mats = {"T_T": root_matrix().rename(index={"C": "Z"}, columns={"C": "Z"})}
    p = write_questionnaire(tmp_path / "expert_E07.xlsx", "E07", mats)
    q = read_questionnaire(p, frameworks=[FW])
    codes = {x.code for x in q.problems}
    assert {"children_mismatch", "missing_sheet"} <= codes


def test_missing_folder_is_located_error(tmp_path):
    with pytest.raises(QlworkError):
        read_questionnaires(tmp_path / "nope")


# ------------------------------------------------------------ CLI end to end
def _consistent_questionnaires(folder, frameworks, experts=("E01", "E02", "E03")):
    """Questionnaires whose judgments are the framework weight ratios snapped to the Saaty scale."""
    from qlwork.weights.ahp import snap_to_scale

    for k, eid in enumerate(experts):
        mats = {}
        for fw in frameworks:
            for nid, node in fw.nodes.items():
                kids = list(node.children)
                w = np.array([fw.item(c).weight for c in kids]) * np.exp(0.05 * k * np.arange(len(kids)))
                a = np.atleast_2d(snap_to_scale(w[:, None] / w[None, :]))
                lower = np.tril_indices(len(kids), -1)
                a[lower] = 1 / a.T[lower]  # exact reciprocals below the diagonal
                mats[f"{fw.id}_{nid}"] = pd.DataFrame(a, index=kids, columns=kids)
        write_questionnaire(folder / f"expert_{eid}.xlsx", eid, mats, weight=1 / len(experts))


def test_cli_weights_writes_table(tmp_path, capsys):
    from qlwork.cli import main
    from qlwork.framework import builtin_framework

    fws = [load_framework(builtin_framework(n)) for n in ("county", "village")]
    raw = tmp_path / "raw"  # the CLI refuses outputs inside the raw folder
    (raw / "ahp").mkdir(parents=True)
    _consistent_questionnaires(raw / "ahp", fws)
    out = tmp_path / "w.csv"
    rc = main(["weights", "--raw", str(raw), "--out", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "CR_H" in text and "E01" in text
    df = pd.read_csv(out)
    for fid, g in df[df["is_indicator"]].groupby("framework"):
        assert g["global_weight"].sum() == pytest.approx(1.0)
    assert set(df["ri_table"]) == {"saaty1980"}


def test_cli_weights_reports_bad_cell(tmp_path, capsys):
    from qlwork.cli import main
    from qlwork.framework import builtin_framework

    fws = [load_framework(builtin_framework(n)) for n in ("county", "village")]
    raw = tmp_path / "raw"
    (raw / "ahp").mkdir(parents=True)
    _consistent_questionnaires(raw / "ahp", fws, experts=("E01",))
    edit(raw / "ahp" / "expert_E01.xlsx", "QLI_G1", "D4", 10)
    rc = main(["weights", "--raw", str(raw), "--out", str(tmp_path / "w.parquet")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "off_scale" in err and "QLI_G1" in err and "D4" in err


def test_hierarchy_from_questionnaires_uses_expert_weights(tmp_path):
    """Two experts disagree on x1 vs x2 (3 and 1/3); the 专家信息 weights 0.75 / 0.25 make the
    AIJ cell 3^0.75 · (1/3)^0.25 = 3^0.5 = 1.7320508, so x1 = 1.7320508/2.7320508 = 0.6339746.
    Root: both experts give A:B:C = 2, 6, 3 (consistent, w ∝ 6:3:1 → 0.6, 0.3, 0.1)."""
    from qlwork.weights.hierarchy import hierarchy_weights

    (tmp_path / "ahp").mkdir()
    for eid, a, w in (("E01", 3.0, 0.75), ("E02", 1 / 3, 0.25)):
        mats = {"T_T": root_matrix(),
                "T_A": pd.DataFrame([[1, a], [1 / a, 1]], index=["x1", "x2"], columns=["x1", "x2"])}
        write_questionnaire(tmp_path / "ahp" / f"expert_{eid}.xlsx", eid, mats, weight=w)
    qs = read_questionnaires(tmp_path / "ahp", frameworks=[FW])
    assert qs.expert_weights.to_dict() == {"E01": 0.75, "E02": 0.25}
    h = hierarchy_weights(FW, qs)
    assert h.local_weights["x1"] == pytest.approx(0.6339746, abs=1e-7)
    np.testing.assert_allclose(h.local_weights[["A", "B", "C"]], [0.6, 0.3, 0.1], atol=1e-12)
    # global: x1 = 0.6 · 0.6339746 = 0.3803848; single-child nodes pass their weight down (x3 = 0.3)
    assert h.leaf_weights["x1"] == pytest.approx(0.6 * 0.6339746, abs=1e-7)
    assert h.leaf_weights["x3"] == pytest.approx(0.3)
    assert h.params["expert_weights"] == {"E01": 0.75, "E02": 0.25}
    ex = h.experts().set_index(["node", "expert"])
    assert ex.loc[("A", "E01"), "weight_used"] == pytest.approx(0.75)
