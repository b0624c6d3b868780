"""Segments page figures: the shared chart builders against direct computations, and the
page's builders drawing the view (selected segment, seed)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import polars as pl
import pytest

from core.clustering.result import NOISE_NAME
from core.columns import CUSTOMER, NUMERIC_FEATURES
from dashapp.pages.segments import figures, view
from dashapp.services import AppServices
from dashapp.shared import segment_figures as fs
from dashapp.shared.figures import contrast_ratio, dimmed, segment_color
from dashapp.shared.loading import session_table
from dashapp.shared.modeling import (
    ModelSettings,
    SessionModel,
    fit,
    k_selection,
    rename_segment,
    with_segment,
)
from dashapp.state import SessionState, new_state
from tests.dashapp.pages.segments.common import members

pytestmark = pytest.mark.usefixtures("app_ctx")


def test_projection_draws_every_customer_in_its_segment_colour(model: SessionModel) -> None:
    result = model.result
    fig, notice = fs.projection_figure(result)
    assert notice is None
    assert [t.type for t in fig.data] == ["scatter"] * result.k  # SVG: drawn without WebGL
    for segment, trace in enumerate(fig.data):
        assert trace.marker.color == segment_color(result.colors[segment])
        assert trace.name == result.names[segment]
        ids_drawn = [c[0] for c in trace.customdata.tolist()]  # as sent to the browser
        assert all(type(c) is str for c in ids_drawn)
        assert set(ids_drawn) == members(model, segment)
    # A selected segment is drawn alone; the others wait in the legend.
    fig, _ = fs.projection_figure(result, selected=1)
    assert [t.visible for t in fig.data] == [
        True if s == 1 else "legendonly" for s in range(result.k)
    ]


def test_projection_samples_large_segmentations_by_segment(model: SessionModel) -> None:
    result = model.result
    fig, notice = fs.projection_figure(result, max_points=60, seed=3)
    assert notice is not None
    assert "60 of 120" in notice
    counts = [len(t.x) for t in fig.data]
    assert sum(counts) == 60
    sizes = np.bincount(result.segmentation.labels, minlength=result.k)
    # Each segment keeps its share (largest remainders: within one point).
    assert np.all(np.abs(np.array(counts) - sizes * 60 / sizes.sum()) <= 1)
    again, _ = fs.projection_figure(result, max_points=60, seed=3)
    assert [t.customdata.tolist() for t in again.data] == [t.customdata.tolist() for t in fig.data]


def test_sizes_bars_carry_segment_numbers_shares_and_colours(model: SessionModel) -> None:
    result = model.result
    rows = fs.segment_rows(result)
    fig = fs.sizes_figure(rows, selected=2)
    customers, revenue = fig.data
    assert [c[0] for c in customers.customdata] == list(range(result.k))
    sizes = np.bincount(result.segmentation.labels, minlength=result.k)
    np.testing.assert_allclose(customers.x, sizes / sizes.sum())
    spend = (
        model.table.features.join(result.assignments(), on=CUSTOMER)
        .group_by("segment")
        .agg(pl.col("monetary").sum())
        .sort("segment")["monetary"]
        .to_numpy()
    )
    np.testing.assert_allclose(revenue.x, spend / spend.sum())
    colors = [fs.color_of(result, s) for s in range(result.k)]
    # Unselected segments are drawn pale (an opaque blend, so label colours can be chosen for
    # it); the selected one keeps its colour and is outlined, not marked by colour alone.
    assert list(customers.marker.color) == [
        c if s == 2 else dimmed(c, 0.3) for s, c in enumerate(colors)
    ]
    assert list(customers.marker.line.width) == [0, 0, 3, 0]
    fills = list(customers.marker.color)
    assert all(
        contrast_ratio(text, fill) >= 4.5
        for text, fill in zip(customers.insidetextfont.color, fills, strict=True)
    )


@pytest.mark.parametrize("top", [0.02, 0.16, 0.34, 0.4, 0.5, 0.69, 0.86, 1.0])
def test_share_axes_leave_their_right_end_free_of_tick_labels(top: float) -> None:
    # The panels sit side by side: a label at the right end of the customers axis ran into the
    # "0%" that starts the revenue axis ("40%0%").
    axis = fs.share_axis(top)
    low, high = axis["range"]
    ticks = axis["tickvals"]
    assert low == 0
    assert high >= top  # every bar fits
    assert ticks[0] == 0
    assert len(ticks) >= 2
    assert max(ticks) <= (1 - fs.TICK_FREE_END) * high


def test_sizes_figure_uses_those_axes(model: SessionModel) -> None:
    rows = fs.segment_rows(model.result)
    fig = fs.sizes_figure(rows)
    for axis, shares in (
        (fig.layout.xaxis, [r.share for r in rows]),
        (fig.layout.xaxis2, [r.revenue_share for r in rows]),
    ):
        expected = fs.share_axis(max(shares))
        assert list(axis.range) == expected["range"]
        assert list(axis.tickvals) == expected["tickvals"]


def test_long_names_wrap_on_the_size_charts_axis(model: SessionModel) -> None:
    long = "Customers who ordered once and lapsed fifteen months ago"
    rows = fs.segment_rows(model.result)
    rows[0] = replace(rows[0], name=long)
    fig = fs.sizes_figure(rows)
    assert fig.data[0].y[0] == long  # the bars keep the name (clicks, tests)
    lines = fig.layout.yaxis.ticktext[0].split("<br>")
    assert " ".join(lines) == long
    assert max(len(line) for line in lines) <= 20


def test_profile_matrix_standardises_against_clustered_customers(model: SessionModel) -> None:
    result = model.result
    features, z, means = fs.profile_matrix(result, model.table.features)
    assert features == list(NUMERIC_FEATURES)
    joined = model.table.features.join(result.assignments(), on=CUSTOMER)
    column = features.index("frequency")
    values = joined["frequency"].cast(pl.Float64)
    for segment in range(result.k):
        seg_mean = joined.filter(pl.col("segment") == segment)["frequency"].mean()
        assert means[segment][column] == pytest.approx(seg_mean)
        assert z[segment][column] == pytest.approx((seg_mean - values.mean()) / values.std())
    fig = fs.profile_heatmap(result, model.table.features, selected=1)
    assert "● Orders" in fig.data[0].x  # a clustering feature is marked
    assert len(fig.layout.shapes) == 1


def test_names_are_escaped_in_charts(model: SessionModel, services: AppServices) -> None:
    state = new_state(services)
    renamed = rename_segment(model, services, state, 0, "<b>Big</b> & co")
    fig, _ = fs.projection_figure(renamed)
    assert fig.data[0].name == "&lt;b&gt;Big&lt;/b&gt; &amp; co"
    assert fs.profile_heatmap(renamed, model.table.features).data[0].y[0].startswith("&lt;b&gt;")


def test_hdbscan_noise_gets_its_own_grey_row(state: SessionState, services: AppServices) -> None:
    table = session_table(state, services)
    result = fit(table, ModelSettings(algorithm="hdbscan"), services, state)
    rows = fs.segment_rows(result)
    if result.overview.noise == 0:
        pytest.skip("this small dataset left no noise")
    assert rows[-1].segment == -1
    assert rows[-1].name == NOISE_NAME
    assert rows[-1].customers == int((result.segmentation.labels == -1).sum())
    fig, _ = fs.projection_figure(result)
    assert fig.data[-1].name == NOISE_NAME
    assert figures.projection_order(result) == [*range(result.k), -1]
    assert len(figures.projection_order(result)) == len(fig.data)


def test_k_selection_figure_marks_picks_and_current_k(
    model: SessionModel, services: AppServices
) -> None:
    selection = k_selection(model.table, model.settings, services)
    assert selection is not None
    fig = fs.k_selection_figure(selection, current_k=4)
    rings = {
        t.hovertemplate.split(" picks")[0]: t.x[0] for t in fig.data if t.mode == "markers+text"
    }
    assert rings["Silhouette"] == selection.picks["silhouette"]
    assert rings["Davies-Bouldin"] == selection.picks["davies_bouldin"]
    if selection.knee is not None:
        assert rings["Inertia (within-segment spread)"] == selection.knee
    # All panels share one x axis: every curve spans the same k values.
    curves = [t for t in fig.data if t.mode == "lines+markers"]
    assert {tuple(t.x) for t in curves} == {tuple(range(2, 11))}
    assert any(s.type == "rect" for s in fig.layout.shapes)  # the k in use


def test_page_figures_draw_the_view(state: SessionState, model: SessionModel) -> None:
    result = model.result
    shown = view.segments_view(with_segment(state, 2), model)
    assert (shown.selected, shown.seed) == (2, model.settings.seed)
    projection, note = figures.projection(shown)
    expected, expected_note = fs.projection_figure(result, selected=2, seed=model.settings.seed)
    assert projection.to_json() == expected.to_json()
    assert note == expected_note
    sizes = fs.sizes_figure(fs.segment_rows(result), selected=2)
    assert figures.sizes(shown).to_json() == sizes.to_json()
    heatmap = fs.profile_heatmap(result, model.table.features, selected=2)
    assert figures.profiles(shown).to_json() == heatmap.to_json()
    # Legend events index the projection's traces: one per segment, in order.
    assert figures.projection_order(result) == list(range(result.k))
    blank = figures.placeholder()
    assert blank.layout.annotations[0].text == figures.NO_SEGMENTATION
