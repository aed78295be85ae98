"""Imports run one way: views → services (app.services, reports) → models / security → the core
(app.extensions, app.clock, app.labels, app.audit, app.queries, app.config). Only the composition
roots (the app factory and its CLI) import everything. Checked on every import statement, the
ones inside functions included, so a cycle cannot hide in a function body."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("app", "views", "models", "security", "reports")
COMPOSITION_ROOTS = {"app", "app.cli"}  # create_app registers the views; the CLI runs services
CORE = {"app.extensions", "app.clock", "app.labels", "app.audit", "app.queries", "app.config"}

# layer of a module -> the layers it must never import
FORBIDDEN = {
    "core": {"services", "views", "security", "bench", "tests"},
    "models": {"services", "views", "security", "bench", "tests"},
    "security": {"services", "views", "bench", "tests"},
    "services": {"views", "bench", "tests"},
    "views": {"bench", "tests"},
}


def layer(module: str) -> str:
    top = module.split(".")[0]
    if module in CORE or module.startswith("app.extensions"):
        return "core"
    if top == "app":
        return "services" if module.startswith("app.services") else "app"
    return {"reports": "services"}.get(top, top)


def imported_modules(path: Path, module: str):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the package
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            yield node.lineno, base
            for alias in node.names:  # `from app.services import review` imports a module
                yield node.lineno, f"{base}.{alias.name}"


def violations(root: Path) -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root).with_suffix("")
            module = ".".join(p for p in relative.parts if p != "__init__")
            if module in COMPOSITION_ROOTS:
                continue
            mine = layer(module)
            for lineno, target in imported_modules(path, module):
                top = target.split(".")[0]
                if top not in (*PACKAGES, "bench", "tests"):
                    continue  # a library
                theirs = layer(target) if top in PACKAGES else top
                if theirs in FORBIDDEN.get(mine, set()):
                    found.append(f"{path.relative_to(root)}:{lineno} ({mine}) imports {target}")
    return found


def test_imports_run_one_way():
    assert violations(ROOT) == []


def test_the_layer_check_catches_a_model_importing_a_service(tmp_path):
    """The check above must be able to fail: a model that reaches up to a service (the cycles
    the review registry removed, hidden in a function body) is reported."""
    for package in PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "models" / "course.py").write_text(
        "def on_approved(self):\n    from app.services import courses\n"
    )
    (tmp_path / "app" / "services").mkdir()
    (tmp_path / "app" / "services" / "plans.py").write_text("from views.plans import PlanView\n")
    assert violations(tmp_path) == [
        "app/services/plans.py:1 (services) imports views.plans",
        "app/services/plans.py:1 (services) imports views.plans.PlanView",
        "models/course.py:2 (models) imports app.services",
        "models/course.py:2 (models) imports app.services.courses",
    ]


def test_point5_test_modules_import_builders_only_from_factories():
    """Test data builders live in one place: a test module imports tests.factories (and the
    snapshot), never another test module or a conftest."""
    allowed = {"tests.factories", "tests.snapshot"}
    found = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        relative = path.relative_to(ROOT).with_suffix("")
        module = ".".join(p for p in relative.parts if p != "__init__")
        for lineno, target in imported_modules(path, module):
            if target.startswith("tests.") and not any(
                target == a or target.startswith(a + ".") for a in allowed
            ):
                found.append(f"{path.relative_to(ROOT)}:{lineno} imports {target}")
    assert found == []
