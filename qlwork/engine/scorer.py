"""The one scorer: every total that qlwork ranks, grades or publishes comes from here.

:func:`scores_for` turns normalised indicator scores (units × leaves) and local
weights (draws × items) into totals (draws × units):

    internal = Σ_j W_int[j] · x_j                   (arithmetic)  or  exp(Σ_j W_int[j] · log max(x_j, ε))
    public   = the same over the public (survey) indicators, or a fixed survey estimate per unit
    total    = (1 − s) · internal + s · public   where a public score exists, else internal
    total   += bonus                               (points added after aggregation, capped by the spec)

with ``W_int`` the effective weights of the internal tree for the unit's
availability pattern (:class:`qlwork.engine.hierarchy.Hierarchy`: weights
re-normalised within each node over its available children).  The index engine
(:func:`qlwork.engine.index.compute_index`) calls it with the official weights
(one draw); the Monte Carlo engine (:mod:`qlwork.sensitivity`) with thousands of
draws per chunk; the dashboard's what-if with the weights a viewer set.  Their
nominal totals are therefore equal by construction.

Published scores (:func:`qlwork.engine.grading.publish_units`): totals are rounded
half-up to ``Design.decimals`` on the 1e-6 grid; ranks, ties, grades, bottom-N and
pair orders compare published scores.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import Problem, QlworkError
from ..framework import Framework, load_framework
from .grading import publish_units
from .hierarchy import Hierarchy

__all__ = ["Design", "Methods", "make_design", "build_design", "scores_for", "nominal_scores", "nominal_choices",
           "pattern_ids", "published"]


@dataclass(frozen=True)
class Methods:
    """Discrete (and one continuous) method choices mixed with the weight draws.

    Each draw picks uniformly: one normalised matrix (``Design.variants``), one
    aggregation from ``aggregations``, a social-evaluation share uniformly in
    ``social_share`` (a (low, high) pair, or a single value, or None for the
    design's nominal share), and — with ``leave_one_out`` — either
    no exclusion or one indicator dropped (each of the K+1 options equally likely).
    All four random numbers are drawn for every draw whether used or not, so
    switching one option on does not change the others' draws.
    """

    aggregations: tuple[str, ...] = ("arithmetic",)
    social_share: tuple[float, float] | float | None = None
    leave_one_out: bool = False

    def __post_init__(self):
        bad = [a for a in self.aggregations if a not in ("arithmetic", "geometric")]
        if bad or not self.aggregations:
            raise QlworkError(Problem("bad_aggregation", f"汇总方式无效：{bad}", "aggregation must be arithmetic or geometric",
                                      found=bad, expected="arithmetic / geometric"))

    @property
    def share_range(self) -> tuple[float, float] | None:
        s = self.social_share
        if s is None:
            return None
        if np.isscalar(s):
            return (float(s), float(s))
        lo, hi = (float(v) for v in s)
        return (lo, hi)

    def params(self) -> dict[str, Any]:
        return {"aggregations": list(self.aggregations), "social_share": self.share_range,
                "leave_one_out": self.leave_one_out}


@dataclass(frozen=True)
class Design:
    """Everything the engine needs, as arrays (cheap to ship to Dask workers)."""

    hier: Hierarchy
    variants: tuple[np.ndarray, ...]  # each units × leaves, normalised 0–100, NaN = unavailable
    variant_labels: tuple[str, ...]
    groups: np.ndarray  # int codes per unit
    group_labels: tuple[str, ...]
    unit_ids: np.ndarray
    center: np.ndarray  # nominal local weights (items,)
    grade_labels: tuple[str, ...]  # best first
    grade_cuts: np.ndarray  # lower bounds of all but the last grade, descending
    bottom_n: int = 3
    nominal_aggregation: str = "arithmetic"
    nominal_share: float = 0.0
    public_mode: str = "indicators"  # "indicators" | "fixed" (public_values) | "none"
    public_values: np.ndarray | None = None  # per unit (design order), NaN = no public score
    eps: float = 1.0  # geometric floor (qlwork.engine.aggregate: 1 point)
    max_bins: int = 1024
    grade_cap: np.ndarray | None = None  # per unit best grade index allowed (veto cap) or -1
    bonus: np.ndarray | None = None  # per unit bonus points added after aggregation (already capped)
    decimals: int = 6  # published precision: ranks, grades, ties and pairs compare published scores
    bottom_min_group: int | None = None  # bottom-N only in peer groups of at least this size (None: N + 1)
    pairs: np.ndarray | None = None  # (n_pairs, 2) unit positions for rank-reversal counts
    input_order: np.ndarray | None = None  # design position of each unit in the caller's order
    _prep: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        n = len(self.unit_ids)
        for v in self.variants:
            if v.shape != (n, len(self.hier.leaves)):
                raise QlworkError(Problem("bad_shape", "标准化矩阵的形状与单位、指标数不符",
                                          "normalised matrix shape does not match units × indicators",
                                          found=v.shape, expected=(n, len(self.hier.leaves))))

    @property
    def n_units(self) -> int:
        return len(self.unit_ids)

    @property
    def step(self) -> int:
        """Published grid step in micro-points (1e-6): 10⁴ for 2 decimals."""
        return 10 ** (6 - int(self.decimals))

    @property
    def cut_units(self) -> np.ndarray:
        """Grade cut-offs in published units (score ≥ cut ⇔ published units ≥ cut_units)."""
        return np.ceil(np.round(np.asarray(self.grade_cuts, float) * 10 ** int(self.decimals), 6)).astype(np.int64)

    def bottom_n_for(self, group_size: int) -> int:
        """N of the bottom-N rule in a group of this size (0 = rule not applied)."""
        m = self.bottom_min_group if self.bottom_min_group is not None else self.bottom_n + 1
        return self.bottom_n if group_size >= m else 0

    def group_index(self) -> list[np.ndarray]:
        if "gidx" not in self._prep:
            self._prep["gidx"] = [np.flatnonzero(self.groups == g) for g in range(len(self.group_labels))]
        return self._prep["gidx"]

    def bins(self) -> list[tuple[int, int]]:
        """(bin width, number of bins) of the rank histogram per peer group."""
        out = []
        for idx in self.group_index():
            size = max(len(idx), 1)
            b = -(-size // self.max_bins) if size > self.max_bins else 1
            out.append((b, -(-size // b)))
        return out

    def group_slices(self) -> list[slice]:
        """Units are stored sorted by peer group (see :func:`make_design`): one slice per group."""
        out = []
        for idx in self.group_index():
            if idx.size and idx[-1] - idx[0] + 1 != idx.size:
                raise QlworkError(Problem("unsorted_groups", "设计矩阵中的单位须按同类组排列",
                                          "design units must be sorted by peer group"))
            out.append(slice(int(idx[0]), int(idx[-1]) + 1) if idx.size else slice(0, 0))
        return out

    def patterns(self, v: int):
        """Availability patterns of variant ``v``: list of (row segments, leaf mask, filled X, filled log X).

        Row segments are slices where the pattern's rows are contiguous (the
        usual case, units being sorted by group and pattern) so scores are
        written straight into the draws × units matrix.
        """
        key = ("pat", v)
        if key not in self._prep:
            X = self.variants[v]
            avail = ~np.isnan(X)
            pats, inv = pattern_ids(avail)
            out = []
            for p in range(pats.shape[0]):
                rows = np.flatnonzero(inv == p)
                brk = np.flatnonzero(np.diff(rows) != 1) + 1
                starts = np.concatenate([[0], brk])
                ends = np.concatenate([brk, [rows.size]])
                if starts.size <= 64:
                    segs = [slice(int(rows[a]), int(rows[b - 1]) + 1) for a, b in zip(starts, ends)]
                    parts = [(sg, np.s_[a:b]) for sg, a, b in zip(segs, starts, ends)]
                else:
                    parts = [(rows, np.s_[:])]
                xf = np.where(avail[rows], X[rows], 0.0)
                out.append((parts, pats[p], np.ascontiguousarray(xf.T), _LazyLog(xf, self.eps)))
            self._prep[key] = out
        return self._prep[key]


class _LazyLog:
    """log(max(x, ε))ᵀ of a pattern's rows, computed on first use (only geometric aggregation needs it)."""

    __slots__ = ("_x", "_eps", "_v")

    def __init__(self, x: np.ndarray, eps: float):
        self._x, self._eps, self._v = x, eps, None

    def get(self) -> np.ndarray:
        if self._v is None:
            self._v = np.ascontiguousarray(np.log(np.maximum(self._x, self._eps)).T)
            self._x = None
        return self._v


def pattern_ids(avail: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique rows of a boolean matrix and each row's pattern number (fast: rows packed to bytes)."""
    packed = np.packbits(avail, axis=1)
    view = np.ascontiguousarray(packed).view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, inv = np.unique(view, return_index=True, return_inverse=True)
    return avail[first], np.asarray(inv).reshape(-1)


def _weights(design: Design, local: np.ndarray, mask: np.ndarray, loo: np.ndarray):
    """Internal and public leaf weights (draws × leaves) for one availability pattern.

    Internal: the framework without its public indicators, effective weights
    renormalised within nodes (:func:`qlwork.engine.aggregate.effective_weights`).
    Public (``public_mode="indicators"``): the public indicators' global leaf
    weights renormalised over the available ones (as :mod:`qlwork.engine.index`).
    """
    hier = design.hier
    K = len(hier.leaves)
    avail = np.broadcast_to(mask, (local.shape[0], K)).copy()
    drop = loo >= 0
    if drop.any():
        avail[np.flatnonzero(drop), loo[drop]] = False
    w_int = hier.effective(local, avail & ~hier.public)
    w_pub = None
    if design.public_mode == "indicators" and hier.public.any():
        lw = hier.leaf_from_local(local) * (avail & hier.public)
        tot = lw.sum(axis=1, keepdims=True)
        w_pub = np.divide(lw, tot, out=np.zeros_like(lw), where=tot > 0)
    return w_int, w_pub


def scores_for(design: Design, local: np.ndarray, choices: dict[str, np.ndarray], methods: Methods,
               out: np.ndarray | None = None) -> np.ndarray:
    """Scores (draws × units) for local weights (draws × items) and per-draw method picks.

    Per availability pattern: internal = ``W_int Xᵀ`` (arithmetic) or
    ``exp(W_int log(max(X, ε))ᵀ)`` (geometric, ε = ``design.eps``); public the
    same with the public weights (or a fixed column); total = ``(1 − s)·internal
    + s·public`` where a public score exists, else internal (qlwork.engine.index §7).
    For arithmetic aggregation with indicator-based public scores this is one
    product with the mixed weights ``(1 − s) W_int + s W_pub``.
    """
    n = local.shape[0]
    S = np.empty((n, design.n_units)) if out is None else out
    combos = np.stack([choices["variant"], choices["aggregation"]], axis=1)
    ar_units = np.arange(design.n_units)
    for v, a in np.unique(combos, axis=0):
        cols = np.flatnonzero((combos[:, 0] == v) & (combos[:, 1] == a))
        agg = methods.aggregations[a]
        allcols = cols.size == n
        share = choices["share"][cols][:, None]
        for parts, mask, xfT, xlT in design.patterns(int(v)):
            w_int, w_pub = _weights(design, local[cols], mask, choices["loo"][cols])
            M = xfT if agg == "arithmetic" else xlT.get()
            hp = None if w_pub is None else ((w_pub.sum(axis=1) > 0) & (w_int.sum(axis=1) > 0))[:, None]
            if agg == "arithmetic" and design.public_mode != "fixed":
                W = w_int if hp is None else np.where(hp, (1.0 - share) * w_int + share * w_pub, w_int)
                if allcols and len(parts) == 1 and isinstance(parts[0][0], slice):  # the pattern's only segment
                    np.matmul(W, M, out=S[:, parts[0][0]])  # one contiguous segment: write in place
                    continue
                block = W @ M
            else:
                block = W_int_scores = w_int @ M
                if agg != "arithmetic":
                    np.exp(W_int_scores, out=W_int_scores)
                if hp is not None:
                    pub = w_pub @ M
                    if agg != "arithmetic":
                        np.exp(pub, out=pub)
                    block = np.where(hp, (1.0 - share) * block + share * pub, block)
            for rows, sub in parts:
                blk = block[:, sub]
                if design.public_mode == "fixed" and design.public_values is not None:
                    pv = design.public_values[rows]
                    blk = np.where(np.isnan(pv)[None, :], blk, (1.0 - share) * blk + share * pv[None, :])
                if allcols:
                    S[:, rows] = blk
                else:
                    S[np.ix_(cols, ar_units[rows])] = blk
    if design.bonus is not None:
        S += design.bonus[None, :]
    return S


def _grades(grades) -> tuple[tuple[str, ...], np.ndarray]:
    if isinstance(grades, Mapping):
        grades = list(grades.items())
    g = sorted(((str(k), float(v)) for k, v in grades), key=lambda t: -t[1])
    labels = tuple(k for k, _ in g)
    cuts = np.array([v for _, v in g[:-1]], dtype=float)
    return labels, cuts


def make_design(framework: Framework | Any, normalized: pd.DataFrame | Mapping[str, pd.DataFrame], *,
                groups: pd.Series | None = None, grades=None, bottom_n: int | None = None,
                aggregation: str = "arithmetic", social_share: float | None = None,
                public: pd.Series | None = None, eps: float = 1.0,
                weights: pd.Series | Mapping[str, float] | None = None, max_bins: int = 1024,
                pairs: Sequence[tuple[str, str]] | None = None, grade_cap: pd.Series | None = None,
                bonus: pd.Series | None = None, decimals: int = 6, bottom_min_group: int | None = None) -> Design:
    """Arrays for the engine.

    ``normalized``: units × indicators (index unit_id), 0–100, NaN = not
    applicable/missing — or a mapping label → such table for normalisation /
    imputation variants (first = nominal).  ``groups``: peer group per unit
    (default: one group).  ``grades``: {label: lower bound} or pairs (default
    the framework's).  ``weights``: local weights replacing the framework's
    (ids of nodes/indicators; sibling groups renormalised).  ``grade_cap``:
    per unit the best grade it may get (veto), or NaN.  ``bonus``: points added after
    aggregation (NaN = 0).  ``decimals``: published precision (ranks and grades compare
    published scores; 6 = the 1e-6 float-noise grid).  ``pairs``:
    (unit a, unit b) tuples, or a list of unit ids meaning every pair among
    them — the result then carries their rank-reversal probabilities.
    ``social_share``: default the framework's; ``public``: fixed public scores
    per unit (0–100, NaN = none) replacing the public indicators (as the
    ``public=`` argument of :func:`qlwork.engine.index.compute_index`).  Scores follow
    qlwork.engine.index: internal tree without public indicators, total =
    (1 − s)·internal + s·public.
    """
    fw = load_framework(framework)
    if weights is not None:
        fw = fw.with_weights(dict(pd.Series(weights, dtype=float)))
    hier = Hierarchy.from_framework(fw)
    variants = dict(normalized) if isinstance(normalized, Mapping) else {"nominal": normalized}
    first = next(iter(variants.values()))
    unit_ids = np.asarray(first.index.astype(str), dtype=object)
    missing = [i for i in hier.leaves if i not in first.columns]
    if missing:
        raise QlworkError(Problem("missing_indicators", f"标准化数据缺少指标列：{missing}",
                                  "normalised data lacks indicator columns", found=missing,
                                  expected=list(hier.leaves)))
    if groups is None:
        gs = pd.Series("全部", index=first.index.astype(str))
    else:
        gs = pd.Series(groups).copy()
        gs.index = gs.index.astype(str)
        gs = gs.reindex(unit_ids)
        if gs.isna().any():
            bad = list(gs.index[gs.isna()][:10])
            raise QlworkError(Problem("missing_peer_group", f"{int(gs.isna().sum())} 个单位缺少同类组",
                                      "units without a peer group", found=bad))
    cat = pd.Categorical(gs.astype(str))
    codes0 = np.asarray(cat.codes, dtype=np.intp)
    labels = tuple(str(c) for c in cat.categories)
    raw = [np.ascontiguousarray(df.reindex(index=first.index, columns=list(hier.leaves)).to_numpy(dtype=float))
           for df in variants.values()]
    # store units sorted by (peer group, availability pattern): groups and patterns become slices
    pat = pattern_ids(~np.isnan(raw[0]))[1]
    perm = np.lexsort((np.arange(len(unit_ids)), pat, codes0))
    input_order = np.empty_like(perm)
    input_order[perm] = np.arange(perm.size)
    mats = [np.ascontiguousarray(m[perm]) for m in raw]
    codes = codes0[perm]
    unit_ids = unit_ids[perm]
    glabels, cuts = _grades(grades if grades is not None else fw.grades)
    pos = {u: k for k, u in enumerate(unit_ids)}
    pair_arr = None
    if pairs is not None and len(pairs) and all(isinstance(p, str) for p in pairs):
        pairs = list(itertools.combinations(list(dict.fromkeys(pairs)), 2))  # a set of units → all its pairs
    if pairs:
        bad = [p for p in pairs if p[0] not in pos or p[1] not in pos]
        if bad:
            raise QlworkError(Problem("unknown_unit", f"比较的单位不存在：{bad[:5]}", "pair names unknown units", found=bad[:5]))
        pair_arr = np.array([[pos[a], pos[b]] for a, b in pairs], dtype=np.intp)
    pub_vals = None
    if public is not None:
        pv = pd.Series(public, dtype=float).copy()
        pv.index = pv.index.astype(str)
        pub_vals = pv.reindex(unit_ids).to_numpy(dtype=float)
    cap = None
    if grade_cap is not None:
        fg = pd.Series(grade_cap)
        fg.index = fg.index.astype(str)
        fg = fg.reindex(unit_ids)  # design (sorted) order
        gpos = {g: k for k, g in enumerate(glabels)}
        cap = np.array([gpos.get(v, -1) if isinstance(v, str) else -1 for v in fg], dtype=np.int8)
    bon = None
    if bonus is not None:
        b = pd.Series(bonus, dtype=float).copy()
        b.index = b.index.astype(str)
        bon = b.reindex(unit_ids).fillna(0.0).to_numpy(dtype=float)
    return Design(hier=hier, variants=tuple(mats), variant_labels=tuple(variants), groups=codes, group_labels=labels,
                  unit_ids=unit_ids, center=hier.center, grade_labels=glabels, grade_cuts=cuts,
                  bottom_n=int(fw.bottom_n if bottom_n is None else bottom_n), nominal_aggregation=aggregation,
                  nominal_share=float(fw.social_share if social_share is None else social_share),
                  public_mode="fixed" if pub_vals is not None else "indicators", public_values=pub_vals, eps=float(eps), max_bins=int(max_bins), grade_cap=cap, pairs=pair_arr, bonus=bon,
                  decimals=int(decimals), bottom_min_group=bottom_min_group,
                  input_order=input_order)


def build_design(hier: Hierarchy, X: np.ndarray, *, row_ids, groups: np.ndarray, group_labels, grades,
                 bottom_n: int = 3, aggregation: str = "arithmetic", social_share: float = 0.0,
                 public_mode: str = "indicators", public_values: np.ndarray | None = None, eps: float = 1.0,
                 grade_cap: np.ndarray | None = None, bonus: np.ndarray | None = None, decimals: int = 6,
                 bottom_min_group: int | None = None, max_bins: int = 1024) -> Design:
    """A design from arrays in the caller's row order (rows may be (period, unit) pairs).

    Rows are stored sorted by (group, availability pattern); ``Design.input_order``
    maps the caller's row r to its design position.
    """
    X = np.asarray(X, dtype=float)
    pat = pattern_ids(~np.isnan(X))[1]
    codes0 = np.asarray(groups, dtype=np.intp)
    perm = np.lexsort((np.arange(len(X)), pat, codes0))
    input_order = np.empty_like(perm)
    input_order[perm] = np.arange(perm.size)
    glabels, cuts = _grades(grades)

    def take(a, dtype=float):
        return None if a is None else np.ascontiguousarray(np.asarray(a, dtype=dtype)[perm])

    return Design(hier=hier, variants=(np.ascontiguousarray(X[perm]),), variant_labels=("nominal",),
                  groups=codes0[perm], group_labels=tuple(group_labels), unit_ids=np.asarray(row_ids, dtype=object)[perm],
                  center=hier.center, grade_labels=glabels, grade_cuts=cuts, bottom_n=int(bottom_n),
                  nominal_aggregation=aggregation, nominal_share=float(social_share), public_mode=public_mode,
                  public_values=take(public_values), eps=float(eps), max_bins=int(max_bins),
                  grade_cap=take(grade_cap, np.int8), bonus=take(bonus), decimals=int(decimals),
                  bottom_min_group=bottom_min_group, input_order=input_order)


def nominal_choices(design: Design, n: int = 1) -> dict[str, np.ndarray]:
    """Method picks of the nominal run: first variant, nominal aggregation and share, nothing left out."""
    return {"variant": np.zeros(n, int), "aggregation": np.zeros(n, int), "loo": np.full(n, -1),
            "share": np.full(n, float(design.nominal_share))}


def nominal_scores(design: Design, local: np.ndarray | None = None) -> np.ndarray:
    """Totals (design order) at the centre weights, or at ``local`` (items,) for a what-if."""
    m = Methods(aggregations=(design.nominal_aggregation,), social_share=design.nominal_share)
    w = design.center if local is None else np.asarray(local, dtype=float)
    return scores_for(design, w[None, :], nominal_choices(design), m)[0].copy()


def published(S: np.ndarray, decimals: int) -> np.ndarray:
    """Published scores (floats): half-up to ``decimals`` on the 1e-6 grid; NaN stays NaN."""
    u = publish_units(S, decimals)
    return u / 10.0 ** decimals
