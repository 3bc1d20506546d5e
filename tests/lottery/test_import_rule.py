"""`lottery/` is the pure protocol core: it never imports Flask or SQLAlchemy (docs/architecture.md).

Every module is parsed with `ast`, so imports inside functions count too.
"""

import ast
import sys
from pathlib import Path

import pytest

LOTTERY = Path(__file__).parents[2] / "lottery"
MODULES = sorted(LOTTERY.glob("*.py"))
FORBIDDEN = ("flask", "sqlalchemy", "werkzeug", "alembic")
ALLOWED_THIRD_PARTY = {"cryptography", "rfc8785", "py_ecc"}


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module `path` imports, wherever the import statement is."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module" and node.args:
            argument = node.args[0]
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                names.add(argument.value.split(".")[0])
    return names


def test_the_package_has_its_modules() -> None:
    names = {path.stem for path in MODULES}
    assert {"population", "canonical", "announcement", "draw", "drand", "signing", "bundle", "cli"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_no_module_imports_flask_or_sqlalchemy(path: Path) -> None:
    imported = {name.lower() for name in imported_modules(path)}
    assert not {name for name in imported if name.startswith(FORBIDDEN) or name.startswith("flask_")}


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_only_the_standard_library_and_the_three_named_packages(path: Path) -> None:
    imported = imported_modules(path) - {"lottery"}
    outside = {name for name in imported if name not in sys.stdlib_module_names and not name.startswith("_")}
    assert outside <= ALLOWED_THIRD_PARTY, f"{path.name} imports {sorted(outside - ALLOWED_THIRD_PARTY)}"


def test_the_checker_sees_imports_inside_functions(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def view():\n    from flask import request\n    import sqlalchemy.orm\n    return request\n")
    assert imported_modules(sample) == {"flask", "sqlalchemy"}
