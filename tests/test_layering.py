"""The engine's layering: which part of ``reranklens/`` may import which, written once, here, as data.

Every ``import`` in every engine module is read (lazy ones inside functions and ``TYPE_CHECKING`` ones
too): an import that runs against ``ALLOWED``, an engine module that imports Streamlit, ``components``
or ``pages``, an import cycle between parts, or a new module at the top of the package fails the test.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "reranklens"

SHARED = frozenset({"config", "database", "errors", "types"})
# Each part of the engine -> the parts it may import. Lower layers first; a part never imports one below it
# in this list (retrieve never imports rerank or views; nothing in the engine imports cli).
ALLOWED: dict[str, frozenset[str]] = {
    "__init__": frozenset(),
    "errors": frozenset(),
    "types": frozenset(),
    "config": frozenset({"errors"}),
    # The SQL layer every store shares (SQLite files or PostgreSQL): reads RERANKLENS_DATABASE_URL through
    # config and reports a database that cannot be reached as an error a page shows in one line.
    "database": frozenset({"config", "errors"}),
    # Checks a page runs for a visitor of a shared server (ingest roots, roles, audit): shared modules only.
    "access": SHARED,
    "llm": SHARED,
    "models": SHARED,
    # Addresses typed by a person: credentials stripped, hosts checked (access.hosts).
    "retrieve": SHARED | {"access"},
    "golden": SHARED | {"llm"},
    "rerank": SHARED | {"models", "llm", "retrieve"},
    "ingest": SHARED | {"models", "llm", "retrieve", "golden"},
    "views": SHARED | {"llm", "golden", "retrieve", "rerank"},
    "workspace": SHARED | {"models", "llm", "retrieve", "golden", "rerank", "ingest", "views"},
    "evaluate": SHARED | {"models", "llm", "retrieve", "golden", "rerank", "ingest", "views", "workspace"},
    # See why: the embedding map and the rank flow, scored with Evaluate's own code.
    "explain": SHARED | {"models", "llm", "retrieve", "golden", "rerank", "ingest", "views", "workspace", "evaluate"},
    "train": SHARED | {"models", "llm", "retrieve", "golden", "rerank", "ingest", "views", "workspace", "evaluate"},
    # The command line records attach/detach in the audit table (access) like the app does.
    "cli": SHARED
    | {
        "access",
        "models",
        "llm",
        "retrieve",
        "golden",
        "rerank",
        "ingest",
        "views",
        "workspace",
        "evaluate",
        "explain",
        "train",
    },
    "__main__": frozenset({"cli"}),
}
FORBIDDEN_ROOTS = ("streamlit", "components", "pages")
TOP_LEVEL_MODULES = {"__init__", "__main__", "config", "database", "errors", "types", "workspace"}


def _part(path: Path, package: Path) -> str:
    """``reranklens/rerank/onnx_backend.py`` -> ``rerank``; ``reranklens/config.py`` -> ``config``."""
    return path.relative_to(package).with_suffix("").parts[0]


def _imports(path: Path, package_dir: Path) -> list[tuple[int, str]]:
    """(line, dotted module) for every import in ``path``, relative ones resolved against the package."""
    found = []
    package = ".".join(("reranklens", *path.relative_to(package_dir).parent.parts))
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            # `from reranklens import views` imports the part named by the alias.
            names = [f"{module}.{alias.name}" for alias in node.names] if module == "reranklens" else [module]
            found += [(node.lineno, name) for name in names]
    return found


def violations(package: Path = PACKAGE) -> list[str]:
    """One line per import that breaks the layering, with ``file:line``."""
    problems = []
    for path in sorted(package.rglob("*.py")):
        part = _part(path, package)
        where = path.relative_to(package.parent)
        if part not in ALLOWED:
            problems.append(f"{where}: '{part}' is not a known part of the engine (add it to ALLOWED)")
            continue
        for line, module in _imports(path, package):
            root = module.split(".")[0]
            if root in FORBIDDEN_ROOTS:
                problems.append(f"{where}:{line}: the engine imports {module}")
            elif root == "reranklens" and "." in module:
                target = module.split(".")[1]
                if target != part and target not in ALLOWED[part]:
                    problems.append(f"{where}:{line}: {part} may not import {target} ({module})")
    return problems


def part_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Part -> the other parts it actually imports."""
    graph: dict[str, set[str]] = {}
    for path in package.rglob("*.py"):
        part = _part(path, package)
        targets = graph.setdefault(part, set())
        for _, module in _imports(path, package):
            pieces = module.split(".")
            if pieces[0] == "reranklens" and len(pieces) > 1 and pieces[1] != part:
                targets.add(pieces[1])
    return graph


def test_every_engine_import_follows_the_layering() -> None:
    assert violations() == []


def test_no_import_cycle_between_parts_of_the_engine() -> None:
    graphlib.TopologicalSorter(part_graph()).prepare()  # raises CycleError naming the cycle


def test_the_allowed_directions_themselves_form_no_cycle() -> None:
    graphlib.TopologicalSorter(ALLOWED).prepare()


def test_only_the_shared_modules_sit_at_the_top_of_the_package() -> None:
    top = {path.stem for path in PACKAGE.glob("*.py")}
    assert top == TOP_LEVEL_MODULES


def test_every_subpackage_says_what_it_owns_and_may_import() -> None:
    for init in PACKAGE.glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        assert "May import" in doc, init


def test_an_upward_import_is_caught(tmp_path: Path) -> None:
    """The checker itself: a copy of the engine with retrieve importing views, and one importing Streamlit."""
    copy = tmp_path / "reranklens"
    for path in PACKAGE.rglob("*.py"):
        target = copy / path.relative_to(PACKAGE)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    search = copy / "retrieve" / "search.py"
    search.write_text(search.read_text(encoding="utf-8") + "\nfrom reranklens.views import explore\n", encoding="utf-8")
    store = copy / "retrieve" / "store.py"
    store.write_text(store.read_text(encoding="utf-8") + "\nimport streamlit\n", encoding="utf-8")
    problems = violations(copy)
    assert any("retrieve/search.py" in p and "retrieve may not import views" in p for p in problems), problems
    assert any("retrieve/store.py" in p and "imports streamlit" in p for p in problems), problems
    assert len(problems) == 2, problems


COMPONENTS = PACKAGE.parent / "components"
COMPONENT_FOLDERS = {"shared", "explore", "label", "evaluate", "corpus", "models"}


def component_violations(components: Path = COMPONENTS) -> list[str]:
    """One line per import between ``components/`` folders that breaks their directions: ``shared`` imports
    only ``shared``; a page's folder imports only itself and ``shared``; no module sits at the top."""
    problems = []
    for path in sorted(components.rglob("*.py")):
        where = path.relative_to(components.parent)
        parts = path.relative_to(components).parts
        if len(parts) == 1:
            if parts[0] != "__init__.py":
                problems.append(f"{where}: a module at the top of components/ (put it in the folder of its page)")
            continue
        folder = parts[0]
        if folder not in COMPONENT_FOLDERS:
            problems.append(f"{where}: '{folder}' is not a known folder of components/")
            continue
        allowed = {"shared"} if folder == "shared" else {folder, "shared"}
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                pieces = name.split(".")
                if pieces[0] == "components" and len(pieces) > 1 and pieces[1] not in allowed:
                    problems.append(f"{where}:{node.lineno}: {folder} may not import {name}")
                if pieces[0] == "pages":
                    problems.append(f"{where}:{node.lineno}: components import pages ({name})")
    return problems


def test_components_are_grouped_by_page_and_import_only_shared() -> None:
    assert component_violations() == []
    assert {p.name for p in COMPONENTS.iterdir() if p.is_dir() and p.name != "__pycache__"} == COMPONENT_FOLDERS


def test_every_component_folder_says_what_it_may_import() -> None:
    for folder in COMPONENT_FOLDERS:
        doc = ast.get_docstring(ast.parse((COMPONENTS / folder / "__init__.py").read_text(encoding="utf-8"))) or ""
        assert "May import" in doc, folder


def test_a_sideways_component_import_is_caught(tmp_path: Path) -> None:
    """The checker itself: a copy of components/ where label imports explore and shared imports label."""
    copy = tmp_path / "components"
    for path in COMPONENTS.rglob("*.py"):
        target = copy / path.relative_to(COMPONENTS)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    (copy / "label" / "extra.py").write_text("from components.explore.tour import tour_panel\n", encoding="utf-8")
    (copy / "shared" / "extra.py").write_text("import components.label.grading\n", encoding="utf-8")
    problems = component_violations(copy)
    assert any("label/extra.py" in p and "label may not import components.explore.tour" in p for p in problems)
    assert any("shared/extra.py" in p and "shared may not import components.label.grading" in p for p in problems)
    assert len(problems) == 2, problems


def test_every_page_draws_the_frame_first() -> None:
    """The frame holds the sign-in gate: a page that draws anything before it would show it to anyone."""
    for page in sorted((PACKAGE.parent / "pages").glob("*.py")):
        body = [
            n
            for n in ast.parse(page.read_text(encoding="utf-8")).body
            if not isinstance(n, ast.Import | ast.ImportFrom)
        ]
        statements = [n for n in body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
        first = statements[0]
        assert isinstance(first, ast.Expr) and isinstance(first.value, ast.Call), page
        assert ast.unparse(first.value) == f"page_frame('{page.stem}')", (page, ast.unparse(first))
