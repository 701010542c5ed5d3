"""The shape of the code base, read from its imports (no code is run).

- no import circle anywhere in the project;
- a blueprint package (``surveys/respond``, ``pilots``, ``organisations``, ``reports``, ``auth``,
  ``public``) never imports another one;
- a service (any module that is not a view, a form, a package's ``__init__`` or an entry point)
  never imports a view or a form module;
- views run no queries: no ``db.session`` and no ``select(`` in a ``views.py``;
- ``analysis`` never imports flask, sqlalchemy or ``surveys``.

Each rule is also run on a small tree that breaks it, so the checker is seen to fail.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLUEPRINTS = ("respond", "pilots", "organisations", "reports", "auth", "public")
# surveys.tasks is the consumer's entry point: it gathers every task, wherever its feature lives.
ENTRY_POINTS = {"app", "surveys.commands", "surveys.demo", "surveys.tasks"}


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def project_modules(root: Path) -> dict[str, Path]:
    """Every module of the application: ``app.py``, ``surveys/`` and ``analysis/``."""
    files = [root / "app.py"] if (root / "app.py").exists() else []
    for package in ("surveys", "analysis"):
        files += sorted((root / package).rglob("*.py"))
    return {module_name(root, f): f for f in files}


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules that ``name`` imports, at any depth of its code (function-level imports too).

    ``from package import x`` names the module ``package.x`` when there is one, else ``package``.
    Importing ``a.b.c`` also runs the ``__init__`` of ``a`` and ``a.b``, unless the importer lives inside them.
    """
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            targets = [f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in modules else origin
                       for alias in node.names]
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]  # an attribute of a module, or not ours
            if not target or target == name:
                continue
            found.add(target)
            parent = target.rpartition(".")[0]
            while parent:
                if not (name == parent or name.startswith(parent + ".")):
                    found.add(parent)
                parent = parent.rpartition(".")[0]
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    modules = project_modules(root)
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each import circle once (Tarjan's strongly connected components of more than one module)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def blueprint_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "surveys" and parts[1] in BLUEPRINTS else None


def is_view_or_form(module: str) -> bool:
    last = module.rpartition(".")[2]
    return last in ("views", "forms") or module == "surveys.forms"


def is_view_module(module: str, text: str) -> bool:
    """A ``views.py``, or any module that declares routes (``public/__init__.py``)."""
    return module.rpartition(".")[2] == "views" or "@bp.route(" in text


def is_service(module: str, path: Path) -> bool:
    return (module.startswith("surveys.") and module not in ENTRY_POINTS and path.name != "__init__.py"
            and not is_view_or_form(module))


def violations(root: Path) -> list[str]:
    """Every broken rule of the house, one sentence each."""
    modules = project_modules(root)
    graph = import_graph(root)
    problems = [f"import circle among: {', '.join(c)}" for c in circles(graph)]
    for module, targets in sorted(graph.items()):
        for target in sorted(targets):
            mine, theirs = blueprint_of(module), blueprint_of(target)
            if mine and theirs and mine != theirs:
                problems.append(f"blueprint package {mine} imports {target}")
            if is_service(module, modules[module]) and is_view_or_form(target):
                problems.append(f"service {module} imports the view/form module {target}")
            if module.startswith("analysis") and target.startswith("surveys"):
                problems.append(f"analysis module {module} imports {target}")
            if (theirs and not mine and module not in ENTRY_POINTS and module != "surveys"
                    and module.startswith("surveys")):
                problems.append(f"core module {module} imports the blueprint package {target}")
    for module, path in modules.items():
        text = path.read_text(encoding="utf-8")
        if is_view_module(module, text) and ("db.session" in text or "select(" in text or "db.get_or_404" in text):
            problems.append(f"view module {module} runs queries (db.session / select)")
        if module.startswith("surveys") and ("importlib" in text or "__import__(" in text):
            problems.append(f"module {module} imports dynamically, out of the checker's sight")
        if module.startswith("analysis"):
            for node in ast.walk(ast.parse(text)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                    [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
                problems += [f"analysis module {module} imports {n}" for n in names
                             if n.split(".")[0] in ("flask", "flask_sqlalchemy", "sqlalchemy", "surveys")]
    return sorted(set(problems))


def test_the_project_keeps_its_shape():
    assert violations(ROOT) == []


def test_the_import_graph_sees_the_real_dependencies():
    graph = import_graph(ROOT)
    assert "surveys.reports.report" in graph["surveys.reports.views"]
    assert "surveys.respond.survey" in graph["surveys.respond.views"]  # from . import survey
    assert "surveys.studies" in graph["surveys.reports.report"]
    assert "surveys.reports.output" in graph["surveys.commands"]
    assert "surveys.pilots" in graph["surveys.commands"]  # importing pilots.invitations runs pilots/__init__


# --- the checker fails on trees that break the rules --------------------------------------------

def write_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for package in {p.parent for p in root.rglob("*.py")}:
        if package != root and not (package / "__init__.py").exists():
            (package / "__init__.py").write_text("", encoding="utf-8")
    return root


GOOD = {
    "app.py": "from surveys import pilots, reports\n",
    "surveys/models.py": "X = 1\n",
    "surveys/studies.py": "from .models import X\n",
    "surveys/pilots/__init__.py": "from .views import bp\n",
    "surveys/pilots/views.py": "from ..studies import X\nfrom .forms import F\nbp = 1\n",
    "surveys/pilots/forms.py": "F = 1\n",
    "surveys/reports/__init__.py": "from .views import bp\n",
    "surveys/reports/views.py": "from . import report\nbp = 1\n",
    "surveys/reports/report.py": "from ..studies import X\nfrom analysis import omnibus\n",
    "analysis/omnibus.py": "import numpy\n",
}


def test_a_tree_that_follows_the_rules_passes(tmp_path):
    assert violations(write_tree(tmp_path, GOOD)) == []


def test_a_circle_is_found(tmp_path):
    tree = write_tree(tmp_path, {**GOOD, "surveys/models.py": "def f():\n    from .studies import X\n"})
    assert violations(tree) == ["import circle among: surveys.models, surveys.studies"]


def test_a_circle_through_a_package_init_is_found(tmp_path):
    tree = write_tree(tmp_path, {**GOOD, "surveys/studies.py": "from .models import X\nfrom .reports import report\n"})
    assert any(p.startswith("import circle among:") and "surveys.reports.report" in p for p in violations(tree))


@pytest.mark.parametrize("line", ["from ..pilots import views\n", "from surveys.pilots.forms import F\n",
                                  "from ..pilots.forms import F\n"])
def test_a_blueprint_importing_another_is_found(tmp_path, line):
    tree = write_tree(tmp_path, {**GOOD, "surveys/reports/report.py": GOOD["surveys/reports/report.py"] + line})
    assert any(p.startswith("blueprint package reports imports surveys.pilots") for p in violations(tree))


def test_a_service_importing_a_view_or_form_is_found(tmp_path):
    tree = write_tree(tmp_path, {**GOOD, "surveys/pilots/randomisation.py": "from .forms import F\n"})
    assert violations(tree) == ["service surveys.pilots.randomisation imports the view/form module "
                                "surveys.pilots.forms"]


def test_a_query_in_a_view_is_found(tmp_path):
    tree = write_tree(tmp_path, {**GOOD, "surveys/pilots/views.py": GOOD["surveys/pilots/views.py"]
                                 + "def v():\n    return db.session.scalar(select(X))\n"})
    assert violations(tree) == ["view module surveys.pilots.views runs queries (db.session / select)"]


def test_core_importing_a_blueprint_package_is_found(tmp_path):
    tree = write_tree(tmp_path, {**GOOD, "surveys/security.py": "from .reports import report\n"})
    assert violations(tree) == ["core module surveys.security imports the blueprint package surveys.reports",
                                "core module surveys.security imports the blueprint package surveys.reports.report"]


def test_a_dynamic_import_or_a_query_in_a_routes_module_is_found(tmp_path):
    tree = write_tree(tmp_path, {**GOOD, "surveys/studies.py": "import importlib\nimportlib.import_module('x')\n",
                                 "surveys/public/__init__.py": "@bp.route('/')\ndef home():\n    db.get_or_404(X)\n"})
    assert violations(tree) == ["module surveys.studies imports dynamically, out of the checker's sight",
                                "view module surveys.public runs queries (db.session / select)"]


def test_analysis_importing_the_web_side_is_found(tmp_path):
    tree = write_tree(tmp_path, {**GOOD, "analysis/omnibus.py": "import flask\nfrom surveys import studies\n"})
    assert violations(tree) == ["analysis module analysis.omnibus imports flask",
                                "analysis module analysis.omnibus imports surveys",
                                "analysis module analysis.omnibus imports surveys.studies"]
