"""Compare layout: the skeleton renders on its own and holds every id the callbacks use; the
panels the callbacks render from the view."""

from __future__ import annotations

import pytest

from dashapp.pages import compare
from dashapp.pages.compare import ids
from dashapp.pages.compare import view as cm
from dashapp.pages.compare.layout import build, method_panel, metrics_panel
from tests.dashapp.helpers import as_json, find_ids, nodes, texts

SKELETON_IDS = (
    ids.COMPARE_K,
    ids.COMPARE_HEIGHT,
    ids.COMPARE_KEY,
    ids.COMPARE_SELECTION,
    ids.COMPARE_ALERT,
    ids.COMPARE_METHOD,
    ids.COMPARE_DENDROGRAM,
    ids.COMPARE_SIZES,
    ids.COMPARE_METRICS,
    ids.COMPARE_CONTINGENCY,
    ids.COMPARE_SANKEY,
    ids.COMPARE_CLEAR,
    ids.COMPARE_SELECTION_CAPTION,
    ids.COMPARE_GRID,
    ids.COMPARE_SCATTER,
)


def test_build_renders_without_query_parameters() -> None:
    tree = as_json(build())
    found = find_ids(tree)
    for component_id in SKELETON_IDS:
        assert found.count(component_id) == 1, component_id
    shown = texts(tree)
    assert "Compare: hierarchical vs K-means" in shown
    assert "Selected customers" in shown
    assert as_json(build(unused="1")) == tree  # query parameters do not change the skeleton
    assert as_json(compare.layout()) == tree  # what dashapp.app registers


def test_method_panel_shows_the_notes_of_the_fit() -> None:
    text = cm.MethodText(tree="Ward tree.", kmeans="K-means: seed 0.", notes=("x dropped",))
    shown = texts(as_json(method_panel(text)))
    assert "Ward tree." in shown
    assert "K-means: seed 0." in shown
    assert "Note: x dropped." in shown
    named = cm.MethodText(tree="t", kmeans="k", notes=(), features=("recency_days", "monetary"))
    assert "Features: Recency (days), Net spend." in texts(as_json(method_panel(named)))


def test_grids_wrap_long_headers_instead_of_cutting_them() -> None:
    (grid,) = [n for n in nodes(as_json(build())) if n.get("type") == "AgGrid"]
    assert grid["props"]["defaultColDef"]["wrapHeaderText"] is True
    assert grid["props"]["defaultColDef"]["autoHeaderHeight"] is True


@pytest.mark.usefixtures("app_ctx")
def test_metrics_panel_tiles(cmp5: cm.CutComparison) -> None:
    tree = as_json(metrics_panel(cmp5))
    assert {ids.COMPARE_ARI, ids.COMPARE_NMI, ids.COMPARE_AGREEMENT} <= set(find_ids(tree))
    shown = texts(tree)
    assert f"{cmp5.comparison.ari:.2f}" in shown
    assert f"{cmp5.agreement():.0%}" in shown
    assert f"{cmp5.n:,} customers in both" in shown
