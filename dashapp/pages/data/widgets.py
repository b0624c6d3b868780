"""Generic builders of the Data page (pure: values in, Dash components out).

:mod:`dashapp.pages.data.layout` chooses them for a :class:`~dashapp.shared.loading.DataView`:
the upload area, the dataset summary, the mapping form, the date panel, the cleaning rules, the
audit table and its sample lines, the data-sufficiency alerts and the preview table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import dash_bootstrap_components as dbc
import polars as pl
from dash import dcc, html
from dash.development.base_component import Component

from core.cleaning import REASON_LABELS, Audit
from core.columns import ROLES
from dashapp.pages.data import ids
from dashapp.shared import components, text_table
from dashapp.shared.components import PREVIEW_ROWS

# What each role means, for the mapping form's labels and help texts.
ROLE_HELP: Mapping[str, tuple[str, str, bool]] = {
    # role: (label, help, required)
    "customer": ("Customer id", "Who bought: one id per customer.", True),
    "date": ("Order date", "When the order was placed (date or date-time).", True),
    "invoice": (
        "Invoice / order id",
        "Groups lines into orders; C-prefixed = cancellation.",
        False,
    ),
    "quantity": ("Quantity", "Units on the line (negative = return).", False),
    "price": ("Unit price", "Price of one unit; amount = quantity x price.", False),
    "amount": ("Line amount", "Use when the file has a total per line instead.", False),
    "product": (
        "Product / stock code",
        "Needed for product counts and the non-product rule.",
        False,
    ),
    "description": ("Description", "Product description (shown only).", False),
    "country": ("Country", "Customer country (for filters and profiles).", False),
}
NOT_MAPPED = "—"  # dropdown placeholder: role not mapped


def upload_area(max_bytes: int) -> html.Div:
    """Drag-and-drop zone for CSV / Excel / Parquet, stating the size limit.

    The wrapper carries ``data-max-bytes`` for the browser-side check in
    ``assets/upload_guard.js``, which reports files over the limit (the server enforces it too).
    """
    limit = f"{max_bytes / 1024**2:,.0f} MB"
    return html.Div(
        [
            components.label_for(
                "Upload a transaction file", ids.UPLOAD, className="visually-hidden"
            ),
            dcc.Upload(
                id=ids.UPLOAD,
                children=html.Div(
                    [
                        html.Strong("Drag and drop a file here"),
                        " or ",
                        html.A("choose one", href="#", className="link-primary"),
                        html.Div(
                            f"CSV, Excel (.xlsx) or Parquet · up to {limit} · one line per "
                            "order line, with a customer id and a date",
                            className="small text-muted",
                        ),
                    ]
                ),
                accept=".csv,.tsv,.txt,.xlsx,.xls,.parquet,.pq",
                max_size=max_bytes,
                multiple=False,
                className="upload-zone",
                className_active="upload-zone upload-zone-active",
            ),
        ],
        id=ids.UPLOAD_GUARD,
        **{"data-max-bytes": str(max_bytes)},
    )


def dataset_summary(
    filename: str, *, rows: int | None, customers: int | None, badge: str | None = None
) -> list[Component]:
    """One line naming the dataset on screen and its size."""
    parts: list[Component] = [
        html.Span("Dataset: ", className="text-muted"),
        html.Strong(filename, id="dataset-name"),
    ]
    if badge:
        parts.append(dbc.Badge(badge, color="secondary", className="ms-2"))
    if rows is not None:
        parts.append(html.Span(f" · {rows:,} lines", className="text-muted"))
    if customers is not None:
        parts.append(
            html.Span(f" · {customers:,} customers after cleaning", className="text-muted")
        )
    return parts


def mapping_form(
    columns: Sequence[str],
    mapping: Mapping[str, str | None],
    detected: Mapping[str, str | None],
) -> list[Component]:
    """One dropdown per role, pre-filled with the mapping in use.

    A role whose column differs from what detection found is marked "changed"; the customer
    and date roles are starred (required).
    """
    options = [{"label": c, "value": c} for c in columns]
    rows: list[Component] = []
    for role in ROLES:
        label, help_text, required = ROLE_HELP[role]
        chosen = mapping.get(role)
        badge: Component | None = None
        if chosen != detected.get(role):
            badge = dbc.Badge("changed", color="warning", text_color="dark", className="ms-1")
        rows.append(
            dbc.Row(
                [
                    dbc.Col(
                        [
                            components.label_for(
                                [label, " *" if required else "", badge],
                                ids.role_dropdown(role),
                                name=f"{label} column" + (" (required)" if required else ""),
                                title=help_text,
                                className="form-label mb-0 small fw-semibold",
                            ),
                        ],
                        width=5,
                    ),
                    dbc.Col(
                        dcc.Dropdown(
                            id=ids.role_dropdown(role),
                            options=options,
                            value=chosen,
                            placeholder=NOT_MAPPED,
                            clearable=not required,
                            searchable=True,
                            className=f"dash-dropdown-sm role-{role}",
                        ),
                        width=7,
                    ),
                ],
                className="mb-1 align-items-center",
            )
        )
    return rows


DATE_KINDS: Mapping[str, str] = {
    "native": "already stored as dates",
    "yyyymmdd": "8-digit numbers, YYYYMMDD",
    "excel_serial": "Excel serial day numbers",
}


def date_panel(
    *,
    column: str | None,
    chosen: str | None,
    reason: str | None,
    override: str | None,
    kind: str | None = None,
    ambiguous: bool = False,
) -> list[Component]:
    """The date format in use, why it was chosen, and a field to override it."""
    if column is None:
        summary: list[Component | str] = ["Map the order date column to see how dates are read."]
    else:
        shown = chosen if kind == "format" or kind is None else DATE_KINDS.get(kind, kind)
        summary = [
            "Column ",
            html.Code(column),
            ": ",
            html.Strong(shown or "not determined"),
        ]
    warning: list[Component] = []
    if ambiguous:
        warning = [
            dbc.Alert(
                "Every date in this column reads both as day/month and as month/day: check a "
                "few rows in the preview, and type the right layout below if this one is wrong.",
                color="warning",
                className="py-2 small mb-2",
            )
        ]
    return [
        html.P(summary, className="mb-1"),
        html.P(reason or "", className="small text-muted mb-2", id="date-reason"),
        *warning,
        dbc.InputGroup(
            [
                dbc.InputGroupText("Override"),
                dbc.Input(
                    id=ids.date_format_input(),
                    className="date-format-input",
                    type="text",
                    value=override or "",
                    placeholder="e.g. %d/%m/%Y %H:%M (empty = detect)",
                    debounce=True,
                    maxLength=64,
                ),
            ],
            size="sm",
        ),
        html.Div(
            "strftime codes: %d day, %m month, %Y year, %H:%M hours:minutes. Press Enter to apply.",
            className="form-text",
        ),
    ]


def cleaning_form(toggles: Mapping[str, bool]) -> list[Component]:
    """A checklist with one switch per toggleable cleaning rule (in rule order)."""
    return [
        dbc.Checklist(
            id=ids.cleaning_rules(),
            className="cleaning-rules",
            options=[{"label": REASON_LABELS.get(rule, rule), "value": rule} for rule in toggles],
            value=[rule for rule, on in toggles.items() if on],
            switch=True,
        ),
        html.Div(
            "Lines that fail to parse (no date or amount) are always dropped.",
            className="form-text",
        ),
    ]


def audit_table(audit: Audit) -> dbc.Table:
    """Rows dropped and their amount, per rule, with totals."""
    header = html.Thead(
        html.Tr(
            [
                html.Th("Rule"),
                html.Th("Lines dropped", className="text-end"),
                html.Th("Amount dropped", className="text-end"),
            ]
        )
    )
    body = [
        html.Tr(
            [
                html.Td(
                    [REASON_LABELS.get(r.reason, r.reason)]
                    + ([] if r.enabled else [dbc.Badge("off", color="secondary", className="ms-1")])
                ),
                html.Td(f"{r.rows:,}", className="text-end"),
                html.Td(f"{r.revenue:,.2f}", className="text-end"),
            ],
            className="" if r.enabled else "text-muted",
        )
        for r in audit.reasons
    ]
    body.append(
        html.Tr(
            [
                html.Td(html.Strong("Kept")),
                html.Td(
                    html.Strong(f"{audit.rows_kept:,} of {audit.rows_in:,}"), className="text-end"
                ),
                html.Td(html.Strong(f"{audit.revenue_kept:,.2f}"), className="text-end"),
            ]
        )
    )
    return dbc.Table(
        [header, html.Tbody(body)], size="sm", striped=True, className="mb-0", id=ids.AUDIT_TABLE
    )


_SAMPLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("source_row", "Row in file"),
    ("customer_id", "Customer"),
    ("order_date", "Date"),
    ("invoice", "Invoice"),
    ("product", "Product"),
    ("description", "Description"),
    ("quantity", "Qty"),
    ("price", "Price"),
    ("amount", "Amount"),
)


def _sample_cell(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M")  # type: ignore[no-any-return]
    return str(value)


def audit_samples(audit: Audit) -> list[Component]:
    """For each rule that dropped lines, its first lines (row numbers as in the file)."""
    out: list[Component] = []
    for stat in audit.reasons:
        sample = audit.samples.get(stat.reason)
        if stat.rows == 0 or sample is None or sample.height == 0:
            continue
        columns = [(c, label) for c, label in _SAMPLE_COLUMNS if c in sample.columns]
        table = text_table.text_table(
            [label for _, label in columns],
            ([_sample_cell(row[c]) for c, _ in columns] for row in sample.iter_rows(named=True)),
            className="text-table small mb-2",
        )
        summary = (
            f"{REASON_LABELS.get(stat.reason, stat.reason)}: first {sample.height} "
            f"of {stat.rows:,} lines"
        )
        out.append(
            html.Details(
                [html.Summary(summary), html.Div(table, className="table-responsive")],
                className="mt-1",
            )
        )
    if out:
        out.insert(0, html.Div("Sample lines per rule", className="fw-semibold mt-3"))
    return out


def sufficiency_alerts(warnings: Sequence[str]) -> list[Component]:
    """Data-sufficiency warnings, or a short all-clear."""
    if not warnings:
        return [html.P("Enough data for RFM scores and clustering.", className="text-success mb-0")]
    return [dbc.Alert(w, color="warning", className="mb-2 py-2") for w in warnings]


def _json_ready(frame: pl.DataFrame) -> pl.DataFrame:
    # Numbers and booleans as they are, date-times as readable text, and any other type
    # (decimal, nested, binary) as text.
    exprs = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Datetime):
            exprs.append(pl.col(name).dt.to_string("%Y-%m-%d %H:%M:%S"))
        elif isinstance(dtype, pl.Decimal) or not (
            dtype.is_numeric() or isinstance(dtype, pl.Boolean | pl.String)
        ):
            exprs.append(pl.col(name).cast(pl.String))
    return frame.with_columns(exprs)


def _preview_cell(value: object) -> object:
    # As a spreadsheet shows them: a whole number stored as a decimal without ".0" (customer
    # id 17850.0 as 17850), booleans as true / false.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


def preview_table(frame: pl.DataFrame, mapping: Mapping[str, str | None] | None = None) -> str:
    """The preview table (first :data:`PREVIEW_ROWS` rows) as Markdown for ``dcc.Markdown``.

    A mapped column's header names its role ("CustomerID → customer") and is bold; numbers
    are right-aligned.
    """
    head = _json_ready(frame.head(PREVIEW_ROWS))
    role_of = {column: role for role, column in (mapping or {}).items() if column is not None}
    return text_table.markdown(
        [f"{name} → {role_of[name]}" if name in role_of else name for name in head.columns],
        ([_preview_cell(v) for v in row] for row in head.iter_rows()),
        numeric=[dtype.is_numeric() for dtype in head.dtypes],
        strong=[name in role_of for name in head.columns],
    )


def preview_caption(rows: int, mapping: Mapping[str, str | None]) -> list[Component | str]:
    """What the preview shows, and which roles are not mapped."""
    unmapped = [ROLE_HELP[r][0].lower() for r in ROLES if not mapping.get(r)]
    parts: list[Component | str] = [
        f"The first {rows:,} rows as read from the file. Headers show the role a column is "
        "mapped to."
    ]
    if unmapped:
        parts.append(html.Span(f" Not mapped: {', '.join(unmapped)}.", className="text-muted"))
    return parts


def preview_table_area() -> html.Div:
    """The preview's scrolling area (both ways, keyboard too); empty until a callback fills it."""
    return html.Div(
        dcc.Markdown(id=ids.PREVIEW, className="text-table preview-table"),
        className="preview-scroll",
        tabIndex="0",
        role="region",
        **{"aria-labelledby": ids.PREVIEW_CAPTION},
    )


def format_size(size: int) -> str:
    """A byte count for people: "812 bytes", "4.2 KB", "12.5 MB"."""
    if size < 1024:
        return f"{size:,} bytes"
    if size < 1024**2:
        return f"{size / 1024:,.1f} KB"
    return f"{size / 1024**2:,.1f} MB"
