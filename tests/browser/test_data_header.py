"""Every page names the data it shows, its purchase dates and the analysis date (headless
Chromium on the default data); screenshots go to $CUSTSEG_SCREENSHOTS when it is set."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from dash import Dash
from dash.testing.composite import DashComposite

from core.generator import DEFAULT_DATA
from dashapp.app import create_app
from dashapp.pages import PAGES
from dashapp.services import get_services
from dashapp.shared.loading import session_table
from dashapp.state import new_state

TIMEOUT = 60


@pytest.fixture(scope="session")
def header_app(tmp_path_factory: pytest.TempPathFactory) -> Dash:
    return create_app(cache_dir=tmp_path_factory.mktemp("header-cache"))


def test_every_page_shows_the_data_and_its_dates(
    dash_duo: DashComposite, header_app: Dash
) -> None:
    server = header_app.server
    with server.app_context():  # type: ignore[attr-defined]
        services = get_services(server)  # type: ignore[arg-type]
        lines = session_table(new_state(services), services).purchases
    first, last = lines["order_date"].min().date(), lines["order_date"].max().date()
    shots = os.environ.get("CUSTSEG_SCREENSHOTS")
    dash_duo.start_server(header_app)
    for page in PAGES:
        dash_duo.driver.get(dash_duo.server_url + page.PATH)
        dash_duo.wait_for_text_to_equal(
            "#data-header-analysis-date", (last + dt.timedelta(days=1)).isoformat(), TIMEOUT
        )
        header = dash_duo.find_element("#data-header").text
        assert DEFAULT_DATA.name in header, page.PATH
        assert f"purchases {first.isoformat()} to {last.isoformat()}" in header, page.PATH
        if shots:
            dash_duo.driver.save_screenshot(str(Path(shots) / f"{page.NAME.lower()}.png"))
    assert dash_duo.get_logs() == []
