"""A team server started with a users file: the browser is sent to the sign-in page, a wrong
password is refused, the right one opens the app on the page asked for (its charts drawn, no
error logged), and signing out ends access. Requests without the sign-in get no data."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from dash.testing.browser import Browser
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from dashapp.auth import UsersFile
from dashapp.sessions import SECRET_ENV
from tests.dashapp.test_production import _env, _free_port, _get_when_up, _server, serve_argv

TIMEOUT = 60
PASSWORD = "correct horse battery"
DRAWN = (
    "return Array.from(document.querySelectorAll('.js-plotly-plot'))"
    ".filter(el => el.data && el.data.length > 0).length;"
)


def _fill(browser: Browser, name: str, password: str) -> None:
    browser.wait_for_element("#password", timeout=TIMEOUT)
    browser.driver.find_element(By.ID, "name").clear()
    browser.driver.find_element(By.ID, "name").send_keys(name)
    browser.driver.find_element(By.ID, "password").send_keys(password)
    browser.driver.find_element(By.ID, "sign-in").click()


@pytest.mark.slow
def test_sign_in_on_a_server_started_with_a_users_file(dash_br: Browser, tmp_path: Path) -> None:
    users = tmp_path / "users"
    UsersFile(users).add("alice", PASSWORD)
    port = _free_port()
    argv = serve_argv(port, "--workers", "1", "--users", str(users))
    log = tmp_path / "serve.log"
    with _server(argv, _env(tmp_path, **{SECRET_ENV: "k" * 64}), log):
        base = f"http://127.0.0.1:{port}"
        _get_when_up(base + "/sign-in")
        # Without signing in: no layout, no callback answer.
        for path, data in (("/_dash-layout", None), ("/_dash-update-component", b"{}")):
            request = urllib.request.Request(base + path, data=data)
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request, timeout=10)
            refused.value.close()
            assert refused.value.code == 401, path

        dash_br.driver.get(base + "/segments")
        WebDriverWait(dash_br.driver, TIMEOUT).until(lambda d: "/sign-in" in d.current_url)
        _fill(dash_br, "alice", "not the password")
        dash_br.wait_for_text_to_equal(".alert-danger", "Wrong name or password.", TIMEOUT)
        refused_logs = dash_br.get_logs()  # the page answers the wrong password with HTTP 401
        assert [e["message"] for e in refused_logs if "401" not in e["message"]] == []
        _fill(dash_br, "alice", PASSWORD)
        try:
            # the path only: once drawn, the page adds its settings to the address as a query
            WebDriverWait(dash_br.driver, TIMEOUT).until(
                lambda d: urlsplit(d.current_url).path == "/segments"
            )
        except TimeoutException:
            pytest.fail(
                f"still at {dash_br.driver.current_url} after the right password;"
                f" the server's log:\n{log.read_text()[-4000:]}"
            )
        dash_br.wait_for_element("#_pages_content", timeout=TIMEOUT)
        WebDriverWait(dash_br.driver, TIMEOUT).until(lambda d: d.execute_script(DRAWN) > 0)
        assert dash_br.get_logs() == []  # includes Content Security Policy violations

        dash_br.driver.find_element(By.ID, "sign-out").click()
        WebDriverWait(dash_br.driver, TIMEOUT).until(lambda d: "/sign-in" in d.current_url)
        dash_br.driver.get(base + "/segments")
        WebDriverWait(dash_br.driver, TIMEOUT).until(lambda d: "/sign-in" in d.current_url)
