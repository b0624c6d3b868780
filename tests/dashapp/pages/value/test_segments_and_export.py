"""The predicted value where decisions are made: the Segments page's customer grid and cards
and the Export page's lists carry the same numbers as the Value page (one computation)."""

from __future__ import annotations

import base64
import io

import polars as pl
import pytest

from core.columns import CUSTOMER
from core.money import money_text
from dashapp.pages.export import callbacks as export_page
from dashapp.pages.segments import callbacks as segments_page
from dashapp.services import AppServices
from dashapp.shared import value
from dashapp.shared.modeling import SessionModel
from dashapp.state import SessionState
from tests.dashapp.helpers import as_json, texts

pytestmark = pytest.mark.usefixtures("app_ctx")


def _predictions(state: SessionState, model: SessionModel, services: AppServices) -> pl.DataFrame:
    return value.session_clv(model.table, value.config_of(state), services).table


def test_grid_rows_carry_the_predictions(
    state: SessionState, model: SessionModel, services: AppServices
) -> None:
    request = {"startRow": 0, "endRow": 200, "sortModel": [], "filterModel": {}}
    response, _caption = segments_page.grid_rows(request, state.to_json(), None, None)
    rows = pl.DataFrame(response["rowData"]).select(CUSTOMER, *value.PREDICTION_COLUMNS)
    expected = _predictions(state, model, services).select(CUSTOMER, *value.PREDICTION_COLUMNS)
    joined = rows.join(expected, on=CUSTOMER, suffix="_clv")
    assert joined.height == rows.height > 0
    for column in ("p_alive", "expected_orders"):
        assert joined[column].to_list() == pytest.approx(joined[f"{column}_clv"].to_list())
    # Money to the cent, as the grid shows every amount.
    assert joined["predicted_revenue"].to_list() == pytest.approx(
        joined["predicted_revenue_clv"].round(2).to_list(), abs=0.006
    )


def test_cards_show_predicted_revenue_and_the_share_likely_lost(
    state: SessionState, model: SessionModel, services: AppServices
) -> None:
    out = segments_page.render(state.to_json())
    cards = texts(as_json(out["cards"]))
    predictions = _predictions(state, model, services)
    per_segment = value.segment_value(predictions, model.result.assignments())
    assert per_segment.height == model.result.k
    for row in per_segment.iter_rows(named=True):
        assert money_text(row["predicted_revenue"]) in cards
        assert f"{row['likely_lost_share']:.0%}" in cards
    assert "predicted revenue over 52 weeks" in cards
    assert "likely lost (p_alive < 0.5)" in cards


def test_exported_list_has_the_prediction_columns(
    state: SessionState, model: SessionModel, services: AppServices
) -> None:
    everyone = list(range(model.result.k))
    sent, _alert = export_page.download_list(1, everyone, "parquet", state.to_json())
    back = pl.read_parquet(io.BytesIO(base64.b64decode(sent["content"])))
    expected = _predictions(state, model, services)
    joined = back.join(expected, on=CUSTOMER, suffix="_clv")
    assert joined.height == back.height
    for column in value.PREDICTION_COLUMNS:
        assert joined[column].to_list() == pytest.approx(joined[f"{column}_clv"].to_list())
    assert (joined["p_alive"] <= 1).all()
