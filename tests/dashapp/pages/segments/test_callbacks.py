"""Segments page callbacks, called as plain functions: the charts and cards follow the model
settings, linked selection (bar, legend, card, clear), the grid's blocks and caption, a clicked
customer's orders, renaming, and data that is not ready."""

from __future__ import annotations

import polars as pl
import pytest
from dash import Dash, no_update
from dash.exceptions import PreventUpdate

from core.columns import CUSTOMER
from dashapp.pages.export import callbacks as export_page
from dashapp.pages.model import callbacks as model_page
from dashapp.pages.segments import callbacks as page
from dashapp.pages.segments import ids
from dashapp.services import AppServices
from dashapp.shared import ids as app_ids
from dashapp.shared.modeling import (
    ModelSettings,
    SessionModel,
    fit,
    selected_segment,
    with_segment,
    with_settings,
)
from dashapp.state import SessionState, new_state, require_state
from tests.dashapp.helpers import as_json, nodes, sales_csv, texts, upload
from tests.dashapp.pages.segments.common import members

pytestmark = pytest.mark.usefixtures("app_ctx")


def test_render_follows_the_model_settings(state: SessionState, model: SessionModel) -> None:
    out = page.render(state.to_json())
    assert set(out) == set(page.RENDER_OUTPUTS)
    assert len(out["projection_figure"].data) == 4
    assert len(out["cards"]) == 4
    five = with_settings(state, ModelSettings(k=5))
    out = page.render(five.to_json())
    assert len(out["projection_figure"].data) == 5
    assert len(out["sizes_figure"].data[0].y) == 5
    cards = texts(as_json(out["cards"]))
    assert "Action:" in cards
    assert out["region"] is None


def test_selecting_by_bar_legend_card_and_clear(state: SessionState, model: SessionModel) -> None:
    data = state.to_json()
    bar = {"points": [{"customdata": [2]}]}
    picked = require_state(
        page.select_segment(bar, None, [], None, data, trigger=(ids.SEGMENTS_SIZES, bar))
    )
    assert selected_segment(picked) == 2
    # Clicking the selected bar or its card's button again (a double click) keeps it selected.
    with pytest.raises(PreventUpdate):
        page.select_segment(
            bar, None, [], None, picked.to_json(), trigger=(ids.SEGMENTS_SIZES, bar)
        )
    with pytest.raises(PreventUpdate):
        page.select_segment(
            None, None, [None, None, 2], None, picked.to_json(), trigger=(ids.segment_pick(2), 2)
        )
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
    rows = next(n["props"]["rowData"] for n in nodes(tree) if "rowData" in n["props"])
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


def test_rename_saves_refuses_duplicates_and_reaches_every_view(
    state: SessionState, model: SessionModel, services: AppServices
) -> None:
    name_ids = [ids.segment_name(s) for s in range(4)]
    values = list(model.result.names)
    values[3] = "  Sleepy   bunch "
    revision, alert = page.rename(values, name_ids, state.to_json(), trigger=ids.segment_name(3))
    assert isinstance(revision, str)
    assert "Sleepy bunch" in texts(as_json(alert))
    out = page.render(state.to_json())
    assert "Sleepy bunch" in [t.name for t in out["projection_figure"].data]
    response, _ = page.grid_rows(
        {"startRow": 0, "endRow": 200}, with_segment(state, 3).to_json(), None, None
    )
    assert {r["segment_name"] for r in response["rowData"]} == {"Sleepy bunch"}
    values[2] = "sleepy BUNCH"  # names are unique, compared case-insensitively
    revision, alert = page.rename(values, name_ids, state.to_json(), trigger=ids.segment_name(2))
    assert revision is no_update
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
    data = upload(sales_csv(customer_header="Who"), "who.csv", state.to_json())
    out = page.render(data)
    assert set(out) == set(page.RENDER_OUTPUTS)
    shown = texts(as_json(out["alert"]))
    assert "How to fix" in shown
    assert "Data page" in shown
    assert out["projection_figure"].layout.annotations  # a message, not a blank
    model_out = model_page.render(data)
    assert "Data page" in texts(as_json(model_out["summary"]))
    export_out = export_page.render(data)
    assert "Data page" in texts(as_json(export_out["alert"]))
    assert export_out["segment_options"] == []
    assert page.grid_rows({"startRow": 0, "endRow": 100}, data, None, None)[0]["rowCount"] == 0


def test_render_answers_the_browser_by_name(app: Dash, state: SessionState) -> None:
    """Dash calls ``render`` with its inputs by name and sends each named output to its id."""
    outputs = list(page.RENDER_OUTPUTS.values())
    key = "...".join(f"{o.component_id}.{o.component_property}" for o in outputs)
    entry = app.callback_map[f"..{key}.."]
    values = {app_ids.SESSION: state.to_json(), ids.SEGMENTS_NAMES_REV: None}
    body = {
        "output": f"..{key}..",
        "outputs": [{"id": o.component_id, "property": o.component_property} for o in outputs],
        "inputs": [{**dep, "value": values[dep["id"]]} for dep in entry["inputs"]],
        "state": [],
        "changedPropIds": [f"{app_ids.SESSION}.data"],
    }
    response = app.server.test_client().post("/_dash-update-component", json=body)
    assert response.status_code == 200
    shown = response.get_json()["response"]
    assert len(shown[ids.SEGMENTS_SCATTER]["figure"]["data"]) == 4
    assert len(shown[ids.SEGMENTS_CARDS]["children"]) == 4
    assert shown[ids.SEGMENTS_LASSO]["data"] is None
    assert "4 segments" in texts(shown[ids.SEGMENTS_SUMMARY]["children"])
