"""What "the same result" means between the Spark and the Polars engine: the same feature
table (columns, dtypes, customers in order, every value; money to a billionth) and the same
audit (counts, revenue per reason, customers in and out, the same sample lines)."""

from __future__ import annotations

from typing import Any

import polars as pl
from polars.testing import assert_frame_equal


def assert_same_table(got: pl.DataFrame, want: pl.DataFrame) -> None:
    assert got.schema == want.schema
    assert got.get_column("customer_id").to_list() == want.get_column("customer_id").to_list()
    # Counts, dates and text exactly; money to a billionth (far finer than the cent): both
    # engines add whole millionths (core.money.exact_sum); Polars turns them back into a
    # float through the reciprocal and rounds, Spark divides (the same float on the UCI file).
    assert_frame_equal(got, want, check_exact=False, rel_tol=1e-12, abs_tol=1e-9)


def assert_same_audit(got: dict[str, Any], want: dict[str, Any]) -> None:
    """Two ``Audit.to_dict()`` (or ``CustomerTable.summary()``) dicts."""
    assert got.keys() == want.keys()
    for key, value in want.items():
        if key == "audit":
            assert_same_audit(got[key], value)
        else:
            assert got[key] == value, key
