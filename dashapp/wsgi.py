"""WSGI entry point: ``gunicorn dashapp.wsgi:server``.

Several workers must share ``CUSTSEG_SECRET_KEY`` (session tokens) and ``CUSTSEG_CACHE_DIR``
(uploads, session records, cached results), e.g.::

    CUSTSEG_SECRET_KEY=... CUSTSEG_CACHE_DIR=/var/cache/custseg \\
        gunicorn --workers 2 --threads 4 dashapp.wsgi:server

Threads let a long load in one session leave other sessions responsive.
"""

from __future__ import annotations

from dashapp.app import create_app, warm_up

_app = create_app()
warm_up(_app)
server = _app.server
