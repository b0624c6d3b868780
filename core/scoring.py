"""Customers assigned to a saved model's segments: what ``custseg score`` writes and the
app's Library page shows and exports (one path for both).

:func:`customer_rows` is every customer of a feature table with its segment (empty when
excluded, with the reason); :func:`score_table` assigns them with
:func:`core.clustering.persist.score_customers` and counts each segment's customers.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from core.clustering.persist import score_customers
from core.clustering.result import SegmentationResult
from core.columns import CUSTOMER


def customer_rows(assigned: pl.DataFrame, features: pl.DataFrame) -> pl.DataFrame:
    """OUT of ``segment`` and ``score``: every customer of ``features`` (sorted by id) with
    ``segment`` and ``segment_name`` from ``assigned`` (empty when not assigned: excluded),
    ``excluded``, ``exclusion_reason``, then the features in the feature table's order."""
    flags = ("excluded", "exclusion_reason")
    rest = [c for c in features.columns if c != CUSTOMER and c not in flags]
    table = features.with_columns(pl.col(CUSTOMER).cast(pl.String)).sort(CUSTOMER)
    excluded = pl.col("excluded").fill_null(False) if "excluded" in table.columns else pl.lit(False)
    reason = (
        pl.col("exclusion_reason").cast(pl.String)
        if "exclusion_reason" in table.columns
        else pl.lit(None, dtype=pl.String)
    )
    labels = assigned.select(CUSTOMER, pl.col("segment").cast(pl.Int64), "segment_name")
    return table.join(labels, on=CUSTOMER, how="left", maintain_order="left").select(
        CUSTOMER,
        "segment",
        "segment_name",
        excluded.alias("excluded"),
        pl.when(excluded).then(reason.fill_null("excluded")).alias("exclusion_reason"),
        *rest,
    )


@dataclass(frozen=True)
class Scored:
    """A feature table assigned to a model's segments."""

    rows: pl.DataFrame  # every customer (customer_rows)
    sizes: pl.DataFrame  # segment, segment_name, customers: the segments that got any
    excluded: int

    @property
    def assigned(self) -> int:
        """Customers given a segment (every one not excluded)."""
        return self.rows.height - self.excluded


def score_table(model: SegmentationResult, features: pl.DataFrame) -> Scored:
    """Assign every customer of ``features`` to ``model``'s segments.

    Raises
    ------
    SchemaError, ConfigError
        No ``customer_id``, or a feature of the model missing from the table.
    """
    scores = score_customers(model, features)
    sizes = (
        scores.filter(pl.col("segment").is_not_null())
        .group_by("segment", "segment_name")
        .agg(pl.len().alias("customers"))
        .sort("segment")
    )
    excluded = int(scores.get_column("excluded").sum())
    return Scored(rows=customer_rows(scores, features), sizes=sizes, excluded=excluded)
