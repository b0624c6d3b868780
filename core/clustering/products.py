"""Each segment's best-selling products, from transaction lines encoded once per table.

A segment's top products are those with the highest revenue (the sum of their line amounts)
over the lines of its customers, each with its most frequent description. The lines do not
change from one fit of a table to the next, only the customers' segments do, so
:class:`ProductLines` encodes them once (customer, product and description as small integer
codes, sorted like the texts) and :func:`top_products` then needs a few array passes per fit
instead of a join and group-bys over every line. The engine's pass already holds those codes
(:class:`EngineLines`, ``CustomerTable.product_codes``): encoding them then sorts only the
distinct values, no line is read back as text.

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
    customer, product, description, amount:
        Per line (lines without a product or with a non-finite amount dropped): the customer's,
        the product's and the description's index (int32; -1: none), the amount.
    """

    customers: np.ndarray
    products: np.ndarray
    descriptions: np.ndarray
    customer: np.ndarray
    product: np.ndarray
    description: np.ndarray
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
    return LineCodes(
        customers=customers[0].to_numpy().astype(str),
        products=products[0].to_numpy().astype(str),
        descriptions=descriptions[0].to_numpy().astype(str),
        customer=customers[1],
        product=products[1],
        description=descriptions[1],
        amount=amount.to_numpy(),
    )


@dataclass(frozen=True, eq=False)
class EngineLines:
    """The lines :func:`encode` reads, as the engine's pass holds them (``core.pipeline``):
    codes into tables of distinct values, no text per line.

    Attributes
    ----------
    lines:
        ``customer_id``, ``product``, ``description`` (UInt16 or UInt32 codes; null: none) and
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
    top = codes.max()
    size = 0 if top is None else int(top) + 1  # type: ignore[arg-type]
    if size > _DENSE_CODES:  # keys spread wide: look each line's code up by binary search
        used = codes.drop_nulls().unique().sort()
        values, rank = _sorted_text(used, text)
        found = np.searchsorted(used.to_numpy(), codes.fill_null(0).to_numpy())
        at = rank[np.minimum(found, used.len() - 1)]
        if codes.null_count():
            at[codes.is_null().to_numpy()] = -1
        return values, at
    # A null is the code ``size``: its slot of the tables stays unused and -1.
    index = codes.fill_null(size).to_numpy()
    seen = np.zeros(size + 1, dtype=bool)
    seen[index] = True
    seen[size] = False
    used_codes = np.flatnonzero(seen)
    values, rank = _sorted_text(pl.Series(used_codes), text)
    table = np.full(size + 1, -1, dtype=np.int32)
    table[used_codes] = rank
    return values, table[index]


def _sorted_text(
    used: pl.Series, text: Callable[[pl.Series], pl.Series]
) -> tuple[pl.Series, np.ndarray]:
    """The text of the ``used`` codes, sorted, and each code's rank in that order."""
    values = text(used)
    order = values.arg_sort().to_numpy()
    rank = np.empty(order.size, dtype=np.int32)
    rank[order] = np.arange(order.size, dtype=np.int32)
    return values.gather(order), rank


class ProductLines:
    """Transaction lines for the top products of any segmentation of their customers, encoded
    on first use and then kept (a caller profiling several fits of one table keeps this).

    Raises SchemaError on first use when a required column is missing.
    """

    def __init__(self, lines: pl.DataFrame | pl.LazyFrame | EngineLines) -> None:
        self._lines: pl.DataFrame | pl.LazyFrame | EngineLines | None = lines
        self._codes: LineCodes | None = None
        self._lock = threading.Lock()  # held while encoding: codes waits for it
        # Guards _started only: a later encode_in_background must return at once, never
        # wait for the encoding the first one started (a page's render would block on it).
        self._start_lock = threading.Lock()
        self._started = False

    @property
    def encoded(self) -> bool:
        return self._codes is not None

    def encode_in_background(self) -> bool:
        """Start encoding on a daemon thread (at most once per object), so that a later
        :attr:`codes` finds the work done or waits for it rather than doing it. Returns
        whether this call started it. An error is left for :attr:`codes` to raise again."""
        with self._start_lock:
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


def _customer_segments(
    lines: LineCodes, customer_ids: np.ndarray, labels: np.ndarray, k: int
) -> np.ndarray:
    """The segment of each of the lines' customers (by index), ``k`` for a customer not among
    ``customer_ids`` or in no segment (noise), and one more slot, ``k``, that a line without
    a customer (index -1) reads: indexed by a line's customer, it gives the line's segment
    with no filtered copy of the lines."""
    segment_of = np.full(lines.customers.size + 1, k, dtype=np.intp)
    if lines.customers.size:
        pos = np.searchsorted(lines.customers, customer_ids)
        pos = np.minimum(pos, lines.customers.size - 1)
        found = (lines.customers[pos] == customer_ids) & (labels >= 0) & (labels < k)
        segment_of[pos[found]] = labels[found]
    return segment_of


def _descriptions(
    lines: LineCodes, counted: np.ndarray, products: np.ndarray
) -> dict[int, str | None]:
    """The most frequent description (ties: alphabetical first) of each of ``products`` over
    the ``counted`` lines (a mask), None for a product without one. Only the lines of these
    products are looked at: a few segments' best sellers, a small share of the lines."""
    wanted = np.zeros(lines.products.size, dtype=bool)
    wanted[products] = True
    chosen = counted & wanted[lines.product] & (lines.description >= 0)
    width = np.int64(lines.descriptions.size)
    pairs, counts = np.unique(
        lines.product[chosen].astype(np.int64) * width + lines.description[chosen],
        return_counts=True,
    )
    product, description = pairs // width, pairs % width
    out: dict[int, str | None] = dict.fromkeys((int(p) for p in products), None)
    # Per product: the most lines first, then the alphabetically first description.
    for i in np.lexsort((description, -counts, product)):
        p = int(product[i])
        if out[p] is None:
            out[p] = str(lines.descriptions[description[i]])
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
    # sums over each cell add the same lines in the same order as filtering them first. The
    # per-line arrays are built as bincount's index type from per-customer tables (one
    # gather each, no cast: each temporary over the lines is fresh memory to fault in).
    segment_of = _customer_segments(codes, customer_ids.astype(str), labels.astype(np.int64), k)
    n_products = codes.products.size
    cells = (k + 1) * n_products
    cell = (segment_of * n_products)[codes.customer]
    cell += codes.product
    revenue = np.bincount(cell, weights=codes.amount, minlength=cells)[: k * n_products]
    revenue = revenue.reshape(k, n_products)
    # A product sold in a segment with no revenue there (returns cancelling its sales) ranks
    # after those with revenue: the lines are counted only when a segment has too few of
    # those to fill its best sellers.
    if ((revenue > 0).sum(axis=1) >= N_PRODUCTS).all():
        present = revenue > 0
    else:
        present = np.bincount(cell, minlength=cells)[: k * n_products].reshape(k, n_products) > 0
    del cell
    segment = segment_of[codes.customer]
    totals = np.bincount(segment, weights=codes.amount, minlength=k + 1)[:k]
    bests = []
    for s in range(k):
        candidates = np.flatnonzero(present[s])
        # Highest revenue first; ties by product code (codes are in alphabetical order).
        bests.append(candidates[np.lexsort((candidates, -revenue[s, candidates]))][:N_PRODUCTS])
    # Descriptions count the lines of every customer in a segment.
    descriptions = _descriptions(codes, segment < k, np.concatenate([[], *bests]).astype(np.int64))
    out: list[tuple[TopProduct, ...]] = []
    for s, best in enumerate(bests):
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
