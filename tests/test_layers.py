"""The package's modules import one way: downwards through the layers below, and never in a circle.

Every module under ``src/attentivechrome`` is read with :mod:`ast` (nothing is imported). Both
module-level imports and imports inside functions count -- a function-level import still ties
the two modules together, it only delays the cost. Imports under ``if TYPE_CHECKING:`` do not
count: they never run.

An import of a package means its ``__init__``; ``from P import x`` means ``P.x`` when that is a
module, and ``P`` otherwise. Importing ``a.b.c`` is recorded as an edge to ``a.b.c`` only, not to
the ``__init__`` of ``a`` and ``a.b`` that Python also runs, so a package ``__init__`` importing
its own submodules and a submodule importing a sibling are not cycles.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = "attentivechrome"
SRC = Path(__file__).resolve().parents[1] / "src" / PACKAGE

# --------------------------------------------------------------------------- the layer table
#: (layer, module prefixes). A module belongs to the entry with the longest matching prefix
#: (the name itself, or the name followed by a dot). A module may import modules of its own
#: layer or of lower layers, never of a higher one. Edit this table when a layer is added.
LAYERS: list[tuple[int, tuple[str, ...]]] = [
    (0, ("attentivechrome._version", "attentivechrome.exceptions", "attentivechrome._io", "attentivechrome._cache",
         "attentivechrome._progress", "attentivechrome._settings", "attentivechrome.cluster")),
    (1, ("attentivechrome.metrics",)),
    # models.catalog is plain data (names, where each class lives): config reads it to check a model name.
    # tasks: what each task predicts and scores (metrics, schema), read by config-level code and everything above.
    (2, ("attentivechrome.data", "attentivechrome.config", "attentivechrome.featurize", "attentivechrome.models.catalog", "attentivechrome.tasks")),
    (3, ("attentivechrome.models",)),
    (4, ("attentivechrome.inference",)),
    (5, ("attentivechrome.interpret",)),
    (6, ("attentivechrome.trained",)),
    (7, ("attentivechrome.training",)),
    (8, ("attentivechrome.experiments",)),
    (9, ("attentivechrome.estimator", "attentivechrome.report")),
    # The command line and the top-level package (whose lazy names may point anywhere) sit on top.
    (10, ("attentivechrome.cli", "attentivechrome.__main__", "attentivechrome")),
]

#: Prefixes that match only the module of that exact name, not its submodules.
EXACT_ONLY = {"attentivechrome"}


# --------------------------------------------------------------------------- reading the imports
@dataclass(frozen=True)
class Import:
    source: str  # importing module
    target: str  # imported module (a package stands for its __init__)
    path: Path
    line: int
    in_function: bool
    exists: bool = True

    def where(self) -> str:
        scope = "in a function" if self.in_function else "at module level"
        return f"{self.path}:{self.line} ({scope})"


def module_files(root: Path, package: str = PACKAGE) -> dict[str, Path]:
    """Every module under ``root`` (the package directory) by dotted name; ``__init__`` as the package."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join([package, *parts])] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """(import statement, inside a function?) for every import, skipping ``if TYPE_CHECKING:`` bodies."""

    def walk(node: ast.AST, in_function: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, in_function
            return
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            children: list[ast.AST] = list(node.orelse)
        else:
            children = list(ast.iter_child_nodes(node))
        nested = in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        for child in children:
            yield from walk(child, nested)

    yield from walk(tree, False)


def _resolve_base(module: str, is_package: bool, level: int, name: str | None) -> str:
    """The absolute name of ``from <level dots><name> import ...`` written in ``module``."""
    if level == 0:
        return name or ""
    package = module if is_package else module.rpartition(".")[0]
    for _ in range(level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{name}" if name else package


def namespace_packages(root: Path, package: str = PACKAGE) -> set[str]:
    """Directories holding modules but no ``__init__.py`` (importable as namespace packages)."""
    return {
        ".".join([package, *directory.relative_to(root).parts])
        for directory in root.rglob("*")
        if directory.is_dir() and not (directory / "__init__.py").exists() and any(directory.glob("*.py"))
    }


def read_imports(modules: dict[str, Path], package: str = PACKAGE, namespaces: set[str] = frozenset()) -> list[Import]:
    """Every import of ``package`` made by ``modules`` (imports of other libraries are left out).

    An import of a name that is neither a module nor a namespace package is kept with
    ``exists=False`` (a module moved or removed, its importers not updated).
    """
    found = []
    known = set(modules) | set(namespaces)
    for module, path in modules.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node, in_function in _import_nodes(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = _resolve_base(module, is_package, node.level, node.module)
                for alias in node.names:
                    submodule = f"{base}.{alias.name}"
                    targets.append(submodule if submodule in known else base)
            for target in targets:
                if (target == package or target.startswith(package + ".")) and target != module:
                    found.append(Import(module, target, path, node.lineno, in_function, target in known))
    return list(dict.fromkeys(found))  # one record for `from m import a, b`


# --------------------------------------------------------------------------- layers and cycles
def layer_of(module: str) -> tuple[int, str] | None:
    """(layer, matching prefix) of ``module``; None when no entry of :data:`LAYERS` matches."""
    best: tuple[int, str] | None = None
    for layer, prefixes in LAYERS:
        for prefix in prefixes:
            matches = module == prefix or (prefix not in EXACT_ONLY and module.startswith(prefix + "."))
            if matches and (best is None or len(prefix) > len(best[1])):
                best = (layer, prefix)
    return best


def find_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (a path ending where it starts) per strongly connected component with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0
    nodes = sorted(set(edges) | {t for ts in edges.values() for t in ts})

    for root in nodes:  # Tarjan's algorithm, iterative so deep graphs do not hit the recursion limit
        if root in index:
            continue
        work = [(root, iter(sorted(edges.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(sorted(component))

    return [_cycle_in(component, edges) for component in components]


def _cycle_in(component: list[str], edges: dict[str, set[str]]) -> list[str]:
    """A shortest cycle through the first module of a strongly connected component."""
    members = set(component)
    start = component[0]
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:  # breadth first from start, back to start
        following = []
        for node in frontier:
            for child in sorted(edges.get(node, ())):
                if child not in members:
                    continue
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"no cycle found in component {component}")  # pragma: no cover


def _edges(imports: list[Import]) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for imp in imports:
        edges.setdefault(imp.source, set()).add(imp.target)
    return edges


def _describe(module: str) -> str:
    found = layer_of(module)
    return f"{module} (layer {found[0]})" if found else module


# --------------------------------------------------------------------------- the tests
@pytest.fixture(scope="module")
def modules() -> dict[str, Path]:
    if not SRC.is_dir():
        pytest.skip(f"source tree not found at {SRC}")
    return module_files(SRC)


@pytest.fixture(scope="module")
def imports(modules) -> list[Import]:
    return read_imports(modules, PACKAGE, namespace_packages(SRC))


@pytest.fixture(scope="module")
def resolved(imports) -> list[Import]:
    """The imports of modules that exist (the others are reported by their own test)."""
    return [imp for imp in imports if imp.exists]


def test_every_module_has_a_layer(modules):
    missing = [module for module in modules if layer_of(module) is None]
    assert not missing, f"modules without a layer; add them to LAYERS in {__file__}: {missing}"


def test_imported_modules_exist(imports):
    missing = [f"{imp.where()}: {imp.source} imports {imp.target}, which is no module" for imp in imports if not imp.exists]
    assert not missing, f"{len(missing)} import(s) of modules that do not exist:\n" + "\n".join(missing)


def test_no_import_cycles(resolved):
    cycles = find_cycles(_edges(resolved))
    lines = []
    for cycle in cycles:
        lines.append(" -> ".join(cycle))
        for source, target in zip(cycle, cycle[1:]):
            first = next(imp for imp in resolved if imp.source == source and imp.target == target)
            lines.append(f"    {source} imports {target} at {first.where()}")
    assert not cycles, f"{len(cycles)} import cycle(s):\n" + "\n".join(lines)


def test_imports_point_down_the_layers(resolved):
    violations = []
    for imp in resolved:
        source, target = layer_of(imp.source), layer_of(imp.target)
        if source is not None and target is not None and target[0] > source[0]:
            violations.append(f"{imp.where()}: {_describe(imp.source)} imports {_describe(imp.target)}")
    assert not violations, f"{len(violations)} import(s) from a lower layer to a higher one:\n" + "\n".join(violations)


# --------------------------------------------------------------------------- the reader itself
def test_reader_resolves_relative_imports_and_skips_type_checking(tmp_path):
    root = tmp_path / "pkg"
    (root / "sub").mkdir(parents=True)
    (root / "space").mkdir()
    files = {
        "__init__.py": "from .sub import thing\n",
        "low.py": "import os\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .high import X\nelse:\n    from . import other\n",
        "other.py": "",
        "high.py": "def f():\n    import pkg.sub.deep\n    from .sub import deep as d\nfrom .gone import x\nfrom .space import mod\n",
        "space/mod.py": "from ..sub.deep import name\n",
        "sub/__init__.py": "from . import deep\nfrom .deep import name\n",
        "sub/deep.py": "from .. import low\nfrom ..low import something\n",
    }
    for name, text in files.items():
        (root / name).write_text(text)
    found = read_imports(module_files(root, "pkg"), "pkg", namespace_packages(root, "pkg"))
    assert namespace_packages(root, "pkg") == {"pkg.space"}
    assert [imp.target for imp in found if not imp.exists] == ["pkg.gone"]
    edges = {(imp.source, imp.target, imp.line, imp.in_function) for imp in found if imp.exists}
    assert edges == {
        ("pkg", "pkg.sub", 1, False),
        ("pkg.low", "pkg.other", 6, False),  # the TYPE_CHECKING import of pkg.high is skipped
        ("pkg.high", "pkg.sub.deep", 2, True),
        ("pkg.high", "pkg.sub.deep", 3, True),
        ("pkg.high", "pkg.space.mod", 5, False),
        ("pkg.space.mod", "pkg.sub.deep", 1, False),
        ("pkg.sub", "pkg.sub.deep", 1, False),
        ("pkg.sub", "pkg.sub.deep", 2, False),
        ("pkg.sub.deep", "pkg.low", 1, False),
        ("pkg.sub.deep", "pkg.low", 2, False),
    }


def test_cycle_finder_reports_the_path():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "p": {"p.x"}, "p.x": set()}
    assert find_cycles(edges) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []
