"""Audited cleaning of normalized transaction lines.

Every input line gets exactly one outcome: kept as a purchase line, or dropped for the *first*
matching reason in :data:`REASONS` (in that order):

0. ``unparseable``: ``parse_error`` is set (a value failed to parse upstream), or the line has
   no ``order_date`` or no ``amount`` (it cannot be placed in time or valued). Always on.
1. ``missing_customer``: the customer id is null or blank.
2. ``non_product``: the stock code (stripped, upper-cased) is a postage/fee/adjustment code.
3. ``duplicate``: an exact copy, over every source field, of an earlier line (the first copy is
   kept). "Source fields" are all normalized columns except ``source_row`` and ``parse_error``.
4. ``cancellation``: the invoice starts with ``C`` (case-insensitive, after stripping), or the
   quantity is negative (the amount, for amount-only lines). These lines are returned as
   ``returns`` (they feed ``returns_value`` in the features) but count as dropped purchases.
5. ``non_positive``: zero quantity or a unit price <= 0 (amount <= 0 for amount-only lines).

A disabled rule's lines fall through to the later rules. Hence always
``rows_in == rows_kept + sum(rows dropped per reason)``.

Optional outlier capping (``CleaningConfig.cap_quantile``) clips the kept purchase lines' amount
and/or quantity at an upper quantile of the kept lines. Capped lines are *kept*, so capping is
reported separately (:class:`CappingStat`), never as a drop reason.

Duplicate detection hashes the source fields of each line to one 64-bit value
(:func:`source_hash`); the copies are the lines whose hash equals an earlier line's, found by
sorting the hashes (:func:`duplicate_positions`). Two different lines collide only with
probability about ``n**2 / 2**65`` (about 7e-5 for 50 M lines), in which case the later line
would be wrongly reported as a duplicate. The frame is expected in source order (as
``core.schema.normalize`` produces it): "first copy" means first in frame order. Lines an
earlier rule settles on their source fields alone (:func:`settled_by_source`: no date, amount
or customer) are left out of the hash set (their copies are settled the same way), which
shrinks it by a quarter on UCI-like data.

One engine runs these rules: ``core.pipeline.run_engine``, for the CLI, the app and
``core.pipeline.clean``. It classifies in two steps: :func:`staged_reasons` decides every
line on its own (it streams; the duplicate rule only gets the line's key, and the
non-product rule may be left to the distinct stock codes), then :func:`settle_reasons`
settles both on the collected reason codes. The rule order comes from :data:`REASONS`
alone. :func:`reason_totals`, :func:`thresholds_of`, :func:`capped_columns` and
:func:`audit_from` give the audit; :func:`split_lines` reads the kept lines and the returns
back by each line's reason.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import polars as pl

from core.columns import (
    AMOUNT,
    CUSTOMER,
    DATE,
    INVOICE,
    NORMALIZED_SCHEMA,
    PARSE_ERROR,
    PRICE,
    QUANTITY,
    ROW,
)
from core.errors import ConfigError, SchemaError
from core.money import SUM_DECIMALS, LineAmounts, exact_sum

REASON = "reason"
REASONS: tuple[str, ...] = (
    "unparseable",
    "missing_customer",
    "non_product",
    "duplicate",
    "cancellation",
    "non_positive",
)
# Human-readable labels for the app and exports.
REASON_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "unparseable": "Unparseable or missing date/amount",
        "missing_customer": "Missing customer id",
        "non_product": "Non-product line (postage, fees, adjustments)",
        "duplicate": "Exact duplicate line",
        "cancellation": "Cancellation / return",
        "non_positive": "Zero quantity or non-positive price",
    }
)
DEFAULT_NON_PRODUCT_CODES: tuple[str, ...] = (
    "POST",
    "DOT",
    "M",
    "D",
    "C2",
    "BANK CHARGES",
    "AMAZONFEE",
    "PADS",
    "CRUK",
    "S",
    "B",
)
CAPPABLE_COLUMNS: tuple[str, ...] = (AMOUNT, QUANTITY)
SOURCE_FIELDS: tuple[str, ...] = tuple(c for c in NORMALIZED_SCHEMA if c not in (ROW, PARSE_ERROR))
SAMPLE_SIZE = 5
_UNCAPPED = "_amount_uncapped"


class FrozenMapping(Mapping[str, pl.DataFrame]):
    """A read-only mapping that pickles (``MappingProxyType`` does not), for cached audits."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, pl.DataFrame]) -> None:
        self._data = dict(data)

    def __getitem__(self, key: str) -> pl.DataFrame:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"FrozenMapping({list(self._data)})"

    def __getstate__(self) -> dict[str, pl.DataFrame]:
        return self._data

    def __setstate__(self, state: dict[str, pl.DataFrame]) -> None:
        self._data = dict(state)


@dataclass(frozen=True)
class CleaningConfig:
    """Which cleaning rules run, and their parameters.

    Attributes
    ----------
    missing_customer, non_product, duplicate, cancellation, non_positive:
        Toggle each rule; a disabled rule's lines fall through to the later rules.
    non_product_codes:
        Stock codes treated as non-product lines (compared stripped and upper-cased).
    cap_quantile:
        If set (0 < q < 1), clip ``cap_columns`` of the kept purchase lines at this upper
        quantile (linear interpolation) of the kept lines.
    cap_columns:
        Any of ``"amount"`` and ``"quantity"``. Capping the quantity recomputes the amount as
        capped quantity x price; capping the amount then clips that at the amount threshold
        (both thresholds are quantiles of the uncapped kept lines).
    """

    missing_customer: bool = True
    non_product: bool = True
    non_product_codes: tuple[str, ...] = DEFAULT_NON_PRODUCT_CODES
    duplicate: bool = True
    cancellation: bool = True
    non_positive: bool = True
    cap_quantile: float | None = None
    cap_columns: tuple[str, ...] = (AMOUNT,)

    def __post_init__(self) -> None:
        if isinstance(self.non_product_codes, str) or not all(
            isinstance(c, str) for c in self.non_product_codes
        ):
            raise ConfigError(
                f"non_product_codes must be a tuple of strings, got {self.non_product_codes!r}",
                hint='List the stock codes, e.g. ("POST", "DOT").',
            )
        if self.cap_quantile is not None and not (
            isinstance(self.cap_quantile, int | float) and 0.0 < self.cap_quantile < 1.0
        ):
            raise ConfigError(
                f"cap_quantile must be between 0 and 1 (exclusive), got {self.cap_quantile!r}",
                hint="Use e.g. 0.99 to cap at the 99th percentile, or None to disable capping.",
            )
        bad = [c for c in self.cap_columns if c not in CAPPABLE_COLUMNS]
        if bad or not self.cap_columns or isinstance(self.cap_columns, str):
            raise ConfigError(
                f"cap_columns must be a non-empty tuple drawn from {CAPPABLE_COLUMNS}, "
                f"got {self.cap_columns!r}",
                hint='Use ("amount",), ("quantity",) or ("amount", "quantity").',
            )

    def enabled(self, reason: str) -> bool:
        """Whether the rule for ``reason`` runs (``unparseable`` always does)."""
        if reason not in REASONS:
            raise ConfigError(
                f"unknown cleaning reason {reason!r}", hint=f"Known reasons: {', '.join(REASONS)}."
            )
        return True if reason == "unparseable" else bool(getattr(self, reason))


@dataclass(frozen=True)
class ReasonStat:
    """Lines dropped for one reason and the sum of their amounts."""

    reason: str
    rows: int
    revenue: float
    enabled: bool


@dataclass(frozen=True)
class CappingStat:
    """What outlier capping changed among the kept purchase lines."""

    quantile: float
    thresholds: tuple[tuple[str, float | None], ...]  # (column, cap value) pairs
    rows_capped: int
    revenue_removed: float


@dataclass(frozen=True)
class Audit:
    """Where every input line went.

    ``rows_in == rows_kept + sum(r.rows for r in reasons)`` always holds. ``samples`` maps each
    reason to up to :data:`SAMPLE_SIZE` of its lines (lowest ``source_row`` first), with every
    normalized column, so a user can find them in the source file.
    """

    rows_in: int
    rows_kept: int
    revenue_in: float
    revenue_kept: float
    reasons: tuple[ReasonStat, ...]
    customers_in: int
    customers_out: int
    samples: Mapping[str, pl.DataFrame] = field(hash=False, compare=False, repr=False)
    capping: CappingStat | None = None

    @property
    def rows_dropped(self) -> int:
        return sum(r.rows for r in self.reasons)

    def dropped(self, reason: str) -> int:
        """Lines dropped for ``reason``."""
        for r in self.reasons:
            if r.reason == reason:
                return r.rows
        raise ConfigError(
            f"unknown cleaning reason {reason!r}", hint=f"Known reasons: {', '.join(REASONS)}."
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary: counts and revenue under the reason names, samples as records."""
        return {
            "rows_in": self.rows_in,
            "rows_kept": self.rows_kept,
            "rows_dropped": self.rows_dropped,
            "revenue_in": self.revenue_in,
            "revenue_kept": self.revenue_kept,
            "customers_in": self.customers_in,
            "customers_out": self.customers_out,
            "dropped": {r.reason: r.rows for r in self.reasons},
            "revenue": {r.reason: r.revenue for r in self.reasons},
            "enabled": {r.reason: r.enabled for r in self.reasons},
            "capping": None
            if self.capping is None
            else {
                "quantile": self.capping.quantile,
                "thresholds": dict(self.capping.thresholds),
                "rows_capped": self.capping.rows_capped,
                "revenue_removed": self.capping.revenue_removed,
            },
            "samples": {
                reason: [_json_safe_row(row) for row in frame.iter_rows(named=True)]
                for reason, frame in self.samples.items()
            },
        }


@dataclass(frozen=True)
class CleanResult:
    """Kept purchase lines, cancellation lines (returns) and the audit.

    ``purchases`` and ``returns`` have exactly the columns of ``NORMALIZED_SCHEMA``.
    """

    purchases: pl.DataFrame = field(hash=False, compare=False, repr=False)
    returns: pl.DataFrame = field(hash=False, compare=False, repr=False)
    audit: Audit


def _json_safe_row(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, dt.date | dt.datetime):
            out[key] = value.isoformat()
        elif isinstance(value, float) and not math.isfinite(value):
            out[key] = None
        else:
            out[key] = value
    return out


def check_normalized(lf: pl.LazyFrame, *, customer_key: bool = False) -> None:
    """Raise :class:`SchemaError` unless ``lf`` has exactly the normalized columns and dtypes.

    ``customer_key``: ``customer_id`` holds Int64 keys (``core.schema.normalize_views``).
    """
    schema = lf.collect_schema()
    expected = {**NORMALIZED_SCHEMA, CUSTOMER: pl.Int64()} if customer_key else NORMALIZED_SCHEMA
    missing = [c for c in NORMALIZED_SCHEMA if c not in schema]
    unexpected = [c for c in schema if c not in NORMALIZED_SCHEMA]
    if missing or unexpected:
        raise SchemaError(
            f"expected the normalized columns; missing {missing}, unexpected {unexpected}",
            hint="Pass the frame produced by core.schema.normalize.",
        )
    wrong = [
        f"{c}: {schema[c]} (expected {want})" for c, want in expected.items() if schema[c] != want
    ]
    if wrong:
        raise SchemaError(
            f"normalized columns have wrong dtypes: {'; '.join(wrong)}",
            hint="Pass the frame produced by core.schema.normalize.",
        )


# --- rule predicates (each a boolean expression; null counts as "no") ------------------------


def is_unparseable() -> pl.Expr:
    # A NaN amount ("nan" in a text column parses to it) is a missing amount, as in pandas.
    amount = pl.col(AMOUNT)
    return (
        pl.col(PARSE_ERROR).is_not_null()
        | pl.col(DATE).is_null()
        | amount.is_null()
        | amount.is_nan()
    )


# ``stripped=True`` variants are for lines whose text columns are stripped with blanks made
# null, as core.schema.normalize writes them: the same outcome without stripping every value.


def is_missing_customer(*, stripped: bool = False) -> pl.Expr:
    if stripped:
        return pl.col(CUSTOMER).is_null()
    return pl.col(CUSTOMER).is_null() | (pl.col(CUSTOMER).str.strip_chars() == "")


def non_product_set(codes: tuple[str, ...]) -> list[str]:
    """The non-product codes as a line's stock code is compared with them (stripped,
    upper-cased), sorted: the rule's one definition, for every engine."""
    return sorted({c.strip().upper() for c in codes})


def _non_product_set(codes: tuple[str, ...]) -> pl.Series:
    return pl.Series("codes", non_product_set(codes), dtype=pl.String)


def non_product_categories(categories: pl.Series, codes: tuple[str, ...]) -> pl.Series:
    """Which of the distinct stock codes ``categories`` are non-product codes (Boolean).

    The non-product rule: the engine decides it on the distinct stock codes, then looks each
    line's code up (:func:`settle_reasons`).
    """
    normalized = categories.str.strip_chars().str.to_uppercase()
    return normalized.is_in(_non_product_set(codes).implode()).fill_null(False)


_MIX = 0x9E3779B97F4A7C15  # odd: multiplying by it (mod 2**64) loses no bit


def source_hash(fields: tuple[str, ...] = SOURCE_FIELDS) -> pl.Expr:
    """64-bit hash of a line's source fields (equal lines -> equal hashes).

    Each field hashed with its own seed, folded as ``acc * _MIX + h`` (wrapping UInt64):
    faster than the hash of a struct of the same fields, and as discriminating (the same
    number of distinct values on the UCI file).
    """
    acc: pl.Expr | None = None
    for seed, name in enumerate(fields):
        field_hash = pl.col(name).hash(seed=seed)
        acc = field_hash if acc is None else acc * pl.lit(_MIX, dtype=pl.UInt64) + field_hash
    assert acc is not None
    return acc


def fold_key(key: pl.Expr, parts: list[pl.Expr], *, start: int = 0) -> pl.Expr:
    """``key`` (a :func:`source_hash`) with more fields folded in the same way; null stays null.

    For fields that only become comparable later, e.g. categorical codes of normalized text:
    equal lines still get equal keys, different lines different ones (but for collisions).
    ``start`` offsets the fields' seeds, for a second fold over the same key.
    """
    for seed, part in enumerate(parts, start=len(SOURCE_FIELDS) + 4 * start):
        key = key * pl.lit(_MIX, dtype=pl.UInt64) + part.hash(seed=seed)
    return key


def is_cancellation(*, stripped: bool = False) -> pl.Expr:
    # Same as strip_chars().str.to_uppercase().str.starts_with("C"): ``\s`` is the Unicode
    # White_Space set strip_chars() removes, and only "c" and "C" upper-case to a string
    # starting with "C" (checked over every code point). No string is built, so it is faster.
    invoice = pl.col(INVOICE)
    if stripped:  # no leading space: two prefix tests, faster still than the regex
        c_invoice = invoice.str.starts_with("C") | invoice.str.starts_with("c")
    else:
        c_invoice = invoice.str.contains(r"^\s*[cC]")
    negative = pl.coalesce(_known(QUANTITY), AMOUNT) < 0
    return c_invoice.fill_null(False) | negative.fill_null(False)


def _known(column: str) -> pl.Expr:
    """``column`` with NaN as missing, as pandas' ``isna`` counts it (the rules fall back to
    the amount for a missing quantity or price)."""
    return pl.col(column).fill_nan(None)


def is_non_positive() -> pl.Expr:
    quantity, price = _known(QUANTITY), _known(PRICE)
    return (
        pl.when(quantity.is_not_null() & price.is_not_null())
        .then((quantity == 0) | (price <= 0))
        .otherwise(pl.col(AMOUNT) <= 0)
        .fill_null(False)
    )


REASON_CODES = pl.Enum(list(REASONS))  # the reason in one byte a line (null: kept)
DUPLICATE_KEY = "_duplicate_key"


def reason_expr(config: CleaningConfig, *, stripped: bool = False) -> pl.Expr:
    """The first matching enabled rule's reason, null when the line is kept.

    Every rule but ``duplicate``, which depends on the earlier lines, and ``non_product``,
    decided on the distinct stock codes (:func:`settle_reasons` settles both); the reason
    as :data:`REASON_CODES`. ``stripped``: the text columns are
    stripped and have no blank values (as ``core.schema.normalize`` makes them).
    Each rule gives its reason where it holds (null elsewhere), coalesced in rule order: the
    same as a ``when`` chain, with less work per line than its nested branches.
    """
    predicates: dict[str, pl.Expr] = {
        "unparseable": is_unparseable(),
        "missing_customer": is_missing_customer(stripped=stripped),
        "cancellation": is_cancellation(stripped=stripped),
        "non_positive": is_non_positive(),
    }
    dtype = REASON_CODES
    rules = [
        pl.when(predicates[reason]).then(pl.lit(reason, dtype=dtype))
        for reason in REASONS
        if reason in predicates and config.enabled(reason)
    ]
    if not rules:
        return pl.lit(None, dtype=dtype).alias(REASON)
    return pl.coalesce(rules).alias(REASON)


def _before(reason: str) -> tuple[str, ...]:
    """The rules that come before ``reason`` in :data:`REASONS` (and so win over it)."""
    return REASONS[: REASONS.index(reason)]


# Null tests on source fields that decide a rule on their own: a line they hold for is
# dropped by that rule, and so is every copy of it (same source fields).
_DECIDED_BY_NULLS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"unparseable": (DATE, AMOUNT), "missing_customer": (CUSTOMER,)}
)


def settled_by_source(config: CleaningConfig) -> pl.Expr:
    """Lines an enabled rule before ``duplicate`` drops on their source fields alone.

    They need no duplicate key: their copies are dropped by the same rule. Null tests only:
    re-evaluating the blank-customer and non-product predicates here costs more time than
    their few lines save memory. ``parse_error`` is not a source field, so a line flagged
    only by it keeps its key (its copies are duplicates of it).
    """
    nulls = [
        pl.col(name).is_null()
        for reason in _before("duplicate")
        if config.enabled(reason)
        for name in _DECIDED_BY_NULLS.get(reason, ())
    ]
    return pl.any_horizontal(nulls) if nulls else pl.lit(False)


def staged_reasons(
    lf: pl.LazyFrame | pl.DataFrame,
    config: CleaningConfig = CleaningConfig(),
    *,
    stripped: bool = False,
    customer_key: bool = False,
    key_fields: tuple[str, ...] = SOURCE_FIELDS,
) -> pl.LazyFrame:
    """Every line's reason but the order-dependent ``duplicate``, for :func:`settle_reasons`.

    Adds ``reason`` (:data:`REASON_CODES`) as every enabled rule *but* ``duplicate`` and
    ``non_product`` (which :func:`settle_reasons` decides from the distinct stock codes)
    gives it and, when the duplicate rule is on, :data:`DUPLICATE_KEY`: the
    :func:`source_hash` of the lines that rule could still claim, null elsewhere. Each line
    is computed on its own, so this streams. Leaving the lines an earlier rule drops out of
    the key (and keeping the non-product lines in it) changes no outcome: copies have the
    same source fields, so the same earlier rule drops them all. ``stripped``: see
    :func:`reason_expr`. ``customer_key``: the lines come from
    ``core.schema.normalize_views``, customer ids as Int64 keys (one key per id, so the
    hash tells the same lines apart; ``stripped`` then holds too). ``key_fields``: the
    source fields hashed into the key now (the caller folds in the rest, :func:`fold_key`).
    """
    lazy = lf.lazy()
    check_normalized(lazy, customer_key=customer_key)
    stripped = stripped or customer_key
    staged = lazy.with_columns(reason_expr(config, stripped=stripped))
    if not config.duplicate:
        return staged
    open_ = ~settled_by_source(config)
    return staged.with_columns(pl.when(open_).then(source_hash(key_fields)).alias(DUPLICATE_KEY))


# Sorted half of the key range at a time, above _PARTED_FROM keys: each part costs a filter
# over every key (quarters cost 3x the masks and filters of halves for a lower peak).
_KEY_PARTS = 2
_PARTED_FROM = 4_000_000


def duplicate_positions(keys: pl.Series) -> pl.Series:
    """Positions of the non-null keys equal to an earlier key (every copy but the first).

    Equals ``(~keys.is_first_distinct() & keys.is_not_null()).arg_true()``, built from a
    sort instead of one hash set over every line: sorted copies of the keys give the few
    keys that occur more than once, and only their lines go through ``is_first_distinct``.
    That is faster, most of all on many lines: ``is_first_distinct`` runs on one thread and
    misses the cache on every line, the sort runs in parallel. Memory: a sorted copy of the
    keys, in halves of the key range when there are many (which lowers the peak).
    """
    candidates = repeated_positions(keys)
    firsts = keys.gather(candidates).is_first_distinct()
    return candidates.filter(~firsts).alias("position")


def value_ranges(values: pl.Series, bounds: Sequence[int]) -> Iterator[pl.Series]:
    """``values`` (nulls left out) split at the increasing ``bounds`` (at least one): below the
    first, then from each bound up to the next, then from the last up; one part at a time, so
    a caller can free each before the next is made."""
    if not bounds:
        raise ValueError("value_ranges needs at least one bound")
    yield values.filter((values < bounds[0]).fill_null(False))
    for low, high in itertools.pairwise(bounds):
        yield values.filter(((values >= low) & (values < high)).fill_null(False))
    yield values.filter((values >= bounds[-1]).fill_null(False))


def repeated_positions(keys: pl.Series) -> pl.Series:
    """Positions (ascending) of the lines whose non-null key occurs more than once."""
    n = keys.len() - keys.null_count()
    if n < 2:
        return pl.Series("position", [], dtype=pl.get_index_type())
    parts = _KEY_PARTS if n > _PARTED_FROM else 1
    step = (1 << 64) // parts
    repeated = []
    bounds = [i * step for i in range(1, parts)]
    # One part: the keys themselves, their nulls sorted last and cut off (one copy of the
    # keys made instead of two, the non-null keys and then their sorted copy).
    for part in value_ranges(keys, bounds) if bounds else [keys]:
        # One thread: as fast as the parallel sort on this machine's two cores, at half
        # the CPU time (and faster when the other core is busy).
        ordered = part.sort(multithreaded=False, nulls_last=True)
        del part
        ordered = ordered.head(ordered.len() - ordered.null_count())
        size = ordered.len()
        if size > 1:
            repeated.append(ordered.slice(1).filter(ordered.slice(1) == ordered.slice(0, size - 1)))
        del ordered
    if not repeated:
        return pl.Series("position", [], dtype=pl.get_index_type())
    # The lookups as a streaming query, which splits them over Polars' threads (an eager
    # is_in runs on one): the same CPU time, less wall time on many lines.
    lookups = pl.LazyFrame({"key": keys}).select(
        pl.col("key").is_in(pl.concat(repeated).implode()).fill_null(False)
    )
    found = lookups.collect(engine="streaming").to_series()
    return found.arg_true().alias("position")


def settle_reasons(
    staged: pl.DataFrame,
    non_product: pl.Series | None = None,
    duplicates: pl.Series | None = None,
) -> pl.DataFrame:
    """Collected :func:`staged_reasons` lines with their final ``reason``.

    The lines must be all of them, in frame order: a line's position decides which copy is
    the first. ``non_product``: the non-product rule's outcome per line (Boolean; None when
    the rule is off). ``duplicates``: the copies'
    positions, when the caller took :data:`DUPLICATE_KEY` out (:func:`duplicate_positions`).
    """
    positions = duplicates
    if DUPLICATE_KEY in staged.columns:
        positions = duplicate_positions(staged.get_column(DUPLICATE_KEY))
        staged = staged.drop(DUPLICATE_KEY)
    claims = [
        ("non_product", None if non_product is None else non_product.arg_true()),
        ("duplicate", positions),
    ]
    reason = staged.get_column(REASON)
    settled = reason
    for rule, lines in claims:
        if lines is None or not lines.len():
            continue
        # A line's reason is its first rule in REASONS order, which is the order of
        # REASON_CODES' physical codes (null: kept): the rule claims the lines whose reason
        # so far comes later. Only the claimed lines are written (a copy of the codes).
        rank = settled.gather(lines).to_physical()
        claimed = lines.filter(rank.is_null() | (rank > REASONS.index(rule)))
        if claimed.len():
            settled = settled.clone() if settled is reason else settled
            settled.scatter(claimed, rule)
    return staged if settled is reason else staged.with_columns(settled)


def capped_columns(
    cap_columns: Sequence[str], thresholds: Mapping[str, pl.Expr | float | None]
) -> tuple[pl.Expr, pl.Expr]:
    """The capped ``amount`` and ``quantity`` of a kept line, given the caps.

    Capping the quantity recomputes the amount as capped quantity x price (the amount stays
    for amount-only lines); capping the amount then clips that at the amount cap.
    """
    amount, quantity = pl.col(AMOUNT), pl.col(QUANTITY)
    if QUANTITY in cap_columns:
        q_cap = thresholds[QUANTITY]
        q_lit = q_cap if isinstance(q_cap, pl.Expr) else pl.lit(q_cap, dtype=pl.Float64)
        over = pl.col(QUANTITY) > q_lit
        capped_q = pl.min_horizontal(pl.col(QUANTITY), q_lit)
        amount = pl.when(over).then(pl.coalesce(capped_q * pl.col(PRICE), amount)).otherwise(amount)
        quantity = pl.when(over).then(capped_q).otherwise(quantity)
    if AMOUNT in cap_columns:
        a_cap = thresholds[AMOUNT]
        a_lit = a_cap if isinstance(a_cap, pl.Expr) else pl.lit(a_cap, dtype=pl.Float64)
        amount = pl.when(amount > a_lit).then(a_lit).otherwise(amount)
    return amount, quantity


def _thresholds_query(kept: pl.LazyFrame, config: CleaningConfig) -> pl.LazyFrame:
    q = config.cap_quantile or 0.0
    return kept.select(
        [pl.col(c).quantile(q, interpolation="linear").alias(c) for c in config.cap_columns]
    )


def thresholds_of(
    classified: pl.LazyFrame | pl.DataFrame, config: CleaningConfig, *, engine: str = "auto"
) -> dict[str, float | None] | None:
    """The cap of each ``config.cap_columns``: its quantile over the kept lines (None: no capping).

    ``classified``: lines with their final ``reason`` (null: kept).
    """
    if config.cap_quantile is None:
        return None
    kept = classified.lazy().filter(pl.col(REASON).is_null())
    row = _thresholds_query(kept, config).collect(engine=engine)  # type: ignore[arg-type]
    return {c: row.item(0, c) for c in config.cap_columns}


def reason_totals(
    classified: pl.LazyFrame,
    config: CleaningConfig,
    thresholds: Mapping[str, float | None] | None = None,
    *,
    amounts: LineAmounts = LineAmounts(),
) -> pl.LazyFrame:
    """One row: lines and revenue per reason (``rows_<reason>``, ``revenue_<reason>``, the
    kept lines under ``kept``), and with capping ``revenue_capped`` and ``rows_capped``.
    ``amounts``: how the lines hold their amounts (as floats, in ``amount``, with capping).

    Each figure a sum over its reason's lines, picked by ``filter``: one pass, in which the
    comparisons of a byte a line and the sums of the lines picked cost less than a group-by
    on the reason, which hashes every line. The money sums are exact (:class:`LineAmounts`).
    """
    reason = pl.col(REASON)
    figures: list[pl.Expr] = []
    kept = reason.is_null()
    for name, hit in [*((r, reason == r) for r in REASONS), ("kept", kept)]:
        figures.append(hit.sum().alias(f"rows_{name}"))
        figures.append(amounts.sum(hit, filtered=True).alias(f"revenue_{name}"))
    if config.cap_quantile is not None and thresholds is not None:
        capped, _ = capped_columns(config.cap_columns, thresholds)
        figures.append(exact_sum(capped.filter(kept)).alias("revenue_capped"))
        figures.append((capped != pl.col(AMOUNT)).filter(kept).sum().alias("rows_capped"))
    return classified.select(figures)


def audit_from(
    config: CleaningConfig,
    totals: Mapping[str, Any],
    *,
    customers_in: int,
    customers_out: int,
    samples: Sequence[pl.DataFrame],
    thresholds: Mapping[str, float | None] | None = None,
) -> Audit:
    """The :class:`Audit` from a :func:`reason_totals` row, the customer counts and samples.

    ``samples`` are frames with ``reason`` and the normalized columns (any order, any split);
    each reason keeps its :data:`SAMPLE_SIZE` lowest ``source_row`` lines.
    """
    reasons = tuple(
        ReasonStat(
            reason=r,
            rows=int(totals[f"rows_{r}"] or 0),
            revenue=float(totals[f"revenue_{r}"] or 0.0),
            enabled=config.enabled(r),
        )
        for r in REASONS
    )
    rows_kept = int(totals["rows_kept"] or 0)
    revenue_uncapped = float(totals["revenue_kept"] or 0.0)
    revenue_kept = revenue_uncapped
    capping = None
    if config.cap_quantile is not None:
        if thresholds is None:
            raise ConfigError(
                "capping is configured but no thresholds were given",
                hint="Pass the thresholds_of the classified lines for the same config.",
            )
        revenue_kept = float(totals["revenue_capped"] or 0.0)
        capping = CappingStat(
            quantile=float(config.cap_quantile),
            thresholds=tuple((c, thresholds[c]) for c in config.cap_columns),
            rows_capped=int(totals["rows_capped"] or 0),
            revenue_removed=round(revenue_uncapped - revenue_kept, SUM_DECIMALS),
        )
    return Audit(
        rows_in=rows_kept + sum(r.rows for r in reasons),
        rows_kept=rows_kept,
        # Each revenue has at most SUM_DECIMALS decimals (exact_sum): so has their total.
        revenue_in=round(revenue_uncapped + sum(r.revenue for r in reasons), SUM_DECIMALS),
        revenue_kept=revenue_kept,
        reasons=reasons,
        customers_in=customers_in,
        customers_out=customers_out,
        samples=FrozenMapping(_samples_by_reason(samples)),
        capping=capping,
    )


def _samples_by_reason(samples: Sequence[pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Each reason's :data:`SAMPLE_SIZE` lowest ``source_row`` lines of ``samples`` (frames
    with ``reason`` and the normalized columns), as the normalized columns.

    One sort by reason and row, then a slice per reason: a filter, sort and head per reason
    each ran a query over every column of these few lines.
    """
    columns = list(NORMALIZED_SCHEMA)
    lines = (
        pl.concat([f.select(REASON, *columns).cast({REASON: pl.String}) for f in samples])
        if samples
        else pl.DataFrame(schema={REASON: pl.String, **NORMALIZED_SCHEMA})
    )
    ordered = lines.sort(REASON, ROW, maintain_order=True)
    reasons = ordered.get_column(REASON).to_list()
    body = ordered.select(columns)
    return {
        r: body.slice(reasons.index(r), min(reasons.count(r), SAMPLE_SIZE))
        if r in reasons
        else body.clear()
        for r in REASONS
    }


def split_lines(
    lines: pl.LazyFrame | pl.DataFrame, reasons: pl.Series, audit: Audit, *, engine: str = "auto"
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The kept purchase lines (capped as ``audit`` says) and the cancellation lines.

    ``lines``: the normalized lines the engine ran on, in the same order; ``reasons``: each
    line's reason as the engine gave it (``core.pipeline.run_engine``). The lines are read
    back by position: no rule runs again. Both frames have exactly ``NORMALIZED_SCHEMA``.
    """
    columns = list(NORMALIZED_SCHEMA)
    purchases, returns = split_queries(lines, reasons, audit)
    queries = [purchases.select(columns), returns.select(columns)]
    kept, returned = pl.collect_all(queries, engine=engine)  # type: ignore[arg-type]
    return kept, returned


def split_queries(
    lines: pl.LazyFrame | pl.DataFrame, reasons: pl.Series, audit: Audit
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """:func:`split_lines` as two lazy queries (the normalized columns and ``reason``): a
    caller selecting a few columns reads back only those."""
    if reasons.len() != audit.rows_in:
        raise ValueError(f"expected {audit.rows_in} reasons (one a line), got {reasons.len()}")
    marked = pl.concat([lines.lazy(), reasons.to_frame(REASON).lazy()], how="horizontal")
    purchases = marked.filter(pl.col(REASON).is_null())
    if audit.capping is not None:
        caps = dict(audit.capping.thresholds)
        amount, quantity = capped_columns(tuple(caps), caps)
        purchases = purchases.with_columns(amount.alias(AMOUNT), quantity.alias(QUANTITY))
    returns = marked.filter(pl.col(REASON) == "cancellation")
    return purchases, returns
