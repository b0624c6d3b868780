"""Figures of the Data page (pure builders): the cleaning-audit funnel.

The funnel itself is :func:`dashapp.shared.figures.audit_funnel`; this module picks what the
graph shows for a view, including the placeholder while there is no audit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import plotly.graph_objects as go

from dashapp.shared import figures as shared_figures

if TYPE_CHECKING:
    from dashapp.shared.loading import DataView

LOADING = "Loading…"
NO_AUDIT = "Fix the column mapping to see the cleaning audit."


def loading_funnel() -> go.Figure:
    """What the funnel graph shows before the first render."""
    return shared_figures.empty_figure(LOADING)


def audit_funnel(view: DataView) -> go.Figure:
    """Lines left after each cleaning rule, or a note while the mapping does not work."""
    if view.table is None:
        return shared_figures.empty_figure(NO_AUDIT)
    return shared_figures.audit_funnel(view.table.audit)
