"""Compare figures: dendrogram with its cut line, contingency, Sankey, sizes, scatter."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from core.clustering.hierarchical import height_for_k
from core.wording import count
from dashapp.pages.compare import figures as figures_compare
from dashapp.pages.compare import view as cm
from dashapp.shared import figures

pytestmark = pytest.mark.usefixtures("app_ctx")


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


def test_hierarchical_segments_are_listed_in_their_own_order(cmp5: cm.CutComparison) -> None:
    # Matched out of order (H3 with the 4th K-means segment, H4 with the 3rd): the rows and the
    # Sankey's nodes still read H1, H2, H3, H4, H5, not in the order of their matches.
    crossed = replace(cmp5, h_match=(0, 1, 3, 2, 4))
    in_order = [figures_compare.h_label(h) for h in range(5)]
    assert list(figures_compare.contingency(crossed).data[0].y) == in_order
    (sankey,) = figures_compare.sankey(crossed).data
    assert [label.split(" ")[0] for label in sankey.node.label[:5]] == in_order


def test_hover_counts_agree_with_their_number(cmp5: cm.CutComparison) -> None:
    # "1 customers" in a hover: the count's words are computed with the number.
    (heat,) = figures_compare.contingency(cmp5).data
    for z_row, row in zip(heat.z, heat.customdata, strict=True):
        for z, cell in zip(z_row, row, strict=True):
            assert cell[5] == count(z, "customer")
    assert "%{customdata[5]}" in heat.hovertemplate
    (sankey,) = figures_compare.sankey(cmp5).data
    assert list(sankey.link.customdata) == [count(v, "customer") for v in sankey.link.value]
    assert count(1, "customer") == "1 customer"


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
