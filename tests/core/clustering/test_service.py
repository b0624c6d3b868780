"""The clustering service: content-keyed caching (fake and real caches), identity, renames."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from core.cache import DiskCache, MemoryCache, TieredCache
from core.clustering import service
from core.clustering.compare import Comparison
from core.clustering.config import ModelConfig, PreprocessConfig
from core.clustering.result import NOISE_NAME, SegmentationResult, rename, report
from core.clustering.select_k import KSelection
from core.clustering.stability import StabilityReport
from core.errors import ConfigError
from core.naming import color_indices
from tests.core.clustering.synth import blob_table, feature_table

NO_LOG = PreprocessConfig(log=())
KEY = "d" * 64


class CountingCache:
    """A dict-backed ResultCache that counts its calls."""

    def __init__(self) -> None:
        self.store: dict[str, Any] = {}
        self.gets = 0
        self.puts = 0
        self.hits = 0

    def get(self, key: str) -> Any | None:
        self.gets += 1
        value = self.store.get(key)
        if value is not None:
            self.hits += 1
        return value

    def put(self, key: str, value: Any) -> None:
        self.puts += 1
        self.store[key] = value


@pytest.fixture(scope="module")
def table() -> pl.DataFrame:
    return blob_table(600, centers=4, std=0.8, seed=3)[0]


def _segment(table: pl.DataFrame, cache: Any = None, **options: Any) -> SegmentationResult:
    model = options.pop("model", ModelConfig(k=4))
    return service.segment_customers(
        table, preprocess=NO_LOG, model=model, data_key=KEY, cache=cache, **options
    )


# --- caching -----------------------------------------------------------------------------------


def test_second_call_is_a_hit(table: pl.DataFrame) -> None:
    cache = CountingCache()
    first = _segment(table, cache)
    assert (cache.gets, cache.puts, cache.hits) == (1, 1, 0)
    second = _segment(table, cache)
    assert (cache.gets, cache.puts, cache.hits) == (2, 1, 1)
    assert second is first  # served from the cache, not refitted
    assert first.key == service.segmentation_key(KEY, NO_LOG, ModelConfig(k=4), with_lines=False)


def test_every_input_of_the_key_matters(table: pl.DataFrame) -> None:
    cache = CountingCache()
    _segment(table, cache)
    _segment(table, cache, model=ModelConfig(k=4, random_state=1))
    _segment(table, cache, model=ModelConfig(k=3))
    robust = PreprocessConfig(log=(), scaler="robust")
    service.segment_customers(
        table, preprocess=robust, model=ModelConfig(k=4), data_key=KEY, cache=cache
    )
    service.segment_customers(
        table, preprocess=NO_LOG, model=ModelConfig(k=4), data_key="e" * 64, cache=cache
    )
    lines = pl.DataFrame({"customer_id": ["C000001"], "product": ["P"], "amount": [1.0]})
    _segment(table, cache, lines=lines)
    assert cache.hits == 0
    assert cache.puts == 6
    assert len(cache.store) == 6


def test_a_hit_of_the_wrong_kind_is_recomputed(table: pl.DataFrame) -> None:
    cache = CountingCache()
    key = service.segmentation_key(KEY, NO_LOG, ModelConfig(k=4), with_lines=False)
    cache.store[key] = "not a result"
    result = _segment(table, cache)
    assert isinstance(result, SegmentationResult)
    assert cache.puts == 1
    assert cache.store[key] is result


def test_corrupted_disk_entry_is_recomputed(table: pl.DataFrame, tmp_path: Path) -> None:
    first = _segment(table, TieredCache(MemoryCache(), DiskCache(tmp_path)))
    disk = DiskCache(tmp_path)
    path = disk.path_for(first.key)
    blob = bytearray(path.read_bytes())
    blob[-100] ^= 0xFF  # one flipped bit-pattern in the pickled payload
    path.write_bytes(bytes(blob))
    fresh = TieredCache(MemoryCache(), disk)
    again = _segment(table, fresh)
    assert disk.discarded == 1
    assert again is not first
    np.testing.assert_array_equal(again.segmentation.labels, first.segmentation.labels)
    assert again.names == first.names
    # The recomputed entry was written back whole: a new process gets a disk hit.
    third_disk = DiskCache(tmp_path)
    hit = third_disk.get(first.key)
    assert isinstance(hit, SegmentationResult)
    assert third_disk.discarded == 0


def test_disk_hit_in_a_fresh_tiered_cache(table: pl.DataFrame, tmp_path: Path) -> None:
    first = _segment(table, TieredCache(MemoryCache(), DiskCache(tmp_path)))
    memory = MemoryCache()
    again = _segment(table, TieredCache(memory, DiskCache(tmp_path)))
    assert (memory.hits, memory.misses) == (0, 1)  # missed memory, served by disk
    assert first.key in memory  # promoted
    np.testing.assert_array_equal(again.segmentation.labels, first.segmentation.labels)


def test_select_k_stability_and_compare_are_cached(table: pl.DataFrame) -> None:
    cache = CountingCache()
    sel = service.select_k(table, preprocess=NO_LOG, data_key=KEY, cache=cache, k_range=range(2, 6))
    assert isinstance(sel, KSelection)
    assert sel.recommended_k == 4
    assert (
        service.select_k(table, preprocess=NO_LOG, data_key=KEY, cache=cache, k_range=range(2, 6))
        is sel
    )
    assert cache.puts == 1
    stab = service.stability(
        table, preprocess=NO_LOG, model=ModelConfig(k=4), data_key=KEY, cache=cache, n_boot=3
    )
    assert isinstance(stab, StabilityReport)
    assert cache.puts == 3  # the reference segmentation went through the cache too
    ref = _segment(table, cache)
    assert cache.hits == 2  # ... so this is a hit
    assert stab.reference.labels.tolist() == ref.segmentation.labels.tolist()
    assert (
        service.stability(
            table, preprocess=NO_LOG, model=ModelConfig(k=4), data_key=KEY, cache=cache, n_boot=3
        )
        is stab
    )
    other = _segment(table, cache, model=ModelConfig(k=3))
    comparison = service.compare(ref, other, cache=cache)
    assert isinstance(comparison, Comparison)
    assert service.compare(ref, other, cache=cache) is comparison
    assert comparison.counts.shape == (4, 3)
    assert comparison.counts.sum() == 600


def test_stability_refuses_a_foreign_reference(table: pl.DataFrame) -> None:
    ref = _segment(table, model=ModelConfig(k=3))
    with pytest.raises(ConfigError, match="other data or with other settings"):
        service.stability(
            table, preprocess=NO_LOG, model=ModelConfig(k=4), data_key=KEY, reference=ref
        )


# --- result, names, identity -------------------------------------------------------------------


def test_result_tables_agree(table: pl.DataFrame) -> None:
    result = _segment(table)
    seg_table = result.segment_table()
    assert seg_table["segment"].to_list() == [0, 1, 2, 3]
    # Colours are keyed by the names, so one name has one colour in every fit.
    assert seg_table["color"].to_list() == list(color_indices(result.names))
    assert len(set(seg_table["color"].to_list())) == 4
    assert seg_table["customers"].sum() == 600
    assert seg_table["share"].sum() == pytest.approx(1.0)
    assert seg_table["revenue_share"].sum() == pytest.approx(1.0)
    assert len(set(result.names)) == 4
    assignments = result.assignments()
    counts = assignments.group_by("segment_name").len()
    by_name = dict(zip(counts["segment_name"], counts["len"], strict=True))
    assert by_name == dict(zip(seg_table["name"], seg_table["customers"], strict=True))
    content = report(result)
    json.dumps(content, allow_nan=False)  # strictly JSON (no NaN)
    assert content["k_reason"] == "k = 4 set by the user"
    assert [s["customers"] for s in content["segments"]] == seg_table["customers"].to_list()


def test_report_is_strict_json() -> None:
    from core.clustering.result import _json_safe

    raw = {"a": float("nan"), "b": [np.float64(1.5), np.inf, (np.int64(2),)], 3: {"c": None}}
    assert _json_safe(raw) == {"a": None, "b": [1.5, None, [2]], "3": {"c": None}}
    json.dumps(_json_safe(raw), allow_nan=False)


def test_rename_is_an_immutable_validated_update(table: pl.DataFrame) -> None:
    result = _segment(table)
    renamed = rename(result, 1, "  Big   spenders ")
    assert renamed.names[1] == "Big spenders"
    assert result.names[1] != "Big spenders"
    assert renamed.segmentation is result.segmentation
    assert renamed.assignments().filter(pl.col("segment") == 1)[
        "segment_name"
    ].unique().to_list() == ["Big spenders"]
    with pytest.raises(ConfigError, match="already named"):
        rename(renamed, 2, "big SPENDERS")
    with pytest.raises(ConfigError, match="cannot be empty"):
        rename(result, 0, "   ")
    with pytest.raises(ConfigError, match="at most 60"):
        rename(result, 0, "x" * 61)
    with pytest.raises(ConfigError, match="no segment 4"):
        rename(result, 4, "Four")
    with pytest.raises(ConfigError, match="reserved"):
        rename(result, 0, NOISE_NAME)
    assert rename(renamed, 1, "Big spenders").names == renamed.names  # same name: allowed


def _majority_previous(prev: SegmentationResult, cur: SegmentationResult) -> dict[int, int]:
    """For each current segment, the previous segment holding most of its customers."""
    a, b = prev.segmentation, cur.segmentation
    _, ia, ib = np.intersect1d(a.customer_ids, b.customer_ids, return_indices=True)
    out = {}
    for s in range(cur.k):
        mask = b.labels[ib] == s
        out[s] = int(np.bincount(a.labels[ia][mask], minlength=prev.k).argmax())
    return out


def test_typed_names_and_their_colours_survive_a_refit(table: pl.DataFrame) -> None:
    first = _segment(table, model=ModelConfig(k=4, random_state=0))
    first = rename(rename(first, 0, "VIP"), 3, "Sleepers")
    # A custom colour for a typed name, so a carried colour cannot be a coincidence.
    first = replace(first, colors=(15, *first.colors[1:3], 13))
    refit = _segment(table, model=ModelConfig(k=4, random_state=11), previous=first)
    majority = _majority_previous(first, refit)
    assert refit.previous_segment == tuple(majority[s] for s in range(4))
    for s in range(4):
        typed = first.names[majority[s]] in ("VIP", "Sleepers")
        if typed:
            assert refit.names[s] == first.names[majority[s]]
            assert refit.colors[s] == first.colors[majority[s]]
        else:
            # An automatic name is the refit's own: true of this segment's figures.
            assert refit.names[s] == refit.profiles[s].auto_name
    assert {"VIP", "Sleepers"} <= set(refit.names)
    assert len(set(refit.colors)) == 4


def test_identity_follows_customers_not_segment_numbers(table: pl.DataFrame) -> None:
    # Negating monetary leaves the geometry unchanged (no log) but reverses the canonical
    # order (segments are numbered by mean monetary, highest first): segment s of one fit is
    # segment 3 - s of the other.
    flipped = table.with_columns(-pl.col("monetary"))
    previous = service.segment_customers(
        flipped, preprocess=NO_LOG, model=ModelConfig(k=4), data_key="f" * 64
    )
    previous = rename(previous, 0, "First of the flipped")
    refit = _segment(table, previous=previous)
    assert refit.previous_segment == (3, 2, 1, 0)
    assert refit.names[3] == "First of the flipped"
    assert refit.colors[3] == previous.colors[0]
    assert refit.names[:3] == tuple(p.auto_name for p in refit.profiles[:3])


def test_automatic_names_are_never_carried_over(table: pl.DataFrame) -> None:
    first = _segment(table, model=ModelConfig(k=3))
    refit = _segment(table, model=ModelConfig(k=4), previous=first)
    fresh = _segment(table, model=ModelConfig(k=4))
    assert refit.names == fresh.names
    assert refit.colors == fresh.colors


def test_refit_with_more_segments_keeps_matched_identities(table: pl.DataFrame) -> None:
    first = rename(_segment(table, model=ModelConfig(k=3)), 0, "VIP")
    refit = _segment(table, model=ModelConfig(k=4), previous=first)
    assert refit.previous_segment is not None
    matched = [s for s, p in enumerate(refit.previous_segment) if p is not None]
    assert len(matched) == 3
    (vip,) = [s for s in range(4) if refit.names[s] == "VIP"]
    assert refit.previous_segment[vip] == 0
    assert refit.colors[vip] == first.colors[0]
    assert len(set(refit.names)) == 4
    assert len(set(refit.colors)) == 4


def test_hdbscan_noise_is_named_as_such() -> None:
    blobs, _ = blob_table(500, centers=3, std=0.3, seed=4)
    rng = np.random.default_rng(0)
    noise = feature_table(
        {
            "recency_days": rng.integers(-20_000, 20_000, 20),
            "frequency": rng.integers(-20_000, 20_000, 20),
            "monetary": rng.uniform(-20, 20, 20),
        },
        ids=[f"N{i:03d}" for i in range(20)],
    )
    result = _segment(pl.concat([blobs, noise]), model=ModelConfig(algorithm="hdbscan", k=None))
    assert result.overview.noise > 0
    noise_rows = result.assignments().filter(pl.col("segment") == -1)
    assert noise_rows.height == result.overview.noise
    assert noise_rows["segment_name"].unique().to_list() == [NOISE_NAME]
    assert result.name_of(-1) == NOISE_NAME
    assert sum(p.customers for p in result.profiles) + result.overview.noise == 520
    overview = result.overview
    assert overview.noise_share == pytest.approx(overview.noise / 520)
    assert sum(p.share for p in result.profiles) + overview.noise_share == pytest.approx(1.0)
    revenue = sum(p.revenue_share for p in result.profiles) + overview.noise_revenue_share
    assert revenue == pytest.approx(1.0)


# --- real data ---------------------------------------------------------------------------------


@pytest.mark.realdata
def test_real_data_end_to_end(real_data_path: Path) -> None:
    from core.pipeline import build_customer_table, load_transactions

    customers = build_customer_table(load_transactions(real_data_path))
    cache = CountingCache()
    options: dict[str, Any] = {
        "preprocess": PreprocessConfig(),
        "data_key": customers.key,
        "cache": cache,
        "lines": customers.purchases,
    }
    result = service.segment_customers(customers.features, model=ModelConfig(k=4), **options)
    assert len(set(result.names)) == 4
    seg_table = result.segment_table()
    assert seg_table["share"].sum() == pytest.approx(1.0)
    assert seg_table["revenue_share"].sum() == pytest.approx(1.0)
    assert seg_table["customers"].sum() == 4320
    labels = dict(
        zip(
            result.segmentation.customer_ids.tolist(),
            result.segmentation.labels.tolist(),
            strict=True,
        )
    )
    for p in result.profiles:
        assert all(labels[c] == p.segment for c in p.exemplars)
    assert (
        service.segment_customers(customers.features, model=ModelConfig(k=4), **options) is result
    )
    refit = service.segment_customers(
        customers.features,
        model=ModelConfig(k=4, random_state=7),
        previous=rename(result, 2, "Our newcomers"),
        **options,
    )
    majority = _majority_previous(result, refit)
    (ours,) = [s for s in range(4) if majority[s] == 2]
    assert refit.names[ours] == "Our newcomers"
    assert refit.colors[ours] == result.colors[2]
    others = [s for s in range(4) if s != ours]
    assert [refit.names[s] for s in others] == [refit.profiles[s].auto_name for s in others]
