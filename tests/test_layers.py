"""The layering rule of README's "Layout", kept by walking the packages' imports with `ast`.

The core of each app (everything but its composing layers) imports only downward: search -> tagging -> medialib.
Composing layers (views, forms, admin, api, management commands, urls, template tags, app configs, the project's
settings) may import across apps in any direction. Module-level imports never form a cycle (an import inside a
function, such as a service queuing its own task, is not part of it). No module reaches for another module's
private names: neither `from x import _name` nor `imported._name`.

`python tests/test_layers.py` prints the picture in numbers.
"""
from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("medialib", "tagging", "search")  # bottom to top
RANK = {app: rank for rank, app in enumerate(APPS)}
# The first part of a module's name below its app that makes it a composing layer.
COMPOSING = {"views", "delivery_views", "forms", "admin", "api", "management", "urls", "templatetags", "apps", "settings", "celery",
             "wsgi", "asgi"}
PUBLIC_UNDERSCORED = {"_meta", "_replace", "_asdict", "_fields", "_make"}
SKIPPED = {"migrations"}  # written by makemigrations, imported by nobody


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the module imported (for `from m import name`, m, or m.name when that is a module)
    names: tuple[str, ...]  # the names taken by `from ... import`
    line: int
    top_level: bool  # at module level (not inside a function); `if TYPE_CHECKING:` blocks are left out


@dataclass
class Graph:
    modules: dict[str, Path] = field(default_factory=dict)
    imports: list[Import] = field(default_factory=list)
    private_attributes: list[tuple[str, int, str]] = field(default_factory=list)  # (module, line, "name._attr")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def app_of(module: str) -> str | None:
    app = module.split(".")[0]
    return app if app in RANK else None


def is_composing(module: str) -> bool:
    parts = module.split(".")
    return len(parts) > 1 and parts[1] in COMPOSING


def _resolve(module: str, is_package: bool, level: int, name: str | None) -> str:
    if not level:
        return name or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join([*base, name] if name else base)


class _Walker(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool, graph: Graph):
        self.module, self.is_package, self.graph = module, is_package, graph
        self.depth = 0  # inside how many functions
        self.defined: set[str] = set()  # names this module binds: its own private names are its business

    def _function(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_If(self, node):
        test = node.test
        if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
                isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"):
            self.depth += 1  # imports for type hints only never run
            self.generic_visit(node)
            self.depth -= 1
            return
        self.generic_visit(node)

    def visit_Import(self, node):
        for alias in node.names:
            self.graph.imports.append(Import(self.module, alias.name, (), node.lineno, self.depth == 0))

    def visit_ImportFrom(self, node):
        target = _resolve(self.module, self.is_package, node.level, node.module)
        names = tuple(alias.name for alias in node.names)
        self.graph.imports.append(Import(self.module, target, names, node.lineno, self.depth == 0))

    def visit_Attribute(self, node):
        # `x._name` where x is not self or cls and this module never defines `_name` itself: another module's
        # private attribute (Django's documented `Model._meta`, and namedtuple's API, are public).
        if (node.attr.startswith("_") and not node.attr.startswith("__") and node.attr not in PUBLIC_UNDERSCORED
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
                and node.attr not in self.defined):
            self.graph.private_attributes.append((self.module, node.lineno, ast.unparse(node)))
        self.generic_visit(node)


def graph_build(root: Path = ROOT, apps=APPS) -> Graph:
    graph = Graph()
    for app in apps:
        for path in sorted((root / app).rglob("*.py")):
            module = module_name(path, root)
            if set(module.split(".")) & SKIPPED:
                continue
            graph.modules[module] = path
    for module, path in graph.modules.items():
        walker = _Walker(module, path.name == "__init__.py", graph)
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                walker.defined.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                walker.defined.add(node.id)
            elif (isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store)
                  and isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                walker.defined.add(node.attr)
        walker.visit(tree)
    # `from package import module` imports the module.
    resolved = []
    for imp in graph.imports:
        if imp.names and all(f"{imp.target}.{name}" in graph.modules for name in imp.names):
            for name in imp.names:
                resolved.append(Import(imp.source, f"{imp.target}.{name}", (), imp.line, imp.top_level))
        else:
            resolved.append(imp)
    graph.imports = resolved
    return graph


def _internal(graph: Graph, target: str) -> str | None:
    """The project module an import lands in (the longest known prefix), or None for a third-party one."""
    parts = target.split(".")
    while parts:
        name = ".".join(parts)
        if name in graph.modules:
            return name
        parts.pop()
    return None


def upward_imports(graph: Graph) -> list[str]:
    found = []
    for imp in graph.imports:
        target = _internal(graph, imp.target)
        if target is None or is_composing(imp.source):
            continue
        if RANK[app_of(target)] > RANK[app_of(imp.source)]:
            found.append(f"{imp.source}:{imp.line} imports {target} (an app above it)")
    return found


def cross_app_imports(graph: Graph) -> list[Import]:
    return [imp for imp in graph.imports
            if (target := _internal(graph, imp.target)) and app_of(target) != app_of(imp.source)]


def private_imports(graph: Graph) -> list[str]:
    found = []
    for imp in graph.imports:
        for name in imp.names:
            if name.startswith("_") and not name.startswith("__"):
                found.append(f"{imp.source}:{imp.line} imports {name} from {imp.target}")
    found += [f"{module}:{line} uses {name}" for module, line, name in graph.private_attributes]
    return found


def import_cycles(graph: Graph, *, in_functions: bool = False) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm), each sorted.

    Module-level imports only; with in_functions, imports inside functions too, but for a `tasks` module (a
    service queuing its own task imports it when it queues, and the task calls the service)."""
    edges: dict[str, set[str]] = {module: set() for module in graph.modules}
    for imp in graph.imports:
        target = _internal(graph, imp.target)
        if not imp.top_level and (not in_functions or (target or "").split(".")[-1] == "tasks"):
            continue
        if target and target != imp.source:
            edges[imp.source].add(target)
            # Importing a.b.c runs a/__init__ and a/b/__init__ first.
            parts = target.split(".")
            for i in range(1, len(parts)):
                parent = ".".join(parts[:i])
                if parent in graph.modules and parent != imp.source and not imp.source.startswith(parent + "."):
                    edges[imp.source].add(parent)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(max(10000, sys.getrecursionlimit()))

    def connect(node: str):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for other in sorted(edges[node]):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            connect(node)
    return sorted(components)


def picture(graph: Graph) -> dict[str, int]:
    return {
        "modules": len(graph.modules),
        "cross-app imports": len(cross_app_imports(graph)),
        "upward imports from core modules": len(upward_imports(graph)),
        "module-level import cycles": len(import_cycles(graph)),
        "import cycles counting imports inside functions (but of tasks)": len(import_cycles(graph, in_functions=True)),
        "private names taken from other modules": len(private_imports(graph)),
    }


# --- the tests --------------------------------------------------------------------------------------------------

def test_core_modules_import_only_downward():
    assert upward_imports(graph_build()) == []


def test_no_import_cycle():
    graph = graph_build()
    assert import_cycles(graph) == []
    assert import_cycles(graph, in_functions=True) == []


def test_no_private_name_crosses_a_module():
    assert private_imports(graph_build()) == []


def _tree(tmp_path: Path, files: dict[str, str]) -> Graph:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for app in APPS:
        (tmp_path / app).mkdir(exist_ok=True)
        (tmp_path / app / "__init__.py").touch()
    return graph_build(tmp_path)


def test_the_checker_finds_an_upward_import_from_core_but_not_from_a_view(tmp_path):
    graph = _tree(tmp_path, {
        "medialib/services.py": "def f():\n    from tagging.services import analysis_request\n",
        "medialib/selectors.py": "from tagging.models import AnalysisResult\n",
        "medialib/checks.py": "import tagging.backends.rekognition\n",
        "tagging/services.py": "from medialib.models import Asset\n",  # downward: fine
        "tagging/models.py": "", "tagging/backends/__init__.py": "", "tagging/backends/rekognition.py": "",
        "medialib/models.py": "",
        "medialib/views.py": "from tagging.services import analysis_request\nfrom search import query\n",
        "medialib/api/views.py": "from tagging.services import analysis_request\n",
        "search/query.py": "",
    })
    found = upward_imports(graph)
    assert [line.split(" ")[0] for line in found] == [
        "medialib.checks:1", "medialib.selectors:1", "medialib.services:2"]


def test_the_checker_finds_import_cycles_but_not_a_service_queuing_its_task(tmp_path):
    graph = _tree(tmp_path, {
        "tagging/services.py": "from . import recognition\n",
        "tagging/recognition.py": "from .services import auto_tags_apply\n",
        "tagging/tasks.py": "from . import services\n",
        # A cycle dodged by importing inside a function is still a cycle.
        "medialib/services.py": "def f():\n    from tagging.rules import g\n",
        "tagging/rules.py": "from medialib.services import h\n",
        # A service queuing its own task from inside a function is no cycle.
        "medialib/selectors.py": "def f():\n    from .tasks import renditions_generate\n",
        "medialib/tasks.py": "from . import selectors\n",
    })
    assert import_cycles(graph) == [["tagging.recognition", "tagging.services"]]
    assert import_cycles(graph, in_functions=True) == [
        ["medialib.services", "tagging.rules"], ["tagging.recognition", "tagging.services"]]


def test_the_checker_finds_private_names_imported_or_reached_for(tmp_path):
    graph = _tree(tmp_path, {
        "tagging/recognition.py": "def f():\n    from .services import _decode, analysis_run\n",
        "tagging/services.py": "",
        "search/selectors.py": "from . import compiler\nsampler = object()\nsampler._estimates = compiler._estimates\n",
        "search/compiler.py": "",
        "tagging/backends/rekognition.py": (
            "from django.core.files.storage import default_storage\n"
            "def key(name):\n    return default_storage._normalize_name(name)\n"
            "class A:\n    def f(self):\n        return self._own, A.__name__\n"),
    })
    assert sorted(private_imports(graph)) == [
        "search.selectors:3 uses compiler._estimates",
        "search.selectors:3 uses sampler._estimates",
        "tagging.backends.rekognition:3 uses default_storage._normalize_name",
        "tagging.recognition:2 imports _decode from tagging.services",
    ]


if __name__ == "__main__":
    graph = graph_build()
    for name, value in picture(graph).items():
        print(f"{value:5d}  {name}")
    for problem in upward_imports(graph) + private_imports(graph):
        print("  ", problem)
    for cycle in import_cycles(graph, in_functions=True):
        print("   cycle (with imports in functions):", " -> ".join(cycle))
