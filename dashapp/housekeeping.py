"""Pruning of the shared cache folder while the app runs, not only at start-up.

Sessions, uploads and segment names unused for two weeks are forgotten, and files nothing refers
to any more (orphaned upload bytes, interrupted writes) are deleted: at start-up, then at most
every ``interval_seconds`` in each worker process, on a background thread started by a request,
so no request waits for it. Several workers pruning at once is harmless (each deletion is one
``unlink`` of a file that is no longer needed; a file already gone is skipped).
"""

from __future__ import annotations

import logging
import threading
import time

from dashapp.services import AppServices
from dashapp.shared.modeling import name_store

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 15 * 60.0


class Housekeeping:
    """The cache folder's pruning for one app (its state: when the next run is due)."""

    def __init__(self, services: AppServices, *, interval_seconds: float = INTERVAL_SECONDS):
        self.services = services
        self.interval_seconds = interval_seconds
        self._lock = threading.Lock()
        self._due = time.monotonic() + interval_seconds

    def run(self) -> dict[str, int]:
        """Prune now; returns how many sessions, upload files and name records went."""
        services = self.services
        removed = {
            "sessions": services.registry.prune(),
            "uploads": services.uploads.prune(),
            "names": name_store(services).prune(),
        }
        if any(removed.values()):
            log.info("pruned unused %s", ", ".join(f"{n} {what}" for what, n in removed.items()))
        return removed

    def maybe_run(self) -> None:
        """Start a run on a background thread if one is due and none is running (cheap when
        not due: a ``before_request`` hook)."""
        if time.monotonic() < self._due or not self._lock.acquire(blocking=False):
            return
        self._due = time.monotonic() + self.interval_seconds
        threading.Thread(target=self._run_locked, name="custseg-housekeeping", daemon=True).start()

    def _run_locked(self) -> None:
        try:
            self.run()
        except OSError as exc:  # a folder vanished or is unreadable: try again next time
            log.warning("pruning the cache folder failed: %s", exc)
        finally:
            self._lock.release()
