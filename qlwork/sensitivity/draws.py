"""Weight draws for Monte Carlo sensitivity analysis (权重抽样).

Every model turns a ``numpy.random.Generator`` into a block of *local* weight
vectors (draws × items, one column per non-root node or indicator of the
framework, sibling groups summing to 1).  Working with local weights lets the
engine renormalise within nodes for units that lack indicators, exactly as the
index does (effective weights, OECD/JRC Handbook 2008 §6).

Reproducibility: the randomness of draw ``d`` comes only from
``SeedSequence(seed, spawn_key=(d // BLOCK,))`` — a fixed-size block of draws
— so results are identical whatever the chunk size, the number of workers or
the order in which chunks are computed (NumPy's recommended parallel seeding,
"Parallel Random Number Generation", numpy.org/doc/stable/reference/random/parallel.html).

Models
------
* :class:`Fixed` — zero spread: every draw equals the centre (sanity check).
* :class:`Dirichlet` — ``w ~ Dir(κ · w0)`` per sibling group (``level="local"``)
  or over all leaves (``level="leaf"``); ``E[w] = w0`` and
  ``Var[w_i] = w0_i (1 − w0_i) / (κ + 1)`` (Kotz, Balakrishnan & Johnson 2000, ch. 49).
  Inputs are dependent (they sum to 1): use it for Monte Carlo, not Sobol.
* :class:`UniformPerturbation` — ``w_i · (1 + x (2u_i − 1))``, ``u_i ~ U(0,1)``
  independent, then renormalised within each sibling group (or over leaves).
* :class:`AHPJudgments` — each upper-triangle judgment of each AHP matrix is
  moved by ``k`` steps on the Saaty scale (``mode="saaty"``, uniform on
  ``−steps … +steps``, clipped to 1/9 … 9) or multiplied by ``factor^(2u−1)``
  (``mode="log"``, log-uniform); the priority vector is recomputed per draw with
  the eigenvector method, vectorised over draws
  (:func:`qlwork.weights.ahp.priority_vectors`), node by node; leaf weights then
  follow by distributive synthesis (Saaty 1980).

:class:`UniformPerturbation` and :class:`AHPJudgments` are functions of
independent U(0,1) inputs (``transform(u)``), so Sobol indices (SALib) apply.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import Problem, QlworkError
from ..engine.hierarchy import Hierarchy

__all__ = [
    "BLOCK",
    "Hierarchy",
    "block_rng",
    "WeightModel",
    "Fixed",
    "Dirichlet",
    "UniformPerturbation",
    "AHPJudgments",
]

#: Draws per seeding block.  Fixed forever: changing it changes every published result.
BLOCK = 64


def block_rng(seed: int, block: int) -> np.random.Generator:
    """The generator of seeding block ``block`` (draws ``block*BLOCK … +BLOCK-1``)."""
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(int(block),)))


# --------------------------------------------------------------------- models
class WeightModel:
    """Base class.  Subclasses implement :meth:`sample_block`."""

    independent: bool = False

    def sample_block(self, rng: np.random.Generator, hier: Hierarchy, center: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def params(self) -> dict[str, Any]:
        return {"model": type(self).__name__}

    # Independent-input models (Sobol) implement these two.
    def input_names(self, hier: Hierarchy) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def transform(self, u: np.ndarray, hier: Hierarchy, center: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError


@dataclass(frozen=True)
class Fixed(WeightModel):
    """Zero spread: every draw is the centre."""

    def sample_block(self, rng, hier, center):
        return np.broadcast_to(center, (BLOCK, center.size)).copy()


def _check_level(level: str) -> None:
    if level not in ("local", "leaf"):
        raise QlworkError(Problem("bad_level", f"抽样层级 {level!r} 无效", "level must be 'local' or 'leaf'",
                                  found=level, expected="local 或 leaf"))


@dataclass(frozen=True)
class Dirichlet(WeightModel):
    """``Dir(κ·w0)`` centred on the nominal weights; larger κ = less spread.

    ``level="local"``: independent Dirichlet per sibling group (each node's
    children); ``level="leaf"``: one Dirichlet over all leaf weights.
    """

    concentration: float = 100.0
    level: str = "local"

    def __post_init__(self):
        _check_level(self.level)
        if not self.concentration > 0:
            raise QlworkError(Problem("bad_concentration", "集中参数必须为正", "concentration must be > 0",
                                      found=self.concentration, expected="> 0"))

    def sample_block(self, rng, hier, center):
        k = float(self.concentration)
        if self.level == "leaf":
            w0 = hier.leaf_from_local(center)
            return hier.local_from_leaf(_dirichlet(rng, k * w0, BLOCK))
        out = np.zeros((BLOCK, center.size))
        for g in hier.groups:
            out[:, g] = _dirichlet(rng, k * center[g], BLOCK)
        return out

    def params(self):
        return {"model": "dirichlet", "concentration": self.concentration, "level": self.level}


def _dirichlet(rng: np.random.Generator, alpha: np.ndarray, n: int) -> np.ndarray:
    """Dirichlet via normalised gammas; zero-weight components stay exactly 0."""
    a = np.asarray(alpha, dtype=float)
    g = np.zeros((n, a.size))
    pos = a > 0
    g[:, pos] = rng.standard_gamma(a[pos], size=(n, int(pos.sum())))
    s = g.sum(axis=1, keepdims=True)
    return np.divide(g, s, out=np.zeros_like(g), where=s > 0)


@dataclass(frozen=True)
class UniformPerturbation(WeightModel):
    """Each weight times ``1 + x·(2u − 1)`` with independent ``u ~ U(0,1)``, renormalised.

    ``pct`` is x (0.2 = ±20 %).  ``level="local"`` perturbs every local weight
    and renormalises within sibling groups; ``"leaf"`` perturbs leaf weights
    and renormalises over all leaves.
    """

    pct: float = 0.2
    level: str = "local"
    independent = True

    def __post_init__(self):
        _check_level(self.level)
        if not 0 <= self.pct < 1:
            raise QlworkError(Problem("bad_pct", "扰动幅度须在 [0, 1) 之间", "pct must be in [0, 1)",
                                      found=self.pct, expected="0 ≤ x < 1"))

    def input_names(self, hier):
        return list(hier.items if self.level == "local" else hier.leaves)

    def transform(self, u, hier, center):
        m = 1.0 + self.pct * (2.0 * np.asarray(u, dtype=float) - 1.0)
        if self.level == "leaf":
            w = hier.leaf_from_local(center) * m
            return hier.local_from_leaf(w / w.sum(axis=-1, keepdims=True))
        return hier.normalize_local(center * m)

    def sample_block(self, rng, hier, center):
        return self.transform(rng.random((BLOCK, len(self.input_names(hier)))), hier, center)

    def params(self):
        return {"model": "uniform", "pct": self.pct, "level": self.level}


_SCALE = np.array([1.0 / k for k in range(9, 1, -1)] + [float(k) for k in range(1, 10)])


@dataclass(frozen=True)
class AHPJudgments(WeightModel):
    """Perturb AHP judgments and recompute local weights per draw.

    ``judgments`` maps an inner-node id to its (children × children)
    reciprocal matrix (rows/columns in the framework's child order, or a
    DataFrame labelled by child ids).  Nodes without a matrix keep the centre
    local weights.  Omit ``judgments`` to use the consistent matrix
    ``a_ij = w_i / w_j`` built from the centre weights (snapped to the Saaty
    scale only in ``mode="saaty"``).
    """

    judgments: Mapping[str, Any] | None = None
    mode: str = "saaty"
    steps: int = 1
    factor: float = 2.0
    method: str = "eigen"
    independent = True
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        if self.mode not in ("saaty", "log"):
            raise QlworkError(Problem("bad_mode", f"判断扰动方式 {self.mode!r} 无效", "mode must be 'saaty' or 'log'",
                                      found=self.mode, expected="saaty 或 log"))

    # matrices and their upper-triangle positions, per node
    def _layout(self, hier: Hierarchy, center: np.ndarray):
        key = (hier.items, center.tobytes())
        if key in self._cache:
            return self._cache[key]
        item_pos = {k: n for n, k in enumerate(hier.items)}
        out = []
        for n, node in enumerate(hier.nodes):
            g = hier.groups[n]
            m = len(g)
            if m < 2:
                continue
            if self.judgments is not None and node not in self.judgments:
                continue
            if self.judgments is not None:
                a = self.judgments[node]
                if hasattr(a, "loc"):  # DataFrame labelled by child ids
                    ids = [hier.items[i] for i in g]
                    a = a.loc[ids, ids].to_numpy(dtype=float)
                a = np.asarray(a, dtype=float)
                if a.shape != (m, m):
                    raise QlworkError(Problem("bad_matrix_shape", f"节点 {node} 的判断矩阵应为 {m}×{m}",
                                              f"judgment matrix of {node} must be {m}×{m}", found=a.shape,
                                              expected=(m, m)))
            else:
                w = center[g]
                a = w[:, None] / w[None, :]
            iu = np.triu_indices(m, 1)
            names = [f"{node}:{hier.items[g[i]]}/{hier.items[g[j]]}" for i, j in zip(*iu)]
            base = a[iu]
            if self.mode == "saaty":  # position of each judgment on the scale (nearest in log)
                base = np.abs(np.log(base)[:, None] - np.log(_SCALE)[None, :]).argmin(axis=1)
            out.append((node, g, iu, base, names))
        self._cache[key] = out
        _ = item_pos
        return out

    def input_names(self, hier):
        return [nm for (_, _, _, _, names) in self._layout(hier, hier.center) for nm in names]

    def transform(self, u, hier, center):
        u = np.asarray(u, dtype=float)
        n = u.shape[0]
        local = np.broadcast_to(center, (n, center.size)).copy()
        col = 0
        for node, g, iu, base, names in self._layout(hier, center):
            k = len(names)
            uu = u[:, col: col + k]
            col += k
            if self.mode == "saaty":
                step = np.minimum(np.floor(uu * (2 * self.steps + 1)), 2 * self.steps).astype(int) - self.steps
                vals = _SCALE[np.clip(base[None, :] + step, 0, _SCALE.size - 1)]
            else:
                vals = base[None, :] * self.factor ** (2.0 * uu - 1.0)
            m = len(g)
            a = np.ones((n, m, m))
            a[:, iu[0], iu[1]] = vals
            a[:, iu[1], iu[0]] = 1.0 / vals
            local[:, g] = _priority(a, self.method)
        return local

    def sample_block(self, rng, hier, center):
        d = len(self.input_names(hier))
        return self.transform(rng.random((BLOCK, d)), hier, center)

    def params(self):
        return {"model": "ahp_judgments", "mode": self.mode, "steps": self.steps, "factor": self.factor,
                "method": self.method, "nodes": sorted(self.judgments) if self.judgments is not None else "all"}


def _priority(stack: np.ndarray, method: str) -> np.ndarray:
    from ..weights.ahp import priority_vectors

    return priority_vectors(stack, method)


def sample_block(model: WeightModel, seed: int, block: int, hier: Hierarchy, center: np.ndarray) -> np.ndarray:
    """Local weights of seeding block ``block`` (BLOCK × items)."""
    return model.sample_block(block_rng(seed, block), hier, center)


def sample(model: WeightModel, seed: int, n: int, hier: Hierarchy, center: np.ndarray | None = None,
           start: int = 0) -> np.ndarray:
    """Draws ``start … start+n−1`` as local weights (n × items), independent of chunking."""
    center = hier.center if center is None else center
    b0, b1 = start // BLOCK, (start + n - 1) // BLOCK + 1
    out = np.concatenate([sample_block(model, seed, b, hier, center) for b in range(b0, b1)], axis=0)
    off = start - b0 * BLOCK
    return out[off: off + n]


__all__ += ["sample", "sample_block"]
_ = Sequence
