"""Segments over time by an already fitted model (a saved segmentation): it assigns both
periods with core.clustering.persist.score_customers, nothing is fitted, whatever data it was
fitted on; its config must be the model's own."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from core.clustering import service
from core.clustering.config import ModelConfig, PreprocessConfig
from core.clustering.persist import score_customers
from core.clustering.result import SegmentationResult
from core.columns import CUSTOMER
from core.errors import ConfigError
from core.generator import write_transactions
from core.migration import (
    AFTER,
    BEFORE,
    EXCLUDED,
    NEW,
    MigrationConfig,
    fitted_config,
    migrate,
    period_tables,
)
from core.pipeline import LoadedTransactions, build_customer_table, load_transactions


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> LoadedTransactions:
    path = tmp_path_factory.mktemp("fitted") / "lines.parquet"
    write_transactions(path, seed=4, customers=200)
    return load_transactions(path)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> SegmentationResult:
    """A model fitted on other data (another seed of the generator)."""
    path = tmp_path_factory.mktemp("other") / "other.parquet"
    write_transactions(path, seed=9, customers=150)
    table = build_customer_table(load_transactions(path))
    return service.segment_customers(
        table.features,
        preprocess=PreprocessConfig(features=("recency_days", "frequency", "monetary")),
        model=ModelConfig(k=4, random_state=1),
        data_key=table.key,
    )


def _cutoff(loaded: LoadedTransactions) -> dt.date:
    date = build_customer_table(loaded).analysis_date
    assert date is not None
    return date - dt.timedelta(days=120)


def test_the_fitted_model_assigns_both_periods(
    loaded: LoadedTransactions, fitted: SegmentationResult
) -> None:
    cutoff = _cutoff(loaded)
    periods = period_tables(loaded, cutoff)
    migration = migrate(periods, fitted_config(cutoff, fitted), fitted=fitted)
    assert migration.model is fitted
    for column, table in ((BEFORE, periods.before), (AFTER, periods.after)):
        expected = score_customers(fitted, table.features).select(
            CUSTOMER, pl.col("segment_name").fill_null(EXCLUDED).alias("expected")
        )
        got = migration.customers.filter(pl.col(column) != NEW).select(CUSTOMER, column)
        joined = got.join(expected, on=CUSTOMER)
        assert joined.height == got.height
        assert (joined[column] == joined["expected"]).all()
    assert set(migration.colors) == set(fitted.names)


def test_a_fitted_model_needs_its_own_config(
    loaded: LoadedTransactions, fitted: SegmentationResult
) -> None:
    cutoff = _cutoff(loaded)
    other = MigrationConfig(cutoff=cutoff, by="kmeans", model=ModelConfig(k=4, random_state=2))
    with pytest.raises(ConfigError, match="not the fitted model's own"):
        migrate(period_tables(loaded, cutoff), other, fitted=fitted)


def test_a_fitted_model_assigns_even_fewer_customers_than_segments(
    loaded: LoadedTransactions, fitted: SegmentationResult
) -> None:
    features = build_customer_table(loaded).features
    first = features.get_column("first_purchase").min()
    assert isinstance(first, dt.date)
    cutoff = first + dt.timedelta(days=1)  # one day of purchases before the cutoff
    periods = period_tables(loaded, cutoff)
    assert 0 < periods.before.features.height < fitted.k  # a fit would be refused
    migration = migrate(periods, fitted_config(cutoff, fitted), fitted=fitted)
    assert migration.summary.customers == periods.after.features.height
