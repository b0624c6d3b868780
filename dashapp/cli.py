"""``custseg serve``: run the app, on one machine (development server) or for a team
(``--workers N``: gunicorn processes serving with waitress, :mod:`dashapp.production`).

The command registers itself with ``custseg`` through the ``custseg.commands`` entry point
(``pyproject.toml``), so the core command line never imports the web layer. Dash, Flask and
Werkzeug are imported only when the app starts, so every other command stays light.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.errors import ConfigError
from dashapp.auth import USERS_ENV, default_users_file, require_users
from dashapp.sessions import DEFAULT_IDLE_MINUTES, SECRET_ENV, require_secret_key

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}

# Polars' allocator (jemalloc) reads its options from this variable when Polars loads; Polars
# adds them after its own (dirty_decay_ms:500,muzzy_decay_ms:1000), so these win.
ALLOCATOR_ENV = "_RJEM_MALLOC_CONF"
SERVER_ALLOCATOR = "dirty_decay_ms:2000,muzzy_decay_ms:4000"


def server_allocator() -> bool:
    """Let the server's processes keep memory they freed for 2 s (4 s before it is fully
    returned) instead of Polars' 0.5 s (1 s), so a request's later steps reuse it rather than
    fault fresh pages in. A first load of a large file frees and allocates gigabytes in a few
    seconds, and on some machines every fresh page costs a fault in the kernel. The price: a
    higher peak while such a load runs (about a quarter more) and memory held a few seconds
    longer after it (figures: ``bench/README.md``, profile_data_page and bench_app).

    Must run before Polars is imported (True: set). An operator's own setting of the variable
    is left as it is; so is a process that already loaded Polars.
    """
    if "polars" in sys.modules or ALLOCATOR_ENV in os.environ:
        return False
    os.environ[ALLOCATOR_ENV] = SERVER_ALLOCATOR
    return True


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only."""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: may resolve to anything


def check_secret_key(*, host: str, workers: int | None) -> None:
    """Refuse to serve several processes, or on a network, without ``CUSTSEG_SECRET_KEY``."""
    if (workers or 1) > 1:
        require_secret_key(f"serving {workers} worker processes")
    elif not is_loopback(host):
        require_secret_key(f"serving on host {host}")


def sign_in_users(
    *, host: str, workers: int | None, users: Path | None, no_sign_in: bool
) -> Path | None:
    """The users file to require sign-in with, or None (no sign-in).

    Off by default on loopback with the development server; required with ``--workers`` or
    another host unless ``--no-sign-in``, and then the file must name at least one user.
    """
    if no_sign_in:
        return None
    if workers is None and is_loopback(host):
        return users  # only when asked for
    why = "with --workers" if workers is not None else f"when serving on host {host}"
    return require_users(users or default_users_file(), why, "pass --no-sign-in")


def _app_factory(
    *, data: Path | None, debug: bool, session_idle_minutes: float, users: Path | None
) -> Callable[[], Any]:
    def build() -> Any:
        from dashapp.app import create_app, warm_up  # noqa: PLC0415

        app = create_app(
            data_path=data,
            debug=debug,
            session_idle_minutes=session_idle_minutes,
            users_file=users,
        )
        warm_up(app)
        return app

    return build


def _ready_line(host: str, port: int) -> Callable[[], None]:
    def say() -> None:
        from core.sources import redact  # noqa: PLC0415
        from core.workspace.db import database_url  # noqa: PLC0415

        print(
            f"custseg is ready: open http://{host}:{port}/ in a browser (Ctrl+C to stop)",
            flush=True,
        )
        # Where saved segmentations go (CUSTSEG_DATABASE_URL; password never shown).
        print(f"workspace: {redact(database_url())}", flush=True)

    return say


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8050,
    data: Path | None = None,
    debug: bool = False,
    workers: int | None = None,
    threads: int = 4,
    session_idle_minutes: float = DEFAULT_IDLE_MINUTES,
    users: Path | None = None,
    no_sign_in: bool = False,
) -> None:
    """Start the app on ``host:port``, on ``data`` or the embedded default data.

    Without ``workers``: one process, Werkzeug's threaded server (a long load in one session
    does not block the others). With ``workers``: the production server
    (:mod:`dashapp.production`), ``workers`` processes of ``threads`` threads each. The log is
    plain text whether or not it goes to a terminal: the address to open is printed once, when
    the app is ready. ``--debug`` adds Dash's dev tools (enabled by
    :func:`dashapp.app.create_app`) and serves the same way. Sign-in: :func:`sign_in_users`.
    The allocator: :func:`server_allocator` (when Polars is not loaded yet).
    """
    server_allocator()
    check_secret_key(host=host, workers=workers)
    users = sign_in_users(host=host, workers=workers, users=users, no_sign_in=no_sign_in)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if users is None and (workers is not None or not is_loopback(host)):
        logging.getLogger(__name__).warning(
            "sign-in is off (--no-sign-in): anyone who can reach the server sees its data"
        )
    build = _app_factory(
        data=data, debug=debug, session_idle_minutes=session_idle_minutes, users=users
    )
    if workers is not None:
        try:
            from dashapp.production import ProductionServer  # noqa: PLC0415
        except ImportError as exc:  # gunicorn needs fork and fcntl (not on Windows)
            raise ConfigError(
                f"--workers needs gunicorn and waitress, which cannot be imported here ({exc})",
                "install the locked dependencies (bash tools/serve.sh) on Linux or macOS, "
                "or leave out --workers",
            ) from exc

        bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        ProductionServer(
            lambda: build().server,
            bind=bind,
            workers=workers,
            threads=threads,
            on_ready=_ready_line(host, port),
        ).run()
        return
    _serve_development(build, host, port)


def _serve_development(build: Callable[[], Any], host: str, port: int) -> None:
    """Werkzeug's threaded server, without its banner, coloured request lines or version."""
    from werkzeug.serving import WSGIRequestHandler, run_simple  # noqa: PLC0415

    class Handler(WSGIRequestHandler):
        def version_string(self) -> str:
            return "custseg"  # not Werkzeug's and Python's versions

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = build()
    _ready_line(host, port)()
    run_simple(host, port, app.server, threaded=True, request_handler=Handler)


def _cmd_serve(args: argparse.Namespace) -> int:
    server_allocator()  # first: checking a data folder below loads Polars
    data = Path(args.data) if args.data else None
    if data is not None and not data.exists():
        raise ConfigError(f"--data {args.data!r} does not exist", "give the path of a data file")
    if data is not None and data.is_dir():
        from core.feature_source import parquet_parts  # noqa: PLC0415

        if not parquet_parts(data):
            raise ConfigError(
                f"--data {args.data!r} is a directory without Parquet part files",
                "give a data file, or a directory of Parquet part files written by Spark",
            )
    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {args.workers}", "use --workers 2")
    if args.threads < 1:
        raise ConfigError(f"--threads must be >= 1, got {args.threads}", "use --threads 4")
    if args.session_idle_minutes <= 0:
        raise ConfigError(
            f"--session-idle-minutes must be > 0, got {args.session_idle_minutes}",
            f"use the default, {DEFAULT_IDLE_MINUTES:g}",
        )
    serve(
        host=args.host,
        port=args.port,
        data=data,
        debug=args.debug,
        workers=args.workers,
        threads=args.threads,
        session_idle_minutes=args.session_idle_minutes,
        users=Path(args.users) if args.users else None,
        no_sign_in=args.no_sign_in,
    )
    return 0


def add_command(sub: Any) -> None:
    """Register ``serve`` on the ``custseg`` sub-parsers (the ``custseg.commands`` entry point)."""
    parser = sub.add_parser("serve", help="start the web app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8050)
    parser.add_argument(
        "--data",
        help="open on this transaction file, feature table, or directory of Parquet part files "
        "(a feature or segment table written by Spark) instead of the default data",
    )
    parser.add_argument("--debug", action="store_true", help="Dash debug mode (development only)")
    parser.add_argument(
        "--workers",
        type=int,
        help=f"production server: this many processes (gunicorn + waitress); needs {SECRET_ENV}",
    )
    parser.add_argument(
        "--threads", type=int, default=4, help="request threads per worker (with --workers)"
    )
    parser.add_argument(
        "--session-idle-minutes",
        type=float,
        default=DEFAULT_IDLE_MINUTES,
        help="a browser session unused this long expires (default: %(default)g)",
    )
    parser.add_argument(
        "--users",
        help="require sign-in with this users file (custseg users add); the default with "
        f"--workers or another host: ${USERS_ENV}, else 'users' in the cache folder",
    )
    parser.add_argument(
        "--no-sign-in",
        action="store_true",
        help="serve with --workers or on another host without sign-in",
    )
    parser.set_defaults(func=_cmd_serve)
