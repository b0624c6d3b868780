"""What the RFM page shows for a customer table and rule set: no Dash, no Plotly here.

Named segments come from :func:`core.rfm.segment_customers` with a built-in rule set (its own
score bins: the built-in sets are defined on quintiles). The score grid uses the bins the user
picks; when they equal the rule set's, each R x F cell also names its most common segment.
Excluded customers get no score and no segment; they are counted apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from core.rfm import (
    MAX_BINS,
    MIN_BINS,
    RULESETS,
    SEGMENT,
    get_ruleset,
    score_rfm,
    segment_customers,
    sufficiency_warnings,
)

RULESET_KEYS: tuple[str, ...] = tuple(RULESETS)
BIN_CHOICES: tuple[int, ...] = (3, 4, 5, 10)
COLOR_MODES: tuple[str, ...] = ("segment", "revenue")
DEFAULTS: dict[str, object] = {"ruleset": "rfm11", "bins": 5, "color": "segment"}
assert all(MIN_BINS <= b <= MAX_BINS for b in BIN_CHOICES)
# The page's settings (stored in the session state's ``views["rfm"]``) and their valid values.
SETTINGS: tuple[str, ...] = ("ruleset", "bins", "color")
CHOICES: dict[str, Sequence[object]] = {
    "ruleset": RULESET_KEYS,
    "bins": BIN_CHOICES,
    "color": COLOR_MODES,
}


@dataclass(frozen=True)
class RfmView:
    """The named segments of one rule set and the score grid at ``bins``.

    ``segments`` has one row per segment of the rule set, in the rule set's order (empty
    segments included): ``segment``, ``description``, ``color`` (palette index = position in
    the rule set), ``customers``, ``share`` (of scored customers), ``revenue`` (sum of net
    monetary), ``revenue_share``, ``mean_recency``, ``mean_frequency``, ``mean_monetary``.
    ``grid`` has one row per (``r_score``, ``f_score``) cell at ``bins``: ``customers``,
    ``mean_monetary`` and ``top_segment`` (null unless ``bins`` equals the rule set's bins).
    """

    ruleset: str
    ruleset_name: str
    ruleset_bins: int
    bins: int
    scored: int
    excluded: int
    segments: pl.DataFrame = field(compare=False, repr=False)
    grid: pl.DataFrame = field(compare=False, repr=False)
    warnings: tuple[str, ...] = ()


def segment_table(segmented: pl.DataFrame, ruleset_key: str) -> pl.DataFrame:
    """Per-segment figures of a :func:`core.rfm.segment_customers` frame (see :class:`RfmView`)."""
    ruleset = get_ruleset(ruleset_key)
    scored = segmented.filter(pl.col(SEGMENT).is_not_null())
    total_customers = scored.height
    total_revenue = float(scored.get_column("monetary").sum()) if scored.height else 0.0
    stats = scored.group_by(SEGMENT).agg(
        pl.len().cast(pl.Int64).alias("customers"),
        pl.col("monetary").sum().alias("revenue"),
        pl.col("recency_days").mean().alias("mean_recency"),
        pl.col("frequency").mean().alias("mean_frequency"),
        pl.col("monetary").mean().alias("mean_monetary"),
    )
    order = pl.DataFrame(
        {
            SEGMENT: [s.name for s in ruleset.segments],
            "description": [s.description for s in ruleset.segments],
            "color": list(range(len(ruleset.segments))),
        },
        schema={SEGMENT: pl.String(), "description": pl.String(), "color": pl.Int64()},
    )
    return (
        order.join(stats, on=SEGMENT, how="left", maintain_order="left")
        .with_columns(pl.col("customers").fill_null(0), pl.col("revenue").fill_null(0.0))
        .with_columns(
            (pl.col("customers") / total_customers if total_customers else pl.lit(0.0)).alias(
                "share"
            ),
            (pl.col("revenue") / total_revenue if total_revenue else pl.lit(0.0)).alias(
                "revenue_share"
            ),
        )
        .select(
            SEGMENT,
            "description",
            "color",
            "customers",
            "share",
            "revenue",
            "revenue_share",
            "mean_recency",
            "mean_frequency",
            "mean_monetary",
        )
    )


def score_grid(
    features: pl.DataFrame, *, bins: int, segmented: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Customers and mean monetary per R x F cell at ``bins`` (every cell, empty ones with 0).

    With ``segmented`` (scored with the same bins), ``top_segment`` names each cell's most
    common segment (ties: alphabetical first); otherwise it is null.
    """
    scored = score_rfm(features, bins=bins).filter(pl.col("r_score").is_not_null())
    cells = scored.group_by("r_score", "f_score").agg(
        pl.len().cast(pl.Int64).alias("customers"),
        pl.col("monetary").mean().alias("mean_monetary"),
    )
    scores = pl.DataFrame({"r_score": list(range(1, bins + 1))}, schema={"r_score": pl.Int64()})
    grid = (
        scores.join(scores.rename({"r_score": "f_score"}), how="cross")
        .join(cells, on=["r_score", "f_score"], how="left")
        .with_columns(pl.col("customers").fill_null(0))
    )
    if segmented is None:
        return grid.with_columns(pl.lit(None, pl.String()).alias("top_segment")).sort(
            "r_score", "f_score"
        )
    top = (
        segmented.filter(pl.col(SEGMENT).is_not_null())
        .group_by("r_score", "f_score", SEGMENT)
        .agg(pl.len().alias("n"))
        .sort(["n", SEGMENT], descending=[True, False])
        .group_by("r_score", "f_score", maintain_order=True)
        .first()
        .select("r_score", "f_score", pl.col(SEGMENT).alias("top_segment"))
    )
    return grid.join(top, on=["r_score", "f_score"], how="left").sort("r_score", "f_score")


def rfm_view(features: pl.DataFrame, *, ruleset: str, bins: int) -> RfmView:
    """Named segments of ``ruleset`` and the score grid at ``bins`` for a feature table."""
    rules = get_ruleset(ruleset)
    segmented = segment_customers(features, rules)
    scored = int(segmented.get_column(SEGMENT).is_not_null().sum())
    return RfmView(
        ruleset=ruleset,
        ruleset_name=rules.name,
        ruleset_bins=rules.bins,
        bins=bins,
        scored=scored,
        excluded=segmented.height - scored,
        segments=segment_table(segmented, ruleset),
        grid=score_grid(features, bins=bins, segmented=segmented if bins == rules.bins else None),
        warnings=tuple(str(w) for w in sufficiency_warnings(features)),
    )
