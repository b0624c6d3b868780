"""``custseg serve``: run the app with the development server (threaded).

The command registers itself with ``custseg`` through the ``custseg.commands`` entry point
(``pyproject.toml``), so the core command line never imports the web layer. Dash, Flask and
Werkzeug are imported only when the app starts, so every other command stays light.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from core.errors import ConfigError


def serve(
    *, host: str = "127.0.0.1", port: int = 8050, data: Path | None = None, debug: bool = False
) -> None:
    """Start the app on ``host:port``, on ``data`` or the embedded default data.

    The server is threaded, so a long load in one session does not block the others. For
    several processes use gunicorn (see ``dashapp.wsgi``). The log is plain text whether or not
    it goes to a terminal: the address to open is printed once, when the app is ready, and
    Werkzeug's banner and per-request lines (coloured with ANSI codes) are left out. ``--debug``
    adds Dash's dev tools (enabled by :func:`dashapp.app.create_app`) and serves the same way:
    Dash's own runner would print the address twice more and enable the dev tools again after
    the warm-up request, which Flask refuses.
    """
    from werkzeug.serving import run_simple  # noqa: PLC0415

    from dashapp.app import create_app, warm_up  # noqa: PLC0415

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = create_app(data_path=data, debug=debug)
    warm_up(app)
    print(f"custseg is ready: open http://{host}:{port}/ in a browser (Ctrl+C to stop)", flush=True)
    run_simple(host, port, app.server, threaded=True)


def _cmd_serve(args: argparse.Namespace) -> int:
    data = Path(args.data) if args.data else None
    if data is not None and not data.exists():
        raise ConfigError(f"--data {args.data!r} does not exist", "give the path of a data file")
    serve(host=args.host, port=args.port, data=data, debug=args.debug)
    return 0


def add_command(sub: Any) -> None:
    """Register ``serve`` on the ``custseg`` sub-parsers (the ``custseg.commands`` entry point)."""
    parser = sub.add_parser("serve", help="start the web app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8050)
    parser.add_argument("--data", help="open on this transaction file instead of the default data")
    parser.add_argument("--debug", action="store_true", help="Dash debug mode (development only)")
    parser.set_defaults(func=_cmd_serve)
