"""The Model page's callbacks: features, scaling, algorithm, k and seed; the choose-k panel;
stability.

Flow (no callback cycle):

* the controls are rendered from the session state (pattern-matching ids, as on the Data page);
  :func:`apply_controls` validates what they send and writes ``views["model"]``;
* :func:`render` reads the state: when the work is cached, or its estimated cost is small
  enough to run during the request (:func:`dashapp.shared.modeling.needs_background`) and one
  of the process's request slots is free (:class:`dashapp.services.RequestSlots`), it
  computes (through the content-keyed cache) and fills every panel; otherwise it writes a fit
  request into ``MODEL_JOB``;
* :func:`run_fit_job` is a Dash background callback (a ``DiskcacheManager`` running jobs on
  threads of the server, see :mod:`dashapp.background`): it runs the stages with a progress
  bar, can be cancelled, and stores the results in the app's cache; :func:`render_after_job`
  then fills the panels from the cache. The page stays responsive while a job runs.

The panel callbacks return dicts keyed by the names of :data:`PANEL_OUTPUTS`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from dash import ALL, Dash, Input, Output, State, ctx, no_update
from dash.development.base_component import Component
from dash.exceptions import PreventUpdate

from core.errors import ConfigError
from dashapp.background import worker_context
from dashapp.pages.model import ids, view
from dashapp.pages.model.figures import k_figure, k_summary, stability_figure, stability_summary
from dashapp.pages.model.layout import (
    controls,
    fit_problem,
    k_text,
    setting_refused,
    stability_text,
    summary,
)
from dashapp.services import AppServices, get_services
from dashapp.shared import chart_text
from dashapp.shared import ids as app_ids
from dashapp.shared.jobs import JobIds, register_job
from dashapp.shared.modeling import (
    background_threshold,
    parse_settings,
    settings_of,
    with_settings,
)
from dashapp.shared.urlstate import register_url_sync
from dashapp.state import require_state

# Every panel the page fills, by name (the same for a fit during the request and after a job).
PANEL_OUTPUTS: dict[str, Output] = {
    "status": Output(ids.MODEL_STATUS, "children"),
    "summary": Output(ids.MODEL_SUMMARY, "children"),
    "k_text": Output(ids.MODEL_K_TEXT, "children"),
    "k_figure": Output(ids.MODEL_K_FIGURE, "figure"),
    "k_summary": Output(chart_text.summary_id(ids.MODEL_K_FIGURE), "children"),
    "use_k_label": Output(ids.MODEL_USE_K, "children"),
    "use_k_disabled": Output(ids.MODEL_USE_K, "disabled"),
    "stability": Output(ids.MODEL_STABILITY, "children"),
    "stability_figure": Output(ids.MODEL_STABILITY_FIGURE, "figure"),
    "stability_summary": Output(chart_text.summary_id(ids.MODEL_STABILITY_FIGURE), "children"),
}
FITTING = "Fitting… "  # the status line while a fit runs during the request


# --- controls ------------------------------------------------------------------------------------


def render_controls(data: object) -> list[Component]:
    """The settings form, showing the session's settings."""
    state = require_state(data)
    return controls(settings_of(state))


def apply_controls(values: Sequence[object], control_ids: Sequence[object], data: object) -> Any:
    """Validate the form's values and store them; a refused value is explained, not applied.

    Returns (session data, alert).
    """
    state = require_state(data)
    changes = view.control_changes(values, control_ids)
    if changes is None:
        raise PreventUpdate
    current = settings_of(state)
    try:
        settings = parse_settings(changes, base=current)
    except ConfigError as exc:
        return no_update, setting_refused(exc)
    if settings == current:
        raise PreventUpdate
    return with_settings(state, settings).to_json(), []


def use_recommended_k(n_clicks: object, data: object) -> Any:
    """Set k to the recommendation of the choose-k panel (recomputed here from the cache)."""
    if not n_clicks:
        raise PreventUpdate
    state = require_state(data)
    settings = view.with_recommended_k(state, get_services())
    if settings is None:
        raise PreventUpdate
    return with_settings(state, settings).to_json()


# --- panels --------------------------------------------------------------------------------------


def panel_outputs(model: view.ModelView) -> dict[str, Any]:
    """Every panel's content for ``model``, keyed as :data:`PANEL_OUTPUTS`."""
    return {
        "status": model.status,
        "summary": summary(model),
        "k_text": k_text(model.k_panel),
        "k_figure": k_figure(model),
        "k_summary": k_summary(model),
        "use_k_label": model.use_k_label,
        "use_k_disabled": model.use_k_disabled,
        "stability": stability_text(model.stability),
        "stability_figure": stability_figure(model),
        "stability_summary": stability_summary(model),
    }


def render(data: object) -> dict[str, Any]:
    """Fill the panels now, or request a background fit (dear work not cached yet).

    Returns the panels (:data:`PANEL_OUTPUTS`' names) and ``"job"``: the fit request, or
    ``no_update`` when there is none.
    """
    state = require_state(data)
    services = get_services()
    # While every request slot of the process is taken (other users' fits), any work not
    # cached goes to the background queue instead of holding one more request thread.
    with services.request_slots.slot() as free:
        threshold = background_threshold() if free else 0.0
        request = view.fit_request(state, services, min_seconds=threshold)
        if request is None:
            return {**panel_outputs(view.model_view(state, services)), "job": no_update}
    return {
        **dict.fromkeys(PANEL_OUTPUTS, no_update),
        "status": request.status,
        "job": request.to_json(),
    }


def run_fit_job(
    set_progress: Callable[[view.Progress], None],
    request: object,
    data: object,
    *,
    services: AppServices,
) -> dict[str, Any]:
    """The background job: every stage through the shared cache, with progress.

    Runs on a job thread of the server (see :mod:`dashapp.background`) with the app's
    services, so it finds the session's table in memory; returns the segmentation's cache key,
    or the error to show. Tests call it directly with a list's ``append`` as progress.
    """
    if not isinstance(request, dict):
        raise PreventUpdate
    with worker_context(services):
        state = require_state(data)
        return view.run_job(state, services, set_progress)


def render_after_job(done: object, data: object) -> dict[str, Any]:
    """Fill the panels once a job finished (from the cache), or show its error.

    Returns the panels by :data:`PANEL_OUTPUTS`' names.
    """
    if not isinstance(done, dict):
        raise PreventUpdate
    state = require_state(data)
    services = get_services()
    error = view.job_error(done)
    if error is not None:
        return {
            **dict.fromkeys(PANEL_OUTPUTS, no_update),
            "status": "",
            "summary": fit_problem(error),
        }
    if view.job_is_stale(done, state, services):
        raise PreventUpdate  # the settings changed while it ran: a newer job is on its way
    return panel_outputs(view.model_view(state, services))


def show_retry(done: object, _job: object, *, trigger: object = None) -> bool:
    """The Retry button's ``hidden``: shown after a lost or refused job, hidden when a job
    starts.

    ``trigger``: the id of the input that fired (the callback context's when None).
    """
    if (trigger if trigger is not None else ctx.triggered_id) == ids.MODEL_JOB:
        return True
    return not view.job_lost(done)


def retry_fit(n_clicks: object, data: object) -> dict[str, Any]:
    """Ask for the background fit again after a lost or refused job (the ``job`` store and
    the status)."""
    if not n_clicks:
        raise PreventUpdate
    state = require_state(data)
    request = view.fit_request(state, get_services(), min_seconds=background_threshold())
    if request is None:
        raise PreventUpdate  # cached meanwhile (or cheap now): the panels are current
    # A new value each time, so the job store changes even for the same settings.
    return {"job": {**request.to_json(), "attempt": n_clicks}, "status": request.status}


def report_cancel(n_clicks: object) -> Any:
    """Say that the fit was cancelled (the previous results stay on the page)."""
    if not n_clicks:
        raise PreventUpdate
    return "Fit cancelled: the panels show the previous results. Change a setting to fit again."


# --- registration --------------------------------------------------------------------------------


def register(app: Dash) -> None:
    """Attach this page's callbacks to ``app`` (the job manager's folder is the app's cache)."""
    services = get_services(app.server)
    register_url_sync(
        app,
        query_id=ids.MODEL_URL_QUERY,
        search_id=ids.MODEL_URL_SEARCH,
        sink_id=ids.MODEL_URL_SINK,
    )
    session = Input(app_ids.SESSION, "data")
    app.callback(Output(ids.MODEL_CONTROLS, "children"), session)(render_controls)
    setting = {"type": ids.MODEL_SETTING_TYPE, "name": ALL}
    app.callback(
        Output(app_ids.SESSION, "data", allow_duplicate=True),
        Output(ids.MODEL_ALERT, "children", allow_duplicate=True),
        Input(setting, "value"),
        State(setting, "id"),
        State(app_ids.SESSION, "data"),
        prevent_initial_call=True,
    )(apply_controls)
    app.callback(
        Output(app_ids.SESSION, "data", allow_duplicate=True),
        Input(ids.MODEL_USE_K, "n_clicks"),
        State(app_ids.SESSION, "data"),
        prevent_initial_call=True,
    )(use_recommended_k)
    app.callback(
        output={**PANEL_OUTPUTS, "job": Output(ids.MODEL_JOB, "data")},
        inputs={"data": session},
        running=[(Output(ids.MODEL_FITTING, "children"), FITTING, "")],
    )(render)
    register_job(app, services, JOB_IDS, run_fit_job)
    app.callback(
        output={
            name: Output(o.component_id, o.component_property, allow_duplicate=True)
            for name, o in PANEL_OUTPUTS.items()
        },
        inputs={"done": Input(ids.MODEL_JOB_DONE, "data")},
        state={"data": State(app_ids.SESSION, "data")},
        prevent_initial_call=True,
    )(render_after_job)
    app.callback(
        Output(ids.MODEL_STATUS, "children", allow_duplicate=True),
        Input(ids.MODEL_CANCEL, "n_clicks"),
        prevent_initial_call=True,
    )(report_cancel)
    app.callback(
        Output(ids.MODEL_RETRY_WRAP, "hidden"),
        Input(ids.MODEL_JOB_DONE, "data"),
        Input(ids.MODEL_JOB, "data"),
        prevent_initial_call=True,
    )(show_retry)
    app.callback(
        output={
            "job": Output(ids.MODEL_JOB, "data", allow_duplicate=True),
            "status": Output(ids.MODEL_STATUS, "children", allow_duplicate=True),
        },
        inputs={
            "n_clicks": Input(ids.MODEL_RETRY, "n_clicks"),
            "data": State(app_ids.SESSION, "data"),
        },
        prevent_initial_call=True,
    )(retry_fit)


# The background fit's components (progress card, Cancel, the request and answer stores). The
# job runs on a thread of this process with the app's own services (the tables it holds in
# memory); a cancelled job stops at its next progress report or model fit. While it waits in
# the server's queue its progress says how many fits are ahead of it; a second fit of the same
# session while one is active is refused with a message and a Retry button.
JOB_IDS = JobIds(
    job=ids.MODEL_JOB,
    done=ids.MODEL_JOB_DONE,
    wrap=ids.MODEL_PROGRESS_WRAP,
    bar=ids.MODEL_PROGRESS,
    text=ids.MODEL_PROGRESS_TEXT,
    cancel=ids.MODEL_CANCEL,
)


__all__ = [
    "PANEL_OUTPUTS",
    "apply_controls",
    "panel_outputs",
    "register",
    "render",
    "render_after_job",
    "render_controls",
    "report_cancel",
    "retry_fit",
    "run_fit_job",
    "show_retry",
    "use_recommended_k",
]
