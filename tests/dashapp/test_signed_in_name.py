"""The signed-in name is recorded on uploads (shown in the data header) and on exports (a server
log line: user, dataset, segments, rows, format) (issue 12: sign-in)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import flask
import pytest

from dashapp import auth
from dashapp.app import data_header
from dashapp.audit import export_record
from dashapp.pages.export import callbacks as export_page
from dashapp.services import AppServices
from dashapp.shared.modeling import SessionModel
from dashapp.state import SessionState, parse_state
from tests.dashapp.helpers import as_json, sales_csv, texts, upload


@pytest.fixture
def alice(server: flask.Flask) -> Iterator[None]:
    """A request on which alice is signed in."""
    with server.test_request_context("/"):
        flask.session[auth._USER_KEY] = "alice"  # what the sign-in page stores
        yield


@pytest.fixture
def anonymous(server: flask.Flask) -> Iterator[None]:
    """A request on a server without sign-in."""
    with server.test_request_context("/"):
        yield


def test_an_upload_records_who_uploaded_it_and_the_header_shows_it(
    alice: None, state: SessionState, services: AppServices
) -> None:
    data = upload(sales_csv(prefix="A"), "alices sales.csv", state.to_json())
    uploaded = parse_state(data, services)
    stored = services.uploads.get(uploaded.dataset, uploaded.session_id)
    assert stored is not None
    assert stored.uploaded_by == "alice"
    assert "alices sales.csv (uploaded by alice)" in texts(as_json(data_header(data)))


def test_without_sign_in_no_uploader_is_shown(
    anonymous: None, state: SessionState, services: AppServices
) -> None:
    data = upload(sales_csv(prefix="B"), "sales.csv", state.to_json())
    uploaded = parse_state(data, services)
    stored = services.uploads.get(uploaded.dataset, uploaded.session_id)
    assert stored is not None
    assert stored.uploaded_by is None
    assert "uploaded by" not in texts(as_json(data_header(data)))


def test_an_export_is_logged_with_user_dataset_segments_rows_and_format(
    alice: None, state: SessionState, model: SessionModel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="custseg.audit")
    _sent, alert = export_page.download_list(1, [1, 3], "xlsx", state.to_json())
    assert alert == []
    members = int(model.result.segmentation.sizes[[1, 3]].sum())
    names = f"{model.result.names[1]}, {model.result.names[3]}"
    (line,) = [r.getMessage() for r in caplog.records if r.name == "custseg.audit"]
    assert line.startswith("export by alice: dataset 'small_default.parquet'")
    assert f"segments {names}, {members:,} rows, xlsx" in line


def test_the_export_record_carries_the_signed_in_name(alice: None) -> None:
    """What a history of exports stores: one call, the name included."""
    record = export_record(
        session="s" * 32,
        dataset="d.csv",
        dataset_key="k" * 64,
        segments=["A"],
        rows=3,
        format="csv",
    )
    assert record.user == "alice"
    assert record.to_json()["segments"] == ["A"]
