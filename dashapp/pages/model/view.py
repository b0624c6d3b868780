"""What the Model page shows, computed from the session state; no Dash here.

:func:`model_view` fits the session's settings (through the content-keyed cache) and gathers
every panel's data: the segmentation, the choose-k criteria and the stability report, or the
error that stopped each. :func:`fit_request` decides when the fit runs as a background job
instead (large data not cached yet); :func:`run_job` is that job's work, stage by stage.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core import wording
from core.clustering import service
from core.clustering.result import SegmentationResult
from core.clustering.select_k import KSelection
from core.clustering.stability import StabilityReport
from core.errors import CustsegError
from core.pipeline import CustomerTable
from dashapp.services import AppServices
from dashapp.shared.jobs import (
    DONE,
    Progress,
    job_error,
    job_lost,
    job_owner,
    queue_progress,
    step_progress,
)
from dashapp.shared.loading import session_table
from dashapp.shared.modeling import (
    STAGES,
    ModelSettings,
    compute_all,
    early_stability,
    fit,
    k_selection,
    needs_background,
    parse_settings,
    query_of,
    search_string,
    settings_of,
    stability_report,
)
from dashapp.state import SessionState

log = logging.getLogger(__name__)

SETTING_NAMES: tuple[str, ...] = ("features", "scaler", "algorithm", "linkage", "k", "seed")
USE_K_LABEL = "Use the recommended k"
HDBSCAN_K_LABEL = "k found by HDBSCAN"

# --- settings form ------------------------------------------------------------------------------


def control_changes(values: object, control_ids: object) -> dict[str, object] | None:
    """The form's values by setting name, or None when they are not what the form sends
    (wrong shapes, too many values, or an id no control has)."""
    if not isinstance(values, list | tuple) or not isinstance(control_ids, list | tuple):
        return None
    if len(values) != len(control_ids) or len(values) > len(SETTING_NAMES):
        return None
    changes: dict[str, object] = {}
    for control_id, value in zip(control_ids, values, strict=True):
        name = control_id.get("name") if isinstance(control_id, dict) else None
        if name not in SETTING_NAMES:
            return None
        changes[str(name)] = value
    return changes


def with_recommended_k(state: SessionState, services: AppServices) -> ModelSettings | None:
    """The session's settings with k set to the choose-k recommendation (from the cache), or
    None when there is none to apply (no data, HDBSCAN, no k meets the limits, already in use)."""
    settings = settings_of(state)
    try:
        table = session_table(state, services)
        selection = k_selection(table, settings, services)
    except CustsegError as exc:
        log.info("recommended k unavailable: %s", exc.message)
        return None
    if selection is None or selection.recommended_k in (None, settings.k):
        return None
    return parse_settings({"k": selection.recommended_k}, base=settings)


# --- panels -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KPanel:
    """The choose-k panel: HDBSCAN (no k to choose), every criterion, or why they are missing."""

    current_k: int
    finds_k: bool = False
    selection: KSelection | None = field(default=None, repr=False)
    error: CustsegError | None = None

    @property
    def recommended_k(self) -> int | None:
        return None if self.selection is None else self.selection.recommended_k

    @property
    def button_label(self) -> str:
        """The "use the recommended k" button's text."""
        if self.finds_k:
            return HDBSCAN_K_LABEL
        recommended = self.recommended_k
        return USE_K_LABEL if recommended is None else f"Use k = {recommended}"

    @property
    def button_disabled(self) -> bool:
        """Nothing to apply: no criteria, no recommendation, or it is already in use."""
        if self.selection is None:
            return True
        return self.recommended_k is None or self.recommended_k == self.current_k


@dataclass(frozen=True)
class StabilityPanel:
    """The bootstrap stability report, or the error that stopped it."""

    report: StabilityReport | None = field(default=None, repr=False)
    error: CustsegError | None = None
    names: tuple[str, ...] = ()  # the segments' names, as the charts show them

    @property
    def summary(self) -> str:
        """The report's summary, naming the segments as the charts do (empty without one)."""
        if self.report is None:
            return ""
        return self.report.describe(self.names or None)


@dataclass(frozen=True)
class ModelView:
    """Every panel of the page for the session's settings.

    Either ``data_error`` (the data cannot be used yet), ``fit_error`` (these settings cannot be
    fitted on it) or ``result`` with both panels is set.
    """

    settings: ModelSettings
    search: str  # the query string of the session's view, for links to the Segments page
    table: CustomerTable | None = field(default=None, repr=False)
    result: SegmentationResult | None = field(default=None, repr=False)
    data_error: CustsegError | None = None
    fit_error: CustsegError | None = None
    k_panel: KPanel | None = None
    stability: StabilityPanel | None = None

    @property
    def status(self) -> str:
        """The line next to the page title: the settings fitted and the customers."""
        if self.table is None or self.result is None:
            return ""
        return f"{self.settings.describe()} · {wording.count(self.table.n_customers, 'customer')}"

    @property
    def empty_message(self) -> str:
        """What the charts say when nothing was fitted."""
        if self.data_error is not None:
            return "No data to model yet."
        return "Nothing fitted with these settings."

    @property
    def use_k_label(self) -> str:
        return USE_K_LABEL if self.k_panel is None else self.k_panel.button_label

    @property
    def use_k_disabled(self) -> bool:
        return True if self.k_panel is None else self.k_panel.button_disabled


def k_panel(table: CustomerTable, settings: ModelSettings, services: AppServices) -> KPanel:
    """The choose-k criteria for these settings (cached), or why there are none."""
    if settings.finds_k:
        return KPanel(settings.k, finds_k=True)
    try:
        selection = k_selection(table, settings, services)
    except CustsegError as exc:
        return KPanel(settings.k, error=exc)
    assert selection is not None  # every algorithm but HDBSCAN sweeps k
    return KPanel(settings.k, selection=selection)


def model_view(state: SessionState, services: AppServices) -> ModelView:
    """Fit the session's settings (through the cache) and gather every panel's data."""
    settings = settings_of(state)
    search = search_string(query_of(state))
    try:
        table = session_table(state, services)
    except CustsegError as exc:
        return ModelView(settings, search, data_error=exc)
    # A fit computed now starts its stability refits as soon as it is fitted (beside its
    # profiles); leaving the block waits for them.
    with early_stability(table, settings, services) as early:
        try:
            result = fit(table, settings, services, state, early=early)
        except CustsegError as exc:
            return ModelView(settings, search, table=table, fit_error=exc)
        choose_k = k_panel(table, settings, services)
        try:
            report = stability_report(table, settings, services, result, early=early)
            stability = StabilityPanel(report=report, names=tuple(result.names))
        except CustsegError as exc:
            stability = StabilityPanel(error=exc)
    return ModelView(
        settings, search, table=table, result=result, k_panel=choose_k, stability=stability
    )


# --- background job -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FitRequest:
    """A fit to run as a background job: the settings and the data's identity, no data."""

    settings: ModelSettings
    dataset: str
    table_key: str
    customers: int

    def to_json(self) -> dict[str, Any]:
        """What the job store holds (and the job receives)."""
        return {
            "settings": self.settings.to_json(),
            "dataset": self.dataset,
            "table": self.table_key,
        }

    @property
    def status(self) -> str:
        """The status line while the job runs."""
        return (
            f"Fitting {self.settings.describe()} on {wording.count(self.customers, 'customer')} "
            "in the background…"
        )


def fit_request(
    state: SessionState, services: AppServices, *, min_seconds: float
) -> FitRequest | None:
    """A background fit request when the page's work not cached yet is estimated to cost more
    than ``min_seconds`` CPU-seconds; None when the page can fill its panels during the request
    (or the data cannot be loaded: the panels then explain why)."""
    settings = settings_of(state)
    try:
        table = session_table(state, services)
        background = needs_background(
            table, settings, services, min_seconds=min_seconds, whole=True
        )
    except CustsegError:
        return None
    if not background:
        return None
    return FitRequest(settings, state.dataset, table.key, table.n_customers)


def progress_of(step: int, label: str) -> Progress:
    """The progress bar's values when stage ``step`` (0-based, of :data:`STAGES`) starts."""
    return step_progress(step, len(STAGES), label)


def run_job(
    state: SessionState, services: AppServices, set_progress: Callable[[Progress], None]
) -> dict[str, Any]:
    """Every stage through the shared cache, reporting progress before each.

    Returns the segmentation's cache key, or the error to show (only JSON travels back).
    """

    def progress(step: int, label: str) -> None:
        set_progress(progress_of(step, label))

    try:
        model = compute_all(state, services, session_table, progress=progress)
    except CustsegError as exc:
        return {"error": exc.message, "hint": exc.hint}
    set_progress(DONE)
    return {"key": model.result.key}


def job_is_stale(done: Mapping[str, object], state: SessionState, services: AppServices) -> bool:
    """Whether a finished job fitted other settings than the session's current ones (they
    changed while it ran: a newer job is on its way). False when the data cannot be loaded any
    more: the panels then explain why."""
    settings = settings_of(state)
    try:
        table = session_table(state, services)
    except CustsegError as exc:
        log.info("data gone after a background fit: %s", exc.message)
        return False
    current = service.segmentation_key(
        table.key, settings.preprocess_config(), settings.model_config(), with_lines=True
    )
    return done.get("key") != current


__all__ = [
    "DONE",
    "SETTING_NAMES",
    "FitRequest",
    "KPanel",
    "ModelView",
    "Progress",
    "StabilityPanel",
    "control_changes",
    "fit_request",
    "job_error",
    "job_is_stale",
    "job_lost",
    "job_owner",
    "k_panel",
    "model_view",
    "progress_of",
    "queue_progress",
    "run_job",
    "with_recommended_k",
]
