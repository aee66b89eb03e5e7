"""Recall and false-alarm rate of each detector against planted anomalies (hidden truth).

The truth table (``_truth/anomalies.csv`` of the demo, :mod:`qlwork.demo.monthly`) lists
unit, indicator, kind, first and last month.  On the evaluated months:

* **recall** of a kind for a detector = share of planted events it alerts on —
  ``spike``: the spike month itself; ``level_shift``: any month of the first
  ``window`` months from the onset; ``drift``: any month from the onset to the end;
  ``latent_drop``: any monthly indicator of the unit within ``window`` months of the drop;
  ``joint``: each planted unit-month (the joint detector's alert for the unit, or a cell
  detector's alert on one of the contradicting indicators);
* **false-alarm rate** = alerts on clean cells / clean cells tested, per detector (the
  joint detector on unit-months without any planted anomaly).  A cell is clean when no
  anomaly covers it; the ``common_shock`` cells (a whole peer group moving together)
  are clean, and their alerts are also counted on their own.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .api import MonitorResult
from .base import DETECTOR_ZH, DETECTORS

__all__ = ["Evaluation", "evaluate", "KINDS_ZH"]

KINDS_ZH = {"spike": "单月突变 spike", "level_shift": "水平突变 level shift", "drift": "缓慢漂移 drift",
            "joint": "组合异常 joint", "latent_drop": "潜在水平下降 latent drop"}
ANY = "any"


@dataclass(frozen=True)
class Evaluation:
    """``recall``: kind × detector (n events, detected, recall); ``false_alarms``: per detector
    (tests on clean cells, false alarms, rate); ``by_magnitude``: recall of the history/shift
    detectors by planted size; ``common_shock``: alerts on the cells of normal group-wide moves."""

    recall: pd.DataFrame
    false_alarms: pd.DataFrame
    by_magnitude: pd.DataFrame
    common_shock: pd.DataFrame
    params: dict

    def to_frame(self) -> pd.DataFrame:
        wide = self.recall.pivot(index="kind", columns="detector", values="recall")
        return wide.reindex(columns=[d for d in (*DETECTORS, ANY) if d in wide.columns])

    def to_markdown(self) -> str:
        """The recall and false-alarm tables as Markdown (docs/monitoring.md)."""
        cols = [d for d in (*DETECTORS, ANY) if d in set(self.recall["detector"])]
        head = "| 异常类型 kind | 事件数 n | " + " | ".join(DETECTOR_ZH.get(d, "任一方法 any") + f" `{d}`" for d in cols) + " |"
        lines = [head, "|" + "---|" * (len(cols) + 2)]
        for kind in [k for k in KINDS_ZH if k in set(self.recall["kind"])]:
            r = self.recall[self.recall["kind"] == kind].set_index("detector")
            lines.append(f"| {KINDS_ZH[kind]} | {int(r['n'].iloc[0])} | " + " | ".join(
                f"{r.loc[d, 'recall']:.2f}" if d in r.index else "—" for d in cols) + " |")
        fa = self.false_alarms.set_index("detector")
        lines.append("| **误报率 false-alarm rate** | — | " + " | ".join(
            f"**{fa.loc[d, 'rate']:.2%}**" if d in fa.index else "—" for d in cols) + " |")
        lines.append("| 无异常检验数 clean tests | — | " + " | ".join(
            f"{int(fa.loc[d, 'tests']):,}" if d in fa.index else "—" for d in cols) + " |")
        return "\n".join(lines)


def _index(result: MonitorResult):
    p = result.panel
    return ({u: i for i, u in enumerate(p.unit_ids)}, {k: i for i, k in enumerate(p.indicator_ids)},
            {t: i for i, t in enumerate(p.periods)})


def _on_axis(sc, shape) -> np.ndarray:
    """A detector's tested mask (… × evaluated periods) on the panel's full time axis."""
    out = np.zeros(shape, bool)
    out[..., sc.t_idx] = sc.tested
    return out


def evaluate(result: MonitorResult, truth: pd.DataFrame, *, window: int = 6) -> Evaluation:
    """Score ``result`` (a :func:`~.api.monitor` run over the months of interest) against ``truth``."""
    panel = result.panel
    U, K, T = panel.shape
    ui, ki, ti = _index(result)
    ev = np.zeros(T, bool)
    ev[[ti[t] for t in result.evaluated]] = True
    truth = truth.copy()
    truth["unit_id"] = truth["unit_id"].fillna("").astype(str)
    tr = truth[truth["kind"] != "common_shock"]
    tr = tr[tr["unit_id"].isin(ui) & tr["indicator_id"].isin(ki)]
    anom = np.zeros((U, K, T), bool)
    for r in tr.itertuples():
        anom[ui[r.unit_id], ki[r.indicator_id], ti[r.start]:ti[r.end] + 1] = True
    um_anom = anom.any(axis=1)
    joint_units = set(tr.loc[tr["kind"] == "joint", "unit_id"])
    for u in joint_units:
        um_anom[ui[u]] = True
    # alert flags per detector on the grid
    flags = {d: np.zeros((U, K, T), bool) for d in DETECTORS if d != "joint"}
    jflag = np.zeros((U, T), bool)
    for r in result.alerts.itertuples():
        if r.detector == "joint":
            jflag[ui[r.unit_id], ti[r.period]] = True
        elif r.detector in flags:
            flags[r.detector][ui[r.unit_id], ki[r.indicator_id], ti[r.period]] = True
    flags = {d: f for d, f in flags.items() if d in result.scores}
    cell_any = np.zeros((U, K, T), bool)
    for f in flags.values():
        cell_any |= f
    # false alarms
    fa = []
    tested_any = np.zeros((U, K, T), bool)
    for d, f in flags.items():
        tested = _on_axis(result.scores[d], (U, K, T)) & ev[None, None, :]
        tested_any |= tested
        clean = tested & ~anom
        fa.append({"detector": d, "tests": int(clean.sum()), "false_alarms": int((f & clean).sum())})
    clean = tested_any & ~anom
    fa.append({"detector": ANY, "tests": int(clean.sum()), "false_alarms": int((cell_any & clean).sum())})
    if "joint" in result.scores:
        tj = _on_axis(result.scores["joint"], (U, T)) & ev[None, :]
        cj = tj & ~um_anom
        fa.append({"detector": "joint", "tests": int(cj.sum()), "false_alarms": int((jflag & cj).sum())})
    fa = pd.DataFrame(fa)
    fa["rate"] = fa["false_alarms"] / fa["tests"].where(fa["tests"] > 0)
    # recall
    dets = [*flags, *(["joint"] if "joint" in result.scores else []), ANY]
    rows, mags = [], []
    for kind in ("spike", "level_shift", "drift", "latent_drop"):
        sub = tr[tr["kind"] == kind]
        if kind == "latent_drop":
            sub = sub.drop_duplicates("unit_id")
        events = []
        for r in sub.itertuples():
            u, t0, t1 = ui[r.unit_id], ti[r.start], ti[r.end]
            hi = t0 if kind == "spike" else t1 if kind == "drift" else min(t1, t0 + window - 1)
            span = np.zeros(T, bool)
            span[t0:hi + 1] = True
            span &= ev
            if not span.any():
                continue
            ks = [ki[i] for i in tr.loc[(tr["unit_id"] == r.unit_id) & (tr["kind"] == kind), "indicator_id"]] \
                if kind == "latent_drop" else [ki[r.indicator_id]]
            hit = {d: bool(f[u][ks][:, span].any()) for d, f in flags.items()}
            if "joint" in result.scores:
                hit["joint"] = bool(jflag[u, span].any())
            hit[ANY] = any(hit.values())
            events.append(hit)
            mags.append({"kind": kind, "magnitude_sd": r.magnitude_sd, **hit})
        for d in dets:
            n = len(events)
            k = sum(e.get(d, False) for e in events)
            rows.append({"kind": kind, "detector": d, "n": n, "detected": k, "recall": k / n if n else np.nan})
    # joint: every planted unit-month
    jt = tr[tr["kind"] == "joint"]
    if len(jt):
        hits = {d: 0 for d in dets}
        n = 0
        for u_id, g in jt.groupby("unit_id"):
            u = ui[u_id]
            ks = [ki[i] for i in g["indicator_id"]]
            for t in np.flatnonzero(ev):
                n += 1
                h = {d: bool(f[u, ks, t].any()) for d, f in flags.items()}
                if "joint" in result.scores:
                    h["joint"] = bool(jflag[u, t])
                h[ANY] = any(h.values())
                for d in dets:
                    hits[d] += h.get(d, False)
        for d in dets:
            rows.append({"kind": "joint", "detector": d, "n": n, "detected": hits[d], "recall": hits[d] / n if n else np.nan})
    recall = pd.DataFrame(rows)
    # normal group-wide moves
    cs = []
    for r in truth[truth["kind"] == "common_shock"].itertuples():
        if r.indicator_id not in ki or r.start not in ti or not ev[ti[r.start]]:
            continue
        k, t = ki[r.indicator_id], ti[r.start]
        tested = np.isfinite(panel.x[:, k, t]) & ~anom[:, k, t]  # the planted anomalies there are not normal
        row = {"indicator_id": r.indicator_id, "period": r.start, "cells": int(tested.sum())}
        for d, f in flags.items():
            row[d] = int(f[:, k, t][tested].sum())
        cs.append(row)
    bymag = pd.DataFrame(mags)
    if len(bymag):
        bymag["bin"] = pd.cut(bymag["magnitude_sd"], [0, 3, 4, 5, 6, 7, 8, 100], right=False)
        bymag = bymag.groupby(["kind", "bin"], observed=True).agg(
            n=(ANY, "size"), **{f"recall_{d}": (d, "mean") for d in dets}).reset_index()
    return Evaluation(recall, fa, bymag, pd.DataFrame(cs), {"window": window, "evaluated": list(result.evaluated)})
