"""The Spark engine gives exactly the Polars engine's audit and feature table (local[2]): on
the real UCI file, and on generated files with every awkward case the generator makes
(guest lines, cancellations, postage and fee codes, zero prices, exact duplicates), read
from Parquet and from CSV (dates and numbers as text)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.generator import write_transactions
from core.pipeline import build_customer_table, load_transactions
from core.spark.engine import customer_features
from core.spark.source import normalized_lines
from tests.spark.parity import assert_same_audit, assert_same_table


def _both(spark, path: Path):  # type: ignore[no-untyped-def]
    want = build_customer_table(load_transactions(path))
    lines = normalized_lines(spark, [str(path)])
    got = customer_features(lines.lines)
    return got, want, lines


@pytest.mark.realdata
def test_real_file_local(spark, real_data_path: Path) -> None:
    got, want, lines = _both(spark, real_data_path)
    assert_same_table(got.features, want.features)
    assert_same_audit(got.audit.to_dict(), want.audit.to_dict())
    assert got.analysis_date == want.analysis_date
    assert lines.schema.mapping == want.schema.mapping
    assert got.audit.dropped("duplicate") == 5220  # the README's figures, through Spark
    assert got.features.height == 4334


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("generated")
    paths = {fmt: folder / f"lines.{fmt}" for fmt in ("parquet", "csv")}
    for path in paths.values():
        write_transactions(path, customers=300, seed=16)
    return paths


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_generated_file_local(spark, generated: dict[str, Path], fmt: str) -> None:
    got, want, lines = _both(spark, generated[fmt])
    for reason in ("missing_customer", "non_product", "duplicate", "cancellation", "non_positive"):
        assert want.audit.dropped(reason) > 0, reason  # the file has every awkward case
    assert_same_table(got.features, want.features)
    assert_same_audit(got.audit.to_dict(), want.audit.to_dict())
    assert lines.schema.date == want.schema.date
