"""What the Value page shows, from a prediction (:class:`core.clv.ClvResult`), the customer
features and the session's segments: pure and Dash-free.

"Valuable but slipping": the customers in the top fifth of past spend (net monetary value,
the features' ``monetary``) whose ``p_alive`` is below :data:`core.clv.LIKELY_LOST`, by past
spend, largest first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl

from core import clv
from core.columns import CUSTOMER
from dashapp.shared.value import segment_value

TOP_SPEND_SHARE = 0.2  # "valuable": the top fifth of past spend
SHOWN_SLIPPING = 20  # rows of the list shown on the page (the download has them all)
P_ALIVE_BINS = 20
SLIPPING_COLUMNS: tuple[str, ...] = (
    CUSTOMER,
    "segment_name",
    "monetary",
    "frequency",
    "recency",
    "p_alive",
    "expected_orders",
    "predicted_revenue",
)


@dataclass(frozen=True)
class ValueView:
    """The page's data for one prediction."""

    result: clv.ClvResult = field(repr=False)
    by_segment: pl.DataFrame | None = field(repr=False)  # None: no segmentation yet
    slipping: pl.DataFrame = field(repr=False)
    p_alive_counts: tuple[tuple[float, float, int], ...]  # (from, to, customers)
    colors: Mapping[int, str] = field(default_factory=dict)  # segment -> colour

    @property
    def likely_lost(self) -> int:
        return int((self.result.table["p_alive"] < clv.LIKELY_LOST).sum())

    @property
    def predicted_revenue(self) -> float:
        return float(self.result.table["predicted_revenue"].sum())


def slipping_customers(
    clv_table: pl.DataFrame, features: pl.DataFrame, assignments: pl.DataFrame | None
) -> pl.DataFrame:
    """The valuable customers likely lost (:data:`SLIPPING_COLUMNS`), by past spend."""
    spend = features.select(CUSTOMER, "monetary")
    frame = clv_table.join(spend, on=CUSTOMER, how="inner")
    if frame.height == 0:
        threshold = 0.0
    else:
        threshold = float(frame["monetary"].quantile(1 - TOP_SPEND_SHARE, "lower") or 0.0)
    names = (
        assignments.select(CUSTOMER, "segment_name")
        if assignments is not None
        else pl.DataFrame(schema={CUSTOMER: pl.String(), "segment_name": pl.String()})
    )
    return (
        frame.filter((pl.col("monetary") >= threshold) & (pl.col("p_alive") < clv.LIKELY_LOST))
        .join(names, on=CUSTOMER, how="left")
        .sort(["monetary", CUSTOMER], descending=[True, False])
        .select(SLIPPING_COLUMNS)
    )


def p_alive_histogram(p_alive: pl.Series) -> tuple[tuple[float, float, int], ...]:
    """Customers per p_alive bin of width 1 / :data:`P_ALIVE_BINS` (the last includes 1)."""
    index = (p_alive * P_ALIVE_BINS).floor().clip(0, P_ALIVE_BINS - 1).cast(pl.Int64)
    counts = index.value_counts().sort(index.name)
    found = dict(zip(counts[index.name].to_list(), counts["count"].to_list(), strict=True))
    return tuple(
        (i / P_ALIVE_BINS, (i + 1) / P_ALIVE_BINS, int(found.get(i, 0)))
        for i in range(P_ALIVE_BINS)
    )


def value_view(
    result: clv.ClvResult,
    features: pl.DataFrame,
    assignments: pl.DataFrame | None,
    *,
    colors: Mapping[int, str] | None = None,
) -> ValueView:
    """The page's data; ``assignments`` (customer, segment, segment_name) or None, and the
    segments' colours."""
    by_segment = None if assignments is None else segment_value(result.table, assignments)
    return ValueView(
        result=result,
        by_segment=by_segment,
        slipping=slipping_customers(result.table, features, assignments),
        p_alive_counts=p_alive_histogram(result.table["p_alive"]),
        colors=dict(colors or {}),
    )
