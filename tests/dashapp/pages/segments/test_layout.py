"""Segments page skeleton: it renders without a query, carries the link's query to the URL
sync, and holds every id the page's callbacks read or write."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import polars as pl
import pytest
from dash import Input, Output, State
from dash.dependencies import DashDependency

import dashapp.pages.segments as segments_page
from dashapp.pages.segments import callbacks, grid, ids
from dashapp.pages.segments.grid import column_defs
from dashapp.pages.segments.layout import build, orders_panel, selection_caption
from dashapp.pages.segments.view import CustomerOrders
from dashapp.shared import ids as app_ids
from dashapp.shared.modeling import SessionModel
from tests.dashapp.helpers import as_json, find_ids, nodes, texts

APP_WIDE = {app_ids.SESSION}


class Recorder:
    """Stands in for the app: keeps the dependencies each callback is registered with."""

    def __init__(self) -> None:
        self.dependencies: list[DashDependency] = []

    def _keep(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        for value in [*args, *kwargs.values()]:
            items = value.values() if isinstance(value, dict) else [value]
            self.dependencies += [v for v in items if isinstance(v, Input | Output | State)]

    def callback(self, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        self._keep(args, kwargs)
        return lambda func: func

    def clientside_callback(self, _code: str, *args: Any, **kwargs: Any) -> None:
        self._keep(args, kwargs)


def test_build_renders_without_a_query_and_keeps_a_links_query() -> None:
    tree = as_json(build())
    assert ids.SEGMENTS_GRID in find_ids(tree)
    assert segments_page.layout is build
    with_query = as_json(build(k="5", segment="1"))
    store = next(
        node["props"]
        for node in nodes(with_query)
        if node.get("props", {}).get("id") == ids.SEGMENTS_URL_QUERY
    )
    assert store["data"] == {"k": "5", "segment": "1"}


def test_render_outputs_are_named_after_what_they_show() -> None:
    targets = {
        name: (o.component_id, o.component_property) for name, o in callbacks.RENDER_OUTPUTS.items()
    }
    assert targets == {
        "summary": (ids.SEGMENTS_SUMMARY, "children"),
        "alert": (ids.SEGMENTS_ALERT, "children"),
        "projection_figure": (ids.SEGMENTS_SCATTER, "figure"),
        "projection_note": (ids.SEGMENTS_SCATTER_NOTE, "children"),
        "projection_summary": ("segments-scatter-summary", "children"),
        "sizes_figure": (ids.SEGMENTS_SIZES, "figure"),
        "sizes_summary": ("segments-sizes-summary", "children"),
        "sizes_table": ("segments-sizes-table", "children"),
        "profiles_figure": (ids.SEGMENTS_HEATMAP, "figure"),
        "profiles_summary": ("segments-heatmap-summary", "children"),
        "profiles_table": ("segments-heatmap-table", "children"),
        "cards": (ids.SEGMENTS_CARDS, "children"),
        "region": (ids.SEGMENTS_LASSO, "data"),
    }


def test_page_ids_keep_the_app_wide_values() -> None:
    """Browser tests, bench scripts and links look these strings up."""
    names = [n for n in dir(ids) if n.isupper()]
    assert names
    for name in names:
        if hasattr(app_ids, name):
            assert getattr(ids, name) == getattr(app_ids, name), name
    assert ids.segment_pick(2) == {"type": "segment-pick", "segment": 2}
    assert ids.segment_name(0) == {"type": "segment-name", "segment": 0}
    assert ids.segment_exemplar("C1") == {"type": "segment-exemplar", "customer": "C1"}


def test_orders_panel_holds_the_ids_browser_tests_look_up() -> None:
    assert (ids.ORDERS_CUSTOMER, ids.SEGMENTS_ORDERS_GRID) == (
        "orders-customer",
        "segments-orders-grid",
    )
    lines = pl.DataFrame(
        {
            "invoice": ["A1", "A1"],
            "order_date": [dt.datetime(2024, 3, 1, 9, 30)] * 2,
            "amount": [2.5, 4.0],
        }
    )
    summary = {"orders": 1, "lines": 3, "amount": 6.5}
    shown = CustomerOrders(customer="C9", segment="Loyal", lines=lines, summary=summary)
    tree = as_json(orders_panel(shown))
    assert {ids.ORDERS_CUSTOMER, ids.SEGMENTS_ORDERS_GRID} <= set(find_ids(tree))
    grid = next(
        node["props"]
        for node in nodes(tree)
        if node.get("props", {}).get("id") == ids.SEGMENTS_ORDERS_GRID
    )
    assert grid["rowData"][0]["order_date"] == "2024-03-01 09:30"
    assert [c["field"] for c in grid["columnDefs"]] == ["invoice", "order_date", "amount"]
    assert grid["defaultColDef"]["wrapHeaderText"] is True
    shown_text = texts(tree)
    assert "C9" in shown_text
    assert "Showing the newest 2 lines." in shown_text  # 2 of the customer's 3 lines


def test_customer_grid_wraps_long_headers_instead_of_cutting_them() -> None:
    # At 1440 px the grid's twelve columns cut "Recency (days)" to "Recen..." unless the
    # headers wrap (the browser test checks nothing is cut).
    (grid,) = [
        n["props"]
        for n in nodes(as_json(build()))
        if n.get("props", {}).get("id") == ids.SEGMENTS_GRID
    ]
    assert grid["defaultColDef"]["wrapHeaderText"] is True
    assert grid["defaultColDef"]["autoHeaderHeight"] is True


def test_orders_panel_names_gross_returned_and_net_spend_as_the_grid_does() -> None:
    lines = pl.DataFrame(
        {"invoice": ["A1"], "order_date": [dt.datetime(2024, 3, 1, 9, 30)], "amount": [6.5]}
    )
    summary = {
        "orders": 1,
        "lines": 1,
        "amount": 6.5,
        "gross": 6.5,
        "returns_value": 1.5,
        "monetary": 5.0,
    }
    shown = CustomerOrders(customer="C9", segment="Loyal", lines=lines, summary=summary)
    tree = as_json(orders_panel(shown))
    text = " ".join(texts(tree).split())
    assert "Gross spend 6.50 − Returned value 1.50 = Net spend 5.00" in text
    assert "spent" not in text
    net_id = ids.orders_spend("monetary")
    net = next(n["props"] for n in nodes(tree) if n["props"].get("id") == net_id)
    assert net["title"].startswith("Net spend (monetary): gross spend − returned value")
    # The grid's column says the same words, with the same definition on its header.
    monetary = next(c for c in column_defs() if c["field"] == "monetary")
    assert monetary["headerName"] == "Net spend"
    assert monetary["headerTooltip"] == net["title"]


@pytest.mark.usefixtures("app_ctx")
def test_counts_of_one_are_singular(model: SessionModel) -> None:
    caption = texts(as_json(selection_caption(model.result, grid.Selection(), 1)))
    assert "customer" in caption
    assert "customers" not in caption
    region = grid.Selection(region_ids=("C1",))
    assert "(1 customer)" in texts(as_json(selection_caption(model.result, region, 1)))
    lines = pl.DataFrame({"invoice": ["A1"], "order_date": [dt.datetime(2024, 3, 1)]})
    shown = CustomerOrders(
        customer="C9",
        segment="Loyal",
        lines=lines,
        summary={"orders": 1, "lines": 1, "amount": 2.0},
    )
    assert "1 order, 1 purchase line" in texts(as_json(orders_panel(shown)))
