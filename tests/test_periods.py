"""qlwork.periods: every accepted spelling, canonical ids, Chinese labels, containment,
ordering and the previous period — hand cases and hypothesis properties."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qlwork import periods as P
from qlwork.errors import QlworkError

periods = st.builds(lambda y, g, i: P.Period(y, g, (i % (12 // P.GRAIN_MONTHS[g])) + 1),
                    st.integers(1990, 2100), st.sampled_from(P.GRAINS), st.integers(0, 11))


@pytest.mark.parametrize("label, canon", [
    ("2025H1", "2025H1"), ("2025h2", "2025H2"), ("2025 H1", "2025H1"), ("２０２５Ｈ１", "2025H1"),
    ("2025年上半年", "2025H1"), ("2025年下半年", "2025H2"), ("2025 年 下半年度", "2025H2"),
    ("2025Q1", "2025Q1"), ("2025q4", "2025Q4"), ("2025年第一季度", "2025Q1"), ("2025年三季度", "2025Q3"),
    ("2025年第4季度", "2025Q4"), ("2025-03", "2025-03"), ("2025年3月", "2025-03"), ("2025年03月", "2025-03"),
    ("2025年十二月", "2025-12"), ("2025年十一月份", "2025-11"), ("２０２５－０３", "2025-03"),
])
def test_accepted_forms(label, canon):
    assert P.normalize(label) == canon


@pytest.mark.parametrize("label", ["2025-1", "2025.1", "2025", "2025-H1", "2025-13", "2025-00", "2025Q5",
                                   "2025H3", "2025年13月", "", None, "上半年", "2025年第五季度"])
def test_labels_that_need_a_guess_are_not_read(label):
    assert P.try_parse(label) is None and P.normalize(label) is None
    with pytest.raises(QlworkError) as e:
        P.parse(label)
    assert e.value.problems[0].code == "bad_period"


def test_chinese_labels():
    assert [P.label_zh(x) for x in ("2025H1", "2025H2", "2025Q1", "2025Q4", "2025-03", "2025-12")] == [
        "2025年上半年", "2025年下半年", "2025年第一季度", "2025年第四季度", "2025年3月", "2025年12月"]
    assert P.label_zh("当期") == "当期"  # not a period: unchanged


def test_containment_by_hand():
    assert P.months_of("2025H2") == ["2025-07", "2025-08", "2025-09", "2025-10", "2025-11", "2025-12"]
    assert P.months_of("2025Q2") == ["2025-04", "2025-05", "2025-06"]
    assert [q.id for q in P.parse("2025H1").children("Q")] == ["2025Q1", "2025Q2"]
    assert P.contains("2025H1", "2025Q2") and P.contains("2025H1", "2025-06") and not P.contains("2025H1", "2025Q3")
    assert P.parse("2025-05").parent("Q").id == "2025Q2" and P.parse("2025-05").parent("H").id == "2025H1"
    assert P.parse("2025Q3").parent("H").id == "2025H2"
    with pytest.raises(ValueError):
        P.parse("2025H1").parent("Q")


def test_previous_and_range_by_hand():
    assert [P.previous(x) for x in ("2025H1", "2025H2", "2025Q1", "2025-01", "2025-07")] == [
        "2024H2", "2025H1", "2024Q4", "2024-12", "2025-06"]
    assert P.period_range("2024H2", "2025H2") == ["2024H2", "2025H1", "2025H2"]
    assert P.period_range("2024-11", "2025-02") == ["2024-11", "2024-12", "2025-01", "2025-02"]
    with pytest.raises(ValueError):
        P.period_range("2024H2", "2025Q1")


def test_order_mixed_grains():
    got = P.sort_periods(["2025-02", "2025Q1", "2024H2", "2025H1", "2025-01", "当期", "2024-12"])
    assert got == ["2024H2", "2024-12", "2025H1", "2025Q1", "2025-01", "2025-02", "当期"]


@given(periods)
def test_roundtrip_id_and_label(p):
    assert P.parse(p.id) == p
    assert P.parse(p.label_zh) == p
    assert P.is_canonical(p.id)


@given(periods)
def test_months_tile_the_period(p):
    ms = p.months()
    assert len(ms) == p.n_months
    assert [m.first_month for m in ms] == list(range(p.first_month, p.last_month + 1))
    assert all(p.contains(m) and m.parent(p.grain) == p for m in ms)


@given(periods, st.integers(-40, 40))
def test_shift_is_a_group_action(p, n):
    assert p.shift(n).shift(-n) == p
    assert p.previous().next() == p
    assert p.shift(n).first_month - p.first_month == n * p.n_months


@given(periods, periods)
def test_order_is_chronological(a, b):
    if a.first_month < b.first_month:
        assert a < b and P.sort_key(a.id) < P.sort_key(b.id)
    if a.contains(b) and a != b:
        assert a < b  # coarser first within the same start, earlier start otherwise
    assert (a.overlaps(b)) == (b.overlaps(a))


@given(periods, st.sampled_from(P.GRAINS))
def test_children_partition(p, g):
    if P.GRAIN_MONTHS[g] > p.n_months:
        return
    kids = p.children(g)
    assert sum(k.n_months for k in kids) == p.n_months
    assert kids[0].first_month == p.first_month and kids[-1].last_month == p.last_month
