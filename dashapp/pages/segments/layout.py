"""Components of the Segments page: the skeleton (:func:`build`) and what the callbacks put
in it. Pure functions: no callbacks, no services.

The skeleton holds placeholders only; the callbacks fill it from the session state: linked
charts (projection, sizes, profiles), a card per segment with its editable name, the customer
grid (rows served block by block) and the clicked customer's orders.
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html
from dash.development.base_component import Component

from core.clustering.result import SegmentationResult
from dashapp.pages.segments import figures, ids
from dashapp.pages.segments.view import CustomerOrders, SegmentsView
from dashapp.shared import components
from dashapp.shared import customer_grid as grid
from dashapp.shared import segment_components as cs
from dashapp.shared.segment_figures import color_of
from dashapp.shared.urlstate import url_components

GRAPH_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["toImage"]}
STATIC_GRAPH = {"displayModeBar": False}
LOADING = "Loading…"


def build(**query: Any) -> Component:
    """The page skeleton (``query``: the URL's parameters, applied to the session state)."""
    return html.Div(
        [
            url_components(
                ids.SEGMENTS_URL_QUERY, ids.SEGMENTS_URL_SEARCH, ids.SEGMENTS_URL_SINK, query
            ),
            dcc.Store(id=ids.SEGMENTS_NAMES_REV),
            dcc.Store(id=ids.SEGMENTS_LASSO),
            html.Div(id=ids.SEGMENTS_GRID_SINK, hidden=True),
            dbc.Row(
                [
                    dbc.Col(html.H4("Segments", className="mb-0"), width="auto"),
                    dbc.Col(html.Div(id=ids.SEGMENTS_SUMMARY, className="small")),
                ],
                className="mb-2 g-3 align-items-center",
            ),
            html.Div(id=ids.SEGMENTS_ALERT),
            html.Div(id=ids.SEGMENTS_NAME_ALERT),
            dbc.Row([dbc.Col(_projection_card(), xl=7), dbc.Col(_sizes_card(), xl=5)]),
            components.card(
                "Profiles: average of each feature, in standard deviations from all customers",
                dcc.Graph(
                    id=ids.SEGMENTS_HEATMAP,
                    figure=figures.placeholder(LOADING),
                    config=STATIC_GRAPH,
                ),
            ),
            html.H5("Segment cards", className="mt-2"),
            dbc.Row(id=ids.SEGMENTS_CARDS),
            dbc.Row([dbc.Col(_customers_card(), xl=12), dbc.Col(_orders_card(), xl=12)]),
        ]
    )


def _projection_card() -> dbc.Card:
    return components.card(
        "Customers in two dimensions (PCA of the clustering features)",
        [
            html.Div(id=ids.SEGMENTS_SCATTER_NOTE, className="small text-muted"),
            dcc.Loading(
                dcc.Graph(
                    id=ids.SEGMENTS_SCATTER,
                    figure=figures.placeholder(LOADING, height=figures.PROJECTION_HEIGHT),
                    config=GRAPH_CONFIG,
                ),
                type="circle",
            ),
            html.Div(
                "Click a legend entry to show one segment; draw a lasso "
                "to list the customers inside; click a point for its orders.",
                className="form-text",
            ),
        ],
    )


def _sizes_card() -> dbc.Card:
    return components.card(
        "Size and revenue of each segment",
        [
            dcc.Graph(
                id=ids.SEGMENTS_SIZES,
                figure=figures.placeholder(LOADING),
                config=STATIC_GRAPH,
            ),
            html.Div("Click a bar to select its segment.", className="form-text"),
        ],
    )


def _customers_card() -> dbc.Card:
    controls = dbc.Row(
        [
            dbc.Col(
                dbc.Input(
                    id=ids.SEGMENTS_SEARCH,
                    type="search",
                    placeholder="Search id, segment or country…",
                    debounce=0.4,
                    maxLength=grid.MAX_SEARCH,
                    size="sm",
                ),
                md=5,
            ),
            dbc.Col(html.Div(id=ids.SEGMENTS_SELECTION, className="small pt-1")),
            dbc.Col(
                dbc.Button(
                    "Show all segments",
                    id=ids.SEGMENTS_CLEAR,
                    size="sm",
                    color="secondary",
                    outline=True,
                ),
                width="auto",
            ),
        ],
        className="g-2 mb-2 align-items-center",
    )
    return components.card(
        "Customers",
        [
            controls,
            cs.customer_grid(),
            html.Div(
                "Sort and filter with the column headers; click a row for the customer's orders.",
                className="form-text",
            ),
        ],
    )


def _orders_card() -> dbc.Card:
    return components.card(
        "Orders of the customer",
        dcc.Loading(
            html.Div(
                html.P("Click a customer to see their orders.", className="text-muted mb-0"),
                id=ids.SEGMENTS_ORDERS,
            ),
            type="dot",
        ),
    )


# --- what the callbacks show ----------------------------------------------------------------


def summary_line(view: SegmentsView) -> list[Component | str]:
    """The line under the title: segments, customers, settings and a link to change them."""
    return [
        html.Span(f"{view.summary} · "),
        html.Span(view.settings, className="text-muted"),
        " · ",
        dcc.Link("change on the Model page", href=f"/model{view.model_search}"),
    ]


def segment_cards(view: SegmentsView) -> list[Component]:
    """One card per segment (editable name, reason, insight, action, products, exemplars)."""
    return cs.segment_cards(view.result, selected=view.selected)


def selection_caption(
    result: SegmentationResult, selection: grid.Selection, count: int
) -> list[Any]:
    """What the grid lists, in words."""
    parts: list[Any] = [html.Strong(f"{count:,}"), " customers"]
    if selection.segment is not None:
        color = color_of(result, selection.segment)
        parts += [" in ", cs.swatch(color), html.Strong(result.name_of(selection.segment))]
    else:
        parts.append(" in all segments")
    if selection.region_ids is not None:
        parts.append(f" · inside the drawn region ({len(selection.region_ids):,} customers)")
    if selection.search:
        parts.append(f" · matching “{selection.search}”")
    return parts


def grid_refused_alert(error: Exception) -> dbc.Alert:
    """The grid asked for rows the server does not serve (a hand-made or stale request)."""
    return components.message_alert(
        f"The grid request was refused ({error}); reset the column filters.", color="warning"
    )


def orders_panel(shown: CustomerOrders) -> list[Component]:
    """A customer's purchase lines (newest first) with their totals."""
    return cs.orders_view(shown.customer, shown.lines, shown.summary, shown.segment)


def orders_unavailable_alert(message: str) -> dbc.Alert:
    """Why a customer's orders are not shown (a yellow alert)."""
    return components.message_alert(message, color="warning")


def name_saved_alert(segment: int, name: str) -> dbc.Alert:
    """Confirmation of a saved segment name."""
    return components.message_alert(
        [
            "Saved: segment ",
            html.Strong(str(segment)),
            " is now ",
            html.Strong(name),
            ". The name stays with this segment when you refit.",
        ],
        color="success",
    )
