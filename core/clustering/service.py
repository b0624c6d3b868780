"""The clustering service: simple inputs, an abstract cache, content-keyed results.

Every entry point takes plain values (a feature table, frozen configs, a data key) and an
optional :class:`core.cache.ResultCache`. Results are cached under
``make_key(<what>, data_key, <configs and options>)`` (library versions are folded in by
:func:`core.cache.make_key`), so the CLI, the app and several worker processes sharing a cache
compute a given segmentation once; a hit only builds the key and reads the cache.

``data_key`` must identify everything the result is computed from besides the configs: the
feature table and, when given, the transaction lines (``CustomerTable.key`` does: file content,
column mapping, date format, cleaning and feature configs).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import polars as pl

from core.cache import ResultCache, get_or_compute, make_key
from core.clustering.compare import Comparison, compare_segmentations
from core.clustering.config import (
    ModelConfig,
    PreprocessConfig,
    SelectKConfig,
    StabilityConfig,
    config_from,
)
from core.clustering.fit import Segmentation, fit_segmentation
from core.clustering.parallel import Checkpoint
from core.clustering.products import ProductLines
from core.clustering.result import SegmentationResult, carry_identity
from core.clustering.select_k import KSelection, choose_k
from core.clustering.stability import StabilityReport
from core.clustering.stability import stability as _stability
from core.errors import ConfigError

T = TypeVar("T")


def _cached(
    cache: ResultCache | None, key: str, compute: Callable[[], T], valid: Callable[[object], bool]
) -> T:
    """``get_or_compute`` that also treats a hit of the wrong kind as a miss (identical fits
    asked for at the same time are computed once, on the app's caches)."""
    return get_or_compute(cache, key, compute, valid)


def segmentation_key(
    data_key: str,
    preprocess: PreprocessConfig,
    model: ModelConfig,
    *,
    with_lines: bool,
) -> str:
    """Cache key of a segmentation (see :func:`segment_customers`)."""
    return make_key("segmentation", data_key, preprocess, model, with_lines)


def select_k_key(data_key: str, preprocess: PreprocessConfig, config: SelectKConfig) -> str:
    """Cache key of a k selection (see :func:`select_k`)."""
    return make_key("select_k", data_key, preprocess, config)


def stability_key(
    data_key: str, preprocess: PreprocessConfig, model: ModelConfig, config: StabilityConfig
) -> str:
    """Cache key of a stability report (see :func:`stability`)."""
    return make_key("stability", data_key, preprocess, model, config)


def segment_customers(
    features: pl.DataFrame,
    *,
    preprocess: PreprocessConfig,
    model: ModelConfig,
    data_key: str,
    cache: ResultCache | None = None,
    previous: SegmentationResult | None = None,
    lines: pl.DataFrame | ProductLines | None = None,
    fitted: Callable[[Segmentation], object] | None = None,
) -> SegmentationResult:
    """Fit, profile and name a segmentation of the included customers of ``features``.

    Parameters
    ----------
    features:
        Customer feature table (``core.columns.FEATURE_SCHEMA``).
    preprocess, model:
        Preprocessing and model configs.
    data_key:
        Identity of ``features`` and ``lines`` (e.g. ``CustomerTable.key``).
    cache:
        Where results are looked up and stored; None computes every time.
    previous:
        An earlier result whose segment names and colours carry over to the segments they
        continue (matched after the cache, so one cached fit serves any previous).
    lines:
        Transaction lines for the top products: ``CustomerTable.product_lines`` (purchases
        and returns, so products rank by net revenue), or those lines wrapped in a
        :class:`~core.clustering.products.ProductLines` kept across fits (encoded once).
    fitted:
        Called with the segmentation as soon as it is fitted, before its profiles are built
        (not on a cache hit): work that needs only the fit (the stability refits) can start.

    Raises
    ------
    ConfigError, SchemaError, DataSufficiencyError
        Bad configuration, bad table, too few or identical customers for ``k``.
    """
    key = segmentation_key(data_key, preprocess, model, with_lines=lines is not None)

    def compute() -> SegmentationResult:
        segmentation = fit_segmentation(features, preprocess, model)
        if fitted is not None:
            fitted(segmentation)
        return SegmentationResult.named(
            segmentation, features, data_key=data_key, key=key, lines=lines
        )

    result = _cached(
        cache,
        key,
        compute,
        lambda hit: isinstance(hit, SegmentationResult) and hit.key == key,
    )
    if previous is not None:
        result = carry_identity(result, previous)
    return result


def select_k(
    features: pl.DataFrame,
    *,
    preprocess: PreprocessConfig,
    data_key: str,
    cache: ResultCache | None = None,
    config: SelectKConfig | None = None,
    checkpoint: Checkpoint | None = None,
    **options: Any,
) -> KSelection:
    """Cached :func:`core.clustering.select_k.choose_k`, keyed by the data and the configs.

    ``config`` (or its fields by name in ``options``) is the whole k-selection setting, so
    every option that changes the result is part of the cache key. ``checkpoint`` is called
    before each k is fitted (it cannot change the result).
    """
    config = config_from(SelectKConfig, config, options, caller="select_k")
    key = select_k_key(data_key, preprocess, config)
    return _cached(
        cache,
        key,
        lambda: choose_k(features, preprocess, config, checkpoint=checkpoint),
        lambda hit: isinstance(hit, KSelection),
    )


def stability(
    features: pl.DataFrame,
    *,
    preprocess: PreprocessConfig,
    model: ModelConfig,
    data_key: str,
    cache: ResultCache | None = None,
    config: StabilityConfig | None = None,
    reference: SegmentationResult | Segmentation | None = None,
    checkpoint: Checkpoint | None = None,
    **options: Any,
) -> StabilityReport:
    """Cached :func:`core.clustering.stability.stability` of the segmentation of ``features``.

    ``config`` (or its fields by name in ``options``) holds every stability option, so each is
    part of the cache key.

    ``reference`` (a result of :func:`segment_customers` for the same inputs, or its
    segmentation before the profiles are built) saves the reference fit; otherwise it is
    obtained through :func:`segment_customers` (and its cache). ``checkpoint`` is called before
    each refit (it cannot change the result).
    """
    fit = reference.segmentation if isinstance(reference, SegmentationResult) else reference
    if fit is not None and (
        (isinstance(reference, SegmentationResult) and reference.data_key != data_key)
        or fit.preprocess_config != preprocess
        or fit.model_config != model
    ):
        raise ConfigError(
            "the reference segmentation was fitted on other data or with other settings",
            hint="Pass the result of segment_customers for the same data and configs.",
        )
    config = config_from(StabilityConfig, config, options, caller="stability")
    key = stability_key(data_key, preprocess, model, config)

    def compute() -> StabilityReport:
        ref = fit
        if ref is None:
            ref = segment_customers(
                features, preprocess=preprocess, model=model, data_key=data_key, cache=cache
            ).segmentation
        return _stability(
            features,
            preprocess,
            model,
            n_boot=config.n_boot,
            method=config.method,
            random_state=config.random_state,
            borderline_threshold=config.borderline_threshold,
            bootstrap_max=config.bootstrap_max,
            reference=ref,
            checkpoint=checkpoint,
        )

    return _cached(cache, key, compute, lambda hit: isinstance(hit, StabilityReport))


def compare(
    a: SegmentationResult, b: SegmentationResult, *, cache: ResultCache | None = None
) -> Comparison:
    """Cached :func:`core.clustering.compare.compare_segmentations` of two results."""
    key = make_key("compare", a.key, b.key)
    return _cached(
        cache,
        key,
        lambda: compare_segmentations(a.segmentation, b.segmentation),
        lambda hit: isinstance(hit, Comparison),
    )
