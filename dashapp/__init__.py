"""Dash app over the ``core`` library.

``create_app`` (``dashapp.app``) builds an app; ``dashapp.server`` is a WSGI server for
gunicorn (``gunicorn dashapp:server``), built on first access only, so importing the package
(tests, the CLI) builds nothing.
"""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def _wsgi_server() -> Any:
    # One app per process for the WSGI entry point; built lazily on first access.
    from dashapp.app import create_app, warm_up  # noqa: PLC0415
    from dashapp.auth import wsgi_users_file  # noqa: PLC0415
    from dashapp.sessions import require_secret_key  # noqa: PLC0415

    require_secret_key("the WSGI entry point dashapp:server")
    app = create_app(users_file=wsgi_users_file())
    warm_up(app)
    return app.server


def __getattr__(name: str) -> Any:
    if name == "server":
        return _wsgi_server()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
