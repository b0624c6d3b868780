"""A table Spark writes (a directory of part files) opens as the app's dataset, unchanged."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from core.cli import main
from core.feature_source import is_feature_source, read
from core.generator import DEFAULT_DATA


def test_a_spark_written_feature_table_opens_unchanged(spark, tmp_path: Path) -> None:
    features = tmp_path / "features.parquet"
    assert main(["features", str(DEFAULT_DATA), "--out", str(features)]) == 0
    folder = tmp_path / "by_spark"
    spark.read.parquet(str(features)).repartition(3).write.parquet(str(folder))
    assert is_feature_source(folder)
    dataset = read(folder)
    assert dataset.parts == 3
    assert dataset.provenance == f"Spark output: 3 part files at {folder}"
    assert dataset.features.equals(pl.read_parquet(features).sort("customer_id"))
