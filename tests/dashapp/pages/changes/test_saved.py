"""Changes by a saved segmentation: its model (saved in one session) assigns the customers
before and after the cutoff of another session's data, nothing refitted; the URL carries its
name; no choice, an unknown name or a model that cannot assign is a message, charts kept."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import polars as pl
import pytest
from dash import no_update

from core.clustering.persist import score_customers
from core.columns import CUSTOMER
from core.migration import AFTER, BEFORE, EXCLUDED, NEW, Periods, period_tables
from dashapp.pages.changes import callbacks as page
from dashapp.pages.changes import view as cv
from dashapp.pages.changes.layout import build as build_layout
from dashapp.services import AppServices
from dashapp.shared import workspace as ws
from dashapp.shared.loading import load_source, session_table
from dashapp.shared.modeling import (
    ModelSettings,
    SessionModel,
    fit,
    rename_segment,
    with_settings,
)
from dashapp.state import SessionState, new_state
from tests.dashapp.helpers import as_json, texts

pytestmark = pytest.mark.usefixtures("app_ctx")


def _save(state: SessionState, services: AppServices, settings: ModelSettings) -> str:
    chosen = with_settings(state, settings)
    table = session_table(chosen, services)
    model = SessionModel(table, settings, fit(table, settings, services, chosen))
    if settings.algorithm != "hdbscan":
        model = SessionModel(table, settings, rename_segment(model, services, chosen, 0, "Ours"))
    name = f"changes {uuid.uuid4().hex[:8]}"
    ws.save_session(chosen, services, model, name=name, note="")
    return name


def _cutoff(state: SessionState, services: AppServices) -> str:
    date = session_table(state, services).analysis_date
    assert date is not None
    return (date - dt.timedelta(days=120)).isoformat()


def test_a_saved_segmentation_assigns_both_periods_in_another_session(
    state: SessionState, services: AppServices
) -> None:
    name = _save(state, services, ModelSettings(k=3, seed=2))
    other = new_state(services)  # a colleague's session: the current model is the default k=4
    cutoff = _cutoff(other, services)
    out = page.render_changes(cutoff, cv.SAVED, "customers", other.to_json(), name)
    assert out["alert"] == []
    assert f"The saved segmentation {name!r}" in out["method"]
    assert "nothing refitted" in out["method"]
    _saved, model = ws.saved_model(services, name)
    migration = cv.session_migration(other, services, dt.date.fromisoformat(cutoff), "saved", name)
    assert migration.model is not None
    assert migration.model.key == model.key  # the saved model itself, not a fit on Before
    periods = migration.customers
    tables = _periods(other, services, cutoff)
    for column, table in ((AFTER, tables.after), (BEFORE, tables.before)):
        features = table.features
        expected = score_customers(model, features).select(
            CUSTOMER, pl.col("segment_name").fill_null(EXCLUDED).alias(column)
        )
        got = periods.select(CUSTOMER, column).filter(pl.col(column) != NEW)
        joined = got.join(expected, on=CUSTOMER, suffix="_saved")
        assert joined.height == got.height
        assert (joined[column] == joined[f"{column}_saved"]).all()
    assert "Ours" in set(periods[BEFORE]) | set(periods[AFTER])
    sankey = out["sankey"].data[0]
    assert sum(sankey.link.value) == periods.height


def _periods(state: SessionState, services: AppServices, cutoff: str) -> Periods:
    source = services.source(state.dataset, state.session_id)
    assert source is not None
    loaded = load_source(source, state, services)
    return period_tables(loaded, dt.date.fromisoformat(cutoff), cache=services.tables)


def test_the_url_carries_the_saved_segmentation() -> None:
    search = page.search_of("2011-09-01", "saved", "customers", None, "Q4 2011")
    assert search == "?cutoff=2011-09-01&by=saved&saved=Q4+2011&size=customers"
    assert page.search_of("2011-09-01", "rfm", "customers", None, "Q4 2011") == (
        "?cutoff=2011-09-01&by=rfm&size=customers"
    )
    asked = cv.parse_query({"cutoff": "2011-09-01", "by": "saved", "saved": "Q4 2011"})
    assert (asked.by, asked.saved, asked.refused) == ("saved", "Q4 2011", ())
    built = build_layout(by="saved", saved="Q4 2011")
    select = next(c for c in _walk(built) if getattr(c, "id", None) == "changes-saved")
    assert (select.value, select.disabled) == ("Q4 2011", False)


def _walk(component: Any) -> Iterator[Any]:
    yield component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and not isinstance(child, str | int | float):
            yield from _walk(child)


def test_no_choice_an_unknown_name_or_hdbscan_is_a_message_and_keeps_the_charts(
    state: SessionState, services: AppServices
) -> None:
    cutoff = _cutoff(state, services)
    none = page.render_changes(cutoff, "saved", "customers", state.to_json(), "")
    assert none["sankey"] is no_update
    assert "Choose a saved segmentation" in texts(as_json(none["alert"]))
    unknown = page.render_changes(cutoff, "saved", "customers", state.to_json(), "no such")
    assert unknown["sankey"] is no_update
    assert "no saved segmentation is called 'no such'" in texts(as_json(unknown["alert"]))
    name = _save(state, services, ModelSettings(algorithm="hdbscan"))
    hdbscan = page.render_changes(cutoff, "saved", "customers", state.to_json(), name)
    assert hdbscan["matrix"] is no_update
    assert "cannot assign customers of another date" in texts(as_json(hdbscan["alert"]))


def test_the_saved_choice_lists_the_library(state: SessionState, services: AppServices) -> None:
    name = _save(state, services, ModelSettings(k=3))
    out = page.saved_options(state.to_json())
    assert {"label": name, "value": name} in out["options"]
    assert page.saved_disabled("saved") is False
    assert page.saved_disabled("rfm") is True
