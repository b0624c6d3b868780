"""Compare page: the hierarchical tree, cut at k, against K-means with the same k.

Callbacks (no cycle across callbacks; the two sliders drive each other inside one):

* :func:`init_compare` (session store) sets the sliders' ranges and values from the tree and
  the stored k, and writes the identity of the compared data + settings into a store;
* :func:`sync_cut` (k slider, height slider, dragged cut line): whichever moved sets the
  other, snapped to the middle of the band of heights that gives k; k is saved in the state;
* :func:`render_compare` (k, identity) draws the dendrogram with its cut line, the K-means
  sizes, the contingency heatmap, the Sankey and ARI / NMI;
* :func:`select_customers` (contingency cell or dendrogram branch clicked) stores the
  selection (segment numbers or a node id, never customer lists); :func:`render_selection`
  lists those customers in a grid and highlights them in a small projection scatter.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import numpy as np
import polars as pl
from dash import Dash, Input, Output, State, dcc, html, no_update
from dash.development.base_component import Component
from dash.exceptions import PreventUpdate

from core.cache import make_key
from core.clustering.config import K_MAX, K_MIN
from core.columns import COUNTRY, CUSTOMER
from core.errors import CustsegError, DataSufficiencyError
from dashapp.pages.compare import figures as figures_compare
from dashapp.pages.compare.view import (
    CompareSettings,
    CutComparison,
    TreeFit,
    compare_at,
    compare_settings,
    dendrogram_plot,
    tree_fit,
)
from dashapp.services import get_services
from dashapp.shared import components, figures, ids
from dashapp.shared.loading import session_table
from dashapp.shared.viewkit import (
    InputRejectedError,
    checked_float,
    checked_int,
    data_problem_alert,
    input_alert,
)
from dashapp.state import SessionState, require_state

log = logging.getLogger(__name__)

_H_LABEL = re.compile(r"H(\d{1,2})")

PATH = "/compare"
NAME = "Compare"
ORDER = 5
TITLE = "Compare · custseg"
DESCRIPTION = "Hierarchical tree cut at k against K-means: contingency, Sankey, ARI, NMI."

VIEW = "compare"
GRID_ROWS = 2_000  # customers listed in the grid (highest monetary first)
HEIGHT_STEPS = 400
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
NO_SELECTION = (
    "Click a cell of the contingency table, or a branch or leaf of the dendrogram, to list "
    "its customers here."
)


# --- layout ---------------------------------------------------------------------------------


def _graph(graph_id: str, config: dict[str, Any] = GRAPH_CONFIG) -> dcc.Graph:
    return dcc.Graph(id=graph_id, figure=figures.empty_figure("Loading…"), config=config)


def layout(**_query: str) -> Component:
    """The page skeleton; :func:`init_compare` and the render callbacks fill it."""
    return html.Div(
        [
            dcc.Store(id=ids.COMPARE_KEY),
            dcc.Store(id=ids.COMPARE_SELECTION),
            dbc.Row(
                [
                    dbc.Col(
                        html.H4("Compare: hierarchical vs K-means", className="mb-0"),
                        width="auto",
                    ),
                    dbc.Col(
                        html.Div(id=ids.COMPARE_METHOD, className="small text-muted"),
                        className="align-self-center",
                    ),
                ],
                className="mb-2 g-3",
            ),
            html.Div(id=ids.COMPARE_ALERT),
            components.card(
                "Cut the tree",
                dbc.Row(
                    [
                        dbc.Col(
                            [
                                html.Label(
                                    "Number of segments k",
                                    className="form-label small fw-semibold mb-0",
                                ),
                                dcc.Slider(
                                    id=ids.COMPARE_K,
                                    min=K_MIN,
                                    max=K_MAX,
                                    step=1,
                                    value=None,
                                    marks={k: str(k) for k in (2, 5, 10, 15, 20, 25, 30)},
                                    className="compare-k-slider",
                                ),
                            ],
                            lg=5,
                        ),
                        dbc.Col(
                            [
                                html.Label(
                                    "Cut height (or drag the red line)",
                                    className="form-label small fw-semibold mb-0",
                                ),
                                dcc.Slider(
                                    id=ids.COMPARE_HEIGHT,
                                    min=0,
                                    max=1,
                                    value=None,
                                    className="compare-height-slider",
                                ),
                            ],
                            lg=7,
                        ),
                    ],
                    className="g-3",
                ),
            ),
            dbc.Row(
                [
                    dbc.Col(
                        components.card(
                            "Hierarchical clustering",
                            [
                                dcc.Loading(
                                    _graph(ids.COMPARE_DENDROGRAM, DENDROGRAM_CONFIG),
                                    type="circle",
                                ),
                                html.Div(
                                    "Branches below the red cut line form the k segments, in "
                                    "the colour of the K-means segment they match best. "
                                    "Click a node or a leaf to list its customers.",
                                    className="small text-muted",
                                ),
                            ],
                        ),
                        lg=7,
                    ),
                    dbc.Col(
                        components.card(
                            "K-means with the same k",
                            [
                                html.Div(id=ids.COMPARE_METRICS, className="mb-2"),
                                _graph(ids.COMPARE_SIZES),
                            ],
                        ),
                        lg=5,
                    ),
                ]
            ),
            dbc.Row(
                [
                    dbc.Col(
                        components.card(
                            "Customers in both (click a cell)", _graph(ids.COMPARE_CONTINGENCY)
                        ),
                        lg=6,
                    ),
                    dbc.Col(
                        components.card(
                            "Where the hierarchical segments go", _graph(ids.COMPARE_SANKEY)
                        ),
                        lg=6,
                    ),
                ]
            ),
            components.card(
                "Selected customers",
                [
                    dbc.Row(
                        [
                            dbc.Col(html.Div(id=ids.COMPARE_SELECTION_CAPTION, className="small")),
                            dbc.Col(
                                dbc.Button(
                                    "Clear selection",
                                    id=ids.COMPARE_CLEAR,
                                    size="sm",
                                    color="secondary",
                                    outline=True,
                                ),
                                width="auto",
                            ),
                        ],
                        className="mb-2 align-items-center",
                    ),
                    dbc.Row(
                        [
                            dbc.Col(
                                dag.AgGrid(
                                    id=ids.COMPARE_GRID,
                                    rowData=[],
                                    columnDefs=[dict(c) for c in GRID_COLUMNS],
                                    defaultColDef={
                                        "resizable": True,
                                        "sortable": True,
                                        "filter": True,
                                        "minWidth": 90,
                                    },
                                    dashGridOptions={"animateRows": False},
                                    columnSize="responsiveSizeToFit",
                                    style={"height": "380px"},
                                ),
                                lg=7,
                            ),
                            dbc.Col(_graph(ids.COMPARE_SCATTER), lg=5),
                        ]
                    ),
                ],
            ),
        ]
    )


# --- shared steps -------------------------------------------------------------------------------


def view_key(state: SessionState, settings: CompareSettings) -> str:
    """Identity of what the page compares: dataset, mapping, cleaning and model settings."""
    return make_key(
        "compare_view",
        state.dataset,
        state.mapping_overrides(),
        state.date_format,
        dict(state.cleaning),
        settings.model.to_json(),
        versions=False,
    )


def _tree_of(state: SessionState) -> tuple[CompareSettings, TreeFit]:
    services = get_services()
    settings = compare_settings(state)
    table = session_table(state, services)
    return settings, tree_fit(table, settings, services.cache)


def stored_k(state: SessionState, tree: TreeFit, settings: CompareSettings) -> int:
    """The k the session last chose here, else the model's k; kept within the tree's range."""
    for candidate in (state.view_settings(VIEW).get("k"), settings.model.k):
        try:
            return checked_int(candidate, low=K_MIN, high=tree.k_max, name="k")
        except InputRejectedError:
            continue
    return min(4, tree.k_max)


def with_k(state: SessionState, k: int) -> Any:
    """The state with ``k`` saved for this page, or no_update when it is already saved."""
    if state.view_settings(VIEW).get("k") == k:
        return no_update
    return state.with_view_settings(VIEW, {**state.view_settings(VIEW), "k": k}).to_json()


def height_marks(tree: TreeFit) -> dict[float, str]:
    """Marks "k=…" at the cut heights of a few k, skipping marks that would overlap."""
    low, high = tree.height_range()
    span = max(high - low, 1e-12)
    marks: dict[float, str] = {}
    last: float | None = None
    for k in (2, 3, 4, 5, 6, 8, 10, 15, 20, 30):
        if k > tree.k_max:
            break
        height, exact = tree.height(k)
        if not exact or (last is not None and abs(last - height) < 0.07 * span):
            continue
        marks[round(height, 6)] = f"k={k}"
        last = height
    return marks


# --- callbacks ----------------------------------------------------------------------------------


def init_compare(data: object, current_k: object, current_key: object) -> tuple[Any, ...]:
    """Slider ranges and values from the session's tree and stored k; the view identity.

    Outputs: k value, k max, height min, max, step, marks, value; view key; method text;
    alert.
    """
    state = require_state(data)
    settings = compare_settings(state)
    key = view_key(state, settings)
    keep = no_update
    try:
        settings, tree = _tree_of(state)
    except CustsegError as exc:
        return (keep,) * 7 + (key if key != current_key else keep, "", data_problem_alert(exc))
    k = stored_k(state, tree, settings)
    height, _ = tree.height(k)
    low, high = tree.height_range()
    what = (
        f"{tree.tree.description}. The dendrogram is drawn over the micro-clusters."
        if tree.two_stage
        else f"{tree.tree.description}."
    )
    method: list[Component] = [
        html.Span(what),
        html.Br(),
        html.Span(f"K-means: k-means++, seed {settings.model.seed}. {settings.describe()}"),
    ]
    for note in tree.segmentation.warnings:  # e.g. a constant feature that was dropped
        method += [html.Br(), html.Span(f"Note: {note}.", className="text-warning-emphasis")]
    unchanged = current_k == k and current_key == key
    return (
        keep if current_k == k else k,
        tree.k_max,
        low,
        high,
        (high - low) / HEIGHT_STEPS,
        height_marks(tree),
        keep if unchanged else height,
        keep if current_key == key else key,
        method,
        [],
    )


def _relayout_height(relayout: object) -> float | None:
    """The cut line's new height from a dendrogram ``relayoutData`` (None: not a line drag)."""
    if not isinstance(relayout, dict):
        return None
    ends = [relayout.get("shapes[0].y0"), relayout.get("shapes[0].y1")]
    if all(v is None for v in ends):
        return None
    values = [checked_float(v, name="cut height") for v in ends if v is not None]
    return sum(values) / len(values)


def apply_cut(
    source: str, k: object, height: object, relayout: object, data: object
) -> tuple[Any, Any, Any, Any]:
    """Resolve a change of k (``source="k"``), of the height slider (``"height"``) or a drag
    of the cut line (``"drag"``) into (k, height, session data, alert).

    The height is always snapped to :meth:`TreeFit.height` of the resulting k, so the line,
    the slider and k agree; values a control cannot send are refused with an alert.
    """
    state = require_state(data)
    if (source == "k" and k is None) or (source == "height" and height is None):
        raise PreventUpdate  # the sliders are not initialised yet
    try:
        _, tree = _tree_of(state)
    except CustsegError as exc:
        raise PreventUpdate from exc  # init_compare shows what is wrong
    try:
        if source == "k":
            new_k = checked_int(k, low=K_MIN, high=tree.k_max, name="k")
        elif source in ("height", "drag"):
            value = (
                checked_float(height, name="cut height")
                if source == "height"
                else _relayout_height(relayout)
            )
            if value is None:
                raise PreventUpdate
            new_k = tree.k_at(value)
        else:
            raise PreventUpdate
    except InputRejectedError as exc:
        log.info("refused cut: %s", exc)
        return no_update, no_update, no_update, input_alert(exc)
    snapped, _ = tree.height(new_k)
    return (
        no_update if k == new_k else new_k,
        no_update if height == snapped else snapped,
        with_k(state, new_k),
        [],
    )


def _triggered() -> set[str]:
    return set(dash.callback_context.triggered_prop_ids)


def sync_cut(k: object, height: object, relayout: object, data: object) -> tuple[Any, ...]:
    """The registered callback: which control moved decides the source (k wins ties)."""
    triggered = _triggered()
    if f"{ids.COMPARE_K}.value" in triggered:
        source = "k"
    elif f"{ids.COMPARE_HEIGHT}.value" in triggered:
        source = "height"
    elif f"{ids.COMPARE_DENDROGRAM}.relayoutData" in triggered:
        source = "drag"
    else:
        raise PreventUpdate
    return apply_cut(source, k, height, relayout, data)


def _comparison(state: SessionState, k: int) -> CutComparison:
    services = get_services()
    settings = compare_settings(state)
    table = session_table(state, services)
    return compare_at(table, settings, k, services, state)


def metrics_panel(cmp: CutComparison) -> Component:
    """ARI, NMI and the agreement of matched pairs, with what they mean."""
    comp = cmp.comparison

    def tile(label: str, value: str, hint: str, tile_id: str) -> dbc.Col:
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

    return html.Div(
        [
            dbc.Row(
                [
                    tile("Adjusted Rand index", f"{comp.ari:.2f}", "1 = same; 0 = chance", "ari"),
                    tile("Normalised mutual info", f"{comp.nmi:.2f}", "1 = same; 0 = none", "nmi"),
                    tile(
                        "In a matched pair",
                        f"{cmp.agreement():.0%}",
                        "of customers",
                        "agreement",
                    ),
                ],
                className="g-2",
            ),
            html.Div(
                f"{comp.n_common:,} customers in both (excluded customers are in neither).",
                className="small text-muted mt-1",
            ),
        ]
    )


def render_compare(k: object, key: object, data: object) -> tuple[Any, ...]:
    """Dendrogram, K-means sizes, metrics, contingency and Sankey at ``k``.

    Outputs: dendrogram, sizes, metrics, contingency, Sankey figures/children and the alert.
    """
    state = require_state(data)
    if k is None:
        raise PreventUpdate  # the sliders are not initialised yet
    try:
        k = checked_int(k, low=K_MIN, high=K_MAX, name="k")
        cmp = _comparison(state, k)
    except InputRejectedError as exc:
        return (no_update,) * 5 + (input_alert(exc),)
    except CustsegError as exc:
        message = (
            f"Nothing to compare: {exc.message}"
            if isinstance(exc, DataSufficiencyError)
            else "Fix the data on the Data page to compare segmentations."
        )
        empty = figures.empty_figure(message)
        return empty, empty, [], empty, empty, data_problem_alert(exc)
    settings = compare_settings(state)
    plot = dendrogram_plot(cmp.tree, k)
    revision = key if isinstance(key, str) else None
    return (
        figures_compare.dendrogram(
            plot, k=k, h_colors=cmp.h_colors, linkage=settings.linkage, revision=revision
        ),
        figures_compare.sizes(cmp),
        metrics_panel(cmp),
        figures_compare.contingency(cmp),
        figures_compare.sankey(cmp),
        [],
    )


def _clicked_point(click: object) -> dict[str, Any] | None:
    """The first clicked point of a graph's ``clickData``, if well formed."""
    if not isinstance(click, dict):
        return None
    points = click.get("points")
    if not isinstance(points, list) or not points or not isinstance(points[0], dict):
        return None
    return points[0]


def _clicked(click: object) -> list[Any] | None:
    """``customdata`` of the first clicked point, if it is a list."""
    point = _clicked_point(click)
    custom = None if point is None else point.get("customdata")
    return custom if isinstance(custom, list) else None


def _clicked_cell(click: object) -> tuple[object, object] | None:
    """(hierarchical, K-means) segment numbers of a clicked contingency cell, unchecked.

    The heatmap's x is the K-means segment number and its y the label "H<n>" (segment
    n - 1): heatmap click events carry no customdata.
    """
    point = _clicked_point(click)
    if point is None:
        return None
    y = point.get("y")
    match = _H_LABEL.fullmatch(y) if isinstance(y, str) else None
    if match is None:
        return None
    return int(match.group(1)) - 1, point.get("x")


def selection_from(
    source: str, cell_click: object, node_click: object, k: object, key: object
) -> Any:
    """The selection store for a click: ``{"kind": "cell", "h", "b", "k", "key"}`` or
    ``{"kind": "node", "node", "key"}``; None clears. Members are checked when listed."""
    if source == "clear":
        return None
    if not isinstance(key, str):
        raise PreventUpdate
    try:
        if source == "cell":
            cell = _clicked_cell(cell_click)
            if cell is None:
                raise PreventUpdate
            kk = checked_int(k, low=K_MIN, high=K_MAX, name="k")
            h = checked_int(cell[0], low=0, high=K_MAX - 1, name="segment")
            b = checked_int(cell[1], low=0, high=K_MAX - 1, name="segment")
            return {"kind": "cell", "h": h, "b": b, "k": kk, "key": key}
        if source == "node":
            custom = _clicked(node_click)
            if custom is None or not custom:
                raise PreventUpdate
            node = checked_int(custom[0], low=0, high=10**7, name="node")
            return {"kind": "node", "node": node, "key": key}
    except InputRejectedError as exc:
        log.info("refused selection: %s", exc)
        raise PreventUpdate from exc
    raise PreventUpdate


def select_customers(
    cell_click: object, node_click: object, clear: object, k: object, key: object
) -> Any:
    """The registered callback: which input fired decides the source."""
    triggered = _triggered()
    if f"{ids.COMPARE_CLEAR}.n_clicks" in triggered:
        source = "clear"
    elif f"{ids.COMPARE_CONTINGENCY}.clickData" in triggered:
        source = "cell"
    elif f"{ids.COMPARE_DENDROGRAM}.clickData" in triggered:
        source = "node"
    else:
        raise PreventUpdate
    return selection_from(source, cell_click, node_click, k, key)


def selected_ids(
    selection: object, cmp: CutComparison, key: object
) -> tuple[np.ndarray | None, str]:
    """Customer ids of a (validated) selection and a caption; None when nothing is selected.

    A selection made for other data or settings, or a cell selected at another k, no longer
    applies and is ignored (with a note).
    """
    if not isinstance(selection, dict):
        return None, NO_SELECTION
    if selection.get("key") != key:
        return None, NO_SELECTION
    kind = selection.get("kind")
    try:
        if kind == "cell":
            if selection.get("k") != cmp.k:
                return None, (
                    f"The cell selected at k = {selection.get('k')} does not exist at "
                    f"k = {cmp.k}. " + NO_SELECTION
                )
            h = checked_int(selection.get("h"), low=0, high=cmp.k - 1, name="segment")
            b = checked_int(selection.get("b"), low=0, high=cmp.kmeans.k - 1, name="segment")
            members = cmp.comparison.cell_members(h, b)
            what = (
                f"hierarchical {figures_compare.h_label(h)} and K-means "
                f"“{cmp.km_names[b]}” (k = {cmp.k})"
            )
            return members, f"{members.size:,} customers in {what}."
        if kind == "node":
            node = checked_int(
                selection.get("node"), low=0, high=2 * cmp.tree.n_leaves - 2, name="node"
            )
            members = cmp.tree.node_customers(node)
            return members, f"{members.size:,} customers under the clicked branch of the tree."
    except (InputRejectedError, CustsegError) as exc:
        log.info("refused stored selection: %s", exc)
        return None, NO_SELECTION
    return None, NO_SELECTION


def grid_rows(
    members: np.ndarray, cmp: CutComparison, features: pl.DataFrame, *, limit: int = GRID_ROWS
) -> list[dict[str, Any]]:
    """Grid rows of ``members``: both segments and R/F/M, highest monetary first."""
    ids_all = cmp.tree.segmentation.customer_ids
    segs = pl.DataFrame(
        {
            CUSTOMER: ids_all,
            "hierarchical": [figures_compare.h_label(int(h)) for h in cmp.h_labels],
        }
    ).filter(pl.col(CUSTOMER).is_in(pl.Series(members.tolist(), dtype=pl.String())))
    km = cmp.kmeans.segmentation
    km_frame = pl.DataFrame(
        {
            CUSTOMER: km.customer_ids,
            "kmeans": [cmp.km_names[int(b)] if b >= 0 else "—" for b in km.labels],
        }
    )
    columns = [CUSTOMER, "recency_days", "frequency", "monetary"]
    if COUNTRY in features.columns:
        columns.append(COUNTRY)
    rows = (
        segs.join(km_frame, on=CUSTOMER, how="left")
        .join(features.select(columns), on=CUSTOMER, how="left")
        .sort(["monetary", CUSTOMER], descending=[True, False], nulls_last=True)
        .head(limit)
    )
    return rows.to_dicts()


def render_selection(selection: object, k: object, key: object, data: object) -> tuple[Any, ...]:
    """Caption, grid rows and projection scatter for the selection (outputs in that order)."""
    state = require_state(data)
    if k is None:
        raise PreventUpdate
    try:
        k = checked_int(k, low=K_MIN, high=K_MAX, name="k")
        cmp = _comparison(state, k)
    except (InputRejectedError, CustsegError):
        return NO_SELECTION, [], figures.empty_figure("Nothing to show.")
    members, caption = selected_ids(selection, cmp, key)
    km = cmp.kmeans.segmentation
    rows: list[dict[str, Any]] = []
    selected_mask = None
    if members is not None:
        table = session_table(state, get_services())
        rows = grid_rows(members, cmp, table.features)
        if members.size > len(rows):
            caption += f" The grid lists the {len(rows):,} with the highest monetary value."
        selected_mask = np.isin(km.customer_ids, members)
    figure = figures_compare.selection_scatter(
        km.projection,
        km.labels,
        names=cmp.km_names,
        colors=cmp.km_colors,
        selected=selected_mask,
    )
    return caption, rows, figure


def register_callbacks(app: Dash) -> None:
    """Attach this page's callbacks to ``app``."""
    app.callback(
        Output(ids.COMPARE_K, "value", allow_duplicate=True),
        Output(ids.COMPARE_K, "max"),
        Output(ids.COMPARE_HEIGHT, "min"),
        Output(ids.COMPARE_HEIGHT, "max"),
        Output(ids.COMPARE_HEIGHT, "step"),
        Output(ids.COMPARE_HEIGHT, "marks"),
        Output(ids.COMPARE_HEIGHT, "value", allow_duplicate=True),
        Output(ids.COMPARE_KEY, "data"),
        Output(ids.COMPARE_METHOD, "children"),
        Output(ids.COMPARE_ALERT, "children", allow_duplicate=True),
        Input(ids.SESSION, "data"),
        State(ids.COMPARE_K, "value"),
        State(ids.COMPARE_KEY, "data"),
        prevent_initial_call="initial_duplicate",
    )(init_compare)
    app.callback(
        Output(ids.COMPARE_K, "value"),
        Output(ids.COMPARE_HEIGHT, "value"),
        Output(ids.SESSION, "data", allow_duplicate=True),
        Output(ids.COMPARE_ALERT, "children", allow_duplicate=True),
        Input(ids.COMPARE_K, "value"),
        Input(ids.COMPARE_HEIGHT, "value"),
        Input(ids.COMPARE_DENDROGRAM, "relayoutData"),
        State(ids.SESSION, "data"),
        prevent_initial_call=True,
    )(sync_cut)
    app.callback(
        Output(ids.COMPARE_DENDROGRAM, "figure"),
        Output(ids.COMPARE_SIZES, "figure"),
        Output(ids.COMPARE_METRICS, "children"),
        Output(ids.COMPARE_CONTINGENCY, "figure"),
        Output(ids.COMPARE_SANKEY, "figure"),
        Output(ids.COMPARE_ALERT, "children", allow_duplicate=True),
        Input(ids.COMPARE_K, "value"),
        Input(ids.COMPARE_KEY, "data"),
        State(ids.SESSION, "data"),
        prevent_initial_call=True,
    )(render_compare)
    app.callback(
        Output(ids.COMPARE_SELECTION, "data"),
        Input(ids.COMPARE_CONTINGENCY, "clickData"),
        Input(ids.COMPARE_DENDROGRAM, "clickData"),
        Input(ids.COMPARE_CLEAR, "n_clicks"),
        State(ids.COMPARE_K, "value"),
        State(ids.COMPARE_KEY, "data"),
        prevent_initial_call=True,
    )(select_customers)
    app.callback(
        Output(ids.COMPARE_SELECTION_CAPTION, "children"),
        Output(ids.COMPARE_GRID, "rowData"),
        Output(ids.COMPARE_SCATTER, "figure"),
        Input(ids.COMPARE_SELECTION, "data"),
        Input(ids.COMPARE_K, "value"),
        Input(ids.COMPARE_KEY, "data"),
        State(ids.SESSION, "data"),
    )(render_selection)


__all__ = [
    "apply_cut",
    "init_compare",
    "layout",
    "register_callbacks",
    "render_compare",
    "render_selection",
    "select_customers",
    "selection_from",
    "sync_cut",
]
