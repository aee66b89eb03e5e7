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
compared as *published* scores (:func:`qlwork.engine.grading.publish_units`:
snapped to the 1e-6 grid, then rounded half-up to ``Design.decimals``), the rule
``compute_index`` grades and ranks by, so floating-point noise from BLAS never
splits a genuine tie, two units published at the same score are tied in every
draw, and the nominal ranks and grades here equal the official ones.  The
scores themselves come from :func:`qlwork.engine.scorer.scores_for`, the one scorer.
The sort packs (quantised score, unit position) into one uint64 key so one
SIMD sort per draw yields both the order and the ties.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine.scorer import Design, Methods, nominal_choices, pattern_ids, scores_for
from . import kernels
from .draws import BLOCK, WeightModel, sample

__all__ = ["Design", "Methods", "Accumulator", "Workspace", "grade_index", "nominal", "method_choices", "process_range",
           "scores_for", "rank_matrix", "pattern_ids", "published_keys"]


def published_keys(S: np.ndarray, step: int, out: np.ndarray) -> np.ndarray:
    """Published units ⌊(rint(S·10⁶) + step/2) / step⌋ into the float buffer ``out`` (in place, no temporaries)."""
    np.multiply(S, 1e6, out=out)
    np.rint(out, out=out)
    if step > 1:
        out += step / 2.0
        out /= float(step)
        np.floor(out, out=out)
    return out


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


def rank_matrix(Sg: np.ndarray, ws: Workspace | None = None, step: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Ranks within one peer group for every draw.

    ``Sg`` is draws × units.  Returns (order, rank) both draws × units: ``order``
    the unit positions from best to worst and ``rank[d, k]`` the ('min') rank of
    unit ``order[d, k]``.  Key = 2³¹ − published units (``step`` micro-points per
    unit, so higher scores sort first) in the high 32 bits, unit position in the
    low 32 bits: one sort per draw gives both the order and the ties.
    """
    ws = ws if ws is not None else Workspace()
    n, G = Sg.shape
    buf = ws.get("rk_buf", (n, G), np.float64)
    published_keys(Sg, step, buf)
    np.negative(buf, out=buf)
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
    """Grade position (0 = best) of each score: number of cut-offs its published score falls below.

    Published as in :func:`qlwork.engine.grading.assign_grades` (half-up to
    ``design.decimals`` on the 1e-6 grid); a vetoed unit's grade is capped at
    ``design.grade_cap`` (its position can only get worse, never better).
    """
    ws = ws if ws is not None else Workspace()
    g = ws.get("gr_g", S.shape, np.int8)
    g[...] = 0
    tmp = ws.get("gr_b", S.shape, np.bool_)
    Sq = ws.get("gr_q", S.shape, np.float64)
    published_keys(S, design.step, Sq)
    for c in design.cut_units:
        np.less(Sq, float(c), out=tmp)
        g += tmp
    if design.grade_cap is not None:
        f = np.flatnonzero(design.grade_cap >= 0)
        if f.size:
            g[:, f] = np.maximum(g[:, f], design.grade_cap[f][None, :])
    return g


def nominal(design: Design, methods: Methods) -> tuple[np.ndarray, np.ndarray]:
    """Nominal scores and ranks (first variant, nominal aggregation and share, centre weights)."""
    ws = Workspace()
    nom_methods = Methods(aggregations=(design.nominal_aggregation,), social_share=design.nominal_share)
    S = scores_for(design, design.center[None, :], nominal_choices(design), nom_methods)[0].copy()
    rank = np.zeros(design.n_units, dtype=np.int64)
    for sl in design.group_slices():
        if sl.stop > sl.start:
            order, r = rank_matrix(S[None, sl], ws, design.step)
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
        cap = design.grade_cap if design.grade_cap is not None else np.full(design.n_units, -1, np.int8)
        cuts = np.ascontiguousarray(design.cut_units, dtype=np.float64)
    else:
        gi = grade_index(design, S, ws)
        eq = ws.get("gr_b", S.shape, np.bool_)
        for k in range(len(design.grade_labels)):
            np.equal(gi, k, out=eq)
            acc.grade[:, k] += eq.sum(axis=0)
    if design.pairs is not None and len(design.pairs):
        i, j = design.pairs[:, 0], design.pairs[:, 1]
        # orders of published scores: two units published at the same score are tied, not swapped
        nom = published_keys(nominal_score, design.step, np.empty_like(nominal_score))
        sign0 = np.sign(nom[i] - nom[j])[None, :]
        Si = published_keys(S[:, i], design.step, np.empty((n, i.size)))
        Sj = published_keys(S[:, j], design.step, np.empty((n, j.size)))
        d = Si - Sj
        flipped = np.where(sign0 == 0, d != 0, np.sign(d) != sign0)
        acc.reversal += flipped.sum(axis=0)
    ar = np.arange(n)[:, None]
    for g, (sl, (b, nb)) in enumerate(zip(design.group_slices(), design.bins())):
        G = sl.stop - sl.start
        if G == 0:
            continue
        if fast:
            keys = ws.get("rk_key", (n, G), np.uint64)
            kernels.make_keys(S[:, sl], design.step, keys, cuts, cap[sl], acc.grade[sl])
            keys.sort(axis=1)
            m = max(8, min(n, (2 << 20) // (4 * G)))  # rank block ≈ 2 MB (cache-resident)
            tmp = ws.get("rk_tmp", (G, m), np.int32)
            kernels.scan_ranks(keys, nominal_rank[sl], int(b), int(design.bottom_n_for(G)), acc.hist[g], acc.shift[sl],
                               acc.bottom[sl], tmp)
            continue
        order, rank = rank_matrix(S[:, sl], ws, design.step)
        # bottom N as qlwork.engine.grading.bottom_n_mask: fewer than N peers score strictly lower,
        # i.e. the unit's tie run reaches the last N positions: rank ≥ rank at position G − N
        bn = design.bottom_n_for(G)
        if bn > 0:
            nb_ = min(bn, G)
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
