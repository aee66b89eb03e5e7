"""Property tests (hypothesis) for the weights package."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from qlwork.weights.ahp import SAATY_SCALE, ahp_weights, lambda_max
from qlwork.weights.combine import combine_weights
from qlwork.weights.group import aggregate_judgments, aggregate_priorities
from qlwork.weights.incomplete import complete_matrix
from qlwork.weights.objective import critic_weights, entropy_weights

FAST = settings(max_examples=40, deadline=None)


def reciprocal(n, values):
    m = np.eye(n)
    iu = np.triu_indices(n, 1)
    m[iu] = values
    m[(iu[1], iu[0])] = 1 / np.asarray(values)
    return m


@st.composite
def judgment_matrices(draw, n_min=3, n_max=7):
    n = draw(st.integers(n_min, n_max))
    vals = draw(st.lists(st.sampled_from(SAATY_SCALE), min_size=n * (n - 1) // 2, max_size=n * (n - 1) // 2))
    return reciprocal(n, vals)


@FAST
@given(st.lists(st.floats(0.05, 20), min_size=2, max_size=9))
def test_consistent_matrix_zero_ci_and_methods_agree(w):
    w = np.array(w)
    a = w[:, None] / w[None, :]
    results = [ahp_weights(a, method=m, ri_table="alonso_lamata") for m in ("eigen", "geometric", "arithmetic")]
    for r in results:
        assert abs(r.ci) < 1e-9
        np.testing.assert_allclose(r.weights, w / w.sum(), atol=1e-9)


@FAST
@given(judgment_matrices(3, 3))
def test_n3_eigen_equals_geometric(a):
    np.testing.assert_allclose(ahp_weights(a).weights, ahp_weights(a, method="geometric").weights, atol=1e-9)


@FAST
@given(judgment_matrices(), st.randoms(use_true_random=False))
def test_relabelling_permutes_weights(a, rnd):
    n = a.shape[0]
    perm = list(range(n))
    rnd.shuffle(perm)
    b = a[np.ix_(perm, perm)]
    for m in ("eigen", "geometric", "arithmetic"):
        wa = ahp_weights(a, method=m).weights
        wb = ahp_weights(b, method=m).weights
        np.testing.assert_allclose(wb, wa[perm], atol=1e-9)
    lab = [f"k{i}" for i in range(n)]
    da = pd.DataFrame(a, index=lab, columns=lab)
    db = da.iloc[perm, perm]
    pd.testing.assert_series_equal(ahp_weights(db).weights.sort_index(), ahp_weights(da).weights.sort_index(),
                                   check_exact=False, atol=1e-9)


@FAST
@given(st.lists(judgment_matrices(4, 4), min_size=2, max_size=5), st.data())
def test_aij_geometric_equals_aip_geometric(mats, data):
    ew = data.draw(st.lists(st.floats(0.1, 5), min_size=len(mats), max_size=len(mats)))
    g = aggregate_judgments(mats, expert_weights=ew)
    aij = ahp_weights(g, method="geometric").weights
    aip = aggregate_priorities([ahp_weights(m, method="geometric").weights for m in mats], "geometric", ew)
    np.testing.assert_allclose(aij, aip, atol=1e-10)
    np.testing.assert_allclose(g * g.T, np.ones_like(g), atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(judgment_matrices(4, 5), st.data())
def test_lambda_optimal_is_no_worse_than_harker(a, data):
    n = a.shape[0]
    i = data.draw(st.integers(0, n - 2))
    j = data.draw(st.integers(i + 1, n - 1))
    b = a.copy()
    b[i, j] = b[j, i] = np.nan
    opt = complete_matrix(b, "lambda_optimal")
    har = complete_matrix(b, "harker")
    assert opt.lambda_max <= har.lambda_max + 1e-7
    assert opt.lambda_max <= lambda_max(a) + 1e-7  # the original value is one feasible completion


@FAST
@given(st.lists(st.lists(st.floats(0, 100), min_size=3, max_size=3), min_size=4, max_size=12),
       st.floats(0.5, 10), st.floats(-50, 50))
def test_objective_weights_valid_and_affine_invariant(rows, scale, offset):
    df = pd.DataFrame(rows, columns=list("abc"))
    if (df.max() - df.min() <= 1e-6).all():
        return
    for f in (entropy_weights, critic_weights):
        r = f(df)
        assert abs(r.weights.sum() - 1) < 1e-9 and (r.weights >= 0).all() and not r.weights.isna().any()
        if np.ptp(df["a"]) < 1e-6 * max(1.0, abs(offset)):
            continue  # the offset would swamp a's spread in floating point (e.g. 1e-38 + 1.0 == 1.0)
        moved = df.assign(a=df["a"] * scale + offset)  # min-max normalisation removes positive affine maps
        np.testing.assert_allclose(f(moved).weights, r.weights, atol=1e-7)


@FAST
@given(st.lists(st.floats(0.01, 1), min_size=2, max_size=8), st.data())
def test_combine_weights_bounds(s, data):
    o = data.draw(st.lists(st.floats(0.01, 1), min_size=len(s), max_size=len(s)))
    s, o = np.array(s) / sum(s), np.array(o) / sum(o)
    np.testing.assert_allclose(combine_weights(s, o, alpha=1.0).weights, s)
    for m in ("linear", "multiplicative", "min_entropy", "game_theory"):
        w = combine_weights(s, o, m).weights
        assert abs(w.sum() - 1) < 1e-9 and (w >= 0).all()
    lin = combine_weights(s, o).weights.to_numpy()
    assert np.all(lin <= np.maximum(s, o) + 1e-12) and np.all(lin >= np.minimum(s, o) - 1e-12)


@settings(max_examples=15, deadline=None)
@given(judgment_matrices(3, 6))
def test_repair_reports_exactly_the_pairs_it_changed(a):
    from qlwork.weights.repair import repair_consistency

    r = repair_consistency(a)
    rep = np.asarray(r.repaired)
    np.testing.assert_allclose(rep * rep.T, 1.0, atol=1e-12)  # still reciprocal
    iu = np.triu_indices(a.shape[0], 1)
    changed = np.flatnonzero(~np.isclose(rep[iu], a[iu]))
    assert len(changed) == len(r.changes)  # every change is reported, nothing silent
    assert set(np.round(rep[iu][changed], 9)) <= set(np.round(SAATY_SCALE, 9))  # suggestions on the scale
    assert r.success == (r.cr_after < 0.1)
    assert r.cr_after == pytest.approx(ahp_weights(rep).cr, abs=1e-9)
    if ahp_weights(a).cr < 0.1:
        assert r.changes.empty


@settings(max_examples=12, deadline=None)
@given(judgment_matrices(2, 5))
def test_questionnaire_roundtrip(tmp_path_factory, a):
    from qlwork.weights.questionnaire import read_questionnaire, write_questionnaire

    n = a.shape[0]
    ids = [f"k{i}" for i in range(n)]
    m = pd.DataFrame(a, index=ids, columns=ids)
    p = write_questionnaire(tmp_path_factory.mktemp("q") / "expert_E09.xlsx", "E09", {"T_T": m}, weight=0.4)
    q = read_questionnaire(p)
    assert not [x for x in q.problems if x.severity == "error"]
    np.testing.assert_allclose(q.matrices["T_T"].to_numpy(), a, rtol=1e-12)
    assert q.expert_id == "E09" and q.weight == 0.4
