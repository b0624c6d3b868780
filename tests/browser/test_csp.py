"""The Content Security Policy is enforced by the browser and the app passes it: pages render
and draw with no violation logged, while an injected inline script is blocked and reported."""

from __future__ import annotations

import pytest
from dash import Dash
from dash.testing.composite import DashComposite
from selenium.webdriver.support.ui import WebDriverWait

from dashapp.app import create_app

TIMEOUT = 60
DRAWN = (
    "return Array.from(document.querySelectorAll('.js-plotly-plot'))"
    ".filter(el => el.data && el.data.length > 0).length;"
)
POLICY = (
    "const done = arguments[arguments.length - 1];"
    "fetch(window.location.pathname).then(r => done(r.headers.get('content-security-policy')));"
)
INJECT = (
    "const s = document.createElement('script'); s.textContent = 'window.__injected = 1;';"
    "document.body.appendChild(s); return window.__injected === undefined;"
)


@pytest.fixture(scope="session")
def csp_app(tmp_path_factory: pytest.TempPathFactory) -> Dash:
    return create_app(cache_dir=tmp_path_factory.mktemp("csp-cache"))


def test_pages_pass_the_policy_and_an_injected_script_is_blocked(
    dash_duo: DashComposite, csp_app: Dash
) -> None:
    dash_duo.start_server(csp_app)
    for path in ("/", "/segments", "/export"):
        dash_duo.driver.get(dash_duo.server_url + path)
        dash_duo.wait_for_element("#_pages_content", timeout=TIMEOUT)
        if path != "/export":
            WebDriverWait(dash_duo.driver, TIMEOUT).until(lambda d: d.execute_script(DRAWN) > 0)
        policy = dash_duo.driver.execute_async_script(POLICY)
        assert "script-src 'self' 'sha256-" in policy, path
        assert dash_duo.get_logs() == [], path  # the app's own scripts and styles pass
    assert dash_duo.driver.execute_script(INJECT) is True  # blocked: never ran
    logs = dash_duo.get_logs()
    assert len(logs) == 1, logs
    assert "Content Security Policy" in logs[0]["message"], logs
