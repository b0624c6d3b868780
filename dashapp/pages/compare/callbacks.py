"""Compare page callbacks: the hierarchical tree, cut at k, against K-means with the same k.

No cycle across callbacks; the two sliders drive each other inside one:

* :func:`init_compare` (session store) sets the sliders' ranges and values from the tree and
  the stored k, and writes the identity of the compared data + settings into a store;
* :func:`sync_cut` (k slider, height slider, dragged cut line): whichever moved sets the
  other, snapped to the middle of the band of heights that gives k; k is saved in the state;
* :func:`render_compare` (k, identity) draws the dendrogram with its cut line, the K-means
  sizes, the contingency heatmap, the Sankey and ARI / NMI;
* :func:`select_customers` (contingency cell or dendrogram branch clicked) stores the
  selection (segment numbers or a node id, never customer lists); :func:`render_selection`
  lists those customers in a grid and highlights them in a small projection scatter.

Callbacks with more than two outputs return a dict of named outputs (see :func:`register`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from typing import Any

import polars as pl
from dash import Dash, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from core.clustering.config import K_MAX, K_MIN
from core.errors import CustsegError, DataSufficiencyError
from dashapp.pages.compare import figures as figures_compare
from dashapp.pages.compare import ids
from dashapp.pages.compare.layout import method_panel, metrics_panel
from dashapp.pages.compare.view import (
    NO_SELECTION,
    VIEW,
    CutComparison,
    TreeFit,
    compare_at,
    compare_settings,
    cut_sliders,
    dendrogram_plot,
    method_text,
    selection_view,
    stored_k,
    tree_fit,
    view_key,
)
from dashapp.services import get_services
from dashapp.shared import chart_text, figures
from dashapp.shared.ids import SESSION
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

# Which control fired decides what a callback does; the first listed wins when several fired
# at once (init_compare sets k and the height together: k decides).
CUT_SOURCES: tuple[tuple[str, str], ...] = (
    (f"{ids.COMPARE_K}.value", "k"),
    (f"{ids.COMPARE_HEIGHT}.value", "height"),
    (f"{ids.COMPARE_DENDROGRAM}.relayoutData", "drag"),
)
SELECTION_SOURCES: tuple[tuple[str, str], ...] = (
    (f"{ids.COMPARE_CLEAR}.n_clicks", "clear"),
    (f"{ids.COMPARE_CONTINGENCY}.clickData", "cell"),
    (f"{ids.COMPARE_DENDROGRAM}.clickData", "node"),
)


def source_of(triggered: Collection[str], sources: tuple[tuple[str, str], ...]) -> str:
    """The source named for the first of ``sources`` whose ``id.prop`` is in ``triggered``."""
    for prop_id, source in sources:
        if prop_id in triggered:
            return source
    raise PreventUpdate


# --- shared steps -------------------------------------------------------------------------------


def _tree_of(state: SessionState) -> TreeFit:
    services = get_services()
    table = session_table(state, services)
    return tree_fit(table, compare_settings(state), services.cache)


def _comparison(state: SessionState, k: int) -> tuple[CutComparison, pl.DataFrame]:
    """The comparison at ``k`` and the session's customer features (for the grid)."""
    services = get_services()
    table = session_table(state, services)
    return compare_at(table, compare_settings(state), k, services, state), table.features


def with_k(state: SessionState, k: int) -> Any:
    """The state with ``k`` saved for this page, or no_update when it is already saved."""
    if state.view_settings(VIEW).get("k") == k:
        return no_update
    return state.with_view_settings(VIEW, {**state.view_settings(VIEW), "k": k}).to_json()


# --- the sliders --------------------------------------------------------------------------------


def init_compare(data: object, current_k: object, current_key: object) -> dict[str, Any]:
    """Slider ranges and values from the session's tree and stored k; the view identity."""
    state = require_state(data)
    settings = compare_settings(state)
    key = view_key(state, settings)
    new_key = no_update if key == current_key else key
    try:
        tree = _tree_of(state)
    except CustsegError as exc:
        slider_outputs = ("k", "k_max", "height_min", "height_max", "height_step")
        unchanged = dict.fromkeys((*slider_outputs, "height_marks", "height"), no_update)
        return {**unchanged, "key": new_key, "method": "", "alert": data_problem_alert(exc)}
    sliders = cut_sliders(tree, stored_k(state, tree, settings))
    return {
        "k": no_update if current_k == sliders.k else sliders.k,
        "k_max": sliders.k_max,
        "height_min": sliders.low,
        "height_max": sliders.high,
        "height_step": sliders.step,
        "height_marks": sliders.marks,
        "height": no_update if current_k == sliders.k and current_key == key else sliders.height,
        "key": new_key,
        "method": method_panel(method_text(tree, settings)),
        "alert": [],
    }


def _relayout_height(relayout: object) -> float | None:
    """The cut line's new height from a dendrogram ``relayoutData`` (None: not a line drag)."""
    if not isinstance(relayout, dict):
        return None
    ends = [relayout.get("shapes[0].y0"), relayout.get("shapes[0].y1")]
    if all(v is None for v in ends):
        return None
    values = [checked_float(v, name="cut height") for v in ends if v is not None]
    return sum(values) / len(values)


def _cut_k(source: str, k: object, height: object, relayout: object, tree: TreeFit) -> int:
    """The k a control asks for (raises InputRejectedError for values it cannot send)."""
    if source == "k":
        return checked_int(k, low=K_MIN, high=tree.k_max, name="k")
    if source not in ("height", "drag"):
        raise PreventUpdate
    value: float | None
    if source == "height":
        value = checked_float(height, name="cut height")
    else:
        value = _relayout_height(relayout)
    if value is None:
        raise PreventUpdate  # a zoom or pan of the dendrogram, not a drag of the line
    return tree.k_at(value)


def apply_cut(
    source: str, k: object, height: object, relayout: object, data: object
) -> dict[str, Any]:
    """Resolve a change of k (``source="k"``), of the height slider (``"height"``) or a drag
    of the cut line (``"drag"``) into the outputs ``k``, ``height``, ``session``, ``alert``.

    The height is always snapped to :meth:`TreeFit.height` of the resulting k, so the line,
    the slider and k agree; values a control cannot send are refused with an alert.
    """
    state = require_state(data)
    if (source == "k" and k is None) or (source == "height" and height is None):
        raise PreventUpdate  # the sliders are not initialised yet
    try:
        tree = _tree_of(state)
    except CustsegError as exc:
        raise PreventUpdate from exc  # init_compare shows what is wrong
    try:
        new_k = _cut_k(source, k, height, relayout, tree)
    except InputRejectedError as exc:
        log.info("refused cut: %s", exc)
        return {
            "k": no_update,
            "height": no_update,
            "session": no_update,
            "alert": input_alert(exc),
        }
    snapped, _ = tree.height(new_k)
    return {
        "k": no_update if k == new_k else new_k,
        "height": no_update if height == snapped else snapped,
        "session": with_k(state, new_k),
        "alert": [],
    }


def sync_cut(k: object, height: object, relayout: object, data: object) -> dict[str, Any]:
    """The registered callback: which control moved decides the source (k wins ties)."""
    source = source_of(ctx.triggered_prop_ids, CUT_SOURCES)
    return apply_cut(source, k, height, relayout, data)


# --- the charts ---------------------------------------------------------------------------------

# The charts' one-sentence summaries (chart_text), by the name of the chart they describe.
SUMMARIES_OF: dict[str, str] = {
    "dendrogram": ids.COMPARE_DENDROGRAM,
    "sizes": ids.COMPARE_SIZES,
    "contingency": ids.COMPARE_CONTINGENCY,
    "sankey": ids.COMPARE_SANKEY,
}
SUMMARIES = tuple(f"{name}_summary" for name in SUMMARIES_OF)


def render_compare(k: object, key: object, data: object) -> dict[str, Any]:
    """Dendrogram, K-means sizes, metrics, contingency and Sankey at ``k``, and the alert."""
    state = require_state(data)
    if k is None:
        raise PreventUpdate  # the sliders are not initialised yet
    try:
        k = checked_int(k, low=K_MIN, high=K_MAX, name="k")
        cmp, _ = _comparison(state, k)
    except InputRejectedError as exc:
        charts = ("dendrogram", "sizes", "metrics", "contingency", "sankey", *SUMMARIES)
        return {**dict.fromkeys(charts, no_update), "alert": input_alert(exc)}
    except CustsegError as exc:
        message = (
            f"Nothing to compare: {exc.message}"
            if isinstance(exc, DataSufficiencyError)
            else "Fix the data on the Data page to compare segmentations."
        )
        empty = figures.empty_figure(message)
        return {
            "dendrogram": empty,
            "sizes": empty,
            "metrics": [],
            "contingency": empty,
            "sankey": empty,
            **dict.fromkeys(SUMMARIES, ""),
            "alert": data_problem_alert(exc),
        }
    plot = dendrogram_plot(cmp.tree, k)
    linkage = compare_settings(state).linkage
    revision = key if isinstance(key, str) else None
    return {
        "dendrogram": figures_compare.dendrogram(
            plot, k=k, h_colors=cmp.h_colors, linkage=linkage, revision=revision
        ),
        "sizes": figures_compare.sizes(cmp),
        "metrics": metrics_panel(cmp),
        "contingency": figures_compare.contingency(cmp),
        "sankey": figures_compare.sankey(cmp),
        "dendrogram_summary": figures_compare.dendrogram_summary(cmp),
        "sizes_summary": figures_compare.sizes_summary(cmp),
        "contingency_summary": figures_compare.contingency_summary(cmp),
        "sankey_summary": figures_compare.sankey_summary(cmp),
        "alert": [],
    }


# --- the selection ------------------------------------------------------------------------------


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
    source = source_of(ctx.triggered_prop_ids, SELECTION_SOURCES)
    return selection_from(source, cell_click, node_click, k, key)


def render_selection(selection: object, k: object, key: object, data: object) -> dict[str, Any]:
    """Caption, grid rows and projection scatter for the selection."""
    state = require_state(data)
    if k is None:
        raise PreventUpdate
    try:
        k = checked_int(k, low=K_MIN, high=K_MAX, name="k")
        cmp, features = _comparison(state, k)
    except (InputRejectedError, CustsegError):
        return {
            "caption": NO_SELECTION,
            "rows": [],
            "scatter": figures.empty_figure("Nothing to show."),
            "scatter_summary": "",
        }
    shown = selection_view(selection, cmp, key, features)
    km = cmp.kmeans.segmentation
    scatter = figures_compare.selection_scatter(
        km.projection,
        km.labels,
        names=cmp.km_names,
        colors=cmp.km_colors,
        selected=shown.highlighted,
    )
    return {
        "caption": shown.caption,
        "rows": shown.rows,
        "scatter": scatter,
        "scatter_summary": figures_compare.selection_summary(cmp, shown.highlighted),
    }


# --- registration -------------------------------------------------------------------------------


def _register_sliders(app: Dash) -> None:
    app.callback(
        output={
            "k": Output(ids.COMPARE_K, "value", allow_duplicate=True),
            "k_max": Output(ids.COMPARE_K, "max"),
            "height_min": Output(ids.COMPARE_HEIGHT, "min"),
            "height_max": Output(ids.COMPARE_HEIGHT, "max"),
            "height_step": Output(ids.COMPARE_HEIGHT, "step"),
            "height_marks": Output(ids.COMPARE_HEIGHT, "marks"),
            "height": Output(ids.COMPARE_HEIGHT, "value", allow_duplicate=True),
            "key": Output(ids.COMPARE_KEY, "data"),
            "method": Output(ids.COMPARE_METHOD, "children"),
            "alert": Output(ids.COMPARE_ALERT, "children", allow_duplicate=True),
        },
        inputs={"data": Input(SESSION, "data")},
        state={
            "current_k": State(ids.COMPARE_K, "value"),
            "current_key": State(ids.COMPARE_KEY, "data"),
        },
        prevent_initial_call="initial_duplicate",
    )(init_compare)
    app.callback(
        output={
            "k": Output(ids.COMPARE_K, "value"),
            "height": Output(ids.COMPARE_HEIGHT, "value"),
            "session": Output(SESSION, "data", allow_duplicate=True),
            "alert": Output(ids.COMPARE_ALERT, "children", allow_duplicate=True),
        },
        inputs={
            "k": Input(ids.COMPARE_K, "value"),
            "height": Input(ids.COMPARE_HEIGHT, "value"),
            "relayout": Input(ids.COMPARE_DENDROGRAM, "relayoutData"),
        },
        state={"data": State(SESSION, "data")},
        prevent_initial_call=True,
    )(sync_cut)


def register(app: Dash) -> None:
    """Attach this page's callbacks to ``app``."""
    _register_sliders(app)
    app.callback(
        output={
            "dendrogram": Output(ids.COMPARE_DENDROGRAM, "figure"),
            "sizes": Output(ids.COMPARE_SIZES, "figure"),
            "metrics": Output(ids.COMPARE_METRICS, "children"),
            "contingency": Output(ids.COMPARE_CONTINGENCY, "figure"),
            "sankey": Output(ids.COMPARE_SANKEY, "figure"),
            **{
                f"{name}_summary": Output(chart_text.summary_id(graph), "children")
                for name, graph in SUMMARIES_OF.items()
            },
            "alert": Output(ids.COMPARE_ALERT, "children", allow_duplicate=True),
        },
        inputs={"k": Input(ids.COMPARE_K, "value"), "key": Input(ids.COMPARE_KEY, "data")},
        state={"data": State(SESSION, "data")},
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
        output={
            "caption": Output(ids.COMPARE_SELECTION_CAPTION, "children"),
            "rows": Output(ids.COMPARE_GRID, "rowData"),
            "scatter": Output(ids.COMPARE_SCATTER, "figure"),
            "scatter_summary": Output(chart_text.summary_id(ids.COMPARE_SCATTER), "children"),
        },
        inputs={
            "selection": Input(ids.COMPARE_SELECTION, "data"),
            "k": Input(ids.COMPARE_K, "value"),
            "key": Input(ids.COMPARE_KEY, "data"),
        },
        state={"data": State(SESSION, "data")},
    )(render_selection)
