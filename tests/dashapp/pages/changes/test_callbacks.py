"""Changes page callbacks as functions (outputs read by name): the default cutoff, a moved
cutoff, a bad one (an alert, charts kept), a clicked flow listed and exported exactly."""

from __future__ import annotations

import base64
import datetime as dt
import io

import polars as pl
import pytest
from dash import no_update
from dash.exceptions import PreventUpdate

from core.migration import AFTER, BEFORE
from dashapp.pages.changes import callbacks as page
from dashapp.pages.changes import figures as fc
from dashapp.pages.changes import view as cv
from dashapp.services import AppServices
from dashapp.shared.loading import session_table
from dashapp.shared.modeling import ModelSettings, with_settings
from dashapp.state import SessionState
from tests.dashapp.helpers import as_json, texts

pytestmark = pytest.mark.usefixtures("app_ctx")


def _analysis(state: SessionState, services: AppServices) -> dt.date:
    date = session_table(state, services).analysis_date
    assert date is not None
    return date


def test_init_sets_the_default_cutoff_90_days_back(
    state: SessionState, services: AppServices
) -> None:
    out = page.init_changes(state.to_json(), None, {})
    analysis = _analysis(state, services)
    assert out["cutoff"] == (analysis - dt.timedelta(days=90)).isoformat()
    assert out["alert"] == []
    assert out["notice"] == []
    again = page.init_changes(state.to_json(), out["cutoff"], {})
    assert again["cutoff"] is no_update


def test_a_link_part_that_does_not_parse_is_named(state: SessionState) -> None:
    out = page.init_changes(state.to_json(), None, {"cutoff": "soon", "by": "rfm"})
    assert "the cutoff must be a date" in texts(as_json(out["notice"]))


def test_render_draws_the_migration(state: SessionState, services: AppServices) -> None:
    cutoff = (_analysis(state, services) - dt.timedelta(days=120)).isoformat()
    out = page.render_changes(cutoff, "rfm", "customers", state.to_json())
    assert out["alert"] == []
    migration = cv.session_migration(state, services, dt.date.fromisoformat(cutoff), "rfm")
    sankey = out["sankey"].data[0]
    assert sum(sankey.link.value) == migration.customers.height
    s = migration.summary
    kpis = texts(as_json(out["kpis"]))
    for figure in (s.retained, s.upgraded, s.downgraded, s.new):
        assert f"{figure:,}" in kpis
    assert out["sankey_summary"] == fc.sankey_summary(migration, "customers")
    assert "the largest" in out["matrix_summary"]
    # The matrix holds the same counts as the flows.
    heat = out["matrix"].data[0]
    total = sum(v for row in heat.z for v in row)
    assert total == migration.customers.height


def test_a_bad_cutoff_is_an_alert_and_keeps_the_charts(state: SessionState) -> None:
    out = page.render_changes("2099-01-01", "rfm", "customers", state.to_json())
    assert out["sankey"] is no_update
    assert out["matrix"] is no_update
    assert "outside the data's range" in texts(as_json(out["alert"]))
    refused = page.render_changes("yesterday", "rfm", "customers", state.to_json())
    assert "the cutoff must be a date" in texts(as_json(refused["alert"]))


def test_a_clicked_flow_is_listed_and_exported_exactly(
    state: SessionState, services: AppServices
) -> None:
    cutoff = (_analysis(state, services) - dt.timedelta(days=120)).isoformat()
    migration = cv.session_migration(state, services, dt.date.fromisoformat(cutoff), "model")
    flow = migration.flows.sort("customers", descending=True).row(0, named=True)
    # What Dash passes for a link click: the trace's customdata at the link's number, and
    # the link's label (a node click carries the node's label).
    pair = [flow["from_segment"], flow["to_segment"]]
    label = fc.link_label(*pair)
    node = {"points": [{"customdata": pair, "label": f"{pair[0]} (before)", "pointNumber": 0}]}
    with pytest.raises(PreventUpdate):
        page.flow_of("changes-sankey", node, None)
    click = {"points": [{"customdata": pair, "label": label, "pointNumber": 0}]}
    selection = page.flow_of("changes-sankey", click, None)
    assert selection == {"from": flow["from_segment"], "to": flow["to_segment"]}
    caption, rows = page.render_selection(selection, cutoff, "model", state.to_json())
    assert f"{flow['customers']:,} customers" in caption
    assert len(rows) == flow["customers"]
    out = page.export_flow(
        n_clicks=1, selection=selection, fmt="csv", cutoff=cutoff, by="model", data=state.to_json()
    )
    assert out["alert"] == []
    sent = out["download"]
    frame = pl.read_csv(
        io.BytesIO(base64.b64decode(sent["content"])), schema_overrides={"customer_id": pl.String}
    )
    members = migration.customers.filter(
        (pl.col(BEFORE) == flow["from_segment"]) & (pl.col(AFTER) == flow["to_segment"])
    )
    assert sorted(frame["customer_id"]) == sorted(members["customer_id"])
    assert sent["filename"].startswith(f"changes-{cutoff}-")


def test_a_matrix_cell_selects_its_flow() -> None:
    click = {"points": [{"x": "Lost", "y": "Champions", "z": 3}]}
    assert page.flow_of("changes-matrix", None, click) == {"from": "Champions", "to": "Lost"}
    assert page.flow_of("changes-clear", None, None) is None


def test_the_url_carries_cutoff_and_flow() -> None:
    search = page.search_of("2011-09-01", "rfm", "revenue", {"from": "A b", "to": "C"})
    assert search == "?cutoff=2011-09-01&by=rfm&size=revenue&from=A+b&to=C"
    asked = cv.parse_query({"cutoff": "2011-09-01", "by": "model", "from": "A b", "to": "C"})
    assert asked.cutoff == dt.date(2011, 9, 1)
    assert asked.by == "model"
    assert asked.selection == {"from": "A b", "to": "C"}
    assert asked.refused == ()


def test_the_grid_shows_the_top_spenders_of_a_large_flow(
    state: SessionState, services: AppServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    cutoff = (_analysis(state, services) - dt.timedelta(days=120)).isoformat()
    migration = cv.session_migration(state, services, dt.date.fromisoformat(cutoff), "model")
    flow = migration.flows.sort("customers", descending=True).row(0, named=True)
    assert flow["customers"] > 3
    monkeypatch.setattr(cv, "GRID_MAX_ROWS", 3)
    selection = {"from": flow["from_segment"], "to": flow["to_segment"]}
    caption, rows = page.render_selection(selection, cutoff, "model", state.to_json())
    members = migration.members(flow["from_segment"], flow["to_segment"])
    top = members.sort(["monetary_before", "customer_id"], descending=[True, False]).head(3)
    assert [r["customer_id"] for r in rows] == top["customer_id"].to_list()
    assert "the export holds all" in caption


def test_a_model_that_cannot_assign_new_customers_is_an_alert(
    state: SessionState, services: AppServices
) -> None:
    hdbscan = with_settings(state, ModelSettings(algorithm="hdbscan"))
    cutoff = (_analysis(state, services) - dt.timedelta(days=120)).isoformat()
    out = page.render_changes(cutoff, "model", "customers", hdbscan.to_json())
    assert out["sankey"] is no_update
    text = texts(as_json(out["alert"]))
    assert "the current model is 'hdbscan'" in text
    assert "show the changes by RFM" in text
    # By RFM the same session draws its changes.
    assert page.render_changes(cutoff, "rfm", "customers", hdbscan.to_json())["alert"] == []
