"""The index engine: normalise, impute, aggregate up the tree, grade, rank, warn.

``compute_index(data, framework, ...) -> IndexResult``.  Pipeline (every
choice is recorded in ``IndexResult.params``):

1. **Reshape** the tidy long table (unit_id, period, indicator_id, value) or a
   wide table (index = unit ids, columns = indicator ids; one period) into a
   dense array *rows × indicators*, rows = every (period, unit) present.  All
   periods are computed in one vectorised pass; indicator ids not in the
   framework are ignored (counted in ``params["ignored_rows"]``).
2. **Applicability**: an indicator whose ``applies_to`` excludes the unit's
   type is never scored for it, and an indicator with no value at all in the
   data is treated the same way (``params["absent_indicators"]``); their
   weights are re-normalised within the node (not imputation).
3. **Imputation** (:mod:`qlwork.engine.impute`) of raw values within comparison
   groups (peer group × period).
4. **Outlier treatment** (optional, :func:`qlwork.engine.normalize.treat_outliers`)
   within comparison groups.
5. **Normalisation** (:mod:`qlwork.engine.normalize`) to 0–100, directions flipped.
6. **Aggregation** (:mod:`qlwork.engine.aggregate`) of the *internal* tree — the
   framework without its ``public: true`` indicators — with effective leaf
   weights per availability pattern.  Under imputation "none" (and for cells
   mean/median could not fill) a missing applicable indicator makes every node
   above it missing.
7. **Public component**: the ``public=`` argument (0–100 per unit), else the
   weighted mean of the public indicators' normalised scores when present in
   the data, else absent (total = internal).  ``total = (1 − s)·internal +
   s·public``; a unit without a public value keeps ``total = internal`` and
   gets a ``missing_public`` warning.
8. **Current period** = ``period`` or the latest in the data: ranks within peer
   group and within region (ties → minimum rank), grade from bands (veto caps
   at the lowest grade), change against the previous period in the data (or
   the ``previous`` result), warnings.  Scores of all periods stay in
   ``IndexResult.history`` for trends.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .aggregate import AGGREGATIONS, aggregate_matrix, aggregate_rows, effective_weights, node_weights
from ..errors import Problem, QlworkError
from ..framework import Framework, load_framework
from .grading import assign_grades, bottom_n_mask, lowest_grade, on_grid, parse_bands, rank_within
from .impute import IMPUTATIONS, impute
from .normalize import NORMALIZATIONS, normalize, treat_outliers

__all__ = ["compute_index", "IndexResult", "UnitReport", "effective_weights", "aggregate_matrix",
           "WARNING_CODES", "SCORE_LABELS", "ALL_GROUP"]

#: Peer-group label used when no registry / grouping is given.
ALL_GROUP = "全部"
SINGLE_PERIOD = "当期"

#: Warning reason codes → Chinese reason (English gloss in docs/index_engine.md).
WARNING_CODES = {
    "below_pass": "总分低于合格线",
    "bottom_n": "位列同类单位后{n}名",
    "large_drop": "较上期下降超过{d}分",
    "missing_data": "指标数据缺失，相关得分无法计算",
    "missing_public": "缺少群众评价，总分仅含专业分",
    "veto": "发生一票否决事项，等级定为{g}",
}

#: Reason of a ``missing_data`` warning under imputation="reweight" (scores exist).
MISSING_REWEIGHTED = "指标数据缺失，已按可得指标重新分配权重计算"

_REGION_COLS = ("city", "county", "township")

#: Chinese labels of the score columns that are not framework nodes.
SCORE_LABELS = {"internal": "专业分", "public": "群众评价（获得感）", "total": "总分"}


# ------------------------------------------------------------------- results
@dataclass(frozen=True, repr=False)
class UnitReport:
    """Everything about one unit for its health-check report (体检报告单)."""

    unit_id: str
    unit_name: str
    unit_type: str
    peer_group: str
    period: str
    scores: pd.Series  # node ids (root first), internal, public, total
    rank: Any
    n_peers: int
    rank_in_region: Any
    n_region: Any
    grade: Any
    grade_rule: str
    change: float
    peers: pd.DataFrame  # per node: score, peer_mean, q1, median, q3
    strongest: pd.DataFrame  # indicator_id, name, normalized, peer_median, diff
    weakest: pd.DataFrame
    trend: pd.DataFrame  # periods × [internal, public, total, level-1 nodes]
    warnings: pd.DataFrame
    regions: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "unit_id": self.unit_id, "unit_name": self.unit_name, "unit_type": self.unit_type,
            "peer_group": self.peer_group, "period": self.period, "regions": dict(self.regions),
            "scores": self.scores.to_dict(), "rank": self.rank, "n_peers": self.n_peers,
            "rank_in_region": self.rank_in_region, "n_region": self.n_region, "grade": self.grade,
            "grade_rule": self.grade_rule, "change": self.change,
            "peers": self.peers.reset_index().to_dict("records"),
            "strongest": self.strongest.to_dict("records"), "weakest": self.weakest.to_dict("records"),
            "trend": self.trend.reset_index().to_dict("records"),
            "warnings": self.warnings.to_dict("records"),
        }

    def __repr__(self) -> str:
        tot = self.scores.get("total", float("nan"))
        return (f"UnitReport({self.unit_id} {self.unit_name} [{self.unit_type}] {self.period}: "
                f"total={tot:.2f}, rank {self.rank}/{self.n_peers}, grade {self.grade}, "
                f"{len(self.warnings)} warnings)")


@dataclass(frozen=True, repr=False)
class IndexResult:
    """Scores, ranks, grades and warnings of one framework (see module doc).

    ``scores``/``normalized``/``ranking`` are for the current ``period``;
    ``history`` holds the scores of every period (index (period, unit_id)).
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
    ranking: pd.DataFrame | None = None  # rank, rank_in_region, grade, grade_rule, change
    raw_z: pd.DataFrame | None = None  # z-score normalisation only
    normalized_history: pd.DataFrame | None = None  # index (period, unit_id)
    internal_weights: pd.Series | None = None  # leaf weights of the internal tree (public removed)

    # ------------------------------------------------------------ tables
    @property
    def node_ids(self) -> list[str]:
        return [n for n in self.framework.depth_first() if n in self.framework.nodes]

    def to_frame(self) -> pd.DataFrame:
        """One row per unit of the current period (index = unit ids, also a column).

        Columns: unit_id, unit_name, unit_type, peer_group, city, county,
        township (when known), one per node id, internal, public, total, rank,
        rank_in_region, grade, grade_rule, change, warnings (codes joined by ";").
        """
        u = self.units.reindex(self.scores.index)
        out = pd.DataFrame({"unit_id": self.scores.index.to_numpy()}, index=self.scores.index.rename(None))
        for c in ("unit_name", "unit_type", "peer_group", *_REGION_COLS):
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
        N = self.normalized.loc[mates]
        med = N.median()
        mine = self.normalized.loc[uid]
        ok = mine.notna() & med.notna()
        diff = (mine - med)[ok].sort_values(ascending=False, kind="stable")
        names = self.framework.names()

        def table(ids):
            return pd.DataFrame({"indicator_id": list(ids), "name": [names.get(i, i) for i in ids],
                                 "normalized": mine[list(ids)].to_numpy(dtype=float),
                                 "peer_median": med[list(ids)].to_numpy(dtype=float),
                                 "diff": diff[list(ids)].to_numpy(dtype=float)})

        strongest = table(diff.index[:n_indicators])
        weakest = table(diff.index[::-1][:n_indicators])
        trend_cols = ["internal", "public", "total", *self.framework.level1]
        if self.history is not None:
            h = self.history.xs(uid, level="unit_id", drop_level=True) if uid in self.history.index.get_level_values("unit_id") else None
            trend = h[[c for c in trend_cols if c in h.columns]].sort_index() if h is not None else pd.DataFrame()
        else:
            trend = pd.DataFrame()
        rk = self.ranking.loc[uid]
        reg = {c: u[c] for c in _REGION_COLS if c in self.units.columns}
        n_region = None
        rc = self.params.get("region") or "county"
        if rc in self.units.columns and pd.notna(u.get(rc)) and str(u.get(rc)).strip():
            # units ranked in the same region (scored this period, with a total) — like n_peers
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
        )

    def __repr__(self) -> str:
        t = self.scores["total"]
        g = self.ranking["grade"].value_counts().to_dict() if self.ranking is not None else {}
        return (f"IndexResult({self.framework.id} {self.period}: {len(self.scores)} units, "
                f"total mean {t.mean():.2f} [{t.min():.2f}, {t.max():.2f}], grades {g}, "
                f"{self.params['normalization']}/{self.params['aggregation']}/{self.params['imputation']}, "
                f"{len(self.warnings)} warnings)")


def _py(v):
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    return v


# ------------------------------------------------------------------- helpers
def _err(code, zh, en, **kw):
    return QlworkError(Problem(code, zh, en, **kw))


def _apply_weights(fw: Framework, weights) -> tuple[Framework, str]:
    if weights is None:
        return fw, "framework"
    if isinstance(weights, Framework):
        return weights, "framework override"
    # a Series indexed by exactly the indicator ids = effective leaf weights; any other
    # mapping/Series = local weights by node/indicator id (sibling groups re-normalised)
    if isinstance(weights, pd.Series) and set(map(str, weights.index)) == set(fw.indicator_ids):
        s = weights.astype(float)
        s.index = s.index.map(str)
        return fw.with_leaf_weights(s), "leaf weights"
    s = pd.Series(weights, dtype=float) if not isinstance(weights, pd.Series) else weights.astype(float)
    return fw.with_weights({str(k): float(v) for k, v in s.items()}, normalize=True), "local weights"


def _registry(units, unit_ids: np.ndarray, peer_group) -> pd.DataFrame:
    """Registry rows of the scored units (index unit_id) plus a ``peer_group`` column."""
    if units is None:
        reg = pd.DataFrame(index=pd.Index(unit_ids, name="unit_id"))
        reg["unit_name"] = unit_ids
        reg["unit_type"] = ALL_GROUP
    else:
        u = units.copy()
        if "unit_id" in u.columns:
            u = u.set_index("unit_id")
        u.index = u.index.astype(str)
        u.index.name = "unit_id"
        if u.index.has_duplicates:
            d = u.index[u.index.duplicated()].unique()[:10].tolist()
            raise _err("duplicate_unit", f"单位名录中单位编码重复：{d}", "duplicate unit ids in the registry", found=d,
                       expected="唯一编码 unique ids")
        missing = pd.Index(unit_ids).difference(u.index)
        if len(missing):
            raise _err("unknown_unit", f"数据中有 {len(missing)} 个单位不在单位名录中，如 {missing[:10].tolist()}",
                       "units in the data are missing from the registry", found=missing[:10].tolist(),
                       expected="单位名录中的编码 ids in the registry")
        reg = u.loc[unit_ids].copy()
        if "unit_name" not in reg.columns:
            reg["unit_name"] = reg.index.to_numpy()
        if "unit_type" not in reg.columns:
            reg["unit_type"] = ALL_GROUP
        # a blank type would silently take another type's applicability (and peer group)
        blank = reg["unit_type"].isna() | reg["unit_type"].astype(str).str.strip().eq("")
        if blank.any():
            raise QlworkError([Problem("missing_unit_type", f"单位 {uid} 在单位名录中没有单位类型",
                                       f"unit {uid} has no unit type in the registry", column="unit_type",
                                       found=None, expected="单位类型，如 机关、村居 a unit type")
                               for uid in reg.index[blank.to_numpy()][:20]])
    if peer_group is None or (isinstance(peer_group, str) and peer_group in ("all", ALL_GROUP)):
        reg["peer_group"] = ALL_GROUP
    elif isinstance(peer_group, str):
        if peer_group not in reg.columns:
            raise _err("bad_peer_group", f"单位名录中没有分组列 {peer_group!r}", "peer_group column not in the registry",
                       column=peer_group, expected=f"列之一 one of {list(reg.columns)}")
        col = reg[peer_group]
        blank = col.isna() | col.astype(str).str.strip().eq("")
        if blank.any():
            raise QlworkError([Problem("bad_peer_group", f"单位 {uid} 的分组列 {peer_group!r} 为空",
                                       f"unit {uid} has no value in the peer_group column {peer_group!r}",
                                       column=peer_group, found=None, expected="非空分组 a group label")
                               for uid in reg.index[blank.to_numpy()][:20]])
        reg["peer_group"] = col.astype(str).to_numpy()
    else:
        pg = pd.Series(peer_group)
        pg.index = pg.index.astype(str)
        vals = pg.reindex(reg.index)
        if vals.isna().any():
            miss = vals.index[vals.isna()][:10].tolist()
            raise _err("bad_peer_group", f"分组缺少单位 {miss}", "peer_group mapping lacks some units", found=miss)
        reg["peer_group"] = vals.astype(str).to_numpy()
    return reg


def _factorize_str(col: pd.Series):
    """Integer codes and unique values (as str) of a column."""
    codes, uniq = pd.factorize(col, use_na_sentinel=True)
    uniq = np.asarray(pd.Index(uniq).astype(str), dtype=object)
    return codes.astype(np.int64), uniq


def _reshape(data, fw: Framework, period):
    """Dense array of the input: ``(units_u, periods_u, row_u, row_p, X, info)``.

    ``units_u``/``periods_u`` are the distinct unit ids / periods (str, order of
    first appearance); row r of ``X`` (rows × indicators) is unit
    ``units_u[row_u[r]]`` in period ``periods_u[row_p[r]]``.  Strings are
    factorised once; everything downstream works on integer codes.
    """
    ids = fw.indicator_ids
    info: dict = {}
    if not isinstance(data, pd.DataFrame):
        raise _err("bad_data", "数据必须是 DataFrame（长表或宽表）", "data must be a DataFrame (long or wide)",
                   found=type(data).__name__, expected="DataFrame")
    long = {"unit_id", "indicator_id", "value"} <= set(data.columns)
    if not long:
        known = [c for c in data.columns if str(c) in fw.indicators]
        if not known:
            raise _err("bad_data", "宽表的列中没有框架指标编号；长表需要 unit_id、indicator_id、value 列",
                       "no framework indicator columns (wide) and no unit_id/indicator_id/value columns (long)",
                       found=[str(c) for c in data.columns[:10]], expected=ids[:10])
        info["ignored_columns"] = [str(c) for c in data.columns if str(c) not in fw.indicators]
        wide = data[known]
        idx = wide.index.astype(str)
        if idx.has_duplicates:
            d = idx[idx.duplicated()].unique()[:10].tolist()
            raise _err("duplicate_unit", f"宽表中单位重复：{d}", "duplicate unit ids in the wide table", found=d)
        vals = _to_float(wide, None)
        X = np.full((len(wide), len(ids)), np.nan)
        col = pd.Index(ids).get_indexer([str(c) for c in known])
        X[:, col] = vals
        label = str(period) if period is not None else SINGLE_PERIOD
        n = len(wide)
        return (np.asarray(idx, dtype=object), np.array([label], dtype=object), np.arange(n, dtype=np.int64),
                np.zeros(n, np.int64), X, info)
    d = data
    icode_all, iuniq = _factorize_str(d["indicator_id"])
    imap = np.append(pd.Index(ids).get_indexer(iuniq), -1)  # sentinel -1 (missing id) → -1
    icode = imap[icode_all]
    keep = icode >= 0
    info["ignored_rows"] = int((~keep).sum())
    all_kept = bool(keep.all())
    if not all_kept:
        d = d.loc[keep]
        icode = icode[keep]
    ucode, uniq_u = _factorize_str(d["unit_id"])
    if "period" in d.columns:
        pcode, uniq_p = _factorize_str(d["period"])
    else:
        pcode, uniq_p = np.zeros(len(d), np.int64), np.array([SINGLE_PERIOD], dtype=object)
    if (ucode < 0).any() or (pcode < 0).any():
        bad = d.loc[(ucode < 0) | (pcode < 0)].head(10)
        raise QlworkError([Problem("missing_key", "单位编码或期别为空", "unit_id or period is empty",
                                   file=_opt(r, "file"), sheet=_opt(r, "sheet"), row=_opt(r, "row"),
                                   column=_opt(r, "column"), expected="非空 non-empty")
                           for r in bad.itertuples(index=False)])
    vcol = d["value"]
    if pd.api.types.is_numeric_dtype(vcol.dtype) and not pd.api.types.is_bool_dtype(vcol.dtype):
        vals = vcol.to_numpy(dtype=float, na_value=np.nan)
    else:
        vals = _to_float(d[["value"]], d)[:, 0]
    nu = max(len(uniq_u), 1)
    key = pcode * nu + ucode
    # (period, unit) → dense row number without hashing: keys live in [0, n_periods · n_units)
    seen = np.zeros(len(uniq_p) * nu, bool)
    seen[key] = True
    rkeys = np.flatnonzero(seen)
    rcode = (np.cumsum(seen) - 1)[key]
    cell = rcode.astype(np.int64) * len(ids) + icode
    cnt = np.bincount(cell, minlength=len(rkeys) * len(ids))
    if (cnt > 1).any():
        dup = np.isin(cell, np.flatnonzero(cnt > 1))
        sample = d.loc[dup].head(10)
        probs = [Problem("duplicate_value", f"单位 {r.unit_id} 在 {getattr(r, 'period', '')} 的指标 {r.indicator_id} 有多个值",
                         "several values for one unit, period and indicator",
                         file=_opt(r, "file"), sheet=_opt(r, "sheet"), row=_opt(r, "row"), column=_opt(r, "column"),
                         found=r.value, expected="每个单位每期每指标一个值 one value per cell")
                 for r in sample.itertuples(index=False)]
        n_dup = int(dup.sum())
        if n_dup > len(probs):
            probs.insert(0, Problem("duplicate_value", f"共 {n_dup} 行重复（同一单位、期别、指标有多个值），以下列出前 {len(probs)} 行",
                                    f"{n_dup} duplicate rows in total; the first {len(probs)} are listed", found=n_dup))
        raise QlworkError(probs)
    X = np.full((len(rkeys), len(ids)), np.nan)
    X[rcode, icode] = vals
    rkeys = np.asarray(rkeys, dtype=np.int64)
    return uniq_u, uniq_p, rkeys % nu, rkeys // nu, X, info


def _row_patterns(A: np.ndarray):
    """Distinct rows of a boolean matrix: ``(patterns, inverse)`` via bit-packing + hashing."""
    packed = np.packbits(A, axis=1)
    if packed.shape[1] <= 8:
        key = np.zeros((len(A), 8), np.uint8)
        key[:, :packed.shape[1]] = packed
        codes, first = pd.factorize(key.view(np.uint64).reshape(-1))
        _, idx = np.unique(codes, return_index=True)
        return A[idx], codes.astype(np.int64)
    pat, inv = np.unique(A, axis=0, return_inverse=True)
    return pat, inv.reshape(-1)


def _opt(r, name):
    v = getattr(r, name, None)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return int(v) if name == "row" else str(v)


def _to_float(df: pd.DataFrame, located: pd.DataFrame | None) -> np.ndarray:
    try:
        return df.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        pass
    conv = df.apply(pd.to_numeric, errors="coerce")
    bad = conv.isna() & df.notna()
    if bad.to_numpy().any():
        probs = []
        rows, cols = np.nonzero(bad.to_numpy())
        for i, j in list(zip(rows, cols))[:20]:
            kw = {}
            if located is not None:
                r = located.iloc[i]
                kw = {"file": _opt(r, "file"), "sheet": _opt(r, "sheet"), "row": _opt(r, "row"),
                      "column": _opt(r, "column")}
            else:
                kw = {"row": None, "column": str(df.columns[j])}
            probs.append(Problem("not_a_number", f"数值无法识别（单位 {df.index[i]}）", "value is not a number",
                                 found=df.iat[i, j], expected="数字 a number", **kw))
        raise QlworkError(probs)
    return conv.to_numpy(dtype=float, na_value=np.nan)


def _public_arg(public, row_units, row_periods, current):
    """Per-row public scores from the ``public=`` argument (NaN where not given)."""
    out = np.full(len(row_units), np.nan)
    if isinstance(public, pd.DataFrame):
        cols = set(public.columns)
        vcol = next((c for c in ("public", "score", "estimate", "value", "total") if c in cols), None)
        if "unit_id" in cols and vcol is not None:
            per = public["period"].astype(str) if "period" in cols else pd.Series(current, index=public.index)
            s = pd.Series(public[vcol].to_numpy(dtype=float),
                          index=pd.MultiIndex.from_arrays([per.to_numpy(), public["unit_id"].astype(str).to_numpy()]))
        elif public.shape[1] == 1:
            s = public.iloc[:, 0]
        else:
            raise _err("bad_public", "public 表需要 unit_id 与 public/score/estimate 列",
                       "public table needs unit_id and a public/score/estimate column", found=list(public.columns))
    else:
        s = pd.Series(public)
    if not isinstance(s.index, pd.MultiIndex):
        s = pd.Series(s.to_numpy(dtype=float),
                      index=pd.MultiIndex.from_arrays([np.full(len(s), current, dtype=object), s.index.astype(str)]))
    s = s.astype(float)
    if s.index.has_duplicates:
        raise _err("bad_public", "public 中单位重复", "duplicate units in public", found=s.index[s.index.duplicated()][:5].tolist())
    bad = s[(s < 0) | (s > 100)]
    if len(bad):
        raise _err("bad_public", f"群众评价得分超出 0–100：{bad.head(5).to_dict()}", "public scores outside 0–100",
                   found=bad.head(5).tolist(), expected="0–100")
    key = pd.MultiIndex.from_arrays([row_periods.astype(str), row_units.astype(str)])
    out[:] = s.reindex(key).to_numpy(dtype=float)
    return out


def _veto_units(veto, current) -> dict[str, str]:
    """unit_id → detail for veto events of the current period."""
    if veto is None:
        return {}
    if isinstance(veto, pd.DataFrame):
        v = veto
        if "period" in v.columns:
            v = v[v["period"].astype(str) == str(current)]
        det_col = next((c for c in ("veto_id", "name", "detail", "event") if c in v.columns), None)
        out: dict[str, str] = {}
        for r in v.itertuples(index=False):
            uid = str(getattr(r, "unit_id"))
            det = str(getattr(r, det_col)) if det_col else "veto"
            out[uid] = (out[uid] + "；" + det) if uid in out else det
        return out
    s = pd.Series(veto) if not isinstance(veto, pd.Series) else veto
    if s.dtype == bool:
        return {str(k): "veto" for k in s.index[s.to_numpy()]}
    return {str(k): "veto" for k in s.to_numpy()}


# --------------------------------------------------------------- the engine
def compute_index(data, framework, *, period=None, units=None, normalization: str = "minmax",
                  aggregation: str = "arithmetic", weights=None, imputation: str = "none",
                  peer_group="unit_type", public=None, social_share=None, grades=None, pass_mark=None,
                  bottom_n=None, drop_points=None, outliers=None, previous=None, veto=None,
                  region: str = "county", eps: float = 1.0, constant: float = 100.0) -> IndexResult:
    """Score every unit up the framework tree; see the module docstring for the steps.

    Parameters
    ----------
    data : long DataFrame (unit_id, period, indicator_id, value[, source, file, sheet, row, column])
        or wide DataFrame (index = unit ids, columns = indicator ids; one period).
    framework : Framework, YAML path, built-in name or nested mapping.
    period : the period to rank/grade (default: the latest in the data).
    units : registry (unit_id index or column; unit_name, unit_type, city, county, township).
    normalization : "minmax" | "zscore" | "goalposts" | "target" | "rank".
    aggregation : "arithmetic" | "geometric" (values floored at ``eps`` before logs).
    weights : None (framework), a mapping/Series of local weights by node/indicator id,
        or a Series whose index is exactly the indicator ids (effective leaf weights).
    imputation : "none" | "mean" | "median" | "reweight" (see :mod:`qlwork.engine.impute`).
    peer_group : registry column (default "unit_type"), None/"all" for one group, or a Series unit_id → group.
    public : Series unit_id → 0–100 (current period), Series with (period, unit_id) index,
        or DataFrame with unit_id[, period] and public/score/estimate column.
    social_share, grades, pass_mark, bottom_n, drop_points : default from the framework.
    outliers : None | "winsorise" | "log".
    previous : an earlier IndexResult to compute ``change`` against.
    veto : unit ids (list/Series), boolean Series by unit_id, or DataFrame (unit_id[, period, veto_id]).
    region : registry column for ``rank_in_region`` (default "county", 县市区).
    constant : score of a unit in a group with zero spread (min–max, target, rank).
    """
    t0 = time.perf_counter()
    if normalization not in NORMALIZATIONS:
        raise _err("bad_option", f"未知的标准化方法 {normalization!r}", "unknown normalization",
                   found=normalization, expected=" | ".join(NORMALIZATIONS))
    if aggregation not in AGGREGATIONS:
        raise _err("bad_option", f"未知的合成方法 {aggregation!r}", "unknown aggregation",
                   found=aggregation, expected=" | ".join(AGGREGATIONS))
    if imputation not in IMPUTATIONS:
        raise _err("bad_option", f"未知的缺失值处理方法 {imputation!r}", "unknown imputation",
                   found=imputation, expected=" | ".join(IMPUTATIONS))
    if outliers not in (None, "none", "winsorise", "winsorize", "log"):
        raise _err("bad_option", f"未知的异常值处理方法 {outliers!r}", "unknown outlier treatment",
                   found=outliers, expected="None | winsorise | log")
    outliers = None if outliers in (None, "none") else ("winsorise" if outliers.startswith("winsor") else "log")
    fw0 = load_framework(framework)
    fw, weight_source = _apply_weights(fw0, weights)
    s_share = float(fw.social_share if social_share is None else social_share)
    if not 0.0 <= s_share <= 1.0:
        raise _err("bad_option", "social_share 必须在 0 与 1 之间", "social_share must be in [0, 1]", found=s_share, expected="[0, 1]")
    bands = parse_bands(fw.grades if grades is None else grades)
    pass_mark = float(fw.pass_mark if pass_mark is None else pass_mark)
    bottom_n = int(fw.bottom_n if bottom_n is None else bottom_n)
    drop_points = float(fw.drop_points if drop_points is None else drop_points)

    ids = fw.indicator_ids
    p = len(ids)
    units_u, periods_u, row_u, row_p, X, info = _reshape(data, fw, period)
    if len(X) == 0:
        raise _err("no_data", "数据中没有本框架的指标值", "no values for this framework's indicators",
                   expected=ids[:10])
    periods = sorted(periods_u.tolist())
    row_per = pd.Index(periods).get_indexer(periods_u)[row_p]  # position in the sorted periods
    current = str(period) if period is not None else periods[-1]
    if current not in periods:
        raise _err("unknown_period", f"数据中没有期别 {current}", f"period {current} not in the data",
                   found=current, expected=periods)
    cur_i = periods.index(current)

    reg = _registry(units, units_u, peer_group)  # rows in the order of units_u → codes = row_u

    # applicability per row (unit type) and indicators absent from the data
    tcode, tuniq = pd.factorize(reg["unit_type"].astype(str).to_numpy())
    appl_t = np.array([[fw.indicators[i].applies(t) for i in ids] for t in tuniq], bool).reshape(len(tuniq), p)
    absent = np.isnan(X).all(axis=0)
    appl = appl_t[tcode[row_u]] & ~absent[None, :]
    n_ignored_na = int((~np.isnan(X) & ~appl & ~absent[None, :]).sum())
    X = np.where(appl, X, np.nan)

    # comparison groups: peer group × period
    pg_code, pg_uniq = pd.factorize(reg["peer_group"].to_numpy())
    n_pg = max(len(pg_uniq), 1)
    groups = row_per.astype(np.int64) * n_pg + pg_code[row_u]

    Xi, filled = impute(X, groups, imputation, appl)
    out_summary = []
    treated = np.zeros(X.shape, bool)
    Xt = Xi
    if outliers is not None:
        Xt, summ = treat_outliers(Xi, groups, method=outliers)
        treated = ~np.isclose(Xt, Xi, equal_nan=True)
        for r in summ[summ.status != "none"].itertuples(index=False):
            per_i, pg_i = divmod(int(r.group), n_pg)
            out_summary.append({"period": periods[per_i], "peer_group": str(pg_uniq[pg_i]), "indicator_id": ids[r.column],
                                "treatment": r.status, "n_low": int(r.n_low), "n_high": int(r.n_high),
                                "skew": float(r.skew), "kurtosis": float(r.kurtosis)})

    direction = np.array([fw.indicators[i].direction for i in ids], float)
    gp_lo = np.array([fw.indicators[i].goalposts[0] if fw.indicators[i].goalposts else np.nan for i in ids])
    gp_hi = np.array([fw.indicators[i].goalposts[1] if fw.indicators[i].goalposts else np.nan for i in ids])
    target = np.array([fw.indicators[i].target if fw.indicators[i].target is not None else np.nan for i in ids])
    if outliers == "log" or (outliers is not None and out_summary and any(o["treatment"] == "log" for o in out_summary)):
        if normalization in ("goalposts", "target"):
            # goalposts/targets are in raw units; a log-transformed column falls back to min–max
            logged = sorted({ids.index(o["indicator_id"]) for o in out_summary if o["treatment"] == "log"})
            gp_lo[logged] = np.nan
            gp_hi[logged] = np.nan
            target[logged] = np.nan
    N, ninfo = normalize(Xt, normalization, groups=groups, direction=direction, low=gp_lo, high=gp_hi,
                         target=target, constant=constant)
    N = np.where(appl, N, np.nan)

    # ---- aggregation of the internal tree, effective weights per availability pattern
    is_pub = np.array([fw.indicators[i].public for i in ids], bool)
    present = ~np.isnan(N)
    avail_int = present & ~is_pub[None, :]
    missing = appl & ~present  # applicable but still missing after imputation
    pat, pinv = _row_patterns(avail_int)
    NW = node_weights(fw, None, pat)
    node_ids = [n for n in fw.depth_first() if n in fw.nodes]
    leaf_mask = np.array([[i in set(fw.leaves_under(n)) for i in ids] for n in node_ids], bool)  # nodes × p
    if imputation != "reweight":
        miss_int = missing & ~is_pub[None, :]
        node_missing = (miss_int.astype(np.int32) @ leaf_mask.T.astype(np.int32)) > 0
    else:
        node_missing = np.zeros((len(N), len(node_ids)), bool)
    node_scores = _aggregate_patterns(N, np.stack([NW[n] for n in node_ids], axis=1), pinv, aggregation, eps)
    node_scores[node_missing] = np.nan
    internal = node_scores[:, 0]

    # ---- public component
    lw = fw.leaf_weights().reindex(ids).to_numpy()
    has_pub_ind = is_pub.any() and bool(present[:, is_pub].any())
    if public is not None:
        pub = _public_arg(public, units_u[row_u], np.asarray(periods, dtype=object)[row_per], current)
        pub_source = "argument"
        if has_pub_ind and np.isnan(pub).any():
            # units/periods not covered by the argument fall back to the public indicators in the data
            pub_ind, _ = _public_from_indicators(N, appl, missing, is_pub, lw, aggregation, eps, imputation)
            pub = np.where(np.isnan(pub), pub_ind, pub)
    elif has_pub_ind:
        pub, _ = _public_from_indicators(N, appl, missing, is_pub, lw, aggregation, eps, imputation)
        pub_source = "indicators"
    else:
        pub = np.full(len(N), np.nan)
        pub_source = "absent"
    if pub_source == "absent":
        total = internal.copy()
        missing_public = np.zeros(len(N), bool)
    else:
        has_pub = ~np.isnan(pub)
        total = np.where(has_pub, (1.0 - s_share) * internal + s_share * pub, internal)
        missing_public = ~has_pub & (s_share > 0)

    # ---- tables: history (all periods, sorted by period) and the current period
    order = np.argsort(row_per, kind="stable")
    cols = node_ids + ["internal", "public", "total"]
    allv = np.column_stack([node_scores, internal, pub, total])
    midx = pd.MultiIndex(levels=[pd.Index(periods, dtype=object), pd.Index(units_u, dtype=object)],
                         codes=[row_per[order], row_u[order]], names=["period", "unit_id"], verify_integrity=False)
    hist = pd.DataFrame(allv[order], index=midx, columns=cols)
    normalized_hist = pd.DataFrame(N[order], index=midx, columns=ids)
    cur_rows = np.flatnonzero(row_per == cur_i)
    cur_u = row_u[cur_rows]
    uidx = pd.Index(units_u[cur_u], name="unit_id", dtype=object)
    scores = pd.DataFrame(allv[cur_rows], index=uidx, columns=cols)
    normalized = pd.DataFrame(N[cur_rows], index=uidx, columns=ids)
    raw_z = None
    if "z" in ninfo:
        raw_z = pd.DataFrame(np.where(appl, ninfo["z"], np.nan)[cur_rows], index=uidx, columns=ids)

    # ---- ranks, grades, change
    reg_cur = reg.iloc[cur_u]
    tot = scores["total"]
    peer_cur = pd.Series(reg_cur["peer_group"].to_numpy(), index=uidx)
    rank = rank_within(tot, peer_cur)
    if region and region in reg_cur.columns:
        rcol = reg_cur[region]
        no_region = (rcol.isna() | rcol.astype(str).str.strip().eq("")).to_numpy()
        # a unit without a region is not ranked in one (and does not count in anyone's region)
        rank_reg = rank_within(tot.where(~no_region), pd.Series(rcol.astype(str).to_numpy(), index=uidx))
    else:
        rank_reg = pd.Series(pd.NA, index=uidx, dtype="Int64")
    grade = assign_grades(tot, bands)
    vetoed = _veto_units(veto, current)
    vmask = uidx.isin(list(vetoed))
    low = lowest_grade(bands)
    grade = grade.where(~vmask, low)
    grade_rule = np.where(vmask, "veto", np.where(tot.isna(), "missing", "score-cutoff"))
    prev_period = None
    if previous is not None:
        prev_tot = previous.scores["total"].reindex(uidx).to_numpy(dtype=float)
        prev_period = previous.period
    elif cur_i > 0:
        prev_period = periods[cur_i - 1]
        by_unit = np.full(len(units_u), np.nan)
        prev_rows = row_per == cur_i - 1
        by_unit[row_u[prev_rows]] = total[prev_rows]
        prev_tot = by_unit[cur_u]
    else:
        prev_tot = np.full(len(cur_u), np.nan)
    change = tot.to_numpy() - prev_tot
    change_rule = "total"
    if previous is None and cur_i > 0 and pub_source != "absent":
        # like with like: where the public component exists in only one of the two
        # periods, the change is measured on the internal score
        has_p = ~np.isnan(pub)
        by_unit_int = np.full(len(units_u), np.nan)
        by_unit_has = np.zeros(len(units_u), bool)
        by_unit_int[row_u[prev_rows]] = internal[prev_rows]
        by_unit_has[row_u[prev_rows]] = has_p[prev_rows]
        mixed = has_p[cur_rows] != by_unit_has[cur_u]
        if mixed.any():
            change = np.where(mixed, internal[cur_rows] - by_unit_int[cur_u], change)
            change_rule = "total; internal where the public component exists in only one of the two periods"
    ranking = pd.DataFrame({"rank": rank.to_numpy(), "rank_in_region": rank_reg.to_numpy(),
                            "grade": grade.to_numpy(), "grade_rule": grade_rule, "change": change}, index=uidx)
    ranking["rank"] = ranking["rank"].astype("Int64")
    ranking["rank_in_region"] = ranking["rank_in_region"].astype("Int64")

    # ---- warnings (current period)
    wrows = []
    tv = tot.to_numpy()
    with np.errstate(invalid="ignore"):
        # on the grading grid: a total of 59.99999999999999 (float noise of an exact 60) is not below 60
        below = on_grid(tv) < pass_mark
        drop = on_grid(change) < -drop_points
    bott = bottom_n_mask(tot, peer_cur, bottom_n).to_numpy() if bottom_n > 0 else np.zeros(len(tv), bool)
    pgc = pg_code[cur_u]
    peer_n = np.bincount(pgc, minlength=n_pg)[pgc]
    uids = uidx.to_numpy()
    rk = rank.to_numpy()
    for m, code, det in (
        (below, "below_pass", lambda i: f"总分 {tv[i]:.2f} < {pass_mark:g}"),
        (bott, "bottom_n", lambda i: f"同类排名 {rk[i]}/{peer_n[i]}"),
        (drop, "large_drop", lambda i: f"{prev_period} {prev_tot[i]:.2f} → {current} {tv[i]:.2f}（{change[i]:+.2f}）"),
    ):
        for i in np.flatnonzero(m):
            wrows.append((uids[i], current, code, WARNING_CODES[code].format(n=bottom_n, d=f"{drop_points:g}", g=low), det(i)))
    mc = missing[cur_rows]
    # under "reweight" the scores *were* computed from the available indicators
    missing_reason = MISSING_REWEIGHTED if imputation == "reweight" else WARNING_CODES["missing_data"]
    for i in np.flatnonzero(mc.any(axis=1)):
        lst = [ids[j] for j in np.flatnonzero(mc[i])]
        wrows.append((uids[i], current, "missing_data", missing_reason, "缺失指标 missing: " + "、".join(lst)))
    for i in np.flatnonzero(missing_public[cur_rows]):
        wrows.append((uids[i], current, "missing_public", WARNING_CODES["missing_public"], "total = internal"))
    for i in np.flatnonzero(vmask):
        wrows.append((uids[i], current, "veto", WARNING_CODES["veto"].format(g=low), vetoed[uids[i]]))
    warnings = pd.DataFrame(wrows, columns=["unit_id", "period", "code", "reason_zh", "detail"])
    if len(warnings):
        upos = {u: k for k, u in enumerate(uids)}
        code_order = {c: k for k, c in enumerate(WARNING_CODES)}
        warnings = warnings.assign(_u=warnings["unit_id"].map(upos), _c=warnings["code"].map(code_order)) \
            .sort_values(["_u", "_c"], kind="stable").drop(columns=["_u", "_c"]).reset_index(drop=True)

    # ---- what was filled / treated
    per_arr = np.asarray(periods, dtype=object)
    ids_arr = np.asarray(ids, dtype=object)
    fr, fc = np.nonzero(filled)
    imputed = pd.DataFrame({"unit_id": units_u[row_u[fr]], "period": per_arr[row_per[fr]],
                            "indicator_id": ids_arr[fc], "method": imputation, "value": Xi[fr, fc]})
    tr, tc = np.nonzero(treated)
    outl = pd.DataFrame({"unit_id": units_u[row_u[tr]], "period": per_arr[row_per[tr]],
                         "indicator_id": ids_arr[tc], "original": Xi[tr, tc], "treated": Xt[tr, tc],
                         "treatment": outliers or ""})

    int_w = pd.Series(effective_weights(fw, None, ~is_pub & ~absent)[0], index=ids, name="internal_weight")
    pg_param = peer_group if isinstance(peer_group, (str, type(None))) else "custom"
    if units is None and pg_param == "unit_type":
        pg_param = None
    params = {
        "framework": fw.id, "framework_version": fw.version, "framework_fingerprint": fw.fingerprint(),
        "period": current, "periods": periods, "previous_period": prev_period,
        "normalization": normalization, "aggregation": aggregation, "imputation": imputation,
        "outliers": outliers, "peer_group": pg_param, "comparison_groups": "peer group × period",
        "region": region, "weights": weight_source, "social_share": s_share, "public": pub_source,
        "public_detail": (getattr(public, "attrs", {}) or {}).get("public_source") if public is not None else None,
        "grades": [[lab, (lo if math.isfinite(lo) else None)] for lab, lo in bands], "pass_mark": pass_mark,
        "bottom_n": bottom_n, "drop_points": drop_points, "rank_ties": "min", "change_rule": change_rule,
        "geometric_eps": eps, "constant_group_score": constant,
        "zscore_scale": "clip(50 + 10·z, 0, 100), sd ddof=1" if normalization == "zscore" else None,
        "normalization_fallback": [ids[j] for j in ninfo.get("fallback", [])],
        "absent_indicators": [ids[j] for j in np.flatnonzero(absent)],
        "public_indicators": [ids[j] for j in np.flatnonzero(is_pub)],
        "ignored_not_applicable_values": n_ignored_na,
        "n_units": int(len(scores)), "n_rows": int(len(N)), "n_patterns": int(len(pat)),
        "n_imputed": int(filled.sum()), "n_outliers_changed": int(treated.sum()),
        "outlier_summary": out_summary,
        "leaf_weights": {k: float(v) for k, v in fw.leaf_weights().items()},
        "veto_units": sorted(vetoed),
        "seconds": round(time.perf_counter() - t0, 4),
        **info,
    }
    return IndexResult(
        scores=scores, normalized=normalized, leaf_weights=fw.leaf_weights().reindex(ids), framework=fw,
        units=reg, params=params, imputed=imputed, outliers=outl, warnings=warnings, period=current,
        history=hist, ranking=ranking, raw_z=raw_z, normalized_history=normalized_hist, internal_weights=int_w,
    )


def _aggregate_patterns(N, Wp, pinv, method, eps):
    """Scores of every row for every node: rows × nodes.

    ``Wp`` (patterns × nodes × indicators) holds each pattern's effective
    weights; rows are grouped by pattern and each group is one matrix product
    ``X_q @ Wp[q].T`` (arithmetic) or ``exp(log max(X_q, eps) @ Wp[q].T)``.
    A node with no available leaf (weights summing to 0) is NaN.
    """
    if method == "geometric":
        Z = np.log(np.maximum(np.where(np.isnan(N), 1.0, N), eps))
        Z = np.where(np.isnan(N), 0.0, Z)
    else:
        Z = np.where(np.isnan(N), 0.0, N)
    P, K, _ = Wp.shape
    out = np.empty((len(N), K))
    if P <= 512:
        order = np.argsort(pinv, kind="stable")
        bounds = np.searchsorted(pinv[order], np.arange(P + 1))
        for q in range(P):
            rows = order[bounds[q]:bounds[q + 1]]
            if len(rows):
                out[rows] = Z[rows] @ Wp[q].T
    else:  # many patterns: one einsum per node
        for k in range(K):
            out[:, k] = np.einsum("ij,ij->i", Z, Wp[pinv, k, :])
    if method == "geometric":
        out = np.exp(out)
    empty = Wp.sum(axis=2) <= 0  # patterns × nodes
    out[empty[pinv]] = np.nan
    return out


def _public_from_indicators(N, appl, missing, is_pub, lw, aggregation, eps, imputation):
    """Weighted mean of the public indicators' normalised scores (weights ∝ leaf weights)."""
    avail = ~np.isnan(N) & is_pub[None, :]
    Wr = np.where(avail, lw[None, :], 0.0)
    tot = Wr.sum(axis=1, keepdims=True)
    Wr = np.divide(Wr, tot, out=np.zeros_like(Wr), where=tot > 0)
    pub = aggregate_rows(N, Wr, aggregation, eps)
    if imputation != "reweight":
        pub = np.where((missing & is_pub[None, :]).any(axis=1), np.nan, pub)
    return pub, Wr
