"""Figures of the Segments page (pure builders from :class:`view.SegmentsView`).

The projection, sizes and profiles charts follow the selected segment: the projection draws it
alone (the others wait in the legend), the bars and the heatmap highlight it. The chart
builders themselves are shared with the Export page's report
(:mod:`dashapp.shared.segment_figures`), so both show the same charts.
"""

from __future__ import annotations

import plotly.graph_objects as go

from core.clustering.result import SegmentationResult
from dashapp.pages.segments.view import SegmentsView
from dashapp.shared import segment_figures as fs
from dashapp.shared.figures import empty_figure

PROJECTION_HEIGHT = 460
NO_SEGMENTATION = "No segmentation to show."


def placeholder(message: str = NO_SEGMENTATION, *, height: int | None = None) -> go.Figure:
    """A blank chart saying why there is nothing to show (or that it is loading)."""
    return empty_figure(message) if height is None else empty_figure(message, height=height)


def projection(view: SegmentsView) -> tuple[go.Figure, str | None]:
    """Customers on the first two principal components, one trace per segment.

    Also returns the note saying the points are a sample (None when every customer is drawn).
    """
    return fs.projection_figure(view.result, selected=view.selected, seed=view.seed)


def projection_order(result: SegmentationResult) -> list[int]:
    """Segment of each projection trace, in trace order (what legend events index).

    The order :func:`dashapp.shared.segment_figures.projection_figure` draws: the segments,
    then the noise (HDBSCAN) if any.
    """
    return [*range(result.k), *([-1] if result.segmentation.n_noise else [])]


def projection_summary(view: SegmentsView, figure: go.Figure) -> str:
    """The projection in one sentence (the points ``figure`` draws: a sample above a limit)."""
    drawn = sum(len(trace.x) for trace in figure.data)
    shown = None if drawn == view.result.segmentation.n else drawn
    return fs.projection_summary(view.result, shown)


def sizes(view: SegmentsView) -> go.Figure:
    """Customers and revenue share of each segment (bars carry their segment number)."""
    return fs.sizes_figure(fs.segment_rows(view.result), selected=view.selected)


def sizes_summary(view: SegmentsView) -> str:
    """The sizes chart in one sentence (from the rows its bars draw)."""
    return fs.sizes_summary(fs.segment_rows(view.result))


def profiles_summary(view: SegmentsView) -> str:
    """The profiles heatmap in one sentence (from the matrix it draws)."""
    return fs.profile_summary(view.result, view.features, view.profiles)


def profiles(view: SegmentsView) -> go.Figure:
    """Each segment's feature means, in standard deviations from all clustered customers."""
    return fs.profile_heatmap(
        view.result, view.features, selected=view.selected, matrix=view.profiles
    )
