"""The cleaning audit and the customer feature table computed with Spark DataFrames.

What it shares with the Polars engine (``core.pipeline.run_engine``) rather than restates:
the rule order (:data:`core.cleaning.REASONS`, walked in order; a rule core adds and Spark
lacks is an error), which rules run (:class:`core.cleaning.CleaningConfig`), the non-product
codes (:func:`core.cleaning.non_product_set`), the source fields a duplicate repeats
(:data:`core.cleaning.SOURCE_FIELDS`), the audit (:func:`core.cleaning.audit_from` on
Spark's totals and samples) and every derived feature (:func:`core.features.finish_features`
on Spark's per-customer aggregates, one row per customer on the driver). Spark computes
what needs every line: each line's reason, the totals per reason, the per-customer
aggregates (those of :func:`core.features.masked_aggregates`) and the main country.

Exact where Polars hashes: duplicates are lines equal on every source field (the first by
``source_row`` kept), orders are distinct invoices (else timestamps), compared as values.
Money is summed as core sums it (:func:`core.money.exact_sum`: whole millionths), so a sum
does not depend on how Spark splits the lines and equals Polars' to the bit; counts are
exact.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from core.cleaning import (
    REASON,
    REASONS,
    SOURCE_FIELDS,
    Audit,
    CleaningConfig,
    audit_from,
    non_product_set,
)
from core.columns import (
    AMOUNT,
    COUNTRY,
    CUSTOMER,
    DATE,
    INVOICE,
    NORMALIZED_SCHEMA,
    PARSE_ERROR,
    PRICE,
    PRODUCT,
    QUANTITY,
    ROW,
)
from core.errors import ConfigError
from core.features import FeatureConfig, analysis_date_of, finish_features
from core.money import _EXACT_UP_TO as EXACT_UP_TO
from core.money import SUM_DECIMALS
from core.spark import text

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

_UNITS = "decimal(38,0)"  # millionths (core.money.SUM_DECIMALS), summed exactly
_SAMPLE_ROWS = 5  # core.cleaning.SAMPLE_SIZE: audit_from keeps that many per reason


@dataclass(frozen=True)
class SparkFeatures:
    """The feature table (``FEATURE_SCHEMA``, Polars, sorted by customer), the audit and the
    analysis date used (None without purchases)."""

    features: pl.DataFrame
    audit: Audit
    analysis_date: dt.date | None


def _f():  # type: ignore[no-untyped-def]
    from pyspark.sql import functions as sf  # noqa: PLC0415 (optional dependency)

    return sf


def _known(column: str) -> Column:
    """``core.cleaning._known``: NaN counts as missing."""
    sf = _f()
    return sf.when(~sf.isnan(sf.col(column)), sf.col(column))


def _predicates(cleaning: CleaningConfig) -> dict[str, Column]:
    """Each rule's test on a normalized line (core.cleaning's predicates); ``duplicate``
    compares the line with the earlier lines of equal source fields."""
    from pyspark.sql import Window  # noqa: PLC0415

    sf = _f()
    amount = sf.col(AMOUNT)
    customer = sf.col(CUSTOMER)
    quantity, price = _known(QUANTITY), _known(PRICE)
    # Copies are equal on every source field; the hash first makes the shuffle's sort
    # compare one long, the fields only where hashes tie (the copies themselves).
    copies = Window.partitionBy(sf.xxhash64(*SOURCE_FIELDS), *SOURCE_FIELDS).orderBy(ROW)
    codes = non_product_set(cleaning.non_product_codes)
    return {
        "unparseable": sf.col(PARSE_ERROR).isNotNull()
        | sf.col(DATE).isNull()
        | amount.isNull()
        | sf.isnan(amount),
        "missing_customer": customer.isNull() | (text.strip(customer) == ""),
        "non_product": sf.coalesce(
            sf.upper(text.strip(sf.col(PRODUCT))).isin(codes), sf.lit(False)
        ),
        "duplicate": sf.row_number().over(copies) > 1,
        "cancellation": sf.coalesce(sf.col(INVOICE).rlike(r"(?U)^\s*[cC]"), sf.lit(False))
        | sf.coalesce(sf.coalesce(quantity, amount) < 0, sf.lit(False)),
        "non_positive": sf.coalesce(
            sf.when(
                quantity.isNotNull() & price.isNotNull(), (quantity == 0) | (price <= 0)
            ).otherwise(amount <= 0),
            sf.lit(False),
        ),
    }


def classify(lines: DataFrame, cleaning: CleaningConfig) -> DataFrame:
    """``lines`` with ``reason``: the first enabled rule of :data:`REASONS` a line matches
    (null: kept as a purchase line)."""
    sf = _f()
    if cleaning.cap_quantile is not None:
        raise ConfigError(
            "outlier capping is not available with --engine spark",
            "run without capping, or use the polars engine",
        )
    predicates = _predicates(cleaning)
    if set(predicates) != set(REASONS):
        raise AssertionError(f"the Spark engine lacks rules {set(REASONS) - set(predicates)}")
    chain = None
    for reason in REASONS:
        if cleaning.enabled(reason):
            test = predicates[reason]
            chain = sf.when(test, reason) if chain is None else chain.when(test, reason)
    reason_col = sf.lit(None).cast("string") if chain is None else chain
    return lines.withColumn(REASON, reason_col)


def money_sum(column: Column) -> Column:
    """``core.money.exact_sum``: amounts added as whole millionths (a decimal sum here, an
    Int128 sum there), so both engines give the same float whatever order the lines come
    in; larger amounts, NaN and infinities are added as doubles, as there."""
    sf = _f()
    scale = 10**SUM_DECIMALS
    exact = sf.abs(column) <= EXACT_UP_TO  # NaN is above every number in Spark
    units = sf.sum(sf.when(exact, sf.bround(column * scale, 0).cast(_UNITS)))
    units = sf.coalesce(units, sf.lit(0).cast(_UNITS)).cast("double")
    rest = sf.coalesce(sf.sum(sf.when(~exact, column)), sf.lit(0.0))
    return units / sf.lit(float(scale)) + rest


def reason_totals(classified: DataFrame) -> dict[str, object]:
    """``core.cleaning.reason_totals``'s row: lines and revenue per reason, and kept."""
    sf = _f()
    reason, amount = sf.col(REASON), sf.col(AMOUNT)
    aggs = []
    for name in REASONS:
        hit = reason == name
        aggs.append(sf.sum(sf.when(hit, 1).otherwise(0)).alias(f"rows_{name}"))
        aggs.append(money_sum(sf.when(hit, amount)).alias(f"revenue_{name}"))
    kept = reason.isNull()
    aggs.append(sf.sum(sf.when(kept, 1).otherwise(0)).alias("rows_kept"))
    aggs.append(money_sum(sf.when(kept, amount)).alias("revenue_kept"))
    return classified.select(aggs).collect()[0].asDict()


def _line_filter(config: FeatureConfig) -> Column:
    """``core.features.line_filter`` for lines known to have a customer."""
    sf = _f()
    day = sf.to_date(sf.col(DATE))
    cond = sf.col(DATE).isNotNull()
    if config.window_start is not None:
        cond = cond & (day >= sf.lit(config.window_start))
    if config.window_end is not None:
        cond = cond & (day <= sf.lit(config.window_end))
    if config.analysis_date is not None:
        cond = cond & (day <= sf.lit(config.analysis_date))
    return cond


def _order_key() -> Column:
    """``core.features.order_key``: the invoice, else the timestamp (as distinct values)."""
    sf = _f()
    return sf.when(sf.col(INVOICE).isNotNull(), sf.concat(sf.lit("i"), sf.col(INVOICE))).otherwise(
        sf.concat(sf.lit("t"), sf.col(DATE).cast("string"))
    )


def per_customer(classified: DataFrame, config: FeatureConfig) -> DataFrame:
    """One row per customer with any line: ``core.features.masked_aggregates``' columns,
    ``_kept`` (kept lines, for the audit's customers out) and the main country."""
    sf = _f()
    keep = _line_filter(config)
    reason = sf.col(REASON)
    purchase = reason.isNull() & keep
    returned = (reason == "cancellation") & keep
    product = sf.when(purchase, sf.col(PRODUCT))
    grouped = (
        classified.where(sf.col(CUSTOMER).isNotNull())
        .groupBy(CUSTOMER)
        .agg(
            sf.sum(sf.when(reason.isNull(), 1).otherwise(0)).alias("_kept"),
            sf.sum(sf.when(purchase, 1).otherwise(0)).alias("_purchase_lines"),
            sf.to_date(sf.min(sf.when(purchase, sf.col(DATE)))).alias("first_purchase"),
            sf.to_date(sf.max(sf.when(purchase, sf.col(DATE)))).alias("last_purchase"),
            # Sets per customer rather than count_distinct: two distinct counts make Spark
            # copy every line once per count (an Expand) before the aggregation.
            sf.size(sf.collect_set(sf.when(purchase, _order_key()))).alias("frequency"),
            money_sum(sf.when(purchase, sf.col(AMOUNT))).alias("gross"),
            sf.when(sf.count(product) > 0, sf.size(sf.collect_set(product))).alias("n_products"),
            sf.when(
                sf.max(returned.cast("int")) == 1,
                -money_sum(sf.when(returned, sf.col(AMOUNT))),
            )
            .otherwise(0.0)
            .alias("returns_value"),
        )
    )
    # The country on most purchase lines, ties to the alphabetically first: the smallest
    # (-lines, country) pair.
    counts = (
        classified.where(purchase & sf.col(CUSTOMER).isNotNull() & sf.col(COUNTRY).isNotNull())
        .groupBy(CUSTOMER, COUNTRY)
        .agg(sf.count(sf.lit(1)).alias("_lines"))
    )
    main = counts.groupBy(CUSTOMER).agg(
        sf.min(sf.struct((-sf.col("_lines")).alias("n"), sf.col(COUNTRY).alias("c")))["c"].alias(
            COUNTRY
        )
    )
    return grouped.join(main, on=CUSTOMER, how="left")


def _to_polars(frame: DataFrame) -> pl.DataFrame:
    return pl.from_arrow(frame.toArrow())  # type: ignore[return-value]


def samples(classified: DataFrame) -> pl.DataFrame:
    """Each reason's first lines by ``source_row`` (``reason`` + the normalized columns)."""
    from pyspark.sql import Window  # noqa: PLC0415

    sf = _f()
    first = Window.partitionBy(REASON).orderBy(ROW)
    picked = (
        classified.where(sf.col(REASON).isNotNull())
        .withColumn("_n", sf.row_number().over(first))
        .where(sf.col("_n") <= _SAMPLE_ROWS)
        .select(REASON, *NORMALIZED_SCHEMA)
    )
    frame = _to_polars(picked)
    return frame.cast({REASON: pl.String, **NORMALIZED_SCHEMA})  # type: ignore[arg-type]


def customer_features(
    lines: DataFrame,
    *,
    cleaning: CleaningConfig = CleaningConfig(),
    features: FeatureConfig = FeatureConfig(),
) -> SparkFeatures:
    """The audit and the feature table of normalized lines (``core.spark.source``)."""
    from pyspark import StorageLevel  # noqa: PLC0415

    classified = classify(lines, cleaning).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        totals = reason_totals(classified)
        rows = _to_polars(per_customer(classified, features))
        sample_lines = samples(classified)
    finally:
        classified.unpersist()
    customers_in = rows.height
    customers_out = int((rows.get_column("_kept") > 0).sum())
    bought = rows.filter(pl.col("_purchase_lines") > 0).drop("_kept", "_purchase_lines")
    table = finish_features(bought.lazy(), features).collect()
    audit = audit_from(
        cleaning,
        totals,
        customers_in=customers_in,
        customers_out=customers_out,
        samples=[sample_lines],
    )
    used = features.analysis_date
    if used is None:
        used = analysis_date_of(table)
    return SparkFeatures(features=table, audit=audit, analysis_date=used)
