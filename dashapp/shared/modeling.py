"""The segmentation a session works with: settings, fit, k choice, stability, names. No Dash.

The Model, Segments and Export views share one segmentation per session:

* :class:`ModelSettings` (features, scaling, algorithm, linkage, k, seed) is kept in the session
  state under ``views["model"]``; the selected segment under ``views["segments"]``. Both are
  validated on the server whether they come from the page controls, the browser's store or the
  URL (:func:`parse_settings`, :func:`parse_query`).
* Results come from the clustering service (:mod:`core.clustering.service`), cached by content
  in the app's cache, so the three views (and the background job that warms the cache) compute
  a given segmentation once.
* Segment names are the session's: :class:`NameStore` keeps the last segmentation a session saw
  (its cache key, names and colour indices) in a small JSON file per session under the cache
  folder. A refit within the same dataset carries names and colours over to the segments it
  continues (:func:`core.clustering.result.carry_identity`); an edited name is saved there.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import flask

from core.cache import get_or_compute
from core.clustering import service, workflow
from core.clustering.config import (
    K_MAX,
    ModelConfig,
    PreprocessConfig,
    validate_k,
)
from core.clustering.defaults import (
    DEFAULT_ALGORITHM,
    DEFAULT_FEATURES,
    DEFAULT_K,
    DEFAULT_LINKAGE,
    DEFAULT_SCALER,
    DEFAULT_SEED,
    DEFAULT_STABILITY_REFITS,
)
from core.clustering.products import ProductLines
from core.clustering.result import SegmentationResult, carry_identity, rename
from core.clustering.select_k import KSelection
from core.clustering.stability import StabilityReport
from core.columns import NUMERIC_FEATURES
from core.errors import ConfigError, storage_error
from core.pipeline import CustomerTable
from dashapp.background import checkpoint
from dashapp.services import AppServices
from dashapp.shared import fit_cost
from dashapp.state import SessionState

log = logging.getLogger(__name__)

MODEL_VIEW = "model"  # key of the model settings in SessionState.views
SEGMENTS_VIEW = "segments"  # key of the selected segment in SessionState.views
# Work not cached yet runs during the page request only when its estimated cost
# (:mod:`dashapp.shared.fit_cost`) is at most this many CPU-seconds: anything dearer runs as a
# background job, whatever the number of customers. ``app.server.config`` can override it (0:
# every uncached fit in the background).
BACKGROUND_MIN_SECONDS = 2.0
BACKGROUND_CONFIG_KEY = "CUSTSEG_BACKGROUND_MIN_SECONDS"
STABILITY_REFITS = DEFAULT_STABILITY_REFITS  # refits behind the Model page's stability panel

ALGORITHM_LABELS: dict[str, str] = {
    "kmeans": "K-means",
    "minibatch": "MiniBatch K-means (large data)",
    "hierarchical": "Hierarchical (Ward / complete / average)",
    "gmm": "Gaussian mixture",
    "hdbscan": "HDBSCAN (finds k itself)",
}
SCALER_LABELS: dict[str, str] = {
    "standard": "Standard (z-score)",
    "robust": "Robust (median / IQR)",
    "minmax": "Min-max (0–1)",
}


@dataclass(frozen=True)
class ModelSettings:
    """What the user chose on the Model page (validated; features in canonical order). The
    defaults are core's (:mod:`core.clustering.defaults`), the ones ``custseg segment`` uses."""

    features: tuple[str, ...] = DEFAULT_FEATURES
    scaler: str = DEFAULT_SCALER
    algorithm: str = DEFAULT_ALGORITHM
    linkage: str = DEFAULT_LINKAGE
    k: int = DEFAULT_K  # kept while HDBSCAN is chosen, so switching back restores it
    seed: int = DEFAULT_SEED

    def __post_init__(self) -> None:
        # The core configs hold every rule, so no invalid settings object can exist.
        self.preprocess_config()
        self.model_config()
        validate_k(self.k)  # kept while HDBSCAN is chosen
        canonical = tuple(f for f in NUMERIC_FEATURES if f in self.features)
        if canonical != self.features:
            raise ConfigError(
                f"features must be listed once each in canonical order, got {self.features!r}",
                hint=f"Use parse_features: order {', '.join(NUMERIC_FEATURES)}.",
            )

    @property
    def finds_k(self) -> bool:
        """Whether the algorithm finds the number of segments itself (HDBSCAN)."""
        return self.algorithm == "hdbscan"

    def preprocess_config(self) -> PreprocessConfig:
        """The core preprocessing config (log of skewed features chosen automatically)."""
        return PreprocessConfig(features=self.features, scaler=self.scaler)  # type: ignore[arg-type]

    def model_config(self) -> ModelConfig:
        """The core model config (k None for HDBSCAN)."""
        return ModelConfig(
            algorithm=self.algorithm,  # type: ignore[arg-type]
            k=None if self.finds_k else self.k,
            linkage=self.linkage,  # type: ignore[arg-type]
            random_state=self.seed,
        )

    def to_json(self) -> dict[str, Any]:
        """The settings as stored in the session state."""
        return {
            "features": list(self.features),
            "scaler": self.scaler,
            "algorithm": self.algorithm,
            "linkage": self.linkage,
            "k": self.k,
            "seed": self.seed,
        }

    def to_query(self) -> dict[str, str]:
        """URL query parameters (linkage only for hierarchical, k not for HDBSCAN)."""
        query = {"algorithm": self.algorithm}
        if not self.finds_k:
            query["k"] = str(self.k)
        if self.algorithm == "hierarchical":
            query["linkage"] = self.linkage
        query["features"] = ",".join(self.features)
        query["scaler"] = self.scaler
        query["seed"] = str(self.seed)
        return query

    def describe(self) -> str:
        """One line for people: algorithm, k, features, scaling, seed."""
        algo = ALGORITHM_LABELS[self.algorithm].split(" (")[0]
        if self.algorithm == "hierarchical":
            algo = f"hierarchical ({self.linkage})"
        k = "k found by the model" if self.finds_k else f"k = {self.k}"
        return (
            f"{algo}, {k}, features {', '.join(self.features)}, {self.scaler} scaling, "
            f"seed {self.seed}"
        )


# --- coercion (every rule is core's: the configs validate the values) --------------------------


def _whole(value: object, what: str) -> int:
    """A whole number from a control, the store or a URL (numeric text accepted); the range is
    checked by the core config that receives it."""
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) <= 12:
        number = int(value.strip())
    if number is None:
        raise ConfigError(
            f"{what} must be a whole number, got {str(value)[:40]!r}",
            hint="Type a number such as 4.",
        )
    return number


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(
            f"{what} must be a name, got {str(value)[:40]!r}", hint="Pick it from the list."
        )
    return value


def parse_features(value: object) -> tuple[str, ...]:
    """Feature names from a list, or comma-separated text from a URL: known ones in canonical
    order, then any unknown ones (which the core config refuses, naming them)."""
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",") if part.strip()]
    elif isinstance(value, list | tuple):
        items = [str(item)[:40] for item in value]
    else:
        raise ConfigError(
            f"features must be a list of feature names, got {str(value)[:40]!r}",
            hint=f"Pick features among {', '.join(NUMERIC_FEATURES)}.",
        )
    known = tuple(f for f in NUMERIC_FEATURES if f in items)
    return known + tuple(dict.fromkeys(f for f in items if f not in NUMERIC_FEATURES))


def _checked(values: Mapping[str, object]) -> dict[str, Any]:
    """The keys present in ``values``, coerced to the types of :class:`ModelSettings`."""
    if not isinstance(values, Mapping):
        raise ConfigError("model settings must be an object", hint="Reload the page.")
    checked: dict[str, Any] = {}
    if "features" in values:
        checked["features"] = parse_features(values["features"])
    for key in ("scaler", "algorithm", "linkage"):
        if key in values:
            checked[key] = _text(values[key], key)
    for key in ("k", "seed"):
        if key in values:
            checked[key] = _whole(values[key], key)
    return checked


def parse_settings(values: Mapping[str, object], *, base: ModelSettings) -> ModelSettings:
    """Settings from ``values`` (missing keys keep ``base``); raise ConfigError quoting a bad one.

    Unknown keys are ignored (a stored state from an older version still opens).
    """
    return replace(base, **_checked(values))


def parse_segment(value: object, *, k: int | None = None) -> int | None:
    """A selected segment number (None clears); ``k`` bounds it when known (-1 = noise)."""
    if value is None or value == "":
        return None
    high = K_MAX - 1 if k is None else k - 1
    segment = _whole(value, "segment")
    if not -1 <= segment <= high:
        raise ConfigError(
            f"segment = {segment} is out of range (-1..{high})",
            hint="Pick a segment shown on the page.",
        )
    return segment


def settings_of(state: SessionState) -> ModelSettings:
    """The session's model settings; stored values that do not validate fall back to defaults."""
    stored = state.view_settings(MODEL_VIEW)
    try:
        return parse_settings(stored, base=ModelSettings())
    except ConfigError as exc:
        log.info("stored model settings refused (%s): using defaults", exc.message)
        return ModelSettings()


def with_settings(state: SessionState, settings: ModelSettings) -> SessionState:
    """A copy of ``state`` with ``settings`` stored."""
    return state.with_view_settings(MODEL_VIEW, settings.to_json())


def selected_segment(state: SessionState) -> int | None:
    """The segment the session selected (None for all); invalid stored values read as None."""
    try:
        return parse_segment(state.view_settings(SEGMENTS_VIEW).get("segment"))
    except ConfigError:
        return None


def with_segment(state: SessionState, segment: int | None) -> SessionState:
    """A copy of ``state`` with ``segment`` selected (None: all segments)."""
    return state.with_view_settings(SEGMENTS_VIEW, {"segment": segment})


URL_KEYS: tuple[str, ...] = ("algorithm", "k", "linkage", "features", "scaler", "seed", "segment")


def parse_query(
    query: Mapping[str, object], *, base: ModelSettings
) -> tuple[ModelSettings, int | str | None, list[ConfigError]]:
    """Settings and selected segment from URL query parameters, each checked on its own.

    Returns the settings (valid parameters applied over ``base``), the segment (an int, None for
    "all", or the string ``"keep"`` when the URL does not name one) and the errors of the
    parameters that were refused, so a link with one bad value still opens the rest.
    """
    updated = base
    errors: list[ConfigError] = []
    for key in URL_KEYS[:-1]:
        if key not in query:
            continue
        try:
            updated = parse_settings({key: query[key]}, base=updated)
        except ConfigError as exc:
            errors.append(ConfigError(f"link parameter {key}: {exc.message}", hint=exc.hint))
    segment: int | str | None = "keep"
    if "segment" in query:
        raw = query["segment"]
        if raw in ("", "all"):
            segment = None
        else:
            try:
                segment = parse_segment(raw)
            except ConfigError as exc:
                errors.append(ConfigError(f"link parameter segment: {exc.message}", hint=exc.hint))
    return updated, segment, errors


def query_of(state: SessionState, *, with_segment_key: bool = True) -> dict[str, str]:
    """The URL query parameters describing the session's view."""
    query = settings_of(state).to_query()
    if with_segment_key:
        segment = selected_segment(state)
        if segment is not None:
            query["segment"] = str(segment)
    return query


def search_string(query: Mapping[str, str]) -> str:
    """``?a=1&b=2`` with values URL-encoded (commas in feature lists kept readable)."""
    from urllib.parse import quote  # noqa: PLC0415

    return "?" + "&".join(f"{k}={quote(v, safe=',')}" for k, v in query.items())


# --- segment names kept per session -------------------------------------------------------------


@dataclass(frozen=True)
class NameRecord:
    """The last segmentation a session saw: its dataset, cache key, names and colour indices."""

    dataset: str
    result_key: str
    names: tuple[str, ...]
    colors: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "result_key": self.result_key,
            "names": list(self.names),
            "colors": list(self.colors),
        }


@dataclass(frozen=True)
class NameStore:
    """One JSON file per session under ``directory`` (shared by the workers of a deployment)."""

    directory: Path

    def _path(self, session_id: str) -> Path:
        # Session ids reach here only after the token check; refuse any other shape anyway,
        # since the id becomes a file name.
        if len(session_id) != 32 or not set(session_id) <= set("0123456789abcdef"):
            raise ValueError(f"invalid session id {session_id!r}")
        return self.directory / f"{session_id}.json"

    def get(self, session_id: str) -> NameRecord | None:
        """The session's record, or None (none yet, or unreadable: names start afresh)."""
        path = self._path(session_id)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            record = NameRecord(
                dataset=str(data["dataset"]),
                result_key=str(data["result_key"]),
                names=tuple(str(n) for n in data["names"]),
                colors=tuple(int(c) for c in data["colors"]),
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("segment names of a session unreadable, starting afresh: %s", exc)
            return None
        if len(record.names) != len(record.colors):
            return None
        return record

    def put(self, session_id: str, record: NameRecord) -> None:
        """Write atomically (a reader never sees half a file)."""
        path = self._path(session_id)
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".names-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(record.to_json(), handle)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def prune(self, *, max_age_days: float = 14.0, now: float | None = None) -> int:
        """Delete records unused for ``max_age_days`` (same horizon as the session registry)."""
        import time  # noqa: PLC0415

        if not self.directory.is_dir():
            return 0
        cutoff = (time.time() if now is None else now) - max_age_days * 86400.0
        removed = 0
        for path in self.directory.glob("*.json"):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
        return removed


def cache_dir_of(services: AppServices) -> Path:
    """The app's cache folder (the session registry lives in its ``sessions`` sub-folder)."""
    return services.registry.directory.parent


def name_store(services: AppServices) -> NameStore:
    """The app's store of segment names."""
    return NameStore(cache_dir_of(services) / "segment-names")


def _with_names(result: SegmentationResult, record: NameRecord) -> SegmentationResult | None:
    if len(record.names) != result.k:
        return None
    return replace(result, names=record.names, colors=record.colors)


# --- results -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionModel:
    """A session's table, settings and named segmentation (what every view draws from)."""

    table: CustomerTable = field(repr=False)
    settings: ModelSettings
    result: SegmentationResult = field(repr=False)


def is_fitted(table: CustomerTable, settings: ModelSettings, services: AppServices) -> bool:
    """Whether the segmentation for these settings is already in the app's cache."""
    key = service.segmentation_key(
        table.key, settings.preprocess_config(), settings.model_config(), with_lines=True
    )
    return services.cache.get(key) is not None


def background_threshold() -> float:
    """Estimated CPU-seconds above which uncached work runs as a background job (app config
    override)."""
    value = flask.current_app.config.get(BACKGROUND_CONFIG_KEY, BACKGROUND_MIN_SECONDS)
    return float(value)


def pending_stages(
    table: CustomerTable, settings: ModelSettings, services: AppServices, *, whole: bool
) -> tuple[str, ...]:
    """The stages of :data:`fit_cost.STAGES` not cached yet for ``settings``: the Model page's
    whole workflow (``whole``), or only the fit the Segments and Export pages show."""
    if not whole:
        return () if is_fitted(table, settings, services) else ("fit",)
    return workflow.pending_stages(
        table.features,
        workflow_config(settings),
        data_key=table.key,
        cache=services.cache,
        with_lines=True,
    )


def pending_seconds(
    table: CustomerTable, settings: ModelSettings, services: AppServices, *, whole: bool
) -> float:
    """Estimated CPU-seconds of the work these settings still need (0 when all is cached)."""
    stages = pending_stages(table, settings, services, whole=whole)
    if not stages:
        return 0.0
    return fit_cost.estimate_seconds(
        stages,
        customers=table.n_customers - table.n_excluded,
        algorithm=settings.algorithm,
        linkage=settings.linkage,
        k=settings.k,
        refits=STABILITY_REFITS,
    )


def needs_background(
    table: CustomerTable,
    settings: ModelSettings,
    services: AppServices,
    *,
    min_seconds: float = BACKGROUND_MIN_SECONDS,
    whole: bool = False,
) -> bool:
    """Whether the work these settings still need should run as a background job: some of
    it is not cached and its estimated cost is above ``min_seconds`` CPU-seconds."""
    return pending_seconds(table, settings, services, whole=whole) > min_seconds


def _named(
    result: SegmentationResult, services: AppServices, state: SessionState
) -> SegmentationResult:
    """``result`` with the session's segment names: kept for the same fit, carried over from
    the session's previous fit on the same dataset, and saved for the next one."""
    store = name_store(services)
    record = store.get(state.session_id)
    if record is not None and record.dataset == state.dataset:
        if record.result_key == result.key:
            named = _with_names(result, record)
            if named is not None:
                return named
        else:
            previous = services.cache.get(record.result_key)
            if isinstance(previous, SegmentationResult) and previous.key == record.result_key:
                named_previous = _with_names(previous, record)
                if named_previous is not None:
                    try:
                        result = carry_identity(result, named_previous)
                    except ConfigError as exc:
                        log.info("segment names not carried over: %s", exc.message)
    try:
        store.put(
            state.session_id,
            NameRecord(state.dataset, result.key, tuple(result.names), tuple(result.colors)),
        )
    except OSError as exc:
        # A full disk costs the names' memory across fits, not the result on screen.
        log.warning("segment names of a session not saved: %s", exc)
    return result


def workflow_config(settings: ModelSettings) -> workflow.WorkflowConfig:
    """The segment workflow the Model page runs for ``settings``: every k scored, the chosen k
    fitted, stability rated with :data:`STABILITY_REFITS` refits."""
    return workflow.WorkflowConfig(
        preprocess=settings.preprocess_config(),
        model=settings.model_config(),
        sweep="always",
        stability_refits=STABILITY_REFITS,
    )


def product_lines(table: CustomerTable, services: AppServices) -> ProductLines | None:
    """The table's lines for the segments' top products, encoded at most once per process
    (on the first fit that needs them: a cached fit needs none).

    A table the engine computed in this process holds them as codes
    (``CustomerTable.product_codes``); one read from the disk cache reads them back."""
    if table.product_codes is not None:
        return table.product_codes
    key = table.key
    lines = services.product_lines.get(key)
    if lines is None:
        frame = table.product_line_query()  # encoding reads back only the columns it needs
        if frame is None:
            return None
        # One ProductLines per table however many requests ask at once (each encodes once).
        lines = get_or_compute(services.product_lines, key, lambda: ProductLines(frame))
    return lines  # type: ignore[no-any-return]


def prefetch_product_lines(table: CustomerTable, services: AppServices) -> None:
    """Encode the table's lines for the top products on a background thread once some page
    loads the table (:func:`dashapp.shared.loading.data_view`), so that the first fit does
    not wait for all of it. A fit arriving earlier waits for the encoding in progress
    instead of starting a second one; later calls start nothing."""
    lines = product_lines(table, services)
    if lines is not None:
        lines.encode_in_background()


def fit(
    table: CustomerTable,
    settings: ModelSettings,
    services: AppServices,
    state: SessionState,
    *,
    early: workflow.EarlyStability | None = None,
) -> SegmentationResult:
    """The session's named segmentation for ``settings`` (cached fit, names carried over);
    ``early`` starts its stability refits as soon as it is fitted (before its profiles).

    Raises
    ------
    ConfigError, DataSufficiencyError
        The settings do not work on this data (e.g. more segments than distinct customers).
    """
    result = service.segment_customers(
        table.features,
        preprocess=settings.preprocess_config(),
        model=settings.model_config(),
        data_key=table.key,
        cache=services.cache,
        lines=product_lines(table, services),
        fitted=early.fitted if early is not None else None,
    )
    return _named(result, services, state)


def rename_segment(
    model: SessionModel, services: AppServices, state: SessionState, segment: int, name: str
) -> SegmentationResult:
    """Rename ``segment`` (core rules: unique, 1-60 characters) and save the session's names.

    Raises
    ------
    ConfigError
        No such segment, or an empty, too long or duplicate name.
    StorageError
        The name could not be saved (a full disk).
    """
    renamed = rename(model.result, segment, name)
    try:
        name_store(services).put(
            state.session_id,
            NameRecord(state.dataset, renamed.key, tuple(renamed.names), tuple(renamed.colors)),
        )
    except OSError as exc:
        raise storage_error(
            exc,
            "the new name",
            hint="try again later; if it keeps failing, ask the administrator to free disk "
            "space on the server. The segments keep their previous names meanwhile.",
        ) from exc
    return renamed


def k_selection(
    table: CustomerTable, settings: ModelSettings, services: AppServices
) -> KSelection | None:
    """Every criterion over the k axis (the workflow's sweep), or None for HDBSCAN."""
    return workflow.sweep(
        table.features, workflow_config(settings), data_key=table.key, cache=services.cache
    )


def stability_report(
    table: CustomerTable,
    settings: ModelSettings,
    services: AppServices,
    result: SegmentationResult,
    *,
    early: workflow.EarlyStability | None = None,
) -> StabilityReport:
    """Bootstrap stability of the segmentation (the workflow's refits, seeded), cached; the
    refits ``early`` started when it was fitted, if any."""
    report = (
        early.report(result)
        if early is not None
        else workflow.rate_stability(
            table.features,
            workflow_config(settings),
            result,
            data_key=table.key,
            cache=services.cache,
        )
    )
    assert report is not None  # the app's workflow always rates stability
    return report


def early_stability(
    table: CustomerTable, settings: ModelSettings, services: AppServices
) -> workflow.EarlyStability:
    """Stability refits to start as soon as the fit for ``settings`` is fitted (see
    :class:`core.clustering.workflow.EarlyStability`), for :func:`fit` and
    :func:`stability_report`."""
    return workflow.EarlyStability(
        table.features, workflow_config(settings), data_key=table.key, cache=services.cache
    )


STAGES: tuple[str, ...] = (
    "Loading the customer table",
    *workflow.STAGES,
)


def compute_all(
    state: SessionState,
    services: AppServices,
    table_of: Callable[[SessionState, AppServices], CustomerTable],
    *,
    progress: Callable[[int, str], None] | None = None,
) -> SessionModel:
    """Everything the Model page shows: the segment workflow of :mod:`core.clustering.workflow`
    after loading the table, stage by stage (``progress(step, label)`` before each).

    ``table_of`` is :func:`dashapp.shared.loading.session_table` (passed in to keep this module
    free of the loading layer's imports). In a background job (:mod:`dashapp.background`) the
    table is the one this process already holds, and a cancelled job stops before its next
    model fit (:func:`dashapp.background.checkpoint`). Raises the core errors of each stage.
    """
    report = progress or (lambda _step, _label: None)
    report(0, STAGES[0])
    table = table_of(state, services)
    settings = settings_of(state)
    done = workflow.run(
        table.features,
        workflow_config(settings),
        data_key=table.key,
        cache=services.cache,
        lines=product_lines(table, services),
        finish=lambda result: _named(result, services, state),
        progress=lambda stage, label: report(stage + 1, label),
        checkpoint=checkpoint,
    )
    return SessionModel(table=table, settings=settings, result=done.result)


__all__ = [
    "ALGORITHM_LABELS",
    "BACKGROUND_CONFIG_KEY",
    "BACKGROUND_MIN_SECONDS",
    "MODEL_VIEW",
    "SCALER_LABELS",
    "SEGMENTS_VIEW",
    "STAGES",
    "ModelSettings",
    "NameRecord",
    "NameStore",
    "SessionModel",
    "background_threshold",
    "compute_all",
    "early_stability",
    "fit",
    "is_fitted",
    "k_selection",
    "name_store",
    "needs_background",
    "parse_features",
    "parse_query",
    "parse_segment",
    "parse_settings",
    "pending_seconds",
    "pending_stages",
    "prefetch_product_lines",
    "product_lines",
    "query_of",
    "rename_segment",
    "search_string",
    "selected_segment",
    "settings_of",
    "stability_report",
    "with_segment",
    "with_settings",
]
