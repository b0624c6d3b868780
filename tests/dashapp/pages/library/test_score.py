"""Score a file with a saved segmentation (Library page): the saved model assigns the
session's data or an uploaded file exactly as ``custseg score --saved`` does; the scored list
downloads through the export code and is logged; a bad file or no choice is a message and
what is loaded stays."""

from __future__ import annotations

import base64
import io
import uuid
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from dash.exceptions import PreventUpdate

from core.cli import main as cli_main
from core.columns import CUSTOMER
from core.generator import write_transactions
from dashapp.pages.library import score as sc
from dashapp.pages.library import scoring as page
from dashapp.services import AppServices
from dashapp.shared import workspace as ws
from dashapp.shared.loading import session_table
from dashapp.shared.modeling import ModelSettings, SessionModel, fit, with_settings
from dashapp.state import SessionState, new_state
from tests.dashapp.helpers import as_json, texts

pytestmark = pytest.mark.usefixtures("app_ctx")


def _saved(state: SessionState, services: AppServices) -> str:
    settings = ModelSettings(k=3, seed=4)
    chosen = with_settings(state, settings)
    table = session_table(chosen, services)
    model = SessionModel(table, settings, fit(table, settings, services, chosen))
    name = f"score {uuid.uuid4().hex[:8]}"
    ws.save_session(chosen, services, model, name=name, note="")
    return name


def _contents(data: bytes) -> str:
    return "data:application/octet-stream;base64," + base64.b64encode(data).decode()


@pytest.fixture
def next_month(tmp_path: Path) -> Path:
    path = tmp_path / "next month.csv"
    write_transactions(path, seed=21, customers=40)  # under the 1 MB test limit
    return path


def test_an_uploaded_file_is_scored_as_the_command_line_scores_it(
    state: SessionState,
    services: AppServices,
    next_month: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    name = _saved(state, services)
    other = new_state(services)  # a colleague's session
    up = page.upload_file(_contents(next_month.read_bytes()), next_month.name, other.to_json())
    assert up["choice"] == sc.UPLOADED
    assert "your data on the other pages is unchanged" in texts(as_json(up["alert"]))
    out = page.run_score(1, name, up["choice"], up["file"], other.to_json())
    assert out["alert"] == []
    shown = texts(as_json(out["result"]))
    assert f"with the 3-segment model saved as {name!r}" in shown

    cli_out = tmp_path / "scored.parquet"
    assert cli_main(["score", str(next_month), "--saved", name, "--out", str(cli_out)]) == 0
    capsys.readouterr()
    cli = pl.read_parquet(cli_out)
    sent = page.download(1, "parquet", out["run"], other.to_json())
    assert sent["alert"] == []
    assert sent["download"]["filename"] == f"scored-next-month-by-{name.replace(' ', '-')}.parquet"
    app = pl.read_parquet(io.BytesIO(base64.b64decode(sent["download"]["content"])))
    assert app.equals(cli)
    for row in cli.group_by("segment_name").len().iter_rows():
        if row[0] is not None:
            assert f"{row[1]:,}" in shown
    logged = ws.workspace().exports(name)
    assert [(e["list_name"], e["format"], e["rows"]) for e in logged] == [
        ("scored customers of next month.csv", "parquet", cli.height)
    ]


def test_the_sessions_data_is_scored_with_its_own_mapping(
    state: SessionState, services: AppServices
) -> None:
    name = _saved(state, services)
    out = page.run_score(1, name, sc.SESSION_DATA, None, state.to_json())
    assert out["alert"] == []
    sent = page.download(1, "csv", out["run"], state.to_json())
    scored = pl.read_csv(
        io.BytesIO(base64.b64decode(sent["download"]["content"])),
        schema_overrides={CUSTOMER: pl.String},
    )
    # Scoring the data a model was fitted on gives back its segments.
    _record, model = ws.saved_model(services, name)
    fitted = model.assignments().select(CUSTOMER, "segment")
    joined = fitted.join(scored.select(CUSTOMER, "segment"), on=CUSTOMER, suffix="_scored")
    assert joined.height == fitted.height
    assert (joined["segment"] == joined["segment_scored"]).all()


def test_bad_input_is_a_message_and_nothing_loaded_is_lost(
    state: SessionState, services: AppServices, tmp_path: Path
) -> None:
    name = _saved(state, services)
    bad = page.upload_file(_contents(b"\x00\x01 not a table"), "x.parquet", state.to_json())
    assert bad["file"] is page.no_update
    assert "This file cannot be scored" in texts(as_json(bad["alert"]))
    no_choice = page.run_score(1, "", sc.SESSION_DATA, None, state.to_json())
    assert "choose a saved segmentation" in texts(as_json(no_choice["alert"]))
    no_file = page.run_score(1, name, sc.UPLOADED, None, state.to_json())
    assert "no file is uploaded" in texts(as_json(no_file["alert"]))
    # A table without customers: read, then refused when scored, with what is missing.
    odd = tmp_path / "odd.csv"
    odd.write_text("a,b\n1,2\n")
    up = page.upload_file(_contents(odd.read_bytes()), odd.name, state.to_json())
    refused = page.run_score(1, name, sc.UPLOADED, up["file"], state.to_json())
    assert refused["result"] is page.no_update
    assert "Nothing was scored" in texts(as_json(refused["alert"]))
    # The session still shows its data: scoring never touches the session state.
    assert session_table(state, services).n_customers > 0
    nothing: dict[str, Any] = page.download(1, "csv", None, state.to_json())
    assert "Score a file first" in texts(as_json(nothing["alert"]))


def test_a_file_the_browser_refused_as_too_large_is_explained(services: AppServices) -> None:
    alert = page.report_rejected({"name": "../big.csv", "size": 3 * 1024**2, "at": 1})
    text = texts(as_json(alert))
    assert "'big.csv' is 3.0 MB; this server accepts files up to 1 MB." in text
    assert "File too large" in text
    for nothing in (None, {"name": "x"}, {"size": True}, {"size": -1}):
        with pytest.raises(PreventUpdate):
            page.report_rejected(nothing)
