"""What a fit will cost, estimated before it runs: whether it may run during a page request.

A fit that is not cached yet runs either during the request that asks for it (the page fills
at once) or as a background job (:mod:`dashapp.background`: a bounded queue, a progress bar,
Cancel). The choice is made on its estimated cost in CPU-seconds, not on the number of
customers alone: at 8,000 customers a K-means fit with its k sweep and stability refits costs
a few seconds while a Gaussian mixture with k = 30 costs ten times more.

The constants are measured by ``bench/bench_fit_cost.py`` (which prints them): the
CPU-seconds of each stage of the Model page's workflow (the k sweep, one fit with its profiles
and top products, the stability refits) per model and k at :data:`REFERENCE_CUSTOMERS`, and
how each grows with the number of customers (an exponent derived from two sizes). Between
measured values of k the cost is interpolated linearly; beyond them, extrapolated from the
nearest two (never below the nearest measured value).

The stability stage is two costs with their own regimes: the bootstrap refits (each draws at
most ``BOOTSTRAP_MAX`` customers, so they stop growing there) and the report's per-customer
silhouette on every customer, exact (quadratic) up to ``EXACT_SILHOUETTE_MAX`` customers and
by centroid (linear, far cheaper) above: :data:`SILHOUETTE_SECONDS` per method, measured by
the same script with each method forced, so the estimate is right on both sides of the switch.

The Compare page's hierarchical tree has its own constants (:data:`TREE_COSTS`, measured by
the same script): it does not depend on k, and its method changes with the number of
customers (exact, quadratic, up to the linkage's limit; two-stage above), so each method is
measured where it runs.
"""

from __future__ import annotations

from collections.abc import Iterable

from core.clustering.config import BOOTSTRAP_MAX
from core.clustering.hierarchical import exact_limit
from core.clustering.stability import silhouette_method

STAGES: tuple[str, ...] = ("sweep", "fit", "stability")
# Models with their own costs: the algorithms, hierarchical clustering per linkage.
MODELS: tuple[str, ...] = (
    "kmeans",
    "minibatch",
    "hierarchical/ward",
    "hierarchical/complete",
    "hierarchical/average",
    "gmm",
    "hdbscan",
)
MEASURED_REFITS = 10  # stability refits in the measurement (the Model page's)
# SECONDS' "stability" rows are the refits alone; the report's silhouette is SILHOUETTE_SECONDS.
# How the Compare page's tree is built: exact up to the linkage's limit, two-stage above it.
TREE_METHODS: tuple[str, ...] = ("exact", "two_stage")

# --- measured by bench/bench_fit_cost.py (CPU-seconds; see bench/README.md) ---------------------
REFERENCE_CUSTOMERS = 8000
SECONDS: dict[tuple[str, str], dict[int, float]] = {
    ("kmeans", "sweep"): {4: 0.64, 10: 0.71, 30: 2.76},
    ("kmeans", "fit"): {4: 0.13, 10: 0.18, 30: 0.25},
    ("kmeans", "stability"): {4: 0.16, 10: 0.26, 30: 0.60},
    ("minibatch", "sweep"): {4: 0.85, 10: 0.89, 30: 3.07},
    ("minibatch", "fit"): {4: 0.14, 10: 0.17, 30: 0.22},
    ("minibatch", "stability"): {4: 0.27, 10: 0.36, 30: 0.47},
    ("hierarchical/ward", "sweep"): {4: 0.85, 10: 0.87, 30: 2.67},
    ("hierarchical/ward", "fit"): {4: 0.29, 10: 0.32, 30: 0.36},
    ("hierarchical/ward", "stability"): {4: 1.67, 10: 1.68, 30: 1.73},
    ("hierarchical/complete", "sweep"): {4: 6.20, 10: 2.89, 30: 4.91},
    ("hierarchical/complete", "fit"): {4: 1.31, 10: 1.36, 30: 2.45},
    ("hierarchical/complete", "stability"): {4: 20.74, 10: 19.40, 30: 18.76},
    ("hierarchical/average", "sweep"): {4: 1.83, 10: 3.06, 30: 4.81},
    ("hierarchical/average", "fit"): {4: 2.28, 10: 2.71, 30: 3.73},
    ("hierarchical/average", "stability"): {4: 19.00, 10: 17.04, 30: 17.88},
    ("gmm", "sweep"): {4: 1.58, 10: 1.56, 30: 10.27},
    ("gmm", "fit"): {4: 0.34, 10: 0.52, 30: 2.06},
    ("gmm", "stability"): {4: 2.91, 10: 4.90, 30: 21.39},
    ("hdbscan", "sweep"): {0: 0.00},
    ("hdbscan", "fit"): {0: 0.45},
    ("hdbscan", "stability"): {0: 2.20},
}
GROWTH: dict[tuple[str, str], float] = {
    ("kmeans", "sweep"): 0.96,
    ("kmeans", "fit"): 0.70,
    ("kmeans", "stability"): 0.65,
    ("minibatch", "sweep"): 0.81,
    ("minibatch", "fit"): 0.57,
    ("minibatch", "stability"): 0.47,
    ("hierarchical/ward", "sweep"): 1.05,
    ("hierarchical/ward", "fit"): 0.76,
    ("hierarchical/ward", "stability"): 1.64,
    ("hierarchical/complete", "sweep"): 1.81,
    ("hierarchical/complete", "fit"): 2.00,
    ("hierarchical/complete", "stability"): 2.62,
    ("hierarchical/average", "sweep"): 1.55,
    ("hierarchical/average", "fit"): 2.42,
    ("hierarchical/average", "stability"): 2.70,
    ("gmm", "sweep"): 0.81,
    ("gmm", "fit"): 0.87,
    ("gmm", "stability"): 0.95,
    ("hdbscan", "sweep"): 1.00,
    ("hdbscan", "fit"): 1.21,
    ("hdbscan", "stability"): 1.54,
}
# The stability report's per-customer silhouette on every customer, per method and k.
SILHOUETTE_SECONDS: dict[str, dict[int, float]] = {
    "exact": {4: 0.257, 10: 0.303, 30: 0.402},
    "centroid": {4: 0.001, 10: 0.002, 30: 0.005},
}
SILHOUETTE_GROWTH: dict[str, float] = {"exact": 2.09, "centroid": 1.07}
# The Compare page's tree per (linkage, method): (customers measured, CPU-seconds, growth).
TREE_COSTS: dict[tuple[str, str], tuple[int, float, float]] = {
    ("ward", "exact"): (29939, 2.38, 1.79),
    ("ward", "two_stage"): (39923, 1.59, 0.20),
    ("complete", "exact"): (9979, 8.16, 3.00),
    ("complete", "two_stage"): (39923, 1.51, 0.19),
    ("average", "exact"): (9979, 10.41, 3.00),
    ("average", "two_stage"): (39923, 1.49, 0.18),
}
# ------------------------------------------------------------------------------------------------


def model_name(algorithm: str, linkage: str) -> str:
    """The cost table's name of a model (hierarchical clustering per linkage)."""
    return f"{algorithm}/{linkage}" if algorithm == "hierarchical" else algorithm


def _at_k(cells: dict[int, float], k: int) -> float:
    """The measured cost at ``k``, interpolated linearly between measured values of k and
    extrapolated beyond them from the nearest two (never below the nearest measurement)."""
    ks = sorted(cells)
    if len(ks) == 1:
        return cells[ks[0]]
    if k <= ks[0]:
        low, high = ks[0], ks[1]
    elif k >= ks[-1]:
        low, high = ks[-2], ks[-1]
    else:
        high = next(m for m in ks if m >= k)
        low = ks[ks.index(high) - 1]
    slope = (cells[high] - cells[low]) / (high - low)
    value = cells[low] + slope * (k - low)
    nearest = cells[min(ks, key=lambda m: abs(m - k))]
    return max(value, nearest) if k < ks[0] or k > ks[-1] else value


def stage_seconds(
    stage: str,
    *,
    customers: int,
    algorithm: str,
    linkage: str = "ward",
    k: int,
    refits: int = MEASURED_REFITS,
) -> float:
    """Estimated CPU-seconds of one stage (:data:`STAGES`) of the workflow."""
    model = model_name(algorithm, linkage)
    cells = SECONDS.get((model, stage))
    if not cells or customers <= 0:
        return 0.0
    value = _at_k(cells, 0 if algorithm == "hdbscan" else k)
    if stage != "stability":
        return max(value * _grown(customers, GROWTH.get((model, stage), 1.0)), 0.0)
    # Each bootstrap refit draws at most BOOTSTRAP_MAX customers, whatever the table's size;
    # the report's silhouette covers every customer.
    value *= refits / MEASURED_REFITS
    value *= _grown(min(customers, BOOTSTRAP_MAX), GROWTH.get((model, stage), 1.0))
    return max(value, 0.0) + silhouette_seconds(customers=customers, k=k)


def _grown(customers: int, growth: float) -> float:
    """How much a cost measured at :data:`REFERENCE_CUSTOMERS` grows at ``customers``."""
    return (customers / REFERENCE_CUSTOMERS) ** growth


def silhouette_seconds(*, customers: int, k: int) -> float:
    """Estimated CPU-seconds of the stability report's per-customer silhouette: exact
    (quadratic) up to the exact limit, by centroid above it."""
    if customers <= 1:
        return 0.0
    method = silhouette_method(customers)
    value = _at_k(SILHOUETTE_SECONDS[method], max(k, 2))
    return max(value * _grown(customers, SILHOUETTE_GROWTH[method]), 0.0)


def estimate_seconds(
    stages: Iterable[str],
    *,
    customers: int,
    algorithm: str,
    linkage: str = "ward",
    k: int,
    refits: int = MEASURED_REFITS,
) -> float:
    """Estimated CPU-seconds of ``stages`` (those not cached yet) for these settings."""
    return sum(
        stage_seconds(
            stage, customers=customers, algorithm=algorithm, linkage=linkage, k=k, refits=refits
        )
        for stage in stages
    )


def tree_seconds(*, customers: int, linkage: str) -> float:
    """Estimated CPU-seconds of the Compare page's hierarchical tree (one fit, whatever k):
    exact up to the linkage's limit (quadratic), two-stage above it (micro-clusters first)."""
    if customers <= 1:
        return 0.0
    method = "exact" if customers <= exact_limit(linkage) else "two_stage"
    cell = TREE_COSTS.get((linkage, method))
    if cell is None:
        return 0.0
    measured, seconds, growth = cell
    return seconds * (customers / measured) ** growth


__all__ = [
    "GROWTH",
    "MEASURED_REFITS",
    "MODELS",
    "REFERENCE_CUSTOMERS",
    "SECONDS",
    "SILHOUETTE_GROWTH",
    "SILHOUETTE_SECONDS",
    "STAGES",
    "TREE_COSTS",
    "TREE_METHODS",
    "estimate_seconds",
    "model_name",
    "silhouette_seconds",
    "stage_seconds",
    "tree_seconds",
]
