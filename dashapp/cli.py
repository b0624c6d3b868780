"""``custseg serve``: run the app with the development server (threaded)."""

from __future__ import annotations

import logging
from pathlib import Path

from dashapp.app import create_app, warm_up

log = logging.getLogger(__name__)


def serve(
    *, host: str = "127.0.0.1", port: int = 8050, data: Path | None = None, debug: bool = False
) -> None:
    """Start the app on ``host:port``, on ``data`` or the embedded default data.

    The server is threaded, so a long load in one session does not block the others. For
    several processes use gunicorn (see ``dashapp.wsgi``).
    """
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = create_app(data_path=data, debug=debug)
    warm_up(app)
    log.info("custseg app on http://%s:%d/ (Ctrl+C to stop)", host, port)
    app.run(host=host, port=port, debug=debug, dev_tools_hot_reload=False, use_reloader=False)
