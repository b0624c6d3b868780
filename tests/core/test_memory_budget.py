"""Memory caches bounded in bytes by one budget per process, not only in entries (issue 12,
finding 1: decoded frames stayed in a 64-entry memo whatever their size)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import pytest

from core.cache import MemoryBudget, MemoryCache, TieredCache, estimated_bytes

MB = 1024**2


def frame(megabytes: int) -> pl.DataFrame:
    return pl.DataFrame({"x": np.zeros(megabytes * MB // 8)})


@dataclass(frozen=True)
class Held:
    table: pl.DataFrame
    arrays: tuple[np.ndarray, ...]
    names: list[str]


def test_sizes_count_the_buffers_a_value_holds() -> None:
    table = frame(4)
    assert estimated_bytes(table) == table.estimated_size()
    held = Held(table, (np.zeros(MB // 8), np.zeros(MB // 8)), ["a"] * 5000)
    size = estimated_bytes(held)
    assert 6 * MB <= size < 7 * MB
    assert estimated_bytes({"k": held, "v": [held]}) >= 2 * size


def test_caches_sharing_a_budget_drop_the_least_recently_used_entry_of_any() -> None:
    budget = MemoryBudget(10 * MB)
    tables, results = MemoryCache(max_items=64, budget=budget), MemoryCache(budget=budget)
    tables.put("t1", frame(4))
    results.put("r1", frame(3))
    tables.get("t1")  # used again: now r1 is the oldest
    results.put("r2", frame(4))
    assert tables.get("t1") is not None
    assert results.get("r1") is None
    assert results.get("r2") is not None
    assert budget.used() <= budget.max_bytes
    # An entry count far under max_items no longer lets memory grow without bound.
    for i in range(20):
        results.put(f"many{i}", frame(1))
    assert budget.used() <= budget.max_bytes
    assert len(results) + len(tables) < 20


def test_a_value_larger_than_the_whole_budget_stays_out_of_memory_only() -> None:
    budget = MemoryBudget(2 * MB)
    memory = MemoryCache(budget=budget)
    memory.put("small", frame(1))
    big = frame(8)
    disk: dict[str, object] = {}

    class Disk:
        def get(self, key: str) -> object:
            return disk.get(key)

        def put(self, key: str, value: object) -> None:
            disk[key] = value

    tiered = TieredCache(memory, Disk())  # type: ignore[arg-type]
    tiered.put("big", big)
    assert memory.get("big") is None
    assert memory.get("small") is not None  # nothing else was dropped for it
    assert tiered.get("big") is big  # from the disk tier


def test_without_a_budget_only_the_entry_count_bounds() -> None:
    cache = MemoryCache(max_items=2)
    for i in range(3):
        cache.put(str(i), frame(1))
    assert cache.get("0") is None
    assert cache.get("2") is not None
    assert cache.nbytes == 0


def test_the_budget_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        MemoryBudget(0)
