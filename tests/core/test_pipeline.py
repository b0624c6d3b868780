"""The one engine against the pandas oracle, on files read and mapped; its lines read back."""

from __future__ import annotations

import datetime as dt
import math
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from bench.pandas_reference import clean_pandas, features_pandas
from core import codec
from core.cleaning import REASONS, Audit, CleaningConfig, audit_from
from core.columns import FEATURE_SCHEMA, NORMALIZED_SCHEMA
from core.errors import ConfigError
from core.features import FeatureConfig
from core.generator import write_transactions
from core.pipeline import (
    CustomerTable,
    LoadedTransactions,
    _customer_ranges,
    _distinct_products,
    build_customer_table,
    clean,
    load_transactions,
    run_engine,
    stream_customer_table,
)
from tests.core.retail_frames import lines, random_lines, to_pandas

# Float sums depend on summation order, which differs between two runs of the *same* path
# (measured up to 3e-15 relative on the real data); everything else must match exactly.
FLOAT_RTOL = 1e-12
FLOATS = [c for c, t in FEATURE_SCHEMA.items() if t == pl.Float64]


def assert_same_features(left: pl.DataFrame, right: pl.DataFrame) -> None:
    assert left.schema == right.schema == pl.Schema(FEATURE_SCHEMA)
    exact = [c for c in FEATURE_SCHEMA if c not in FLOATS]
    assert_frame_equal(left.select(exact), right.select(exact), check_exact=True)
    assert_frame_equal(
        left.select(FLOATS), right.select(FLOATS), check_exact=False, rel_tol=FLOAT_RTOL, abs_tol=0
    )


def assert_same_audit(left: Audit, right: Audit) -> None:
    for name in ("rows_in", "rows_kept", "customers_in", "customers_out"):
        assert getattr(left, name) == getattr(right, name), name
    assert [(r.reason, r.rows, r.enabled) for r in left.reasons] == [
        (r.reason, r.rows, r.enabled) for r in right.reasons
    ]
    for a, b in zip(left.reasons, right.reasons, strict=True):
        assert math.isclose(a.revenue, b.revenue, rel_tol=FLOAT_RTOL, abs_tol=1e-9)
    assert math.isclose(left.revenue_in, right.revenue_in, rel_tol=FLOAT_RTOL)
    assert math.isclose(left.revenue_kept, right.revenue_kept, rel_tol=FLOAT_RTOL)
    assert set(left.samples) == set(right.samples) == set(REASONS)
    for reason in REASONS:
        assert_frame_equal(left.samples[reason], right.samples[reason], check_exact=True)
    assert (left.capping is None) == (right.capping is None)
    if left.capping is not None and right.capping is not None:
        assert left.capping.thresholds == right.capping.thresholds
        assert left.capping.rows_capped == right.capping.rows_capped
        assert math.isclose(
            left.capping.revenue_removed, right.capping.revenue_removed, rel_tol=1e-9, abs_tol=1e-9
        )


def assert_matches_oracle(
    table: CustomerTable, cleaning: CleaningConfig, features: FeatureConfig
) -> None:
    """The table's audit counts, kept lines, returns and features equal the pandas oracle's."""
    frame = table.source.collect() if table.source is not None else None
    assert frame is not None
    want = clean_pandas(to_pandas(frame), cleaning)
    assert {r.reason: r.rows for r in table.audit.reasons} == {r: want.counts[r] for r in REASONS}
    assert table.audit.rows_kept == want.counts["kept"]
    assert table.purchases is not None
    assert table.returns is not None
    assert (
        table.purchases.get_column("source_row").to_list() == want.purchases["source_row"].tolist()
    )
    assert table.returns.get_column("source_row").to_list() == want.returns["source_row"].tolist()
    expected = features_pandas(want.purchases, want.returns, features)
    if len(expected) == 0:
        assert table.features.height == 0
        return
    expected_pl = pl.from_pandas(expected, schema_overrides=FEATURE_SCHEMA)
    assert_frame_equal(table.features, expected_pl, check_exact=False, rel_tol=1e-9, abs_tol=1e-9)


def both_paths(
    loaded: LoadedTransactions, cleaning: CleaningConfig, features: FeatureConfig
) -> tuple[CustomerTable, CustomerTable]:
    """The table checked against the oracle, and equal to the engine on text customer ids.

    Returns the table twice (callers name it as they used to: with lines and streamed).
    """
    table = build_customer_table(loaded, cleaning=cleaning, features=features)
    assert_matches_oracle(table, cleaning, features)
    # Without the integer customer keys (loaded.keyed): the ids as categorical text codes.
    result = run_engine(loaded.lines, cleaning=cleaning, features=features)
    assert_same_features(table.features, result.features)
    assert_same_audit(table.audit, result.audit)
    assert table.reasons is not None
    assert_frame_equal(table.reasons.to_frame(), result.reasons.to_frame())
    return table, table


CONFIGS = [
    (CleaningConfig(), FeatureConfig()),
    (
        CleaningConfig(cap_quantile=0.95, cap_columns=("amount", "quantity")),
        FeatureConfig(use_gross=True),
    ),
    (
        CleaningConfig(duplicate=False, missing_customer=False, non_product=False),
        FeatureConfig(window_start=dt.date(2011, 3, 1), analysis_date=dt.date(2011, 9, 30)),
    ),
]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> LoadedTransactions:
    path = tmp_path_factory.mktemp("gen") / "lines.parquet"
    write_transactions(path, seed=11, customers=400)
    return load_transactions(path)


@pytest.mark.parametrize(("cleaning", "features"), CONFIGS)
def test_engine_matches_the_oracle_on_generated_data(
    generated: LoadedTransactions, cleaning: CleaningConfig, features: FeatureConfig
) -> None:
    table, _ = both_paths(generated, cleaning, features)
    assert table.features.height > 200
    assert table.purchases is not None
    assert table.returns is not None
    assert table.purchases.height == table.audit.rows_kept
    assert table.returns.height == table.audit.dropped("cancellation")
    assert table.purchases.schema == table.returns.schema == pl.Schema(NORMALIZED_SCHEMA)
    summary = table.summary()
    assert summary["purchase_rows"] == table.audit.rows_kept
    assert summary["customers"] == table.n_customers


def test_generated_data_exercises_every_rule_the_generator_makes(
    generated: LoadedTransactions,
) -> None:
    _, streamed = both_paths(generated, CleaningConfig(), FeatureConfig())
    dropped = {r.reason: r.rows for r in streamed.audit.reasons}
    for reason in ("missing_customer", "non_product", "duplicate", "cancellation"):
        assert dropped[reason] > 0, reason


@pytest.mark.parametrize(
    ("dtype", "scale", "keyed"),
    [
        (pl.Float64, 1, True),  # 17850.0: whole floats, keyed
        (pl.Int32, 1, True),
        (pl.Int64, 10**12, True),  # keys spanning more than 2**32: distinct count per customer
        (pl.Float64, 0.5, False),  # some ids not whole: formatted as text, not keyed
        (pl.UInt64, 1, False),
        (pl.String, 1, False),
    ],
)
def test_numeric_customer_ids_are_keyed_with_the_same_results(
    tmp_path: Path, dtype: pl.DataType, scale: float, keyed: bool
) -> None:
    source = tmp_path / "lines.parquet"
    write_transactions(source, seed=5, customers=150)
    raw = pl.read_parquet(source)
    ids = pl.col("CustomerID")
    if dtype == pl.String:
        ids = ids.cast(pl.Int64).cast(pl.String)
    elif scale != 1:
        ids = (ids * scale).cast(dtype)
    else:
        ids = ids.cast(dtype)
    path = tmp_path / "ids.parquet"
    raw.with_columns(ids.alias("CustomerID")).write_parquet(path)
    loaded = load_transactions(path)
    assert loaded.encoder is not None
    assert loaded.encoder.keyed == keyed
    _, streamed = both_paths(loaded, CleaningConfig(), FeatureConfig())
    assert streamed.features.height > 100
    assert streamed.audit.rows_kept > 1000


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("numeric_ids", [False, True])
def test_messy_source_text_gives_the_same_tables(
    tmp_path: Path, seed: int, numeric_ids: bool
) -> None:
    """Padded, blank and ``123.0``-style stock codes and countries, read from a file.

    The encoder normalizes product, country and description over their distinct values (and
    folds their codes into the duplicate key afterwards, or reads an uncoded description
    back): copies that differ only by padding are still duplicates, and the tables equal the
    path that keeps the lines, with and without the product lines' codes.
    """
    rng = np.random.default_rng(seed)
    frame = random_lines(seed, 700)
    n = frame.height
    messy_products = np.array(
        ["A", " A", "A ", "123.0", "123", " post", "Dot", "", "  "], dtype=object
    )
    messy_countries = np.array(["UK", " UK", "UK ", "France", "", None], dtype=object)
    source = frame.select(
        (
            pl.col("customer_id").cast(pl.Float64, strict=False)
            if numeric_ids
            else pl.col("customer_id")
        ).alias("CustomerID"),
        pl.col("order_date").alias("InvoiceDate"),
        pl.col("invoice").alias("InvoiceNo"),
        pl.Series("StockCode", list(rng.choice(messy_products, n)), dtype=pl.String),
        pl.col("description").alias("Description"),
        pl.Series("Country", list(rng.choice(messy_countries, n)), dtype=pl.String),
        pl.col("quantity").alias("Quantity"),
        pl.col("price").alias("UnitPrice"),
    )
    # Copies of earlier lines whose stock code and country differ only by padding.
    padded = source.head(40).with_columns(
        (pl.lit("  ") + pl.col("StockCode") + pl.lit(" ")).alias("StockCode"),
        (pl.col("Country") + pl.lit("  ")).alias("Country"),
    )
    # Copies whose description differs only by padding (duplicates) or really (not).
    described = pl.concat(
        [
            source.slice(50, 30).with_columns(
                (pl.lit(" ") + pl.col("Description")).alias("Description")
            ),
            source.slice(90, 30).with_columns(
                (pl.col("Description") + pl.lit("X")).alias("Description")
            ),
        ]
    )
    path = tmp_path / "messy.parquet"
    pl.concat([source, padded, described]).write_parquet(path)
    loaded = load_transactions(path)
    assert loaded.encoder is not None
    assert set(loaded.encoder.raw_text) == {"product", "country", "description"}
    for cleaning, features in CONFIGS:
        with_lines, _ = both_paths(loaded, cleaning, features)
        if cleaning.duplicate:
            assert with_lines.audit.reasons[3].rows >= 50  # the padded copies
        coded = build_customer_table(
            loaded, cleaning=cleaning, features=features, product_lines=True
        )
        assert_same_features(with_lines.features, coded.features)
        assert_same_audit(with_lines.audit, coded.audit)
        assert with_lines.reasons is not None
        assert coded.reasons is not None
        assert_frame_equal(with_lines.reasons.to_frame(), coded.reasons.to_frame())


def test_engine_on_csv_matches_the_oracle(tmp_path: Path) -> None:
    path = tmp_path / "lines.csv"
    write_transactions(path, seed=4, customers=150)
    loaded = load_transactions(path)
    table, _ = both_paths(loaded, CleaningConfig(), FeatureConfig())
    assert table.features.height > 100


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stream_customer_table_matches_the_oracle_on_messy_lines(seed: int) -> None:
    frame = random_lines(seed, 500)
    config = CleaningConfig(cap_quantile=0.9)
    table, audit = stream_customer_table(frame.lazy(), cleaning=config)
    assert_matches_pandas(frame, config, table, audit)


def assert_matches_pandas(
    frame: pl.DataFrame,
    config: CleaningConfig,
    table: pl.DataFrame,
    audit: Audit,
    features: FeatureConfig = FeatureConfig(),
) -> None:
    want = clean_pandas(to_pandas(frame), config)
    assert {r.reason: r.rows for r in audit.reasons} == {r: want.counts[r] for r in REASONS}
    assert audit.rows_kept == want.counts["kept"]
    for stat in audit.reasons:
        assert stat.revenue == pytest.approx(want.revenue[stat.reason], abs=1e-9)
    if audit.capping is not None:
        assert audit.capping.rows_capped == want.rows_capped
        assert audit.capping.revenue_removed == pytest.approx(want.revenue_removed, abs=1e-9)
    expected = features_pandas(want.purchases, want.returns, features)
    if len(expected) == 0:
        assert table.height == 0
        return
    expected_pl = pl.from_pandas(expected, schema_overrides=FEATURE_SCHEMA)
    assert_frame_equal(table, expected_pl, check_exact=False, rel_tol=1e-9, abs_tol=1e-9)


STREAM_CONFIGS = [
    CleaningConfig(),
    CleaningConfig(missing_customer=False, cancellation=False),
    CleaningConfig(duplicate=False, non_product_codes=("A",)),
    CleaningConfig(non_product=False, non_positive=False, cap_quantile=0.8),
    CleaningConfig(cap_quantile=0.9, cap_columns=("amount", "quantity")),
]


@pytest.mark.parametrize("config", STREAM_CONFIGS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stream_customer_table_matches_the_oracle_for_every_rule_set(
    config: CleaningConfig, seed: int
) -> None:
    frame = random_lines(seed, 500)
    table, audit = stream_customer_table(frame.lazy(), cleaning=config)
    assert_matches_pandas(frame, config, table, audit)
    # Text as normalize writes it (stripped, blanks null): the rules may skip stripping.
    text = ["customer_id", "invoice", "product", "description", "country"]
    stripped = frame.with_columns(
        [pl.when(pl.col(c).str.strip_chars() != "").then(pl.col(c).str.strip_chars()) for c in text]
    )
    table, audit = stream_customer_table(stripped.lazy(), cleaning=config, stripped=True)
    assert_matches_pandas(stripped, config, table, audit)


def test_stream_customer_table_of_no_lines() -> None:
    empty = pl.DataFrame(schema=NORMALIZED_SCHEMA)
    table, audit = stream_customer_table(empty)
    assert table.height == 0
    assert table.schema == pl.Schema(FEATURE_SCHEMA)
    assert audit.rows_in == audit.rows_kept == audit.customers_in == audit.customers_out == 0


# --- cache behaviour -----------------------------------------------------------------------------


class DictCache:
    def __init__(self) -> None:
        self.store: dict[str, Any] = {}
        self.puts: list[str] = []

    def get(self, key: str) -> Any | None:
        return self.store.get(key)

    def put(self, key: str, value: Any) -> None:
        self.puts.append(key)
        self.store[key] = value


class BundleCache(DictCache):
    """Stores values as data bundles, as the app's shared disk cache does."""

    def get(self, key: str) -> Any | None:
        blob = self.store.get(key)
        return None if blob is None else codec.loads(blob)

    def put(self, key: str, value: Any) -> None:
        self.puts.append(key)
        self.store[key] = codec.dumps(value)


def test_a_table_from_the_disk_cache_reads_its_lines_back(
    generated: LoadedTransactions,
) -> None:
    cache = BundleCache()
    first = build_customer_table(generated, cache=cache)
    again = build_customer_table(generated, cache=cache)
    assert cache.puts == [first.key]
    assert again is not first
    assert first.purchases is not None
    assert again.purchases is not None
    assert_frame_equal(again.purchases, first.purchases)
    assert again.product_lines is not None
    assert again.product_lines.height == first.audit.rows_kept + first.audit.dropped("cancellation")


def test_table_bundles_without_its_lines(generated: LoadedTransactions) -> None:
    table = build_customer_table(generated)
    assert table.purchases is not None  # read back, then left out of the bundle
    back = codec.loads(codec.dumps(table))
    assert back.source is None
    assert back.purchases is None
    assert back.audit == table.audit
    assert_frame_equal(back.features, table.features)
    assert back.reasons is not None
    assert table.reasons is not None
    assert back.reasons.equals(table.reasons)
    assert dict(back.audit.samples).keys() == dict(table.audit.samples).keys()
    assert_frame_equal(back.audit.samples["duplicate"], table.audit.samples["duplicate"])


# --- clean: the engine's lines read back ---------------------------------------------------------


def test_samples_of_disabled_rules_are_empty() -> None:
    frame = lines({"customer_id": None}, {"customer_id": None})
    audit = clean(frame, CleaningConfig(missing_customer=False)).audit
    assert audit.samples["missing_customer"].height == 0
    assert audit.dropped("missing_customer") == 0
    assert audit.rows_kept == 1  # the second line is a duplicate of the first
    assert audit.samples["duplicate"].get_column("source_row").to_list() == [2]


def test_samples_of_numbered_lines_leave_their_source_row_unread(tmp_path: Path) -> None:
    """Lines numbered by ``normalize``, samples early in the file: a sample's source_row is
    its position plus one, so the read-back leaves it out (a row index beside other columns
    keeps Polars from pushing the read's head into the file's scan). Here reading it fails."""
    special = [
        {"InvoiceNo": "C9", "Quantity": -1},  # cancellation
        {"CustomerID": None},  # missing customer
        {"Quantity": 0},  # non-positive
        {"StockCode": "POST"},  # non-product
        {},  # the first plain line below, again: a duplicate
    ]
    plain = [{"StockCode": f"P{i}"} for i in range(400)]
    rows = [{"StockCode": "P0", **row} for row in special[:-1]] + plain[:1] + plain
    source = pl.DataFrame(
        [
            {
                "InvoiceNo": "1",
                "InvoiceDate": "2011-01-01 10:00",
                "Description": "THING",
                "UnitPrice": 1.5,
                "Quantity": 2,
                "CustomerID": 17850,
                "Country": "UK",
                **row,
            }
            for row in rows
        ]
    )
    path = tmp_path / "lines.csv"
    source.write_csv(path)
    loaded = load_transactions(path)
    options: dict[str, Any] = {"encoder": loaded.encoder, "stripped": True, "product_lines": True}
    expected = run_engine(loaded.lines, **options).audit.samples

    def unread(*_args: object, **_kwargs: object) -> pl.Series:
        raise AssertionError("source_row was read")

    unreadable = pl.col("source_row").map_batches(unread, return_dtype=pl.Int64)
    samples = run_engine(loaded.lines.with_columns(unreadable), **options).audit.samples
    assert {r: s.height for r, s in samples.items() if s.height} == {
        "cancellation": 1,
        "missing_customer": 1,
        "non_positive": 1,
        "non_product": 1,
        "duplicate": 1,
    }
    for reason, sample in expected.items():
        assert_frame_equal(samples[reason], sample)


def test_capping_thresholds_are_quantiles_of_the_kept_lines() -> None:
    frame = lines(
        *({"quantity": float(q), "price": 1.0, "invoice": str(q)} for q in range(1, 11)),
        {"quantity": 500.0, "price": 1.0, "customer_id": None},  # dropped: not in the quantile
    )
    config = CleaningConfig(cap_quantile=0.5, cap_columns=("quantity", "amount"))
    result = clean(frame, config)
    assert result.audit.capping is not None
    assert dict(result.audit.capping.thresholds) == {"quantity": 5.5, "amount": 5.5}
    assert result.purchases.get_column("quantity").max() == 5.5
    assert clean(frame).audit.capping is None


def test_audit_needs_the_thresholds_of_a_capping_config() -> None:
    config = CleaningConfig(cap_quantile=0.5, cap_columns=("quantity", "amount"))
    totals = {f"{kind}_{r}": 0 for r in (*REASONS, "kept") for kind in ("rows", "revenue")}
    with pytest.raises(ConfigError, match="thresholds"):
        audit_from(config, totals, customers_in=0, customers_out=0, samples=[])


def test_duplicates_are_found_among_lines_an_earlier_rule_does_not_settle() -> None:
    # Copies of a line without customer are missing_customer, never duplicate; a copy of a
    # line flagged only through parse_error (not a source field) is still a duplicate.
    frame = lines(
        {"customer_id": None},
        {"customer_id": None},
        {"parse_error": "price"},
        {},
        {},
    )
    assert clean(frame).audit.to_dict()["dropped"] == {
        "unparseable": 1,
        "missing_customer": 2,
        "non_product": 0,
        "duplicate": 2,
        "cancellation": 0,
        "non_positive": 0,
    }


# --- the real data set ---------------------------------------------------------------------------


@pytest.mark.realdata
def test_streaming_equals_lines_on_the_real_data(real_data_path: Path) -> None:
    loaded = load_transactions(real_data_path)
    with_lines, streamed = both_paths(loaded, CleaningConfig(), FeatureConfig())
    assert_same_features(with_lines.features, streamed.features)
    assert_same_audit(with_lines.audit, streamed.audit)
    audit = streamed.audit
    assert audit.rows_in == 541_909
    assert audit.rows_kept == 391_150
    assert audit.dropped("duplicate") == 5_220
    assert audit.customers_in == 4_372
    assert audit.customers_out == 4_334
    assert streamed.n_customers == 4_334
    assert streamed.analysis_date == dt.date(2011, 12, 10)


@pytest.mark.parametrize("seed", [3, 4])
def test_stream_customer_table_without_invoices_counts_timestamps(seed: int) -> None:
    frame = random_lines(seed, 400).with_columns(pl.lit(None, pl.String).alias("invoice"))
    table, audit = stream_customer_table(frame)
    assert_matches_pandas(frame, CleaningConfig(), table, audit)
    assert table.get_column("frequency").max() > 1


def test_main_country_of_a_customer_buying_in_several_countries() -> None:
    frame = lines(
        {"customer_id": "A", "country": "FR", "invoice": "1"},
        {"customer_id": "A", "country": "DE", "invoice": "2"},
        {"customer_id": "A", "country": "DE", "invoice": "3"},
        {"customer_id": "B", "country": "FR", "invoice": "4"},
        {"customer_id": "B", "country": "DE", "invoice": "5"},  # a tie: alphabetical first
        {"customer_id": "C", "country": None, "invoice": "6"},
        {"customer_id": "D", "country": "UK", "invoice": "C7"},  # only a return: not listed
    )
    table, audit = stream_customer_table(frame)
    assert dict(zip(table["customer_id"], table["country"], strict=True)) == {
        "A": "DE",
        "B": "DE",
        "C": None,
    }
    assert (audit.customers_in, audit.customers_out) == (4, 3)


@pytest.mark.parametrize(
    "features",
    [
        FeatureConfig(window_start=dt.date(2011, 3, 1)),
        FeatureConfig(window_end=dt.date(2011, 2, 1)),
        FeatureConfig(analysis_date=dt.date(2011, 2, 1)),
        FeatureConfig(),
    ],
)
def test_customers_out_count_kept_lines_outside_the_window(features: FeatureConfig) -> None:
    # The audit's customers out are those with a kept line, in the window or not; the
    # feature table lists those with a purchase line in it.
    frame = lines(
        {"customer_id": "A", "invoice": "1", "order_date": dt.datetime(2011, 1, 5)},
        {"customer_id": "B", "invoice": "2", "order_date": dt.datetime(2011, 6, 5)},
        {"customer_id": "C", "invoice": "C3", "order_date": dt.datetime(2011, 1, 5)},
    )
    table, audit = stream_customer_table(frame, features=features)
    assert (audit.customers_in, audit.customers_out) == (3, 2)
    inside = ["A", "B"] if features == FeatureConfig() else ["B" if features.window_start else "A"]
    assert table.get_column("customer_id").to_list() == inside


# --- normalize's shortcuts (decided by its source pass) change no value -------------------------


def test_normalize_shortcuts_give_the_same_lines() -> None:
    """Clean columns take the shortcuts; one messy row turns them off; shared rows agree."""
    from core.schema import detect_roles, normalize

    clean_rows = pl.DataFrame(
        {
            "InvoiceNo": ["536365", "C536366", "536367"],
            "StockCode": ["85123A", "POST", "22423"],
            "Description": ["WHITE HEART", "POSTAGE", "CAKESTAND"],
            "Quantity": [6, -1, 2],
            "InvoiceDate": [dt.datetime(2011, 1, 1, 9, m) for m in range(3)],
            "UnitPrice": [2.55, 18.0, 12.75],
            "CustomerID": [17850.0, None, 13047.0],
            "Country": ["United Kingdom", "France", "United Kingdom"],
        }
    )
    messy_row = pl.DataFrame(
        {
            "InvoiceNo": [" 536368.0 "],
            "StockCode": ["  "],
            "Description": [" PADDED "],
            "Quantity": [3],
            "InvoiceDate": [dt.datetime(2011, 1, 2)],
            "UnitPrice": [float("nan")],
            "CustomerID": [1.5],
            "Country": [""],
        }
    )
    mapping = detect_roles(clean_rows.columns)
    fast, fast_report = normalize(clean_rows.lazy(), mapping)
    slow, slow_report = normalize(
        pl.concat([clean_rows, messy_row]).lazy(), mapping, max_failure_share=0.5
    )
    assert fast_report.parse_failures == (("date", 0), ("quantity", 0), ("price", 0))
    assert dict(slow_report.parse_failures)["price"] == 1
    got_fast, got_slow = fast.collect(), slow.collect()
    assert_frame_equal(got_fast, got_slow.head(3))
    assert got_slow.row(3, named=True) | {"order_date": None} == {
        "source_row": 4,
        "customer_id": "1.5",
        "order_date": None,
        "invoice": "536368",
        "product": None,
        "description": "PADDED",
        "country": None,
        "quantity": 3.0,
        "price": None,
        "amount": None,
        "parse_error": "price",
    }


@pytest.mark.parametrize(
    "cleaning",
    [CleaningConfig(), CleaningConfig(cap_quantile=0.9, cap_columns=("amount", "quantity"))],
)
def test_the_product_line_query_reads_back_the_product_lines(
    generated: LoadedTransactions, cleaning: CleaningConfig
) -> None:
    """The lazy query the top products encode from gives the lines ``product_lines`` gives
    (capped as the audit says), without holding every column of every line in the table."""
    table = build_customer_table(generated, cleaning=cleaning)
    query = table.product_line_query()
    assert query is not None
    columns = ["customer_id", "product", "description", "amount"]
    chosen = query.select(columns).collect()
    assert "_split" not in table.__dict__  # nothing read back in full yet
    assert table.product_lines is not None
    assert_frame_equal(chosen, table.product_lines.select(columns))
    if cleaning.cap_quantile is not None:
        assert table.audit.capping is not None
        assert table.audit.capping.rows_capped > 0
    # Once read back in full, the query serves those lines.
    assert_frame_equal(table.product_line_query().collect(), table.product_lines)


@pytest.mark.parametrize("width", [6, 2**25, 2**32])
@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_pair_codes_split_by_customer_ranges_count_the_same_products(n: int, width: int) -> None:
    # Customer codes 0..120 (sparse), products 0..5, pairs repeated and shuffled; with
    # 4-byte pairs up to the largest code's range (no bound may overflow the dtype).
    rng = np.random.default_rng(n)
    customers = rng.integers(0, 41, 3_000, dtype=np.uint64) * 3
    products = rng.integers(0, 6, 3_000, dtype=np.uint64)
    pairs = pl.Series("_pair", customers * width + products)
    if width < 2**32:
        pairs = pairs.cast(pl.UInt32)
    parts = _customer_ranges(pairs, width, n)
    assert 1 <= len(parts) <= n
    assert sum(p.len() for p in parts) == pairs.len()
    owners = [set((p // width).to_list()) for p in parts]
    assert all(max(a) < min(b) for a, b in pairwise(owners))
    counted = pl.concat([_distinct_products(p, width) for p in parts])
    assert_frame_equal(counted, _distinct_products(pairs, width))
    assert counted.get_column("n_products").to_list() == [
        len(set(products[customers == c].tolist())) for c in sorted(set(customers.tolist()))
    ]
    assert _customer_ranges(pairs.clear(), width, n)[0].len() == 0


def test_customer_ranges_stay_within_the_pair_codes_dtype() -> None:
    # Four customer codes at 2**30 pair codes each fill a UInt32: more parts than customers.
    pairs = pl.Series("_pair", [0, 2**30 + 1, 3 * 2**30 + 5, 3 * 2**30 + 7], dtype=pl.UInt32)
    parts = _customer_ranges(pairs, 2**30, 7)
    assert [part.to_list() for part in parts] == [[0], [2**30 + 1], [3 * 2**30 + 5, 3 * 2**30 + 7]]
