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

Work not cached yet and estimated dearer than the app's threshold (:mod:`.work`, as on the
Model page) is not fitted in the request: init_compare (the tree) or render_compare (K-means
at a new k) writes a request into the job store instead; the background callback
(:func:`run_compare_job`, the app's job queue shared with the Model page) shows its place in
the queue and its steps, with Cancel; its answer feeds :func:`init_after_job` and
:func:`render_after_job` (which ask for no job, so nothing feeds its own job store) and
:func:`show_job_outcome` (an error, with Retry when asking again may help: :func:`retry_compare`).

Callbacks with more than two outputs return a dict of named outputs (see :func:`register`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection
from typing import Any

import polars as pl
from dash import Dash, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from core.clustering.config import K_MAX, K_MIN
from core.errors import CustsegError, DataSufficiencyError
from core.pipeline import CustomerTable
from dashapp.background import worker_context
from dashapp.pages.compare import figures as figures_compare
from dashapp.pages.compare import ids, work
from dashapp.pages.compare.layout import method_panel, metrics_panel
from dashapp.pages.compare.view import (
    NO_SELECTION,
    VIEW,
    CompareSettings,
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
    tree_ready,
    view_key,
)
from dashapp.pages.compare.work import CompareRequest, compare_request, finished_for
from dashapp.services import AppServices, get_services
from dashapp.shared import chart_text, components, figures, fit_cost
from dashapp.shared.ids import SESSION
from dashapp.shared.jobs import JobIds, Progress, job_error, job_lost, register_job
from dashapp.shared.loading import session_table
from dashapp.shared.modeling import background_threshold
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


def _tree_waits(table: CustomerTable, settings: CompareSettings) -> bool:
    """Whether the tree is not cached and too dear to fit during the request (init_compare
    asks a background job for it)."""
    if tree_ready(table, settings, get_services().cache):
        return False
    customers = table.n_customers - table.n_excluded
    cost = fit_cost.tree_seconds(customers=customers, linkage=settings.linkage)
    return cost > background_threshold()


def _tree_of(state: SessionState) -> TreeFit | None:
    """The session's tree when it is cached or cheap enough to fit during the request; None
    while it waits for a background job."""
    services = get_services()
    table = session_table(state, services)
    settings = compare_settings(state)
    if _tree_waits(table, settings):
        return None
    return tree_fit(table, settings, services.cache)


def _work(
    state: SessionState, k: int | None, done: object
) -> tuple[CustomerTable, CompareRequest | None]:
    """The session's table and, when the work of the view at ``k`` (None: the likely k) is not
    cached and too dear for the request, the background job to ask for. After a job finished
    for this view and k, none: what it left in the cache, or the rest, is computed here."""
    services = get_services()
    table = session_table(state, services)
    if finished_for(done, view_key(state, compare_settings(state)), k):
        return table, None
    threshold = background_threshold()
    return table, compare_request(state, services, table, k=k, min_seconds=threshold)


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


SLIDER_OUTPUTS: tuple[str, ...] = (
    "k",
    "k_max",
    "height_min",
    "height_max",
    "height_step",
    "height_marks",
    "height",
)


def init_compare(
    data: object,
    current_k: object,
    current_key: object,
    done: object = None,
    *,
    from_job: bool = False,
) -> dict[str, Any]:
    """Slider ranges and values from the session's tree and stored k; the view identity.

    A tree not cached and too dear for the request is asked of a background job (``job``,
    ``status``) instead; the job's answer (``done``, ``from_job``) brings the page back here.
    """
    state = require_state(data)
    if from_job and job_error(done) is not None:
        raise PreventUpdate  # show_job_outcome shows it, with Retry where it may help
    settings = compare_settings(state)
    key = view_key(state, settings)
    new_key = no_update if key == current_key else key
    unchanged = dict.fromkeys(SLIDER_OUTPUTS, no_update)
    try:
        table, request = _work(state, None, done)
        if request is not None:
            return {
                **unchanged,
                "key": new_key,
                "method": "",
                "alert": [],
                "job": request.to_json(),
                "status": request.status,
            }
        tree = tree_fit(table, settings, get_services().cache)
    except CustsegError as exc:
        return {
            **unchanged,
            "key": new_key,
            "method": "",
            "alert": data_problem_alert(exc),
            "job": no_update,
            "status": "",
        }
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
        "job": no_update,
        "status": "",
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
    if tree is None:
        raise PreventUpdate  # a background job builds it; init_compare sets the sliders then
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


CHARTS: tuple[str, ...] = ("dendrogram", "sizes", "metrics", "contingency", "sankey", *SUMMARIES)


def render_compare(
    k: object, key: object, data: object, done: object = None, *, from_job: bool = False
) -> dict[str, Any]:
    """Dendrogram, K-means sizes, metrics, contingency and Sankey at ``k``, and the alert.

    K-means at ``k`` not cached and too dear for the request is asked of a background job
    (``job``, ``status``; the tree's own job is init_compare's); its answer (``done``,
    ``from_job``) brings the page back here.
    """
    state = require_state(data)
    if k is None or (from_job and job_error(done) is not None):
        raise PreventUpdate  # the sliders are not initialised yet, or the job failed
    waiting = {**dict.fromkeys(CHARTS, no_update), "alert": no_update, "job": no_update}
    try:
        k = checked_int(k, low=K_MIN, high=K_MAX, name="k")
        table, request = _work(state, k, done)
        if request is not None:
            if _tree_waits(table, compare_settings(state)):
                raise PreventUpdate  # init_compare asked for the tree (and this k with it)
            return {**waiting, "job": request.to_json(), "status": request.status}
        cmp, _ = _comparison(state, k)
    except InputRejectedError as exc:
        return {**waiting, "alert": input_alert(exc), "status": no_update}
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
            "job": no_update,
            "status": "",
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
        "job": no_update,
        "status": "",
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


def render_selection(
    selection: object, k: object, key: object, data: object, done: object = None
) -> dict[str, Any]:
    """Caption, grid rows and projection scatter for the selection (nothing while the
    comparison at ``k`` waits for a background job: its answer, ``done``, brings it here)."""
    state = require_state(data)
    if k is None:
        raise PreventUpdate
    try:
        k = checked_int(k, low=K_MIN, high=K_MAX, name="k")
        _table, request = _work(state, k, done)
        if request is not None:
            raise PreventUpdate  # render_compare asks for the job
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


# --- the background job -------------------------------------------------------------------------

CANCELLED = "Cancelled: press Retry to compute the comparison."
JOB_FAILED = "The comparison could not be computed"


def run_compare_job(
    set_progress: Callable[[Progress], None],
    request: object,
    data: object,
    *,
    services: AppServices,
) -> dict[str, Any]:
    """The background job: the tree and K-means at the request's k through the app's cache.

    Runs on a job thread of the server (:mod:`dashapp.background`) with the app's services;
    returns the view's key and k, or the error to show. Tests call it directly.
    """
    if not isinstance(request, dict):
        raise PreventUpdate
    with worker_context(services):
        state = require_state(data)
        try:
            k = work.request_k(request)
        except InputRejectedError as exc:
            return {"error": exc.message, "hint": exc.hint}
        return work.run_job(state, services, k, set_progress)


# What fired the outcome callback; Dash holds it back while the job runs, so a job asked for
# and its answer arrive together: the answer decides.
OUTCOME_SOURCES: tuple[tuple[str, str], ...] = (
    (f"{ids.COMPARE_CANCEL}.n_clicks", "cancel"),
    (f"{ids.COMPARE_JOB_DONE}.data", "done"),
    (f"{ids.COMPARE_JOB}.data", "job"),
)


def show_job_outcome(
    done: object, job: object, cancel: object, *, source: str | None = None
) -> dict[str, Any]:
    """The alert, status line and Retry button (``retry_hidden``) after a job answered
    (``source="done"``), was asked for (``"job"``) or cancelled (``"cancel"``); None: the
    input that fired, from the callback context."""
    fired = source or source_of(ctx.triggered_prop_ids, OUTCOME_SOURCES)
    if fired == "job":
        return {"alert": no_update, "status": no_update, "retry_hidden": True}
    if fired == "cancel":
        if not cancel:
            raise PreventUpdate
        return {"alert": no_update, "status": CANCELLED, "retry_hidden": False}
    if not isinstance(done, dict):
        raise PreventUpdate
    error = job_error(done)
    if error is None:
        return {"alert": no_update, "status": "", "retry_hidden": True}
    alert = components.error_alert(error, title=JOB_FAILED)
    return {"alert": alert, "status": "", "retry_hidden": not job_lost(done)}


def retry_compare(n_clicks: object, k: object, data: object) -> dict[str, Any]:
    """Ask for the job again after a lost, refused or cancelled one (``job``, ``status``); when
    the work is cheap enough now, mark it done (``done``) so the page computes it."""
    if not n_clicks:
        raise PreventUpdate
    state = require_state(data)
    services = get_services()
    settings = compare_settings(state)
    try:
        table = session_table(state, services)
        wanted = None if k is None else checked_int(k, low=K_MIN, high=K_MAX, name="k")
        if _tree_waits(table, settings):
            wanted = None  # the tree first (the job fits the stored k with it)
    except (CustsegError, InputRejectedError) as exc:
        raise PreventUpdate from exc  # the charts' callbacks explain the data's problem
    threshold = background_threshold()
    request = work.compare_request(state, services, table, k=wanted, min_seconds=threshold)
    if request is None:
        done = {"key": view_key(state, settings), "k": wanted, "attempt": n_clicks}
        return {"job": no_update, "status": "", "done": done}
    # A new value each time, so the job store changes even for the same work.
    job = {**request.to_json(), "attempt": n_clicks}
    return {"job": job, "status": request.status, "done": no_update}


def init_after_job(done: object, data: object, current_k: object, current_key: object) -> Any:
    """The sliders once a job answered for the view on screen (from the cache). A callback of
    its own, which asks for no job: init_compare's job store feeds the job, whose answer
    feeds this one (no callback cycle)."""
    state = require_state(data)
    if not finished_for(done, view_key(state, compare_settings(state))):
        raise PreventUpdate  # an error (show_job_outcome shows it) or another view's job
    out = init_compare(data, current_k, current_key, done, from_job=True)
    del out["job"]
    return out


def render_after_job(done: object, k: object, key: object, data: object) -> Any:
    """The charts once a job answered for the view and k on screen (from the cache); when it
    built the tree for a k not set yet, init_after_job sets k and render_compare draws."""
    if not isinstance(key, str) or k is None or not finished_for(done, key, k):
        raise PreventUpdate
    out = render_compare(k, key, data, done, from_job=True)
    del out["job"]
    return out


# --- registration -------------------------------------------------------------------------------

JOB_DONE = Input(ids.COMPARE_JOB_DONE, "data")


def _job_outputs() -> dict[str, Output]:
    """The job request and the status line, which several callbacks write."""
    return {
        "job": Output(ids.COMPARE_JOB, "data", allow_duplicate=True),
        "status": Output(ids.COMPARE_STATUS, "children", allow_duplicate=True),
    }


# init_compare's outputs (job and status aside), also written once a job answered.
SLIDER_IDS: dict[str, Output] = {
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
}


def _register_sliders(app: Dash) -> None:
    app.callback(
        output={**SLIDER_IDS, **_job_outputs()},
        inputs={"data": Input(SESSION, "data")},
        state={
            "current_k": State(ids.COMPARE_K, "value"),
            "current_key": State(ids.COMPARE_KEY, "data"),
        },
        prevent_initial_call="initial_duplicate",
    )(init_compare)
    app.callback(
        output={
            **{
                name: Output(o.component_id, o.component_property, allow_duplicate=True)
                for name, o in SLIDER_IDS.items()
            },
            "status": Output(ids.COMPARE_STATUS, "children", allow_duplicate=True),
        },
        inputs={"done": JOB_DONE},
        state={
            "data": State(SESSION, "data"),
            "current_k": State(ids.COMPARE_K, "value"),
            "current_key": State(ids.COMPARE_KEY, "data"),
        },
        prevent_initial_call=True,
    )(init_after_job)
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
    charts = {
        "dendrogram": Output(ids.COMPARE_DENDROGRAM, "figure", allow_duplicate=True),
        "sizes": Output(ids.COMPARE_SIZES, "figure", allow_duplicate=True),
        "metrics": Output(ids.COMPARE_METRICS, "children", allow_duplicate=True),
        "contingency": Output(ids.COMPARE_CONTINGENCY, "figure", allow_duplicate=True),
        "sankey": Output(ids.COMPARE_SANKEY, "figure", allow_duplicate=True),
        **{
            f"{name}_summary": Output(
                chart_text.summary_id(graph), "children", allow_duplicate=True
            )
            for name, graph in SUMMARIES_OF.items()
        },
        "alert": Output(ids.COMPARE_ALERT, "children", allow_duplicate=True),
    }
    app.callback(
        output={**charts, **_job_outputs()},
        inputs={"k": Input(ids.COMPARE_K, "value"), "key": Input(ids.COMPARE_KEY, "data")},
        state={"data": State(SESSION, "data"), "done": State(ids.COMPARE_JOB_DONE, "data")},
        prevent_initial_call=True,
    )(render_compare)
    app.callback(
        output={
            **charts,
            "status": Output(ids.COMPARE_STATUS, "children", allow_duplicate=True),
        },
        inputs={"done": JOB_DONE},
        state={
            "k": State(ids.COMPARE_K, "value"),
            "key": State(ids.COMPARE_KEY, "data"),
            "data": State(SESSION, "data"),
        },
        prevent_initial_call=True,
    )(render_after_job)
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
            "done": JOB_DONE,
        },
        state={"data": State(SESSION, "data")},
    )(render_selection)
    _register_job(app)


JOB_IDS = JobIds(
    job=ids.COMPARE_JOB,
    done=ids.COMPARE_JOB_DONE,
    wrap=ids.COMPARE_PROGRESS_WRAP,
    bar=ids.COMPARE_PROGRESS,
    text=ids.COMPARE_PROGRESS_TEXT,
    cancel=ids.COMPARE_CANCEL,
)


def _register_job(app: Dash) -> None:
    """The background job (progress bar, queue position, Cancel; the app's job manager,
    shared with the Model page), its outcome and Retry."""
    register_job(app, get_services(app.server), JOB_IDS, run_compare_job)
    app.callback(
        output={
            "alert": Output(ids.COMPARE_ALERT, "children", allow_duplicate=True),
            "status": Output(ids.COMPARE_STATUS, "children", allow_duplicate=True),
            "retry_hidden": Output(ids.COMPARE_RETRY_WRAP, "hidden"),
        },
        inputs={
            "done": JOB_DONE,
            "job": Input(ids.COMPARE_JOB, "data"),
            "cancel": Input(ids.COMPARE_CANCEL, "n_clicks"),
        },
        prevent_initial_call=True,
    )(show_job_outcome)
    app.callback(
        output={
            **_job_outputs(),
            "done": Output(ids.COMPARE_JOB_DONE, "data", allow_duplicate=True),
        },
        inputs={"n_clicks": Input(ids.COMPARE_RETRY, "n_clicks")},
        state={"k": State(ids.COMPARE_K, "value"), "data": State(SESSION, "data")},
        prevent_initial_call=True,
    )(retry_compare)
