"""Distribute draw chunks over a Dask cluster.

Each chunk is a pure function of (design, model, methods, seed, start, n), so
workers need only the design (scattered once, broadcast) and the chunk
boundaries; the integer summaries they return are summed on the client.
Because each draw's randomness depends only on (seed, draw index) and the sums
are of integers, the result equals the single-machine result exactly.
"""
from __future__ import annotations

from .engine import process_range

__all__ = ["run_on_client"]


def run_on_client(client, design, model, methods, seed, ranges, nominal_rank, nominal_score, acc):
    """Compute every (start, n) range on ``client``'s workers and add into ``acc``."""
    from dask.distributed import as_completed

    d = client.scatter(design, broadcast=True)
    nr = client.scatter(nominal_rank, broadcast=True)
    ns = client.scatter(nominal_score, broadcast=True)
    futs = [client.submit(process_range, d, model, methods, seed, s, n, nr, ns, pure=False) for s, n in ranges]
    for fut in as_completed(futs):
        acc.add(fut.result())
        fut.release()
    return acc
