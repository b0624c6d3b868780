"""The Library page's components (pure builders): search and sort, the table, the rename and
delete-confirmation panels."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html
from dash.development.base_component import Component

from dashapp.pages.library import ids
from dashapp.pages.library.score import SESSION_DATA, UPLOADED, SizeRow
from dashapp.pages.library.view import SORT_LABELS, Row, empty_text
from dashapp.shared import components

HIDDEN = {"display": "none"}


DEFAULT_MAX_UPLOAD_BYTES = 200 * 1024**2


def build(max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES, /, **_query: Any) -> Component:
    """The page skeleton; callbacks fill the table from the workspace. ``max_upload_bytes``
    is the limit the file to score is checked against in the browser (as on the Data page)."""
    return html.Div(
        [
            dcc.Store(id=ids.LIBRARY_VERSION, data=0),
            dcc.Store(id=ids.LIBRARY_PENDING, data=None),
            html.H4("Library", className="mb-2"),
            html.P(
                "Saved segmentations of the team: open one to see its data and segments "
                "exactly as saved.",
                className="small text-muted",
            ),
            html.Div(id=ids.LIBRARY_ALERT, **components.POLITE),
            controls(),
            rename_panel(),
            delete_panel(),
            html.Div(id=ids.LIBRARY_TABLE),
            score_card(max_upload_bytes),
            source_card(),
        ]
    )


def score_card(max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES) -> dbc.Card:
    """Score the session's data or an uploaded transaction file with a saved segmentation:
    the segment sizes, then the scored customers as a download. A file over the limit is
    reported by ``assets/upload_guard.js`` (the wrapper's data attributes) to a store."""
    upload = _score_upload(max_upload_bytes)
    export = _score_export()
    return components.card(
        "Score a file with a saved segmentation",
        [
            dcc.Store(id=ids.LIBRARY_SCORE_FILE, data=None),
            dcc.Store(id=ids.LIBRARY_SCORE_RUN, data=None),
            components.form_row(
                [
                    components.field(
                        "Saved segmentation",
                        dbc.Select(
                            id=ids.LIBRARY_SCORE_SAVED,
                            options=[],
                            placeholder="Choose a saved segmentation",
                        ),
                        md=4,
                    ),
                    components.field(
                        "Customers to score",
                        dbc.RadioItems(
                            id=ids.LIBRARY_SCORE_DATA,
                            options=data_options(None),
                            value=SESSION_DATA,
                        ),
                        components.label_for(
                            "Upload a transaction file to score",
                            ids.LIBRARY_SCORE_UPLOAD,
                            className="visually-hidden",
                        ),
                        upload,
                        md=6,
                    ),
                ],
                button="Score",
                button_id=ids.LIBRARY_SCORE_BUTTON,
            ),
            html.Div(id=ids.LIBRARY_SCORE_ALERT, className="mt-2", **components.POLITE),
            html.Div(id=ids.LIBRARY_SCORE_RESULT, className="mt-2"),
            export,
        ],
    )


def _score_upload(max_upload_bytes: int) -> html.Div:
    """The upload area of a file to score; ``assets/upload_guard.js`` reports a file over
    the limit to the store its wrapper names."""
    limit = f"{max_upload_bytes / 1024**2:,.0f} MB"
    return html.Div(
        [
            dcc.Store(id=ids.LIBRARY_SCORE_REJECTED),
            dcc.Upload(
                id=ids.LIBRARY_SCORE_UPLOAD,
                children=html.Div(
                    [html.Strong("Drop a transaction file here"), " or ",
                     html.A("choose one", href="#", className="link-primary"),
                     html.Span(f" · up to {limit}", className="small text-muted")]
                ),
                accept=".csv,.tsv,.txt,.xlsx,.xls,.parquet,.pq",
                max_size=max_upload_bytes,
                multiple=False,
                className="upload-zone",
                className_active="upload-zone upload-zone-active",
            ),
        ],
        **{"data-max-bytes": str(max_upload_bytes),
           "data-rejected-store": ids.LIBRARY_SCORE_REJECTED},
    )


def _score_export() -> html.Div:
    """The scored customers' file format and download button."""
    return html.Div(
        [
            dbc.Label("File format", html_for=ids.LIBRARY_SCORE_FORMAT, className="me-2"),
            dbc.RadioItems(
                id=ids.LIBRARY_SCORE_FORMAT,
                options=[{"label": f.upper(), "value": f} for f in ("csv", "xlsx", "parquet")],
                value="csv",
                inline=True,
                className="d-inline-block me-2",
            ),
            dbc.Button("Download the scored customers", id=ids.LIBRARY_SCORE_EXPORT, size="sm"),
            dcc.Download(id=ids.LIBRARY_SCORE_DOWNLOAD),
        ],
        className="mt-2",
    )


def data_options(uploaded: str | None) -> list[dict[str, str]]:
    """The session's data, and the uploaded file once there is one."""
    options = [{"label": "This session's data", "value": SESSION_DATA}]
    if uploaded:
        options.append({"label": f"The uploaded file {uploaded}", "value": UPLOADED})
    return options


def score_result(summary: str, rows: list[SizeRow]) -> Component:
    """The scored data's segment sizes."""
    return html.Div(
        [
            html.P(summary, className="mb-1", id=ids.LIBRARY_SCORE_RESULT + "-summary"),
            html.Table(
                [
                    html.Caption("Customers per segment"),
                    html.Thead(
                        html.Tr(
                            [
                                html.Th("Segment", scope="col"),
                                html.Th("Customers", scope="col", className="text-end"),
                                html.Th("Share", scope="col", className="text-end"),
                            ]
                        )
                    ),
                    html.Tbody(
                        [
                            html.Tr(
                                [
                                    html.Th(r.segment, scope="row"),
                                    html.Td(r.customers, className="text-end"),
                                    html.Td(r.share, className="text-end"),
                                ]
                            )
                            for r in rows
                        ]
                    ),
                ],
                className="table table-sm w-auto",
            ),
        ]
    )


def source_card() -> dbc.Card:
    """Read transactions from a database source the operator configured."""
    return components.card(
        "Read transactions from a database",
        [
            html.P(id=ids.LIBRARY_SOURCE_HELP, className="small text-muted"),
            components.form_row(
                [
                    components.field(
                        "Source", dbc.Select(id=ids.LIBRARY_SOURCE, options=[]), md=3
                    ),
                    components.field(
                        "Table",
                        dbc.Input(id=ids.LIBRARY_SOURCE_TABLE, type="text", maxLength=120),
                        md=3,
                    ),
                    components.field(
                        "or a SELECT",
                        dbc.Textarea(id=ids.LIBRARY_SOURCE_QUERY, rows=1, maxLength=4000),
                        md=4,
                    ),
                ],
                button="Read",
                button_id=ids.LIBRARY_SOURCE_READ,
            ),
            html.Div(id=ids.LIBRARY_SOURCE_ALERT, className="mt-2", **components.POLITE),
        ],
    )


def controls() -> dbc.Row:
    return dbc.Row(
        [
            dbc.Col(
                [
                    dbc.Label("Search", html_for=ids.LIBRARY_SEARCH),
                    dbc.Input(
                        id=ids.LIBRARY_SEARCH,
                        type="search",
                        placeholder="name, note, creator or data",
                        debounce=True,
                    ),
                ],
                md=6,
            ),
            dbc.Col(
                [
                    dbc.Label("Sort by", html_for=ids.LIBRARY_SORT),
                    dbc.Select(
                        id=ids.LIBRARY_SORT,
                        options=[{"label": v, "value": k} for k, v in SORT_LABELS.items()],
                        value="updated",
                    ),
                ],
                md=3,
            ),
        ],
        className="mb-3 g-3",
    )


def rename_panel() -> html.Div:
    return html.Div(
        dbc.Card(
            dbc.CardBody(
                [
                    dbc.Label("New name", html_for=ids.LIBRARY_RENAME_INPUT),
                    dbc.Input(id=ids.LIBRARY_RENAME_INPUT, type="text", maxLength=200),
                    html.Div(
                        [
                            dbc.Button("Rename", id=ids.LIBRARY_RENAME_APPLY, className="me-2"),
                            dbc.Button(
                                "Cancel", id=ids.LIBRARY_CANCEL_RENAME, color="secondary",
                                outline=True,
                            ),
                        ],
                        className="mt-2",
                    ),
                ]
            ),
            className="mb-3",
        ),
        id=ids.LIBRARY_RENAME_PANEL,
        style=HIDDEN,
    )


def delete_panel() -> html.Div:
    return html.Div(
        dbc.Alert(
            [
                html.P(id=ids.LIBRARY_DELETE_TEXT, className="mb-2"),
                dbc.Button(
                    "Delete", id=ids.LIBRARY_DELETE_CONFIRM, color="danger", className="me-2"
                ),
                dbc.Button(
                    "Cancel", id=ids.LIBRARY_CANCEL_DELETE, color="secondary", outline=True
                ),
            ],
            color="warning",
        ),
        id=ids.LIBRARY_DELETE_PANEL,
        style=HIDDEN,
    )


def _buttons(name: str) -> html.Td:
    """Open / Rename / Delete, each named with the row for screen readers."""
    kinds = (
        (ids.OPEN, "Open", "btn btn-sm btn-primary me-1"),
        (ids.RENAME, "Rename", "btn btn-sm btn-outline-secondary me-1"),
        (ids.DELETE, "Delete", "btn btn-sm btn-outline-danger"),
    )
    return html.Td(
        [
            html.Button(
                label,
                id=ids.row_button(kind, name),
                className=css,
                type="button",
                **{"aria-label": f"{label} {name}"},
            )
            for kind, label, css in kinds
        ],
        className="text-nowrap",
    )


HEADERS = ("Name", "Note", "Saved by", "Last changed", "Data", "Segments", "Actions")


def table(rows: list[Row], search: str) -> Component:
    if not rows:
        return html.P(empty_text(search), className="text-muted")
    body = [
        html.Tr(
            [
                html.Th(r.name, scope="row"),
                html.Td(r.note),
                html.Td(r.creator),
                html.Td(r.updated, className="text-nowrap"),
                html.Td(r.data),
                html.Td(r.segments, className="small"),
                _buttons(r.name),
            ]
        )
        for r in rows
    ]
    return html.Table(
        [
            html.Caption(f"{len(rows)} saved segmentation(s)"),
            html.Thead(html.Tr([html.Th(h, scope="col") for h in HEADERS])),
            html.Tbody(body),
        ],
        className="table table-sm align-middle",
    )
