"""The Export page's callbacks: the segment checklist, the list preview and three downloads
(the customer list, the reproducible bundle, the HTML report).

Everything is built on the server from the session's segmentation (the one the Model and
Segments pages show, with the session's segment names) and sent with ``dcc.Download``. The
lists hold exactly the members of the chosen segments
(:func:`dashapp.pages.export.view.export_frame`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
from dash import Dash, Input, Output, State, dcc, no_update
from dash.exceptions import PreventUpdate

from core import bundle as core_bundle
from core.cache import fingerprint_file
from core.clustering.select_k import KSelection
from core.clustering.stability import StabilityReport
from core.errors import ConfigError, CustsegError
from dashapp.audit import ExportRecord, export_record
from dashapp.pages.export import figures, ids
from dashapp.pages.export import view as ex
from dashapp.pages.export.layout import (
    count_line,
    input_alert,
    preview_table,
    segment_option,
    summary,
)
from dashapp.services import AppServices, get_services
from dashapp.shared import components, downloads, workspace
from dashapp.shared import ids as app_ids
from dashapp.shared import segment_figures as fs
from dashapp.shared import value as predicted
from dashapp.shared.modeling import SessionModel, selected_segment
from dashapp.shared.segment_components import load_model
from dashapp.shared.urlstate import register_url_sync
from dashapp.state import SessionState, require_state


def render(data: object) -> dict[str, Any]:
    """The summary, the segment checklist (the selected segment ticked, else all), any alert."""
    state = require_state(data)
    model, problem = load_model(state, get_services())
    if model is None:
        return {"summary": "", "alert": problem, "segment_options": [], "ticked_segments": []}
    result = model.result
    choices = ex.segment_choices(result, selected_segment(state))
    return {
        "summary": summary(choices.k, choices.customers, model.settings.describe()),
        "alert": [],
        "segment_options": [
            segment_option(c, fs.color_of(result, c.segment)) for c in choices.choices
        ],
        "ticked_segments": choices.ticked,
    }


def _features(state: SessionState, services: AppServices, model: SessionModel) -> pl.DataFrame:
    """The features the lists are cut from, with the session's predicted value (empty
    columns when the data has no predictions: see the Value page)."""
    return predicted.with_predictions(
        model.table.features, predicted.predictions_or_none(state, model.table, services)
    )


def _inputs(
    data: object, segments: object, fmt: object
) -> tuple[SessionState, AppServices, SessionModel, tuple[int, ...], ex.Format]:
    """The session, services, model, chosen segments and format (``ConfigError`` if invalid)."""
    state = require_state(data)
    services = get_services()
    model, _problem = load_model(state, services)
    if model is None:
        raise PreventUpdate
    chosen = ex.parse_segments(segments, model.result)
    return state, services, model, chosen, ex.parse_format(fmt)


def record(
    state: SessionState,
    services: AppServices,
    model: SessionModel,
    segments: tuple[int, ...],
    *,
    rows: int,
    fmt: str,
) -> ExportRecord:
    """Log an export (who, dataset, segments, rows, format): :func:`dashapp.audit.export_record`."""
    source = services.source(state.dataset, state.session_id)
    return export_record(
        session=state.session_id,
        dataset=source.filename if source is not None else (state.filename or "data"),
        dataset_key=state.dataset,
        segments=[model.result.name_of(s) for s in segments],
        rows=rows,
        format=fmt,
    )


def preview(segments: object, fmt: object, data: object) -> tuple[Any, Any]:
    """How many customers the list holds, and its first rows."""
    try:
        state, services, model, chosen, _fmt = _inputs(data, segments, fmt)
    except ConfigError as exc:
        return input_alert(exc.message, exc.hint), []
    frame = ex.export_frame(model.result, _features(state, services, model), chosen)
    shown = ex.list_preview(frame, chosen)
    return count_line(shown), preview_table(shown)


def download_list(n_clicks: object, segments: object, fmt: object, data: object) -> tuple[Any, Any]:
    """The customers of the chosen segments in the chosen format."""
    if not n_clicks:
        raise PreventUpdate
    try:
        state, services, model, chosen, fmt_ = _inputs(data, segments, fmt)
        frame = ex.export_frame(model.result, _features(state, services, model), chosen)
        content = ex.list_bytes(frame, fmt_)
    except CustsegError as exc:
        return no_update, components.error_alert(exc, title="Nothing was exported")
    record(state, services, model, chosen, rows=frame.height, fmt=fmt_)
    name = ex.list_filename(model.result, chosen, fmt_)
    workspace.log_export(
        state, list_name=_list_name(model, chosen), fmt=fmt_, rows=frame.height
    )
    return downloads.send(content, name, fmt_), []


def _list_name(model: SessionModel, chosen: tuple[int, ...]) -> str:
    """The exported segments by name, for the workspace's export log."""
    names = model.result.names
    return ", ".join(names[s] if 0 <= s < len(names) else "noise" for s in chosen)


def bundle(
    state: SessionState,
    services: AppServices,
    model: SessionModel,
    chosen: tuple[int, ...],
    fmt: ex.Format,
) -> bytes:
    """The zip of core's bundle (:mod:`core.bundle`, the files ``custseg workspace export``
    writes): the list, its config (data fingerprint + settings) and the segment report."""
    source = services.source(state.dataset, state.session_id)
    if source is None:
        raise ConfigError(
            "the dataset's file is no longer stored on the server", hint="Upload it again."
        )
    settings = ex.bundle_settings(model.settings, state.cleaning_config())
    selection, stability = _diagnostics(state, model, services)
    files = core_bundle.bundle_files(
        table=model.table,
        settings=settings,
        result=model.result,
        segments=chosen,
        list_format=fmt,
        filename=source.filename,
        file_sha256=fingerprint_file(source.path),
        selection=selection,
        stability=stability,
    )
    return core_bundle.zip_bytes(files)


def _diagnostics(
    state: SessionState, model: SessionModel, services: AppServices
) -> tuple[KSelection | None, StabilityReport | None]:
    """The k selection and stability of the session's fit (from the cache), when computable."""
    settings = ex.bundle_settings(model.settings, state.cleaning_config())
    return core_bundle.diagnostics(model.table, settings, model.result, cache=services.cache)


def download_bundle(
    n_clicks: object, segments: object, fmt: object, data: object
) -> tuple[Any, Any]:
    """The bundle (zip) for the chosen segments and format."""
    if not n_clicks:
        raise PreventUpdate
    try:
        state, services, model, chosen, fmt_ = _inputs(data, segments, fmt)
        content = bundle(state, services, model, chosen, fmt_)
    except CustsegError as exc:
        return no_update, components.error_alert(exc, title="Nothing was exported")
    rows = sum(ex.members(model.result, s) for s in chosen)  # the list's rows
    record(state, services, model, chosen, rows=rows, fmt=f"zip ({fmt_})")
    name = ex.bundle_filename(model.result, chosen)
    return dcc.send_bytes(content, name, type="application/zip"), []


def report(state: SessionState, services: AppServices, model: SessionModel) -> str:
    """The HTML report of the session's segmentation (every segment)."""
    result = model.result
    selection, stability = _diagnostics(state, model, services)
    source = services.source(state.dataset, state.session_id)
    filename = source.filename if source is not None else (state.filename or "data")
    charts = figures.report_charts(
        result, model.table.features, model.settings, selection, stability
    )
    facts = ex.report_facts(
        filename=filename,
        table=model.table,
        settings=model.settings,
        result=result,
        selection=selection,
        stability=stability,
    )
    return ex.report_html(
        title=ex.report_title(filename),
        subtitle=ex.report_subtitle(dt.datetime.now()),
        result=result,
        colors=figures.segment_colors(result),
        charts=figures.charts_html(charts),
        facts=facts,
    )


def download_report(n_clicks: object, data: object) -> tuple[Any, Any]:
    """The HTML report (self-contained: Plotly inlined, works offline)."""
    if not n_clicks:
        raise PreventUpdate
    state = require_state(data)
    services = get_services()
    model, problem = load_model(state, services)
    if model is None:
        return no_update, problem
    page = report(state, services, model)
    every = tuple(range(model.result.k))
    record(state, services, model, every, rows=model.result.segmentation.n, fmt="html")
    return dcc.send_string(page, ex.report_filename(model.result), type="text/html"), []


def preparing(what: str) -> tuple[Output, str, str]:
    """What the download's live status says while ``what`` is built (then nothing)."""
    return (Output(ids.EXPORT_STATUS, "children"), f"Preparing {what}…", "")


def register(app: Dash) -> None:
    """Attach this page's callbacks to ``app``."""
    register_url_sync(
        app,
        query_id=ids.EXPORT_URL_QUERY,
        search_id=ids.EXPORT_URL_SEARCH,
        sink_id=ids.EXPORT_URL_SINK,
    )
    app.callback(
        output={
            "summary": Output(ids.EXPORT_SUMMARY, "children"),
            "alert": Output(ids.EXPORT_ALERT, "children"),
            "segment_options": Output(ids.EXPORT_SEGMENTS, "options"),
            "ticked_segments": Output(ids.EXPORT_SEGMENTS, "value"),
        },
        inputs={"data": Input(app_ids.SESSION, "data")},
    )(render)
    app.callback(
        Output(ids.EXPORT_COUNT, "children"),
        Output(ids.EXPORT_PREVIEW, "children"),
        Input(ids.EXPORT_SEGMENTS, "value"),
        Input(ids.EXPORT_FORMAT, "value"),
        State(app_ids.SESSION, "data"),
        prevent_initial_call=True,
    )(preview)
    app.callback(
        Output(ids.EXPORT_DOWNLOAD_LIST, "data"),
        Output(ids.EXPORT_ALERT, "children", allow_duplicate=True),
        Input(ids.EXPORT_LIST_BUTTON, "n_clicks"),
        State(ids.EXPORT_SEGMENTS, "value"),
        State(ids.EXPORT_FORMAT, "value"),
        State(app_ids.SESSION, "data"),
        running=[preparing("the customer list")],
        prevent_initial_call=True,
    )(download_list)
    app.callback(
        Output(ids.EXPORT_DOWNLOAD_BUNDLE, "data"),
        Output(ids.EXPORT_ALERT, "children", allow_duplicate=True),
        Input(ids.EXPORT_BUNDLE_BUTTON, "n_clicks"),
        State(ids.EXPORT_SEGMENTS, "value"),
        State(ids.EXPORT_FORMAT, "value"),
        State(app_ids.SESSION, "data"),
        running=[preparing("the bundle")],
        prevent_initial_call=True,
    )(download_bundle)
    app.callback(
        Output(ids.EXPORT_DOWNLOAD_REPORT, "data"),
        Output(ids.EXPORT_ALERT, "children", allow_duplicate=True),
        Input(ids.EXPORT_REPORT_BUTTON, "n_clicks"),
        State(app_ids.SESSION, "data"),
        running=[preparing("the report")],
        prevent_initial_call=True,
    )(download_report)
