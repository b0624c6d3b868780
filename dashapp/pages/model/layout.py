"""The Model page's components: the skeleton (:func:`build`) and the panels' contents.

Pure functions of their arguments: no callbacks, no services. The skeleton holds empty panels
and stores; the callbacks fill them from the session state.
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html
from dash.development.base_component import Component

from core import wording
from core.clustering.config import K_MAX, K_MIN, LINKAGES, SCALERS
from core.columns import NUMERIC_FEATURES
from core.errors import CustsegError
from dashapp.pages.model import ids
from dashapp.pages.model.figures import loading_figure
from dashapp.pages.model.view import USE_K_LABEL, KPanel, ModelView, StabilityPanel
from dashapp.shared import chart_text, components, jobs
from dashapp.shared import segment_components as cs
from dashapp.shared.modeling import ALGORITHM_LABELS, SCALER_LABELS, ModelSettings
from dashapp.shared.segment_figures import FEATURE_SHORT, criteria_summary, segment_rows
from dashapp.shared.urlstate import url_components

GRAPH_CONFIG = {"displayModeBar": False}
HDBSCAN_TEXT = (
    "HDBSCAN finds the number of segments itself (segments of at least 1% of the "
    "customers by default); customers it cannot place are left as noise."
)
RATING_COLORS = {"stable": "success", "fairly stable": "warning", "unstable": "danger"}
K_TITLE = "How many segments? Every criterion on one k axis"
STABILITY_TITLE = "Stability: do refits find the same segments?"


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
                    dbc.Col(
                        html.Div(
                            [html.Span(id=ids.MODEL_FITTING), html.Span(id=ids.MODEL_STATUS)],
                            role="status",
                            className="small text-muted",
                        )
                    ),
                    dbc.Col(
                        html.Div(
                            dbc.Button("Retry the fit", id=ids.MODEL_RETRY, size="sm"),
                            id=ids.MODEL_RETRY_WRAP,
                            hidden=True,
                        ),
                        width="auto",
                    ),
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
                                components.loading(html.Div(id=ids.MODEL_SUMMARY)),
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
    return jobs.progress_card(
        wrap_id=ids.MODEL_PROGRESS_WRAP,
        bar_id=ids.MODEL_PROGRESS,
        text_id=ids.MODEL_PROGRESS_TEXT,
        cancel_id=ids.MODEL_CANCEL,
        label="Fit progress",
    )


def k_card() -> dbc.Card:
    """The choose-k panel: the recommendation, its button and every criterion's curve."""
    use_k = dbc.Button(USE_K_LABEL, id=ids.MODEL_USE_K, size="sm", color="success", disabled=True)
    return components.card(
        K_TITLE,
        [
            dbc.Row(
                [dbc.Col(html.Div(id=ids.MODEL_K_TEXT)), dbc.Col(use_k, width="auto")],
                className="g-2",
            ),
            chart_text.described_chart(
                dcc.Graph(id=ids.MODEL_K_FIGURE, figure=loading_figure(), config=GRAPH_CONFIG),
                title=K_TITLE,
            ),
        ],
    )


def stability_card() -> dbc.Card:
    """The stability panel: the rating and the per-segment chart."""
    return components.card(
        STABILITY_TITLE,
        [
            html.Div(id=ids.MODEL_STABILITY),
            chart_text.described_chart(
                dcc.Graph(
                    id=ids.MODEL_STABILITY_FIGURE, figure=loading_figure(), config=GRAPH_CONFIG
                ),
                title=STABILITY_TITLE,
            ),
        ],
    )


# --- panel contents -----------------------------------------------------------------------------


def _label(
    text: str, help_text: str | None = None, *, control: str | dict[str, str] | None = None
) -> html.Label:
    css = "form-label small fw-semibold mb-1 mt-2"
    if control is None:
        return html.Label(text, title=help_text, className=css)
    return components.label_for(text, control, title=help_text, className=css)


def controls(settings: ModelSettings) -> list[Component]:
    """The settings form, showing ``settings`` (pattern-matching ids: ``ids.model_setting``)."""
    hierarchical = settings.algorithm == "hierarchical"
    return [
        _label("Features to cluster on", "Customer features from the Data page's table."),
        dbc.Checklist(
            id=ids.model_setting("features"),
            className="model-features small",
            options=[{"label": FEATURE_SHORT.get(f, f), "value": f} for f in NUMERIC_FEATURES],
            value=list(settings.features),
        ),
        html.Div(
            "Skewed features (spend, orders) are log-transformed automatically.",
            className="form-text",
        ),
        _label("Scaling"),
        dbc.RadioItems(
            id=ids.model_setting("scaler"),
            className="model-scaler small",
            options=[{"label": SCALER_LABELS[s], "value": s} for s in SCALERS],
            value=settings.scaler,
        ),
        _label("Algorithm"),
        dbc.RadioItems(
            id=ids.model_setting("algorithm"),
            className="model-algorithm small",
            options=[{"label": label, "value": a} for a, label in ALGORITHM_LABELS.items()],
            value=settings.algorithm,
        ),
        html.Div(
            [
                _label("Linkage"),
                dbc.RadioItems(
                    id=ids.model_setting("linkage"),
                    className="model-linkage small",
                    options=[{"label": link, "value": link} for link in LINKAGES],
                    value=settings.linkage,
                    inline=True,
                ),
            ],
            style={} if hierarchical else {"display": "none"},
        ),
        _k_and_seed(settings),
        html.Div(
            "HDBSCAN finds k itself." if settings.finds_k else "Press Enter to apply k or seed.",
            className="form-text",
        ),
    ]


def _k_and_seed(settings: ModelSettings) -> Component:
    """The number of segments and the seed, side by side."""
    return dbc.Row(
        [
            dbc.Col(
                [
                    _label("Segments (k)", f"{K_MIN} to {K_MAX}", control=ids.model_setting("k")),
                    dbc.Input(
                        id=ids.model_setting("k"),
                        className="model-k",
                        type="number",
                        min=K_MIN,
                        max=K_MAX,
                        step=1,
                        value=settings.k,
                        debounce=True,
                        disabled=settings.finds_k,
                        size="sm",
                    ),
                ]
            ),
            dbc.Col(
                [
                    _label(
                        "Seed",
                        "Same seed, same data: same segments.",
                        control=ids.model_setting("seed"),
                    ),
                    dbc.Input(
                        id=ids.model_setting("seed"),
                        className="model-seed",
                        type="number",
                        min=0,
                        step=1,
                        value=settings.seed,
                        debounce=True,
                        size="sm",
                    ),
                ]
            ),
        ],
        className="g-2",
    )


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
    result, rows, search = view.result, segment_rows(view.result), view.search
    seg = result.segmentation
    overview = result.overview
    silhouette = "—" if overview.silhouette is None else f"{overview.silhouette:.2f}"
    headline = [
        html.Strong(f"{result.k} segments"),
        f" · {wording.count(overview.customers, 'customer')} clustered",
        f" ({overview.excluded:,} excluded)" if overview.excluded else "",
        f" · {overview.noise:,} as noise" if overview.noise else "",
        f" · silhouette {silhouette}",
    ]
    header = html.Tr(
        [
            html.Th("Segment"),
            html.Th("Customers", className="text-end"),
            html.Th("Share", className="text-end"),
            html.Th("Revenue share", className="text-end"),
        ]
    )
    body = [
        html.Tr(
            [
                html.Td([cs.swatch(r.color), r.name]),
                html.Td(f"{r.customers:,}", className="text-end"),
                html.Td(f"{r.share:.1%}", className="text-end"),
                html.Td(f"{r.revenue_share:.1%}", className="text-end"),
            ]
        )
        for r in rows
    ]
    notes = [html.Li(w) for w in seg.warnings]
    return [
        html.P(headline, className="mb-1", id="model-headline"),
        html.P(
            [seg.description, " · ", overview.silhouette_note],
            className="small text-muted mb-2",
        ),
        html.Ul(notes, className="small text-warning-emphasis mb-2") if notes else html.Div(),
        dbc.Table(
            [html.Thead(header), html.Tbody(body)],
            size="sm",
            className="mb-2",
            id="model-segment-table",
        ),
        dcc.Link(
            "See the segments: charts, cards and customers →",
            href=f"/segments{search}",
            className="btn btn-outline-primary btn-sm",
            id="model-to-segments",
        ),
    ]


def k_text(panel: KPanel | None) -> Any:
    """The recommendation and each criterion's pick, the HDBSCAN note, or the error."""
    if panel is None:
        return ""
    if panel.finds_k:
        return html.P(HDBSCAN_TEXT, className="small mb-0")
    if panel.selection is None:
        assert panel.error is not None  # KPanel: no criteria without a reason
        return components.error_alert(panel.error, title="The k criteria could not be computed")
    selection, current_k = panel.selection, panel.current_k
    parts: list[Component] = []
    if selection.recommended_k is None:
        parts.append(html.P(html.Strong("No k meets the limits."), className="mb-1"))
    else:
        parts.append(
            html.P(
                [
                    "Recommended: ",
                    html.Strong(f"k = {selection.recommended_k}", id="model-recommended-k"),
                    html.Span(f" · in use: k = {current_k}", className="text-muted"),
                ],
                className="mb-1",
            )
        )
    color = "warning" if selection.disagreement else "success"
    parts.append(
        dbc.Alert(
            [
                dbc.Badge(
                    "criteria disagree" if selection.disagreement else "criteria agree",
                    color="warning" if selection.disagreement else "success",
                    text_color="dark" if selection.disagreement else None,
                    className="me-2",
                    id="model-disagreement",
                ),
                selection.reason,
            ],
            color=color,
            className="py-2 small mb-2",
        )
    )
    picks = " · ".join(f"{label} → {k}" for label, k in criteria_summary(selection))
    parts.append(html.P(f"Picks: {picks}", className="small mb-1"))
    notes = f"Sweep: {selection.fit_note}; {selection.silhouette_note}."
    parts.append(html.P(notes, className="small text-muted mb-0"))
    return parts


def stability_text(panel: StabilityPanel | None) -> Any:
    """The stability rating and its summary, or the error."""
    if panel is None:
        return ""
    if panel.report is None:
        assert panel.error is not None  # StabilityPanel: no report without a reason
        return components.error_alert(panel.error, title="Stability not computed")
    report = panel.report
    return [
        html.P(
            [
                dbc.Badge(
                    report.rating,
                    color=RATING_COLORS.get(report.rating, "secondary"),
                    text_color="dark" if report.rating == "fairly stable" else None,
                    className="me-2 fs-6",
                    id="model-stability-rating",
                ),
                html.Span(
                    f"ARI {report.ari_mean:.2f} ± {report.ari_std:.2f} over {report.n_runs} "
                    f"{report.method} refits",
                    className="text-muted small",
                ),
            ],
            className="mb-1",
        ),
        html.P(panel.summary, className="small mb-0", id="model-stability-summary"),
    ]


__all__ = [
    "GRAPH_CONFIG",
    "RATING_COLORS",
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
