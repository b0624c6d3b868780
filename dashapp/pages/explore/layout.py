"""Components of the Explore page: the skeleton (:func:`build`) and the parts the render callback
fills in (headline, summary table). Pure functions of the view data: no callbacks, no services.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
import polars as pl
from dash import dcc, html
from dash.development.base_component import Component

from core.wording import noun
from dashapp.pages.explore import ids
from dashapp.pages.explore.view import (
    STAT_COLUMNS,
    ExploreData,
    exclusion_text,
    summary_rows,
)
from dashapp.shared import chart_text, components, figures

GRAPH_CONFIG = {"displayModeBar": False}


TITLES: dict[str, str] = {
    ids.EXPLORE_DISTRIBUTIONS: "Feature distributions",
    ids.EXPLORE_CORRELATIONS: "Correlations between features (Spearman)",
    ids.EXPLORE_RF_GRID: "Recency x frequency scores, coloured by mean monetary",
    ids.EXPLORE_ACTIVITY: "Revenue and orders per month",
    ids.EXPLORE_COUNTRIES: "Top countries",
}


def graph(graph_id: str) -> Component:
    """An empty chart saying it is loading, until the render callback fills it (and its
    one-sentence summary)."""
    return chart_text.described_chart(
        dcc.Graph(id=graph_id, figure=figures.empty_figure("Loading…"), config=GRAPH_CONFIG),
        title=TITLES[graph_id],
    )


def _header() -> Component:
    return dbc.Row(
        [
            dbc.Col(html.H4("Explore", className="mb-0"), width="auto"),
            dbc.Col(html.Div(id=ids.EXPLORE_NOTE), className="align-self-center"),
        ],
        className="mb-2 g-3",
    )


def _distributions_card() -> Component:
    return components.card(
        TITLES[ids.EXPLORE_DISTRIBUTIONS],
        [
            components.loading(graph(ids.EXPLORE_DISTRIBUTIONS)),
            html.Div(
                "Customers per bin. Skewed features (marked log) use a log axis with "
                'bins of equal width on it; "hidden" counts customers a chart '
                "cannot show (zero on a log axis, or no value, such as days between "
                "orders of one-order customers). Hover a bin for its exact count.",
                className="small text-muted",
            ),
        ],
    )


def _correlations_row() -> Component:
    """Spearman correlations beside the R x F score grid."""
    return dbc.Row(
        [
            dbc.Col(
                components.card(
                    TITLES[ids.EXPLORE_CORRELATIONS],
                    graph(ids.EXPLORE_CORRELATIONS),
                ),
                lg=7,
            ),
            dbc.Col(
                components.card(
                    TITLES[ids.EXPLORE_RF_GRID],
                    [
                        graph(ids.EXPLORE_RF_GRID),
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
    )


def _activity_row() -> Component:
    """Revenue and orders per month beside the top countries."""
    return dbc.Row(
        [
            dbc.Col(
                components.card(
                    TITLES[ids.EXPLORE_ACTIVITY],
                    [
                        graph(ids.EXPLORE_ACTIVITY),
                        html.Div(id=ids.EXPLORE_ACTIVITY_NOTE, className="small text-muted"),
                    ],
                ),
                lg=7,
            ),
            dbc.Col(
                components.card(TITLES[ids.EXPLORE_COUNTRIES], graph(ids.EXPLORE_COUNTRIES)),
                lg=5,
            ),
        ]
    )


def build(**_query: str) -> Component:
    """The page skeleton; the render callback fills it from the session store.

    The query parameters are accepted (Dash passes the URL's) and unused.
    """
    return html.Div(
        [
            _header(),
            html.Div(id=ids.EXPLORE_ALERT),
            _distributions_card(),
            _correlations_row(),
            _activity_row(),
            components.card("Summary statistics", html.Div(id=ids.EXPLORE_SUMMARY)),
        ]
    )


def summary_table(summary: pl.DataFrame) -> dbc.Table:
    """The summary statistics as a compact table, one row per feature."""
    header = html.Thead(
        html.Tr(
            [html.Th("Feature")]
            + [html.Th(label, className="text-end") for _, label in STAT_COLUMNS]
        )
    )
    rows = [
        html.Tr([html.Td(label)] + [html.Td(text, className="text-end") for text in cells])
        for label, cells in summary_rows(summary)
    ]
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
        html.Span(f" {noun(data.customers, 'customer')} described", className="text-muted"),
    ]
    if data.n_excluded:
        parts += [
            html.Span(" · ", className="text-muted"),
            dbc.Badge(f"{data.n_excluded:,} excluded", color="secondary", className="me-1"),
            html.Span(
                f"left out of every chart ({exclusion_text(data)})", className="small text-muted"
            ),
        ]
    return parts
