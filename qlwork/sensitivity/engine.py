"""Vectorised Monte Carlo engine: scores for a chunk of draws as matrix products,
ranks per peer group per draw, and streaming (additive, integer) summaries.

Shapes: ``X`` units × indicators (normalised 0–100, NaN = not available),
local weights draws × items, effective leaf weights draws × indicators per
availability pattern, scores units × draws.  Memory is bounded by the chunk
size: only integer counters (rank histograms, grade counts, bottom-N counts,
rank-shift sums) survive a chunk, and they add up exactly, so the result does
not depend on the chunking or on which worker computed which chunk.

Ranking: within each peer group, rank = 1 + number of peers with a strictly
higher score (ties share the best rank, pandas ``method="min"``).  Scores are
compared on a 1e-6-point grid (``SCORE_RESOLUTION``: scores rounded half-to-even
to 6 decimals, exactly :func:`qlwork.engine.grading.on_grid`, the rule ``compute_index``
grades and ranks by) so that floating-point noise from BLAS never splits a genuine
tie and the nominal ranks and grades here equal the index engine's; the grid is
recorded in ``params``.
The sort packs (quantised score, unit position) into one uint64 key so one
SIMD sort per draw yields both the order and the ties.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import Problem, QlworkError
from . import kernels
from .draws import BLOCK, Hierarchy, WeightModel, sample

__all__ = ["Design", "Methods", "Accumulator", "Workspace", "grade_index", "nominal", "SCORE_RESOLUTION", "method_choices", "process_range",
           "scores_for", "rank_matrix"]

from ..engine.grading import SCORE_DECIMALS

#: 1 / SCORE_RESOLUTION as an exact float: s·10⁶ then rint is what np.round(s, 6) does.
SCORE_SCALE = float(10 ** SCORE_DECIMALS)
SCORE_RESOLUTION = 1.0 / SCORE_SCALE


class Workspace:
    """Reusable scratch arrays for one worker.

    Large temporaries are re-used from chunk to chunk: on Linux a freshly
    allocated 100 MB array costs more in page faults than the arithmetic done
    in it.  One workspace per thread; drop it after the run to free memory.
    """

    def __init__(self):
        self._a: dict = {}

    def get(self, name: str, shape: tuple, dtype) -> np.ndarray:
        dtype = np.dtype(dtype)
        need = int(np.prod(shape)) * dtype.itemsize
        buf = self._a.get(name)
        if buf is None or buf.nbytes < need:
            buf = np.empty(need, dtype=np.uint8)
            self._a[name] = buf
        return buf[:need].view(dtype).reshape(shape)


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
    forced_grade: np.ndarray | None = None  # per unit grade index forced (veto) or -1
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
                xl = np.log(np.maximum(xf, self.eps))
                out.append((parts, pats[p], np.ascontiguousarray(xf.T), np.ascontiguousarray(xl.T)))
            self._prep[key] = out
        return self._prep[key]


def pattern_ids(avail: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique rows of a boolean matrix and each row's pattern number (fast: rows packed to bytes)."""
    packed = np.packbits(avail, axis=1)
    view = np.ascontiguousarray(packed).view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, inv = np.unique(view, return_index=True, return_inverse=True)
    return avail[first], np.asarray(inv).reshape(-1)


def method_choices(methods: Methods, design: Design, seed: int, start: int, n: int) -> dict[str, np.ndarray]:
    """Per-draw method picks for draws start … start+n−1 (chunking-independent)."""
    b0, b1 = start // BLOCK, (start + n - 1) // BLOCK + 1
    cols = []
    for b in range(b0, b1):
        rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(int(b), 1)))
        cols.append(rng.random((BLOCK, 4)))
    u = np.concatenate(cols)[start - b0 * BLOCK: start - b0 * BLOCK + n]
    nv, na, K = len(design.variants), len(methods.aggregations), len(design.hier.leaves)
    out = {
        "variant": np.minimum((u[:, 0] * nv).astype(int), nv - 1),
        "aggregation": np.minimum((u[:, 1] * na).astype(int), na - 1),
        "loo": (np.minimum((u[:, 3] * (K + 1)).astype(int), K) - 1) if methods.leave_one_out else np.full(n, -1),
    }
    rng_s = methods.share_range
    out["share"] = (rng_s[0] + (rng_s[1] - rng_s[0]) * u[:, 2]) if rng_s is not None \
        else np.full(n, float(design.nominal_share))
    return out


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
            M = xfT if agg == "arithmetic" else xlT
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
    return S


def rank_matrix(Sg: np.ndarray, ws: Workspace | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Ranks within one peer group for every draw.

    ``Sg`` is draws × units.  Returns (order, rank) both draws × units: ``order``
    the unit positions from best to worst and ``rank[d, k]`` the ('min') rank of
    unit ``order[d, k]``.  Key = 2³¹ − rint(s/r) (r = SCORE_RESOLUTION, so higher
    scores sort first) in the high 32 bits, unit position in the low 32 bits:
    one sort per draw gives both the order and the ties.
    """
    ws = ws if ws is not None else Workspace()
    n, G = Sg.shape
    buf = ws.get("rk_buf", (n, G), np.float64)
    np.multiply(Sg, -SCORE_SCALE, out=buf)
    np.rint(buf, out=buf)
    buf += float(1 << 31)
    np.clip(buf, 0.0, float((1 << 32) - 1), out=buf)
    key = ws.get("rk_key", (n, G), np.uint64)
    np.copyto(key, buf, casting="unsafe")
    key <<= np.uint64(32)
    key |= np.arange(G, dtype=np.uint64)
    key.sort(axis=1)
    order = ws.get("rk_order", (n, G), np.intp)
    np.bitwise_and(key, np.uint64(0xFFFFFFFF), out=order.view(np.uint64))
    key >>= np.uint64(32)
    rank = ws.get("rk_rank", (n, G), np.intp)
    if G:
        new = ws.get("rk_new", (n, G), np.bool_)
        new[:, 0] = True
        np.not_equal(key[:, 1:], key[:, :-1], out=new[:, 1:])
        np.multiply(new, np.arange(1, G + 1, dtype=np.intp), out=rank)
        np.maximum.accumulate(rank, axis=1, out=rank)
    return order, rank


@dataclass
class Accumulator:
    """Additive integer summaries over draws (merge by :meth:`add`)."""

    n: int
    hist: list  # per group: (units × bins) int64 rank histogram
    grade: np.ndarray  # units × grades
    bottom: np.ndarray  # units
    shift: np.ndarray  # units: sum |rank − nominal rank|
    reversal: np.ndarray  # pairs: draws whose order differs from the nominal order
    variant_count: np.ndarray

    @classmethod
    def empty(cls, design: Design) -> "Accumulator":
        hist = [np.zeros((len(idx), nb), dtype=np.int32) for idx, (_, nb) in zip(design.group_index(), design.bins())]
        npairs = 0 if design.pairs is None else len(design.pairs)
        return cls(0, hist, np.zeros((design.n_units, len(design.grade_labels)), dtype=np.int64),
                   np.zeros(design.n_units, dtype=np.int64), np.zeros(design.n_units, dtype=np.int64),
                   np.zeros(npairs, dtype=np.int64), np.zeros(len(design.variants), dtype=np.int64))

    def add(self, other: "Accumulator") -> "Accumulator":
        self.n += other.n
        for a, b in zip(self.hist, other.hist):
            a += b
        self.grade += other.grade
        self.bottom += other.bottom
        self.shift += other.shift
        self.reversal += other.reversal
        self.variant_count += other.variant_count
        return self


def grade_index(design: Design, S: np.ndarray, ws: Workspace | None = None) -> np.ndarray:
    """Grade position (0 = best) of each score: number of cut-offs its on-grid value falls below.

    The score is first rounded to the 1e-6 grid (``np.rint(s·10⁶)/10⁶`` = ``qlwork.engine.grading.on_grid``),
    so a unit whose score is 89.99999999999999 from float noise gets the 90-point grade, as in
    ``compute_index``.
    """
    ws = ws if ws is not None else Workspace()
    g = ws.get("gr_g", S.shape, np.int8)
    g[...] = 0
    tmp = ws.get("gr_b", S.shape, np.bool_)
    Sq = ws.get("gr_q", S.shape, np.float64)
    np.multiply(S, SCORE_SCALE, out=Sq)
    np.rint(Sq, out=Sq)
    Sq /= SCORE_SCALE
    for c in design.grade_cuts:
        np.less(Sq, c, out=tmp)
        g += tmp
    if design.forced_grade is not None:
        f = np.flatnonzero(design.forced_grade >= 0)
        if f.size:
            g[:, f] = design.forced_grade[f][None, :]
    return g


def nominal(design: Design, methods: Methods) -> tuple[np.ndarray, np.ndarray]:
    """Nominal scores and ranks (first variant, nominal aggregation and share, centre weights)."""
    ws = Workspace()
    nom_methods = Methods(aggregations=(design.nominal_aggregation,), social_share=design.nominal_share)
    ch = {"variant": np.zeros(1, int), "aggregation": np.zeros(1, int), "loo": np.full(1, -1),
          "share": np.full(1, float(design.nominal_share))}
    S = scores_for(design, design.center[None, :], ch, nom_methods)[0].copy()
    rank = np.zeros(design.n_units, dtype=np.int64)
    for sl in design.group_slices():
        if sl.stop > sl.start:
            order, r = rank_matrix(S[None, sl], ws)
            rank[sl][order[0]] = r[0]
    return S, rank


def process_range(design: Design, model: WeightModel, methods: Methods, seed: int, start: int, n: int,
                  nominal_rank: np.ndarray, nominal_score: np.ndarray, ws: Workspace | None = None,
                  into: Accumulator | None = None) -> Accumulator:
    """Draws start … start+n−1 → an :class:`Accumulator` (pure; safe on any worker).

    ``into``: add to this accumulator instead of a new one (one per thread).
    """
    ws = ws if ws is not None else Workspace()
    local = sample(model, seed, n, design.hier, design.center, start=start)
    ch = method_choices(methods, design, seed, start, n)
    S = scores_for(design, local, ch, methods, out=ws.get("S", (n, design.n_units), np.float64))
    acc = Accumulator.empty(design) if into is None else into
    acc.n += n
    acc.variant_count += np.bincount(ch["variant"], minlength=len(design.variants))
    fast = kernels.available()
    if fast:  # grades are counted in the key kernel, group by group
        forced = design.forced_grade if design.forced_grade is not None else np.full(design.n_units, -1, np.int8)
        cuts = np.ascontiguousarray(design.grade_cuts, dtype=np.float64)
    else:
        gi = grade_index(design, S, ws)
        eq = ws.get("gr_b", S.shape, np.bool_)
        for k in range(len(design.grade_labels)):
            np.equal(gi, k, out=eq)
            acc.grade[:, k] += eq.sum(axis=0)
    if design.pairs is not None and len(design.pairs):
        i, j = design.pairs[:, 0], design.pairs[:, 1]
        sign0 = np.sign(nominal_score[i] - nominal_score[j])[None, :]
        d = S[:, i] - S[:, j]
        flipped = np.where(sign0 == 0, d != 0, np.sign(d) != sign0)
        acc.reversal += flipped.sum(axis=0)
    ar = np.arange(n)[:, None]
    for g, (sl, (b, nb)) in enumerate(zip(design.group_slices(), design.bins())):
        G = sl.stop - sl.start
        if G == 0:
            continue
        if fast:
            keys = ws.get("rk_key", (n, G), np.uint64)
            kernels.make_keys(S[:, sl], SCORE_SCALE, keys, cuts, forced[sl], acc.grade[sl])
            keys.sort(axis=1)
            m = max(8, min(n, (2 << 20) // (4 * G)))  # rank block ≈ 2 MB (cache-resident)
            tmp = ws.get("rk_tmp", (G, m), np.int32)
            kernels.scan_ranks(keys, nominal_rank[sl], int(b), int(design.bottom_n), acc.hist[g], acc.shift[sl],
                               acc.bottom[sl], tmp)
            continue
        order, rank = rank_matrix(S[:, sl], ws)
        # bottom N as qlwork.engine.grading.bottom_n_mask: fewer than N peers score strictly lower,
        # i.e. the unit's tie run reaches the last N positions: rank ≥ rank at position G − N
        if design.bottom_n > 0:
            nb_ = min(design.bottom_n, G)
            tail = rank >= rank[:, G - nb_][:, None]
            acc.bottom[sl] += np.bincount(order[tail], minlength=G)
        R = ws.get("R", (G, n), np.intp)  # unit-major ranks (cache-friendly histogram)
        R[order, ar] = rank
        T = ws.get("T", (G, n), np.intp)
        np.subtract(R, nominal_rank[sl][:, None], out=T)
        np.abs(T, out=T)
        acc.shift[sl] += T.sum(axis=1)
        R -= 1
        if b > 1:
            R //= b
        h = acc.hist[g]
        step = max(1, (1 << 22) // max(nb, 1))  # units per bincount slice (bounded temporary)
        for s0 in range(0, G, step):
            blk = R[s0: s0 + step]
            m = blk.shape[0]
            blk += (np.arange(m, dtype=np.intp) * nb)[:, None]
            h[s0: s0 + m] += np.bincount(blk.ravel(), minlength=m * nb).reshape(m, nb)
    return acc
