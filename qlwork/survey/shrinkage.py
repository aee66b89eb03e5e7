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

import numpy as np
import pandas as pd

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
    # einsum rather than BLAS matmul: tall-skinny products (m × p, p small) are
    # memory-bound, and a threaded BLAS on a shared machine is slower, not faster
    Vi = 1.0 / V
    XtViX = np.einsum("ij,ik,i->jk", X, X, Vi)
    try:
        Q = np.linalg.inv(XtViX)
    except np.linalg.LinAlgError:  # rank-deficient design: generalised inverse
        Q = np.linalg.pinv(XtViX)
    beta = Q @ np.einsum("ij,i->j", X, Vi * y)
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
    if isinstance(direct, pd.Series) and isinstance(X, (pd.DataFrame, pd.Series)) and not X.index.equals(index) \
            and set(X.index) == set(index):
        X = X.reindex(index)  # align covariates with the direct estimates by label
    if isinstance(direct, pd.Series) and isinstance(variance, pd.Series) and set(variance.index) == set(index):
        variance = variance.reindex(index)
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
        r = y - np.einsum("ij,j->i", A, beta)
        if method == "ML":
            score = -0.5 * np.sum(1 / V) + 0.5 * np.sum(r**2 / V**2)
            info = 0.5 * np.sum(1 / V**2)
        else:
            # P = V⁻¹ − B Q B' with B = V⁻¹X, never formed (m can be 30,000 units):
            # tr P = ΣV⁻¹ − tr(Q B'B);  tr P² = ΣV⁻² − 2 tr(Q B'V⁻¹B) + tr(Q B'B Q B'B)
            Vi = 1 / V
            B = A * Vi[:, None]
            BtB = np.einsum("ij,ik->jk", B, B)
            QBtB = Q @ BtB
            Py = Vi * y - np.einsum("ij,j->i", B, Q @ np.einsum("ij,i->j", B, y))
            trP = np.sum(Vi) - np.trace(QBtB)
            trP2 = np.sum(Vi**2) - 2 * np.trace(Q @ np.einsum("ij,ik,i->jk", B, B, Vi)) + np.trace(QBtB @ QBtB)
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
    xb = np.einsum("ij,j->i", A, beta)
    gamma = s2 / V
    est = gamma * y + (1 - gamma) * xb
    g1 = gamma * psi
    g2 = (1 - gamma) ** 2 * np.einsum("ij,jk,ik->i", A, Q, A)
    sum_v2 = np.sum(1 / V**2)
    g3 = psi**2 / V**3 * (2.0 / sum_v2)
    mse = g1 + g2 + 2 * g3
    if method == "ML":
        b = -np.trace(Q @ np.einsum("ij,ik,i->jk", A, A, 1 / V**2)) / sum_v2
        mse = mse - b * (psi / V) ** 2
    r = y - xb
    ll = -0.5 * (m * np.log(2 * np.pi) + np.sum(np.log(V)) + np.sum(r**2 / V))
    if method == "REML":
        _, logdet = np.linalg.slogdet(np.einsum("ij,ik,i->jk", A, A, 1 / V))
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


def _bb_loglik(y, n, a, b, codes, G):
    from scipy import special  # lazily: see estimates._t_quantile

    ll = special.betaln(y + a[codes], n - y + b[codes]) - special.betaln(a[codes], b[codes])
    return np.bincount(codes, weights=ll, minlength=G)


def _bb_fit_all(y: np.ndarray, n: np.ndarray, codes: np.ndarray, G: int, max_strength: float,
                max_iter: int = 100, tol: float = 1e-9):
    """Marginal ML of Beta(a_g, b_g) for every group at once (vectorised Newton).

    Newton–Raphson on θ = (log a, log b) with analytic digamma/trigamma
    derivatives summed per group by ``np.bincount``; step halving keeps each
    group's likelihood increasing; a non-concave Hessian falls back to a scaled
    gradient step.  Start: method of moments.  Returns (a, b, boundary).
    """
    sy = np.bincount(codes, weights=y, minlength=G)
    sn = np.bincount(codes, weights=n, minlength=G)
    cnt = np.bincount(codes, minlength=G)
    mu = np.clip(sy / sn, 1e-4, 1 - 1e-4)
    p = y / n
    s2 = np.bincount(codes, weights=n * (p - mu[codes]) ** 2, minlength=G) / np.maximum(sn, 1e-12)
    inv_n = np.bincount(codes, weights=1 / n, minlength=G) / np.maximum(cnt, 1)
    base = mu * (1 - mu)
    with np.errstate(divide="ignore", invalid="ignore"):
        M = (base - s2) / (s2 - base * inv_n)
    M = np.where(np.isfinite(M) & (M > 0), M, 20.0)
    M = np.clip(M, 0.5, max_strength)
    la, lb = np.log(mu * M), np.log((1 - mu) * M)
    ll = _bb_loglik(y, n, np.exp(la), np.exp(lb), codes, G)
    from scipy import special

    dg, tg = special.digamma, special.polygamma
    active = cnt > 1
    for _ in range(max_iter):
        a, b = np.exp(la), np.exp(lb)
        A, B = a[codes], b[codes]
        s = A + B
        d_ab, t_ab = dg(s), tg(1, s)
        d_n, t_n = dg(n + s), tg(1, n + s)
        ga = np.bincount(codes, dg(y + A) - d_n - dg(A) + d_ab, minlength=G)
        gb = np.bincount(codes, dg(n - y + B) - d_n - dg(B) + d_ab, minlength=G)
        haa = np.bincount(codes, tg(1, y + A) - t_n - tg(1, A) + t_ab, minlength=G)
        hbb = np.bincount(codes, tg(1, n - y + B) - t_n - tg(1, B) + t_ab, minlength=G)
        hab = np.bincount(codes, t_ab - t_n, minlength=G)
        # chain rule to θ = log a, log b
        g1, g2 = a * ga, b * gb
        h11 = a * a * haa + g1
        h22 = b * b * hbb + g2
        h12 = a * b * hab
        det = h11 * h22 - h12**2
        concave = (h11 < 0) & (det > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            s1 = np.where(concave, -(h22 * g1 - h12 * g2) / det, 0.1 * g1 / (np.abs(g1) + np.abs(g2) + 1e-12))
            s2_ = np.where(concave, -(-h12 * g1 + h11 * g2) / det, 0.1 * g2 / (np.abs(g1) + np.abs(g2) + 1e-12))
        s1 = np.where(active, np.clip(s1, -3, 3), 0.0)
        s2_ = np.where(active, np.clip(s2_, -3, 3), 0.0)
        step = np.ones(G)
        for _h in range(20):
            na_, nb_ = la + step * s1, lb + step * s2_
            # cap the prior strength a + b (binomial limit)
            over = np.logaddexp(na_, nb_) > np.log(max_strength)
            shift = np.where(over, np.logaddexp(na_, nb_) - np.log(max_strength), 0.0)
            na_, nb_ = na_ - shift, nb_ - shift
            new = _bb_loglik(y, n, np.exp(na_), np.exp(nb_), codes, G)
            ok = new >= ll - 1e-10 * np.abs(ll)
            if ok.all():
                break
            step = np.where(ok, step, step / 2)
        ok = new >= ll - 1e-10 * np.abs(ll)
        moved = np.where(ok, np.maximum(np.abs(na_ - la), np.abs(nb_ - lb)), 0.0)
        la, lb, ll = np.where(ok, na_, la), np.where(ok, nb_, lb), np.where(ok, new, ll)
        # a group is done when its step is negligible or it cannot improve any more
        active &= ok & (moved >= tol)
        if not active.any():
            break
    a, b = np.exp(la), np.exp(lb)
    boundary = (a + b) >= max_strength * 0.999
    pooled = np.clip(sy / sn, 1e-9, 1 - 1e-9)
    a = np.where(boundary, pooled * max_strength, a)
    b = np.where(boundary, (1 - pooled) * max_strength, b)
    return a, b, boundary


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
    a, b, bnd = _bb_fit_all(y, n, np.asarray(codes, dtype=np.int64), len(names), max_strength)
    A, B = a[codes] + y, b[codes] + n - y
    post = A / (A + B)
    from scipy import stats

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
