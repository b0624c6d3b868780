"""Figures of the RFM page (pure builders). Segment colours come from the shared palette, at
the index keyed by the segment's name (the view's ``color`` column), so a name has one colour
in every rule set and on every page."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from core.wording import count
from dashapp.shared.figures import base_layout, empty_figure, segment_color

ROOT = "All scored customers"


def treemap(segments: pl.DataFrame, *, color: str = "segment") -> go.Figure:
    """One tile per non-empty segment, size = customers; colour = segment or revenue share."""
    shown = segments.filter(pl.col("customers") > 0)
    if shown.height == 0:
        return empty_figure("No scored customer.")
    names = shown.get_column("segment").to_list()
    customers = shown.get_column("customers").to_list()
    total = int(sum(customers))
    custom = [
        [share, revenue_share, description]
        for share, revenue_share, description in shown.select(
            "share", "revenue_share", "description"
        ).iter_rows()
    ]
    marker: dict[str, object]
    if color == "revenue":
        # The root tile takes the lowest colour; it is hidden behind its children anyway.
        marker = {
            "colors": [*shown.get_column("revenue_share").to_list(), 0.0],
            "colorscale": "Blues",
            "cmin": 0,
            "showscale": True,
            "colorbar": {"title": {"text": "revenue<br>share"}, "tickformat": ".0%"},
        }
    else:
        marker = {"colors": [segment_color(int(c)) for c in shown.get_column("color")] + ["#fff"]}
    fig = go.Figure(
        go.Treemap(
            labels=[*names, ROOT],
            parents=[ROOT] * len(names) + [""],
            values=[*customers, total],
            branchvalues="total",
            marker=marker,
            customdata=[*custom, [1.0, 1.0, ""]],
            texttemplate=(
                "<b>%{label}</b><br>%{value:,} customers (%{customdata[0]:.1%})"
                "<br>%{customdata[1]:.1%} of revenue"
            ),
            hovertemplate=(
                "<b>%{label}</b><br>%{value:,} customers (%{customdata[0]:.1%})<br>"
                "%{customdata[1]:.1%} of revenue<br>%{customdata[2]}<extra></extra>"
            ),
            root={"color": "#fff"},
            pathbar={"visible": False},
            tiling={"pad": 2},
            sort=False,
        )
    )
    base_layout(fig, height=440)
    return fig


def _discrete_scale(colors: list[str]) -> list[list[object]]:
    """A Plotly colorscale giving value i + 0.5 (of 0..len) the colour ``colors[i]``."""
    m = len(colors)
    scale: list[list[object]] = []
    for i, color in enumerate(colors):
        scale += [[i / m, color], [(i + 1) / m, color]]
    return scale


def score_grid_heatmap(
    grid: pl.DataFrame,
    *,
    bins: int,
    segment_colors: dict[str, int] | None = None,
    ranges: dict[str, dict[int, str]] | None = None,
) -> go.Figure:
    """R (x) by F (y) cells; text = customers.

    With ``segment_colors`` (segment name -> palette index) and a ``top_segment`` per cell,
    each cell takes its most common segment's colour, so the grid shows the rule set's
    layout; otherwise cells are shaded by customers. With ``ranges`` (per dimension ``r``,
    ``f`` and score, the values behind it in words), the axis labels and the hover say what
    each score stands for on this data.
    """
    if grid.height == 0 or int(grid.get_column("customers").sum()) == 0:
        return empty_figure("No scored customer.")
    scores = list(range(1, bins + 1))
    cells = {
        (r, f): (n, m, s)
        for r, f, n, m, s in grid.select(
            "r_score", "f_score", "customers", "mean_monetary", "top_segment"
        ).iter_rows()
    }
    by_segment = segment_colors is not None and grid.get_column("top_segment").null_count() < (
        grid.height
    )
    palette = sorted(set(segment_colors.values())) if by_segment and segment_colors else []
    position = {index: i for i, index in enumerate(palette)}
    zone = None
    if by_segment and segment_colors is not None:
        zone = {name: position[index] + 0.5 for name, index in segment_colors.items()}
    z, text, custom = _cell_matrices(cells, scores, zone, ranges)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=scores,
            y=scores,
            text=text,
            texttemplate="%{text}",
            customdata=custom,
            hovertemplate=(
                "R %{x}%{customdata[3]}, F %{y}%{customdata[4]}: "
                "%{customdata[0]:,} customers<br>"
                "mean monetary %{customdata[1]:,.2f}<br>most common segment: %{customdata[2]}"
                "<extra></extra>"
            ),
            xgap=2,
            ygap=2,
            **_heatmap_colours(palette if by_segment else None),
        )
    )
    base_layout(fig, height=440)
    fig.update_xaxes(
        title_text=f"Recency score (1-{bins}, {bins} = most recent)",
        tickvals=scores,
        # Upright, the values on their own line: rotated, the last label ran past the chart's
        # edge and Plotly left it out.
        tickangle=0,
        ticktext=[
            f"{r}<br>{_range(ranges, 'r', r).replace(' ', '<br>', 1)}" if ranges else str(r)
            for r in scores
        ],
    )
    fig.update_yaxes(
        title_text=f"Frequency score (1-{bins}, {bins} = most orders)",
        tickvals=scores,
        ticktext=[f"{f}: {_range(ranges, 'f', f)}" if ranges else str(f) for f in scores],
    )
    return fig


_Cell = tuple[int, float | None, str | None]  # customers, mean monetary, top segment


def _cell_matrices(
    cells: dict[tuple[int, int], _Cell],
    scores: list[int],
    zone: dict[str, float] | None,
    ranges: dict[str, dict[int, str]] | None,
) -> tuple[list[list[float | None]], list[list[str]], list[list[list[object]]]]:
    """The heatmap's z, text and customdata, F score by row and R score by column: z is the
    customers, or with ``zone`` (segment name -> its colour's z) the top segment's colour."""
    z, text, custom = [], [], []
    for f in scores:
        z_row: list[float | None] = []
        text_row, custom_row = [], []
        for r in scores:
            n, mean, top = cells.get((r, f), (0, None, None))
            if zone is not None:
                z_row.append(zone.get(top) if top else None)
            else:
                z_row.append(n if n else None)
            text_row.append(f"{n:,}" if n else "")
            custom_row.append(
                [
                    n,
                    mean if mean is not None else 0.0,
                    top or "—",
                    f" ({_range(ranges, 'r', r)})" if ranges else "",
                    f" ({_range(ranges, 'f', f)})" if ranges else "",
                ]
            )
        z.append(z_row)
        text.append(text_row)
        custom.append(custom_row)
    return z, text, custom


def _heatmap_colours(palette: list[int] | None) -> dict[str, object]:
    """The cells' colours: one per segment of ``palette`` (palette indices), or shades of
    green by customers (None)."""
    if palette is not None:
        return {
            "colorscale": _discrete_scale([segment_color(i) for i in palette]),
            "zmin": 0,
            "zmax": len(palette),
            "showscale": False,  # text colour: Plotly picks black or white per cell
        }
    return {
        "colorscale": "Greens",
        "colorbar": {"title": {"text": "customers"}, "thickness": 12},
    }


def _range(ranges: dict[str, dict[int, str]] | None, dim: str, score: int) -> str:
    """The values behind ``score`` of ``dim`` ("12–30 days"), or "" without ranges."""
    return "" if ranges is None else ranges[dim].get(score, "—")


def treemap_summary(segments: pl.DataFrame) -> str:
    """The treemap in one sentence: segments drawn, the largest, the one with most revenue."""
    shown = segments.filter(pl.col("customers") > 0)
    if shown.height == 0:
        return "RFM segments: no scored customer."
    largest = shown.sort("customers", descending=True).row(0, named=True)
    richest = shown.sort("revenue_share", descending=True).row(0, named=True)
    text = (
        f"RFM segments: {count(shown.height, 'segment')} with customers; the largest, "
        f"{largest['segment']}, has {count(int(largest['customers']), 'customer')} "
        f"({largest['share']:.0%})"
    )
    if richest["segment"] == largest["segment"]:
        return f"{text} and {richest['revenue_share']:.0%} of the revenue."
    return f"{text}; {richest['segment']} brings the most revenue ({richest['revenue_share']:.0%})."


def score_grid_summary(grid: pl.DataFrame, *, bins: int) -> str:
    """The score grid in one sentence: the cell with the most customers and its segment."""
    cells = grid.filter(pl.col("customers") > 0)
    if cells.height == 0:
        return "Recency x frequency score grid: no scored customer."
    top = cells.sort(["customers", "r_score", "f_score"], descending=[True, False, False]).row(
        0, named=True
    )
    segment = f", mostly {top['top_segment']}" if top.get("top_segment") else ""
    return (
        f"Recency x frequency scores 1 to {bins}; the fullest cell, R {top['r_score']} and "
        f"F {top['f_score']}, holds {count(int(top['customers']), 'customer')}{segment}."
    )
