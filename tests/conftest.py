"""Shared fixtures and markers.

- ``real_data_path``: the real UCI Online Retail file beside the project root. Where it is absent
  the test is skipped with the reason, except in CI (``CI=true``), where that is a failure: CI
  always has the file, so a skip there would hide a broken path.
- Markers are derived, so none can be forgotten: every test under ``tests/browser`` is marked
  ``browser`` and every test that uses ``real_data_path`` is marked ``realdata`` (and every test
  under ``tests/spark`` ``spark``). The quick tier is
  ``pytest -m "not browser and not slow and not spark"``.
- ``postgres_url``: a fresh database on the session's PostgreSQL server (``tests/postgres.py``:
  Debian's binaries started on a temporary folder, stopped at the end); tests using it are
  marked ``postgres``. Skipped with the reason where the binaries are not installed (a failure
  in CI; ``tools/test.sh`` installs them).
- Hypothesis: no deadline (a per-example time limit is a timed assertion: it failed on a loaded
  machine); in CI the examples are derandomized, so a landing is not refused for an example
  no one has seen before. Developers' runs keep exploring at random and keep what they find in
  their ``.hypothesis`` folder.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests import postgres

# Spelled out (as in core.workspace.db) so that loading the tests imports no SQLAlchemy.
DATA_DIR_ENV = "CUSTSEG_DATA_DIR"
DATABASE_ENV = "CUSTSEG_DATABASE_URL"

def in_ci() -> bool:
    """True when run by CI (``CI=true``), where a missing prerequisite is a failure, not a skip."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


settings.register_profile("custseg", deadline=None, derandomize=in_ci())
settings.load_profile("custseg")

REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "online_retail.parquet"
BROWSER_DIR = Path(__file__).resolve().parent / "browser"


def missing(reason: str) -> None:
    """Skip the test with ``reason``, or fail it in CI."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: required here, so this fails instead of skipping)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def real_data_path() -> Path:
    if not REAL_DATA.exists():
        missing(f"real data set not found at {REAL_DATA} (it lives beside the project root)")
    return REAL_DATA


@pytest.fixture(scope="session", autouse=True)
def _workspace_in_a_temporary_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The tests' workspace (core.workspace) is a fresh SQLite file in a temporary folder,
    never the user's (``~/.local/share/custseg``) nor a team database named by the
    environment."""
    saved = {name: os.environ.pop(name, None) for name in (DATA_DIR_ENV, DATABASE_ENV)}
    os.environ[DATA_DIR_ENV] = str(tmp_path_factory.mktemp("custseg-data"))
    yield
    for name, value in saved.items():
        os.environ.pop(name, None)
        if value is not None:
            os.environ[name] = value


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    bindir = postgres.binaries()
    if bindir is None:
        missing(
            "PostgreSQL binaries (initdb, pg_ctl) not found under /usr/lib/postgresql: "
            "`apt-get install postgresql`, or run `bash tools/test.sh`, which installs them"
        )
    assert bindir is not None
    with postgres.running_server(bindir) as url:
        yield url


@pytest.fixture
def postgres_url(postgres_server: str, request: pytest.FixtureRequest) -> str:
    """A new, empty database on the session's server, named after the test."""
    name = re.sub(r"[^a-z0-9_]", "_", request.node.name.lower())[:50]
    return postgres.create_database(postgres_server, f"t_{name}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if BROWSER_DIR in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)
        if "real_data_path" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.realdata)
        if {"postgres_url", "postgres_server"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)
