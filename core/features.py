"""Per-customer features from cleaned purchase lines and cancellation lines.

Each feature is written once: the per-customer aggregates (:func:`masked_aggregates`, one
``group_by`` over a customer's purchase and cancellation lines), :func:`main_country` and the
derived columns (:func:`finish_features`, small named functions returning a ``pl.Expr``). The
engine (``core.pipeline.run_engine``) runs them on encoded lines, :func:`compute_features` on
lines given as frames. The result has exactly
``core.columns.FEATURE_SCHEMA`` (names, order, dtypes), one row per customer with at least one
purchase line, sorted by ``customer_id``.

Definitions
-----------
analysis date
    ``FeatureConfig.analysis_date`` if given, else the calendar day after the latest purchase
    line (after windowing). When given, lines dated after it are ignored.
recency_days, tenure_days
    Analysis date minus the calendar date of the last / first purchase line, in days.
frequency
    Distinct purchase orders (:func:`order_key`): distinct invoices; lines without an invoice
    count one order per distinct timestamp (the customer x timestamp rule used when no invoice
    column is mapped).
gross
    Sum of line amounts (quantity x price) over purchase lines.
returns_value
    Minus the sum of amounts over the customer's cancellation lines (0 when none).
monetary
    ``gross - returns_value`` (net), or ``gross`` when ``FeatureConfig.use_gross``.
avg_order_value
    ``monetary / frequency``.
n_products
    Distinct non-null product codes bought; null when the customer's lines carry no product.
avg_days_between_orders
    ``(last_purchase - first_purchase) / (frequency - 1)`` in calendar days; null for one order.
return_rate
    ``returns_value / gross`` (null when gross <= 0).
country
    The country on most of the customer's purchase lines; ties go to the alphabetically first.
excluded, exclusion_reason
    ``monetary <= 0`` customers stay in the table, excluded from clustering, with a reason.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from dataclasses import dataclass

import polars as pl

from core.columns import (
    AMOUNT,
    COUNTRY,
    CUSTOMER,
    DATE,
    FEATURE_SCHEMA,
    INVOICE,
    PRODUCT,
)
from core.errors import ConfigError
from core.money import SUM_DECIMALS, LineAmounts

NET_TOLERANCE = 1e-9  # relative; see monetary()
EXCLUDED_NET = "net monetary value <= 0 (returns cancel out purchases)"
EXCLUDED_GROSS = "gross monetary value <= 0"


@dataclass(frozen=True)
class FeatureConfig:
    """Options for :func:`compute_features`.

    Attributes
    ----------
    analysis_date:
        Date recency and tenure are measured from; default: day after the latest purchase.
        Lines dated after it are ignored.
    use_gross:
        ``monetary`` = gross purchases instead of net of returns.
    window_start, window_end:
        Inclusive calendar-date window applied to purchase and return lines before aggregation.
    """

    analysis_date: dt.date | None = None
    use_gross: bool = False
    window_start: dt.date | None = None
    window_end: dt.date | None = None

    def __post_init__(self) -> None:
        for name in ("analysis_date", "window_start", "window_end"):
            value = getattr(self, name)
            if value is not None and (
                not isinstance(value, dt.date) or isinstance(value, dt.datetime)
            ):
                raise ConfigError(
                    f"{name} must be a date, got {value!r}",
                    hint="Pass a datetime.date such as date(2011, 12, 10), or None.",
                )
        if (
            self.window_start is not None
            and self.window_end is not None
            and self.window_start > self.window_end
        ):
            raise ConfigError(
                f"window_start {self.window_start} is after window_end {self.window_end}",
                hint="Swap the dates or leave one of them empty.",
            )
        if (
            self.analysis_date is not None
            and self.window_start is not None
            and self.analysis_date < self.window_start
        ):
            raise ConfigError(
                f"analysis_date {self.analysis_date} is before window_start {self.window_start}",
                hint="Choose an analysis date on or after the start of the window.",
            )


# --- line filters -----------------------------------------------------------------------------


def line_filter(config: FeatureConfig, *, customer: bool = True, dated: bool = False) -> pl.Expr:
    """Lines with a customer, inside the window and not after the analysis date.

    ``customer=False`` leaves out the customer test, for lines already known to have one;
    ``dated=True`` the date's null test, for lines known to have a date. Without any test
    left the filter is ``pl.lit(True)``.
    """
    day = pl.col(DATE).dt.date()
    conds = []
    if customer:
        conds += [pl.col(CUSTOMER).is_not_null(), pl.col(CUSTOMER).str.strip_chars() != ""]
    if not dated:
        conds.append(pl.col(DATE).is_not_null())
    if config.window_start is not None:
        conds.append(day >= config.window_start)
    if config.window_end is not None:
        conds.append(day <= config.window_end)
    if config.analysis_date is not None:
        conds.append(day <= config.analysis_date)
    return functools.reduce(operator.and_, conds) if conds else pl.lit(True)


# --- per line and per customer ---------------------------------------------------------------


ORDER = "_order"  # a line's order_key()


def order_key() -> pl.Expr:
    """The order a line belongs to, as a 64-bit hash: its invoice or, without one, its timestamp.

    ``frequency`` counts the distinct keys of a customer's purchase lines (so the lines of a
    customer without invoice count one order per distinct timestamp). Orders only need
    telling apart within one customer: two of m orders collide with probability about
    ``m**2 / 2**65``. Categorical codes would be exact but cost much more with many distinct
    invoices.
    """
    invoice = pl.col(INVOICE)
    return (
        pl.when(invoice.is_not_null())
        .then(invoice.hash(seed=7))
        .otherwise(pl.col(DATE).hash(seed=11))
        .alias(ORDER)
    )


def main_country(lines: pl.LazyFrame) -> pl.LazyFrame:
    """Per customer, the country on most lines (ties: alphabetically first).

    A (customer, country) count then a pick per customer: faster and far lighter on memory
    (streaming engine) than ``mode().min()`` inside the main aggregation.
    """
    counts = (
        lines.select(CUSTOMER, COUNTRY)
        .drop_nulls(COUNTRY)
        .group_by(CUSTOMER, COUNTRY)
        .agg(pl.len().alias("_lines"))
    )
    top = pl.col("_lines") == pl.col("_lines").max()
    return counts.group_by(CUSTOMER).agg(pl.col(COUNTRY).filter(top).min())


# --- derived, over the per-customer table ----------------------------------------------------


def default_analysis_date() -> pl.Expr:
    return pl.col("last_purchase").max() + pl.duration(days=1)


def days_since(column: str, analysis: pl.Expr) -> pl.Expr:
    return (analysis - pl.col(column)).dt.total_days().cast(pl.Int64)


def monetary(*, use_gross: bool) -> pl.Expr:
    if use_gross:
        return pl.col("gross").alias("monetary")
    gross_, returned = pl.col("gross"), pl.col("returns_value")
    # Both sums hold at most SUM_DECIMALS decimals (core.money.exact_sum), so their difference
    # is rounded to those too: 6075.6 - 136.82 is 5938.78, not 5938.780000000001. Sums beyond
    # exact_sum's range carry float noise (a customer who returned everything nets +-1e-13):
    # a net within NET_TOLERANCE of the larger side is 0.
    net = (gross_ - returned).round(SUM_DECIMALS)
    negligible = net.abs() <= NET_TOLERANCE * pl.max_horizontal(gross_.abs(), returned.abs())
    return pl.when(negligible).then(0.0).otherwise(net).alias("monetary")


def avg_order_value() -> pl.Expr:
    return (pl.col("monetary") / pl.col("frequency")).alias("avg_order_value")


def avg_days_between_orders() -> pl.Expr:
    span = (pl.col("last_purchase") - pl.col("first_purchase")).dt.total_days()
    return (
        pl.when(pl.col("frequency") > 1)
        .then(span / (pl.col("frequency") - 1))
        .otherwise(None)
        .cast(pl.Float64)
        .alias("avg_days_between_orders")
    )


def return_rate() -> pl.Expr:
    return (
        pl.when(pl.col("gross") > 0)
        .then(pl.col("returns_value") / pl.col("gross"))
        .otherwise(None)
        .alias("return_rate")
    )


def excluded() -> pl.Expr:
    return (pl.col("monetary") <= 0).fill_null(True).alias("excluded")


def exclusion_reason(*, use_gross: bool) -> pl.Expr:
    return (
        pl.when(pl.col("excluded"))
        .then(pl.lit(EXCLUDED_GROSS if use_gross else EXCLUDED_NET))
        .otherwise(pl.lit(None, dtype=pl.String))
        .alias("exclusion_reason")
    )


# --- one pass over classified lines ----------------------------------------------------------


def distinct_count(expr: pl.Expr) -> pl.Expr:
    """Distinct non-null values of ``expr`` (``n_unique`` counts null as a value)."""
    return (expr.n_unique() - (expr.null_count() > 0).cast(pl.UInt32)).cast(pl.Int64)


def masked_aggregates(
    purchase: pl.Expr,
    returned: pl.Expr,
    *,
    products: bool = True,
    amounts: LineAmounts = LineAmounts(),
) -> list[pl.Expr]:
    """The per-customer aggregates of the feature table, over lines picked by masks.

    For a single ``group_by`` over *all* of a customer's lines: ``purchase`` marks the purchase
    lines (kept and passing :func:`line_filter`), ``returned`` the cancellation lines passing
    it; :data:`ORDER` holds each line's :func:`order_key` and ``product`` integer codes. Each
    aggregate reads its column through ``when(mask)``, which keeps every aggregate a
    streaming one (a ``filter`` inside ``agg`` made Polars add a second group-by, and two
    memory-intensive nodes on one stream make the streaming engine buffer it). Besides the
    feature columns it yields ``_purchase_lines`` (customers without any are not in the
    table) and ``_last_country`` (the alphabetically last: when it differs from ``country``,
    the first, the main country needs the per-country counts of :func:`main_country`).
    ``products=False`` leaves ``n_products`` out, for callers that count the distinct
    customer x product pairs otherwise. ``amounts``: how the lines hold their amounts (the
    money sums are :func:`core.money.exact_sum` either way).
    """
    date = pl.when(purchase).then(pl.col(DATE))
    product = pl.when(purchase).then(pl.col(PRODUCT))
    country = pl.when(purchase).then(pl.col(COUNTRY))
    aggregates = [
        purchase.sum().alias("_purchase_lines"),
        date.min().dt.date().alias("first_purchase"),
        date.max().dt.date().alias("last_purchase"),
        distinct_count(pl.when(purchase).then(pl.col(ORDER))).alias("frequency"),
        amounts.sum(purchase).alias("gross"),
        # Null when none of the customer's purchase lines has a product.
        pl.when(product.count() > 0).then(distinct_count(product)).alias("n_products"),
        # -sum only where there are return lines (an empty sum negated would be -0.0).
        pl.when(returned.any()).then(-amounts.sum(returned)).otherwise(0.0).alias("returns_value"),
        country.min().alias(COUNTRY),
        country.max().alias("_last_country"),
    ]
    if not products:
        aggregates = [a for a in aggregates if a.meta.output_name() != "n_products"]
    return aggregates


def finish_features(per_customer: pl.LazyFrame, config: FeatureConfig) -> pl.LazyFrame:
    """The feature table from one row per customer with the aggregated columns.

    ``per_customer`` has ``customer_id``, ``first_purchase``, ``last_purchase``,
    ``frequency``, ``gross``, ``n_products``, ``country`` and ``returns_value`` (null when the
    customer returned nothing). Derived columns, dtypes, column order and row order follow
    ``FEATURE_SCHEMA``.
    """
    analysis = (
        pl.lit(config.analysis_date, dtype=pl.Date)
        if config.analysis_date is not None
        else default_analysis_date()
    )
    return (
        per_customer.with_columns(
            pl.col("returns_value").fill_null(0.0),
            days_since("last_purchase", analysis).alias("recency_days"),
            days_since("first_purchase", analysis).alias("tenure_days"),
        )
        .with_columns(monetary(use_gross=config.use_gross))
        .with_columns(
            avg_order_value(),
            avg_days_between_orders(),
            return_rate(),
            excluded(),
        )
        .with_columns(exclusion_reason(use_gross=config.use_gross))
        .select([pl.col(name).cast(dtype) for name, dtype in FEATURE_SCHEMA.items()])
        # On one thread: Polars' parallel sort of the ids' text is the slower one, for a few
        # thousand customers as for a hundred thousand (bench/README.md, branch tail).
        .sort(CUSTOMER, multithreaded=False)
    )


# --- public API ------------------------------------------------------------------------------


def compute_features(
    purchases: pl.LazyFrame | pl.DataFrame,
    returns: pl.LazyFrame | pl.DataFrame,
    config: FeatureConfig = FeatureConfig(),
) -> pl.LazyFrame:
    """The customer feature table (``FEATURE_SCHEMA``) of cleaned lines, lazily.

    The engine's aggregates (:func:`masked_aggregates`, :func:`main_country`,
    :func:`finish_features`) over lines given as frames rather than encoded.

    Parameters
    ----------
    purchases, returns:
        Kept purchase lines and cancellation lines (``core.pipeline.clean``: normalized
        columns; only customer, date, invoice, product, country and amount are read).
    config:
        Analysis date, gross/net monetary and time window.
    """
    columns = [CUSTOMER, DATE, INVOICE, PRODUCT, COUNTRY, AMOUNT]
    bought = pl.col("_bought")
    lines = (
        pl.concat(
            [
                purchases.lazy().select(columns).with_columns(pl.lit(True).alias("_bought")),
                returns.lazy().select(columns).with_columns(pl.lit(False).alias("_bought")),
            ]
        )
        .filter(line_filter(config))
        .with_columns(
            order_key(),
            # Fresh categories per query: the global ones would keep every code ever seen.
            pl.col(PRODUCT).cast(pl.Categorical(pl.Categories.random())).to_physical(),
        )
    )
    per_customer = (
        lines.group_by(CUSTOMER)
        .agg(masked_aggregates(bought, ~bought))
        .filter(pl.col("_purchase_lines") > 0)
        .drop(COUNTRY)
        .join(main_country(lines.filter(bought)), on=CUSTOMER, how="left")
    )
    return finish_features(per_customer, config)


def analysis_date_of(features: pl.DataFrame) -> dt.date | None:
    """The analysis date a feature table was computed at (None for an empty table).

    Read back from any row as ``last_purchase + recency_days``, so no rescan is needed.
    """
    if features.height == 0:
        return None
    row = features.row(0, named=True)
    return row["last_purchase"] + dt.timedelta(days=int(row["recency_days"]))


def resolve_analysis_date(
    purchases: pl.LazyFrame | pl.DataFrame, config: FeatureConfig = FeatureConfig()
) -> dt.date | None:
    """The analysis date :func:`compute_features` uses with ``config`` (None: no purchases)."""
    if config.analysis_date is not None:
        return config.analysis_date
    latest = (
        purchases.lazy()
        .select(CUSTOMER, DATE)
        .filter(line_filter(config))
        .select(pl.col(DATE).max().dt.date())
        .collect()
        .item()
    )
    return None if latest is None else latest + dt.timedelta(days=1)


def features_with_date(
    purchases: pl.LazyFrame | pl.DataFrame,
    returns: pl.LazyFrame | pl.DataFrame,
    config: FeatureConfig = FeatureConfig(),
    *,
    engine: str = "auto",
) -> tuple[pl.DataFrame, dt.date | None]:
    """Collect :func:`compute_features` and return it with the analysis date used."""
    table = compute_features(purchases, returns, config).collect(engine=engine)  # type: ignore[arg-type]
    used = config.analysis_date if config.analysis_date is not None else analysis_date_of(table)
    return table, used
