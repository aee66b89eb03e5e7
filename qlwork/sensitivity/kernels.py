"""Compiled inner loops (numba) for the Monte Carlo engine.

The NumPy path in :mod:`qlwork.sensitivity.engine` makes ~20 passes over the
draws × units arrays per chunk (keys, order, ties, scatter to unit-major,
shifts, histogram); these kernels fuse them into one pass before and one pass
after the (NumPy SIMD) sort and need no draws × units temporaries besides the
sort keys.  They give bit-identical results to the NumPy path (tested).
Set the environment variable ``QLWORK_NO_NUMBA=1`` to use the NumPy path.
"""
from __future__ import annotations

import os

import numpy as np

__all__ = ["available", "make_keys", "scan_ranks", "count_grades"]

_NB = None


def available() -> bool:
    global _NB
    if os.environ.get("QLWORK_NO_NUMBA"):
        return False
    if _NB is None:
        try:
            import numba  # noqa: F401

            _NB = True
        except Exception:  # pragma: no cover - numba missing or broken
            _NB = False
    return _NB


def _compile():
    import numba as nb

    @nb.njit(cache=True, nogil=True)
    def make_keys(S, step, keys, cuts, cap, grade):
        """keys[d, k] = (2³¹ − published units of S[d, k], clipped to uint32) << 32 | k; grade counts on the way.

        Published units = ⌊(rint(s·10⁶) + step/2) / step⌋ (qlwork.engine.grading.publish_units);
        grades compare them with the cut-offs in the same units; a unit's grade is at
        least its cap (veto).
        """
        n, G = S.shape
        nc = cuts.shape[0]
        hi = float((1 << 32) - 1)
        half = step / 2.0
        for d in range(n):
            for k in range(G):
                q = np.rint(S[d, k] * 1e6)
                if step > 1:
                    q = np.floor((q + half) / step)
                s = q
                v = 2147483648.0 - q
                if v < 0.0:
                    v = 0.0
                elif v > hi:
                    v = hi
                keys[d, k] = (np.uint64(v) << np.uint64(32)) | np.uint64(k)
                g = 0
                for c in range(nc):
                    if s < cuts[c]:
                        g += 1
                f = cap[k]
                if f > g:
                    g = f
                grade[k, g] += 1

    @nb.njit(cache=True, nogil=True)
    def scan_ranks(keys, nominal_rank, b, bottom_n, hist, shift, bottom, tmp):
        """Sorted keys → 'min' ranks → histogram, |rank − nominal|, bottom-N counts.

        Ranks of ``m = tmp.shape[1]`` draws are first scattered into the
        unit-major block ``tmp`` (units × m, small enough for the cache); the
        histogram, shifts and bottom-N counts are then updated unit by unit,
        streaming through the histogram once per block instead of missing the
        cache on every increment.
        """
        n, G = keys.shape
        m = tmp.shape[1]
        mask = np.uint64(0xFFFFFFFF)
        sh = np.uint64(32)
        thr = np.empty(m, np.int64)
        for d0 in range(0, n, m):
            mm = min(m, n - d0)
            for j in range(mm):
                row = keys[d0 + j]
                thr[j] = G + 1
                if bottom_n > 0:  # rank of the tie run at position G − N: ranks ≥ it are bottom N
                    p0 = G - min(bottom_n, G)
                    s0 = row[p0] >> sh
                    t0 = p0
                    while t0 > 0 and (row[t0 - 1] >> sh) == s0:
                        t0 -= 1
                    thr[j] = t0 + 1
                prev = np.uint64(0)
                r = 0
                for k in range(G):
                    key = row[k]
                    sc = key >> sh
                    if k == 0 or sc != prev:
                        r = k + 1
                        prev = sc
                    tmp[np.int64(key & mask), j] = r
            for u in range(G):
                nom = nominal_rank[u]
                acc_s = 0
                acc_b = 0
                for j in range(mm):
                    r = tmp[u, j]
                    hist[u, (r - 1) // b] += 1
                    dv = r - nom
                    acc_s += dv if dv >= 0 else -dv
                    if r >= thr[j]:
                        acc_b += 1
                shift[u] += acc_s
                bottom[u] += acc_b

    @nb.njit(cache=True, nogil=True)
    def count_grades(S, step, cuts, cap, grade):
        n, U = S.shape
        nc = cuts.shape[0]
        half = step / 2.0
        for d in range(n):
            for u in range(U):
                s = np.rint(S[d, u] * 1e6)
                if step > 1:
                    s = np.floor((s + half) / step)
                g = 0
                for c in range(nc):
                    if s < cuts[c]:
                        g += 1
                f = cap[u]
                if f > g:
                    g = f
                grade[u, g] += 1

    return make_keys, scan_ranks, count_grades


_FUNCS = None


def _funcs():
    global _FUNCS
    if _FUNCS is None:
        _FUNCS = _compile()
    return _FUNCS


def make_keys(S, step, keys, cuts, cap, grade):
    return _funcs()[0](S, step, keys, cuts, cap, grade)


def scan_ranks(keys, nominal_rank, b, bottom_n, hist, shift, bottom, tmp):
    return _funcs()[1](keys, nominal_rank, b, bottom_n, hist, shift, bottom, tmp)


def count_grades(S, step, cuts, cap, grade):
    return _funcs()[2](S, step, cuts, cap, grade)
