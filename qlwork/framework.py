"""Indicator frameworks (指标体系): a tree of nodes whose leaves are indicators.

Schema (documented in ``docs/framework.md``): the top-level mapping *is* the
root node, optionally carrying framework metadata.  Every node has ``id``,
optional ``name`` / ``name_en``, and either ``children`` (a list of nodes, each
with a ``weight``; sibling weights sum to 1) or, for an indicator,
``direction`` (1 = more is better, -1 = less is better).  Example::

    {"id": "QLI", "children": [
        {"id": "A", "weight": 0.6, "children": [
            {"id": "x1", "weight": 0.5, "direction": 1},
            {"id": "x2", "weight": 0.5, "direction": -1}]},
        {"id": "B", "weight": 0.4, "children": [
            {"id": "x3", "weight": 1.0, "direction": 1}]}]}

Problems (unknown keys, duplicate ids, missing direction, a node with no
children, sibling weights not summing to 1, a cycle) are all reported at once
with their YAML path and line.  YAML is loaded with ``yaml.SafeLoader`` only:
data never executes.
"""
from __future__ import annotations

import copy
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd
import yaml

from .engine.grading import DEFAULT_GRADES, assign_grades
from .errors import Problem, QlworkError
from .paths import PACKAGE_DATA

__all__ = [
    "Indicator",
    "Node",
    "Framework",
    "load_framework",
    "builtin_framework",
    "DEFAULT_GRADES",
    "UNIT_TYPES",
]

#: Unit types seen in the source documents (单位类型).
UNIT_TYPES = ("机关", "村居", "学校", "医院", "企业", "园区", "商会", "家庭", "景区", "大厅")


WEIGHT_TOL = 1e-6

_NODE_KEYS = {"id", "name", "name_en", "weight", "children", "description"}
_INDICATOR_KEYS = {
    "id", "name", "name_en", "weight", "direction", "unit", "source", "applies_to",
    "goalposts", "target", "range", "kind", "public", "description",
}
_FRAMEWORK_KEYS = {
    "version", "unit_types", "grades", "pass_mark", "social_share", "bottom_n",
    "drop_points", "veto", "bonus", "title", "title_en",
}


@dataclass(frozen=True)
class Indicator:
    """A leaf of the framework (指标).

    ``goalposts`` are fixed (low, high) values used by goalpost normalisation so
    that scores are comparable across periods; ``valid_range`` is the physical
    range used by validation (e.g. (0, 100) for a rate, (0, inf) for a count).
    ``public`` marks survey-based indicators (群众评价), which form the public
    component when a social-evaluation share is configured.
    """

    id: str
    name: str
    name_en: str = ""
    weight: float = 1.0
    direction: int = 1
    unit: str = ""
    source: str = ""
    applies_to: tuple[str, ...] | None = None  # None = every unit type
    goalposts: tuple[float, float] | None = None
    target: float | None = None
    valid_range: tuple[float, float] = (-math.inf, math.inf)
    kind: str = ""
    public: bool = False
    parent: str | None = None

    @property
    def is_leaf(self) -> bool:
        return True

    def applies(self, unit_type: str) -> bool:
        return self.applies_to is None or unit_type in self.applies_to


@dataclass(frozen=True)
class Node:
    """An inner node (目标/维度): its children are node or indicator ids."""

    id: str
    name: str
    name_en: str = ""
    weight: float = 1.0
    children: tuple[str, ...] = ()
    parent: str | None = None
    level: int = 0

    @property
    def is_leaf(self) -> bool:
        return False


@dataclass(frozen=True)
class Framework:
    """A validated indicator tree plus grading metadata.

    Build with :func:`load_framework`.  Nodes and indicators are stored flat by
    id (``nodes``, ``indicators``) in depth-first order; ``root`` is the root id.
    """

    id: str
    name: str
    root: str
    nodes: Mapping[str, Node]
    indicators: Mapping[str, Indicator]
    version: str = ""
    unit_types: tuple[str, ...] = ()
    grades: tuple[tuple[str, float], ...] = DEFAULT_GRADES
    pass_mark: float = 60.0
    social_share: float = 0.0
    bottom_n: int = 3
    drop_points: float = 10.0
    veto: tuple[Mapping[str, Any], ...] = ()
    bonus: Mapping[str, Any] | None = None
    source: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # ------------------------------------------------------------------ views
    @property
    def indicator_ids(self) -> list[str]:
        return list(self.indicators)

    @property
    def node_ids(self) -> list[str]:
        """Inner nodes, root first, depth-first."""
        return list(self.nodes)

    @property
    def level1(self) -> list[str]:
        """Ids of the root's children (一级指标 / goals)."""
        return list(self.nodes[self.root].children)

    def item(self, id_: str) -> Node | Indicator:
        if id_ in self.nodes:
            return self.nodes[id_]
        if id_ in self.indicators:
            return self.indicators[id_]
        raise KeyError(f"框架中没有编号 {id_!r} (no node or indicator {id_!r})")

    def children(self, node_id: str) -> list[str]:
        return list(self.nodes[node_id].children)

    def leaves_under(self, node_id: str) -> list[str]:
        """Indicator ids below ``node_id`` in tree order."""
        if node_id in self.indicators:
            return [node_id]
        out: list[str] = []
        for c in self.nodes[node_id].children:
            out.extend(self.leaves_under(c))
        return out

    def name_of(self, id_: str) -> str:
        return self.item(id_).name or id_

    def names(self) -> dict[str, str]:
        """id → Chinese display name for every node and indicator."""
        d = {k: (v.name or k) for k, v in self.nodes.items()}
        d.update({k: (v.name or k) for k, v in self.indicators.items()})
        return d

    def directions(self) -> pd.Series:
        return pd.Series({k: v.direction for k, v in self.indicators.items()}, dtype=float)

    def local_weights(self) -> pd.Series:
        """Weight of every non-root node/indicator relative to its siblings."""
        d = {k: v.weight for k, v in self.nodes.items() if k != self.root}
        d.update({k: v.weight for k, v in self.indicators.items()})
        return pd.Series(d, dtype=float)

    def leaf_weights(self) -> pd.Series:
        """Effective (global) indicator weights: product of local weights on the path.

        Distributive synthesis (Saaty 1980): w_leaf = Π_{nodes on path} w_local.
        Sums to 1 when every sibling group sums to 1.
        """
        out = {}
        for ind in self.indicators.values():
            w = ind.weight
            p = ind.parent
            while p is not None and p != self.root:
                w *= self.nodes[p].weight
                p = self.nodes[p].parent
            out[ind.id] = w
        return pd.Series(out, dtype=float)

    def applicability(self, unit_types: Iterable[str] | None = None) -> pd.DataFrame:
        """Boolean table unit type × indicator: does the indicator apply?"""
        types = list(unit_types) if unit_types is not None else list(self.unit_types)
        return pd.DataFrame(
            {i: [ind.applies(t) for t in types] for i, ind in self.indicators.items()},
            index=pd.Index(types, name="unit_type"),
        )

    def public_indicators(self) -> list[str]:
        return [k for k, v in self.indicators.items() if v.public]

    def indicator_table(self) -> pd.DataFrame:
        """One row per indicator with its metadata (for notebooks and exports)."""
        gw = self.leaf_weights()
        rows = []
        for k, v in self.indicators.items():
            rows.append({
                "indicator_id": k, "name": v.name, "name_en": v.name_en,
                "parent": v.parent, "parent_name": self.name_of(v.parent) if v.parent else "",
                "level1": self.level1_of(k),
                "weight": v.weight, "global_weight": gw[k], "direction": v.direction,
                "unit": v.unit, "source": v.source, "kind": v.kind, "public": v.public,
                "applies_to": "、".join(v.applies_to) if v.applies_to else "全部",
                "goal_low": v.goalposts[0] if v.goalposts else np.nan,
                "goal_high": v.goalposts[1] if v.goalposts else np.nan,
                "target": v.target if v.target is not None else np.nan,
                "range_low": v.valid_range[0], "range_high": v.valid_range[1],
            })
        return pd.DataFrame(rows)

    def level1_of(self, id_: str) -> str | None:
        """The level-1 goal an item belongs to (itself if it is one)."""
        cur = self.item(id_)
        prev = None
        while cur.parent is not None:
            prev = cur
            cur = self.nodes[cur.parent]
        return prev.id if prev is not None else None

    def depth_first(self) -> list[str]:
        """All ids (nodes and indicators) depth-first from the root."""
        out: list[str] = []

        def walk(i: str) -> None:
            out.append(i)
            if i in self.nodes:
                for c in self.nodes[i].children:
                    walk(c)

        walk(self.root)
        return out

    def bottom_up_nodes(self) -> list[str]:
        """Inner node ids, children before parents (aggregation order)."""
        return [i for i in reversed(self.depth_first()) if i in self.nodes]

    # --------------------------------------------------------------- changes
    def with_weights(self, weights: Mapping[str, float] | pd.Series, *, normalize: bool = True) -> "Framework":
        """A copy with some local weights replaced.

        ``weights`` maps node or indicator ids to their new local weight
        (relative to siblings).  With ``normalize`` each touched sibling group
        is rescaled to sum to 1.  Unknown ids are an error.
        """
        weights = dict(pd.Series(weights, dtype=float)) if not isinstance(weights, dict) else dict(weights)
        unknown = [k for k in weights if k not in self.nodes and k not in self.indicators]
        if unknown:
            raise QlworkError(Problem(
                "unknown_weight_id", f"权重中有框架不存在的编号：{unknown}",
                "weights name ids that are not in the framework", found=unknown,
                expected=f"节点或指标编号之一 one of {self.node_ids[1:] + self.indicator_ids}"))
        data = self.to_dict()

        def walk(n: dict) -> None:
            kids = n.get("children")
            if not kids:
                return
            touched = any(c["id"] in weights for c in kids)
            for c in kids:
                if c["id"] in weights:
                    c["weight"] = float(weights[c["id"]])
            if touched and normalize:
                s = sum(float(c.get("weight", 0.0)) for c in kids)
                if s <= 0:
                    raise QlworkError(Problem(
                        "bad_weights", f"节点 {n['id']} 的子权重之和为 {s}", "sibling weights sum to zero",
                        found=s, expected="> 0"))
                for c in kids:
                    c["weight"] = float(c.get("weight", 0.0)) / s
            for c in kids:
                walk(c)

        walk(data)
        return load_framework(data)

    def with_leaf_weights(self, leaf_weights: Mapping[str, float] | pd.Series) -> "Framework":
        """A copy whose effective leaf weights equal ``leaf_weights`` (normalised).

        Node weights become the sums of their leaves' weights and local weights
        are the within-node shares, so :meth:`leaf_weights` returns the input.
        """
        lw = pd.Series(leaf_weights, dtype=float).reindex(self.indicator_ids).fillna(0.0)
        if (lw < 0).any() or lw.sum() <= 0:
            raise QlworkError(Problem("bad_weights", "叶子权重必须非负且和为正", "leaf weights must be >= 0 with a positive sum",
                                      found=lw[lw < 0].to_dict() or float(lw.sum())))
        lw = lw / lw.sum()
        mass = {i: float(lw[i]) for i in self.indicator_ids}
        for n in self.bottom_up_nodes():
            mass[n] = sum(mass[c] for c in self.nodes[n].children)
        local = {}
        for n in self.nodes.values():
            tot = mass[n.id]
            k = len(n.children)
            for c in n.children:
                local[c] = mass[c] / tot if tot > 0 else 1.0 / k
        return self.with_weights(local, normalize=False)

    def to_dict(self) -> dict:
        """The framework as a nested mapping that :func:`load_framework` accepts."""
        return copy.deepcopy(dict(self.raw))

    def fingerprint(self) -> str:
        """Short SHA-256 of the canonical structure (recorded in exports)."""
        blob = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:12]

    def grade_of(self, score: float) -> str | None:
        """Grade of one score by this framework's bands — the same rule as the index engine
        (:func:`qlwork.engine.grading.assign_grades`: 1e-6-point grid, missing score → None)."""
        g = assign_grades([score], self.grades).iloc[0]
        return None if pd.isna(g) else str(g)

    def __repr__(self) -> str:  # readable in notebooks
        return (f"Framework({self.id!r} {self.name}, version={self.version!r}, "
                f"{len(self.nodes)} nodes, {len(self.indicators)} indicators, "
                f"level 1: {[self.name_of(i) for i in self.level1]})")


# ----------------------------------------------------------------------- loading
class _LineLoader(yaml.SafeLoader):
    """SafeLoader that remembers the line of every mapping (for error locations)."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    keys = [loader.construct_object(k, deep=deep) for k, _ in node.value]
    dupes = {k for k in keys if keys.count(k) > 1}
    mapping = loader.construct_mapping(node, deep=deep)
    mapping["__line__"] = node.start_mark.line + 1
    if dupes:
        mapping["__dupkeys__"] = sorted(map(str, dupes))
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _strip_meta(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _strip_meta(v) for k, v in obj.items() if k not in ("__line__", "__dupkeys__")}
    if isinstance(obj, list):
        return [_strip_meta(v) for v in obj]
    return obj


def builtin_framework(name: str) -> Path:
    """Path of a framework shipped with qlwork: ``"county"`` or ``"village"``."""
    p = PACKAGE_DATA / f"framework_{name}.yaml"
    if not p.is_file():
        raise QlworkError(Problem("unknown_framework", f"没有内置框架 {name!r}", "no such built-in framework",
                                  found=name, expected="county 或 village"))
    return p


def load_framework(source: str | Path | Mapping[str, Any] | Framework) -> Framework:
    """Load and check a framework from a YAML path or a nested mapping.

    Every problem is collected and raised together as a :class:`QlworkError`
    whose problems carry the YAML path (``column``) and line (``row``).
    """
    if isinstance(source, Framework):
        return source
    fname = None
    if isinstance(source, (str, Path)):
        p = Path(source)
        if not p.is_file() and isinstance(source, str) and not source.endswith((".yaml", ".yml")):
            p = builtin_framework(source)
        fname = str(p)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise QlworkError(Problem("file_not_found", "找不到框架文件", "framework file not found", file=fname)) from None
        except UnicodeDecodeError as e:
            raise QlworkError(Problem("bad_encoding", "框架文件不是 UTF-8 编码", "framework YAML is not UTF-8",
                                      file=fname, found=str(e)[:80], expected="UTF-8")) from None
        try:
            data = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            raise QlworkError(Problem(
                "yaml_syntax", "框架 YAML 语法错误", f"YAML syntax error: {getattr(e, 'problem', e)}",
                file=fname, row=(mark.line + 1) if mark else None)) from None
    else:
        data = copy.deepcopy(dict(source))
    if not isinstance(data, dict):
        raise QlworkError(Problem("bad_framework", "框架必须是一个映射（字典）", "framework must be a mapping",
                                  file=fname, found=type(data).__name__, expected="mapping"))
    return _build(data, fname)


def _build(data: dict, fname: str | None) -> Framework:
    problems: list[Problem] = []

    def prob(code: str, zh: str, en: str, path: str, line: int | None, found: Any = None, expected: Any = None):
        problems.append(Problem(code, zh, en, file=fname, row=line, column=path, found=found, expected=expected))

    nodes: dict[str, Node] = {}
    inds: dict[str, Indicator] = {}
    seen_at: dict[str, str] = {}

    def num(v: Any, path: str, line: int | None, what: str) -> float | None:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            prob("bad_number", f"{what} 必须是数字", f"{what} must be a number", path, line, v, "数字 number")
            return None
        if not math.isfinite(float(v)) and what != "range":
            prob("bad_number", f"{what} 必须是有限数", f"{what} must be finite", path, line, v, "有限数 finite")
            return None
        return float(v)

    def pair(v: Any, path: str, line: int | None, what: str) -> tuple[float, float] | None:
        if isinstance(v, Mapping):
            lo, hi = v.get("min", v.get("low")), v.get("max", v.get("high"))
        elif isinstance(v, (list, tuple)) and len(v) == 2:
            lo, hi = v
        else:
            prob("bad_pair", f"{what} 应为 [下限, 上限] 或 {{min, max}}", f"{what} must be [low, high]", path, line, v, "[low, high]")
            return None
        lo = -math.inf if lo is None else lo
        hi = math.inf if hi is None else hi
        try:
            lo, hi = float(lo), float(hi)
        except (TypeError, ValueError):
            prob("bad_pair", f"{what} 的上下限必须是数字", f"{what} bounds must be numbers", path, line, v, "numbers")
            return None
        if not lo < hi:
            prob("bad_pair", f"{what} 的下限必须小于上限", f"{what} low must be < high", path, line, [lo, hi], "low < high")
            return None
        return (lo, hi)

    def walk(n: Any, path: str, parent: str | None, level: int, stack: tuple[str, ...]) -> str | None:
        if not isinstance(n, dict):
            prob("bad_node", "节点必须是映射", "node must be a mapping", path, None, n, "mapping with id")
            return None
        line = n.get("__line__")
        for k in n.get("__dupkeys__", []):
            prob("duplicate_key", f"键 {k!r} 重复出现", f"key {k!r} appears twice", path, line, k, "每个键一次 each key once")
        nid = n.get("id")
        if nid is None or (not isinstance(nid, (str, int))) or str(nid).strip() == "":
            prob("missing_id", "节点缺少 id", "node has no id", path, line, nid, "非空编号 non-empty id")
            return None
        nid = str(nid)
        path = f"{path}[{nid}]" if path else nid
        if nid in stack:
            prob("cycle", f"节点 {nid} 出现循环引用", f"cycle: {nid} is its own ancestor", path, line, " > ".join(stack + (nid,)), "树结构 a tree")
            return None
        if nid in seen_at:
            prob("duplicate_id", f"编号 {nid} 重复（首次出现于 {seen_at[nid]}）", f"duplicate id {nid}", path, line, nid, "唯一编号 unique ids")
            return None
        seen_at[nid] = path
        has_children = "children" in n
        allowed = (_NODE_KEYS | (_FRAMEWORK_KEYS if level == 0 else set())) if has_children else _INDICATOR_KEYS
        if level == 0:
            allowed = allowed | {"name_en"}
        unknown = sorted(str(k) for k in n if k not in allowed and k not in ("__line__", "__dupkeys__"))
        if unknown:
            prob("unknown_key", f"未知的键 {unknown}", f"unknown keys {unknown}", path, line, unknown,
                 f"允许的键 allowed: {sorted(allowed)}")
        weight = 1.0
        if level > 0:
            if "weight" not in n:
                prob("missing_weight", "缺少权重 weight", "missing weight", path, line, None, "0–1 之间的数 a number in [0, 1]")
            else:
                w = num(n["weight"], path, line, "weight")
                if w is not None:
                    if w < 0:
                        prob("bad_weight", "权重不能为负", "weight must be >= 0", path, line, w, ">= 0")
                    weight = w if w is not None else 1.0
        name = str(n.get("name", "") or "")
        name_en = str(n.get("name_en", "") or "")
        if has_children:
            kids = n.get("children")
            if not isinstance(kids, list) or len(kids) == 0:
                prob("empty_node", f"节点 {nid} 没有子节点", f"node {nid} has no children", path, line, kids, "至少一个子节点 at least one child")
                nodes[nid] = Node(nid, name or nid, name_en, weight, (), parent, level)
                return nid
            child_ids = []
            wsum = 0.0
            all_w = True
            for i, c in enumerate(kids):
                cid = walk(c, f"{path}.children", nid, level + 1, stack + (nid,))
                if cid is not None:
                    child_ids.append(cid)
                if isinstance(c, dict) and isinstance(c.get("weight"), (int, float)) and not isinstance(c.get("weight"), bool):
                    wsum += float(c["weight"])
                else:
                    all_w = False
            if all_w and abs(wsum - 1.0) > WEIGHT_TOL:
                prob("weights_not_one", f"节点 {nid} 的子节点权重之和为 {wsum:.6g}，应为 1",
                     f"children weights of {nid} sum to {wsum:.6g}, not 1", path, line, round(wsum, 10), "1")
            nodes[nid] = Node(nid, name or nid, name_en, weight, tuple(child_ids), parent, level)
            return nid
        if level == 0:
            prob("empty_node", "根节点没有 children", "root has no children", path, line, None, "children")
            return None
        # indicator
        direction = n.get("direction")
        if direction is None:
            prob("missing_direction", f"指标 {nid} 缺少方向 direction", f"indicator {nid} has no direction", path, line, None, "1 或 -1")
            direction = 1
        elif direction not in (1, -1) or isinstance(direction, bool):
            prob("bad_direction", f"指标 {nid} 的方向必须是 1 或 -1", "direction must be 1 or -1", path, line, direction, "1 或 -1")
            direction = 1
        applies = n.get("applies_to")
        if applies is not None:
            if isinstance(applies, str):
                applies = [applies]
            if not isinstance(applies, list) or not applies:
                prob("bad_applies_to", "applies_to 应为单位类型列表", "applies_to must be a list of unit types", path, line, applies, "list")
                applies = None
            else:
                applies = tuple(str(a) for a in applies)
        gp = pair(n["goalposts"], path, line, "goalposts") if n.get("goalposts") is not None else None
        rng = pair(n["range"], path, line, "range") if n.get("range") is not None else (-math.inf, math.inf)
        target = num(n["target"], path, line, "target") if n.get("target") is not None else None
        inds[nid] = Indicator(
            id=nid, name=name or nid, name_en=name_en, weight=weight, direction=int(direction),
            unit=str(n.get("unit", "") or ""), source=str(n.get("source", "") or ""),
            applies_to=applies, goalposts=gp, target=target, valid_range=rng or (-math.inf, math.inf),
            kind=str(n.get("kind", "") or ""), public=bool(n.get("public", False)), parent=parent,
        )
        return nid

    root = walk(data, "", None, 0, ())
    meta = {k: data.get(k) for k in _FRAMEWORK_KEYS if k in data}
    line0 = data.get("__line__")

    grades = DEFAULT_GRADES
    if meta.get("grades") is not None:
        g = meta["grades"]
        try:
            if isinstance(g, Mapping):
                items = [(str(k), float(v)) for k, v in g.items() if k not in ("__line__",)]
            else:
                items = [(str(x["label"]), float(x["min"])) for x in g]
            items.sort(key=lambda t: -t[1])
            grades = tuple(items)
            if len(grades) < 2:
                raise ValueError
            grades = grades[:-1] + ((grades[-1][0], -math.inf),)
        except (TypeError, ValueError, KeyError):
            prob("bad_grades", "grades 应为 {等级: 下限} 映射", "grades must map label -> lower bound", "grades", line0, g,
                 "{优秀: 90, 良好: 80, 合格: 60, 不合格: 0}")
    share = meta.get("social_share", 0.0)
    if not isinstance(share, (int, float)) or isinstance(share, bool) or not 0 <= share <= 1:
        prob("bad_share", "social_share 必须在 0 与 1 之间", "social_share must be in [0, 1]", "social_share", line0, share, "[0, 1]")
        share = 0.0
    unit_types = tuple(str(t) for t in (meta.get("unit_types") or ()))
    for ind in inds.values():
        for t in ind.applies_to or ():
            if unit_types and t not in unit_types:
                prob("unknown_unit_type", f"指标 {ind.id} 适用的单位类型 {t} 不在 unit_types 中",
                     f"indicator {ind.id} applies to unknown unit type {t}", ind.id, None, t, list(unit_types))
    if problems:
        raise QlworkError(problems)
    if root is None:
        raise QlworkError(Problem("bad_framework", "框架为空", "empty framework", file=fname))
    return Framework(
        id=root,
        name=nodes[root].name,
        root=root,
        nodes=nodes,
        indicators=inds,
        version=str(meta.get("version", "") or ""),
        unit_types=unit_types,
        grades=grades,
        pass_mark=float(meta.get("pass_mark", 60.0)),
        social_share=float(share),
        bottom_n=int(meta.get("bottom_n", 3)),
        drop_points=float(meta.get("drop_points", 10.0)),
        veto=tuple(_strip_meta(v) for v in (meta.get("veto") or ())),
        bonus=_strip_meta(meta.get("bonus")) if meta.get("bonus") else None,
        source=fname or "",
        raw=_strip_meta(data),
    )
