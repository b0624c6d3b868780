"""Links: the query string names the view and its data; opening a link applies what is valid
and says what was not (a refused parameter, data this session has not loaded)."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from dashapp.services import AppServices
from dashapp.shared.modeling import ModelSettings, selected_segment, settings_of, with_segment
from dashapp.shared.urlstate import apply_query, dataset_ref, search_of
from dashapp.state import SessionState, new_state, require_state
from tests.dashapp.helpers import as_json, sales_csv, texts, upload

pytestmark = pytest.mark.usefixtures("app_ctx")


def query_of_url(search: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(search.lstrip("?")).items()}


@pytest.fixture
def uploaded(services: AppServices) -> SessionState:
    """A session on an uploaded file (march.csv)."""
    data = upload(sales_csv(customers=30), "march.csv", new_state(services).to_json())
    return require_state(data)


def test_the_url_names_the_data(state: SessionState, uploaded: SessionState) -> None:
    assert query_of_url(search_of(state.to_json()))["data"] == "default"
    query = query_of_url(search_of(uploaded.to_json()))
    assert query["data"] == uploaded.dataset[:12] == dataset_ref(uploaded)
    assert query["file"] == "march.csv"


def test_a_link_on_the_same_data_applies_in_full(uploaded: SessionState) -> None:
    link = {**query_of_url(search_of(with_segment(uploaded, 2).to_json())), "k": "5"}
    data, notice = apply_query(link, uploaded.to_json())
    assert notice == []
    new = require_state(data)
    assert settings_of(new).k == 5
    assert selected_segment(new) == 2


def test_a_link_on_data_not_loaded_here_says_which(
    state: SessionState, uploaded: SessionState, services: AppServices
) -> None:
    link = query_of_url(search_of(with_segment(uploaded, 2).to_json()))
    data, notice = apply_query({**link, "k": "5"}, state.to_json())
    shown = texts(as_json(notice))
    assert "‘march.csv’" in shown
    assert f"dataset {uploaded.dataset[:12]}" in shown
    assert "not loaded in this session" in shown
    assert services.default_badge in shown  # what the page shows instead
    new = require_state(data)
    assert new.dataset == state.dataset
    assert settings_of(new).k == 5  # the model settings apply
    assert selected_segment(new) is None  # the segment belongs to the other data
    # The other way round: a link made on the startup data, opened on an upload.
    back = query_of_url(search_of(with_segment(state, 1).to_json()))
    data, notice = apply_query(back, uploaded.to_json())
    assert services.default_badge in texts(as_json(notice))
    assert "not loaded in this session" in texts(as_json(notice))
    assert selected_segment(require_state(data)) is None


def test_unknown_names_in_a_link_are_named(state: SessionState) -> None:
    data, notice = apply_query(
        {"k": "5", "features": "recency_days,frequency,frequncy", "colour": "red"},
        state.to_json(),
    )
    shown = texts(as_json(notice))
    assert "'frequncy'" in shown
    assert "link parameter colour is unknown" in shown
    assert settings_of(require_state(data)).k == 5
    assert settings_of(require_state(data)).features == ModelSettings().features
    _data, notice = apply_query({"data": "../../etc", "k": "5"}, state.to_json())
    assert "is not a dataset reference" in texts(as_json(notice))
