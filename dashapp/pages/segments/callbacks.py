"""Segments page: linked charts, segment cards with editable names, customers and their orders.

Everything shows the session's segmentation (settings from the Model page, names from the
session's name store). Linked selection:

* clicking a bar, a legend entry of the projection (it shows that segment alone) or a card's
  button selects a segment: it is stored in the session state (and the URL), and every chart,
  the cards and the customer grid follow;
* a lasso or box on the projection narrows the grid to the customers inside it (all of them,
  not only the sampled points drawn); the region's coordinates are kept in a store;
* clicking a customer (grid row, projection point or a card's exemplar) shows their orders.

The grid uses AG Grid's infinite row model: :func:`grid_rows` serves each block of rows with the
grid's sort and filters applied on the server (:mod:`dashapp.shared.customer_grid`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from typing import Any

import dash_bootstrap_components as dbc
import numpy as np
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.development.base_component import Component
from dash.exceptions import PreventUpdate

from core.errors import ConfigError
from dashapp.services import get_services
from dashapp.shared import components, figures, ids
from dashapp.shared import customer_grid as grid
from dashapp.shared import segment_components as cs
from dashapp.shared import segment_figures as fs
from dashapp.shared.modeling import (
    SessionModel,
    query_of,
    rename_segment,
    search_string,
    selected_segment,
    with_segment,
)
from dashapp.shared.segment_components import load_model
from dashapp.shared.urlstate import register_url_sync, url_components
from dashapp.state import SessionState, require_state

log = logging.getLogger(__name__)

PATH = "/segments"
NAME = "Segments"
ORDER = 4
TITLE = "Segments · custseg"
DESCRIPTION = "Segment charts, cards with names and actions, customers and their orders."

GRAPH_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["toImage"]}
MAX_CUSTOMER_ID = 64

# Purges the grid's row cache so it asks the server again (selection, region or search changed).
REFRESH_GRID_JS = """
function() {
    if (window.dash_ag_grid && window.dash_ag_grid.getApiAsync) {
        window.dash_ag_grid.getApiAsync("GRID_ID").then(function(api) {
            api.purgeInfiniteCache();
        }).catch(function() {});
    }
    return window.dash_clientside.no_update;
}
""".replace("GRID_ID", ids.SEGMENTS_GRID)


def layout(**query: Any) -> Component:
    """The page skeleton; callbacks fill it from the session state."""
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
            dbc.Row(
                [
                    dbc.Col(
                        components.card(
                            "Customers in two dimensions (PCA of the clustering features)",
                            [
                                html.Div(
                                    id=ids.SEGMENTS_SCATTER_NOTE, className="small text-muted"
                                ),
                                dcc.Loading(
                                    dcc.Graph(
                                        id=ids.SEGMENTS_SCATTER,
                                        figure=figures.empty_figure("Loading…", height=460),
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
                        ),
                        xl=7,
                    ),
                    dbc.Col(
                        components.card(
                            "Size and revenue of each segment",
                            [
                                dcc.Graph(
                                    id=ids.SEGMENTS_SIZES,
                                    figure=figures.empty_figure("Loading…"),
                                    config={"displayModeBar": False},
                                ),
                                html.Div(
                                    "Click a bar to select its segment.", className="form-text"
                                ),
                            ],
                        ),
                        xl=5,
                    ),
                ]
            ),
            components.card(
                "Profiles: average of each feature, in standard deviations from all customers",
                dcc.Graph(
                    id=ids.SEGMENTS_HEATMAP,
                    figure=figures.empty_figure("Loading…"),
                    config={"displayModeBar": False},
                ),
            ),
            html.H5("Segment cards", className="mt-2"),
            dbc.Row(id=ids.SEGMENTS_CARDS),
            dbc.Row(
                [
                    dbc.Col(
                        components.card(
                            "Customers",
                            [
                                dbc.Row(
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
                                        dbc.Col(
                                            html.Div(
                                                id=ids.SEGMENTS_SELECTION, className="small pt-1"
                                            )
                                        ),
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
                                ),
                                cs.customer_grid(),
                                html.Div(
                                    "Sort and filter with the column headers; click a row for "
                                    "the customer's orders.",
                                    className="form-text",
                                ),
                            ],
                        ),
                        xl=12,
                    ),
                    dbc.Col(
                        components.card(
                            "Orders of the customer",
                            dcc.Loading(
                                html.Div(
                                    html.P(
                                        "Click a customer to see their orders.",
                                        className="text-muted mb-0",
                                    ),
                                    id=ids.SEGMENTS_ORDERS,
                                ),
                                type="dot",
                            ),
                        ),
                        xl=12,
                    ),
                ]
            ),
        ]
    )


# --- loading the session's segmentation -----------------------------------------------------------


def _valid_selected(state: SessionState, model: SessionModel) -> int | None:
    segment = selected_segment(state)
    if segment is None:
        return None
    if segment == -1:
        return -1 if model.result.segmentation.n_noise else None
    return segment if segment < model.result.k else None


RENDER_OUTPUTS = (
    Output(ids.SEGMENTS_SUMMARY, "children"),
    Output(ids.SEGMENTS_ALERT, "children"),
    Output(ids.SEGMENTS_SCATTER, "figure"),
    Output(ids.SEGMENTS_SCATTER_NOTE, "children"),
    Output(ids.SEGMENTS_SIZES, "figure"),
    Output(ids.SEGMENTS_HEATMAP, "figure"),
    Output(ids.SEGMENTS_CARDS, "children"),
    Output(ids.SEGMENTS_LASSO, "data"),
)


def render(data: object, _names_rev: object = None) -> tuple[Any, ...]:
    """Every chart and card for the session's segmentation and selected segment."""
    state = require_state(data)
    model, problem = load_model(state, get_services())
    if model is None:
        empty = figures.empty_figure("No segmentation to show.")
        return ("", problem, empty, "", empty, empty, [], None)
    result = model.result
    selected = _valid_selected(state, model)
    scatter, note = fs.projection_figure(result, selected=selected, seed=model.settings.seed)
    rows = fs.segment_rows(result)
    summary = [
        html.Span(f"{result.k} segments of {result.overview.customers:,} customers · "),
        html.Span(model.settings.describe(), className="text-muted"),
        " · ",
        dcc.Link("change on the Model page", href=f"/model{search_string(query_of(state))}"),
    ]
    return (
        summary,
        [],
        scatter,
        note or "",
        fs.sizes_figure(rows, selected=selected),
        fs.profile_heatmap(result, model.table.features, selected=selected),
        cs.segment_cards(result, selected=selected),
        None,
    )


# --- selection -----------------------------------------------------------------------------------


def _segment_from_restyle(restyle: object, order: Sequence[int]) -> int | None:
    """The segment a legend click isolated (None: all shown again); PreventUpdate otherwise."""
    if not isinstance(restyle, list) or len(restyle) != 2 or not isinstance(restyle[0], dict):
        raise PreventUpdate
    visible = restyle[0].get("visible")
    traces = restyle[1]
    if not isinstance(visible, list) or not isinstance(traces, list) or len(visible) != len(traces):
        raise PreventUpdate
    state = [True] * len(order)
    for value, index in zip(visible, traces, strict=True):
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(order):
            raise PreventUpdate
        state[index] = value is True
    shown = [order[i] for i, on in enumerate(state) if on]
    if len(shown) == len(order):
        return None
    if len(shown) == 1:
        return shown[0]
    raise PreventUpdate


def triggered() -> tuple[object, object]:
    """The id and value of the input that fired the running callback."""
    fired = ctx.triggered
    value = fired[0].get("value") if fired else None
    return ctx.triggered_id, value


def select_segment(
    bar_click: object,
    restyle: object,
    _pick_clicks: object,
    _clear_clicks: object,
    data: object,
    *,
    trigger: tuple[object, object] | None = None,
) -> Any:
    """Store the segment chosen by a bar, a legend entry, a card button or "show all".

    ``trigger`` is the (id, value) of the input that fired (read from the callback context when
    None; tests pass it).
    """
    state = require_state(data)
    trigger_id, trigger_value = trigger if trigger is not None else triggered()
    if trigger_id is None:
        raise PreventUpdate
    model, _problem = load_model(state, get_services())
    if model is None:
        raise PreventUpdate
    result = model.result
    order = fs.projection_order(result)
    current = _valid_selected(state, model)
    toggle = True
    if trigger_id == ids.SEGMENTS_CLEAR:
        segment: int | None = None
    elif trigger_id == ids.SEGMENTS_SIZES:
        segment = _clicked_segment(bar_click)
    elif trigger_id == ids.SEGMENTS_SCATTER:
        segment = _segment_from_restyle(restyle, order)
        toggle = False
    elif isinstance(trigger_id, dict) and trigger_id.get("type") == ids.SEGMENT_PICK_TYPE:
        if not trigger_value:
            raise PreventUpdate  # a re-rendered button, not a click
        segment = trigger_id.get("segment")  # type: ignore[assignment]
    else:
        raise PreventUpdate
    if segment is not None and (
        isinstance(segment, bool) or not isinstance(segment, int) or segment not in order
    ):
        raise PreventUpdate
    if toggle and segment is not None and segment == current:
        segment = None
    if segment == current:
        raise PreventUpdate
    return with_segment(state, segment).to_json()


def _clicked_segment(click: object) -> int:
    try:
        value = click["points"][0]["customdata"][0]  # type: ignore[index]
    except (TypeError, KeyError, IndexError) as exc:
        raise PreventUpdate from exc
    if isinstance(value, bool) or not isinstance(value, int):
        raise PreventUpdate
    return value


def store_region(selected: object, data: object) -> Any:
    """Keep the lasso or box drawn on the projection (coordinates only), or clear it."""
    state = require_state(data)
    try:
        region = grid.parse_region(selected)
    except grid.GridRequestError as exc:
        log.info("refused selection region: %s", exc)
        raise PreventUpdate from exc
    if region is None:
        return None
    model, _problem = load_model(state, get_services())
    if model is None:
        raise PreventUpdate
    return {"key": model.result.key, "region": region}


def _region_ids(region_store: object, model: SessionModel) -> tuple[str, ...] | None:
    if not isinstance(region_store, dict) or region_store.get("key") != model.result.key:
        return None
    try:
        region = grid.parse_region({"lassoPoints": region_store.get("region")})
    except grid.GridRequestError:
        return None
    if region is None:
        return None
    return tuple(grid.region_members(model.result, region))


def selection_caption(model: SessionModel, selection: grid.Selection, count: int) -> list[Any]:
    """What the grid lists, in words."""
    parts: list[Any] = [html.Strong(f"{count:,}"), " customers"]
    if selection.segment is not None:
        color = fs.color_of(model.result, selection.segment)
        parts += [" in ", cs.swatch(color), html.Strong(model.result.name_of(selection.segment))]
    else:
        parts.append(" in all segments")
    if selection.region_ids is not None:
        parts.append(f" · inside the drawn region ({len(selection.region_ids):,} customers)")
    if selection.search:
        parts.append(f" · matching “{selection.search}”")
    return parts


def grid_rows(request: object, data: object, region_store: object, search: object) -> Any:
    """One block of the customer grid for the current selection, sort and filters."""
    if request is None:
        raise PreventUpdate
    state = require_state(data)
    model, _problem = load_model(state, get_services())
    if model is None:
        return {"rowData": [], "rowCount": 0}, ""
    try:
        selection = grid.Selection(
            segment=_valid_selected(state, model),
            region_ids=_region_ids(region_store, model),
            search=grid.parse_search(search),
        )
        frame = grid.select(grid.members_frame(model.result, model.table.features), selection)
        response = grid.rows_block(frame, request)
    except grid.GridRequestError as exc:
        log.info("refused grid request: %s", exc)
        return {"rowData": [], "rowCount": 0}, components.message_alert(
            f"The grid request was refused ({exc}); reset the column filters.", color="warning"
        )
    return response, selection_caption(model, selection, frame.height)


# --- orders --------------------------------------------------------------------------------------


def _customer_of(trigger: tuple[object, object], cell: object, point: object) -> str:
    trigger_id, trigger_value = trigger
    if trigger_id == ids.SEGMENTS_GRID:
        value = cell.get("rowId") if isinstance(cell, dict) else None
    elif trigger_id == ids.SEGMENTS_SCATTER:
        try:
            value = point["points"][0]["customdata"][0]  # type: ignore[index]
        except (TypeError, KeyError, IndexError) as exc:
            raise PreventUpdate from exc
    elif isinstance(trigger_id, dict) and trigger_id.get("type") == ids.SEGMENT_EXEMPLAR_TYPE:
        if not trigger_value:
            raise PreventUpdate  # a re-rendered button, not a click
        value = trigger_id.get("customer")
    else:
        raise PreventUpdate
    if not isinstance(value, str) or not 0 < len(value) <= MAX_CUSTOMER_ID:
        raise PreventUpdate
    return value


def show_orders(
    cell: object,
    point: object,
    _exemplar_clicks: object,
    data: object,
    *,
    trigger: tuple[object, object] | None = None,
) -> Any:
    """The clicked customer's purchase lines (from the session's cleaned lines, on the server)."""
    customer = _customer_of(trigger if trigger is not None else triggered(), cell, point)
    state = require_state(data)
    model, problem = load_model(state, get_services())
    if model is None:
        return problem
    seg = model.result.segmentation
    position = int(np.searchsorted(seg.customer_ids, customer))
    if position >= seg.n or seg.customer_ids[position] != customer:
        return components.message_alert(
            f"Customer {customer!r} is not in this segmentation.", color="warning"
        )
    purchases = model.table.purchases
    if purchases is None:
        return components.message_alert("The order lines are not available.", color="warning")
    segment = model.result.name_of(int(seg.labels[position]))
    lines = grid.customer_orders(purchases, customer)
    return cs.orders_view(customer, lines, grid.orders_summary(purchases, customer), segment)


# --- names --------------------------------------------------------------------------------------


def rename(
    values: Sequence[object],
    name_ids: Sequence[object],
    data: object,
    *,
    trigger: object = None,
) -> tuple[Any, Any]:
    """Save an edited segment name (core rules: unique, 1-60 characters).

    ``trigger`` is the id of the edited field (from the callback context when None).
    Returns (names revision for the render callback, alert).
    """
    if trigger is None:
        trigger = triggered()[0]
    if not isinstance(trigger, dict) or trigger.get("type") != ids.SEGMENT_NAME_TYPE:
        raise PreventUpdate
    if not isinstance(values, list | tuple) or not isinstance(name_ids, list | tuple):
        raise PreventUpdate
    position = next((i for i, nid in enumerate(name_ids) if nid == trigger), None)
    if position is None or position >= len(values):
        raise PreventUpdate
    segment, value = trigger.get("segment"), values[position]
    state = require_state(data)
    services = get_services()
    model, _problem = load_model(state, services)
    if model is None or isinstance(segment, bool) or not isinstance(segment, int):
        raise PreventUpdate
    if not 0 <= segment < model.result.k:
        raise PreventUpdate
    if isinstance(value, str) and " ".join(value.split()) == model.result.names[segment]:
        raise PreventUpdate
    try:
        renamed = rename_segment(model, services, state, segment, value)  # type: ignore[arg-type]
    except ConfigError as exc:
        return no_update, components.error_alert(exc, title="The name was not saved")
    revision = hashlib.sha256("\x1f".join(renamed.names).encode()).hexdigest()[:16]
    alert = components.message_alert(
        [
            "Saved: segment ",
            html.Strong(str(segment)),
            " is now ",
            html.Strong(renamed.names[segment]),
            ". The name stays with this segment when you refit.",
        ],
        color="success",
    )
    return revision, alert


def register_callbacks(app: Dash) -> None:
    """Attach this page's callbacks to ``app``."""
    register_url_sync(
        app,
        query_id=ids.SEGMENTS_URL_QUERY,
        search_id=ids.SEGMENTS_URL_SEARCH,
        sink_id=ids.SEGMENTS_URL_SINK,
        alert_id=ids.SEGMENTS_ALERT,
    )
    app.callback(
        *RENDER_OUTPUTS, Input(ids.SESSION, "data"), Input(ids.SEGMENTS_NAMES_REV, "data")
    )(render)
    app.callback(
        Output(ids.SESSION, "data", allow_duplicate=True),
        Input(ids.SEGMENTS_SIZES, "clickData"),
        Input(ids.SEGMENTS_SCATTER, "restyleData"),
        Input({"type": ids.SEGMENT_PICK_TYPE, "segment": ALL}, "n_clicks"),
        Input(ids.SEGMENTS_CLEAR, "n_clicks"),
        State(ids.SESSION, "data"),
        prevent_initial_call=True,
    )(select_segment)
    app.callback(
        Output(ids.SEGMENTS_LASSO, "data", allow_duplicate=True),
        Input(ids.SEGMENTS_SCATTER, "selectedData"),
        State(ids.SESSION, "data"),
        prevent_initial_call=True,
    )(store_region)
    app.callback(
        Output(ids.SEGMENTS_GRID, "getRowsResponse"),
        Output(ids.SEGMENTS_SELECTION, "children"),
        Input(ids.SEGMENTS_GRID, "getRowsRequest"),
        State(ids.SESSION, "data"),
        State(ids.SEGMENTS_LASSO, "data"),
        State(ids.SEGMENTS_SEARCH, "value"),
        prevent_initial_call=True,
    )(grid_rows)
    app.clientside_callback(
        REFRESH_GRID_JS,
        Output(ids.SEGMENTS_GRID_SINK, "children"),
        Input(ids.SESSION, "data"),
        Input(ids.SEGMENTS_LASSO, "data"),
        Input(ids.SEGMENTS_SEARCH, "value"),
        Input(ids.SEGMENTS_NAMES_REV, "data"),
        prevent_initial_call=True,
    )
    app.callback(
        Output(ids.SEGMENTS_ORDERS, "children"),
        Input(ids.SEGMENTS_GRID, "cellClicked"),
        Input(ids.SEGMENTS_SCATTER, "clickData"),
        Input({"type": ids.SEGMENT_EXEMPLAR_TYPE, "customer": ALL}, "n_clicks"),
        State(ids.SESSION, "data"),
        prevent_initial_call=True,
    )(show_orders)
    app.callback(
        Output(ids.SEGMENTS_NAMES_REV, "data"),
        Output(ids.SEGMENTS_NAME_ALERT, "children"),
        Input({"type": ids.SEGMENT_NAME_TYPE, "segment": ALL}, "value"),
        State({"type": ids.SEGMENT_NAME_TYPE, "segment": ALL}, "id"),
        State(ids.SESSION, "data"),
        prevent_initial_call=True,
    )(rename)


__all__ = [
    "grid_rows",
    "layout",
    "register_callbacks",
    "rename",
    "render",
    "select_segment",
    "show_orders",
    "store_region",
]
