"""``warm_up``: Dash's first-request work (validation layout, page router) done at startup."""

from __future__ import annotations

from pathlib import Path

import pytest
from dash import Dash

from dashapp import cli
from dashapp.app import create_app, warm_up


def test_warm_up_builds_the_validation_layout_before_any_request(
    small_default: Path, tmp_path: Path
) -> None:
    app = create_app(data_path=small_default, cache_dir=tmp_path)
    # Until the first request Dash validates against the shell only, without the pages.
    assert "upload" not in app.validation_layout
    warm_up(app)
    layout = app.validation_layout
    # Every page's layout is in it now (the upload area of the Data page, the Compare sliders).
    assert "upload" in layout
    assert "compare-k" in layout
    # The first real request finds the work done and still gets the page.
    assert app.server.test_client().get("/").status_code == 200
    assert app.validation_layout is layout


def test_serve_warms_the_app_up(
    small_default: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[Dash] = []
    monkeypatch.setattr(Dash, "run", lambda self, **_kwargs: started.append(self))
    monkeypatch.setenv("CUSTSEG_CACHE_DIR", str(tmp_path))
    cli.serve(port=8124, data=small_default)
    (app,) = started
    assert "upload" in app.validation_layout
