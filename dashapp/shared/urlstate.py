"""The URL carries the view's configuration, so a link reopens the same view.

The Model, Segments and Export pages describe their view in the query string
(``?algorithm=kmeans&k=4&features=recency_days,frequency,monetary&scaler=standard&seed=0&segment=2``).

* Opening a link: Dash Pages passes the query to the page's ``layout(**query)``, which puts it in
  a store; :func:`apply_query` validates every parameter on the server and writes the valid ones
  into the session state (a refused parameter is named in a warning; the others still apply).
* Keeping the URL in step: :func:`search_of` turns the session state into the query string, and
  a clientside callback writes it with ``history.replaceState``. Replacing (not pushing) the URL
  changes neither the history nor the page router's location, so the page is not rebuilt.
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, dcc, html, no_update
from dash.development.base_component import Component
from dash.exceptions import PreventUpdate

from dashapp.shared import ids
from dashapp.shared.modeling import (
    parse_query,
    query_of,
    search_string,
    settings_of,
    with_segment,
    with_settings,
)
from dashapp.state import require_state

MAX_QUERY_VALUE = 512

# Writes the query string into the address bar without a navigation (see the module docstring).
REPLACE_URL_JS = """
function(search) {
    if (typeof search === "string" && search.charAt(0) === "?" &&
            window.location.search !== search) {
        window.history.replaceState(window.history.state, "", window.location.pathname + search);
    }
    return window.dash_clientside.no_update;
}
"""


def url_components(query_id: str, search_id: str, sink_id: str, query: dict[str, Any]) -> Component:
    """The stores of a page's URL sync: the query it was opened with, the query to show."""
    return html.Div(
        [
            dcc.Store(id=query_id, data=dict(query)),
            dcc.Store(id=search_id),
            html.Div(id=sink_id, hidden=True),
        ]
    )


def apply_query(query: object, data: object) -> tuple[Any, Any]:
    """Apply a link's query parameters to the session state (each validated).

    Returns (session data or ``no_update``, warning alert or ``[]``).
    """
    if not isinstance(query, dict) or not query:
        raise PreventUpdate
    state = require_state(data)
    cleaned: dict[str, object] = {}
    refused: list[str] = []
    for key, value in query.items():
        # Dash gives a list for a repeated parameter; a link names each parameter once.
        if not isinstance(value, str) or len(value) > MAX_QUERY_VALUE:
            refused.append(f"link parameter {str(key)[:40]}: not a single short value")
            continue
        cleaned[str(key)] = value
    settings, segment, errors = parse_query(cleaned, base=settings_of(state))
    new = with_settings(state, settings)
    if segment != "keep":
        new = with_segment(new, segment if isinstance(segment, int) else None)
    messages = refused + [error.message for error in errors]
    alert: Any = []
    if messages:
        alert = dbc.Alert(
            [
                html.Strong("Part of this link was not applied. "),
                html.Ul([html.Li(m) for m in messages], className="mb-1"),
                "The rest of the link is shown; change the settings on the Model page.",
            ],
            color="warning",
            dismissable=True,
            className="mb-2",
        )
    return (new.to_json() if new != state else no_update), alert


def search_of(data: object, *, with_segment_key: bool = True) -> str:
    """The query string describing the session's view (for the address bar)."""
    state = require_state(data)
    return search_string(query_of(state, with_segment_key=with_segment_key))


def register_url_sync(
    app: Dash,
    *,
    query_id: str,
    search_id: str,
    sink_id: str,
    alert_id: str,
    with_segment_key: bool = True,
) -> None:
    """Attach a page's URL callbacks (link -> state, state -> address bar)."""
    app.callback(
        Output(ids.SESSION, "data", allow_duplicate=True),
        Output(alert_id, "children", allow_duplicate=True),
        Input(query_id, "data"),
        State(ids.SESSION, "data"),
        prevent_initial_call="initial_duplicate",
    )(apply_query)

    def search(data: object) -> str:
        return search_of(data, with_segment_key=with_segment_key)

    app.callback(Output(search_id, "data"), Input(ids.SESSION, "data"))(search)
    app.clientside_callback(REPLACE_URL_JS, Output(sink_id, "children"), Input(search_id, "data"))
