"""The segment workflow: choose k, fit, name, rate stability. One path for the CLI and the app.

``custseg segment`` and the app's Model page run the same stages through :func:`run`:

1. :func:`sweep`: every k-selection criterion over the k axis (:func:`k_axis`), when the
   algorithm sweeps and the workflow asks for it;
2. the k to fit: the one configured, or the recommended one with ``auto_k``;
3. the fit (:func:`core.clustering.service.segment_customers`), then the caller's ``finish``
   step (the app carries a session's segment names over);
4. :func:`rate_stability`: bootstrap refits against the fit.

Each stage goes through the clustering service and its content-keyed cache, so the app's views
that show one stage later (the choose-k chart, the stability panel) read the same entries.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from typing import Literal

import polars as pl

from core.cache import ResultCache
from core.clustering import service
from core.clustering.config import (
    SWEEP_ALGORITHMS,
    ModelConfig,
    PreprocessConfig,
    SelectKConfig,
    StabilityConfig,
)
from core.clustering.defaults import DEFAULT_STABILITY_REFITS
from core.clustering.fit import Segmentation
from core.clustering.parallel import Checkpoint
from core.clustering.products import ProductLines
from core.clustering.result import SegmentationResult
from core.clustering.select_k import KSelection
from core.clustering.stability import StabilityReport
from core.errors import ConfigError, DataSufficiencyError

# The k axis swept by default: 2..10, extended to a larger configured k.
K_AXIS = range(2, 11)
# With a fixed k the sweep only informs the report; sweep="cheap" runs it up to this size.
CHEAP_SWEEP_MAX_N = 20_000
STABILITY_MAX_REFITS = 200
# k_axis counts distinct customers on this many rows first (see there).
DISTINCT_PROBE_ROWS = 4_096

Sweep = Literal["always", "cheap", "never"]
STAGES: tuple[str, ...] = (
    "Scoring every k (all criteria)",
    "Fitting the segmentation",
    "Checking stability (refits)",
)


@dataclass(frozen=True)
class WorkflowConfig:
    """What to run: preprocessing, model, how k is chosen, the sweep and the stability refits.

    Attributes
    ----------
    preprocess, model:
        The clustering configs (``model.k`` is replaced by the recommended k when ``auto_k``).
    auto_k:
        Fit the k the sweep recommends (sweeping algorithms only; HDBSCAN finds k itself).
    sweep:
        ``"always"``, ``"cheap"`` (only when k is chosen automatically or the customers are
        few enough, :data:`CHEAP_SWEEP_MAX_N`) or ``"never"``.
    stability_refits:
        Bootstrap refits rating stability: 0 skips, else 2..200.
    """

    preprocess: PreprocessConfig = PreprocessConfig()
    model: ModelConfig = ModelConfig()
    auto_k: bool = False
    sweep: Sweep = "always"
    stability_refits: int = DEFAULT_STABILITY_REFITS

    def __post_init__(self) -> None:
        refits = self.stability_refits
        if (
            isinstance(refits, bool)
            or not isinstance(refits, int)
            or not (refits == 0 or 2 <= refits <= STABILITY_MAX_REFITS)
        ):
            raise ConfigError(
                "stability refits must be 0 (skip) or a number of refits "
                f"2..{STABILITY_MAX_REFITS}, got {refits!r}",
                hint="e.g. 10 refits",
            )
        if self.sweep not in ("always", "cheap", "never"):
            raise ConfigError(
                f"sweep must be 'always', 'cheap' or 'never', got {self.sweep!r}",
                hint="Use 'always' to score every k.",
            )
        if self.auto_k and self.model.algorithm not in SWEEP_ALGORITHMS:
            raise ConfigError(
                f"k cannot be chosen automatically for {self.model.algorithm!r}",
                hint="HDBSCAN finds the number of segments itself: do not ask for auto k.",
            )
        if self.auto_k and self.sweep == "never":
            raise ConfigError(
                "choosing k automatically needs the k sweep", hint="Use sweep='always'."
            )

    @property
    def sweeps(self) -> bool:
        """Whether the algorithm can be swept over k (all but HDBSCAN)."""
        return self.model.algorithm in SWEEP_ALGORITHMS


@dataclass(frozen=True)
class Segmented:
    """What the workflow produced: the fit, the sweep and stability when run, and why this k."""

    result: SegmentationResult
    selection: KSelection | None
    stability: StabilityReport | None
    k_reason: str


def _included(features: pl.DataFrame) -> pl.DataFrame:
    return features.filter(~pl.col("excluded").fill_null(False))


def distinct_customers(features: pl.DataFrame, config: WorkflowConfig) -> int:
    """Included customers that differ on the chosen features."""
    included = _included(features).select(config.preprocess.features)
    return included.n_unique() if included.height else 0


def k_axis(features: pl.DataFrame, config: WorkflowConfig) -> range | None:
    """The k values to sweep: 2..10 (extended to a larger configured k), at most the distinct
    customers; None when fewer than two values of k remain.

    The distinct customers are counted on the first rows first: when those already differ
    more than the axis needs, the full count (a scan of every customer, on every view of the
    Model, Segments and Export pages) cannot change the axis and is skipped.
    """
    k = 0 if config.auto_k or config.model.k is None else config.model.k
    wanted = max(K_AXIS.stop - 1, k)
    included = _included(features).select(config.preprocess.features)
    probe = included.head(DISTINCT_PROBE_ROWS)
    distinct = probe.n_unique() if probe.height else 0
    if distinct <= wanted and included.height > probe.height:
        distinct = included.n_unique()
    upper = min(wanted, distinct)
    return range(K_AXIS.start, upper + 1) if upper >= K_AXIS.start + 1 else None


def selection_config(config: WorkflowConfig, k_range: range) -> SelectKConfig:
    """The k-selection config of this workflow on ``k_range`` (its cache key too)."""
    return SelectKConfig(
        k_range=tuple(k_range),
        algorithm=config.model.algorithm,  # type: ignore[arg-type]
        random_state=config.model.random_state,
        linkage=config.model.linkage,
    )


def sweep(
    features: pl.DataFrame,
    config: WorkflowConfig,
    *,
    data_key: str,
    cache: ResultCache | None = None,
    checkpoint: Checkpoint | None = None,
) -> KSelection | None:
    """Every criterion over the k axis (cached), or None when the algorithm does not sweep or
    too few distinct customers leave fewer than two values of k."""
    k_range = k_axis(features, config)
    if not config.sweeps or k_range is None:
        return None
    return service.select_k(
        features,
        preprocess=config.preprocess,
        data_key=data_key,
        cache=cache,
        config=selection_config(config, k_range),
        checkpoint=checkpoint,
    )


def stability_config(config: WorkflowConfig) -> StabilityConfig:
    """The stability config of this workflow (its cache key too)."""
    return StabilityConfig(n_boot=config.stability_refits, random_state=config.model.random_state)


def pending_stages(
    features: pl.DataFrame,
    config: WorkflowConfig,
    *,
    data_key: str,
    cache: ResultCache,
    with_lines: bool,
) -> tuple[str, ...]:
    """The stages :func:`run` would compute for ``config`` because ``cache`` does not hold
    their results yet: ``"sweep"``, ``"fit"``, ``"stability"`` (a fixed k only: with
    ``auto_k`` the fitted k is known after the sweep)."""
    pending: list[str] = []
    k_range = k_axis(features, config) if config.sweeps and config.sweep != "never" else None
    if k_range is not None:
        key = service.select_k_key(data_key, config.preprocess, selection_config(config, k_range))
        if cache.get(key) is None:
            pending.append("sweep")
    fit_key = service.segmentation_key(
        data_key, config.preprocess, config.model, with_lines=with_lines
    )
    if cache.get(fit_key) is None:
        pending.append("fit")
    if config.stability_refits:
        key = service.stability_key(
            data_key, config.preprocess, config.model, stability_config(config)
        )
        if cache.get(key) is None:
            pending.append("stability")
    return tuple(pending)


def rate_stability(
    features: pl.DataFrame,
    config: WorkflowConfig,
    result: SegmentationResult | Segmentation,
    *,
    data_key: str,
    cache: ResultCache | None = None,
    checkpoint: Checkpoint | None = None,
) -> StabilityReport | None:
    """Bootstrap stability of ``result`` (or of its segmentation alone, before the profiles
    are built; cached), or None when the workflow skips it."""
    if not config.stability_refits:
        return None
    fit = result.segmentation if isinstance(result, SegmentationResult) else result
    return service.stability(
        features,
        preprocess=config.preprocess,
        model=fit.model_config,
        data_key=data_key,
        cache=cache,
        config=stability_config(config),
        reference=result,
        checkpoint=checkpoint,
    )


def _chosen_k(
    features: pl.DataFrame, config: WorkflowConfig, selection: KSelection | None
) -> tuple[ModelConfig, str]:
    """The model config to fit and a sentence saying where its k comes from."""
    model = config.model
    if not config.sweeps:
        return model, "HDBSCAN found the number of segments itself (density-based)"
    if config.auto_k:
        if selection is None:
            distinct = distinct_customers(features, config)
            raise DataSufficiencyError(
                f"only {distinct} distinct customer(s) on the chosen features: too few to "
                "choose k automatically",
                hint="Give a number of segments (at most the number of distinct customers), "
                "or provide more customers.",
            )
        if selection.recommended_k is None:
            raise DataSufficiencyError(selection.reason, hint="Give the number of segments.")
        return replace(model, k=selection.recommended_k), selection.reason
    reason = f"k = {model.k} chosen"
    if selection is not None and selection.recommended_k is not None:
        reason += f" (the criteria would recommend k = {selection.recommended_k})"
    return model, reason


class EarlyStability:
    """The stability refits of a fit, started on a thread of their own as soon as it is
    fitted: they need only its segmentation, so they run side by side with its profiles and
    names (the caller's context goes with them: a job's Cancel reaches them).

    A context manager: pass :meth:`fitted` to ``service.segment_customers(fitted=...)``, then
    :meth:`report` gives the rating; when the fit came from the cache nothing started, and
    :meth:`report` rates it then. Leaving the block waits for refits still running.
    """

    def __init__(
        self,
        features: pl.DataFrame,
        config: WorkflowConfig,
        *,
        data_key: str,
        cache: ResultCache | None = None,
        checkpoint: Checkpoint | None = None,
    ) -> None:
        self._config = config
        self._rate = partial(
            rate_stability, features, config, data_key=data_key, cache=cache, checkpoint=checkpoint
        )
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="custseg-stability")
        self._rated: Future[StabilityReport | None] | None = None

    def __enter__(self) -> EarlyStability:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._pool.shutdown(wait=True)

    def fitted(self, segmentation: Segmentation) -> None:
        """Start the refits against ``segmentation`` (once; none when the workflow skips
        them)."""
        if self._rated is None and self._config.stability_refits:
            run = partial(contextvars.copy_context().run, self._rate, segmentation)
            self._rated = self._pool.submit(run)

    def report(self, result: SegmentationResult) -> StabilityReport | None:
        """The rating of ``result``: the refits started for its fit, or run now."""
        if self._rated is not None:
            return self._rated.result()
        return self._rate(result)


def _fit_and_rate(
    features: pl.DataFrame,
    config: WorkflowConfig,
    model: ModelConfig,
    *,
    data_key: str,
    cache: ResultCache | None,
    lines: pl.DataFrame | ProductLines | None,
    finish: Callable[[SegmentationResult], SegmentationResult] | None,
    report: Callable[[int, str], None],
    checkpoint: Checkpoint | None,
) -> tuple[SegmentationResult, StabilityReport | None]:
    """The fit of ``model`` (then ``finish``) and its stability rating (stages 2 and 3), the
    refits beside the profiles (:class:`EarlyStability`)."""
    report(1, STAGES[1])
    if checkpoint is not None:
        checkpoint()
    early = EarlyStability(features, config, data_key=data_key, cache=cache, checkpoint=checkpoint)
    with early:
        result = service.segment_customers(
            features,
            preprocess=config.preprocess,
            model=model,
            data_key=data_key,
            cache=cache,
            lines=lines,
            fitted=early.fitted,
        )
        if finish is not None:
            result = finish(result)
        report(2, STAGES[2])
        return result, early.report(result)


def run(
    features: pl.DataFrame,
    config: WorkflowConfig,
    *,
    data_key: str,
    cache: ResultCache | None = None,
    lines: pl.DataFrame | ProductLines | None = None,
    finish: Callable[[SegmentationResult], SegmentationResult] | None = None,
    progress: Callable[[int, str], None] | None = None,
    checkpoint: Checkpoint | None = None,
) -> Segmented:
    """Sweep, fit, finish and rate stability, each stage cached by content.

    ``finish`` turns the fitted result into the one kept (the app names segments with the
    session's names); ``progress(stage, label)`` is called before each stage of
    :data:`STAGES`; ``checkpoint()`` before each model fitted (a background job stops there
    by raising when it is cancelled). Raises the clustering service's ConfigError /
    DataSufficiencyError.

    With a fixed k the fit does not depend on the sweep: the sweep then runs on a thread of
    its own, side by side with the fit and the stability refits (the same results, each
    stage's own; the sweep's error is raised first, as when they ran one after the other).
    """
    report = progress or (lambda _stage, _label: None)
    report(0, STAGES[0])
    wanted = config.sweep != "never" and (
        config.sweep == "always"
        or config.auto_k
        or (config.sweep == "cheap" and _included(features).height <= CHEAP_SWEEP_MAX_N)
    )
    rest = partial(
        _fit_and_rate,
        features,
        config,
        data_key=data_key,
        cache=cache,
        lines=lines,
        finish=finish,
        report=report,
        checkpoint=checkpoint,
    )
    if not wanted:
        model, k_reason = _chosen_k(features, config, None)
        result, stability = rest(model)
        return Segmented(result, None, stability, k_reason)
    run_sweep = partial(sweep, features, config, data_key=data_key, cache=cache)
    if config.auto_k or not config.sweeps:
        selection = run_sweep(checkpoint=checkpoint)
        model, k_reason = _chosen_k(features, config, selection)
        result, stability = rest(model)
        return Segmented(result, selection, stability, k_reason)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="custseg-sweep") as pool:
        # The job's context (its cancel flag) goes with the sweep to its thread.
        swept = pool.submit(contextvars.copy_context().run, run_sweep, checkpoint=checkpoint)
        try:
            result, stability = rest(config.model)
        except BaseException:
            swept.result()  # the sweep's error first, as when it ran before the fit
            raise
        selection = swept.result()
    _, k_reason = _chosen_k(features, config, selection)
    return Segmented(result, selection, stability, k_reason)
