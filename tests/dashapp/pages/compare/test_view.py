"""Compare view: the cached tree and its cuts, the comparison with K-means, the settings."""

from __future__ import annotations

import numpy as np
import pytest

from core.clustering import service
from core.clustering.compare import compare
from core.clustering.config import K_MIN, ModelConfig, PreprocessConfig
from core.clustering.fit import fit_segmentation
from core.clustering.hierarchical import height_for_k, node_segments, node_sizes
from core.pipeline import CustomerTable
from dashapp.pages.compare import figures as figures_compare
from dashapp.pages.compare import view as cm
from dashapp.services import AppServices
from dashapp.state import SessionState

pytestmark = pytest.mark.usefixtures("app_ctx")


def test_tree_cuts_are_canonical_partitions_of_the_tree(tree: cm.TreeFit) -> None:
    monetary = tree.monetary
    for k in (2, 4, 7):
        labels = tree.labels(k)
        assert sorted(set(labels.tolist())) == list(range(k))
        # Same partition as the tree's own cut, renumbered by mean monetary (highest first).
        raw = tree.tree.labels(k)
        assert compare(np.arange(raw.size), raw, np.arange(raw.size), labels).ari == 1.0
        means = [monetary[labels == s].mean() for s in range(k)]
        assert means == sorted(means, reverse=True)


def test_cut_height_and_k_round_trip(tree: cm.TreeFit) -> None:
    z = tree.linkage
    for k in range(K_MIN, tree.k_max + 1):
        height, exact = tree.height(k)
        assert exact
        assert height == height_for_k(z, k)
        assert tree.k_at(height) == k
    low, high = tree.height_range()
    assert tree.k_at(low) == tree.k_max
    assert tree.k_at(high) == K_MIN  # the top merge would give 1: kept at K_MIN
    assert tree.k_at(1e12) == K_MIN
    assert tree.k_at(-1.0) == tree.k_max


def test_node_customers_follow_the_tree(tree: cm.TreeFit) -> None:
    n = tree.n_leaves
    root = 2 * n - 2
    ids_all = tree.segmentation.customer_ids
    assert np.array_equal(tree.node_customers(root), np.sort(ids_all))
    assert tree.node_customers(3).tolist() == [ids_all[3]]  # exact tree: leaf = customer
    a, b = (int(v) for v in tree.linkage[-1, :2])
    both = np.sort(np.concatenate([tree.node_customers(a), tree.node_customers(b)]))
    assert np.array_equal(both, np.sort(ids_all))
    with pytest.raises(Exception, match="no node"):
        tree.node_customers(2 * n - 1)


def test_dendrogram_plot_names_every_drawn_node(tree: cm.TreeFit) -> None:
    k = 5
    plot = cm.dendrogram_plot(tree, k)
    z = tree.linkage
    sizes = node_sizes(z, tree.tree.leaf_sizes)
    segments = node_segments(z, tree.leaf_segments(k))
    assert len(plot.links) == cm.DENDROGRAM_LEAVES - 1
    assert len({link.node for link in plot.links}) == len(plot.links)
    for link in plot.links:
        row = link.node - tree.n_leaves
        assert link.ys[1] == z[row, 2]  # drawn at its merge height
        assert link.customers == sizes[link.node]
        assert link.segment == segments[link.node]
    assert sum(leaf.customers for leaf in plot.leaves) == tree.n_customers
    # With k <= the leaves shown, every shown leaf lies inside one segment.
    assert all(leaf.segment >= 0 for leaf in plot.leaves)
    assert plot.cut_height == height_for_k(z, k)
    assert not plot.two_stage


def test_two_stage_tree_is_drawn_over_micro_clusters(table: CustomerTable) -> None:
    features = table.features
    seg = fit_segmentation(
        features,
        PreprocessConfig(),
        ModelConfig(algorithm="hierarchical", k=2, hierarchical_method="two_stage", n_micro=50),
    )
    tree = cm.TreeFit(
        segmentation=seg,
        monetary=cm._included_monetary(features, seg.customer_ids),
        key="two-stage",
    )
    assert tree.two_stage
    assert tree.n_leaves <= 50
    assert tree.n_customers > tree.n_leaves
    plot = cm.dendrogram_plot(tree, 4)
    assert plot.two_stage
    assert sum(leaf.customers for leaf in plot.leaves) == seg.n
    for leaf in plot.leaves[:5]:
        assert tree.node_customers(leaf.node).size == leaf.customers
    labels = tree.labels(4)
    leaf_labels = tree.leaf_segments(4)
    assert np.array_equal(leaf_labels[tree.tree.leaf_of], labels)  # a micro-cluster is whole
    fig = figures_compare.dendrogram(plot, k=4, h_colors=list(range(4)))
    assert "micro-clusters" in fig.layout.xaxis.title.text
    text = cm.tree_text(tree)
    assert f"{tree.n_leaves:,} groups of similar customers ({seg.n:,} customers in all)" in text
    assert "MiniBatch" not in text


def test_method_text_speaks_the_users_terms_and_states_the_seed_once(
    state: SessionState, tree: cm.TreeFit
) -> None:
    text = cm.method_text(tree, cm.compare_settings(state))
    assert text.tree == f"Hierarchical: Ward linkage of all {tree.n_customers:,} customers."
    whole = " ".join((text.tree, text.kmeans))
    assert whole.count("seed 0") == 1
    # No library or function names (fastcluster.linkage_vector), no scaler codes.
    for library in ("fastcluster", "linkage_vector", "scipy", "sklearn", "standard scaling"):
        assert library not in whole
    assert "Standard (z-score) scaling" in text.kmeans
    assert text.features == cm.compare_settings(state).model.features


def test_comparison_counts_and_colours(
    table: CustomerTable, state: SessionState, services: AppServices
) -> None:
    settings = cm.compare_settings(state)
    cmp = cm.compare_at(table, settings, 4, services, state)
    included = table.n_customers - table.n_excluded
    assert cmp.comparison.counts.sum() == included == cmp.n
    # Each hierarchical segment wears its matched K-means segment's colour.
    for h, b in enumerate(cmp.h_match):
        assert b is not None
        assert cmp.h_colors[h] == cmp.km_colors[b]
    assert len(set(cmp.h_colors)) == cmp.k
    # The same k is cached: a second call reuses the fits.
    again = cm.compare_at(table, settings, 4, services, state)
    assert again.tree is cmp.tree
    assert again.kmeans is cmp.kmeans
    with pytest.raises(Exception, match="out of range"):
        cm.compare_at(table, settings, 31, services, state)


def test_kmeans_reuses_the_model_pages_fit(
    table: CustomerTable, state: SessionState, services: AppServices
) -> None:
    settings = cm.compare_settings(state)
    # The Model page fits K-means with the purchase lines (top products) through the service.
    model_page = service.segment_customers(
        table.features,
        preprocess=settings.preprocess,
        model=settings.kmeans_config(3),
        data_key=table.key,
        cache=services.cache,
        lines=table.purchases,
    )
    assert cm.kmeans_fit(table, settings, 3, services) is model_page
    # Without it, the page fits without the lines (its own cache entry).
    own = cm.kmeans_fit(table, settings, 9, services)
    assert own.key == service.segmentation_key(
        table.key, settings.preprocess, settings.kmeans_config(9), with_lines=False
    )


def test_unmatched_segments_get_colours_no_kmeans_segment_uses() -> None:
    # Hierarchical segment 2 shares no customer with any K-means segment's match.
    a = np.array([0, 0, 1, 1, 2, 2])
    b = np.array([0, 0, 1, 1, 1, 1])
    comp = compare(np.arange(6), a, np.arange(6), b)
    colors, match = cm.match_colors(comp, 3, (5, 9))
    assert match[0] == 0
    assert colors[0] == 5
    assert None in match
    unmatched = match.index(None)
    assert colors[unmatched] not in (5, 9)


def test_model_page_settings_are_used(state: SessionState, table: CustomerTable) -> None:
    chosen = state.with_view_settings(
        "model", {"features": ["frequency", "monetary"], "scaler": "robust", "linkage": "average"}
    )
    settings = cm.compare_settings(chosen)
    assert settings.from_model_page
    assert settings.preprocess.features == ("frequency", "monetary")
    assert settings.preprocess.scaler == "robust"
    assert settings.tree_config().linkage == "average"
    assert settings.kmeans_config(5).k == 5
    assert not cm.compare_settings(state).from_model_page
    broken = state.with_view_settings("model", {"features": ["nope"]})
    assert cm.compare_settings(broken).preprocess == PreprocessConfig()
