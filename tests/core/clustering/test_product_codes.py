"""The top products' lines as the engine's pass codes them equal the lines read back from the
source and encoded as text: the same codes, amounts in the same order, the same best sellers.

Differential: ``CustomerTable.product_codes`` (no line read back) against
``ProductLines(CustomerTable.product_line_query())`` (the read-back path a table from the disk
cache still takes), on the default data and on generated lines with awkward ones mixed in.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from core.cleaning import CleaningConfig
from core.clustering.products import LineCodes, ProductLines, top_products
from core.generator import DEFAULT_DATA, write_transactions
from core.pipeline import build_customer_table, load_transactions

D = dt.datetime

CLEANINGS = [
    CleaningConfig(),
    CleaningConfig(cap_quantile=0.9, cap_columns=("amount", "quantity")),
    CleaningConfig(missing_customer=False, duplicate=False),
    CleaningConfig(cancellation=False, non_positive=False, non_product=False),
]


def _awkward_rows() -> pl.DataFrame:
    """UCI-shaped lines with padded, blank and missing text, copies and odd amounts."""
    rows = [
        # InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country
        ("9001", "A1", "THING ", 2, D(2011, 3, 1, 9), 1.5, 70001.0, "Spain"),
        ("9001", " A1", " THING", 1, D(2011, 3, 1, 9), 1.5, 70001.0, "France"),
        ("9001", "A1", "thing", 3, D(2011, 3, 1, 9), 1.5, 70002.0, "France"),
        ("9002", "B2", "", 1, D(2011, 3, 1, 9), 2.0, 70001.0, " France"),
        ("9002", "B2", "   ", 1, D(2011, 3, 1, 9), 2.0, 70002.0, " France"),
        ("9003", "B2", None, 1, D(2011, 4, 1, 9), 2.0, 70001.0, "Spain"),
        ("C9004", "B2", "X", -3, D(2011, 4, 2, 9), 2.0, 70001.0, "Spain"),
        ("C9005", "Z9", "RETURNED ONLY", -1, D(2011, 4, 2, 9), 7.0, 70003.0, "Spain"),
        ("9006", "A1", "X", 1, D(2011, 5, 2, 9), 3.0, 70002.0, "UK"),
        ("9006", "A1", "X", 1, D(2011, 5, 2, 9), 3.0, 70002.0, "UK"),  # a copy
        ("9007", " post ", "POSTAGE", 1, D(2011, 6, 4, 9), 18.0, 70001.0, "UK"),
        ("9008", "A1", "X", 0, D(2011, 6, 5, 9), 2.5, 70005.0, "UK"),
        ("9009", "A1", "X", 1, D(2011, 6, 5, 9), float("nan"), 70005.0, "UK"),
        ("9010", "A1", "X", 1, D(2011, 6, 6, 9), 1.0, float("nan"), "UK"),  # no customer
        ("9011", " ", "NO CODE", 1, D(2011, 6, 7, 9), 1.0, 70006.0, None),
        ("9012", None, None, 1, D(2011, 6, 8, 9), 1.0, 70006.0, ""),
        ("9013", "123.0", "FLOAT CODE", 1, D(2011, 6, 9, 9), 0.1, 70007.0, "UK"),
        ("9013", "123", "FLOAT CODE", 1, D(2011, 6, 9, 9), 0.2, 70007.0, "UK"),
        ("9014", "A1", "X", 1000, D(2011, 6, 9, 9), 99.0, 70007.0, "UK"),  # capped
    ]
    columns = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice"]
    return pl.DataFrame(
        rows, schema=[*columns, "CustomerID", "Country"], orient="row"
    ).with_columns(pl.col("Quantity").cast(pl.Int64), pl.col("InvoiceDate").cast(pl.Datetime("us")))


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    """Generated lines with the awkward ones mixed in, in a shuffled order."""
    folder = tmp_path_factory.mktemp("product_codes")
    write_transactions(folder / "generated.parquet", seed=7, customers=60)
    lines = pl.read_parquet(folder / "generated.parquet")
    awkward = _awkward_rows().select(pl.col(c).cast(t) for c, t in lines.schema.items())
    mixed = pl.concat([lines, awkward, awkward.head(6), lines.sample(40, seed=2)])
    return mixed[np.random.default_rng(3).permutation(mixed.height)]


def assert_same_codes(read_back: LineCodes, engine: LineCodes) -> None:
    """Every array equal, amounts bit for bit (so every sum adds the same floats in order)."""
    for name in (
        "customers",
        "products",
        "descriptions",
        "customer",
        "product",
        "description",
    ):
        want, got = getattr(read_back, name), getattr(engine, name)
        assert want.shape == got.shape, name
        assert (want == got).all(), name
    assert read_back.amount.tobytes() == engine.amount.tobytes()


def assert_same_top_products(path: Path, cleaning: CleaningConfig, seed: int) -> None:
    table = build_customer_table(load_transactions(path), cleaning=cleaning, product_lines=True)
    assert table.product_codes is not None
    query = table.product_line_query()
    assert query is not None
    read_back = ProductLines(query)
    assert_same_codes(read_back.codes, table.product_codes.codes)
    ids = table.features.get_column("customer_id").to_numpy()
    labels = np.random.default_rng(seed).integers(-1, 4, ids.size)  # -1: in no segment
    got = top_products(table.product_codes, ids, labels, 4)
    assert got == top_products(read_back, ids, labels, 4)
    assert sum(len(s) for s in got) > 4


@pytest.mark.parametrize("cleaning", CLEANINGS)
def test_default_data_gives_the_same_codes_and_top_products(cleaning: CleaningConfig) -> None:
    assert_same_top_products(DEFAULT_DATA, cleaning, seed=0)


@pytest.mark.parametrize("ids", ["float", "int", "text", "spread", "wide"])
@pytest.mark.parametrize("cleaning", CLEANINGS)
def test_awkward_lines_give_the_same_codes_and_top_products(
    generated: pl.DataFrame, tmp_path: Path, ids: str, cleaning: CleaningConfig
) -> None:
    """Customer ids as floats (one NaN: text ids), whole numbers (keyed), text, whole
    numbers spread so wide that customer x product pairs need 8 bytes, and whole numbers
    spanning more than 2**32 (keyed without offsets); padded and blank text."""
    customer = pl.col("CustomerID")
    if ids == "int":
        customer = customer.cast(pl.Int64, strict=False)
    elif ids == "text":
        customer = pl.concat_str(pl.lit("C-"), customer.cast(pl.Int64, strict=False))
    elif ids == "spread":
        customer = customer.cast(pl.Int64, strict=False) * 10**4
    elif ids == "wide":
        customer = customer.cast(pl.Int64, strict=False) * 10**6
    path = tmp_path / "lines.parquet"
    generated.with_columns(customer.alias("CustomerID")).write_parquet(path)
    assert_same_top_products(path, cleaning, seed=1)


def test_lines_without_text_columns_give_the_same_codes(tmp_path: Path) -> None:
    """No description column: every line's description is missing on both paths."""
    path = tmp_path / "lines.csv"
    write_transactions(path, seed=4, customers=30)
    pl.read_csv(path, infer_schema=False).drop("Description").write_csv(path)
    assert_same_top_products(path, CleaningConfig(), seed=2)


def test_a_table_from_the_engine_needs_no_line_read_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """The codes come from the engine's pass: the top products never query the source."""
    table = build_customer_table(load_transactions(DEFAULT_DATA), product_lines=True)
    assert table.product_codes is not None

    def refused(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the lines were read back")

    monkeypatch.setattr(type(table), "product_line_query", refused)
    ids = table.features.get_column("customer_id").to_numpy()
    best = top_products(table.product_codes, ids, np.arange(ids.size) % 3, 3)
    assert all(len(s) == 5 for s in best)
    # Without asking, the table holds no codes (custseg features does not pay for them).
    assert build_customer_table(load_transactions(DEFAULT_DATA)).product_codes is None


def test_more_products_than_two_byte_codes_number(generated: pl.DataFrame, tmp_path: Path) -> None:
    """The pass codes products, countries and descriptions in 2 bytes; with more distinct
    values than that (here every line its own product and description) it codes them in 4
    and gives the same codes and top products as the lines read back."""
    copies = -(-70_000 // generated.height)
    many = pl.concat([generated] * copies).with_row_index("i")
    many = many.with_columns(
        pl.format("S{}", "i").alias("StockCode"), pl.format("D{}", "i").alias("Description")
    ).drop("i")
    path = tmp_path / "lines.parquet"
    many.write_parquet(path)
    assert_same_top_products(path, CleaningConfig(), seed=3)
