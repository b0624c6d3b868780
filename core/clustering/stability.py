"""How much to trust a segmentation: refit agreement, per-segment stability, borderline customers.

Refits (bootstrap samples of customers, or other seeds on all customers) are compared with
the reference fit on the customers they share: overall agreement is the mean adjusted Rand
index; per-segment stability is Hennig's bootstrap Jaccard (for each reference segment, the
Jaccard similarity with its best-matching refit cluster, averaged over refits). Ratings:
>= 0.85 "stable", 0.6-0.85 "fairly stable", < 0.6 "unstable" (the overall rating applies the
same thresholds to the mean ARI, which is the stricter measure).

Above ``bootstrap_max`` customers (default 20,000) each bootstrap refit draws that many of
them with replacement rather than all n (an m-out-of-n bootstrap), and the summary says so. A
smaller sample makes the refits vary more, so the agreement measured is a little lower (more
cautious); bench/README.md ("stability") gives the measured effect and cost.

Preprocessing is held fixed (the reference fit's scaled matrix is resampled): what is assessed
is the clustering, not the scaling. Each refit uses seed ``random_state + 1 + i``, so both
sampling and initialisation contribute to the measured instability.

Borderline customers: silhouette below a threshold (default 0.05). Up to
``EXACT_SILHOUETTE_MAX`` customers the exact silhouette is used; above, the simplified
(centroid) silhouette ``(b - a) / max(a, b)`` with ``a`` the distance to the customer's own
segment centre and ``b`` to the nearest other centre, labelled as such.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import polars as pl
from sklearn.metrics import adjusted_rand_score

from core.clustering.config import BOOTSTRAP_MAX, ModelConfig, PreprocessConfig, StabilityConfig
from core.clustering.fit import Segmentation, fit_raw, fit_segmentation
from core.clustering.parallel import Checkpoint, ordered_map, workers_for
from core.clustering.select_k import silhouette_values
from core.columns import CUSTOMER
from core.errors import ConfigError

# Exact silhouette (O(n^2)) up to this many customers; above, the simplified one (O(n k)).
EXACT_SILHOUETTE_MAX = 10_000
SilhouetteMethod = Literal["exact", "centroid"]
SILHOUETTE_METHODS: tuple[SilhouetteMethod, ...] = ("exact", "centroid")
STABLE = 0.85
FAIRLY_STABLE = 0.6


def rating(value: float) -> str:
    """Plain-language rating of an agreement score in [0, 1]."""
    if value >= STABLE:
        return "stable"
    if value >= FAIRLY_STABLE:
        return "fairly stable"
    return "unstable"


@dataclass(frozen=True, eq=False)
class StabilityReport:
    """Result of :func:`stability`.

    Attributes
    ----------
    method:
        ``"bootstrap"`` or ``"seeds"``.
    n_runs:
        Refits compared with the reference.
    aris:
        ARI of each refit against the reference on the shared customers.
    ari_mean, ari_std:
        Their mean and standard deviation.
    rating:
        Overall rating from ``ari_mean``.
    per_segment:
        ``segment``, ``customers``, ``jaccard_mean``, ``jaccard_min``, ``rating``.
    per_segment_jaccard:
        ``jaccard_mean`` as a numpy array indexed by segment.
    silhouette:
        Per-customer silhouette aligned with ``reference.customer_ids`` (NaN for noise).
    silhouette_kind:
        ``"exact"`` or ``"simplified (centroid)"``.
    borderline:
        Customers with silhouette below the threshold: ``customer_id``, ``segment``,
        ``silhouette``, ``nearest_other_segment``; sorted by silhouette.
    borderline_ids:
        Their ids (sorted).
    borderline_threshold:
        The silhouette threshold used.
    summary:
        Plain-language summary.
    reference:
        The reference segmentation.
    sample_size:
        Customers drawn for each bootstrap refit when fewer than all (``bootstrap_max``);
        None when each refit drew n of the n customers or refit all of them.
    """

    method: str
    n_runs: int
    aris: tuple[float, ...]
    ari_mean: float
    ari_std: float
    rating: str
    per_segment: pl.DataFrame
    per_segment_jaccard: np.ndarray
    silhouette: np.ndarray
    silhouette_kind: str
    borderline: pl.DataFrame
    borderline_ids: np.ndarray
    borderline_threshold: float
    summary: str
    reference: Segmentation
    sample_size: int | None = None

    def describe(self, names: Sequence[str] | None = None) -> str:
        """The summary with segment ``i`` called ``names[i]`` (as the charts call it) rather
        than "segment i"."""
        return summarise(
            method=self.method,
            n_runs=self.n_runs,
            ari_mean=self.ari_mean,
            ari_std=self.ari_std,
            jaccard=self.per_segment_jaccard,
            n_borderline=int(self.borderline.height),
            n=int(self.silhouette.size),
            kind=self.silhouette_kind,
            threshold=self.borderline_threshold,
            names=names,
            sample_size=self.sample_size,
        )


def summarise(
    *,
    method: str,
    n_runs: int,
    ari_mean: float,
    ari_std: float,
    jaccard: np.ndarray,
    n_borderline: int,
    n: int,
    kind: str,
    threshold: float,
    names: Sequence[str] | None = None,
    sample_size: int | None = None,
) -> str:
    """Plain-language summary of a stability assessment (``names``: segment names, by number;
    ``sample_size``: customers drawn for each bootstrap refit, when fewer than ``n``)."""
    what = "bootstrap refits" if method == "bootstrap" else "refits with other seeds"
    if sample_size is not None:
        what += f" (each on {sample_size:,} customers drawn from the {n:,})"
    parts = [
        f"Across {n_runs} {what}, the segmentation agrees with itself at ARI "
        f"{ari_mean:.2f} ± {ari_std:.2f}: {rating(ari_mean)}."
    ]
    weak = [
        f"{names[s] if names is not None else f'segment {s}'} ({rating(float(v))}, Jaccard {v:.2f})"
        for s, v in enumerate(jaccard)
        if v < STABLE
    ]
    if weak:
        parts.append("Less reproducible: " + ", ".join(weak) + ".")
    else:
        parts.append("Every segment is reproduced (Jaccard >= 0.85).")
    parts.append(
        f"{n_borderline:,} of {n:,} customers ({n_borderline / max(n, 1):.1%}) are borderline "
        f"({kind} silhouette < {threshold:g})."
    )
    return " ".join(parts)


def best_jaccard(reference: np.ndarray, other: np.ndarray, k: int) -> np.ndarray:
    """For each reference segment 0..k-1, the best Jaccard with a cluster of ``other``.

    Both arrays label the same customers; negative labels (noise) belong to no cluster.
    Segments absent from ``reference`` get NaN.
    """
    ok_ref = reference >= 0
    ok_other = other >= 0
    m = int(other[ok_other].max()) + 1 if ok_other.any() else 0
    size_ref = np.bincount(reference[ok_ref], minlength=k).astype(np.float64)
    size_other = np.bincount(other[ok_other], minlength=m).astype(np.float64)
    both = ok_ref & ok_other
    table = np.zeros((k, max(m, 1)))
    np.add.at(table, (reference[both], other[both]), 1.0)
    if m == 0:
        best = np.zeros(k)
    else:
        union = size_ref[:, None] + size_other[None, :] - table
        with np.errstate(invalid="ignore", divide="ignore"):
            best = np.nanmax(np.where(union > 0, table / union, 0.0), axis=1)
    return np.where(size_ref > 0, best, np.nan)


def silhouette_method(n: int) -> SilhouetteMethod:
    """How the report's per-customer silhouette is computed for ``n`` customers: exact up to
    :data:`EXACT_SILHOUETTE_MAX`, simplified (centroid) above."""
    return "exact" if n <= EXACT_SILHOUETTE_MAX else "centroid"


def customer_silhouette(
    segmentation: Segmentation, method: SilhouetteMethod | None = None
) -> tuple[np.ndarray, str, np.ndarray]:
    """Per-customer silhouette, its kind, and each customer's nearest other segment.

    ``method`` None: by the number of customers (:func:`silhouette_method`); a cost
    benchmark forces one. Noise customers get NaN and nearest segment -1.
    """
    x = segmentation.X
    labels = segmentation.labels
    centres = segmentation.centers_scaled
    n = x.shape[0]
    d = np.sqrt(
        np.maximum(
            np.einsum("ij,ij->i", x, x)[:, None]
            - 2.0 * x @ centres.T
            + np.einsum("ij,ij->i", centres, centres)[None, :],
            0.0,
        )
    )
    valid = labels >= 0
    own = np.where(valid, labels, 0)
    d_other = d.copy()
    d_other[np.arange(n), own] = np.inf
    nearest_other = np.where(valid, np.argmin(d_other, axis=1), -1)
    sil = np.full(n, np.nan)
    if segmentation.k < 2:
        return sil, "undefined (one segment)", nearest_other
    if (method or silhouette_method(n)) == "exact":
        sil[valid] = silhouette_values(x[valid], labels[valid])
        return sil, "exact", nearest_other
    a = d[np.arange(n), own]
    b = d_other.min(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        simple = np.where(np.maximum(a, b) > 0, (b - a) / np.maximum(a, b), 0.0)
    sil[valid] = simple[valid]
    return sil, "simplified (centroid)", nearest_other


def _draws(
    n: int, n_boot: int, method: str, random_state: int, *, size: int
) -> Iterator[tuple[int, np.ndarray | None]]:
    """Each refit's number and customers (``size`` rows of the ``n`` drawn with replacement;
    None: all of them), drawn in refit order from one seeded generator, one refit at a time."""
    rng = np.random.default_rng(random_state)
    for i in range(n_boot):
        yield i, (rng.integers(0, n, size=size) if method == "bootstrap" else None)


def _refit(ref: Segmentation, i: int, idx: np.ndarray | None) -> tuple[float, np.ndarray]:
    """Refit ``i`` (seed ``random_state + 1 + i``) on the rows ``idx`` of the reference's
    matrix (all rows when None): its ARI against the reference on the customers it shares,
    and the best Jaccard of each reference segment."""
    model = ref.model_config
    refit = replace(model, random_state=model.random_state + 1 + i)
    if idx is not None:
        raw = fit_raw(ref.X[idx], refit)
        shared, first = np.unique(idx, return_index=True)
        other = raw.labels[first]
    else:
        shared = np.arange(ref.X.shape[0])
        other = fit_raw(ref.X, refit).labels
    ref_labels = ref.labels[shared]
    ari = float(adjusted_rand_score(ref_labels, other))
    return ari, best_jaccard(ref_labels, np.asarray(other, dtype=np.int64), ref.k)


def stability(
    features: pl.DataFrame | pl.LazyFrame,
    preprocess: PreprocessConfig | None = None,
    model: ModelConfig | None = None,
    *,
    n_boot: int = 10,
    method: Literal["bootstrap", "seeds"] = "bootstrap",
    random_state: int = 0,
    borderline_threshold: float = 0.05,
    bootstrap_max: int | None = BOOTSTRAP_MAX,
    reference: Segmentation | None = None,
    checkpoint: Checkpoint | None = None,
) -> StabilityReport:
    """Assess a segmentation by refitting it ``n_boot`` times.

    Parameters
    ----------
    features, preprocess, model:
        As for :func:`~core.clustering.fit.fit_segmentation` (the reference fit).
    n_boot:
        Number of refits (2..200).
    method:
        ``"bootstrap"``: refit on customers drawn with replacement and compare on the
        customers drawn; ``"seeds"``: refit all customers with other seeds (meaningless for
        deterministic fits, refused for HDBSCAN and exact hierarchical clustering).
    random_state:
        Seed of the bootstrap draws; refit i uses ``model.random_state + 1 + i``.
    borderline_threshold:
        Customers whose silhouette is below this are listed as borderline.
    bootstrap_max:
        Customers drawn for each bootstrap refit: n up to this many, else this many of the n
        (None: always n).
    reference:
        An already fitted reference (must come from the same features and configs);
        fitted here when None.
    checkpoint:
        Called before each refit (a background job stops there when cancelled).

    Refits run side by side on large data (:mod:`core.clustering.parallel`), with the
    results of running them one after the other.
    """
    # One validation of these options: StabilityConfig (also the service's cache key).
    StabilityConfig(
        n_boot=n_boot,
        method=method,
        random_state=random_state,
        borderline_threshold=borderline_threshold,
        bootstrap_max=bootstrap_max,
    )
    ref = reference if reference is not None else fit_segmentation(features, preprocess, model)
    model = ref.model_config
    if method == "seeds" and (model.algorithm == "hdbscan" or ref.method.endswith("-exact")):
        raise ConfigError(
            f"{ref.method} does not depend on the seed, so refits with other seeds always agree",
            hint="Use method='bootstrap' to assess this segmentation.",
        )
    n = ref.X.shape[0]
    k = ref.k
    size = n if bootstrap_max is None else min(n, bootstrap_max)
    compared = ordered_map(
        lambda draw: _refit(ref, *draw),
        _draws(n, n_boot, method, random_state, size=size),
        workers=workers_for(n),
        checkpoint=checkpoint,
    )
    jaccards = np.array([jaccard for _, jaccard in compared]).reshape(n_boot, k)
    return _report(
        ref,
        method=method,
        aris=[ari for ari, _ in compared],
        jaccards=jaccards,
        borderline_threshold=borderline_threshold,
        sampled=size if method == "bootstrap" and size < n else None,
    )


def _report(
    ref: Segmentation,
    *,
    method: Literal["bootstrap", "seeds"],
    aris: list[float],
    jaccards: np.ndarray,
    borderline_threshold: float,
    sampled: int | None,
) -> StabilityReport:
    """The report of the refits' agreement with ``ref`` (``aris``; ``jaccards``: refit x
    segment) and of its customers' silhouettes; ``sampled``: customers drawn per bootstrap
    refit when fewer than all."""
    n_boot = len(aris)
    n = ref.X.shape[0]
    per_segment, jac_mean = _per_segment(ref, jaccards)
    sil, kind, nearest = customer_silhouette(ref)
    flagged = np.flatnonzero(sil < borderline_threshold)
    borderline = _borderline(ref, flagged, sil, nearest)
    ari_mean = float(np.mean(aris))
    ari_std = float(np.std(aris))
    overall = rating(ari_mean)
    return StabilityReport(
        method=method,
        n_runs=n_boot,
        aris=tuple(aris),
        ari_mean=ari_mean,
        ari_std=ari_std,
        rating=overall,
        per_segment=per_segment,
        per_segment_jaccard=jac_mean,
        silhouette=sil,
        silhouette_kind=kind,
        borderline=borderline,
        borderline_ids=np.sort(ref.customer_ids[flagged]),
        borderline_threshold=float(borderline_threshold),
        summary=summarise(
            method=method,
            n_runs=n_boot,
            ari_mean=ari_mean,
            ari_std=ari_std,
            jaccard=jac_mean,
            n_borderline=int(flagged.size),
            n=n,
            kind=kind,
            threshold=borderline_threshold,
            sample_size=sampled,
        ),
        reference=ref,
        sample_size=sampled,
    )


def _per_segment(ref: Segmentation, jaccards: np.ndarray) -> tuple[pl.DataFrame, np.ndarray]:
    """Per-segment stability from the refits' Jaccard similarities (refit x segment; NaN where
    a refit drew none of the segment's customers), and the mean per segment."""
    with np.errstate(invalid="ignore"):
        jac_mean = np.nanmean(np.where(np.isnan(jaccards), np.nan, jaccards), axis=0)
    jac_min = np.nanmin(jaccards, axis=0)
    table = pl.DataFrame(
        {
            "segment": np.arange(ref.k),
            "customers": ref.sizes,
            "jaccard_mean": jac_mean,
            "jaccard_min": jac_min,
            "rating": [rating(float(v)) for v in jac_mean],
        },
        schema={
            "segment": pl.Int64(),
            "customers": pl.Int64(),
            "jaccard_mean": pl.Float64(),
            "jaccard_min": pl.Float64(),
            "rating": pl.String(),
        },
    )
    return table, jac_mean


def _borderline(
    ref: Segmentation, flagged: np.ndarray, sil: np.ndarray, nearest: np.ndarray
) -> pl.DataFrame:
    """The ``flagged`` customers (positions in ``ref``) with their segment, silhouette and
    nearest other segment, lowest silhouette first."""
    return pl.DataFrame(
        {
            CUSTOMER: ref.customer_ids[flagged],
            "segment": ref.labels[flagged],
            "silhouette": sil[flagged],
            "nearest_other_segment": nearest[flagged],
        },
        schema={
            CUSTOMER: pl.String(),
            "segment": pl.Int64(),
            "silhouette": pl.Float64(),
            "nearest_other_segment": pl.Int64(),
        },
    ).sort(["silhouette", CUSTOMER])
