"""Data bundles: each kind the cache and model files hold comes back equal; nothing else is read."""

from __future__ import annotations

import datetime as dt
import io
import json
import random
import zipfile
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from core import codec
from core.cache import DiskCache, make_key
from core.clustering import service
from core.clustering.config import ModelConfig, PreprocessConfig
from core.clustering.fit import predict
from core.clustering.result import report
from core.generator import write_transactions
from core.pipeline import CustomerTable, build_customer_table, load_transactions
from tests.core.clustering.synth import blob_table

ALGORITHMS = {
    "kmeans": ModelConfig(k=4),
    "minibatch": ModelConfig(algorithm="minibatch", k=4),
    "gmm": ModelConfig(algorithm="gmm", k=3, covariance_type="diag"),
    "hierarchical": ModelConfig(algorithm="hierarchical", k=4),
    "hdbscan": ModelConfig(algorithm="hdbscan", k=None, min_cluster_size=15),
}


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> CustomerTable:
    path = tmp_path_factory.mktemp("codec") / "t.csv"
    write_transactions(path, customers=400, seed=3)
    return build_customer_table(load_transactions(path))


def _through_disk(value: object, folder: Path) -> object:
    """``value`` written by one cache and read by another (as another worker would)."""
    key = make_key("codec", str(folder))
    assert DiskCache(folder).put(key, value)
    return DiskCache(folder).get(key)


def test_plain_values_round_trip() -> None:
    value = {
        "text": "x",
        1: [1.5, float("nan"), None, True],
        (2, "b"): (np.int64(3), np.float32(0.5), np.bool_(True)),
        "day": dt.date(2011, 12, 9),
        "at": dt.datetime(2011, 12, 9, 8, 26),
        "ids": np.array(["00017", "17850"]),
        "labels": np.arange(5, dtype=np.int16),
        "frame": pl.DataFrame({"a": [1, None], "b": ["x", "y"]}),
        "series": pl.Series("s", [1.0, 2.0]),
    }
    back = codec.loads(codec.dumps(value))
    assert back.keys() == value.keys()
    assert back["text"] == "x"
    assert back[1][0] == 1.5
    assert np.isnan(back[1][1])
    assert back[1][2:] == [None, True]
    assert back[(2, "b")] == (3, 0.5, True)
    assert [type(v) for v in back[(2, "b")]] == [np.int64, np.float32, np.bool_]
    assert (back["day"], back["at"]) == (value["day"], value["at"])
    np.testing.assert_array_equal(back["ids"], value["ids"])
    assert back["labels"].dtype == np.int16
    assert_frame_equal(back["frame"], value["frame"])
    assert back["series"].equals(value["series"])


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_segmentations_round_trip(table: CustomerTable, tmp_path: Path, algorithm: str) -> None:
    result = service.segment_customers(
        table.features,
        preprocess=PreprocessConfig(),
        model=ALGORITHMS[algorithm],
        data_key=table.key,
        lines=table.product_lines,
    )
    back = _through_disk(result, tmp_path)
    assert type(back) is type(result)
    assert report(back) == report(result)  # profiles, overview, names, configs, versions
    seg, again = result.segmentation, back.segmentation
    np.testing.assert_array_equal(again.labels, seg.labels)
    np.testing.assert_array_equal(again.X, seg.X)
    np.testing.assert_array_equal(again.projection, seg.projection)
    np.testing.assert_array_equal(
        again.preprocessor.transform(table.features), seg.preprocessor.transform(table.features)
    )
    np.testing.assert_array_equal(predict(again, table.features), predict(seg, table.features))
    assert again.raw_to_segment == seg.raw_to_segment
    assert back.colors == result.colors
    if algorithm == "gmm":
        x = seg.preprocessor.transform(table.features)
        np.testing.assert_array_equal(again.model.predict_proba(x), seg.model.predict_proba(x))
    if algorithm in ("kmeans", "minibatch"):
        np.testing.assert_array_equal(again.model.predict(seg.X), seg.model.predict(seg.X))
    if algorithm == "hierarchical":
        np.testing.assert_array_equal(again.model.labels(6), seg.model.labels(6))
        np.testing.assert_array_equal(again.linkage, seg.linkage)


def test_k_selection_stability_and_comparison_round_trip(
    table: CustomerTable, tmp_path: Path
) -> None:
    features, preprocess = table.features, PreprocessConfig()
    selection = service.select_k(
        features, preprocess=preprocess, data_key=table.key, k_range=range(2, 6)
    )
    back = _through_disk(selection, tmp_path / "k")
    assert_frame_equal(back.table, selection.table)
    assert (back.recommended_k, back.reason, back.picks) == (
        selection.recommended_k,
        selection.reason,
        selection.picks,
    )
    rated = service.stability(
        features, preprocess=preprocess, model=ModelConfig(k=3), data_key=table.key, n_boot=3
    )
    again = _through_disk(rated, tmp_path / "s")
    assert_frame_equal(again.per_segment, rated.per_segment)
    assert_frame_equal(again.borderline, rated.borderline)
    assert (again.ari_mean, again.rating) == (rated.ari_mean, rated.rating)
    a, b = (
        service.segment_customers(
            features, preprocess=preprocess, model=ModelConfig(k=k), data_key=table.key
        )
        for k in (3, 4)
    )
    comparison = service.compare(a, b)
    copy = _through_disk(comparison, tmp_path / "c")
    assert type(copy) is type(comparison)
    assert copy.ari == comparison.ari


def test_customer_table_round_trips_without_its_lines(table: CustomerTable, tmp_path: Path) -> None:
    back = _through_disk(table, tmp_path)
    assert isinstance(back, CustomerTable)
    assert back.source is None  # the reader attaches its own lazy lines
    assert_frame_equal(back.features, table.features)
    assert back.audit == table.audit
    assert back.summary() == table.summary()
    assert back.reasons is not None
    assert table.reasons is not None
    assert back.reasons.equals(table.reasons)
    assert table.source is not None
    assert_frame_equal(back.with_source(table.source).product_lines, table.product_lines)


def _bundle(document: object, **members: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(codec.DOCUMENT, json.dumps(document))
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "blob",
    [
        b"not a zip",
        _bundle({"$": "object", "kind": "builtins.eval", "fields": {}}),
        _bundle({"$": "object", "kind": "core.clustering.config.ModelConfig", "fields": {"x": 1}}),
        _bundle({"$": "object", "kind": "core.clustering.config.ModelConfig", "fields": {"k": 99}}),
        _bundle({"$": "pickle", "data": "gASVAAAAAAAAAAB9lC4="}),
        _bundle({"plain": "JSON objects are always tagged"}),
        _bundle({"$": "array", "member": "a0.npy"}, **{"a0.npy": _npy(np.array([{}], object))}),
        _bundle({"$": "array", "member": "../a0.npy"}),
        _bundle({"$": "array", "member": "a1.npy"}),
        _bundle({"$": "number", "dtype": "O", "value": 1}),
        _bundle([1], **{"extra.pkl": b""}),
    ],
)
def test_unexpected_content_is_refused(blob: bytes) -> None:
    with pytest.raises(codec.BundleError):
        codec.loads(blob)


def test_compressed_members_are_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(codec.DOCUMENT, "[1]")
    with pytest.raises(codec.BundleError, match="compressed"):
        codec.loads(out.getvalue())


def test_values_without_a_data_form_are_not_written() -> None:
    for value in (lambda: None, object(), np.array([object()]), pl.LazyFrame({"a": [1]}), {1, 2}):
        with pytest.raises(codec.UnsupportedValueError):
            codec.dumps(value)


def test_damaged_bundles_are_refused_or_read_never_crash() -> None:
    # Random byte damage reached zipfile errors other than BadZipFile (NotImplementedError).
    table = blob_table(200, centers=3, std=0.7, seed=1)[0]
    result = service.segment_customers(
        table, preprocess=PreprocessConfig(log=()), model=ModelConfig(k=3), data_key="a" * 64
    )
    blob = codec.dumps(result)
    rng = random.Random(0)
    refused = 0
    for _ in range(600):
        damaged = bytearray(blob)
        for _ in range(3):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        try:
            codec.loads(bytes(damaged))
        except codec.BundleError:
            refused += 1
    assert refused > 0
