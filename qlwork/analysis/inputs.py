"""Inputs of the coherence and reliability analyses: a data table or an IndexResult, prepared the
same way (directions applied, min–max within the data) — see :mod:`qlwork.analysis.coherence`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import pandas as pd

from ..errors import Problem, QlworkError
from ..framework import Framework

__all__ = ["ResultView", "restrict", "indicator_groups", "inputs_of", "need_framework"]


# ----------------------------------------------------------------- inputs
@dataclass(frozen=True)
class _Inputs:
    X: pd.DataFrame  # units × indicators, prepared (directions applied when asked)
    framework: Framework | None
    scores: pd.DataFrame | None  # node scores when known (IndexResult)
    weights: pd.Series | None  # nominal leaf weights
    prepared: str


def _is_result(obj: Any) -> bool:
    return hasattr(obj, "normalized") and hasattr(obj, "framework") and hasattr(obj, "scores")


@dataclass(frozen=True)
class ResultView:
    """The parts of an IndexResult that coherence uses, restricted to some units."""

    normalized: pd.DataFrame
    framework: Framework
    scores: pd.DataFrame
    leaf_weights: pd.Series


def restrict(data, unit_ids: Iterable):
    """``data`` (wide DataFrame or IndexResult) restricted to ``unit_ids`` (e.g. one unit type).

    Indicators that apply to some unit types only are missing for the others,
    so coherence is best read per peer group.
    """
    ids = pd.Index(list(unit_ids))
    if _is_result(data):
        keep = data.normalized.index.intersection(ids)
        return ResultView(data.normalized.loc[keep], data.framework, data.scores.loc[keep], data.leaf_weights)
    return data.loc[data.index.intersection(ids)]


def _drop_empty(X: pd.DataFrame, fw: Framework | None) -> tuple[pd.DataFrame, Framework | None]:
    """Drop indicators with no data at all (not applicable / not collected), pruning the tree."""
    empty = X.columns[X.isna().all()]
    if len(empty) == 0:
        return X, fw
    X = X.drop(columns=empty)
    if fw is not None:
        fw = _subset_framework(fw, list(X.columns))
    return X, fw


def _inputs(data, framework: Framework | None = None, prepare: str = "auto") -> _Inputs:
    if _is_result(data):
        fw = framework or data.framework
        X, fw2 = _drop_empty(data.normalized.astype(float), fw)
        w = data.leaf_weights.astype(float).reindex(X.columns)
        return _Inputs(X, fw2, data.scores.astype(float), w, "index_result")
    if not isinstance(data, pd.DataFrame):
        raise QlworkError(Problem("bad_input", f"需要宽表 DataFrame 或 IndexResult，收到 {type(data).__name__}",
                                  "expected a wide DataFrame (units × indicators) or an IndexResult",
                                  found=type(data).__name__))
    if framework is not None:
        cols = [c for c in framework.indicator_ids if c in data.columns]
        missing = [c for c in framework.indicator_ids if c not in data.columns]
        if not cols:
            raise QlworkError(Problem("no_indicators", "数据中没有框架的任何指标列",
                                      "no framework indicator is a column of the data",
                                      found=list(map(str, data.columns))[:20], expected=framework.indicator_ids))
        X = data[cols]
        fw = framework if not missing else _subset_framework(framework, cols)
    else:
        X = data.select_dtypes("number")
        fw = None
    try:
        X = X.astype(float)
    except (TypeError, ValueError) as e:
        raise QlworkError(Problem("not_numeric", "指标列含非数值内容", f"indicator columns are not numeric: {e}")) from None
    mode = "none"
    if prepare == "auto":
        prepare = "minmax" if fw is not None else "none"
    if prepare in ("direction", "minmax") and fw is not None:
        X = X * fw.directions().reindex(X.columns).fillna(1.0)
        mode = "direction"
    if prepare == "minmax":
        lo, hi = X.min(), X.max()
        rng = (hi - lo).where(hi > lo)
        X = (X - lo) / rng * 100
        mode = "direction+minmax" if fw is not None else "minmax"
    elif prepare not in ("none", "direction"):
        raise QlworkError(Problem("bad_option", f"prepare 只能是 auto、none、direction 或 minmax，收到 {prepare!r}",
                                  "unknown prepare option", found=prepare))
    X, fw = _drop_empty(X, fw)
    w = fw.leaf_weights().reindex(X.columns) if fw is not None else None
    return _Inputs(X, fw, None, w, mode)


def _subset_framework(fw: Framework, keep: Sequence[str]) -> Framework:
    """The framework restricted to the indicators present (empty nodes dropped, weights renormalised)."""
    keep = set(keep)

    def prune(n: dict) -> dict | None:
        kids = n.get("children")
        if kids is None:
            return n if n["id"] in keep else None
        new = [c for c in (prune(c) for c in kids) if c is not None]
        if not new:
            return None
        s = sum(float(c.get("weight", 1.0)) for c in new)
        for c in new:
            c["weight"] = float(c.get("weight", 1.0)) / s
        return {**n, "children": new}

    from ..framework import load_framework

    return load_framework(prune(fw.to_dict()))


def indicator_groups(framework: Framework, level: str = "parent") -> pd.Series:
    """indicator id → the node it belongs to: its direct ``parent`` or its ``level1`` goal."""
    if level == "parent":
        return pd.Series({i: ind.parent for i, ind in framework.indicators.items()}, dtype=object)
    if level == "level1":
        return pd.Series({i: framework.level1_of(i) for i in framework.indicators}, dtype=object)
    raise QlworkError(Problem("bad_option", f"level 只能是 parent 或 level1，收到 {level!r}", "unknown level", found=level))


def _need_framework(fw, what: str) -> Framework:
    if fw is None:
        raise QlworkError(Problem("no_framework", f"{what}需要指标体系（framework）", f"{what} needs a framework"))
    return fw




inputs_of = _inputs
need_framework = _need_framework
