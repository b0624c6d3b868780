"""The app's reproducibility zip and ``custseg workspace export`` are one bundle
(:mod:`core.bundle`): for a segmentation saved from the app, the zip's files and the folder's
are equal byte for byte, and the bundle's reproduce command, run in that folder, recreates the
segment of every customer."""

from __future__ import annotations

import base64
import io
import json
import shlex
import uuid
import zipfile
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from core.cli import main as cli_main
from core.columns import CUSTOMER
from dashapp.pages.export import callbacks as page
from dashapp.services import AppServices
from dashapp.shared import workspace as ws
from dashapp.shared.loading import session_table
from dashapp.shared.modeling import (
    ModelSettings,
    SessionModel,
    fit,
    rename_segment,
    with_settings,
)
from dashapp.state import SessionState, new_state

pytestmark = pytest.mark.usefixtures("app_ctx")


def _zip(sent: dict[str, Any]) -> zipfile.ZipFile:
    assert sent["base64"] is True
    return zipfile.ZipFile(io.BytesIO(base64.b64decode(sent["content"])))


def _saved(state: SessionState, services: AppServices) -> tuple[SessionState, SessionModel, str]:
    """A session's fit (k = 5, seed 3, one segment renamed) saved under a fresh name."""
    settings = ModelSettings(features=("recency_days", "frequency", "monetary"), k=5, seed=3)
    chosen = with_settings(state, settings)
    table = session_table(chosen, services)
    model = SessionModel(table, settings, fit(table, settings, services, chosen))
    renamed = rename_segment(model, services, chosen, 1, "Loyal, big spenders")
    model = SessionModel(table, settings, renamed)
    name = f"bundle {uuid.uuid4().hex[:8]}"
    ws.save_session(chosen, services, model, name=name, note="")
    return chosen, model, name


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_workspace_export_writes_the_apps_bundle(
    state: SessionState,
    services: AppServices,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fmt: str,
) -> None:
    chosen, model, name = _saved(state, services)
    every = list(range(model.result.k))
    sent, alert = page.download_bundle(1, every, fmt, chosen.to_json())
    assert alert == []
    app_zip = _zip(sent)
    # A colleague's session that opened the saved segmentation makes the same zip.
    opened = ws.open_saved(new_state(services), services, name).state
    colleague_zip = _zip(page.download_bundle(1, every, fmt, opened.to_json())[0])

    folder = tmp_path / "bundle"
    assert cli_main(["workspace", "export", name, str(folder), "--format", fmt]) == 0
    assert "wrote the bundle" in capsys.readouterr().out
    config = json.loads(app_zip.read("config.json"))
    data_file = config["data"]["file"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [*app_zip.namelist(), data_file, "model.custseg"]
    )
    for member in app_zip.namelist():
        written = (folder / member).read_bytes()
        assert app_zip.read(member) == written, member
        assert colleague_zip.read(member) == written, member
    assert (folder / data_file).read_bytes() == services.default_path.read_bytes()
    assert config["segments"][1]["name"] == "Loyal, big spenders"


def test_the_exported_bundles_command_recreates_the_segments(
    state: SessionState,
    services: AppServices,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _chosen, model, name = _saved(state, services)
    folder = tmp_path / "bundle"
    assert cli_main(["workspace", "export", name, str(folder), "--segments", "1,4"]) == 0
    config = json.loads((folder / "config.json").read_text())
    listed = pl.read_csv(folder / "customers.csv", schema_overrides={CUSTOMER: pl.String})
    seg = model.result.segmentation
    assert set(listed[CUSTOMER]) == set(seg.customer_ids[(seg.labels == 1) | (seg.labels == 4)])
    assert config["exported_segments"] == [1, 4]

    # Run as written, in the folder: the data file sits there under the command's name.
    monkeypatch.chdir(folder)
    command = shlex.split(config["reproduce"]["command"])
    assert cli_main(command[1:]) == 0
    capsys.readouterr()
    cli = pl.read_csv(folder / "segments.csv", schema_overrides={CUSTOMER: pl.String})
    assert cli.filter(pl.col("segment").is_not_null()).height == seg.n
    joined = model.result.assignments().select(CUSTOMER, "segment").join(
        cli.select(CUSTOMER, "segment"), on=CUSTOMER, suffix="_cli"
    )
    assert joined.height == seg.n
    assert (joined["segment"] == joined["segment_cli"]).all()


def test_workspace_export_refuses_a_wrong_segment_and_writes_nothing(
    state: SessionState, services: AppServices, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _chosen, _model, name = _saved(state, services)
    folder = tmp_path / "bundle"
    assert cli_main(["workspace", "export", name, str(folder), "--segments", "7"]) == 2
    assert "no segment 7" in capsys.readouterr().err
    assert not folder.exists()
