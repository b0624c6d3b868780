"""bench_features' contenders give custseg's answer on every column, and the check sees any
difference: so a fast contender cannot drift from the definitions unnoticed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from bench.contenders import CONTENDERS
from bench.outputs import Output, differences
from core.cleaning import REASONS
from core.columns import FEATURE_SCHEMA
from core.generator import write_transactions

D = dt.datetime


def _messy_lines() -> pl.DataFrame:
    """Hand-made UCI-shaped lines meeting every rule and feature edge."""
    rows = [
        # InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country
        (" 9001 ", "A1", "THING ", 2, D(2011, 3, 1, 9), 1.5, 70001.0, "Spain"),
        ("9001", " a1", "THING", 1, D(2011, 3, 1, 9), 1.5, 70001.0, "France"),
        ("9001.0", "B2", "", 1, D(2011, 3, 1, 9), 2.0, 70001.0, " France"),
        ("9002", "B2", "X", 1, D(2011, 4, 1, 9), 2.0, 70001.0, "Spain"),  # country tie
        ("c9003", "B2", "X", -3, D(2011, 4, 2, 9), 2.0, 70001.0, "Spain"),
        (None, "A1", "X", 1, D(2011, 5, 1, 9), 3.0, 70002.0, "UK"),  # orders by timestamp
        (None, "A1", "X", 2, D(2011, 5, 1, 9), 3.0, 70002.0, "UK"),
        (None, "A1", "X", 1, D(2011, 5, 2, 9), 3.0, 70002.0, "UK"),
        (None, "A1", "X", 1, D(2011, 5, 2, 9), 3.0, 70002.0, "UK"),  # a copy
        ("9004", "A1", "X", 4, D(2011, 6, 1, 9), 2.5, 70003.0, "UK"),  # returned in full
        (" C9005", "A1", "X", -4, D(2011, 6, 2, 9), 2.5, 70003.0, "UK"),
        ("C9006", "A1", "X", -1, D(2011, 6, 3, 9), 2.5, 70004.0, "UK"),  # returns only
        ("9007", " post ", "POSTAGE", 1, D(2011, 6, 4, 9), 18.0, 70001.0, "UK"),
        ("9008", "BANK CHARGES", "FEE", 1, D(2011, 6, 4, 9), 5.0, 70001.0, "UK"),
        ("9009", "A1", "X", 0, D(2011, 6, 5, 9), 2.5, 70005.0, "UK"),
        ("9010", "A1", "X", 1, D(2011, 6, 5, 9), 0.0, 70005.0, "UK"),
        ("9011", "A1", "X", 1, D(2011, 6, 5, 9), float("nan"), 70005.0, "UK"),
        ("9012", "A1", "X", 1, None, 1.0, 70005.0, "UK"),
        ("9013", "A1", "X", 1, D(2011, 6, 6, 9), 1.0, float("nan"), "UK"),
        ("9014", " ", "X", 1, D(2011, 6, 7, 9), 1.0, 70006.0, None),  # no product, no country
        ("9015", None, None, 1, D(2011, 6, 8, 9), 1.0, 70006.0, ""),
        ("9016", "A1", "X", 1, D(2011, 6, 9, 9), 0.1, 70007.0, "UK"),  # net 5.6e-17: zero
        ("9016", "B2", "X", 1, D(2011, 6, 9, 9), 0.2, 70007.0, "UK"),
        ("C9017", "A1", "X", -1, D(2011, 6, 10, 9), 0.3, 70007.0, "UK"),
    ]
    columns = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice"]
    return pl.DataFrame(
        rows, schema=[*columns, "CustomerID", "Country"], orient="row"
    ).with_columns(pl.col("Quantity").cast(pl.Int64), pl.col("InvoiceDate").cast(pl.Datetime("us")))


@pytest.fixture(scope="module")
def messy_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated lines (cancellations, guests, fees, copies, zero prices) with the messy ones
    and more copies spread through them."""
    folder = tmp_path_factory.mktemp("contenders")
    write_transactions(folder / "generated.parquet", seed=3, customers=40)
    generated = pl.read_parquet(folder / "generated.parquet")
    messy = _messy_lines().select(pl.col(c).cast(t) for c, t in generated.schema.items())
    lines = pl.concat([generated, messy, messy.head(9), generated.sample(50, seed=1)])
    order = np.random.default_rng(5).permutation(lines.height)
    path = folder / "lines.parquet"
    lines[order].write_parquet(path)
    return path


@pytest.fixture(scope="module")
def custseg_answer(messy_file: Path) -> Output:
    contender = CONTENDERS["custseg"]
    return contender.output(contender.run(messy_file))


def test_custseg_answer_meets_every_rule(custseg_answer: Output) -> None:
    dropped = custseg_answer.audit["dropped"]
    assert all(dropped[r] > 0 for r in REASONS), dropped
    table = custseg_answer.features
    assert table.get_column("excluded").sum() >= 1
    assert table.get_column("n_products").null_count() >= 1


@pytest.mark.parametrize("name", [n for n in CONTENDERS if n != "custseg"])
def test_contender_gives_custseg_answer(
    name: str, messy_file: Path, custseg_answer: Output
) -> None:
    contender = CONTENDERS[name]
    answer = contender.output(contender.run(messy_file))
    assert differences(name, custseg_answer, answer) == []


@pytest.mark.parametrize("column", list(FEATURE_SCHEMA))
def test_check_sees_one_changed_value_in_any_column(column: str, custseg_answer: Output) -> None:
    table = custseg_answer.features
    dtype = FEATURE_SCHEMA[column]
    value = table.get_column(column)[3]
    if dtype == pl.Boolean():
        changed = not value
    elif dtype == pl.String():
        changed = "x" if value is None else value + "x"
    elif dtype == pl.Date():
        changed = value + dt.timedelta(days=1)
    elif dtype == pl.Float64():
        changed = 1.0 if value is None else value * (1 + 1e-6) + 1e-6
    else:
        changed = 1 if value is None else value + 1
    edited = table.with_columns(
        pl.when(pl.int_range(pl.len()) == 3).then(pl.lit(changed, dtype)).otherwise(pl.col(column))
        .alias(column)
    )  # fmt: skip
    found = differences("edited", custseg_answer, Output(edited, custseg_answer.audit))
    assert len(found) == 1
    assert f"column {column} differs on 1 customers" in found[0]


def test_check_sees_a_changed_audit_figure(custseg_answer: Output) -> None:
    audit = custseg_answer.audit
    for key, edit in (
        ("rows_in", lambda a: {**a, "rows_in": a["rows_in"] + 1}),
        ("revenue", lambda a: {**a, "revenue": {**a["revenue"], "duplicate": 1e9}}),
        ("samples", lambda a: {**a, "samples": {**a["samples"], "non_positive": [1]}}),
    ):
        found = differences("edited", custseg_answer, Output(custseg_answer.features, edit(audit)))
        assert len(found) == 1
        assert key in found[0]


def test_check_accepts_float_sums_in_another_order(custseg_answer: Output) -> None:
    table = custseg_answer.features.with_columns(pl.col("gross") * (1 + 1e-14))
    assert differences("reordered", custseg_answer, Output(table, custseg_answer.audit)) == []
