"""Architecture: the import graph of custom_components/iot_hub, read with ``ast``.

Nothing from the package is imported: every module's source is parsed, its imports are
resolved to module names relative to the package (``hub``, ``transport.websocket``,
``kinds.oven``; the package's own ``__init__.py`` is ``__init__``) and these rules hold:

1. No import cycle at runtime. Imports under ``if TYPE_CHECKING:`` do not run, so they are
   no runtime edge; imports inside functions do run, so they are.
2. A kind (a package ``kinds/<kind>/``) never imports another kind.
3. The hub (``hub``, ``device``), the transports (``transport/``) and the sessions
   (``sessions.py`` or ``sessions/``) never import a kind nor the kind list ``kinds``,
   not even for typing; the contract every kind implements (``kind.py``) is allowed.
   Nothing they reach through runtime imports is a kind's module or the kind list either.

``from .pkg import name`` is an edge to ``pkg.name`` when that module exists, else to
``pkg``. Importing ``a.b.c`` also runs ``a/__init__.py`` and ``a/b/__init__.py`` first:
those parent edges count for what a module reaches (rule 3), not for cycles (a package's
``__init__`` that imports its own submodules is no cycle: it finishes before they are used).
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

COMPONENT = Path(__file__).parent.parent / "custom_components" / "iot_hub"
PACKAGE = "custom_components.iot_hub"
ROOT = "__init__"  # module name of the package's own __init__.py
KINDS = "kinds"
KIND_FREE = ("hub", "device", "transport", "sessions")  # each a module or a package


@dataclass(frozen=True, slots=True)
class Import:
    """One edge of the graph: a statement of ``source`` that imports ``target``."""

    source: str
    target: str
    file: str
    lineno: int
    statement: str
    type_checking: bool
    parent: bool = False  # the implicit import of a parent package's __init__

    def __str__(self) -> str:
        """``hub.py:12: from .x import y  [-> x]``, for failure messages."""
        guard = " (under TYPE_CHECKING)" if self.type_checking else ""
        return f"{self.file}:{self.lineno}: {self.statement}  [-> {self.target}]{guard}"


@dataclass(frozen=True, slots=True)
class ImportGraph:
    """Every module of a package, every import between them, and the package's kinds."""

    modules: dict[str, str]  # module name -> file, relative to the package directory
    imports: tuple[Import, ...]
    kinds: tuple[str, ...]

    def runtime_edges(self, parents: bool = False, typing: bool = False) -> dict[str, list[Import]]:
        """Imports that run, by source module, each target once, sorted.

        ``parents``: with the implicit imports of parent packages' ``__init__``;
        ``typing``: with the imports under ``if TYPE_CHECKING:`` too.
        """
        edges: dict[str, dict[str, Import]] = {name: {} for name in self.modules}
        for imp in self.imports:
            if (typing or not imp.type_checking) and (parents or not imp.parent):
                edges.setdefault(imp.source, {}).setdefault(imp.target, imp)
        return {
            source: [by_target[target] for target in sorted(by_target)]
            for source, by_target in sorted(edges.items())
        }

    def kind_of(self, module: str) -> str | None:
        """The kind a module belongs to (``kinds.oven.handler`` -> ``oven``), if any."""
        parts = module.split(".")
        if len(parts) >= 2 and parts[0] == KINDS and parts[1] in self.kinds:
            return parts[1]
        return None


def _module_name(relative: Path) -> str:
    """``transport/websocket.py`` -> ``transport.websocket``; ``kinds/__init__.py`` -> ``kinds``."""
    parts = relative.with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) or ROOT


def _parents(module: str, modules: set[str]) -> list[str]:
    """The packages whose ``__init__`` runs before ``module`` (``a.b.c`` -> ``a``, ``a.b``)."""
    parts = module.split(".")
    return [name for i in range(1, len(parts)) if (name := ".".join(parts[:i])) in modules]


def _package_parts(module: str, relative: Path, package: str) -> list[str]:
    """The package a module's relative imports start from, as dotted parts of its full name."""
    parts = [*package.split("."), *(() if module == ROOT else module.split("."))]
    return parts if relative.name == "__init__.py" else parts[:-1]


def _is_type_checking(test: ast.expr) -> bool:
    """``if TYPE_CHECKING:`` or ``if typing.TYPE_CHECKING:``."""
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(
    nodes: list[ast.stmt], type_checking: bool = False
) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement, in functions and classes too, and whether TYPE_CHECKING guards it."""
    for node in nodes:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, type_checking
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _import_nodes(node.body, True)
            yield from _import_nodes(node.orelse, type_checking)
        else:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    yield from _import_nodes([child], type_checking)
                elif isinstance(child, ast.excepthandler | ast.match_case):
                    yield from _import_nodes(child.body, type_checking)


def _relative(full_name: str, package: str) -> str | None:
    """``custom_components.iot_hub.hub`` -> ``hub``; None for a module outside the package."""
    if full_name == package:
        return ROOT
    if full_name.startswith(f"{package}."):
        return full_name.removeprefix(f"{package}.")
    return None


def _targets(
    node: ast.Import | ast.ImportFrom, package_parts: list[str], package: str, modules: set[str]
) -> list[str]:
    """The package's modules one import statement names (external imports: none)."""
    if isinstance(node, ast.Import):
        found = [_relative(alias.name, package) for alias in node.names]
        return sorted({target for target in found if target is not None})
    if node.level > len(package_parts):
        return []  # above the top-level package: not one of ours (and an ImportError)
    if node.level:
        base_parts = package_parts[: len(package_parts) - node.level + 1]
        base = ".".join([*base_parts, *([node.module] if node.module else [])])
    else:
        base = node.module or ""
    relative_base = _relative(base, package)
    targets: set[str] = set()
    for alias in node.names:
        submodule = _relative(f"{base}.{alias.name}", package)
        if alias.name != "*" and submodule is not None and submodule in modules:
            targets.add(submodule)
        elif relative_base is not None:
            targets.add(relative_base)
    return sorted(targets)


def build_graph(directory: Path, package: str = PACKAGE) -> ImportGraph:
    """Parse every module under ``directory`` (the package ``package``) into an import graph."""
    files = {
        _module_name(path.relative_to(directory)): path
        for path in sorted(directory.rglob("*.py"))
        if "__pycache__" not in path.parts
    }
    names = set(files)
    imports: list[Import] = []
    for module, path in sorted(files.items()):
        relative = path.relative_to(directory)
        source = path.read_text(encoding="utf-8")
        try:
            tree = ast.parse(source, filename=str(path))
        except SyntaxError as err:
            pytest.fail(f"{relative}: cannot parse: {err}")
        package_parts = _package_parts(module, relative, package)
        for node, type_checking in _import_nodes(tree.body):
            statement = " ".join((ast.get_source_segment(source, node) or "").split())
            statement = statement.replace("( ", "(").replace(", )", ")").replace(" )", ")")
            for target in _targets(node, package_parts, package, names):
                where = (module, target, relative.as_posix(), node.lineno, statement)
                imports.append(Import(*where, type_checking))
                imports.extend(
                    Import(module, parent, *where[2:], type_checking, parent=True)
                    for parent in _parents(target, names)
                    if parent != module
                )
    kinds_dir = directory / KINDS
    kinds = (
        tuple(sorted(d.name for d in kinds_dir.iterdir() if (d / "__init__.py").is_file()))
        if kinds_dir.is_dir()
        else ()
    )
    return ImportGraph(
        modules={name: path.relative_to(directory).as_posix() for name, path in files.items()},
        imports=tuple(imports),
        kinds=kinds,
    )


def _strongly_connected(edges: dict[str, list[Import]]) -> list[list[str]]:
    """Tarjan's strongly connected components, each sorted, in a deterministic order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for imp in edges.get(node, []):
            if imp.target not in index:
                visit(imp.target)
                low[node] = min(low[node], low[imp.target])
            elif imp.target in on_stack:
                low[node] = min(low[node], index[imp.target])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            components.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(components)


def _path(
    edges: dict[str, list[Import]], start: str, goal: set[str], within: set[str] | None = None
) -> list[Import]:
    """The shortest chain of imports from ``start`` to a module of ``goal`` (BFS, sorted)."""
    came_from: dict[str, Import | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for imp in edges.get(node, []):
            if within is not None and imp.target not in within:
                continue
            if imp.target in goal:
                chain = [imp]
                while (previous := came_from[chain[-1].source]) is not None:
                    chain.append(previous)
                return chain[::-1]
            if imp.target not in came_from:
                came_from[imp.target] = imp
                queue.append(imp.target)
    return []


def _chain(imports: list[Import]) -> str:
    """``a -> b -> c`` and, one per line, the statements that make each step."""
    names = " -> ".join([imports[0].source, *(imp.target for imp in imports)])
    return "\n".join([names, *(f"      {imp}" for imp in imports)])


def find_cycles(graph: ImportGraph, typing: bool = False) -> list[str]:
    """One message per import cycle: its modules and a cycle through them.

    ``typing``: count imports under ``if TYPE_CHECKING:`` too (a circle in the design,
    even where it cannot fail at runtime).
    """
    edges = graph.runtime_edges(typing=typing)
    messages: list[str] = []
    for component in _strongly_connected(edges):
        members = set(component)
        first = component[0]
        cycle = _path(edges, first, {first}, within=members)
        if len(component) > 1 or cycle:
            messages.append(f"cycle {component}:\n    {_chain(cycle)}")
    return messages


def find_kinds_importing_kinds(graph: ImportGraph) -> list[str]:
    """One message per import (TYPE_CHECKING too) from a kind into another kind."""
    return [
        f"kind {graph.kind_of(imp.source)!r} ({imp.source}) imports kind "
        f"{graph.kind_of(imp.target)!r}: {imp}"
        for imp in graph.imports
        if not imp.parent
        and graph.kind_of(imp.source) is not None
        and graph.kind_of(imp.target) not in {None, graph.kind_of(imp.source)}
    ]


def kind_free_modules(graph: ImportGraph) -> list[str]:
    """The modules of the hub, the transports and the sessions that exist."""
    return [
        name
        for name in sorted(graph.modules)
        if any(name == top or name.startswith(f"{top}.") for top in KIND_FREE)
    ]


def find_kind_free_importing_kinds(graph: ImportGraph) -> list[str]:
    """One message per import (TYPE_CHECKING too) of a kind or of ``kinds`` by the hub & co."""
    guarded = set(kind_free_modules(graph))
    messages = []
    for imp in graph.imports:
        if imp.source not in guarded or imp.parent:
            continue
        if imp.target == KINDS:
            messages.append(f"{imp.source} must know no kind but imports the kind list: {imp}")
        elif (kind := graph.kind_of(imp.target)) is not None:
            messages.append(f"{imp.source} must know no kind but imports kind {kind!r}: {imp}")
    return messages


def find_kind_free_reaching_kinds(graph: ImportGraph) -> list[str]:
    """One message per hub/transport/sessions module that reaches a kind at runtime."""
    edges = graph.runtime_edges(parents=True)
    kind_modules = {
        imp.target for imp in graph.imports if graph.kind_of(imp.target) is not None
    } | {name for name in graph.modules if graph.kind_of(name) is not None}
    kind_modules.add(KINDS)  # the list imports every kind
    chains = [_path(edges, module, kind_modules) for module in kind_free_modules(graph)]
    return [
        f"{chain[0].source} reaches {graph.kind_of(chain[-1].target) or KINDS!r} at runtime:\n"
        f"    {_chain(chain)}"
        for chain in chains
        if chain
    ]


@pytest.fixture(scope="module")
def graph() -> ImportGraph:
    """The import graph of custom_components/iot_hub as it is on disk."""
    return build_graph(COMPONENT)


def _report(title: str, messages: list[str]) -> str:
    return "\n".join([f"{title} ({len(messages)}):", *(f"  {message}" for message in messages)])


def _skip_without_kinds(graph: ImportGraph) -> None:
    # Kinds exist now: a rule that found none would pass without checking anything.
    assert set(graph.kinds) >= {"oven", "charger"}, f"no {KINDS}/<kind>/ packages: {graph.kinds}"


def test_graph_is_not_trivial(graph: ImportGraph) -> None:
    assert len(graph.modules) >= 15, f"only {sorted(graph.modules)} under {COMPONENT}"
    assert "hub" in graph.modules, f"no hub.py under {COMPONENT}"
    assert any(imp.source == "hub" for imp in graph.imports), "hub.py imports nothing of its own"


def test_no_import_cycles(graph: ImportGraph) -> None:
    cycles = find_cycles(graph)
    assert not cycles, _report("runtime import cycles", cycles)


def test_no_import_cycles_even_for_typing(graph: ImportGraph) -> None:
    """No circle in the design either: typing-only imports go one direction too."""
    cycles = find_cycles(graph, typing=True)
    assert not cycles, _report("import cycles counting TYPE_CHECKING imports", cycles)


def test_kinds_do_not_import_each_other(graph: ImportGraph) -> None:
    _skip_without_kinds(graph)
    violations = find_kinds_importing_kinds(graph)
    assert not violations, _report("kinds importing other kinds", violations)


def test_hub_transport_and_sessions_import_no_kind(graph: ImportGraph) -> None:
    _skip_without_kinds(graph)
    violations = find_kind_free_importing_kinds(graph)
    assert not violations, _report("hub/device/transport/sessions importing kinds", violations)


def test_hub_transport_and_sessions_reach_no_kind(graph: ImportGraph) -> None:
    _skip_without_kinds(graph)
    violations = find_kind_free_reaching_kinds(graph)
    assert not violations, _report("hub/device/transport/sessions reaching kinds", violations)


# The checker itself, on a small package written to tmp_path: it can fail.


def _write(directory: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (path -> source) as the package ``custom_components.iot_hub``."""
    package = directory / "custom_components" / "iot_hub"
    for name, source in files.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    return package


def test_checker_resolves_imports(tmp_path: Path) -> None:
    package = _write(
        tmp_path,
        {
            "__init__.py": "from .pkg import mod, VALUE\nimport custom_components.iot_hub.b\n",
            "pkg/__init__.py": "VALUE = 1\n",
            "pkg/mod.py": "from .. import b\nfrom ..pkg import VALUE\nimport json\n",
            "b.py": "from custom_components import iot_hub\n",
        },
    )
    edges = {(imp.source, imp.target, imp.lineno) for imp in build_graph(package).imports}
    assert edges == {
        (ROOT, "pkg.mod", 1),
        (ROOT, "pkg", 1),
        (ROOT, "b", 2),
        ("pkg.mod", "b", 1),
        ("pkg.mod", "pkg", 2),
        ("b", ROOT, 1),
    }


def test_checker_reports_a_cycle(tmp_path: Path) -> None:
    package = _write(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from .b import B\nfrom .c import C\n",
            "b.py": "def load():\n    from . import a\n",
            "c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import A\n",
        },
    )
    cycles = find_cycles(build_graph(package))
    assert len(cycles) == 1, cycles
    assert cycles[0].startswith("cycle ['a', 'b']:\n    a -> b -> a\n"), cycles[0]
    assert "a.py:1: from .b import B  [-> b]" in cycles[0]
    assert "b.py:2: from . import a  [-> a]" in cycles[0]
    # Counting typing imports, the TYPE_CHECKING circle a -> c -> a shows up too.
    typed = find_cycles(build_graph(package), typing=True)
    assert len(typed) == 1, typed
    assert typed[0].startswith("cycle ['a', 'b', 'c']:"), typed[0]


def test_checker_reports_kinds_knowing_each_other(tmp_path: Path) -> None:
    package = _write(
        tmp_path,
        {
            "__init__.py": "",
            "hub.py": (
                "from typing import TYPE_CHECKING\n"
                "from .kind import Handler\n"
                "from .helpers import helper\n"
                "if TYPE_CHECKING:\n"
                "    from .kinds.oven import Oven\n"
            ),
            "helpers.py": "from .kinds import charger\n",
            "transport/__init__.py": "",
            "transport/link.py": "from .. import kinds\n",
            "kind.py": "",
            # Not a kind, but importing it runs kinds/__init__.py, which imports every kind.
            "sessions.py": "from .kinds.util import helper\n",
            "kinds/__init__.py": "from . import charger, oven\n",
            "kinds/util.py": "",
            "kinds/oven/__init__.py": "from ...kind import Handler\n",
            "kinds/charger/__init__.py": "",
            "kinds/charger/handler.py": "from ..oven import Oven\n",
        },
    )
    graph = build_graph(package)
    assert graph.kinds == ("charger", "oven")
    assert find_kinds_importing_kinds(graph) == [
        (
            "kind 'charger' (kinds.charger.handler) imports kind 'oven': "
            "kinds/charger/handler.py:1: from ..oven import Oven  [-> kinds.oven]"
        )
    ]
    assert find_kind_free_importing_kinds(graph) == [
        (
            "hub must know no kind but imports kind 'oven': "
            "hub.py:5: from .kinds.oven import Oven  [-> kinds.oven] (under TYPE_CHECKING)"
        ),
        (
            "transport.link must know no kind but imports the kind list: "
            "transport/link.py:1: from .. import kinds  [-> kinds]"
        ),
    ]
    reaching = find_kind_free_reaching_kinds(graph)
    assert len(reaching) == 3, reaching
    assert reaching[0].startswith("hub reaches 'kinds' at runtime:\n    hub -> helpers -> kinds\n")
    assert "helpers.py:1: from .kinds import charger  [-> kinds]" in reaching[0]
    assert reaching[1].startswith("sessions reaches 'kinds' at runtime:\n    sessions -> kinds\n")
    assert reaching[2].startswith("transport.link reaches 'kinds' at runtime:\n"), reaching
