"""One byte budget for the memory caches of an app's process (issue 12, finding 1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from dashapp.services import CACHE_MEMORY_ENV, AppServices, cache_memory_bytes


def test_the_apps_memory_caches_share_one_budget_set_by_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_MEMORY_ENV, "300")
    services = AppServices.create(
        secret_key="k" * 32,
        cache_dir=tmp_path,
        default_path=tmp_path / "default.parquet",
        max_upload_bytes=1024,
    )
    caches = [services.cache.memory, services.tables.memory, services.memo, services.product_lines]
    budgets = {id(c.budget) for c in caches}
    assert len(budgets) == 1
    assert caches[0].budget is not None
    assert caches[0].budget.max_bytes == 300 * 1024**2


def test_the_budget_defaults_to_an_eighth_of_ram_and_refuses_nonsense(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(CACHE_MEMORY_ENV, raising=False)
    assert cache_memory_bytes() >= 256 * 1024**2
    monkeypatch.setenv(CACHE_MEMORY_ENV, "lots")
    with pytest.raises(ConfigError, match=CACHE_MEMORY_ENV):
        cache_memory_bytes()
