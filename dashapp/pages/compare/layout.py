"""Components of the Compare page (pure builders, no callbacks): the skeleton :func:`build`
that the callbacks fill, and the panels they render from the view."""

from __future__ import annotations

from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html
from dash.development.base_component import Component

from core.clustering.config import K_MAX, K_MIN
from core.columns import COUNTRY, CUSTOMER
from core.wording import count
from dashapp.pages.compare import ids
from dashapp.pages.compare.view import CutComparison, MethodText
from dashapp.shared import chart_text, components, figures, jobs
from dashapp.shared.segment_figures import FEATURE_SHORT

GRAPH_CONFIG: dict[str, Any] = {"displayModeBar": False}
DENDROGRAM_CONFIG: dict[str, Any] = {
    "displayModeBar": False,
    "edits": {"shapePosition": True},  # the cut line can be dragged
    "scrollZoom": False,
}
GRID_COLUMNS: tuple[dict[str, Any], ...] = (
    {"field": CUSTOMER, "headerName": "Customer", "pinned": "left", "minWidth": 110},
    {"field": "hierarchical", "headerName": "Hier.", "minWidth": 80},
    {"field": "kmeans", "headerName": "K-means", "minWidth": 150},
    {"field": "recency_days", "headerName": "Recency", "type": "numericColumn"},
    {"field": "frequency", "headerName": "Orders", "type": "numericColumn"},
    {
        "field": "monetary",
        "headerName": "Monetary",
        "type": "numericColumn",
        "valueFormatter": {"function": "d3.format(',.2f')(params.value)"},
    },
    {"field": COUNTRY, "headerName": "Country", "minWidth": 120},
)


TITLES: dict[str, str] = {
    ids.COMPARE_DENDROGRAM: "Hierarchical clustering",
    ids.COMPARE_SIZES: "K-means with the same k",
    ids.COMPARE_CONTINGENCY: "Customers in both (click a cell)",
    ids.COMPARE_SANKEY: "Where the hierarchical segments go",
    ids.COMPARE_SCATTER: "Selected customers on the K-means projection",
}


def graph(graph_id: str, config: dict[str, Any] = GRAPH_CONFIG) -> Component:
    """A graph showing "Loading…" until its callback draws it (and fills its summary)."""
    return chart_text.described_chart(
        dcc.Graph(id=graph_id, figure=figures.empty_figure("Loading…"), config=config),
        title=TITLES[graph_id],
    )


def _label(text: str, control: str) -> html.Label:
    return components.label_for(text, control, className="form-label small fw-semibold mb-0")


def header() -> dbc.Row:
    """Title, the status line of a background job with its Retry button, and the method text
    (filled by the init callback)."""
    retry = html.Div(
        dbc.Button("Retry", id=ids.COMPARE_RETRY, size="sm"), id=ids.COMPARE_RETRY_WRAP, hidden=True
    )
    return dbc.Row(
        [
            dbc.Col(html.H4("Compare: hierarchical vs K-means", className="mb-0"), width="auto"),
            dbc.Col(
                [
                    html.Div(id=ids.COMPARE_STATUS, role="status", className="small text-muted"),
                    html.Div(id=ids.COMPARE_METHOD, className="small text-muted"),
                ],
                className="align-self-center",
            ),
            dbc.Col(retry, width="auto", className="align-self-center"),
        ],
        className="mb-2 g-3",
    )


def cut_controls() -> dbc.Card:
    """The k and cut-height sliders; their ranges and values come from the session's tree."""
    k_slider = dcc.Slider(
        id=ids.COMPARE_K,
        min=K_MIN,
        max=K_MAX,
        step=1,
        value=None,
        marks={k: str(k) for k in (2, 5, 10, 15, 20, 25, 30)},
        className="compare-k-slider",
    )
    height_slider = dcc.Slider(
        id=ids.COMPARE_HEIGHT, min=0, max=1, value=None, className="compare-height-slider"
    )
    return components.card(
        "Cut the tree",
        dbc.Row(
            [
                dbc.Col([_label("Number of segments k", ids.COMPARE_K), k_slider], lg=5),
                dbc.Col(
                    [
                        _label("Cut height (or drag the red line)", ids.COMPARE_HEIGHT),
                        height_slider,
                    ],
                    lg=7,
                ),
            ],
            className="g-3",
        ),
    )


def charts() -> list[dbc.Row]:
    """Dendrogram beside the K-means sizes and metrics; contingency beside the Sankey."""
    dendrogram = components.card(
        TITLES[ids.COMPARE_DENDROGRAM],
        [
            components.loading(graph(ids.COMPARE_DENDROGRAM, DENDROGRAM_CONFIG)),
            html.Div(
                "Branches below the red cut line form the k segments, in "
                "the colour of the K-means segment they match best. "
                "Click a node or a leaf to list its customers.",
                className="small text-muted",
            ),
        ],
    )
    kmeans = components.card(
        TITLES[ids.COMPARE_SIZES],
        [html.Div(id=ids.COMPARE_METRICS, className="mb-2"), graph(ids.COMPARE_SIZES)],
    )
    contingency = components.card(TITLES[ids.COMPARE_CONTINGENCY], graph(ids.COMPARE_CONTINGENCY))
    sankey = components.card(TITLES[ids.COMPARE_SANKEY], graph(ids.COMPARE_SANKEY))
    return [
        dbc.Row([dbc.Col(dendrogram, lg=7), dbc.Col(kmeans, lg=5)]),
        dbc.Row([dbc.Col(contingency, lg=6), dbc.Col(sankey, lg=6)]),
    ]


def selection_panel() -> dbc.Card:
    """Caption, clear button, customer grid and projection scatter of the selection."""
    grid = dag.AgGrid(
        id=ids.COMPARE_GRID,
        rowData=[],
        columnDefs=[dict(c) for c in GRID_COLUMNS],
        defaultColDef={
            "resizable": True,
            "sortable": True,
            "filter": True,
            "minWidth": 90,
            "wrapHeaderText": True,  # long headers wrap instead of "Recen..."
            "autoHeaderHeight": True,
        },
        dashGridOptions={"animateRows": False},
        columnSize="responsiveSizeToFit",
        style={"height": "380px"},
    )
    clear = dbc.Button(
        "Clear selection", id=ids.COMPARE_CLEAR, size="sm", color="secondary", outline=True
    )
    return components.card(
        "Selected customers",
        [
            dbc.Row(
                [
                    dbc.Col(html.Div(id=ids.COMPARE_SELECTION_CAPTION, className="small")),
                    dbc.Col(clear, width="auto"),
                ],
                className="mb-2 align-items-center",
            ),
            dbc.Row([dbc.Col(grid, lg=7), dbc.Col(graph(ids.COMPARE_SCATTER), lg=5)]),
        ],
    )


def build(**_query: str) -> Component:
    """The page skeleton; the init and render callbacks fill it."""
    return html.Div(
        [
            dcc.Store(id=ids.COMPARE_KEY),
            dcc.Store(id=ids.COMPARE_SELECTION),
            dcc.Store(id=ids.COMPARE_JOB),
            dcc.Store(id=ids.COMPARE_JOB_DONE),
            header(),
            html.Div(id=ids.COMPARE_ALERT),
            jobs.progress_card(
                wrap_id=ids.COMPARE_PROGRESS_WRAP,
                bar_id=ids.COMPARE_PROGRESS,
                text_id=ids.COMPARE_PROGRESS_TEXT,
                cancel_id=ids.COMPARE_CANCEL,
                label="Comparison progress",
            ),
            cut_controls(),
            *charts(),
            selection_panel(),
        ]
    )


def method_panel(text: MethodText) -> list[Component]:
    """The tree and K-means settings, then any note of the fit (in the warning colour)."""
    method: list[Component] = [html.Span(text.tree), html.Br(), html.Span(text.kmeans)]
    if text.features:
        labels = ", ".join(FEATURE_SHORT.get(f, f) for f in text.features)
        method += [html.Br(), html.Span(f"Features: {labels}.")]
    for note in text.notes:
        method += [html.Br(), html.Span(f"Note: {note}.", className="text-warning-emphasis")]
    return method


def _tile(label: str, value: str, hint: str, tile_id: str) -> dbc.Col:
    return dbc.Col(
        html.Div(
            [
                html.Div(label, className="small text-muted"),
                html.Div(value, className="fs-4 fw-semibold", id=tile_id),
                html.Div(hint, className="small text-muted"),
            ],
            className="border rounded p-2 h-100 bg-white",
        ),
        xs=4,
    )


def metrics_panel(cmp: CutComparison) -> Component:
    """ARI, NMI and the agreement of matched pairs, with what they mean."""
    comp = cmp.comparison
    tiles = [
        _tile("Adjusted Rand index", f"{comp.ari:.2f}", "1 = same; 0 = chance", ids.COMPARE_ARI),
        _tile("Normalised mutual info", f"{comp.nmi:.2f}", "1 = same; 0 = none", ids.COMPARE_NMI),
        _tile("In a matched pair", f"{cmp.agreement():.0%}", "of customers", ids.COMPARE_AGREEMENT),
    ]
    return html.Div(
        [
            dbc.Row(tiles, className="g-2"),
            html.Div(
                f"{count(comp.n_common, 'customer')} in both (excluded customers are in neither).",
                className="small text-muted mt-1",
            ),
        ]
    )
