"""Security headers on every response, and the callback body limit checked before parsing."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from typing import Any

import flask
import pytest

from dashapp.security import MAX_CALLBACK_VALUES, CallbackBodyLimit
from dashapp.services import AppServices
from dashapp.shared import ids
from dashapp.state import new_state

UPDATE = "/_dash-update-component"


def _inline_scripts(html: str) -> list[str]:
    """Bodies of the page's inline scripts that a browser runs (JSON data blocks excluded)."""
    found = []
    html = re.sub(r"<!--.*?-->", "", html, flags=re.S)  # e.g. the `[if IE]` block
    for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S):
        if "src=" in attrs or "application/json" in attrs:
            continue
        found.append(body)
    return found


def _sha256(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


def test_every_response_carries_the_security_headers(server: flask.Flask) -> None:
    client = server.test_client()
    responses = [
        client.get("/"),
        client.get("/_dash-layout"),
        client.get("/assets/vendor/bootstrap-5.3.8.min.css"),
        client.get("/no-such-file.txt"),
        client.post(UPDATE, data=b"x" * (server.config["MAX_CONTENT_LENGTH"] + 1)),
    ]
    for response in responses:
        headers = response.headers
        csp = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp
        assert "default-src 'self'" in csp
        assert "'unsafe-eval'" not in csp
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert "Server" not in headers
        response.close()


def test_the_policy_allows_exactly_the_pages_inline_scripts(server: flask.Flask) -> None:
    response = server.test_client().get("/")
    csp = response.headers["Content-Security-Policy"]
    script_src = next(d for d in csp.split("; ") if d.startswith("script-src "))
    assert "'unsafe-inline'" not in script_src
    scripts = _inline_scripts(response.get_data(as_text=True))
    assert scripts  # Dash's renderer start-up, at least
    for script in scripts:
        assert _sha256(script) in script_src.split()


def _header_request(state: dict[str, Any]) -> dict[str, Any]:
    """The callback request the browser makes for the data header."""
    return {
        "output": f"{ids.DATA_HEADER}.children",
        "outputs": {"id": ids.DATA_HEADER, "property": "children"},
        "inputs": [{"id": ids.SESSION, "property": "data", "value": state}],
        "changedPropIds": [f"{ids.SESSION}.data"],
    }


def test_callback_with_too_many_json_values_is_refused_before_parsing(
    server: flask.Flask, services: AppServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = new_state(services).to_json()
    client = server.test_client()
    ok = client.post(UPDATE, json=_header_request(state))
    assert ok.status_code == 200, ok.get_data(as_text=True)
    # Within the byte limit (about 2.4 MB here) but a million tiny values: refused unparsed.
    request = _header_request({**state, "views": {"x": [0] * (MAX_CALLBACK_VALUES + 1)}})
    body = json.dumps(request, separators=(",", ":")).encode()
    assert len(body) < server.config["MAX_CONTENT_LENGTH"]
    monkeypatch.setattr(json, "loads", lambda *_a, **_k: pytest.fail("body was parsed"))
    refused = client.post(UPDATE, data=body, content_type="application/json")
    monkeypatch.undo()
    assert refused.status_code == 413
    assert "JSON values" in refused.get_json()["error"]


def test_callback_body_limit_counts_streamed_bytes() -> None:
    seen: list[bytes] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["wsgi.input"].read())
        start_response("200 OK", [])
        return [b"ok"]

    limit = CallbackBodyLimit(app, path=UPDATE, max_bytes=1000, refusal=lambda r: r.encode())
    statuses: list[str] = []

    def call(body: bytes, **environ: Any) -> bytes:
        env = {"REQUEST_METHOD": "POST", "PATH_INFO": UPDATE, "wsgi.input": io.BytesIO(body)}
        return b"".join(limit({**env, **environ}, lambda s, _h: statuses.append(s)))

    # Streamed (chunked: no Content-Length): the bytes read count.
    assert call(b"[1]" * 400, **{"wsgi.input_terminated": True}) == b"bytes"
    assert call(b"[1]" * 300, **{"wsgi.input_terminated": True}) == b"ok"
    assert seen == [b"[1]" * 300]
    # Declared too large: refused before reading anything.
    assert call(b"", CONTENT_LENGTH="1001") == b"bytes"
    assert statuses == ["413 Request Entity Too Large", "200 OK", "413 Request Entity Too Large"]
