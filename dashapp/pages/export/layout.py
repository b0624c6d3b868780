"""The Export page's components (pure builders): the skeleton, the segment checklist, the
summary, the count line and the preview table."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html
from dash.development.base_component import Component

from core.export import FORMATS
from dashapp.pages.export import ids
from dashapp.pages.export.view import PREVIEW_ROWS, ListPreview, SegmentChoice
from dashapp.shared import components
from dashapp.shared import segment_components as cs
from dashapp.shared.urlstate import url_components

FORMAT_LABELS = {
    "csv": "CSV (spreadsheet-safe)",
    "xlsx": "Excel (.xlsx)",
    "parquet": "Parquet",
}


def build(**query: Any) -> Component:
    """The page skeleton (``query``: the link's parameters); callbacks fill it from the session
    state."""
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
            html.Div(id=ids.EXPORT_ALERT, **components.POLITE),
            choice_card(),
            # Full width: the list has 16 columns, which a side column cut off on the right.
            components.card(
                f"Preview: the first {PREVIEW_ROWS} rows of the list",
                components.loading(html.Div(id=ids.EXPORT_PREVIEW)),
            ),
        ]
    )


def choice_card() -> dbc.Card:
    """What to export (segments, format) and the three download buttons, side by side."""
    return components.card(
        "What to export",
        dbc.Row(
            [
                dbc.Col(
                    [
                        html.Label("Segments", className="form-label fw-semibold small"),
                        dbc.Checklist(
                            id=ids.EXPORT_SEGMENTS, options=[], value=[], className="small"
                        ),
                    ],
                    md=5,
                ),
                dbc.Col(
                    [
                        html.Label("Format", className="form-label fw-semibold small"),
                        dbc.RadioItems(
                            id=ids.EXPORT_FORMAT,
                            options=[{"label": FORMAT_LABELS[f], "value": f} for f in FORMATS],
                            value="csv",
                            className="small",
                        ),
                        html.Div(id=ids.EXPORT_COUNT, className="my-2"),
                    ],
                    md=3,
                ),
                dbc.Col(download_buttons(), md=4),
            ],
            className="g-3",
        ),
    )


def download_buttons() -> list[Component]:
    """The three downloads, all enabled-looking (the report's was grey, which reads as disabled)."""
    return [
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
            color="outline-primary",
            className="w-100",
        ),
        components.live_status(ids.EXPORT_STATUS, className="small mb-2"),
        html.Div(
            "CSV cells that a spreadsheet would run as a formula "
            "(starting with = + - @) get a leading quote.",
            className="form-text",
        ),
    ]


def segment_option(choice: SegmentChoice, color: str) -> dict[str, Any]:
    """A checklist option: the segment's swatch, name and size."""
    return {
        "label": html.Span(
            [
                cs.swatch(color),
                choice.name,
                html.Span(f" · {choice.customers:,} customers", className="text-muted"),
            ]
        ),
        "value": choice.segment,
    }


def summary(k: int, customers: int, settings_text: str) -> list[Component]:
    """The header line: how many segments of how many customers, with which settings."""
    return [
        html.Span(f"{k} segments of {customers:,} customers · "),
        html.Span(settings_text, className="text-muted"),
    ]


def count_line(preview: ListPreview) -> html.P:
    """How many customers, segments and columns the list holds."""
    plural = "s" if preview.segments > 1 else ""
    return html.P(
        [
            html.Strong(f"{preview.rows:,}"),
            f" customers in {preview.segments} segment{plural}, {len(preview.columns)} columns",
        ],
        className="mb-0",
        id=ids.EXPORT_ROW_COUNT,
    )


def preview_table(preview: ListPreview) -> html.Div:
    """The list's first rows: headers break after underscores, numbers right-aligned, the ids
    column stays in view when the table scrolls sideways (narrow screens)."""
    numeric = preview.numeric or (False,) * len(preview.columns)
    align = ["text-end" if n else None for n in numeric]
    table = dbc.Table(
        [
            html.Thead(
                html.Tr(
                    [
                        html.Th(header_parts(c), className=a)
                        for c, a in zip(preview.columns, align, strict=True)
                    ]
                )
            ),
            html.Tbody(
                [
                    html.Tr([html.Td(v, className=a) for v, a in zip(row, align, strict=True)])
                    for row in preview.head
                ]
            ),
        ],
        size="sm",
        striped=True,
        className="mb-0 export-preview-table",
    )
    # Focusable and named, so a keyboard user can scroll it (WCAG 2.1.1).
    return html.Div(
        table,
        className="export-preview-scroll",
        tabIndex="0",
        role="region",
        **{"aria-label": "Preview of the list's first rows"},
    )


def header_parts(column: str) -> list[Any]:
    """A column name that may break after each underscore (``avg_days_<wbr>between_...``)."""
    words = column.split("_")
    parts: list[Any] = []
    for i, word in enumerate(words):
        last = i == len(words) - 1
        parts.append(word if last else word + "_")
        if not last:
            parts.append(html.Wbr())
    return parts


def input_alert(message: str, hint: str | None) -> dbc.Alert:
    """Why the chosen segments or format cannot be previewed."""
    return components.message_alert(f"{message}. {hint or ''}", color="warning")
