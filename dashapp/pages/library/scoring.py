"""The Library page's "Score a file" callbacks: the saved segmentations to choose from, an
uploaded file kept for scoring (the session's data stays), the scoring and its sizes, and the
scored customers' download (the export code; logged in the workspace's export log).

Each validates its inputs and calls :mod:`dashapp.pages.library.score`; a problem is an alert
and what is on screen (and loaded) stays.
"""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, State, no_update
from dash.exceptions import PreventUpdate

from core.errors import CustsegError
from core.export import FORMATS, to_bytes
from dashapp.audit import export_record
from dashapp.pages.library import ids
from dashapp.pages.library import score as sc
from dashapp.pages.library.layout import data_options, score_result
from dashapp.services import get_services
from dashapp.shared import components, downloads, workspace
from dashapp.shared import ids as app_ids
from dashapp.shared.viewkit import checked_choice
from dashapp.state import require_state


def saved_choices(data: object, _version: object) -> list[dict[str, str]]:
    """The saved segmentations (by name); none when the library cannot be read (the list
    above says why)."""
    require_state(data)
    try:
        return [{"label": n, "value": n} for n in workspace.saved_names()]
    except CustsegError:
        return []


def upload_file(contents: object, filename: object, data: object) -> dict[str, Any]:
    """Keep the dropped file for scoring (not as the session's data); a bad file is an
    alert and the previous choice stays."""
    if contents is None:
        raise PreventUpdate
    state = require_state(data)
    try:
        uploaded = sc.store_upload(contents, filename, state, get_services())
    except CustsegError as exc:
        alert = components.error_alert(exc, title="This file cannot be scored")
        return {"file": no_update, "options": no_update, "choice": no_update, "alert": alert,
                "contents": None}
    message = f"{uploaded.filename} is ready to score; your data on the other pages is unchanged."
    return {
        "file": uploaded.to_json(),
        "options": data_options(uploaded.filename),
        "choice": sc.UPLOADED,
        "alert": components.message_alert(message, color="info"),
        "contents": None,
    }


def report_rejected(rejected: object) -> Any:
    """Explain a file the browser refused as over the upload limit (nothing else changes)."""
    error = sc.rejected_error(rejected, get_services().max_upload_bytes)
    if error is None:
        raise PreventUpdate
    return components.error_alert(error, title="File too large")


def run_score(
    n_clicks: object, saved: object, choice: object, uploaded: object, data: object
) -> dict[str, Any]:
    """Score the chosen data with the chosen saved segmentation: its sizes, or an alert."""
    if not n_clicks:
        raise PreventUpdate
    state = require_state(data)
    try:
        run, record, scored = sc.score(
            state, get_services(), saved=saved, data=choice, uploaded=sc.parse_uploaded(uploaded)
        )
    except CustsegError as exc:
        alert = components.error_alert(exc, title="Nothing was scored")
        return {"alert": alert, "result": no_update, "run": no_update}
    shown = score_result(sc.summary(run, scored, record.k), sc.size_rows(scored))
    return {"alert": [], "result": shown, "run": run.to_json()}


def download(n_clicks: object, fmt: object, run: object, data: object) -> dict[str, Any]:
    """The scored customers in the chosen format, logged as an export of the saved
    segmentation."""
    if not n_clicks:
        raise PreventUpdate
    state = require_state(data)
    done = sc.parse_run(run)
    if done is None:
        message = "Score a file first, then download its customers."
        return {"download": no_update, "alert": components.message_alert(message)}
    try:
        fmt_ = checked_choice(fmt, FORMATS, name="format")
        record, scored = sc.again(state, get_services(), done)
        content = to_bytes(scored.rows, fmt_)
    except CustsegError as exc:
        return {"download": no_update, "alert": downloads.refused(exc)}
    rows = scored.rows.height
    export_record(session=state.session_id, dataset=done.filename, dataset_key=done.key,
                  segments=list(record.segment_names), rows=rows, format=fmt_)
    workspace.log_export(
        state, list_name=sc.list_name(done), fmt=fmt_, rows=rows, segmentation=record.name
    )
    name = sc.filename_of(done, fmt_)
    return {"download": downloads.send(content, name, fmt_), "alert": []}


def register(app: Dash) -> None:
    """Attach the scoring callbacks to ``app``."""
    app.callback(
        Output(ids.LIBRARY_SCORE_SAVED, "options"),
        Input(app_ids.SESSION, "data"),
        Input(ids.LIBRARY_VERSION, "data"),
    )(saved_choices)
    app.callback(
        output={
            "file": Output(ids.LIBRARY_SCORE_FILE, "data"),
            "options": Output(ids.LIBRARY_SCORE_DATA, "options"),
            "choice": Output(ids.LIBRARY_SCORE_DATA, "value"),
            "alert": Output(ids.LIBRARY_SCORE_ALERT, "children"),
            "contents": Output(ids.LIBRARY_SCORE_UPLOAD, "contents"),
        },
        inputs={
            "contents": Input(ids.LIBRARY_SCORE_UPLOAD, "contents"),
            "filename": State(ids.LIBRARY_SCORE_UPLOAD, "filename"),
            "data": State(app_ids.SESSION, "data"),
        },
        prevent_initial_call=True,
    )(upload_file)
    app.callback(
        Output(ids.LIBRARY_SCORE_ALERT, "children", allow_duplicate=True),
        Input(ids.LIBRARY_SCORE_REJECTED, "data"),
        prevent_initial_call=True,
    )(report_rejected)
    app.callback(
        output={
            "alert": Output(ids.LIBRARY_SCORE_ALERT, "children", allow_duplicate=True),
            "result": Output(ids.LIBRARY_SCORE_RESULT, "children"),
            "run": Output(ids.LIBRARY_SCORE_RUN, "data"),
        },
        inputs={
            "n_clicks": Input(ids.LIBRARY_SCORE_BUTTON, "n_clicks"),
            "saved": State(ids.LIBRARY_SCORE_SAVED, "value"),
            "choice": State(ids.LIBRARY_SCORE_DATA, "value"),
            "uploaded": State(ids.LIBRARY_SCORE_FILE, "data"),
            "data": State(app_ids.SESSION, "data"),
        },
        running=[(Output(ids.LIBRARY_SCORE_BUTTON, "disabled"), True, False)],
        prevent_initial_call=True,
    )(run_score)
    app.callback(
        output={
            "download": Output(ids.LIBRARY_SCORE_DOWNLOAD, "data"),
            "alert": Output(ids.LIBRARY_SCORE_ALERT, "children", allow_duplicate=True),
        },
        inputs={
            "n_clicks": Input(ids.LIBRARY_SCORE_EXPORT, "n_clicks"),
            "fmt": State(ids.LIBRARY_SCORE_FORMAT, "value"),
            "run": State(ids.LIBRARY_SCORE_RUN, "data"),
            "data": State(app_ids.SESSION, "data"),
        },
        prevent_initial_call=True,
    )(download)
