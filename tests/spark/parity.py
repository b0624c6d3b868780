"""What "the same result" means between the Spark and the Polars engine: the same feature
table (columns, dtypes, customers in order, every value; money to a billionth, far finer
than the cent: Polars sums doubles in its own order, Spark in decimals) and the same audit
(counts exact, revenue to a billionth, the same sample lines)."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

MONEY_TOLERANCE = 1e-9


def assert_same_table(got: pl.DataFrame, want: pl.DataFrame) -> None:
    assert got.schema == want.schema
    assert got.get_column("customer_id").to_list() == want.get_column("customer_id").to_list()
    assert_frame_equal(got, want, check_exact=False, rel_tol=1e-12, abs_tol=MONEY_TOLERANCE)


def assert_same_audit(got: dict[str, Any], want: dict[str, Any]) -> None:
    """Two ``Audit.to_dict()`` (or ``CustomerTable.summary()``) dicts."""
    assert got.keys() == want.keys()
    for key, value in want.items():
        if key in ("revenue_in", "revenue_kept"):
            assert got[key] == pytest.approx(value, rel=1e-12, abs=MONEY_TOLERANCE), key
        elif key == "revenue":
            assert got[key].keys() == value.keys()
            for reason, amount in value.items():
                assert got[key][reason] == pytest.approx(amount, rel=1e-12, abs=MONEY_TOLERANCE)
        elif key == "audit":
            assert_same_audit(got[key], value)
        else:
            assert got[key] == value, key
