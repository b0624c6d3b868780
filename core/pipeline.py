"""The one-way data flow, wired: file -> mapped frame -> audit + clean lines -> feature table.

Each stage's result is keyed by the content of its inputs (the file's bytes, the column
mapping, the date format and every config), so the CLI, the app and several worker processes
sharing a :class:`core.cache.ResultCache` compute a given table once.

One engine (:func:`run_engine`) gives the feature table, the audit and every line's reason
in one streaming pass that holds no text: ``custseg features``, ``custseg segment`` and the
app all run it. The kept purchase lines and the returns, which the app's pages and the
segment profiles show, are read back from the source by those reasons on first use
(:class:`CustomerTable`), so the first Data page never builds them.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from core.cache import (
    ResultCache,
    fingerprint_bytes,
    fingerprint_file,
    get_or_compute,
    library_versions,
    make_key,
)
from core.cleaning import (
    DUPLICATE_KEY,
    REASON,
    SAMPLE_SIZE,
    SOURCE_FIELDS,
    Audit,
    CleaningConfig,
    CleanResult,
    audit_from,
    capped_columns,
    duplicate_positions,
    fold_key,
    non_product_categories,
    reason_totals,
    repeated_positions,
    settle_reasons,
    split_lines,
    split_queries,
    staged_reasons,
    thresholds_of,
    value_ranges,
)
from core.clustering.products import EngineLines, ProductLines
from core.columns import (
    AMOUNT,
    COUNTRY,
    CUSTOMER,
    DATE,
    DESCRIPTION,
    FEATURE_SCHEMA,
    NORMALIZED_SCHEMA,
    PRICE,
    PRODUCT,
    QUANTITY,
    ROW,
)
from core.errors import InputFileError
from core.features import (
    FeatureConfig,
    analysis_date_of,
    finish_features,
    line_filter,
    main_country,
    masked_aggregates,
    order_key,
)
from core.io import ReadReport, read_table
from core.money import LineAmounts, beyond_units, to_units
from core.rfm import sufficiency_warnings
from core.schema import EncoderLines, RoleMapping, SchemaReport, detect_roles, normalize_views


@dataclass(frozen=True)
class LoadedTransactions:
    """A transaction file read and mapped to the canonical columns (still lazy)."""

    read: ReadReport
    schema: SchemaReport
    fingerprint: str  # content of the file + mapping + date format: the data's identity
    # The normalized lines (exactly NORMALIZED_SCHEMA, source order), lazy.
    lines: pl.LazyFrame = field(compare=False, repr=False)
    # The same lines as the engine's encoding pass reads them (core.schema.EncoderLines).
    encoder: EncoderLines | None = field(default=None, compare=False, repr=False)

    @property
    def mapping(self) -> RoleMapping:
        return self.schema.mapping


@dataclass(frozen=True)
class CustomerTable:
    """The per-customer feature table, the cleaning audit and every line's outcome.

    The kept purchase lines and the returns are read back from the source by each line's
    reason (:func:`core.cleaning.split_lines`) the first time they are asked for, in each
    process: the engine holds no line, and neither does a cached table.
    """

    features: pl.DataFrame = field(compare=False, repr=False)
    audit: Audit
    analysis_date: dt.date | None
    read: ReadReport
    schema: SchemaReport
    key: str
    warnings: tuple[str, ...] = ()
    reasons: pl.Series | None = field(default=None, compare=False, repr=False)
    # The normalized lines the reasons belong to; not pickled (build_customer_table
    # attaches them again to a table read from the disk cache).
    source: pl.LazyFrame | None = field(default=None, compare=False, repr=False)
    # The product lines as the engine's pass coded them (build_customer_table's
    # product_lines); in this process only: a table read from the disk cache has none, and
    # its top products read the lines back (product_line_query).
    product_codes: ProductLines | None = field(default=None, compare=False, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_split", None)
        state["source"] = None
        state["product_codes"] = None
        return state

    def with_source(self, lines: pl.LazyFrame) -> CustomerTable:
        """This table, given the normalized lines its reasons belong to if it lacks them.

        Set in place (the same lines for the same key, whoever attaches them): a table read
        from the disk cache then keeps, in the memory cache, the lines it reads back once.
        """
        if self.source is None:
            object.__setattr__(self, "source", lines)
        return self

    @functools.cached_property
    def _split(self) -> tuple[pl.DataFrame, pl.DataFrame] | None:
        if self.source is None or self.reasons is None:
            return None
        return split_lines(self.source, self.reasons, self.audit)

    @property
    def purchases(self) -> pl.DataFrame | None:
        """The kept purchase lines (capped if set); None without the source lines."""
        return None if self._split is None else self._split[0]

    @property
    def returns(self) -> pl.DataFrame | None:
        """The cancellation lines; None without the source lines."""
        return None if self._split is None else self._split[1]

    @property
    def n_customers(self) -> int:
        return self.features.height

    @property
    def product_lines(self) -> pl.DataFrame | None:
        """Purchase lines plus cancellation lines (negative amounts), for product revenue.

        Summing amounts per product over these gives revenue net of returns, so an order that
        was bought and cancelled in full does not appear among a segment's best sellers.
        """
        if self._split is None:
            return None
        return pl.concat(self._split, how="vertical")

    def product_line_query(self) -> pl.LazyFrame | None:
        """:attr:`product_lines` as a lazy query: a caller that selects a few columns (the
        top products need four) reads back only those from the source. The lines already
        read back when some view asked for them in full."""
        split = self.__dict__.get("_split")
        if split is not None:
            return pl.concat(split, how="vertical").lazy()
        if self.source is None or self.reasons is None:
            return None
        purchases, returns = split_queries(self.source, self.reasons, self.audit)
        return pl.concat([purchases, returns], how="vertical").select(list(NORMALIZED_SCHEMA))

    @property
    def n_excluded(self) -> int:
        return int(self.features.get_column("excluded").sum())

    def summary(self) -> dict[str, Any]:
        """The audit JSON: reason counts under their names plus the headline figures."""
        audit = self.audit.to_dict()
        audit.pop("samples", None)
        return {
            **{stat.reason: stat.rows for stat in self.audit.reasons},
            "purchase_rows": self.audit.rows_kept,
            "customers": self.n_customers,
            "excluded": self.n_excluded,
            "analysis_date": None if self.analysis_date is None else self.analysis_date.isoformat(),
            "audit": audit,
            "mapping": self.schema.mapping.as_dict(),
            "date_format": {
                "kind": self.schema.date.kind,
                "format": self.schema.date.format,
                "ambiguous": self.schema.date.ambiguous,
                "reason": self.schema.date.reason,
            },
            "file": {
                "format": self.read.format,
                "encoding": self.read.encoding,
                "delimiter": self.read.delimiter,
                "decimal_comma": self.read.decimal_comma,
                "compression": self.read.compression,
            },
            "warnings": list(self.warnings),
        }

    def notes(self) -> list[str]:
        """Plain-language notes worth showing a user: choices made and warnings."""
        notes = [f"dates: {self.schema.date.reason}"]
        if self.read.encoding_note:
            notes.append(f"encoding: {self.read.encoding_note}")
        notes.extend(self.read.notes)
        notes.extend(self.schema.mapping.notes)
        notes.extend(self.schema.notes)
        notes.extend(f"warning: {w}" for w in self.warnings)
        return notes


def load_transactions(
    source: str | Path | bytes,
    *,
    filename: str | None = None,
    overrides: Mapping[str, str] | None = None,
    date_format: str | None = None,
    decimal_comma: bool | None = None,
) -> LoadedTransactions:
    """Read ``source`` (a path or uploaded bytes), detect column roles and normalize lazily.

    ``decimal_comma`` None means as detected from the file (``ReadReport.decimal_comma``).
    """
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        fingerprint = functools.partial(fingerprint_bytes, data)
    else:
        path = Path(source)
        if not path.is_file():
            raise InputFileError(
                f"File not found: {str(path)!r}.", hint="check the path and the file name"
            )
        fingerprint = functools.partial(fingerprint_file, path)
    # The content's hash on a thread (hashlib lets go of the GIL) while Polars reads the file
    # and makes the source pass: a core that is otherwise idle while the file is decoded.
    # Then the library versions every key carries, read once per process (make_key).
    with ThreadPoolExecutor(max_workers=1) as pool:
        content = pool.submit(fingerprint)
        pool.submit(library_versions)
        frame, read = read_table(source, filename=filename)
        mapping = detect_roles(read.columns, overrides)
        comma = read.decimal_comma if decimal_comma is None else decimal_comma
        views = normalize_views(
            frame,
            mapping,
            date_format=date_format,
            decimal_comma=comma,
            read_all_columns=read.format == "csv",
        )
        identity = make_key(content.result(), mapping.as_dict(), date_format, comma)
    return LoadedTransactions(
        read=read,
        schema=views.report,
        fingerprint=identity,
        lines=views.lines,
        encoder=views.encoder,
    )


@dataclass(frozen=True)
class EngineResult:
    """What the engine's one pass gives: the feature table, the audit, every line's reason."""

    features: pl.DataFrame = field(compare=False, repr=False)
    audit: Audit
    # Each line's reason (core.cleaning.REASON_CODES; null: kept), in frame order: what
    # core.cleaning.split_lines reads the kept lines and the returns back by.
    reasons: pl.Series = field(compare=False, repr=False)
    # The purchase and cancellation lines as codes, for the top products (run_engine's
    # product_lines; else None).
    product_lines: EngineLines | None = field(default=None, compare=False, repr=False)


def run_engine(
    frame: pl.LazyFrame | pl.DataFrame,
    *,
    cleaning: CleaningConfig = CleaningConfig(),
    features: FeatureConfig = FeatureConfig(),
    engine: str = "streaming",
    stripped: bool = False,
    encoder: EncoderLines | None = None,
    product_lines: bool = False,
) -> EngineResult:
    """The one cleaning-and-features engine: feature table, audit and reasons of normalized lines.

    The CLI, the app and :func:`clean` all run it; no line is held as text.

    1. One streaming pass over the lines (:func:`core.cleaning.staged_reasons`), each line
       encoded in fixed-width values, no text held: its reason as far as the line alone
       tells (one byte); the hash of its source fields where the duplicate rule can still
       apply; its day and amount (whole millionths, :func:`core.money.to_units`); its
       customer (whole-number ids as offsets from the smallest, else categorical codes)
       in 4 bytes, product and country (categorical codes of the source text) in 2 (4 when
       there are more than 65,534 distinct values); its order
       (:func:`core.features.order_key`). About 36 bytes a line.
    2. In memory: product and country codes re-pointed at their normalized distinct values
       (stripped, blanks null), which also decide the non-product rule; duplicates from the
       sorted hashes (:func:`core.cleaning.settle_reasons`); capping thresholds.
    3. One ``collect_all`` of the reason totals, the samples' positions, the customer
       ``group_by`` with masked aggregates (:func:`core.features.masked_aggregates`, which
       also gives the audit's customer counts) and the customer x product pair codes
       (distinct products, sorted); the sample lines read back from the source; only if
       some customer bought in several countries, their lines' countries counted; the codes
       turned back into ids and country names.

    ``bench/bench_features.py`` measures it (figures in ``bench/README.md``).

    Parameters
    ----------
    frame:
        Normalized lines (``core.schema.normalize``) in source order, ``source_row``
        increasing: the samples are each reason's first lines in frame order.
    cleaning, features:
        Cleaning rules and feature options.
    engine:
        Polars engine; the default streams.
    stripped:
        The text columns are stripped with blanks made null, as ``core.schema.normalize``
        writes them: the rules then skip stripping every value (same outcome).
    encoder:
        The same lines as ``core.schema.normalize_views`` gives them for the encoding pass
        (integer customer keys, raw product and country text); default: ``frame`` itself.
    product_lines:
        Also code each line's description in the pass and keep the purchase and
        cancellation lines' codes (:class:`core.clustering.products.EngineLines`), from
        which the top products need no line read back.
    """
    plan = _encoded_plan(
        frame.lazy(),
        cleaning=cleaning,
        features=features,
        engine=engine,
        stripped=stripped,
        encoder=EncoderLines(frame=frame.lazy()) if encoder is None else encoder,
        product_lines=product_lines,
    )
    table, totals, samples, customers, thresholds, reasons, coded = plan
    audit = audit_from(
        cleaning,
        totals.row(0, named=True),
        customers_in=int(customers.item(0, "customers_in")),
        customers_out=int(customers.item(0, "customers_out")),
        samples=[samples],
        thresholds=thresholds,
    )
    return EngineResult(features=table, audit=audit, reasons=reasons, product_lines=coded)


def stream_customer_table(
    frame: pl.LazyFrame | pl.DataFrame,
    *,
    cleaning: CleaningConfig = CleaningConfig(),
    features: FeatureConfig = FeatureConfig(),
    stripped: bool = False,
) -> tuple[pl.DataFrame, Audit]:
    """The feature table and the cleaning audit of normalized lines (:func:`run_engine`)."""
    result = run_engine(frame, cleaning=cleaning, features=features, stripped=stripped)
    return result.features, result.audit


def clean(
    lf: pl.LazyFrame | pl.DataFrame,
    config: CleaningConfig = CleaningConfig(),
    *,
    engine: str = "streaming",
) -> CleanResult:
    """The kept purchase lines (capped if set), the returns and the audit of normalized lines.

    :func:`run_engine` classifies the lines; :func:`core.cleaning.split_lines` reads them
    back by their reasons.
    """
    frame = lf.lazy()
    result = run_engine(frame, cleaning=config, engine=engine)
    purchases, returns = split_lines(frame, result.reasons, result.audit, engine=engine)
    return CleanResult(purchases=purchases, returns=returns, audit=result.audit)


def classify(
    lf: pl.LazyFrame | pl.DataFrame, config: CleaningConfig = CleaningConfig()
) -> pl.LazyFrame:
    """The normalized lines with their ``reason`` (text; null = kept purchase line)."""
    frame = lf.lazy()
    reasons = run_engine(frame, cleaning=config).reasons.cast(pl.String)
    return pl.concat([frame, reasons.to_frame(REASON).lazy()], how="horizontal")


# Each plan returns the feature table, the reason totals, the samples, one row with
# ``customers_in`` and ``customers_out``, the capping thresholds (None: no capping), every
# line's reason (:data:`core.cleaning.REASON_CODES`, in frame order) and the product lines'
# codes (None unless asked for).
_Thresholds = dict[str, float | None] | None
_Frame = TypeVar("_Frame", pl.LazyFrame, pl.DataFrame)
_Plan = tuple[
    pl.DataFrame,
    pl.DataFrame,
    pl.DataFrame,
    pl.DataFrame,
    _Thresholds,
    pl.Series,
    EngineLines | None,
]


def _capped_lines(
    lines: _Frame, cleaning: CleaningConfig, thresholds: Mapping[str, float | None] | None
) -> _Frame:
    if thresholds is None:
        return lines
    capped, _ = capped_columns(cleaning.cap_columns, thresholds)
    return lines.with_columns(
        pl.when(pl.col(REASON).is_null()).then(capped).otherwise(pl.col(AMOUNT)).alias(AMOUNT)
    )


def _masks(features: FeatureConfig) -> tuple[pl.Expr, pl.Expr]:
    """Purchase and return lines, for lines already known to have a customer. Every kept or
    cancelled line has a date (the unparseable rule, always on, comes first): without a
    window the purchase mask is the kept lines' (:func:`_per_customer` counts them once)."""
    keep = line_filter(features, customer=False, dated=True)
    reason = pl.col(REASON)
    if keep.meta.eq(pl.lit(True)):
        return reason.is_null(), reason == "cancellation"
    return reason.is_null() & keep, (reason == "cancellation") & keep


def _encoded_plan(
    lf: pl.LazyFrame,
    *,
    cleaning: CleaningConfig,
    features: FeatureConfig,
    engine: str,
    stripped: bool,
    encoder: EncoderLines,
    product_lines: bool = False,
) -> _Plan:
    """One streaming pass encodes every line in fixed-width codes; the rest runs on them.

    See :func:`stream_customer_table`. ``encoder``: the lines the encoding pass reads
    (``core.schema.normalize_views``); ``lf`` gives the sample lines.
    """
    coding = _Coding.of(cleaning, encoder, descriptions=product_lines)  # the columns' names
    # The codes of normalized text that join the duplicate key in place of the text's hash:
    # the raw text columns' and a coded description's. With numbered lines an uncoded
    # description joins it only for the few lines equal on every other field, read back
    # afterwards: stripping and hashing it on every line was 40% of the pass's time on the
    # UCI file.
    folded = tuple(c for c in coding.categories if c in encoder.raw_text or c == DESCRIPTION)
    later = (DESCRIPTION,) if encoder.rows_numbered and DESCRIPTION not in folded else ()
    if DESCRIPTION in encoder.raw_text and DESCRIPTION not in (*folded, *later):
        raise AssertionError("a raw description must be coded or read back (numbered lines)")
    unhashed = (*encoder.raw_text, *folded, *later)
    coding, lines, values = _encode_narrow_first(
        encoder, cleaning, unhashed, descriptions=product_lines, stripped=stripped, engine=engine
    )
    lines, amounts = _line_amounts(lines, encoder, engine=engine)
    lines = _settle(lines, values, lf, cleaning, folded=folded, later=later, engine=engine)
    reasons = lines.get_column(REASON)
    thresholds = thresholds_of(lines, cleaning)
    # What the totals and the samples read (shared columns, not copies).
    settled = lines.select(
        REASON,
        amounts.column,
        *([QUANTITY, PRICE] if thresholds else []),
        *([] if encoder.rows_numbered else [ROW]),
    )
    lines = _customer_lines(lines, values, cleaning, thresholds, encoder.keyed)
    coded = None
    if product_lines:
        coded = _engine_lines(lines, values, coding, encoder.keyed)
        lines = lines.drop(DESCRIPTION)  # its 4 bytes a line are not needed further
        if amounts.units is not None:
            lines = lines.drop(AMOUNT)  # the sums read the units
    purchase, returned = _masks(features)
    width = _pair_width(lines, values[PRODUCT]) if coding.packed else _HALF
    # The independent queries in one call, which runs them side by side.
    queries = [
        reason_totals(settled.lazy(), cleaning, thresholds, amounts=amounts),
        _first_positions(settled.select(REASON, *([] if encoder.rows_numbered else [ROW]))),
        _per_customer(lines, purchase, returned, packed=coding.packed, amounts=amounts),
        *([_purchase_pairs(lines, purchase, width)] if coding.packed else []),
    ]
    del settled
    totals, firsts, per_customer, *pair_codes = pl.collect_all(queries)
    samples, customers_row, table = _customers_and_samples(
        lf,
        firsts,
        per_customer,
        lines,
        features=features,
        purchase=purchase,
        pairs=pair_codes.pop().to_series() if pair_codes else None,
        width=width,
        values=values,
        coding=coding,
        encoder=encoder,
        engine=engine,
    )
    del lines
    return table, totals, samples, customers_row, thresholds, reasons, coded


def _customers_and_samples(
    lf: pl.LazyFrame,
    firsts: pl.DataFrame,
    per_customer: pl.DataFrame,
    lines: pl.DataFrame,
    *,
    features: FeatureConfig,
    purchase: pl.Expr,
    pairs: pl.Series | None,
    width: int,
    values: dict[str, pl.Series],
    coding: _Coding,
    encoder: EncoderLines,
    engine: str,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """After the ``collect_all``: the sample lines read back, the audit's customer counts and
    the feature table.

    The distinct products (:func:`_distinct_products` of the purchase lines' ``pairs``, a sort
    on one thread) are counted on threads beside the rest, which does not need them: one
    range of customer codes per thread of Polars' pool (:func:`_customer_ranges`).
    """
    parts = [] if pairs is None else _customer_ranges(pairs, width, pl.thread_pool_size())
    del pairs
    with ThreadPoolExecutor(max_workers=max(1, len(parts))) as pool:
        counted = [pool.submit(_distinct_products, part, width) for part in parts]
        del parts
        samples = _read_back(
            lf, firsts, engine=engine, numbered=encoder.rows_numbered, n_lines=lines.height
        )
        customers_row = per_customer.select(
            pl.len().alias("customers_in"), (pl.col("_kept") > 0).sum().alias("customers_out")
        )
        bought = per_customer.filter(pl.col("_purchase_lines") > 0)
        main = _main_countries(bought, lines.lazy(), purchase, values[COUNTRY])
        n_products = pl.concat([part.result() for part in counted]) if counted else None
    table = _feature_table(
        bought,
        main=main,
        n_products=n_products,
        values=values,
        coding=coding,
        features=features,
        keyed=encoder.keyed,
    )
    return samples, customers_row, table


def _feature_table(
    bought: pl.DataFrame,
    *,
    main: pl.DataFrame | None,
    n_products: pl.DataFrame | None,
    values: dict[str, pl.Series],
    coding: _Coding,
    features: FeatureConfig,
    keyed: bool,
) -> pl.DataFrame:
    """The feature table of the customers who bought (the group-by's rows), with their main
    country's code (:func:`_main_countries`) and distinct products (:func:`_distinct_products`)
    joined, the codes turned back into ids and country names: one query on a few thousand
    rows, which the in-memory engine runs at a fraction of the streaming engine's start-up."""
    rows = bought.lazy()
    code = pl.col(CUSTOMER)
    if main is not None:
        rows = rows.join(main.lazy(), on=CUSTOMER, how="left", suffix="_main").with_columns(
            pl.coalesce(f"{COUNTRY}_main", COUNTRY).alias(COUNTRY)
        )
    if n_products is not None:
        counts = n_products.lazy().with_columns(code.cast(bought.schema[CUSTOMER]))
        rows = rows.join(counts, on=CUSTOMER, how="left")
    if keyed:
        ids = (code.cast(pl.Int64) + coding.low).cast(pl.String)
    else:
        ids = pl.lit(values[CUSTOMER]).gather(code)
    rows = rows.with_columns(
        ids.alias(CUSTOMER), pl.lit(values[COUNTRY]).gather(pl.col(COUNTRY)).alias(COUNTRY)
    )
    return finish_features(rows, features).collect(engine="in-memory")


def _encode(
    encoder: EncoderLines,
    coding: _Coding,
    cleaning: CleaningConfig,
    unhashed: tuple[str, ...],
    *,
    stripped: bool,
    engine: str,
) -> tuple[pl.DataFrame, dict[str, pl.Series]]:
    """The encoding pass: every line's codes (:class:`_Coding`), its reason as far as the line
    alone tells, and the normalized distinct values of each encoded text column by code.
    ``unhashed``: the source fields the duplicate key gets later, not from this pass."""
    raw_text = encoder.raw_text
    staged = staged_reasons(
        encoder.frame,
        cleaning,
        stripped=stripped,
        customer_key=encoder.keyed,
        key_fields=tuple(f for f in SOURCE_FIELDS if f not in unhashed),
    ).select(coding.columns)
    lines = staged.collect(engine=engine)  # type: ignore[arg-type]
    # Raw text columns: their codes become those of the normalized distinct values.
    values: dict[str, pl.Series] = {}
    for column, cats in coding.categories.items():
        codes, values[column] = _normalized_codes(
            lines.get_column(column),
            cats.to_series(),
            (lambda v, c=column: encoder.normalize_values(c, v)) if column in raw_text else None,
        )
        lines = lines.with_columns(codes.alias(column))
    return lines, values


_UNITS = "_amount_units"
_BEYOND = "_amount_beyond"


def _amount_columns(cleaning: CleaningConfig, *, floats: bool) -> list[pl.Expr]:
    """How the encoding pass writes each line's amount: as whole millionths
    (:func:`core.money.to_units`) with a flag for an amount beyond their range, or, with
    capping (quantiles and caps of the float amounts), as the float. ``floats``: the float
    too (the product lines' amounts, :func:`_engine_lines`)."""
    amount = pl.col(AMOUNT)
    if cleaning.cap_quantile is not None:
        return [amount]
    units = [to_units(amount).alias(_UNITS), beyond_units(amount).is_not_null().alias(_BEYOND)]
    return [*units, amount] if floats else units


def _line_amounts(
    lines: pl.DataFrame, encoder: EncoderLines, *, engine: str
) -> tuple[pl.DataFrame, LineAmounts]:
    """The encoded lines with the amounts their money sums read (:class:`LineAmounts`).

    Whole millionths, unless some amount lies beyond their range or is not finite: then the
    floats, which each sum converts (:func:`core.money.exact_sum`: the same figures), read
    again from the source unless the pass kept them for the product lines.
    """
    if _UNITS not in lines.columns:
        return lines, LineAmounts()
    beyond = bool(lines.get_column(_BEYOND).any())
    lines = lines.drop(_BEYOND)
    if not beyond:
        return lines, LineAmounts.of_units(lines.get_column(_UNITS))
    if AMOUNT in lines.columns:
        return lines.drop(_UNITS), LineAmounts()
    amount = encoder.frame.select(AMOUNT).collect(engine=engine)  # type: ignore[arg-type]
    if amount.height != lines.height:
        raise AssertionError("the encoding pass must keep every line")
    return lines.drop(_UNITS).with_columns(amount.to_series()), LineAmounts()


def _settle(
    lines: pl.DataFrame,
    values: dict[str, pl.Series],
    lf: pl.LazyFrame,
    cleaning: CleaningConfig,
    *,
    folded: tuple[str, ...],
    later: tuple[str, ...],
    engine: str,
) -> pl.DataFrame:
    """The lines with every reason settled: the duplicates from the sorted keys and the
    non-product rule on the distinct stock codes (:func:`core.cleaning.settle_reasons`).
    ``folded``: the coded columns the key takes as codes; ``later``: those read back."""
    # The rules' per-line parts in one pass over the lines, streamed (on both cores, in
    # batches that reuse their memory; in memory, each step's column over every line would
    # take fresh pages): the duplicate key with the codes folded in, and each line's
    # non-product outcome, the rule decided on the distinct stock codes and looked up by code.
    per_line: list[pl.Expr] = []
    if cleaning.duplicate and folded:
        # The key so far covers the other source fields: fold in these codes.
        per_line.append(fold_key(pl.col(DUPLICATE_KEY), [pl.col(c) for c in folded]))
    if cleaning.non_product:
        flagged = non_product_categories(values[PRODUCT], cleaning.non_product_codes).arg_true()
        codes = flagged.cast(lines.schema[PRODUCT]).implode()
        per_line.append(pl.col(PRODUCT).is_in(codes).alias(_NON_PRODUCT))
    ruled = lines.lazy().select(per_line).collect(engine="streaming") if per_line else lines
    non_product = ruled.get_column(_NON_PRODUCT) if cleaning.non_product else None
    duplicates = None
    if cleaning.duplicate:
        keys = (ruled if folded else lines).get_column(DUPLICATE_KEY)
        del ruled
        lines = lines.drop(DUPLICATE_KEY)  # the settled lines need no key (8 bytes a line)
        if later:
            duplicates = _copies_told_apart(keys, lf, later, engine=engine)
        else:
            duplicates = duplicate_positions(keys)
        del keys
    return settle_reasons(lines, non_product, duplicates)


_NON_PRODUCT = "_non_product"


def _customer_lines(
    lines: pl.DataFrame,
    values: dict[str, pl.Series],
    cleaning: CleaningConfig,
    thresholds: _Thresholds,
    keyed: bool,
) -> pl.DataFrame:
    """The settled lines as the customer aggregates read them: amounts capped, blank customer
    ids without a code."""
    # Eager, so that the unchanged columns are shared rather than copied (a lazy query over
    # the frame rebuilt all of them, raising the peak memory).
    lines = _capped_lines(lines, cleaning, thresholds)
    if not keyed:
        code = pl.col(CUSTOMER)
        # Blank ids are missing customers too (is_missing_customer): their lines lose the code.
        blank = values[CUSTOMER].str.strip_chars().str.len_bytes().eq(0).arg_true()
        lines = lines.with_columns(
            pl.when(code.is_in(blank.cast(pl.UInt32).implode()))
            .then(None)
            .otherwise(code)
            .alias(CUSTOMER)
        )
    return lines


def _engine_lines(
    lines: pl.DataFrame, values: dict[str, pl.Series], coding: _Coding, keyed: bool
) -> EngineLines:
    """The purchase lines (amounts capped) then the cancellation lines of
    :func:`_customer_lines`' lines, as :class:`~core.clustering.products.EngineLines`: the
    lines ``CustomerTable.product_lines`` reads back, in the same order, as codes."""
    columns = [CUSTOMER, PRODUCT, DESCRIPTION, AMOUNT]
    reason = pl.col(REASON)
    usable = pl.col(PRODUCT).is_not_null() & pl.col(AMOUNT).is_finite()
    coded = pl.concat(
        [
            lines.lazy().filter(reason.is_null() & usable).select(columns),
            lines.lazy().filter((reason == "cancellation") & usable).select(columns),
        ]
    ).collect()
    return EngineLines(
        lines=coded,
        customer_low=coding.low if keyed else None,
        customer_values=None if keyed else values[CUSTOMER],
        products=values[PRODUCT],
        descriptions=values[DESCRIPTION],
    )


def _per_customer(
    lines: pl.DataFrame,
    purchase: pl.Expr,
    returned: pl.Expr,
    *,
    packed: bool,
    amounts: LineAmounts,
) -> pl.LazyFrame:
    """One row per customer: the masked aggregates and ``_kept``, the customer's lines kept
    (the audit's customers out). Lines without a customer (null code) form one group, dropped.
    With ``packed`` customer codes, the distinct products come from :func:`_purchase_pairs`."""
    aggregates = masked_aggregates(purchase, returned, products=not packed, amounts=amounts)
    kept = pl.col(REASON).is_null()
    groups = lines.lazy().group_by(CUSTOMER)
    if purchase.meta.eq(kept):  # no window (_masks): _purchase_lines counts the kept lines
        rows = groups.agg(*aggregates).with_columns(pl.col("_purchase_lines").alias("_kept"))
    else:
        rows = groups.agg(kept.sum().alias("_kept"), *aggregates)
    return rows.drop_nulls(CUSTOMER)


def _purchase_pairs(lines: pl.DataFrame, purchase: pl.Expr, width: int) -> pl.LazyFrame:
    """The customer x product pair of each purchase line as one code, ``customer * width +
    product`` (:func:`_pair_width`), for customer codes that fit 32 bits: counted by
    :func:`_distinct_products` (a distinct count per customer in the group-by is slower and
    takes more memory)."""
    dtype = pl.UInt32 if width < _HALF else pl.UInt64
    pair = pl.col(CUSTOMER).cast(dtype) * width + pl.col(PRODUCT).cast(dtype)
    return lines.lazy().filter(purchase).select(pair.alias("_pair"))


def _pair_width(lines: pl.DataFrame, products: pl.Series) -> int:
    """How many product codes a customer's pair codes span: the number of products when
    every pair code then fits 4 bytes (half the bytes to sort), else ``2**32``."""
    width = max(products.len(), 1)
    top = lines.get_column(CUSTOMER).max()
    customers = 0 if top is None else int(top) + 1  # type: ignore[arg-type]
    return width if customers * width <= _HALF else _HALF


_HALF = 1 << 32


@dataclass(frozen=True)
class _Coding:
    """How the encoding pass writes each line: the columns, and the codes' categories."""

    columns: list[pl.Expr]
    categories: dict[str, pl.Categories]
    anchors: list[pl.Series]
    low: int  # customer code = id - low (integer ids), or the categorical code (text ids)
    packed: bool  # customer codes fit 32 bits

    @staticmethod
    def of(
        cleaning: CleaningConfig, encoder: EncoderLines, *, descriptions: bool, narrow: bool = True
    ) -> _Coding:
        # Fresh categories per call: the global ones would keep every id ever seen. A
        # Categories object is only a weak reference (the code <-> id mapping lives while some
        # dtype uses it): the empty anchor columns hold them until the codes become text.
        encode = (PRODUCT, COUNTRY) if encoder.keyed else (CUSTOMER, PRODUCT, COUNTRY)
        if descriptions:
            encode += (DESCRIPTION,)  # normalized over its distinct values if raw text
        categories = {
            c: pl.Categories.random(physical=_code_type(c, narrow=narrow)) for c in encode
        }
        anchors = [pl.Series(c, [], dtype=pl.Categorical(k)) for c, k in categories.items()]
        encoded = [
            pl.col(c).cast(pl.Categorical(k)).to_physical().alias(c) for c, k in categories.items()
        ]
        # The order carries the time of day (order_key), so the date alone (4 bytes) serves
        # the rest.
        amounts = _amount_columns(cleaning, floats=descriptions)
        columns = [pl.col(REASON), pl.col(DATE).dt.date(), *amounts]
        columns += [*encoded, order_key()]
        low, packed = 0, True
        if encoder.keyed:
            # Integer ids as 4-byte offsets from the smallest when they span fewer than 2**32
            # values (almost always).
            first, last = encoder.low, encoder.high
            packed = first is None or last is None or last - first < _HALF
            low = (first or 0) if packed else 0
            key = pl.col(CUSTOMER)
            # Packed, every key - low lies in [0, 2**32): the wrapping cast gives the same
            # codes without the checked one's range test of every line.
            columns.append((key - low).cast(pl.UInt32, wrap_numerical=True) if packed else key)
        if cleaning.cap_quantile is not None:
            columns += [pl.col(QUANTITY), pl.col(PRICE)]
        if cleaning.duplicate:
            columns.append(pl.col(DUPLICATE_KEY))
        if not encoder.rows_numbered:
            columns.append(pl.col(ROW))  # the samples are each reason's lowest source rows
        return _Coding(columns, categories, anchors, low, packed)

    def full(self) -> bool:
        """Some 2-byte codes ran out (the pass stopped with a ComputeError)."""
        return any(
            k.physical() == pl.UInt16 and k.to_series().len() >= _NARROW_CODES
            for k in self.categories.values()
        )


# Product, country and description codes in 2 bytes a line when their distinct source values
# number fewer than this (catalogues mostly do; more make the pass run again with 4).
_NARROW_CODES = (1 << 16) - 1


def _code_type(column: str, *, narrow: bool) -> pl.DataType:
    return pl.UInt16() if narrow and column != CUSTOMER else pl.UInt32()


def _encode_narrow_first(
    encoder: EncoderLines,
    cleaning: CleaningConfig,
    unhashed: tuple[str, ...],
    *,
    descriptions: bool,
    stripped: bool,
    engine: str,
) -> tuple[_Coding, pl.DataFrame, dict[str, pl.Series]]:
    """:func:`_encode` with 2-byte codes of the product, country and description (fewer
    bytes for a fresh process to fault in); if one has more distinct source values than 2
    bytes number, the pass runs again with 4-byte codes."""
    coding = _Coding.of(cleaning, encoder, descriptions=descriptions)
    try:
        lines, values = _encode(
            encoder, coding, cleaning, unhashed, stripped=stripped, engine=engine
        )
    except pl.exceptions.ComputeError:
        if not coding.full():
            raise
        coding = _Coding.of(cleaning, encoder, descriptions=descriptions, narrow=False)
        lines, values = _encode(
            encoder, coding, cleaning, unhashed, stripped=stripped, engine=engine
        )
    return coding, lines, values


def _copies_told_apart(
    keys: pl.Series, lf: pl.LazyFrame, later: tuple[str, ...], *, engine: str
) -> pl.Series:
    """Positions of the copies: lines equal on all other fields, told apart by ``later``.

    ``keys`` covers every source field but ``later``, whose text is read back from ``lf``
    (``source_row`` = position + 1) for the lines whose key repeats.
    """
    candidates = repeated_positions(keys)
    rows = (candidates.cast(pl.Int64) + 1).implode()
    texts = lf.filter(pl.col(ROW).is_in(rows)).select(later)
    texts = texts.collect(engine=engine)  # type: ignore[arg-type]
    if texts.height != candidates.len():
        raise AssertionError("source_row must number the lines from 1")
    full = texts.with_columns(keys.gather(candidates)).select(
        fold_key(pl.col(DUPLICATE_KEY), [pl.col(c) for c in later], start=1)
    )
    return candidates.filter(~full.to_series().is_first_distinct())


def _main_countries(
    bought: pl.DataFrame, lines: pl.LazyFrame, purchase: pl.Expr, countries: pl.Series
) -> pl.DataFrame | None:
    """The main country's code of the customers whose purchase lines name several countries
    (None: no such customer).

    ``country`` and ``_last_country`` (the smallest and largest code of a customer's purchase
    lines) differ only for customers whose lines name several countries: only they need
    :func:`main_country`, over their lines' countries as alphabetical ranks (ties go to the
    alphabetically first), the rank chosen turned back into its code (``countries``: the
    names by code).
    """
    several = bought.filter(pl.col(COUNTRY) != pl.col("_last_country")).get_column(CUSTOMER)
    if several.len() == 0:
        return None
    rank = countries.rank("ordinal").cast(pl.UInt32) - 1
    code_of_rank = rank.arg_sort().cast(bought.schema[COUNTRY])
    their_lines = lines.filter(pl.col(CUSTOMER).is_in(several.implode()) & purchase)
    their_lines = their_lines.with_columns(pl.lit(rank).gather(pl.col(COUNTRY)).alias(COUNTRY))
    main = main_country(their_lines).with_columns(
        pl.lit(code_of_rank).gather(pl.col(COUNTRY)).alias(COUNTRY)
    )
    return main.collect()


def _normalized_codes(
    codes: pl.Series, values: pl.Series, normalize: Callable[[pl.Series], pl.Series] | None
) -> tuple[pl.Series, pl.Series]:
    """Per-line codes of the normalized values, and the normalized distinct values by code.

    ``codes`` index ``values`` (a column's categorical codes and categories); ``normalize``
    (None: the values are normalized already) maps the distinct values to what the
    normalized frame holds, which may merge some (``" A"`` and ``"A"``) or make them null.
    """
    if normalize is None:
        return codes, values
    normalized = normalize(values)
    if normalized.null_count() == 0 and bool((normalized == values).all()):
        return codes, values
    distinct = normalized.drop_nulls().unique(maintain_order=True)
    lookup = distinct.to_frame("v").with_row_index("code")
    remap = (
        normalized.to_frame("v")
        .join(lookup, on="v", how="left", maintain_order="left")
        .get_column("code")
    )
    return remap.gather(codes).cast(codes.dtype).alias(codes.name), distinct


def _distinct_products(pairs: pl.Series, width: int) -> pl.DataFrame:
    """``customer_id`` (its code) and ``n_products`` from the pair codes of the purchase lines.

    A pair code is ``customer code * width + product code`` (:func:`_purchase_pairs`).

    The distinct pairs of a column of 4- or 8-byte codes replace a distinct count per
    customer inside the customer group-by, which kept a hash set per customer: a large share
    of the peak memory on many lines. Sorted, the distinct pairs are the first of each run,
    and they come grouped by customer (the quotient by ``width``): counting them is a
    run-length encoding.
    """
    ordered = pairs.drop_nulls().sort(multithreaded=False)  # see repeated_positions
    n = ordered.len()
    if n == 0:
        return pl.DataFrame(schema={CUSTOMER: pl.UInt32, "n_products": pl.Int64})
    new_pair = pl.concat([pl.Series([True]), ordered.slice(1) != ordered.slice(0, n - 1)])
    owners = (ordered.filter(new_pair) // width).cast(pl.UInt32)
    del ordered, new_pair
    runs = owners.rle().struct.unnest()
    return runs.select(
        pl.col("value").alias(CUSTOMER), pl.col("len").cast(pl.Int64).alias("n_products")
    )


def _customer_ranges(pairs: pl.Series, width: int, n: int) -> list[pl.Series]:
    """The pair codes (``customer code * width + product code``, :func:`_purchase_pairs`) in
    at most ``n`` parts by ranges of customer codes, in order: each customer's pairs in one
    part, so that counting the parts apart gives the same counts."""
    top = pairs.max()
    if n < 2 or top is None:
        return [pairs]
    customers = int(top) // width + 1  # codes 0 .. customers - 1
    # The smallest pair code of each part but the first (within the codes' dtype).
    bounds = [customers * part // n * width for part in range(1, n)]
    return [part for part in value_ranges(pairs, bounds) if part.len()] or [pairs]


_POSITION = "_position"


def _first_positions(codes: pl.DataFrame) -> pl.LazyFrame:
    """Positions of each reason's first :data:`~core.cleaning.SAMPLE_SIZE` lines.

    First in frame order, or by ``source_row`` when ``codes`` has it.
    """
    lines = codes.lazy().with_row_index(_POSITION).filter(pl.col(REASON).is_not_null())
    if ROW in codes.columns:
        lines = lines.sort(ROW, maintain_order=True)
    return lines.group_by(REASON, maintain_order=True).head(SAMPLE_SIZE).select(REASON, _POSITION)


def _read_back(
    lf: pl.LazyFrame,
    firsts: pl.DataFrame,
    *,
    engine: str,
    numbered: bool = False,
    n_lines: int = 0,
) -> pl.DataFrame:
    """The lines at ``firsts`` positions (:func:`_first_positions`), with their reason.

    Read back from the source: the start of it up to the last of them, normalized; or, with
    ``numbered`` (``source_row`` is the position plus one, as ``core.schema.normalize``
    numbers lines) and the last of them beyond a sixteenth of the ``n_lines``, the lines from
    the first of them to the last filtered on ``source_row`` before normalizing: normalizing
    the head costs more the deeper the last sample lies, the filter costs a pass over those
    lines' ``source_row``, so the head wins when the samples lie early. (Taking them with
    ``head`` queries beside the codes in the classifying pass made the streaming engine
    buffer lines for them, raising the peak memory.)
    """
    if firsts.height == 0:
        return pl.DataFrame(schema={REASON: pl.String, **NORMALIZED_SCHEMA})
    wanted = firsts.get_column(_POSITION)
    last = int(wanted.max())  # type: ignore[arg-type]
    if numbered and last + 1 > n_lines // 16:
        rows = (wanted.cast(pl.Int64) + 1).implode()
        first = int(wanted.min())  # type: ignore[arg-type]
        found = (
            # The slice first: the filter then reads the source_row of those lines only.
            lf.slice(first, last + 1 - first)
            .filter(pl.col(ROW).is_in(rows))
            .with_columns((pl.col(ROW) - 1).cast(wanted.dtype).alias(_POSITION))
            .collect(engine=engine)  # type: ignore[arg-type]
        )
    else:
        head = lf.head(last + 1)
        if numbered:
            # source_row numbered here: Polars pushes the head into the source's scan only
            # when the query reads no row index beside other columns.
            head = head.drop(ROW)
        found = (
            head.with_row_index(_POSITION)
            .filter(pl.col(_POSITION).is_in(wanted.implode()))
            .collect(engine=engine)  # type: ignore[arg-type]
        )
        if numbered:
            found = found.with_columns((pl.col(_POSITION).cast(pl.Int64) + 1).alias(ROW))
    return found.join(firsts, on=_POSITION).select(REASON, *NORMALIZED_SCHEMA)


def build_customer_table(
    loaded: LoadedTransactions,
    *,
    cleaning: CleaningConfig = CleaningConfig(),
    features: FeatureConfig = FeatureConfig(),
    cache: ResultCache | None = None,
    product_lines: bool = False,
) -> CustomerTable:
    """Clean, audit and compute the feature table (:func:`run_engine`); a cache hit skips it.

    ``product_lines``: a table computed here also holds its product lines as codes
    (``CustomerTable.product_codes``), for the top products of its segmentations.
    """
    key = make_key("customer_table", loaded.fingerprint, cleaning, features)

    def compute() -> CustomerTable:
        result = run_engine(
            loaded.lines,
            cleaning=cleaning,
            features=features,
            stripped=True,  # normalize strips text and makes blanks null
            encoder=loaded.encoder,
            product_lines=product_lines,
        )
        table, coded = result.features, result.product_lines
        used = features.analysis_date
        if used is None:
            used = analysis_date_of(table)
        return CustomerTable(
            features=table,
            audit=result.audit,
            analysis_date=used,
            read=loaded.read,
            schema=loaded.schema,
            key=key,
            warnings=tuple(str(w) for w in sufficiency_warnings(table)),
            reasons=result.reasons,
            source=loaded.lines,
            product_codes=None if coded is None else ProductLines(coded),
        )

    return get_or_compute(cache, key, compute).with_source(loaded.lines)


def is_feature_table(columns: list[str] | tuple[str, ...]) -> bool:
    """True when ``columns`` are those of a table written by ``custseg features``."""
    return set(FEATURE_SCHEMA) <= set(columns)


def read_feature_table(path: Path) -> pl.DataFrame | None:
    """Read a feature table written by ``custseg features``; None if ``path`` is not one."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        columns = pl.read_parquet_schema(path).names()
        if not is_feature_table(columns):
            return None
        frame = pl.read_parquet(path)
    elif suffix == ".csv":
        header = pl.read_csv(path, n_rows=0, infer_schema=False).columns
        if not is_feature_table(header):
            return None
        frame = pl.read_csv(path, schema_overrides=FEATURE_SCHEMA)
    else:
        return None
    return frame.select([pl.col(c).cast(t) for c, t in FEATURE_SCHEMA.items()]).sort("customer_id")
