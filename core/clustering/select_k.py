"""Choose the number of segments: one model per k, every criterion from it.

For each k in the range one model is fitted and reused for all criteria: inertia (within-
segment sum of squares, with the elbow found by ``kneed``), silhouette, Calinski-Harabasz,
Davies-Bouldin, and BIC for Gaussian mixtures. Silhouette is O(n^2): above
``silhouette_sample`` customers it is computed on a seeded sample stratified by segment (the
sample size is stated in the result). Above ``fit_sample`` customers (20,000 by default) the
K-means models of the sweep are fitted on a seeded sample of that size and every criterion is
computed on all customers, each assigned to its model's nearest centre (stated in the result
too). Business limits (minimum segment share, maximum number
of segments) decide which k may be recommended; the recommendation is the k most criteria
pick among those, with a plain-language reason and an explicit flag when criteria disagree.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl
from kneed import KneeLocator
from sklearn.metrics import calinski_harabasz_score
from threadpoolctl import threadpool_limits

from core.clustering.config import (
    SAMPLED_SWEEP_ALGORITHMS,
    PreprocessConfig,
    SelectKConfig,
    check_data,
    config_from,
    n_threads,
)
from core.clustering.fit import fit_raw, nearest_center
from core.clustering.hierarchical import HierarchicalTree, build_tree
from core.clustering.parallel import Checkpoint, ordered_map, workers_for
from core.clustering.preprocess import FeaturePreprocessor, prepare_customers
from core.errors import ConfigError

CRITERIA_LABELS: dict[str, str] = {
    "silhouette": "silhouette",
    "calinski_harabasz": "Calinski-Harabasz",
    "davies_bouldin": "Davies-Bouldin",
    "knee": "the inertia elbow",
    "bic": "BIC",
}


@dataclass(frozen=True, eq=False)
class KSelection:
    """Result of :func:`choose_k`.

    Attributes
    ----------
    table:
        One row per k: ``k``, ``inertia``, ``silhouette``, ``calinski_harabasz``,
        ``davies_bouldin``, ``bic`` (null unless algorithm is ``"gmm"``), ``min_share``
        (smallest segment / customers), ``eligible`` (meets the business limits).
    knee:
        Elbow of the inertia curve (None when kneed finds none).
    recommended_k:
        The recommended k, or None when no k meets the business limits.
    reason:
        Plain-language explanation of the recommendation.
    disagreement:
        True when the criteria do not all pick the same k.
    picks:
        Criterion -> k it picks among the eligible k (``silhouette``, ``calinski_harabasz``,
        ``davies_bouldin``, ``knee``, ``bic``).
    silhouette_note:
        How silhouette was computed (all customers, or the stratified sample and its size).
    silhouette_sample_size:
        Customers in the silhouette sample, or None when all were used.
    n_customers:
        Customers in the sweep.
    algorithm:
        Algorithm swept.
    fit_note:
        What the sweep's models were fitted on (every customer, or the seeded sample).
    fit_sample_size:
        Customers the sweep's models were fitted on, or None when all were used.
    """

    table: pl.DataFrame
    knee: int | None
    recommended_k: int | None
    reason: str
    disagreement: bool
    picks: dict[str, int]
    silhouette_note: str
    silhouette_sample_size: int | None
    n_customers: int
    algorithm: str
    fit_note: str = ""
    fit_sample_size: int | None = None


def stratified_sample(labels: np.ndarray, size: int, *, random_state: int = 0) -> np.ndarray:
    """Sorted row indices of a seeded sample of ``size`` rows stratified by label.

    Each label gets a share of the sample proportional to its size (largest remainders),
    and at least 2 rows when it has them (silhouette needs two members).
    """
    n = labels.shape[0]
    if size >= n:
        return np.arange(n)
    rng = np.random.default_rng(random_state)
    values, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    exact = counts * (size / n)
    alloc = np.floor(exact).astype(np.int64)
    short = size - int(alloc.sum())
    if short > 0:
        alloc[np.argsort(-(exact - alloc), kind="stable")[:short]] += 1
    alloc = np.minimum(np.maximum(alloc, np.minimum(2, counts)), counts)
    order = np.argsort(inverse, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    picked = [
        rng.choice(order[s : s + c], size=a, replace=False)
        for s, c, a in zip(starts, counts, alloc, strict=True)
    ]
    del values
    return np.sort(np.concatenate(picked))


def silhouette_values(x: np.ndarray, labels: np.ndarray, *, chunk: int = 64) -> np.ndarray:
    """Per-row silhouette (Euclidean), like ``sklearn.metrics.silhouette_samples``.

    The distances are computed once per pair: each chunk of rows against itself and the rows
    after it, the block summed per cluster for its own rows and, transposed, for the later
    rows (one matrix product each). Half the distances of a full row-by-row pass, several
    times faster than sklearn's per-row reduction. Rows of singleton clusters get 0.
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    n = x.shape[0]
    _, inverse = np.unique(labels, return_inverse=True)
    onehot = np.zeros((n, int(inverse.max()) + 1 if n else 0))
    onehot[np.arange(n), inverse] = 1.0
    counts = onehot.sum(axis=0)
    sq = np.einsum("ij,ij->i", x, x)
    sums = np.zeros_like(onehot)  # each row's distance sum to every cluster
    for s in range(0, n, chunk):
        e = min(s + chunk, n)
        dist = x[s:e] @ x[s:].T
        dist *= -2.0
        dist += sq[s:e, None]
        dist += sq[None, s:]
        np.maximum(dist, 0.0, out=dist)
        np.sqrt(dist, out=dist)
        # A row's distance to itself must be exactly 0 despite rounding in d2.
        dist[np.arange(e - s), np.arange(e - s)] = 0.0
        sums[s:e] += dist @ onehot[s:]
        sums[e:] += dist[:, e - s :].T @ onehot[s:e]
    own_count = counts[inverse]
    idx = np.arange(n)
    with np.errstate(invalid="ignore", divide="ignore"):
        a = sums[idx, inverse] / np.maximum(own_count - 1.0, 1.0)
        means = sums / counts[None, :]
    means[idx, inverse] = np.inf
    b = means.min(axis=1) if n else np.empty(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        sil = (b - a) / np.maximum(a, b)
    return np.where((own_count > 1) & np.isfinite(sil), sil, 0.0)


def within_ss(x: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Sum of squared distances of rows to their label's mean (labels 0..k-1)."""
    cnt = np.bincount(labels, minlength=k).astype(np.float64)
    total = 0.0
    for j in range(x.shape[1]):
        s = np.bincount(labels, weights=x[:, j], minlength=k)
        s2 = np.bincount(labels, weights=x[:, j] ** 2, minlength=k)
        with np.errstate(invalid="ignore", divide="ignore"):
            total += float(np.sum(np.where(cnt > 0, s2 - s * s / np.maximum(cnt, 1), 0.0)))
    return max(total, 0.0)


def davies_bouldin(x: np.ndarray, labels: np.ndarray) -> float:
    """Davies-Bouldin index (Euclidean), as ``sklearn.metrics.davies_bouldin_score``, in one
    pass over the rows: each row's distance to its label's centroid (the members' mean),
    averaged per label, against the distances between centroids. Labels are 0..m-1; empty
    labels are left out, as scikit-learn sees only the labels present."""
    counts = np.bincount(labels)
    present = counts > 0
    sums = np.stack(
        [np.bincount(labels, weights=x[:, j], minlength=counts.size) for j in range(x.shape[1])],
        axis=1,
    )
    centroids = sums / np.maximum(counts, 1)[:, None]
    spread = np.sqrt(np.einsum("ij,ij->i", x - centroids[labels], x - centroids[labels]))
    intra = (np.bincount(labels, weights=spread, minlength=counts.size) / np.maximum(counts, 1))[
        present
    ]
    c = centroids[present]
    apart = np.sqrt(((c[:, None, :] - c[None, :, :]) ** 2).sum(axis=2))
    if np.allclose(intra, 0) or np.allclose(apart, 0):
        return 0.0
    apart[apart == 0] = np.inf
    return float(np.mean(np.max((intra[:, None] + intra[None, :]) / apart, axis=1)))


def fit_rows(n: int, config: SelectKConfig) -> np.ndarray | None:
    """Sorted rows the sweep's models are fitted on: a seeded sample of ``config.fit_sample``
    of the ``n`` customers for the K-means family above that size, else None (all)."""
    size = config.fit_sample
    if config.algorithm not in SAMPLED_SWEEP_ALGORITHMS or size is None or n <= size:
        return None
    rng = np.random.default_rng(config.random_state)
    return np.sort(rng.choice(n, size=size, replace=False))


def _assigned(x: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, float]:
    """Each row's nearest centre and the sum of squared distances to it (the inertia)."""
    labels = nearest_center(x, centers)
    gap = x - centers[labels]
    return labels, float(np.einsum("ij,ij->", gap, gap))


def _knee(ks: list[int], inertia: list[float]) -> int | None:
    if len(ks) < 3:
        return None
    with warnings.catch_warnings():
        # kneed warns when the curve has no elbow; None says the same.
        warnings.filterwarnings("ignore", category=UserWarning, module="kneed")
        knee = KneeLocator(ks, inertia, curve="convex", direction="decreasing").knee
    return None if knee is None else int(knee)


def _score_k(
    x: np.ndarray,
    k: int,
    config: SelectKConfig,
    tree: HierarchicalTree | None,
    rows: np.ndarray | None = None,
) -> tuple[dict[str, float | int | bool | None], int | None]:
    """One row of the sweep (the model at ``k`` and every criterion from it), and the size of
    the silhouette sample (None when every customer was used). ``rows``: the rows the model
    is fitted on (:func:`fit_rows`; None: all), every customer then assigned to its nearest
    centre."""
    n = x.shape[0]
    bic: float | None = None
    if tree is not None:
        labels = tree.labels(k)
        inertia = within_ss(x, labels, k)
    elif rows is not None:
        raw = fit_raw(x[rows], config.model_config(config.k_range[0]), k=k)
        labels, inertia = _assigned(x, raw.centers)
    else:
        raw = fit_raw(x, config.model_config(config.k_range[0]), k=k)
        labels = raw.labels
        if config.algorithm == "gmm":
            bic = float(raw.model.bic(x))
            inertia = within_ss(x, labels, k)
        else:
            inertia = float(raw.model.inertia_)
    labels = np.asarray(labels, dtype=np.int64)
    sizes = np.bincount(labels, minlength=k)
    n_found = int(np.count_nonzero(sizes))
    sample = None
    if n > config.silhouette_sample:
        sample = stratified_sample(
            labels, config.silhouette_sample, random_state=config.random_state
        )
    if n_found < 2:
        sil = ch = db = None
    else:
        xs = x if sample is None else x[sample]
        ls = labels if sample is None else labels[sample]
        # The sample is small whatever n is: one native thread is fastest, and never
        # oversubscribes when the other core is busy.
        with threadpool_limits(limits=1):
            sil = float(np.mean(silhouette_values(xs, ls)))
        ch = float(calinski_harabasz_score(x, labels))
        db = davies_bouldin(x, labels)
    share = float(sizes.min() / n)
    row = {
        "k": k,
        "inertia": inertia,
        "silhouette": sil,
        "calinski_harabasz": ch,
        "davies_bouldin": db,
        "bic": bic,
        "min_share": share,
        "eligible": share >= config.min_share
        and (config.max_segments is None or k <= config.max_segments),
    }
    return row, None if sample is None else int(sample.size)


def choose_k(
    features: pl.DataFrame | pl.LazyFrame | np.ndarray,
    preprocess: PreprocessConfig | None = None,
    config: SelectKConfig | None = None,
    *,
    checkpoint: Checkpoint | None = None,
    **options: Any,
) -> KSelection:
    """Sweep k and recommend a number of segments.

    Parameters
    ----------
    features:
        Customer feature table (preprocessed with ``preprocess``, excluded customers
        dropped), or an already scaled n x d matrix.
    preprocess:
        Preprocessing for a table (default :class:`PreprocessConfig`); ignored for a matrix.
    config:
        The k axis, model and business limits (:class:`SelectKConfig`, which validates them).
    checkpoint:
        Called before each k is fitted (a background job stops there when cancelled).
    **options:
        Instead of ``config``: its fields by name (``k_range=range(2, 8)``, ``algorithm=...``).

    The k values are fitted side by side on large data (:mod:`core.clustering.parallel`),
    with the results of fitting them one after the other.
    """
    config = config_from(SelectKConfig, config, options, caller="choose_k")
    ks = list(config.k_range)
    algorithm, linkage, random_state = config.algorithm, config.linkage, config.random_state
    min_share, max_segments = config.min_share, config.max_segments
    x = _scaled(features, preprocess)
    check_data(x, k=max(ks))
    n = x.shape[0]
    sampled = fit_rows(n, config)
    with threadpool_limits(limits=n_threads(n)):
        tree = (
            build_tree(x, linkage=linkage, random_state=random_state)
            if algorithm == "hierarchical"
            else None
        )
        scored = ordered_map(
            lambda k: _score_k(x, k, config, tree, sampled),
            ks,
            workers=workers_for(n),
            checkpoint=checkpoint,
        )
    rows = [row for row, _ in scored]
    # The note states the last k's sample size (stratification may add a row or two per k).
    stratified_sample_size = scored[-1][1]
    table = pl.DataFrame(rows, schema=_SWEEP_SCHEMA)
    knee = _knee(ks, [float(r["inertia"]) for r in rows])  # type: ignore[arg-type]
    if stratified_sample_size is None:
        note = f"silhouette computed on all {n:,} customers"
    else:
        note = (
            f"silhouette computed on a sample of {stratified_sample_size:,} of {n:,} customers, "
            f"stratified by segment (seed {random_state})"
        )
    fit_note = (
        f"models fitted on all {n:,} customers"
        if sampled is None
        else f"models fitted on {sampled.size:,} customers drawn from the {n:,} (seed "
        f"{random_state}), every customer scored"
    )
    recommended, reason, disagreement, picks = _recommend(
        table, knee=knee, min_share=min_share, max_segments=max_segments
    )
    return KSelection(
        table=table,
        knee=knee,
        recommended_k=recommended,
        reason=reason,
        disagreement=disagreement,
        picks=picks,
        silhouette_note=note,
        silhouette_sample_size=stratified_sample_size,
        n_customers=n,
        algorithm=algorithm,
        fit_note=fit_note,
        fit_sample_size=None if sampled is None else int(sampled.size),
    )


_SWEEP_SCHEMA = {
    "k": pl.Int64(),
    "inertia": pl.Float64(),
    "silhouette": pl.Float64(),
    "calinski_harabasz": pl.Float64(),
    "davies_bouldin": pl.Float64(),
    "bic": pl.Float64(),
    "min_share": pl.Float64(),
    "eligible": pl.Boolean(),
}


def _scaled(
    features: pl.DataFrame | pl.LazyFrame | np.ndarray, preprocess: PreprocessConfig | None
) -> np.ndarray:
    """The matrix :func:`choose_k` sweeps: a table preprocessed with ``preprocess``, or a
    matrix given already scaled (checked 2-D and finite)."""
    if isinstance(features, np.ndarray):
        x = np.ascontiguousarray(features, dtype=np.float64)
        if x.ndim != 2 or not np.isfinite(x).all():
            raise ConfigError(
                "a matrix passed to choose_k must be 2-D and finite (already preprocessed)",
                hint="Pass the customer feature table with a PreprocessConfig instead.",
            )
        return x
    preprocess = preprocess if preprocess is not None else PreprocessConfig()
    frame, _ = prepare_customers(features, preprocess.features)
    return FeaturePreprocessor(preprocess).fit_transform(frame)


def _pick(table: pl.DataFrame, column: str, *, best: Literal["max", "min"]) -> int | None:
    valid = table.filter(pl.col(column).is_not_null())
    if valid.height == 0:
        return None
    key = pl.col(column) if best == "min" else -pl.col(column)
    # Ties go to the smaller k (fewer segments are easier to act on).
    return int(valid.sort([key, pl.col("k")]).get_column("k")[0])


def _ks_text(ks: list[int]) -> str:
    return ", ".join(str(k) for k in ks)


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _recommend(
    table: pl.DataFrame, *, knee: int | None, min_share: float, max_segments: int | None
) -> tuple[int | None, str, bool, dict[str, int]]:
    eligible = table.filter(pl.col("eligible"))
    limits = _limits(table, min_share=min_share, max_segments=max_segments)
    if eligible.height == 0:
        ks = table["k"].to_list()
        return (
            None,
            f"No k from {ks[0]} to {ks[-1]} meets the business limits. " + "; ".join(limits) + ".",
            False,
            {},
        )
    picks = _picks(eligible, knee)
    if not picks:
        k0 = int(eligible["k"][0])
        return k0, f"k = {k0}: the only criterion available is the smallest eligible k.", False, {}
    votes: dict[int, list[str]] = {}
    for name, k in picks.items():
        votes.setdefault(k, []).append(name)
    top = max(len(v) for v in votes.values())
    tied = sorted(k for k, v in votes.items() if len(v) == top)
    sil = dict(zip(eligible["k"].to_list(), eligible["silhouette"].to_list(), strict=True))
    recommended = max(tied, key=lambda k: (sil.get(k) or -2.0, -k))
    sil_value = sil.get(recommended)
    sil_text = f" (silhouette {sil_value:.2f})" if sil_value is not None else ""
    reason = _vote_reason(recommended, votes, tied=len(tied) > 1, sil_text=sil_text)
    if limits:
        reason += " " + "; ".join(limits) + "."
    return recommended, reason, len(votes) > 1, picks


def _limits(table: pl.DataFrame, *, min_share: float, max_segments: int | None) -> list[str]:
    """Why the ks that break the business limits are not recommended."""
    limits: list[str] = []
    too_small = table.filter(pl.col("min_share") < min_share)
    if too_small.height:
        shares = ", ".join(
            f"k = {k}: {s:.1%}" for k, s in zip(too_small["k"], too_small["min_share"], strict=True)
        )
        limits.append(
            f"k = {_ks_text(too_small['k'].to_list())} not recommended: the smallest segment "
            f"would hold less than the minimum share of {min_share:.1%} of customers ({shares})"
        )
    if max_segments is not None:
        too_many = table.filter(pl.col("k") > max_segments)
        if too_many.height:
            limits.append(
                f"k = {_ks_text(too_many['k'].to_list())} not recommended: more than the "
                f"maximum of {max_segments} segments"
            )
    return limits


def _picks(eligible: pl.DataFrame, knee: int | None) -> dict[str, int]:
    """The k each criterion picks among the eligible ones (the knee if it is eligible)."""
    picks: dict[str, int] = {}
    for name, best in (
        ("silhouette", "max"),
        ("calinski_harabasz", "max"),
        ("davies_bouldin", "min"),
        ("bic", "min"),
    ):
        k = _pick(eligible, name, best=best)  # type: ignore[arg-type]
        if k is not None:
            picks[name] = k
    if knee is not None and knee in set(eligible["k"].to_list()):
        picks["knee"] = knee
    return picks


def _vote_reason(
    recommended: int, votes: dict[int, list[str]], *, tied: bool, sil_text: str
) -> str:
    """Why ``recommended`` won the criteria's ``votes`` (k -> criteria), and where they split
    (``tied``: several ks had the most votes)."""
    chosen_by = [CRITERIA_LABELS[c] for c in votes[recommended]]
    if len(votes) == 1:
        return (
            f"k = {recommended} is recommended{sil_text}: {_join(chosen_by)} all point to it."
            if len(chosen_by) > 1
            else f"k = {recommended} is recommended{sil_text}: {chosen_by[0]} points to it."
        )
    if tied:
        split = "; ".join(
            f"{_join([CRITERIA_LABELS[c] for c in v])}: k = {k}" for k, v in sorted(votes.items())
        )
        head = (
            f"k = {recommended} is recommended{sil_text}: the criteria split ({split}), "
            "so the tie is broken by the higher silhouette."
        )
    else:
        others = "; ".join(
            f"{_join([CRITERIA_LABELS[c] for c in v])} prefer{'s' if len(v) == 1 else ''} k = {k}"
            for k, v in sorted(votes.items())
            if k != recommended
        )
        n_picks = sum(len(v) for v in votes.values())
        head = (
            f"k = {recommended} is recommended{sil_text}: chosen by {_join(chosen_by)} "
            f"({len(chosen_by)} of {n_picks} criteria); {others}."
        )
    return head + (
        " The criteria disagree: compare the segment profiles for these k before deciding."
    )
