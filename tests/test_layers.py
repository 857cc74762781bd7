"""The layout is the data flow: no package cycle, and nothing below the plugin and the command line
imports them.

The graph is read from the source (``ast``), imports inside functions included: a lazy import
keeps torch out of the plugin's import, not out of the design. A unit is a subpackage of
``harness`` (``harness.claims``, ``harness.judge``, ...) or a top-level module (``harness.run``).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import harness

ROOT = Path(harness.__file__).parent
# On top: what pytest and the shell call. Only the command line's own modules may import it.
TOP = {"harness.plugin": set(), "harness.cli": {"harness.__main__", "harness.cli_commands"}}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _exists(name: str) -> bool:
    base = ROOT.parent / name.replace(".", "/")
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _resolve(name: str) -> str | None:
    """The harness module an import names (``from harness.judge import verdict`` -> harness.judge.verdict)."""
    while name and not _exists(name):
        name = name.rpartition(".")[0]
    return name or None


def imports() -> dict[str, set[str]]:
    """Module -> the harness modules it imports, anywhere in its body."""
    out: dict[str, set[str]] = defaultdict(set)
    for path in sorted(ROOT.rglob("*.py")):
        module = _module_name(path)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([node.module] if node.module else []))
                names = [base] + [f"{base}.{a.name}" for a in node.names]
            else:
                continue
            for name in names:
                found = _resolve(name) if name.split(".")[0] == "harness" else None
                if found and found != module:
                    out[module].add(found)
    return out


def unit(module: str) -> str:
    return ".".join(module.split(".")[:2])


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
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
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_sees_imports_inside_functions():
    graph = imports()
    assert "harness.workload" in graph["harness.plugin"]          # imported inside a hook
    assert "harness.judge.verdict" in graph["harness.kinds.split_measurement"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_package_cycle():
    graph = imports()
    units: dict[str, set[str]] = defaultdict(set)
    via: dict[tuple[str, str], list[str]] = defaultdict(list)
    for module, targets in graph.items():
        for target in targets:
            if unit(target) != unit(module):
                units[unit(module)].add(unit(target))
                via[unit(module), unit(target)].append(f"{module} -> {target}")
    found = cycles(units)
    assert not found, "package cycles: " + "; ".join(
        f"{comp}: " + ", ".join(e for a in comp for b in comp for e in via.get((a, b), [])) for comp in found)


def test_nothing_below_imports_the_plugin_or_the_command_line():
    wrong = [f"{module} -> {target}" for module, targets in imports().items() for target in targets
             for top, allowed in TOP.items()
             if target == top and module not in allowed and unit(module) != top]
    assert not wrong, wrong
