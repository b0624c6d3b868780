"""Shared fixtures and markers.

- ``real_data_path``: the real UCI Online Retail file beside the project root. Where it is absent
  the test is skipped with the reason, except in CI (``CI=true``), where that is a failure: CI
  always has the file, so a skip there would hide a broken path.
- Markers are derived, so none can be forgotten: every test under ``tests/browser`` is marked
  ``browser`` and every test that uses ``real_data_path`` is marked ``realdata``. The quick tier
  is ``pytest -m "not browser and not slow"``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "online_retail.parquet"
BROWSER_DIR = Path(__file__).resolve().parent / "browser"


def in_ci() -> bool:
    """True when run by CI (``CI=true``), where a missing prerequisite is a failure, not a skip."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if BROWSER_DIR in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)
        if "real_data_path" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.realdata)
