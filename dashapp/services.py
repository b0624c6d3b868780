"""Server-side objects one app instance needs, created by ``create_app`` (no module state).

They hang off the Flask app (``server.extensions["custseg"]``), so callbacks reach them through
``flask.current_app`` and several apps (tests) can live in one process without sharing data.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flask

from core.cache import DiskCache, MemoryBudget, MemoryCache, TieredCache
from core.clustering.parallel import cores
from core.errors import ConfigError
from dashapp.sessions import DEFAULT_IDLE_MINUTES, SessionRegistry, TokenSigner
from dashapp.uploads import UploadQuota, UploadStore, quota_from_env

log = logging.getLogger(__name__)

EXTENSION = "custseg"
CACHE_MEMORY_ENV = "CUSTSEG_CACHE_MEMORY_MB"  # byte budget of one process's memory caches
DEFAULT_DATASET = "default"  # the dataset key every session may use: the startup data


class AppCache(TieredCache):
    """The app's result cache: a failing disk write never fails the user's request.

    The disk tier only lets other workers reuse a result. A failing write (a full disk) is
    logged and the result is still served from memory; so is a value of a kind that has no
    data-only form (:mod:`core.codec`), which the disk tier never writes.
    """

    def put(self, key: str, value: Any) -> None:
        self.memory.put(key, value)
        if self.disk is None:
            return
        try:
            self.disk.put(key, value)
        except OSError as exc:
            log.warning("result %s not written to the shared cache folder: %s", key[:12], exc)


def cache_memory_bytes() -> int:
    """The byte budget of one process's memory caches: ``$CUSTSEG_CACHE_MEMORY_MB``, else an
    eighth of the machine's RAM (so two workers keep at most a quarter in their caches).

    Raises
    ------
    ConfigError
        The variable is set but is not a positive whole number of megabytes.
    """
    value = os.environ.get(CACHE_MEMORY_ENV, "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ConfigError(
                f"{CACHE_MEMORY_ENV}={value!r} is not a number of megabytes.",
                hint=f"set {CACHE_MEMORY_ENV} to e.g. 2000, or unset it",
            )
        return int(value) * 1024**2
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        ram = 8 * 1024**3
    return max(ram // 8, 256 * 1024**2)


@dataclass(frozen=True)
class DatasetSource:
    """Where a dataset's file is and the name the user knows it by."""

    key: str
    path: Path
    filename: str


class RequestSlots:
    """At most ``size`` requests of this process at a time may compute uncached work
    themselves (a fit estimated under the background threshold); a request that finds none
    free sends its work to a background job. Jobs run on their own small pool at a lower
    priority, so fits never hold every request thread while pages that only read cached
    results wait for one (``bench/bench_load.py``: 20 users fitting at once)."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"size must be >= 1, got {size}")
        self.size = size
        self._slots = threading.BoundedSemaphore(size)

    @contextlib.contextmanager
    def slot(self) -> Iterator[bool]:
        """Take a free slot for the block if there is one; yields whether it got one."""
        got = self._slots.acquire(blocking=False)
        try:
            yield got
        finally:
            if got:
                self._slots.release()


def default_request_slots() -> int:
    """Half the process's CPUs, at least one: the other half serves the cached reads."""
    return max(1, cores() // 2)


@dataclass(frozen=True)
class AppServices:
    """Secret-key signer, session registry, upload store and result caches of one app.

    Customer tables (cleaned lines + features: hundreds of MB at 100,000 customers) have their
    own small memory LRU, so the many small per-k models, profiles and view results in
    ``cache`` never push a table out of memory (a reload from disk costs seconds). Both share
    the one disk folder. ``product_lines`` keeps, per table and in this process only, its
    lines encoded for the segments' top products (as large as the lines they encode, so as
    few as the tables).
    """

    signer: TokenSigner
    registry: SessionRegistry
    uploads: UploadStore
    cache: AppCache
    tables: AppCache
    memo: MemoryCache  # per-process only: cheap, unpicklable or path-bound results (previews)
    product_lines: MemoryCache  # per-process only: core.clustering.products.ProductLines
    request_slots: RequestSlots  # per process: requests that may fit uncached work at once
    default_path: Path
    max_upload_bytes: int
    default_badge: str = "built-in sample"  # how the page labels the startup dataset

    @classmethod
    def create(
        cls,
        *,
        secret_key: str,
        cache_dir: Path,
        default_path: Path,
        max_upload_bytes: int,
        default_badge: str = "built-in sample",
        memory_items: int = 64,
        table_items: int = 4,
        disk_bytes: int = 4 * 1024**3,
        session_idle_seconds: float | None = DEFAULT_IDLE_MINUTES * 60,
        upload_quota: UploadQuota | None = None,
        memory_bytes: int | None = None,
        request_slots: int | None = None,
    ) -> AppServices:
        """Build the services over one cache folder (shared by all workers of a deployment).

        Sessions unused for ``session_idle_seconds`` expire (None: never). ``upload_quota``
        defaults to :func:`dashapp.uploads.quota_from_env`. The four memory caches hold at
        most ``memory_bytes`` together (default :func:`cache_memory_bytes`), the least
        recently used entry of any of them going first. ``request_slots``: how many requests
        may fit uncached work themselves at once (:class:`RequestSlots`; default
        :func:`default_request_slots`).
        """
        cache_dir = Path(cache_dir)
        disk = DiskCache(cache_dir / "results", max_bytes=disk_bytes)
        registry = SessionRegistry(cache_dir / "sessions")
        budget = MemoryBudget(memory_bytes if memory_bytes is not None else cache_memory_bytes())
        return cls(
            signer=TokenSigner(secret_key, activity=registry, idle_seconds=session_idle_seconds),
            registry=registry,
            uploads=UploadStore(
                cache_dir / "uploads",
                upload_quota or quota_from_env(cache_dir / "uploads", max_upload_bytes),
            ),
            cache=AppCache(MemoryCache(max_items=memory_items, budget=budget), disk),
            tables=AppCache(MemoryCache(max_items=table_items, budget=budget), disk),
            memo=MemoryCache(max_items=memory_items, budget=budget),
            product_lines=MemoryCache(max_items=table_items, budget=budget),
            default_path=Path(default_path),
            max_upload_bytes=max_upload_bytes,
            default_badge=default_badge,
            request_slots=RequestSlots(
                request_slots if request_slots is not None else default_request_slots()
            ),
        )

    def source(self, key: str, session_id: str) -> DatasetSource | None:
        """The file behind a session's (already authorised) dataset key, under the name that
        session gave it, or None if it is gone."""
        if key == DEFAULT_DATASET:
            return DatasetSource(key=key, path=self.default_path, filename=self.default_path.name)
        stored = self.uploads.get(key, session_id)
        if stored is None:
            return None
        return DatasetSource(key=key, path=stored.path, filename=stored.filename)


def get_services(server: flask.Flask | None = None) -> AppServices:
    """The services of ``server``, or of the Flask app handling the current request."""
    app = server if server is not None else flask.current_app
    return app.extensions[EXTENSION]  # type: ignore[no-any-return]
