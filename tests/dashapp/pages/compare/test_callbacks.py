"""Compare callbacks as functions (outputs read by name), and the trigger-dependent ones
through the app's real callback endpoint."""

from __future__ import annotations

import warnings
from typing import Any

import flask
import numpy as np
import pytest
from dash import Dash, no_update
from dash.exceptions import PreventUpdate

from core.clustering.config import K_MIN
from core.clustering.hierarchical import height_for_k, k_for_height
from core.clustering.preprocess import ClusteringWarning
from core.columns import CUSTOMER
from dashapp.pages.compare import callbacks as page
from dashapp.pages.compare import ids
from dashapp.pages.compare import view as cm
from dashapp.services import AppServices
from dashapp.state import SessionState, parse_state
from tests.dashapp.helpers import as_json, callback_body, sales_csv, texts, upload

pytestmark = pytest.mark.usefixtures("app_ctx")


# --- the sliders --------------------------------------------------------------------------------


def test_init_sets_sliders_from_the_tree(state: SessionState, tree: cm.TreeFit) -> None:
    out = page.init_compare(state.to_json(), None, None)
    assert out["k"] == 4  # the model's default k
    assert out["k_max"] == tree.k_max
    assert (out["height_min"], out["height_max"]) == tree.height_range()
    assert out["height"] == height_for_k(tree.linkage, 4)
    assert out["height_step"] > 0
    assert "k=2" in out["height_marks"].values()
    assert isinstance(out["key"], str)
    assert "Ward" in texts(as_json(out["method"]))
    assert out["alert"] == []
    again = page.init_compare(state.to_json(), 4, out["key"])
    assert again["k"] is no_update
    assert again["height"] is no_update
    assert again["key"] is no_update


def test_changing_k_moves_the_cut_line(
    state: SessionState, tree: cm.TreeFit, services: AppServices
) -> None:
    out = page.apply_cut("k", 7, 1.0, None, state.to_json())
    assert out["k"] is no_update
    assert out["height"] == height_for_k(tree.linkage, 7)
    saved = parse_state(out["session"], services)
    assert saved.view_settings("compare") == {"k": 7}
    # Later visits open at the saved k, and the dendrogram draws the line there.
    init = page.init_compare(out["session"], None, None)
    assert init["k"] == 7
    figure = page.render_compare(7, init["key"], out["session"])["dendrogram"]
    assert figure.layout.shapes[0].y0 == height_for_k(tree.linkage, 7)


def test_moving_the_cut_changes_k(state: SessionState, tree: cm.TreeFit) -> None:
    z = tree.linkage
    for k in range(K_MIN, 12):
        # Anywhere in the band of heights that gives k, not only its middle.
        n = tree.n_leaves
        low, high = z[n - k - 1, 2], z[n - k, 2]
        for height in (low, (2 * low + high) / 3, np.nextafter(high, 0)):
            out = page.apply_cut("height", 4, float(height), None, state.to_json())
            expected = k_for_height(z, float(height))
            assert expected == k
            assert out["k"] == (no_update if k == 4 else k)
            assert out["height"] == height_for_k(z, k)  # snapped to the band's middle


def test_dragging_the_cut_line_changes_k(state: SessionState, tree: cm.TreeFit) -> None:
    height = height_for_k(tree.linkage, 6)
    relayout = {"shapes[0].y0": height, "shapes[0].y1": height}
    out = page.apply_cut("drag", 4, None, relayout, state.to_json())
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
    out = page.apply_cut(source, k, height, relayout, state.to_json())
    assert out["k"] is no_update
    assert out["session"] is no_update
    assert "not applied" in texts(as_json(out["alert"]))


def post_sync_cut(
    server: flask.Flask, app: Dash, changed: list[str], *, k: object, height: object, data: Any
) -> dict[str, Any]:
    """POST the sync callback as the browser does when the controls in ``changed`` moved;
    returns the outputs it sent, keyed by component id then property."""
    body = callback_body(app, "sync_cut", [k, height, None], [data])
    body["changedPropIds"] = changed
    response = server.test_client().post("/_dash-update-component", json=body)
    if response.status_code == 204:
        return {}  # PreventUpdate or nothing changed
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["response"]  # type: ignore[no-any-return]


def test_sync_cut_reads_which_control_moved(
    app: Dash, server: flask.Flask, state: SessionState, tree: cm.TreeFit
) -> None:
    data = state.to_json()
    height6 = height_for_k(tree.linkage, 6)
    by_k = post_sync_cut(server, app, [f"{ids.COMPARE_K}.value"], k=3, height=height6, data=data)
    assert by_k[ids.COMPARE_HEIGHT]["value"] == height_for_k(tree.linkage, 3)
    by_height = post_sync_cut(
        server, app, [f"{ids.COMPARE_HEIGHT}.value"], k=3, height=height6, data=data
    )
    assert by_height[ids.COMPARE_K]["value"] == 6
    # Both set by init_compare at once: k decides, and nothing moves.
    both = [f"{ids.COMPARE_K}.value", f"{ids.COMPARE_HEIGHT}.value"]
    assert page.source_of(both, page.CUT_SOURCES) == "k"
    moved = post_sync_cut(server, app, both, k=6, height=height6, data=data)
    assert ids.COMPARE_K not in moved
    assert ids.COMPARE_HEIGHT not in moved


def test_sources_follow_the_control_that_fired() -> None:
    assert page.source_of([f"{ids.COMPARE_DENDROGRAM}.relayoutData"], page.CUT_SOURCES) == "drag"
    clicks = [f"{ids.COMPARE_CONTINGENCY}.clickData", f"{ids.COMPARE_CLEAR}.n_clicks"]
    assert page.source_of(clicks, page.SELECTION_SOURCES) == "clear"
    assert page.source_of(clicks[:1], page.SELECTION_SOURCES) == "cell"
    assert page.source_of([f"{ids.COMPARE_DENDROGRAM}.clickData"], page.SELECTION_SOURCES) == (
        "node"
    )
    with pytest.raises(PreventUpdate):
        page.source_of(["."], page.CUT_SOURCES)  # no input fired (the initial call)


# --- the charts ---------------------------------------------------------------------------------


def test_render_compare_outputs(state: SessionState, cmp5: cm.CutComparison) -> None:
    key = page.init_compare(state.to_json(), None, None)["key"]
    out = page.render_compare(5, key, state.to_json())
    assert out["alert"] == []
    assert out["dendrogram"].layout.shapes[0].y0 == height_for_k(cmp5.tree.linkage, 5)
    assert np.array(out["contingency"].data[0].z).sum() == cmp5.n
    shown = texts(as_json(out["metrics"]))
    assert f"{cmp5.comparison.ari:.2f}" in shown
    assert f"{cmp5.comparison.nmi:.2f}" in shown
    assert out["sankey"].data[0].type == "sankey"
    assert out["sizes"].data[0].type == "bar"
    refused = page.render_compare("5", key, state.to_json())
    assert "not applied" in texts(as_json(refused["alert"]))


# --- the selection ------------------------------------------------------------------------------


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
    key = page.init_compare(data, None, None)["key"]
    h, b = 1, cmp5.h_match[1]
    selection = page.selection_from("cell", cell_click(b, f"H{h + 1}"), None, 5, key)
    assert selection == {"kind": "cell", "h": h, "b": b, "k": 5, "key": key}
    out = page.render_selection(selection, 5, key, data)
    rows = out["rows"]
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
    assert f"{len(expected):,} customers" in out["caption"]
    assert out["scatter"].data[-1].name == f"selected ({len(expected):,})"
    # At another k the cell no longer exists: nothing is listed, and the caption says why.
    at6 = page.render_selection(selection, 6, key, data)
    assert at6["rows"] == []
    assert "does not exist at k = 6" in at6["caption"]


def test_clicking_a_branch_lists_its_customers(state: SessionState, tree: cm.TreeFit) -> None:
    data = state.to_json()
    key = page.init_compare(data, None, None)["key"]
    plot = cm.dendrogram_plot(tree, 4)
    link = plot.links[len(plot.links) // 2]
    selection = page.selection_from("node", None, click([link.node, link.customers, "H1"]), 4, key)
    out = page.render_selection(selection, 4, key, data)
    assert grid_ids(out["rows"]) == set(tree.node_customers(link.node).tolist())
    assert len(out["rows"]) == link.customers
    assert "branch" in out["caption"]
    # The selection survives a change of k (the tree is the same).
    at7 = page.render_selection(selection, 7, key, data)
    assert grid_ids(at7["rows"]) == grid_ids(out["rows"])
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
    key = page.init_compare(data, None, None)["key"]
    if isinstance(selection, dict):
        selection = {**selection, "key": key}
    out = page.render_selection(selection, 5, key, data)
    assert out["rows"] == []
    assert out["caption"] == cm.NO_SELECTION


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
    key = page.init_compare(data, None, None)["key"]
    selection = {"kind": "node", "node": 5, "key": "other-settings"}
    assert page.render_selection(selection, 4, key, data)["rows"] == []


def test_clicking_a_cell_in_the_app_stores_the_selection(
    app: Dash, server: flask.Flask, state: SessionState, cmp5: cm.CutComparison
) -> None:
    """select_customers reads the input that fired from the real callback context."""
    key = page.init_compare(state.to_json(), None, None)["key"]
    b = cmp5.h_match[0]
    body = callback_body(app, "select_customers", [cell_click(b, "H1"), None, None], [5, key])
    body["changedPropIds"] = [f"{ids.COMPARE_CONTINGENCY}.clickData"]
    (body["outputs"],) = body["outputs"]  # a single-output callback: one output, not a list
    response = server.test_client().post("/_dash-update-component", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    stored = response.get_json()["response"][ids.COMPARE_SELECTION]["data"]
    assert stored == {"kind": "cell", "h": 0, "b": b, "k": 5, "key": key}


# --- data that cannot be compared ---------------------------------------------------------------


def test_data_that_is_not_ready_is_explained(state: SessionState, services: AppServices) -> None:
    data = upload(sales_csv(customer_header="Who"), "who.csv", state.to_json())
    out = page.init_compare(data, None, None)
    assert "How to fix" in texts(as_json(out["alert"]))
    rendered = page.render_compare(4, out["key"], data)
    assert "How to fix" in texts(as_json(rendered["alert"]))
    for name in ("dendrogram", "contingency", "sankey"):
        assert rendered[name].layout.annotations  # a message, never a blank chart
    with pytest.raises(PreventUpdate):
        page.apply_cut("k", 5, None, None, data)
    del services


def test_too_few_customers_is_explained(state: SessionState, services: AppServices) -> None:
    data = upload(sales_csv(customers=1), "one.csv", state.to_json())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClusteringWarning)  # its features are all constant
        out = page.init_compare(data, None, None)
        rendered = page.render_compare(4, out["key"], data)
    alert = texts(as_json(out["alert"]))
    assert "Not enough data" in alert
    assert "identical" in alert
    assert "Nothing to compare" in rendered["dendrogram"].layout.annotations[0].text
    del services
