"""Content-keyed cache: keys, LRU, atomic disk entries, corruption, eviction, processes."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from core.cache import (
    DiskCache,
    MemoryCache,
    TieredCache,
    fingerprint_bytes,
    fingerprint_file,
    get_or_compute,
    make_key,
)


@dataclass(frozen=True)
class _Cfg:
    k: int
    features: tuple[str, ...]
    day: date | None = None


def test_key_depends_on_content_not_identity() -> None:
    a = make_key("fp1", _Cfg(4, ("r", "f")))
    assert a == make_key("fp1", _Cfg(4, ("r", "f")))
    assert a != make_key("fp1", _Cfg(5, ("r", "f")))
    assert a != make_key("fp2", _Cfg(4, ("r", "f")))
    assert a != make_key("fp1", _Cfg(4, ("f", "r")))
    assert make_key({"b": 1, "a": 2}) == make_key({"a": 2, "b": 1})
    assert len(a) == 64


def test_key_includes_library_versions() -> None:
    assert make_key("x") != make_key("x", versions=False)


def test_key_rejects_unhashable_content() -> None:
    with pytest.raises(TypeError, match="cannot build a cache key"):
        make_key(object())


def test_fingerprints_agree_for_file_and_bytes(tmp_path: Path) -> None:
    data = b"InvoiceNo,CustomerID\n1,17850\n" * 1000
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    assert fingerprint_file(path, chunk_size=7) == fingerprint_bytes(data)
    assert fingerprint_bytes(data) != fingerprint_bytes(data + b"\n")


def test_memory_lru_evicts_least_recently_used() -> None:
    cache = MemoryCache(max_items=2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now most recent
    cache.put("c", 3)
    assert cache.get("b") is None
    assert cache.get("a") == 1
    assert cache.get("c") == 3
    assert (cache.hits, cache.misses) == (3, 1)


def test_disk_roundtrip_and_miss(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path)
    key = make_key("roundtrip")
    assert cache.get(key) is None
    value = {"labels": np.arange(10), "name": "Champions"}
    cache.put(key, value)
    got = cache.get(key)
    assert got["name"] == "Champions"
    np.testing.assert_array_equal(got["labels"], np.arange(10))
    assert not list(tmp_path.glob("*/.tmp-*")), "temporary files must not be left behind"


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty"])
def test_disk_corrupted_entry_is_discarded_and_recomputed(tmp_path: Path, damage: str) -> None:
    cache = DiskCache(tmp_path)
    key = make_key("corrupt", damage)
    cache.put(key, list(range(1000)))
    path = cache.path_for(key)
    blob = bytearray(path.read_bytes())
    if damage == "truncate":
        path.write_bytes(bytes(blob[: len(blob) // 2]))
    elif damage == "flip":
        blob[-10] ^= 0xFF
        path.write_bytes(bytes(blob))
    elif damage == "garbage":
        path.write_bytes(b"not a cache entry at all")
    else:
        path.write_bytes(b"")
    assert cache.get(key) is None
    assert not path.exists()
    assert cache.discarded == 1
    calls: list[int] = []
    value = get_or_compute(cache, key, lambda: calls.append(1) or [1, 2, 3])
    assert value == [1, 2, 3]
    assert calls == [1]
    assert cache.get(key) == [1, 2, 3]


def test_disk_size_bound_evicts_oldest(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, max_bytes=30_000)
    keys = [make_key("evict", i) for i in range(5)]
    for i, key in enumerate(keys):
        cache.put(key, bytes(10_000))
        # make mtimes strictly ordered whatever the file system's resolution
        os.utime(cache.path_for(key), (1_000_000 + i, 1_000_000 + i))
        cache.evict()
    assert cache.total_bytes() <= 30_000
    assert cache.get(keys[0]) is None
    assert cache.get(keys[-1]) is not None


def test_disk_rejects_keys_that_are_not_hex(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path)
    with pytest.raises(ValueError, match="invalid cache key"):
        cache.get("../../etc/passwd")


def test_tiered_promotes_disk_hits_and_shares_across_processes(tmp_path: Path) -> None:
    key = make_key("shared", versions=False)
    script = (
        "import sys; from core.cache import DiskCache;"
        f"DiskCache(sys.argv[1]).put({key!r}, {{'k': 4, 'labels': [0, 1, 1]}})"
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True, cwd=root)
    tiered = TieredCache(MemoryCache(max_items=4), DiskCache(tmp_path))
    assert key not in tiered.memory
    assert tiered.get(key) == {"k": 4, "labels": [0, 1, 1]}
    assert key in tiered.memory


def test_get_or_compute_without_cache_always_computes() -> None:
    calls: list[int] = []
    for _ in range(2):
        get_or_compute(None, make_key("x"), lambda: calls.append(1))
    assert len(calls) == 2
