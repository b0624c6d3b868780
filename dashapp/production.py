"""The production server: gunicorn processes, each serving HTTP with waitress.

``custseg serve --workers N`` (:func:`serve_production`) and the README's gunicorn command line
both run it. The split of work:

* **gunicorn** (the arbiter) binds the socket, forks N worker processes, restarts one that dies
  (killed by the OOM killer, a crash) and stops them gracefully.
* **waitress** inside each worker (:class:`WaitressWorker`) reads requests in one I/O loop and
  hands a request to one of the worker's threads only once it has arrived completely (a body
  above 512 KB is spooled to a temporary file). A client that sends half a request, or sends it
  slowly, costs a socket, not a thread: gunicorn's own threaded worker gives each connection a
  thread that then waits on the client, so a few slow clients stopped every request.
  A connection silent for :data:`CHANNEL_TIMEOUT` seconds is closed; bodies over the app's
  request limit are refused with 413 by waitress before the app sees them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.workers.base import Worker
from waitress import wasyncore
from waitress.server import BaseWSGIServer, create_server

from dashapp.app import max_request_bytes

CHANNEL_TIMEOUT = 60  # seconds a connection may stay silent (mid-request or idle keep-alive)
CONNECTION_LIMIT = 1000  # open connections per worker before it stops accepting
DEFAULT_MAX_UPLOAD_MB = 200


def waitress_options(*, threads: int, max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB) -> dict[str, Any]:
    """waitress's settings for one worker process."""
    return {
        "threads": threads,
        "channel_timeout": CHANNEL_TIMEOUT,
        "cleanup_interval": 10,
        "connection_limit": CONNECTION_LIMIT,
        "max_request_body_size": max_request_bytes(max_upload_mb * 1024**2),
        "ident": "",  # no Server header (no name or version to look up vulnerabilities by)
        "clear_untrusted_proxy_headers": True,
        "asyncore_use_poll": True,  # select() fails above 1,024 descriptors
    }


class WaitressWorker(Worker):
    """A gunicorn worker that serves its share of the listening socket with waitress.

    Usable on its own: ``gunicorn --worker-class dashapp.production.WaitressWorker``; the
    worker's thread count is gunicorn's ``--threads``.
    """

    def run(self) -> None:
        options = getattr(self.app, "waitress_options", None) or waitress_options(
            threads=self.cfg.threads
        )
        socket_map: dict[int, Any] = {}
        server = create_server(
            self.wsgi, map=socket_map, sockets=[s.sock for s in self.sockets], **options
        )
        # The loop wakes at least every second to tell the arbiter this worker is alive and to
        # notice a stop signal (handle_exit clears self.alive) or a dead arbiter.
        while self.alive and self.ppid == os.getppid():
            self.notify()
            wasyncore.loop(timeout=1.0, map=socket_map, use_poll=True, count=1)
        self._drain(socket_map, time.monotonic() + self.cfg.graceful_timeout)
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=1)
        wasyncore.close_all(socket_map)

    def _drain(self, socket_map: dict[int, Any], deadline: float) -> None:
        """Stop accepting, then keep the I/O loop going until every request already received
        is answered (or ``deadline``): the loop is what sends the threads' responses."""
        for dispatcher in list(socket_map.values()):
            if isinstance(dispatcher, BaseWSGIServer):
                dispatcher.close()
        while time.monotonic() < deadline and any(
            getattr(channel, "requests", None) or getattr(channel, "total_outbufs_len", 0)
            for channel in list(socket_map.values())
        ):
            self.notify()
            wasyncore.loop(timeout=0.5, map=socket_map, use_poll=True, count=1)


class ProductionServer(BaseApplication):  # type: ignore[misc]
    """gunicorn configured in code: the app is built in each worker by ``load``."""

    def __init__(
        self,
        load: Callable[[], Any],
        *,
        bind: str,
        workers: int,
        threads: int,
        on_ready: Callable[[], None],
        max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB,
    ) -> None:
        self._load = load
        self._settings = {
            "bind": bind,
            "workers": workers,
            "threads": threads,
            "worker_class": f"{__name__}.WaitressWorker",
            "timeout": 60,  # a worker silent this long (its I/O loop stuck) is restarted
            "graceful_timeout": 30,
            "post_worker_init": self._post_worker_init,
            "control_socket_disable": True,
        }
        self._on_ready = on_ready
        self.waitress_options = waitress_options(threads=threads, max_upload_mb=max_upload_mb)
        super().__init__()

    def _post_worker_init(self, worker: Worker) -> None:
        if worker.age == 1:  # the first worker is ready: say so once, not per (re)start
            self._on_ready()

    def load_config(self) -> None:
        for name, value in self._settings.items():
            self.cfg.set(name, value)

    def load(self) -> Any:
        return self._load()
