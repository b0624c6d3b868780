"""Hierarchical clustering at any size: exact linkage or a two-stage approximation.

Exact linkage uses fastcluster: ``linkage_vector`` for Ward (O(n) memory, time growing
faster than n) and ``linkage`` for complete / average (the O(n^2) distance matrix, so memory
and time grow with the square of n). Hence the limits ``EXACT_WARD_MAX_N`` (30,000) and
``EXACT_PAIRWISE_MAX_N`` (10,000) in :mod:`core.clustering.config`, the higher one for Ward.

Above them the two-stage method runs: MiniBatch K-means makes ``n_micro`` micro-clusters
(1,000 by default), then a size-weighted agglomeration of the micro-cluster centres
(Lance-Williams recurrence started from the micro-cluster sizes) builds the tree, and each
customer takes the segment of its micro-cluster. For Ward this second stage is exact given
the micro-clusters: the Ward cost of merging two groups depends only on their sizes and
centroids. For complete / average it approximates point-to-point distances by
centre-to-centre distances (size-weighted for average).

Linkage matrices follow scipy's format (``n_leaves - 1`` rows of ``[a, b, height, n_leaves]``)
so scipy's dendrogram helpers apply; in the two-stage case leaves are micro-clusters and
``leaf_sizes`` gives the customers in each.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import fastcluster
import numpy as np
from scipy.cluster.hierarchy import dendrogram
from sklearn.cluster import MiniBatchKMeans
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from core.clustering.config import (
    DEFAULT_N_MICRO,
    EXACT_PAIRWISE_MAX_N,
    EXACT_WARD_MAX_N,
    LINKAGES,
    n_threads,
)
from core.errors import ConfigError, DataSufficiencyError


@dataclass(frozen=True, eq=False)
class HierarchicalTree:
    """A fitted hierarchy.

    Attributes
    ----------
    linkage:
        scipy-format linkage matrix over the leaves.
    method:
        ``"exact"`` (leaves = customers) or ``"two_stage"`` (leaves = micro-clusters).
    leaf_of:
        Leaf index of every customer (``arange(n)`` when exact).
    leaf_sizes:
        Customers per leaf (all ones when exact).
    leaf_centres:
        Leaf centres in scaled space (the customers themselves when exact).
    description:
        Plain-language description of how the tree was built.
    """

    linkage: np.ndarray
    method: str
    leaf_of: np.ndarray
    leaf_sizes: np.ndarray
    leaf_centres: np.ndarray
    description: str

    def labels(self, k: int) -> np.ndarray:
        """Per-customer cluster labels for k clusters (0..k-1 in order of first customer)."""
        per_customer = cut_k(self.linkage, k)[self.leaf_of]
        _, first, inverse = np.unique(per_customer, return_index=True, return_inverse=True)
        rank = np.argsort(np.argsort(first))
        return rank[inverse].astype(np.int64)

    # --- queries on the tree (the Compare page's cuts and clicks) ---------------------------

    @property
    def n_leaves(self) -> int:
        """Leaves of the tree (customers when exact, micro-clusters when two-stage)."""
        return int(self.linkage.shape[0] + 1)

    def cut_height(self, k: int) -> tuple[float, bool]:
        """Cut height for ``k`` and whether it is exact (False: merges tie at this k, so the
        tied height is returned and no height gives exactly ``k``)."""
        try:
            return height_for_k(self.linkage, k), True
        except ConfigError:
            return float(self.linkage[self.n_leaves - k - 1, 2]), False

    def k_at_height(self, height: float, *, k_min: int, k_max: int) -> int:
        """k for a cut at ``height``, kept within ``k_min``..``k_max``."""
        return min(max(k_for_height(self.linkage, height), k_min), k_max)

    def height_range(self, k_max: int) -> tuple[float, float]:
        """Heights a cut can take to give 2..``k_max`` segments."""
        low = float(self.linkage[max(self.n_leaves - k_max - 1, 0), 2])
        return low, float(self.linkage[-1, 2])

    def node_leaves(self, node: int) -> np.ndarray:
        """Leaves under ``node`` (scipy numbering: a leaf is its own only leaf), sorted."""
        n = self.n_leaves
        if not 0 <= node < 2 * n - 1:
            raise ConfigError(f"the tree has no node {node}", hint="Click a node of the tree.")
        leaves: list[int] = []
        stack = [node]
        while stack:
            v = stack.pop()
            if v < n:
                leaves.append(v)
            else:
                row = self.linkage[v - n]
                stack += [int(row[0]), int(row[1])]
        return np.asarray(sorted(leaves), dtype=np.int64)

    def under(self, node: int) -> np.ndarray:
        """Mask of the customers under ``node``."""
        return np.isin(self.leaf_of, self.node_leaves(node))


def exact_limit(linkage: str) -> int:
    """Largest number of customers for which the exact linkage runs by default."""
    return EXACT_WARD_MAX_N if linkage == "ward" else EXACT_PAIRWISE_MAX_N


def exact_linkage(x: np.ndarray, linkage: str) -> np.ndarray:
    """Exact linkage matrix of the rows of ``x`` (Euclidean) with fastcluster."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    if linkage == "ward":
        return fastcluster.linkage_vector(x, method="ward", metric="euclidean")
    return fastcluster.linkage(x, method=linkage, metric="euclidean")


def weighted_linkage(centres: np.ndarray, sizes: np.ndarray, linkage: str) -> np.ndarray:
    """Agglomerate weighted points with the Lance-Williams recurrence.

    Each row of ``centres`` stands for ``sizes[i]`` identical customers. For ``"ward"`` the
    result equals exact Ward on the data with every centre repeated ``sizes[i]`` times (the
    zero-height merges of duplicates removed); with unit sizes it equals scipy's Ward. Heights
    follow scipy's convention (Ward height = sqrt(2 * increase in within-cluster sum of
    squares)).

    Parameters
    ----------
    centres:
        m x d leaf coordinates.
    sizes:
        m positive weights.
    linkage:
        ``"ward"``, ``"average"`` (size-weighted UPGMA) or ``"complete"``.

    Returns
    -------
    np.ndarray
        (m - 1) x 4 scipy linkage matrix; column 3 counts leaves, not customers.
    """
    if linkage not in LINKAGES:
        raise ConfigError(f"unknown linkage {linkage!r}", hint=f"Use one of {', '.join(LINKAGES)}.")
    centres = np.asarray(centres, dtype=np.float64)
    w = np.asarray(sizes, dtype=np.float64).copy()
    m = centres.shape[0]
    if m < 2:
        raise DataSufficiencyError(
            f"need at least 2 groups to build a hierarchy, got {m}",
            hint="Provide more customers.",
        )
    dist = _dissimilarities(centres, w, linkage)
    active = np.ones(m, dtype=bool)
    node = np.arange(m)
    n_leaves = np.ones(m)
    nn = np.argmin(dist, axis=1)
    nnd = dist[np.arange(m), nn]
    z = np.empty((m - 1, 4))
    for step in range(m - 1):
        i = int(np.argmin(nnd))
        j = int(nn[i])
        d = float(nnd[i])
        a, b = sorted((int(node[i]), int(node[j])))
        z[step] = (a, b, d, n_leaves[i] + n_leaves[j])
        new = _merged_row(dist, w, i, j, d=d, linkage=linkage)
        active[j] = False
        new[~active] = np.inf
        new[i] = np.inf
        dist[i, :] = new
        dist[:, i] = new
        dist[j, :] = np.inf
        dist[:, j] = np.inf
        w[i] += w[j]
        n_leaves[i] += n_leaves[j]
        node[i] = m + step
        nnd[j] = np.inf
        # Distances to the merged group never drop below both old ones (reducible linkages),
        # so only rows whose nearest neighbour was i or j, and row i itself, need a rescan.
        stale = active & ((nn == i) | (nn == j))
        stale[i] = True
        closer = active & ~stale & (new < nnd)
        nn[closer] = i
        nnd[closer] = new[closer]
        rows = np.flatnonzero(stale)
        if rows.size:
            sub = dist[rows]
            nn[rows] = np.argmin(sub, axis=1)
            nnd[rows] = sub[np.arange(rows.size), nn[rows]]
    return z


def _dissimilarities(centres: np.ndarray, w: np.ndarray, linkage: str) -> np.ndarray:
    """The m x m dissimilarities of the weighted points (inf on the diagonal)."""
    sq = np.einsum("ij,ij->i", centres, centres)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * centres @ centres.T, 0.0)
    if linkage == "ward":
        # Ward dissimilarity between groups of sizes wi, wj: sqrt(2 wi wj / (wi + wj)) |ci - cj|.
        dist = np.sqrt(2.0 * (w[:, None] * w[None, :]) / (w[:, None] + w[None, :]) * d2)
    else:
        dist = np.sqrt(d2)
    np.fill_diagonal(dist, np.inf)
    return dist


def _merged_row(
    dist: np.ndarray, w: np.ndarray, i: int, j: int, *, d: float, linkage: str
) -> np.ndarray:
    """Dissimilarities of the group merging ``i`` and ``j`` (at ``d``) to every group: the
    Lance-Williams update for ``linkage``, with ``w`` the groups' sizes before the merge."""
    dik, djk = dist[i], dist[j]
    if linkage == "ward":
        wk = w
        return np.sqrt(
            np.maximum(
                ((w[i] + wk) * dik**2 + (w[j] + wk) * djk**2 - wk * d * d) / (w[i] + w[j] + wk),
                0.0,
            )
        )
    if linkage == "average":
        return (w[i] * dik + w[j] * djk) / (w[i] + w[j])
    return np.maximum(dik, djk)


def cut_k(z: np.ndarray, k: int) -> np.ndarray:
    """Leaf labels with exactly ``k`` clusters: the tree after its first ``n - k`` merges.

    Unlike ``fcluster(criterion="maxclust")`` this always returns ``k`` clusters, also when
    merge heights tie. Labels are 0..k-1 in order of each cluster's first leaf.
    """
    n = z.shape[0] + 1
    if not 1 <= k <= n:
        raise ConfigError(
            f"cannot cut a tree of {n} leaves into k = {k} clusters",
            hint=f"Choose k between 1 and {n}.",
        )
    parent = np.arange(2 * n - 1)
    for step in range(n - k):
        a, b = int(z[step, 0]), int(z[step, 1])
        parent[a] = n + step
        parent[b] = n + step
    # Resolve each node to its root; nodes are created in increasing order, so one backward
    # pass over internal nodes (root first) then leaves suffices.
    root = parent.copy()
    for node in range(n + (n - k) - 1, -1, -1):
        root[node] = root[parent[node]] if parent[node] != node else node
    leaf_roots = root[:n]
    _, first, inverse = np.unique(leaf_roots, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))
    return order[inverse].astype(np.int64)


def height_for_k(z: np.ndarray, k: int) -> float:
    """A cut height giving ``k`` clusters: near the middle of the two merges that bracket it,
    with as few decimals as stay in the middle half of that band (36.6, not 36.6141565561007:
    the height is shown in a number box).

    For k = 1 the height is 5 % above the top merge; for k = n it is half the first merge
    height. When the bracketing merges tie, no height gives exactly ``k`` and a
    ConfigError says so.
    """
    n = z.shape[0] + 1
    if not 1 <= k <= n:
        raise ConfigError(
            f"k = {k} is outside 1..{n} for a tree of {n} leaves",
            hint=f"Choose k between 1 and {n}.",
        )
    h = z[:, 2]
    if k == 1:
        return float(h[-1] * 1.05) if h[-1] > 0 else 1.0
    if k == n:
        return float(h[0] / 2.0)
    lower, upper = float(h[n - k - 1]), float(h[n - k])
    if upper <= lower:
        raise ConfigError(
            f"no cut height gives exactly k = {k}: merges {n - k} and {n - k + 1} both happen "
            f"at height {upper:.6g}",
            hint=f"Choose k = {k - 1} or k = {k + 1}, or cut by k (cut_k) instead.",
        )
    return readable_between(lower, upper)


def readable_between(lower: float, upper: float) -> float:
    """The midpoint of ``lower`` and ``upper``, rounded to the fewest decimals that keep it in
    the middle half of the interval (the midpoint itself if none do)."""
    middle, quarter = (lower + upper) / 2.0, (upper - lower) / 4.0
    for decimals in range(13):
        rounded = round(middle, decimals)
        if lower + quarter <= rounded <= upper - quarter:
            return rounded
    return middle


def k_for_height(z: np.ndarray, height: float) -> int:
    """Number of clusters when the tree is cut at ``height`` (merges at <= height joined)."""
    n = z.shape[0] + 1
    return int(n - np.count_nonzero(z[:, 2] <= height))


def node_sizes(z: np.ndarray, leaf_sizes: np.ndarray | None = None) -> np.ndarray:
    """Customers under every node (leaves first, then merges), given customers per leaf."""
    n = z.shape[0] + 1
    sizes = np.empty(2 * n - 1)
    sizes[:n] = 1.0 if leaf_sizes is None else np.asarray(leaf_sizes, dtype=np.float64)
    for step in range(n - 1):
        sizes[n + step] = sizes[int(z[step, 0])] + sizes[int(z[step, 1])]
    return sizes


def node_segments(z: np.ndarray, leaf_segments: np.ndarray) -> np.ndarray:
    """Segment of every node (leaves first, then merges); -1 when its leaves are mixed."""
    n = z.shape[0] + 1
    seg = np.empty(2 * n - 1, dtype=np.int64)
    seg[:n] = np.asarray(leaf_segments, dtype=np.int64)
    for step in range(n - 1):
        a, b = seg[int(z[step, 0])], seg[int(z[step, 1])]
        seg[n + step] = a if a == b else -1
    return seg


def dendrogram_data(
    z: np.ndarray,
    *,
    p: int = 30,
    leaf_sizes: np.ndarray | None = None,
    leaf_segments: np.ndarray | None = None,
    k: int | None = None,
) -> dict[str, Any]:
    """Truncated dendrogram description for plotting (no drawing here).

    Wraps ``scipy.cluster.hierarchy.dendrogram(z, no_plot=True, truncate_mode="lastp", p=p)``
    and adds the number of customers under each displayed leaf, their segment (when
    ``leaf_segments`` is given; -1 = mixed) and the cut height for ``k``.

    Returns
    -------
    dict
        ``icoord``, ``dcoord`` (segment coordinates), ``leaves`` (node ids of the displayed
        leaves, left to right), ``customers`` (customers under each displayed leaf),
        ``segments`` (their segment, or None), ``ivl`` (scipy's leaf labels), ``max_height``,
        ``cut_height`` (None without k or when merge heights tie at k).
    """
    n = z.shape[0] + 1
    p = max(2, min(int(p), n))
    info = dendrogram(z, no_plot=True, truncate_mode="lastp", p=p)
    sizes = node_sizes(z, leaf_sizes)
    leaves = [int(v) for v in info["leaves"]]
    segments = None
    if leaf_segments is not None:
        per_node = node_segments(z, leaf_segments)
        segments = [int(per_node[v]) for v in leaves]
    cut = None
    if k is not None:
        try:
            cut = height_for_k(z, k)
        except ConfigError:
            cut = None  # tied heights: no single cut line gives exactly k
    return {
        "icoord": [list(map(float, c)) for c in info["icoord"]],
        "dcoord": [list(map(float, c)) for c in info["dcoord"]],
        "leaves": leaves,
        "customers": [int(sizes[v]) for v in leaves],
        "segments": segments,
        "ivl": list(info["ivl"]),
        "max_height": float(z[-1, 2]),
        "cut_height": cut,
    }


def build_tree(
    x: np.ndarray,
    *,
    linkage: str = "ward",
    method: str = "auto",
    n_micro: int = DEFAULT_N_MICRO,
    random_state: int = 0,
) -> HierarchicalTree:
    """Build the hierarchy of the rows of ``x`` (already scaled, sorted by customer id).

    ``method="auto"`` is exact up to :func:`exact_limit` customers and two-stage above;
    ``"exact"`` above the limit raises ConfigError (it would take minutes or gigabytes);
    ``"two_stage"`` with no more customers than ``n_micro`` falls back to exact.
    """
    n = x.shape[0]
    if n < 2:
        raise DataSufficiencyError(
            f"need at least 2 customers for a hierarchy, got {n}", hint="Provide more customers."
        )
    limit = exact_limit(linkage)
    if method == "exact" and n > limit:
        raise ConfigError(
            f"exact {linkage} linkage is limited to {limit:,} customers, got {n:,}",
            hint="Use hierarchical_method='auto' (two-stage above the limit).",
        )
    use_exact = n <= n_micro if method == "two_stage" else n <= limit
    if use_exact:
        z = exact_linkage(x, linkage)
        fn = "linkage_vector" if linkage == "ward" else "linkage"
        return HierarchicalTree(
            linkage=z,
            method="exact",
            leaf_of=np.arange(n),
            leaf_sizes=np.ones(n, dtype=np.int64),
            leaf_centres=np.asarray(x, dtype=np.float64),
            description=(
                f"exact {'Ward' if linkage == 'ward' else linkage} linkage of {n:,} customers "
                f"(fastcluster.{fn})"
            ),
        )
    micro_labels, centres, sizes = micro_clusters(x, n_micro=n_micro, random_state=random_state)
    z = weighted_linkage(centres, sizes, linkage)
    name = "Ward" if linkage == "ward" else linkage
    approx = (
        "exact Ward on the micro-clusters"
        if linkage == "ward"
        else f"{linkage} linkage approximated on micro-cluster centres"
    )
    return HierarchicalTree(
        linkage=z,
        method="two_stage",
        leaf_of=micro_labels,
        leaf_sizes=sizes,
        leaf_centres=centres,
        description=(
            f"two-stage {name} linkage: {n:,} customers grouped into {centres.shape[0]:,} "
            f"MiniBatch K-means micro-clusters, then size-weighted {name} linkage of their "
            f"centres ({approx}); each customer takes its micro-cluster's segment"
        ),
    )


def micro_clusters(
    x: np.ndarray, *, n_micro: int = DEFAULT_N_MICRO, random_state: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MiniBatch K-means micro-clusters: (label per row 0..m-1, member means m x d, sizes m).

    Empty micro-clusters are dropped and the rest renumbered; centres are the exact member
    means (not the MiniBatch running estimates), which keeps the second-stage Ward exact.
    """
    n = x.shape[0]
    m = min(n_micro, n)
    mbk = MiniBatchKMeans(
        n_clusters=m,
        batch_size=max(4096, 3 * m),
        n_init=1,
        max_no_improvement=20,
        random_state=random_state,
    )
    with threadpool_limits(limits=n_threads(n)), warnings.catch_warnings():
        # Data with fewer distinct rows than n_micro (common with integer RFM features)
        # just yields fewer, non-empty micro-clusters below.
        warnings.simplefilter("ignore", ConvergenceWarning)
        raw = mbk.fit_predict(x)
    used, labels = np.unique(raw, return_inverse=True)
    sizes = np.bincount(labels, minlength=used.size)
    centres = (
        np.column_stack(
            [np.bincount(labels, weights=x[:, j], minlength=used.size) for j in range(x.shape[1])]
        )
        / sizes[:, None]
    )
    return labels.astype(np.int64), centres, sizes.astype(np.int64)
