"""The reproducible bundle (core.bundle): the same segmentation gives the same files, even from
a table whose float sums differ in their last bits (the engine's sums do from run to run); the
command line's cleaning and settings; segments checked."""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from core import bundle
from core.cleaning import CleaningConfig
from core.clustering import service
from core.clustering.config import ModelConfig, PreprocessConfig
from core.clustering.result import SegmentationResult
from core.errors import ConfigError
from core.generator import write_transactions
from core.pipeline import CustomerTable, build_customer_table, load_transactions

SETTINGS = bundle.SegmentationSettings(
    preprocess=PreprocessConfig(features=("recency_days", "frequency", "monetary")),
    model=ModelConfig(k=3, random_state=5),
)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bundle") / "lines.parquet"
    write_transactions(path, seed=11, customers=150)
    return path


@pytest.fixture(scope="module")
def table(data: Path) -> CustomerTable:
    return build_customer_table(load_transactions(data))


@pytest.fixture(scope="module")
def result(table: CustomerTable) -> SegmentationResult:
    return service.segment_customers(
        table.features,
        preprocess=SETTINGS.preprocess,
        model=SETTINGS.model,
        data_key=table.key,
    )


def _noisy(table: CustomerTable) -> CustomerTable:
    """The table as another engine run may give it: money sums off by one unit in the last
    place for every other customer, the ratios computed from them."""
    features = table.features
    odd = np.arange(features.height) % 2 == 1
    noisy = {}
    for column in ("gross", "monetary"):
        values = features[column].to_numpy().copy()
        values[odd] = np.nextafter(values[odd], np.inf)
        noisy[column] = pl.Series(column, values)
    changed = features.with_columns(**noisy).with_columns(
        (pl.col("monetary") / pl.col("frequency")).alias("avg_order_value")
    )
    assert not changed["monetary"].equals(features["monetary"])
    return dataclasses.replace(table, features=changed)


def _files(table: CustomerTable, result: SegmentationResult, fmt: str) -> dict[str, bytes]:
    selection, stability = bundle.diagnostics(table, SETTINGS, result)
    assert selection is not None
    assert stability is not None
    return bundle.bundle_files(
        table=table,
        settings=SETTINGS,
        result=result,
        segments=(0, 2),
        list_format=fmt,  # type: ignore[arg-type]
        filename="lines.parquet",
        file_sha256="0" * 64,
        selection=selection,
        stability=stability,
    )


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_float_noise_in_the_table_changes_no_file(
    table: CustomerTable, result: SegmentationResult, fmt: str
) -> None:
    clean, noisy = _files(table, result, fmt), _files(_noisy(table), result, fmt)
    assert list(clean) == [f"customers.{fmt}", "config.json", "segments.json", "README.txt"]
    for name in clean:
        assert clean[name] == noisy[name], name


def test_the_zip_holds_the_files_in_order(table: CustomerTable, result: SegmentationResult) -> None:
    files = _files(table, result, "csv")
    archive = zipfile.ZipFile(io.BytesIO(bundle.zip_bytes(files)))
    assert archive.namelist() == list(files)
    assert all(archive.read(name) == content for name, content in files.items())
    config = json.loads(files["config.json"])
    assert "created" not in config  # the same segmentation, the same document
    assert config["list"]["rows"] == int(np.isin(result.segmentation.labels, [0, 2]).sum())


def test_the_command_has_the_settings_and_none_for_changed_cleaning(
    table: CustomerTable,
) -> None:
    command = bundle.reproduce_command(table, SETTINGS, "my lines.parquet")
    assert command is not None
    assert command.startswith("custseg segment 'my lines.parquet' --map customer=")
    assert "--algorithm kmeans --k 3 --features recency_days,frequency,monetary" in command
    assert command.endswith("--scaler standard --seed 5 --out segments.csv")
    changed = dataclasses.replace(SETTINGS, cleaning=CleaningConfig(duplicate=False))
    assert bundle.reproduce_command(table, changed, "x.parquet") is None


def test_cleaning_of_reads_the_apps_toggles_and_the_command_lines_config() -> None:
    assert bundle.cleaning_of({"duplicate": False, "cancellation": True}) == CleaningConfig(
        duplicate=False
    )
    full = json.loads(json.dumps(dataclasses.asdict(CleaningConfig(non_product_codes=("X",)))))
    assert bundle.cleaning_of(full) == CleaningConfig(non_product_codes=("X",))
    assert bundle.cleaning_of({}) == CleaningConfig()


def test_segments_are_checked(result: SegmentationResult) -> None:
    assert bundle.check_segments(result, [2, 0, 2]) == (0, 2)
    with pytest.raises(ConfigError, match="no segment 3"):
        bundle.check_segments(result, [0, 3])
    with pytest.raises(ConfigError, match="no segment is chosen"):
        bundle.check_segments(result, [])
