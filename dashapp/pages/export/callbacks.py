"""Export page: the chosen segments' customers as CSV, XLSX or Parquet; a reproducible bundle;
an HTML report.

Everything is built on the server from the session's segmentation (the one the Model and
Segments pages show, with the session's segment names) and sent with ``dcc.Download``. The
lists hold exactly the members of the chosen segments
(:func:`dashapp.pages.export.view.export_frame`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from typing import Any

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, dcc, html, no_update
from dash.development.base_component import Component
from dash.exceptions import PreventUpdate

from core.errors import ConfigError, CustsegError
from core.export import FORMATS
from dashapp.pages.export import view as ex
from dashapp.services import AppServices, get_services
from dashapp.shared import components, ids
from dashapp.shared import segment_components as cs
from dashapp.shared import segment_figures as fs
from dashapp.shared.modeling import (
    SessionModel,
    k_selection,
    selected_segment,
    stability_report,
)
from dashapp.shared.segment_components import load_model
from dashapp.shared.urlstate import register_url_sync, url_components
from dashapp.state import SessionState, require_state

log = logging.getLogger(__name__)

PATH = "/export"
NAME = "Export"
ORDER = 7
TITLE = "Export · custseg"
DESCRIPTION = "Download segment customer lists, a reproducible bundle and an HTML report."

PREVIEW_ROWS = 8
FORMAT_LABELS = {
    "csv": "CSV (spreadsheet-safe)",
    "xlsx": "Excel (.xlsx)",
    "parquet": "Parquet",
}


def layout(**query: Any) -> Component:
    """The page skeleton; callbacks fill it from the session state."""
    return html.Div(
        [
            url_components(ids.EXPORT_URL_QUERY, ids.EXPORT_URL_SEARCH, ids.EXPORT_URL_SINK, query),
            dcc.Download(id=ids.EXPORT_DOWNLOAD_LIST),
            dcc.Download(id=ids.EXPORT_DOWNLOAD_BUNDLE),
            dcc.Download(id=ids.EXPORT_DOWNLOAD_REPORT),
            dbc.Row(
                [
                    dbc.Col(html.H4("Export", className="mb-0"), width="auto"),
                    dbc.Col(html.Div(id=ids.EXPORT_SUMMARY, className="small")),
                ],
                className="mb-2 g-3 align-items-center",
            ),
            html.Div(id=ids.EXPORT_ALERT),
            dbc.Row(
                [
                    dbc.Col(
                        components.card(
                            "What to export",
                            [
                                html.Label("Segments", className="form-label fw-semibold small"),
                                dbc.Checklist(
                                    id=ids.EXPORT_SEGMENTS, options=[], value=[], className="small"
                                ),
                                html.Label("Format", className="form-label fw-semibold small mt-2"),
                                dbc.RadioItems(
                                    id=ids.EXPORT_FORMAT,
                                    options=[
                                        {"label": FORMAT_LABELS[f], "value": f} for f in FORMATS
                                    ],
                                    value="csv",
                                    className="small",
                                ),
                                html.Div(id=ids.EXPORT_COUNT, className="my-2"),
                                dbc.Button(
                                    "Download the customer list",
                                    id=ids.EXPORT_LIST_BUTTON,
                                    color="primary",
                                    className="w-100 mb-2",
                                ),
                                dbc.Button(
                                    "Download the bundle (.zip: list + config to reproduce it)",
                                    id=ids.EXPORT_BUNDLE_BUTTON,
                                    color="outline-primary",
                                    className="w-100 mb-2",
                                ),
                                dbc.Button(
                                    "Download the HTML report (charts + profiles)",
                                    id=ids.EXPORT_REPORT_BUTTON,
                                    color="outline-secondary",
                                    className="w-100",
                                ),
                                html.Div(
                                    "CSV cells that a spreadsheet would run as a formula "
                                    "(starting with = + - @) get a leading quote.",
                                    className="form-text",
                                ),
                            ],
                        ),
                        lg=4,
                    ),
                    dbc.Col(
                        components.card(
                            f"Preview: the first {PREVIEW_ROWS} rows of the list",
                            dcc.Loading(html.Div(id=ids.EXPORT_PREVIEW), type="dot"),
                        ),
                        lg=8,
                    ),
                ]
            ),
        ]
    )


def render(data: object) -> tuple[Any, ...]:
    """Summary, the segment checklist (the selected segment ticked, else all) and any alert."""
    state = require_state(data)
    model, problem = load_model(state, get_services())
    if model is None:
        return "", problem, [], []
    result = model.result
    segments = list(range(result.k)) + ([-1] if result.segmentation.n_noise else [])
    options = [
        {
            "label": html.Span(
                [
                    cs.swatch(fs.color_of(result, s)),
                    result.name_of(s),
                    html.Span(f" · {_members(model, s):,} customers", className="text-muted"),
                ]
            ),
            "value": s,
        }
        for s in segments
    ]
    chosen = selected_segment(state)
    value = [chosen] if chosen in segments else [s for s in segments if s >= 0]
    summary = [
        html.Span(f"{result.k} segments of {result.overview.customers:,} customers · "),
        html.Span(model.settings.describe(), className="text-muted"),
    ]
    return summary, [], options, value


def _members(model: SessionModel, segment: int) -> int:
    if segment == -1:
        return model.result.overview.noise
    return model.result.profiles[segment].customers


def _inputs(
    data: object, segments: object, fmt: object
) -> tuple[SessionState, AppServices, SessionModel, tuple[int, ...], ex.Format]:
    state = require_state(data)
    services = get_services()
    model, _problem = load_model(state, services)
    if model is None:
        raise PreventUpdate
    chosen = ex.parse_segments(segments, model.result)
    return state, services, model, chosen, ex.parse_format(fmt)


def preview(segments: object, fmt: object, data: object) -> tuple[Any, Any]:
    """How many customers the list holds, and its first rows."""
    try:
        _state, _services, model, chosen, _fmt = _inputs(data, segments, fmt)
    except ConfigError as exc:
        return components.message_alert(f"{exc.message}. {exc.hint or ''}", color="warning"), []
    frame = ex.export_frame(model.result, model.table.features, chosen)
    head = frame.head(PREVIEW_ROWS)
    count = html.P(
        [
            html.Strong(f"{frame.height:,}"),
            f" customers in {len(chosen)} segment{'s' if len(chosen) > 1 else ''}, "
            f"{frame.width} columns",
        ],
        className="mb-0",
        id="export-row-count",
    )
    table = dbc.Table(
        [
            html.Thead(html.Tr([html.Th(c) for c in head.columns])),
            html.Tbody([html.Tr([html.Td(_cell(v)) for v in row]) for row in head.iter_rows()]),
        ],
        size="sm",
        striped=True,
        className="small mb-0",
        style={"whiteSpace": "nowrap"},
    )
    return count, html.Div(table, style={"overflowX": "auto"})


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def download_list(n_clicks: object, segments: object, fmt: object, data: object) -> tuple[Any, Any]:
    """The customers of the chosen segments in the chosen format."""
    if not n_clicks:
        raise PreventUpdate
    try:
        _state, _services, model, chosen, fmt_ = _inputs(data, segments, fmt)
        frame = ex.export_frame(model.result, model.table.features, chosen)
        content = ex.list_bytes(frame, fmt_)
    except CustsegError as exc:
        return no_update, components.error_alert(exc, title="Nothing was exported")
    name = f"{ex.file_stem(model.result, chosen)}.{fmt_}"
    return dcc.send_bytes(content, name, type=ex.MIME[fmt_]), []


def bundle(
    state: SessionState,
    services: AppServices,
    model: SessionModel,
    chosen: tuple[int, ...],
    fmt: ex.Format,
) -> bytes:
    """The zip of the list, its config (data fingerprint + settings) and the segment report."""
    source = services.source(state.dataset)
    if source is None:
        raise ConfigError(
            "the dataset's file is no longer stored on the server", hint="Upload it again."
        )
    frame = ex.export_frame(model.result, model.table.features, chosen)
    config = ex.config_document(
        table=model.table,
        settings=model.settings,
        result=model.result,
        segments=chosen,
        filename=source.filename,
        source_path=source.path,
        cleaning=state.cleaning_config(),
        default_cleaning=all(state.cleaning.values()),
        list_format=fmt,
        list_sha256="",
        rows=frame.height,
    )
    selection, stability = _diagnostics(model, services)
    return ex.bundle_bytes(
        frame=frame,
        list_format=fmt,
        config=config,
        result=model.result,
        selection=selection,
        stability=stability,
    )


def _diagnostics(model: SessionModel, services: AppServices) -> tuple[Any, Any]:
    """The k selection and stability of the session's fit (from the cache), when computable."""
    try:
        selection = k_selection(model.table, model.settings, services)
    except CustsegError as exc:
        log.info("k selection left out of the export: %s", exc.message)
        selection = None
    try:
        stability = stability_report(model.table, model.settings, services, model.result)
    except CustsegError as exc:
        log.info("stability left out of the export: %s", exc.message)
        stability = None
    return selection, stability


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
    name = f"{ex.file_stem(model.result, chosen)}-bundle.zip"
    return dcc.send_bytes(content, name, type="application/zip"), []


def report(state: SessionState, services: AppServices, model: SessionModel) -> str:
    """The HTML report of the session's segmentation (every segment)."""
    result = model.result
    selection, stability = _diagnostics(model, services)
    source = services.source(state.dataset)
    filename = source.filename if source is not None else (state.filename or "data")
    scatter, note = fs.projection_figure(
        result, max_points=ex.REPORT_SCATTER_POINTS, seed=model.settings.seed
    )
    charts: list[tuple[str, Any]] = [
        ("Size and revenue of each segment", fs.sizes_figure(fs.segment_rows(result))),
        (
            "Customers in two dimensions" + (f" ({note})" if note else ""),
            scatter,
        ),
        (
            "Profiles (standard deviations from all customers)",
            fs.profile_heatmap(result, model.table.features),
        ),
    ]
    if selection is not None:
        charts.append(("Choosing k", fs.k_selection_figure(selection, current_k=model.settings.k)))
    if stability is not None:
        charts.append(("Stability per segment", fs.stability_figure(stability, result)))
    overview = result.overview
    facts = [
        (
            "Data",
            f"{filename} · {model.table.audit.rows_in:,} lines, "
            f"{model.table.n_customers:,} customers",
        ),
        ("Settings", model.settings.describe()),
        ("Method", result.segmentation.description),
        (
            "Customers clustered",
            f"{overview.customers:,} ({overview.excluded:,} excluded"
            + (f", {overview.noise:,} noise" if overview.noise else "")
            + ")",
        ),
        (
            "Silhouette",
            ("—" if overview.silhouette is None else f"{overview.silhouette:.2f}")
            + f" ({overview.silhouette_note})",
        ),
        (
            "Choice of k",
            selection.reason if selection is not None else "set by the model (HDBSCAN)",
        ),
    ]
    if stability is not None:
        facts.append(("Stability", stability.summary))
    colors = [fs.color_of(result, p.segment) for p in result.profiles]
    return ex.report_html(
        title=f"Customer segments · {filename}",
        subtitle=f"custseg report generated {dt.datetime.now():%Y-%m-%d %H:%M}",
        result=result,
        colors=colors,
        figures=charts,
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
    digest = hashlib.sha256(model.result.key.encode()).hexdigest()[:8]
    return dcc.send_string(page, f"segments-report-{digest}.html", type="text/html"), []


def register_callbacks(app: Dash) -> None:
    """Attach this page's callbacks to ``app``."""
    register_url_sync(
        app,
        query_id=ids.EXPORT_URL_QUERY,
        search_id=ids.EXPORT_URL_SEARCH,
        sink_id=ids.EXPORT_URL_SINK,
        alert_id=ids.EXPORT_ALERT,
    )
    app.callback(
        Output(ids.EXPORT_SUMMARY, "children"),
        Output(ids.EXPORT_ALERT, "children"),
        Output(ids.EXPORT_SEGMENTS, "options"),
        Output(ids.EXPORT_SEGMENTS, "value"),
        Input(ids.SESSION, "data"),
    )(render)
    app.callback(
        Output(ids.EXPORT_COUNT, "children"),
        Output(ids.EXPORT_PREVIEW, "children"),
        Input(ids.EXPORT_SEGMENTS, "value"),
        Input(ids.EXPORT_FORMAT, "value"),
        State(ids.SESSION, "data"),
        prevent_initial_call=True,
    )(preview)
    app.callback(
        Output(ids.EXPORT_DOWNLOAD_LIST, "data"),
        Output(ids.EXPORT_ALERT, "children", allow_duplicate=True),
        Input(ids.EXPORT_LIST_BUTTON, "n_clicks"),
        State(ids.EXPORT_SEGMENTS, "value"),
        State(ids.EXPORT_FORMAT, "value"),
        State(ids.SESSION, "data"),
        prevent_initial_call=True,
    )(download_list)
    app.callback(
        Output(ids.EXPORT_DOWNLOAD_BUNDLE, "data"),
        Output(ids.EXPORT_ALERT, "children", allow_duplicate=True),
        Input(ids.EXPORT_BUNDLE_BUTTON, "n_clicks"),
        State(ids.EXPORT_SEGMENTS, "value"),
        State(ids.EXPORT_FORMAT, "value"),
        State(ids.SESSION, "data"),
        prevent_initial_call=True,
    )(download_bundle)
    app.callback(
        Output(ids.EXPORT_DOWNLOAD_REPORT, "data"),
        Output(ids.EXPORT_ALERT, "children", allow_duplicate=True),
        Input(ids.EXPORT_REPORT_BUTTON, "n_clicks"),
        State(ids.SESSION, "data"),
        prevent_initial_call=True,
    )(download_report)


__all__ = [
    "bundle",
    "download_bundle",
    "download_list",
    "download_report",
    "layout",
    "preview",
    "register_callbacks",
    "render",
    "report",
]
