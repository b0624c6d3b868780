"""Errors no callback expected: an alert with a reference in the page, the traceback in the log.

Callbacks are made to fail by patching what they call, then posted over HTTP as the browser
does, so the whole path (Dash's ``on_error``, Flask's error handler) is exercised.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import flask
import pytest
from dash import Dash

from core.errors import ConfigError
from dashapp.pages.data import ids as data_ids
from dashapp.shared import ids as app_ids
from dashapp.state import SessionState
from tests.dashapp.helpers import data_url, post_callback, sales_csv, texts

REFERENCE = re.compile(r"\b[0-9a-f]{8}\b")


def _fail(*_args: object, **_kwargs: object) -> Any:
    raise RuntimeError("secret path /srv/custseg/internal broke")


def _notice(payload: dict[str, Any]) -> str:
    """The text of the shell's error notice set by the response."""
    return texts(payload["sideUpdate"][app_ids.ERROR_NOTICE]["children"])


def test_an_unexpected_error_in_a_callback_shows_a_reference_and_keeps_the_outputs(
    app: Dash,
    server: flask.Flask,
    state: SessionState,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr("dashapp.pages.data.callbacks.save_upload", _fail)
    with server.test_client() as client, caplog.at_level(logging.ERROR, "dashapp.errors"):
        status, payload = post_callback(
            client,
            app,
            "upload_file",
            [data_url(sales_csv())],
            ["sales.csv", state.to_json()],
        )
    assert status == 200
    assert payload["response"] == {}  # the session, the upload alert and the file: unchanged
    shown = _notice(payload)
    assert "Something went wrong" in shown
    assert "/srv/custseg" not in shown  # exception texts stay in the log
    (reference,) = REFERENCE.findall(shown)
    (record,) = [r for r in caplog.records if reference in r.getMessage()]
    assert record.exc_info is not None
    assert "secret path" in str(record.exc_info[1])
    assert data_ids.UPLOAD_ALERT in record.getMessage()  # which callback failed


def test_a_user_error_no_callback_caught_shows_its_message_and_hint(
    app: Dash, server: flask.Flask, state: SessionState, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: object, **_kwargs: object) -> Any:
        raise ConfigError("The rule set is not valid.", hint="Pick another rule set.")

    monkeypatch.setattr("dashapp.pages.data.callbacks.data_view", refuse)
    with server.test_client() as client:
        status, payload = post_callback(client, app, "render", [state.to_json()])
    assert status == 200
    assert payload["response"] == {}
    shown = _notice(payload)
    assert "The rule set is not valid." in shown
    assert "Pick another rule set." in shown


def test_an_error_outside_the_callbacks_answers_with_a_reference(
    server: flask.Flask, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("dashapp.app.new_state", _fail)
    with server.test_client() as client, caplog.at_level(logging.ERROR, "dashapp.errors"):
        response = client.get("/_dash-layout")
        missing = client.get("/no-such-file.js")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Something went wrong" in body
    assert "/srv/custseg" not in body
    (reference,) = REFERENCE.findall(body)
    assert any(reference in r.getMessage() and r.exc_info for r in caplog.records)
    assert missing.status_code in {200, 404}  # HTTP errors keep their own answers
