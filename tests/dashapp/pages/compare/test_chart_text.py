"""Compare charts in one sentence: each summary names what its chart draws largest, read back
from the figure built on the same comparison."""

from __future__ import annotations

import pytest

from core.wording import count
from dashapp.pages.compare import figures as figures_compare
from dashapp.pages.compare import view as cm

pytestmark = pytest.mark.usefixtures("app_ctx")


def test_sizes_summary_names_the_largest_kmeans_bar(cmp5: cm.CutComparison) -> None:
    bars = figures_compare.sizes(cmp5).data[0]
    top = max(range(len(bars.x)), key=lambda i: bars.x[i])
    text = figures_compare.sizes_summary(cmp5)
    assert f"the largest segment, {bars.y[top]}, has {count(bars.x[top], 'customer')}" in text


def test_contingency_and_sankey_name_the_largest_cell(cmp5: cm.CutComparison) -> None:
    heat = figures_compare.contingency(cmp5).data[0]
    i, j = max(
        ((i, j) for i in range(len(heat.z)) for j in range(len(heat.z[0]))),
        key=lambda c: heat.z[c[0]][c[1]],
    )
    name = cmp5.km_names[heat.x[j]]
    cell = f"{heat.y[i]} and {name}, holds {count(heat.z[i][j], 'customer')}"
    assert cell in figures_compare.contingency_summary(cmp5)
    flow = f"{heat.y[i]} to {name}, carries {count(heat.z[i][j], 'customer')}"
    assert flow in figures_compare.sankey_summary(cmp5)


def test_dendrogram_summary_names_the_largest_hierarchical_segment(cmp5: cm.CutComparison) -> None:
    heat = figures_compare.contingency(cmp5).data[0]
    rows = [sum(r) for r in heat.z]
    top = max(range(len(rows)), key=rows.__getitem__)
    text = figures_compare.dendrogram_summary(cmp5)
    assert f"cut into {cmp5.k} segments" in text
    assert f"the largest, {heat.y[top]}, has {count(rows[top], 'customer')}" in text


def test_selection_summary_counts_the_selected(cmp5: cm.CutComparison) -> None:
    selected = cmp5.kmeans.segmentation.labels == 1
    text = figures_compare.selection_summary(cmp5, selected)
    assert f"{count(int(selected.sum()), 'selected customer')} drawn on top" in text
    assert figures_compare.selection_summary(cmp5, None).endswith("no customer selected.")
