"""The result of scoring one framework in one period: :class:`IndexResult` and :class:`UnitReport`.

Besides scores, ranks, grades and warnings, a result keeps its build stages
(raw → imputed → treated → normalised, ``result.stages``), the spec that produced
it, and per unit the *effective weights that scored it* — so the 体检报告单 can
print an exact decomposition and every face shows the same strengths and
weaknesses (:meth:`IndexResult.indicator_table`, one rule, computed once).

Decomposition of the internal score (专业分, arithmetic aggregation)::

    internal = Σ_j w_j · x_j          (w = the unit's effective internal weights, Σ w_j = 1)
    100 − internal = Σ_j w_j · (100 − x_j) = Σ_j 失分_j

Geometric aggregation: ``internal = exp(Σ w_j log max(x_j, ε))``; the shortfall
``100 − internal`` is shared in proportion to ``w_j · (log 100 − log max(x_j, ε))``
(each indicator's share of the log-gap), so the points lost again add up exactly.

Strengths and weaknesses (优势 / 薄弱指标), one rule everywhere: for every
indicator the unit has, ``gap`` = its score − the median score of its peer group
(same period), rounded to 0.1 point.  Weak: gap < 0; strong: gap > 0; an
indicator with gap 0 (e.g. at 100 like its peers) is neither.  Each list is
ordered by the effect on the internal score, ``weight × gap`` (points above or
below the peers), and holds at most ``n`` indicators — so the lists are disjoint.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..errors import Problem, QlworkError
from ..framework import Framework
from ..labels import period_label
from .stages import ALL_GROUP, SINGLE_PERIOD

__all__ = ["IndexResult", "UnitReport", "SCORE_LABELS", "REGION_COLS", "GAP_DECIMALS"]

REGION_COLS = ("city", "county", "township")

#: Chinese labels of the score columns that are not framework nodes.
SCORE_LABELS = {"internal": "专业分", "public": "群众评价（获得感）", "bonus": "加分", "total": "综合得分"}

#: Gaps to the peer median are compared after rounding to this many decimals.
GAP_DECIMALS = 1


# ------------------------------------------------------------------- results
@dataclass(frozen=True, repr=False)
class UnitReport:
    """Everything about one unit for its health-check report (体检报告单)."""

    unit_id: str
    unit_name: str
    unit_type: str
    peer_group: str
    period: str
    scores: pd.Series  # node ids (root first), internal, public, bonus, total_raw, total
    rank: Any
    n_peers: int
    rank_in_region: Any
    n_region: Any
    grade: Any
    grade_rule: str
    change: float
    peers: pd.DataFrame  # per node: score, peer_mean, q1, median, q3
    strongest: pd.DataFrame  # indicator_id, name, normalized, peer_median, diff, contribution
    weakest: pd.DataFrame
    trend: pd.DataFrame  # periods × [internal, public, total, level-1 nodes]
    warnings: pd.DataFrame
    regions: Mapping[str, Any] = field(default_factory=dict)
    decomposition: pd.DataFrame | None = None  # per indicator: weight, normalized, points_lost
    veto: str = ""

    def to_dict(self) -> dict:
        return {
            "unit_id": self.unit_id, "unit_name": self.unit_name, "unit_type": self.unit_type,
            "peer_group": self.peer_group, "period": self.period, "regions": dict(self.regions),
            "scores": self.scores.to_dict(), "rank": self.rank, "n_peers": self.n_peers,
            "rank_in_region": self.rank_in_region, "n_region": self.n_region, "grade": self.grade,
            "grade_rule": self.grade_rule, "change": self.change, "veto": self.veto,
            "peers": self.peers.reset_index().to_dict("records"),
            "strongest": self.strongest.to_dict("records"), "weakest": self.weakest.to_dict("records"),
            "trend": self.trend.reset_index().to_dict("records"),
            "warnings": self.warnings.to_dict("records"),
            "decomposition": None if self.decomposition is None else self.decomposition.to_dict("records"),
        }

    def __repr__(self) -> str:
        tot = self.scores.get("total", float("nan"))
        return (f"UnitReport({self.unit_id} {self.unit_name} [{self.unit_type}] {self.period}: "
                f"total={tot:.2f}, rank {self.rank}/{self.n_peers}, grade {self.grade}, "
                f"{len(self.warnings)} warnings)")


@dataclass(frozen=True, repr=False)
class IndexResult:
    """Scores, ranks, grades and warnings of one framework (see the module doc).

    ``scores``/``normalized``/``ranking`` are for the current ``period``;
    ``history`` holds the scores of every period (index (period, unit_id)).
    ``scores['total']`` is the *published* total (rounded half-up to the spec's
    precision, bonus included); ``total_raw`` the same before rounding.
    """

    scores: pd.DataFrame
    normalized: pd.DataFrame
    leaf_weights: pd.Series
    framework: Framework
    units: pd.DataFrame
    params: dict
    imputed: pd.DataFrame
    outliers: pd.DataFrame
    warnings: pd.DataFrame
    period: str = SINGLE_PERIOD
    history: pd.DataFrame | None = None
    ranking: pd.DataFrame | None = None  # rank, n_peers, rank_in_region, grade, grade_rule, change, veto
    raw_z: pd.DataFrame | None = None  # z-score normalisation only
    normalized_history: pd.DataFrame | None = None  # index (period, unit_id)
    internal_weights: pd.Series | None = None  # leaf weights of the internal tree (public removed)
    spec: Any = None  # qlwork.spec.IndexSpec
    stages: Mapping[str, pd.DataFrame] = field(default_factory=dict)  # raw, imputed, treated, normalised
    effective_weights: pd.DataFrame | None = None  # units × indicators: the internal weights that scored each unit
    public_se: pd.Series | None = None  # standard error of the public score (survey), by unit
    divergence: pd.DataFrame | None = None  # the divergence test per unit (qlwork.analysis.compare.divergence)
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    # ------------------------------------------------------------ tables
    @property
    def node_ids(self) -> list[str]:
        return [n for n in self.framework.depth_first() if n in self.framework.nodes]

    @property
    def decimals(self) -> int:
        return int(self.spec.precision.decimals) if self.spec is not None else int(self.params.get("decimals", 6))

    @property
    def period_label(self) -> str:
        return period_label(self.period)

    def to_frame(self) -> pd.DataFrame:
        """One row per unit of the current period (index = unit ids, also a column).

        Columns: unit_id, unit_name, unit_type, peer_group, city, county,
        township (when known), one per node id, internal, public, bonus,
        total_raw, total, rank, n_peers, rank_in_region, grade, grade_rule,
        change, veto, warnings (codes joined by ";").
        """
        u = self.units.reindex(self.scores.index)
        out = pd.DataFrame({"unit_id": self.scores.index.to_numpy()}, index=self.scores.index.rename(None))
        for c in ("unit_name", "unit_type", "peer_group", *REGION_COLS):
            if c in u.columns:
                out[c] = u[c].to_numpy()
        for c in self.scores.columns:
            out[c] = self.scores[c].to_numpy()
        rk = self.ranking.reindex(self.scores.index)
        for c in rk.columns:
            out[c] = rk[c].array  # keep nullable Int64 ranks and str grades
        w = self.warnings
        codes = (w.groupby("unit_id")["code"].agg(";".join) if len(w) else pd.Series(dtype=str))
        out["warnings"] = codes.reindex(self.scores.index).fillna("").to_numpy()
        return out

    def indicator_table(self) -> pd.DataFrame:
        """Per unit × indicator of the current period (long): the one source of the
        decomposition and of the strength/weakness lists (module doc).

        Columns: unit_id, indicator_id, name, public, value (raw), normalized,
        peer_median, gap (rounded to 0.1), weight (effective internal weight that
        scored the unit; 0 for survey items), points_lost, contribution
        (weight × gap), role ('strength' / 'weakness' / '').
        """
        if "indicators" in self._cache:
            return self._cache["indicators"]
        fw = self.framework
        ids = [i for i in fw.indicator_ids if i in self.normalized.columns]
        N = self.normalized[ids].astype(float)
        peer = self.units["peer_group"].reindex(N.index).astype(str) if "peer_group" in self.units.columns \
            else pd.Series(ALL_GROUP, index=N.index)
        med = N.groupby(peer.to_numpy()).transform("median")
        gap = (N - med).round(GAP_DECIMALS)
        W = (self.effective_weights.reindex(index=N.index, columns=ids).fillna(0.0) if self.effective_weights is not None
             else pd.DataFrame(0.0, index=N.index, columns=ids))
        lost = _points_lost(N.to_numpy(), W.to_numpy(), self.params.get("aggregation", "arithmetic"),
                            float(self.params.get("geometric_eps", 1.0)))
        raw = self.stages.get("raw") if self.stages else None
        raw = raw.reindex(index=N.index, columns=ids) if raw is not None else pd.DataFrame(np.nan, index=N.index, columns=ids)
        names = fw.names()
        n, p = N.shape
        t = pd.DataFrame({
            "unit_id": np.repeat(N.index.to_numpy(), p),
            "indicator_id": np.tile(np.asarray(ids, dtype=object), n),
            "value": raw.to_numpy().ravel(),
            "normalized": N.to_numpy().ravel(),
            "peer_median": med.to_numpy().ravel(),
            "gap": gap.to_numpy().ravel(),
            "weight": W.to_numpy().ravel(),
            "points_lost": lost.ravel(),
        })
        t["name"] = t["indicator_id"].map(names)
        t["public"] = t["indicator_id"].map({i: fw.indicators[i].public for i in ids})
        t = t[t["normalized"].notna()].copy()
        # the effect on the internal score; survey items (weight 0 in the internal tree) by their gap alone
        t["contribution"] = np.where(t["public"], t["gap"], t["weight"] * t["gap"])
        t["role"] = ""
        t = t.sort_values(["unit_id", "contribution", "indicator_id"], kind="stable").reset_index(drop=True)
        self._cache["indicators"] = t
        return t

    def strengths_weaknesses(self, unit_id: str, n: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(strongest, weakest) of one unit by the rule in the module doc (disjoint, at most ``n`` each)."""
        t = self.indicator_table()
        u = t[t["unit_id"] == str(unit_id)]
        weak = u[u["gap"] < 0].sort_values(["contribution", "gap", "indicator_id"], kind="stable").head(n)
        strong = u[u["gap"] > 0].sort_values(["contribution", "gap", "indicator_id"], ascending=[False, False, True],
                                             kind="stable").head(n)
        cols = ["indicator_id", "name", "normalized", "peer_median", "gap", "weight", "contribution"]
        ren = {"gap": "diff"}
        return (strong[cols].rename(columns=ren).reset_index(drop=True),
                weak[cols].rename(columns=ren).reset_index(drop=True))

    def decomposition(self, unit_id: str) -> pd.DataFrame:
        """Indicator rows of one unit: weight that scored it, score, points lost (Σ = 100 − internal)."""
        t = self.indicator_table()
        u = t[t["unit_id"] == str(unit_id)]
        order = {i: k for k, i in enumerate(self.framework.indicator_ids)}
        u = u.assign(_o=u["indicator_id"].map(order)).sort_values("_o").drop(columns="_o")
        return u[["indicator_id", "name", "public", "value", "normalized", "weight", "points_lost", "peer_median",
                  "gap"]].reset_index(drop=True)

    def unit(self, unit_id: str, n_indicators: int = 3) -> UnitReport:
        """Health-check data for one unit: node scores vs peers, strong/weak indicators, trend."""
        uid = str(unit_id)
        if uid not in self.scores.index:
            raise QlworkError(Problem("unknown_unit", f"本期结果中没有单位 {uid}", f"unit {uid} not scored in {self.period}",
                                      found=uid, expected="已评分的单位编码 a scored unit id"))
        u = self.units.loc[uid]
        peer = u.get("peer_group", ALL_GROUP)
        mates = self.units.index[self.units["peer_group"] == peer].intersection(self.scores.index)
        S = self.scores.loc[mates]
        q = S.quantile([0.25, 0.5, 0.75])
        peers = pd.DataFrame({
            "name": [{**self.framework.names(), **SCORE_LABELS}.get(c, c) for c in S.columns],
            "score": self.scores.loc[uid].to_numpy(dtype=float),
            "peer_mean": S.mean().to_numpy(), "q1": q.loc[0.25].to_numpy(),
            "median": q.loc[0.5].to_numpy(), "q3": q.loc[0.75].to_numpy(),
        }, index=pd.Index(S.columns, name="node"))
        strongest, weakest = self.strengths_weaknesses(uid, n_indicators)
        trend_cols = ["internal", "public", "total", *self.framework.level1]
        trend = pd.DataFrame()
        if self.history is not None and uid in self.history.index.get_level_values("unit_id"):
            h = self.history.xs(uid, level="unit_id", drop_level=True)
            trend = h[[c for c in trend_cols if c in h.columns]].sort_index()
        rk = self.ranking.loc[uid]
        reg = {c: u[c] for c in REGION_COLS if c in self.units.columns}
        n_region = None
        rc = self.params.get("region") or "county"
        if rc in self.units.columns and pd.notna(u.get(rc)) and str(u.get(rc)).strip():
            same = self.units.loc[self.scores.index, rc].eq(u[rc]).to_numpy()
            n_region = int((same & self.scores["total"].notna().to_numpy()).sum())
        w = self.warnings[self.warnings["unit_id"] == uid].reset_index(drop=True)
        return UnitReport(
            unit_id=uid, unit_name=str(u.get("unit_name", uid)), unit_type=str(u.get("unit_type", ALL_GROUP)),
            peer_group=str(peer), period=self.period, scores=self.scores.loc[uid].astype(float),
            rank=_py(rk["rank"]), n_peers=int(S["total"].notna().sum()),
            rank_in_region=_py(rk["rank_in_region"]), n_region=n_region,
            grade=_py(rk["grade"]), grade_rule=str(rk["grade_rule"]), change=float(rk["change"]),
            peers=peers, strongest=strongest, weakest=weakest, trend=trend, warnings=w, regions=reg,
            decomposition=self.decomposition(uid), veto=str(rk.get("veto", "") or ""),
        )

    def __repr__(self) -> str:
        t = self.scores["total"]
        g = self.ranking["grade"].value_counts().to_dict() if self.ranking is not None else {}
        return (f"IndexResult({self.framework.id} {self.period}: {len(self.scores)} units, "
                f"total mean {t.mean():.2f} [{t.min():.2f}, {t.max():.2f}], grades {g}, "
                f"{self.params['normalization']}/{self.params['aggregation']}/{self.params['imputation']}, "
                f"{len(self.warnings)} warnings)")


def _points_lost(N: np.ndarray, W: np.ndarray, aggregation: str, eps: float) -> np.ndarray:
    """Points lost per indicator (units × indicators); rows sum to 100 − internal (module doc)."""
    x = np.where(np.isnan(N), 100.0, N)
    if aggregation != "geometric":
        return W * (100.0 - x)
    lg = W * (math.log(100.0) - np.log(np.maximum(x, eps)))
    tot = lg.sum(axis=1, keepdims=True)
    internal = 100.0 * np.exp(-tot)
    share = np.divide(lg, tot, out=np.zeros_like(lg), where=tot > 0)
    return share * (100.0 - internal)


def _py(v):
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    return v
