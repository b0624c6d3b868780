"""The app's outer edge for errors no callback expected: a visible alert, never a blank page.

Callbacks turn the errors they expect (:class:`core.errors.CustsegError`) into their own alerts.
Anything else that escapes a callback reaches :func:`callback_error`, Dash's app-wide
``on_error`` handler: the traceback goes to the server log under a short reference
(:func:`core.errors.report_unexpected`), the page's shell shows an alert with that reference, and
the callback's outputs are left as they were, so nothing on screen is lost. Requests that fail
outside a callback (a page layout, a malformed request) get :func:`server_error`: the same log
entry and a short answer with the reference instead of Flask's bare 500 page.
"""

from __future__ import annotations

import logging

import flask
from dash import html, set_props
from dash.development.base_component import Component
from werkzeug.exceptions import HTTPException

from core.errors import CustsegError, report_unexpected
from dashapp.shared import components, ids

log = logging.getLogger(__name__)

UNEXPECTED_TITLE = "Something went wrong on the server"


def unexpected_alert(reference: str) -> Component:
    """The alert for a bug: what happened to the page, what to do, and the reference."""
    return components.message_alert(
        [
            html.H6(UNEXPECTED_TITLE, className="alert-heading mb-1"),
            html.P(
                "This action could not be completed because of an error in the app, not in your "
                "data. What was on the page is unchanged.",
                className="mb-1",
            ),
            html.P(
                [
                    "Try again, or reload the page. If it happens again, tell the administrator "
                    "the error reference ",
                    html.Strong(reference, className="error-reference"),
                    ".",
                ],
                className="mb-0",
            ),
        ],
        color="danger",
    )


def _callback_name() -> str:
    """The failing callback as the request names it (its outputs), for the log."""
    body = flask.request.get_json(silent=True) if flask.has_request_context() else None
    output = body.get("output") if isinstance(body, dict) else None
    return f"callback {output[:200]}" if isinstance(output, str) else "a callback"


def callback_error(exc: Exception) -> None:
    """Dash's ``on_error`` handler: show an alert in the shell, keep every output as it was.

    A :class:`CustsegError` that a callback did not catch is still the user's to fix, so its
    message and hint are shown; anything else is logged with its traceback and shown as a
    reference only (exception texts can hold file paths and data).
    """
    if isinstance(exc, CustsegError):
        log.info("%s raised a user error: %s", _callback_name(), exc.message)
        alert = components.error_alert(exc, title="This could not be done")
    else:
        alert = unexpected_alert(report_unexpected(exc, log, _callback_name()))
    set_props(ids.ERROR_NOTICE, {"children": alert})
    # None: Dash sends no update for the callback's own outputs.


def server_error(exc: Exception) -> flask.Response | HTTPException:
    """Flask's handler for an exception outside the callbacks (HTTP errors pass through)."""
    if isinstance(exc, HTTPException):
        return exc
    reference = report_unexpected(exc, log, f"{flask.request.method} {flask.request.path}")
    message = (
        f"{UNEXPECTED_TITLE} (error reference {reference}). Reload the page; if it happens "
        "again, tell the administrator the reference."
    )
    if flask.request.is_json:
        response = flask.jsonify(error=message, reference=reference)
    else:
        response = flask.Response(message, mimetype="text/plain")
    response.status_code = 500
    return response
