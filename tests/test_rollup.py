"""qlwork.io.rollup: finer periods rolled up to the half-year by hand cases (every number
below is worked out on paper) and by properties (rolling months to quarters and then to
the half-year equals rolling months to the half-year)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qlwork.errors import QlworkError
from qlwork.framework import load_framework
from qlwork.io.rollup import rollup, rollup_all

FW = load_framework({"id": "T", "name": "测试", "unit_types": ["医院"],
                     "denominators": [{"id": "visits", "name": "诊疗人次", "unit": "万人次"}],
                     "children": [{"id": "A", "weight": 1.0, "children": [
                         {"id": "cnt", "name": "问题数", "direction": -1, "kind": "count", "weight": 0.25},
                         {"id": "pct", "name": "办结率", "direction": 1, "kind": "percent", "weight": 0.25},
                         {"id": "rate", "name": "投诉率", "direction": -1, "kind": "rate", "weight": 0.25,
                          "rollup": {"method": "mean", "weight": "visits"}},
                         {"id": "cov", "name": "覆盖率", "direction": 1, "kind": "percent", "weight": 0.25,
                          "rollup": "last"}]}]})
H1 = ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06"]


def tab(rows):
    return pd.DataFrame(rows, columns=["unit_id", "period", "indicator_id", "value"])


def one(res, ind, unit="U1"):
    v = res.values.set_index(["unit_id", "indicator_id"])
    return v.loc[(unit, ind)]


def test_sum_of_six_months():
    res = rollup(tab([("U1", m, "cnt", x) for m, x in zip(H1, [1, 2, 3, 0, 4, 5])]), FW, "2025H1")
    r = one(res, "cnt")
    assert r["value"] == 15 and r["rollup"] == "sum" and r["parts"] == ",".join(H1) and r["period"] == "2025H1"


def test_quarter_plus_months_and_an_overlapping_month():
    rows = [("U1", "2025Q1", "cnt", 6), ("U1", "2025-01", "cnt", 100),   # January again: the quarter wins
            ("U1", "2025-04", "cnt", 0), ("U1", "2025-05", "cnt", 4), ("U1", "2025-06", "cnt", 5)]
    r = one(rollup(tab(rows), FW, "2025H1"), "cnt")
    assert r["value"] == 15 and r["parts"] == "2025Q1,2025-04,2025-05,2025-06"


def test_time_weighted_mean():
    r = one(rollup(tab([("U1", m, "pct", x) for m, x in zip(H1, [90, 92, 94, 96, 98, 100])]), FW, "2025H1"), "pct")
    assert r["value"] == pytest.approx(95.0)
    # a quarterly 92 counts for three months: (3·92 + 96 + 98 + 100) / 6 = 95
    rows = [("U1", "2025Q1", "pct", 92), ("U1", "2025-04", "pct", 96), ("U1", "2025-05", "pct", 98),
            ("U1", "2025-06", "pct", 100)]
    assert one(rollup(tab(rows), FW, "2025H1"), "pct")["value"] == pytest.approx(95.0)


def test_weighted_mean_is_the_ratio_of_totals():
    complaints = [1, 2, 0, 3, 1, 1]
    visits = [0.5, 1, 0.5, 1, 0.5, 0.5]          # 万人次
    rates = [c / w for c, w in zip(complaints, visits)]  # 2, 2, 0, 3, 2, 2 per 万人次
    rows = [("U1", m, "rate", r) for m, r in zip(H1, rates)] + [("U1", m, "visits", w) for m, w in zip(H1, visits)]
    res = rollup(tab(rows), FW, "2025H1")
    r = one(res, "rate")
    assert r["value"] == pytest.approx(8 / 4)    # Σ complaints / Σ visits = 2.0 (the plain mean would be 11/6)
    assert r["rollup"] == "mean/visits"
    assert "visits" not in set(res.values["indicator_id"])  # a denominator is a weight, never an output


def test_weighted_mean_without_a_weight_is_not_guessed():
    rows = [("U1", m, "rate", 2.0) for m in H1] + [("U1", m, "visits", 1.0) for m in H1[:-1]]
    res = rollup(tab(rows), FW, "2025H1")
    assert res.values.empty
    assert "覆盖月份不足" in res.incomplete.iloc[0]["reason"]
    # allowing 5 of 6 months: the five weighted months are used
    res = rollup(tab(rows), FW, "2025H1", min_coverage=5 / 6)
    assert one(res, "rate")["value"] == pytest.approx(2.0)


def test_last_takes_the_part_that_ends_the_period():
    rows = [("U1", "2025Q1", "cov", 60.0), ("U1", "2025Q2", "cov", 80.0)]
    assert one(rollup(tab(rows), FW, "2025H1"), "cov")["value"] == 80.0
    res = rollup(tab(rows[:1]), FW, "2025H1", min_coverage=0.5)  # no June: no end-of-period value
    assert res.values.empty and res.incomplete.iloc[0]["indicator_id"] == "cov"


def test_incomplete_sum_is_listed_with_its_reason():
    res = rollup(tab([("U1", m, "cnt", 1) for m in H1[:5]]), FW, "2025H1", min_coverage=0.5)
    assert res.values.empty
    inc = res.incomplete.iloc[0]
    assert (inc["months_covered"], inc["months_expected"]) == (5, 6) and "求和需要全部月份" in inc["reason"]


def test_partial_mean_with_min_coverage():
    rows = [("U1", m, "pct", x) for m, x in zip(H1[:5], [90, 92, 94, 96, 98])]
    assert rollup(tab(rows), FW, "2025H1").values.empty
    assert one(rollup(tab(rows), FW, "2025H1", min_coverage=0.8), "pct")["value"] == pytest.approx(94.0)


def test_direct_value_wins_and_other_periods_are_ignored():
    rows = [("U1", "2025H1", "cnt", 7)] + [("U1", m, "cnt", 1) for m in H1] + [("U1", "2025-07", "cnt", 50)]
    res = rollup(tab(rows), FW, "2025H1")
    r = one(res, "cnt")
    assert r["value"] == 7 and r["rollup"] == "" and len(res.values) == 1


def test_provenance_lists_every_file():
    rows = pd.DataFrame({"unit_id": "U1", "period": H1, "indicator_id": "cnt", "value": 1.0, "source": "信访",
                         "file": [f"departments/{m}/信访.xlsx" for m in H1], "sheet": "村（社区）", "row": 5,
                         "column": "F"})
    r = one(rollup(rows, FW, "2025H1"), "cnt")
    assert r["file"].split("; ") == [f"departments/{m}/信访.xlsx" for m in H1]
    assert (r["source"], r["sheet"], r["row"], r["column"]) == ("信访", "村（社区）", 0, "")


def test_rollup_all_and_errors():
    rows = [("U1", m, "cnt", 1) for m in H1] + [("U1", m, "cnt", 2) for m in ("2025-07", "2025-08")]
    res = rollup_all(tab(rows), FW)
    assert res.values["period"].tolist() == ["2025H1"]
    assert res.incomplete["period"].tolist() == ["2025H2"]  # two months of H2 so far
    with pytest.raises(QlworkError) as e:
        rollup(tab([("U1", "2025-01", "nope", 1)]), FW, "2025H1")
    assert e.value.problems[0].code == "unknown_indicator"
    with pytest.raises(QlworkError):
        rollup(tab([("U1", "2025-1", "cnt", 1)]), FW, "2025H1")


month_values = st.lists(st.floats(0, 1000, allow_nan=False), min_size=6, max_size=6)


@settings(max_examples=60, deadline=None)
@given(month_values, month_values, st.lists(st.floats(0.1, 50), min_size=6, max_size=6))
def test_months_to_quarters_to_half_equals_months_to_half(xs, ys, ws):
    """Associativity: each rule rolled in two steps (months → quarters → half-year) gives
    the same half-year value as one step."""
    rows = ([("U1", m, "cnt", x) for m, x in zip(H1, xs)] + [("U1", m, "pct", y) for m, y in zip(H1, ys)]
            + [("U1", m, "rate", y) for m, y in zip(H1, ys)] + [("U1", m, "visits", w) for m, w in zip(H1, ws)]
            + [("U1", m, "cov", x) for m, x in zip(H1, xs)])
    v = tab(rows)
    direct = rollup(v, FW, "2025H1").values.set_index("indicator_id")["value"]
    quarters = pd.concat([rollup(v, FW, q).values for q in ("2025Q1", "2025Q2")])
    # the quarterly weights are the quarters' totals of the denominator
    qw = [("U1", q, "visits", sum(ws[i:i + 3])) for i, q in ((0, "2025Q1"), (3, "2025Q2"))]
    two = rollup(pd.concat([quarters[["unit_id", "period", "indicator_id", "value"]], tab(qw)]), FW,
                 "2025H1").values.set_index("indicator_id")["value"]
    for ind in ("cnt", "pct", "rate", "cov"):
        assert two[ind] == pytest.approx(direct[ind], rel=1e-9, abs=1e-9), ind
    assert direct["cnt"] == pytest.approx(sum(xs))
    assert direct["rate"] == pytest.approx(np.dot(ys, ws) / sum(ws))
    assert direct["cov"] == xs[-1]


def test_exports_list_every_file_a_rolled_value_came_from(tmp_path):
    from qlwork.report.methodology import data_files_from_values

    v = pd.DataFrame({"file": ["departments/2025-01/信访.xlsx; departments/2025-02/信访.xlsx",
                               "departments/2025H1/组织.xlsx", "departments/2025-01/信访.xlsx"]})
    got = data_files_from_values(v)
    assert [p.as_posix() for p in got] == ["departments/2025-01/信访.xlsx", "departments/2025-02/信访.xlsx",
                                           "departments/2025H1/组织.xlsx"]
