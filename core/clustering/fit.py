"""Fit a segmentation: preprocess, cluster, number segments canonically.

Determinism: customers are sorted by id before preprocessing, every random step takes the
config's ``random_state``, so the same data and seed give the same labels whatever the row
order of the input. Segments are then renumbered canonically: 0..k-1 by mean (unscaled)
monetary, highest first (ties: larger segment first), so "segment 0" means the same thing
across refits; :func:`match_labels` maps a refit's segments onto a previous fit's.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import polars as pl
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import HDBSCAN, KMeans, MiniBatchKMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

from core.clustering.config import (
    ModelConfig,
    PreprocessConfig,
    check_data,
    n_threads,
)
from core.clustering.hierarchical import build_tree, dendrogram_data
from core.clustering.preprocess import EXCLUDED, FeaturePreprocessor, prepare_customers
from core.columns import CUSTOMER
from core.errors import ConfigError, DataSufficiencyError

MONETARY = "monetary"
# HDBSCAN cost grows fast with n and with min_samples; sklearn's default min_samples =
# min_cluster_size (here about n // 100) grows with n too. Hence the default min_samples
# (at most 10) and the size limit.
HDBSCAN_MAX_N = 50_000
HDBSCAN_DEFAULT_MIN_SAMPLES = 10


@dataclass(frozen=True, eq=False)
class Segmentation:
    """A fitted segmentation of the included customers (sorted by customer id).

    Attributes
    ----------
    customer_ids:
        Included customers' ids (numpy str array, sorted).
    labels:
        Canonical segment per customer, 0..k-1 (segment 0 has the highest mean monetary);
        -1 marks HDBSCAN noise (in no segment).
    x:
        Scaled feature matrix the model saw (n x d, columns ``preprocessor.features_``).
    projection:
        n x 2 PCA coordinates of ``x`` for plots.
    preprocessor:
        The fitted :class:`~core.clustering.preprocess.FeaturePreprocessor`.
    model:
        The fitted estimator (KMeans, MiniBatchKMeans, GaussianMixture, HDBSCAN) or the
        :class:`~core.clustering.hierarchical.HierarchicalTree`.
    preprocess_config, model_config:
        The configs used.
    centers_scaled:
        k x d segment centres in scaled space (K-means centres, else member means).
    centers_raw:
        k x len(preprocessor.features_in_) member means in original units (NaN ignored).
    sizes:
        Customers per segment (length k).
    k:
        Number of segments (excluding noise).
    method:
        Short code: ``"kmeans"``, ``"minibatch"``, ``"gmm"``, ``"hdbscan"``,
        ``"hierarchical-<linkage>-exact"`` or ``"hierarchical-<linkage>-two-stage"``.
    description:
        Plain-language description of the method.
    linkage:
        scipy linkage matrix for hierarchical fits (leaves: customers when exact,
        micro-clusters when two-stage: see ``model.leaf_of`` / ``model.leaf_sizes``), else None.
    n_noise:
        Customers HDBSCAN left as noise (0 for other algorithms).
    n_excluded:
        Customers of the input table that were excluded (never clustered).
    warnings:
        Plain-language notes: imputations, dropped constant features, convergence, noise.
    raw_to_segment:
        Model label -> canonical segment (for models with their own ``predict``).
    """

    customer_ids: np.ndarray
    labels: np.ndarray
    X: np.ndarray
    projection: np.ndarray
    preprocessor: FeaturePreprocessor
    model: Any
    preprocess_config: PreprocessConfig
    model_config: ModelConfig
    centers_scaled: np.ndarray
    centers_raw: np.ndarray
    sizes: np.ndarray
    k: int
    method: str
    description: str
    linkage: np.ndarray | None
    n_noise: int
    n_excluded: int
    warnings: tuple[str, ...]
    raw_to_segment: dict[int, int] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Customers clustered."""
        return int(self.customer_ids.shape[0])

    @property
    def shares(self) -> np.ndarray:
        """Share of the clustered customers in each segment (noise counts in the total)."""
        return self.sizes / max(self.n, 1)

    def labels_frame(self) -> pl.DataFrame:
        """``customer_id``, ``segment`` (Int64; -1 = noise), sorted by customer id."""
        return pl.DataFrame(
            {CUSTOMER: self.customer_ids, "segment": self.labels},
            schema={CUSTOMER: pl.String(), "segment": pl.Int64()},
        )


@dataclass(frozen=True, eq=False)
class RawFit:
    """Model labels before canonical renumbering (noise = -1), with the fitted model."""

    labels: np.ndarray
    model: Any
    centers: np.ndarray | None  # model centres in raw label order (K-means family)
    method: str
    description: str
    linkage: np.ndarray | None
    notes: tuple[str, ...]


def _record_convergence(caught: list[warnings.WarningMessage], what: str) -> tuple[str, ...]:
    notes = []
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            notes.append(f"{what}: {w.message}")
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return tuple(notes)


def fit_raw(x: np.ndarray, model: ModelConfig, *, k: int | None = None) -> RawFit:
    """Fit ``model`` (with ``k`` overriding ``model.k``) on the scaled matrix ``x``.

    No data checks, no renumbering: the building block of :func:`fit_segmentation`,
    :func:`core.clustering.select_k.choose_k` and :func:`core.clustering.stability.stability`.
    """
    k = model.k if k is None else k
    fit = _FITTERS[model.algorithm]
    with (
        threadpool_limits(limits=n_threads(x.shape[0])),
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always", ConvergenceWarning)
        result = fit(x, model, k)
    notes = _record_convergence(caught, result.method)
    return replace(result, notes=notes) if notes else result


def _fit_kmeans(x: np.ndarray, model: ModelConfig, k: int) -> RawFit:
    seed = model.random_state
    est = KMeans(n_clusters=k, init="k-means++", n_init=model.n_init, random_state=seed)
    labels = est.fit_predict(x)
    description = f"K-means (k-means++, n_init={model.n_init}, seed {seed})"
    return RawFit(labels, est, est.cluster_centers_, "kmeans", description, None, ())


def _fit_minibatch(x: np.ndarray, model: ModelConfig, k: int) -> RawFit:
    seed = model.random_state
    est = MiniBatchKMeans(n_clusters=k, batch_size=4096, n_init=model.n_init, random_state=seed)
    labels = est.fit_predict(x)
    description = f"MiniBatch K-means (batch 4096, n_init={model.n_init}, seed {seed})"
    return RawFit(labels, est, est.cluster_centers_, "minibatch", description, None, ())


def _fit_gmm(x: np.ndarray, model: ModelConfig, k: int) -> RawFit:
    n_init = 1 if model.n_init == "auto" else int(model.n_init)
    est = GaussianMixture(
        n_components=k,
        covariance_type=model.covariance_type,
        n_init=n_init,
        random_state=model.random_state,
    )
    labels = est.fit_predict(x)
    description = (
        f"Gaussian mixture ({model.covariance_type} covariance, n_init={n_init}, "
        f"seed {model.random_state})"
    )
    return RawFit(labels, est, None, "gmm", description, None, ())


def _fit_hierarchical(x: np.ndarray, model: ModelConfig, k: int) -> RawFit:
    tree = build_tree(
        x,
        linkage=model.linkage,
        method=model.hierarchical_method,
        n_micro=model.n_micro,
        random_state=model.random_state,
    )
    code = "exact" if tree.method == "exact" else "two-stage"
    method = f"hierarchical-{model.linkage}-{code}"
    return RawFit(tree.labels(k), tree, None, method, tree.description, tree.linkage, ())


def _fit_hdbscan(x: np.ndarray, model: ModelConfig, k: int) -> RawFit:
    """HDBSCAN finds the number of segments itself: ``k`` is not used."""
    n = x.shape[0]
    if n > HDBSCAN_MAX_N:
        raise ConfigError(
            f"HDBSCAN is limited to {HDBSCAN_MAX_N:,} customers, got {n:,}",
            hint="Use K-means, MiniBatch K-means or hierarchical clustering at this size.",
        )
    mcs = model.min_cluster_size or max(5, n // 100)
    ms = model.min_samples or min(mcs, HDBSCAN_DEFAULT_MIN_SAMPLES)
    est = HDBSCAN(min_cluster_size=mcs, min_samples=ms, copy=True)
    labels = est.fit_predict(x)
    description = f"HDBSCAN (min_cluster_size={mcs}, min_samples={ms})"
    return RawFit(labels, est, None, "hdbscan", description, None, ())


_FITTERS = {
    "kmeans": _fit_kmeans,
    "minibatch": _fit_minibatch,
    "gmm": _fit_gmm,
    "hierarchical": _fit_hierarchical,
    "hdbscan": _fit_hdbscan,
}


def canonical_order(
    labels: np.ndarray, monetary: np.ndarray | None, *, n_labels: int | None = None
) -> np.ndarray:
    """Permutation ``perm`` with ``perm[raw] = canonical`` for raw labels 0..m-1 (noise -1 kept).

    Canonical order: mean monetary descending (NaN ignored; a segment without any value, or
    an empty one, last), then size descending, then first customer (by sorted id) ascending.
    ``n_labels`` is the number of model labels (so an empty last component still gets a
    number); by default the largest label + 1.
    """
    valid = labels >= 0
    m = int(labels[valid].max()) + 1 if valid.any() else 0
    if n_labels is not None:
        m = max(m, n_labels)
    lab = labels[valid]
    sizes = np.bincount(lab, minlength=m).astype(np.float64)
    first = np.full(m, labels.size, dtype=np.int64)
    np.minimum.at(first, lab, np.flatnonzero(valid))
    if monetary is None:
        mean = np.zeros(m)
    else:
        mon = monetary[valid]
        ok = np.isfinite(mon)
        tot = np.bincount(lab[ok], weights=mon[ok], minlength=m)
        cnt = np.bincount(lab[ok], minlength=m)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(cnt > 0, tot / np.maximum(cnt, 1), -np.inf)
    order = np.lexsort((first, -sizes, -mean))
    perm = np.empty(m, dtype=np.int64)
    perm[order] = np.arange(m)
    return perm


def _member_means(x: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    valid = labels >= 0
    lab = labels[valid]
    cnt = np.bincount(lab, minlength=k).astype(np.float64)
    out = np.empty((k, x.shape[1]))
    for j in range(x.shape[1]):
        col = x[valid, j]
        ok = np.isfinite(col)
        tot = np.bincount(lab[ok], weights=col[ok], minlength=k)
        c = np.bincount(lab[ok], minlength=k).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, j] = np.where(c > 0, tot / np.maximum(c, 1), np.nan)
    del cnt
    return out


def fit_segmentation(
    features: pl.DataFrame | pl.LazyFrame,
    preprocess: PreprocessConfig | None = None,
    model: ModelConfig | None = None,
) -> Segmentation:
    """Fit a segmentation of the included customers of a feature table.

    Parameters
    ----------
    features:
        Customer feature table (``core.columns.FEATURE_SCHEMA``); rows with
        ``excluded == True`` are not clustered. Row order does not matter.
    preprocess, model:
        Configs (defaults: RFM features with auto log and standard scaling; K-means k=4).

    Raises
    ------
    ConfigError, SchemaError, DataSufficiencyError
        Bad configuration, bad table, or too few / identical customers for ``k``.
    """
    preprocess = preprocess if preprocess is not None else PreprocessConfig()
    model = model if model is not None else ModelConfig()
    has_monetary = MONETARY in features.lazy().collect_schema().names()
    extra = (MONETARY,) if has_monetary else ()
    frame, n_excluded = prepare_customers(features, (*preprocess.features, *extra))
    if frame.height == 0:
        raise DataSufficiencyError(
            f"no customers to cluster ({n_excluded} excluded)",
            hint="Check the exclusion rules or the feature table.",
        )
    pre = FeaturePreprocessor(preprocess)
    x = pre.fit_transform(frame)
    check_data(x, k=model.k)
    raw = fit_raw(x, model)
    monetary = (
        frame.get_column(MONETARY).cast(pl.Float64).fill_null(np.nan).to_numpy()
        if has_monetary
        else None
    )
    return assemble(
        frame=frame,
        x=x,
        pre=pre,
        preprocess=preprocess,
        model=model,
        raw=raw,
        monetary=monetary,
        n_excluded=n_excluded,
    )


def assemble(
    *,
    frame: pl.DataFrame,
    x: np.ndarray,
    pre: FeaturePreprocessor,
    preprocess: PreprocessConfig,
    model: ModelConfig,
    raw: RawFit,
    monetary: np.ndarray | None,
    n_excluded: int,
) -> Segmentation:
    """The :class:`Segmentation` of a raw fit of ``x``: canonical numbering, centres, sizes,
    notes. Every engine builds its segmentation here (the Spark engine from MLlib's fit)."""
    notes = list(pre.warnings_) + list(raw.notes)
    perm = canonical_order(
        raw.labels, monetary, n_labels=None if model.algorithm == "hdbscan" else model.k
    )
    k = perm.size
    if k == 0:
        raise DataSufficiencyError(
            f"HDBSCAN found no segment: all {x.shape[0]:,} customers are noise",
            hint="Lower min_cluster_size (or min_samples), or use K-means.",
        )
    labels = np.where(raw.labels >= 0, perm[np.maximum(raw.labels, 0)], -1).astype(np.int64)
    n_noise = int(np.count_nonzero(labels < 0))
    if n_noise:
        notes.append(
            f"HDBSCAN left {n_noise:,} of {labels.size:,} customers "
            f"({n_noise / labels.size:.1%}) as noise (segment -1, in no segment)"
        )
    if raw.centers is not None:
        centers = np.empty_like(raw.centers)
        centers[perm] = raw.centers
    else:
        centers = _member_means(x, labels, k)
    raw_matrix = np.column_stack(
        [
            frame.get_column(f).cast(pl.Float64).fill_null(np.nan).to_numpy()
            for f in pre.features_in_
        ]
    )
    raw_matrix = np.where(np.isfinite(raw_matrix), raw_matrix, np.nan)
    sizes = np.bincount(labels[labels >= 0], minlength=k).astype(np.int64)
    empty = np.flatnonzero(sizes == 0)
    if empty.size:
        notes.append(f"{empty.size} segment(s) ended up empty: {empty.tolist()}")
    return Segmentation(
        customer_ids=frame.get_column(CUSTOMER).to_numpy().astype(str),
        labels=labels,
        X=x,
        projection=pre.project(x),
        preprocessor=pre,
        model=raw.model,
        preprocess_config=preprocess,
        model_config=model,
        centers_scaled=centers,
        centers_raw=_member_means(raw_matrix, labels, k),
        sizes=sizes,
        k=k,
        method=raw.method,
        description=raw.description,
        linkage=raw.linkage,
        n_noise=n_noise,
        n_excluded=n_excluded,
        warnings=tuple(notes),
        raw_to_segment={int(r): int(c) for r, c in enumerate(perm)},
    )


def nearest_center(x: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Index of the nearest centre (Euclidean) for each row of ``x``, in chunks."""
    out = np.empty(x.shape[0], dtype=np.int64)
    c2 = np.einsum("ij,ij->i", centers, centers)
    step = 65_536
    for s in range(0, x.shape[0], step):
        chunk = x[s : s + step]
        d = c2[None, :] - 2.0 * chunk @ centers.T
        # An empty segment has no centre (NaN): never the nearest.
        out[s : s + step] = np.argmin(np.where(np.isnan(d), np.inf, d), axis=1)
    return out


def predict(segmentation: Segmentation, new_features: pl.DataFrame | pl.LazyFrame) -> np.ndarray:
    """Segment of each row of ``new_features`` (input row order), transformed like the fit.

    Gaussian mixtures use their own ``predict`` (highest posterior); every other algorithm
    assigns the nearest segment centre in scaled space (for HDBSCAN this never yields noise).
    Rows with ``excluded == True`` get -1.
    """
    cols = segmentation.preprocessor.features_in_
    lf = new_features.lazy()
    names = lf.collect_schema().names()
    missing = [c for c in cols if c not in names]
    if missing:
        raise ConfigError(
            f"feature(s) {', '.join(map(repr, missing))} not in the new customers' table",
            hint=f"The segmentation was fitted on: {', '.join(cols)}.",
        )
    frame = lf.select(
        *cols,
        (pl.col(EXCLUDED).fill_null(False) if EXCLUDED in names else pl.lit(False)).alias(
            "__excluded"
        ),
    ).collect()
    out = np.full(frame.height, -1, dtype=np.int64)
    keep = ~frame.get_column("__excluded").to_numpy()
    if not keep.any():
        return out
    x = segmentation.preprocessor.transform(frame.filter(pl.Series(keep)))
    if segmentation.model_config.algorithm == "gmm":
        raw = segmentation.model.predict(x)
        lookup = np.array(
            [segmentation.raw_to_segment[i] for i in range(len(segmentation.raw_to_segment))]
        )
        out[keep] = lookup[raw]
    else:
        out[keep] = nearest_center(x, segmentation.centers_scaled)
    return out


def match_labels(previous: Segmentation, current: Segmentation) -> dict[int, int | None]:
    """Map each segment of ``current`` to the ``previous`` segment it continues (or None).

    Used to keep segment names and colours when a model is refit. When the two share
    customers, the Hungarian algorithm maximises the number of shared customers per matched
    pair; otherwise it minimises the distance between segment centres, both expressed in
    the previous fit's scaled space. With different k, unmatched current segments map to
    None (new segments).
    """
    common, ia, ib = np.intersect1d(
        previous.customer_ids, current.customer_ids, return_indices=True
    )
    kp, kc = previous.k, current.k
    if common.size:
        a = previous.labels[ia]
        b = current.labels[ib]
        ok = (a >= 0) & (b >= 0)
        table = np.zeros((kc, kp))
        np.add.at(table, (b[ok], a[ok]), 1.0)
        rows, cols = linear_sum_assignment(table, maximize=True)
        # A pair sharing no customer is no match.
        pairs = [(r, c) for r, c in zip(rows, cols, strict=True) if table[r, c] > 0]
    else:
        names = previous.preprocessor.features_in_
        missing = [f for f in names if f not in current.preprocessor.features_in_]
        if missing:
            raise ConfigError(
                "the two segmentations share no customer and the new one lacks feature(s) "
                f"{', '.join(map(repr, missing))} needed to compare segment centres",
                hint="Refit with the same features to carry segment names over.",
            )
        idx = [current.preprocessor.features_in_.index(f) for f in names]
        frame = pl.DataFrame(
            {f: current.centers_raw[:, j] for f, j in zip(names, idx, strict=True)}
        )
        cur = previous.preprocessor.transform(frame)
        d = ((cur[:, None, :] - previous.centers_scaled[None, :, :]) ** 2).sum(axis=2)
        rows, cols = linear_sum_assignment(d)
        pairs = list(zip(rows, cols, strict=True))
    mapping: dict[int, int | None] = dict.fromkeys(range(kc))
    for r, c in pairs:
        mapping[int(r)] = int(c)
    return mapping


def dendrogram_for(segmentation: Segmentation, *, p: int = 30) -> dict[str, Any]:
    """Truncated dendrogram of a hierarchical segmentation, leaves coloured by segment.

    See :func:`core.clustering.hierarchical.dendrogram_data`; in the two-stage case the
    leaves are micro-clusters and ``customers`` counts the customers under each displayed leaf.
    """
    tree = segmentation.model
    if segmentation.linkage is None or not hasattr(tree, "leaf_of"):
        raise ConfigError(
            f"a dendrogram needs a hierarchical segmentation, this one is {segmentation.method!r}",
            hint="Fit with algorithm='hierarchical'.",
        )
    n_leaves = segmentation.linkage.shape[0] + 1
    leaf_segments = np.full(n_leaves, -1, dtype=np.int64)
    # Every customer of a leaf shares its segment, so any member gives the leaf's segment.
    leaf_segments[tree.leaf_of] = segmentation.labels
    return dendrogram_data(
        segmentation.linkage,
        p=p,
        leaf_sizes=tree.leaf_sizes,
        leaf_segments=leaf_segments,
        k=segmentation.k,
    )
