"""Segment names whose words hold for the segment's own figures, and colours keyed by name.

A standard segment name (the 11 of :data:`core.rfm.RFM11`, and the names of
:data:`core.rfm.RF_GRID`, which are aliases of them) says something about its customers:
"Champions" bought recently, buy often and spend a lot. Each name comes with a **test**
(:data:`NAME_TESTS`) on the segment's figures, compared with every customer of the
**reference** (the customers that were clustered or scored):

* the *standing* of a figure is its percentile rank among the reference customers, ties
  counting half (``scipy.stats.percentileofscore(kind="mean") / 100``), oriented so that higher
  is better: for recency, the share of customers who bought longer ago; for orders and spend,
  the share with fewer orders / lower spend; for "new", the share who became customers earlier;
* a condition holds when it holds for **both** the segment's mean and its median (the app shows
  both), e.g. "orders >= 0.6" = mean and median orders beat at least 60% of the customers;
* "bought recently" also needs the mean recency within the latest quarter of the history the
  data covers (the longest tenure), so a segment last seen 474 days ago in 545 days of data
  is never "recent", however many customers lapsed even longer ago.

A segment gets the standard name nearest to its mean RFM scores whose test holds (see
:mod:`core.clustering.profile`); when none holds, a plain name built from its figures
(:func:`descriptive_name`, e.g. "One-time buyers, lapsed 15 months"), which states facts only.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import polars as pl

# Dimensions a name speaks about: (feature column, True when a lower value is "better").
DIMS: Mapping[str, tuple[str, bool]] = MappingProxyType(
    {
        "recency": ("recency_days", True),  # better = bought more recently
        "orders": ("frequency", False),
        "spend": ("monetary", False),
        "new": ("tenure_days", True),  # better = became a customer more recently
    }
)
# "Recently" also means within this share of the history the data covers.
RECENT_HISTORY_SHARE = 0.25
DAYS_PER_MONTH = 30.44

# How a standing is described in words, per dimension (higher, lower).
_WORDS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "recency": ("bought more recently than", "bought longer ago than"),
        "orders": ("more orders than", "fewer orders than"),
        "spend": ("spend more than", "spend less than"),
        "new": ("became customers more recently than", "have been customers longer than"),
    }
)


@dataclass(frozen=True)
class Reference:
    """The customers segments are compared with: sorted values per dimension.

    ``history_days`` is the span the data covers (the longest tenure), for "recently".
    """

    values: Mapping[str, np.ndarray]
    history_days: float

    @classmethod
    def of(cls, frame: pl.DataFrame) -> Reference:
        """The reference made of every row of ``frame`` (feature columns of :data:`DIMS`)."""
        values = {}
        for dim, (column, _) in DIMS.items():
            if column in frame.columns:
                raw = frame.get_column(column).cast(pl.Float64).to_numpy()
                values[dim] = np.sort(raw[np.isfinite(raw)])
        tenure = values.get("new")
        history = float(tenure[-1]) if tenure is not None and tenure.size else float("nan")
        return cls(values=MappingProxyType(values), history_days=history)

    def standing(self, dim: str, value: float) -> float:
        """Share of the reference customers ``value`` beats (ties half), higher = better."""
        sorted_values = self.values.get(dim)
        if sorted_values is None or sorted_values.size == 0 or not np.isfinite(value):
            return float("nan")  # e.g. a table without tenure_days: the condition fails
        n = sorted_values.size
        below = np.searchsorted(sorted_values, value, side="left")
        at_or_below = np.searchsorted(sorted_values, value, side="right")
        share = float(below + at_or_below) / (2.0 * n)
        return 1.0 - share if DIMS[dim][1] else share


@dataclass(frozen=True)
class Figures:
    """A segment's mean and median per dimension (original units; NaN when unknown)."""

    mean: Mapping[str, float]
    median: Mapping[str, float]

    @classmethod
    def of(cls, frame: pl.DataFrame) -> Figures:
        """Mean and median of the rows of ``frame`` (feature columns of :data:`DIMS`)."""
        mean, median = {}, {}
        for dim, (column, _) in DIMS.items():
            if column in frame.columns and frame.height:
                col = frame.get_column(column).cast(pl.Float64)
                mean[dim] = float(col.mean())  # type: ignore[arg-type]
                median[dim] = float(col.median())  # type: ignore[arg-type]
        return cls(mean=MappingProxyType(mean), median=MappingProxyType(median))

    def get(self, stat: str, dim: str) -> float:
        source = self.mean if stat == "mean" else self.median
        return float(source.get(dim, float("nan")))


@dataclass(frozen=True)
class Condition:
    """``low <= standing <= high`` (bounds strict when ``strict``) for mean and median."""

    dim: str
    low: float = 0.0
    high: float = 1.0
    strict: bool = False

    def _within(self, s: float) -> bool:
        if not np.isfinite(s):
            return False
        if self.strict:
            return (self.low == 0.0 or s > self.low) and (self.high == 1.0 or s < self.high)
        return self.low <= s <= self.high

    def holds(self, figures: Figures, ref: Reference) -> bool:
        return all(
            self._within(ref.standing(self.dim, figures.get(stat, self.dim)))
            for stat in ("mean", "median")
        )

    @property
    def bound(self) -> str:
        """The required standing: "> 50%", ">= 60%", "<= 40%", "30%-70%"."""
        if self.high == 1.0:
            return f"{'>' if self.strict else '>='} {self.low:.0%}"
        if self.low == 0.0:
            return f"{'<' if self.strict else '<='} {self.high:.0%}"
        return f"{self.low:.0%}-{self.high:.0%}"

    def explain(self, figures: Figures, ref: Reference) -> str:
        """The condition with the segment's standings, e.g. for a name's reason."""
        higher, _ = _WORDS[self.dim]
        shares = [ref.standing(self.dim, figures.get(s, self.dim)) for s in ("mean", "median")]
        return (
            f"{higher} {_share(shares[0])} (mean) / {_share(shares[1])} (median) of customers "
            f"(needs {self.bound})"
        )


@dataclass(frozen=True)
class RecentWithinHistory:
    """Mean recency within the latest :data:`RECENT_HISTORY_SHARE` of the data's history."""

    dim: str = "recency"

    def holds(self, figures: Figures, ref: Reference) -> bool:
        mean = figures.get("mean", "recency")
        return bool(np.isfinite(mean) and mean <= RECENT_HISTORY_SHARE * ref.history_days)

    def explain(self, figures: Figures, ref: Reference) -> str:
        if not np.isfinite(ref.history_days):
            return "the history the data covers is unknown (no tenure_days)"
        return (
            f"last order {figures.get('mean', 'recency'):,.0f} days ago (mean) in "
            f"{ref.history_days:,.0f} days of history (needs <= {RECENT_HISTORY_SHARE:.0%} of it)"
        )


Test = tuple[Condition | RecentWithinHistory, ...]

_RECENT: Test = (Condition("recency", low=0.5, strict=True), RecentWithinHistory())

# The test of each standard name (README, Definitions, quotes them).
NAME_TESTS: Mapping[str, Test] = MappingProxyType(
    {
        "Champions": (
            Condition("recency", low=0.6),
            RecentWithinHistory(),
            Condition("orders", low=0.6),
            Condition("spend", low=0.6),
        ),
        "Loyal Customers": (
            Condition("recency", low=0.5, strict=True),
            Condition("orders", low=0.6),
            Condition("spend", low=0.5, strict=True),
        ),
        "Potential Loyalist": (
            *_RECENT,
            Condition("orders", low=0.3, high=0.7),
            Condition("spend", low=0.3, high=0.7),
        ),
        "New Customers": (
            *_RECENT,
            Condition("new", low=0.6),
            Condition("orders", high=0.6, strict=True),
        ),
        "Promising": (
            *_RECENT,
            Condition("orders", high=0.5, strict=True),
            Condition("spend", low=0.5, strict=True),
        ),
        "Need Attention": (
            Condition("recency", low=0.3, high=0.7),
            Condition("orders", low=0.5, strict=True),
            Condition("spend", low=0.5, strict=True),
        ),
        "About To Sleep": (
            Condition("recency", low=0.2, high=0.5),
            Condition("orders", high=0.5, strict=True),
        ),
        "At Risk": (
            Condition("recency", high=0.4),
            Condition("orders", low=0.5, strict=True),
            Condition("spend", low=0.5, strict=True),
        ),
        "Can't Lose Them": (
            Condition("recency", high=0.4),
            Condition("orders", low=0.7),
            Condition("spend", low=0.7),
        ),
        "Hibernating": (
            Condition("recency", high=0.4),
            Condition("orders", high=0.5, strict=True),
            Condition("spend", high=0.5, strict=True),
        ),
        "Lost": (
            Condition("recency", high=0.2),
            Condition("orders", high=0.5, strict=True),
        ),
    }
)

# Names of other built-in rule sets that mean a standard name.
ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "Loyal": "Loyal Customers",
        "Can't Lose": "Can't Lose Them",
        "New": "New Customers",
        "About to Sleep": "About To Sleep",
    }
)


def standard_name(name: str) -> str | None:
    """The standard name ``name`` is (or is an alias of), ignoring a ", qualifier"."""
    base = name.split(",", 1)[0].strip()
    base = ALIASES.get(base, base)
    return base if base in NAME_TESTS else None


def failed_conditions(name: str, figures: Figures, ref: Reference) -> list[str]:
    """The conditions of ``name``'s test that ``figures`` fail (empty: the name holds).

    A name that is not standard has no test and never fails.
    """
    base = standard_name(name)
    if base is None:
        return []
    return [c.explain(figures, ref) for c in NAME_TESTS[base] if not c.holds(figures, ref)]


def name_holds(name: str, figures: Figures, ref: Reference) -> bool:
    """Whether every condition of ``name``'s test holds for ``figures``."""
    base = standard_name(name)
    return base is not None and all(c.holds(figures, ref) for c in NAME_TESTS[base])


def why(name: str, figures: Figures, ref: Reference) -> str:
    """Each condition of ``name``'s test with the segment's standings (for the reason)."""
    base = standard_name(name)
    if base is None:
        return ""
    return "; ".join(c.explain(figures, ref) for c in NAME_TESTS[base])


# --- plain names from the figures ------------------------------------------------------------


def _share(value: float) -> str:
    return "n/a" if not np.isfinite(value) else f"{value:.0%}"


def _orders_phrase(figures: Figures) -> str:
    median, mean = figures.get("median", "orders"), figures.get("mean", "orders")
    if not np.isfinite(median):
        return "Customers"
    if median <= 1:
        return "One-time buyers" if mean <= 1.05 else "Mostly one-time buyers"
    return f"{median:g}-order buyers"


def recency_phrase(days: float) -> str:
    """``days`` since the last order in words: "last order 9 days ago", "lapsed 15 months"."""
    if not np.isfinite(days):
        return "last order unknown"
    if days <= 60:
        return f"last order {days:.0f} days ago"
    return f"lapsed {days / DAYS_PER_MONTH:.0f} months"


def descriptive_name(figures: Figures, *, detail: int = 1) -> str:
    """A plain name stating the segment's median figures (``detail`` 2 adds the spend).

    E.g. "One-time buyers, lapsed 15 months" or "6-order buyers, last order 8 days ago,
    spend 1,793". It makes no comparison, so it holds by construction.
    """
    parts = [_orders_phrase(figures), recency_phrase(figures.get("median", "recency"))]
    spend = figures.get("median", "spend")
    if detail >= 2 and np.isfinite(spend):
        parts.append(f"spend {spend:,.0f}")
    return ", ".join(parts)


# --- telling apart segments that share a name ------------------------------------------------

_COMPARATIVES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "recency": ("more recent", "less recent"),
        "orders": ("more orders", "fewer orders"),
        "spend": ("higher spend", "lower spend"),
    }
)


def _figure_phrase(dim: str, value: float) -> str:
    if dim == "recency":
        return recency_phrase(value)
    if dim == "orders":
        return f"{value:g} orders"
    return f"spend {value:,.0f}"


def qualifiers(group: Sequence[Figures], ref: Reference) -> list[str] | None:
    """What tells apart segments sharing a name, one phrase each, or None if nothing does.

    The dimension (recency, orders or spend) on which their median standings differ most;
    for two segments a comparative ("higher spend" / "lower spend", true of both their mean
    and median), for more the median figure ("spend 1,793"), when those differ once rounded.
    """
    spread = {}
    for dim in _COMPARATIVES:
        if dim not in ref.values:
            continue
        standings = [ref.standing(dim, f.get("median", dim)) for f in group]
        if all(np.isfinite(standings)):
            spread[dim] = max(standings) - min(standings)
    for dim in sorted(spread, key=lambda d: -spread[d]):
        sign = -1.0 if DIMS[dim][1] else 1.0  # "better" = larger after the sign
        if len(group) == 2:
            a, b = group
            if all(sign * a.get(s, dim) > sign * b.get(s, dim) for s in ("mean", "median")):
                return list(_COMPARATIVES[dim])
            if all(sign * a.get(s, dim) < sign * b.get(s, dim) for s in ("mean", "median")):
                return list(reversed(_COMPARATIVES[dim]))
            continue
        phrases = [_figure_phrase(dim, f.get("median", dim)) for f in group]
        if len(set(phrases)) == len(phrases):
            return phrases
    return None


# --- colours ---------------------------------------------------------------------------------

# Colour index of each standard name (an index into the app's segment palette).
STANDARD_COLORS: Mapping[str, int] = MappingProxyType(
    {
        "Champions": 0,
        "Need Attention": 1,
        "Loyal Customers": 2,
        "New Customers": 3,
        "Potential Loyalist": 4,
        "At Risk": 5,
        "Promising": 6,
        "Hibernating": 8,
        "Can't Lose Them": 11,
        "Lost": 12,
        "About To Sleep": 14,
    }
)
PALETTE_SIZE = 16
_FREE_COLORS = tuple(i for i in range(PALETTE_SIZE) if i not in STANDARD_COLORS.values())


def color_indices(names: Sequence[str], *, taken: Sequence[int] = ()) -> tuple[int, ...]:
    """A colour index per name, keyed by the name: equal names get equal colours everywhere.

    A standard name (or alias, qualifier ignored) has its fixed index (:data:`STANDARD_COLORS`)
    unless an earlier name of the list (or ``taken``) already uses it; any other name takes
    the first free index from a place chosen by a stable hash of the name. Indices repeat
    only when there are more names than :data:`PALETTE_SIZE`.
    """
    used = set(taken)
    out: list[int] = []
    for name in names:
        base = standard_name(name)
        preferred = STANDARD_COLORS.get(base) if base is not None else None
        if preferred is not None and preferred not in used:
            index = preferred
        else:
            start = zlib.crc32(name.encode("utf-8")) % len(_FREE_COLORS)
            order = [*_FREE_COLORS[start:], *_FREE_COLORS[:start], *STANDARD_COLORS.values()]
            index = next((i for i in order if i not in used), order[0])
        used.add(index)
        out.append(index)
    return tuple(out)
