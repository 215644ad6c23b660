"""The package layering written in README.md ("How it is built") holds in the code.

Every import between two of ``agent``'s packages (function-level imports included: a lazy
import is still a dependency) must go to a strictly lower layer; packages of one layer do not
import each other. Every module's imports are also checked for cycles at file level.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "agent"


def readme_layers() -> list[list[str]]:
    """The fenced block after ``<!-- layers -->`` in README.md, lowest layer first."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- layers -->\s*```[a-z]*\n(.*?)```", text, re.S)
    assert match, "README.md lost its '<!-- layers -->' block"
    layers = []
    for line in match.group(1).splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            layers.append(line.split())
    return list(reversed(layers))  # written top (entry points) to bottom (base)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def unit_of(module: str) -> str:
    """``agent.room.session`` -> ``room``; ``agent.worker`` -> ``worker``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "agent"


def imports_of(path: Path) -> set[str]:
    """Modules of ``agent`` that ``path`` imports, anywhere in the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("agent."))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "agent":
                found.update(f"agent.{a.name}" for a in node.names)
            elif node.module.startswith("agent."):
                found.add(node.module)
                # "from agent.x import y" where y is a submodule is an import of it too
                for alias in node.names:
                    candidate = f"{node.module}.{alias.name}"
                    if module_path(candidate) is not None:
                        found.add(candidate)
    return found


def module_path(module: str) -> Path | None:
    base = ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def test_every_package_has_a_layer() -> None:
    listed = {unit for layer in readme_layers() for unit in layer}
    present = {unit_of(m) for m in all_modules()} - {"agent"}
    assert present - listed == set(), "packages missing from README's layers block"
    assert listed - present == set(), "README's layers block names packages that do not exist"


def test_imports_go_downward_only() -> None:
    rank = {unit: i for i, layer in enumerate(readme_layers()) for unit in layer}
    rank["agent"] = -1  # the package's own __init__ is the bottom
    upward = []
    for module, path in sorted(all_modules().items()):
        source = unit_of(module)
        for target in sorted(imports_of(path)):
            dest = unit_of(target)
            if dest != source and rank[dest] >= rank[source]:
                upward.append(f"{module} imports {target} ({source} -> {dest})")
    assert upward == []


def test_no_import_cycles_between_files() -> None:
    modules = all_modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for module, path in modules.items():
        for target in imports_of(path):
            if target in modules and target != module:
                graph[module].add(target)
    cycles = strongly_connected(graph)
    assert [sorted(c) for c in cycles if len(c) > 1] == []


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative (the graph has a few hundred nodes)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[set[str]] = []
    counter = 0
    nodes = set(graph) | {t for ts in graph.values() for t in ts}
    for start in sorted(nodes):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        top = stack.pop()
                        on_stack.discard(top)
                        component.add(top)
                        if top == node:
                            break
                    out.append(component)
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return out


def test_every_import_of_agent_resolves() -> None:
    """A lazy import of a module that moved fails only when its branch runs: find it here."""
    missing = []
    files = {**all_modules(), **{str(p): p for d in ("tests", "bench") for p in (ROOT / d).rglob("*.py")}}
    for module, path in sorted(files.items()):
        for target in sorted(imports_of(path)):
            if module_path(target) is None:
                missing.append(f"{module} imports {target}")
    assert missing == []


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    """The checker itself: an upward import in a file is found."""
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from agent.room.session import RoomSession\n")
    assert "agent.room.session" in imports_of(probe)
    assert strongly_connected({"a": {"b"}, "b": {"a"}, "c": {"a"}}) != []
    assert any(len(c) == 2 for c in strongly_connected({"a": {"b"}, "b": {"a"}}))
