"""A feature table laid out as Spark writes it (a directory of part files) opens as a dataset."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from core.cleaning import CleaningConfig
from core.cli import main
from core.errors import InputFileError
from core.feature_source import customer_table, is_feature_source, read
from core.generator import DEFAULT_DATA
from core.pipeline import build_customer_table, load_transactions


def spark_layout(features: pl.DataFrame, folder: Path, parts: int = 3) -> Path:
    """``features`` split into ``parts`` files named as Spark names them, with its markers."""
    folder.mkdir()
    shuffled = features.sample(fraction=1.0, shuffle=True, seed=1)
    size = -(-shuffled.height // parts)
    for i in range(parts):
        chunk = shuffled.slice(i * size, size)
        chunk.write_parquet(folder / f"part-{i:05d}-3f1c-c000.snappy.parquet")
        (folder / f".part-{i:05d}-3f1c-c000.snappy.parquet.crc").write_bytes(b"crc")
    (folder / "_SUCCESS").write_bytes(b"")
    return folder


@pytest.fixture(scope="module")
def features(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    out = tmp_path_factory.mktemp("features") / "features.parquet"
    assert main(["features", str(DEFAULT_DATA), "--out", str(out)]) == 0
    return pl.read_parquet(out)


def test_a_directory_of_parts_reads_as_the_feature_table(features, tmp_path: Path) -> None:
    folder = spark_layout(features, tmp_path / "spark_out")
    assert is_feature_source(folder)
    dataset = read(folder)
    assert dataset.parts == 3
    assert dataset.provenance == f"Spark output: 3 part files at {folder}"
    assert dataset.features.equals(features.sort("customer_id"))
    table = customer_table(dataset, key="k")
    assert table.n_customers == features.height
    assert table.n_excluded == int(features["excluded"].sum())
    assert table.purchases is None
    assert table.product_line_query() is None
    # The analysis date the features were computed at, as the transactions' pipeline has it.
    lines = build_customer_table(load_transactions(DEFAULT_DATA), cleaning=CleaningConfig())
    assert table.analysis_date == lines.analysis_date


def test_a_segment_table_opens_as_its_features(features, tmp_path: Path) -> None:
    segments = features.with_columns(
        pl.lit(1, dtype=pl.Int64).alias("segment"), pl.lit("A").alias("segment_name")
    )
    dataset = read(spark_layout(segments, tmp_path / "segments"))
    assert "segment" in dataset.columns
    assert dataset.features.equals(features.sort("customer_id"))


def test_what_is_not_a_feature_source(features, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "_SUCCESS").write_bytes(b"")
    assert not is_feature_source(empty)
    with pytest.raises(InputFileError, match="no Parquet part file"):
        read(empty)
    other = spark_layout(pl.DataFrame({"a": [1, 2]}), tmp_path / "other", parts=1)
    assert is_feature_source(other)  # a directory of parts: opened, then refused with a reason
    with pytest.raises(InputFileError, match="not a customer feature table"):
        read(other)
    twice = spark_layout(pl.concat([features, features.head(1)]), tmp_path / "twice")
    with pytest.raises(InputFileError, match="repeated customer ids"):
        read(twice)
    assert not is_feature_source(DEFAULT_DATA)  # transactions stay transactions


def test_serve_refuses_a_directory_without_parts(tmp_path: Path, capsys) -> None:
    (tmp_path / "_SUCCESS").write_bytes(b"")
    assert main(["serve", "--data", str(tmp_path)]) == 2
    assert "without Parquet part files" in capsys.readouterr().err
