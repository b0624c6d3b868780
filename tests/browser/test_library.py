"""The team workspace in headless Chromium: a segmentation saved (with a renamed segment) in
one browser session opens, exactly, in another session from the Library page."""

from __future__ import annotations

from pathlib import Path

import pytest
from dash import Dash
from dash.testing.composite import DashComposite
from selenium.webdriver.common.keys import Keys

from core.generator import DEFAULT_DATA
from dashapp.app import create_app
from tests.browser.test_segments_flow import TIMEOUT, bar_names, card_names, wait_until

SESSION_KEY = "session-store"  # dash keeps the app-level store under its id in sessionStorage


@pytest.fixture(scope="session")
def library_app(tmp_path_factory: pytest.TempPathFactory) -> Dash:
    return create_app(cache_dir=tmp_path_factory.mktemp("library-browser-cache"))


def token(dash_duo: DashComposite) -> str:
    raw = dash_duo.driver.execute_script(
        "return window.sessionStorage.getItem(arguments[0])", SESSION_KEY
    )
    return str(raw or "")


def test_saved_in_one_session_reopens_in_another(
    dash_duo: DashComposite, library_app: Dash, tmp_path: Path
) -> None:
    dash_duo.start_server(library_app)
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/segments", timeout=TIMEOUT)
    wait_until(lambda: len(card_names(dash_duo)) == 4, what="four cards")
    box = dash_duo.find_element(".segment-name-input")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("Our best customers", Keys.ENTER)
    wait_until(lambda: bar_names(dash_duo)[:1] == ["Our best customers"], what="the new name")
    names = bar_names(dash_duo)
    dash_duo.find_element("#segments-save-name").send_keys("Q4 2011 browser")
    dash_duo.find_element("#segments-save-note").send_keys("for the mailing")
    dash_duo.find_element("#segments-save-button").click()
    dash_duo.wait_for_contains_text("#segments-save-alert", "Saved as", timeout=TIMEOUT)
    first = token(dash_duo)
    assert first

    # Another session: the browser's session storage starts empty, as in a colleague's tab.
    dash_duo.driver.execute_script("window.sessionStorage.clear()")
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/library", timeout=TIMEOUT)
    dash_duo.wait_for_contains_text("#library-table", "Q4 2011 browser", timeout=TIMEOUT)
    wait_until(lambda: token(dash_duo) not in ("", first), what="a new session")
    dash_duo.find_element("button[aria-label='Open Q4 2011 browser']").click()
    dash_duo.wait_for_contains_text("#library-alert", "Opened 'Q4 2011 browser'", timeout=TIMEOUT)
    dash_duo.find_element("#library-opened-link").click()
    wait_until(lambda: len(bar_names(dash_duo)) == 4, what="four bars")
    assert bar_names(dash_duo) == names
    assert card_names(dash_duo) == names
    # The saved data, stored again as this session's upload, under its name.
    dash_duo.wait_for_contains_text("#data-header", DEFAULT_DATA.name, timeout=TIMEOUT)
    assert dash_duo.get_logs() == []
