"""Components of the Data page (pure builders): the skeleton and what the callbacks fill it with.

The generic pieces (upload area, mapping form, date panel, audit table, preview table) are in
:mod:`dashapp.pages.data.widgets`; the functions here choose them for a
:class:`~dashapp.shared.loading.DataView`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import dash_bootstrap_components as dbc
from dash import dcc, html
from dash.development.base_component import Component

from core.columns import FEATURE_SCHEMA
from core.errors import InputFileError
from core.schema import mapping_warnings
from dashapp.pages.data import figures, ids, widgets
from dashapp.pages.data.view import negative_amount_note, problem_title
from dashapp.shared import chart_text, components
from dashapp.shared.components import PREVIEW_ROWS

if TYPE_CHECKING:
    from dashapp.pages.data.view import UploadedFile
    from dashapp.shared.loading import DataView
    from dashapp.state import SessionState

GRAPH_CONFIG = {"displayModeBar": False}
AUDIT_TITLE = "Cleaning audit: where every line went"
# create_app's default upload limit, stated by a skeleton built without the app's limit.
DEFAULT_MAX_UPLOAD_BYTES = 200 * 1024**2
MAPPING_TITLE = "Column mapping"
MAPPING_HELP = (
    "Pre-filled from the column names; change any role. "
    "* = required, plus quantity and price, or a line amount."
)


def build(max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES, /, **_query: str) -> Component:
    """The page skeleton; the render callback fills it from the session store.

    ``max_upload_bytes`` is the limit the upload area states (the package's ``layout`` passes
    the app's). It is positional-only, so a URL query parameter of the same name lands in
    ``_query`` and is ignored like any other.
    """
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(html.H4("Data", className="mb-0"), width="auto"),
                    dbc.Col(html.Div(id=ids.DATASET_SUMMARY), className="align-self-center"),
                ],
                className="mb-2 g-3",
            ),
            widgets.upload_area(max_upload_bytes),
            dcc.Store(id=ids.UPLOAD_REJECTED),
            components.live_status(ids.UPLOAD_STATUS, className="small mt-1"),
            components.loading(
                html.Div(id=ids.UPLOAD_ALERT, className="mt-2", **components.POLITE)
            ),
            dbc.Row([_settings_column(), _reports_column()], className="mt-2"),
        ]
    )


def _settings_column() -> dbc.Col:
    """Left column: column mapping, dates, cleaning rules (controls rendered from the state)."""
    return dbc.Col(
        [
            components.card(
                html.Span(MAPPING_TITLE, id=ids.MAPPING_TITLE),
                [
                    html.P(id=ids.MAPPING_HELP, className="small text-muted mb-2"),
                    html.Div(id=ids.MAPPING_ALERT),
                    html.Div(id=ids.MAPPING_FORM),
                ],
            ),
            components.card("Dates", html.Div(id=ids.DATE_INFO)),
            components.card("Cleaning rules", html.Div(id=ids.CLEANING_FORM)),
        ],
        lg=5,
        xl=4,
    )


def _reports_column() -> dbc.Col:
    """Right column: cleaning audit, data sufficiency, first rows of the file."""
    return dbc.Col(
        [
            components.card(
                AUDIT_TITLE,
                components.loading(
                    [
                        chart_text.described_chart(
                            dcc.Graph(
                                id=ids.AUDIT_FUNNEL,
                                figure=figures.loading_funnel(),
                                config=GRAPH_CONFIG,
                            ),
                            title=AUDIT_TITLE,
                            with_table=True,
                        ),
                        html.Div(id=ids.AUDIT_TABLE_WRAP),
                    ],
                ),
            ),
            components.card("Data sufficiency", html.Div(id=ids.SUFFICIENCY)),
            components.card(
                "First rows of the file",
                [
                    html.Div(id=ids.PREVIEW_CAPTION, className="small mb-2"),
                    widgets.preview_table_area(),
                ],
            ),
        ],
        lg=7,
        xl=8,
    )


def upload_success(uploaded: UploadedFile) -> dbc.Alert:
    """The message confirming an upload: name, size, format, column count."""
    return components.message_alert(
        [
            html.Strong(uploaded.filename),
            f" loaded ({widgets.format_size(uploaded.size)}, {uploaded.format.upper()}, "
            f"{uploaded.columns} columns). Check the column mapping below.",
        ],
        color="success",
    )


def rejected_alert(error: InputFileError) -> dbc.Alert:
    """The alert for a file the browser refused as too large."""
    return components.error_alert(error, title="File too large")


def dataset_summary(view: DataView) -> list[Component]:
    """The line naming the dataset on screen and its size."""
    return widgets.dataset_summary(
        view.filename, rows=view.rows, customers=view.customers, badge=view.badge
    )


def mapping_form(view: DataView) -> list[Component]:
    """The mapping dropdowns, filled with the mapping in use."""
    return widgets.mapping_form(view.columns, view.mapping, view.detected)


def mapping_alert(view: DataView) -> list[Component]:
    """Warnings about the mapping in use (a unit price named like a line amount), then what
    is wrong with the file or its mapping, else the reader's notes (if any)."""
    shown: list[Component] = [
        components.message_alert(f"Check the mapping: {warning}", color="warning")
        for warning in mapping_warnings(view.mapping)
    ]
    if view.error is not None:
        return [*shown, components.error_alert(view.error, title=problem_title(view))]
    if view.notes:
        shown.append(html.Ul([html.Li(n) for n in view.notes], className="small text-muted"))
    return shown


def date_info(view: DataView, state: SessionState) -> list[Component]:
    """The date format in use, why, and the override field (showing the state's override)."""
    return widgets.date_panel(
        column=view.date_column,
        chosen=view.date_format,
        kind=view.date_kind,
        ambiguous=view.date_ambiguous,
        reason=view.date_reason,
        override=state.date_format,
    )


def cleaning_form(state: SessionState) -> list[Component]:
    """The cleaning-rule switches, set as in the state."""
    return widgets.cleaning_form(dict(state.cleaning))


def audit_report(view: DataView) -> list[Component]:
    """The audit table and the sample lines of each rule (nothing before the audit exists)."""
    if view.table is None:
        return []
    audit = view.table.audit
    note = negative_amount_note(audit)
    return [
        widgets.audit_table(audit),
        *([html.P(note, className="small text-muted mt-1 mb-0")] if note else []),
        *widgets.audit_samples(audit),
    ]


def funnel_summary(view: DataView) -> str:
    """The audit funnel in one sentence (empty while there is no audit)."""
    return "" if view.table is None else figures.funnel_summary(view.table.audit)


def funnel_table(view: DataView) -> list[Component]:
    """The audit funnel as a table (nothing while there is no audit)."""
    if view.table is None:
        return []
    return [
        chart_text.data_table(
            "Lines left after each cleaning rule",
            figures.FUNNEL_COLUMNS,
            figures.funnel_rows(view.table.audit),
            numeric=[False, True, True, True, True],
        )
    ]


def sufficiency(view: DataView) -> list[Component]:
    """The data-sufficiency warnings, or a note that they are not computed yet."""
    if view.table is None:
        return [html.P("Not computed yet.", className="text-muted mb-0")]
    return widgets.sufficiency_alerts(view.warnings)


def preview(view: DataView) -> tuple[str, list[Component | str] | str]:
    """The preview table (Markdown) and its caption (both empty without rows)."""
    if view.head is None:
        return "", ""
    table = widgets.preview_table(view.head, view.mapping)
    return table, widgets.preview_caption(view.head.height, view.mapping)


NO_LINES = (
    "No cleaning audit here: this dataset is a customer feature table, cleaned and audited "
    "where it was written (`custseg features` prints and saves the audit)."
)
NO_LINES_SHORT = "No transaction lines in a customer feature table: nothing to audit here."
NO_RULES = "No rules to set: the lines were cleaned where the table was written."


def feature_table_help(view: DataView) -> str:
    """What a feature table is, in the mapping card's place of the mapping help."""
    assert view.table is not None
    table = view.table
    text = (
        f"A customer feature table: one row per customer ({table.n_customers:,} customers, "
        f"{table.n_excluded:,} excluded), {len(view.columns):,} columns. No columns to map: "
        "its lines were mapped, cleaned and audited where it was written."
    )
    extra = [c for c in view.columns if c not in FEATURE_SCHEMA]
    if extra:
        text += f" Left out: {', '.join(extra)} (the app fits its own segments on the features)."
    return text


def feature_table_dates(view: DataView) -> list[Component]:
    """The analysis date a feature table was computed at (its recency counts to it)."""
    day = None if view.table is None else view.table.analysis_date
    if day is None:
        return []
    return [
        html.P(
            f"Analysis date {day:%Y-%m-%d}: recency is counted to it, as when the table "
            "was written.",
            className="small mb-0",
        )
    ]


def feature_table_outputs(view: DataView) -> dict[str, Any]:
    """The render callback's outputs for a feature table (:mod:`core.feature_source`): where it
    came from, what it holds and its first rows; no mapping, date formats, cleaning or line
    audit."""
    summary = widgets.dataset_summary(
        view.filename, rows=None, customers=view.customers, badge=view.badge
    )
    summary.append(html.Div(view.provenance, id=ids.PROVENANCE, className="small text-muted"))
    table, _ = preview(view)
    shown = 0 if view.head is None else min(view.head.height, PREVIEW_ROWS)
    caption = (
        f"The first {shown:,} of {view.customers or 0:,} customers, one row each, by customer id."
        if shown
        else ""
    )
    return {
        "summary": summary,
        "mapping_title": "Dataset",
        "mapping_help": feature_table_help(view),
        "mapping_form": [],
        # Its one note (mapping, dates and cleaning applied where it was written) is the help's.
        "mapping_alert": [],
        "date_info": feature_table_dates(view),
        "cleaning_form": [html.P(NO_RULES, className="small text-muted mb-0")],
        "audit_funnel": figures.shared_figures.empty_figure(NO_LINES_SHORT),
        "funnel_summary": NO_LINES,
        "funnel_table": [],
        "audit_table": [],
        "sufficiency": sufficiency(view),
        "preview": table,
        "preview_caption": caption,
    }
