"""A full disk (every write fails with ENOSPC): messages instead of errors, and what was
computed before is still served. Callbacks are called as functions: an exception here is what
the browser would get as an HTTP 500."""

from __future__ import annotations

import pytest
from dash import no_update

from core.cache import fingerprint_bytes
from dashapp.pages.data import callbacks as data_page
from dashapp.pages.model import callbacks as model_page
from dashapp.pages.segments import callbacks as segments_page
from dashapp.pages.segments import ids as segment_ids
from dashapp.services import AppServices
from dashapp.shared.modeling import ModelSettings, SessionModel, with_settings
from dashapp.state import SessionState
from tests.dashapp.helpers import as_json, data_url, sales_csv, texts

pytestmark = pytest.mark.usefixtures("app_ctx")


def test_cached_work_is_served_and_writes_say_the_disk_is_full(
    state: SessionState, model: SessionModel, services: AppServices, full_disk: None
) -> None:
    data = state.to_json()
    # Cached before the disk filled up: every page still shows it.
    assert data_page.render(data)["audit_table"]
    shown = model_page.render(data)
    assert shown["job"] is no_update
    assert "Data page" not in texts(as_json(shown["summary"]))
    segments = segments_page.render(data)
    assert len(segments["cards"]) == model.result.k
    # Saving a segment name cannot work: a message, and the names stay as they were.
    values = list(model.result.names)
    values[1] = "Weekend regulars"
    name_ids = [segment_ids.segment_name(s) for s in range(model.result.k)]
    revision, alert = segments_page.rename(
        values, name_ids, data, trigger=segment_ids.segment_name(1)
    )
    assert revision is no_update
    assert "the disk is full" in texts(as_json(alert))
    assert "How to fix" in texts(as_json(alert))
    # An upload cannot be stored: a message, and the session keeps its data.
    content = sales_csv(prefix="F")
    result = data_page.upload_file(data_url(content), "full.csv", data)
    assert result["session"] is no_update
    assert "the disk is full" in texts(as_json(result["alert"]))
    assert not (services.uploads.directory / f"{fingerprint_bytes(content)}.data").exists()


def test_new_work_is_computed_and_shown_when_it_cannot_be_cached(
    state: SessionState, model: SessionModel, full_disk: None
) -> None:
    five = with_settings(state, ModelSettings(k=5)).to_json()  # not fitted before
    assert len(segments_page.render(five)["cards"]) == 5
    assert model_page.render(five)["job"] is no_update
