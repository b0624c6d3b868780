"""What the RFM page shows for a customer table and rule set: no Dash, no Plotly here.

Named segments come from :func:`core.rfm.segment_customers` with a built-in rule set (its own
score bins: the built-in sets are defined on quintiles). The score grid uses the bins the user
picks; when they equal the rule set's, each R x F cell also names its most common segment.
Excluded customers get no score and no segment; they are counted apart.

Scores are relative (quintiles by default), so the view also carries the values behind each
score on this data (:func:`core.rfm.score_ranges`), and checks each segment's name against its
figures with the tests of :mod:`core.naming`: on some data a rule-set segment does not fit
its name (on a file where half the customers bought once, "Can't Lose Them" holds one-time
buyers), and the page says so with a plain name from the figures. Colours are keyed by the
segment's name (:func:`core.naming.color_indices`), as on the Model and Segments pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from core.codec import register_dataclass
from core.naming import Figures, Reference, color_indices, descriptive_name, failed_conditions
from core.rfm import (
    MAX_BINS,
    MIN_BINS,
    RULESETS,
    SEGMENT,
    RuleSet,
    get_ruleset,
    score_ranges,
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
    segments included): ``segment``, ``description``, ``color`` (palette index keyed by the
    name), ``customers``, ``share`` (of scored customers), ``revenue`` (sum of net
    monetary), ``revenue_share``, ``mean_recency``, ``mean_frequency``, ``mean_monetary``,
    ``misfit`` (the first condition of the name's test its figures fail, null when the name
    fits or the segment is empty) and ``plain_name`` (a name from its figures, when it does not
    fit). ``grid`` has one row per (``r_score``, ``f_score``) cell at ``bins``: ``customers``,
    ``mean_monetary`` and ``top_segment`` (null unless ``bins`` equals the rule set's bins).
    ``ranges`` has the values behind each score at ``bins`` (:func:`core.rfm.score_ranges`).
    """

    ruleset: str
    ruleset_name: str
    ruleset_bins: int
    bins: int
    scored: int
    excluded: int
    segments: pl.DataFrame = field(compare=False, repr=False)
    grid: pl.DataFrame = field(compare=False, repr=False)
    ranges: pl.DataFrame = field(compare=False, repr=False)
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
            SEGMENT: list(ruleset.segment_names),
            "description": [s.description for s in ruleset.segments],
            "color": list(color_indices(ruleset.segment_names)),
        },
        schema={SEGMENT: pl.String(), "description": pl.String(), "color": pl.Int64()},
    ).join(name_checks(scored, ruleset), on=SEGMENT, how="left", maintain_order="left")
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
            "misfit",
            "plain_name",
        )
    )


def _span(low: float | None, high: float | None, units: tuple[str, str]) -> str:
    """A score's range of values, "12–30 days", "1 order"; "—" when no customer has it."""
    if low is None or high is None:
        return "—"

    def fmt(v: float) -> str:
        return f"{v:,.0f}" if float(v).is_integer() or abs(v) >= 100 else f"{v:,.2f}"

    text = fmt(low) if low == high else f"{fmt(low)}–{fmt(high)}"
    return f"{text} {units[0] if text == '1' else units[1]}".strip()


def range_texts(ranges: pl.DataFrame) -> dict[str, dict[int, str]]:
    """Per dimension (r, f, m) and score, the values behind it in words ("12–30 days")."""
    units = {"r": ("day", "days"), "f": ("order", "orders"), "m": ("", "")}
    return {
        d: {
            int(row["score"]): _span(row[f"{d}_min"], row[f"{d}_max"], unit)
            for row in ranges.iter_rows(named=True)
        }
        for d, unit in units.items()
    }


def name_checks(scored: pl.DataFrame, ruleset: RuleSet) -> pl.DataFrame:
    """Per non-empty segment of ``ruleset``: ``misfit`` and ``plain_name`` (see :class:`RfmView`).

    The segment's figures are compared with every scored customer (the rows of ``scored``).
    """
    ref = Reference.of(scored)
    rows = []
    for name in ruleset.segment_names:
        members = scored.filter(pl.col(SEGMENT) == name)
        if members.height == 0:
            continue
        figures = Figures.of(members)
        failed = failed_conditions(name, figures, ref)
        rows.append((name, failed[0], descriptive_name(figures)) if failed else (name, None, None))
    return pl.DataFrame(
        rows,
        schema={SEGMENT: pl.String(), "misfit": pl.String(), "plain_name": pl.String()},
        orient="row",
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
        ranges=score_ranges(features, bins=bins),
        warnings=tuple(str(w) for w in sufficiency_warnings(features)),
    )


# Cached in the app's shared folder as data (core.codec), not pickled.
register_dataclass(RfmView)
