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

Fair use of the CPU: a process runs at most :data:`MAX_JOBS` jobs at once; later ones wait in
its queue (at most :data:`MAX_WAITING`, beyond which a job is refused with a message), and each
waiting job's progress says how many fits are ahead of it (written again whenever the queue
moves). A session has at most one fit queued or running in the whole deployment (the folder
says which): another one from the same session is refused with a message while the first is
active (cancelling it, as changing a setting does, frees the session at once).
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import json
import logging
import os
import sqlite3
import threading
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
# Jobs one process keeps waiting for a thread; more are refused (the server is overloaded).
MAX_WAITING = 16
# Job threads run at this nice value (Linux sets it per thread): the request threads of the
# same process, and other processes' requests, get the CPU first while fits run.
JOB_NICENESS = 10
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


# What a job refused because its session already has one fit queued or running answers.
SESSION_BUSY: dict[str, Any] = {
    "error": "Another fit of your session is already queued or running (in another tab or "
    "window, or asked for just before).",
    "hint": "wait for it to finish, or cancel it there, then press Retry",
    "retry": True,
}
# What a job refused because the queue of this server process is full answers.
QUEUE_FULL: dict[str, Any] = {
    "error": "The server is busy: too many fits are waiting for their turn.",
    "hint": "press Retry in a minute or two; cached results of other settings still open at once",
    "retry": True,
}

# Text of a waiting job's progress from (fits ahead of it, fits running): the page's shape.
Announce = Callable[[int, int], Any]


class JobCancelledError(Exception):
    """Raised inside a job at a checkpoint once its cancellation was requested."""


_CURRENT: contextvars.ContextVar[tuple[ThreadJobManager, str] | None] = contextvars.ContextVar(
    "custseg_job", default=None
)


def _marker(job: str) -> str:
    return f"custseg-job-running:{job}"


def _cancel(job: str) -> str:
    return f"custseg-job-cancel:{job}"


def _session(owner: str) -> str:
    return f"custseg-session-job:{owner}"


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

    def __init__(
        self,
        cache: diskcache.Cache,
        *,
        max_jobs: int = MAX_JOBS,
        max_waiting: int = MAX_WAITING,
        owner_of: Callable[[Any], str | None] | None = None,
        announce: Announce | None = None,
    ) -> None:
        """``owner_of(args)``: the session a job's callback arguments belong to (None: no
        per-session bound); ``announce(ahead, running)``: the progress value a waiting job
        shows."""
        super().__init__(cache)
        self._pool = ThreadPoolExecutor(max_workers=max_jobs, thread_name_prefix="custseg-job")
        self._ids = itertools.count(1)
        self._max_jobs = max_jobs
        self._max_waiting = max_waiting
        self._owner_of = owner_of
        self._announce_fn = announce
        self._lock = threading.Lock()  # guards the queue below and the progress written for it
        self._waiting: list[tuple[str, str]] = []  # (job, result key), in the order they start
        self._running = 0

    def call_job_fn(self, key: str, job_fn: Any, args: Any, context: Any) -> str:
        job = f"{os.getpid()}-{next(self._ids)}"
        owner = self._owner_of(args) if self._owner_of is not None else None
        refusal = self._admit(job, owner)
        if refusal is not None:
            # Answered at once, as the job would answer an error: nothing runs.
            self.handle.set(key, dict(refusal))
            self.handle.set(_marker(job), {"key": key, "done": True}, expire=MARKER_SECONDS)
            return job
        self.handle.set(_marker(job), {"key": key, "done": False}, expire=MARKER_SECONDS)
        with self._lock:
            self._waiting.append((job, key))
            self._announce()
        self._pool.submit(self._run, job, key, job_fn, args, context)
        return job

    def _admit(self, job: str, owner: str | None) -> dict[str, Any] | None:
        """Refusal of a new job (its session has an active one, or the queue is full), or None
        once the job is recorded as its session's active one."""
        with self._lock:
            if len(self._waiting) >= self._max_waiting:
                log.warning("background job refused: %d jobs waiting", len(self._waiting))
                return QUEUE_FULL
        if owner is None:
            return None
        with self.handle.transact():  # one decision at a time across the workers
            active = self.handle.get(_session(owner))
            if isinstance(active, str) and self.active(active):
                log.info("background job refused: session has job %s active", active)
                return SESSION_BUSY
            self.handle.set(_session(owner), job, expire=MARKER_SECONDS)
        return None

    def active(self, job: str) -> bool:
        """Whether ``job`` is queued or running: started, not finished, not cancelled, and its
        process alive."""
        marker = self.handle.get(_marker(job))
        if not isinstance(marker, dict) or marker.get("done") or self.cancelled(job):
            return False
        owner = _owner(job)
        return owner is not None and _alive(owner)

    def _announce(self) -> None:
        """Write each waiting job's place in the queue as its progress (under ``_lock``, so a
        job that starts never has its own progress overwritten by a stale place)."""
        if self._announce_fn is None:
            return
        for ahead, (_job, key) in enumerate(self._waiting):
            value = self._announce_fn(self._running + ahead, self._running)
            self.handle.set(self._make_progress_key(key), value)

    def queue(self) -> tuple[int, int]:
        """(jobs running, jobs waiting) in this process."""
        with self._lock:
            return self._running, len(self._waiting)

    def _run(self, job: str, key: str, job_fn: Any, args: Any, context: Any) -> None:
        _lower_priority()
        with self._lock:
            self._waiting = [entry for entry in self._waiting if entry[0] != job]
            runs = not self.cancelled(job)  # cancelled while it waited: nothing to run
            self._running += runs
            self._announce()
        token = _CURRENT.set((self, job))
        try:
            if runs:
                job_fn(key, self._make_progress_key(key), args, context)
        finally:
            _CURRENT.reset(token)
            with self._lock:
                self._running -= runs
                self._announce()
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
            with self._lock:  # a waiting job leaves the queue now: the others move up
                waiting = len(self._waiting)
                self._waiting = [entry for entry in self._waiting if entry[0] != str(job)]
                if len(self._waiting) != waiting:
                    self._announce()

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


def _lower_priority() -> None:
    """Lower this thread's CPU priority to :data:`JOB_NICENESS` (Linux; elsewhere a no-op).

    Raising a thread's nice value needs no privilege; threads it starts inherit it."""
    with contextlib.suppress(AttributeError, OSError):
        tid = threading.get_native_id()
        current = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, max(current, JOB_NICENESS))


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


def job_manager(cache_dir: Path, **options: Any) -> ThreadJobManager:
    """The background-callback manager of one app; job entries live under ``cache_dir/jobs``
    (JSON only: :class:`JsonDisk`). ``options`` go to :class:`ThreadJobManager`."""
    folder = Path(cache_dir) / "jobs"
    folder.mkdir(parents=True, exist_ok=True)
    return ThreadJobManager(diskcache.Cache(str(folder), disk=JsonDisk), **options)


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
