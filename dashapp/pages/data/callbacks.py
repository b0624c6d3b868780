"""Data page: upload a file, map its columns, choose the date format and cleaning rules, and
see the cleaning audit, data-sufficiency warnings and the first rows.

Flow (no callback cycle): the upload and the controls write the session store; one render
callback reads the store and rebuilds the controls and every report from it. Controls are
rendered from the store (not updated in place), so their values always show the state.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import dash_bootstrap_components as dbc
from dash import ALL, Dash, Input, Output, State, dcc, html, no_update
from dash.development.base_component import Component
from dash.exceptions import PreventUpdate

from core.errors import CustsegError, InputFileError
from core.io import read_table
from dashapp.services import DEFAULT_DATASET, get_services
from dashapp.shared import components, figures, ids
from dashapp.shared.loading import DataView, data_view, detected_roles
from dashapp.state import (
    TOGGLEABLE_RULES,
    SessionState,
    StateError,
    clean_text,
    parse_cleaning,
    parse_mapping,
    require_state,
)
from dashapp.uploads import decode_upload, display_name

log = logging.getLogger(__name__)

PATH = "/"
NAME = "Data"
ORDER = 0
TITLE = "Data · custseg"
DESCRIPTION = "Load transactions, map columns, check the cleaning audit."

GRAPH_CONFIG = {"displayModeBar": False}


def layout(**_query: str) -> Component:
    """The page skeleton; the render callback fills it from the session store."""
    services = get_services()
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(html.H4("Data", className="mb-0"), width="auto"),
                    dbc.Col(html.Div(id=ids.DATASET_SUMMARY), className="align-self-center"),
                ],
                className="mb-2 g-3",
            ),
            components.upload_area(services.max_upload_bytes),
            dcc.Store(id=ids.UPLOAD_REJECTED),
            dcc.Loading(html.Div(id=ids.UPLOAD_ALERT, className="mt-2"), type="dot"),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            components.card(
                                "Column mapping",
                                [
                                    html.P(
                                        "Pre-filled from the column names; change any role. "
                                        "* = required, plus quantity and price, or a line amount.",
                                        className="small text-muted mb-2",
                                    ),
                                    html.Div(id=ids.MAPPING_ALERT),
                                    html.Div(id=ids.MAPPING_FORM),
                                ],
                            ),
                            components.card(
                                "Dates",
                                html.Div(id=ids.DATE_INFO),
                            ),
                            components.card(
                                "Cleaning rules",
                                html.Div(id=ids.CLEANING_FORM),
                            ),
                        ],
                        lg=5,
                        xl=4,
                    ),
                    dbc.Col(
                        [
                            components.card(
                                "Cleaning audit: where every line went",
                                dcc.Loading(
                                    [
                                        dcc.Graph(
                                            id=ids.AUDIT_FUNNEL,
                                            figure=figures.empty_figure("Loading…"),
                                            config=GRAPH_CONFIG,
                                        ),
                                        html.Div(id=ids.AUDIT_TABLE_WRAP),
                                    ],
                                    type="circle",
                                ),
                            ),
                            components.card("Data sufficiency", html.Div(id=ids.SUFFICIENCY)),
                            components.card(
                                "First rows of the file",
                                [
                                    html.Div(id=ids.PREVIEW_CAPTION, className="small mb-2"),
                                    components.preview_grid(),
                                ],
                            ),
                        ],
                        lg=7,
                        xl=8,
                    ),
                ],
                className="mt-2",
            ),
        ]
    )


def upload_file(contents: object, filename: object, data: object) -> tuple[Any, Any, Any]:
    """Store an uploaded file for this session if it can be read; else say what is wrong.

    Returns (session data, upload alert, upload contents). On error the session data is left
    unchanged, so the data already loaded stays on screen. The upload's contents are cleared
    either way (the browser would otherwise keep the whole file in memory).
    """
    if contents is None:
        raise PreventUpdate
    state = require_state(data)
    services = get_services()
    name = display_name(filename)
    try:
        raw = decode_upload(contents, max_bytes=services.max_upload_bytes, filename=name)
        stored = services.uploads.save(raw, name)
        del raw
        try:
            frame, read = read_table(stored.path, filename=stored.filename)
            frame.head(5).collect()  # surface parse errors now, not on the page
        except CustsegError:
            services.uploads.discard(stored.key)
            raise
    except CustsegError as exc:
        return no_update, components.error_alert(exc), None
    services.registry.grant(state.session_id, stored.key)
    new_state = state.with_dataset(stored.key, stored.filename)
    alert = components.message_alert(
        [
            html.Strong(stored.filename),
            f" loaded ({components.format_size(stored.size)}, {read.format.upper()}, "
            f"{len(read.columns)} columns). Check the column mapping below.",
        ],
        color="success",
    )
    return new_state.to_json(), alert, None


def report_rejected(rejected: object) -> Any:
    """Explain a file the browser refused because it is over the size limit."""
    if not isinstance(rejected, dict):
        raise PreventUpdate
    name = display_name(rejected.get("name"))
    size = rejected.get("size")
    if not isinstance(size, int | float) or size < 0:
        raise PreventUpdate
    limit = get_services().max_upload_bytes
    error = InputFileError(
        f"{name!r} is {size / 1024**2:,.1f} MB; this server accepts files up to "
        f"{limit / 1024**2:,.0f} MB.",
        hint="Export fewer columns or a shorter period, or save the data as Parquet, "
        "which is much smaller than CSV.",
    )
    return components.error_alert(error, title="File too large")


def apply_controls(
    role_values: Sequence[object],
    date_values: Sequence[object],
    cleaning_values: Sequence[object],
    role_ids: Sequence[object],
    data: object,
) -> Any:
    """Write the mapping, date format and cleaning toggles shown on the page into the state.

    Each input is a list (pattern-matching ids): empty while a control is not rendered, in
    which case the state keeps its value. A mapping equal to what detection finds stays
    "detect" (None), so re-rendered controls never freeze the detected mapping.
    """
    state = require_state(data)
    changes: dict[str, Any] = {}
    try:
        if not all(isinstance(v, list | tuple) for v in (role_values, date_values, role_ids)):
            raise StateError("control values must be lists")
        if not isinstance(cleaning_values, list | tuple) or len(cleaning_values) > 1:
            raise StateError("one cleaning checklist expected")
        if len(role_ids) != len(role_values) or len(date_values) > 1:
            raise StateError("controls do not match their values")
        if role_ids:
            roles = [rid.get("role") if isinstance(rid, dict) else None for rid in role_ids]
            mapping = parse_mapping(dict(zip(roles, role_values, strict=True))) or {}
            chosen = {role: column for role, column in mapping.items() if column}
            detected = detected_roles(state, get_services())
            keep_detect = state.mapping is None and detected is not None and chosen == detected
            changes["mapping"] = None if keep_detect or not mapping else mapping
        if date_values:
            changes["date_format"] = clean_text(date_values[0], "date format")
        if cleaning_values:
            rules = cleaning_values[0] or []
            if not isinstance(rules, list) or not set(rules) <= set(TOGGLEABLE_RULES):
                raise StateError(f"unknown cleaning rules in {rules!r}")
            changes["cleaning"] = parse_cleaning({rule: rule in rules for rule in TOGGLEABLE_RULES})
    except StateError as exc:
        log.info("refused control values: %s", exc)
        raise PreventUpdate from exc
    new = state.evolve(**changes)
    if new == state:
        raise PreventUpdate
    return new.to_json()


def render(data: object) -> tuple[Any, ...]:
    """Everything on the page, from the session state."""
    state = require_state(data)
    view = data_view(state, get_services())
    return render_view(view, state)


def render_view(view: DataView, state: SessionState) -> tuple[Any, ...]:
    """The render callback's outputs for a view (pure: tests compare it with builders)."""
    summary = components.dataset_summary(
        view.filename, rows=view.rows, customers=view.customers, badge=view.badge
    )
    mapping_form = components.mapping_form(view.columns, view.mapping, view.detected)
    mapping_alert: Component | list[Component] = []
    if view.error is not None:
        mapping_alert = components.error_alert(
            view.error,
            title="This mapping does not work yet"
            if view.columns
            else "This file could not be used",
        )
    elif view.notes:
        mapping_alert = html.Ul([html.Li(n) for n in view.notes], className="small text-muted")
    date_info = components.date_panel(
        column=view.date_column,
        chosen=view.date_format,
        kind=view.date_kind,
        ambiguous=view.date_ambiguous,
        reason=view.date_reason,
        override=state.date_format,
    )
    cleaning_form = components.cleaning_form(dict(state.cleaning))
    if view.table is not None:
        funnel = figures.audit_funnel(view.table.audit)
        audit_table = [
            components.audit_table(view.table.audit),
            *components.audit_samples(view.table.audit),
        ]
        sufficiency = components.sufficiency_alerts(view.warnings)
    else:
        funnel = figures.empty_figure("Fix the column mapping to see the cleaning audit.")
        audit_table = []
        sufficiency = [html.P("Not computed yet.", className="text-muted mb-0")]
    if view.head is not None:
        row_data, column_defs = components.preview_grid_props(view.head, view.mapping)
        caption = components.preview_caption(view.head.height, view.mapping)
    else:
        row_data, column_defs, caption = [], [], ""
    return (
        summary,
        mapping_form,
        mapping_alert,
        date_info,
        cleaning_form,
        funnel,
        audit_table,
        sufficiency,
        row_data,
        column_defs,
        caption,
    )


RENDER_OUTPUTS = (
    Output(ids.DATASET_SUMMARY, "children"),
    Output(ids.MAPPING_FORM, "children"),
    Output(ids.MAPPING_ALERT, "children"),
    Output(ids.DATE_INFO, "children"),
    Output(ids.CLEANING_FORM, "children"),
    Output(ids.AUDIT_FUNNEL, "figure"),
    Output(ids.AUDIT_TABLE_WRAP, "children"),
    Output(ids.SUFFICIENCY, "children"),
    Output(ids.PREVIEW, "rowData"),
    Output(ids.PREVIEW, "columnDefs"),
    Output(ids.PREVIEW_CAPTION, "children"),
)


def register_callbacks(app: Dash) -> None:
    """Attach this page's callbacks to ``app``."""
    app.callback(
        Output(ids.SESSION, "data", allow_duplicate=True),
        Output(ids.UPLOAD_ALERT, "children", allow_duplicate=True),
        Output(ids.UPLOAD, "contents"),
        Input(ids.UPLOAD, "contents"),
        State(ids.UPLOAD, "filename"),
        State(ids.SESSION, "data"),
        prevent_initial_call=True,
    )(upload_file)
    app.callback(
        Output(ids.UPLOAD_ALERT, "children", allow_duplicate=True),
        Input(ids.UPLOAD_REJECTED, "data"),
        prevent_initial_call=True,
    )(report_rejected)
    app.callback(
        Output(ids.SESSION, "data", allow_duplicate=True),
        Input({"type": ids.ROLE_TYPE, "role": ALL}, "value"),
        Input({"type": ids.DATE_FORMAT_TYPE, "index": ALL}, "value"),
        Input({"type": ids.CLEANING_RULES_TYPE, "index": ALL}, "value"),
        State({"type": ids.ROLE_TYPE, "role": ALL}, "id"),
        State(ids.SESSION, "data"),
        prevent_initial_call=True,
    )(apply_controls)
    app.callback(*RENDER_OUTPUTS, Input(ids.SESSION, "data"))(render)


__all__ = [
    "DEFAULT_DATASET",
    "apply_controls",
    "layout",
    "register_callbacks",
    "render",
    "render_view",
    "report_rejected",
    "upload_file",
]
