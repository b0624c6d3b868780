"""The HTML report's charts (pure builders: results in, ``go.Figure`` out) and their HTML.

The charts are the Model and Segments pages' figures (:mod:`dashapp.shared.segment_figures`),
the projection on a smaller sample so the report file stays light.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
import plotly.io as pio
import polars as pl

from core.clustering.result import SegmentationResult
from core.clustering.select_k import KSelection
from core.clustering.stability import StabilityReport
from dashapp.pages.export.view import REPORT_SCATTER_POINTS
from dashapp.shared import segment_figures as fs
from dashapp.shared.modeling import ModelSettings


def report_charts(
    result: SegmentationResult,
    features: pl.DataFrame,
    settings: ModelSettings,
    selection: KSelection | None,
    stability: StabilityReport | None,
) -> list[tuple[str, go.Figure]]:
    """(heading, figure) of each chart: sizes, projection, profiles, then k choice and
    stability when they were computed."""
    scatter, note = fs.projection_figure(
        result, max_points=REPORT_SCATTER_POINTS, seed=settings.seed
    )
    charts: list[tuple[str, go.Figure]] = [
        ("Size and revenue of each segment", fs.sizes_figure(fs.segment_rows(result))),
        ("Customers in two dimensions" + (f" ({note})" if note else ""), scatter),
        (
            "Profiles (standard deviations from all customers)",
            fs.profile_heatmap(result, features),
        ),
    ]
    if selection is not None:
        charts.append(("Choosing k", fs.k_selection_figure(selection, current_k=settings.k)))
    if stability is not None:
        charts.append(("Stability per segment", fs.stability_figure(stability, result)))
    return charts


def segment_colors(result: SegmentationResult) -> list[str]:
    """Each profiled segment's colour, in profile order (the report's swatches)."""
    return [fs.color_of(result, p.segment) for p in result.profiles]


def chart_html(fig: go.Figure, *, first: bool) -> str:
    """A figure as an HTML fragment; the ``first`` one carries Plotly's library, inlined."""
    return pio.to_html(
        fig,
        include_plotlyjs=first,
        full_html=False,
        config={"displaylogo": False, "responsive": True},
    )


def charts_html(charts: Sequence[tuple[str, go.Figure]]) -> list[tuple[str, str]]:
    """(heading, HTML fragment) of each chart, Plotly inlined once (in the first)."""
    return [(heading, chart_html(fig, first=i == 0)) for i, (heading, fig) in enumerate(charts)]
