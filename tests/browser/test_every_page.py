"""Every registered page renders on the default data: no error shown, no browser error logged,
and the pages with charts draw them."""

from __future__ import annotations

import pytest
from dash import Dash
from dash.testing.composite import DashComposite
from selenium.webdriver.support.ui import WebDriverWait

from dashapp.app import create_app
from dashapp.pages import PAGES

TIMEOUT = 60
# Pages that draw charts from the default data as soon as they open (Data draws its funnel).
CHART_PAGES = {"/", "/explore", "/rfm", "/model", "/segments", "/compare", "/value", "/changes"}
DRAWN = (
    "return Array.from(document.querySelectorAll('.js-plotly-plot'))"
    ".filter(el => el.data && el.data.length > 0).length;"
)
ERRORS = (
    "return Array.from(document.querySelectorAll('.dash-fe-error__title, .alert-danger'))"
    ".map(e => e.innerText);"
)


@pytest.fixture(scope="session")
def every_page_app(tmp_path_factory: pytest.TempPathFactory) -> Dash:
    return create_app(cache_dir=tmp_path_factory.mktemp("every-page-cache"))


def test_every_page_renders_on_the_default_data(
    dash_duo: DashComposite, every_page_app: Dash
) -> None:
    assert {page.PATH for page in PAGES} == CHART_PAGES | {"/export", "/library"}
    dash_duo.start_server(every_page_app)
    for page in PAGES:
        dash_duo.driver.get(dash_duo.server_url + page.PATH)
        dash_duo.wait_for_element("#_pages_content", timeout=TIMEOUT)
        if page.PATH in CHART_PAGES:
            WebDriverWait(dash_duo.driver, TIMEOUT).until(lambda d: d.execute_script(DRAWN) > 0)
        else:
            dash_duo.wait_for_element("#_pages_content h4, #_pages_content h2", timeout=TIMEOUT)
        assert dash_duo.driver.execute_script(ERRORS) == [], page.PATH
        assert dash_duo.driver.title.startswith(page.NAME), page.PATH
    assert dash_duo.get_logs() == []
