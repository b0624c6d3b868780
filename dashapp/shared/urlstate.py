"""The URL carries the view's configuration, so a link reopens the same view.

The Model, Segments and Export pages describe their view in the query string
(``?algorithm=kmeans&k=4&features=recency_days,frequency,monetary&scaler=standard&seed=0&segment=2``)
and name the data it was made on (``&data=<first 12 digits of the dataset key>&file=<name>``,
``data=default`` for the startup data).

* Opening a link: Dash Pages passes the query to the page's ``layout(**query)``, which puts it in
  a store; :func:`apply_query` validates every parameter on the server and writes the valid ones
  into the session state (a refused parameter is named in a notice; the others still apply).
  A link made on data this session has not loaded says so (naming the file) and applies the
  model settings only: a selected segment belongs to the data it was chosen on. The notice
  has its own container (:func:`notice_id`), which the page's own callbacks never clear.
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

from dashapp.services import DEFAULT_DATASET, get_services
from dashapp.shared import ids
from dashapp.shared.modeling import (
    URL_KEYS,
    parse_query,
    query_of,
    search_string,
    settings_of,
    with_segment,
    with_settings,
)
from dashapp.state import SessionState, StateError, clean_text, require_state

MAX_QUERY_VALUE = 512
DATA_PARAM = "data"  # which dataset the link was made on (see dataset_ref)
FILE_PARAM = "file"  # its file name, to tell the user which data the link needs
REF_LENGTH = 12  # hex digits of a dataset key in a link: names the data, grants nothing

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


def notice_id(query_id: str) -> str:
    """Id of the container of a link's notice (next to the page's URL stores)."""
    return f"{query_id}-notice"


def url_components(query_id: str, search_id: str, sink_id: str, query: dict[str, Any]) -> Component:
    """The stores of a page's URL sync (the query it was opened with, the query to show) and
    the container of the link's notice."""
    return html.Div(
        [
            dcc.Store(id=query_id, data=dict(query)),
            dcc.Store(id=search_id),
            html.Div(id=sink_id, hidden=True),
            html.Div(id=notice_id(query_id)),
        ]
    )


def dataset_ref(state: SessionState) -> str:
    """How a link names the session's dataset: ``default`` or the key's first digits."""
    return state.dataset if state.dataset == DEFAULT_DATASET else state.dataset[:REF_LENGTH]


def _is_ref(value: str) -> bool:
    return value == DEFAULT_DATASET or (
        len(value) == REF_LENGTH and set(value) <= set("0123456789abcdef")
    )


def _data_name(ref: str, filename: str | None) -> str:
    """The data a link names, in words."""
    if ref == DEFAULT_DATASET:
        return f"the {get_services().default_badge}"
    name = f"‘{filename}’ " if filename else ""
    return f"the file {name}(dataset {ref})"


def _loaded_name(state: SessionState) -> str:
    if state.dataset == DEFAULT_DATASET:
        return f"the {get_services().default_badge}"
    return f"‘{state.filename}’" if state.filename else "another file"


def other_data_notice(ref: str, filename: str | None, state: SessionState) -> list[Any]:
    """What the page says when a link was made on data this session has not loaded."""
    fix = (
        "Load it on the Data page, then open the link again to see the linked view."
        if ref == DEFAULT_DATASET or not filename
        else f"Upload ‘{filename}’ on the Data page, then open the link again to see the "
        "linked view."
    )
    return [
        html.Strong(
            f"This link was made on {_data_name(ref, filename)}, which is not loaded in this "
            "session. "
        ),
        f"The page shows {_loaded_name(state)} with the link's model settings, and no "
        "segment selected (a segment belongs to the data it was chosen on). ",
        fix,
    ]


def _link_params(query: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """The link's parameters as short strings, and the messages of the refused ones."""
    cleaned: dict[str, str] = {}
    refused: list[str] = []
    known = (*URL_KEYS, DATA_PARAM, FILE_PARAM)
    for key, value in query.items():
        name = str(key)[:40]
        # Dash gives a list for a repeated parameter; a link names each parameter once.
        if not isinstance(value, str) or len(value) > MAX_QUERY_VALUE:
            refused.append(f"link parameter {name}: not a single short value")
        elif key not in known:
            refused.append(f"link parameter {name} is unknown (known: {', '.join(known)})")
        else:
            cleaned[str(key)] = value
    ref = cleaned.pop(DATA_PARAM, None)
    if ref is not None and not _is_ref(ref):
        refused.append(
            f"link parameter {DATA_PARAM}: {ref[:40]!r} is not a dataset reference "
            f"({DEFAULT_DATASET!r} or {REF_LENGTH} hex digits)"
        )
        cleaned.pop(FILE_PARAM, None)
    elif ref is not None:
        cleaned[DATA_PARAM] = ref
    return cleaned, refused


def apply_query(query: object, data: object) -> tuple[Any, Any]:
    """Apply a link's query parameters to the session state (each validated).

    Returns (session data or ``no_update``, notice or ``[]``).
    """
    if not isinstance(query, dict) or not query:
        raise PreventUpdate
    state = require_state(data)
    cleaned, refused = _link_params(query)
    ref = cleaned.pop(DATA_PARAM, None)
    try:
        filename = clean_text(cleaned.pop(FILE_PARAM, None), "file")
    except StateError:
        filename = None
    other_data = ref is not None and ref != dataset_ref(state)
    settings, segment, errors = parse_query(cleaned, base=settings_of(state))
    new = with_settings(state, settings)
    if segment != "keep" and not other_data:
        new = with_segment(new, segment if isinstance(segment, int) else None)
    messages = refused + [error.message for error in errors]
    parts: list[Any] = []
    if other_data:
        assert ref is not None
        parts.append(html.P(other_data_notice(ref, filename, state), className="mb-1"))
    if messages:
        parts += [
            html.Strong("Part of this link was not applied. "),
            html.Ul([html.Li(m) for m in messages], className="mb-1"),
            "The rest of the link is shown; change the settings on the Model page.",
        ]
    alert: Any = []
    if parts:
        alert = dbc.Alert(parts, color="warning", dismissable=True, className="mb-2")
    return (new.to_json() if new != state else no_update), alert


def search_of(data: object, *, with_segment_key: bool = True) -> str:
    """The query string describing the session's view and its data (for the address bar)."""
    state = require_state(data)
    query = query_of(state, with_segment_key=with_segment_key)
    query[DATA_PARAM] = dataset_ref(state)
    if state.dataset != DEFAULT_DATASET and state.filename:
        query[FILE_PARAM] = state.filename
    return search_string(query)


def register_url_sync(
    app: Dash,
    *,
    query_id: str,
    search_id: str,
    sink_id: str,
    with_segment_key: bool = True,
) -> None:
    """Attach a page's URL callbacks (link -> state and notice, state -> address bar)."""
    app.callback(
        Output(ids.SESSION, "data", allow_duplicate=True),
        Output(notice_id(query_id), "children"),
        Input(query_id, "data"),
        State(ids.SESSION, "data"),
        prevent_initial_call="initial_duplicate",
    )(apply_query)

    def search(data: object) -> str:
        return search_of(data, with_segment_key=with_segment_key)

    app.callback(Output(search_id, "data"), Input(ids.SESSION, "data"))(search)
    app.clientside_callback(REPLACE_URL_JS, Output(sink_id, "children"), Input(search_id, "data"))
