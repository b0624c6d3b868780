"""RFM charts in one sentence, from the frames the charts draw (hand-made)."""

from __future__ import annotations

import polars as pl

from dashapp.pages.rfm import figures


def segments(customers: list[int], revenue: list[float]) -> pl.DataFrame:
    names = [f"Group {i}" for i in range(len(customers))]
    total, money = sum(customers), sum(revenue)
    return pl.DataFrame(
        {
            "segment": names,
            "customers": customers,
            "share": [c / total for c in customers],
            "revenue_share": [r / money for r in revenue],
            "description": [""] * len(names),
            "color": list(range(len(names))),
        }
    )


def test_treemap_summary_names_the_largest_and_the_richest() -> None:
    frame = segments([0, 120, 40, 40], [0.0, 100.0, 700.0, 200.0])
    fig = figures.treemap(frame)
    tiles = dict(zip(fig.data[0].labels[:-1], fig.data[0].values[:-1], strict=True))
    text = figures.treemap_summary(frame)
    assert text.startswith(f"RFM segments: {len(tiles)} segments with customers")
    assert "the largest, Group 1, has 120 customers (60%)" in text
    assert "Group 2 brings the most revenue (70%)" in text
    same = figures.treemap_summary(segments([10, 90], [1.0, 9.0]))
    assert same.endswith("Group 1, has 90 customers (90%) and 90% of the revenue.")


def test_score_grid_summary_names_the_fullest_cell() -> None:
    grid = pl.DataFrame(
        {
            "r_score": [1, 3, 5],
            "f_score": [1, 2, 5],
            "customers": [12, 80, 9],
            "mean_monetary": [1.0, 2.0, 3.0],
            "top_segment": ["Lost", "Need Attention", "Champions"],
        }
    )
    text = figures.score_grid_summary(grid, bins=5)
    assert "the fullest cell, R 3 and F 2, holds 80 customers, mostly Need Attention" in text
    empty = grid.with_columns(pl.lit(0).alias("customers"))
    assert figures.score_grid_summary(empty, bins=5).endswith("no scored customer.")
