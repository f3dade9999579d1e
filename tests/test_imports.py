"""The house has one direction: no import circle between the modules of ``engine/`` and ``workers/``.

The imports are read from the source with ``ast`` (nothing is imported, no model loads), every import
statement wherever it stands: at the top, inside a function (a lazy import that only postpones a circle
is still a circle: it fails at the first call instead of at start-up, or works only because of the order
modules happen to load in), under ``try``.

What counts as an edge A -> B:
- ``import B`` / ``from B import name`` in A, where B (or ``B.name``, when that is a module) is ours;
- the packages Python runs on the way to B (``import engine.web.config`` runs ``engine/web/__init__.py``),
  except those A sits in itself: A's own packages are already being imported when A runs.

Imports under ``if TYPE_CHECKING:`` count too. They never run, so on their own they cannot break an
import at run time; but a type a module names is a module it depends on (pydantic and
``typing.get_type_hints`` do resolve such names at run time), and a circle kept only under the block is
one edit away from a real one. The one exception is a package's ``__init__`` naming its own submodules
there: that mirrors its ``lazy_exports`` map, whose imports run only when a caller reads the name, after
the package and the submodule have both loaded. Where a module must name a type from a module that
imports it, it names a ``Protocol`` of what it uses instead (``engine.web.case_routes.Site``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "workers")


def module_files() -> dict[str, Path]:
    """Every module of ours by its dotted name (a package is its ``__init__.py``)."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, type_checking: bool = False) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement under ``tree``, with whether it sits under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, type_checking
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                yield from _imports(ast.Module(body=[child], type_ignores=[]), True)
            for child in node.orelse:
                yield from _imports(ast.Module(body=[child], type_ignores=[]), type_checking)
        else:
            yield from _imports(node, type_checking)


def _package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _targets(node: ast.Import | ast.ImportFrom, module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Our modules an import statement names (the most specific one that exists)."""
    def ours(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    named: set[str | None] = set()
    if isinstance(node, ast.Import):
        named = {ours(alias.name) for alias in node.names}
    else:
        base = node.module or ""
        if node.level:  # relative: from the importer's package, one level up per extra dot
            package = _package_of(module, path).split(".")
            anchor = ".".join(package[: len(package) - node.level + 1])
            base = f"{anchor}.{base}" if base else anchor
        for alias in node.names:
            named.add(ours(f"{base}.{alias.name}") if f"{base}.{alias.name}" in modules else ours(base))
    return {n for n in named if n is not None}


def _ancestors(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def import_graph(include_type_checking: bool = True) -> dict[str, set[str]]:
    """Module -> the modules of ours it imports (``include_type_checking=False``: only what runs)."""
    modules = module_files()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        own = {*_ancestors(module), module}
        facade = path.name == "__init__.py"
        for node, type_only in _imports(tree):
            if type_only and not include_type_checking:
                continue
            for target in _targets(node, module, path, modules):
                if type_only and facade and target.startswith(f"{module}."):
                    continue  # the package's lazy public surface, named for the type checker
                implicit = {a for a in _ancestors(target) if a in modules and a not in own}
                graph[module] |= ({target} | implicit) - {module}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each strongly connected group of two or more modules, as one circle through it (``a -> b -> a``)."""
    return [_circle_through(group, graph) for group in import_groups(graph)]


def import_groups(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected groups of two or more modules: each member imports every other, via the rest."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(start: str) -> None:  # Tarjan's algorithm, iterative: the graph is a few hundred modules deep
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(group)

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return groups


def _circle_through(group: set[str], graph: dict[str, set[str]]) -> list[str]:
    """A shortest circle from the group's first module back to itself, inside the group."""
    start = min(group)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for child in sorted(graph[node] & group):
            if child == start:
                return [*paths[node], start]
            if child not in paths:
                paths[child] = [*paths[node], child]
                queue.append(child)
    raise AssertionError(f"no circle in {sorted(group)}")  # a strongly connected group always has one


def describe(graph: dict[str, set[str]]) -> str:
    """One line per circle, and the other modules of its group when there are more."""
    lines = []
    for group in import_groups(graph):
        circle = _circle_through(group, graph)
        rest = sorted(group - set(circle))
        lines.append(" -> ".join(circle) + (f"   (same group: {', '.join(rest)})" if rest else ""))
    return "\n".join(lines)


def test_no_import_circle_between_modules() -> None:
    graph = import_graph()
    assert not import_cycles(graph), f"import circles:\n{describe(graph)}"


def test_the_walker_finds_a_circle_and_reads_lazy_and_relative_imports() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_cycles(graph) == [["a", "b", "c", "a"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []
    tree = ast.parse("import os\ndef f():\n    from engine import lazy\nif TYPE_CHECKING:\n    import engine.record\n")
    assert [(type(n).__name__, t) for n, t in _imports(tree)] == [("Import", False), ("ImportFrom", False),
                                                                  ("Import", True)]
    modules = module_files()
    relative = ast.parse("from .texts import CaseTexts\nfrom . import records\n").body
    path = modules["engine.cases.annotation"]
    assert _targets(relative[0], "engine.cases.annotation", path, modules) == {"engine.cases.texts"}
    assert _targets(relative[1], "engine.cases.annotation", path, modules) == {"engine.cases.records"}


def test_a_package_on_the_way_to_a_module_counts_and_its_lazy_surface_does_not() -> None:
    graph = import_graph()
    # Importing engine.web.config runs engine/web/__init__.py first; engine.config imports it at start-up.
    assert {"engine.web", "engine.web.config"} <= graph["engine.config"]
    # engine/web/__init__.py names create_app under TYPE_CHECKING for its lazy exports: not an edge.
    assert "engine.web.app" not in graph["engine.web"]
