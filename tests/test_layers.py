"""The package's modules import one way: downwards through the layers below, and never in a circle.

Every module under ``src/attentivechrome`` is read with :mod:`ast` (nothing is imported). Both
module-level imports and imports inside functions count -- a function-level import still ties
the two modules together, it only delays the cost. Imports under ``if TYPE_CHECKING:`` do not
count: they never run.

Calls of ``importlib.import_module`` count too (a lazy ``__getattr__`` imports this way): a
string argument is the module imported; any other argument (a name looked up in a table) may be
any module that a string of the calling module names, relative to the call's anchor
(``__name__`` or ``__package__``) or absolute. A call whose module names no such string is
reported: the test cannot see what it imports.

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
    # run_directory: the layout of a run directory, read from the checkpoint reader up to the command line.
    (0, ("attentivechrome._version", "attentivechrome.exceptions", "attentivechrome._io", "attentivechrome._cache",
         "attentivechrome._progress", "attentivechrome._settings", "attentivechrome.cluster", "attentivechrome.run_directory")),
    (1, ("attentivechrome.metrics",)),
    # tasks: what each task predicts and scores (metrics, schema), read by config-level code and everything above.
    (2, ("attentivechrome.data", "attentivechrome.config", "attentivechrome.model_catalog", "attentivechrome.featurize", "attentivechrome.tasks")),
    (3, ("attentivechrome.models",)),
    (4, ("attentivechrome.inference",)),
    (5, ("attentivechrome.interpret",)),
    (6, ("attentivechrome.trained",)),
    # Workflows that take a TrainedModel and hand its module, prepared input and output scale to interpret's core.
    (7, ("attentivechrome.training", "attentivechrome.workflows")),
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
    #: Made by ``importlib.import_module`` (the target read from a string of the module).
    dynamic: bool = False

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


def _nodes(tree: ast.AST, kinds: tuple[type, ...]) -> Iterator[tuple[ast.AST, bool]]:
    """(node, inside a function?) for every node of ``kinds`` that runs: ``if TYPE_CHECKING:`` bodies are skipped."""

    def walk(node: ast.AST, in_function: bool) -> Iterator[tuple[ast.AST, bool]]:
        if isinstance(node, kinds):
            yield node, in_function
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            children: list[ast.AST] = list(node.orelse)
        else:
            children = list(ast.iter_child_nodes(node))
        nested = in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        for child in children:
            yield from walk(child, nested)

    yield from walk(tree, False)


def _import_nodes(tree: ast.AST) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """(import statement, inside a function?) for every import that runs."""
    return _nodes(tree, (ast.Import, ast.ImportFrom))


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
        found.extend(_dynamic_imports(module, is_package, path, tree, package, known))
    return list(dict.fromkeys(found))  # one record for `from m import a, b`


class UnreadableImport(Exception):
    """An ``import_module`` call whose module cannot be read from the source."""


def _is_import_module(node: ast.AST) -> bool:
    func = node.func if isinstance(node, ast.Call) else None
    return (isinstance(func, ast.Attribute) and func.attr == "import_module") or (isinstance(func, ast.Name) and func.id == "import_module")


def _anchor(call: ast.Call, module: str, is_package: bool, path: Path) -> str | None:
    """The package a relative name given to this ``import_module`` call is resolved in (None: absolute only)."""
    arg = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == "package"), None)
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    if isinstance(arg, ast.Name) and arg.id == "__name__":
        return module
    if isinstance(arg, ast.Name) and arg.id == "__package__":
        return module if is_package else module.rpartition(".")[0]
    if arg is None:
        return None
    raise UnreadableImport(f"{path}:{call.lineno}: import_module's package argument is {ast.unparse(arg)}, not __name__, __package__ or a string")


def _resolve_name(name: str, anchor: str | None) -> str | None:
    """``name`` as ``importlib.import_module(name, anchor)`` resolves it (None: a relative name without an anchor)."""
    if not name.startswith("."):
        return name
    if anchor is None:
        return None
    level = len(name) - len(name.lstrip("."))
    base = anchor.rsplit(".", level - 1)[0] if level > 1 else anchor
    rest = name[level:]
    return f"{base}.{rest}" if rest else base


def _dynamic_imports(module: str, is_package: bool, path: Path, tree: ast.AST, package: str, known: set[str]) -> list[Import]:
    """The imports made by ``import_module`` calls in one module (see the module docstring)."""
    calls = [(node, in_function) for node, in_function in _nodes(tree, (ast.Call,)) if _is_import_module(node)]
    if not calls:
        return []
    strings = [node for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]
    found = []
    for call, in_function in calls:
        anchor = _anchor(call, module, is_package, path)
        first = call.args[0] if call.args else None
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            named = [(_resolve_name(first.value, anchor), first)]
        else:  # the name comes from a table: any string of this module naming a module of the package
            named = [(_resolve_name(node.value, anchor), node) for node in strings]
            named = [(target, node) for target, node in named if target in known and target != package]  # not a bare "attentivechrome"
            if not named:
                raise UnreadableImport(
                    f"{path}:{call.lineno}: import_module({ast.unparse(first) if first else ''}) names no module of {package} in a string of "
                    f"{module}; write the module names in this module (a table of strings) so the layer test sees them"
                )
        for target, node in named:
            if target is not None and (target == package or target.startswith(package + ".")) and target != module:
                found.append(Import(module, target, path, node.lineno, in_function, target in known, dynamic=True))
    return found


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


def folder_of(module: str) -> str:
    """The top-level module or subpackage (folder) of the package that ``module`` belongs to."""
    return ".".join(module.split(".")[:2])


def test_no_cycles_between_folders(resolved):
    """Modules may form no cycle, and neither may the folders they lie in (``models/`` and ``config`` say)."""
    edges: dict[str, set[str]] = {}
    for imp in resolved:
        source, target = folder_of(imp.source), folder_of(imp.target)
        if source != target and imp.source != PACKAGE:  # the package's own __init__ sits on top of everything
            edges.setdefault(source, set()).add(target)
    cycles = find_cycles(edges)
    lines = []
    for cycle in cycles:
        lines.append(" -> ".join(cycle))
        for source, target in zip(cycle, cycle[1:]):
            first = next(imp for imp in resolved if folder_of(imp.source) == source and folder_of(imp.target) == target)
            lines.append(f"    {first.source} imports {first.target} at {first.where()}")
    assert not cycles, f"{len(cycles)} cycle(s) between folders:\n" + "\n".join(lines)


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


def test_reader_sees_import_module_calls(tmp_path):
    root = tmp_path / "pkg"
    (root / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "import importlib\n_EXPORTS = {'a': ('.sub.deep', 'a'), 'b': ('.other', 'b')}\n"
        "def __getattr__(name):\n    return getattr(importlib.import_module(_EXPORTS[name][0], __name__), name)\n",
        "other.py": "from importlib import import_module\nPLUGINS = ['pkg.sub.deep', 'pkg']\nfor p in PLUGINS:\n    import_module(p)\n",
        "sub/__init__.py": "import importlib\ndef f():\n    return importlib.import_module('..other', __package__)\n",
        "sub/deep.py": "import importlib\nif False:\n    pass\nx = importlib.import_module('.sub', package='pkg')\n",
    }
    for name, text in files.items():
        (root / name).write_text(text)
    found = read_imports(module_files(root, "pkg"), "pkg")
    assert all(imp.dynamic and imp.exists for imp in found)
    assert {(imp.source, imp.target, imp.line, imp.in_function) for imp in found} == {
        ("pkg", "pkg.sub.deep", 2, True),  # strings of the table that __getattr__'s call looks names up in
        ("pkg", "pkg.other", 2, True),
        ("pkg.other", "pkg.sub.deep", 2, False),  # the bare package name is no module imported from a table
        ("pkg.sub", "pkg.other", 3, True),  # relative to __package__, from a function
        ("pkg.sub.deep", "pkg.sub", 4, False),  # package= given by keyword
    }
    (root / "other.py").write_text("import importlib\ndef load(name):\n    return importlib.import_module(name)\n")
    with pytest.raises(UnreadableImport, match=r"other.py:3: import_module\(name\) names no module of pkg"):
        read_imports(module_files(root, "pkg"), "pkg")


def test_cycle_finder_reports_the_path():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "p": {"p.x"}, "p.x": set()}
    assert find_cycles(edges) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []
