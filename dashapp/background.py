"""Background jobs for long fits: Dash's ``DiskcacheManager`` with jobs on threads of the server.

A fit needs the session's customer table, which the server process already holds in memory
(hundreds of MB at 100,000 customers). A job in another process had to read it back from the
shared disk folder first, which cost more than the fit itself, and its results came back the
same way. :class:`ThreadJobManager` therefore runs each job on a thread of the process that
received the request, with the app's own services: the job finds the table in memory and leaves
its results there (and in the disk folder, for other workers). The fits release the GIL in
their numeric code, so the server keeps answering while a job runs.

What crosses processes still goes through the diskcache folder, so a deployment with several
workers behaves as before: a job's progress, result, "running" marker (with its process id) and
a cancel request are entries there, whichever worker polls or cancels. A thread cannot be
killed: a cancelled job stops at its next progress report (:meth:`ThreadJobManager.checkpoint`,
raising :class:`JobCancelledError`), which the fit makes before each stage and each model it fits.
"""

from __future__ import annotations

import contextvars
import itertools
import json
import logging
import os
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import diskcache
import flask
from dash import DiskcacheManager
from diskcache.core import MODE_BINARY, MODE_RAW
from plotly.utils import PlotlyJSONEncoder

from dashapp.services import EXTENSION, AppServices

log = logging.getLogger(__name__)

# Jobs one process runs at once; later ones wait for a free thread. A fit already uses both
# cores of a small server (core.clustering.parallel), so more would only share them.
MAX_JOBS = 2
MARKER_SECONDS = 24 * 3600  # a marker left by a killed worker expires after this


# What a job whose process died answers (the shape of a job's own error, see
# dashapp.pages.model.view.run_job): the page shows it with a Retry button.
LOST_JOB: dict[str, Any] = {
    "error": "The fit stopped before it finished: the server process running it ended "
    "(for example when the server ran out of memory or was restarted).",
    "hint": "press Retry to fit again; if it stops again, ask whoever runs the server to "
    "give it more memory, or fit fewer features or a smaller k",
    "lost": True,
}


class JobCancelledError(Exception):
    """Raised inside a job at a checkpoint once its cancellation was requested."""


_CURRENT: contextvars.ContextVar[tuple[ThreadJobManager, str] | None] = contextvars.ContextVar(
    "custseg_job", default=None
)


def _marker(job: str) -> str:
    return f"custseg-job-running:{job}"


def _cancel(job: str) -> str:
    return f"custseg-job-cancel:{job}"


def _owner(job: str) -> int | None:
    pid, _, _ = str(job).partition("-")
    return int(pid) if pid.isdigit() else None


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    return True


class ThreadJobManager(DiskcacheManager):
    """A ``DiskcacheManager`` whose jobs run on a small thread pool of the server process.

    Job ids are ``"<pid>-<n>"``. While a job runs, the folder holds its marker (the result key
    it will write); once it wrote its result the marker says so, and the job counts as running
    until the result is collected, so a poll never mistakes a job that just finished for a
    cancelled one.
    """

    def __init__(self, cache: diskcache.Cache, *, max_jobs: int = MAX_JOBS) -> None:
        super().__init__(cache)
        self._pool = ThreadPoolExecutor(max_workers=max_jobs, thread_name_prefix="custseg-job")
        self._ids = itertools.count(1)

    def call_job_fn(self, key: str, job_fn: Any, args: Any, context: Any) -> str:
        job = f"{os.getpid()}-{next(self._ids)}"
        self.handle.set(_marker(job), {"key": key, "done": False}, expire=MARKER_SECONDS)
        self._pool.submit(self._run, job, key, job_fn, args, context)
        return job

    def _run(self, job: str, key: str, job_fn: Any, args: Any, context: Any) -> None:
        token = _CURRENT.set((self, job))
        try:
            job_fn(key, self._make_progress_key(key), args, context)
        finally:
            _CURRENT.reset(token)
            if self.handle.get(_cancel(job)) is not None:
                # Nobody waits for a cancelled job: drop what it left.
                for entry in (key, self._make_progress_key(key), _marker(job), _cancel(job)):
                    self.handle.delete(entry)
            else:
                self.handle.set(_marker(job), {"key": key, "done": True}, expire=MARKER_SECONDS)

    def job_running(self, job: Any) -> bool:
        marker = self.handle.get(_marker(str(job)))
        if not isinstance(marker, dict):
            return False
        if marker.get("done"):
            return self.result_ready(marker["key"])  # finished, result not collected yet
        owner = _owner(str(job))
        return owner is not None and _alive(owner)

    def terminate_job(self, job: Any) -> None:
        if job is None:
            return
        marker = self.handle.get(_marker(str(job)))
        if isinstance(marker, dict) and not marker.get("done"):
            self.handle.set(_cancel(str(job)), True, expire=MARKER_SECONDS)

    def terminate_unhealthy_job(self, job: Any) -> bool:
        return False  # a thread of a live process is never a zombie

    def get_result(self, key: str, job: Any) -> Any:
        result = super().get_result(key, job)
        if result is not self.UNDEFINED and job is not None:
            self.handle.delete(_marker(str(job)))
        elif result is self.UNDEFINED and job is not None and self.lost(str(job)):
            # Dash would poll a job that cannot finish forever: answer as the job would
            # with an error, once.
            log.warning("background job %s lost: its process %s ended", job, _owner(str(job)))
            self.handle.delete(_marker(str(job)))
            return dict(LOST_JOB)
        return result

    def lost(self, job: str) -> bool:
        """Whether ``job`` was started and not finished by a process that no longer exists."""
        marker = self.handle.get(_marker(job))
        if not isinstance(marker, dict) or marker.get("done"):
            return False
        owner = _owner(job)
        return owner is not None and not _alive(owner)

    def cancelled(self, job: str) -> bool:
        """Whether cancelling ``job`` was requested (by any worker)."""
        return self.handle.get(_cancel(job)) is not None


def checkpoint() -> None:
    """Raise :class:`JobCancelledError` when the job running this code was cancelled (no-op
    outside a job)."""
    current = _CURRENT.get()
    if current is not None and current[0].cancelled(current[1]):
        raise JobCancelledError


class JsonDisk(diskcache.Disk):
    """diskcache storage that holds JSON, never a pickle.

    The jobs folder is shared by the workers (and writable by whoever can write the cache
    folder); diskcache's default storage unpickles what it finds there, which runs any code a
    planted entry carries. Here values are written as JSON (Dash components and figures as
    Plotly's encoder writes them, which is also how they reach the browser) and read back only
    from bytes: an entry of any other kind (a pickle, text, a number) is refused with a warning
    and read as missing. Keys are text (diskcache stores them as they are); a pickled key is
    refused.
    """

    def store(self, value: Any, read: bool, key: Any = diskcache.UNKNOWN) -> Any:
        if read:
            raise ValueError("the jobs folder stores JSON values, not files")
        data = json.dumps(value, cls=PlotlyJSONEncoder).encode("utf-8")
        return super().store(data, False, key=key)

    def fetch(self, mode: int, filename: Any, value: Any, read: bool) -> Any:
        raw_bytes = mode == MODE_RAW and isinstance(value, bytes | sqlite3.Binary)
        if read or not (raw_bytes or mode == MODE_BINARY):
            log.warning("refused a jobs-folder entry that is not JSON (mode %s)", mode)
            return None
        data = super().fetch(mode, filename, value, False)
        try:
            return json.loads(bytes(data))
        except (UnicodeDecodeError, ValueError):
            log.warning("refused a jobs-folder entry that is not JSON")
            return None

    def get(self, key: Any, raw: bool) -> Any:
        if not raw:
            raise ValueError("refused a pickled key in the jobs folder")
        return super().get(key, raw)


def job_manager(cache_dir: Path) -> ThreadJobManager:
    """The background-callback manager of one app; job entries live under ``cache_dir/jobs``
    (JSON only: :class:`JsonDisk`)."""
    folder = Path(cache_dir) / "jobs"
    folder.mkdir(parents=True, exist_ok=True)
    return ThreadJobManager(diskcache.Cache(str(folder), disk=JsonDisk))


def with_checkpoints(report: Callable[..., None]) -> Callable[..., None]:
    """``report`` (a job's progress function) preceded by a :func:`checkpoint`."""

    def checked(*args: Any) -> None:
        checkpoint()
        report(*args)

    return checked


@contextmanager
def worker_context(services: AppServices) -> Iterator[flask.Flask]:
    """A minimal Flask app context in which ``get_services()`` returns ``services`` (a job's
    thread has no request context of its own)."""
    server = flask.Flask("custseg-job")
    server.extensions[EXTENSION] = services
    with server.app_context():
        yield server
