"""The distribution carries every package and declares exactly what the code imports.

A non-editable install holds only what ``pyproject.toml`` lists; a package folder missing from
the list (``dashapp.pages`` once was) breaks ``custseg serve`` outside the checkout while every
test in the checkout still passes. ``tools/smoke_install.sh`` (CI) proves the whole install; these
checks name the cause in seconds.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from importlib.resources import files
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
CODE_PACKAGES = ("core", "dashapp")
# Declared but never imported by name (xlsxwriter, polars' write_excel engine, is imported by
# core.export for its workbook options).
USED_THROUGH_POLARS: set[str] = set()


def _dist_name(requirement: str) -> str:
    name = re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported_top_modules() -> set[str]:
    modules: set[str] = set()
    for package in CODE_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    modules.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names) - {"__future__", *CODE_PACKAGES}


def test_every_package_folder_is_listed() -> None:
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for package in CODE_PACKAGES
        for init in (ROOT / package).rglob("__init__.py")
    }
    assert on_disk - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    assert listed - on_disk == {"custseg_assets", "custseg_data"}


def test_assets_and_default_data_are_found_through_their_packages() -> None:
    from core.generator import DEFAULT_DATA
    from dashapp.app import ASSETS

    assert Path(str(files("custseg_data"))) / "default_transactions.parquet" == DEFAULT_DATA
    assert DEFAULT_DATA.is_file()
    assert {"app.css", "upload_guard.js"} <= {p.name for p in ASSETS.iterdir()}
    assert (ASSETS / "vendor" / "bootstrap-5.3.8.min.css").is_file()
    assert (ASSETS / "vendor" / "plotly-partial.min.js").is_file()  # tools/build_plotly.sh
    data = PYPROJECT["tool"]["setuptools"]["package-data"]
    assert DEFAULT_DATA.name.endswith(tuple(p.lstrip("*") for p in data["custseg_data"]))


def test_dependencies_are_what_the_code_imports() -> None:
    distributions = packages_distributions()
    imported = {
        _dist_name(dist) for module in _imported_top_modules() for dist in distributions[module]
    }
    declared = {_dist_name(r) for r in PYPROJECT["project"]["dependencies"]}
    # core.spark imports pyspark only when --engine spark runs: the spark extra declares it.
    declared |= {_dist_name(r) for r in PYPROJECT["project"]["optional-dependencies"]["spark"]}
    assert imported - declared == set(), "imported but not declared in [project] dependencies"
    assert declared - imported == USED_THROUGH_POLARS, "declared but never imported"
