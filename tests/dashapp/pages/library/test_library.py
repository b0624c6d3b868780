"""The workspace in the app: Save on Segments, the Library page (list, rename, delete, open in
another session), export log rows from the Export page."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from dash import Dash

from core.workspace import DamagedRecordError
from core.workspace.tables import segmentations
from dashapp.pages.export import callbacks as export_page
from dashapp.pages.library import callbacks as library
from dashapp.pages.library.layout import HIDDEN
from dashapp.pages.segments import save as save_control
from dashapp.services import AppServices
from dashapp.shared import workspace as ws
from dashapp.shared.loading import session_table
from dashapp.shared.modeling import SessionModel, rename_segment
from dashapp.shared.segment_components import load_model
from dashapp.state import SessionState, new_state, parse_state
from tests.dashapp.helpers import as_json, texts


def _name() -> str:
    return f"Q4 {uuid.uuid4().hex[:8]}"


@pytest.fixture
def uploaded(state: SessionState, services: AppServices, app_ctx: None) -> SessionState:
    """A session on the app's default data (120 generated customers)."""
    return state


def _model(state: SessionState, services: AppServices) -> SessionModel:
    model, problem = load_model(state, services)
    assert model is not None, problem
    return model


def test_saved_in_one_session_opens_in_another_exactly(
    uploaded: SessionState, services: AppServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ws, "signed_in_user", lambda: "ann")
    model = _model(uploaded, services)
    renamed = rename_segment(model, services, uploaded, 0, "Our best")
    model = SessionModel(model.table, model.settings, renamed)
    name = _name()
    saved = ws.save_session(uploaded, services, model, name=name, note="for the mailing")
    source = services.default_path.name
    assert (saved.creator, saved.note, saved.dataset.source) == ("ann", "for the mailing", source)
    other = new_state(services)  # a colleague's fresh session, on the default data
    opened = ws.open_saved(other, services, name)
    assert opened.state.session_id == other.session_id
    assert services.registry.owns(other.session_id, opened.state.dataset)
    assert opened.state.filename == source
    assert opened.state.dataset != uploaded.dataset  # stored again, as the colleague's upload
    reopened = _model(opened.state, services)
    assert reopened.result.key == model.result.key
    assert reopened.result.names == model.result.names
    assert reopened.result.names[0] == "Our best"
    assert reopened.result.colors == model.result.colors
    assert reopened.result.assignments().equals(model.result.assignments())
    assert ws.opened_name(opened.state) == name


def test_save_button_clash_is_a_message(uploaded: SessionState, services: AppServices) -> None:
    name = _name()
    first = as_json(save_control.save(1, name, "note", uploaded.to_json()))
    assert f"Saved as {name!r}" in texts(first)
    second = as_json(save_control.save(1, f"  {name} ", "", uploaded.to_json()))
    assert f"already called {name!r}" in texts(second)
    assert "Not saved" in texts(second)


def test_library_lists_searches_renames_and_deletes(
    uploaded: SessionState, services: AppServices, app: Dash
) -> None:
    model = _model(uploaded, services)
    name, other = _name(), _name()
    ws.save_session(uploaded, services, model, name=name, note="needle in a note")
    ws.save_session(uploaded, services, model, name=other, note="")
    data = uploaded.to_json()
    listed = texts(as_json(library.render("needle", "name", 0, data)))
    assert name in listed
    assert other not in listed
    assert "No saved segmentation matches 'zzz-nothing'" in texts(
        as_json(library.render("zzz-nothing", "updated", 0, data))
    )
    shown = library.panels({"action": "delete", "name": name})
    assert shown["delete_style"] != HIDDEN
    assert shown["rename_style"] == HIDDEN
    assert "cannot be undone" in shown["delete_text"]
    ws.workspace().rename(name, f"{name} renamed")
    with pytest.raises(DamagedRecordError.__mro__[1]):  # WorkspaceError: the old name is gone
        ws.workspace().get(name)
    ws.workspace().delete(f"{name} renamed")
    assert f"{name} renamed" not in texts(as_json(library.render("", "name", 1, data)))


def test_a_damaged_record_is_refused_and_the_session_unchanged(
    uploaded: SessionState, services: AppServices
) -> None:
    model = _model(uploaded, services)
    name = _name()
    ws.save_session(uploaded, services, model, name=name, note="")
    with ws.workspace().engine.begin() as conn:
        conn.execute(
            segmentations.update().where(segmentations.c.name == name).values(model=b"junk")
        )
    other = new_state(services)
    with pytest.raises(DamagedRecordError):
        ws.open_saved(other, services, name)
    assert services.registry.datasets(other.session_id) == []


def test_export_page_writes_the_export_log(
    uploaded: SessionState, services: AppServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ws, "signed_in_user", lambda: "bob")
    model = _model(uploaded, services)
    name = _name()
    ws.save_session(uploaded, services, model, name=name, note="")
    opened = ws.open_saved(new_state(services), services, name)
    export_page.download_list(1, [0], "csv", opened.state.to_json())
    logged = ws.workspace().exports(name)
    members = int((model.result.assignments()["segment"] == 0).sum())
    assert [(e["exported_by"], e["format"], e["rows"]) for e in logged] == [
        ("bob", "csv", members)
    ]
    assert logged[0]["list_name"] == model.result.names[0]
    with ws.workspace().engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(segmentations)).scalar()


def test_serve_prints_where_the_workspace_is_without_its_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dashapp.cli import _ready_line

    monkeypatch.setenv("CUSTSEG_DATABASE_URL", "postgresql://ann:Sup3rSecret@db.example/team")
    _ready_line("127.0.0.1", 8050)()
    out = capsys.readouterr().out
    assert "workspace: postgresql://ann:***@db.example/team" in out
    assert "Sup3rSecret" not in out
    monkeypatch.delenv("CUSTSEG_DATABASE_URL")
    _ready_line("127.0.0.1", 8050)()
    assert f"workspace: sqlite:///{os.environ['CUSTSEG_DATA_DIR']}/workspace.db" in (
        capsys.readouterr().out
    )


def test_read_a_named_source_into_the_session(
    state: SessionState, services: AppServices, app_ctx: None, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.core.test_sources import _sqlite_file, retail_frame

    db = _sqlite_file(tmp_path, retail_frame())
    config = tmp_path / "sources.yaml"
    config.write_text(f"sources:\n  shop:\n    url: sqlite:///{db}\n    tables: [transactions]\n")
    monkeypatch.setenv("CUSTSEG_SOURCES_FILE", str(config))
    offered = library.source_options(state.to_json())
    assert offered["options"] == [{"label": "shop", "value": "shop"}]
    assert str(db) not in str(offered)  # the URL stays on the server
    refused = library.read_source(1, "shop", "customers", None, state.to_json())
    assert "offers no table 'customers'" in texts(as_json(refused["alert"]))
    done = library.read_source(1, "shop", "transactions", None, state.to_json())
    assert "Read 8 rows from shop (table transactions)" in texts(as_json(done["alert"]))
    new = parse_state(done["session"], services)
    assert new.dataset != state.dataset
    assert new.filename == "shop-transactions.parquet"
    assert session_table(new, services).n_customers == 3
