"""WSGI entry point for gunicorn (``custseg serve --workers N`` runs the same server), e.g.::

    CUSTSEG_SECRET_KEY=... CUSTSEG_CACHE_DIR=/var/cache/custseg \\
        gunicorn --workers 2 --threads 4 --worker-class dashapp.production.WaitressWorker \\
        dashapp.wsgi:server

Several workers must share ``CUSTSEG_SECRET_KEY`` (session tokens: refused without it) and
``CUSTSEG_CACHE_DIR`` (uploads, session records, cached results). Sign-in is required with
the users file ``CUSTSEG_USERS_FILE`` (default: ``users`` in the cache folder) unless
``CUSTSEG_NO_SIGN_IN=1``. Threads let a long load in
one session leave other sessions responsive; the waitress worker keeps slow clients from
holding them (:mod:`dashapp.production`).
"""

from __future__ import annotations

from dashapp.app import create_app, warm_up
from dashapp.auth import wsgi_users_file
from dashapp.sessions import require_secret_key

require_secret_key("the WSGI entry point dashapp.wsgi:server")
_app = create_app(users_file=wsgi_users_file())
warm_up(_app)
server = _app.server
