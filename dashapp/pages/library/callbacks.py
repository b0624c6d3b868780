"""The Library page's callbacks: the list (search, sort), open, rename and delete (confirmed).

Each validates its inputs, calls the workspace (:mod:`dashapp.shared.workspace`) and builds
its outputs with the layout's pure functions. A workspace error (a clash, a lost database) is
an alert; the session and the list stay as they were.
"""

from __future__ import annotations

from typing import Any

from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from core.errors import CustsegError
from core.workspace.store import SORTS
from dashapp.pages.library import ids, scoring, sources, view
from dashapp.pages.library.layout import HIDDEN, table
from dashapp.services import get_services
from dashapp.shared import components
from dashapp.shared import ids as app_ids
from dashapp.shared import workspace as ws
from dashapp.state import require_state

SHOWN: dict[str, str] = {}


def render(search: object, sort: object, _version: object, data: object) -> Any:
    """The saved segmentations matching ``search``, in ``sort`` order."""
    require_state(data)
    text = search if isinstance(search, str) else ""
    order = sort if sort in SORTS else "updated"
    try:
        saved = ws.workspace().list(search=text[:200], sort=str(order))
    except CustsegError as exc:
        return components.error_alert(exc, title="The library could not be read")
    return table(view.rows(saved), text)


def _clicked_name(kind: str) -> str | None:
    """The row whose ``kind`` button was really clicked (a redrawn table fires with None)."""
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or trigger.get("type") != kind:
        return None
    if not any(t.get("value") for t in ctx.triggered):
        return None
    name = trigger.get("name")
    return name if isinstance(name, str) else None


def choose(
    _renames: object, _deletes: object, _cancel_rename: object, _cancel_delete: object
) -> Any:
    """A row's Rename or Delete asks first (the panel shows); Cancel closes it."""
    if ctx.triggered_id in (ids.LIBRARY_CANCEL_RENAME, ids.LIBRARY_CANCEL_DELETE):
        return None
    for kind, action in ((ids.RENAME, "rename"), (ids.DELETE, "delete")):
        name = _clicked_name(kind)
        if name is not None:
            return {"action": action, "name": name}
    raise PreventUpdate


def panels(pending: object) -> dict[str, Any]:
    """The rename field or the delete confirmation of the pending action."""
    action = pending.get("action") if isinstance(pending, dict) else None
    name = pending.get("name") if isinstance(pending, dict) else None
    return {
        "rename_style": SHOWN if action == "rename" else HIDDEN,
        "rename_value": name if action == "rename" else "",
        "delete_style": SHOWN if action == "delete" else HIDDEN,
        "delete_text": f"Delete the saved segmentation {name!r}? This cannot be undone; its "
        "export log is kept."
        if action == "delete"
        else "",
    }


def apply(
    _rename: object, _delete: object, new_name: object, pending: object, version: object,
    data: object,
) -> dict[str, Any]:
    """Rename or delete the pending segmentation; a clash or an error is an alert."""
    require_state(data)
    if not isinstance(pending, dict) or not isinstance(pending.get("name"), str):
        raise PreventUpdate
    name = pending["name"]
    wanted = ids.LIBRARY_RENAME_APPLY if pending.get("action") == "rename" else (
        ids.LIBRARY_DELETE_CONFIRM
    )
    if ctx.triggered_id != wanted:
        raise PreventUpdate
    try:
        if wanted == ids.LIBRARY_RENAME_APPLY:
            renamed = ws.workspace().rename(name, new_name if isinstance(new_name, str) else "")
            message = f"Renamed {name!r} to {renamed.name!r}."
        else:
            ws.workspace().delete(name)
            message = f"Deleted {name!r}."
    except CustsegError as exc:
        return {"alert": components.error_alert(exc, title="Nothing was changed"),
                "pending": no_update, "version": no_update}
    bumped = (version if isinstance(version, int) else 0) + 1
    return {"alert": components.message_alert(message, color="success"), "pending": None,
            "version": bumped}


def open_saved(_clicks: object, data: object) -> dict[str, Any]:
    """Open a saved segmentation in this session: its dataset, settings, model and names."""
    name = _clicked_name(ids.OPEN)
    if name is None:
        raise PreventUpdate
    state = require_state(data)
    try:
        opened = ws.open_saved(state, get_services(), name)
    except CustsegError as exc:
        return {"session": no_update,
                "alert": components.error_alert(exc, title=f"{name!r} was not opened")}
    message = [
        f"Opened {opened.saved.name!r} ({opened.saved.dataset.source}, {opened.saved.k} "
        "segments). ",
        dcc.Link("See its segments", href="/segments", id=ids.LIBRARY_OPENED_LINK),
        ".",
    ]
    return {"session": opened.state.to_json(),
            "alert": html.Div(message, className="alert alert-success mb-2", role="status")}


def source_options(data: object) -> dict[str, Any]:
    """The configured sources, by name only (their URLs stay on the server)."""
    require_state(data)
    try:
        names = sources.source_names()
    except CustsegError as exc:
        return {"options": [], "help": f"The sources file cannot be used: {exc.message}"}
    if not names:
        return {"options": [], "help": "No database sources are configured on this server "
                "(the administrator lists them in CUSTSEG_SOURCES_FILE)."}
    options = [{"label": n, "value": n} for n in names]
    return {"options": options, "help": "Pick a source, then a table or a SELECT."}


def source_help(name: object) -> str:
    try:
        return sources.tables_hint(name)
    except CustsegError as exc:
        return exc.message


def read_source(
    n_clicks: object, name: object, table: object, query: object, data: object
) -> dict[str, Any]:
    """Read the chosen table or query into this session; a problem is an alert and the data
    on screen stays."""
    if not n_clicks:
        raise PreventUpdate
    state = require_state(data)
    try:
        done = sources.read_source(
            state, get_services(), name=name, table=table, query=query
        )
    except CustsegError as exc:
        return {"session": no_update,
                "alert": components.error_alert(exc, title="Nothing was read")}
    message = [
        f"Read {done.rows:,} rows from {done.label}. ",
        dcc.Link("See them on the Data page", href="/"),
        ".",
    ]
    return {"session": done.state.to_json(),
            "alert": html.Div(message, className="alert alert-success mb-2", role="status")}


def register(app: Dash) -> None:
    """Attach this page's callbacks to ``app`` (scoring's too: :mod:`.scoring`)."""
    scoring.register(app)
    app.callback(
        output={
            "options": Output(ids.LIBRARY_SOURCE, "options"),
            "help": Output(ids.LIBRARY_SOURCE_HELP, "children"),
        },
        inputs={"data": Input(app_ids.SESSION, "data")},
    )(source_options)
    app.callback(
        Output(ids.LIBRARY_SOURCE_TABLE, "placeholder"),
        Input(ids.LIBRARY_SOURCE, "value"),
    )(source_help)
    app.callback(
        output={
            "session": Output(app_ids.SESSION, "data", allow_duplicate=True),
            "alert": Output(ids.LIBRARY_SOURCE_ALERT, "children"),
        },
        inputs=[
            Input(ids.LIBRARY_SOURCE_READ, "n_clicks"),
            State(ids.LIBRARY_SOURCE, "value"),
            State(ids.LIBRARY_SOURCE_TABLE, "value"),
            State(ids.LIBRARY_SOURCE_QUERY, "value"),
            State(app_ids.SESSION, "data"),
        ],
        prevent_initial_call=True,
    )(read_source)
    app.callback(
        Output(ids.LIBRARY_TABLE, "children"),
        Input(ids.LIBRARY_SEARCH, "value"),
        Input(ids.LIBRARY_SORT, "value"),
        Input(ids.LIBRARY_VERSION, "data"),
        State(app_ids.SESSION, "data"),
    )(render)
    app.callback(
        Output(ids.LIBRARY_PENDING, "data"),
        Input({"type": ids.RENAME, "name": ALL}, "n_clicks"),
        Input({"type": ids.DELETE, "name": ALL}, "n_clicks"),
        Input(ids.LIBRARY_CANCEL_RENAME, "n_clicks"),
        Input(ids.LIBRARY_CANCEL_DELETE, "n_clicks"),
        prevent_initial_call=True,
    )(choose)
    app.callback(
        output={
            "rename_style": Output(ids.LIBRARY_RENAME_PANEL, "style"),
            "rename_value": Output(ids.LIBRARY_RENAME_INPUT, "value"),
            "delete_style": Output(ids.LIBRARY_DELETE_PANEL, "style"),
            "delete_text": Output(ids.LIBRARY_DELETE_TEXT, "children"),
        },
        inputs={"pending": Input(ids.LIBRARY_PENDING, "data")},
    )(panels)
    app.callback(
        output={
            "alert": Output(ids.LIBRARY_ALERT, "children"),
            "pending": Output(ids.LIBRARY_PENDING, "data", allow_duplicate=True),
            "version": Output(ids.LIBRARY_VERSION, "data"),
        },
        inputs=[
            Input(ids.LIBRARY_RENAME_APPLY, "n_clicks"),
            Input(ids.LIBRARY_DELETE_CONFIRM, "n_clicks"),
            State(ids.LIBRARY_RENAME_INPUT, "value"),
            State(ids.LIBRARY_PENDING, "data"),
            State(ids.LIBRARY_VERSION, "data"),
            State(app_ids.SESSION, "data"),
        ],
        prevent_initial_call=True,
    )(apply)
    app.callback(
        output={
            "session": Output(app_ids.SESSION, "data", allow_duplicate=True),
            "alert": Output(ids.LIBRARY_ALERT, "children", allow_duplicate=True),
        },
        inputs=[
            Input({"type": ids.OPEN, "name": ALL}, "n_clicks"),
            State(app_ids.SESSION, "data"),
        ],
        prevent_initial_call=True,
    )(open_saved)
