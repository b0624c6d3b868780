"""Money to the cent: the one rounding behind every amount shown on screen and written to a file.

Customer amounts are sums of float products (quantity x unit price), so they carry binary noise:
``343.99999999999994`` for 344, ``1868.6399999999999`` for 1,868.64. Screens and exports round
them here, once, to :data:`MONEY_DECIMALS` decimals, half away from zero (Polars' decimal-aware
rounding: 2.675 becomes 2.68, as on a receipt). A view that shows a customer's amounts and a file
that lists them both go through :func:`round_money`, so the figures agree to the cent; the
feature table itself keeps full precision for the models.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from core.columns import AMOUNT

MONEY_DECIMALS = 2
# Sums of money are added as whole millionths: integers add up to the same total in any order,
# whereas float sums differ in their last bits with the order Polars' threads add them in. A
# line amount (quantity x unit price, itself binary noise around a decimal) is exact at this
# precision for prices with up to 6 decimals; finer fractions are rounded to the millionth.
SUM_DECIMALS = 6
_EXACT_UP_TO = 1e12  # millionths up to 1e18, within Int64 for each amount
# The customer columns that are amounts of money (core.columns.FEATURE_SCHEMA, core.clv,
# core.migration).
MONEY_COLUMNS: tuple[str, ...] = (
    "gross",
    "returns_value",
    "monetary",
    "avg_order_value",
    # predicted value (core.clv)
    "expected_avg_order_value",
    "predicted_revenue",
    # core.migration's CUSTOMERS and FLOWS
    "monetary_before",
    "monetary_after",
    "revenue_at_risk",
    "mean_monetary_before",
)


def cents(expr: pl.Expr) -> pl.Expr:
    """``expr`` rounded to the cent (half away from zero)."""
    return expr.round(MONEY_DECIMALS, mode="half_away_from_zero")


def to_units(expr: pl.Expr, *, wide: bool = False) -> pl.Expr:
    """Each amount of ``expr`` in whole millionths (:data:`SUM_DECIMALS`), rounded half to
    even; null where the amount is null, beyond :data:`_EXACT_UP_TO` or not finite (such
    amounts are summed as floats: :func:`beyond_units`). Every value fits an Int64 (at most
    1e18 millionths); ``wide`` gives them as Int128, to be summed without overflow."""
    exact = expr.abs() <= _EXACT_UP_TO
    units = pl.when(exact).then((expr * 10**SUM_DECIMALS).round())
    # Every value within the bound is in range: the wrapping cast gives the same integers
    # without the checked cast's range test of every line.
    return units.cast(pl.Int128 if wide else pl.Int64, wrap_numerical=True)


def beyond_units(expr: pl.Expr) -> pl.Expr:
    """The amounts of ``expr`` that :func:`to_units` leaves out (beyond its range, or not
    finite); null elsewhere."""
    return pl.when((expr.abs() <= _EXACT_UP_TO).not_()).then(expr)


def from_units(units: pl.Expr, beyond: pl.Expr | None = None) -> pl.Expr:
    """A sum of whole millionths ``units`` as a float, plus the float sum ``beyond`` of the
    amounts outside their range (None: there were none).

    Dividing by the scale is not correctly rounded in Polars (6075600000 / 1e6 gave
    6075.599999999999); rounding the quotient to the same decimals gives the float nearest
    to the decimal sum.
    """
    total = (units / 10**SUM_DECIMALS).round(SUM_DECIMALS)
    return total if beyond is None else total + beyond


def exact_sum(expr: pl.Expr) -> pl.Expr:
    """The sum of the amounts ``expr``, added as whole millionths (:data:`SUM_DECIMALS`), so
    that the same amounts give the same float whatever order they are added in. Nulls are
    skipped, as by ``sum``; an empty sum is 0.0. Amounts beyond :data:`_EXACT_UP_TO` (or not
    finite: a NaN stays a NaN) are added as floats, as before; 128-bit integers hold any
    number of millionths below that bound without overflow."""
    return from_units(to_units(expr, wide=True).sum(), beyond_units(expr).sum())


# Sums of Int64 millionths cannot overflow when the absolute values of all the lines add up to
# at most this much (a float sum of them is off by far less than the margin up to 2**63).
_INT64_SUMS_UP_TO = float(2**62)


@dataclass(frozen=True)
class LineAmounts:
    """Where lines hold their amounts, and how a masked sum of them is taken.

    Either as floats in ``amount`` (each sum converts them: :func:`exact_sum`), or, converted
    once per line, as whole millionths in ``units`` (:func:`to_units`, Int64), every amount
    being within range: then each sum is an integer sum and one division. Both give the same
    float. ``wide``: the units' absolute values may add up beyond :data:`_INT64_SUMS_UP_TO`,
    so their sums are taken in 128-bit integers.
    """

    amount: str = AMOUNT
    units: str | None = None
    wide: bool = False

    @property
    def column(self) -> str:
        """The column the sums read."""
        return self.amount if self.units is None else self.units

    @staticmethod
    def of_units(units: pl.Series) -> LineAmounts:
        """The amounts held as ``units`` (whole millionths, Int64), summed in Int64 when the
        absolute values of all of them add up to at most :data:`_INT64_SUMS_UP_TO`: then no
        sum of any of them can overflow.

        First the bound the extremes give (lines x the largest absolute value, exact in
        Python integers), which needs no column of absolute values: those two columns were
        most of the cost, the pages a fresh process faults in for them included.
        """
        low, high = units.min(), units.max()
        if low is None or high is None:
            return LineAmounts(units=units.name)
        largest = max(abs(int(low)), abs(int(high)))  # type: ignore[call-overload]
        if largest * units.len() <= _INT64_SUMS_UP_TO:
            return LineAmounts(units=units.name)
        magnitude = units.abs().cast(pl.Float64).sum()
        return LineAmounts(units=units.name, wide=not magnitude <= _INT64_SUMS_UP_TO)

    def sum(self, mask: pl.Expr, *, filtered: bool = False) -> pl.Expr:
        """The exact sum (:func:`exact_sum`) of the amounts of the lines ``mask`` picks.

        The amounts are read through ``when(mask)``, which keeps a group-by's aggregate a
        streaming one (:func:`core.features.masked_aggregates`); ``filtered``: taken by
        ``filter(mask)`` instead, for a ``select``, where it skips the other lines rather
        than reading them as nulls.
        """

        def picked(column: str) -> pl.Expr:
            return pl.col(column).filter(mask) if filtered else pl.when(mask).then(pl.col(column))

        if self.units is None:
            return exact_sum(picked(self.amount))
        units = picked(self.units)
        return from_units((units.cast(pl.Int128) if self.wide else units).sum())


def money_columns(frame: pl.DataFrame) -> list[str]:
    """The float columns of :data:`MONEY_COLUMNS` that ``frame`` holds."""
    return [c for c in MONEY_COLUMNS if c in frame.columns and frame.schema[c].is_float()]


def round_money(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with each of its money columns rounded to the cent."""
    return frame.with_columns(cents(pl.col(c)) for c in money_columns(frame))


def to_cents(value: float | None) -> float | None:
    """One amount rounded to the cent by the same rule as :func:`cents` (None stays None)."""
    if value is None:
        return None
    return pl.select(cents(pl.lit(float(value), dtype=pl.Float64))).item()


def money_text(value: float | None) -> str:
    """An amount as people read it: ``1,868.64`` (empty when missing)."""
    rounded = to_cents(value)
    return "" if rounded is None else f"{rounded:,.{MONEY_DECIMALS}f}"
