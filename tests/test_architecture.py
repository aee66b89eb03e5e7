"""The shape of the house (docs/architecture.md): no import cycles, commands only behind the CLI,
small modules, and every processed artefact declared in the catalogue with its schema."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PKG = REPO / "qlwork"
MAX_LINES = 600
#: a module may be longer when its docstring says why
LONG_REASON = "Longer than 600 lines because"


def _module_name(path: Path) -> str:
    rel = path.relative_to(REPO).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PKG.rglob("*.py")}


def _imports(path: Path, mods: dict[str, Path]) -> set[str]:
    """Every qlwork module ``path`` imports — module level and inside functions alike."""
    name = _module_name(path)
    pkg = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("qlwork"):
                    out.add(a.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("qlwork"):
                continue
            for a in node.names:
                sub = f"{target}.{a.name}"
                out.add(sub if sub in mods else target)
    return {m for m in out if m in mods and m != name}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    import sys

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return out


def _package_edge(a: str, b: str) -> bool:
    """An edge between a package and its own submodule (``pkg/__init__`` re-exporting ``pkg.x``)."""
    return b.startswith(a + ".") or a.startswith(b + ".")


def test_no_import_cycles_inside_qlwork():
    mods = _modules()
    graph = {m: {t for t in _imports(p, mods) if not _package_edge(m, t)} for m, p in mods.items()}
    assert _cycles(graph) == []


def test_the_cycle_detector_finds_a_cycle(tmp_path):
    # the detector itself can fail: a → b → c → a is one component
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _code_files():
    for p in list(REPO.glob("qlwork/**/*.py")) + list(REPO.glob("tests/**/*.py")) + \
            list(REPO.glob("benchmarks/*.py")) + list(REPO.glob("notebooks/*.ipynb")) + \
            list(REPO.glob("dashboards/*.ipynb")):
        if p.suffix == ".ipynb":
            nb = json.loads(p.read_text(encoding="utf-8"))
            src = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
            src = "\n".join(l for l in src.splitlines() if not l.lstrip().startswith(("%", "!")))
        else:
            src = p.read_text(encoding="utf-8")
        yield p, src


def test_nothing_but_the_cli_imports_the_commands():
    offenders = []
    for p, src in _code_files():
        rel = p.relative_to(REPO).as_posix()
        if rel == "qlwork/cli.py" or rel.startswith("qlwork/commands/"):
            continue
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                mod = node.module or ""
                if node.level and rel.startswith("qlwork/"):
                    pkg = _module_name(p).split(".")
                    pkg = pkg[: len(pkg) - node.level + (1 if p.name == "__init__.py" else 0)]
                    mod = ".".join(pkg + ([mod] if mod else []))
                names = [mod] + [f"{mod}.{a.name}" for a in node.names]
            if any(n == "qlwork.commands" or n.startswith("qlwork.commands.") for n in names):
                offenders.append(f"{rel}:{node.lineno}")
    assert offenders == []


#: the layers of docs/architecture.md, top down: a module imports only from its own layer or below
FACES = ("qlwork.cli", "qlwork.commands", "qlwork.dashboard", "qlwork.serve")
WORKFLOW = ("qlwork.workflow", "qlwork.demo")  # the demo builder reads official results (registers from warnings)


def _layer(mod: str) -> int:
    if any(mod == p or mod.startswith(p + ".") for p in FACES):
        return 2
    if any(mod == p or mod.startswith(p + ".") for p in WORKFLOW):
        return 1
    return 0  # renderers, domain, io


def test_layers_import_downwards_only():
    mods = _modules()
    up = sorted(f"{m} → {t}" for m, p in mods.items() for t in _imports(p, mods)
                if _layer(t) > _layer(m) and m != "qlwork" and not m.startswith("qlwork.__"))
    assert up == []


def test_the_layer_check_sees_an_upward_import():
    assert _layer("qlwork.engine.scorer") < _layer("qlwork.workflow.official") < _layer("qlwork.dashboard.tabs.ranking")


def test_modules_are_small_or_say_why():
    long = []
    for p in PKG.rglob("*.py"):
        text = p.read_text(encoding="utf-8")
        n = text.count("\n") + 1
        if n > MAX_LINES:
            doc = ast.get_docstring(ast.parse(text)) or ""
            if LONG_REASON not in doc:
                long.append(f"{p.relative_to(REPO)} ({n} lines)")
    assert long == []


@pytest.mark.slow
def test_every_processed_artefact_is_declared_and_matches_its_schema(demo_root_full):
    """After what ``make data`` runs, every table in data/processed is a catalogue artefact and
    conforms to its declared schema (the writer checked it; here it is read back and checked again)."""
    import pandas as pd

    from qlwork.io.catalogue import check_schema, match_path

    proc = demo_root_full / "data" / "processed"
    seen = set()
    for p in proc.rglob("*.parquet"):
        rel = p.relative_to(proc).as_posix()
        hit = match_path(rel)
        assert hit is not None, f"{rel} is not declared in qlwork/io/catalogue.py"
        art, _ = hit
        assert check_schema(pd.read_parquet(p), art, file=rel) == [], rel
        seen.add(art.name)
    assert {"values", "units", "problems", "veto", "bonus", "public", "sensitivity", "weights",
            "result_ranking", "result_scores", "result_stage"} <= seen
