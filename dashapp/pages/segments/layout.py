"""Components of the Segments page: the skeleton (:func:`build`) and what the callbacks put
in it. Pure functions: no callbacks, no services.

The skeleton holds placeholders only; the callbacks fill it from the session state: linked
charts (projection, sizes, profiles), a card per segment with its editable name, the customer
grid (rows served block by block) and the clicked customer's orders.
"""

from __future__ import annotations

from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import polars as pl
from dash import dcc, html
from dash.development.base_component import Component

from core import wording
from core.clustering.profile import SegmentProfile
from core.clustering.result import SegmentationResult
from core.money import money_text
from dashapp.pages.segments import figures, grid, ids
from dashapp.pages.segments.save import save_card
from dashapp.pages.segments.view import CustomerOrders, SegmentsView
from dashapp.shared import chart_text, components
from dashapp.shared import segment_components as cs
from dashapp.shared import segment_figures as fs
from dashapp.shared.segment_figures import FEATURE_SHORT, color_of
from dashapp.shared.urlstate import url_components

GRAPH_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["toImage"]}
STATIC_GRAPH = {"displayModeBar": False}
LOADING = "Loading…"
PROJECTION_TITLE = "Customers in two dimensions (PCA of the clustering features)"
SIZES_TITLE = "Size and revenue of each segment"
PROFILES_TITLE = "Profiles: average of each feature, in standard deviations from all customers"


def build(**query: Any) -> Component:
    """The page skeleton (``query``: the URL's parameters, applied to the session state)."""
    return html.Div(
        [
            url_components(
                ids.SEGMENTS_URL_QUERY, ids.SEGMENTS_URL_SEARCH, ids.SEGMENTS_URL_SINK, query
            ),
            dcc.Store(id=ids.SEGMENTS_NAMES_REV),
            dcc.Store(id=ids.SEGMENTS_LASSO),
            html.Div(id=ids.SEGMENTS_GRID_SINK, hidden=True),
            dbc.Row(
                [
                    dbc.Col(html.H4("Segments", className="mb-0"), width="auto"),
                    dbc.Col(html.Div(id=ids.SEGMENTS_SUMMARY, className="small")),
                ],
                className="mb-2 g-3 align-items-center",
            ),
            html.Div(id=ids.SEGMENTS_ALERT),
            html.Div(id=ids.SEGMENTS_NAME_ALERT, **components.POLITE),
            dbc.Row([dbc.Col(_projection_card(), xl=7), dbc.Col(_sizes_card(), xl=5)]),
            components.card(
                PROFILES_TITLE,
                chart_text.described_chart(
                    dcc.Graph(
                        id=ids.SEGMENTS_HEATMAP,
                        figure=figures.placeholder(LOADING),
                        config=STATIC_GRAPH,
                    ),
                    title=PROFILES_TITLE,
                    with_table=True,
                ),
            ),
            html.H5("Segment cards", className="mt-2"),
            dbc.Row(id=ids.SEGMENTS_CARDS),
            dbc.Row([dbc.Col(_customers_card(), xl=12), dbc.Col(_orders_card(), xl=12)]),
            save_card(),
        ]
    )


def _projection_card() -> dbc.Card:
    return components.card(
        PROJECTION_TITLE,
        [
            html.Div(id=ids.SEGMENTS_SCATTER_NOTE, className="small text-muted"),
            components.loading(
                chart_text.described_chart(
                    dcc.Graph(
                        id=ids.SEGMENTS_SCATTER,
                        figure=figures.placeholder(LOADING, height=figures.PROJECTION_HEIGHT),
                        config=GRAPH_CONFIG,
                    ),
                    title=PROJECTION_TITLE,
                ),
            ),
            html.Div(
                "Click a legend entry to show one segment; draw a lasso "
                "to list the customers inside; click a point for its orders.",
                className="form-text",
            ),
        ],
    )


def _sizes_card() -> dbc.Card:
    return components.card(
        SIZES_TITLE,
        [
            html.Div(
                "Click a bar (or use “Select” in the table) to select its segment; “Show all "
                "segments” (under Customers) shows them all again.",
                className="form-text",
            ),
            chart_text.described_chart(
                dcc.Graph(
                    id=ids.SEGMENTS_SIZES,
                    figure=figures.placeholder(LOADING),
                    config=STATIC_GRAPH,
                ),
                title=SIZES_TITLE,
                with_table=True,
            ),
        ],
    )


def _customers_card() -> dbc.Card:
    controls = dbc.Row(
        [
            dbc.Col(
                dbc.Input(
                    id=ids.SEGMENTS_SEARCH,
                    type="search",
                    placeholder="Search id, segment or country…",
                    debounce=0.4,
                    maxLength=grid.MAX_SEARCH,
                    size="sm",
                ),
                md=5,
            ),
            dbc.Col(html.Div(id=ids.SEGMENTS_SELECTION, className="small pt-1")),
            dbc.Col(
                dbc.Button(
                    "Show all segments",
                    id=ids.SEGMENTS_CLEAR,
                    size="sm",
                    color="secondary",
                    outline=True,
                ),
                width="auto",
            ),
        ],
        className="g-2 mb-2 align-items-center",
    )
    return components.card(
        "Customers",
        [
            controls,
            customer_grid(),
            html.Div(
                "Sort and filter with the column headers; click a row for the customer's orders.",
                className="form-text",
            ),
        ],
    )


def customer_grid() -> dag.AgGrid:
    """The customer grid (infinite row model: rows come from the server block by block)."""
    return dag.AgGrid(
        id=ids.SEGMENTS_GRID,
        rowModelType="infinite",
        columnDefs=grid.column_defs(),
        defaultColDef={
            "resizable": True,
            "sortable": True,
            "filter": True,
            "floatingFilter": False,
            "minWidth": 90,
            "filterParams": {"buttons": ["reset"], "maxNumConditions": 2},
            "wrapHeaderText": True,  # long headers wrap instead of "Recen..."
            "autoHeaderHeight": True,
        },
        dashGridOptions={
            "cacheBlockSize": 200,
            "maxBlocksInCache": 20,
            "maxConcurrentDatasourceRequests": 1,
            "rowBuffer": 20,
            "infiniteInitialRowCount": 1,
            "suppressFieldDotNotation": True,
            "animateRows": False,
        },
        getRowId="params.data.customer_id",
        columnSize="sizeToFit",
        style={"height": "420px"},
        className="ag-theme-alpine",
    )


def _orders_card() -> dbc.Card:
    return components.card(
        "Orders of the customer",
        components.loading(
            html.Div(
                html.P("Click a customer to see their orders.", className="text-muted mb-0"),
                id=ids.SEGMENTS_ORDERS,
            ),
        ),
    )


# --- what the callbacks show ----------------------------------------------------------------


def summary_line(view: SegmentsView) -> list[Component | str]:
    """The line under the title: segments, customers, settings and a link to change them."""
    return [
        html.Span(f"{view.summary} · "),
        html.Span(view.settings, className="text-muted"),
        " · ",
        dcc.Link("change on the Model page", href=f"/model{view.model_search}"),
    ]


def sizes_table(view: SegmentsView) -> Component:
    """The sizes chart as a table; each row's "Select <segment>" does what a click on its bar
    does (the same callback, :func:`~dashapp.pages.segments.callbacks.select_segment`)."""
    rows = fs.segment_rows(view.result)
    cells: list[list[Component | str]] = []
    for row in rows:
        name: list[Component | str] = [row.name]
        if row.segment == view.selected:
            name.append(dbc.Badge("selected", color="dark", className="ms-2"))
        button = html.Button(
            f"Select {row.name}",
            id=ids.segment_table_pick(row.segment),
            type="button",
            className="btn btn-outline-primary btn-sm py-0 segment-table-pick",
        )
        cells.append([html.Span(name), *fs.sizes_cells(row)[1:], button])
    current = next((i for i, r in enumerate(rows) if r.segment == view.selected), None)
    return chart_text.data_table(
        "Customers and revenue (net spend) of each segment",
        [*fs.SIZES_COLUMNS, "Select"],
        cells,
        numeric=[False, True, True, False],
        current=current,
    )


def profiles_table(view: SegmentsView) -> Component:
    """The profiles heatmap as a table: each segment's mean of each feature."""
    columns, rows = fs.profile_rows(view.result, view.features, view.profiles)
    current = view.selected if view.selected is not None and view.selected >= 0 else None
    return html.Div(
        chart_text.data_table(
            "Mean of each feature per segment (in brackets: standard deviations from the "
            "average customer)",
            columns,
            rows,  # type: ignore[arg-type]
            numeric=[False, *[True] * (len(columns) - 1)],
            current=current,
        ),
        className="table-responsive",
        tabIndex="0",  # it scrolls sideways on a narrow screen: the keyboard must reach it
        role="region",
        **{"aria-label": "Profiles table"},
    )


def segment_cards(view: SegmentsView) -> list[Component]:
    """One card per segment (editable name, reason, insight, action, products, exemplars)."""
    return [
        dbc.Col(_segment_card(view, profile), md=6, xl=4, className="mb-3")
        for profile in view.result.profiles
    ]


def _segment_card(view: SegmentsView, profile: SegmentProfile) -> dbc.Card:
    result = view.result
    s = profile.segment
    color = color_of(result, s)
    is_selected = view.selected == s
    return dbc.Card(
        [
            dbc.CardHeader(
                [
                    cs.swatch(color),
                    dbc.Input(
                        id=ids.segment_name(s),
                        value=result.names[s],
                        debounce=True,
                        maxLength=60,
                        size="sm",
                        className="segment-name-input",
                        placeholder="Segment name",
                    ),
                ],
                className="d-flex align-items-center gap-2",
            ),
            dbc.CardBody(
                [
                    *_card_text(view, profile),
                    _top_products(profile),
                    _exemplars(profile),
                    dbc.Button(
                        "Selected: showing its customers"
                        if is_selected
                        else "Show these customers",
                        id=ids.segment_pick(s),
                        size="sm",
                        color="primary" if is_selected else "outline-primary",
                        className="segment-pick",
                    ),
                ]
            ),
        ],
        className="h-100 segment-card" + (" segment-card-selected" if is_selected else ""),
        style={"borderTop": f"4px solid {color}"},
    )


def _card_text(view: SegmentsView, profile: SegmentProfile) -> list[Component]:
    """A segment's size and revenue share, value, why its name, insight and action."""
    s = profile.segment
    name = view.result.names[s]
    return [
        html.P(
            [
                html.Strong(f"{profile.customers:,}"),
                f" {wording.noun(profile.customers, 'customer')} ({profile.share:.0%}) · ",
                html.Strong(f"{profile.revenue_share:.0%}"),
                " of revenue",
            ],
            className="mb-1",
        ),
        *_value_line(view, s),
        html.P(
            [
                html.Span("Why this name: ", className="fw-semibold"),
                profile.name_reason,
                html.Span(
                    f" (automatic name: {profile.auto_name})" if profile.auto_name != name else "",
                ),
            ],
            className="small text-muted mb-1",
        ),
        html.P(profile.insight, className="small mb-1"),
        html.P(
            [html.Span("Action: ", className="fw-semibold"), profile.action],
            className="small mb-1",
        ),
    ]


def _top_products(profile: SegmentProfile) -> Component:
    """A segment's best sellers (empty without product lines)."""
    products = [
        html.Li(
            [
                html.Code(p.product, className="me-1"),
                p.description or "",
                html.Span(f" · {p.share:.1%}", className="text-muted"),
            ]
        )
        for p in profile.top_products
    ]
    if not products:
        return html.Div()
    return html.Div(
        [
            html.Div("Top products", className="small fw-semibold"),
            html.Ul(products, className="small mb-1 ps-3"),
        ]
    )


def _exemplars(profile: SegmentProfile) -> Component:
    """Buttons showing the orders of a segment's typical customers."""
    exemplars = [
        dbc.Button(
            customer,
            id=ids.segment_exemplar(customer),
            color="link",
            size="sm",
            className="p-0 me-2 exemplar",
            title="Show this customer's orders",
        )
        for customer in profile.exemplars
    ]
    return html.Div(
        [html.Span("Typical customers: ", className="small fw-semibold"), *exemplars],
        className="mb-2",
    )


def _value_line(view: SegmentsView, segment: int) -> list[Component]:
    """Predicted revenue over the horizon and the share likely lost (p_alive < 0.5), when the
    session's data has predictions (the Value page)."""
    if view.value is None:
        return []
    rows = view.value.filter(pl.col("segment") == segment)
    if rows.height == 0:
        return []
    row = rows.row(0, named=True)
    return [
        html.P(
            [
                html.Strong(money_text(row["predicted_revenue"])),
                f" predicted revenue over {view.horizon} · ",
                html.Strong(f"{row['likely_lost_share']:.0%}"),
                " likely lost (p_alive < 0.5)",
            ],
            className="mb-1 segment-value",
        )
    ]


def selection_caption(
    result: SegmentationResult, selection: grid.Selection, count: int
) -> list[Any]:
    """What the grid lists, in words."""
    parts: list[Any] = [html.Strong(f"{count:,}"), f" {wording.noun(count, 'customer')}"]
    if selection.segment is not None:
        color = color_of(result, selection.segment)
        parts += [" in ", cs.swatch(color), html.Strong(result.name_of(selection.segment))]
    else:
        parts.append(" in all segments")
    if selection.region_ids is not None:
        inside = wording.count(len(selection.region_ids), "customer")
        parts.append(f" · inside the drawn region ({inside})")
    if selection.search:
        parts.append(f" · matching “{selection.search}”")
    return parts


def grid_refused_alert(error: Exception) -> dbc.Alert:
    """The grid asked for rows the server does not serve (a hand-made or stale request)."""
    return components.message_alert(
        f"The grid request was refused ({error}); reset the column filters.", color="warning"
    )


def _order_column(column: str, numeric: bool) -> dict[str, Any]:
    col: dict[str, Any] = {"field": column, "headerName": column.replace("_", " ").capitalize()}
    if numeric:
        col["type"] = "numericColumn"
    if column in ("price", "amount"):
        col["valueFormatter"] = {"function": "d3.format(',.2f')(params.value)"}
    if column == "description":
        col["minWidth"] = 220
    return col


def _spend_line(summary: dict[str, Any]) -> list[Component | str]:
    """Gross spend − returned value = net spend, each term with its definition on hover."""
    if "monetary" not in summary:
        return [f" · {FEATURE_SHORT['gross']} {summary['amount']:,.2f}"]

    def term(column: str) -> html.Span:
        return html.Span(
            [f"{FEATURE_SHORT[column]} ", html.Strong(f"{summary[column]:,.2f}")],
            title=components.SPEND_HELP[column],
            id=ids.orders_spend(column),
            style={"cursor": "help"},
        )

    return [" · ", term("gross"), " − ", term("returns_value"), " = ", term("monetary")]


def orders_panel(shown: CustomerOrders) -> list[Component]:
    """A customer's purchase lines (newest first) with their totals."""
    customer, lines, summary, segment = shown.customer, shown.lines, shown.summary, shown.segment
    rows = lines.with_columns(pl.col("order_date").dt.to_string("%Y-%m-%d %H:%M"))
    orders = summary["orders"]
    return [
        html.P(
            [
                "Customer ",
                html.Strong(customer, id=ids.ORDERS_CUSTOMER),
                f" · {segment} · {wording.count(orders, 'order')}, "
                f"{wording.count(summary['lines'], 'purchase line')}",
                *_spend_line(summary),
            ],
            className="mb-2",
        ),
        html.Div(
            f"Showing the newest {wording.count(lines.height, 'line')}."
            if lines.height < summary["lines"]
            else "",
            className="small text-muted",
        ),
        dag.AgGrid(
            id=ids.SEGMENTS_ORDERS_GRID,
            rowData=rows.to_dicts(),
            columnDefs=[_order_column(c, lines.schema[c].is_numeric()) for c in lines.columns],
            defaultColDef={
                "resizable": True,
                "sortable": True,
                "filter": True,
                "wrapHeaderText": True,  # long headers wrap instead of "Recen..."
                "autoHeaderHeight": True,
            },
            dashGridOptions={"animateRows": False, "suppressFieldDotNotation": True},
            columnSize="sizeToFit",
            style={"height": "300px"},
        ),
    ]


def orders_unavailable_alert(message: str) -> dbc.Alert:
    """Why a customer's orders are not shown (a yellow alert)."""
    return components.message_alert(message, color="warning")


def name_saved_alert(segment: int, name: str) -> dbc.Alert:
    """Confirmation of a saved segment name."""
    return components.message_alert(
        [
            "Saved: segment ",
            html.Strong(str(segment)),
            " is now ",
            html.Strong(name),
            ". The name stays with this segment when you refit.",
        ],
        color="success",
    )
