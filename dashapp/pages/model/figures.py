"""The Model page's charts, from :class:`~dashapp.pages.model.view.ModelView` (pure Plotly).

The charts themselves are shared with the Export page's report
(:mod:`dashapp.shared.segment_figures`); here is what the page shows when there is nothing to
draw, and why.
"""

from __future__ import annotations

import plotly.graph_objects as go

from dashapp.pages.model.view import ModelView
from dashapp.shared import segment_figures
from dashapp.shared.figures import empty_figure

LOADING = "Loading…"  # what the charts show until the first callback fills them


def loading_figure() -> go.Figure:
    """The placeholder chart of the page skeleton."""
    return empty_figure(LOADING)


def k_figure(view: ModelView) -> go.Figure:
    """Every k criterion on one k axis (current and recommended k marked), or a message."""
    panel = view.k_panel
    if panel is None:
        return empty_figure(view.empty_message)
    if panel.finds_k:
        return empty_figure("No k to choose: HDBSCAN finds k itself.", height=160)
    if panel.selection is None:
        return empty_figure("No criteria to show.")
    return segment_figures.k_selection_figure(panel.selection, current_k=panel.current_k)


def stability_figure(view: ModelView) -> go.Figure:
    """Per-segment bootstrap Jaccard against the rating bands, or a message."""
    if view.stability is None or view.result is None:
        return empty_figure(view.empty_message)
    if view.stability.report is None:
        return empty_figure("Stability could not be computed.")
    return segment_figures.stability_figure(view.stability.report, view.result)


def k_summary(view: ModelView) -> str:
    """The choose-k chart in one sentence (empty when it shows a message instead)."""
    panel = view.k_panel
    if panel is None or panel.finds_k or panel.selection is None:
        return ""
    return segment_figures.k_summary(panel.selection, panel.current_k)


def stability_summary(view: ModelView) -> str:
    """The stability chart in one sentence (empty when it shows a message instead)."""
    if view.stability is None or view.result is None or view.stability.report is None:
        return ""
    return segment_figures.stability_summary(view.stability.report, view.result)


__all__ = ["k_figure", "k_summary", "loading_figure", "stability_figure", "stability_summary"]
