"""Callbacks of the Data page: upload a file, map its columns, choose the date format and
cleaning rules, and see the cleaning audit, data-sufficiency warnings and the first rows.

Flow (no callback cycle): the upload and the controls write the session store; one render
callback reads the store and rebuilds the controls and every report from it. Controls are
rendered from the store (not updated in place), so their values always show the state.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from dash import ALL, Dash, Input, Output, State, no_update
from dash.exceptions import PreventUpdate

from core.errors import CustsegError
from dashapp.pages.data import figures, ids
from dashapp.pages.data.layout import (
    MAPPING_HELP,
    MAPPING_TITLE,
    audit_report,
    cleaning_form,
    dataset_summary,
    date_info,
    feature_table_outputs,
    funnel_summary,
    funnel_table,
    mapping_alert,
    mapping_form,
    preview,
    rejected_alert,
    sufficiency,
    upload_success,
)
from dashapp.pages.data.view import (
    control_changes,
    detected_roles,
    rejected_file_error,
    save_upload,
)
from dashapp.services import get_services
from dashapp.shared import chart_text, components
from dashapp.shared import ids as app_ids
from dashapp.shared.loading import DataView, data_view
from dashapp.state import SessionState, StateError, require_state

log = logging.getLogger(__name__)
READING = "Reading the file…"  # the upload's live status while the server reads it


def upload_file(contents: object, filename: object, data: object) -> dict[str, Any]:
    """Store an uploaded file for this session if it can be read; else say what is wrong.

    Returns the new ``session`` data, the upload ``alert`` and the upload's ``contents``. On
    error the session data is left unchanged, so the data already loaded stays on screen. The
    contents are cleared either way (the browser would otherwise keep the whole file in memory).
    """
    if contents is None:
        raise PreventUpdate
    state = require_state(data)
    services = get_services()
    try:
        uploaded = save_upload(
            contents, filename, services, state.session_id, current=state.dataset
        )
    except CustsegError as exc:
        return {"session": no_update, "alert": components.error_alert(exc), "contents": None}
    services.registry.grant(state.session_id, uploaded.key)
    new_state = state.with_dataset(uploaded.key, uploaded.filename)
    return {
        "session": new_state.to_json(),
        "alert": upload_success(uploaded),
        "contents": None,
    }


def report_rejected(rejected: object) -> Any:
    """Explain a file the browser refused because it is over the size limit."""
    error = rejected_file_error(rejected, get_services().max_upload_bytes)
    if error is None:
        raise PreventUpdate
    return rejected_alert(error)


def apply_controls(
    role_values: Sequence[object],
    date_values: Sequence[object],
    cleaning_values: Sequence[object],
    role_ids: Sequence[object],
    data: object,
) -> Any:
    """Write the mapping, date format and cleaning toggles shown on the page into the state.

    Refused values (see :func:`~dashapp.pages.data.view.control_changes`) and values that
    change nothing leave the store as it is.
    """
    state = require_state(data)
    try:
        changes = control_changes(
            state,
            role_values,
            date_values,
            cleaning_values,
            role_ids,
            detect=lambda: detected_roles(state, get_services()),
        )
    except StateError as exc:
        log.info("refused control values: %s", exc)
        raise PreventUpdate from exc
    new = state.evolve(**changes)
    if new == state:
        raise PreventUpdate
    return new.to_json()


def render(data: object) -> dict[str, Any]:
    """Everything on the page, from the session state."""
    state = require_state(data)
    services = get_services()
    view = data_view(state, services)  # which starts encoding the table's product lines
    return render_view(view, state)


def render_view(view: DataView, state: SessionState) -> dict[str, Any]:
    """The render callback's outputs for a view (pure: tests compare it with the builders)."""
    if view.provenance is not None and view.error is None:
        return feature_table_outputs(view)
    table, caption = preview(view)
    return {
        "summary": dataset_summary(view),
        "mapping_title": MAPPING_TITLE,
        "mapping_help": MAPPING_HELP,
        "mapping_form": mapping_form(view),
        "mapping_alert": mapping_alert(view),
        "date_info": date_info(view, state),
        "cleaning_form": cleaning_form(state),
        "audit_funnel": figures.audit_funnel(view),
        "funnel_summary": funnel_summary(view),
        "funnel_table": funnel_table(view),
        "audit_table": audit_report(view),
        "sufficiency": sufficiency(view),
        "preview": table,
        "preview_caption": caption,
    }


def render_outputs() -> dict[str, Output]:
    """The render callback's outputs by name (the keys :func:`render_view` returns)."""
    return {
        "summary": Output(ids.DATASET_SUMMARY, "children"),
        "mapping_title": Output(ids.MAPPING_TITLE, "children"),
        "mapping_help": Output(ids.MAPPING_HELP, "children"),
        "mapping_form": Output(ids.MAPPING_FORM, "children"),
        "mapping_alert": Output(ids.MAPPING_ALERT, "children"),
        "date_info": Output(ids.DATE_INFO, "children"),
        "cleaning_form": Output(ids.CLEANING_FORM, "children"),
        "audit_funnel": Output(ids.AUDIT_FUNNEL, "figure"),
        "funnel_summary": Output(chart_text.summary_id(ids.AUDIT_FUNNEL), "children"),
        "funnel_table": Output(chart_text.table_id(ids.AUDIT_FUNNEL), "children"),
        "audit_table": Output(ids.AUDIT_TABLE_WRAP, "children"),
        "sufficiency": Output(ids.SUFFICIENCY, "children"),
        "preview": Output(ids.PREVIEW, "children"),
        "preview_caption": Output(ids.PREVIEW_CAPTION, "children"),
    }


def register(app: Dash) -> None:
    """Attach this page's callbacks to ``app``."""
    app.callback(
        output={
            "session": Output(app_ids.SESSION, "data", allow_duplicate=True),
            "alert": Output(ids.UPLOAD_ALERT, "children", allow_duplicate=True),
            "contents": Output(ids.UPLOAD, "contents"),
        },
        inputs={"contents": Input(ids.UPLOAD, "contents")},
        state={"filename": State(ids.UPLOAD, "filename"), "data": State(app_ids.SESSION, "data")},
        running=[(Output(ids.UPLOAD_STATUS, "children"), READING, "")],
        prevent_initial_call=True,
    )(upload_file)
    app.callback(
        Output(ids.UPLOAD_ALERT, "children", allow_duplicate=True),
        Input(ids.UPLOAD_REJECTED, "data"),
        prevent_initial_call=True,
    )(report_rejected)
    app.callback(
        Output(app_ids.SESSION, "data", allow_duplicate=True),
        Input({"type": ids.ROLE_TYPE, "role": ALL}, "value"),
        Input({"type": ids.DATE_FORMAT_TYPE, "index": ALL}, "value"),
        Input({"type": ids.CLEANING_RULES_TYPE, "index": ALL}, "value"),
        State({"type": ids.ROLE_TYPE, "role": ALL}, "id"),
        State(app_ids.SESSION, "data"),
        prevent_initial_call=True,
    )(apply_controls)
    app.callback(
        output=render_outputs(),
        inputs={"data": Input(app_ids.SESSION, "data")},
    )(render)
    chart_text.register_table_toggle(app, ids.AUDIT_FUNNEL)
