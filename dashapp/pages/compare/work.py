"""When the Compare page's work runs in the request and when as a background job; the job.

No Dash here. The tree and K-means with k are fitted once and cached (:mod:`.view`); what is
not cached yet runs during the request only when its estimated cost
(:func:`.view.pending_seconds`, from :mod:`dashapp.shared.fit_cost`) is at most the app's
threshold (:func:`dashapp.shared.modeling.background_threshold`), as on the Model page;
dearer work goes to the app's job queue (:mod:`dashapp.shared.jobs`). Once a job finished for
the view on screen, the page computes what it still misses during the request whatever the
cost, so a result the cache could not keep never makes a loop of jobs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from core import wording
from core.clustering.config import K_MAX, K_MIN
from core.errors import ConfigError, CustsegError
from core.pipeline import CustomerTable
from dashapp.pages.compare.view import (
    VIEW,
    CompareSettings,
    compare_settings,
    kmeans_fit,
    pending_seconds,
    stored_k,
    tree_fit,
    view_key,
)
from dashapp.services import AppServices
from dashapp.shared.jobs import DONE, Progress, step_progress
from dashapp.shared.loading import session_table
from dashapp.shared.viewkit import InputRejectedError, checked_int
from dashapp.state import SessionState

log = logging.getLogger(__name__)

STEPS: tuple[str, ...] = (
    "Loading the customer table",
    "Building the hierarchical tree",
    "Fitting K-means",
)


def likely_k(state: SessionState, settings: CompareSettings) -> int:
    """The k the page will show before the tree tells its range (for the cost estimate): the
    session's k on this page, else the model's, within K_MIN..K_MAX."""
    for candidate in (state.view_settings(VIEW).get("k"), settings.model.k):
        try:
            return checked_int(candidate, low=K_MIN, high=K_MAX, name="k")
        except InputRejectedError:
            continue
    return K_MIN


@dataclass(frozen=True)
class CompareRequest:
    """Work for a background job: the data's identity and k (None: the page's stored k once
    the tree is built), no data."""

    view: str
    k: int | None
    customers: int

    def to_json(self) -> dict[str, Any]:
        """What the job store holds (and the job receives)."""
        return {"view": self.view, "k": self.k}

    @property
    def status(self) -> str:
        """The status line while the job waits or runs."""
        what = "the hierarchical tree" if self.k is None else f"K-means with k = {self.k}"
        return f"Computing {what} on {wording.count(self.customers, 'customer')} in the background…"


def finished_for(done: object, key: str, k: int | None = None) -> bool:
    """Whether a finished job (``done``) computed this view (and this k, when given)."""
    if not isinstance(done, Mapping) or "error" in done or done.get("key") != key:
        return False
    return k is None or done.get("k") == k


def compare_request(
    state: SessionState,
    services: AppServices,
    table: CustomerTable,
    *,
    k: int | None,
    min_seconds: float,
) -> CompareRequest | None:
    """A job request when the uncached tree and K-means at ``k`` (None: the likely k) are
    estimated to cost more than ``min_seconds`` CPU-seconds; None: compute in the request."""
    settings = compare_settings(state)
    cost_k = likely_k(state, settings) if k is None else k
    if pending_seconds(table, settings, cost_k, services.cache) <= min_seconds:
        return None
    customers = table.n_customers - table.n_excluded
    return CompareRequest(view_key(state, settings), k, customers)


def request_k(request: Mapping[str, object]) -> int | None:
    """The k of a job request from the browser (None: the stored k); refused when invalid."""
    k = request.get("k")
    return None if k is None else checked_int(k, low=K_MIN, high=K_MAX, name="k")


def run_job(
    state: SessionState,
    services: AppServices,
    k: int | None,
    set_progress: Callable[[Progress], None],
) -> dict[str, Any]:
    """The tree and K-means at ``k`` through the app's cache, reporting progress before each
    step (a cancelled job stops there). Returns the view's key and k, or the error to show."""
    settings = compare_settings(state)

    def step(index: int, label: str) -> None:
        set_progress(step_progress(index, len(STEPS), label))

    try:
        step(0, STEPS[0])
        table = session_table(state, services)
        step(1, STEPS[1])
        tree = tree_fit(table, settings, services.cache)
        k = stored_k(state, tree, settings) if k is None else k
        if k > tree.k_max:
            raise ConfigError(
                f"k = {k} is out of range for this data ({K_MIN}..{tree.k_max})",
                hint=f"Choose k between {K_MIN} and {tree.k_max}.",
            )
        step(2, f"{STEPS[2]} with k = {k}")
        kmeans_fit(table, settings, k, services)
    except CustsegError as exc:
        log.info("compare job stopped: %s", exc.message)
        return {"error": exc.message, "hint": exc.hint}
    set_progress(DONE)
    return {"key": view_key(state, settings), "k": k}


__all__ = [
    "STEPS",
    "CompareRequest",
    "compare_request",
    "finished_for",
    "likely_k",
    "request_k",
    "run_job",
]
