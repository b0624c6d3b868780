"""Compare page: the cut tree against K-means (model layer, figures, callbacks as functions)."""

from __future__ import annotations

import warnings
from contextvars import copy_context
from typing import Any

import numpy as np
import pytest
from dash import no_update
from dash._callback_context import context_value
from dash._utils import AttributeDict
from dash.exceptions import PreventUpdate

from core.clustering import service
from core.clustering.compare import compare
from core.clustering.config import K_MIN, ModelConfig, PreprocessConfig
from core.clustering.fit import fit_segmentation
from core.clustering.hierarchical import height_for_k, k_for_height, node_segments, node_sizes
from core.clustering.preprocess import ClusteringWarning
from core.columns import CUSTOMER
from core.pipeline import CustomerTable
from dashapp.pages.compare import callbacks as page
from dashapp.pages.compare import figures as figures_compare
from dashapp.pages.compare import view as cm
from dashapp.services import AppServices
from dashapp.shared import figures, ids
from dashapp.shared.loading import session_table
from dashapp.state import SessionState, parse_state
from tests.dashapp.helpers import as_json, sales_csv, texts, upload

pytestmark = pytest.mark.usefixtures("app_ctx")


@pytest.fixture
def table(state: SessionState, services: AppServices) -> CustomerTable:
    return session_table(state, services)


@pytest.fixture
def tree(table: CustomerTable, state: SessionState, services: AppServices) -> cm.TreeFit:
    return cm.tree_fit(table, cm.compare_settings(state), services.cache)


def cut_outputs(result: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(("k", "height", "session", "alert"), result, strict=True))


# --- the model layer --------------------------------------------------------------------------


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


# --- figures ----------------------------------------------------------------------------------


@pytest.fixture
def cmp5(table: CustomerTable, state: SessionState, services: AppServices) -> cm.CutComparison:
    return cm.compare_at(table, cm.compare_settings(state), 5, services, state)


def test_dendrogram_figure_cut_line_and_nodes(cmp5: cm.CutComparison) -> None:
    plot = cm.dendrogram_plot(cmp5.tree, 5)
    fig = figures_compare.dendrogram(plot, k=5, h_colors=cmp5.h_colors)
    (shape,) = fig.layout.shapes
    assert shape.y0 == shape.y1 == height_for_k(cmp5.tree.linkage, 5)
    assert shape.editable
    assert "k = 5" in fig.layout.annotations[0].text
    line_traces = [t for t in fig.data if t.mode == "lines"]
    assert {t.line.color for t in line_traces} >= {figures.segment_color(c) for c in cmp5.h_colors}
    nodes = next(t for t in fig.data if t.name == "branches")
    assert [c[0] for c in nodes.customdata] == [link.node for link in plot.links]


def test_contingency_heatmap_sums_to_n_and_carries_cells(cmp5: cm.CutComparison) -> None:
    fig = figures_compare.contingency(cmp5)
    (heat,) = fig.data
    z = np.array(heat.z)
    assert z.sum() == cmp5.n
    # Rows follow the matching: the diagonal holds the matched pairs.
    assert list(heat.x) == list(range(5))  # clicks report the K-means segment number
    assert list(fig.layout.xaxis.ticktext) == list(cmp5.km_names)
    for i, row in enumerate(heat.customdata):
        h = row[0][0]
        assert heat.y[i] == figures_compare.h_label(h)
        for j, cell in enumerate(row):
            assert cell[1] == j
            expected = np.count_nonzero(
                (cmp5.h_labels == h) & (cmp5.kmeans.segmentation.labels == j)
            )
            assert z[i, j] == expected


def test_sankey_and_sizes(cmp5: cm.CutComparison) -> None:
    (sankey,) = figures_compare.sankey(cmp5).data
    assert sankey.type == "sankey"
    assert sum(sankey.link.value) == cmp5.n
    assert len(sankey.node.label) == 10
    sizes = figures_compare.sizes(cmp5)
    assert [t.type for t in sizes.data] == ["bar", "bar"]
    assert sum(sizes.data[0].x) == cmp5.n


def test_selection_scatter_highlights_the_selection(cmp5: cm.CutComparison) -> None:
    km = cmp5.kmeans.segmentation
    selected = km.labels == 0
    fig = figures_compare.selection_scatter(
        km.projection, km.labels, names=cmp5.km_names, colors=cmp5.km_colors, selected=selected
    )
    top = fig.data[-1]
    assert top.name.startswith(f"selected ({int(selected.sum()):,})")
    assert len(top.x) == int(selected.sum())
    assert sum(len(t.x) for t in fig.data[:-1]) == km.n


# --- callbacks --------------------------------------------------------------------------------


def test_init_sets_sliders_from_the_tree(state: SessionState, tree: cm.TreeFit) -> None:
    out = page.init_compare(state.to_json(), None, None)
    k, k_max, low, high, step, marks, height, key, method, alert = out
    assert k == 4  # the model's default k
    assert k_max == tree.k_max
    assert (low, high) == tree.height_range()
    assert height == height_for_k(tree.linkage, 4)
    assert step > 0
    assert "k=2" in marks.values()
    assert isinstance(key, str)
    assert "Ward" in texts(as_json(method))
    assert alert == []
    again = page.init_compare(state.to_json(), 4, key)
    assert again[0] is no_update
    assert again[6] is no_update
    assert again[7] is no_update


def test_changing_k_moves_the_cut_line(
    state: SessionState, tree: cm.TreeFit, services: AppServices
) -> None:
    out = cut_outputs(page.apply_cut("k", 7, 1.0, None, state.to_json()))
    assert out["k"] is no_update
    assert out["height"] == height_for_k(tree.linkage, 7)
    saved = parse_state(out["session"], services)
    assert saved.view_settings("compare") == {"k": 7}
    # Later visits open at the saved k, and the dendrogram draws the line there.
    init = page.init_compare(out["session"], None, None)
    assert init[0] == 7
    figure = page.render_compare(7, init[7], out["session"])[0]
    assert figure.layout.shapes[0].y0 == height_for_k(tree.linkage, 7)


def test_moving_the_cut_changes_k(state: SessionState, tree: cm.TreeFit) -> None:
    z = tree.linkage
    for k in range(K_MIN, 12):
        # Anywhere in the band of heights that gives k, not only its middle.
        n = tree.n_leaves
        low, high = z[n - k - 1, 2], z[n - k, 2]
        for height in (low, (2 * low + high) / 3, np.nextafter(high, 0)):
            out = cut_outputs(page.apply_cut("height", 4, float(height), None, state.to_json()))
            expected = k_for_height(z, float(height))
            assert expected == k
            assert out["k"] == (no_update if k == 4 else k)
            assert out["height"] == height_for_k(z, k)  # snapped to the band's middle


def test_dragging_the_cut_line_changes_k(state: SessionState, tree: cm.TreeFit) -> None:
    height = height_for_k(tree.linkage, 6)
    relayout = {"shapes[0].y0": height, "shapes[0].y1": height}
    out = cut_outputs(page.apply_cut("drag", 4, None, relayout, state.to_json()))
    assert out["k"] == 6
    with pytest.raises(PreventUpdate):
        page.apply_cut("drag", 4, None, {"xaxis.range[0]": 3}, state.to_json())  # a zoom


@pytest.mark.parametrize(
    ("source", "k", "height", "relayout"),
    [
        ("k", "7", None, None),
        ("k", 99, None, None),
        ("k", 3.5, None, None),
        ("k", True, None, None),
        ("height", None, float("nan"), None),
        ("height", None, "12", None),
        ("drag", None, None, {"shapes[0].y0": "high", "shapes[0].y1": 3}),
    ],
)
def test_cut_values_no_control_sends_are_refused(
    state: SessionState, source: str, k: object, height: object, relayout: object
) -> None:
    out = cut_outputs(page.apply_cut(source, k, height, relayout, state.to_json()))
    assert out["k"] is no_update
    assert out["session"] is no_update
    assert "not applied" in texts(as_json(out["alert"]))


def _with_trigger(prop_ids: list[str], fn: Any, *args: Any) -> Any:
    def run() -> Any:
        context_value.set(
            AttributeDict(triggered_inputs=[{"prop_id": p, "value": None} for p in prop_ids])
        )
        return fn(*args)

    return copy_context().run(run)


def test_sync_cut_reads_which_control_moved(state: SessionState, tree: cm.TreeFit) -> None:
    data = state.to_json()
    height6 = height_for_k(tree.linkage, 6)
    by_k = _with_trigger([f"{ids.COMPARE_K}.value"], page.sync_cut, 3, height6, None, data)
    assert by_k[1] == height_for_k(tree.linkage, 3)
    by_height = _with_trigger(
        [f"{ids.COMPARE_HEIGHT}.value"], page.sync_cut, 3, height6, None, data
    )
    assert by_height[0] == 6
    # Both set by init_compare at once: k decides, and nothing moves.
    both = _with_trigger(
        [f"{ids.COMPARE_K}.value", f"{ids.COMPARE_HEIGHT}.value"],
        page.sync_cut,
        6,
        height6,
        None,
        data,
    )
    assert both[0] is no_update
    assert both[1] is no_update


def test_render_compare_outputs(state: SessionState, cmp5: cm.CutComparison) -> None:
    key = page.init_compare(state.to_json(), None, None)[7]
    dendro, sizes, metrics, cont, sankey, alert = page.render_compare(5, key, state.to_json())
    assert alert == []
    assert dendro.layout.shapes[0].y0 == height_for_k(cmp5.tree.linkage, 5)
    assert np.array(cont.data[0].z).sum() == cmp5.n
    shown = texts(as_json(metrics))
    assert f"{cmp5.comparison.ari:.2f}" in shown
    assert f"{cmp5.comparison.nmi:.2f}" in shown
    assert sankey.data[0].type == "sankey"
    assert sizes.data[0].type == "bar"
    out = page.render_compare("5", key, state.to_json())
    assert "not applied" in texts(as_json(out[-1]))


def click(customdata: list[Any]) -> dict[str, Any]:
    """A scatter point's clickData (the dendrogram's nodes and leaves carry customdata)."""
    return {"points": [{"curveNumber": 0, "pointNumber": 0, "customdata": customdata}]}


def cell_click(x: object, y: object) -> dict[str, Any]:
    """A heatmap cell's clickData as dcc.Graph sends it: x, y and z, no customdata."""
    return {"points": [{"curveNumber": 0, "x": x, "y": y, "z": 3, "text": "3"}]}


def grid_ids(rows: list[dict[str, Any]]) -> set[str]:
    return {row[CUSTOMER] for row in rows}


def test_clicking_a_cell_lists_exactly_its_customers(
    state: SessionState, cmp5: cm.CutComparison
) -> None:
    data = state.to_json()
    key = page.init_compare(data, None, None)[7]
    h, b = 1, cmp5.h_match[1]
    selection = page.selection_from("cell", cell_click(b, f"H{h + 1}"), None, 5, key)
    assert selection == {"kind": "cell", "h": h, "b": b, "k": 5, "key": key}
    caption, rows, scatter = page.render_selection(selection, 5, key, data)
    expected = set(cmp5.comparison.cell_members(h, b).tolist())
    km_labels = dict(
        zip(
            cmp5.kmeans.segmentation.customer_ids.tolist(),
            cmp5.kmeans.segmentation.labels,
            strict=True,
        )
    )
    h_labels = dict(zip(cmp5.tree.segmentation.customer_ids.tolist(), cmp5.h_labels, strict=True))
    assert expected == {c for c, lab in h_labels.items() if lab == h and km_labels[c] == b}
    assert grid_ids(rows) == expected
    assert {row["hierarchical"] for row in rows} == {f"H{h + 1}"}
    assert {row["kmeans"] for row in rows} == {cmp5.km_names[b]}
    monetary = [row["monetary"] for row in rows]
    assert monetary == sorted(monetary, reverse=True)
    assert f"{len(expected):,} customers" in caption
    assert scatter.data[-1].name == f"selected ({len(expected):,})"
    # At another k the cell no longer exists: nothing is listed, and the caption says why.
    caption, rows, _ = page.render_selection(selection, 6, key, data)
    assert rows == []
    assert "does not exist at k = 6" in caption


def test_clicking_a_branch_lists_its_customers(state: SessionState, tree: cm.TreeFit) -> None:
    data = state.to_json()
    key = page.init_compare(data, None, None)[7]
    plot = cm.dendrogram_plot(tree, 4)
    link = plot.links[len(plot.links) // 2]
    selection = page.selection_from("node", None, click([link.node, link.customers, "H1"]), 4, key)
    caption, rows, _ = page.render_selection(selection, 4, key, data)
    assert grid_ids(rows) == set(tree.node_customers(link.node).tolist())
    assert len(rows) == link.customers
    assert "branch" in caption
    # The selection survives a change of k (the tree is the same).
    _, rows_k7, _ = page.render_selection(selection, 7, key, data)
    assert grid_ids(rows_k7) == grid_ids(rows)
    assert page.selection_from("clear", None, None, 4, key) is None


@pytest.mark.parametrize(
    "selection",
    [
        {"kind": "cell", "h": 99, "b": 0, "k": 5},
        {"kind": "cell", "h": "0", "b": 0, "k": 5},
        {"kind": "node", "node": 10**6},
        {"kind": "node", "node": -1},
        {"kind": "everyone"},
        "all",
    ],
)
def test_forged_selections_list_nobody(state: SessionState, selection: Any) -> None:
    data = state.to_json()
    key = page.init_compare(data, None, None)[7]
    if isinstance(selection, dict):
        selection = {**selection, "key": key}
    caption, rows, _ = page.render_selection(selection, 5, key, data)
    assert rows == []
    assert caption == page.NO_SELECTION


@pytest.mark.parametrize(
    "clicked",
    [None, {}, {"points": []}, {"points": [{"customdata": "x"}]}, {"points": ["x"]}],
)
def test_malformed_clicks_are_ignored(clicked: object) -> None:
    with pytest.raises(PreventUpdate):
        page.selection_from("cell", clicked, None, 5, "key")
    with pytest.raises(PreventUpdate):
        page.selection_from("node", None, clicked, 5, "key")
    for x, y in (("a", "H1"), (0, "H0"), (0, "K1"), (0, 1), (1.5, "H2"), (99, "H1")):
        with pytest.raises(PreventUpdate):
            page.selection_from("cell", cell_click(x, y), None, 5, "key")


def test_a_selection_for_other_settings_is_dropped(state: SessionState) -> None:
    data = state.to_json()
    key = page.init_compare(data, None, None)[7]
    selection = {"kind": "node", "node": 5, "key": "other-settings"}
    _, rows, _ = page.render_selection(selection, 4, key, data)
    assert rows == []


def test_data_that_is_not_ready_is_explained(state: SessionState, services: AppServices) -> None:
    data = upload(sales_csv(customer_header="Who"), "who.csv", state.to_json()
    )
    out = page.init_compare(data, None, None)
    assert "How to fix" in texts(as_json(out[-1]))
    key = out[7]
    rendered = page.render_compare(4, key, data)
    assert "How to fix" in texts(as_json(rendered[-1]))
    for fig in (rendered[0], rendered[3], rendered[4]):
        assert fig.layout.annotations  # a message, never a blank chart
    with pytest.raises(PreventUpdate):
        page.apply_cut("k", 5, None, None, data)
    del services


def test_too_few_customers_is_explained(state: SessionState, services: AppServices) -> None:
    data = upload(sales_csv(customers=1), "one.csv", state.to_json())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClusteringWarning)  # its features are all constant
        out = page.init_compare(data, None, None)
        rendered = page.render_compare(4, out[7], data)
    alert = texts(as_json(out[-1]))
    assert "Not enough data" in alert
    assert "identical" in alert
    assert "Nothing to compare" in rendered[0].layout.annotations[0].text
    del services
