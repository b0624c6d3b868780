"""Segments page view: the server-side customer grid (selection, region, search, sort,
filters), the selected segment, a customer's orders and the names' revision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from core.columns import CUSTOMER
from core.pipeline import build_customer_table, load_transactions
from dashapp.pages.segments import grid, view
from dashapp.shared.modeling import SessionModel, with_segment
from dashapp.state import SessionState
from tests.core import cdnow
from tests.dashapp.pages.segments.common import members

pytestmark = pytest.mark.usefixtures("app_ctx")


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


# --- the page's view -----------------------------------------------------------------------


def test_view_keeps_only_a_selection_the_segmentation_has(
    state: SessionState, model: SessionModel
) -> None:
    assert view.valid_selected(state, model) is None
    assert view.valid_selected(with_segment(state, 3), model) == 3
    assert view.valid_selected(with_segment(state, 9), model) is None  # k is 4
    assert model.result.segmentation.n_noise == 0
    assert view.valid_selected(with_segment(state, -1), model) is None  # K-means: no noise
    shown = view.segments_view(with_segment(state, 1), model)
    assert shown.selected == 1
    assert shown.summary == f"4 segments of {model.result.overview.customers:,} customers"
    assert shown.settings == model.settings.describe()
    assert shown.model_search.startswith("?")
    assert "segment=1" in shown.model_search


def test_next_selection_is_idempotent_and_refuses_what_changes_nothing() -> None:
    order = [0, 1, 2, 3]
    assert view.next_selection(None, 2, order) == 2
    assert view.next_selection(2, 3, order) == 3
    assert view.next_selection(2, None, order) is None
    for current, chosen in (
        (2, 2),  # chosen again (a double click): it stays selected
        (None, None),  # "show all" with nothing selected
        (None, 9),  # no such segment
        (None, True),  # not a segment number
        (None, "1"),
    ):
        with pytest.raises(view.NoChange):
            view.next_selection(current, chosen, order)


def test_grid_selection_and_block_follow_segment_region_and_search(
    state: SessionState, model: SessionModel
) -> None:
    selection = view.grid_selection(with_segment(state, 1), model, None, "  ")
    assert selection == grid.Selection(segment=1)
    response, count = view.grid_block(model, selection, {"startRow": 0, "endRow": 200})
    assert count == len(members(model, 1)) == response["rowCount"]
    region = {"key": model.result.key, "region": {"x": [-9, 9, 9, -9], "y": [-9, -9, 9, 9]}}
    ids_inside = view.region_ids(region, model.result)
    assert ids_inside is not None
    assert set(ids_inside) == set(model.result.segmentation.customer_ids.tolist())
    assert view.region_ids({**region, "key": "0" * 64}, model.result) is None  # another fit
    assert view.region_ids({"key": model.result.key, "region": "x"}, model.result) is None
    with pytest.raises(grid.GridRequestError):
        view.grid_selection(state, model, None, "x" * 101)


def test_customer_orders_come_from_the_cleaned_lines(model: SessionModel) -> None:
    customer = sorted(members(model, 0))[0]
    shown = view.customer_orders(model, customer)
    expected = model.table.purchases.filter(pl.col(CUSTOMER) == customer)
    assert shown.customer == customer
    assert shown.segment == model.result.names[0]
    assert shown.lines.height == shown.summary["lines"] == expected.height
    assert shown.summary["amount"] == pytest.approx(expected["amount"].sum())
    # The spend shown with the orders is the grid's: the customer's feature row.
    row = model.table.features.filter(pl.col(CUSTOMER) == customer).row(0, named=True)
    for column in ("gross", "returns_value", "monetary"):
        assert shown.summary[column] == row[column]
    assert shown.summary["gross"] == pytest.approx(expected["amount"].sum())
    with pytest.raises(view.OrdersUnavailable, match="not in this segmentation"):
        view.customer_orders(model, "nobody")


def test_orders_of_an_amount_only_file_show_what_the_file_has(tmp_path: Path) -> None:
    # CDNOW lines have a number of CDs and the line's dollar value, no unit price: the panel
    # shows no Price column (it would read 0.00 on every line).
    path = tmp_path / "cdnow.csv"
    path.write_bytes(cdnow.csv_text())
    purchases = build_customer_table(load_transactions(path)).purchases
    assert purchases is not None
    lines = grid.customer_orders(purchases, "00003")
    assert lines.columns == ["order_date", "quantity", "amount"]
    assert lines["amount"].to_list() == [19.54, 20.76, 20.76]
    assert lines["quantity"].to_list() == [2.0, 2.0, 2.0]
    assert grid.orders_summary(purchases, "00003")["amount"] == pytest.approx(61.06)


def test_names_revision_and_unchanged_names() -> None:
    names = ["A", "B"]
    assert view.names_revision(names) == view.names_revision(list(names))
    assert view.names_revision(names) != view.names_revision(["A", "C"])
    assert len(view.names_revision(names)) == 16
    assert view.same_name("  Big   spenders ", "Big spenders")
    assert not view.same_name("Big", "Big spenders")
    assert not view.same_name(None, "Big spenders")
