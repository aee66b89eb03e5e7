"""Analytic hierarchy process (层次分析法): priorities and consistency of one matrix.

A pairwise-comparison (judgment) matrix ``A`` holds ``a_ij`` = how many times
row element *i* is more important than column element *j* on Saaty's 1–9 scale
(Saaty 1980, Table 1.1); it is positive and reciprocal (``a_ji = 1/a_ij``,
``a_ii = 1``).

Priority methods (Saaty 1980 ch. 2; Crawford & Williams 1985):

* ``"eigen"`` (特征根法) — the normalised principal right eigenvector, ``A w = λmax w``.
* ``"geometric"`` (方根法 / row geometric mean, LLSM) — ``w_i ∝ (Π_j a_ij)^(1/n)``
  (Crawford & Williams 1985, J. Math. Psych. 29:387–405).
* ``"arithmetic"`` (和积法 / normalised column averages) — ``w_i = (1/n) Σ_j a_ij / Σ_k a_kj``.

Consistency (Saaty 1980 §1.4): ``CI = (λmax − n)/(n − 1)``, ``CR = CI / RI(n)``,
acceptable when ``CR < 0.10``.  ``λmax`` is either the Perron eigenvalue of A
(``lambda_method="eigen"``, Saaty's definition) or the textbook estimate
``λ ≈ (1/n) Σ_i (A w)_i / w_i`` from the chosen priority vector
(``lambda_method="estimate"``, the 和积法/方根法 hand computation).  For the
eigenvector both coincide.  For n ≤ 2 every reciprocal matrix is consistent
and CI = CR = 0 by definition (RI(1) = RI(2) = 0, so the ratio is not formed).

Random-index tables (平均随机一致性指标) are in :data:`RI_TABLES`; the default
is :data:`DEFAULT_RI_TABLE` (``"saaty1980"``): the original table, the one used
by most published Chinese and international AHP studies, so a CR computed here
can be compared with a CR reported in a paper.  Every result records the
table it used.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..errors import Problem, QlworkError

__all__ = [
    "SAATY_SCALE",
    "RITable",
    "RI_TABLES",
    "DEFAULT_RI_TABLE",
    "CR_THRESHOLD",
    "random_index",
    "as_matrix",
    "check_matrix",
    "priority_vector",
    "priority_vectors",
    "lambda_max",
    "ahp_weights",
    "AHPResult",
    "saaty_label",
    "snap_to_scale",
]

#: Saaty's fundamental scale and reciprocals: 1/9 … 1/2, 1, 2 … 9 (Saaty 1980, Table 1.1).
SAATY_SCALE: tuple[float, ...] = tuple([1.0 / k for k in range(9, 1, -1)] + [float(k) for k in range(1, 10)])

#: Saaty's acceptance threshold for the consistency ratio (Saaty 1980 §1.4).
CR_THRESHOLD = 0.10

METHODS = ("eigen", "geometric", "arithmetic")
LAMBDA_METHODS = ("eigen", "estimate")


@dataclass(frozen=True)
class RITable:
    """A random-index table: ``values[n-1]`` is RI for an n×n matrix."""

    name: str
    values: tuple[float, ...]
    source: str
    note: str = ""

    @property
    def max_n(self) -> int:
        return len(self.values)


RI_TABLES: dict[str, RITable] = {
    "saaty1980": RITable(
        "saaty1980",
        (0.0, 0.0, 0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49, 1.51, 1.48, 1.56, 1.57, 1.59),
        "Saaty, T.L. (1980) The Analytic Hierarchy Process. McGraw-Hill, p. 21 (n = 1..10, "
        "500 random matrices per n); n = 11..15 (1.51, 1.48, 1.56, 1.57, 1.59) from the "
        "Oak Ridge/Wharton extension printed in the same book and reproduced in many "
        "implementations (e.g. Net.Kniaz.AHP Constants, typer AHP RI_TABLE).",
        "The non-monotone 1.48 at n = 12 is as published.",
    ),
    "saaty2005": RITable(
        "saaty2005",
        (0.0, 0.0, 0.52, 0.89, 1.11, 1.25, 1.35, 1.40, 1.45, 1.49, 1.52, 1.54, 1.56, 1.58, 1.59),
        "Saaty's later table (50,000 random matrices), as printed in Saaty, T.L. (2008) "
        "'Decision making with the analytic hierarchy process', Int. J. Services Sciences "
        "1(1):83–98, and Saaty & Tran (2007) Math. Comput. Modelling 46:962–975; also in "
        "Saaty & Vargas, Models, Methods, Concepts & Applications of the AHP (2nd ed.).",
        "Named saaty2005 in qlwork; the sources confirmed here are the 2007/2008 papers.",
    ),
    "hong2002": RITable(
        "hong2002",
        (0.0, 0.0, 0.52, 0.89, 1.12, 1.26, 1.36, 1.41, 1.46, 1.49, 1.52, 1.54, 1.56, 1.58, 1.59),
        "洪志国、李焱、范植华、王康 (2002)《层次分析法中高阶平均随机一致性指标(RI)的计算》，"
        "计算机工程与应用 38(12):45–47 — the table most Chinese textbooks print for n ≤ 15.",
        "Values as reproduced in Chinese teaching material (e.g. 1.52 1.54 1.56 1.58 1.59 for "
        "n = 11..15 in many MATLAB AHP scripts); the primary article was not available to "
        "re-check every digit in this session.",
    ),
    "alonso_lamata": RITable(
        "alonso_lamata",
        (0.0, 0.0, 0.5245, 0.8815, 1.1086, 1.2479, 1.3417, 1.4056, 1.4499, 1.4854, 1.5141,
         1.5365, 1.5551, 1.5713, 1.5838),
        "Alonso, J.A. & Lamata, M.T. (2006) 'Consistency in the analytic hierarchy process: "
        "a new approach', Int. J. Uncertainty, Fuzziness and Knowledge-Based Systems "
        "14(4):445–459, Table 2 (100,000 random matrices per n).",
        "Same values as the R package findRI(styRI='Alonso-Lamata').",
    ),
    "dd1991": RITable(
        "dd1991",
        (0.0, 0.0, 0.4887, 0.8045, 1.0591, 1.1797, 1.2519, 1.3171, 1.3733, 1.4055, 1.4213,
         1.4497, 1.4643, 1.4822, 1.4969),
        "Donegan, H.A. & Dodd, F.J. (1991) 'A note on Saaty's random indexes', Mathematical "
        "and Computer Modelling 15(10):135–137 (as tabulated in Alonso & Lamata 2006, Table 1).",
        "NOT re-verified against the primary source; use with care.  n ≥ 5 agrees with the "
        "table in AHPy (PhilipGriffith/AHPy, random_index='dd', citing the same paper), and "
        "CR = 0.072 for the 6×6 'car example' price matrix reproduces AHPy's published output "
        "(tests/test_ahp.py), but AHPy prints 0.4914 and 0.8286 for n = 3 and 4 where Alonso & "
        "Lamata's Table 1 gives 0.4887 and 0.8045 — the primary article decides.",
    ),
}

#: Default RI table: Saaty (1980), the table behind most published CRs (see module docstring).
DEFAULT_RI_TABLE = "saaty1980"


def _table(ri_table: str | RITable | Sequence[float]) -> RITable:
    if isinstance(ri_table, RITable):
        return ri_table
    if isinstance(ri_table, str):
        if ri_table not in RI_TABLES:
            raise QlworkError(Problem(
                "unknown_ri_table", f"未知的随机一致性指标表 {ri_table!r}", f"unknown RI table {ri_table!r}",
                found=ri_table, expected=f"之一 one of {sorted(RI_TABLES)}"))
        return RI_TABLES[ri_table]
    vals = tuple(float(v) for v in ri_table)
    return RITable("custom", vals, "user-supplied values")


def random_index(n: int, ri_table: str | RITable | Sequence[float] = DEFAULT_RI_TABLE) -> float:
    """RI for an n×n matrix from the named table; n beyond the table is a clear error."""
    t = _table(ri_table)
    if n < 1:
        raise QlworkError(Problem("bad_size", "矩阵阶数必须 ≥ 1", "matrix order must be >= 1", found=n, expected=">= 1"))
    if n > t.max_n:
        raise QlworkError(Problem(
            "ri_out_of_range", f"随机一致性指标表 {t.name} 只覆盖 n ≤ {t.max_n}，而判断矩阵为 {n} 阶",
            f"RI table {t.name} covers n <= {t.max_n}; the matrix has order {n}",
            found=n, expected=f"n ≤ {t.max_n}，或换用更长的表 / a longer table"))
    return float(t.values[n - 1])


# --------------------------------------------------------------------- input
def as_matrix(matrix: Any) -> tuple[np.ndarray, list[str] | None]:
    """Array copy of ``matrix`` plus its labels (DataFrame index) or None."""
    labels = None
    if isinstance(matrix, pd.DataFrame):
        labels = [str(x) for x in matrix.index]
        cols = [str(x) for x in matrix.columns]
        if cols != labels:
            raise QlworkError(Problem(
                "label_mismatch", "判断矩阵的行标签与列标签不一致", "row and column labels differ",
                found={"rows": labels, "columns": cols}, expected="相同顺序的相同编号 same ids, same order"))
        arr = matrix.to_numpy(dtype=float, na_value=np.nan)
    else:
        try:
            arr = np.array(matrix, dtype=float)
        except (TypeError, ValueError) as e:
            raise QlworkError(Problem("bad_matrix", "判断矩阵必须全部为数字", "matrix must be numeric", found=str(e)[:80])) from None
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] == 0:
        raise QlworkError(Problem("not_square", "判断矩阵必须是非空方阵", "matrix must be square and non-empty",
                                  found=arr.shape, expected="n × n"))
    return arr.copy(), labels


def check_matrix(arr: np.ndarray, labels: Sequence[str] | None = None, *, tol: float = 1e-6,
                 allow_nan: bool = False) -> list[Problem]:
    """Problems of a judgment matrix: non-finite, non-positive, diagonal ≠ 1, not reciprocal.

    ``tol`` is relative: a pair is reciprocal when ``|a_ij · a_ji − 1| ≤ tol`` (a
    questionnaire that writes 0.333 for 1/3 passes with ``tol = 0.01``).
    """
    n = arr.shape[0]
    names = list(labels) if labels is not None else [str(i + 1) for i in range(n)]
    probs: list[Problem] = []
    for i in range(n):
        for j in range(n):
            v = arr[i, j]
            where = f"{names[i]}→{names[j]}"
            if np.isnan(v):
                if not allow_nan or i == j:
                    probs.append(Problem("missing_judgment", f"判断 {where} 缺失（可先用 complete_matrix 补全）",
                                         f"judgment {where} is missing (complete it first: complete_matrix)",
                                         column=where, found="空 blank", expected="1–9 或其倒数"))
                continue
            if not np.isfinite(v) or v <= 0:
                probs.append(Problem("nonpositive_judgment", f"判断 {where} 必须为正数", f"judgment {where} must be > 0",
                                     column=where, found=float(v), expected="> 0"))
                continue
            if i == j and abs(v - 1.0) > tol:
                probs.append(Problem("bad_diagonal", f"对角线元素 {where} 必须为 1", "diagonal must be 1",
                                     column=where, found=float(v), expected=1))
            if j > i and np.isfinite(arr[j, i]) and arr[j, i] > 0 and abs(v * arr[j, i] - 1.0) > tol:
                probs.append(Problem("not_reciprocal", f"判断 {where} 与其对称元素不互为倒数",
                                     f"a_ij · a_ji ≠ 1 for {where}", column=where,
                                     found=(float(v), float(arr[j, i])), expected=f"a_ji = 1/{v:g}"))
    return probs


# ------------------------------------------------------------ numeric core
def _perron(stack: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Principal eigenvalue and positive unit-sum eigenvector for a stack (k, n, n)."""
    vals, vecs = np.linalg.eig(stack)
    idx = np.argmax(vals.real, axis=-1)
    lam = np.take_along_axis(vals.real, idx[:, None], axis=-1)[:, 0]
    vec = np.take_along_axis(vecs.real, idx[:, None, None], axis=-1)[..., 0]
    vec = np.abs(vec)  # Perron vector has one sign; abs removes the arbitrary sign of eig
    vec = vec / vec.sum(axis=-1, keepdims=True)
    return lam, vec


def priority_vectors(stack: np.ndarray, method: str = "eigen") -> np.ndarray:
    """Priority vectors for a stack of matrices (k, n, n) → (k, n), rows summing to 1.

    Vectorised over k so Monte Carlo over perturbed judgments is one call.
    """
    a = np.asarray(stack, dtype=float)
    single = a.ndim == 2
    if single:
        a = a[None]
    if method == "eigen":
        w = _perron(a)[1]
    elif method == "geometric":
        g = np.exp(np.log(a).mean(axis=-1))
        w = g / g.sum(axis=-1, keepdims=True)
    elif method == "arithmetic":
        w = (a / a.sum(axis=-2, keepdims=True)).mean(axis=-1)
        w = w / w.sum(axis=-1, keepdims=True)
    else:
        raise QlworkError(Problem("unknown_method", f"未知的权重计算方法 {method!r}", f"unknown priority method {method!r}",
                                  found=method, expected=f"之一 one of {METHODS}"))
    return w[0] if single else w


def priority_vector(matrix: np.ndarray, method: str = "eigen") -> np.ndarray:
    return priority_vectors(np.asarray(matrix, dtype=float), method)


def lambda_max(matrix: np.ndarray, weights: np.ndarray | None = None, method: str = "eigen") -> float | np.ndarray:
    """λmax: Perron eigenvalue (``"eigen"``) or ``mean_i (A w)_i / w_i`` (``"estimate"``). Works on stacks."""
    a = np.asarray(matrix, dtype=float)
    single = a.ndim == 2
    if single:
        a = a[None]
    if method == "eigen":
        lam = _perron(a)[0]
    elif method == "estimate":
        if weights is None:
            raise ValueError("weights are needed for lambda_method='estimate'")
        w = np.asarray(weights, dtype=float).reshape(a.shape[0], a.shape[1])
        lam = (np.einsum("kij,kj->ki", a, w) / w).mean(axis=-1)
    else:
        raise QlworkError(Problem("unknown_lambda_method", f"未知的 λmax 计算方式 {method!r}", f"unknown lambda_method {method!r}",
                                  found=method, expected=f"之一 one of {LAMBDA_METHODS}"))
    return float(lam[0]) if single else lam


def consistency(lam: float | np.ndarray, n: int, ri_table: str | RITable | Sequence[float] = DEFAULT_RI_TABLE):
    """(CI, RI, CR); CI = CR = 0 for n ≤ 2 (never NaN). Tiny negative CI from rounding is clipped to 0."""
    ri = random_index(n, ri_table)
    if n <= 2:
        z = np.zeros_like(np.asarray(lam, dtype=float))
        return (float(z) if z.ndim == 0 else z), ri, (float(z) if z.ndim == 0 else z)
    ci = np.maximum((np.asarray(lam, dtype=float) - n) / (n - 1), 0.0)
    cr = ci / ri
    if ci.ndim == 0:
        return float(ci), ri, float(cr)
    return ci, ri, cr


# ------------------------------------------------------------------ result
@dataclass(frozen=True)
class AHPResult:
    """Priorities and consistency of one judgment matrix.

    ``weights`` is a Series (index = labels) when the matrix had labels, else an array.
    ``params`` records every choice (method, ri_table, lambda_method, threshold).
    """

    weights: pd.Series | np.ndarray
    lambda_max: float
    ci: float
    ri: float
    cr: float
    consistent: bool
    n: int
    method: str
    ri_table: str
    lambda_method: str
    threshold: float
    matrix: np.ndarray = field(repr=False)
    labels: tuple[str, ...] | None = field(default=None, repr=False)

    @property
    def params(self) -> dict[str, Any]:
        return {"method": self.method, "ri_table": self.ri_table, "lambda_method": self.lambda_method,
                "threshold": self.threshold, "ri": self.ri}

    def weights_array(self) -> np.ndarray:
        return np.asarray(self.weights, dtype=float)

    def matrix_frame(self) -> pd.DataFrame:
        labs = list(self.labels) if self.labels else [str(i + 1) for i in range(self.n)]
        return pd.DataFrame(self.matrix, index=labs, columns=labs)

    def to_frame(self) -> pd.DataFrame:
        """One row per element: weight, (Aw)_i, (Aw)_i / w_i, plus the matrix-level statistics."""
        labs = list(self.labels) if self.labels else [str(i + 1) for i in range(self.n)]
        w = self.weights_array()
        aw = self.matrix @ w
        df = pd.DataFrame({"element": labs, "weight": w, "Aw": aw, "Aw_over_w": aw / w})
        df["lambda_max"] = self.lambda_max
        df["CI"] = self.ci
        df["RI"] = self.ri
        df["CR"] = self.cr
        df["consistent"] = self.consistent
        df["method"] = self.method
        df["ri_table"] = self.ri_table
        return df

    def __repr__(self) -> str:
        w = self.weights_array()
        labs = list(self.labels) if self.labels else [str(i + 1) for i in range(self.n)]
        ws = ", ".join(f"{l}={x:.4f}" for l, x in zip(labs, w))
        ok = "通过 consistent" if self.consistent else "未通过 NOT consistent"
        return (f"AHPResult(n={self.n}, method={self.method}, λmax={self.lambda_max:.4f}, CI={self.ci:.4f}, "
                f"RI={self.ri:.2f} [{self.ri_table}], CR={self.cr:.4f} {ok}; {ws})")


def ahp_weights(matrix: Any, method: str = "eigen", ri_table: str | RITable | Sequence[float] = DEFAULT_RI_TABLE,
                lambda_method: str = "eigen", *, threshold: float = CR_THRESHOLD, tol: float = 1e-6) -> AHPResult:
    """Priority weights and consistency of a judgment matrix.

    Parameters
    ----------
    matrix : list of lists, ndarray or DataFrame (labels = index = columns);
        ``a_ij`` is the importance of row *i* over column *j*.
    method : ``"eigen"`` | ``"geometric"`` | ``"arithmetic"`` (see module docstring).
    ri_table : name in :data:`RI_TABLES` (default ``"saaty1980"``), an :class:`RITable`
        or a sequence of RI values for n = 1, 2, ….
    lambda_method : ``"eigen"`` (Perron eigenvalue, Saaty) or ``"estimate"``
        (``mean_i (A w)_i / w_i`` with the chosen weights).
    threshold : CR below which the matrix is accepted (Saaty: 0.10).
    tol : relative tolerance of the reciprocity check.

    Examples
    --------
    >>> r = ahp_weights([[1, 3], [1/3, 1]])
    >>> r.weights.round(2).tolist(), r.cr
    ([0.75, 0.25], 0.0)
    """
    if method not in METHODS:
        priority_vectors(np.ones((1, 1)), method)  # raises the located error
    if lambda_method not in LAMBDA_METHODS:
        lambda_max(np.ones((1, 1)), method=lambda_method)
    arr, labels = as_matrix(matrix)
    probs = check_matrix(arr, labels, tol=tol)
    if probs:
        raise QlworkError(probs)
    n = arr.shape[0]
    t = _table(ri_table)
    random_index(n, t)  # size check before any work
    w = priority_vector(arr, method)
    lam = lambda_max(arr, w, "eigen" if method == "eigen" else lambda_method)
    ci, ri, cr = consistency(lam, n, t)
    weights: pd.Series | np.ndarray = pd.Series(w, index=pd.Index(labels, name="element"), name="weight") if labels else w
    return AHPResult(
        weights=weights, lambda_max=float(lam), ci=ci, ri=ri, cr=cr, consistent=bool(cr < threshold), n=n,
        method=method, ri_table=t.name, lambda_method=lambda_method if method != "eigen" else "eigen",
        threshold=float(threshold), matrix=arr, labels=tuple(labels) if labels else None,
    )


# ----------------------------------------------------------- Saaty scale
def snap_to_scale(x: float | np.ndarray) -> float | np.ndarray:
    """Nearest Saaty-scale value in log distance (so 1/3 and 3 are equally far from 1)."""
    scale = np.log(np.array(SAATY_SCALE))
    lx = np.log(np.asarray(x, dtype=float))
    idx = np.abs(lx[..., None] - scale).argmin(axis=-1)
    out = np.array(SAATY_SCALE)[idx]
    return float(out) if np.ndim(out) == 0 else out


def saaty_label(x: float) -> str:
    """'3' or '1/3' for a scale value (as an expert would write it)."""
    if x >= 1:
        return f"{x:g}" if abs(x - round(x)) > 1e-9 else str(int(round(x)))
    f = Fraction(1 / x).limit_denominator(9)
    inv = 1 / x
    if abs(inv - round(inv)) < 1e-9:
        return f"1/{int(round(inv))}"
    return f"{x:.3g}" if f.denominator != 1 else f"1/{f.numerator}"
