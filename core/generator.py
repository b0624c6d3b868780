"""Seeded synthetic transactions in the shape of the UCI Online Retail file.

The generator simulates a small online gift wholesaler: a catalogue of a few thousand products
with Zipf-like popularity, customers of five hidden segments who are acquired over the period,
buy at a latent (gamma-distributed) rate and drop out with a (beta-distributed) probability after
each purchase (a BG/NBD-like process), guest checkouts without a customer id, cancellations that
refer to earlier purchases, postage and fee lines, zero-price stock adjustments and exact
duplicate lines. Orders follow a seasonal calendar (busy November, no Saturdays, a Christmas
closure, business hours).

Output columns and dtypes are exactly those of the real file (:data:`TRANSACTION_SCHEMA`).

Determinism: customers are simulated in blocks of ``block_customers``; block ``b`` draws from
``np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1, b)))`` and the product
catalogue from ``spawn_key=(0,)``. Hence the output depends only on ``(customers, seed, start,
end, block_customers, rates)`` and :func:`write_transactions` writes exactly the rows of
:func:`generate_transactions` for the same parameters, one block at a time. Rows are ordered
by invoice number within a block; invoice numbers increase with time within a block and carry
on from block to block (they grow past six digits after ~460,000 invoices).

Speed: one block of 10,000 customers (~1.1 M lines) is a few dozen vectorised numpy calls;
``python3 bench/generator_throughput.py --lines 50000000 --out /tmp/g.parquet`` measures the
throughput.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib.resources import files
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from core.errors import ConfigError

# The repository's data/ folder, installed as the package custseg_data (see pyproject.toml).
DEFAULT_DATA: Path = Path(str(files("custseg_data"))) / "default_transactions.parquet"
DEFAULT_CUSTOMERS: int = 3_000
DEFAULT_SEED: int = 20_111_209
DEFAULT_START: date = date(2010, 12, 1)
DEFAULT_END: date = date(2011, 12, 9)
BLOCK_CUSTOMERS: int = 10_000
XLSX_MAX_DATA_ROWS: int = 1_048_575  # 1,048,576 sheet rows minus the header
FIRST_INVOICE: int = 536_365
FIRST_CUSTOMER_ID: int = 12_346

TRANSACTION_SCHEMA: dict[str, pl.DataType] = {
    "InvoiceNo": pl.String(),
    "StockCode": pl.String(),
    "Description": pl.String(),
    "Quantity": pl.Int64(),
    "InvoiceDate": pl.Datetime("us"),
    "UnitPrice": pl.Float64(),
    "CustomerID": pl.Float64(),
    "Country": pl.String(),
}

# Codes that are not products (postage, fees, manual adjustments), as in the real file.
NON_PRODUCT_CODES: dict[str, str] = {
    "POST": "POSTAGE",
    "DOT": "DOTCOM POSTAGE",
    "M": "Manual",
    "C2": "CARRIAGE",
    "D": "Discount",
    "S": "SAMPLES",
    "BANK CHARGES": "Bank Charges",
    "AMAZONFEE": "AMAZON FEE",
    "CRUK": "CRUK Commission",
    "PADS": "PADS TO MATCH ALL CUSHIONS",
    "B": "Adjust bad debt",
}
_SPECIAL = {code: i for i, code in enumerate(NON_PRODUCT_CODES)}
# Notes typed by staff on zero-price stock adjustments (weights roughly as in the real file).
_ADJUSTMENT_NOTES: tuple[tuple[str, float], ...] = (
    ("Unknown", 0.62),
    ("check", 0.09),
    ("damages", 0.04),
    ("damaged", 0.04),
    ("?", 0.04),
    ("sold as set on dotcom", 0.03),
    ("Damaged", 0.02),
    ("thrown away", 0.02),
    ("Unsaleable, destroyed.", 0.02),
    ("??", 0.01),
    ("found", 0.03),
    ("wrongly coded", 0.02),
    ("missing", 0.02),
)

_DAY_US = 86_400_000_000
_HOUR_US = 3_600_000_000
_MINUTE_US = 60_000_000
# Relative order intensity by weekday (Mon..Sun): the shop does not trade on Saturdays.
_WEEKDAY = (1.0, 1.14, 1.16, 1.37, 1.01, 0.0, 0.58)
# Relative order intensity by month (Jan..Dec): the gift season peaks in November.
_MONTH = (0.8, 0.75, 1.0, 0.9, 1.05, 1.0, 0.95, 0.9, 1.2, 1.35, 1.75, 1.4)
# Invoice hours 7..20 (business hours, lunchtime peak).
_HOURS = tuple(range(7, 21))
_HOUR_WEIGHTS = (1, 20, 58, 94, 100, 125, 107, 99, 97, 62, 38, 11, 7, 1)

_CATEGORIES = (
    "HOME",
    "KITCHEN",
    "PARTY",
    "CHRISTMAS",
    "BAGS",
    "STATIONERY",
    "GARDEN",
    "TOYS",
    "LIGHTING",
)
_XMAS = _CATEGORIES.index("CHRISTMAS")
# fmt: off
_NOUNS: tuple[tuple[str, ...], ...] = (
    ("CUSHION COVER", "DOORMAT", "PHOTO FRAME", "WALL CLOCK", "COAT HANGER", "HOT WATER BOTTLE",
     "CHEST OF DRAWERS", "MIRROR", "WALL ART", "DOORSTOP", "STORAGE BOX", "TISSUES"),
    ("TEA CUP AND SAUCER", "MUG", "CAKE TIN", "LUNCH BOX", "JAM JAR", "BAKING SET", "APRON",
     "TEA TOWEL", "CAKE CASES", "PLATE", "BOWL", "TEAPOT", "SPOON", "BOTTLE"),
    ("PAPER CHAIN KIT", "PARTY BUNTING", "PAPER NAPKINS", "PARTY CUPS", "PAPER PLATES",
     "BALLOONS", "CAKE STAND", "PARTY BAG", "STRAWS", "BIRTHDAY CANDLES", "GIFT WRAP", "GIFT TAGS"),
    ("CHRISTMAS DECORATION", "STAR TREE TOPPER", "BAUBLE", "ADVENT CALENDAR",
     "CHRISTMAS STOCKING", "REINDEER ORNAMENT", "SNOWFLAKE DECORATION", "ANGEL",
     "CHRISTMAS CRACKERS", "WREATH", "TREE LIGHTS", "NATIVITY SET"),
    ("JUMBO BAG", "LUNCH BAG", "SHOPPER BAG", "WASHBAG", "PURSE", "TOTE BAG", "CHARLOTTE BAG",
     "SHOULDER BAG", "COSMETIC BAG", "PICNIC BASKET", "BACKPACK", "GIFT BAG"),
    ("NOTEBOOK", "PENCILS", "GREETING CARD", "STICKER SHEET", "WRAPPING PAPER", "ERASER", "PEN",
     "MEMO BOARD", "PHOTO ALBUM", "JOURNAL", "BOOKMARK", "ENVELOPES"),
    ("PLANT POT", "WATERING CAN", "BIRD FEEDER", "GARDEN MARKER", "HERB POT", "FLOWER POT",
     "GARDEN KNEELER", "PLANTER", "BIRD HOUSE", "WIND CHIME", "GARDEN GLOVES", "SEED PACKETS"),
    ("SPINNING TOP", "JIGSAW", "SKIPPING ROPE", "DOLL", "SOFT TOY", "PLAYING CARDS", "DOMINOES",
     "TOY TEA SET", "MAGIC DRAWING SLATE", "BUBBLES", "SNAP CARDS", "KNITTING SET"),
    ("T-LIGHT HOLDER", "LANTERN", "CANDLE", "NIGHT LIGHT", "STRING LIGHTS", "TEA LIGHTS",
     "CANDLE HOLDER", "LAMP", "FAIRY LIGHTS", "LIGHT GARLAND", "TORCH", "CANDLESTICK"),
)
# fmt: on
_MODIFIERS = (
    "WHITE",
    "RED RETROSPOT",
    "PINK",
    "BLUE POLKADOT",
    "VINTAGE",
    "REGENCY",
    "PAISLEY",
    "HANGING HEART",
    "SPACEBOY",
    "DOLLY GIRL",
    "ENGLISH ROSE",
    "IVORY",
    "GREEN",
    "SKULL",
    "ANTIQUE SILVER",
    "CREAM",
    "FELTCRAFT",
    "WOODLAND",
    "PANTRY",
    "BAROQUE",
    "ALPHABET",
    "NATURAL",
    "ZINC",
    "GLASS",
    "CERAMIC",
    "ENAMEL",
    "WOODEN",
    "SWEETHEART",
    "LOVE BIRD",
    "STRAWBERRY",
    "APPLE",
    "JUNGLE",
    "CIRCUS PARADE",
    "UNION JACK",
    "FRENCH",
    "SCANDINAVIAN",
    "GOLD",
    "BLACK",
    "PURPLE",
    "YELLOW",
    "ORANGE",
    "TURQUOISE",
    "VINTAGE LEAF",
    "SPOTTY",
    "STRIPED",
    "FLORAL",
)  # fmt: skip
_PREFIXES = ("", "SET OF 3", "SET OF 6", "PACK OF 12", "PACK OF 72", "SET/4", "SMALL",
             "LARGE", "JUMBO", "MINI")  # fmt: skip
_PREFIX_WEIGHTS = (10, 1, 1, 1, 0.5, 0.7, 1.2, 1.2, 0.5, 0.8)
_CATEGORY_PRICE = (1.5, 1.1, 0.6, 0.9, 1.0, 0.5, 1.3, 0.9, 1.2)
_N_PRODUCTS = 3_700
_PACKS = (1, 2, 3, 4, 6, 8, 10, 12, 24, 25)

# Countries: index 0 is the home market. Weights: share among foreign customers.
_COUNTRIES: tuple[tuple[str, float], ...] = (
    ("United Kingdom", 0.0),
    ("Germany", 95), ("France", 87), ("Spain", 31), ("Belgium", 25), ("Switzerland", 21),
    ("Portugal", 19), ("Italy", 15), ("Finland", 12), ("Austria", 11), ("Norway", 10),
    ("Channel Islands", 9), ("Australia", 9), ("Netherlands", 9), ("Denmark", 9),
    ("Sweden", 8), ("Japan", 8), ("Cyprus", 8), ("Poland", 6), ("Unspecified", 4),
    ("USA", 4), ("Canada", 4), ("Israel", 4), ("Greece", 4), ("EIRE", 6), ("Bahrain", 2),
    ("United Arab Emirates", 2), ("Malta", 2), ("RSA", 1), ("Singapore", 1), ("Lithuania", 1),
    ("Brazil", 1), ("European Community", 1), ("Lebanon", 1), ("Czech Republic", 1),
    ("Iceland", 1), ("Saudi Arabia", 1), ("Hong Kong", 0.0),
)  # fmt: skip
_COUNTRY_NAMES = tuple(name for name, _ in _COUNTRIES)
_CARRIAGE_COUNTRIES = (_COUNTRY_NAMES.index("EIRE"), _COUNTRY_NAMES.index("Channel Islands"))
# Guest checkouts are nearly all from the home market.
_GUEST_COUNTRIES: tuple[tuple[str, float], ...] = (
    ("United Kingdom", 0.965),
    ("EIRE", 0.012),
    ("Hong Kong", 0.008),
    ("Unspecified", 0.006),
    ("Switzerland", 0.004),
    ("France", 0.005),
)


@dataclass(frozen=True)
class _Segment:
    """Hidden customer segment: the parameters of its purchase process."""

    name: str
    share: float
    preexisting: float  # share already customers at the start (first purchase = first arrival)
    acquired: tuple[float, float]  # acquisition window (fractions of the period) of the others
    mean_gap_days: float  # 1 / mean of the gamma purchase rate
    rate_shape: float  # gamma shape: smaller means more heterogeneous rates
    churn: tuple[float, float]  # beta(a, b) of the drop-out probability after each purchase
    basket_lines: float  # median lines per order
    quantity: float  # median units per line for a 2.50 product
    return_prob: float  # mean chance that an order is partly cancelled later
    foreign: float  # share of customers outside the home market
    tilt: tuple[float, ...]  # category preference (multiplies product popularity)


SEGMENTS: tuple[_Segment, ...] = (
    _Segment("loyal", 0.14, 0.85, (0.0, 0.4), 30.0, 2.0, (1.0, 70.0), 16.0, 6.0, 0.23, 0.06,
             (1.6, 1.2, 0.8, 1.0, 1.0, 0.8, 1.5, 0.7, 1.8)),
    _Segment("wholesale", 0.04, 0.85, (0.0, 0.5), 28.0, 2.5, (1.0, 90.0), 22.0, 14.0, 0.32, 0.3,
             (0.8, 1.5, 2.0, 1.2, 1.6, 1.0, 0.6, 1.3, 0.8)),
    _Segment("occasional", 0.48, 0.7, (0.0, 0.8), 130.0, 2.0, (1.0, 16.0), 9.0, 5.0, 0.145, 0.06,
             (1.0, 1.0, 1.0, 1.0, 1.0, 1.3, 0.9, 1.1, 0.9)),
    _Segment("lapsed", 0.09, 0.6, (0.0, 0.3), 35.0, 2.0, (5.0, 4.0), 14.0, 8.0, 0.16, 0.05,
             (1.1, 1.3, 0.9, 0.6, 1.0, 1.0, 1.2, 0.9, 1.0)),
    _Segment("new", 0.25, 0.0, (0.75, 1.0), 35.0, 2.0, (1.0, 9.0), 11.0, 7.0, 0.12, 0.06,
             (0.9, 0.9, 1.3, 1.3, 1.4, 1.1, 0.7, 1.3, 1.0)),
)  # fmt: skip
SEGMENT_NAMES: tuple[str, ...] = tuple(s.name for s in SEGMENTS)
_GUEST_TILT = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)


@dataclass(frozen=True)
class GeneratorRates:
    """Rates of the data-quality quirks, as shares of output lines.

    Attributes
    ----------
    guest_lines : share of lines without a customer id (guest checkouts and staff lines).
    duplicate_lines : share of all lines that are extra copies (emitted right after the line
        they copy); only lines with a customer id are copied, as in the real file.
    adjustment_lines : share of zero-price stock adjustment lines (no customer).
    cancellation_scale : multiplies every segment's chance that an order is cancelled later.
    """

    guest_lines: float = 0.25
    duplicate_lines: float = 0.01
    adjustment_lines: float = 0.0045
    cancellation_scale: float = 1.0

    def __post_init__(self) -> None:
        for name in ("guest_lines", "duplicate_lines", "adjustment_lines"):
            value = getattr(self, name)
            if not 0.0 <= value < 0.9:
                raise ConfigError(
                    f"GeneratorRates.{name} must be in [0, 0.9), got {value!r}",
                    hint="pass a share such as 0.01 (1 % of lines)",
                )
        if not 0.0 <= self.cancellation_scale <= 4.0:
            raise ConfigError(
                f"GeneratorRates.cancellation_scale must be in [0, 4], got "
                f"{self.cancellation_scale!r}",
                hint="1.0 gives about 2 % cancellation lines; 0 disables cancellations",
            )


# ---------------------------------------------------------------------------------------------
# Calendar and catalogue (pure functions of the parameters; rebuilt per call, both are tiny)


@dataclass(frozen=True)
class _Calendar:
    start_us: int
    n_days: int
    cum: np.ndarray  # cumulative order intensity at day boundaries, cum[-1] == n_days
    xmas_season: np.ndarray  # per day: 1 from September to December

    @property
    def length(self) -> float:
        return float(self.cum[-1])

    def op_time(self, day_float: np.ndarray) -> np.ndarray:
        """Operational time (cumulative intensity) at fractional calendar days."""
        return np.interp(day_float, np.arange(self.n_days + 1, dtype=float), self.cum)

    def day_of(self, op: np.ndarray) -> np.ndarray:
        """Calendar day index holding operational time ``op`` (never a closed day)."""
        # Day d covers (cum[d], cum[d+1]]; closed days have an empty interval.
        day = np.searchsorted(self.cum[1:], op, side="left")
        return np.minimum(day, self.n_days - 1)


def _calendar(start: date, end: date) -> _Calendar:
    n_days = (end - start).days + 1
    days = np.arange(n_days)
    dates = [start + timedelta(days=int(d)) for d in days]
    weights = np.array(
        [
            0.0
            if (d.month == 12 and d.day >= 23) or (d.month == 1 and d.day <= 3)
            else _WEEKDAY[d.weekday()] * _MONTH[d.month - 1]
            for d in dates
        ]
    )
    if weights.sum() <= 0:
        # Only closed days (e.g. a Saturday alone): trade anyway rather than fail.
        weights = np.ones(n_days)
    weights *= n_days / weights.sum()
    cum = np.concatenate(([0.0], np.cumsum(weights)))
    cum[-1] = float(n_days)
    xmas = np.array([1 if d.month >= 9 else 0 for d in dates], dtype=np.int64)
    start_us = (start - date(1970, 1, 1)).days * _DAY_US
    return _Calendar(start_us, n_days, cum, xmas)


@dataclass(frozen=True)
class _Catalogue:
    codes: pl.Series  # products, then the non-product codes
    descriptions: pl.Series  # products, then non-product descriptions, then adjustment notes
    price: np.ndarray  # product list prices
    pack: np.ndarray  # product pack sizes (quantities are multiples of them)
    cdf: np.ndarray  # concatenated sampling cdfs: table t occupies [t, t + 1)
    n_products: int


def _catalogue(seed: int) -> _Catalogue:
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0,)))
    n = _N_PRODUCTS
    category = rng.choice(len(_CATEGORIES), size=n, p=np.full(len(_CATEGORIES), 1 / 9))
    names: list[str] = []
    seen: set[str] = set()
    mod_idx = rng.integers(0, len(_MODIFIERS), size=4 * n)
    prefix_w = np.asarray(_PREFIX_WEIGHTS, dtype=float)
    pre_idx = rng.choice(len(_PREFIXES), size=4 * n, p=prefix_w / prefix_w.sum())
    noun_pick = rng.random(4 * n)
    k = 0
    for c in category:
        # Redraw on a clash so that descriptions are unique within the catalogue.
        while True:
            nouns = _NOUNS[c]
            noun = nouns[int(noun_pick[k % (4 * n)] * len(nouns))]
            prefix = _PREFIXES[pre_idx[k % (4 * n)]]
            name = " ".join(p for p in (prefix, _MODIFIERS[mod_idx[k % (4 * n)]], noun) if p)
            k += 1
            if name not in seen:
                break
            noun_pick[(k - 1) % (4 * n)] = rng.random()
            mod_idx[(k - 1) % (4 * n)] = rng.integers(0, len(_MODIFIERS))
        seen.add(name)
        names.append(name)
    base = rng.choice(np.arange(10_002, 90_000), size=n, replace=False)
    suffix = np.where(rng.random(n) < 0.22, rng.integers(0, 7, size=n), -1)
    codes = [f"{b}{'ABCDEFG'[s]}" if s >= 0 else str(b) for b, s in zip(base, suffix, strict=True)]
    raw_price = (
        np.exp(np.log(1.9) + 0.8 * rng.standard_normal(n)) * np.asarray(_CATEGORY_PRICE)[category]
    )
    # Shop prices end in 5 or 9 pence.
    price = np.floor(np.maximum(raw_price, 0.1) * 10) / 10 + np.where(
        rng.random(n) < 0.6, 0.05, 0.09
    )
    price = np.round(price, 2)
    pack_p = np.clip(1.2 / price, 0.02, 0.9)
    packs = np.asarray(_PACKS)
    pack = np.where(
        rng.random(n) < pack_p,
        packs[rng.integers(3, len(_PACKS), size=n)],
        packs[rng.integers(0, 3, size=n)],
    )
    # Popularity: a power law with an exponential cutoff, as product line counts in the real
    # file (top products ~0.4 % of lines, a long tail sold a handful of times).
    rank = rng.permutation(n) + 1
    popularity = rank**-0.3 * np.exp(-rank / 1100.0)
    tables = [seg.tilt for seg in SEGMENTS] + [_GUEST_TILT]
    cdfs = []
    for t, tilt in enumerate(tables):
        for season in (0, 1):
            mult = np.array(tilt, dtype=float)
            mult[_XMAS] *= 3.0 if season else 0.25
            w = popularity * mult[category]
            c = np.cumsum(w / w.sum())
            c[-1] = 1.0
            cdfs.append(2 * t + season + c)
    specials = list(NON_PRODUCT_CODES)
    descriptions = names + list(NON_PRODUCT_CODES.values()) + [s for s, _ in _ADJUSTMENT_NOTES]
    return _Catalogue(
        codes=pl.Series("StockCode", codes + specials, dtype=pl.String),
        descriptions=pl.Series("Description", descriptions, dtype=pl.String),
        price=price,
        pack=pack,
        cdf=np.concatenate(cdfs),
        n_products=n,
    )


# ---------------------------------------------------------------------------------------------
# One block of customers


def _draw_segments(rng: np.random.Generator, n: int) -> np.ndarray:
    # Must stay the block's first draw: latent_segments() replays it.
    shares = np.array([s.share for s in SEGMENTS])
    return rng.choice(len(SEGMENTS), size=n, p=shares / shares.sum())


def _stamp(rng: np.random.Generator, cal: _Calendar, day: np.ndarray) -> np.ndarray:
    """Microsecond timestamps on calendar days ``day`` at business hours, whole minutes."""
    weights = np.asarray(_HOUR_WEIGHTS, dtype=float)
    hour = rng.choice(np.asarray(_HOURS), size=day.size, p=weights / weights.sum())
    minute = rng.integers(0, 60, size=day.size)
    return cal.start_us + day * _DAY_US + hour * _HOUR_US + minute * _MINUTE_US


class _Lines:
    """Accumulates line arrays from the several sources of lines in a block."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(
        self,
        inv: np.ndarray,
        code: np.ndarray,
        desc: np.ndarray,
        qty: np.ndarray,
        price: np.ndarray,
    ) -> None:
        n = inv.size
        self.parts.append(
            (
                inv.astype(np.int64),
                np.broadcast_to(code, n).astype(np.int64),
                np.broadcast_to(desc, n).astype(np.int64),
                np.broadcast_to(qty, n).astype(np.int64),
                np.broadcast_to(price, n).astype(np.float64),
            )
        )

    def count(self) -> int:
        return sum(p[0].size for p in self.parts)

    def arrays(self) -> tuple[np.ndarray, ...]:
        return tuple(np.concatenate([p[i] for p in self.parts]) for i in range(5))


class _Invoices:
    """Accumulates invoice headers: timestamp, kind (0 sale, 1 'C' cancel, 2 'A'), customer."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, ...]] = []
        self.n = 0

    def add(
        self, us: np.ndarray, kind: int, cust: np.ndarray | int, country: np.ndarray | int
    ) -> np.ndarray:
        n = us.size
        self.parts.append(
            (
                us.astype(np.int64),
                np.full(n, kind, dtype=np.int64),
                np.broadcast_to(cust, n).astype(np.int64),
                np.broadcast_to(country, n).astype(np.int64),
            )
        )
        ids = np.arange(self.n, self.n + n)
        self.n += n
        return ids

    def arrays(self) -> tuple[np.ndarray, ...]:
        return tuple(np.concatenate([p[i] for p in self.parts]) for i in range(4))


def _lognormal_price(rng: np.random.Generator, median: float, sigma: float, n: int) -> np.ndarray:
    return np.round(median * np.exp(sigma * rng.standard_normal(n)), 2)


def _block(
    rng: np.random.Generator,
    cal: _Calendar,
    cat: _Catalogue,
    *,
    n: int,
    first_customer: int,
    invoice_base: int,
    rates: GeneratorRates,
) -> tuple[pl.DataFrame, int]:
    """Simulate ``n`` customers plus the guest and staff lines that go with them.

    Returns the block's rows (ordered by invoice number) and how many invoice numbers it used.
    Each step draws from ``rng`` in turn: their order is part of what a seed gives.
    """
    people = _draw_customers(rng, cal, n, rates)
    invoices, lines = _Invoices(), _Lines()
    orders = _purchase_orders(rng, cal, people, rates, invoices)
    bought = _product_lines(rng, cal, cat, orders, lines)
    _fee_lines(rng, cat, orders, lines)
    _cancellations(rng, cal, people, orders, bought, invoices=invoices, lines=lines)
    _credits(rng, cal, cat, orders, invoices=invoices, lines=lines)
    _staff_lines(rng, cal, cat, orders, invoices=invoices, lines=lines, rates=rates)
    return _block_frame(
        rng, cat, invoices, lines, rates, first_customer=first_customer, invoice_base=invoice_base
    )


@dataclass(frozen=True)
class _Customers:
    """A block's simulated customers: segment, latent purchase rate, first purchase (operating
    time), country, basket and quantity scales, chance of cancelling an order."""

    seg: np.ndarray
    lam: np.ndarray
    t0: np.ndarray
    churn: np.ndarray
    country: np.ndarray
    basket_mu: np.ndarray
    qty_mu: np.ndarray
    returns: np.ndarray


def _draw_customers(
    rng: np.random.Generator, cal: _Calendar, n: int, rates: GeneratorRates
) -> _Customers:
    seg = _draw_segments(rng, n)

    def par(attr: str, i: int | None = None) -> np.ndarray:
        values = [getattr(s, attr) if i is None else getattr(s, attr)[i] for s in SEGMENTS]
        return np.asarray(values, dtype=float)[seg]

    length, n_days = cal.length, cal.n_days
    shape = par("rate_shape")
    lam = rng.gamma(shape, 1.0 / (par("mean_gap_days") * shape))
    churn = np.clip(rng.beta(par("churn", 0), par("churn", 1)), 1e-3, 1.0)
    pre = rng.random(n) < par("preexisting")
    u = rng.random(n)
    # Already a customer at the start: the first purchase is the first arrival, conditioned on
    # falling inside the period (so every simulated customer appears in the output).
    t_pre = -np.log1p(u * np.expm1(-lam * length)) / lam
    lo, hi = par("acquired", 0), par("acquired", 1)
    t_acq = cal.op_time((lo + (hi - lo) * rng.random(n)) * n_days)
    t0 = np.minimum(np.where(pre, t_pre, t_acq), np.nextafter(length, 0.0))
    foreign_w = np.array([w for _, w in _COUNTRIES])
    foreign_country = rng.choice(len(_COUNTRIES), size=n, p=foreign_w / foreign_w.sum())
    country = np.where(rng.random(n) < par("foreign"), foreign_country, 0)
    basket_mu = np.log(par("basket_lines")) + 0.5 * rng.standard_normal(n)
    qty_mu = np.log(par("quantity")) + 0.4 * rng.standard_normal(n)
    returns = np.minimum(
        par("return_prob")
        * rates.cancellation_scale
        * np.exp(0.5 * rng.standard_normal(n) - 0.125),
        0.9,
    )
    return _Customers(seg, lam, t0, churn, country, basket_mu, qty_mu, returns)


def _repeat_purchases(
    rng: np.random.Generator, cal: _Calendar, people: _Customers
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each customer's orders (exponential gaps until drop-out, a geometric count, or the
    end): their customer, day and number of lines."""
    length, lam, t0 = cal.length, people.lam, people.t0
    n = t0.size
    n_purchases = rng.geometric(people.churn)
    remaining = lam * (length - t0)
    cap = np.ceil(remaining + 6.0 * np.sqrt(remaining) + 5.0).astype(np.int64)
    more = np.minimum(n_purchases - 1, cap)
    owner = np.repeat(np.arange(n), more)
    gaps = rng.exponential(size=owner.size) / lam[owner]
    csum = np.cumsum(gaps)
    group_start = np.cumsum(more) - more
    before = np.concatenate(([0.0], csum))[group_start]
    times = t0[owner] + csum - before[owner]
    keep = times < length
    o_cust = np.concatenate((np.arange(n), owner[keep]))
    o_day_c = cal.day_of(np.concatenate((t0, times[keep])))
    nl_c = np.clip(
        np.rint(np.exp(people.basket_mu[o_cust] + 0.7 * rng.standard_normal(o_cust.size))), 1, 600
    ).astype(np.int64)
    return o_cust, o_day_c, nl_c


def _guest_checkouts(
    rng: np.random.Generator, cal: _Calendar, rates: GeneratorRates, customer_lines: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Orders without a customer, sized so that lines without a customer hit the target share:
    their day, country and number of lines."""
    share = rates.guest_lines
    others = rates.adjustment_lines + 0.002  # staff lines without a customer (fees, samples)
    guest_lines = max(0.0, (share - others) / (1.0 - share) * float(customer_lines))
    guest_mean_lines = 22.0 * math.exp(0.9**2 / 2)
    n_go = int(rng.poisson(guest_lines / guest_mean_lines))
    g_day = cal.day_of(rng.random(n_go) * cal.length)
    g_w = np.array([w for _, w in _GUEST_COUNTRIES])
    g_country = np.array([_COUNTRY_NAMES.index(c) for c, _ in _GUEST_COUNTRIES])[
        rng.choice(len(_GUEST_COUNTRIES), size=n_go, p=g_w / g_w.sum())
    ]
    nl_g = np.clip(np.rint(np.exp(np.log(22.0) + 0.9 * rng.standard_normal(n_go))), 1, 1000)
    return g_day, g_country, nl_g


@dataclass(frozen=True)
class _Orders:
    """The purchase invoices of a block, customers' first, then guests': day, timestamp,
    customer (-1: guest), country, lines drawn per order, price table, quantity scale;
    ``n_customer``: how many are customers'."""

    day: np.ndarray
    us: np.ndarray
    cust: np.ndarray
    country: np.ndarray
    guest: np.ndarray
    nl: np.ndarray
    table: np.ndarray
    qmu: np.ndarray
    n_customer: int


def _purchase_orders(
    rng: np.random.Generator,
    cal: _Calendar,
    people: _Customers,
    rates: GeneratorRates,
    invoices: _Invoices,
) -> _Orders:
    """The customers' repeat purchases and the guest checkouts, added to ``invoices``."""
    o_cust, o_day_c, nl_c = _repeat_purchases(rng, cal, people)
    g_day, g_country, nl_g = _guest_checkouts(rng, cal, rates, int(nl_c.sum()))
    n_go = g_day.size
    o_day = np.concatenate((o_day_c, g_day))
    o_cust_all = np.concatenate((o_cust, np.full(n_go, -1)))
    o_country = np.concatenate((people.country[o_cust], g_country))
    o_us = _stamp(rng, cal, o_day)
    invoices.add(o_us, 0, o_cust_all, o_country)
    return _Orders(
        day=o_day,
        us=o_us,
        cust=o_cust_all,
        country=o_country,
        guest=o_cust_all < 0,
        nl=np.concatenate((nl_c, nl_g.astype(np.int64))),
        table=np.concatenate((people.seg[o_cust], np.full(n_go, len(SEGMENTS)))),
        qmu=np.concatenate((people.qty_mu[o_cust], np.log(1.2) + 0.3 * rng.standard_normal(n_go))),
        n_customer=o_cust.size,
    )


@dataclass(frozen=True)
class _Bought:
    """The product lines of the purchase orders: product, quantity, unit price; and per order,
    its number of lines (one per product) and its first line."""

    prod: np.ndarray
    qty: np.ndarray
    price: np.ndarray
    per_order: np.ndarray
    first_line: np.ndarray


def _product_lines(
    rng: np.random.Generator, cal: _Calendar, cat: _Catalogue, orders: _Orders, lines: _Lines
) -> _Bought:
    """Each order's product lines (one per product), added to ``lines``."""
    n_prod = cat.n_products
    nl = orders.nl
    n_lines = int(nl.sum())
    line_o = np.repeat(np.arange(nl.size), nl)
    table = 2 * orders.table[line_o] + cal.xmas_season[orders.day[line_o]]
    pos = np.searchsorted(cat.cdf, rng.random(n_lines) + table, side="right")
    prod = np.minimum(pos - table * n_prod, n_prod - 1)
    # A product appears once per order (exact duplicates are added on purpose, later). The
    # sorted unique keys also put an order's lines in catalogue order, which is arbitrary.
    key = np.sort(line_o * n_prod + prod)  # np.unique hashes first: several times slower
    key = key[np.concatenate(([True], key[1:] != key[:-1]))]
    line_o, prod = key // n_prod, key % n_prod
    nl = np.bincount(line_o, minlength=nl.size)
    n_lines = int(nl.sum())
    list_price = cat.price[prod]
    base_qty = np.exp(
        orders.qmu[line_o] - 0.45 * np.log(list_price / 2.5) + 0.8 * rng.standard_normal(n_lines)
    )
    pack = cat.pack[prod]
    # Quantities come in whole packs, except for small purchases of loose items.
    qty = np.where(
        base_qty >= 0.6 * pack, pack * np.maximum(1, np.rint(base_qty / pack)), np.rint(base_qty)
    )
    qty = np.clip(qty, 1, 12_000).astype(np.int64)
    line_guest = orders.guest[line_o]
    # Bulk buyers get a lower unit price; the web shop (guests) charges more.
    price = np.where(qty >= 48, list_price * 0.85, list_price)
    price = np.round(np.where(line_guest, price * 1.95, price), 2)
    price = np.where(~line_guest & (rng.random(n_lines) < 3e-4), 0.0, price)  # free gifts
    lines.add(line_o, prod, prod, qty, price)
    return _Bought(prod, qty, price, per_order=nl, first_line=np.cumsum(nl) - nl)


def _special(cat: _Catalogue, code: str) -> int:
    """The catalogue index of a non-product code."""
    return cat.n_products + _SPECIAL[code]


def _fee_lines(rng: np.random.Generator, cat: _Catalogue, orders: _Orders, lines: _Lines) -> None:
    """Postage, carriage and fees on purchase invoices."""
    guest, o_country = orders.guest, orders.country

    def special(code: str) -> int:
        return _special(cat, code)

    r = rng.random((6, orders.nl.size))
    foreign_o = (o_country != 0) & ~guest
    carriage_c = np.isin(o_country, np.asarray(_CARRIAGE_COUNTRIES))
    o_idx = np.flatnonzero(foreign_o & ~carriage_c & (r[0] < 0.75))
    post_qty = np.where(rng.random(o_idx.size) < 0.75, 1, rng.integers(2, 5, size=o_idx.size))
    post_price = np.array([15.0, 18.0, 18.0, 18.0, 28.0, 40.0])[rng.integers(0, 6, o_idx.size)]
    lines.add(o_idx, special("POST"), special("POST"), post_qty, post_price)
    o_idx = np.flatnonzero(~guest & carriage_c & (r[1] < 0.3))
    lines.add(o_idx, special("C2"), special("C2"), 1, 50.0)
    o_idx = np.flatnonzero(guest & (r[2] < 0.22))
    lines.add(o_idx, special("DOT"), special("DOT"), 1, _lognormal_price(rng, 120, 0.8, o_idx.size))
    o_idx = np.flatnonzero(r[3] < 0.016)
    lines.add(o_idx, special("M"), special("M"), 1, _lognormal_price(rng, 6.0, 1.3, o_idx.size))
    o_idx = np.flatnonzero(r[4] < 0.0015)
    lines.add(o_idx, special("BANK CHARGES"), special("BANK CHARGES"), 1, 15.0)
    o_idx = np.flatnonzero(~guest & (r[5] < 4e-4))
    lines.add(o_idx, special("PADS"), special("PADS"), 1, 0.001)


def _later(
    rng: np.random.Generator, cal: _Calendar, orders: _Orders, picked: np.ndarray, mean_days: float
) -> tuple[np.ndarray, np.ndarray]:
    """Timestamps some (trading) days after the orders ``picked``; mask of those inside the
    period."""
    o_day, o_us = orders.day, orders.us
    day = o_day[picked]
    op = cal.cum[day] + rng.random(picked.size) * (cal.cum[day + 1] - cal.cum[day])
    op = op + rng.exponential(mean_days, size=picked.size)
    day = cal.day_of(op)
    us = _stamp(rng, cal, day)
    # On the order's own day: some time between the order and closing time (20:59).
    same = day == o_day[picked]
    closing = cal.start_us + day * _DAY_US + 20 * _HOUR_US + 59 * _MINUTE_US
    room = (closing - o_us[picked]) // _MINUTE_US
    soon = o_us[picked] + _MINUTE_US * (1 + np.floor(rng.random(picked.size) * room))
    us = np.where(same, soon, us).astype(np.int64)
    ok = (op < cal.length) & ~(same & (room < 1))
    return us[ok], ok


def _cancellations(
    rng: np.random.Generator,
    cal: _Calendar,
    people: _Customers,
    orders: _Orders,
    bought: _Bought,
    *,
    invoices: _Invoices,
    lines: _Lines,
) -> None:
    """'C' invoices after an earlier purchase, cancelling some of its lines (negative
    quantities), in full or in part."""
    nl, first_line = bought.per_order, bought.first_line
    o_cust = orders.cust[: orders.n_customer]
    cancelled = np.flatnonzero(rng.random(orders.n_customer) < people.returns[o_cust])
    k = np.minimum(nl[cancelled], rng.geometric(0.45, size=cancelled.size))
    offset = np.floor(rng.random(cancelled.size) * (nl[cancelled] - k + 1)).astype(np.int64)
    partial_u = rng.random(int(k.sum()))
    full = rng.random(int(k.sum())) < 0.75
    c_us, ok = _later(rng, cal, orders, cancelled, 4.0)
    c_inv = invoices.add(c_us, 1, orders.cust[cancelled[ok]], orders.country[cancelled[ok]])
    inv_of = np.full(cancelled.size, -1)
    inv_of[ok] = c_inv
    rep = np.repeat(np.arange(cancelled.size), k)
    within = np.arange(rep.size) - np.repeat(np.cumsum(k) - k, k)
    src = first_line[cancelled][rep] + offset[rep] + within
    qty, prod = bought.qty, bought.prod
    c_qty = np.where(full, qty[src], np.maximum(1, np.floor(qty[src] * partial_u)))
    keep_line = ok[rep]
    lines.add(inv_of[rep][keep_line], prod[src][keep_line], prod[src][keep_line],
              -c_qty[keep_line], bought.price[src][keep_line])  # fmt: skip


def _credits(
    rng: np.random.Generator,
    cal: _Calendar,
    cat: _Catalogue,
    orders: _Orders,
    *,
    invoices: _Invoices,
    lines: _Lines,
) -> None:
    """Discounts, manual credits and charity commission, referring to a customer's earlier
    order."""
    for code, prob, median, sigma in (
        ("D", 0.004, 20.0, 0.9),
        ("M", 0.008, 8.0, 1.3),
        ("CRUK", 0.0008, 450.0, 0.5),
    ):
        picked = np.flatnonzero(rng.random(orders.n_customer) < prob)
        us, ok = _later(rng, cal, orders, picked, 3.0)
        inv = invoices.add(us, 1, orders.cust[picked[ok]], orders.country[picked[ok]])
        code_index = _special(cat, code)
        lines.add(inv, code_index, code_index, -1, _lognormal_price(rng, median, sigma, inv.size))


def _staff_lines(
    rng: np.random.Generator,
    cal: _Calendar,
    cat: _Catalogue,
    orders: _Orders,
    *,
    invoices: _Invoices,
    lines: _Lines,
    rates: GeneratorRates,
) -> None:
    """Staff lines without a customer: marketplace fees and samples (cancellations), bad-debt
    adjustments ('A' invoices) and zero-price stock adjustments."""

    def staff_times(count: int) -> np.ndarray:
        return _stamp(rng, cal, cal.day_of(rng.random(count) * cal.length))

    n_o = orders.nl.size
    for code, per_order, median, sigma in (
        ("AMAZONFEE", 0.0015, 5500.0, 0.6),
        ("S", 0.003, 20.0, 1.0),
    ):
        count = int(rng.poisson(per_order * n_o))
        inv = invoices.add(staff_times(count), 1, -1, 0)
        code_index = _special(cat, code)
        lines.add(inv, code_index, code_index, -1, _lognormal_price(rng, median, sigma, count))
    count = int(rng.poisson(1.5e-4 * n_o))
    inv = invoices.add(staff_times(count), 2, -1, 0)
    sign = np.where(rng.random(count) < 2 / 3, -1.0, 1.0)
    bad_debt = _special(cat, "B")
    lines.add(inv, bad_debt, bad_debt, 1, sign * _lognormal_price(rng, 11_000, 0.3, count))
    # Zero-price stock adjustments: one line each, no customer, a note instead of a description.
    share_adj = rates.adjustment_lines
    count = int(rng.poisson(share_adj / (1.0 - share_adj) * lines.count()))
    inv = invoices.add(staff_times(count), 0, -1, 0)
    notes_w = np.array([w for _, w in _ADJUSTMENT_NOTES])
    n_prod = cat.n_products
    note = (
        n_prod + len(NON_PRODUCT_CODES) + rng.choice(notes_w.size, count, p=notes_w / notes_w.sum())
    )
    adj_qty = np.maximum(1, np.rint(np.exp(np.log(8.0) + 1.3 * rng.standard_normal(count))))
    adj_qty = np.where(rng.random(count) < 0.55, -adj_qty, adj_qty)
    lines.add(inv, rng.integers(0, n_prod, size=count), note, adj_qty, 0.0)


def _block_frame(
    rng: np.random.Generator,
    cat: _Catalogue,
    invoices: _Invoices,
    lines: _Lines,
    rates: GeneratorRates,
    *,
    first_customer: int,
    invoice_base: int,
) -> tuple[pl.DataFrame, int]:
    """The block's rows: invoices numbered in time order, lines ordered by invoice, a few
    lines duplicated; and how many invoice numbers were used."""
    i_us, i_kind, i_cust, i_country = invoices.arrays()
    rank = np.empty(i_us.size, dtype=np.int64)
    rank[np.argsort(i_us, kind="stable")] = np.arange(i_us.size)
    l_inv, l_code, l_desc, l_qty, l_price = lines.arrays()
    order = np.argsort(rank[l_inv], kind="stable")
    # Duplicates are a till/export glitch of identified customers' lines, as in the real file.
    has_customer = i_cust[l_inv[order]] >= 0
    dup_p = rates.duplicate_lines * order.size / max(1, int(has_customer.sum()))
    dup = (rng.random(order.size) < dup_p) & has_customer
    order = np.repeat(order, 1 + dup.astype(np.int64))

    number = pl.Series(invoice_base + rank).cast(pl.String)
    kind = pl.Series(i_kind)
    invoice_no = pl.select(
        pl.when(kind == 1)
        .then(pl.lit("C") + number)
        .when(kind == 2)
        .then(pl.lit("A") + number)
        .otherwise(number)
    ).to_series()
    customer_id = np.where(i_cust >= 0, FIRST_CUSTOMER_ID + first_customer + i_cust, np.nan)
    headers = pl.DataFrame(
        {
            "InvoiceNo": invoice_no,
            "InvoiceDate": pl.Series(i_us).cast(pl.Datetime("us")),
            "CustomerID": pl.Series(customer_id, nan_to_null=True),
            "Country": pl.Series(_COUNTRY_NAMES).gather(i_country),
        }
    )
    rows = headers.select(pl.all().gather(pl.Series(l_inv[order])))
    frame = pl.DataFrame(
        {
            "InvoiceNo": rows["InvoiceNo"],
            "StockCode": cat.codes.gather(l_code[order]),
            "Description": cat.descriptions.gather(l_desc[order]),
            "Quantity": pl.Series(l_qty[order], dtype=pl.Int64),
            "InvoiceDate": rows["InvoiceDate"],
            "UnitPrice": pl.Series(l_price[order], dtype=pl.Float64),
            "CustomerID": rows["CustomerID"],
            "Country": rows["Country"],
        }
    )
    return frame, int(i_us.size)


# ---------------------------------------------------------------------------------------------
# Public API


def _as_date(value: date, name: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if not isinstance(value, date):
        raise ConfigError(
            f"{name} must be a date, got {value!r}", hint="pass e.g. datetime.date(2011, 12, 9)"
        )
    return value


def _check_count(value: object, name: str, hint: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ConfigError(f"{name} must be a positive whole number, got {value!r}", hint=hint)
    return int(value)


def _validate(
    seed: object, start: date, end: date, block_customers: object
) -> tuple[int, date, date, int]:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigError(
            f"seed must be a non-negative whole number, got {seed!r}", hint="pass e.g. seed=42"
        )
    start, end = _as_date(start, "start"), _as_date(end, "end")
    if end < start:
        raise ConfigError(
            f"end {end.isoformat()} is before start {start.isoformat()}",
            hint="swap the two dates",
        )
    blocks = _check_count(block_customers, "block_customers", "the default is 10000")
    return int(seed), start, end, blocks


def iter_transaction_blocks(
    *,
    seed: int,
    customers: int | None,
    start: date = DEFAULT_START,
    end: date = DEFAULT_END,
    block_customers: int = BLOCK_CUSTOMERS,
    rates: GeneratorRates = GeneratorRates(),  # frozen, hence a safe default
) -> Iterator[pl.DataFrame]:
    """Yield the transactions block by block (``block_customers`` customers each).

    With ``customers=None`` blocks are produced without end (the caller stops); otherwise the
    last block holds the remaining customers. The concatenation of the blocks is
    :func:`generate_transactions` for the same parameters.
    """
    seed, start, end, block_customers = _validate(seed, start, end, block_customers)
    if customers is not None:
        customers = _check_count(customers, "customers", "pass e.g. customers=4000")
    cal = _calendar(start, end)
    cat = _catalogue(seed)
    invoice_base, done, block = FIRST_INVOICE, 0, 0
    while customers is None or done < customers:
        n = block_customers if customers is None else min(block_customers, customers - done)
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1, block)))
        frame, used = _block(
            rng, cal, cat, n=n, first_customer=done, invoice_base=invoice_base, rates=rates
        )
        yield frame
        invoice_base += used
        done += n
        block += 1


def generate_transactions(
    *,
    customers: int,
    seed: int,
    start: date = DEFAULT_START,
    end: date = DEFAULT_END,
    block_customers: int = BLOCK_CUSTOMERS,
    rates: GeneratorRates = GeneratorRates(),  # frozen, hence a safe default
) -> pl.DataFrame:
    """Seeded synthetic transactions in the UCI Online Retail shape.

    Parameters
    ----------
    customers : number of simulated customers; each has at least one purchase, so the output
        holds exactly this many distinct non-null ``CustomerID`` values.
    seed : non-negative integer; the same parameters give an identical frame.
    start, end : first and last calendar day (inclusive) of the period.
    block_customers : customers simulated per block (part of the definition of the output).
    rates : shares of guest lines, duplicates, zero-price adjustments, cancellations.

    Returns
    -------
    pl.DataFrame with exactly the columns and dtypes of :data:`TRANSACTION_SCHEMA`.
    """
    blocks = list(
        iter_transaction_blocks(
            seed=seed,
            customers=customers,
            start=start,
            end=end,
            block_customers=block_customers,
            rates=rates,
        )
    )
    return pl.concat(blocks, rechunk=True)


def latent_segments(
    *, customers: int, seed: int, block_customers: int = BLOCK_CUSTOMERS
) -> pl.DataFrame:
    """The hidden segment of every simulated customer (for validating a clustering).

    Returns a frame ``CustomerID`` (Float64, as in the transactions) and ``segment`` (String,
    one of :data:`SEGMENT_NAMES`), sorted by ``CustomerID``. Independent of ``start``/``end``.
    """
    seed, _, _, block_customers = _validate(seed, DEFAULT_START, DEFAULT_END, block_customers)
    customers = _check_count(customers, "customers", "pass e.g. customers=4000")
    parts = []
    for block, first in enumerate(range(0, customers, block_customers)):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1, block)))
        parts.append(_draw_segments(rng, min(block_customers, customers - first)))
    seg = np.concatenate(parts)
    return pl.DataFrame(
        {
            "CustomerID": (FIRST_CUSTOMER_ID + np.arange(customers)).astype(np.float64),
            "segment": pl.Series(SEGMENT_NAMES).gather(seg),
        }
    )


_FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".xlsx": "xlsx"}
CSV_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def write_transactions(
    path: str | os.PathLike[str],
    *,
    seed: int,
    customers: int | None = None,
    lines: int | None = None,
    start: date = DEFAULT_START,
    end: date = DEFAULT_END,
    block_customers: int = BLOCK_CUSTOMERS,
    rates: GeneratorRates = GeneratorRates(),  # frozen, hence a safe default
) -> int:
    """Write generated transactions to ``path`` block by block; return the rows written.

    Memory stays bounded by one block (about 1.1 M lines per 10,000 customers).

    The format follows the extension: ``.parquet``/``.pq`` (zstd, written block by block),
    ``.csv`` (header, dates as ``%Y-%m-%d %H:%M:%S``, empty field for a missing customer) or
    ``.xlsx`` (one sheet; refused above 1,048,575 data rows).

    The rows are those of ``generate_transactions(customers=..., seed=..., ...)`` with the
    same parameters. With ``lines`` the output stops after exactly ``lines`` rows (the first
    ``lines`` rows of the generator with enough customers); with ``lines`` and no
    ``customers`` blocks are simulated until enough rows exist. The file appears only once
    complete (written to a hidden ``.part`` file first, then renamed).
    """
    target = Path(path)
    fmt = _FORMATS.get(target.suffix.lower())
    if fmt is None:
        raise ConfigError(
            f"cannot tell the output format of {str(target)!r} from its extension",
            hint="end the file name with .parquet, .csv or .xlsx",
        )
    if not target.parent.is_dir():
        raise ConfigError(
            f"output directory {str(target.parent)!r} does not exist",
            hint="create it first or choose another path",
        )
    if customers is None and lines is None:
        raise ConfigError(
            "write_transactions needs customers, lines or both",
            hint="pass e.g. customers=4000 or lines=20_000_000",
        )
    if lines is not None:
        lines = _check_count(lines, "lines", "pass e.g. lines=20_000_000")
        if fmt == "xlsx" and lines > XLSX_MAX_DATA_ROWS:
            raise ConfigError(
                f"{lines:,} lines do not fit in an Excel sheet (at most "
                f"{XLSX_MAX_DATA_ROWS:,} data rows)",
                hint="ask for fewer lines or write .parquet or .csv",
            )
    blocks = iter_transaction_blocks(
        seed=seed,
        customers=customers,
        start=start,
        end=end,
        block_customers=block_customers,
        rates=rates,
    )
    part = target.with_name(f".{target.name}.part")
    done = False
    try:
        rows = _write_blocks(part, fmt, blocks, lines)
        os.replace(part, target)
        done = True
    finally:
        if not done:
            part.unlink(missing_ok=True)
    return rows


def _limited(blocks: Iterator[pl.DataFrame], lines: int | None) -> Iterator[pl.DataFrame]:
    """The blocks, the last one cut so that exactly ``lines`` rows come out (if given)."""
    rows = 0
    for frame in blocks:
        if lines is not None and rows + frame.height >= lines:
            yield frame.head(lines - rows)
            return
        rows += frame.height
        yield frame


def _write_blocks(part: Path, fmt: str, blocks: Iterator[pl.DataFrame], lines: int | None) -> int:
    rows = 0
    if fmt == "xlsx":
        kept: list[pl.DataFrame] = []
        for frame in _limited(blocks, lines):
            rows += frame.height
            if rows > XLSX_MAX_DATA_ROWS:
                raise ConfigError(
                    f"the sample has more than {XLSX_MAX_DATA_ROWS:,} lines, more than an Excel "
                    f"sheet holds ({rows:,} lines so far)",
                    hint="ask for fewer customers (about 9,000 fit) or write .parquet or .csv",
                )
            kept.append(frame)
        pl.concat(kept).write_excel(part, worksheet="transactions", autofit=False)
        return rows
    if fmt == "csv":
        with part.open("wb") as handle:
            for i, frame in enumerate(_limited(blocks, lines)):
                frame.write_csv(handle, include_header=i == 0, datetime_format=CSV_DATETIME_FORMAT)
                rows += frame.height
        return rows
    writer = None
    try:
        for frame in _limited(blocks, lines):
            # Oldest compat level: plain large_string columns any Parquet reader understands.
            table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
            if writer is None:
                writer = pq.ParquetWriter(
                    part, table.schema, compression="zstd", compression_level=3
                )
            writer.write_table(table)
            rows += frame.height
    finally:
        if writer is not None:
            writer.close()
    return rows


def write_default_data(path: str | os.PathLike[str] = DEFAULT_DATA) -> int:
    """(Re)create the embedded default data set: DEFAULT_CUSTOMERS customers, DEFAULT_SEED."""
    return write_transactions(path, customers=DEFAULT_CUSTOMERS, seed=DEFAULT_SEED)


if __name__ == "__main__":
    print(write_default_data())
