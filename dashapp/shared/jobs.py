"""What every page's background jobs share: one job manager per app, the answers a job gives,
the progress shown while it waits or runs, and the progress card with its Cancel button.

Every page whose uncached work is too dear for a request (:mod:`dashapp.shared.fit_cost`)
hands it to :func:`app_jobs`: one :class:`dashapp.background.ThreadJobManager` per app, so the
Model and Compare pages' jobs share its threads (:data:`dashapp.background.MAX_JOBS` per
process), its bounded queue and the one-active-job-per-session rule. A job's callback takes
``(request, session data)``, reports :data:`Progress` and answers JSON: its result's keys, or
``{"error", "hint"}`` (with ``"lost"`` or ``"retry"`` when asking again may work).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import dash_bootstrap_components as dbc
import flask
from dash import Dash, Input, Output, State, html

from core import wording
from core.errors import ConfigError
from dashapp.background import ThreadJobManager, job_manager, with_checkpoints
from dashapp.services import AppServices
from dashapp.shared import components
from dashapp.shared.ids import SESSION
from dashapp.shared.modeling import cache_dir_of
from dashapp.state import StateError, parse_state

JOBS_EXTENSION = "custseg-jobs"  # where an app's server keeps its job manager

Progress = tuple[int, str, str]  # (percent, bar label, step text) for the progress bar
DONE: Progress = (100, "100%", "Done.")


def queue_progress(ahead: int, running: int) -> Progress:
    """The progress bar of a job waiting in the server's queue: how many fits are ahead of it
    (those running and those waiting before it)."""
    if ahead <= 0:
        return (0, "", "Waiting for the server: your fit starts next…")
    return (
        0,
        "",
        f"Waiting for the server: {wording.count(ahead, 'fit')} ahead of yours "
        f"({running} running)…",
    )


def step_progress(step: int, steps: int, label: str) -> Progress:
    """The progress bar's values when step ``step`` (0-based) of ``steps`` starts."""
    percent = round(100 * step / steps)
    return (percent, f"{percent}%", f"Step {step + 1} of {steps}: {label}…")


def job_owner(args: object, services: AppServices) -> str | None:
    """The session a job's callback arguments (request, session data) belong to, or None when
    they carry no valid session (the job then refuses them itself)."""
    if not isinstance(args, list | tuple) or len(args) != 2:
        return None
    try:
        return parse_state(args[1], services).session_id
    except StateError:
        return None


def job_error(done: Mapping[str, object]) -> ConfigError | None:
    """The error a finished job reported, if any."""
    message = done.get("error")
    if not isinstance(message, str):
        return None
    hint = done.get("hint")
    return ConfigError(message, hint=hint if isinstance(hint, str) else None)


def job_lost(done: object) -> bool:
    """Whether a job's answer says it can be asked for again: its process died before it
    finished (:data:`dashapp.background.LOST_JOB`), or it was refused while its session had
    another fit active or the queue was full (``SESSION_BUSY``, ``QUEUE_FULL``)."""
    return isinstance(done, dict) and (done.get("lost") is True or done.get("retry") is True)


def app_jobs(server: flask.Flask, services: AppServices) -> ThreadJobManager:
    """The app's one job manager (made on first use, kept by the app's server): its jobs run
    on threads of each server process, with the app's own services."""
    manager = server.extensions.get(JOBS_EXTENSION)
    if not isinstance(manager, ThreadJobManager):
        manager = job_manager(
            cache_dir_of(services),
            owner_of=lambda args: job_owner(args, services),
            announce=queue_progress,
        )
        server.extensions[JOBS_EXTENSION] = manager
    return manager


def progress_card(
    *, wrap_id: str, bar_id: str, text_id: str, cancel_id: str, label: str
) -> html.Div:
    """A job's progress bar, step text and Cancel button (hidden unless a job runs)."""
    bar = dbc.Progress(id=bar_id, value=0, striped=True, animated=True, style={"height": "1.2rem"})
    cancel = dbc.Button(
        "Cancel", id=cancel_id, color="secondary", size="sm", outline=True, disabled=True
    )
    body = dbc.CardBody(
        [
            components.live_status(text_id, className="small mb-1"),
            components.label_for(label, bar_id, className="visually-hidden"),
            dbc.Row(
                [dbc.Col(bar), dbc.Col(cancel, width="auto")],
                className="align-items-center g-2",
            ),
        ]
    )
    return html.Div(
        dbc.Card(body, className="mb-3 border-primary"), id=wrap_id, style={"display": "none"}
    )


@dataclass(frozen=True)
class JobIds:
    """A page's job components: the request store (``job``), the answer store (``done``),
    and the :func:`progress_card`'s ids."""

    job: str
    done: str
    wrap: str
    bar: str
    text: str
    cancel: str


# A page's job: (progress reporter, request, session data, *, services) -> its JSON answer.
JobRun = Callable[..., dict[str, Any]]


def register_job(app: Dash, services: AppServices, ids: JobIds, run: JobRun) -> None:
    """Register a page's background job: ``ids.job`` changing starts ``run`` on the app's job
    manager (:func:`app_jobs`, shared by every page) with ``(request, session data)``; its
    answer lands in ``ids.done``. While it waits or runs, the progress card shows what it
    reports (through :func:`dashapp.background.with_checkpoints`, so a cancelled job stops at
    its next report) and Cancel is enabled."""

    def page_job(
        set_progress: Callable[[Progress], None], request: object, data: object
    ) -> dict[str, Any]:
        return run(with_checkpoints(set_progress), request, data, services=services)

    app.callback(
        Output(ids.done, "data"),
        Input(ids.job, "data"),
        State(SESSION, "data"),
        background=True,
        manager=app_jobs(app.server, services),
        progress=[
            Output(ids.bar, "value"),
            Output(ids.bar, "label"),
            Output(ids.text, "children"),
        ],
        progress_default=[0, "", "Starting…"],
        running=[
            (Output(ids.wrap, "style"), {"display": "block"}, {"display": "none"}),
            (Output(ids.cancel, "disabled"), False, True),
        ],
        cancel=[Input(ids.cancel, "n_clicks")],
        interval=250,  # ms between polls: a finished job shows up within a quarter second
        prevent_initial_call=True,
    )(page_job)


__all__ = [
    "DONE",
    "JOBS_EXTENSION",
    "JobIds",
    "JobRun",
    "Progress",
    "app_jobs",
    "job_error",
    "job_lost",
    "job_owner",
    "progress_card",
    "queue_progress",
    "register_job",
    "step_progress",
]
