"""The Changes charts' one-sentence summaries, from the flows they draw."""

from __future__ import annotations

import datetime as dt

import polars as pl

from core.clustering.config import ModelConfig
from core.migration import (
    Migration,
    MigrationConfig,
    MigrationSummary,
    flows_of,
    segment_order,
    segment_ranks,
    with_moves,
)
from dashapp.pages.changes import figures as fc


def _migration() -> Migration:
    customers = pl.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e", "f"],
            "segment_before": ["Gold", "Gold", "Silver", "(new)", "Silver", "Gold"],
            "segment_after": ["Gold", "Silver", "Silver", "Silver", "Gold", "Gold"],
            "monetary_before": [300.0, 100.0, 20.0, 0.0, 30.0, 50.0],
            "monetary_after": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        }
    )
    ranks = segment_ranks(customers)
    customers = with_moves(customers, ranks)
    order = segment_order(ranks, customers)
    return Migration(
        config=MigrationConfig(cutoff=dt.date(2011, 9, 1), by="kmeans", model=ModelConfig()),
        before_date=dt.date(2011, 9, 1),
        after_date=dt.date(2011, 12, 10),
        customers=customers,
        flows=flows_of(customers, order),
        ranks=ranks,
        order=order,
        colors={"Gold": 0, "Silver": 1},
        summary=MigrationSummary(6, 1, 3, 1, 1, 0, 0, 100.0),
    )


def test_sankey_summary_names_the_largest_flow() -> None:
    m = _migration()
    assert fc.sankey_summary(m, "customers") == (
        "Flows of customers from the segments before 2011-09-01 to the segments after it; the "
        "largest, Gold to Gold, carries 2 customers."
    )
    by_revenue = fc.sankey_summary(m, "revenue")
    assert "Gold to Gold, carries 350 spent before the cutoff" in by_revenue
    assert "new customers spent nothing before it" in by_revenue


def test_matrix_summary_names_the_largest_move() -> None:
    text = fc.matrix_summary(_migration(), "revenue")
    assert text == (
        "Migration matrix, 3 segments before the cutoff by 2 after; the largest move, Gold "
        "to Silver, holds 100 spent before the cutoff."
    )


def test_sankey_links_carry_their_flow_for_clicks() -> None:
    m = _migration()
    trace = fc.sankey(m, "customers").data[0]
    link = trace.link
    pairs = {(c[0], c[1]) for c in trace.customdata}
    assert list(link.label) == [fc.link_label(c[0], c[1]) for c in trace.customdata]
    assert pairs == set(zip(m.flows["from_segment"], m.flows["to_segment"], strict=True))
    assert sum(link.value) == 6


def test_matrix_column_names_stand_at_one_slant() -> None:
    """The segment names above the matrix at 45 degrees: left to Plotly's own angle, a dozen
    of them stood at 30 degrees in two staggered rows, each name over its neighbour's."""
    fig = fc.matrix(_migration(), "customers")
    assert fig.layout.xaxis.side == "top"
    assert fig.layout.xaxis.tickangle == -45
    assert list(fig.data[0].x) == ["Gold", "Silver"]  # after: the new ones are only before
