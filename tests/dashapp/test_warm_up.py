"""``warm_up``: Dash's first-request work (validation layout, page router) done at startup,
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


def test_warm_up_builds_the_validation_layout_before_any_request(
    small_default: Path, tmp_path: Path, freezes: list[bool]
) -> None:
    app = create_app(data_path=small_default, cache_dir=tmp_path)
    # Until the first request Dash validates against the shell only, without the pages.
    assert "upload" not in app.validation_layout
    warm_up(app)
    layout = app.validation_layout
    # Every page's layout is in it now (the upload area of the Data page, the Compare sliders).
    assert "upload" in layout
    assert "compare-k" in layout
    assert freezes == [True]  # what is loaded now stays: out of the collector's way
    # The first real request finds the work done and still gets the page.
    assert app.server.test_client().get("/").status_code == 200
    assert app.validation_layout is layout


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
    assert "upload" in app.validation_layout
    assert freezes == [True]
