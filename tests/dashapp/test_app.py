"""App factory: configuration, layout, session repair, request limits, lazy WSGI entry."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import dash
import flask
import pytest
import werkzeug.serving
from dash import Dash, no_update

from dashapp.app import create_app, data_header, ensure_session, max_request_bytes, shell_layout
from dashapp.services import DEFAULT_DATASET, AppServices
from dashapp.sessions import SECRET_ENV
from dashapp.shared import ids
from dashapp.shared.loading import session_table
from dashapp.state import new_state, parse_state
from tests.dashapp.helpers import as_json, find_ids, sales_csv, texts, upload

ROOT = Path(__file__).resolve().parents[2]


def test_server_config(app: Dash, server: flask.Flask) -> None:
    assert server.config["MAX_CONTENT_LENGTH"] == max_request_bytes(1024**2)
    # A base64-encoded file of exactly the limit fits; the slack is small.
    assert 4 * (1024**2) // 3 < server.config["MAX_CONTENT_LENGTH"] < 2 * 1024**2 + 4 * 1024**2 // 3
    assert server.secret_key
    assert server.debug is False
    assert app._dev_tools["ui"] is False  # no tracebacks to the browser
    assert app.config.assets_folder == str(ROOT / "assets")


def test_oversized_request_gets_a_clear_413(server: flask.Flask) -> None:
    body = b"x" * (server.config["MAX_CONTENT_LENGTH"] + 1)
    response = server.test_client().post(
        "/_dash-update-component", data=body, content_type="application/json"
    )
    assert response.status_code == 413
    payload = response.get_json()
    assert "up to 1 MB" in payload["error"]
    assert "Parquet" in payload["hint"]


def test_pages_are_registered(app: Dash) -> None:
    pages = {p["name"]: p for p in dash.page_registry.values()}
    assert pages["Data"]["path"] == "/"


def test_index_and_assets_are_served_locally(server: flask.Flask) -> None:
    client = server.test_client()
    index = client.get("/").get_data(as_text=True)
    assert "bootstrap-5.3.8.min.css" in index
    assert "upload_guard.js" in index
    assert "cdn" not in index.lower()
    with client.get("/assets/vendor/bootstrap-5.3.8.min.css") as css:
        assert css.status_code == 200
        assert b"Bootstrap" in css.get_data()


def test_shell_layout_issues_a_fresh_valid_token(services: AppServices) -> None:
    layout = shell_layout(services)
    first, second = as_json(layout()), as_json(layout())
    assert {ids.SESSION, ids.NAVBAR, ids.SESSION_NOTICE} <= set(find_ids(first))
    store = first["props"]["children"][0]["props"]
    assert store["id"] == ids.SESSION
    assert store["storage_type"] == "session"
    state = parse_state(store["data"], services)
    assert state.dataset == DEFAULT_DATASET
    assert second["props"]["children"][0]["props"]["data"]["token"] != store["data"]["token"]
    assert "Data" in texts(first)


@pytest.mark.usefixtures("app_ctx")
def test_ensure_session_keeps_valid_and_replaces_invalid(services: AppServices) -> None:
    valid = new_state(services).to_json()
    assert ensure_session(valid) == (no_update, no_update)
    for bad in (None, {"token": "forged"}, {**valid, "dataset": "a" * 64}):
        data, notice = ensure_session(bad)
        assert parse_state(data, services).dataset == DEFAULT_DATASET
        assert "new session" in texts(as_json(notice))


def test_create_app_refuses_a_missing_default(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.parquet"):
        create_app(data_path=tmp_path / "nope.parquet", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="max_upload_mb"):
        create_app(data_path=tmp_path, cache_dir=tmp_path, max_upload_mb=0)


def test_secret_key_from_environment(
    small_default: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, "shared-by-all-workers")
    first = create_app(data_path=small_default, cache_dir=tmp_path)
    second = create_app(data_path=small_default, cache_dir=tmp_path)
    assert first.server.secret_key == "shared-by-all-workers"
    # Two workers with the same key and cache folder accept each other's sessions.
    state = new_state(first.server.extensions["custseg"])
    assert parse_state(state.to_json(), second.server.extensions["custseg"]) == state


def test_importing_dashapp_builds_nothing_and_server_is_lazy(
    small_default: Path, tmp_path: Path
) -> None:
    code = (
        "import sys, dashapp\n"
        "assert 'dashapp.app' not in sys.modules and 'dash' not in sys.modules\n"
        "import flask\n"
        "server = dashapp.server\n"
        "assert isinstance(server, flask.Flask)\n"
        "assert dashapp.server is server\n"
        "print('ok')\n"
    )
    env = {**os.environ, "CUSTSEG_CACHE_DIR": str(tmp_path), SECRET_ENV: "k"}
    env["CUSTSEG_NO_SIGN_IN"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_serve_runs_a_threaded_server_without_debug(
    small_default: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from dashapp import cli

    calls: list[tuple[tuple[object, ...], dict[str, object]]] = []
    monkeypatch.setattr(
        werkzeug.serving, "run_simple", lambda *args, **kwargs: calls.append((args, kwargs))
    )
    monkeypatch.setattr(Dash, "run", lambda *_a, **_k: pytest.fail("Dash.run is for --debug"))
    monkeypatch.setenv("CUSTSEG_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv(SECRET_ENV, "k" * 64)  # a non-loopback host needs one
    cli.serve(host="0.0.0.0", port=8123, data=small_default, no_sign_in=True)
    ((args, kwargs),) = calls
    host, port, server = args
    handler = kwargs.pop("request_handler")
    assert (host, port, kwargs) == ("0.0.0.0", 8123, {"threaded": True})
    # The Server header names neither Werkzeug's nor Python's version.
    assert handler.version_string(object()) == "custseg"
    services = server.extensions["custseg"]
    assert services.default_path == small_default
    assert services.uploads.directory == tmp_path / "uploads"
    # The address to open is printed once, and only once the app is built and warm.
    assert capsys.readouterr().out.count("http://0.0.0.0:8123/") == 1


def test_serve_debug_adds_dev_tools_and_serves_the_same_way(
    small_default: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dashapp.app
    from dashapp import cli

    calls: list[tuple[tuple[object, ...], dict[str, object]]] = []
    monkeypatch.setattr(
        werkzeug.serving, "run_simple", lambda *args, **kwargs: calls.append((args, kwargs))
    )
    # Dash's own runner prints the address twice more and re-enables dev tools (Flask refuses).
    monkeypatch.setattr(Dash, "run", lambda *_a, **_k: pytest.fail("--debug serves as usual"))
    built: list[bool] = []
    real_create_app = dashapp.app.create_app

    def create_app(**kwargs: object) -> Dash:
        built.append(bool(kwargs.get("debug")))
        return real_create_app(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(dashapp.app, "create_app", create_app)
    monkeypatch.setenv("CUSTSEG_CACHE_DIR", str(tmp_path))
    cli.serve(port=8124, data=small_default, debug=True)
    ((args, kwargs),) = calls
    assert (args[1], kwargs["threaded"]) == (8124, True)
    assert built == [True]


@pytest.mark.usefixtures("app_ctx")
def test_every_page_shows_the_data_its_dates_and_the_analysis_date(
    services: AppServices, small_default: Path
) -> None:
    assert ids.DATA_HEADER in find_ids(as_json(shell_layout(services)()))
    state = new_state(services)
    table = session_table(state, services)
    # From the purchase lines: the first and last purchase day, and the day after the last.
    lines = table.purchases
    first, last = lines["order_date"].min().date(), lines["order_date"].max().date()
    shown = " ".join(texts(as_json(data_header(state.to_json()))).split())
    assert small_default.name in shown
    assert f"purchases {first.isoformat()} to {last.isoformat()}" in shown
    assert f"analysis date {(last + dt.timedelta(days=1)).isoformat()}" in shown
    # An upload: its own name and dates (sales_csv buys in March 2011).
    uploaded = upload(sales_csv(customers=8), "march.csv", state.to_json())
    shown = " ".join(texts(as_json(data_header(uploaded))).split())
    assert "march.csv" in shown
    assert "purchases 2011-03-01 to 2011-03-22" in shown
    assert "analysis date 2011-03-23" in shown
