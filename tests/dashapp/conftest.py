"""One small app per test session (Dash keeps some registries per process), over a small
generated default dataset, with a fresh cache folder."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flask
import pytest
from dash import Dash

from core.generator import write_transactions
from dashapp.app import create_app
from dashapp.services import AppServices, get_services
from dashapp.shared.loading import session_table
from dashapp.shared.modeling import ModelSettings, SessionModel, fit
from dashapp.state import SessionState, new_state


@pytest.fixture(scope="session")
def small_default(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("default") / "small_default.parquet"
    write_transactions(path, seed=7, customers=120)
    return path


@pytest.fixture(scope="session")
def app(small_default: Path, tmp_path_factory: pytest.TempPathFactory) -> Dash:
    return create_app(
        data_path=small_default,
        cache_dir=tmp_path_factory.mktemp("cache"),
        max_upload_mb=1,
    )


@pytest.fixture
def server(app: Dash) -> flask.Flask:
    return app.server  # type: ignore[no-any-return]


@pytest.fixture
def services(server: flask.Flask) -> AppServices:
    return get_services(server)


@pytest.fixture
def app_ctx(server: flask.Flask) -> Iterator[None]:
    """Callbacks called as plain functions find the app's services through flask.current_app."""
    with server.app_context():
        yield


@pytest.fixture
def state(services: AppServices) -> SessionState:
    """A fresh session on the default data."""
    return new_state(services)


@pytest.fixture
def model(state: SessionState, services: AppServices) -> SessionModel:
    """That session's segmentation with the default model settings, fitted (cached)."""
    table = session_table(state, services)
    settings = ModelSettings()
    return SessionModel(table, settings, fit(table, settings, services, state))


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file the app writes fails as on a full disk (ENOSPC).

    All of the app's writes (uploads, segment names, cache entries) go through a temporary file
    opened with ``os.fdopen``; creating the empty file still works, as on a real full disk.
    """
    real = os.fdopen

    def fdopen(fd: int, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if any(flag in mode for flag in "wax+"):
            os.close(fd)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd, mode, *args, **kwargs)

    monkeypatch.setattr(os, "fdopen", fdopen)
