"""Components of the Changes page (pure builders, no callbacks): the skeleton :func:`build`
that the callbacks fill, and the KPI cards."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html
from dash.development.base_component import Component

from core.columns import CUSTOMER
from core.migration import AFTER, BEFORE, MONEY_AFTER, MONEY_BEFORE, MOVE
from dashapp.pages.changes import ids
from dashapp.pages.changes.view import QUICK_DAYS, SAVED, Kpi, parse_query
from dashapp.shared import chart_text, components, figures
from dashapp.shared.urlstate import url_components

GRAPH_CONFIG: dict[str, Any] = {"displayModeBar": False}
TITLES: dict[str, str] = {
    ids.CHANGES_SANKEY: "Where the segments went (click a flow)",
    ids.CHANGES_MATRIX: "Migration matrix (click a cell)",
}
MONEY = {"valueFormatter": {"function": "d3.format(',.2f')(params.value)"}}
GRID_COLUMNS: tuple[dict[str, Any], ...] = (
    {"field": CUSTOMER, "headerName": "Customer", "pinned": "left", "minWidth": 110},
    {"field": BEFORE, "headerName": "Before", "minWidth": 130},
    {"field": AFTER, "headerName": "After", "minWidth": 130},
    {"field": MOVE, "headerName": "Move", "minWidth": 100},
    {"field": MONEY_BEFORE, "headerName": "Spend before", "type": "numericColumn", **MONEY},
    {"field": MONEY_AFTER, "headerName": "Spend since", "type": "numericColumn", **MONEY},
    {"field": "recency_days", "headerName": "Recency", "type": "numericColumn"},
    {"field": "frequency", "headerName": "Orders", "type": "numericColumn"},
    {"field": "monetary", "headerName": "Monetary", "type": "numericColumn", **MONEY},
    {"field": "country", "headerName": "Country", "minWidth": 120},
)


def graph(graph_id: str) -> Component:
    """A graph showing "Loading…" until its callback draws it (and fills its summary)."""
    return chart_text.described_chart(
        dcc.Graph(id=graph_id, figure=figures.empty_figure("Loading…"), config=GRAPH_CONFIG),
        title=TITLES[graph_id],
    )


def _label(text: str, control: str) -> html.Label:
    return components.label_for(text, control, className="form-label small fw-semibold mb-0")


def saved_choice(saved: str | None, by: str) -> html.Div:
    """The saved segmentation (by name) whose model assigns both periods; its options come
    from the workspace (a callback), a link's name is kept until they arrive."""
    return html.Div(
        [
            components.label_for(
                "Saved segmentation", ids.CHANGES_SAVED, className="visually-hidden"
            ),
            dbc.Select(
                id=ids.CHANGES_SAVED,
                options=[{"label": saved, "value": saved}] if saved else [],
                value=saved or "",
                placeholder="Choose a saved segmentation",
                disabled=by != SAVED,
                size="sm",
            ),
            html.Div(id=ids.CHANGES_SAVED_HELP, className="small text-muted"),
        ],
        className="mt-1",
    )


def controls(by: str, size: str, cutoff: str | None, saved: str | None = None) -> dbc.Card:
    """The cutoff (date picker and quick choices), RFM, the current model or a saved
    segmentation, and the Sankey's size."""
    # The browser's own date input: keyboard and screen-reader friendly, ``YYYY-MM-DD`` values.
    picker = dcc.Input(
        id=ids.CHANGES_CUTOFF,
        type="date",
        value=cutoff,  # None: the init callback sets the default (90 days before the end)
        debounce=True,
        required=True,
        # Dash 4 puts the class on a wrapper whose input fills it: a shrink-to-fit wrapper
        # (w-auto) collapsed to 18 px and hid the date, so the wrapper gets a width.
        className="form-control form-control-sm d-inline-block",
        style={"width": "10.5rem"},
    )
    buttons = dbc.ButtonGroup(
        [
            dbc.Button(
                f"{days} days",
                id={"type": ids.CHANGES_QUICK, "days": days},
                size="sm",
                color="secondary",
                outline=True,
                n_clicks=0,
            )
            for days in QUICK_DAYS
        ],
        size="sm",
    )
    quick = html.Div(
        buttons,
        role="group",
        className="d-inline-block ms-2",
        **{"aria-label": "Cutoff: days before the analysis date"},
    )
    by_choice = dbc.RadioItems(
        id=ids.CHANGES_BY,
        options=[
            {"label": "RFM segments", "value": "rfm"},
            {"label": "The current model", "value": "model"},
            {"label": "A saved segmentation", "value": SAVED},
        ],
        value=by,
        inline=True,
    )
    size_choice = dbc.RadioItems(
        id=ids.CHANGES_SIZE,
        options=[
            {"label": "Customers", "value": "customers"},
            {"label": "Revenue", "value": "revenue"},
        ],
        value=size,
        inline=True,
    )
    return components.card(
        "Cutoff and segments",
        dbc.Row(
            [
                dbc.Col(
                    [_label("Cutoff date", ids.CHANGES_CUTOFF), html.Div([picker, quick])],
                    lg=5,
                ),
                dbc.Col(
                    [_label("Segments by", ids.CHANGES_BY), by_choice, saved_choice(saved, by)],
                    lg=4,
                ),
                dbc.Col([_label("Size flows by", ids.CHANGES_SIZE), size_choice], lg=3),
            ],
            className="g-3",
        ),
    )


def kpi_cards(items: Sequence[Kpi]) -> dbc.Row:
    """One tile per headline figure."""
    return dbc.Row(
        [
            dbc.Col(
                html.Div(
                    [
                        html.Div(k.label, className="small text-muted"),
                        html.Div(k.value, className="fs-4 fw-semibold", id=k.tile_id),
                        html.Div(k.hint, className="small text-muted"),
                    ],
                    className="border rounded p-2 h-100 bg-white",
                ),
                xs=6,
                lg=True,
            )
            for k in items
        ],
        className="g-2 mb-3",
    )


def selection_panel() -> dbc.Card:
    """Caption, clear button, the customer grid and the export of the selected flow."""
    grid = dag.AgGrid(
        id=ids.CHANGES_GRID,
        rowData=[],
        columnDefs=[dict(c) for c in GRID_COLUMNS],
        defaultColDef={
            "resizable": True,
            "sortable": True,
            "filter": True,
            "minWidth": 90,
            "wrapHeaderText": True,
            "autoHeaderHeight": True,
        },
        dashGridOptions={"animateRows": False},
        columnSize="responsiveSizeToFit",
        style={"height": "380px"},
    )
    export = dbc.Row(
        [
            dbc.Col(_label("File format", ids.CHANGES_FORMAT), width="auto"),
            dbc.Col(
                dbc.RadioItems(
                    id=ids.CHANGES_FORMAT,
                    options=[{"label": f.upper(), "value": f} for f in ("csv", "xlsx", "parquet")],
                    value="csv",
                    inline=True,
                ),
                width="auto",
            ),
            dbc.Col(
                dbc.Button("Export these customers", id=ids.CHANGES_EXPORT, size="sm"),
                width="auto",
            ),
        ],
        className="mt-2 g-2 align-items-center",
    )
    clear = dbc.Button(
        "Clear selection", id=ids.CHANGES_CLEAR, size="sm", color="secondary", outline=True
    )
    return components.card(
        "Customers of the selected flow",
        [
            dbc.Row(
                [
                    dbc.Col(
                        components.live_status(ids.CHANGES_CAPTION, className="small"),
                    ),
                    dbc.Col(clear, width="auto"),
                ],
                className="mb-2 align-items-center",
            ),
            grid,
            export,
            html.Div(id=ids.CHANGES_EXPORT_ALERT),
            dcc.Download(id=ids.CHANGES_DOWNLOAD),
        ],
    )


def build(**query: str) -> Component:
    """The page skeleton; the link's cutoff, segments, size and flow set the first view."""
    asked = parse_query(query)
    charts = dbc.Row(
        [
            dbc.Col(components.card(TITLES[ids.CHANGES_SANKEY], graph(ids.CHANGES_SANKEY)), lg=6),
            dbc.Col(components.card(TITLES[ids.CHANGES_MATRIX], graph(ids.CHANGES_MATRIX)), lg=6),
        ]
    )
    return html.Div(
        [
            url_components(ids.CHANGES_QUERY, ids.CHANGES_SEARCH, ids.CHANGES_URL_SINK, query),
            dcc.Store(id=ids.CHANGES_SELECTION, data=asked.selection),
            html.H4("Changes: who moved between segments since a date", className="mb-1"),
            html.Div(id=ids.CHANGES_METHOD, className="small text-muted mb-2"),
            html.Div(id=ids.CHANGES_ALERT),
            controls(
                asked.by,
                asked.size,
                None if asked.cutoff is None else str(asked.cutoff),
                asked.saved,
            ),
            html.Div(id=ids.CHANGES_KPIS),
            charts,
            selection_panel(),
        ]
    )
