"""Hierarchical clustering: weighted Lance-Williams, cuts, dendrogram data, two-stage vs exact."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from core.clustering.hierarchical import (
    HierarchicalTree,
    build_tree,
    cut_k,
    dendrogram_data,
    height_for_k,
    k_for_height,
    node_segments,
    node_sizes,
    readable_between,
    weighted_linkage,
)
from core.clustering.select_k import within_ss
from core.errors import ConfigError


@pytest.mark.parametrize("method", ["ward", "average", "complete"])
def test_unit_weights_equal_scipy(method: str) -> None:
    x = np.random.default_rng(1).normal(size=(200, 3))
    np.testing.assert_allclose(
        weighted_linkage(x, np.ones(200), method), linkage(x, method), atol=1e-10
    )


@pytest.mark.parametrize("method", ["ward", "average"])
def test_weights_equal_repeated_points(method: str) -> None:
    # A centre of weight w is w identical customers: after the zero-height merges of the
    # duplicates, exact linkage on the repeated data must give the same heights.
    rng = np.random.default_rng(2)
    centres = rng.normal(size=(40, 3))
    sizes = rng.integers(1, 7, size=40)
    exact = linkage(np.repeat(centres, sizes, axis=0), method)
    weighted = weighted_linkage(centres, sizes, method)
    np.testing.assert_allclose(np.sort(exact[:, 2])[-39:], weighted[:, 2], atol=1e-10)
    # Same partitions too: cut both at 4 clusters and compare per centre.
    rep_labels = fcluster(exact, 4, "maxclust")
    first_of_centre = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    assert adjusted_rand_score(rep_labels[first_of_centre], cut_k(weighted, 4)) == 1.0


def test_cut_k_matches_fcluster_and_handles_ties() -> None:
    x = np.random.default_rng(3).normal(size=(100, 2))
    z = linkage(x, "ward")
    for k in (1, 2, 7, 100):
        labels = cut_k(z, k)
        assert np.unique(labels).size == k
        if 1 < k < 100:
            assert adjusted_rand_score(labels, fcluster(z, k, "maxclust")) == 1.0
    # A square: all four sides tie, fcluster cannot give 3 clusters, cut_k can.
    square = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    zs = linkage(square, "single")
    assert np.unique(cut_k(zs, 3)).size == 3
    with pytest.raises(ConfigError, match="k = 5"):
        cut_k(zs, 5)


def test_cut_labels_in_order_of_first_leaf() -> None:
    z = linkage(np.array([[10.0], [0.0], [10.1], [0.1]]), "ward")
    assert cut_k(z, 2).tolist() == [0, 1, 0, 1]


def test_height_and_k_round_trip() -> None:
    x = np.random.default_rng(4).normal(size=(60, 2))
    z = linkage(x, "ward")
    for k in range(1, 61):
        assert k_for_height(z, height_for_k(z, k)) == k
    h = z[-2, 2]  # height of the merge from 3 to 2 clusters: merges at <= h are joined.
    assert k_for_height(z, h) == 2
    assert k_for_height(z, h - 1e-9) == 3
    square = linkage(np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), "single")
    with pytest.raises(ConfigError, match="no cut height gives exactly k = 3"):
        height_for_k(square, 3)


def test_cut_heights_are_readable_and_inside_their_band() -> None:
    rng = np.random.default_rng(3)
    z = linkage(rng.normal(size=(300, 3)) * 7.3, "ward")
    heights = z[:, 2]
    n = 300
    for k in range(2, 31):
        h = height_for_k(z, k)
        lower, upper = heights[n - k - 1], heights[n - k]
        quarter = (upper - lower) / 4
        assert lower + quarter <= h <= upper - quarter  # near the middle of the band
        assert k_for_height(z, h) == k
        if upper - lower >= 0.04:  # a band this wide holds a height with two decimals
            assert h == round(h, 2), (k, h)
    assert readable_between(30.0, 44.0) == 37.0
    assert readable_between(36.5, 36.72) == 36.6
    assert readable_between(1.0, 1.0 + 1e-15) == (2.0 + 1e-15) / 2  # too narrow: the middle


def test_dendrogram_data_counts_customers() -> None:
    rng = np.random.default_rng(5)
    centres = rng.normal(size=(50, 2))
    sizes = rng.integers(1, 20, size=50)
    z = weighted_linkage(centres, sizes, "ward")
    info = dendrogram_data(z, p=12, leaf_sizes=sizes)
    assert len(info["leaves"]) == 12
    assert sum(info["customers"]) == sizes.sum()
    assert len(info["icoord"]) == 11
    assert info["max_height"] == pytest.approx(z[-1, 2])
    assert node_sizes(z, sizes)[-1] == sizes.sum()


def test_auto_switches_to_two_stage_above_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    import core.clustering.hierarchical as h

    monkeypatch.setattr(h, "EXACT_WARD_MAX_N", 500)
    x, _ = make_blobs(800, centers=3, n_features=2, random_state=0)
    tree = h.build_tree(x, n_micro=100)
    assert tree.method == "two_stage"
    assert tree.linkage.shape == (99, 4)
    assert tree.leaf_of.shape == (800,)
    assert tree.leaf_sizes.sum() == 800
    assert build_tree(x[:400], n_micro=100).method == "exact"


def test_micro_clusters_on_data_with_few_distinct_rows() -> None:
    # Integer RFM data often has fewer distinct rows than micro-clusters.
    x = np.repeat(np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0], [6.0, 5.0]]), 300, axis=0)
    tree = build_tree(x, method="two_stage", n_micro=100)
    assert tree.method == "two_stage"
    assert tree.leaf_sizes.sum() == 1200
    assert np.unique(tree.labels(2)[::300]).tolist() == [0, 1]
    assert tree.labels(2).tolist() == [0] * 600 + [1] * 600


# Measured agreement of two-stage (1,000 micro-clusters) with exact Ward at k = 5 on 8,000
# points of 5 blobs (std 1.0 in make_blobs units), seeds 0-4: ARI 0.955, 0.991, 0.882, 1.0,
# 0.999 (mean 0.965); within-cluster sum of squares within 10 % of exact Ward's.
@pytest.mark.slow
def test_two_stage_agrees_with_exact_ward() -> None:
    aris = []
    for seed in range(5):
        x, _ = make_blobs(8000, centers=5, n_features=3, cluster_std=1.0, random_state=seed)
        x = (x - x.mean(axis=0)) / x.std(axis=0)
        exact = build_tree(x, method="exact").labels(5)
        two = build_tree(x, method="two_stage", n_micro=1000, random_state=seed).labels(5)
        aris.append(adjusted_rand_score(exact, two))
        assert within_ss(x, two, 5) <= 1.10 * within_ss(x, exact, 5)
    assert min(aris) > 0.85
    assert float(np.mean(aris)) > 0.93


def test_node_segments_mark_mixed_nodes() -> None:
    z = linkage(np.array([[0.0], [0.1], [5.0], [5.1]]), "ward")
    seg = node_segments(z, np.array([0, 0, 1, 1]))
    assert seg[:4].tolist() == [0, 0, 1, 1]
    assert sorted(seg[4:6].tolist()) == [0, 1]
    assert seg[6] == -1
    info = dendrogram_data(z, p=2, leaf_segments=np.array([0, 0, 1, 1]), k=2)
    assert sorted(info["segments"]) == [0, 1]
    assert k_for_height(z, info["cut_height"]) == 2


def test_tree_queries_cuts_heights_and_nodes() -> None:
    # A hand-made tree of 4 customers: {0,1} at 1.0, {2,3} at 2.0, all at 5.0.
    z = np.array([[0, 1, 1.0, 2], [2, 3, 2.0, 2], [4, 5, 5.0, 4]], dtype=np.float64)
    tree = HierarchicalTree(
        linkage=z,
        method="exact",
        leaf_of=np.arange(4),
        leaf_sizes=np.ones(4),
        leaf_centres=np.zeros((4, 1)),
        description="hand-made",
    )
    assert tree.n_leaves == 4
    assert tree.node_leaves(6).tolist() == [0, 1, 2, 3]
    assert tree.node_leaves(5).tolist() == [2, 3]
    assert tree.node_leaves(1).tolist() == [1]
    assert tree.under(4).tolist() == [True, True, False, False]
    with pytest.raises(ConfigError, match="no node 7"):
        tree.node_leaves(7)
    height, exact = tree.cut_height(2)
    assert exact
    assert 2.0 <= height < 5.0
    assert tree.k_at_height(height, k_min=2, k_max=4) == 2
    assert tree.k_at_height(100.0, k_min=2, k_max=4) == 2  # above the root: kept at k_min
    assert tree.k_at_height(0.0, k_min=2, k_max=3) == 3  # below every merge: kept at k_max
    assert tree.height_range(3) == (1.0, 5.0)
    tied = HierarchicalTree(
        linkage=np.array([[0, 1, 1.0, 2], [2, 3, 1.0, 2], [4, 5, 5.0, 4]], dtype=np.float64),
        method="exact",
        leaf_of=np.arange(4),
        leaf_sizes=np.ones(4),
        leaf_centres=np.zeros((4, 1)),
        description="tied merges",
    )
    assert tied.cut_height(3) == (1.0, False)
