"""Content-keyed cache: keys, LRU, atomic disk entries, corruption, eviction, processes."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from datetime import date
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

from core import cache as cache_module
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


class _Metadata(metadata.Distribution):
    """A distribution whose METADATA is the given text."""

    def __init__(self, text: str | None) -> None:
        self._text = text

    def read_text(self, filename: str) -> str | None:
        return self._text if filename == "METADATA" else None

    def locate_file(self, path: str | os.PathLike[str]) -> Path:
        return Path(path)


def test_library_versions_are_the_installed_ones() -> None:
    versions = cache_module.library_versions()
    for dist in ("polars", "numpy", "scikit-learn", "scipy"):
        assert versions[dist] == metadata.version(dist)


def test_distribution_version_reads_the_header_only() -> None:
    header = "Metadata-Version: 2.1\nName: thing\nSummary: a\n  folded line\nversion:  1.2.3 \n"
    body = "\nVersion: 9.9.9 (in the description)\n"
    assert cache_module._distribution_version(_Metadata(header + body)) == "1.2.3"
    # No Version field in the header: the email parser's answer (None here), not the body's.
    assert cache_module._distribution_version(_Metadata("Name: thing\n" + body)) is None


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
        cache.put(key, np.zeros(10_000, dtype=np.uint8))
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


class _Planted:
    """Unpickling this creates a marker file: what a planted pickle could do instead."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, ...]:
        return (Path.touch, (self.marker,))


def _plant(path: Path, magic: bytes, payload: bytes) -> None:
    """An entry with a checksum recomputed, as anyone who can write the folder can."""
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(payload).digest()
    path.write_bytes(magic + len(payload).to_bytes(8, "big") + digest + payload)


@pytest.mark.parametrize("magic", [b"CSEG1\n", cache_module._MAGIC], ids=["v1", "current"])
def test_a_planted_pickle_is_a_logged_miss_and_never_runs(
    tmp_path: Path, magic: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    cache = DiskCache(tmp_path / "cache")
    key = make_key("planted")
    marker = tmp_path / "ran"
    _plant(cache.path_for(key), magic, pickle.dumps(_Planted(marker)))
    with caplog.at_level("WARNING", logger="core.cache"):
        assert cache.get(key) is None
    assert not marker.exists()
    assert not cache.path_for(key).exists()
    assert cache.discarded == 1
    assert "treated as a miss" in caplog.text
    assert get_or_compute(cache, key, lambda: {"fresh": 1}) == {"fresh": 1}
    assert DiskCache(tmp_path / "cache").get(key) == {"fresh": 1}


def test_a_bundle_naming_an_unknown_kind_is_a_miss(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path)
    key = make_key("foreign kind")
    cache.put(key, [1, 2])
    document = b'{"$": "object", "kind": "os.system", "fields": {"command": "touch x"}}'
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("document.json", document)
    _plant(cache.path_for(key), cache_module._MAGIC, archive.getvalue())
    assert cache.get(key) is None
    assert cache.discarded == 1


def test_old_pickled_entries_are_deleted_unread(tmp_path: Path) -> None:
    key = make_key("old")
    marker = tmp_path / "ran"
    old = tmp_path / "cache" / key[:2] / f"{key}.pkl"
    _plant(old, b"CSEG1\n", pickle.dumps(_Planted(marker)))
    cache = DiskCache(tmp_path / "cache")
    assert not old.exists()
    assert cache.get(key) is None
    assert not marker.exists()


def test_a_value_without_a_data_form_stays_in_memory(tmp_path: Path) -> None:
    disk = DiskCache(tmp_path)
    tiered = TieredCache(MemoryCache(), disk)
    key = make_key("unknown kind")
    value = _Cfg(k=3, features=("a",))  # a dataclass no codec knows
    tiered.put(key, value)
    assert tiered.get(key) is value
    assert disk.skipped == 1
    assert disk.get(key) is None
    assert not list(tmp_path.rglob("*.entry"))
    assert disk.put(make_key("known"), {"k": 3, "features": ("a",)})
