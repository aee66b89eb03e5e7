"""Small-sample shrinkage of per-unit public scores (DOMAIN.md §3.4).

Two estimators, both shrinking toward **group means built from region and
unit-type labels only**:

- :func:`fay_herriot` — the area-level Fay–Herriot (1979) EBLUP with σu²
  fitted by REML or ML (Fisher scoring, as in R ``sae::eblupFH``; Rao & Molina
  2015, *Small Area Estimation*, 2nd ed., §6.1) and its MSE (Prasad & Rao 1990;
  Datta & Lahiri 2000 for ML).
- :func:`beta_binomial` — empirical Bayes for satisfaction shares: Beta(a, b)
  prior per group fitted by marginal maximum likelihood.

Circularity guard: if the public score were shrunk toward a prediction from
the internal score (专业分), the shrunk public score would agree with the
internal score by construction.  :func:`design_matrix` therefore only builds
dummies from categorical labels, and :func:`fay_herriot` refuses covariates
whose names look like internal/index scores unless ``allow_internal=True``
is passed explicitly (and that choice is recorded in ``params``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from ..errors import Problem, QlworkError

__all__ = [
    "FayHerriotResult",
    "fay_herriot",
    "design_matrix",
    "BetaBinomialResult",
    "beta_binomial",
    "FORBIDDEN_COVARIATE",
]

#: Covariate names refused by :func:`fay_herriot` (internal / index scores).
FORBIDDEN_COVARIATE = re.compile(r"internal|专业|index|total|score|指数|总分|内部", re.IGNORECASE)


@dataclass(frozen=True)
class FayHerriotResult:
    """Fay–Herriot EBLUP.  ``estimates`` and ``mse`` are aligned with ``direct``."""

    estimates: pd.Series
    mse: pd.Series
    sigma2_u: float
    beta: pd.Series
    gamma: pd.Series
    synthetic: pd.Series
    direct: pd.Series
    variance: pd.Series
    loglike: float
    converged: bool
    iterations: int
    params: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({
            "direct": self.direct, "direct_var": self.variance, "synthetic": self.synthetic,
            "gamma": self.gamma, "eblup": self.estimates, "eblup_mse": self.mse,
        })

    def __repr__(self) -> str:
        return (f"FayHerriotResult(method={self.params.get('method')}, m={len(self.estimates)}, "
                f"sigma2_u={self.sigma2_u:.4g}, beta={np.round(self.beta.to_numpy(), 4).tolist()}, "
                f"converged={self.converged})")


def design_matrix(groups: pd.DataFrame | pd.Series, *, intercept: bool = True) -> pd.DataFrame:
    """Dummy design from categorical labels only (region, unit type).

    Each column of ``groups`` is one-hot encoded (first level dropped when an
    intercept is present).  Continuous columns are refused: this is the
    structural guard against shrinking toward the internal score.
    """
    if isinstance(groups, pd.Series):
        groups = groups.to_frame()
    for c in groups.columns:
        if pd.api.types.is_float_dtype(groups[c]):
            raise QlworkError(Problem(
                "continuous_covariate", f"收缩目标只能按地区/单位类型分组，列 {c} 是连续变量",
                f"shrinkage targets use region/unit-type labels only; column {c} is continuous",
                column=str(c)))
    parts = [pd.get_dummies(groups[c].astype(str), prefix=str(c), drop_first=intercept, dtype=float)
             for c in groups.columns]
    X = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=groups.index)
    if intercept:
        X.insert(0, "intercept", 1.0)
    return X


def _check_X(X, m: int, index, allow_internal: bool) -> tuple[np.ndarray, list[str]]:
    if X is None:
        return np.ones((m, 1)), ["intercept"]
    if isinstance(X, pd.Series):
        X = X.to_frame()
    if isinstance(X, pd.DataFrame):
        names = [str(c) for c in X.columns]
        bad = [c for c in names if FORBIDDEN_COVARIATE.search(c)]
        if bad and not allow_internal:
            raise QlworkError(Problem(
                "circular_covariate",
                "公众评价的收缩不得使用内部分/指数作协变量（会人为制造一致性），只能用地区/单位类型",
                "public scores must not be shrunk toward internal/index scores (manufactures agreement); "
                "use region/unit-type groups only, or pass allow_internal=True knowingly",
                found=bad))
        A = X.to_numpy(dtype=float)
    else:
        A = np.asarray(X, dtype=float)
        if A.ndim == 1:
            A = A[:, None]
        names = [f"x{j}" for j in range(A.shape[1])]
    if A.shape[0] != m:
        raise QlworkError(Problem("shape", "协变量行数与直接估计数不一致",
                                  "X rows differ from the number of direct estimates",
                                  found=A.shape[0], expected=m))
    return A, names


def _gls(y, X, V):
    Vi = 1.0 / V
    XtViX = X.T @ (X * Vi[:, None])
    Q = np.linalg.pinv(XtViX)
    beta = Q @ (X.T @ (Vi * y))
    return beta, Q


def fay_herriot(
    direct: pd.Series | np.ndarray,
    variance: pd.Series | np.ndarray,
    X: pd.DataFrame | np.ndarray | None = None,
    method: str = "REML",
    *,
    max_iter: int = 100,
    tol: float = 1e-8,
    allow_internal: bool = False,
) -> FayHerriotResult:
    """Fay–Herriot EBLUP with REML or ML variance fitting.

    Model ``ŷ_i = x_iβ + u_i + e_i``, ``u_i ~ N(0, σu²)``, ``e_i ~ N(0, ψ_i)``
    with ψ_i = ``variance`` (known).  EBLUP ``γ_i ŷ_i + (1−γ_i) x_iβ̂``,
    ``γ_i = σu²/(σu²+ψ_i)``.

    σu² by Fisher scoring, truncated at 0 (Rao & Molina 2015, eqs. 6.1.17–6.1.18):
    ML score ``−½Σ1/V_i + ½Σ(y−Xβ)²/V_i²``, information ``½ΣV_i⁻²``;
    REML score ``−½tr(P) + ½y'P²y``, information ``½tr(P²)``,
    ``P = V⁻¹ − V⁻¹X(X'V⁻¹X)⁻¹X'V⁻¹``.  Start at median(ψ) like ``sae``.

    MSE (Prasad–Rao 1990; Datta–Lahiri 2000) ``g1 + g2 + 2 g3`` with
    ``g1 = γψ``, ``g2 = (1−γ)² x(X'V⁻¹X)⁻¹x'``,
    ``g3 = ψ²/V³ · 2/ΣV_j⁻²``; for ML the bias of σ̂²,
    ``b = −tr[(X'V⁻¹X)⁻¹X'V⁻²X] / ΣV_j⁻²``, adds ``−b·ψ²/V²``
    (the form used by ``sae::mseFH``).

    ``X`` defaults to an intercept only; build it with :func:`design_matrix`
    from region / unit-type labels.  Covariates named like internal scores
    are refused (see module docstring).
    """
    method = method.upper()
    if method not in ("REML", "ML"):
        raise QlworkError(Problem("bad_method", "方法须为 REML 或 ML", "method must be REML or ML", found=method))
    index = direct.index if isinstance(direct, pd.Series) else pd.RangeIndex(len(direct))
    y = np.asarray(direct, dtype=float)
    psi = np.asarray(variance, dtype=float)
    m = len(y)
    A, names = _check_X(X, m, index, allow_internal)
    if np.any(~np.isfinite(y)) or np.any(~np.isfinite(psi)) or np.any(psi <= 0):
        raise QlworkError(Problem("bad_input", "直接估计与方差须为有限数且方差为正",
                                  "direct estimates and variances must be finite, variances positive"))
    p = A.shape[1]
    s2 = float(np.median(psi))
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        V = s2 + psi
        beta, Q = _gls(y, A, V)
        r = y - A @ beta
        if method == "ML":
            score = -0.5 * np.sum(1 / V) + 0.5 * np.sum(r**2 / V**2)
            info = 0.5 * np.sum(1 / V**2)
        else:
            # P = V⁻¹ − B Q B' with B = V⁻¹X, never formed (m can be 30,000 units):
            # tr P = ΣV⁻¹ − tr(Q B'B);  tr P² = ΣV⁻² − 2 tr(Q B'V⁻¹B) + tr(Q B'B Q B'B)
            Vi = 1 / V
            B = A * Vi[:, None]
            BtB = B.T @ B
            QBtB = Q @ BtB
            Py = Vi * y - B @ (Q @ (B.T @ y))
            trP = np.sum(Vi) - np.trace(QBtB)
            trP2 = np.sum(Vi**2) - 2 * np.trace(Q @ (B.T @ (B * Vi[:, None]))) + np.trace(QBtB @ QBtB)
            score = -0.5 * trP + 0.5 * Py @ Py
            info = 0.5 * trP2
        new = max(s2 + score / info, 0.0)
        diff = abs(new - s2)
        s2 = new
        if diff <= tol * max(s2, 1e-12) or (s2 == 0.0 and diff <= tol):
            converged = True
            break
    V = s2 + psi
    beta, Q = _gls(y, A, V)
    xb = A @ beta
    gamma = s2 / V
    est = gamma * y + (1 - gamma) * xb
    g1 = gamma * psi
    g2 = (1 - gamma) ** 2 * np.einsum("ij,jk,ik->i", A, Q, A)
    sum_v2 = np.sum(1 / V**2)
    g3 = psi**2 / V**3 * (2.0 / sum_v2)
    mse = g1 + g2 + 2 * g3
    if method == "ML":
        b = -np.trace(Q @ (A.T @ (A / V[:, None] ** 2))) / sum_v2
        mse = mse - b * (psi / V) ** 2
    r = y - xb
    ll = -0.5 * (m * np.log(2 * np.pi) + np.sum(np.log(V)) + np.sum(r**2 / V))
    if method == "REML":
        _, logdet = np.linalg.slogdet(A.T @ (A / V[:, None]))
        ll = ll + 0.5 * p * np.log(2 * np.pi) - 0.5 * logdet
    S = lambda a, nm: pd.Series(a, index=index, name=nm)
    return FayHerriotResult(
        estimates=S(est, "eblup"), mse=S(mse, "eblup_mse"), sigma2_u=float(s2),
        beta=pd.Series(beta, index=names, name="beta"), gamma=S(gamma, "gamma"),
        synthetic=S(xb, "synthetic"), direct=S(y, "direct"), variance=S(psi, "direct_var"),
        loglike=float(ll), converged=converged, iterations=it,
        params={"method": method, "max_iter": max_iter, "tol": tol, "covariates": names,
                "allow_internal": allow_internal,
                "mse": "Prasad-Rao g1+g2+2g3" + (" - b_ML*psi^2/V^2 (Datta-Lahiri)" if method == "ML" else ""),
                "shrink_toward": "region/unit-type group means (never the internal score)"},
    )


@dataclass(frozen=True)
class BetaBinomialResult:
    """Beta-binomial EB shares: posterior mean and interval per unit."""

    estimates: pd.Series
    ci_low: pd.Series
    ci_high: pd.Series
    prior: pd.DataFrame  # per group: a, b, mean, strength (a+b), boundary
    direct: pd.Series
    params: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"direct_share": self.direct, "eb_share": self.estimates,
                             "eb_ci_low": self.ci_low, "eb_ci_high": self.ci_high})

    def __repr__(self) -> str:
        return f"BetaBinomialResult(units={len(self.estimates)}, groups={len(self.prior)}, " \
               f"boundary_groups={int(self.prior['boundary'].sum())})"


def _bb_fit(y: np.ndarray, n: np.ndarray, max_strength: float) -> tuple[float, float, bool]:
    """Marginal ML for Beta(μM, (1−μ)M) given counts; returns (mu, M, boundary)."""
    pooled = float(np.clip(y.sum() / n.sum(), 1e-6, 1 - 1e-6))

    def nll(theta):
        mu = special.expit(theta[0])
        M = np.exp(theta[1])
        a, b = mu * M, (1 - mu) * M
        return -np.sum(special.betaln(y + a, n - y + b) - special.betaln(a, b))

    bounds = [(-15, 15), (np.log(1e-3), np.log(max_strength))]
    best = optimize.minimize(nll, x0=[special.logit(pooled), np.log(20.0)], method="L-BFGS-B", bounds=bounds)
    if not best.success:  # a second start guards against a flat region far from the optimum
        alt = optimize.minimize(nll, x0=[special.logit(pooled), np.log(2.0)], method="L-BFGS-B", bounds=bounds)
        best = alt if alt.fun < best.fun else best
    mu = float(special.expit(best.x[0]))
    M = float(np.exp(best.x[1]))
    # No overdispersion: the likelihood rises all the way to M → ∞ (binomial limit).
    boundary = M >= max_strength * 0.999
    if boundary:
        mu, M = pooled, float(max_strength)
    return mu, M, bool(boundary)


def beta_binomial(
    successes: pd.Series | np.ndarray,
    trials: pd.Series | np.ndarray,
    groups: pd.Series | np.ndarray | None = None,
    *,
    level: float = 0.95,
    max_strength: float = 1e6,
) -> BetaBinomialResult:
    """Empirical-Bayes satisfaction shares shrunk toward group (region/unit-type) means.

    Per group g, ``y_i | p_i ~ Bin(n_i, p_i)``, ``p_i ~ Beta(a_g, b_g)``;
    (a_g, b_g) maximise the marginal beta-binomial likelihood
    ``Σ_i [ln B(y_i+a, n_i−y_i+b) − ln B(a, b)]``.  Posterior mean
    ``(y+a)/(n+a+b)``; interval from ``Beta(y+a, n−y+b)``.
    With survey weights pass ``successes = p̂_w·n_eff``, ``trials = n_eff``.

    Boundary: when there is no overdispersion the likelihood increases toward
    ``a+b → ∞``; the fit is then capped at ``max_strength`` with ``μ`` = the
    pooled share (complete pooling) and ``boundary=True`` is recorded.
    """
    idx = successes.index if isinstance(successes, pd.Series) else pd.RangeIndex(len(successes))
    y = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    if np.any(y < 0) or np.any(y > n + 1e-9) or np.any(n <= 0):
        raise QlworkError(Problem("bad_input", "满意人数须在 0 与样本量之间，样本量为正",
                                  "successes must lie in [0, trials], trials > 0"))
    y = np.minimum(y, n)
    if groups is None:
        codes = np.zeros(len(y), dtype=np.int64)
        names = pd.Index(["全部"])
    else:
        codes, names = pd.factorize(np.asarray(groups), sort=True)
        names = pd.Index(names)
    a = np.empty(len(names))
    b = np.empty(len(names))
    bnd = np.zeros(len(names), dtype=bool)
    for g in range(len(names)):  # few groups (unit types × regions); the fit itself is vectorised
        sel = codes == g
        mu, M, bd = _bb_fit(y[sel], n[sel], max_strength)
        a[g], b[g], bnd[g] = mu * M, (1 - mu) * M, bd
    A, B = a[codes] + y, b[codes] + n - y
    post = A / (A + B)
    lo = stats.beta.ppf((1 - level) / 2, A, B)
    hi = stats.beta.ppf(1 - (1 - level) / 2, A, B)
    prior = pd.DataFrame({"a": a, "b": b, "mean": a / (a + b), "strength": a + b, "boundary": bnd}, index=names)
    S = lambda v, nm: pd.Series(v, index=idx, name=nm)
    return BetaBinomialResult(
        estimates=S(post, "eb_share"), ci_low=S(lo, "eb_ci_low"), ci_high=S(hi, "eb_ci_high"),
        prior=prior, direct=S(y / n, "direct_share"),
        params={"method": "beta-binomial marginal ML", "level": level, "max_strength": max_strength,
                "shrink_toward": "region/unit-type group means (never the internal score)"},
    )
