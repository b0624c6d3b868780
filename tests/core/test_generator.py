"""Tests for the seeded transaction generator (core.generator)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from core.errors import ConfigError
from core.generator import (
    CSV_DATETIME_FORMAT,
    DEFAULT_CUSTOMERS,
    DEFAULT_DATA,
    DEFAULT_END,
    DEFAULT_SEED,
    DEFAULT_START,
    FIRST_CUSTOMER_ID,
    NON_PRODUCT_CODES,
    SEGMENT_NAMES,
    TRANSACTION_SCHEMA,
    XLSX_MAX_DATA_ROWS,
    GeneratorRates,
    generate_transactions,
    iter_transaction_blocks,
    latent_segments,
    write_transactions,
)

IS_C = pl.col("InvoiceNo").str.starts_with("C")
IS_PRODUCT = pl.col("StockCode").str.contains(r"^\d{5}")


@pytest.fixture(scope="module")
def sample() -> pl.DataFrame:
    """A moderately sized sample (~480k lines) for proportions."""
    return generate_transactions(customers=4_000, seed=7)


@pytest.fixture(scope="module")
def small() -> pl.DataFrame:
    return generate_transactions(customers=300, seed=3, block_customers=100)


# --- shape and determinism --------------------------------------------------------------------


def test_columns_and_dtypes_are_exactly_the_real_files(small: pl.DataFrame) -> None:
    assert small.schema == pl.Schema(TRANSACTION_SCHEMA)
    assert small.columns == [
        "InvoiceNo",
        "StockCode",
        "Description",
        "Quantity",
        "InvoiceDate",
        "UnitPrice",
        "CustomerID",
        "Country",
    ]
    assert small.null_count().row(0) == (0, 0, 0, 0, 0, 0, small["CustomerID"].null_count(), 0)


def test_same_seed_gives_identical_frame_and_bytes(small: pl.DataFrame) -> None:
    again = generate_transactions(customers=300, seed=3, block_customers=100)
    assert_frame_equal(small, again, check_exact=True)
    assert small.write_csv() == again.write_csv()


def test_different_seed_differs(small: pl.DataFrame) -> None:
    other = generate_transactions(customers=300, seed=4, block_customers=100)
    assert not small.equals(other)
    # Not just a shifted copy: the product sequences differ.
    n = min(small.height, other.height)
    same = (small["StockCode"].head(n) == other["StockCode"].head(n)).mean()
    assert same < 0.05


def test_blocks_concatenate_to_the_frame(small: pl.DataFrame) -> None:
    blocks = list(iter_transaction_blocks(seed=3, customers=300, block_customers=100))
    assert len(blocks) == 3
    assert_frame_equal(pl.concat(blocks), small)


def test_every_customer_appears_with_consecutive_ids(small: pl.DataFrame) -> None:
    ids = small["CustomerID"].drop_nulls().unique().sort()
    assert ids.to_list() == [float(FIRST_CUSTOMER_ID + i) for i in range(300)]


def test_codes_and_invoice_numbers_look_like_the_real_file(small: pl.DataFrame) -> None:
    codes = small["StockCode"].unique()
    weird = codes.filter(~codes.str.contains(r"^\d{5}[A-G]?$") & ~codes.is_in(NON_PRODUCT_CODES))
    assert weird.len() == 0, weird.to_list()
    bad = small.filter(~pl.col("InvoiceNo").str.contains(r"^[CA]?\d{6}$"))
    assert bad.height == 0, bad.head()
    assert small["InvoiceNo"].str.strip_prefix("C").min() == "536365"


def test_invoice_numbers_increase_with_time_within_a_block() -> None:
    df = generate_transactions(customers=200, seed=11)
    heads = (
        df.with_columns(pl.col("InvoiceNo").str.strip_prefix("C").str.strip_prefix("A").cast(int))
        .unique("InvoiceNo")
        .sort("InvoiceNo")
    )
    assert heads["InvoiceDate"].is_sorted()
    # Rows are grouped by invoice in number order.
    numbers = df["InvoiceNo"].str.strip_prefix("C").str.strip_prefix("A").cast(pl.Int64)
    assert numbers.is_sorted()


# --- behaviour ---------------------------------------------------------------------------------


def test_cancellations_are_c_invoices_with_negative_quantity(sample: pl.DataFrame) -> None:
    c_lines = sample.filter(IS_C)
    assert c_lines.height > 0
    assert (c_lines["Quantity"] < 0).all()
    # Positive quantities never sit on C invoices; negative ones outside C invoices are
    # zero-price stock adjustments without a customer.
    negative_other = sample.filter(~IS_C & (pl.col("Quantity") < 0))
    assert (negative_other["UnitPrice"] == 0).all()
    assert negative_other["CustomerID"].null_count() == negative_other.height


def test_product_cancellations_refer_to_an_earlier_purchase(sample: pl.DataFrame) -> None:
    keys = ["CustomerID", "StockCode", "UnitPrice"]
    c_lines = (
        sample.filter(IS_C & IS_PRODUCT & pl.col("CustomerID").is_not_null())
        .unique()
        .with_row_index("c")
    )
    sales = sample.filter(~IS_C & IS_PRODUCT).select(
        *keys, pl.col("InvoiceDate").alias("sold"), pl.col("Quantity").alias("bought")
    )
    matched = (
        c_lines.join(sales, on=keys, how="inner")
        .filter(
            (pl.col("sold") < pl.col("InvoiceDate")) & (pl.col("bought") >= -pl.col("Quantity"))
        )
        .select("c")
        .unique()
    )
    assert c_lines.height > 1_000
    assert matched.height == c_lines.height


def test_dates_inside_the_period_on_trading_days_and_hours(sample: pl.DataFrame) -> None:
    dates = sample["InvoiceDate"]
    assert dates.min() >= datetime(2010, 12, 1)
    assert dates.max() < datetime(2011, 12, 10)
    assert (dates.dt.weekday() != 6).all()  # no Saturdays
    assert dates.dt.hour().is_between(7, 20).all()
    assert (dates.dt.second() == 0).all()
    christmas = dates.filter((dates.dt.month() == 12) & (dates.dt.day() >= 23))
    assert christmas.len() == 0


def test_custom_period_is_respected() -> None:
    df = generate_transactions(customers=200, seed=5, start=date(2012, 3, 1), end=date(2012, 3, 31))
    assert df["InvoiceDate"].min() >= datetime(2012, 3, 1)
    assert df["InvoiceDate"].max() < datetime(2012, 4, 1)
    assert df["CustomerID"].n_unique() - 1 == 200


def test_single_day_period_even_a_saturday() -> None:
    df = generate_transactions(customers=20, seed=5, start=date(2011, 6, 4), end=date(2011, 6, 4))
    assert (df["InvoiceDate"].dt.date() == date(2011, 6, 4)).all()


def test_seasonality(sample: pl.DataFrame) -> None:
    heads = sample.filter(~IS_C).unique("InvoiceNo")
    by_month = heads.group_by(pl.col("InvoiceDate").dt.month().alias("m")).len()
    count = dict(zip(by_month["m"].to_list(), by_month["len"].to_list(), strict=True))
    assert count[11] > 1.8 * count[2]
    by_day = heads.group_by(pl.col("InvoiceDate").dt.weekday().alias("d")).len()
    day = dict(zip(by_day["d"].to_list(), by_day["len"].to_list(), strict=True))
    assert day[7] < 0.6 * day[4]  # Sunday quieter than Thursday


def test_proportions_as_designed(sample: pl.DataFrame) -> None:
    n = sample.height
    missing = sample["CustomerID"].null_count() / n
    cancellations = sample.filter(IS_C).height / n
    non_product = sample.filter(~IS_PRODUCT).height / n
    redundant = (n - sample.unique().height) / n
    zero_price = (sample["UnitPrice"] == 0).sum() / n
    assert 0.22 <= missing <= 0.28, missing
    assert 0.012 <= cancellations <= 0.025, cancellations
    assert 0.003 <= non_product <= 0.008, non_product
    assert 0.008 <= redundant <= 0.012, redundant
    assert 0.003 <= zero_price <= 0.006, zero_price
    uk = (sample["Country"] == "United Kingdom").mean()
    assert 0.85 <= uk <= 0.95, uk
    assert sample["Country"].n_unique() >= 25


def test_every_non_product_code_occurs_with_its_description(sample: pl.DataFrame) -> None:
    specials = (
        sample.filter(pl.col("StockCode").is_in(NON_PRODUCT_CODES))
        .select("StockCode", "Description")
        .unique()
    )
    assert dict(specials.iter_rows()) == NON_PRODUCT_CODES
    pads = sample.filter(pl.col("StockCode") == "PADS")
    assert (pads["UnitPrice"] == 0.001).all()
    bad_debt = sample.filter(pl.col("StockCode") == "B")
    assert bad_debt["InvoiceNo"].str.starts_with("A").all()


def test_recency_frequency_look_like_retail(sample: pl.DataFrame) -> None:
    clean = sample.filter(
        pl.col("CustomerID").is_not_null() & ~IS_C & IS_PRODUCT & (pl.col("UnitPrice") > 0)
    )
    per = clean.group_by("CustomerID").agg(
        pl.col("InvoiceNo").n_unique().alias("f"),
        (pl.col("Quantity") * pl.col("UnitPrice")).sum().alias("m"),
    )
    assert 0.25 <= (per["f"] == 1).mean() <= 0.45  # many one-time buyers
    assert per["f"].quantile(0.99) >= 15  # and a heavy tail of frequent ones
    assert per["m"].quantile(0.99) > 20 * per["m"].median()  # heavy-tailed spend


def test_latent_segments_are_discoverable_structure(sample: pl.DataFrame) -> None:
    segments = latent_segments(customers=4_000, seed=7)
    assert segments.height == 4_000
    assert set(segments["segment"].unique()) == set(SEGMENT_NAMES)
    end = sample["InvoiceDate"].max()
    per = (
        sample.filter(pl.col("CustomerID").is_not_null() & ~IS_C & IS_PRODUCT)
        .group_by("CustomerID")
        .agg(
            pl.col("InvoiceNo").n_unique().alias("f"),
            (
                (pl.col("Quantity") * pl.col("UnitPrice")).sum() / pl.col("InvoiceNo").n_unique()
            ).alias("aov"),
            ((end - pl.col("InvoiceDate").max()).dt.total_days()).alias("recency"),
            ((end - pl.col("InvoiceDate").min()).dt.total_days()).alias("tenure"),
        )
        .join(segments, on="CustomerID", how="inner")
        .group_by("segment")
        .agg(pl.all().exclude("CustomerID").median())
    )
    assert per.height == len(SEGMENT_NAMES)
    med = {row["segment"]: row for row in per.iter_rows(named=True)}
    assert med["wholesale"]["aov"] > 3 * med["occasional"]["aov"]  # big baskets
    assert med["loyal"]["f"] > 3 * med["occasional"]["f"]
    assert med["new"]["tenure"] < 110
    assert med["lapsed"]["recency"] > 200


def test_kmeans_recovers_part_of_the_hidden_segments(sample: pl.DataFrame) -> None:
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score
    from sklearn.preprocessing import StandardScaler

    end = sample["InvoiceDate"].max()
    per = (
        sample.filter(
            pl.col("CustomerID").is_not_null() & ~IS_C & IS_PRODUCT & (pl.col("UnitPrice") > 0)
        )
        .group_by("CustomerID")
        .agg(
            ((end - pl.col("InvoiceDate").max()).dt.total_days()).alias("recency"),
            ((end - pl.col("InvoiceDate").min()).dt.total_days()).alias("tenure"),
            pl.col("InvoiceNo").n_unique().alias("frequency"),
            (pl.col("Quantity") * pl.col("UnitPrice")).sum().alias("monetary"),
        )
        .with_columns((pl.col("monetary") / pl.col("frequency")).alias("aov"))
        .join(latent_segments(customers=4_000, seed=7), on="CustomerID")
        .sort("CustomerID")
    )
    x = StandardScaler().fit_transform(
        np.log(
            per.select("recency", "tenure", "frequency", "monetary", "aov").to_numpy().clip(0) + 1
        )
    )
    labels = KMeans(n_clusters=5, n_init=10, random_state=0).fit_predict(x)
    ari = adjusted_rand_score(per["segment"].to_numpy(), labels)
    # Real customer bases overlap a lot; the hidden segments are meant to be partly, not
    # perfectly, recoverable (measured ~0.2; shuffled labels give ~0).
    assert ari > 0.12, ari
    shuffled = np.random.default_rng(0).permutation(per["segment"].to_numpy())
    assert abs(adjusted_rand_score(shuffled, labels)) < 0.02


# --- rates -------------------------------------------------------------------------------------


def test_without_duplicate_rate_there_are_no_exact_duplicates() -> None:
    df = generate_transactions(customers=500, seed=2, rates=GeneratorRates(duplicate_lines=0.0))
    assert df.unique().height == df.height
    doubled = generate_transactions(
        customers=500, seed=2, rates=GeneratorRates(duplicate_lines=0.05)
    )
    redundant = (doubled.height - doubled.unique().height) / doubled.height
    assert 0.04 <= redundant <= 0.06
    # The extra copy sits right after its original.
    dup_next = doubled.select(pl.all().shift(-1).name.suffix("_n"))
    same = pl.all_horizontal(
        [
            (doubled[c] == dup_next[f"{c}_n"]).fill_null(doubled[c].is_null())
            for c in doubled.columns
        ]
    )
    assert doubled.select(same.sum()).item() == doubled.height - doubled.unique().height
    # Only identified customers' lines are duplicated (as in the real file).
    assert doubled.filter(doubled.is_duplicated())["CustomerID"].null_count() == 0


def test_rates_change_the_shares() -> None:
    no_cancel = generate_transactions(
        customers=400, seed=9, rates=GeneratorRates(cancellation_scale=0.0)
    )
    assert no_cancel.filter(IS_C & IS_PRODUCT).height == 0
    few_guests = generate_transactions(
        customers=400, seed=9, rates=GeneratorRates(guest_lines=0.0, adjustment_lines=0.0)
    )
    assert few_guests["CustomerID"].null_count() / few_guests.height < 0.01


@pytest.mark.parametrize(
    "kwargs",
    [
        {"guest_lines": -0.1},
        {"duplicate_lines": 0.95},
        {"adjustment_lines": 1.0},
        {"cancellation_scale": -1.0},
    ],
)
def test_invalid_rates_raise(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError, match=next(iter(kwargs))):
        GeneratorRates(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"customers": 0, "seed": 1}, "customers must be a positive whole number, got 0"),
        ({"customers": True, "seed": 1}, "customers"),
        ({"customers": 2.5, "seed": 1}, "customers"),
        ({"customers": 10, "seed": -1}, "seed must be a non-negative whole number, got -1"),
        ({"customers": 10, "seed": "x"}, "seed"),
        (
            {"customers": 10, "seed": 1, "start": date(2011, 2, 1), "end": date(2011, 1, 1)},
            "end 2011-01-01 is before start 2011-02-01",
        ),
        ({"customers": 10, "seed": 1, "start": "2011-01-01"}, "start must be a date"),
        ({"customers": 10, "seed": 1, "block_customers": 0}, "block_customers"),
    ],
)
def test_invalid_parameters_raise_config_error(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        generate_transactions(**kwargs)
    assert info.value.hint


@settings(max_examples=25, deadline=None)
@given(customers=st.integers(1, 40), seed=st.integers(0, 2**63 - 1))
def test_invariants_hold_for_any_seed(customers: int, seed: int) -> None:
    df = generate_transactions(customers=customers, seed=seed, block_customers=16)
    assert df.schema == pl.Schema(TRANSACTION_SCHEMA)
    assert df["CustomerID"].n_unique() - (df["CustomerID"].null_count() > 0) == customers
    assert (df.filter(IS_C)["Quantity"] < 0).all()
    assert df["InvoiceDate"].is_between(datetime(2010, 12, 1), datetime(2011, 12, 9, 23, 59)).all()
    # Negative quantities outside C invoices are only zero-price stock adjustments.
    assert (df.filter(~IS_C & (pl.col("Quantity") < 0))["UnitPrice"] == 0).all()


# --- writer ------------------------------------------------------------------------------------


def test_parquet_writer_writes_the_generators_rows(tmp_path: Path, small: pl.DataFrame) -> None:
    out = tmp_path / "s.parquet"
    assert write_transactions(out, customers=300, seed=3, block_customers=100) == small.height
    assert_frame_equal(pl.read_parquet(out), small)
    assert not list(tmp_path.glob(".*part"))


def test_csv_writer_round_trips(tmp_path: Path, small: pl.DataFrame) -> None:
    out = tmp_path / "s.csv"
    write_transactions(out, customers=300, seed=3, block_customers=100)
    back = pl.read_csv(
        out, schema_overrides={"InvoiceNo": pl.String, "StockCode": pl.String}
    ).with_columns(pl.col("InvoiceDate").str.strptime(pl.Datetime("us"), CSV_DATETIME_FORMAT))
    assert_frame_equal(back, small)
    assert out.read_text().splitlines()[0] == ",".join(TRANSACTION_SCHEMA)


def test_xlsx_writer_round_trips(tmp_path: Path) -> None:
    out = tmp_path / "s.xlsx"
    expected = generate_transactions(customers=15, seed=8)
    assert write_transactions(out, customers=15, seed=8) == expected.height
    back = pl.read_excel(out, schema_overrides={"InvoiceNo": pl.String, "StockCode": pl.String})
    assert back.columns == expected.columns
    assert back["InvoiceNo"].to_list() == expected["InvoiceNo"].to_list()
    assert back["Quantity"].cast(pl.Int64).to_list() == expected["Quantity"].to_list()
    dates = back["InvoiceDate"].cast(pl.Datetime("us")).dt.round("1s")
    assert dates.to_list() == expected["InvoiceDate"].to_list()


def test_lines_stops_at_exactly_that_many_rows(tmp_path: Path) -> None:
    out = tmp_path / "l.parquet"
    assert write_transactions(out, lines=25_000, seed=4, block_customers=100) == 25_000
    # The same rows as the in-memory generator with enough (whole blocks of) customers.
    reference = generate_transactions(customers=600, seed=4, block_customers=100)
    assert reference.height > 25_000
    assert_frame_equal(pl.read_parquet(out), reference.head(25_000))
    assert write_transactions(out, customers=150, lines=10, seed=4, block_customers=100) == 10
    assert pl.read_parquet(out).height == 10
    # Fewer rows than asked when the customers run out first.
    n = write_transactions(out, customers=3, lines=10**9, seed=4)
    assert n == generate_transactions(customers=3, seed=4).height


def test_xlsx_refuses_more_rows_than_a_sheet_holds(tmp_path: Path) -> None:
    out = tmp_path / "big.xlsx"
    with pytest.raises(ConfigError, match="1,048,575") as info:
        write_transactions(out, lines=XLSX_MAX_DATA_ROWS + 1, seed=1)
    assert ".parquet" in (info.value.hint or "")
    with pytest.raises(ConfigError, match="more than 1,048,575 lines"):
        write_transactions(out, customers=20_000, seed=1, block_customers=2_500)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "kwargs", "match"),
    [
        ("x.json", {"customers": 5, "seed": 1}, "cannot tell the output format of"),
        ("missing/x.csv", {"customers": 5, "seed": 1}, "does not exist"),
        ("x.csv", {"seed": 1}, "needs customers, lines or both"),
        ("x.csv", {"lines": 0, "seed": 1}, "lines must be a positive whole number"),
    ],
)
def test_writer_rejects_bad_requests(tmp_path: Path, name: str, kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        write_transactions(tmp_path / name, **kwargs)
    assert list(tmp_path.iterdir()) == []


# --- default data ------------------------------------------------------------------------------


def test_default_data_is_the_generators_output() -> None:
    assert DEFAULT_DATA.exists(), f"{DEFAULT_DATA} is missing: run python -m core.generator"
    assert DEFAULT_DATA.stat().st_size < 2.2e6
    committed = pl.read_parquet(DEFAULT_DATA)
    fresh = generate_transactions(customers=DEFAULT_CUSTOMERS, seed=DEFAULT_SEED)
    assert committed.schema == fresh.schema
    assert committed.equals(fresh), (
        f"{DEFAULT_DATA.name} differs from generate_transactions(customers={DEFAULT_CUSTOMERS}, "
        f"seed={DEFAULT_SEED}, start={DEFAULT_START}, end={DEFAULT_END}): the generator or the "
        "numpy random stream changed. If the change is intended, regenerate the file with "
        "`python -m core.generator` and commit it."
    )
    assert committed["CustomerID"].n_unique() - 1 == DEFAULT_CUSTOMERS


# --- comparison with the real file -------------------------------------------------------------


@pytest.mark.realdata
def test_shares_are_close_to_the_real_files(real_data_path: Path, sample: pl.DataFrame) -> None:
    real = pl.read_parquet(real_data_path)

    def shares(df: pl.DataFrame) -> dict[str, float]:
        n = df.height
        return {
            "missing": df["CustomerID"].null_count() / n,
            "cancel": df.filter(IS_C).height / n,
            "non_product": df.filter(~IS_PRODUCT).height / n,
            "redundant": (n - df.unique().height) / n,
            "zero_price": (df["UnitPrice"] == 0).sum() / n,
        }

    got, want = shares(sample), shares(real)
    assert got["missing"] == pytest.approx(want["missing"], abs=0.02)
    assert got["cancel"] == pytest.approx(want["cancel"], abs=0.005)
    assert got["non_product"] == pytest.approx(want["non_product"], abs=0.002)
    assert got["redundant"] == pytest.approx(want["redundant"], abs=0.002)
    assert got["zero_price"] == pytest.approx(want["zero_price"], abs=0.0015)
