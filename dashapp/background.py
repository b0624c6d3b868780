"""Background jobs for long fits: Dash's ``DiskcacheManager`` with forkserver workers.

Dash's ``DiskcacheManager`` starts each job with ``multiprocess.Process``, which forks the web
server process by default. A forked child inherits Polars' thread pool without its threads, so
the first parallel Polars operation in the job waits forever (checked here: a ``group_by`` in a
forked child of a process that had used Polars never returned). Jobs therefore start from a
*forkserver*: a clean process started once, with the app's modules imported (preloaded) but no
Polars work done, which forks a fresh job far sooner than a spawned process could import the
app.

A forkserver job receives its function and arguments pickled (``multiprocess`` uses ``dill``), so
the job function gets the app's services as a light copy (:func:`worker_services`: same folders
and key, empty in-memory caches) and runs inside a minimal Flask app context
(:func:`worker_context`), where :func:`dashapp.services.get_services` finds them as it does in a
request. Results travel through the shared disk cache; the job returns only keys.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import diskcache
import flask
import multiprocess
from dash import DiskcacheManager

from core.cache import MemoryCache
from dashapp.services import EXTENSION, AppCache, AppServices

# Modules imported once by the forkserver, so jobs start without importing them.
PRELOAD: tuple[str, ...] = ("dashapp.app", "dashapp.shared.modeling", "core.clustering.service")


class ForkserverDiskcacheManager(DiskcacheManager):
    """A ``DiskcacheManager`` whose jobs are forked from a clean, preloaded forkserver."""

    def __init__(self, cache: diskcache.Cache, *, preload: Sequence[str] = PRELOAD) -> None:
        super().__init__(cache)
        self._context = multiprocess.get_context("forkserver")
        # Takes effect when the forkserver starts (at the first job of the process).
        self._context.set_forkserver_preload(list(preload))

    def call_job_fn(self, key: str, job_fn: Any, args: Any, context: Any) -> int:
        process = self._context.Process(
            target=job_fn, args=(key, self._make_progress_key(key), args, context)
        )
        process.start()
        return int(process.pid)


def job_manager(cache_dir: Path) -> ForkserverDiskcacheManager:
    """The background-callback manager of one app; job results live under ``cache_dir/jobs``."""
    folder = Path(cache_dir) / "jobs"
    folder.mkdir(parents=True, exist_ok=True)
    return ForkserverDiskcacheManager(diskcache.Cache(str(folder)), preload=PRELOAD)


def worker_services(services: AppServices) -> AppServices:
    """A copy of ``services`` for a job: same key and folders, empty in-memory caches.

    The in-memory tiers are not copied into the job (they hold customer tables of hundreds of
    MB); the job finds results through the shared disk folder and writes its own there. Every
    cache field is emptied, whatever its name, so a cache added later is not shipped either.
    """
    fresh: dict[str, object] = {}
    for item in fields(services):
        value = getattr(services, item.name)
        if isinstance(value, AppCache):
            fresh[item.name] = AppCache(MemoryCache(max_items=2), value.disk)
        elif isinstance(value, MemoryCache):
            fresh[item.name] = MemoryCache(max_items=4)
    return replace(services, **fresh)  # type: ignore[arg-type]


@contextmanager
def worker_context(services: AppServices) -> Iterator[flask.Flask]:
    """A minimal Flask app context in which ``get_services()`` returns ``services``."""
    server = flask.Flask("custseg-job")
    server.extensions[EXTENSION] = services
    with server.app_context():
        yield server
