"""App factory: ``create_app`` builds one Dash app with its own services (no module state)."""

from __future__ import annotations

import gc
import logging
import math
import os
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

import dash
import dash_bootstrap_components as dbc
import flask
from dash import Dash, Input, Output, dcc, html, no_update
from dash.development.base_component import Component
from werkzeug.exceptions import RequestEntityTooLarge

from core.errors import CustsegError
from dashapp.auth import SIGN_OUT, WARM_UP, SignInThrottle, UsersFile, install_sign_in
from dashapp.errors import callback_error, server_error
from dashapp.housekeeping import Housekeeping
from dashapp.pages import PAGES
from dashapp.security import (
    CallbackBodyLimit,
    SecurityHeaders,
    content_security_policy,
    security_headers,
    too_large_body,
)
from dashapp.services import DEFAULT_DATASET, EXTENSION, AppServices, get_services
from dashapp.sessions import DEFAULT_IDLE_MINUTES, secret_key_from_env
from dashapp.shared import components, ids
from dashapp.shared.loading import session_table
from dashapp.state import StateError, new_state, parse_state

log = logging.getLogger(__name__)

# The repository's top-level assets/ folder, installed as the package custseg_assets (see
# pyproject.toml): found through the package, so an installed app serves it from anywhere.
ASSETS = Path(str(files("custseg_assets")))
CACHE_ENV = "CUSTSEG_CACHE_DIR"
# JSON around the base64 file in an upload request (state, ids, file name).
_REQUEST_SLACK = 1024**2


def default_cache_dir() -> Path:
    """``$CUSTSEG_CACHE_DIR``, else ``~/.cache/custseg`` (shared by a deployment's workers)."""
    value = os.environ.get(CACHE_ENV, "").strip()
    return Path(value) if value else Path.home() / ".cache" / "custseg"


def max_request_bytes(max_upload_bytes: int) -> int:
    """Largest callback request accepted: a base64-encoded file of the limit plus slack."""
    return 4 * math.ceil(max_upload_bytes / 3) + _REQUEST_SLACK


def shell_layout(services: AppServices, *, sign_out: bool = False) -> Callable[[], Component]:
    """The app layout function: navbar, session store, page container (and a sign-out button
    when sign-in is on).

    Called on each page load. It issues a fresh session token; the session-storage ``dcc.Store``
    keeps the browser tab's earlier value if it has one, so a reload keeps the session.
    """
    sign_out_form = (
        [
            html.Form(
                html.Button("Sign out", id="sign-out", className="btn btn-link btn-sm"),
                action=SIGN_OUT,
                method="POST",
                className="text-end",
            )
        ]
        if sign_out
        else []
    )

    def layout() -> Component:
        return html.Div(
            [
                dcc.Store(
                    id=ids.SESSION, storage_type="session", data=new_state(services).to_json()
                ),
                components.skip_link(),
                components.navbar(dash.page_registry.values()),
                html.Main(
                    dbc.Container(
                        [
                            *sign_out_form,
                            html.Div(id=ids.DATA_HEADER, className="small mb-2 data-header"),
                            html.Div(id=ids.SESSION_NOTICE),
                            html.Div(id=ids.ERROR_NOTICE),
                            dash.page_container,
                        ],
                        fluid=True,
                        className="pb-4",
                    ),
                    id=ids.MAIN,
                    tabIndex="-1",
                ),
            ]
        )

    return layout


def ensure_session(data: object) -> tuple[object, object]:
    """Replace an invalid session state (unknown key, tampered, foreign dataset) with a fresh one.

    Returns the new store data and a notice, or ``no_update`` twice when the state is valid.
    """
    services = get_services()
    try:
        parse_state(data, services)
    except StateError as exc:
        log.info("session state refused (%s): starting a new session", exc)
        notice = components.message_alert(
            "Your session could not be restored (it was unused for too long, the server "
            "restarted or the saved state was invalid), so a new session started on the "
            "built-in sample data.",
            color="warning",
        )
        return new_state(services).to_json(), notice
    return no_update, no_update


def data_header(data: object) -> object:
    """The data every page shows, with its purchase dates and analysis date (empty while the
    data cannot be used: the pages say why)."""
    try:
        state = parse_state(data, get_services())
    except StateError:
        return no_update  # ensure_session replaces the state, which calls this again
    services = get_services()
    try:
        table = session_table(state, services)
    except CustsegError:
        return []
    if state.dataset == DEFAULT_DATASET:
        name = f"{services.default_path.name} ({services.default_badge})"
    else:
        name = state.filename or "uploaded file"
        stored = services.uploads.get(state.dataset, state.session_id)
        if stored is not None and stored.uploaded_by:
            name = f"{name} (uploaded by {stored.uploaded_by})"
    features = table.features
    first = features.get_column("first_purchase").min() if features.height else None
    last = features.get_column("last_purchase").max() if features.height else None
    return components.data_header(name, first, last, table.analysis_date)  # type: ignore[arg-type]


def _register_app_callbacks(app: Dash) -> None:
    app.callback(Output(ids.DATA_HEADER, "children"), Input(ids.SESSION, "data"))(data_header)
    app.callback(
        Output(ids.SESSION, "data", allow_duplicate=True),
        Output(ids.SESSION_NOTICE, "children"),
        Input(ids.SESSION, "data"),
        prevent_initial_call="initial_duplicate",
    )(ensure_session)


def _too_large_texts(max_upload_bytes: int) -> tuple[str, str]:
    limit = f"{max_upload_bytes / 1024**2:,.0f} MB"
    return (
        f"The request is larger than this server accepts (files up to {limit}).",
        f"Upload a file smaller than {limit}: export fewer columns or a shorter period, "
        "or save it as Parquet, which is much smaller than CSV.",
    )


def _too_large(max_upload_bytes: int) -> Callable[[RequestEntityTooLarge], flask.Response]:
    def handler(_error: RequestEntityTooLarge) -> flask.Response:
        error, hint = _too_large_texts(max_upload_bytes)
        response = flask.jsonify(error=error, hint=hint)
        response.status_code = 413
        return response

    return handler


def _callback_refusal(max_upload_bytes: int) -> Callable[[str], bytes]:
    def refusal(reason: str) -> bytes:
        if reason == "bytes":
            return too_large_body(*_too_large_texts(max_upload_bytes))
        return too_large_body(
            "The request holds more JSON values than any page of this app sends.",
            "Reload the page. A script calling the app must send fewer values per request.",
        )

    return refusal


def _require_sign_in(app: Dash, users_file: Path, idle_minutes: float) -> None:
    prefix = app.config.routes_pathname_prefix
    install_sign_in(
        app.server,
        UsersFile(users_file),
        prefix=prefix,
        # Static files only: the app's CSS and scripts and Dash's JavaScript libraries.
        public=(f"{prefix}assets/", f"{prefix}_dash-component-suites/", f"{prefix}_favicon.ico"),
        idle_minutes=idle_minutes,
        # Failed sign-ins counted in the folder the workers share.
        throttle=SignInThrottle(get_services(app.server).registry.directory.parent / "sign-in.db"),
    )


def _harden(app: Dash, max_upload_bytes: int) -> None:
    """Security headers on every response and the callback body limit, as WSGI middleware
    around Flask (the policy hashes the inline scripts Dash renders: its renderer's start-up
    and the clientside callbacks)."""
    server: flask.Flask = app.server  # type: ignore[assignment]
    limited = CallbackBodyLimit(
        server.wsgi_app,
        path=f"{app.config.routes_pathname_prefix}_dash-update-component",
        max_bytes=max_request_bytes(max_upload_bytes),
        refusal=_callback_refusal(max_upload_bytes),
    )

    def headers() -> dict[str, str]:
        return security_headers(content_security_policy(app.csp_hashes()))

    server.wsgi_app = SecurityHeaders(limited, headers)  # type: ignore[method-assign]


def warm_up(app: Dash) -> None:
    """Prepare a server process before its first request (``custseg serve``, the WSGI entries).

    * Dash sets its server up and registers the page router on its first request, on the
      critical path of the first page load. One request through Flask's test client does it
      now.
    * Then everything loaded so far (modules, Dash's registries, Plotly's validators: about
      270,000 objects) goes to the garbage collector's permanent generation
      (:func:`gc.freeze`). A full collection otherwise walks them all, and building figures
      triggers one every few callbacks: a random delay on interactions
      (``bench/bench_app.py``).

    No data is read (safe before a server forks its workers).
    """
    with app.server.test_client() as client:  # type: ignore[attr-defined]
        response = client.get(app.get_relative_path("/"), environ_base={WARM_UP: True})
    if response.status_code != 200:
        log.warning("warm-up request answered HTTP %d", response.status_code)
    gc.collect()
    gc.freeze()


def _configure_server(
    server: flask.Flask,
    services: AppServices,
    secret_key: str,
    housekeeping: Housekeeping,
    max_upload_bytes: int,
) -> None:
    """The Flask server's key, request limit, services, error handlers and housekeeping."""
    server.secret_key = secret_key
    server.config["MAX_CONTENT_LENGTH"] = max_request_bytes(max_upload_bytes)
    server.extensions[EXTENSION] = services
    server.register_error_handler(RequestEntityTooLarge, _too_large(max_upload_bytes))
    server.register_error_handler(Exception, server_error)
    server.before_request(housekeeping.maybe_run)


def _register_pages(app: Dash) -> None:
    """Each page of :data:`PAGES` registered with Dash, and its callbacks attached."""
    for page in PAGES:
        dash.register_page(
            page.__name__,
            path=page.PATH,
            name=page.NAME,
            order=page.ORDER,
            title=getattr(page, "TITLE", f"{page.NAME} · custseg"),
            description=getattr(page, "DESCRIPTION", ""),
            layout=page.layout,
        )
        page.register_callbacks(app)


def create_app(
    *,
    data_path: Path | None = None,
    cache_dir: Path | None = None,
    debug: bool = False,
    max_upload_mb: int = 200,
    session_idle_minutes: float | None = DEFAULT_IDLE_MINUTES,
    users_file: Path | None = None,
) -> Dash:
    """Build the Dash app.

    Parameters
    ----------
    data_path:
        Dataset every session starts on (default: the embedded sample,
        ``core.generator.DEFAULT_DATA``).
    cache_dir:
        Folder for uploads, the session registry and cached results; share it between the
        workers of one deployment (default: :func:`default_cache_dir`).
    debug:
        Dash dev tools and tracebacks in the browser. Off by default: with it on, a failing
        callback sends exception text and file paths to the browser.
    max_upload_mb:
        Largest upload accepted, enforced in the browser and on the server.
    session_idle_minutes:
        A browser session unused for this long expires (None: never); its next request starts
        a new session.
    users_file:
        Require sign-in with the names and password hashes of this file (:mod:`dashapp.auth`);
        None: no sign-in.
    """
    from core.generator import DEFAULT_DATA  # noqa: PLC0415  (heavy numpy import only here)

    if max_upload_mb < 1:
        raise ValueError(f"max_upload_mb must be >= 1, got {max_upload_mb}")
    default_path = Path(data_path) if data_path is not None else DEFAULT_DATA
    # A file of transactions or features, or a directory of Parquet part files (Spark output).
    if not (default_path.is_file() or default_path.is_dir()):
        raise FileNotFoundError(f"default dataset not found: {default_path}")
    secret_key, _from_env = secret_key_from_env()
    max_upload_bytes = max_upload_mb * 1024**2
    services = AppServices.create(
        secret_key=secret_key,
        cache_dir=Path(cache_dir) if cache_dir is not None else default_cache_dir(),
        default_path=default_path,
        max_upload_bytes=max_upload_bytes,
        default_badge="built-in sample" if default_path == DEFAULT_DATA else "server data",
        session_idle_seconds=None if session_idle_minutes is None else session_idle_minutes * 60,
    )
    # Forget sessions, uploads and names unused for two weeks, and files nothing refers to:
    # now, then regularly while the app runs.
    housekeeping = Housekeeping(services)
    housekeeping.run()

    app = Dash(
        __name__,
        use_pages=True,
        pages_folder="",  # pages are registered explicitly below (see dashapp.pages)
        assets_folder=str(ASSETS),
        title="custseg",
        update_title=None,
        serve_locally=True,
        # Callbacks name components of pages not on screen. Without this, Dash sends every
        # page's layout with each page (250 KB of HTML) and dash-renderer checks all callbacks
        # against it on each load; tests/dashapp/test_pages.py makes that check once instead.
        suppress_callback_exceptions=True,
        on_error=callback_error,  # any exception a callback did not expect: an alert, a log entry
    )
    # The page's language, for screen readers and hyphenation (WCAG 3.1.1).
    app.index_string = app.index_string.replace("<html>", f'<html lang="{components.LANGUAGE}">', 1)
    _configure_server(app.server, services, secret_key, housekeeping, max_upload_bytes)
    _register_pages(app)
    app.layout = shell_layout(services, sign_out=users_file is not None)
    _register_app_callbacks(app)
    if users_file is not None:
        _require_sign_in(app, Path(users_file), session_idle_minutes or DEFAULT_IDLE_MINUTES)
    _harden(app, max_upload_bytes)
    if debug:
        # Off unless asked: with dev tools on, a failing callback sends its traceback (exception
        # text, file paths) to the browser. ``app.run(debug=...)`` calls this again, harmlessly.
        app.enable_dev_tools(debug=True, dev_tools_hot_reload=False)
    return app
