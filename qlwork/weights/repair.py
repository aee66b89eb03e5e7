"""Consistency repair (一致性修正): the fewest, smallest judgment changes that bring CR below 0.10.

A researcher sends the suggestions back to the expert; nothing is changed
silently.  Two views are offered:

* :func:`inconsistency_table` — Saaty's diagnostic (Saaty 2003, "Decision-making
  with the AHP: Why is the principal eigenvector necessary", EJOR 145:85–91,
  §4): with the principal eigenvector w, the judgment whose ratio
  ``ε_ij = a_ij w_j / w_i`` is farthest from 1 (largest ``|log ε_ij|``) is the
  most inconsistent; the consistent value it could move toward is ``w_i / w_j``
  (shown snapped to the Saaty scale).
* :func:`repair_consistency` — a greedy search over the Saaty scale.  At each
  step every not-yet-changed pair (i, j) and every scale value v ∈ {1/9 … 9}
  is tried (``a_ij ← v``, ``a_ji ← 1/v``; all candidates evaluated in one
  batched eigen-decomposition).  If some single change reaches
  ``CR < threshold``, the *smallest* such change (in ``|log v − log a_ij|``, i.e.
  scale steps; ties → lower CR) is taken and the search stops; otherwise the
  change giving the lowest CR is taken (ties → smaller change) and the search
  continues.  Each pair changes at most once, so at most n(n−1)/2 steps.
  This is the exhaustive single-judgment variant of the "change the most
  inconsistent judgment, recompute, repeat" procedure of Saaty (2003) and
  Harker (1987); greedy search does not guarantee the global minimum number of
  changes, but in practice one or two changes suffice for questionnaire
  matrices with a single slip.  Each change also reports the scale value that
  would minimise CR for that pair (``best_for_pair``) and Saaty's eigenvector
  suggestion ``w_i/w_j`` of the original matrix (``eigen_suggested``), so the
  expert can choose a larger correction if the smallest one feels arbitrary.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import QlworkError
from .ahp import (
    CR_THRESHOLD, DEFAULT_RI_TABLE, SAATY_SCALE, _perron, _table, as_matrix, check_matrix, consistency,
    saaty_label, snap_to_scale,
)

__all__ = ["repair_consistency", "RepairResult", "inconsistency_table"]


def inconsistency_table(matrix: Any) -> pd.DataFrame:
    """Every upper-triangle judgment with ε_ij = a_ij w_j / w_i, most inconsistent first."""
    arr, labels = as_matrix(matrix)
    probs = check_matrix(arr, labels)
    if probs:
        raise QlworkError(probs)
    n = arr.shape[0]
    names = labels or [str(i + 1) for i in range(n)]
    w = _perron(arr[None])[1][0]
    rows = []
    for i in range(n):
        for j in range(i + 1, n):
            eps = arr[i, j] * w[j] / w[i]
            rows.append({"row": names[i], "column": names[j], "judgment": arr[i, j],
                         "judgment_label": saaty_label(float(snap_to_scale(arr[i, j]))),
                         "implied": w[i] / w[j], "suggested": float(snap_to_scale(w[i] / w[j])),
                         "epsilon": eps, "abs_log_epsilon": abs(np.log(eps))})
    df = pd.DataFrame(rows).sort_values("abs_log_epsilon", ascending=False, kind="stable").reset_index(drop=True)
    df["suggested_label"] = [saaty_label(v) for v in df["suggested"]]
    return df


@dataclass(frozen=True)
class RepairResult:
    """Suggested judgment changes; ``changes`` has one row per changed pair, in order."""

    original: pd.DataFrame | np.ndarray
    repaired: pd.DataFrame | np.ndarray
    changes: pd.DataFrame
    cr_before: float
    cr_after: float
    success: bool
    params: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        return self.changes

    def __repr__(self) -> str:
        ch = "; ".join(f"{r.row}→{r.column}: {r.old_label} → {r.new_label}" for r in self.changes.itertuples())
        state = "成功 success" if self.success else "未达标 not reached"
        return (f"RepairResult(CR {self.cr_before:.4f} → {self.cr_after:.4f}, {len(self.changes)} change(s), {state}"
                + (f"; {ch})" if ch else ")"))


def _cr_stack(stack: np.ndarray, n: int, ri_table) -> np.ndarray:
    lam = _perron(stack)[0]
    return consistency(lam, n, ri_table)[2]


def repair_consistency(matrix: Any, *, threshold: float = CR_THRESHOLD, ri_table: str = DEFAULT_RI_TABLE,
                       max_changes: int | None = None, scale: tuple[float, ...] = SAATY_SCALE) -> RepairResult:
    """Suggest the fewest, smallest Saaty-scale changes that make CR < ``threshold``.

    See the module docstring for the algorithm and its sources.  A matrix that is
    already consistent returns no changes.  ``max_changes`` caps the number of
    changed pairs (default n(n−1)/2).  CR uses the Perron eigenvalue.
    """
    arr, labels = as_matrix(matrix)
    probs = check_matrix(arr, labels, tol=1e-6)
    if probs:
        raise QlworkError(probs)
    n = arr.shape[0]
    names = labels or [str(i + 1) for i in range(n)]
    t = _table(ri_table)
    cr0 = float(_cr_stack(arr[None], n, t)[0])
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    limit = len(pairs) if max_changes is None else int(max_changes)
    w0 = _perron(arr[None])[1][0]
    cur = arr.copy()
    cr = cr0
    locked: set[tuple[int, int]] = set()
    rows = []
    scale_arr = np.array(scale, dtype=float)
    while cr >= threshold and len(rows) < limit:
        cands = []
        mats = []
        for (i, j) in pairs:
            if (i, j) in locked:
                continue
            for v in scale_arr:
                if abs(np.log(v) - np.log(cur[i, j])) < 1e-9:
                    continue
                m = cur.copy()
                m[i, j], m[j, i] = v, 1.0 / v
                mats.append(m)
                cands.append((i, j, float(v), abs(np.log(v) - np.log(cur[i, j]))))
        if not cands:
            break
        crs = _cr_stack(np.array(mats), n, t)
        dist = np.array([c[3] for c in cands])
        ok = np.flatnonzero(crs < threshold)
        if ok.size:
            k = ok[np.lexsort((crs[ok], np.round(dist[ok], 9)))[0]]
        else:
            k = np.lexsort((dist, np.round(crs, 12)))[0]
        i, j, v, _ = cands[k]
        same = [q for q, c in enumerate(cands) if c[0] == i and c[1] == j]
        best = same[int(np.argmin(crs[same]))]
        rows.append({"step": len(rows) + 1, "row": names[i], "column": names[j],
                     "old": float(cur[i, j]), "new": v, "old_label": saaty_label(float(snap_to_scale(cur[i, j]))),
                     "new_label": saaty_label(v), "scale_steps": int(round(abs(
                         np.searchsorted(scale_arr, snap_to_scale(cur[i, j])) - np.searchsorted(scale_arr, v)))),
                     "eigen_suggested": saaty_label(float(snap_to_scale(w0[i] / w0[j]))),
                     "cr_after": float(crs[k]), "best_for_pair": saaty_label(cands[best][2]),
                     "cr_best_for_pair": float(crs[best])})
        cur[i, j], cur[j, i] = v, 1.0 / v
        cr = float(crs[k])
        locked.add((i, j))
    changes = pd.DataFrame(rows, columns=["step", "row", "column", "old", "new", "old_label", "new_label",
                                          "scale_steps", "eigen_suggested", "cr_after", "best_for_pair",
                                          "cr_best_for_pair"])
    out = pd.DataFrame(cur, index=labels, columns=labels) if labels else cur
    orig = pd.DataFrame(arr, index=labels, columns=labels) if labels else arr
    return RepairResult(orig, out, changes, cr0, cr, bool(cr < threshold),
                        {"threshold": threshold, "ri_table": t.name, "max_changes": limit,
                         "algorithm": "greedy single-judgment search on the Saaty scale (Saaty 2003; Harker 1987)"})
