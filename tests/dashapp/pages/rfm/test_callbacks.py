"""RFM page callbacks: render outputs by name, settings written to the state and checked."""

from __future__ import annotations

from typing import Any

import flask
import numpy as np
import pytest
from dash import Dash, no_update
from dash.exceptions import PreventUpdate

from dashapp.pages.rfm import callbacks as page
from dashapp.pages.rfm import ids
from dashapp.pages.rfm.view import DEFAULTS, SETTINGS
from dashapp.services import AppServices
from dashapp.shared import ids as shared_ids
from dashapp.shared.loading import session_table
from dashapp.state import SessionState, new_state, parse_state
from tests.dashapp.helpers import as_json, sales_csv, texts, upload

SETTING_IDS = [ids.rfm_setting(n) for n in SETTINGS]


def render(state: SessionState) -> dict[str, Any]:
    out = page.render(state.to_json())
    assert list(out) == list(page.RENDER_OUTPUTS)  # every named output, nothing else
    return out


@pytest.mark.usefixtures("app_ctx")
def test_render_default_then_switch_rule_set(services: AppServices) -> None:
    state = new_state(services)
    out = render(state)
    table = session_table(state, services)
    assert f"{table.n_customers - table.n_excluded:,}" in texts(as_json(out["headline"]))
    segment_rows = texts(as_json(out["segment_table"]))
    assert "Champions" in segment_rows
    assert "Can't Lose Them" in segment_rows  # rfm11 by default
    data, alert = page.apply_settings(["rf_grid", 3, "revenue"], SETTING_IDS, state.to_json())
    assert alert == []
    new = parse_state(data, services)
    assert new.view_settings("rfm") == {"ruleset": "rf_grid", "bins": 3, "color": "revenue"}
    out = render(new)
    assert "Can't Lose" in texts(as_json(out["segment_table"]))
    assert "Can't Lose Them" not in texts(as_json(out["segment_table"]))
    assert np.array(out["grid_figure"].data[0].z, dtype=float).shape == (3, 3)
    assert out["treemap_figure"].data[0].marker.showscale is True
    controls = as_json(out["controls"])
    assert '"value": "rf_grid"' in str(controls).replace("'", '"')


@pytest.mark.usefixtures("app_ctx")
@pytest.mark.parametrize(
    "values",
    [
        ["rfm99", 5, "segment"],  # unknown rule set
        ["rfm11", 7, "segment"],  # bins no control offers
        ["rfm11", "5", "segment"],  # a string for a number
        ["rfm11", 5, "<script>"],
    ],
)
def test_apply_settings_refuses_values_no_control_sends(
    services: AppServices, values: list[object]
) -> None:
    state = new_state(services)
    data, alert = page.apply_settings(values, SETTING_IDS, state.to_json())
    assert data is no_update
    assert "not applied" in texts(as_json(alert))


@pytest.mark.usefixtures("app_ctx")
def test_apply_settings_ignores_unchanged_and_malformed_requests(services: AppServices) -> None:
    state = new_state(services)
    with pytest.raises(PreventUpdate):
        page.apply_settings(["rfm11", 5, "segment"], SETTING_IDS, state.to_json())  # defaults
    with pytest.raises(PreventUpdate):
        page.apply_settings(["rfm11"], SETTING_IDS, state.to_json())  # lengths differ
    data, alert = page.apply_settings(
        ["rfm11"], [{"type": ids.RFM_SETTING_TYPE, "name": "colour"}], state.to_json()
    )
    assert data is no_update
    assert "unknown RFM setting" in texts(as_json(alert))


@pytest.mark.usefixtures("app_ctx")
def test_tampered_stored_settings_fall_back_to_defaults(services: AppServices) -> None:
    state = new_state(services).with_view_settings("rfm", {"ruleset": "nope", "bins": 99})
    assert page.settings_of(state) == DEFAULTS
    out = render(state)
    assert out["alert"] == []
    assert np.array(out["grid_figure"].data[0].z, dtype=float).shape == (5, 5)


@pytest.mark.usefixtures("app_ctx")
def test_render_explains_data_that_is_not_ready(services: AppServices) -> None:
    state = new_state(services)
    data = upload(sales_csv(customer_header="Who"), "who.csv", state.to_json())
    out = render(parse_state(data, services))
    assert "How to fix" in texts(as_json(out["alert"]))
    assert "Data page" in out["treemap_figure"].layout.annotations[0].text
    assert out["controls"]  # the settings stay usable


def test_render_answers_a_browser_request_with_every_named_output(
    app: Dash, server: flask.Flask, services: AppServices
) -> None:
    """Through Dash's HTTP endpoint: the dict of named outputs reaches each component."""
    key = next(
        k
        for k, entry in app.callback_map.items()
        if getattr(entry.get("callback"), "__wrapped__", None) is page.render
    )
    outputs = [
        {"id": o.component_id, "property": o.component_property}
        for o in page.RENDER_OUTPUTS.values()
    ]
    session = {"id": shared_ids.SESSION, "property": "data"}
    body = {
        "output": key,
        "outputs": outputs,
        "inputs": [{**session, "value": new_state(services).to_json()}],
        "state": [],
        "changedPropIds": [f"{shared_ids.SESSION}.data"],
    }
    response = server.test_client().post("/_dash-update-component", json=body)
    assert response.status_code == 200
    updated = response.get_json()["response"]
    assert {(o["id"], o["property"]) for o in outputs} == {
        (component, prop) for component, props in updated.items() for prop in props
    }
    assert "Champions" in texts(updated[ids.RFM_TABLE]["children"])
