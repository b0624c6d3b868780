"""What every contender of ``bench_features.py`` hands back, and the check that they agree.

An :class:`Output` is the whole answer of ``custseg features`` (default options) for one file:
the feature table (every column of ``core.columns.FEATURE_SCHEMA``, sorted by customer id) and
the audit's figures (lines in and kept, lines and revenue per reason, customers in and out,
the source rows of each reason's sample lines). :func:`differences` compares two outputs on
all of it: every column of every row, exactly for ids, counts, days, dates, flags and text,
within ``1e-9`` (relative) for float sums, whose last bits depend on summation order.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from core.cleaning import REASONS
from core.columns import CUSTOMER, FEATURE_SCHEMA

REL_TOL = 1e-9
# Float columns: sums in a different order differ in their last bits; the rest is exact.
FLOAT_COLUMNS = tuple(c for c, t in FEATURE_SCHEMA.items() if t == pl.Float64())
COUNT_KEYS = ("rows_in", "rows_kept", "customers_in", "customers_out")


@dataclass(frozen=True)
class Output:
    """A contender's answer: the feature table and the audit's figures.

    ``audit`` holds ``rows_in``, ``rows_kept``, ``customers_in``, ``customers_out`` (ints),
    ``revenue_kept`` (float), and per reason ``dropped`` (lines), ``revenue`` (float) and
    ``samples`` (the sample lines' ``source_row`` values, ascending).
    """

    features: pl.DataFrame
    audit: dict[str, Any]

    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.features.write_parquet(folder / "features.parquet")
        (folder / "audit.json").write_text(json.dumps(self.audit, indent=1), encoding="utf-8")

    @classmethod
    def read(cls, folder: Path) -> Output:
        return cls(
            features=pl.read_parquet(folder / "features.parquet"),
            audit=json.loads((folder / "audit.json").read_text(encoding="utf-8")),
        )


def feature_frame(frame: Any) -> pl.DataFrame:
    """Any contender's table (Polars, pandas, Arrow) in ``FEATURE_SCHEMA``, by customer id."""
    if isinstance(frame, pl.DataFrame):
        table = frame
    elif type(frame).__module__.startswith("pandas"):
        table = pl.from_pandas(frame)
    else:
        table = pl.from_arrow(frame)  # type: ignore[assignment]
    missing = [c for c in FEATURE_SCHEMA if c not in table.columns]
    if missing:
        raise ValueError(f"feature table lacks {missing}")
    return table.select(pl.col(c).cast(t) for c, t in FEATURE_SCHEMA.items()).sort(CUSTOMER)


def _mismatches(column: str, want: pl.Series, have: pl.Series) -> pl.Series:
    """Positions where two columns differ: a null against a value, or unequal values
    (float columns: further apart than ``REL_TOL`` of the larger magnitude)."""
    frame = pl.DataFrame({"a": want, "b": have})
    a, b = pl.col("a"), pl.col("b")
    one_null = a.is_null() ^ b.is_null()
    if column in FLOAT_COLUMNS:
        scale = pl.max_horizontal(a.abs(), b.abs())
        unequal = (a - b).abs() > REL_TOL * scale + 1e-12
    else:
        unequal = a != b
    return frame.select((one_null | unequal.fill_null(False)).arg_true()).to_series()


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-12)


def _column_differences(name: str, expected: pl.DataFrame, got: pl.DataFrame) -> list[str]:
    """One line per column that differs, with its count of rows and the first of them."""
    problems = []
    ids = expected.get_column(CUSTOMER)
    for column in FEATURE_SCHEMA:
        want, have = expected.get_column(column), got.get_column(column)
        bad = _mismatches(column, want, have)
        if len(bad):
            i = bad[0]
            problems.append(
                f"{name}: column {column} differs on {len(bad):,} customers, first "
                f"{ids[i]!r}: expected {want[i]!r}, got {have[i]!r}"
            )
    return problems


def _audit_differences(name: str, expected: dict[str, Any], got: dict[str, Any]) -> list[str]:
    problems = [
        f"{name}: audit {key} is {got.get(key)!r}, expected {expected[key]!r}"
        for key in COUNT_KEYS
        if got.get(key) != expected[key]
    ]
    if not _close(got.get("revenue_kept"), expected["revenue_kept"]):
        problems.append(
            f"{name}: audit revenue_kept is {got.get('revenue_kept')!r}, "
            f"expected {expected['revenue_kept']!r}"
        )
    for reason in REASONS:
        for key in ("dropped", "revenue", "samples"):
            want, have = expected[key][reason], got.get(key, {}).get(reason)
            same = _close(have, want) if key == "revenue" else have == want
            if not same:
                problems.append(f"{name}: audit {key}[{reason}] is {have!r}, expected {want!r}")
    return problems


def differences(name: str, expected: Output, got: Output) -> list[str]:
    """Every way ``got`` differs from ``expected`` (empty: same answer on every column)."""
    problems = _audit_differences(name, expected.audit, got.audit)
    want, have = expected.features, got.features
    if have.columns != want.columns:
        return [*problems, f"{name}: feature columns {have.columns}, expected {want.columns}"]
    if have.height != want.height:
        return [*problems, f"{name}: {have.height:,} customers, expected {want.height:,}"]
    return problems + _column_differences(name, want, have)
