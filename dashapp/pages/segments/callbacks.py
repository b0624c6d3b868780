"""Callbacks of the Segments page: linked charts, segment cards with editable names, the
customer grid and a customer's orders.

Everything shows the session's segmentation (settings from the Model page, names from the
session's name store). Linked selection:

* clicking a bar, a legend entry of the projection (it shows that segment alone) or a card's
  button selects a segment: it is stored in the session state (and the URL), and every chart,
  the cards and the customer grid follow. Selecting is idempotent (a double click does not
  undo it); "Show all segments" shows every segment again;
* a lasso or box on the projection narrows the grid to the customers inside it (all of them,
  not only the sampled points drawn); the region's coordinates are kept in a store;
* clicking a customer (grid row, projection point or a card's exemplar) shows their orders.

The grid uses AG Grid's infinite row model: :func:`grid_rows` serves each block of rows with the
grid's sort and filters applied on the server (:mod:`dashapp.pages.segments.grid`).

Callbacks read the input that fired from :data:`dash.ctx`; the ones that depend on it take it
as a keyword (``trigger``) too, so tests call them as plain functions.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from dash import ALL, Dash, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from core.errors import CustsegError
from dashapp.pages.segments import figures, grid, ids, save, view
from dashapp.pages.segments.layout import (
    grid_refused_alert,
    name_saved_alert,
    orders_panel,
    orders_unavailable_alert,
    profiles_table,
    segment_cards,
    selection_caption,
    sizes_table,
    summary_line,
)
from dashapp.services import get_services
from dashapp.shared import chart_text, components
from dashapp.shared import ids as app_ids
from dashapp.shared import value as predicted
from dashapp.shared.modeling import rename_segment, with_segment
from dashapp.shared.segment_components import load_model
from dashapp.shared.urlstate import register_url_sync
from dashapp.state import require_state

log = logging.getLogger(__name__)

MAX_CUSTOMER_ID = 64
EMPTY_BLOCK: dict[str, Any] = {"rowData": [], "rowCount": 0}

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

# The outputs of :func:`render`, by the name it returns each under.
RENDER_OUTPUTS: dict[str, Output] = {
    "summary": Output(ids.SEGMENTS_SUMMARY, "children"),
    "alert": Output(ids.SEGMENTS_ALERT, "children"),
    "projection_figure": Output(ids.SEGMENTS_SCATTER, "figure"),
    "projection_note": Output(ids.SEGMENTS_SCATTER_NOTE, "children"),
    "projection_summary": Output(chart_text.summary_id(ids.SEGMENTS_SCATTER), "children"),
    "sizes_figure": Output(ids.SEGMENTS_SIZES, "figure"),
    "sizes_summary": Output(chart_text.summary_id(ids.SEGMENTS_SIZES), "children"),
    "sizes_table": Output(chart_text.table_id(ids.SEGMENTS_SIZES), "children"),
    "profiles_figure": Output(ids.SEGMENTS_HEATMAP, "figure"),
    "profiles_summary": Output(chart_text.summary_id(ids.SEGMENTS_HEATMAP), "children"),
    "profiles_table": Output(chart_text.table_id(ids.SEGMENTS_HEATMAP), "children"),
    "cards": Output(ids.SEGMENTS_CARDS, "children"),
    "region": Output(ids.SEGMENTS_LASSO, "data"),  # a new segmentation forgets the region
}


def triggered() -> tuple[object, object]:
    """The id and value of the input that fired the running callback."""
    fired = ctx.triggered
    value = fired[0].get("value") if fired else None
    return ctx.triggered_id, value


def render(data: object, names_rev: object = None) -> dict[str, Any]:
    """Every chart and card for the session's segmentation and selected segment.

    ``names_rev`` changes when a name is saved: it only makes the charts and cards redraw.
    """
    state = require_state(data)
    model, problem = load_model(state, get_services())
    if model is None:
        empty = figures.placeholder()
        return {
            "summary": "",
            "alert": problem,
            "projection_figure": empty,
            "projection_note": "",
            "projection_summary": "",
            "sizes_figure": empty,
            "sizes_summary": "",
            "sizes_table": [],
            "profiles_figure": empty,
            "profiles_summary": "",
            "profiles_table": [],
            "cards": [],
            "region": None,
        }
    predictions = predicted.predictions_or_none(state, model.table, get_services())
    shown = view.segments_view(state, model, predictions=predictions)
    projection, note = figures.projection(shown)
    return {
        "summary": summary_line(shown),
        "alert": [],
        "projection_figure": projection,
        "projection_note": note or "",
        "projection_summary": figures.projection_summary(shown, projection),
        "sizes_figure": figures.sizes(shown),
        "sizes_summary": figures.sizes_summary(shown),
        "sizes_table": sizes_table(shown),
        "profiles_figure": figures.profiles(shown),
        "profiles_summary": figures.profiles_summary(shown),
        "profiles_table": profiles_table(shown),
        "cards": segment_cards(shown),
        "region": None,
    }


# --- selection ------------------------------------------------------------------------------


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


def _clicked_segment(click: object) -> int:
    try:
        value = click["points"][0]["customdata"][0]  # type: ignore[index]
    except (TypeError, KeyError, IndexError) as exc:
        raise PreventUpdate from exc
    if isinstance(value, bool) or not isinstance(value, int):
        raise PreventUpdate
    return value


PICK_TYPES = (ids.SEGMENT_PICK_TYPE, ids.SEGMENT_TABLE_PICK_TYPE)


def select_segment(
    bar_click: object,
    restyle: object,
    _pick_clicks: object,
    _clear_clicks: object,
    data: object,
    _table_clicks: object = None,
    *,
    trigger: tuple[object, object] | None = None,
) -> Any:
    """Store the segment chosen by a bar, a legend entry, a card button, a "Select" button of
    the sizes table or "show all".

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
    order = figures.projection_order(model.result)
    chosen: object
    if trigger_id == ids.SEGMENTS_CLEAR:
        chosen = None
    elif trigger_id == ids.SEGMENTS_SIZES:
        chosen = _clicked_segment(bar_click)
    elif trigger_id == ids.SEGMENTS_SCATTER:
        chosen = _segment_from_restyle(restyle, order)
    elif isinstance(trigger_id, dict) and trigger_id.get("type") in PICK_TYPES:
        if not trigger_value:
            raise PreventUpdate  # a re-rendered button, not a click
        chosen = trigger_id.get("segment")
    else:
        raise PreventUpdate
    current = view.valid_selected(state, model)
    try:
        segment = view.next_selection(current, chosen, order)
    except view.NoChange as exc:
        raise PreventUpdate from exc
    return with_segment(state, segment).to_json()


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


def grid_rows(request: object, data: object, region_store: object, search: object) -> Any:
    """One block of the customer grid for the current selection, sort and filters.

    Returns (the grid's rows response, the caption saying what it lists).
    """
    if request is None:
        raise PreventUpdate
    state = require_state(data)
    model, _problem = load_model(state, get_services())
    if model is None:
        return dict(EMPTY_BLOCK), ""
    try:
        selection = view.grid_selection(state, model, region_store, search)
        predictions = predicted.predictions_or_none(state, model.table, get_services())
        response, count = view.grid_block(model, selection, request, predictions)
    except grid.GridRequestError as exc:
        log.info("refused grid request: %s", exc)
        return dict(EMPTY_BLOCK), grid_refused_alert(exc)
    return response, selection_caption(model.result, selection, count)


# --- orders ---------------------------------------------------------------------------------


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
    try:
        shown = view.customer_orders(model, customer)
    except view.OrdersUnavailable as exc:
        return orders_unavailable_alert(str(exc))
    return orders_panel(shown)


# --- names ----------------------------------------------------------------------------------


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
    if view.same_name(value, model.result.names[segment]):
        raise PreventUpdate
    try:
        renamed = rename_segment(model, services, state, segment, value)  # type: ignore[arg-type]
    except CustsegError as exc:  # a refused name, or a full disk
        return no_update, components.error_alert(exc, title="The name was not saved")
    return view.names_revision(renamed.names), name_saved_alert(segment, renamed.names[segment])


# --- registration ---------------------------------------------------------------------------


def register(app: Dash) -> None:
    """Attach this page's callbacks to ``app``."""
    save.register(app)
    register_url_sync(
        app,
        query_id=ids.SEGMENTS_URL_QUERY,
        search_id=ids.SEGMENTS_URL_SEARCH,
        sink_id=ids.SEGMENTS_URL_SINK,
    )
    app.callback(
        output=RENDER_OUTPUTS,
        inputs={
            "data": Input(app_ids.SESSION, "data"),
            "names_rev": Input(ids.SEGMENTS_NAMES_REV, "data"),
        },
    )(render)
    _register_selection(app)
    _register_grid(app)
    for graph in (ids.SEGMENTS_SIZES, ids.SEGMENTS_HEATMAP):
        chart_text.register_table_toggle(app, graph)
    app.callback(
        Output(ids.SEGMENTS_ORDERS, "children"),
        Input(ids.SEGMENTS_GRID, "cellClicked"),
        Input(ids.SEGMENTS_SCATTER, "clickData"),
        Input({"type": ids.SEGMENT_EXEMPLAR_TYPE, "customer": ALL}, "n_clicks"),
        State(app_ids.SESSION, "data"),
        prevent_initial_call=True,
    )(show_orders)
    app.callback(
        Output(ids.SEGMENTS_NAMES_REV, "data"),
        Output(ids.SEGMENTS_NAME_ALERT, "children"),
        Input({"type": ids.SEGMENT_NAME_TYPE, "segment": ALL}, "value"),
        State({"type": ids.SEGMENT_NAME_TYPE, "segment": ALL}, "id"),
        State(app_ids.SESSION, "data"),
        prevent_initial_call=True,
    )(rename)


def _register_selection(app: Dash) -> None:
    app.callback(
        output=Output(app_ids.SESSION, "data", allow_duplicate=True),
        inputs={
            "bar_click": Input(ids.SEGMENTS_SIZES, "clickData"),
            "restyle": Input(ids.SEGMENTS_SCATTER, "restyleData"),
            "_pick_clicks": Input({"type": ids.SEGMENT_PICK_TYPE, "segment": ALL}, "n_clicks"),
            "_clear_clicks": Input(ids.SEGMENTS_CLEAR, "n_clicks"),
            "_table_clicks": Input(
                {"type": ids.SEGMENT_TABLE_PICK_TYPE, "segment": ALL}, "n_clicks"
            ),
        },
        state={"data": State(app_ids.SESSION, "data")},
        prevent_initial_call=True,
    )(select_segment)
    app.callback(
        Output(ids.SEGMENTS_LASSO, "data", allow_duplicate=True),
        Input(ids.SEGMENTS_SCATTER, "selectedData"),
        State(app_ids.SESSION, "data"),
        prevent_initial_call=True,
    )(store_region)


def _register_grid(app: Dash) -> None:
    app.callback(
        Output(ids.SEGMENTS_GRID, "getRowsResponse"),
        Output(ids.SEGMENTS_SELECTION, "children"),
        Input(ids.SEGMENTS_GRID, "getRowsRequest"),
        State(app_ids.SESSION, "data"),
        State(ids.SEGMENTS_LASSO, "data"),
        State(ids.SEGMENTS_SEARCH, "value"),
        prevent_initial_call=True,
    )(grid_rows)
    app.clientside_callback(
        REFRESH_GRID_JS,
        Output(ids.SEGMENTS_GRID_SINK, "children"),
        Input(app_ids.SESSION, "data"),
        Input(ids.SEGMENTS_LASSO, "data"),
        Input(ids.SEGMENTS_SEARCH, "value"),
        Input(ids.SEGMENTS_NAMES_REV, "data"),
        prevent_initial_call=True,
    )


__all__ = [
    "RENDER_OUTPUTS",
    "grid_rows",
    "register",
    "rename",
    "render",
    "select_segment",
    "show_orders",
    "store_region",
]
