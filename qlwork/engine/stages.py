"""Build stages of the index (COINr-style named data sets): raw → imputed → treated → normalised.

Each stage is a function of the previous one and of the :class:`~qlwork.spec.IndexSpec`;
:func:`prepare` runs them all and returns :class:`Prepared` (dense arrays rows ×
indicators, rows = every (period, unit) in the data).  :class:`~qlwork.engine.result.IndexResult`
keeps the current period of every stage as a named table (``result.stages``), so a
researcher can see and replay each step.

1. **raw** — the tidy long table (unit_id, period, indicator_id, value) or a wide
   table reshaped to rows × indicators (:func:`reshape`); unknown indicator ids are
   ignored (counted).
2. **applicability** — an indicator whose ``applies_to`` excludes the unit's type is
   never scored for it; an indicator with no value at all is treated the same way
   (``absent``).  Their weights are re-normalised within the node, not imputed.
3. **imputed** — :func:`qlwork.engine.impute.impute` within comparison groups
   (peer group × period).
4. **treated** — optional outlier treatment (:func:`qlwork.engine.normalize.treat_outliers`).
5. **normalised** — :func:`qlwork.engine.normalize.normalize` to 0–100, directions
   flipped.  Survey items (``public: true`` indicators) whose scores come from the
   survey enter as their 0–100 estimates (they are already scores).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import Problem, QlworkError
from ..framework import Framework
from .impute import impute
from .normalize import normalize, treat_outliers

__all__ = ["ALL_GROUP", "SINGLE_PERIOD", "registry", "reshape", "Prepared", "prepare", "PublicInput", "public_input"]

#: Peer-group label used when no registry / grouping is given.
ALL_GROUP = "全部"
SINGLE_PERIOD = "当期"


def _err(code, zh, en, **kw):
    return QlworkError(Problem(code, zh, en, **kw))


def registry(units, unit_ids: np.ndarray, peer_group) -> pd.DataFrame:
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


def reshape(data, fw: Framework, period):
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


@dataclass(frozen=True)
class PublicInput:
    """The public component per row: value, standard error and per-item survey scores."""

    value: np.ndarray  # rows; NaN = no public score
    se: np.ndarray  # rows; NaN = unknown
    items: dict = field(default_factory=dict)  # indicator id → rows (0–100 survey estimate)
    source: str = "argument"


def public_input(public, row_units, row_periods, current, which: str = "direct") -> PublicInput:
    """Per-row public scores from the ``public=`` argument (NaN where not given).

    Accepts the ``qlwork survey`` output (long: unit_id[, period], indicator_id,
    mean[, eblup, se]: the ``overall`` row is the public score, the other rows are
    the framework's survey items), a table (unit_id[, period], public/score/
    estimate[, public_se/se]), a Series unit_id → score (current period) or a
    Series indexed by (period, unit_id).
    """
    n = len(row_units)
    key = pd.MultiIndex.from_arrays([np.asarray(row_periods).astype(str), np.asarray(row_units).astype(str)])
    se = np.full(n, np.nan)
    items: dict = {}

    def by_key(df, col):
        per = df["period"].astype(str) if "period" in df.columns else pd.Series(current, index=df.index)
        s = pd.Series(pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float),
                      index=pd.MultiIndex.from_arrays([per.to_numpy(), df["unit_id"].astype(str).to_numpy()]))
        if s.index.has_duplicates:
            raise _err("bad_public", "群众评价中单位重复", "duplicate units in the public scores",
                       found=[list(t) for t in s.index[s.index.duplicated()][:5]], expected="每期每单位一行")
        return s

    if isinstance(public, pd.DataFrame) and {"indicator_id", "mean", "unit_id"} <= set(public.columns):
        col = "mean" if which == "direct" else "eblup"
        if col not in public.columns:
            raise _err("bad_public", f"群众评价表缺少 {col} 列", f"public table lacks the {col} column",
                       found=list(public.columns), expected=col)
        t = public.copy()
        if which == "eblup":  # units too small for a variance keep their direct value
            t[col] = t[col].where(t[col].notna(), t["mean"])
        ov = t[t["indicator_id"].astype(str) == "overall"]
        s = by_key(ov, col)
        if "se" in ov.columns:
            se = by_key(ov, "se").reindex(key).to_numpy(dtype=float)
        for ind, g in t[t["indicator_id"].astype(str) != "overall"].groupby(t["indicator_id"].astype(str)):
            items[ind] = np.clip(by_key(g, col).reindex(key).to_numpy(dtype=float), 0, 100)
        src = f"survey-{which}"
    elif isinstance(public, pd.DataFrame):
        cols = set(public.columns)
        vcol = next((c for c in ("public", "score", "estimate", "value", "total") if c in cols), None)
        if "unit_id" in cols and vcol is not None:
            s = by_key(public, vcol)
            scol = next((c for c in ("public_se", "se") if c in cols), None)
            if scol:
                se = by_key(public, scol).reindex(key).to_numpy(dtype=float)
        elif public.shape[1] == 1:
            s = public.iloc[:, 0]
        else:
            raise _err("bad_public", "public 表需要 unit_id 与 public/score/estimate 列",
                       "public table needs unit_id and a public/score/estimate column", found=list(public.columns))
        src = "argument"
    else:
        s = pd.Series(public)
        src = "argument"
    tag = (getattr(public, "attrs", {}) or {}).get("public_source")
    if tag in ("direct", "eblup") and src == "argument":
        src = f"survey-{tag}"  # qlwork.survey.pipeline.public_component records which estimate it is
    if not isinstance(s.index, pd.MultiIndex):
        s = pd.Series(pd.to_numeric(s, errors="coerce").to_numpy(dtype=float),
                      index=pd.MultiIndex.from_arrays([np.full(len(s), current, dtype=object), s.index.astype(str)]))
    s = s.astype(float)
    if s.index.has_duplicates:
        raise _err("bad_public", "public 中单位重复", "duplicate units in public",
                   found=[list(t) for t in s.index[s.index.duplicated()][:5]])
    bad = s[(s < 0) | (s > 100)]
    if len(bad):
        raise _err("bad_public", f"群众评价得分超出 0–100：{bad.head(5).to_dict()}", "public scores outside 0–100",
                   found=bad.head(5).tolist(), expected="0–100")
    return PublicInput(s.reindex(key).to_numpy(dtype=float), se, items, src)


@dataclass(frozen=True)
class Prepared:
    """Every (period, unit) row through the build stages (arrays rows × indicators)."""

    ids: list  # indicator ids (columns)
    units_u: np.ndarray  # distinct unit ids; row r is unit units_u[row_u[r]]
    periods: list  # sorted distinct periods; row r is in period periods[row_per[r]]
    row_u: np.ndarray
    row_per: np.ndarray
    reg: pd.DataFrame  # registry rows in units_u order, with peer_group
    raw: np.ndarray
    appl: np.ndarray  # applicable (and not absent) cells
    absent: np.ndarray  # indicators with no value at all
    groups: np.ndarray  # comparison group per row (peer group × period)
    pg_code: np.ndarray  # peer-group code per unit
    pg_uniq: np.ndarray
    imputed: np.ndarray
    filled: np.ndarray  # cells filled by imputation
    treated: np.ndarray
    treated_mask: np.ndarray
    normalised: np.ndarray
    missing: np.ndarray  # applicable but still missing after imputation
    ninfo: dict
    outlier_summary: list
    n_ignored_na: int
    info: dict


def prepare(data, fw: Framework, spec, *, units=None, period=None, public=None,
            peer_group=None) -> tuple[Prepared, str, PublicInput | None]:
    """Run the build stages raw → imputed → treated → normalised.

    Returns (prepared, current period, public input or None); ``public`` is the
    ``compute_index(public=...)`` argument (see :func:`public_input`).
    """
    ids = fw.indicator_ids
    p = len(ids)
    units_u, periods_u, row_u, row_p, X, info = reshape(data, fw, period)
    if len(X) == 0:
        raise _err("no_data", "数据中没有本框架的指标值", "no values for this framework's indicators", expected=ids[:10])
    periods = sorted(periods_u.tolist())
    row_per = pd.Index(periods).get_indexer(periods_u)[row_p]
    current = str(period) if period is not None else periods[-1]
    if current not in periods:
        raise _err("unknown_period", f"数据中没有期别 {current}", f"period {current} not in the data",
                   found=current, expected=periods)
    reg = registry(units, units_u, spec.peer_group if peer_group is None else peer_group)
    pin = None
    if public is not None:
        which = "eblup" if spec.public_source == "survey-eblup" else "direct"
        pin = public_input(public, units_u[row_u], np.asarray(periods, dtype=object)[row_per], current, which)
    return _stages(fw, spec, ids, p, units_u, periods, row_u, row_per, X, info, reg, pin), current, pin


def _stages(fw, spec, ids, p, units_u, periods, row_u, row_per, X, info, reg, public) -> Prepared:
    tcode, tuniq = pd.factorize(reg["unit_type"].astype(str).to_numpy())
    appl_t = np.array([[fw.indicators[i].applies(t) for i in ids] for t in tuniq], bool).reshape(len(tuniq), p)
    is_pub = np.array([fw.indicators[i].public for i in ids], bool)
    if public is not None and public.items:
        # survey items: their values are the survey's 0–100 estimates, not department data
        for j, i in enumerate(ids):
            if is_pub[j] and i in public.items:
                X[:, j] = np.where(np.isnan(public.items[i]), X[:, j], public.items[i])
    absent = np.isnan(X).all(axis=0)
    appl = appl_t[tcode[row_u]] & ~absent[None, :]
    n_ignored_na = int((~np.isnan(X) & ~appl & ~absent[None, :]).sum())
    X = np.where(appl, X, np.nan)
    pg_code, pg_uniq = pd.factorize(reg["peer_group"].to_numpy())
    n_pg = max(len(pg_uniq), 1)
    groups = row_per.astype(np.int64) * n_pg + pg_code[row_u]

    Xi, filled = impute(X, groups, spec.imputation, appl)
    out_summary = []
    treated = np.zeros(X.shape, bool)
    Xt = Xi
    outliers = spec.outlier_rule
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
    if any(o["treatment"] == "log" for o in out_summary) and spec.normalization in ("goalposts", "target"):
        # goalposts/targets are in raw units; a log-transformed column falls back to min–max
        logged = sorted({ids.index(o["indicator_id"]) for o in out_summary if o["treatment"] == "log"})
        gp_lo[logged] = np.nan
        gp_hi[logged] = np.nan
        target[logged] = np.nan
    N, ninfo = normalize(Xt, spec.normalization, groups=groups, direction=direction, low=gp_lo, high=gp_hi,
                         target=target, constant=spec.constant_group_score)
    N = np.where(appl, N, np.nan)
    if public is not None and public.items:
        for j, i in enumerate(ids):
            if is_pub[j] and i in public.items:  # estimates are scores already (0–100, higher = better)
                N[:, j] = np.where(appl[:, j], Xt[:, j], np.nan)
    missing = appl & np.isnan(N)
    return Prepared(ids=ids, units_u=units_u, periods=periods, row_u=row_u, row_per=row_per, reg=reg, raw=X,
                    appl=appl, absent=absent, groups=groups, pg_code=pg_code, pg_uniq=np.asarray(pg_uniq, dtype=object),
                    imputed=Xi, filled=filled, treated=Xt, treated_mask=treated, normalised=N, missing=missing,
                    ninfo=ninfo, outlier_summary=out_summary, n_ignored_na=n_ignored_na, info=info)
