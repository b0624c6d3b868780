"""Transaction files read by Spark and mapped to the normalized lines, as core decides.

The decisions are core's own: the role mapping (:func:`core.schema.detect_roles`), how each
role is read (:func:`core.schema.source_roles`), the date format, the parse failures and
their limit (:func:`core.schema.parse_plan`). Spark gathers what those functions read (the
row counts, the distinct raw values of a text date column, the distinct raw numbers a plain
cast cannot read: :func:`_scan_values`, the same statistics as ``core.schema``'s source
pass); core parses those distinct values on the driver with its own expressions, and Spark
looks each line's value up (a broadcast join), as the Polars engine does. Only the per-line
text rules (strip, blank is missing, ``17850.0`` is ``17850``) are written again here, as
Spark expressions, in :mod:`core.spark.text`.

Every line carries its ``source_row`` (1-based, in file order: files by path, lines in file
order), numbered like ``RDD.zipWithIndex``: one pass counts the lines of each file split,
the offsets come from those counts.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from core import columns as cc
from core.errors import InputFileError
from core.io import ReadReport, read_table
from core.schema import (
    SchemaReport,
    detect_roles,
    parse_plan,
    require_values,
    source_roles,
)
from core.spark import text

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

    from core.schema import ParsePlan, SourceRoles

_REMOTE = ("s3a://", "s3://", "abfss://", "abfs://", "hdfs://", "gs://", "wasbs://", "file:")
_CSV_SAMPLE_BYTES = 1 << 16


@dataclass(frozen=True)
class SparkLines:
    """The normalized lines as a Spark DataFrame (``NORMALIZED_SCHEMA``'s columns, dates as
    ``timestamp_ntz``), and what core reports about the reading and the mapping."""

    lines: DataFrame
    read: ReadReport
    schema: SchemaReport


def input_format(paths: Sequence[str]) -> str:
    """``parquet`` or ``csv``, from the paths' suffixes (one format for all)."""
    kinds = set()
    for path in paths:
        name = path.rstrip("/").lower()
        if name.endswith(".parquet") or name.endswith(".pq"):
            kinds.add("parquet")
        elif name.endswith((".csv", ".txt", ".csv.gz")):
            kinds.add("csv")
        elif os.path.isdir(path):
            kinds.add("parquet")  # a directory of Parquet parts, as Spark writes them
        else:
            raise InputFileError(
                f"--engine spark reads Parquet or CSV files; {path!r} is neither",
                "give .parquet or .csv paths (globs allowed), or a directory of Parquet parts",
            )
    if len(kinds) != 1:
        raise InputFileError(
            "--engine spark reads one format at a time; the paths mix Parquet and CSV",
            "give only Parquet paths or only CSV paths",
        )
    return kinds.pop()


def check_local(paths: Sequence[str]) -> None:
    """A local path or glob that matches nothing is an error; remote URLs pass through."""
    for path in paths:
        if path.startswith(_REMOTE):
            continue
        if not glob.glob(path):
            raise InputFileError(
                f"File not found: {path!r}.", hint="check the path and the file name (or glob)"
            )


def read_source(
    spark: SparkSession, paths: Sequence[str], *, decimal_comma: bool | None
) -> tuple[DataFrame, ReadReport]:
    """The source columns as Spark reads them, and the read report core would give."""
    fmt = input_format(paths)
    check_local(paths)
    if fmt == "parquet":
        frame = spark.read.parquet(*paths)
        report = ReadReport.binary(
            "parquet", compression=None, columns=frame.columns, notes=("read by Spark",)
        )
        return frame, report
    sample = _csv_sample(spark, paths)
    _, found = read_table(sample, filename="sample.csv")
    report = found
    if decimal_comma is not None:
        report = ReadReport(**{**found.__dict__, "decimal_comma": decimal_comma})
    frame = (
        spark.read.option("header", "true")
        .option("inferSchema", "false")
        .option("sep", found.delimiter or ",")
        .option("quote", '"')
        .option("escape", '"')
        .option("encoding", found.encoding or "utf-8")
        .csv(list(paths))
    )
    # The header as core cleaned it (stripped names, a BOM gone), in file order.
    frame = frame.toDF(*found.columns)
    return frame, report


def _csv_sample(spark: SparkSession, paths: Sequence[str]) -> bytes:
    """The first lines of the first CSV file: core's reader decides the dialect from them."""
    first = paths[0]
    if not first.startswith(_REMOTE):
        matches = sorted(glob.glob(first))
        with open(matches[0], "rb") as handle:
            head = handle.read(_CSV_SAMPLE_BYTES)
        return head[: head.rfind(b"\n") + 1] if b"\n" in head else head
    rows = spark.read.text(first).limit(200).collect()
    return "\n".join(r["value"] for r in rows).encode() + b"\n"


# --- source row numbers -------------------------------------------------------------------

_FILE, _BLOCK, _PART, _MONO = "__file", "__block", "__part", "__mono"


def numbered(frame: DataFrame) -> DataFrame:
    """``frame`` with ``source_row``: its 1-based position in file order (files by path).

    Spark packs file splits into partitions by size, not in file order, so the position is
    rebuilt from each line's file, split start and place in its partition: one pass counts
    the lines of each split (a few rows reach the driver), the offsets are their running
    sums in file order.
    """
    from pyspark.sql import functions as sf  # noqa: PLC0415

    tagged = frame.select(
        "*",
        sf.col("_metadata.file_path").alias(_FILE),
        sf.col("_metadata.file_block_start").alias(_BLOCK),
        sf.spark_partition_id().alias(_PART),
        sf.monotonically_increasing_id().alias(_MONO),
    )
    splits = (
        tagged.groupBy(_FILE, _BLOCK, _PART)
        .agg(sf.min(_MONO).alias("__first"), sf.count(sf.lit(1)).alias("__n"))
        .collect()
    )
    offsets, running = [], 0
    for row in sorted(splits, key=lambda r: (r[_FILE], r[_BLOCK])):
        offsets.append((row[_FILE], row[_BLOCK], row[_PART], row["__first"] - running))
        running += row["__n"]
    spark = frame.sparkSession
    table = spark.createDataFrame(
        offsets, schema=f"{_FILE} string, {_BLOCK} long, {_PART} int, __shift long"
    )
    joined = tagged.join(sf.broadcast(table), on=[_FILE, _BLOCK, _PART], how="inner")
    row = (sf.col(_MONO) - sf.col("__shift") + 1).alias(cc.ROW)
    return joined.select(*frame.columns, row)


# --- the statistics core's parse plan reads -------------------------------------------------


def _src(role: str) -> str:
    return f"__src_{role}"


def polars_schema(frame: DataFrame) -> dict[str, pl.DataType]:
    """The Polars dtypes of ``frame``'s columns (what core's decisions are made on)."""
    names = {
        "string": pl.String(),
        "bigint": pl.Int64(),
        "int": pl.Int32(),
        "smallint": pl.Int16(),
        "tinyint": pl.Int8(),
        "double": pl.Float64(),
        "float": pl.Float32(),
        "boolean": pl.Boolean(),
        "date": pl.Date(),
        "timestamp": pl.Datetime("us", "UTC"),
        "timestamp_ntz": pl.Datetime("us"),
        "binary": pl.Binary(),
    }
    out: dict[str, pl.DataType] = {}
    for field in frame.schema.fields:
        kind = field.dataType.simpleString()
        if kind.startswith("decimal"):
            out[field.name] = pl.Float64()  # read as a number, like any numeric role
        else:
            out[field.name] = names.get(kind, pl.Object())
    return out


def _scan_values(
    frame: DataFrame, sources: SourceRoles, *, decimal_comma: bool
) -> dict[str, Any]:
    """The source-pass statistics ``core.schema.parse_plan`` reads, computed by Spark."""
    from pyspark.sql import functions as sf  # noqa: PLC0415

    dtypes = sources.dtypes
    aggs: list[Column] = [
        sf.count(sf.lit(1)).alias("n_rows"),
        sf.sum(text.id_is_empty(sf.col(_src("customer")), dtypes["customer"]).cast("long")).alias(
            "empty_customer"
        ),
    ]
    for role in ("customer", *sources.parsed):
        nonempty = text.nonempty(sf.col(_src(role)), dtypes[role])
        aggs.append(sf.sum(nonempty.cast("long")).alias(f"n_{role}"))
    for role in sources.parsed:
        if role != "date" and dtypes[role].is_numeric():
            num = sf.col(_src(role)).cast("double")
            aggs.append(sf.sum((num.isNotNull() & ~text.finite(num)).cast("long")).alias(
                f"{role}_nonfinite"
            ))
    if dtypes["customer"] == pl.String:
        whole = r"^[+-]?[0-9]+[.,]0+$" if decimal_comma else r"^[+-]?[0-9]+\.0+$"
        floats = text.strip(sf.col(_src("customer"))).rlike(whole)
        aggs.append(sf.sum(floats.cast("long")).alias("customer_float_text"))
    values = frame.select(aggs).collect()[0].asDict()
    values = {k: (0 if v is None else v) for k, v in values.items()}
    if sources.date_lookup:
        values.update(_distinct(frame, "date", None))
    for role in sources.text_numbers:
        hard = text.nonempty(sf.col(_src(role)), dtypes[role]) & text.fast_number(
            sf.col(_src(role)).cast("string"), decimal_comma=decimal_comma
        ).isNull()
        values.update(_distinct(frame, role, hard))
    return values


def _distinct(frame: DataFrame, role: str, where: Column | None) -> dict[str, Any]:
    """``<role>_values`` and ``<role>_counts``: distinct non-null raw values and their lines."""
    from pyspark.sql import functions as sf  # noqa: PLC0415

    column = _src(role)
    picked = frame.where(sf.col(column).isNotNull() if where is None else where)
    # In order of first appearance, as Polars' unique(maintain_order=True) gives them (the
    # date report quotes the first values).
    rows = (
        picked.groupBy(column)
        .agg(sf.count(sf.lit(1)).alias("count"), sf.min(cc.ROW).alias("__first"))
        .orderBy("__first")
        .collect()
    )
    return {
        f"{role}_values": [r[column] for r in rows],
        f"{role}_counts": [{column: r[column], "count": r["count"]} for r in rows],
    }


# --- the normalized lines ---------------------------------------------------------------------


def normalized_lines(
    spark: SparkSession,
    paths: Sequence[str],
    *,
    overrides: dict[str, str] | None = None,
    date_format: str | None = None,
    decimal_comma: bool | None = None,
    max_failure_share: float = 0.01,
) -> SparkLines:
    """Read ``paths`` with Spark and normalize them as ``core.schema.normalize_views`` does."""
    frame, report = read_source(spark, paths, decimal_comma=decimal_comma)
    comma = report.decimal_comma
    mapping = detect_roles(list(frame.columns), overrides)
    schema = polars_schema(frame)
    sources = source_roles(pl.LazyFrame(schema=schema), mapping)
    renamed = numbered(frame).select(
        cc.ROW, *[frame[col].alias(_src(role)) for role, col in sources.roles.items()]
    )
    stats = require_values(_scan_values(renamed, sources, decimal_comma=comma), sources)
    plan = parse_plan(
        sources,
        stats,
        date_format=date_format,
        decimal_comma=comma,
        max_failure_share=max_failure_share,
    )
    lines = _canonical(spark, renamed, sources, plan, decimal_comma=comma)
    schema_report = SchemaReport.of(mapping, sources, stats, plan)
    return SparkLines(lines=lines, read=report, schema=schema_report)


def _lookup(
    spark: SparkSession, frame: DataFrame, role: str, plan: ParsePlan, kind: pl.DataType
) -> tuple[DataFrame, Column | None]:
    """``frame`` with ``__lookup_<role>``: core's parse of the line's raw value, by lookup."""
    from pyspark.sql import functions as sf  # noqa: PLC0415

    found = plan.outcome.get(role)
    if found is None or found.mapping_old is None or found.mapping_old.len() == 0:
        return frame, None
    name = f"__lookup_{role}"
    table = pl.DataFrame(
        {_src(role): found.mapping_old, name: found.mapping_new.cast(kind)}
    ).drop_nulls(_src(role))
    lookup = spark.createDataFrame(table.to_arrow())
    joined = frame.join(sf.broadcast(lookup), on=_src(role), how="left")
    return joined, sf.col(name)


def _canonical(
    spark: SparkSession,
    frame: DataFrame,
    sources: SourceRoles,
    plan: ParsePlan,
    *,
    decimal_comma: bool,
) -> DataFrame:
    """The normalized columns, in ``NORMALIZED_SCHEMA`` order."""
    from pyspark.sql import functions as sf  # noqa: PLC0415

    roles, dtypes = sources.roles, sources.dtypes
    parsed: dict[str, Column] = {}
    for role in sources.parsed:
        src = sf.col(_src(role))
        if role == "date":
            frame, looked = _lookup(spark, frame, role, plan, pl.Datetime("us"))
            parsed[role] = looked if looked is not None else text.native_date(src)
        elif dtypes[role].is_numeric():
            parsed[role] = text.finite_or_null(src.cast("double"))
        else:
            frame, looked = _lookup(spark, frame, role, plan, pl.Float64())
            fast = text.fast_number(src.cast("string"), decimal_comma=decimal_comma)
            parsed[role] = fast if looked is None else sf.coalesce(fast, looked)
    for role in ("customer", "invoice", "product"):
        if role in roles:
            parsed[role] = text.identifier(
                sf.col(_src(role)), dtypes[role], decimal_comma=decimal_comma
            )
    for role in ("description", "country"):
        if role in roles:
            parsed[role] = text.as_text(sf.col(_src(role)), dtypes[role])
    null_double = sf.lit(None).cast("double")
    quantity = parsed.get("quantity", null_double)
    price = parsed.get("price", null_double)
    amount = quantity * price if sources.has_qp else parsed["amount"]
    parse_error = sf.lit(None).cast("string")
    if plan.any_failure:
        flags = [
            sf.when(text.nonempty(sf.col(_src(r)), dtypes[r]) & parsed[r].isNull(), sf.lit(r))
            for r in sources.parsed
        ]
        joined = sf.concat_ws(",", *flags)
        parse_error = sf.when(sf.length(joined) > 0, joined)

    def optional(role: str) -> Column:
        return parsed.get(role, sf.lit(None).cast("string"))

    return frame.select(
        sf.col(cc.ROW).cast("long").alias(cc.ROW),
        parsed["customer"].alias(cc.CUSTOMER),
        parsed["date"].cast("timestamp_ntz").alias(cc.DATE),
        optional("invoice").alias(cc.INVOICE),
        optional("product").alias(cc.PRODUCT),
        optional("description").alias(cc.DESCRIPTION),
        optional("country").alias(cc.COUNTRY),
        quantity.cast("double").alias(cc.QUANTITY),
        price.cast("double").alias(cc.PRICE),
        amount.cast("double").alias(cc.AMOUNT),
        parse_error.alias(cc.PARSE_ERROR),
    )

