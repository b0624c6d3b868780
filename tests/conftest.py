"""Shared fixtures: the real Online Retail file (skipped with a reason where absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "online_retail.parquet"


@pytest.fixture(scope="session")
def real_data_path() -> Path:
    if not REAL_DATA.exists():
        pytest.skip(f"real data set not found at {REAL_DATA} (it lives beside the project root)")
    return REAL_DATA
