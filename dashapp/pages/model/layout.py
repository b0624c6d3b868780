"""The Model page's components: the skeleton (:func:`build`) and the panels' contents.

Pure functions of their arguments: no callbacks, no services. The skeleton holds empty panels
and stores; the callbacks fill them from the session state.
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html
from dash.development.base_component import Component

from core.errors import CustsegError
from dashapp.pages.model import ids
from dashapp.pages.model.figures import loading_figure
from dashapp.pages.model.view import USE_K_LABEL, KPanel, ModelView, StabilityPanel
from dashapp.shared import components
from dashapp.shared import segment_components as cs
from dashapp.shared.modeling import ModelSettings
from dashapp.shared.segment_figures import segment_rows
from dashapp.shared.urlstate import url_components

GRAPH_CONFIG = {"displayModeBar": False}
HDBSCAN_TEXT = (
    "HDBSCAN finds the number of segments itself (segments of at least 1% of the "
    "customers by default); customers it cannot place are left as noise."
)


def build(**query: Any) -> Component:
    """The page skeleton (``query``: the URL's parameters, applied to the session once)."""
    return html.Div(
        [
            url_components(ids.MODEL_URL_QUERY, ids.MODEL_URL_SEARCH, ids.MODEL_URL_SINK, query),
            dcc.Store(id=ids.MODEL_JOB),
            dcc.Store(id=ids.MODEL_JOB_DONE),
            dbc.Row(
                [
                    dbc.Col(html.H4("Model", className="mb-0"), width="auto"),
                    dbc.Col(html.Div(id=ids.MODEL_STATUS, className="small text-muted")),
                ],
                className="mb-2 g-3 align-items-center",
            ),
            html.Div(id=ids.MODEL_ALERT),
            dbc.Row(
                [
                    dbc.Col(
                        components.card("Settings", html.Div(id=ids.MODEL_CONTROLS)),
                        lg=4,
                        xl=3,
                    ),
                    dbc.Col(
                        [
                            progress_card(),
                            components.card(
                                "Segmentation",
                                dcc.Loading(html.Div(id=ids.MODEL_SUMMARY), type="dot"),
                            ),
                            k_card(),
                            stability_card(),
                        ],
                        lg=8,
                        xl=9,
                    ),
                ]
            ),
        ]
    )


def progress_card() -> html.Div:
    """The background fit's progress bar and Cancel button (hidden unless a job runs)."""
    bar = dbc.Progress(
        id=ids.MODEL_PROGRESS,
        value=0,
        striped=True,
        animated=True,
        style={"height": "1.2rem"},
    )
    cancel = dbc.Button(
        "Cancel", id=ids.MODEL_CANCEL, color="secondary", size="sm", outline=True, disabled=True
    )
    body = dbc.CardBody(
        [
            html.Div(id=ids.MODEL_PROGRESS_TEXT, className="small mb-1"),
            dbc.Row(
                [dbc.Col(bar), dbc.Col(cancel, width="auto")],
                className="align-items-center g-2",
            ),
        ]
    )
    return html.Div(
        dbc.Card(body, className="mb-3 border-primary"),
        id=ids.MODEL_PROGRESS_WRAP,
        style={"display": "none"},
    )


def k_card() -> dbc.Card:
    """The choose-k panel: the recommendation, its button and every criterion's curve."""
    use_k = dbc.Button(USE_K_LABEL, id=ids.MODEL_USE_K, size="sm", color="success", disabled=True)
    return components.card(
        "How many segments? Every criterion on one k axis",
        [
            dbc.Row(
                [dbc.Col(html.Div(id=ids.MODEL_K_TEXT)), dbc.Col(use_k, width="auto")],
                className="g-2",
            ),
            dcc.Graph(id=ids.MODEL_K_FIGURE, figure=loading_figure(), config=GRAPH_CONFIG),
        ],
    )


def stability_card() -> dbc.Card:
    """The stability panel: the rating and the per-segment chart."""
    return components.card(
        "Stability: do refits find the same segments?",
        [
            html.Div(id=ids.MODEL_STABILITY),
            dcc.Graph(id=ids.MODEL_STABILITY_FIGURE, figure=loading_figure(), config=GRAPH_CONFIG),
        ],
    )


# --- panel contents -----------------------------------------------------------------------------


def controls(settings: ModelSettings) -> list[Component]:
    """The settings form, showing ``settings``."""
    return cs.model_controls(settings)


def setting_refused(error: CustsegError) -> Component:
    """Why a value of the form was not applied."""
    return components.error_alert(error, title="That setting was not applied")


def fit_problem(error: CustsegError) -> Component:
    """These settings cannot be fitted on this data: the error and what to change."""
    return cs.fit_problem(error)


def summary(view: ModelView) -> Any:
    """The fit's headline and segment table, or why there is none."""
    if view.data_error is not None:
        return cs.data_problem(view.data_error)
    if view.fit_error is not None:
        return fit_problem(view.fit_error)
    assert view.result is not None  # ModelView: no error means a result
    return cs.model_summary(view.result, segment_rows(view.result), view.search)


def k_text(panel: KPanel | None) -> Any:
    """The recommendation and each criterion's pick, the HDBSCAN note, or the error."""
    if panel is None:
        return ""
    if panel.finds_k:
        return html.P(HDBSCAN_TEXT, className="small mb-0")
    if panel.selection is None:
        assert panel.error is not None  # KPanel: no criteria without a reason
        return components.error_alert(panel.error, title="The k criteria could not be computed")
    return cs.k_text(panel.selection, panel.current_k)


def stability_text(panel: StabilityPanel | None) -> Any:
    """The stability rating and its summary, or the error."""
    if panel is None:
        return ""
    if panel.report is None:
        assert panel.error is not None  # StabilityPanel: no report without a reason
        return components.error_alert(panel.error, title="Stability not computed")
    return cs.stability_text(panel.report)


__all__ = [
    "GRAPH_CONFIG",
    "build",
    "controls",
    "fit_problem",
    "k_card",
    "k_text",
    "progress_card",
    "setting_refused",
    "stability_card",
    "stability_text",
    "summary",
]
