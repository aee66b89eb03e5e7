"""Fay–Herriot EBLUP: published example, brute-force likelihood, closed-form limits."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from qlwork.errors import QlworkError
from qlwork.survey import design_matrix, fay_herriot

# Milk expenditure data (Arora & Lahiri 1997; R package sae, data(milk)):
# SmallArea, yi, SD, MajorArea.
MILK = np.array([
    [1, 1.099, 0.163, 1], [2, 1.075, 0.080, 1], [3, 1.105, 0.083, 1], [4, 0.628, 0.109, 1],
    [5, 0.753, 0.119, 1], [6, 0.981, 0.141, 1], [7, 1.257, 0.202, 1], [8, 1.095, 0.127, 2],
    [9, 1.405, 0.168, 2], [10, 1.356, 0.178, 2], [11, 0.615, 0.100, 2], [12, 1.460, 0.201, 2],
    [13, 1.338, 0.148, 2], [14, 0.854, 0.143, 2], [15, 1.176, 0.149, 3], [16, 1.111, 0.145, 3],
    [17, 1.257, 0.135, 3], [18, 1.430, 0.172, 3], [19, 1.278, 0.137, 3], [20, 1.292, 0.163, 3],
    [21, 1.002, 0.125, 3], [22, 1.183, 0.247, 3], [23, 1.044, 0.140, 3], [24, 1.267, 0.171, 3],
    [25, 1.193, 0.106, 3], [26, 0.791, 0.121, 4], [27, 0.795, 0.121, 4], [28, 0.759, 0.259, 4],
    [29, 0.796, 0.106, 4], [30, 0.565, 0.089, 4], [31, 0.886, 0.225, 4], [32, 0.952, 0.205, 4],
    [33, 0.807, 0.119, 4], [34, 0.582, 0.067, 4], [35, 0.684, 0.106, 4], [36, 0.787, 0.126, 4],
    [37, 0.440, 0.092, 4], [38, 0.759, 0.132, 4], [39, 0.770, 0.100, 4], [40, 0.800, 0.113, 4],
    [41, 0.756, 0.083, 4], [42, 0.865, 0.121, 4], [43, 0.640, 0.129, 4],
])

# Expected values: R sae::eblupFH(yi ~ as.factor(MajorArea), SD^2, method=...) and
# sae::mseFH, as reproduced in samplics' tests/sae/test_eblup_area_model.py.
REML_BETA = [0.9681890, 0.1327801, 0.2269462, -0.2413011]
REML_EST_FIRST = [1.0219703, 1.0476018, 1.0679513, 0.7608170, 0.8461574]
REML_EST_LAST = [0.7481164, 0.8040773, 0.6810870]
REML_MSE_FIRST = [0.013460220, 0.005372876, 0.005701990, 0.008541740, 0.009579594]
ML_BETA = [0.9677986, 0.1278756, 0.2266909, -0.2425804]
ML_EST_FIRST = [1.0161733, 1.0436968, 1.0628168, 0.7753489, 0.8554903]
ML_MSE_FIRST = [0.013579953, 0.005512868, 0.005850584, 0.008735454, 0.009774528]


def _milk():
    X = design_matrix(pd.Series(MILK[:, 3].astype(int), name="major_area"))
    return MILK[:, 1], MILK[:, 2] ** 2, X


def test_reml_matches_sae_milk():
    y, psi, X = _milk()
    r = fay_herriot(y, psi, X, method="REML")
    np.testing.assert_allclose(r.beta.to_numpy(), REML_BETA, atol=2e-5)
    np.testing.assert_allclose(r.estimates.to_numpy()[:5], REML_EST_FIRST, atol=2e-5)
    np.testing.assert_allclose(r.estimates.to_numpy()[-3:], REML_EST_LAST, atol=2e-5)
    np.testing.assert_allclose(r.mse.to_numpy()[:5], REML_MSE_FIRST, rtol=2e-4)
    assert r.converged


def test_ml_matches_sae_milk():
    y, psi, X = _milk()
    r = fay_herriot(y, psi, X, method="ML")
    np.testing.assert_allclose(r.beta.to_numpy(), ML_BETA, atol=2e-5)
    np.testing.assert_allclose(r.estimates.to_numpy()[:5], ML_EST_FIRST, atol=2e-5)
    np.testing.assert_allclose(r.mse.to_numpy()[:5], ML_MSE_FIRST, rtol=2e-4)


def _reml_loglik(s2, y, psi, X):
    # restricted log-likelihood written from scratch (Harville 1977):
    # −½[log|V| + log|X'V⁻¹X| + y'Py]
    V = np.diag(s2 + psi)
    Vi = np.linalg.inv(V)
    XtViX = X.T @ Vi @ X
    P = Vi - Vi @ X @ np.linalg.inv(XtViX) @ X.T @ Vi
    return -0.5 * (np.linalg.slogdet(V)[1] + np.linalg.slogdet(XtViX)[1] + y @ P @ y)


def test_reml_sigma2_is_brute_force_maximum():
    rng = np.random.default_rng(7)
    m = 60
    grp = rng.choice(["机关", "学校", "医院"], m)
    X = design_matrix(pd.Series(grp, name="t")).to_numpy()
    psi = rng.uniform(5, 60, m)
    y = X @ np.array([80, -5, 3]) + rng.normal(0, 4, m) + rng.normal(0, np.sqrt(psi))
    r = fay_herriot(y, psi, X, method="REML", tol=1e-12)
    best = optimize.minimize_scalar(lambda s: -_reml_loglik(s, y, psi, X), bounds=(0, 500), method="bounded",
                                    options={"xatol": 1e-8})
    assert r.sigma2_u == pytest.approx(best.x, rel=1e-4, abs=1e-4)


def test_limits_direct_and_synthetic():
    rng = np.random.default_rng(11)
    m = 30
    y = rng.normal(70, 8, m)
    # ψ → 0: the EBLUP is the direct estimate (γ → 1)
    r = fay_herriot(y, np.full(m, 1e-8))
    np.testing.assert_allclose(r.estimates, y, atol=1e-5)
    # no between-area variation (σu² fitted at the 0 boundary): EBLUP = synthetic GLS mean
    psi = rng.uniform(20, 40, m)
    y2 = 70 + rng.normal(0, 0.01, m)
    r2 = fay_herriot(y2, psi)
    assert r2.sigma2_u == 0.0
    gls = np.sum(y2 / psi) / np.sum(1 / psi)
    np.testing.assert_allclose(r2.estimates, gls, rtol=1e-10)
    assert np.all(r2.gamma == 0)
    # MSE at σu² = 0 by hand (intercept only, V = ψ): g1 = 0, g2 = 1/Σψ⁻¹,
    # g3 = ψ_i²/ψ_i³ · 2/Σψ⁻² = 2/(ψ_i Σψ⁻²) → MSE = 1/Σψ⁻¹ + 4/(ψ_i Σψ⁻²)
    expected = 1 / np.sum(1 / psi) + 4 / (psi * np.sum(psi**-2.0))
    np.testing.assert_allclose(r2.mse, expected, rtol=1e-10)


def test_refuses_internal_score_covariate():
    y, psi, X = _milk()
    bad = X.assign(internal=np.linspace(60, 90, len(y)))
    with pytest.raises(QlworkError) as e:
        fay_herriot(y, psi, bad)
    assert "circular_covariate" in str(e.value)
    with pytest.raises(QlworkError):
        design_matrix(pd.DataFrame({"专业分": np.linspace(0, 1, 5)}))
    ok = fay_herriot(y, psi, bad, allow_internal=True)
    assert ok.params["allow_internal"] is True


def test_aligns_by_label():
    y, psi, X = _milk()
    idx = [f"A{i:02d}" for i in range(len(y))]
    ys, ps, Xs = pd.Series(y, index=idx), pd.Series(psi, index=idx), X.set_axis(idx)
    a = fay_herriot(ys, ps, Xs)
    b = fay_herriot(ys, ps.iloc[::-1], Xs.iloc[::-1])
    np.testing.assert_allclose(a.estimates, b.estimates)


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(["REML", "ML"]))
def test_eblup_lies_between_direct_and_synthetic(seed, method):
    # EBLUP = γ·direct + (1 − γ)·synthetic with γ = σu²/(σu² + ψ) ∈ [0, 1] (Rao & Molina 2015,
    # §6.1): it lies between the two, and units with noisier direct estimates shrink more
    rng = np.random.default_rng(seed)
    m = 40
    grp = rng.choice(["机关", "学校"], m)
    X = design_matrix(pd.Series(grp, name="t"))
    psi = rng.uniform(2, 50, m)
    y = 70 + 5 * (grp == "学校") + rng.normal(0, rng.uniform(0.5, 8), m) + rng.normal(0, np.sqrt(psi))
    r = fay_herriot(y, psi, X, method=method)
    g = r.gamma.to_numpy()
    assert np.all((g >= 0) & (g <= 1))
    np.testing.assert_allclose(r.estimates, g * y + (1 - g) * r.synthetic.to_numpy(), atol=1e-9)
    lo, hi = np.minimum(y, r.synthetic), np.maximum(y, r.synthetic)
    assert np.all((r.estimates >= lo - 1e-9) & (r.estimates <= hi + 1e-9))
    # more sampling variance → more shrinkage (γ decreasing in ψ)
    order = np.argsort(psi)
    assert np.all(np.diff(g[order]) <= 1e-12)
    assert np.all(r.mse > 0)
