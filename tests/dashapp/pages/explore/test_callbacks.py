"""Explore callbacks: the render callback's named outputs, its errors, and its registration."""

from __future__ import annotations

import pytest
from dash import Dash
from dash.exceptions import PreventUpdate

from core.columns import COUNTRY
from dashapp.pages.explore import callbacks as page
from dashapp.pages.explore import view as es
from dashapp.pages.explore.layout import build
from dashapp.services import AppServices
from dashapp.shared import ids as app_ids
from dashapp.shared.loading import session_table
from dashapp.state import new_state, parse_state
from tests.dashapp.helpers import as_json, find_ids, sales_csv, texts, upload

# Ids the shell layout (dashapp.app) provides on every page.
APP_WIDE_IDS = {app_ids.SESSION, app_ids.NAVBAR, app_ids.SESSION_NOTICE}


@pytest.mark.usefixtures("app_ctx")
def test_render_default_data(services: AppServices) -> None:
    out = page.render(new_state(services).to_json())
    assert out.keys() == page.RENDER_OUTPUTS.keys()
    table = session_table(new_state(services), services)
    included = table.n_customers - table.n_excluded
    assert f"{included:,}" in texts(as_json(out["headline"]))
    assert out["alert"] == []
    assert out["distributions_figure"].data
    summary = as_json(out["summary"])
    assert "Net spend (monetary)" in texts(summary)


@pytest.mark.usefixtures("app_ctx")
def test_render_explains_data_that_is_not_ready(services: AppServices) -> None:
    state = new_state(services)
    data = upload(sales_csv(customer_header="Who"), "who.csv", state.to_json())
    out = page.render(parse_state(data, services).to_json())
    assert out.keys() == page.RENDER_OUTPUTS.keys()
    alert = texts(as_json(out["alert"]))
    assert "How to fix" in alert
    assert "Data page" in alert
    figure_outputs = [
        name
        for name, output in page.RENDER_OUTPUTS.items()
        if output.component_property == "figure"
    ]
    assert len(figure_outputs) == 5
    for name in figure_outputs:
        fig = out[name]
        assert fig.data == ()
        assert "Data page" in fig.layout.annotations[0].text  # never a blank chart


@pytest.mark.usefixtures("app_ctx")
def test_render_ignores_a_forged_session() -> None:
    with pytest.raises(PreventUpdate):
        page.render({"token": "forged", "dataset": "default"})


@pytest.mark.usefixtures("app_ctx")
def test_no_country_role_means_no_country_chart(services: AppServices) -> None:
    csv = sales_csv().replace(b",Country", b"").replace(b",UK", b"")
    data = upload(csv, "nocountry.csv", new_state(services).to_json())
    table = session_table(parse_state(data, services), services)
    assert table.features.get_column(COUNTRY).null_count() == table.n_customers
    view = es.explore_data(table)
    assert view.countries is None
    out = page.render(data)
    assert "No country" in out["countries_figure"].layout.annotations[0].text


def _dependency_ids(dependency: object) -> list[object]:
    """Component ids of an Output / Input, or of a list or dict of them."""
    if isinstance(dependency, dict):
        return [i for d in dependency.values() for i in _dependency_ids(d)]
    if isinstance(dependency, list | tuple):
        return [i for d in dependency for i in _dependency_ids(d)]
    return [dependency.component_id]  # type: ignore[attr-defined]


def test_callback_ids_exist_in_the_layout() -> None:
    app = Dash(__name__)
    page.register(app)
    assert app.callback_map
    used = []
    for entry in app.callback_map.values():
        used += _dependency_ids(entry["output"])
        used += [dep["id"] for dep in entry["inputs"] + entry["state"]]
    in_layout = set(find_ids(as_json(build())))
    missing = {i for i in used if isinstance(i, str) and i not in in_layout | APP_WIDE_IDS}
    assert not missing


def test_render_answers_a_browser_request(app: Dash, services: AppServices) -> None:
    """The named outputs reach the browser as the same component properties."""
    with app.server.test_client() as client:
        specs = client.get("/_dash-dependencies").get_json()
        (spec,) = [
            s for s in specs if f"{page.RENDER_OUTPUTS['headline'].component_id}." in s["output"]
        ]
        body = {
            "output": spec["output"],
            "outputs": [
                {"id": o.component_id, "property": o.component_property}
                for o in page.RENDER_OUTPUTS.values()
            ],
            "inputs": [{**spec["inputs"][0], "value": new_state(services).to_json()}],
            "state": [],
            "changedPropIds": [f"{app_ids.SESSION}.data"],
        }
        response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200
    sent = response.get_json()["response"]
    for output in page.RENDER_OUTPUTS.values():
        assert output.component_property in sent[output.component_id]
