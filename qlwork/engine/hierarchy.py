"""Array view of a framework tree: effective weights for every node, vectorised.

Level-by-level aggregation with re-normalised weights (COINr ``Aggregate``: each
parent is the weighted mean of its *available* children, weights re-scaled to
sum to 1 among them) is linear in the leaf scores (arithmetic mean) or in their
logarithms (geometric mean).  Every node's score is therefore one weighted sum
over the leaves below it with *effective weights*

    W[node, leaf] = Π_{items i on the path from leaf up to node, node excluded} ŵ_i,
    ŵ_i = w_i · a_i / Σ_{siblings j} w_j · a_j      (a = 1 if available)

(distributive synthesis, Saaty 1980; OECD/JRC Handbook 2008 §6).  The
:class:`Hierarchy` computes them for any batch of local weights (draws) and
availability patterns at once: the index engine uses one weight set and many
patterns, the Monte Carlo engine many draws per pattern — the same arithmetic.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..framework import Framework

__all__ = ["Hierarchy"]


@dataclass(frozen=True)
class Hierarchy:
    """Array view of a framework tree for vectorised weight arithmetic.

    ``items`` are every non-root node and indicator (column order of local
    weights); ``leaves`` the indicator ids (column order of leaf weights);
    ``groups`` lists, per inner node (bottom-up), the item positions of its
    children; ``path`` (leaves × depth) the item positions from leaf to level 1,
    padded with ``-1``.
    """

    items: tuple[str, ...]
    leaves: tuple[str, ...]
    nodes: tuple[str, ...]  # inner nodes, bottom-up (root last)
    groups: tuple[np.ndarray, ...]  # per node in `nodes`: child item positions
    group_item: np.ndarray  # per node in `nodes`: its own item position (-1 for root)
    path: np.ndarray
    leaf_item: np.ndarray  # item position of each leaf
    center: np.ndarray  # nominal local weights (items,)
    public: np.ndarray  # bool (leaves,): survey-based indicators

    @classmethod
    def from_framework(cls, fw: Framework) -> "Hierarchy":
        items = [i for i in fw.depth_first() if i != fw.root]
        pos = {k: n for n, k in enumerate(items)}
        leaves = [i for i in items if i in fw.indicators]
        nodes = fw.bottom_up_nodes()
        groups = tuple(np.array([pos[c] for c in fw.nodes[n].children], dtype=np.intp) for n in nodes)
        group_item = np.array([pos.get(n, -1) for n in nodes], dtype=np.intp)
        depth = 0
        paths = []
        for leaf in leaves:
            p, cur = [], leaf
            while cur != fw.root:
                p.append(pos[cur])
                cur = fw.item(cur).parent
            paths.append(p)
            depth = max(depth, len(p))
        path = np.full((len(leaves), depth), -1, dtype=np.intp)
        for r, p in enumerate(paths):
            path[r, : len(p)] = p
        lw = fw.local_weights()
        center = np.array([float(lw[i]) for i in items])
        public = np.array([fw.indicators[i].public for i in leaves], dtype=bool)
        return cls(tuple(items), tuple(leaves), tuple(nodes), groups, group_item, path,
                   np.array([pos[i] for i in leaves], dtype=np.intp), center, public)

    # ------------------------------------------------------------ arithmetic
    def normalize_local(self, local: np.ndarray) -> np.ndarray:
        """Rescale every sibling group of ``local`` (…, items) to sum to 1."""
        out = np.array(local, dtype=float, copy=True)
        for g in self.groups:
            s = out[..., g].sum(axis=-1, keepdims=True)
            out[..., g] = np.divide(out[..., g], s, out=np.zeros_like(out[..., g]), where=s > 0)
        return out

    def leaf_from_local(self, local: np.ndarray) -> np.ndarray:
        """Distributive synthesis: leaf weight = product of local weights on its path."""
        local = np.asarray(local, dtype=float)
        ext = np.concatenate([local, np.ones(local.shape[:-1] + (1,))], axis=-1)  # index -1 → 1
        out = np.ones(local.shape[:-1] + (len(self.leaves),))
        for d in range(self.path.shape[1]):
            out *= ext[..., self.path[:, d]]
        return out

    def local_from_leaf(self, leaf: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`leaf_from_local`: node mass = sum of its leaves; local = child/parent mass."""
        leaf = np.asarray(leaf, dtype=float)
        mass = np.zeros(leaf.shape[:-1] + (len(self.items),))
        mass[..., self.leaf_item] = leaf
        for n, g in enumerate(self.groups):
            it = self.group_item[n]
            if it >= 0:
                mass[..., it] = mass[..., g].sum(axis=-1)
        return self.normalize_local(mass)

    def item_available(self, leaf_avail: np.ndarray, local: np.ndarray | None = None) -> np.ndarray:
        """Item availability (…, items) from leaf availability (…, leaves).

        A node is available when any child is available with positive weight.
        """
        leaf_avail = np.asarray(leaf_avail, dtype=bool)
        shape = leaf_avail.shape[:-1] if local is None else np.broadcast_shapes(leaf_avail.shape[:-1], local.shape[:-1])
        av = np.zeros(shape + (len(self.items),), dtype=bool)
        av[..., self.leaf_item] = leaf_avail
        if local is not None:
            av &= np.asarray(local) > 0
        for n, g in enumerate(self.groups):
            it = self.group_item[n]
            if it >= 0:
                av[..., it] = av[..., g].any(axis=-1) & (True if local is None else (np.asarray(local)[..., it] > 0))
        return av

    def effective(self, local: np.ndarray, leaf_avail: np.ndarray) -> np.ndarray:
        """Effective leaf weights after renormalising within nodes over available items.

        ``local`` (…, items) and ``leaf_avail`` (…, leaves) broadcast; an
        unavailable item's weight is shared among its available siblings in
        proportion to their weights (the index engine's rule).  Rows with no
        available leaf are all zero.
        """
        local = np.asarray(local, dtype=float)
        av = self.item_available(leaf_avail, local)
        eff = np.where(av, local, 0.0)
        return self.leaf_from_local(self.normalize_local(eff))

    def node_effective(self, local: np.ndarray, leaf_avail: np.ndarray) -> np.ndarray:
        """Effective leaf weights of *every* inner node: (…, nodes, leaves), nodes in ``self.nodes`` order.

        Row ``[…, n, :]`` sums to 1 over the available leaves below node ``n``
        (all 0 when none is); the root's row equals :meth:`effective`.
        """
        local = np.asarray(local, dtype=float)
        av = self.item_available(leaf_avail, local)
        norm = self.normalize_local(np.where(av, local, 0.0))
        ext = np.concatenate([norm, np.ones(norm.shape[:-1] + (1,))], axis=-1)  # item -1 → 1
        depth = self.path.shape[1]
        # prefix[…, leaf, d] = Π_{d' ≤ d} ŵ(path[leaf, d'])
        pre = np.cumprod(ext[..., self.path], axis=-1)
        out = np.zeros(norm.shape[:-1] + (len(self.nodes), len(self.leaves)))
        for n, it in enumerate(self.group_item):
            if it < 0:  # root: the full product
                out[..., n, :] = pre[..., depth - 1]
                continue
            # leaves under node n: path[leaf, d + 1] == it → weight = prefix up to d
            for d in range(depth - 1):
                m = self.path[:, d + 1] == it
                if m.any():
                    out[..., n, m] = pre[..., m, d]
        return out
