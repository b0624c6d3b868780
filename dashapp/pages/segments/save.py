"""The Segments page's Save control: keep the session's segmentation in the team workspace
under a name, with a note (:func:`dashapp.shared.workspace.save_session`). A name already
taken is a message; the page and the session stay as they were."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, html
from dash.exceptions import PreventUpdate

from core.errors import CustsegError
from dashapp.pages.segments import ids
from dashapp.services import get_services
from dashapp.shared import components
from dashapp.shared import ids as app_ids
from dashapp.shared import workspace as ws
from dashapp.shared.segment_components import load_model
from dashapp.state import require_state


def save_card() -> dbc.Card:
    """Name, note and Save (pure builder)."""
    return components.card(
        "Save to the library",
        [
            components.form_row(
                [
                    components.field(
                        "Name",
                        dbc.Input(id=ids.SEGMENTS_SAVE_NAME, type="text", maxLength=200),
                        md=4,
                    ),
                    components.field(
                        "Note",
                        dbc.Input(id=ids.SEGMENTS_SAVE_NOTE, type="text", maxLength=2000),
                        md=6,
                    ),
                ],
                button="Save",
                button_id=ids.SEGMENTS_SAVE_BUTTON,
            ),
            html.Div(id=ids.SEGMENTS_SAVE_ALERT, className="mt-2", **components.POLITE),
        ],
    )


def save(n_clicks: object, name: object, note: object, data: object) -> Any:
    """Save the session's segmentation; a clash or a lost database is an alert."""
    if not n_clicks:
        raise PreventUpdate
    state = require_state(data)
    services = get_services()
    model, problem = load_model(state, services)
    if model is None:
        return problem
    try:
        saved = ws.save_session(
            state,
            services,
            model,
            name=name if isinstance(name, str) else "",
            note=note if isinstance(note, str) else "",
        )
    except CustsegError as exc:
        return components.error_alert(exc, title="Not saved")
    return components.message_alert(
        f"Saved as {saved.name!r}: colleagues can open it from the Library.", color="success"
    )


def register(app: Dash) -> None:
    app.callback(
        Output(ids.SEGMENTS_SAVE_ALERT, "children"),
        Input(ids.SEGMENTS_SAVE_BUTTON, "n_clicks"),
        State(ids.SEGMENTS_SAVE_NAME, "value"),
        State(ids.SEGMENTS_SAVE_NOTE, "value"),
        State(app_ids.SESSION, "data"),
        prevent_initial_call=True,
    )(save)
