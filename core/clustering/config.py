"""Clustering configurations and every validation rule, in one place.

Configs are frozen dataclasses (hashable, usable as cache keys). Static checks (a value out
of range, an unknown algorithm) run in ``__post_init__``; checks that need the data (fewer
customers than k, all customers identical) live in :func:`check_data`, which the fit and
k-selection functions call before any model sees the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import numpy as np

from core.clustering.defaults import (
    DEFAULT_ALGORITHM,
    DEFAULT_FEATURES,
    DEFAULT_K,
    DEFAULT_LINKAGE,
    DEFAULT_SCALER,
    DEFAULT_SEED,
)
from core.columns import NUMERIC_FEATURES
from core.errors import ConfigError, DataSufficiencyError

Algorithm = Literal["kmeans", "minibatch", "hierarchical", "gmm", "hdbscan"]
Linkage = Literal["ward", "complete", "average"]
Scaler = Literal["standard", "robust", "minmax"]
HierarchicalMethod = Literal["auto", "exact", "two_stage"]

ALGORITHMS: tuple[str, ...] = ("kmeans", "minibatch", "hierarchical", "gmm", "hdbscan")
LINKAGES: tuple[str, ...] = ("ward", "complete", "average")
SCALERS: tuple[str, ...] = ("standard", "robust", "minmax")
HIERARCHICAL_METHODS: tuple[str, ...] = ("auto", "exact", "two_stage")
COVARIANCE_TYPES: tuple[str, ...] = ("full", "tied", "diag", "spherical")

# Segments a marketing team can act on; more than this is a configuration mistake.
K_MIN = 2
K_MAX = 30
SEED_MAX = 2**31 - 1  # the largest random_state accepted (the same for every model)

# Exact hierarchical clustering limits: fastcluster.linkage_vector (ward) needs O(n) memory;
# fastcluster.linkage (complete/average) needs the O(n^2) distance matrix, whose memory and
# time grow with the square of n, hence its lower limit. Above these sizes the two-stage
# method is used.
EXACT_WARD_MAX_N = 30_000
EXACT_PAIRWISE_MAX_N = 10_000
# Micro-clusters for the two-stage hierarchical method.
DEFAULT_N_MICRO = 1_000

# Native threads (OpenMP / BLAS) for model fits. In a K-means sweep, two threads only break
# even at a million customers on an idle machine and lose badly on a shared server, so fits
# use one thread below this size.
MULTITHREAD_MIN_N = 2_000_000


def n_threads(n: int) -> int:
    """Native threads for a model fit on ``n`` customers (see ``MULTITHREAD_MIN_N``)."""
    return 2 if n >= MULTITHREAD_MIN_N else 1


def _quote(value: object) -> str:
    return repr(value)


@dataclass(frozen=True)
class PreprocessConfig:
    """How customer features become the matrix a model sees.

    Attributes
    ----------
    features:
        Feature columns to cluster on (names from ``core.columns.NUMERIC_FEATURES``).
    log:
        ``"auto"`` applies ``log1p`` to every feature whose skewness is > 1 and whose values
        are all >= 0; a tuple names the features to log explicitly (``()`` for none).
    scaler:
        ``"standard"`` (z-score), ``"robust"`` (median / IQR) or ``"minmax"`` (0-1).
    cap_quantile:
        ``None`` for no capping, or q in (0.5, 1): each feature is clipped to its fitted
        ``1 - q`` and ``q`` quantiles (e.g. 0.99 caps at the 1st and 99th percentiles).
    """

    features: tuple[str, ...] = DEFAULT_FEATURES
    log: tuple[str, ...] | Literal["auto"] = "auto"
    scaler: Scaler = DEFAULT_SCALER
    cap_quantile: float | None = None

    def __post_init__(self) -> None:
        validate_preprocess(self)


@dataclass(frozen=True)
class ModelConfig:
    """Which model to fit and its parameters.

    Attributes
    ----------
    algorithm:
        ``"kmeans"``, ``"minibatch"`` (MiniBatch K-means, for large n), ``"hierarchical"``,
        ``"gmm"`` (Gaussian mixture) or ``"hdbscan"`` (k found by the model; noise = -1).
    k:
        Number of segments (``K_MIN``..``K_MAX``); must be ``None`` for HDBSCAN.
    linkage:
        Hierarchical linkage: ``"ward"``, ``"complete"`` or ``"average"``.
    random_state:
        Seed for every random step (initialisation, micro-clusters, samples).
    n_init:
        K-means / MiniBatch restarts: ``"auto"`` (sklearn: 1 run with k-means++) or 1..50.
    min_cluster_size, min_samples:
        HDBSCAN parameters; ``None`` lets :mod:`core.clustering.fit` choose
        ``max(5, n // 100)`` and ``min(min_cluster_size, 10)`` respectively (sklearn's own
        default min_samples = min_cluster_size is several times slower at scale).
    covariance_type:
        Gaussian mixture covariance (``"full"``, ``"tied"``, ``"diag"``, ``"spherical"``).
    hierarchical_method:
        ``"auto"`` (exact up to ``EXACT_WARD_MAX_N`` / ``EXACT_PAIRWISE_MAX_N`` customers,
        two-stage above), ``"exact"`` or ``"two_stage"``.
    n_micro:
        Micro-clusters of the two-stage hierarchical method.
    """

    algorithm: Algorithm = DEFAULT_ALGORITHM
    k: int | None = DEFAULT_K
    linkage: Linkage = DEFAULT_LINKAGE
    random_state: int = DEFAULT_SEED
    n_init: int | Literal["auto"] = 3
    min_cluster_size: int | None = None
    min_samples: int | None = None
    covariance_type: str = "full"
    hierarchical_method: HierarchicalMethod = "auto"
    n_micro: int = DEFAULT_N_MICRO

    def __post_init__(self) -> None:
        validate_model(self)


def validate_k(k: object, *, what: str = "k") -> int:
    """Return ``k`` as an int or raise ConfigError quoting it."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise ConfigError(
            f"{what} must be a whole number, got {_quote(k)}",
            hint=f"Choose a number of segments between {K_MIN} and {K_MAX}.",
        )
    if not K_MIN <= int(k) <= K_MAX:
        raise ConfigError(
            f"{what} = {int(k)} is out of range ({K_MIN}..{K_MAX})",
            hint=f"Choose a number of segments between {K_MIN} and {K_MAX}.",
        )
    return int(k)


def validate_preprocess(config: PreprocessConfig) -> None:
    """Static checks of a :class:`PreprocessConfig` (raise ConfigError)."""
    if not isinstance(config.features, tuple):
        raise ConfigError(
            f"features must be a tuple of column names, got {_quote(config.features)}",
            hint=f"Pick features among {', '.join(NUMERIC_FEATURES)}.",
        )
    if not config.features:
        raise ConfigError(
            "no feature is selected", hint="Tick at least one feature (e.g. recency, frequency)."
        )
    unknown = [f for f in config.features if f not in NUMERIC_FEATURES]
    if unknown:
        raise ConfigError(
            f"unknown feature(s) {', '.join(map(_quote, unknown))}",
            hint=f"Available features: {', '.join(NUMERIC_FEATURES)}.",
        )
    duplicated = sorted({f for f in config.features if config.features.count(f) > 1})
    if duplicated:
        raise ConfigError(
            f"feature(s) listed twice: {', '.join(map(_quote, duplicated))}",
            hint="List each feature once.",
        )
    if config.log != "auto":
        if not isinstance(config.log, tuple):
            raise ConfigError(
                f"log must be 'auto' or a tuple of feature names, got {_quote(config.log)}",
                hint="Use log='auto', log=() for none, or e.g. log=('monetary',).",
            )
        not_selected = [f for f in config.log if f not in config.features]
        if not_selected:
            raise ConfigError(
                f"log names feature(s) that are not clustered: "
                f"{', '.join(map(_quote, not_selected))}",
                hint=f"Log only selected features: {', '.join(config.features)}.",
            )
    if config.scaler not in SCALERS:
        raise ConfigError(
            f"unknown scaler {_quote(config.scaler)}",
            hint=f"Use one of {', '.join(SCALERS)}.",
        )
    q = config.cap_quantile
    if q is not None and (
        isinstance(q, bool) or not isinstance(q, float | int) or not 0.5 < float(q) < 1.0
    ):
        raise ConfigError(
            f"cap_quantile must be None or a number strictly between 0.5 and 1, got {_quote(q)}",
            hint="Use e.g. cap_quantile=0.99 to clip each feature to its 1st-99th percentiles.",
        )


def validate_model(config: ModelConfig) -> None:
    """Static checks of a :class:`ModelConfig` (raise ConfigError)."""
    if config.algorithm not in ALGORITHMS:
        raise ConfigError(
            f"unknown algorithm {_quote(config.algorithm)}",
            hint=f"Use one of {', '.join(ALGORITHMS)}.",
        )
    if config.algorithm == "hdbscan":
        if config.k is not None:
            raise ConfigError(
                f"HDBSCAN finds the number of segments itself, but k = {_quote(config.k)} "
                "was given",
                hint="Set k=None with algorithm='hdbscan' (tune min_cluster_size instead).",
            )
    else:
        if config.k is None:
            raise ConfigError(
                f"algorithm {_quote(config.algorithm)} needs a number of segments, got k=None",
                hint=f"Choose k between {K_MIN} and {K_MAX} (choose_k can recommend one).",
            )
        validate_k(config.k)
    if config.linkage not in LINKAGES:
        raise ConfigError(
            f"unknown linkage {_quote(config.linkage)}",
            hint=f"Use one of {', '.join(LINKAGES)}.",
        )
    if (
        isinstance(config.random_state, bool)
        or not isinstance(config.random_state, int | np.integer)
        or not 0 <= config.random_state <= SEED_MAX
    ):
        raise ConfigError(
            f"random_state must be a whole-number seed 0..{SEED_MAX}, "
            f"got {_quote(config.random_state)}",
            hint="Use a seed such as 0 or 42.",
        )
    if config.n_init != "auto" and (
        isinstance(config.n_init, bool)
        or not isinstance(config.n_init, int | np.integer)
        or not 1 <= config.n_init <= 50
    ):
        raise ConfigError(
            f"n_init must be 'auto' or a whole number 1..50, got {_quote(config.n_init)}",
            hint="Use n_init='auto' or a small number of restarts such as 3.",
        )
    for name in ("min_cluster_size", "min_samples"):
        value = getattr(config, name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 2
        ):
            raise ConfigError(
                f"{name} must be None or a whole number >= 2, got {_quote(value)}",
                hint=f"Leave {name}=None for the default or use e.g. 20.",
            )
    if config.covariance_type not in COVARIANCE_TYPES:
        raise ConfigError(
            f"unknown covariance_type {_quote(config.covariance_type)}",
            hint=f"Use one of {', '.join(COVARIANCE_TYPES)}.",
        )
    if config.hierarchical_method not in HIERARCHICAL_METHODS:
        raise ConfigError(
            f"unknown hierarchical_method {_quote(config.hierarchical_method)}",
            hint=f"Use one of {', '.join(HIERARCHICAL_METHODS)}.",
        )
    if (
        isinstance(config.n_micro, bool)
        or not isinstance(config.n_micro, int | np.integer)
        or not 50 <= config.n_micro <= 5_000
    ):
        raise ConfigError(
            f"n_micro must be a whole number 50..5000, got {_quote(config.n_micro)}",
            hint="Use the default (1000) micro-clusters.",
        )


def check_data(x: np.ndarray, *, k: int | None, what: str = "customers") -> None:
    """Checks that need the data: enough customers and distinct customers for ``k``.

    Raises
    ------
    DataSufficiencyError
        No customers, fewer customers than ``k``, all customers identical, or fewer
        distinct customers than ``k``.
    """
    n = int(x.shape[0])
    if n == 0:
        raise DataSufficiencyError(
            f"no {what} to cluster",
            hint="Check that the feature table is not empty and not every customer is excluded.",
        )
    if k is not None and n < k:
        raise DataSufficiencyError(
            f"only {n} {what} to cluster but k = {k} segments were requested",
            hint=f"Use k <= {n} or provide more customers.",
        )
    if n < 2 or bool(np.all(x == x[0])):
        raise DataSufficiencyError(
            f"all {n} {what} are identical on the chosen features; nothing to segment",
            hint="Choose features that vary between customers or check the data.",
        )
    if k is not None:
        # A prefix usually already holds k distinct rows; the full sort only runs when not.
        n_distinct = int(np.unique(x[: 10 * k + 1000], axis=0).shape[0])
        if n_distinct < k:
            n_distinct = int(np.unique(x, axis=0).shape[0])
        if n_distinct < k:
            raise DataSufficiencyError(
                f"only {n_distinct} distinct {what} (on the chosen features) but k = {k}",
                hint=f"Use k <= {n_distinct} or choose features that separate customers.",
            )


# Exact silhouette up to this many customers; above, a stratified sample of this size. The
# silhouette costs O(n^2): the sample bounds the cost of each k, keeping a 2..10 sweep short.
SILHOUETTE_SAMPLE = 5_000
# Above this many customers the k sweep fits its K-means models on a seeded sample of this size
# and scores them on every customer (each assigned to its nearest centre): the fits are most of
# the sweep's cost and grow with n, the centres of 20,000 customers hardly move with more.
SWEEP_FIT_SAMPLE = 20_000
SWEEP_FIT_MIN = 1_000
# The algorithms whose sweep fits on that sample (a model of centres, assigned to all).
SAMPLED_SWEEP_ALGORITHMS: tuple[str, ...] = ("kmeans", "minibatch")
SWEEP_ALGORITHMS: tuple[str, ...] = ("kmeans", "minibatch", "gmm", "hierarchical")
# Customers drawn for each bootstrap refit of the stability check, at most (and the least a
# caller may ask for): above it the refits draw this many of the n customers.
BOOTSTRAP_MAX = 20_000
BOOTSTRAP_MIN = 100
SweepAlgorithm = Literal["kmeans", "minibatch", "gmm", "hierarchical"]


@dataclass(frozen=True)
class SelectKConfig:
    """How the number of segments is chosen: the k axis swept, the model, the business limits.

    Attributes
    ----------
    k_range:
        Values of k to try (each in ``K_MIN``..``K_MAX``, at least two); kept sorted, unique.
    algorithm:
        ``"kmeans"``, ``"minibatch"``, ``"gmm"`` (adds BIC) or ``"hierarchical"`` (one tree,
        cut at every k). HDBSCAN finds k itself and is not swept.
    random_state, n_init, linkage:
        Passed to the model (n_init: K-means restarts; linkage: hierarchical).
    min_share:
        Business limit: a k whose smallest segment holds less than this share of customers
        is not recommended (0 <= share < 0.5).
    max_segments:
        Business limit: no k above this is recommended.
    silhouette_sample:
        Above this many customers, silhouette uses a stratified sample of this size
        (100..50,000).
    fit_sample:
        Above this many customers, K-means and MiniBatch K-means models are fitted on a seeded
        sample of this size (``random_state``) and every criterion is computed on all
        customers, each assigned to its nearest centre; None fits on every customer
        (at least 1,000).
    """

    k_range: tuple[int, ...] = tuple(range(2, 11))
    algorithm: SweepAlgorithm = "kmeans"
    random_state: int = 0
    n_init: int | Literal["auto"] = "auto"
    linkage: Linkage = "ward"
    min_share: float = 0.0
    max_segments: int | None = None
    silhouette_sample: int = SILHOUETTE_SAMPLE
    fit_sample: int | None = SWEEP_FIT_SAMPLE

    def __post_init__(self) -> None:
        try:
            values = list(self.k_range)
        except TypeError:
            values = [self.k_range]
        ks = tuple(sorted({validate_k(k, what="k in k_range") for k in values}))
        if len(ks) < 2:
            raise ConfigError(
                f"k_range must hold at least two values of k, got {values}",
                hint=f"Use e.g. k_range=range(2, 11) (k up to {K_MAX}).",
            )
        object.__setattr__(self, "k_range", ks)
        if self.algorithm not in SWEEP_ALGORITHMS:
            raise ConfigError(
                f"cannot sweep k with algorithm {_quote(self.algorithm)}",
                hint=f"Use one of {', '.join(SWEEP_ALGORITHMS)} (HDBSCAN chooses k itself).",
            )
        self.model_config(ks[0])  # the model options, checked by ModelConfig
        share = self.min_share
        if isinstance(share, bool) or not isinstance(share, int | float):
            raise ConfigError(
                f"min_share must be a number, got {_quote(share)}", hint="Use e.g. min_share=0.05."
            )
        if not 0.0 <= share < 0.5:
            raise ConfigError(
                f"min_share must be between 0 and 0.5 (a share of customers), got {share!r}",
                hint="Use e.g. min_share=0.05 for segments of at least 5% of customers.",
            )
        if self.max_segments is not None:
            validate_k(self.max_segments, what="max_segments")
        sample = self.silhouette_sample
        if isinstance(sample, bool) or not isinstance(sample, int):
            raise ConfigError(
                f"silhouette_sample must be a whole number, got {_quote(sample)}",
                hint=f"Use the default ({SILHOUETTE_SAMPLE}).",
            )
        if not 100 <= sample <= 50_000:
            raise ConfigError(
                f"silhouette_sample must be between 100 and 50,000, got {sample}",
                hint=f"Use the default ({SILHOUETTE_SAMPLE}).",
            )
        fit_sample = self.fit_sample
        if fit_sample is not None and (
            isinstance(fit_sample, bool)
            or not isinstance(fit_sample, int)
            or fit_sample < SWEEP_FIT_MIN
        ):
            raise ConfigError(
                f"fit_sample must be a whole number of at least {SWEEP_FIT_MIN:,} customers "
                f"or None, got {_quote(fit_sample)}",
                hint=f"Use the default ({SWEEP_FIT_SAMPLE:,}) or None to fit on every customer.",
            )

    def model_config(self, k: int) -> ModelConfig:
        """The model fitted at ``k`` during the sweep."""
        return ModelConfig(
            algorithm=self.algorithm,
            k=k,
            linkage=self.linkage,
            random_state=self.random_state,
            n_init=self.n_init,
        )


STABILITY_METHODS: tuple[str, ...] = ("bootstrap", "seeds")


@dataclass(frozen=True)
class StabilityConfig:
    """How stability is rated: the refits, how they draw customers, the borderline cut-off.

    Attributes
    ----------
    n_boot:
        Number of refits (2..200).
    method:
        ``"bootstrap"``: refit on customers drawn with replacement and compare on the customers
        drawn; ``"seeds"``: refit all customers with other seeds.
    random_state:
        Seed of the bootstrap draws.
    borderline_threshold:
        Customers whose silhouette is below this are listed as borderline (-1..1).
    bootstrap_max:
        Customers drawn for each bootstrap refit: all of them up to this many, else this many
        (an m-out-of-n bootstrap; None: always all). Refits of the default 20,000 cost a fifth
        of refits of 100,000 and rate alike (bench/README.md, "stability").
    """

    n_boot: int = 10
    method: Literal["bootstrap", "seeds"] = "bootstrap"
    random_state: int = 0
    borderline_threshold: float = 0.05
    bootstrap_max: int | None = BOOTSTRAP_MAX

    def __post_init__(self) -> None:
        n = self.n_boot
        if isinstance(n, bool) or not isinstance(n, int) or not 2 <= n <= 200:
            raise ConfigError(
                f"n_boot must be a whole number 2..200, got {_quote(n)}",
                hint="Use e.g. n_boot=10 (more refits give a steadier estimate but take longer).",
            )
        if self.method not in STABILITY_METHODS:
            raise ConfigError(
                f"unknown stability method {_quote(self.method)}",
                hint="Use 'bootstrap' or 'seeds'.",
            )
        seed = self.random_state
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= SEED_MAX:
            raise ConfigError(
                f"random_state must be a whole-number seed 0..{SEED_MAX}, got {_quote(seed)}",
                hint="Use a seed such as 0 or 42.",
            )
        cut = self.borderline_threshold
        if isinstance(cut, bool) or not isinstance(cut, int | float) or not -1 <= cut <= 1:
            raise ConfigError(
                f"borderline_threshold must be a silhouette value in -1..1, got {_quote(cut)}",
                hint="Use e.g. 0.05.",
            )
        m = self.bootstrap_max
        if m is not None and (isinstance(m, bool) or not isinstance(m, int) or m < BOOTSTRAP_MIN):
            raise ConfigError(
                f"bootstrap_max must be a whole number >= {BOOTSTRAP_MIN:,} or None, got "
                f"{_quote(m)}",
                hint=f"Use the default ({BOOTSTRAP_MAX:,}) or None to draw every customer.",
            )


ConfigT = TypeVar("ConfigT", SelectKConfig, StabilityConfig)


def config_from(
    kind: type[ConfigT], config: ConfigT | None, options: dict[str, Any], *, caller: str
) -> ConfigT:
    """``config``, or one built (and so validated) from its fields given by name in
    ``options``; both at once is an error naming ``caller``."""
    if config is None:
        return kind(**options)
    if options:
        raise ConfigError(
            f"{caller} got both a {kind.__name__} and options {sorted(options)}",
            hint="Pass either the config or its fields by name.",
        )
    return config
