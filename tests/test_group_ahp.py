"""Group AHP: AIJ/AIP, reciprocity, per-expert consistency, exclusion and down-weighting."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qlwork.errors import QlworkError
from qlwork.weights.ahp import ahp_weights
from qlwork.weights.group import aggregate_judgments, aggregate_priorities, group_ahp

N = np.nan
LAB = ["a", "b", "c"]


def frame(m):
    return pd.DataFrame(m, index=LAB, columns=LAB, dtype=float)


E1 = frame([[1, 3, 5], [1 / 3, 1, 2], [1 / 5, 1 / 2, 1]])
E2 = frame([[1, 2, 4], [1 / 2, 1, 3], [1 / 4, 1 / 3, 1]])
# deliberately inconsistent: a > b, b > c, but c >> a
E3 = frame([[1, 5, 1 / 7], [1 / 5, 1, 6], [7, 1 / 6, 1]])


def test_two_experts_hand_computed():
    # a_12 = 3 and 1/3 with expert weights 0.75/0.25: 3^0.75 · (1/3)^0.25 = 3^0.5 = 1.7320508
    g = aggregate_judgments([[[1, 3], [1 / 3, 1]], [[1, 1 / 3], [3, 1]]], expert_weights=[0.75, 0.25])
    assert g[0, 1] == pytest.approx(3 ** 0.5)
    assert g[1, 0] == pytest.approx(3 ** -0.5)
    # weights (1.7320508/2.7320508, 1/2.7320508) = (0.6339746, 0.3660254)
    np.testing.assert_allclose(ahp_weights(g).weights, [0.6339746, 0.3660254], atol=1e-7)


def test_aij_keeps_reciprocity():
    g = aggregate_judgments({"E1": E1, "E2": E2, "E3": E3})
    assert isinstance(g, pd.DataFrame)
    np.testing.assert_allclose(g.to_numpy() * g.to_numpy().T, np.ones((3, 3)))


def test_arithmetic_aij_refused():
    with pytest.raises(QlworkError) as e:
        aggregate_judgments([E1, E2], method="arithmetic")
    assert e.value.problems[0].code == "arithmetic_aij_refused"


def test_aij_geometric_equals_aip_geometric_for_geometric_weights():
    # Property from the issue (exact identity of the row geometric mean):
    # gm-weights(geometric-mean matrix) == normalised geometric mean of each expert's gm-weights
    ew = [0.5, 0.3, 0.2]
    g = aggregate_judgments([E1, E2, E3], expert_weights=ew)
    aij = ahp_weights(g, method="geometric").weights
    aip = aggregate_priorities([ahp_weights(m, method="geometric").weights for m in (E1, E2, E3)], "geometric", ew)
    np.testing.assert_allclose(aij, aip, atol=1e-12)


def test_per_expert_consistency_and_exclusion():
    r = group_ahp({"E1": E1, "E2": E2, "E3": E3})
    ex = r.experts.set_index("expert")
    assert not ex.loc["E3", "consistent"] and ex.loc["E1", "consistent"]
    assert ex["included"].all()
    r2 = group_ahp({"E1": E1, "E2": E2, "E3": E3}, inconsistent="exclude")
    ex2 = r2.experts.set_index("expert")
    assert not ex2.loc["E3", "included"] and ex2.loc["E3", "weight_used"] == 0
    assert r2.params["inconsistent"] == "exclude"
    # excluding E3 equals aggregating only E1 and E2
    only = ahp_weights(aggregate_judgments([E1, E2]))
    np.testing.assert_allclose(r2.weights, only.weights)


def test_downweight_rule():
    r = group_ahp({"E1": E1, "E2": E2, "E3": E3}, inconsistent="downweight")
    ex = r.experts.set_index("expert")
    cr3 = ex.loc["E3", "CR"]
    # given 1/3 each; E3 factor 0.1/CR3, others 1 -> used = (1, 1, 0.1/CR3) / (2 + 0.1/CR3)
    f = 0.1 / cr3
    assert ex.loc["E3", "weight_used"] == pytest.approx(f / (2 + f))
    assert ex.loc["E1", "weight_used"] == pytest.approx(1 / (2 + f))


def test_all_inconsistent_exclusion_is_error():
    with pytest.raises(QlworkError) as e:
        group_ahp([E3, E3], inconsistent="exclude")
    assert e.value.problems[0].code == "all_inconsistent"


def test_aip_arithmetic_and_repr():
    r = group_ahp([E1, E2], approach="AIP", aip_method="arithmetic")
    w1 = ahp_weights(E1).weights
    w2 = ahp_weights(E2).weights
    np.testing.assert_allclose(r.weights, (w1 + w2) / 2)
    assert "AIP" in repr(r) and r.group is None
    assert set(r.to_frame().columns) >= {"element", "weight", "group_CR"}


def test_incomplete_expert_matrix():
    e_missing = frame([[1, 3, N], [1 / 3, 1, 2], [N, 1 / 2, 1]])
    r = group_ahp({"E1": E1, "E9": e_missing})
    ex = r.experts.set_index("expert")
    assert ex.loc["E9", "n_missing"] == 1
    # λ-optimal completion gives a_13 = 3·2 = 6 -> E9 perfectly consistent
    assert ex.loc["E9", "CR"] == pytest.approx(0, abs=1e-8)
    # AIJ cell a_13 uses only E1's judgment (5)
    g = aggregate_judgments({"E1": E1, "E9": e_missing})
    assert g.loc["a", "c"] == pytest.approx(5)


def test_label_mismatch():
    other = E1.rename(index={"a": "x"}, columns={"a": "x"})
    with pytest.raises(QlworkError):
        aggregate_judgments([E1, other])


def test_experts_with_other_row_order_are_aligned():
    shuffled = E2.loc[["c", "a", "b"], ["c", "a", "b"]]
    g1 = aggregate_judgments([E1, E2])
    g2 = aggregate_judgments([E1, shuffled])
    pd.testing.assert_frame_equal(g1, g2)
