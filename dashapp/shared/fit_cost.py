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

The Compare page's hierarchical tree has its own constants (:data:`TREE_COSTS`, measured by
the same script): it does not depend on k, and its method changes with the number of
customers (exact, quadratic, up to the linkage's limit; two-stage above), so each method is
measured where it runs.
"""

from __future__ import annotations

from collections.abc import Iterable

from core.clustering.config import BOOTSTRAP_MAX
from core.clustering.hierarchical import exact_limit

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
# How the Compare page's tree is built: exact up to the linkage's limit, two-stage above it.
TREE_METHODS: tuple[str, ...] = ("exact", "two_stage")

# --- measured by bench/bench_fit_cost.py (CPU-seconds; see bench/README.md) ---------------------
REFERENCE_CUSTOMERS = 8000
SECONDS: dict[tuple[str, str], dict[int, float]] = {
    ("kmeans", "sweep"): {4: 1.60, 10: 1.64, 30: 5.50},
    ("kmeans", "fit"): {4: 0.24, 10: 0.27, 30: 0.35},
    ("kmeans", "stability"): {4: 1.52, 10: 2.04, 30: 1.93},
    ("minibatch", "sweep"): {4: 1.85, 10: 1.50, 30: 5.13},
    ("minibatch", "fit"): {4: 0.24, 10: 0.24, 30: 0.32},
    ("minibatch", "stability"): {4: 1.78, 10: 1.45, 30: 1.84},
    ("hierarchical/ward", "sweep"): {4: 1.45, 10: 1.44, 30: 4.58},
    ("hierarchical/ward", "fit"): {4: 0.35, 10: 0.38, 30: 0.48},
    ("hierarchical/ward", "stability"): {4: 2.34, 10: 2.76, 30: 2.98},
    ("hierarchical/complete", "sweep"): {4: 6.82, 10: 4.92, 30: 13.71},
    ("hierarchical/complete", "fit"): {4: 3.52, 10: 3.11, 30: 4.19},
    ("hierarchical/complete", "stability"): {4: 32.92, 10: 39.63, 30: 22.68},
    ("hierarchical/average", "sweep"): {4: 6.02, 10: 6.23, 30: 11.32},
    ("hierarchical/average", "fit"): {4: 6.00, 10: 5.56, 30: 3.80},
    ("hierarchical/average", "stability"): {4: 31.48, 10: 36.78, 30: 29.54},
    ("gmm", "sweep"): {4: 2.67, 10: 2.99, 30: 17.29},
    ("gmm", "fit"): {4: 0.50, 10: 0.79, 30: 2.91},
    ("gmm", "stability"): {4: 4.97, 10: 8.09, 30: 28.92},
    ("hdbscan", "sweep"): {0: 0.00},
    ("hdbscan", "fit"): {0: 0.52},
    ("hdbscan", "stability"): {0: 3.57},
}
GROWTH: dict[tuple[str, str], float] = {
    ("kmeans", "sweep"): 1.08,
    ("kmeans", "fit"): 0.82,
    ("kmeans", "stability"): 1.34,
    ("minibatch", "sweep"): 0.88,
    ("minibatch", "fit"): 0.70,
    ("minibatch", "stability"): 1.04,
    ("hierarchical/ward", "sweep"): 1.04,
    ("hierarchical/ward", "fit"): 1.10,
    ("hierarchical/ward", "stability"): 1.59,
    ("hierarchical/complete", "sweep"): 1.82,
    ("hierarchical/complete", "fit"): 1.88,
    ("hierarchical/complete", "stability"): 2.78,
    ("hierarchical/average", "sweep"): 1.85,
    ("hierarchical/average", "fit"): 2.55,
    ("hierarchical/average", "stability"): 2.78,
    ("gmm", "sweep"): 1.02,
    ("gmm", "fit"): 1.00,
    ("gmm", "stability"): 1.05,
    ("hdbscan", "sweep"): 1.00,
    ("hdbscan", "fit"): 1.16,
    ("hdbscan", "stability"): 1.58,
}
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
    if stage == "stability":
        # Each bootstrap refit draws at most BOOTSTRAP_MAX customers, whatever the table's size.
        customers = min(customers, BOOTSTRAP_MAX)
        value *= refits / MEASURED_REFITS
    value *= (customers / REFERENCE_CUSTOMERS) ** GROWTH.get((model, stage), 1.0)
    return max(value, 0.0)


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
    "STAGES",
    "TREE_COSTS",
    "TREE_METHODS",
    "estimate_seconds",
    "model_name",
    "stage_seconds",
    "tree_seconds",
]
