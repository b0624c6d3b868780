"""``warm_up``: Dash's first-request work (server set-up, page router) done at startup,
then the loaded objects frozen out of the garbage collector's full passes."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
import werkzeug.serving
from dash import Dash

import dashapp.app
from dashapp import cli
from dashapp.app import create_app, warm_up


@pytest.fixture
def freezes(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Records gc.freeze calls instead of freezing the test process's objects."""
    calls: list[bool] = []
    monkeypatch.setattr(gc, "freeze", lambda: calls.append(True))
    return calls


def test_warm_up_does_the_first_request_work_before_any_request(
    small_default: Path, tmp_path: Path, freezes: list[bool]
) -> None:
    app = create_app(data_path=small_default, cache_dir=tmp_path)
    # Dash's own record of its first-request work (server set-up, the pages' router).
    assert app._got_first_request == {"pages": False, "setup_server": False}
    warm_up(app)
    assert app._got_first_request == {"pages": True, "setup_server": True}
    assert freezes == [True]  # what is loaded now stays: out of the collector's way
    # The first real request finds the work done and still gets the page.
    assert app.server.test_client().get("/").status_code == 200


def test_pages_do_not_carry_every_layout(small_default: Path, tmp_path: Path) -> None:
    # Dash puts every page's layout into each page's config unless callback exceptions are
    # suppressed (tests/dashapp/test_pages.py checks the callbacks against the layouts).
    app = create_app(data_path=small_default, cache_dir=tmp_path)
    page = app.server.test_client().get("/").get_data(as_text=True)
    assert "validation_layout" not in page
    assert len(page) < 50_000


def test_serve_warms_the_app_up(
    small_default: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, freezes: list[bool]
) -> None:
    started: list[Dash] = []
    build = dashapp.app.create_app

    def create_app(**kwargs: object) -> Dash:
        started.append(build(**kwargs))  # type: ignore[arg-type]
        return started[-1]

    served: list[object] = []
    monkeypatch.setattr(dashapp.app, "create_app", create_app)
    monkeypatch.setattr(
        werkzeug.serving, "run_simple", lambda _host, _port, app, **_kw: served.append(app)
    )
    monkeypatch.setenv("CUSTSEG_CACHE_DIR", str(tmp_path))
    cli.serve(port=8124, data=small_default)
    (app,) = started
    assert served == [app.server]
    assert app._got_first_request == {"pages": True, "setup_server": True}
    assert freezes == [True]
