"""Model page: features, scaling, algorithm, k and seed; the choose-k panel; stability.

Flow (no callback cycle):

* the controls are rendered from the session state (pattern-matching ids, as on the Data page);
  :func:`apply_controls` validates what they send and writes ``views["model"]``;
* :func:`render` reads the state: when the fit is cached, or the data is small enough to fit
  during the request, it computes (through the content-keyed cache) and fills every panel;
  otherwise it writes a fit request into ``MODEL_JOB``;
* :func:`run_fit_job` is a Dash background callback (``DiskcacheManager`` with forkserver
  workers, see :mod:`dashapp.background`): it runs the stages with a progress bar, can be
  cancelled, and stores the results in the shared cache; :func:`render_after_job` then fills
  the panels from the cache. The page stays responsive while a job runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import dash_bootstrap_components as dbc
from dash import ALL, Dash, Input, Output, State, dcc, html, no_update
from dash.development.base_component import Component
from dash.exceptions import PreventUpdate

from core.clustering import service
from core.errors import ConfigError, CustsegError
from dashapp.background import job_manager, worker_context, worker_services
from dashapp.services import AppServices, get_services
from dashapp.shared import components, figures, ids
from dashapp.shared import segment_components as cs
from dashapp.shared import segment_figures as fs
from dashapp.shared.loading import session_table
from dashapp.shared.modeling import (
    STAGES,
    ModelSettings,
    background_threshold,
    cache_dir_of,
    compute_all,
    fit,
    k_selection,
    name_store,
    needs_background,
    parse_settings,
    query_of,
    search_string,
    settings_of,
    stability_report,
    with_settings,
)
from dashapp.shared.urlstate import register_url_sync, url_components
from dashapp.state import SessionState, require_state

log = logging.getLogger(__name__)

PATH = "/model"
NAME = "Model"
ORDER = 3
TITLE = "Model · custseg"
DESCRIPTION = "Choose features, scaling, algorithm and k; compare every k criterion; stability."

GRAPH_CONFIG = {"displayModeBar": False}
SETTING_NAMES: tuple[str, ...] = ("features", "scaler", "algorithm", "linkage", "k", "seed")


def layout(**query: Any) -> Component:
    """The page skeleton; callbacks fill it from the session state."""
    return html.Div(
        [
            url_components(ids.MODEL_URL_QUERY, ids.MODEL_URL_SEARCH, ids.MODEL_URL_SINK, query),
            dcc.Store(id=ids.MODEL_JOB),
            dcc.Store(id=ids.MODEL_JOB_DONE),
            dbc.Row(
                [
                    dbc.Col(html.H4("Model", className="mb-0"), width="auto"),
                    dbc.Col(html.Div(id=ids.MODEL_STATUS, className="small text-muted")),
                ],
                className="mb-2 g-3 align-items-center",
            ),
            html.Div(id=ids.MODEL_ALERT),
            dbc.Row(
                [
                    dbc.Col(
                        components.card("Settings", html.Div(id=ids.MODEL_CONTROLS)),
                        lg=4,
                        xl=3,
                    ),
                    dbc.Col(
                        [
                            html.Div(
                                dbc.Card(
                                    dbc.CardBody(
                                        [
                                            html.Div(
                                                id=ids.MODEL_PROGRESS_TEXT,
                                                className="small mb-1",
                                            ),
                                            dbc.Row(
                                                [
                                                    dbc.Col(
                                                        dbc.Progress(
                                                            id=ids.MODEL_PROGRESS,
                                                            value=0,
                                                            striped=True,
                                                            animated=True,
                                                            style={"height": "1.2rem"},
                                                        )
                                                    ),
                                                    dbc.Col(
                                                        dbc.Button(
                                                            "Cancel",
                                                            id=ids.MODEL_CANCEL,
                                                            color="secondary",
                                                            size="sm",
                                                            outline=True,
                                                            disabled=True,
                                                        ),
                                                        width="auto",
                                                    ),
                                                ],
                                                className="align-items-center g-2",
                                            ),
                                        ]
                                    ),
                                    className="mb-3 border-primary",
                                ),
                                id=ids.MODEL_PROGRESS_WRAP,
                                style={"display": "none"},
                            ),
                            components.card(
                                "Segmentation",
                                dcc.Loading(html.Div(id=ids.MODEL_SUMMARY), type="dot"),
                            ),
                            components.card(
                                "How many segments? Every criterion on one k axis",
                                [
                                    dbc.Row(
                                        [
                                            dbc.Col(html.Div(id=ids.MODEL_K_TEXT)),
                                            dbc.Col(
                                                dbc.Button(
                                                    "Use the recommended k",
                                                    id=ids.MODEL_USE_K,
                                                    size="sm",
                                                    color="success",
                                                    disabled=True,
                                                ),
                                                width="auto",
                                            ),
                                        ],
                                        className="g-2",
                                    ),
                                    dcc.Graph(
                                        id=ids.MODEL_K_FIGURE,
                                        figure=figures.empty_figure("Loading…"),
                                        config=GRAPH_CONFIG,
                                    ),
                                ],
                            ),
                            components.card(
                                "Stability: do refits find the same segments?",
                                [
                                    html.Div(id=ids.MODEL_STABILITY),
                                    dcc.Graph(
                                        id=ids.MODEL_STABILITY_FIGURE,
                                        figure=figures.empty_figure("Loading…"),
                                        config=GRAPH_CONFIG,
                                    ),
                                ],
                            ),
                        ],
                        lg=8,
                        xl=9,
                    ),
                ]
            ),
        ]
    )


# --- controls ------------------------------------------------------------------------------------


def render_controls(data: object) -> list[Component]:
    """The settings form, showing the session's settings."""
    state = require_state(data)
    return cs.model_controls(settings_of(state))


def apply_controls(values: Sequence[object], control_ids: Sequence[object], data: object) -> Any:
    """Validate the form's values and store them; a refused value is explained, not applied.

    Returns (session data, alert).
    """
    state = require_state(data)
    if not isinstance(values, list | tuple) or not isinstance(control_ids, list | tuple):
        raise PreventUpdate
    if len(values) != len(control_ids) or len(values) > len(SETTING_NAMES):
        raise PreventUpdate
    changes: dict[str, object] = {}
    for control_id, value in zip(control_ids, values, strict=True):
        name = control_id.get("name") if isinstance(control_id, dict) else None
        if name not in SETTING_NAMES:
            raise PreventUpdate
        changes[str(name)] = value
    current = settings_of(state)
    try:
        settings = parse_settings(changes, base=current)
    except ConfigError as exc:
        return no_update, components.error_alert(exc, title="That setting was not applied")
    if settings == current:
        raise PreventUpdate
    return with_settings(state, settings).to_json(), []


def use_recommended_k(n_clicks: object, data: object) -> Any:
    """Set k to the recommendation of the choose-k panel (recomputed here from the cache)."""
    if not n_clicks:
        raise PreventUpdate
    state = require_state(data)
    services = get_services()
    settings = settings_of(state)
    try:
        table = session_table(state, services)
        selection = k_selection(table, settings, services)
    except CustsegError as exc:
        log.info("recommended k unavailable: %s", exc.message)
        raise PreventUpdate from exc
    if selection is None or selection.recommended_k in (None, settings.k):
        raise PreventUpdate
    new = parse_settings({"k": selection.recommended_k}, base=settings)
    return with_settings(state, new).to_json()


# --- panels --------------------------------------------------------------------------------------


PANEL_OUTPUTS = (
    Output(ids.MODEL_STATUS, "children"),
    Output(ids.MODEL_SUMMARY, "children"),
    Output(ids.MODEL_K_TEXT, "children"),
    Output(ids.MODEL_K_FIGURE, "figure"),
    Output(ids.MODEL_USE_K, "children"),
    Output(ids.MODEL_USE_K, "disabled"),
    Output(ids.MODEL_STABILITY, "children"),
    Output(ids.MODEL_STABILITY_FIGURE, "figure"),
)


def panels(state: SessionState, services: AppServices) -> tuple[Any, ...]:
    """Every panel of the page for the session's settings (fits through the cache)."""
    search = search_string(query_of(state))
    settings = settings_of(state)
    try:
        table = session_table(state, services)
    except CustsegError as exc:
        empty = figures.empty_figure("No data to model yet.")
        return ("", cs.data_problem(exc), "", empty, "Use the recommended k", True, "", empty)
    try:
        result = fit(table, settings, services, state)
    except CustsegError as exc:
        empty = figures.empty_figure("Nothing fitted with these settings.")
        return ("", cs.fit_problem(exc), "", empty, "Use the recommended k", True, "", empty)
    status = f"{settings.describe()} · {table.n_customers:,} customers"
    summary = cs.model_summary(result, fs.segment_rows(result), search)
    k_panel = _k_panel(table, settings, services)
    try:
        report = stability_report(table, settings, services, result)
        stability_children: Any = cs.stability_text(report)
        stability_fig = fs.stability_figure(report, result)
    except CustsegError as exc:
        stability_children = components.error_alert(exc, title="Stability not computed")
        stability_fig = figures.empty_figure("Stability could not be computed.")
    return (status, summary, *k_panel, stability_children, stability_fig)


def _k_panel(table: Any, settings: ModelSettings, services: AppServices) -> tuple[Any, ...]:
    if settings.finds_k:
        text = html.P(
            "HDBSCAN finds the number of segments itself (segments of at least 1% of the "
            "customers by default); customers it cannot place are left as noise.",
            className="small mb-0",
        )
        return (
            text,
            figures.empty_figure("No k to choose: HDBSCAN finds k itself.", height=160),
            "k found by HDBSCAN",
            True,
        )
    try:
        selection = k_selection(table, settings, services)
    except CustsegError as exc:
        return (
            components.error_alert(exc, title="The k criteria could not be computed"),
            figures.empty_figure("No criteria to show."),
            "Use the recommended k",
            True,
        )
    assert selection is not None  # every algorithm but HDBSCAN sweeps k
    recommended = selection.recommended_k
    label = "Use the recommended k" if recommended is None else f"Use k = {recommended}"
    return (
        cs.k_text(selection, settings.k),
        fs.k_selection_figure(selection, current_k=settings.k),
        label,
        recommended is None or recommended == settings.k,
    )


def render(data: object) -> tuple[Any, ...]:
    """Fill the panels now, or request a background fit (large data, not cached yet).

    Returns the panel outputs and the job request (``no_update`` when none).
    """
    state = require_state(data)
    services = get_services()
    settings = settings_of(state)
    try:
        table = session_table(state, services)
        background = needs_background(
            table, settings, services, min_customers=background_threshold()
        )
    except CustsegError:
        background = False
    if not background:
        return (*panels(state, services), no_update)
    request = {"settings": settings.to_json(), "dataset": state.dataset, "table": table.key}
    status = f"Fitting {settings.describe()} on {table.n_customers:,} customers in the background…"
    return (status, *([no_update] * (len(PANEL_OUTPUTS) - 1)), request)


def run_fit_job(
    set_progress: Callable[[tuple[int, str, str]], None],
    request: object,
    data: object,
    *,
    services: AppServices,
) -> dict[str, Any]:
    """The background job: every stage through the shared cache, with progress.

    Runs in a worker process (see :mod:`dashapp.background`); returns the segmentation's cache
    key, or the error to show. Tests call it directly with a list's ``append`` as progress.
    """
    if not isinstance(request, dict):
        raise PreventUpdate
    with worker_context(services):
        state = require_state(data)

        def progress(step: int, label: str) -> None:
            percent = round(100 * step / len(STAGES))
            set_progress((percent, f"{percent}%", f"Step {step + 1} of {len(STAGES)}: {label}…"))

        try:
            model = compute_all(state, services, session_table, progress=progress)
        except CustsegError as exc:
            return {"error": exc.message, "hint": exc.hint}
        set_progress((100, "100%", "Done."))
        return {"key": model.result.key}


def render_after_job(done: object, data: object) -> tuple[Any, ...]:
    """Fill the panels once a job finished (from the cache), or show its error."""
    if not isinstance(done, dict):
        raise PreventUpdate
    state = require_state(data)
    services = get_services()
    if isinstance(done.get("error"), str):
        hint = done.get("hint")
        error = ConfigError(done["error"], hint=hint if isinstance(hint, str) else None)
        return ("", cs.fit_problem(error), *([no_update] * (len(PANEL_OUTPUTS) - 2)))
    settings = settings_of(state)
    try:
        table = session_table(state, services)
    except CustsegError as exc:
        log.info("data gone after a background fit: %s", exc.message)
        return panels(state, services)
    current = service.segmentation_key(
        table.key, settings.preprocess_config(), settings.model_config(), with_lines=True
    )
    if done.get("key") != current:
        raise PreventUpdate  # the settings changed while it ran: a newer job is on its way
    return panels(state, services)


def report_cancel(n_clicks: object) -> Any:
    """Say that the fit was cancelled (the previous results stay on the page)."""
    if not n_clicks:
        raise PreventUpdate
    return "Fit cancelled: the panels show the previous results. Change a setting to fit again."


def register_callbacks(app: Dash) -> None:
    """Attach this page's callbacks to ``app`` (the job manager's folder is the app's cache).

    Also forgets the segment names of sessions unused for two weeks (as ``create_app`` does for
    the session registry), once per app.
    """
    services = get_services(app.server)
    name_store(services).prune()
    register_url_sync(
        app,
        query_id=ids.MODEL_URL_QUERY,
        search_id=ids.MODEL_URL_SEARCH,
        sink_id=ids.MODEL_URL_SINK,
        alert_id=ids.MODEL_ALERT,
    )
    app.callback(Output(ids.MODEL_CONTROLS, "children"), Input(ids.SESSION, "data"))(
        render_controls
    )
    setting = {"type": ids.MODEL_SETTING_TYPE, "name": ALL}
    app.callback(
        Output(ids.SESSION, "data", allow_duplicate=True),
        Output(ids.MODEL_ALERT, "children", allow_duplicate=True),
        Input(setting, "value"),
        State(setting, "id"),
        State(ids.SESSION, "data"),
        prevent_initial_call=True,
    )(apply_controls)
    app.callback(
        Output(ids.SESSION, "data", allow_duplicate=True),
        Input(ids.MODEL_USE_K, "n_clicks"),
        State(ids.SESSION, "data"),
        prevent_initial_call=True,
    )(use_recommended_k)
    app.callback(*PANEL_OUTPUTS, Output(ids.MODEL_JOB, "data"), Input(ids.SESSION, "data"))(render)

    worker = worker_services(services)

    def fit_job(
        set_progress: Callable[[tuple[int, str, str]], None], request: object, data: object
    ) -> dict[str, Any]:
        return run_fit_job(set_progress, request, data, services=worker)

    app.callback(
        Output(ids.MODEL_JOB_DONE, "data"),
        Input(ids.MODEL_JOB, "data"),
        State(ids.SESSION, "data"),
        background=True,
        manager=job_manager(cache_dir_of(services)),
        progress=[
            Output(ids.MODEL_PROGRESS, "value"),
            Output(ids.MODEL_PROGRESS, "label"),
            Output(ids.MODEL_PROGRESS_TEXT, "children"),
        ],
        progress_default=[0, "", "Starting…"],
        running=[
            (Output(ids.MODEL_PROGRESS_WRAP, "style"), {"display": "block"}, {"display": "none"}),
            (Output(ids.MODEL_CANCEL, "disabled"), False, True),
        ],
        cancel=[Input(ids.MODEL_CANCEL, "n_clicks")],
        interval=500,
        prevent_initial_call=True,
    )(fit_job)
    app.callback(
        *[
            Output(o.component_id, o.component_property, allow_duplicate=True)
            for o in PANEL_OUTPUTS
        ],
        Input(ids.MODEL_JOB_DONE, "data"),
        State(ids.SESSION, "data"),
        prevent_initial_call=True,
    )(render_after_job)
    app.callback(
        Output(ids.MODEL_STATUS, "children", allow_duplicate=True),
        Input(ids.MODEL_CANCEL, "n_clicks"),
        prevent_initial_call=True,
    )(report_cancel)


__all__ = [
    "apply_controls",
    "layout",
    "panels",
    "register_callbacks",
    "render",
    "render_after_job",
    "render_controls",
    "report_cancel",
    "run_fit_job",
    "use_recommended_k",
]
