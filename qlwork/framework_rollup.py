"""The framework keys that say how finer periods roll up: ``rollup`` and ``denominators``.

Checked by :func:`qlwork.framework.load_framework` with the rest of the schema (every
problem at once, with the YAML path and line; docs/framework.md):

- indicator key ``rollup``: ``sum`` | ``mean`` | ``last`` or ``{method: mean, weight: <id>}``;
  absent → by ``kind`` (:data:`ROLLUP_DEFAULT`);
- root key ``denominators``: series reported with the indicators but never scored — the
  weights of a weighted mean (e.g. 诊疗人次 for a complaint rate per 10,000 visits).

The formulas that apply the rules live in :mod:`qlwork.io.rollup`.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping

__all__ = ["ROLLUP_METHODS", "ROLLUP_DEFAULT", "DENOMINATOR_KEYS", "parse_rollup", "parse_denominators",
           "check_rollup_refs"]

#: How values of finer periods (months, quarters) roll up to the evaluation period.
ROLLUP_METHODS = ("sum", "mean", "last")
#: Default roll-up by indicator ``kind`` when the indicator declares none: counts and
#: amounts add up over time; everything else (rates, percentages, scores) is averaged.
ROLLUP_DEFAULT = {"count": "sum", "amount": "sum"}
DENOMINATOR_KEYS = {"id", "name", "name_en", "unit", "source", "applies_to", "range", "description"}
_EXPECTED = "sum、mean、last 或 {method: mean, weight: 分母编号}"


def parse_rollup(v: Any, path: str, line: int | None, nid: str, prob: Callable, refs: list) -> tuple[str, str | None]:
    """An indicator's ``rollup`` value → (method, weight id); problems through ``prob``; a
    weight reference is appended to ``refs`` and checked by :func:`check_rollup_refs`."""
    if v is None:
        return "", None
    if isinstance(v, str):
        method, w = v, None
    elif isinstance(v, Mapping):
        extra = sorted(str(k) for k in v if k not in ("method", "weight", "__line__", "__dupkeys__", "__keylines__"))
        if extra:
            prob("unknown_key", f"指标 {nid} 的 rollup 有未知的键 {extra}", f"unknown keys {extra} in rollup",
                 f"{path}.rollup", line, extra, "method、weight")
        method, w = v.get("method"), v.get("weight")
        w = None if w is None else str(w)
    else:
        prob("bad_rollup", f"指标 {nid} 的 rollup 应为汇总方法", f"rollup of {nid} must name a method",
             f"{path}.rollup", line, v, _EXPECTED)
        return "", None
    if method not in ROLLUP_METHODS:
        prob("bad_rollup", f"指标 {nid} 的汇总方法 {method!r} 不可用", f"unknown roll-up method {method!r}",
             f"{path}.rollup", line, method, _EXPECTED)
        return "", None
    if w is not None and method != "mean":
        prob("bad_rollup", f"指标 {nid} 只有 mean（加权平均）可以指定 weight", "only a mean takes a weight",
             f"{path}.rollup", line, v, "{method: mean, weight: 分母编号}")
        w = None
    if w is not None:
        refs.append((nid, w, f"{path}.rollup", line))
    return method, w


def check_rollup_refs(refs: list, indicators: Mapping, denominators: Mapping, prob: Callable) -> None:
    """Every weight of a weighted mean names a denominator or another indicator."""
    for nid, w, path, line in refs:
        if w == nid:
            prob("bad_rollup", f"指标 {nid} 不能以自身加权", f"{nid} cannot weight itself", path, line, w,
                 "另一指标或分母 another indicator or a denominator")
        elif w not in denominators and w not in indicators:
            prob("unknown_denominator", f"指标 {nid} 的加权分母 {w!r} 不是框架中的分母或指标",
                 f"roll-up weight {w!r} of {nid} is neither a denominator nor an indicator", path, line, w,
                 "denominators 中的编号 an id listed under denominators"
                 + (f"：{'、'.join(denominators)}" if denominators else ""))


def parse_denominators(spec: Any, line0: int | None, seen_at: dict, prob: Callable, pair: Callable,
                       make: Callable) -> dict:
    """The root key ``denominators`` → {id: Indicator made by ``make``} (weight 0, kind
    ``denominator``, range ``[0, ∞)`` unless given)."""
    out: dict = {}
    if spec is None:
        return out
    if not isinstance(spec, list):
        prob("bad_denominators", "denominators 应为列表", "denominators must be a list", "denominators", line0, spec,
             "[{id, name, unit, source}]")
        return out
    for i, d in enumerate(spec):
        path = f"denominators[{i}]"
        if not isinstance(d, dict) or d.get("id") in (None, ""):
            prob("missing_id", "分母缺少 id", "denominator has no id", path, line0, d, "非空编号 non-empty id")
            continue
        line = d.get("__line__")
        did = str(d["id"])
        path = f"denominators[{did}]"
        unknown = sorted(str(k) for k in d if k not in DENOMINATOR_KEYS and k not in ("__line__", "__dupkeys__", "__keylines__"))
        if unknown:
            prob("unknown_key", f"未知的键 {unknown}", f"unknown keys {unknown}", path, line, unknown,
                 f"允许的键 allowed: {sorted(DENOMINATOR_KEYS)}")
        if did in seen_at or did in out:
            prob("duplicate_id", f"编号 {did} 重复（首次出现于 {seen_at.get(did, path)}）", f"duplicate id {did}",
                 path, line, did, "唯一编号 unique ids")
            continue
        applies = d.get("applies_to")
        if isinstance(applies, str):
            applies = [applies]
        if applies is not None and (not isinstance(applies, list) or not applies):
            prob("bad_applies_to", "applies_to 应为单位类型列表", "applies_to must be a list of unit types", path, line,
                 applies, "list")
            applies = None
        rng = pair(d["range"], path, line, "range") if d.get("range") is not None else (0.0, math.inf)
        out[did] = make(
            id=did, name=str(d.get("name", "") or did), name_en=str(d.get("name_en", "") or ""), weight=0.0,
            direction=1, unit=str(d.get("unit", "") or ""), source=str(d.get("source", "") or ""),
            applies_to=tuple(str(a) for a in applies) if applies else None, valid_range=rng or (0.0, math.inf),
            kind="denominator")
    return out
