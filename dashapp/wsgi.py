"""WSGI entry point for gunicorn (``custseg serve --workers N`` runs the same server), e.g.::

    CUSTSEG_SECRET_KEY=... CUSTSEG_CACHE_DIR=/var/cache/custseg \\
        gunicorn --workers 2 --threads 4 --worker-class dashapp.production.WaitressWorker \\
        dashapp.wsgi:server

Several workers must share ``CUSTSEG_SECRET_KEY`` (session tokens: refused without it) and
``CUSTSEG_CACHE_DIR`` (uploads, session records, cached results). Threads let a long load in
one session leave other sessions responsive; the waitress worker keeps slow clients from
holding them (:mod:`dashapp.production`).
"""

from __future__ import annotations

from dashapp.app import create_app, warm_up
from dashapp.sessions import require_secret_key

require_secret_key("the WSGI entry point dashapp.wsgi:server")
_app = create_app()
warm_up(_app)
server = _app.server
