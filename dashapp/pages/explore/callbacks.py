"""Explore page: what the customers look like before any model.

Feature distributions (log axes where skewed), Spearman correlations, the R x F score grid
coloured by mean monetary, revenue and orders per month, the top countries and summary
statistics. One render callback reads the session store; the figures' data is computed once
per customer table and cached under its content key (:mod:`dashapp.pages.explore.view`).
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
import polars as pl
from dash import Dash, Input, Output, dcc, html
from dash.development.base_component import Component

from core.cache import get_or_compute, make_key
from core.errors import CustsegError
from dashapp.pages.explore import figures as figures_explore
from dashapp.pages.explore.view import ExploreData, explore_data, feature_label
from dashapp.services import get_services
from dashapp.shared import components, figures, ids
from dashapp.shared.loading import session_table
from dashapp.shared.viewkit import data_problem_alert
from dashapp.state import require_state

PATH = "/explore"
NAME = "Explore"
ORDER = 1
TITLE = "Explore · custseg"
DESCRIPTION = "Distributions, correlations, R x F grid, activity over time, countries."

GRAPH_CONFIG = {"displayModeBar": False}
STAT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("count", "Customers"),
    ("missing", "No value"),
    ("mean", "Mean"),
    ("std", "Std"),
    ("min", "Min"),
    ("p25", "25 %"),
    ("median", "Median"),
    ("p75", "75 %"),
    ("max", "Max"),
    ("skewness", "Skew"),
)


def _graph(graph_id: str) -> dcc.Graph:
    return dcc.Graph(id=graph_id, figure=figures.empty_figure("Loading…"), config=GRAPH_CONFIG)


def layout(**_query: str) -> Component:
    """The page skeleton; :func:`render` fills it from the session store."""
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(html.H4("Explore", className="mb-0"), width="auto"),
                    dbc.Col(html.Div(id=ids.EXPLORE_NOTE), className="align-self-center"),
                ],
                className="mb-2 g-3",
            ),
            html.Div(id=ids.EXPLORE_ALERT),
            components.card(
                "Feature distributions",
                [
                    dcc.Loading(_graph(ids.EXPLORE_DISTRIBUTIONS), type="circle"),
                    html.Div(
                        "Customers per bin. Skewed features (marked log) use a log axis with "
                        'bins of equal width on it; "hidden" counts customers a chart '
                        "cannot show (zero on a log axis, or no value, such as days between "
                        "orders of one-order customers). Hover a bin for its exact count.",
                        className="small text-muted",
                    ),
                ],
            ),
            dbc.Row(
                [
                    dbc.Col(
                        components.card(
                            "Correlations between features (Spearman)",
                            _graph(ids.EXPLORE_CORRELATIONS),
                        ),
                        lg=7,
                    ),
                    dbc.Col(
                        components.card(
                            "Recency x frequency scores, coloured by mean monetary",
                            [
                                _graph(ids.EXPLORE_RF_GRID),
                                html.Div(
                                    "Scores 1-5 (quintiles); the number in a cell counts its "
                                    "customers. Many customers with one order share the lowest "
                                    "frequency score, so some frequency scores can be empty.",
                                    className="small text-muted",
                                ),
                            ],
                        ),
                        lg=5,
                    ),
                ]
            ),
            dbc.Row(
                [
                    dbc.Col(
                        components.card(
                            "Revenue and orders per month",
                            [
                                _graph(ids.EXPLORE_ACTIVITY),
                                html.Div(
                                    id=ids.EXPLORE_ACTIVITY_NOTE, className="small text-muted"
                                ),
                            ],
                        ),
                        lg=7,
                    ),
                    dbc.Col(
                        components.card("Top countries", _graph(ids.EXPLORE_COUNTRIES)),
                        lg=5,
                    ),
                ]
            ),
            components.card("Summary statistics", html.Div(id=ids.EXPLORE_SUMMARY)),
        ]
    )


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if float(value).is_integer():
        return f"{value:.0f}"
    return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.3g}"


def summary_table(summary: pl.DataFrame) -> dbc.Table:
    """The summary statistics as a compact table, one row per feature."""
    header = html.Thead(
        html.Tr(
            [html.Th("Feature")]
            + [html.Th(label, className="text-end") for _, label in STAT_COLUMNS]
        )
    )
    rows = []
    for row in summary.iter_rows(named=True):
        cells = [html.Td(feature_label(row["feature"]))]
        for key, _ in STAT_COLUMNS:
            value = row[key]
            text = f"{value:,}" if key in ("count", "missing") else _number(value)
            cells.append(html.Td(text, className="text-end"))
        rows.append(html.Tr(cells))
    return dbc.Table(
        [header, html.Tbody(rows)],
        size="sm",
        striped=True,
        hover=True,
        responsive=True,
        className="mb-0 summary-table",
        id=ids.EXPLORE_SUMMARY_TABLE,
    )


def headline(data: ExploreData) -> list[Component | str]:
    """Customers described, and the excluded customers left out (with their reasons)."""
    parts: list[Component | str] = [
        html.Strong(f"{data.customers:,}"),
        html.Span(" customers described", className="text-muted"),
    ]
    if data.n_excluded:
        reasons = "; ".join(f"{n:,} {reason}" for reason, n in data.excluded)
        parts += [
            html.Span(" · ", className="text-muted"),
            dbc.Badge(f"{data.n_excluded:,} excluded", color="secondary", className="me-1"),
            html.Span(f"left out of every chart ({reasons})", className="small text-muted"),
        ]
    return parts


def activity_note(data: ExploreData) -> str:
    """What the monthly chart counts, and a partial last month."""
    text = (
        "All kept purchase lines (excluded customers' lines too): revenue = quantity x price, "
        "orders = distinct invoices."
    )
    if data.last_date is not None:
        text += f" Data ends on {data.last_date.isoformat()}, so the last month may be partial."
    return text


def explore_for(data: object) -> ExploreData:
    """The Explore data of the session (cached per customer table)."""
    state = require_state(data)
    services = get_services()
    table = session_table(state, services)
    return get_or_compute(
        services.cache, make_key("explore", table.key), lambda: explore_data(table)
    )


def render(data: object) -> tuple[Any, ...]:
    """Every output of the page, from the session state."""
    try:
        view = explore_for(data)
    except CustsegError as exc:
        message = "Fix the data on the Data page to see this chart."
        return (
            [],
            data_problem_alert(exc),
            *(figures.empty_figure(message) for _ in range(5)),
            "",
            [],
        )
    return render_view(view)


def render_view(view: ExploreData) -> tuple[Any, ...]:
    """The render outputs for computed Explore data (pure: tests call it directly)."""
    return (
        headline(view),
        [],
        figures_explore.distributions(view.histograms),
        figures_explore.correlation_heatmap(view.features, view.correlation),
        figures_explore.rf_grid_heatmap(view.rf_grid),
        figures_explore.activity_over_time(view.monthly),
        figures_explore.countries(view.countries),
        activity_note(view),
        summary_table(view.summary),
    )


RENDER_OUTPUTS = (
    Output(ids.EXPLORE_NOTE, "children"),
    Output(ids.EXPLORE_ALERT, "children"),
    Output(ids.EXPLORE_DISTRIBUTIONS, "figure"),
    Output(ids.EXPLORE_CORRELATIONS, "figure"),
    Output(ids.EXPLORE_RF_GRID, "figure"),
    Output(ids.EXPLORE_ACTIVITY, "figure"),
    Output(ids.EXPLORE_COUNTRIES, "figure"),
    Output(ids.EXPLORE_ACTIVITY_NOTE, "children"),
    Output(ids.EXPLORE_SUMMARY, "children"),
)


def register_callbacks(app: Dash) -> None:
    """Attach this page's callbacks to ``app``."""
    app.callback(*RENDER_OUTPUTS, Input(ids.SESSION, "data"))(render)
