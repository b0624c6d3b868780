"""``custseg serve``: run the app with the development server (threaded)."""

from __future__ import annotations

import logging
from pathlib import Path

from werkzeug.serving import run_simple

from dashapp.app import create_app, warm_up


def serve(
    *, host: str = "127.0.0.1", port: int = 8050, data: Path | None = None, debug: bool = False
) -> None:
    """Start the app on ``host:port``, on ``data`` or the embedded default data.

    The server is threaded, so a long load in one session does not block the others. For
    several processes use gunicorn (see ``dashapp.wsgi``). The address to open is printed once,
    when the app is ready; Werkzeug's banner and per-request lines are left out (``--debug``
    keeps Dash's own runner with its dev tools and messages).
    """
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = create_app(data_path=data, debug=debug)
    warm_up(app)
    if debug:
        app.run(host=host, port=port, debug=True, dev_tools_hot_reload=False, use_reloader=False)
        return
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    print(f"custseg is ready: open http://{host}:{port}/ in a browser (Ctrl+C to stop)", flush=True)
    run_simple(host, port, app.server, threaded=True)
