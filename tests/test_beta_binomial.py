"""Beta-binomial empirical Bayes for satisfaction shares."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

from qlwork.errors import QlworkError
from qlwork.survey import beta_binomial


def _grid_mle(y, n):
    # second method: brute-force grid over (μ, log M) of the same marginal likelihood
    mus = np.linspace(0.5, 0.99, 246)
    Ms = np.exp(np.linspace(np.log(1), np.log(500), 300))
    best = (-np.inf, None, None)
    for M in Ms:
        a = mus[:, None] * M
        b = (1 - mus[:, None]) * M
        ll = np.sum(special.betaln(y + a, n - y + b) - special.betaln(a, b), axis=1)
        i = np.argmax(ll)
        if ll[i] > best[0]:
            best = (ll[i], mus[i], M)
    return best[1], best[2]


def test_marginal_ml_matches_grid_and_recovers_prior():
    rng = np.random.default_rng(5)
    p = rng.beta(16, 4, 300)  # μ = 0.8, M = 20
    n = rng.integers(20, 80, 300).astype(float)
    y = rng.binomial(n.astype(int), p).astype(float)
    r = beta_binomial(y, n)
    pr = r.prior.iloc[0]
    mu_g, M_g = _grid_mle(y, n)
    assert pr["mean"] == pytest.approx(mu_g, abs=0.004)
    assert pr["strength"] == pytest.approx(M_g, rel=0.05)
    assert pr["mean"] == pytest.approx(0.8, abs=0.02)
    assert 10 < pr["strength"] < 40
    assert not pr["boundary"]


def test_posterior_formula_by_hand():
    rng = np.random.default_rng(6)
    p = rng.beta(8, 2, 200)
    n = np.full(200, 30.0)
    y = rng.binomial(30, p).astype(float)
    r = beta_binomial(y, n)
    a, b = r.prior.iloc[0][["a", "b"]]
    # posterior mean (y + a)/(n + a + b); 95 % interval from Beta(y + a, n − y + b)
    assert r.estimates.iloc[0] == pytest.approx((y[0] + a) / (30 + a + b))
    assert r.ci_low.iloc[0] == pytest.approx(stats.beta.ppf(0.025, y[0] + a, 30 - y[0] + b))
    # shrinkage: posterior lies between the direct share and the prior mean
    d = y / n
    mu = a / (a + b)
    lo, hi = np.minimum(d, mu), np.maximum(d, mu)
    assert np.all((r.estimates >= lo - 1e-12) & (r.estimates <= hi + 1e-12))


def test_no_overdispersion_boundary_pools_completely():
    rng = np.random.default_rng(8)
    n = np.full(100, 40.0)
    y = rng.binomial(40, 0.9, 100).astype(float)  # one common p: no overdispersion
    r = beta_binomial(y, n, max_strength=1e6)
    pooled = y.sum() / n.sum()
    if r.prior.iloc[0]["boundary"]:
        assert r.prior.iloc[0]["mean"] == pytest.approx(pooled)
        np.testing.assert_allclose(r.estimates, pooled, atol=1e-3)
    else:  # a finite but very strong prior is also a correct answer on a finite sample
        assert r.prior.iloc[0]["strength"] > 200


def test_groups_shrink_to_their_own_means_and_bad_input():
    rng = np.random.default_rng(9)
    g = np.repeat(["村居", "机关"], 150)
    p = np.where(g == "村居", rng.beta(6, 4, 300), rng.beta(18, 2, 300))
    n = np.full(300, 25.0)
    y = rng.binomial(25, p).astype(float)
    r = beta_binomial(y, n, g)
    assert r.prior.loc["村居", "mean"] == pytest.approx(0.6, abs=0.04)
    assert r.prior.loc["机关", "mean"] == pytest.approx(0.9, abs=0.03)
    with pytest.raises(QlworkError):
        beta_binomial([5], [3])
