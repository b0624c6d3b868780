"""What the Model, Segments and Export pages share: a segment's swatch, the alerts saying why
there is no segmentation to show, and :func:`load_model` (the session's fitted segmentation).

The components are pure (values in, components out); each page's own builders are in its
``layout`` module.
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from core.errors import CustsegError
from dashapp.services import AppServices
from dashapp.shared import components
from dashapp.shared.loading import session_table
from dashapp.shared.modeling import (
    SessionModel,
    background_threshold,
    fit,
    needs_background,
    query_of,
    search_string,
    settings_of,
)
from dashapp.state import SessionState


def swatch(color: str) -> html.Span:
    """A small colour square (the segment's colour)."""
    return html.Span(className="segment-swatch me-1", style={"backgroundColor": color})


def data_problem(error: CustsegError) -> dbc.Alert:
    """The session's data cannot be used yet: the error and a link to the Data page."""
    alert = components.error_alert(error, title="The data is not ready for this view")
    alert.children = [
        *alert.children,
        html.P(
            ["Fix it on the ", dcc.Link("Data page", href="/", className="alert-link"), "."],
            className="mb-0 mt-1",
        ),
    ]
    return alert


def fit_problem(error: CustsegError) -> dbc.Alert:
    """These settings cannot be fitted on this data: the error and what to change."""
    alert = components.error_alert(error, title="This segmentation cannot be computed")
    alert.children = [
        *alert.children,
        html.P(
            [
                "Change the settings on the ",
                dcc.Link("Model page", href="/model", className="alert-link"),
                ".",
            ],
            className="mb-0 mt-1",
        ),
    ]
    return alert


def not_fitted_alert(customers: int, search: str) -> dbc.Alert:
    """A segmentation not fitted yet and too long to fit during a page request (such fits run
    in the background on the Model page)."""
    return dbc.Alert(
        [
            html.Strong("This segmentation is not computed yet. "),
            f"With these settings and {customers:,} customers it takes a while: it runs in "
            "the background on the ",
            dcc.Link("Model page", href=f"/model{search}", className="alert-link"),
            " (with a progress bar); come back when it is done.",
        ],
        color="info",
        className="mb-2",
    )


def load_model(state: SessionState, services: AppServices) -> tuple[SessionModel | None, Any]:
    """The session's named segmentation, or None and the alert saying why there is none."""
    try:
        table = session_table(state, services)
    except CustsegError as exc:
        return None, data_problem(exc)
    settings = settings_of(state)
    if needs_background(table, settings, services, min_seconds=background_threshold()):
        customers = table.n_customers - table.n_excluded
        return None, not_fitted_alert(customers, search_string(query_of(state)))
    try:
        result = fit(table, settings, services, state)
    except CustsegError as exc:
        return None, fit_problem(exc)
    return SessionModel(table=table, settings=settings, result=result), None
