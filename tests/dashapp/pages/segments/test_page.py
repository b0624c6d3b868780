"""Segments page: figure builders against direct computations, the server-side customer grid
(selection, region, search, sort, filters), linked selection, orders, and renaming."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest
from dash.exceptions import PreventUpdate

from core.clustering.result import NOISE_NAME
from core.columns import CUSTOMER, NUMERIC_FEATURES
from dashapp.pages.export import callbacks as export_page
from dashapp.pages.model import callbacks as model_page
from dashapp.pages.segments import callbacks as page
from dashapp.services import AppServices
from dashapp.shared import customer_grid as grid
from dashapp.shared import ids
from dashapp.shared import segment_figures as fs
from dashapp.shared.figures import segment_color
from dashapp.shared.loading import session_table
from dashapp.shared.modeling import (
    ModelSettings,
    SessionModel,
    fit,
    k_selection,
    rename_segment,
    selected_segment,
    with_segment,
    with_settings,
)
from dashapp.state import SessionState, new_state, require_state
from tests.dashapp.helpers import as_json, sales_csv, texts, upload

pytestmark = pytest.mark.usefixtures("app_ctx")


def members(model: SessionModel, segment: int) -> set[str]:
    seg = model.result.segmentation
    return set(seg.customer_ids[seg.labels == segment].tolist())


# --- figures ---------------------------------------------------------------------------------


def test_projection_draws_every_customer_in_its_segment_colour(model: SessionModel) -> None:
    result = model.result
    fig, notice = fs.projection_figure(result)
    assert notice is None
    assert [t.type for t in fig.data] == ["scattergl"] * result.k
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
    assert list(customers.marker.color) == [fs.color_of(result, s) for s in range(result.k)]
    assert list(customers.marker.opacity) == [0.3, 0.3, 1.0, 0.3]


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


# --- customer grid -------------------------------------------------------------------------------


def frame_of(model: SessionModel) -> pl.DataFrame:
    return grid.members_frame(model.result, model.table.features)


def test_members_frame_lists_every_clustered_customer_once(model: SessionModel) -> None:
    frame = frame_of(model)
    assert frame.height == model.result.segmentation.n
    assert frame[CUSTOMER].is_unique().all()
    assert frame.columns == list(grid.GRID_COLUMNS)
    for segment in range(model.result.k):
        chosen = grid.select(frame, grid.Selection(segment=segment))
        assert set(chosen[CUSTOMER]) == members(model, segment)
        assert set(chosen["segment_name"]) == {model.result.names[segment]}


def test_region_selects_every_customer_inside_not_only_drawn_ones(model: SessionModel) -> None:
    seg = model.result.segmentation
    x, y = seg.projection[:, 0], seg.projection[:, 1]
    box = grid.parse_region({"range": {"x": [0.5, -1.0], "y": [-0.5, 2.0]}})
    assert box is not None
    inside = set(grid.region_members(model.result, box))
    expected = set(seg.customer_ids[(x > -1.0) & (x < 0.5) & (y > -0.5) & (y < 2.0)].tolist())
    assert inside == expected
    assert inside  # the box is not empty on this data
    # A triangle, checked with barycentric coordinates.
    tri = {"x": [-3.0, 3.0, 0.0], "y": [-3.0, -3.0, 3.0]}
    mask = grid.inside_polygon(x, y, tri["x"], tri["y"])
    (x1, x2, x3), (y1, y2, y3) = tri["x"], tri["y"]
    det = (y2 - y3) * (x1 - x3) + (x3 - x2) * (y1 - y3)
    a = ((y2 - y3) * (x - x3) + (x3 - x2) * (y - y3)) / det
    b = ((y3 - y1) * (x - x3) + (x1 - x3) * (y - y3)) / det
    np.testing.assert_array_equal(mask, (a > 0) & (b > 0) & (1 - a - b > 0))
    for bad in (
        {"lassoPoints": {"x": [1, 2], "y": [1, 2]}},
        {"lassoPoints": {"x": [1, 2, "x"], "y": [1, 2, 3]}},
        {"range": {"x": [1], "y": [1, 2]}},
        {"lassoPoints": {"x": list(range(6000)), "y": list(range(6000))}},
    ):
        with pytest.raises(grid.GridRequestError):
            grid.parse_region(bad)


def test_rows_block_sorts_filters_and_slices_on_the_server(model: SessionModel) -> None:
    frame = frame_of(model)
    request = {
        "startRow": 5,
        "endRow": 25,
        "sortModel": [{"colId": "monetary", "sort": "desc"}],
        "filterModel": {
            "frequency": {"filterType": "number", "type": "greaterThan", "filter": 2},
            "country": {
                "filterType": "text",
                "operator": "OR",
                "conditions": [
                    {"filterType": "text", "type": "contains", "filter": "KING"},
                    {"filterType": "text", "type": "equals", "filter": "france"},
                ],
            },
        },
    }
    response = grid.rows_block(frame, request)
    expected = frame.filter(
        (pl.col("frequency") > 2)
        & (
            pl.col("country").str.to_lowercase().str.contains("king")
            | (pl.col("country").str.to_lowercase() == "france")
        )
    ).sort(["monetary", CUSTOMER], descending=[True, False])
    assert response["rowCount"] == expected.height
    assert [r[CUSTOMER] for r in response["rowData"]] == expected[CUSTOMER].slice(5, 20).to_list()
    assert all(
        isinstance(v, str | int | float | type(None)) for v in response["rowData"][0].values()
    )
    in_range = grid.rows_block(
        frame,
        {
            "startRow": 0,
            "endRow": 200,
            "filterModel": {"recency_days": {"type": "inRange", "filter": 30, "filterTo": 10}},
        },
    )
    assert in_range["rowCount"] == frame.filter(pl.col("recency_days").is_between(10, 30)).height


@pytest.mark.parametrize(
    "request_",
    [
        {"startRow": 0, "endRow": 5000},
        {"startRow": -1, "endRow": 10},
        {"startRow": 0, "endRow": 10, "sortModel": [{"colId": "password", "sort": "asc"}]},
        {"startRow": 0, "endRow": 10, "filterModel": {"monetary": {"type": "regex", "filter": 1}}},
        {
            "startRow": 0,
            "endRow": 10,
            "filterModel": {"monetary": {"type": "equals", "filter": "1"}},
        },
        {"startRow": 0, "endRow": 10, "filterModel": {"nope": {"type": "equals", "filter": 1}}},
        "rows please",
    ],
)
def test_rows_block_refuses_what_the_grid_never_sends(model: SessionModel, request_: Any) -> None:
    with pytest.raises(grid.GridRequestError):
        grid.rows_block(frame_of(model), request_)


def test_quick_search_matches_id_name_and_country(model: SessionModel) -> None:
    frame = frame_of(model)
    some_id = frame[CUSTOMER][7]
    found = grid.select(frame, grid.Selection(search=some_id))
    assert some_id in found[CUSTOMER].to_list()
    name = model.result.names[1]
    by_name = grid.select(frame, grid.Selection(search=name.upper()))
    assert set(by_name[CUSTOMER]) >= members(model, 1)
    # Regex characters are taken literally.
    assert grid.select(frame, grid.Selection(search=".*")).height == 0
    with pytest.raises(grid.GridRequestError):
        grid.parse_search("x" * 101)


# --- callbacks -----------------------------------------------------------------------------------


def render(state: SessionState) -> dict[str, Any]:
    values = page.render(state.to_json())
    names = [f"{o.component_id}.{o.component_property}" for o in page.RENDER_OUTPUTS]
    return dict(zip(names, values, strict=True))


def test_render_follows_the_model_settings(state: SessionState, model: SessionModel) -> None:
    out = render(state)
    assert len(out[f"{ids.SEGMENTS_SCATTER}.figure"].data) == 4
    assert len(out[f"{ids.SEGMENTS_CARDS}.children"]) == 4
    five = with_settings(state, ModelSettings(k=5))
    out = render(five)
    assert len(out[f"{ids.SEGMENTS_SCATTER}.figure"].data) == 5
    assert len(out[f"{ids.SEGMENTS_SIZES}.figure"].data[0].y) == 5
    cards = texts(as_json(out[f"{ids.SEGMENTS_CARDS}.children"]))
    assert "Action:" in cards
    assert out[f"{ids.SEGMENTS_LASSO}.data"] is None


def test_selecting_by_bar_legend_card_and_clear(state: SessionState, model: SessionModel) -> None:
    data = state.to_json()
    bar = {"points": [{"customdata": [2]}]}
    picked = require_state(
        page.select_segment(bar, None, [], None, data, trigger=(ids.SEGMENTS_SIZES, bar))
    )
    assert selected_segment(picked) == 2
    # Clicking the selected bar again shows all segments.
    again = page.select_segment(
        bar, None, [], None, picked.to_json(), trigger=(ids.SEGMENTS_SIZES, bar)
    )
    assert selected_segment(require_state(again)) is None
    # The legend isolated trace 3 (toggleothers): segment 3.
    restyle = [{"visible": ["legendonly", "legendonly", "legendonly", True]}, [0, 1, 2, 3]]
    legend = page.select_segment(
        None, restyle, [], None, data, trigger=(ids.SEGMENTS_SCATTER, restyle)
    )
    assert selected_segment(require_state(legend)) == 3
    card = page.select_segment(None, None, [None, 1], None, data, trigger=(ids.segment_pick(1), 1))
    assert selected_segment(require_state(card)) == 1
    with pytest.raises(PreventUpdate):  # a re-rendered card button, not a click
        page.select_segment(None, None, [None], None, data, trigger=(ids.segment_pick(1), None))
    with pytest.raises(PreventUpdate):  # no such segment
        page.select_segment(
            {"points": [{"customdata": [9]}]}, None, [], None, data, trigger=(ids.SEGMENTS_SIZES, 1)
        )
    cleared = page.select_segment(
        None, None, [], 1, picked.to_json(), trigger=(ids.SEGMENTS_CLEAR, 1)
    )
    assert selected_segment(require_state(cleared)) is None


def test_grid_callback_lists_the_selected_segment(state: SessionState, model: SessionModel) -> None:
    request = {"startRow": 0, "endRow": 200}
    response, caption = page.grid_rows(request, with_segment(state, 1).to_json(), None, None)
    assert {r[CUSTOMER] for r in response["rowData"]} == members(model, 1)
    assert response["rowCount"] == len(members(model, 1))
    assert model.result.names[1] in texts(as_json(caption))
    region = page.store_region({"range": {"x": [-9, 9], "y": [-9, 9]}}, state.to_json())
    assert region["key"] == model.result.key
    response, caption = page.grid_rows(request, state.to_json(), region, None)
    assert response["rowCount"] == model.result.segmentation.n
    assert "inside the drawn region" in texts(as_json(caption))
    stale = {**region, "key": "0" * 64}  # drawn on another fit: ignored
    assert page.grid_rows(request, state.to_json(), stale, None)[0]["rowCount"] == 120
    refused, alert = page.grid_rows({"startRow": 0, "endRow": 99_999}, state.to_json(), None, None)
    assert refused == {"rowData": [], "rowCount": 0}
    assert "refused" in texts(as_json(alert))


def test_orders_of_a_clicked_customer(state: SessionState, model: SessionModel) -> None:
    customer = sorted(members(model, 0))[0]
    shown = page.show_orders(
        {"rowId": customer}, None, [], state.to_json(), trigger=(ids.SEGMENTS_GRID, 1)
    )
    tree = as_json(shown)
    expected = model.table.purchases.filter(pl.col(CUSTOMER) == customer)
    rows = next(n["props"]["rowData"] for n in _walk(tree) if "rowData" in n.get("props", {}))
    assert len(rows) == expected.height
    assert sum(r["amount"] for r in rows) == pytest.approx(expected["amount"].sum())
    assert model.result.names[0] in texts(tree)
    point = {"points": [{"customdata": [customer]}]}
    again = page.show_orders(
        None, point, [], state.to_json(), trigger=(ids.SEGMENTS_SCATTER, point)
    )
    assert texts(as_json(again)) == texts(tree)
    unknown = page.show_orders(
        {"rowId": "nobody"}, None, [], state.to_json(), trigger=(ids.SEGMENTS_GRID, 1)
    )
    assert "not in this segmentation" in texts(as_json(unknown))
    with pytest.raises(PreventUpdate):
        page.show_orders(
            {"rowId": "x" * 65}, None, [], state.to_json(), trigger=(ids.SEGMENTS_GRID, 1)
        )


def _walk(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        found.append(node)
        for v in node.values():
            found.extend(_walk(v))
    elif isinstance(node, list):
        for v in node:
            found.extend(_walk(v))
    return found


def test_rename_saves_refuses_duplicates_and_reaches_every_view(
    state: SessionState, model: SessionModel, services: AppServices
) -> None:
    name_ids = [ids.segment_name(s) for s in range(4)]
    values = list(model.result.names)
    values[3] = "  Sleepy   bunch "
    revision, alert = page.rename(values, name_ids, state.to_json(), trigger=ids.segment_name(3))
    assert isinstance(revision, str)
    assert "Sleepy bunch" in texts(as_json(alert))
    out = render(state)
    assert "Sleepy bunch" in [t.name for t in out[f"{ids.SEGMENTS_SCATTER}.figure"].data]
    response, _ = page.grid_rows(
        {"startRow": 0, "endRow": 200}, with_segment(state, 3).to_json(), None, None
    )
    assert {r["segment_name"] for r in response["rowData"]} == {"Sleepy bunch"}
    values[2] = "sleepy BUNCH"  # names are unique, compared case-insensitively
    revision, alert = page.rename(values, name_ids, state.to_json(), trigger=ids.segment_name(2))
    assert revision is page.no_update
    assert "already named" in texts(as_json(alert))
    values[2] = ""
    _revision, alert = page.rename(values, name_ids, state.to_json(), trigger=ids.segment_name(2))
    assert "cannot be empty" in texts(as_json(alert))
    with pytest.raises(PreventUpdate):  # unchanged value (a re-rendered field)
        page.rename(
            list(fit(model.table, model.settings, services, state).names),
            name_ids,
            state.to_json(),
            trigger=ids.segment_name(0),
        )


def test_every_view_explains_data_that_is_not_ready(services: AppServices) -> None:
    """A mapping that does not work yet: each view says what is wrong and where to fix it."""
    state = new_state(services)
    data = upload(sales_csv(customer_header="Who"), "who.csv", state.to_json()
    )
    out = render(require_state(data))
    shown = texts(as_json(out[f"{ids.SEGMENTS_ALERT}.children"]))
    assert "How to fix" in shown
    assert "Data page" in shown
    assert out[f"{ids.SEGMENTS_SCATTER}.figure"].layout.annotations  # a message, not a blank
    model_out = model_page.render(data)
    assert "Data page" in texts(as_json(model_out[1]))
    _summary, alert, options, _value = export_page.render(data)
    assert "Data page" in texts(as_json(alert))
    assert options == []
    assert page.grid_rows({"startRow": 0, "endRow": 100}, data, None, None)[0]["rowCount"] == 0
