"""Model files: round trips, every kind of bad file, and scoring a new period."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from core import codec
from core.clustering import service
from core.clustering.config import ModelConfig, PreprocessConfig
from core.clustering.persist import (
    FORMAT_VERSION,
    MAGIC,
    PICKLE_FORMAT_VERSION,
    ModelFileError,
    ModelVersionWarning,
    _split,
    load_model,
    read_header,
    save_model,
    score_customers,
)
from core.clustering.result import SegmentationResult, rename
from core.errors import ConfigError, CustsegError
from tests.core.clustering.synth import blob_table

NO_LOG = PreprocessConfig(log=())


def _fit(table: pl.DataFrame, model: ModelConfig) -> SegmentationResult:
    return service.segment_customers(table, preprocess=NO_LOG, model=model, data_key="a" * 64)


@pytest.fixture(scope="module")
def table() -> pl.DataFrame:
    return blob_table(500, centers=4, std=0.7, seed=6)[0]


@pytest.fixture(scope="module")
def result(table: pl.DataFrame) -> SegmentationResult:
    return rename(_fit(table, ModelConfig(k=4)), 2, "Our middle class")


@pytest.fixture
def saved(result: SegmentationResult, tmp_path: Path) -> Path:
    return save_model(result, tmp_path / "model.cseg")


def _rewrite(path: Path, *, header: dict | None = None, payload: bytes | None = None) -> None:
    blob = path.read_bytes()
    end = blob.index(b"\n", len(MAGIC))
    old_header = json.loads(blob[len(MAGIC) : end])
    body = blob[end + 1 :] if payload is None else payload
    new_header = header if header is not None else old_header
    path.write_bytes(MAGIC + json.dumps(new_header).encode() + b"\n" + body)


@pytest.mark.parametrize(
    "model",
    [ModelConfig(k=4), ModelConfig(algorithm="gmm", k=4), ModelConfig(algorithm="minibatch", k=4)],
    ids=["kmeans", "gmm", "minibatch"],
)
def test_round_trip_gives_identical_labels(
    table: pl.DataFrame, model: ModelConfig, tmp_path: Path
) -> None:
    result = rename(_fit(table, model), 0, "Top")
    loaded = load_model(save_model(result, tmp_path / "m.cseg"))
    np.testing.assert_array_equal(loaded.segmentation.labels, result.segmentation.labels)
    np.testing.assert_array_equal(
        loaded.segmentation.customer_ids, result.segmentation.customer_ids
    )
    np.testing.assert_array_equal(
        loaded.segmentation.centers_scaled, result.segmentation.centers_scaled
    )
    assert loaded.names == result.names
    assert loaded.names[0] == "Top"
    assert loaded.colors == result.colors
    assert loaded.segmentation.model_config == model
    assert loaded.segmentation.preprocess_config == NO_LOG
    assert loaded.data_key == result.data_key
    assert loaded.key == result.key
    assert loaded.library_versions == result.library_versions
    # The loaded pipeline + model reassign the training customers to the same segments.
    scores = score_customers(loaded, table.sample(fraction=1.0, shuffle=True, seed=2))
    assert scores["customer_id"].to_list() == result.segmentation.customer_ids.tolist()
    assert scores["segment"].to_list() == result.segmentation.labels.tolist()
    assert scores["segment_name"].to_list() == result.assignments()["segment_name"].to_list()


def test_header_is_readable_without_unpickling(saved: Path, result: SegmentationResult) -> None:
    header = read_header(saved)
    assert header["format_version"] == FORMAT_VERSION
    assert header["k"] == 4
    assert header["names"] == list(result.names)
    assert header["algorithm"] == "kmeans"
    assert header["data_key"] == result.data_key
    assert header["features"] == ["recency_days", "frequency", "monetary"]


def test_flipped_byte_is_detected(saved: Path) -> None:
    blob = bytearray(saved.read_bytes())
    blob[-50] ^= 0x01
    saved.write_bytes(bytes(blob))
    with pytest.raises(ModelFileError, match="corrupted or truncated"):
        load_model(saved)


def test_truncated_file_is_detected(saved: Path) -> None:
    saved.write_bytes(saved.read_bytes()[:-10])
    with pytest.raises(ModelFileError, match="corrupted or truncated"):
        load_model(saved)


def test_foreign_files_are_refused(tmp_path: Path) -> None:
    csv = tmp_path / "data.csv"
    csv.write_text("customer_id,segment\n1,2\n")
    with pytest.raises(ModelFileError, match=r"'data\.csv' is not a custseg model file") as info:
        load_model(csv)
    assert isinstance(info.value, CustsegError)
    assert info.value.hint is not None
    raw_pickle = tmp_path / "raw.pkl"
    raw_pickle.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ModelFileError, match="not a custseg model file"):
        load_model(raw_pickle)
    with pytest.raises(ModelFileError, match="not found"):
        load_model(tmp_path / "missing.cseg")
    with pytest.raises(ModelFileError, match="is a folder"):
        load_model(tmp_path)


def test_unreadable_header(tmp_path: Path) -> None:
    path = tmp_path / "m.cseg"
    path.write_bytes(MAGIC + b"{not json\n" + b"payload")
    with pytest.raises(ModelFileError, match="unreadable header"):
        load_model(path)


def test_newer_format_is_refused(saved: Path) -> None:
    header = read_header(saved)
    _rewrite(saved, header={**header, "format_version": FORMAT_VERSION + 1})
    with pytest.raises(ModelFileError, match="newer than this custseg understands"):
        load_model(saved)


def _plant(path: Path, payload: bytes, **header: object) -> None:
    """Replace the payload, with a checksum recomputed as anyone can."""
    header = {
        **read_header(path),
        "payload_bytes": len(payload),
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
        **header,
    }
    _rewrite(path, header=header, payload=payload)


def test_valid_envelope_without_a_segmentation(saved: Path) -> None:
    _plant(saved, codec.dumps({"not": "a result"}))
    with pytest.raises(ModelFileError, match="does not hold a segmentation"):
        load_model(saved)


class _Planted:
    """Unpickling this creates a marker file: what a planted pickle could do instead."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, ...]:
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("version", [PICKLE_FORMAT_VERSION, FORMAT_VERSION])
def test_a_planted_pickle_is_refused_without_running_it(
    saved: Path, tmp_path: Path, version: int
) -> None:
    marker = tmp_path / "ran"
    _plant(saved, pickle.dumps(_Planted(marker)), format_version=version)
    with pytest.raises(ModelFileError, match=r"pickle|unexpected content"):
        load_model(saved)
    assert not marker.exists()


def _replace_member(blob: bytes, name: str, data: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(blob))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info, data if info.filename == name else source.read(info))
    return out.getvalue()


def _object_array(marker: Path) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.array([_Planted(marker)], dtype=object), allow_pickle=True)
    return buffer.getvalue()


def test_unexpected_content_in_the_bundle_is_refused(saved: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    _, payload = _split(saved)
    document = json.loads(zipfile.ZipFile(io.BytesIO(payload)).read(codec.DOCUMENT))
    array = next(n for n in zipfile.ZipFile(io.BytesIO(payload)).namelist() if n.endswith(".npy"))
    foreign = json.dumps(document).replace(
        "core.clustering.result.SegmentationResult", "builtins.eval"
    )
    for bad in (
        _replace_member(payload, array, _object_array(marker)),  # a pickled object array
        _replace_member(payload, codec.DOCUMENT, foreign.encode()),  # a kind not registered
        _replace_member(payload, codec.DOCUMENT, b'{"$": "pickle", "data": ""}'),
        b"PK\x03\x04" + pickle.dumps(_Planted(marker)),
    ):
        _plant(saved, bad)
        with pytest.raises(ModelFileError, match=r"unexpected content|does not hold"):
            load_model(saved)
    assert not marker.exists()


def test_other_library_versions_warn(saved: Path) -> None:
    header = read_header(saved)
    versions = {**header["library_versions"], "scikit-learn": "0.0.1"}
    _rewrite(saved, header={**header, "library_versions": versions})
    with pytest.warns(ModelVersionWarning, match=r"scikit-learn 0\.0\.1 -> "):
        loaded = load_model(saved)
    assert loaded.k == 4


def test_save_checks_its_inputs(result: SegmentationResult, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        save_model(result, tmp_path / "no" / "such" / "m.cseg")
    with pytest.raises(ConfigError, match="expects a SegmentationResult"):
        save_model(result.segmentation, tmp_path / "m.cseg")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_scoring_keeps_excluded_customers_out(result: SegmentationResult) -> None:
    new, _ = blob_table(60, centers=4, std=0.7, seed=6)
    excluded = np.zeros(60, dtype=bool)
    excluded[[3, 7]] = True
    new = new.with_columns(
        excluded=pl.Series(excluded),
        exclusion_reason=pl.when(pl.Series(excluded)).then(pl.lit("net monetary value <= 0")),
    )
    scores = score_customers(result, new)
    assert scores.columns == [
        "customer_id",
        "segment",
        "segment_name",
        "excluded",
        "exclusion_reason",
    ]
    out = scores.filter(pl.col("excluded"))
    assert out["customer_id"].to_list() == ["C000003", "C000007"]
    assert out["segment"].null_count() == 2
    assert out["segment_name"].null_count() == 2
    assert out["exclusion_reason"].to_list() == ["net monetary value <= 0"] * 2
    kept = scores.filter(~pl.col("excluded"))
    assert kept["segment"].null_count() == 0
    assert kept["exclusion_reason"].null_count() == kept.height
    assert set(kept["segment_name"]) <= set(result.names)


def test_scoring_needs_the_model_features(result: SegmentationResult) -> None:
    new, _ = blob_table(20, centers=2, std=0.7, seed=1)
    with pytest.raises(ConfigError, match="'frequency'"):
        score_customers(result, new.drop("frequency"))


@pytest.mark.realdata
def test_score_a_new_period(real_data_path: Path, tmp_path: Path) -> None:
    from core.pipeline import build_customer_table, load_transactions

    raw = pl.read_parquet(real_data_path)
    cut = dt.datetime(2011, 7, 1)
    first, second = tmp_path / "h1.parquet", tmp_path / "h2.parquet"
    raw.filter(pl.col("InvoiceDate") < cut).write_parquet(first)
    raw.filter(pl.col("InvoiceDate") >= cut).write_parquet(second)
    old = build_customer_table(load_transactions(first))
    new = build_customer_table(load_transactions(second))
    result = service.segment_customers(
        old.features, preprocess=PreprocessConfig(), model=ModelConfig(k=4), data_key=old.key
    )
    model = load_model(save_model(rename(result, 0, "Best"), tmp_path / "m.cseg"))
    scores = score_customers(model, new.features)
    assert scores.height == new.features.height
    assert int(scores["excluded"].sum()) == new.n_excluded
    included = new.features.filter(~pl.col("excluded")).sort("customer_id")
    # Oracle: nearest saved centre after the saved preprocessing, computed directly.
    x = model.segmentation.preprocessor.transform(included)
    centres = model.segmentation.centers_scaled
    expected = ((x[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
    got = scores.filter(~pl.col("excluded"))
    assert got["customer_id"].to_list() == included["customer_id"].to_list()
    assert got["segment"].to_list() == expected.tolist()
    assert set(got["segment"].unique().to_list()) == {0, 1, 2, 3}
    assert got.filter(pl.col("segment") == 0)["segment_name"].unique().to_list() == ["Best"]
