"""Component builders of the Model, Segments and Export views (pure: values in, components out)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import polars as pl
from dash import dcc, html
from dash.development.base_component import Component

from core.clustering.config import K_MAX, K_MIN, LINKAGES, SCALERS
from core.clustering.result import SegmentationResult
from core.clustering.select_k import KSelection
from core.clustering.stability import StabilityReport
from core.columns import NUMERIC_FEATURES
from core.errors import CustsegError
from dashapp.services import AppServices
from dashapp.shared import components, ids
from dashapp.shared.customer_grid import column_defs
from dashapp.shared.loading import session_table
from dashapp.shared.modeling import (
    ALGORITHM_LABELS,
    SCALER_LABELS,
    ModelSettings,
    SessionModel,
    background_threshold,
    fit,
    needs_background,
    query_of,
    search_string,
    settings_of,
)
from dashapp.shared.segment_figures import FEATURE_SHORT, SegmentRow, color_of, criteria_summary
from dashapp.state import SessionState

RATING_COLORS = {"stable": "success", "fairly stable": "warning", "unstable": "danger"}


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
    """A large segmentation that is not fitted yet (fits of this size run on the Model page)."""
    return dbc.Alert(
        [
            html.Strong("This segmentation is not computed yet. "),
            f"With {customers:,} customers it runs in the background on the ",
            dcc.Link("Model page", href=f"/model{search}", className="alert-link"),
            " (with a progress bar); come back when it is done.",
        ],
        color="info",
        className="mb-2",
    )


# --- Model page ---------------------------------------------------------------------------------


def _label(text: str, help_text: str | None = None) -> html.Label:
    return html.Label(text, title=help_text, className="form-label small fw-semibold mb-1 mt-2")


def model_controls(settings: ModelSettings) -> list[Component]:
    """The settings form, showing ``settings`` (pattern-matching ids, see ``ids.model_setting``)."""
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
        dbc.Row(
            [
                dbc.Col(
                    [
                        _label("Segments (k)", f"{K_MIN} to {K_MAX}"),
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
                        _label("Seed", "Same seed, same data: same segments."),
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
        ),
        html.Div(
            "HDBSCAN finds k itself." if settings.finds_k else "Press Enter to apply k or seed.",
            className="form-text",
        ),
    ]


def model_summary(
    result: SegmentationResult, rows: Sequence[SegmentRow], search: str
) -> list[Component]:
    """Headline figures of the fit and a small table of its segments."""
    seg = result.segmentation
    overview = result.overview
    silhouette = "—" if overview.silhouette is None else f"{overview.silhouette:.2f}"
    headline = [
        html.Strong(f"{result.k} segments"),
        f" · {overview.customers:,} customers clustered",
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
                html.Td([swatch(r.color), r.name]),
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


def k_text(selection: KSelection, current_k: int) -> list[Component]:
    """The recommendation, why, each criterion's pick, and the disagreement flag."""
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
    parts.append(html.P(selection.silhouette_note, className="small text-muted mb-0"))
    return parts


def stability_text(report: StabilityReport) -> list[Component]:
    """The overall rating as a badge, and the plain-language summary."""
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
        html.P(report.summary, className="small mb-0"),
    ]


# --- Segments page --------------------------------------------------------------------------------


def segment_cards(result: SegmentationResult, *, selected: int | None) -> list[Component]:
    """One card per segment: editable name, reason, insight, action, top products, exemplars."""
    cards = []
    for profile in result.profiles:
        s = profile.segment
        color = color_of(result, s)
        products = [
            html.Li(
                [
                    html.Code(p.product, className="me-1"),
                    p.description or "",
                    html.Span(f" · {p.share:.1%}", className="text-muted"),
                ]
            )
            for p in profile.top_products
        ]
        exemplars = [
            dbc.Button(
                customer,
                id=ids.segment_exemplar(customer),
                color="link",
                size="sm",
                className="p-0 me-2 exemplar",
                title="Show this customer's orders",
            )
            for customer in profile.exemplars
        ]
        is_selected = selected == s
        cards.append(
            dbc.Col(
                dbc.Card(
                    [
                        dbc.CardHeader(
                            [
                                swatch(color),
                                dbc.Input(
                                    id=ids.segment_name(s),
                                    value=result.names[s],
                                    debounce=True,
                                    maxLength=60,
                                    size="sm",
                                    className="segment-name-input",
                                    placeholder="Segment name",
                                ),
                            ],
                            className="d-flex align-items-center gap-2",
                        ),
                        dbc.CardBody(
                            [
                                html.P(
                                    [
                                        html.Strong(f"{profile.customers:,}"),
                                        f" customers ({profile.share:.0%}) · ",
                                        html.Strong(f"{profile.revenue_share:.0%}"),
                                        " of revenue",
                                    ],
                                    className="mb-1",
                                ),
                                html.P(
                                    [
                                        html.Span("Why this name: ", className="fw-semibold"),
                                        profile.name_reason,
                                        html.Span(
                                            f" (automatic name: {profile.auto_name})"
                                            if profile.auto_name != result.names[s]
                                            else "",
                                        ),
                                    ],
                                    className="small text-muted mb-1",
                                ),
                                html.P(profile.insight, className="small mb-1"),
                                html.P(
                                    [
                                        html.Span("Action: ", className="fw-semibold"),
                                        profile.action,
                                    ],
                                    className="small mb-1",
                                ),
                                html.Div(
                                    [
                                        html.Div("Top products", className="small fw-semibold"),
                                        html.Ul(products, className="small mb-1 ps-3"),
                                    ]
                                )
                                if products
                                else html.Div(),
                                html.Div(
                                    [
                                        html.Span(
                                            "Typical customers: ", className="small fw-semibold"
                                        ),
                                        *exemplars,
                                    ],
                                    className="mb-2",
                                ),
                                dbc.Button(
                                    "Selected: showing its customers"
                                    if is_selected
                                    else "Show these customers",
                                    id=ids.segment_pick(s),
                                    size="sm",
                                    color="primary" if is_selected else "outline-primary",
                                    className="segment-pick",
                                ),
                            ]
                        ),
                    ],
                    className="h-100 segment-card"
                    + (" segment-card-selected" if is_selected else ""),
                    style={"borderTop": f"4px solid {color}"},
                ),
                md=6,
                xl=4,
                className="mb-3",
            )
        )
    return cards


def customer_grid() -> dag.AgGrid:
    """The customer grid (infinite row model: rows come from the server block by block)."""
    return dag.AgGrid(
        id=ids.SEGMENTS_GRID,
        rowModelType="infinite",
        columnDefs=column_defs(),
        defaultColDef={
            "resizable": True,
            "sortable": True,
            "filter": True,
            "floatingFilter": False,
            "minWidth": 90,
            "filterParams": {"buttons": ["reset"], "maxNumConditions": 2},
        },
        dashGridOptions={
            "cacheBlockSize": 200,
            "maxBlocksInCache": 20,
            "maxConcurrentDatasourceRequests": 1,
            "rowBuffer": 20,
            "infiniteInitialRowCount": 1,
            "suppressFieldDotNotation": True,
            "animateRows": False,
        },
        getRowId="params.data.customer_id",
        columnSize="sizeToFit",
        style={"height": "420px"},
        className="ag-theme-alpine",
    )


def _order_column(column: str, numeric: bool) -> dict[str, Any]:
    col: dict[str, Any] = {"field": column, "headerName": column.replace("_", " ").capitalize()}
    if numeric:
        col["type"] = "numericColumn"
    if column in ("price", "amount"):
        col["valueFormatter"] = {"function": "d3.format(',.2f')(params.value)"}
    if column == "description":
        col["minWidth"] = 220
    return col


def orders_view(
    customer: str, lines: pl.DataFrame, summary: dict[str, Any], segment: str
) -> list[Component]:
    """A customer's purchase lines (newest first) with their totals."""
    shown = lines.with_columns(pl.col("order_date").dt.to_string("%Y-%m-%d %H:%M"))
    orders = summary["orders"]
    return [
        html.P(
            [
                "Customer ",
                html.Strong(customer, id="orders-customer"),
                f" · {segment} · {orders:,} orders, {summary['lines']:,} purchase lines, "
                f"{summary['amount']:,.2f} spent",
            ],
            className="mb-2",
        ),
        html.Div(
            f"Showing the newest {lines.height:,} lines."
            if lines.height < summary["lines"]
            else "",
            className="small text-muted",
        ),
        dag.AgGrid(
            id="segments-orders-grid",
            rowData=shown.to_dicts(),
            columnDefs=[_order_column(c, lines.schema[c].is_numeric()) for c in lines.columns],
            defaultColDef={"resizable": True, "sortable": True, "filter": True},
            dashGridOptions={"animateRows": False, "suppressFieldDotNotation": True},
            columnSize="sizeToFit",
            style={"height": "300px"},
        ),
    ]


def load_model(state: SessionState, services: AppServices) -> tuple[SessionModel | None, Any]:
    """The session's named segmentation, or None and the alert saying why there is none."""
    try:
        table = session_table(state, services)
    except CustsegError as exc:
        return None, data_problem(exc)
    settings = settings_of(state)
    if needs_background(table, settings, services, min_customers=background_threshold()):
        customers = table.n_customers - table.n_excluded
        return None, not_fitted_alert(customers, search_string(query_of(state)))
    try:
        result = fit(table, settings, services, state)
    except CustsegError as exc:
        return None, fit_problem(exc)
    return SessionModel(table=table, settings=settings, result=result), None
