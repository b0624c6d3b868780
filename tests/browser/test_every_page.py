"""Every registered page on the default data, in one walk of headless Chromium: each renders
with no error shown and no browser error logged, the pages with charts draw them, each names
the data it shows, its purchase dates and the analysis date, each is served under the Content
Security Policy and passes it, loads the app's partial plotly.js (never dcc's full one) and it
knows every chart's trace type, and axe-core (WCAG 2.1 A/AA) finds no violation on it. After the
walk an injected inline script is blocked and reported. Screenshots go to $CUSTSEG_SCREENSHOTS
when it is set.

One walk, not one per check: each walk started its own app and fitted the default data again
(four modules did: every page, data header, CSP and accessibility). The other accessibility
states (after a file, a fit, a selection) are in ``test_accessibility``.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from dash import Dash
from dash.testing.composite import DashComposite
from plotly.offline import get_plotlyjs_version
from selenium.webdriver.support.ui import WebDriverWait

from core.generator import DEFAULT_DATA
from dashapp.app import create_app
from dashapp.pages import PAGES
from dashapp.services import get_services
from dashapp.shared.loading import session_table
from dashapp.state import new_state
from tests.browser.axe import settle, violations

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
POLICY = (
    "const done = arguments[arguments.length - 1];"
    "fetch(window.location.pathname).then(r => done(r.headers.get('content-security-policy')));"
)
# plotly.js in the page: its version, the scripts loaded, and any chart's trace type it lacks
# (the partial bundle assets/vendor/plotly-partial.min.js, tests/dashapp/test_plotly_bundle.py).
PLOTLY = (
    "const known = Object.keys(Plotly.PlotSchema.get().traces);"
    "const drawn = Array.from(document.querySelectorAll('.js-plotly-plot'))"
    ".flatMap(el => (el.data || []).map(t => t.type || 'scatter'));"
    "return [Plotly.version, performance.getEntriesByType('resource').map(e => e.name)"
    ".filter(n => n.includes('plotly')).map(n => n.split('?')[0].split('/').pop()),"
    "drawn.filter(t => !known.includes(t))];"
)
INJECT = (
    "const s = document.createElement('script'); s.textContent = 'window.__injected = 1;';"
    "document.body.appendChild(s); return window.__injected === undefined;"
)


@pytest.fixture(scope="session")
def every_page_app(tmp_path_factory: pytest.TempPathFactory) -> Dash:
    return create_app(cache_dir=tmp_path_factory.mktemp("every-page-cache"))


def purchase_dates(app: Dash) -> tuple[dt.date, dt.date]:
    """First and last purchase date of the default data, read here through the services."""
    server = app.server
    with server.app_context():  # type: ignore[attr-defined]
        services = get_services(server)  # type: ignore[arg-type]
        lines = session_table(new_state(services), services).purchases
    return lines["order_date"].min().date(), lines["order_date"].max().date()


def test_every_page_renders_names_its_data_passes_the_policy_and_axe(
    dash_duo: DashComposite, every_page_app: Dash
) -> None:
    assert {page.PATH for page in PAGES} == CHART_PAGES | {"/export", "/library"}
    first, last = purchase_dates(every_page_app)
    shots = os.environ.get("CUSTSEG_SCREENSHOTS")
    dash_duo.start_server(every_page_app)
    found: dict[str, list[str]] = {}
    for page in PAGES:
        dash_duo.driver.get(dash_duo.server_url + page.PATH)
        dash_duo.wait_for_element("#_pages_content", timeout=TIMEOUT)
        if page.PATH in CHART_PAGES:
            WebDriverWait(dash_duo.driver, TIMEOUT).until(lambda d: d.execute_script(DRAWN) > 0)
        else:
            dash_duo.wait_for_element("#_pages_content h4, #_pages_content h2", timeout=TIMEOUT)
        dash_duo.wait_for_text_to_equal(
            "#data-header-analysis-date", (last + dt.timedelta(days=1)).isoformat(), TIMEOUT
        )
        settle(dash_duo, charts=page.PATH in CHART_PAGES)
        assert dash_duo.driver.execute_script(ERRORS) == [], page.PATH
        assert dash_duo.driver.title.startswith(page.NAME), page.PATH
        header = dash_duo.find_element("#data-header").text
        assert DEFAULT_DATA.name in header, page.PATH
        assert f"purchases {first.isoformat()} to {last.isoformat()}" in header, page.PATH
        policy = dash_duo.driver.execute_async_script(POLICY)
        assert "script-src 'self' 'sha256-" in policy, page.PATH
        assert dash_duo.get_logs() == [], page.PATH  # the app's own scripts and styles pass
        plotly_js = dash_duo.driver.execute_script(PLOTLY)
        assert plotly_js == [get_plotlyjs_version(), ["plotly-partial.min.js"], []], page.PATH
        if shots:
            dash_duo.driver.save_screenshot(str(Path(shots) / f"{page.NAME.lower()}.png"))
        found[page.PATH] = violations(dash_duo)
    assert {path: v for path, v in found.items() if v} == {}
    assert dash_duo.get_logs() == []
    assert dash_duo.driver.execute_script(INJECT) is True  # blocked: never ran
    logs = dash_duo.get_logs()
    assert len(logs) == 1, logs
    assert "Content Security Policy" in logs[0]["message"], logs
