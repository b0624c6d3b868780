"""Each segment's best-selling products, from transaction lines encoded once per table.

A segment's top products are those with the highest revenue (the sum of their line amounts)
over the lines of its customers, each with its most frequent description. The lines do not
change from one fit of a table to the next, only the customers' segments do, so
:class:`ProductLines` encodes them once (customer, product and description as small integer
codes, sorted like the texts) and :func:`top_products` then needs a few array passes per fit
instead of a join and group-bys over every line.

Definitions (unchanged by the encoding):

* lines without a product or with a non-finite amount are ignored;
* a segment's revenue is the sum of its customers' line amounts; a product's share is its
  revenue over the segment's;
* the description of a product is its most frequent non-empty description over the lines of
  every customer in a segment (ties: alphabetical first);
* products are ranked by revenue, highest first (ties: product code, alphabetical).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from core.columns import AMOUNT, CUSTOMER, DESCRIPTION, PRODUCT
from core.errors import ConfigError, SchemaError

N_PRODUCTS = 5
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TopProduct:
    """A product among a segment's best sellers (by the sum of its line amounts).

    Given purchase and cancellation lines (``CustomerTable.product_lines``), revenue is net of
    returns; given purchase lines alone, it is gross.
    """

    product: str
    description: str | None
    revenue: float
    share: float  # of the segment's revenue over the lines given


_Coded = tuple[pl.Series, np.ndarray]  # sorted distinct values, each line's index (-1: none)


def _coded(column: pl.Series) -> _Coded:
    """The sorted distinct values of ``column`` (nulls left out) and each value's index
    among them (-1 for null), from one categorical encoding: the values are hashed once,
    only the few distinct ones are sorted."""
    categories = pl.Categories.random()  # fresh: the global categories would keep every value
    # The categorical column holds the mapping alive (Categories is a weak handle) until
    # the values are read.
    categorical = column.cast(pl.Categorical(categories))
    physical = categorical.to_physical()
    values = categories.to_series()
    del categorical
    order = values.arg_sort().to_numpy()
    rank = np.empty(order.size + 1, dtype=np.int32)
    rank[order] = np.arange(order.size, dtype=np.int32)
    rank[-1] = -1  # null: its physical code is filled with the last slot
    codes = physical.fill_null(order.size).cast(pl.Int64).to_numpy()
    return values.gather(order), rank[codes]


@dataclass(frozen=True, eq=False)
class LineCodes:
    """Transaction lines as codes (see :class:`ProductLines`).

    Attributes
    ----------
    customers, products, descriptions:
        Sorted distinct customer ids, product codes and descriptions of the lines (numpy str
        arrays).
    pair_product, pair_description:
        Each distinct (product, description) pair of the lines: its product's index and its
        description's index (-1: no description); pairs sorted by both.
    customer, product, pair, amount:
        Per line (lines without a product or with a non-finite amount dropped): the customer's
        index, the product's index, the pair's index, the amount.
    """

    customers: np.ndarray
    products: np.ndarray
    descriptions: np.ndarray
    pair_product: np.ndarray
    pair_description: np.ndarray
    customer: np.ndarray
    product: np.ndarray
    pair: np.ndarray
    amount: np.ndarray

    @property
    def n_lines(self) -> int:
        return int(self.amount.shape[0])


def _frame(lines: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """The columns the top products need, lines without a product or amount dropped."""
    lf = lines.lazy()
    names = lf.collect_schema().names()
    missing = [c for c in (CUSTOMER, PRODUCT, AMOUNT) if c not in names]
    if missing:
        raise SchemaError(
            f"the transaction lines lack column(s) {', '.join(map(repr, missing))}",
            hint="Pass the cleaned purchase lines (CustomerTable.purchases).",
        )
    desc = pl.col(DESCRIPTION) if DESCRIPTION in names else pl.lit(None, dtype=pl.String)
    return (
        lf.select(
            pl.col(CUSTOMER).cast(pl.String),
            pl.col(PRODUCT).cast(pl.String),
            desc.cast(pl.String).alias(DESCRIPTION),
            pl.col(AMOUNT).cast(pl.Float64),
        )
        .filter(pl.col(PRODUCT).is_not_null() & pl.col(AMOUNT).is_finite())
        .collect()
    )


_DENSE_CELLS = 1 << 24  # up to this many possible keys, number them through a table


def _numbered(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sorted distinct ``keys`` (non-negative) and each key's index among them, as
    ``np.unique(keys, return_inverse=True)`` gives them without sorting every key: through
    a table over the key range when it is small (products x descriptions usually are), else
    the distinct keys by hashing and each key's index by binary search among them."""
    if keys.size == 0:
        return keys, np.zeros(0, dtype=np.int64)
    cells = int(keys.max()) + 1
    if cells <= _DENSE_CELLS:
        seen = np.zeros(cells, dtype=bool)
        seen[keys] = True
        distinct = np.flatnonzero(seen)
        # 4-byte indices: half the table the lookups below miss the cache in.
        index = np.zeros(cells, dtype=np.int32)
        index[distinct] = np.arange(distinct.size, dtype=np.int32)
        return distinct, index[keys]
    distinct = pl.Series(keys).unique().sort().to_numpy()
    return distinct, np.searchsorted(distinct, keys)


def encode(lines: pl.DataFrame | pl.LazyFrame | EngineLines) -> LineCodes:
    """Encode ``lines`` (``customer_id``, ``product``, ``amount``, optional ``description``),
    or the engine's codes of them (:class:`EngineLines`: no text read).

    Raises
    ------
    SchemaError
        A required column is missing.
    """
    if isinstance(lines, EngineLines):
        return _from_engine(lines)
    frame = _frame(lines)
    return _line_codes(
        _coded(frame.get_column(CUSTOMER)),
        _coded(frame.get_column(PRODUCT)),
        _coded(frame.get_column(DESCRIPTION)),
        frame.get_column(AMOUNT),
    )


def _line_codes(
    customers: _Coded, products: _Coded, descriptions: _Coded, amount: pl.Series
) -> LineCodes:
    """The :class:`LineCodes` of lines given as each line's index among the sorted distinct
    customers, products and descriptions."""
    product, description = products[1], descriptions[1]
    # (product, description) pairs, numbered in sorted order (no description first).
    width = len(descriptions[0]) + 1
    pair_keys, pair = _numbered(product.astype(np.int64) * width + (description + 1))
    return LineCodes(
        customers=customers[0].to_numpy().astype(str),
        products=products[0].to_numpy().astype(str),
        descriptions=descriptions[0].to_numpy().astype(str),
        pair_product=(pair_keys // width).astype(np.int32),
        pair_description=(pair_keys % width - 1).astype(np.int32),
        customer=customers[1],
        product=product,
        pair=pair.astype(np.int32),
        amount=amount.to_numpy(),
    )


@dataclass(frozen=True, eq=False)
class EngineLines:
    """The lines :func:`encode` reads, as the engine's pass holds them (``core.pipeline``):
    codes into tables of distinct values, no text per line.

    Attributes
    ----------
    lines:
        ``customer_id``, ``product``, ``description`` (UInt32 codes; null: none) and
        ``amount`` (Float64) of the purchase lines (capped as cleaned) then the cancellation
        lines, each in source order; lines without a product or with a non-finite amount
        left out. The order :attr:`CustomerTable.product_lines` has, so that sums add the
        same amounts in the same order.
    customer_low:
        Whole-number ids: a customer code plus this is the id. None: the code indexes
        ``customer_values``.
    customer_values, products, descriptions:
        The distinct values by code (null for a code no line uses is allowed).
    """

    lines: pl.DataFrame
    customer_low: int | None
    customer_values: pl.Series | None
    products: pl.Series
    descriptions: pl.Series


def _from_engine(engine: EngineLines) -> LineCodes:
    """:func:`encode` of the engine's codes: the same :class:`LineCodes` as encoding the lines'
    text, from a sort of the few distinct values each column's codes use."""
    frame = engine.lines
    low = engine.customer_low
    values = engine.customer_values

    def customer_ids(codes: pl.Series) -> pl.Series:
        if low is not None:
            return (codes.cast(pl.Int64) + low).cast(pl.String)
        assert values is not None
        return values.gather(codes)

    return _line_codes(
        _ranked(frame.get_column(CUSTOMER), customer_ids),
        _ranked(frame.get_column(PRODUCT), engine.products.gather),
        _ranked(frame.get_column(DESCRIPTION), engine.descriptions.gather),
        frame.get_column(AMOUNT),
    )


_DENSE_CODES = 1 << 26  # codes up to this: looked up in a table over the code range


def _ranked(codes: pl.Series, text: Callable[[pl.Series], pl.Series]) -> _Coded:
    """What :func:`_coded` gives for the text of ``codes``: the sorted distinct values the
    lines use (``text`` of their codes) and each line's index among them (-1: null)."""
    used = codes.drop_nulls().unique().sort()
    values = text(used)
    order = values.arg_sort().to_numpy()
    rank = np.empty(order.size, dtype=np.int32)
    rank[order] = np.arange(order.size, dtype=np.int32)
    nulls = codes.null_count()
    index = (codes.fill_null(0) if nulls else codes).to_numpy()
    top = int(used[-1]) + 1 if used.len() else 0
    if top <= _DENSE_CODES:
        table = np.full(top + 1, -1, dtype=np.int32)
        table[used.to_numpy()] = rank
        at = table[index]
    else:
        found = np.searchsorted(used.to_numpy(), index)
        at = rank[np.minimum(found, used.len() - 1)]
    if nulls:
        at[codes.is_null().to_numpy()] = -1
    return values.gather(order), at
    return values.gather(order), at


class ProductLines:
    """Transaction lines for the top products of any segmentation of their customers, encoded
    on first use and then kept (a caller profiling several fits of one table keeps this).

    Raises SchemaError on first use when a required column is missing.
    """

    def __init__(self, lines: pl.DataFrame | pl.LazyFrame | EngineLines) -> None:
        self._lines: pl.DataFrame | pl.LazyFrame | EngineLines | None = lines
        self._codes: LineCodes | None = None
        self._lock = threading.Lock()
        self._started = False

    @property
    def encoded(self) -> bool:
        return self._codes is not None

    def encode_in_background(self) -> bool:
        """Start encoding on a daemon thread (at most once per object), so that a later
        :attr:`codes` finds the work done or waits for it rather than doing it. Returns
        whether this call started it. An error is left for :attr:`codes` to raise again."""
        with self._lock:
            if self._started or self._codes is not None:
                return False
            self._started = True

        def run() -> None:
            try:
                _ = self.codes
            except Exception:  # the caller of codes meets the same error
                log.info("encoding product lines in the background failed", exc_info=True)

        threading.Thread(target=run, name="custseg-product-lines", daemon=True).start()
        return True

    @property
    def codes(self) -> LineCodes:
        """The encoded lines (encoded once, whichever thread asks first)."""
        with self._lock:
            if self._codes is None:
                assert self._lines is not None
                self._codes = encode(self._lines)
                self._lines = None  # the codes are all that is needed now
            return self._codes


def _line_segments(
    lines: LineCodes, customer_ids: np.ndarray, labels: np.ndarray, k: int
) -> np.ndarray:
    """The segment of each line's customer, ``k`` for a customer not among ``customer_ids``
    or in no segment (noise): one small int array, so the per-line passes of
    :func:`top_products` need no filtered copies of the lines."""
    segment_of = np.full(lines.customers.size, k, dtype=np.int32)
    if lines.customers.size:
        pos = np.searchsorted(lines.customers, customer_ids)
        pos = np.minimum(pos, lines.customers.size - 1)
        found = (lines.customers[pos] == customer_ids) & (labels >= 0) & (labels < k)
        segment_of[pos[found]] = labels[found]
    return segment_of[lines.customer]


def _descriptions(lines: LineCodes, pair_counts: np.ndarray) -> list[str | None]:
    """Each product's most frequent description over the counted lines (ties: alphabetical)."""
    out: list[str | None] = [None] * lines.products.size
    with_text = np.flatnonzero((lines.pair_description >= 0) & (pair_counts > 0))
    # Per product: the most lines first, then the alphabetically first description.
    order = np.lexsort(
        (lines.pair_description[with_text], -pair_counts[with_text], lines.pair_product[with_text])
    )
    seen: set[int] = set()
    for pair in with_text[order]:
        product = int(lines.pair_product[pair])
        if product not in seen:
            seen.add(product)
            out[product] = str(lines.descriptions[lines.pair_description[pair]])
    return out


def top_products(
    lines: ProductLines, customer_ids: np.ndarray, labels: np.ndarray, k: int
) -> list[tuple[TopProduct, ...]]:
    """The :data:`N_PRODUCTS` best sellers of each segment 0..k-1 of ``labels`` (aligned with
    ``customer_ids``; negative labels are in no segment)."""
    if customer_ids.shape != labels.shape:
        raise ConfigError(
            "customer ids and segment labels differ in length",
            hint="Pass a segmentation's customer_ids and labels.",
        )
    codes = lines.codes
    # Lines of customers in no segment count in an extra segment k, dropped at the end: the
    # sums over each cell add the same lines in the same order as filtering them first.
    segment = _line_segments(codes, customer_ids.astype(str), labels.astype(np.int64), k)
    n_products = codes.products.size
    cells = (k + 1) * n_products
    wide = np.int64 if cells >= np.iinfo(np.int32).max else np.int32
    cell = segment.astype(wide) * wide(n_products) + codes.product
    revenue = np.bincount(cell, weights=codes.amount, minlength=cells)[: k * n_products]
    revenue = revenue.reshape(k, n_products)
    present = np.bincount(cell, minlength=cells)[: k * n_products].reshape(k, n_products) > 0
    del cell
    totals = np.bincount(segment, weights=codes.amount, minlength=k + 1)[:k]
    in_segment = codes.pair[segment < k]
    descriptions = _descriptions(codes, np.bincount(in_segment, minlength=codes.pair_product.size))
    out: list[tuple[TopProduct, ...]] = []
    for s in range(k):
        candidates = np.flatnonzero(present[s])
        # Highest revenue first; ties by product code (codes are in alphabetical order).
        best = candidates[np.lexsort((candidates, -revenue[s, candidates]))][:N_PRODUCTS]
        total = float(totals[s])
        out.append(
            tuple(
                TopProduct(
                    product=str(codes.products[p]),
                    description=descriptions[p],
                    revenue=float(revenue[s, p]),
                    share=float(revenue[s, p] / total) if total else 0.0,
                )
                for p in best
            )
        )
    return out
