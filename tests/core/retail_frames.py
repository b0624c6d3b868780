"""Test helpers: normalized frames built by hand, at random, and from the real data file.

These stand in for ``core.io`` / ``core.schema`` so cleaning and feature tests do not depend on
them; the real-data mapping mirrors what ``core.schema.normalize`` is specified to produce.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from core.columns import NORMALIZED_SCHEMA

DEFAULTS: dict[str, Any] = {
    "customer_id": "C1",
    "order_date": dt.datetime(2011, 1, 1, 10, 0),
    "invoice": "1000",
    "product": "P1",
    "description": "THING",
    "country": "UK",
    "quantity": 1.0,
    "price": 1.0,
    "parse_error": None,
}


def lines(*rows: dict[str, Any]) -> pl.DataFrame:
    """A normalized frame from partial rows (missing fields from DEFAULTS).

    ``amount`` defaults to quantity x price; ``source_row`` to the 1-based position.
    """
    full = []
    for i, row in enumerate(rows, start=1):
        r = {**DEFAULTS, **row}
        if "amount" not in row:
            q, p = r["quantity"], r["price"]
            r["amount"] = None if q is None or p is None else q * p
        r.setdefault("source_row", i)
        full.append({c: r[c] for c in NORMALIZED_SCHEMA})
    return pl.DataFrame(full, schema=NORMALIZED_SCHEMA, orient="row")


def real_normalized(path: Path) -> pl.LazyFrame:
    """The Online Retail parquet mapped to the normalized columns."""
    quantity = pl.col("Quantity").cast(pl.Float64)
    return pl.scan_parquet(path).select(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("source_row"),
        pl.col("CustomerID").cast(pl.Int64).cast(pl.String).alias("customer_id"),
        pl.col("InvoiceDate").cast(pl.Datetime("us")).alias("order_date"),
        pl.col("InvoiceNo").alias("invoice"),
        pl.col("StockCode").alias("product"),
        pl.col("Description").alias("description"),
        pl.col("Country").alias("country"),
        quantity.alias("quantity"),
        pl.col("UnitPrice").cast(pl.Float64).alias("price"),
        (quantity * pl.col("UnitPrice")).alias("amount"),
        pl.lit(None, dtype=pl.String).alias("parse_error"),
    )


def random_lines(seed: int, n: int = 400, *, amount_only: bool = False) -> pl.DataFrame:
    """Messy random lines exercising every rule: blanks, codes, copies, C-invoices, zeros."""
    rng = np.random.default_rng(seed)
    customers = np.array(["10", "11", "12", "13", "14", "15", " ", "", None], dtype=object)
    products = np.array(["A", "B", "C", "D", "post", " DOT ", "M", None], dtype=object)
    invoices = np.array(["500", "501", "502", "C503", "c504", " C505", "506", None], dtype=object)
    countries = np.array(["UK", "France", "Spain", None], dtype=object)
    start = dt.datetime(2011, 1, 1)
    data = {
        "source_row": np.arange(1, n + 1),
        "customer_id": rng.choice(customers, n, p=[0.15] * 6 + [0.04, 0.03, 0.03]),
        "order_date": [start + dt.timedelta(hours=int(h)) for h in rng.integers(0, 24 * 60, n)],
        "invoice": rng.choice(invoices, n),
        "product": rng.choice(products, n, p=[0.2, 0.2, 0.2, 0.2, 0.05, 0.05, 0.05, 0.05]),
        "description": rng.choice(np.array(["x", "y", None], dtype=object), n),
        "country": rng.choice(countries, n),
        "quantity": rng.integers(-3, 6, n).astype(float),
        "price": rng.choice([0.0, -1.0, 0.5, 1.25, 2.0, 3.3], n),
        "parse_error": rng.choice(np.array([None] * 30 + ["date"], dtype=object), n),
    }
    strings = ("customer_id", "invoice", "product", "description", "country", "parse_error")
    for key in strings:
        data[key] = pl.Series(key, list(data[key]), dtype=pl.String)
    frame = pl.DataFrame(data).with_columns(
        pl.col("source_row").cast(pl.Int64),
        pl.col("order_date").cast(pl.Datetime("us")),
        (pl.col("quantity") * pl.col("price")).alias("amount"),
    )
    if amount_only:
        frame = frame.with_columns(
            pl.lit(None, dtype=pl.Float64).alias("quantity"),
            pl.lit(None, dtype=pl.Float64).alias("price"),
        )
    # Exact copies of earlier lines (new source_row), spread through the frame.
    copies = frame.sample(n // 10, seed=seed, with_replacement=True).with_columns(
        pl.lit(0, dtype=pl.Int64).alias("source_row")
    )
    frame = pl.concat([frame, copies]).sample(fraction=1.0, shuffle=True, seed=seed + 1)
    frame = frame.with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("source_row"))
    return frame.select([pl.col(c).cast(t) for c, t in NORMALIZED_SCHEMA.items()])


def to_pandas(frame: pl.DataFrame) -> pd.DataFrame:
    """Pandas copy with object strings and datetime64 dates, as the oracle expects."""
    out = frame.to_pandas()
    for column, dtype in NORMALIZED_SCHEMA.items():
        if dtype == pl.String():
            out[column] = out[column].astype(object).where(out[column].notna(), None)
    return out
