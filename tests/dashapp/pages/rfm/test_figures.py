"""RFM page figures: treemap tiles and colours, score grid colouring."""

from __future__ import annotations

import numpy as np
import polars as pl

from dashapp.pages.rfm import figures as figures_rfm
from dashapp.pages.rfm import view as rv
from dashapp.shared import figures
from tests.dashapp.pages.rfm.frames import features


def test_treemap_sizes_and_colours() -> None:
    view = rv.rfm_view(features(60, excluded=2), ruleset="rfm11", bins=5)
    fig = figures_rfm.treemap(view.segments, color="segment")
    (tree,) = fig.data
    assert tree.type == "treemap"
    shown = view.segments.filter(pl.col("customers") > 0)
    assert list(tree.labels[:-1]) == shown.get_column("segment").to_list()
    assert list(tree.values[:-1]) == shown.get_column("customers").to_list()
    assert tree.values[-1] == 58  # the root holds every scored customer
    assert list(tree.marker.colors[:-1]) == [
        figures.segment_color(c) for c in shown.get_column("color").to_list()
    ]
    by_revenue = figures_rfm.treemap(view.segments, color="revenue").data[0]
    assert list(by_revenue.marker.colors[:-1]) == shown.get_column("revenue_share").to_list()


def test_score_grid_colours_cells_by_segment_when_named() -> None:
    view = rv.rfm_view(features(50), ruleset="rf_grid", bins=5)
    colors = dict(view.segments.select("segment", "color").iter_rows())
    heat = figures_rfm.score_grid_heatmap(view.grid, bins=5, segment_colors=colors).data[0]
    assert heat.showscale is False
    unnamed = rv.rfm_view(features(50), ruleset="rf_grid", bins=4)
    heat = figures_rfm.score_grid_heatmap(unnamed.grid, bins=4, segment_colors=colors).data[0]
    assert heat.colorscale[0][1] != figures.segment_color(0)  # shaded by customers instead
    assert np.nansum(np.array(heat.z, dtype=float)) == 50


def test_score_grid_recency_labels_stay_upright_and_narrow() -> None:
    """Each recency score's label fits its column upright (rotated, the last one ran past the
    chart's edge and was not drawn): the score, then its values and unit on lines of their
    own."""
    view = rv.rfm_view(features(50), ruleset="rf_grid", bins=5)
    ranges = {"r": {1: "185–374 days", 2: "68–184 days", 5: "1–10 days"}, "f": {}}
    layout = figures_rfm.score_grid_heatmap(view.grid, bins=5, ranges=ranges).layout
    assert layout.xaxis.tickangle == 0
    assert list(layout.xaxis.tickvals) == [1, 2, 3, 4, 5]
    assert layout.xaxis.ticktext[0] == "1<br>185–374<br>days"
    assert layout.xaxis.ticktext[4] == "5<br>1–10<br>days"
    assert layout.xaxis.ticktext[2] == "3<br>—"  # a score without values
