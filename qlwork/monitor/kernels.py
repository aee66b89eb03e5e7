"""Compiled inner loops (numba) of the detectors, each with a plain NumPy reference.

Three loops are too slow as array expressions at province scale (≈1.2 M series × 24
months): the rolling median/MAD of each series' own past, the median/MAD of every
(group, indicator, month) column, and the scan over candidate onsets of the shift and
drift statistics.  The numba versions are checked against the NumPy references
(``tests/test_monitor_kernels.py``); ``QLWORK_NO_NUMBA=1`` uses the references.

Conventions: ``NaN`` is a missing value and is skipped; a statistic with too few values
is ``NaN``; medians of an even count average the two middle values (``np.median``).
"""
from __future__ import annotations

import math
import os

import numpy as np

__all__ = ["available", "rolling_baseline", "column_median_mad", "column_stats", "shift_scan", "column_ranks",
           "column_ranks_ref",
           "rolling_baseline_ref", "column_median_mad_ref", "column_stats_ref", "shift_scan_ref", "COLUMN_STATS"]

_HALF_PI = math.pi / 2


def available() -> bool:
    if os.environ.get("QLWORK_NO_NUMBA"):
        return False
    try:
        import numba  # noqa: F401
    except Exception:  # pragma: no cover - numba missing or broken
        return False
    return True


# ------------------------------------------------------------------ references
def rolling_baseline_ref(Y: np.ndarray, B: int, min_n: int, want=None):
    """For each series s and each month t of ``want`` (default: every month): median, MAD
    (unscaled), mean absolute deviation from the median and count of the non-missing
    values among ``Y[s, t−B : t]`` (the B months before t, t excluded); NaN below
    ``min_n``.  Arrays S × len(want)."""
    S, T = Y.shape
    want = np.arange(T) if want is None else np.asarray(want, np.int64)
    N = len(want)
    med = np.full((S, N), np.nan)
    mad = np.full((S, N), np.nan)
    mead = np.full((S, N), np.nan)
    cnt = np.zeros((S, N), np.int64)
    for j, t in enumerate(want):
        w = Y[:, max(0, t - B):t]
        n = np.isfinite(w).sum(axis=1) if w.shape[1] else np.zeros(S, np.int64)
        cnt[:, j] = n
        ok = (n >= min_n) & (n > 0)
        if ok.any():
            m = np.nanmedian(w[ok], axis=1)
            med[ok, j] = m
            mad[ok, j] = np.nanmedian(np.abs(w[ok] - m[:, None]), axis=1)
            mead[ok, j] = np.nanmean(np.abs(w[ok] - m[:, None]), axis=1)
    return med, mad, mead, cnt


COLUMN_STATS = ("med", "mad", "mad_lo", "mad_hi", "mead_lo", "mead_hi", "trim", "n")


def column_stats_ref(X: np.ndarray, trim: float = 0.2) -> dict:
    """Per column of X (N × M), over the non-missing values: median; MAD; the MADs of the
    values at or below and at or above the median (the "double MAD" for skewed columns);
    the mean absolute deviations from the median on each side; the ``trim``-trimmed mean
    (``floor(trim·n)`` values cut at each end); the count."""
    N, M = X.shape
    out = {k: np.full(M, np.nan) for k in COLUMN_STATS}
    out["n"] = np.zeros(M, np.int64)
    for j in range(M):
        x = np.sort(X[np.isfinite(X[:, j]), j])
        n = len(x)
        out["n"][j] = n
        if not n:
            continue
        m = np.median(x)
        lo, hi = x[x <= m], x[x >= m]
        c = int(np.floor(trim * n))
        out["med"][j] = m
        out["mad"][j] = np.median(np.abs(x - m))
        out["mad_lo"][j] = np.median(m - lo)
        out["mad_hi"][j] = np.median(hi - m)
        out["mead_lo"][j] = np.mean(m - lo)
        out["mead_hi"][j] = np.mean(hi - m)
        out["trim"][j] = np.mean(x[c:n - c])
    return out


def column_median_mad_ref(X: np.ndarray):
    """Median, MAD (unscaled) and count of the non-missing values of every column."""
    n = np.isfinite(X).sum(axis=0)
    med = np.full(X.shape[1], np.nan)
    mad = np.full(X.shape[1], np.nan)
    ok = n > 0
    if ok.any():
        med[ok] = np.nanmedian(X[:, ok], axis=0)
        mad[ok] = np.nanmedian(np.abs(X[:, ok] - med[ok]), axis=0)
    return med, mad, n


def shift_scan_ref(R, med, sig, nb, bcol, L: int, clip: float, want):
    """Level-shift and drift statistics for every series s and every month t of ``want``.

    The window is the L months ``b = t − L + 1 … t``; the reference level and scale are
    those of the baseline before the window: column ``bcol[b]`` of ``med``, ``sig``, ``nb``
    (−1: no baseline).  Standardised residuals ``e_x = clip((R[s, x] − med)/sig, −c, c)``.
    For every candidate onset τ (b ≤ τ ≤ t − 1: at least two months):

        level(τ) = Σ_{x≥τ} e_x / √(n + n²·π/(2·nb))
        drift(τ) = Σ_{x≥τ} (x − τ + 1)·e_x / √(Σw² + (Σw)²·π/(2·nb))

    (sums over non-missing x; the second variance term is the error of the baseline median,
    Var(median) ≈ π/2·σ²/nb).  Returns, S × len(want): the signed statistic of largest
    absolute value and its onset for each (NaN/−1 where the window starts before month 0 or
    has no baseline), and the two statistics at the window's first month (τ = b), whose
    null is N(0, 1) — the reference for the empirical null (:mod:`qlwork.monitor.calibrate`).
    """
    S, T = R.shape
    want = np.asarray(want, np.int64)
    N = len(want)
    lvl = np.full((S, N), np.nan)
    drf = np.full((S, N), np.nan)
    lon = np.full((S, N), -1, np.int64)
    don = np.full((S, N), -1, np.int64)
    lfull = np.full((S, N), np.nan)
    dfull = np.full((S, N), np.nan)
    for s in range(S):
        for j, t in enumerate(want):
            b = t - L + 1
            c = bcol[b] if b >= 0 else -1
            if c < 0 or not np.isfinite(med[s, c]) or not sig[s, c] > 0:
                continue
            k = _HALF_PI / nb[s, c]
            best_l, best_d = np.nan, np.nan
            for tau in range(t - 1, b - 1, -1):
                x = np.arange(tau, t + 1)
                e = np.clip((R[s, x] - med[s, c]) / sig[s, c], -clip, clip)
                ok = np.isfinite(e)
                n = ok.sum()
                if n < 2:
                    continue
                w = (x - tau + 1)[ok].astype(float)
                a = e[ok].sum() / math.sqrt(n + n * n * k)
                d = (w * e[ok]).sum() / math.sqrt((w * w).sum() + w.sum() ** 2 * k)
                if np.isnan(best_l) or abs(a) > abs(best_l):  # ties keep the later onset
                    best_l, lon[s, j] = a, tau
                if np.isnan(best_d) or abs(d) > abs(best_d):
                    best_d, don[s, j] = d, tau
                if tau == b:
                    lfull[s, j], dfull[s, j] = a, d
            lvl[s, j], drf[s, j] = best_l, best_d
    return lvl, drf, lon, don, lfull, dfull


# -------------------------------------------------------------------- numba
_FUNCS = None


def _compile():
    import numba as nb

    @nb.njit(cache=True, nogil=True)
    def _median_sorted(buf, n):
        h = n // 2
        if n % 2:
            return buf[h]
        return 0.5 * (buf[h - 1] + buf[h])

    @nb.njit(cache=True, nogil=True)
    def _insert(buf, n, v):
        i = n
        while i > 0 and buf[i - 1] > v:
            buf[i] = buf[i - 1]
            i -= 1
        buf[i] = v

    @nb.njit(cache=True, nogil=True)
    def _mad_sorted(buf, n, m):
        # median of |buf − m| for sorted buf: the deviations left and right of the median are two
        # sorted runs; merge them up to the middle (O(n), no second sort)
        lo = (n - 1) // 2
        hi = lo + 1
        want0 = (n - 1) // 2
        want1 = n // 2
        a = 0.0
        b = 0.0
        for k in range(want1 + 1):
            if hi >= n or (lo >= 0 and m - buf[lo] <= buf[hi] - m):
                d = m - buf[lo]
                lo -= 1
            else:
                d = buf[hi] - m
                hi += 1
            if k == want0:
                a = d
            if k == want1:
                b = d
        return 0.5 * (a + b)

    @nb.njit(cache=True, nogil=True)
    def rolling(Y, B, min_n, want, med, mad, mead, cnt):
        S, T = Y.shape
        N = want.shape[0]
        buf = np.empty(B + 1)
        for s in range(S):
            n = 0  # buf[:n] holds the window Y[s, t−B : t] sorted (missing values left out)
            j = 0
            for t in range(T):
                if t > 0:
                    v = Y[s, t - 1]  # enters the window
                    if v == v:
                        _insert(buf, n, v)
                        n += 1
                    if t - 1 - B >= 0:
                        u = Y[s, t - 1 - B]  # leaves it
                        if u == u:
                            i = 0
                            while buf[i] != u:
                                i += 1
                            for q in range(i, n - 1):
                                buf[q] = buf[q + 1]
                            n -= 1
                if j >= N or want[j] != t:
                    continue
                cnt[s, j] = n
                if n < min_n or n == 0:
                    med[s, j] = np.nan
                    mad[s, j] = np.nan
                    mead[s, j] = np.nan
                else:
                    m = _median_sorted(buf, n)
                    med[s, j] = m
                    mad[s, j] = _mad_sorted(buf, n, m)
                    acc = 0.0
                    for i in range(n):
                        acc += abs(buf[i] - m)
                    mead[s, j] = acc / n
                j += 1

    @nb.njit(cache=True, nogil=True)
    def colmed(X, med, mad, cnt):
        N, M = X.shape
        buf = np.empty(N)
        for j in range(M):
            n = 0
            for i in range(N):
                v = X[i, j]
                if v == v:
                    buf[n] = v
                    n += 1
            cnt[j] = n
            if n == 0:
                med[j] = np.nan
                mad[j] = np.nan
                continue
            m = np.median(buf[:n])
            for i in range(n):
                buf[i] = abs(buf[i] - m)
            med[j] = m
            mad[j] = np.median(buf[:n])

    @nb.njit(cache=True, nogil=True)
    def scan(R, med, sig, nbase, bcol, L, clip, want, lvl, drf, lon, don, lfull, dfull):
        S, T = R.shape
        N = want.shape[0]
        hp = np.pi / 2
        for s in range(S):
            for j in range(N):
                t = want[j]
                lvl[s, j] = np.nan
                drf[s, j] = np.nan
                lfull[s, j] = np.nan
                dfull[s, j] = np.nan
                lon[s, j] = -1
                don[s, j] = -1
                b = t - L + 1
                if b < 0:
                    continue
                c = bcol[b]
                if c < 0:
                    continue
                m0 = med[s, c]
                s0 = sig[s, c]
                if not (m0 == m0) or not (s0 > 0):
                    continue
                k = hp / nbase[s, c]
                A = 0.0
                D = 0.0
                W1 = 0.0
                W2 = 0.0
                n = 0
                best_l = 0.0
                best_d = 0.0
                have_l = False
                have_d = False
                for tau in range(t, b - 1, -1):
                    # moving the onset one month earlier adds 1 to every weight
                    W2 += 2.0 * W1 + n
                    W1 += n
                    D += A
                    v = R[s, tau]
                    if v == v:
                        e = (v - m0) / s0
                        if e > clip:
                            e = clip
                        elif e < -clip:
                            e = -clip
                        A += e
                        D += e
                        W1 += 1.0
                        W2 += 1.0
                        n += 1
                    if tau > t - 1 or n < 2:
                        continue
                    a = A / math.sqrt(n + n * n * k)
                    d = D / math.sqrt(W2 + W1 * W1 * k)
                    if not have_l or abs(a) > abs(best_l):
                        best_l = a
                        lon[s, j] = tau
                        have_l = True
                    if not have_d or abs(d) > abs(best_d):
                        best_d = d
                        don[s, j] = tau
                        have_d = True
                    if tau == b:
                        lfull[s, j] = a
                        dfull[s, j] = d
                if have_l:
                    lvl[s, j] = best_l
                if have_d:
                    drf[s, j] = best_d

    @nb.njit(cache=True, nogil=True)
    def colstats(X, trim, med, mad, mad_lo, mad_hi, mead_lo, mead_hi, tmean, cnt):
        N, M = X.shape
        buf = np.empty(N)
        dev = np.empty(N)
        for j in range(M):
            n = 0
            for i in range(N):
                v = X[i, j]
                if v == v:
                    buf[n] = v
                    n += 1
            cnt[j] = n
            if n == 0:
                med[j] = np.nan
                mad[j] = np.nan
                mad_lo[j] = np.nan
                mad_hi[j] = np.nan
                mead_lo[j] = np.nan
                mead_hi[j] = np.nan
                tmean[j] = np.nan
                continue
            x = np.sort(buf[:n])
            m = 0.5 * (x[(n - 1) // 2] + x[n // 2])
            med[j] = m
            c = int(np.floor(trim * n))
            acc = 0.0
            for i in range(c, n - c):
                acc += x[i]
            tmean[j] = acc / (n - 2 * c)
            for i in range(n):
                dev[i] = abs(x[i] - m)
            mad[j] = np.median(dev[:n])
            # lower side: x ≤ m, deviations m − x; upper side: x ≥ m
            k = 0
            a = 0.0
            for i in range(n):
                if x[i] <= m:
                    dev[k] = m - x[i]
                    a += dev[k]
                    k += 1
            mad_lo[j] = np.median(dev[:k])
            mead_lo[j] = a / k
            k = 0
            a = 0.0
            for i in range(n):
                if x[i] >= m:
                    dev[k] = x[i] - m
                    a += dev[k]
                    k += 1
            mad_hi[j] = np.median(dev[:k])
            mead_hi[j] = a / k

    @nb.njit(cache=True, nogil=True)
    def ranks(X, out, cnt):
        N, M = X.shape
        buf = np.empty(N)
        idx = np.empty(N, np.int64)
        for j in range(M):
            n = 0
            for i in range(N):
                v = X[i, j]
                out[i, j] = np.nan
                if v == v:
                    buf[n] = v
                    idx[n] = i
                    n += 1
            cnt[j] = n
            order = np.argsort(buf[:n], kind="mergesort")
            a = 0
            while a < n:
                b = a
                while b + 1 < n and buf[order[b + 1]] == buf[order[a]]:
                    b += 1
                r = 0.5 * (a + b) + 1.0  # mean rank of the tie run, 1-based
                for q in range(a, b + 1):
                    out[idx[order[q]], j] = r
                a = b + 1

    return rolling, colmed, scan, colstats, ranks


def _funcs():
    global _FUNCS
    if _FUNCS is None:
        _FUNCS = _compile()
    return _FUNCS


def rolling_baseline(Y: np.ndarray, B: int, min_n: int, want=None):
    """See :func:`rolling_baseline_ref` (numba when available)."""
    if not available():
        return rolling_baseline_ref(Y, B, min_n, want)
    Y = np.ascontiguousarray(Y, dtype=np.float64)
    S, T = Y.shape
    want = np.arange(T, dtype=np.int64) if want is None else np.ascontiguousarray(want, dtype=np.int64)
    N = len(want)
    med, mad, mead = np.empty((S, N)), np.empty((S, N)), np.empty((S, N))
    cnt = np.zeros((S, N), np.int64)
    _funcs()[0](Y, int(B), int(min_n), want, med, mad, mead, cnt)
    return med, mad, mead, cnt


def column_median_mad(X: np.ndarray):
    """See :func:`column_median_mad_ref` (numba when available)."""
    if not available():
        return column_median_mad_ref(X)
    X = np.ascontiguousarray(X, dtype=np.float64)
    M = X.shape[1]
    med, mad = np.empty(M), np.empty(M)
    cnt = np.empty(M, np.int64)
    _funcs()[1](X, med, mad, cnt)
    return med, mad, cnt


def column_stats(X: np.ndarray, trim: float = 0.2) -> dict:
    """See :func:`column_stats_ref` (numba when available)."""
    if not available():
        return column_stats_ref(X, trim)
    X = np.ascontiguousarray(X, dtype=np.float64)
    M = X.shape[1]
    out = {k: np.empty(M) for k in COLUMN_STATS}
    out["n"] = np.empty(M, np.int64)
    _funcs()[3](X, float(trim), *(out[k] for k in COLUMN_STATS))
    return out


def column_ranks_ref(X: np.ndarray):
    """Ranks (1-based, ties at their mean rank) of the non-missing values of every column and
    the counts; NaN stays NaN."""
    from scipy import stats

    return stats.rankdata(X, axis=0, nan_policy="omit"), np.isfinite(X).sum(axis=0)


def column_ranks(X: np.ndarray):
    """See :func:`column_ranks_ref` (numba when available)."""
    if not available():
        return column_ranks_ref(X)
    X = np.ascontiguousarray(X, dtype=np.float64)
    out = np.empty_like(X)
    cnt = np.empty(X.shape[1], np.int64)
    _funcs()[4](X, out, cnt)
    return out, cnt


def shift_scan(R, med, sig, nb, bcol, L: int, clip: float, want):
    """See :func:`shift_scan_ref` (numba when available)."""
    if not available():
        return shift_scan_ref(R, med, sig, nb, bcol, L, clip, want)
    R = np.ascontiguousarray(R, dtype=np.float64)
    S, T = R.shape
    want = np.ascontiguousarray(want, dtype=np.int64)
    N = len(want)
    lvl, drf = np.empty((S, N)), np.empty((S, N))
    lfull, dfull = np.empty((S, N)), np.empty((S, N))
    lon, don = np.empty((S, N), np.int64), np.empty((S, N), np.int64)
    _funcs()[2](R, np.ascontiguousarray(med, dtype=np.float64), np.ascontiguousarray(sig, dtype=np.float64),
                np.ascontiguousarray(nb, dtype=np.float64), np.ascontiguousarray(bcol, dtype=np.int64), int(L),
                float(clip), want, lvl, drf, lon, don, lfull, dfull)
    return lvl, drf, lon, don, lfull, dfull
