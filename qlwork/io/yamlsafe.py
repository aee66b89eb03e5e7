"""YAML that cannot run, explode or recurse (framework, survey items, index specs).

PyYAML's ``SafeLoader`` never executes tags, but it still builds whatever the text
describes.  A 1 KB file of nested anchors ("billion laughs") describes 10⁹ nodes: the
loader shares them by reference, and the first code that walks the result (a deep copy,
JSON for a fingerprint, the framework checks) runs for minutes and dies with MemoryError.
Four hundred levels of nesting overflow the recursive composer.  :func:`load_yaml` checks
the text before building anything:

1. size ≤ :attr:`~qlwork.io.guard.Limits.max_yaml_bytes`;
2. the event stream (PyYAML's parser is iterative) — nesting depth ≤ ``max_yaml_depth``;
3. the node graph (composed, not yet constructed) — the number of nodes and the nesting
   depth after expanding every alias ≤ ``max_yaml_nodes`` / ``max_yaml_depth``, counted with
   memoisation so the count itself is linear; an alias that contains itself is reported (or, for the framework loader,
   left to its own cycle check) — and duplicate mapping keys are reported;
4. only then the Python objects are constructed.

Every refusal is a located, bilingual :class:`~qlwork.errors.Problem` with the line.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from ..errors import Problem, QlworkError
from .guard import DEFAULT_LIMITS, Limits

__all__ = ["load_yaml", "YamlInfo"]


@dataclass(frozen=True)
class YamlInfo:
    """What :func:`load_yaml` saw: expanded node count, nesting depth, and the line of an
    alias that contains itself (when recursion was allowed)."""

    nodes: int = 0
    depth: int = 0
    recursive_line: int | None = None


def _syntax(e: yaml.YAMLError, file: str | None, what: str) -> QlworkError:
    mark = getattr(e, "problem_mark", None)
    return QlworkError(Problem("yaml_syntax", f"{what} YAML 语法错误", f"YAML syntax error: {getattr(e, 'problem', e)}",
                               file=file, row=(mark.line + 1) if mark else None))


def load_yaml(text: str, *, file: str | None = None, loader: type = yaml.SafeLoader,
              limits: Limits = DEFAULT_LIMITS, allow_recursion: bool = False, duplicate_keys: bool = True,
              what: str = "") -> tuple[Any, YamlInfo]:
    """Parse ``text`` with ``loader`` (a SafeLoader subclass) within ``limits``; returns
    ``(data, info)`` or raises :class:`QlworkError` (syntax, too large, too deep, alias
    expansion, recursion, duplicate keys when ``duplicate_keys``)."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > limits.max_yaml_bytes:
        raise QlworkError(Problem("file_too_large", f"{what} YAML 文件过大（{size:,} 字节），未读取",
                                  f"YAML file too large ({size:,} bytes); not read", file=file,
                                  found=f"{size:,} bytes", expected=f"≤ {limits.max_yaml_bytes:,}"))
    # 1. nesting depth from the event stream (iterative parser: no recursion yet)
    depth = deepest = 0
    try:
        for ev in yaml.parse(text, Loader=loader):
            if isinstance(ev, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > deepest:
                    deepest = depth
                    if depth > limits.max_yaml_depth:
                        raise QlworkError(Problem(
                            "yaml_too_deep", f"{what} YAML 嵌套层数过多（超过 {limits.max_yaml_depth} 层），未读取",
                            f"YAML nested deeper than {limits.max_yaml_depth} levels; not read", file=file,
                            row=ev.start_mark.line + 1, found=f"> {limits.max_yaml_depth}",
                            expected=f"≤ {limits.max_yaml_depth} 层 levels"))
            elif isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
        # 2. the node graph: aliases expanded by counting, duplicate keys
        node = yaml.compose(text, Loader=loader)
    except yaml.YAMLError as e:
        raise _syntax(e, file, what) from None
    except RecursionError:
        raise QlworkError(Problem("yaml_too_deep", f"{what} YAML 嵌套层数过多，未读取", "YAML nested too deeply; not read",
                                  file=file)) from None
    info = YamlInfo(0, deepest)
    if node is None:
        return None, info
    sizes: dict[int, int] = {}
    depths: dict[int, int] = {}
    on_stack: set[int] = set()
    recursive_line = None
    dupes: list[Problem] = []

    def count(n) -> int:  # iterative post-order walk: nodes after expanding aliases
        nonlocal recursive_line
        stack = [(n, False)]
        while stack:
            cur, done = stack.pop()
            k = id(cur)
            if done:
                on_stack.discard(k)
                kids = _children(cur)
                total = 1
                deepest_kid = 0
                for c in kids:
                    total += sizes.get(id(c), 1)  # a back edge (recursion) counts once
                    deepest_kid = max(deepest_kid, depths.get(id(c), 0))
                sizes[k] = total
                depths[k] = deepest_kid + (1 if kids or isinstance(cur, _COLLECTIONS) else 0)
                if depths[k] > limits.max_yaml_depth:  # aliases can nest far deeper than the text does
                    raise QlworkError(Problem(
                        "yaml_too_deep", f"{what} YAML 的别名展开后嵌套层数过多（超过 {limits.max_yaml_depth} 层），未读取",
                        f"YAML aliases nest deeper than {limits.max_yaml_depth} levels once expanded; not read",
                        file=file, row=cur.start_mark.line + 1, found=f"> {limits.max_yaml_depth}",
                        expected=f"≤ {limits.max_yaml_depth} 层 levels"))
                if total > limits.max_yaml_nodes:
                    raise QlworkError(Problem(
                        "yaml_aliases", f"{what} YAML 的锚点/别名展开后过大（超过 {limits.max_yaml_nodes:,} 个节点，"
                        "“billion laughs”式膨胀），未读取", f"YAML anchors/aliases expand beyond {limits.max_yaml_nodes:,} "
                        "nodes (\"billion laughs\"); not read", file=file, row=cur.start_mark.line + 1,
                        found=f"> {limits.max_yaml_nodes:,}", expected=f"≤ {limits.max_yaml_nodes:,} 个节点 nodes"))
                continue
            if k in sizes:
                continue
            if k in on_stack:  # an alias inside its own anchor
                recursive_line = recursive_line or cur.start_mark.line + 1
                continue
            on_stack.add(k)
            stack.append((cur, True))
            if duplicate_keys and isinstance(cur, yaml.MappingNode):
                seen: dict = {}
                for kn, _ in cur.value:
                    if isinstance(kn, yaml.ScalarNode) and kn.tag != "tag:yaml.org,2002:merge":
                        key = (kn.tag, kn.value)
                        if key in seen:
                            dupes.append(Problem("duplicate_key", f"{what} YAML 中键 {kn.value!r} 重复出现（首次在第 {seen[key]} 行），"
                                                 "后者会悄悄覆盖前者", f"key {kn.value!r} appears twice (first on line "
                                                 f"{seen[key]}); the second would silently win", file=file,
                                                 row=kn.start_mark.line + 1, found=kn.value, expected="每个键一次 each key once"))
                        else:
                            seen[key] = kn.start_mark.line + 1
            for c in _children(cur):
                if id(c) not in sizes:
                    stack.append((c, False))
        return sizes[id(n)]

    total = count(node)
    if dupes:
        raise QlworkError(dupes)
    if recursive_line is not None and not allow_recursion:
        raise QlworkError(Problem("cycle", f"{what} YAML 的别名引用了包含它自己的锚点（循环引用），未读取",
                                  "a YAML alias refers to an anchor that contains it (cycle); not read", file=file,
                                  row=recursive_line, expected="树结构 a tree"))
    info = YamlInfo(total, deepest, recursive_line)
    try:
        ld = loader(text)
        try:
            data = ld.construct_document(node)
        finally:
            ld.dispose()
    except yaml.YAMLError as e:
        raise _syntax(e, file, what) from None
    except RecursionError:
        raise QlworkError(Problem("yaml_too_deep", f"{what} YAML 嵌套层数过多，未读取", "YAML nested too deeply; not read",
                                  file=file)) from None
    return data, info


_COLLECTIONS = (yaml.MappingNode, yaml.SequenceNode)


def _children(n) -> list:
    if isinstance(n, yaml.MappingNode):
        return [x for kv in n.value for x in kv]
    if isinstance(n, yaml.SequenceNode):
        return list(n.value)
    return []
