"""Component ids: the app shell's in dashapp.shared.ids, each page's next to it, none twice."""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from dashapp.pages import PAGES
from dashapp.shared import ids as shared_ids


def _id_strings(module: ModuleType) -> dict[str, str]:
    return {
        name: value
        for name, value in vars(module).items()
        if name.isupper() and isinstance(value, str) and not name.startswith("_")
    }


def test_no_id_string_is_given_by_two_modules() -> None:
    modules = [shared_ids] + [import_module(f"{page.__name__}.ids") for page in PAGES]
    owner: dict[str, str] = {}
    for module in modules:
        for name, value in _id_strings(module).items():
            where = f"{module.__name__}.{name}"
            assert value not in owner, f"{value!r} is both {owner[value]} and {where}"
            owner[value] = where
    assert len(owner) > 100  # every page has its ids module


def test_pages_do_not_import_each_other() -> None:
    import ast
    from pathlib import Path

    for page in PAGES:
        folder = Path(page.__file__).parent
        for path in folder.glob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module:
                    target = node.module
                elif isinstance(node, ast.Import):
                    target = node.names[0].name
                else:
                    continue
                if target.startswith("dashapp.pages.") and not target.startswith(page.__name__):
                    raise AssertionError(f"{path} imports {target}")
