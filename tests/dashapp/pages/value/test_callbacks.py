"""Value page: render outputs by name from the session's predictions, settings checked and
written to the state, a bad calibration end shown as a message with the controls kept."""

from __future__ import annotations

import base64
import datetime as dt
import io
from typing import Any

import polars as pl
import pytest
from dash import no_update

from core import clv, codec
from dashapp.pages.value import callbacks as page
from dashapp.pages.value import ids
from dashapp.pages.value.view import TOP_SPEND_SHARE
from dashapp.services import AppServices
from dashapp.shared import value
from dashapp.shared.loading import session_table
from dashapp.state import SessionState, new_state, parse_state
from tests.dashapp.helpers import as_json, texts

SETTING_IDS = [ids.value_setting(n) for n in ("time_unit", "horizon", "calibration_end")]


def render(state: SessionState) -> dict[str, Any]:
    out = page.render(state.to_json())
    assert list(out) == list(page.RENDER_OUTPUTS)
    return out


def _end_of(state: SessionState, services: AppServices) -> dt.date:
    table = session_table(state, services)
    last = table.features["last_purchase"].max()
    assert isinstance(last, dt.date)
    return last - dt.timedelta(weeks=8)


@pytest.mark.usefixtures("app_ctx")
def test_render_default_shows_the_session_predictions(services: AppServices) -> None:
    state = new_state(services)
    out = render(state)
    result = value.session_clv(session_table(state, services), clv.ClvConfig(), services)
    headline = texts(as_json(out["headline"]))
    assert f"{result.table.height:,} customers" in headline
    assert "52 weeks" in headline
    assert out["alert"] == []
    assert sum(out["p_alive_figure"].data[0].y) == result.table.height
    assert "p_alive distribution" in out["p_alive_summary"]
    # No lines after the default end (the last day): no holdout, said so.
    assert "no lines after the calibration end" in out["holdout_summary"]


@pytest.mark.usefixtures("app_ctx", "model")
def test_revenue_by_segment_sums_the_customers_predictions(services: AppServices) -> None:
    state = new_state(services)
    out = render(state)
    bars = out["by_segment_figure"].data[0]
    result = value.session_clv(session_table(state, services), clv.ClvConfig(), services)
    assert sum(bars.y) == pytest.approx(result.table["predicted_revenue"].sum())
    assert "expected to bring the most" in out["by_segment_summary"]
    # The total it states is over the customers in segments, and it says how many.
    in_segments = sum(point[0] for point in bars.customdata)
    assert f"of the {in_segments:,} customers in segments" in out["by_segment_summary"]


@pytest.mark.usefixtures("app_ctx")
def test_an_earlier_end_gives_the_holdout_check(services: AppServices) -> None:
    state = new_state(services)
    end = _end_of(state, services)
    data, alert = page.apply_settings(["week", 52, end.isoformat()], SETTING_IDS, state.to_json())
    assert alert == []
    new = parse_state(data, services)
    assert new.view_settings("value") == {
        "time_unit": "week",
        "horizon": None,  # the default shown in the box stays the default
        "calibration_end": end.isoformat(),
    }
    out = render(new)
    actual = out["holdout_figure"].data[0]
    assert actual.name == "actual"
    assert "Holdout check" in out["holdout_summary"]
    assert (end + dt.timedelta(days=1)).isoformat() in out["holdout_summary"]


@pytest.mark.usefixtures("app_ctx")
def test_a_calibration_end_outside_the_data_is_a_message_not_a_crash(
    services: AppServices,
) -> None:
    state = new_state(services)
    data, _alert = page.apply_settings(["week", 52, "1990-01-01"], SETTING_IDS, state.to_json())
    out = render(parse_state(data, services))
    assert "outside the data" in texts(as_json(out["alert"]))
    assert out["controls"]  # the settings can still be changed
    # Other pages still get the customer table; the predictions are just absent.
    table = session_table(parse_state(data, services), services)
    assert value.predictions_or_none(parse_state(data, services), table, services) is None


@pytest.mark.usefixtures("app_ctx")
@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["week", -3, ""], "above 0"),
        (["week", 52, "09/09/2011"], "a date like"),
        (["fortnight", 52, ""], "time unit"),
    ],
)
def test_bad_settings_are_refused(services: AppServices, values: list, message: str) -> None:
    state = new_state(services)
    data, alert = page.apply_settings(values, SETTING_IDS, state.to_json())
    assert data is no_update
    assert message in texts(as_json(alert))


@pytest.mark.usefixtures("app_ctx")
def test_a_new_unit_takes_its_default_horizon(services: AppServices) -> None:
    state = new_state(services)
    data, _ = page.apply_settings(["day", 52, ""], SETTING_IDS, state.to_json())
    new = parse_state(data, services)
    assert value.config_of(new).horizon_units == clv.DEFAULT_HORIZON["day"]


@pytest.mark.usefixtures("app_ctx")
def test_the_slipping_list_downloads_as_csv(services: AppServices) -> None:
    state = new_state(services)
    end = _end_of(state, services)
    data, _ = page.apply_settings(["week", 52, end.isoformat()], SETTING_IDS, state.to_json())
    sent, alert = page.download_slipping(1, data)
    assert alert == []
    assert sent["base64"] is True
    frame = pl.read_csv(io.BytesIO(base64.b64decode(sent["content"])))
    view = page.view_of(parse_state(data, services))
    assert frame.height == view.slipping.height > 0
    assert (frame["p_alive"] < clv.LIKELY_LOST).all()
    table = session_table(parse_state(data, services), services)
    cut = table.features.join(view.result.table.select("customer_id"), on="customer_id")[
        "monetary"
    ].quantile(1 - TOP_SPEND_SHARE, "lower")
    assert (frame["monetary"] >= (cut or 0) - 0.01).all()


@pytest.mark.usefixtures("app_ctx")
def test_a_prediction_is_stored_as_data_for_the_other_workers(services: AppServices) -> None:
    state = new_state(services)
    end = _end_of(state, services)
    config = clv.ClvConfig(calibration_end=end, time_unit="month", horizon=6.0)
    result = value.session_clv(session_table(state, services), config, services)
    back = codec.loads(codec.dumps(result))
    assert back == result  # parameters, config, E and the holdout figures
    assert back.table.equals(result.table)
