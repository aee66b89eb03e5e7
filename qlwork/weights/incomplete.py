"""Incomplete judgment matrices (不完全判断矩阵): an expert skipped some pairs.

Missing judgments are NaN (both ``a_ij`` and ``a_ji``).  Two named completions:

* ``"lambda_optimal"`` — choose the missing entries that minimise the Perron
  eigenvalue λmax of the completed matrix, i.e. the most consistent completion
  (Shiraishi, Obata & Daigo 1998, "Properties of a positive reciprocal matrix
  and their application to AHP", J. Oper. Res. Soc. Japan 41:404–414;
  Shiraishi & Obata 2002).  Bozóki, Fülöp & Rónyai (2010, "On optimal
  completion of incomplete pairwise comparison matrices", Math. Comput.
  Modelling 52:318–333) show that λmax is a convex function of the *logarithms*
  of the missing entries and that the optimum is unique iff the graph of known
  comparisons is connected.  We therefore minimise over ``y = log x`` with
  BFGS, started from van Uden's triad rule (geometric mean of the indirect
  estimates ``a_ik a_kj``).
* ``"harker"`` — Harker (1987, "Alternative modes of questioning in the
  analytic hierarchy process", Math. Modelling 9:353–360): replace each missing
  entry by 0, add the number of missing entries of row i to the diagonal
  ``c_ii = 1 + m_i``, take the principal eigenvector w of this matrix C, and
  fill ``a_ij = w_i / w_j``.
* ``"llsm"`` — logarithmic least squares over the known entries (Bozóki et al.
  2010, §4): ``min Σ_known (log a_ij − log w_i + log w_j)²``, filled with
  ``w_i / w_j``; a linear solve.

A disconnected comparison graph (some group of elements never compared with
the rest) has no unique completion: that is a located error.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from ..errors import Problem, QlworkError
from .ahp import _perron, as_matrix, check_matrix

__all__ = ["complete_matrix", "CompletionResult", "missing_pairs", "is_connected", "COMPLETION_METHODS"]

COMPLETION_METHODS = ("lambda_optimal", "harker", "llsm")


@dataclass(frozen=True)
class CompletionResult:
    """A completed matrix plus what was filled (``filled``: row, column, value)."""

    matrix: pd.DataFrame | np.ndarray
    filled: pd.DataFrame
    method: str
    lambda_max: float
    params: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        return self.filled.assign(method=self.method)

    def __repr__(self) -> str:
        return (f"CompletionResult(method={self.method}, filled={len(self.filled)} pair(s), "
                f"λmax={self.lambda_max:.4f})")


def missing_pairs(arr: np.ndarray) -> list[tuple[int, int]]:
    """Upper-triangle (i < j) positions where either a_ij or a_ji is NaN."""
    n = arr.shape[0]
    return [(i, j) for i in range(n) for j in range(i + 1, n) if np.isnan(arr[i, j]) or np.isnan(arr[j, i])]


def is_connected(arr: np.ndarray) -> bool:
    """Is the graph whose edges are the known comparisons connected?"""
    n = arr.shape[0]
    known = ~np.isnan(arr) & ~np.isnan(arr.T)
    seen = {0}
    stack = [0]
    while stack:
        i = stack.pop()
        for j in np.flatnonzero(known[i]):
            if j not in seen:
                seen.add(int(j))
                stack.append(int(j))
    return len(seen) == n


def _van_uden(arr: np.ndarray, miss: list[tuple[int, int]]) -> np.ndarray:
    """Start values: geometric mean of a_ik·a_kj over k with both known; 1 if none."""
    x0 = np.zeros(len(miss))
    for m, (i, j) in enumerate(miss):
        logs = [np.log(arr[i, k] * arr[k, j]) for k in range(arr.shape[0])
                if k not in (i, j) and np.isfinite(arr[i, k]) and np.isfinite(arr[k, j])]
        x0[m] = np.mean(logs) if logs else 0.0
    return x0


def _fill(arr: np.ndarray, miss: list[tuple[int, int]], logx: np.ndarray) -> np.ndarray:
    a = arr.copy()
    for (i, j), y in zip(miss, logx):
        a[i, j] = np.exp(y)
        a[j, i] = np.exp(-y)
    return a


def _lambda_optimal(arr: np.ndarray, miss: list[tuple[int, int]], tol: float) -> np.ndarray:
    def f(y: np.ndarray) -> float:
        return float(_perron(_fill(arr, miss, y)[None])[0][0])

    def grad(y: np.ndarray) -> np.ndarray:
        # dλ/da_ij = v_i w_j / (v·w) with left/right Perron vectors (Harker 1987); chain rule
        # through a_ij = e^y, a_ji = e^-y.
        a = _fill(arr, miss, y)
        _, w = _perron(a[None])
        _, v = _perron(a.T[None])
        w, v = w[0], v[0]
        vw = v @ w
        g = np.empty(len(miss))
        for m, (i, j) in enumerate(miss):
            g[m] = (v[i] * w[j] * a[i, j] - v[j] * w[i] * a[j, i]) / vw
        return g

    res = optimize.minimize(f, _van_uden(arr, miss), jac=grad, method="BFGS", options={"gtol": tol, "maxiter": 500})
    return res.x


def _llsm_weights(arr: np.ndarray) -> np.ndarray:
    n = arr.shape[0]
    rows, rhs = [], []
    for i in range(n):
        for j in range(i + 1, n):
            if np.isfinite(arr[i, j]) and np.isfinite(arr[j, i]):
                r = np.zeros(n)
                r[i], r[j] = 1.0, -1.0
                rows.append(r)
                rhs.append(np.log(arr[i, j]))
    rows.append(np.ones(n))  # fix the scale: Σ log w = 0
    rhs.append(0.0)
    lw, *_ = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)
    return lw


def complete_matrix(matrix: Any, method: str = "lambda_optimal", *, tol: float = 1e-10) -> CompletionResult:
    """Fill the missing (NaN) judgments of a reciprocal matrix.

    Parameters
    ----------
    matrix : array or labelled DataFrame with NaN for skipped pairs.
    method : ``"lambda_optimal"`` (default), ``"harker"`` or ``"llsm"``; see module docstring.
    tol : gradient tolerance of the λ-optimal search.

    Returns a :class:`CompletionResult` whose ``matrix`` has the input's type and
    whose ``filled`` table lists every filled pair (row, column, value).  A
    complete input is returned unchanged with an empty ``filled`` table.
    """
    if method not in COMPLETION_METHODS:
        raise QlworkError(Problem("unknown_method", f"未知的补全方法 {method!r}", f"unknown completion method {method!r}",
                                  found=method, expected=f"之一 one of {COMPLETION_METHODS}"))
    arr, labels = as_matrix(matrix)
    probs = check_matrix(arr, labels, tol=1e-6, allow_nan=True)
    if probs:
        raise QlworkError(probs)
    n = arr.shape[0]
    names = labels or [str(i + 1) for i in range(n)]
    # a half-blank pair (only one side given) is completed from its reciprocal first
    for i in range(n):
        for j in range(n):
            if np.isnan(arr[i, j]) and np.isfinite(arr[j, i]):
                arr[i, j] = 1.0 / arr[j, i]
    miss = missing_pairs(arr)
    if miss and not is_connected(arr):
        raise QlworkError(Problem(
            "disconnected_judgments", "已给出的两两比较不连通：部分元素从未与其余元素比较，无法唯一补全",
            "the known comparisons do not connect all elements; no unique completion exists",
            found=[f"{names[i]}→{names[j]}" for i, j in miss], expected="每个元素至少经由比较链与其他元素相连"))
    if not miss:
        filled_arr = arr
    elif method == "lambda_optimal":
        filled_arr = _fill(arr, miss, _lambda_optimal(arr, miss, tol))
    elif method == "llsm":
        lw = _llsm_weights(arr)
        filled_arr = _fill(arr, miss, np.array([lw[i] - lw[j] for i, j in miss]))
    else:  # harker
        c = np.where(np.isnan(arr), 0.0, arr)
        c[np.diag_indices(n)] = 1.0 + np.isnan(arr).sum(axis=1)
        w = _perron(c[None])[1][0]
        filled_arr = _fill(arr, miss, np.array([np.log(w[i] / w[j]) for i, j in miss]))
    lam = float(_perron(filled_arr[None])[0][0])
    filled = pd.DataFrame(
        [{"row": names[i], "column": names[j], "value": float(filled_arr[i, j])} for i, j in miss],
        columns=["row", "column", "value"])
    out: pd.DataFrame | np.ndarray = (pd.DataFrame(filled_arr, index=labels, columns=labels) if labels else filled_arr)
    return CompletionResult(out, filled, method, lam, {"method": method, "tol": tol, "n_missing": len(miss)})
