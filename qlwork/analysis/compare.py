"""Internal scores (专业分) against public scores (获得感): agreement, models,
divergence flags with uncertainty (DOMAIN.md §3.6–3.8).

- :func:`lins_ccc` — Lin's concordance correlation with a Fisher-z interval;
- :func:`bland_altman` — bias, limits of agreement and their t-intervals;
- :func:`agreement` — Spearman, Kendall τ-b, CCC, Bland–Altman per peer group;
- :func:`fit_models` — statsmodels WLS (public ~ internal + type + region,
  weights 1/var(public)) and MixedLM with a random intercept per region;
- :func:`divergence` — z-gap with Benjamini–Hochberg, rank gap, quadrants,
  and P(bottom N) of the public score within each peer group by simulation.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import Problem, QlworkError

__all__ = [
    "CCCResult", "lins_ccc", "BlandAltmanResult", "bland_altman", "agreement",
    "ModelResults", "fit_models", "ordinal_model", "divergence", "p_bottom_n", "large_drop", "QUADRANT_LABELS",
]

QUADRANT_LABELS = {
    "high_low": "专业分高、获得感低",
    "low_high": "专业分低、获得感高",
    "high_high": "专业分高、获得感高",
    "low_low": "专业分低、获得感低",
}


def _pair(x, y) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape:
        raise QlworkError(Problem("shape", "两组分数长度不一致", "x and y differ in length",
                                  found=(len(x), len(y))))
    ok = np.isfinite(x) & np.isfinite(y)
    return x[ok], y[ok]


@dataclass(frozen=True)
class CCCResult:
    ccc: float
    ci_low: float
    ci_high: float
    n: int
    pearson_r: float
    bias_correction: float  # C_b = ccc / r
    location_shift: float  # u
    scale_shift: float  # v = s_x / s_y
    params: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{k: getattr(self, k) for k in ("ccc", "ci_low", "ci_high", "n", "pearson_r",
                                                             "bias_correction", "location_shift", "scale_shift")}])

    def __repr__(self) -> str:
        return f"CCCResult(ccc={self.ccc:.4f}, CI=[{self.ci_low:.4f}, {self.ci_high:.4f}], n={self.n})"


def lins_ccc(x, y, *, ddof: int = 0, level: float = 0.95) -> CCCResult:
    """Lin's concordance correlation ``ρc = 2 s_xy / (s_x² + s_y² + (x̄ − ȳ)²)``.

    Lin (1989, *Biometrics* 45:255–268) uses 1/n moments (``ddof=0``, also
    R epiR::epi.ccc); ``ddof=1`` gives the n−1 version.  Interval on the
    Fisher-z scale (Lin 1989; Lin 2000 correction), ``z = atanh(ρc)``::

        var_z = [ (1−r²)ρc²/((1−ρc²)r²) + 2ρc³(1−ρc)u²/(r(1−ρc²)²)
                  − ρc⁴u⁴/(2r²(1−ρc²)²) ] / (n−2),   u = (x̄−ȳ)/√(s_x s_y).
    """
    x, y = _pair(x, y)
    n = len(x)
    if n < 3:
        raise QlworkError(Problem("too_few", "一致性系数至少需要 3 对数据", "CCC needs at least 3 pairs", found=n))
    mx, my = x.mean(), y.mean()
    sx2 = ((x - mx) ** 2).sum() / (n - ddof)
    sy2 = ((y - my) ** 2).sum() / (n - ddof)
    sxy = ((x - mx) * (y - my)).sum() / (n - ddof)
    pc = 2 * sxy / (sx2 + sy2 + (mx - my) ** 2)
    r = sxy / np.sqrt(sx2 * sy2)
    u = (mx - my) / (sx2 * sy2) ** 0.25
    if 1 - abs(pc) < 1e-12:  # perfect concordance: the Fisher-z interval degenerates to the point
        return CCCResult(float(pc), float(pc), float(pc), n, float(r), float(pc / r), float(u),
                         float(np.sqrt(sx2 / sy2)), {"ddof": ddof, "level": level, "ci": "degenerate (|ρc| = 1)"})
    var_z = ((1 - r**2) * pc**2 / ((1 - pc**2) * r**2)
             + 2 * pc**3 * (1 - pc) * u**2 / (r * (1 - pc**2) ** 2)
             - pc**4 * u**4 / (2 * r**2 * (1 - pc**2) ** 2)) / (n - 2)
    z = np.arctanh(pc)
    q = stats.norm.ppf(1 - (1 - level) / 2)
    se = np.sqrt(max(var_z, 0.0))
    return CCCResult(float(pc), float(np.tanh(z - q * se)), float(np.tanh(z + q * se)), n, float(r),
                     float(pc / r), float(u), float(np.sqrt(sx2 / sy2)),
                     {"ddof": ddof, "level": level, "ci": "Fisher z (Lin 1989/2000)"})


@dataclass(frozen=True)
class BlandAltmanResult:
    bias: float
    sd: float
    loa_low: float
    loa_high: float
    bias_ci: tuple
    loa_low_ci: tuple
    loa_high_ci: tuple
    n: int
    params: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"bias": self.bias, "sd": self.sd, "loa_low": self.loa_low, "loa_high": self.loa_high,
                              "bias_ci_low": self.bias_ci[0], "bias_ci_high": self.bias_ci[1],
                              "loa_low_ci_low": self.loa_low_ci[0], "loa_low_ci_high": self.loa_low_ci[1],
                              "loa_high_ci_low": self.loa_high_ci[0], "loa_high_ci_high": self.loa_high_ci[1],
                              "n": self.n}])

    def __repr__(self) -> str:
        return (f"BlandAltmanResult(bias={self.bias:.3f}, sd={self.sd:.3f}, "
                f"LoA=[{self.loa_low:.3f}, {self.loa_high:.3f}], n={self.n})")


def bland_altman(x, y, *, level: float = 0.95, agreement: float = 1.96) -> BlandAltmanResult:
    """Bland–Altman: ``d = x − y`` (internal − public), bias = mean(d), SD (ddof=1),
    LoA = bias ± 1.96·SD.  CIs with t(n−1): bias ± t·SD/√n; each LoA ± t·√(3 SD²/n)
    (Bland & Altman 1986, *Lancet* i:307–310, §"precision of estimated limits").
    """
    x, y = _pair(x, y)
    n = len(x)
    if n < 3:
        raise QlworkError(Problem("too_few", "Bland–Altman 至少需要 3 对数据", "Bland–Altman needs at least 3 pairs",
                                  found=n))
    d = x - y
    bias = d.mean()
    sd = d.std(ddof=1)
    t = stats.t.ppf(1 - (1 - level) / 2, n - 1)
    se_b = sd / np.sqrt(n)
    se_l = np.sqrt(3 * sd**2 / n)
    lo, hi = bias - agreement * sd, bias + agreement * sd
    return BlandAltmanResult(float(bias), float(sd), float(lo), float(hi),
                             (float(bias - t * se_b), float(bias + t * se_b)),
                             (float(lo - t * se_l), float(lo + t * se_l)),
                             (float(hi - t * se_l), float(hi + t * se_l)), n,
                             {"level": level, "agreement": agreement, "difference": "x - y"})


def agreement(df: pd.DataFrame, internal: str = "internal", public: str = "public",
              group: str | None = "unit_type", *, min_n: int = 5) -> pd.DataFrame:
    """Agreement table per peer group (and ``全部`` overall).

    Columns: n, spearman, spearman_p, kendall_tau_b, kendall_p, ccc, ccc_ci_low,
    ccc_ci_high, ba_bias, ba_sd, ba_loa_low, ba_loa_high.
    """
    parts = [("全部", df)]
    if group is not None:
        parts += [(str(g), s) for g, s in df.groupby(group, sort=True)]
    rows = []
    for g, s in parts:
        x, y = _pair(s[internal], s[public])
        row = {"group": g, "n": len(x)}
        if len(x) >= min_n:
            rho, rp = stats.spearmanr(x, y)
            tau, tp = stats.kendalltau(x, y)  # τ-b by default
            c = lins_ccc(x, y)
            b = bland_altman(x, y)
            row.update(spearman=rho, spearman_p=rp, kendall_tau_b=tau, kendall_p=tp, ccc=c.ccc,
                       ccc_ci_low=c.ci_low, ccc_ci_high=c.ci_high, ba_bias=b.bias, ba_sd=b.sd,
                       ba_loa_low=b.loa_low, ba_loa_high=b.loa_high)
        rows.append(row)
    return pd.DataFrame(rows).set_index("group")


@dataclass(frozen=True)
class ModelResults:
    wls: object
    mixed: object | None
    data: pd.DataFrame
    params: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        t = pd.DataFrame({"coef": self.wls.params, "se": self.wls.bse, "p": self.wls.pvalues})
        t["model"] = "WLS"
        if self.mixed is not None:
            m = pd.DataFrame({"coef": self.mixed.fe_params, "se": self.mixed.bse_fe, "p": self.mixed.pvalues.reindex(
                self.mixed.fe_params.index)})
            m["model"] = "MixedLM"
            t = pd.concat([t, m])
        return t

    def __repr__(self) -> str:
        slope = self.wls.params.get("internal", np.nan)
        re = "" if self.mixed is None else f", group variance={float(self.mixed.cov_re.iloc[0, 0]):.3g}"
        return f"ModelResults(n={len(self.data)}, WLS slope on internal={slope:.3f}{re})"


def fit_models(df: pd.DataFrame, *, internal: str = "internal", public: str = "public", se: str = "public_se",
               covariates: Sequence[str] = ("unit_type",), region: str | None = "county") -> ModelResults:
    """WLS ``public ~ internal + C(type) + C(region)`` with weights ``1/se²``
    (DOMAIN.md §3.7) and MixedLM with a random intercept per ``region``.

    The MixedLM tests whether the gap is regional: a sizeable group variance
    means some regions' public rate their units systematically lower.
    """
    import statsmodels.formula.api as smf

    d = df[[internal, public, se, *covariates, *([region] if region else [])]].dropna().copy()
    d = d.rename(columns={internal: "internal", public: "public", se: "public_se"})
    d = d[d["public_se"] > 0]
    rhs = ["internal"] + [f"C({c})" for c in covariates if d[c].nunique() > 1]
    f_wls = "public ~ " + " + ".join(rhs + ([f"C({region})"] if region and d[region].nunique() > 1 else []))
    wls = smf.wls(f_wls, data=d, weights=1.0 / d["public_se"] ** 2).fit()
    mixed, notes = None, []
    if region and d[region].nunique() > 2:
        import warnings

        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                mixed = smf.mixedlm("public ~ " + " + ".join(rhs), data=d, groups=d[region]).fit(reml=True)
            # a region variance estimated at 0 is a finding (no regional effect), not a failure: record it
            notes = sorted({f"{type(w.message).__name__ if isinstance(w.message, Warning) else w.category.__name__}: "
                            f"{w.message}" for w in caught})
        except Exception:  # singular fits are reported as absent, not as a crash
            mixed = None
    return ModelResults(wls, mixed, d, {"wls_formula": f_wls, "weights": "1/se(public)^2",
                                        "mixed_groups": region, "mixed_warnings": notes})


def ordinal_model(respondents: pd.DataFrame, item: str = "q1",
                  covariates: Sequence[str] = ("age_group", "sex", "area"), *, valid=(1, 2, 3, 4, 5),
                  max_rows: int | None = 20000, seed: int = 20251231, distr: str = "logit"):
    """Ordinal logit of one item's answers on respondent covariates — who rates lower.

    statsmodels ``OrderedModel`` (proportional odds); answers outside ``valid``
    (e.g. 9 = 不了解) are dropped; categorical covariates are dummy coded
    (first level = reference).  A positive coefficient means higher answers.
    With more than ``max_rows`` answers a seeded random subsample is fitted
    (recorded in the returned results' ``model.qlwork_params``).
    """
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    d = respondents[[item, *covariates]].copy()
    d = d[d[item].isin(list(valid))].dropna()
    n_all = len(d)
    if max_rows is not None and len(d) > max_rows:
        d = d.sample(max_rows, random_state=np.random.default_rng(seed).integers(2**31 - 1))
    X = pd.get_dummies(d[list(covariates)].astype(str), drop_first=True, dtype=float)
    y = pd.Categorical(d[item].astype(int), categories=list(valid), ordered=True)
    res = OrderedModel(y, X, distr=distr).fit(method="bfgs", disp=False, maxiter=500)
    res.model.qlwork_params = {"item": item, "covariates": list(covariates), "n_used": len(d), "n_valid": n_all,
                               "seed": seed, "distr": distr}
    return res


def large_drop(current: pd.DataFrame, previous: pd.DataFrame, *, value: str = "mean", se: str = "se",
               k: float = 2.0) -> pd.DataFrame:
    """Change against the previous period with its uncertainty (DOMAIN.md §3.8).

    Both tables are indexed by unit_id with ``value`` and ``se`` columns.
    ``flag_drop`` when ``Δ < −k·√(se_t² + se_{t−1}²)`` (independent samples).
    """
    prev = previous[[value, se]].rename(columns={value: f"{value}_prev", se: f"{se}_prev"})
    c = current[[value, se]].join(prev, how="inner")
    delta = c[value] - c[f"{value}_prev"]
    se_d = np.sqrt(c[se] ** 2 + c[f"{se}_prev"] ** 2)
    return pd.DataFrame({"change": delta, "change_se": se_d, "flag_drop": delta < -k * se_d})


def _robust_line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Huber M-estimate of y = a + b x (statsmodels RLM); returns (b, a)."""
    import statsmodels.api as sm

    X = sm.add_constant(x, has_constant="add")
    try:
        fit = sm.RLM(y, X, M=sm.robust.norms.HuberT()).fit()
        a, b = fit.params
    except Exception:  # degenerate x (all equal): flat line at the median
        a, b = float(np.median(y)), 0.0
    return float(b), float(a)


def p_bottom_n(mean, se, groups=None, *, n_bottom: int = 3, draws: int = 2000, seed: int = 20251231,
               chunk: int = 500, rank_draws: int = 1000) -> pd.DataFrame:
    """P(unit is among the ``n_bottom`` lowest of its group) by simulation.

    Draws ``score ~ N(mean, se²)`` independently per unit (seeded
    ``numpy.random.Generator``), ranks within each group per draw (vectorised:
    one lexsort per chunk of draws), and returns ``p_bottom`` plus the 90 %
    rank interval (rank 1 = lowest) from the first ``rank_draws`` draws.
    """
    mean = np.asarray(mean, dtype=float)
    se = np.nan_to_num(np.asarray(se, dtype=float), nan=0.0)
    m = len(mean)
    if groups is None:
        codes = np.zeros(m, dtype=np.int64)
    else:
        codes = pd.factorize(np.asarray(groups), sort=True)[0].astype(np.int64)
    rng = np.random.default_rng(seed)
    hits = np.zeros(m)
    ranks_all = []
    counts = np.bincount(codes)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    done = 0
    while done < draws:
        k = min(chunk, draws - done)
        S = mean[None, :] + se[None, :] * rng.standard_normal((k, m))
        # rank within group: sort by (group, score) per draw
        order = np.lexsort((S, np.broadcast_to(codes, S.shape)), axis=1)
        pos = np.empty_like(order)
        np.put_along_axis(pos, order, np.arange(m)[None, :].repeat(k, 0), axis=1)
        rank = pos - starts[codes][None, :] + 1
        hits += (rank <= n_bottom).sum(axis=0)
        if done < rank_draws:  # rank intervals from the first draws only (bounded memory)
            ranks_all.append(rank[: rank_draws - done].astype(np.int32))
        done += k
    R = np.concatenate(ranks_all, axis=0)
    return pd.DataFrame({"p_bottom": hits / draws,
                         "rank_lo90": np.quantile(R, 0.05, axis=0),
                         "rank_hi90": np.quantile(R, 0.95, axis=0)})


def divergence(
    df: pd.DataFrame,
    *,
    internal: str = "internal",
    public: str = "public",
    internal_se: str | None = None,
    public_se: str = "public_se",
    group: str = "unit_type",
    alpha: float = 0.05,
    correction: str | None = "fdr_bh",
    rank_gap_frac: float = 0.25,
    n_bottom: int = 3,
    p_bottom_threshold: float = 0.5,
    draws: int = 2000,
    seed: int = 20251231,
    min_gap: float = 10.0,
) -> pd.DataFrame:
    """Divergence flags per unit (DOMAIN.md §3.8).

    - ``z_gap = (internal − public)/√(se_int² + se_pub²)`` with two-sided p and
      Benjamini–Hochberg adjusted p (statsmodels ``multipletests``) across units;
      ``flag_z`` when adjusted p < alpha;
    - ``rank_gap = rank_int − rank_pub`` within the peer group (rank 1 = best);
      ``flag_rank`` when |rank_gap| ≥ ``rank_gap_frac`` × group size;
    - ``quadrant`` around the peer-group medians: 专业分高、获得感低 …;
    - ``p_bottom`` P(public score among the group's ``n_bottom`` lowest), from
      draws of N(public, se²); ``flag_bottom`` when ≥ ``p_bottom_threshold``.
    - ``resid_gap`` = public − expected public given internal (robust Huber line
      per peer group; DOMAIN.md §3.7 studentised residuals), ``z_resid`` with
      scale √(se_pub² + b²se_int² + τ²) where τ² is the between-unit residual
      variance (MAD² − median se²); one-sided BH-adjusted ``p_low_adj`` /
      ``p_high_adj`` (the direction is fixed in advance).
    ``flag_low_public`` (the "paper compliance" warning) requires all of: a
    significant low residual (one-sided BH), a residual at least ``min_gap``
    points below expectation, and internal > public; ``quadrant`` is reported
    alongside as a descriptor (not a condition).  The raw
    z-gap is reported too but not used alone: internal and public scales differ,
    so the raw gap is "significant" for most high-internal units.
    """
    from statsmodels.stats.multitest import multipletests

    d = df.copy()
    need = [internal, public, public_se, group]
    miss = [c for c in need if c not in d.columns]
    if miss:
        raise QlworkError(Problem("missing_columns", "比较表缺少列", "comparison table lacks columns", found=miss,
                                  expected=need))
    se_i = d[internal_se].fillna(0).to_numpy(dtype=float) if internal_se else np.zeros(len(d))
    se_p = d[public_se].to_numpy(dtype=float)
    gap = d[internal].to_numpy(dtype=float) - d[public].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = gap / np.sqrt(se_i**2 + se_p**2)
    p = 2 * stats.norm.sf(np.abs(z))
    ok = np.isfinite(p)
    p_adj = np.full(len(d), np.nan)
    if ok.any():
        p_adj[ok] = multipletests(p[ok], alpha=alpha, method=correction)[1] if correction else p[ok]
    d["gap"] = gap
    d["z_gap"] = z
    d["p_gap"] = p
    d["p_gap_adj"] = p_adj
    d["flag_z"] = p_adj < alpha
    g = d.groupby(group)
    d["rank_internal"] = g[internal].rank(ascending=False, method="min")
    d["rank_public"] = g[public].rank(ascending=False, method="min")
    d["rank_gap"] = d["rank_public"] - d["rank_internal"]
    size = g[internal].transform("size")
    d["flag_rank"] = d["rank_gap"].abs() >= np.maximum(1, np.ceil(rank_gap_frac * size))
    med_i = g[internal].transform("median")
    med_p = g[public].transform("median")
    hi_i = d[internal] >= med_i
    hi_p = d[public] >= med_p
    quad = np.select([hi_i & ~hi_p, ~hi_i & hi_p, hi_i & hi_p], [QUADRANT_LABELS["high_low"],
                     QUADRANT_LABELS["low_high"], QUADRANT_LABELS["high_high"]], QUADRANT_LABELS["low_low"])
    d["quadrant"] = quad
    pb = p_bottom_n(d[public].to_numpy(), se_p, d[group].to_numpy(), n_bottom=n_bottom, draws=draws, seed=seed)
    d["p_bottom"] = pb["p_bottom"].to_numpy()
    d["public_rank_lo90"] = pb["rank_lo90"].to_numpy()
    d["public_rank_hi90"] = pb["rank_hi90"].to_numpy()
    d["flag_bottom"] = d["p_bottom"] >= p_bottom_threshold
    # Expected public score given the internal one (robust line per peer group): the two
    # scales differ (public is compressed toward its mean), so a raw gap is significant
    # for most high-internal units; the residual asks "lower than units like it?".
    fitted = np.full(len(d), np.nan)
    slope = np.full(len(d), np.nan)
    codes = pd.factorize(d[group], sort=True)[0]
    xi = d[internal].to_numpy(dtype=float)
    yp = d[public].to_numpy(dtype=float)
    for gcode in np.unique(codes):  # a handful of peer groups
        sel = (codes == gcode) & np.isfinite(xi) & np.isfinite(yp)
        if sel.sum() >= 5:
            b, a = _robust_line(xi[sel], yp[sel])
        else:
            b, a = 1.0, np.nanmedian(yp[sel] - xi[sel]) if sel.any() else 0.0
        fitted[codes == gcode] = a + b * xi[codes == gcode]
        slope[codes == gcode] = b
    resid = yp - fitted
    se2 = se_p**2 + (slope * se_i) ** 2
    tau2 = np.zeros(len(d))
    for gcode in np.unique(codes):
        sel = (codes == gcode) & np.isfinite(resid)
        if sel.sum() >= 5:
            mad = 1.4826 * np.median(np.abs(resid[sel] - np.median(resid[sel])))
            tau2[codes == gcode] = max(mad**2 - np.median(se2[sel]), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        zr = resid / np.sqrt(se2 + tau2)
    def _adj(pv):
        out = np.full(len(pv), np.nan)
        ok = np.isfinite(pv)
        if ok.any():
            out[ok] = multipletests(pv[ok], alpha=alpha, method=correction)[1] if correction else pv[ok]
        return out

    # one-sided: the warning is about public scores *below* expectation (and the reverse
    # flag about scores above it), a direction fixed before looking at the data
    p_low = _adj(stats.norm.cdf(zr))
    p_high = _adj(stats.norm.sf(zr))
    d["public_expected"] = fitted
    d["resid_gap"] = resid
    d["z_resid"] = zr
    d["p_low_adj"] = p_low
    d["p_high_adj"] = p_high
    # the quadrant is a descriptor, not a condition: with a noisy internal score a unit
    # just below the peer median but with a public score 30 points under expectation
    # must still be warned about
    d["flag_low_public"] = (p_low < alpha) & (d["resid_gap"] <= -min_gap) & (d["gap"] > 0)
    d["flag_high_public"] = (p_high < alpha) & (d["resid_gap"] >= min_gap)
    d.attrs["params"] = {"alpha": alpha, "correction": correction, "rank_gap_frac": rank_gap_frac,
                         "min_gap": min_gap, "expected": "robust (Huber) line of public on internal per group",
                         "n_bottom": n_bottom, "p_bottom_threshold": p_bottom_threshold, "draws": draws,
                         "seed": seed, "group": group}
    return d
