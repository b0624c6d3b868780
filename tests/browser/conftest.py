"""Headless Chromium for dash_duo: Debian's chromium + chromium-driver, run as root, offline.

One Chromium serves the whole session: ``dash_duo`` (overridden here) hands each test the
same browser in a fresh tab with no cookies, its console log read empty and its window at the
default size; each test still starts its own server, on a port of its own, so the page's
session and local storage start empty too. Starting and quitting Chromium for each of ~60
tests cost more than some of the tests themselves. A browser that stops answering is replaced.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dash import Dash
from dash.testing.application_runners import ThreadedRunner
from dash.testing.browser import Browser
from dash.testing.composite import DashComposite
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.remote.webdriver import WebDriver

from core.clustering import service
from core.clustering.config import ModelConfig, PreprocessConfig
from core.columns import CUSTOMER
from dashapp.services import get_services
from dashapp.shared.loading import session_table
from dashapp.state import new_state
from tests.browser.workbook import Background
from tests.conftest import REAL_DATA, missing

WORKBOOK = pytest.StashKey[Background]()
WORKBOOK_FIXTURE = "real_workbook"  # tests/browser/test_real_uploads.py


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start writing the real file's workbook (:mod:`tests.browser.workbook`) beside the run as
    soon as a collected test needs it: the test finds it written, or waits for the rest."""
    needed = any(WORKBOOK_FIXTURE in getattr(item, "fixturenames", ()) for item in session.items)
    if needed and REAL_DATA.exists():
        start_workbook(session.config, REAL_DATA)


def start_workbook(config: pytest.Config, source: Path) -> Background:
    """Start writing ``source`` as ``online_retail.xlsx`` in a temporary folder."""
    folder = Path(tempfile.mkdtemp(prefix="custseg-workbook-"))
    writing = config.stash[WORKBOOK] = Background(source, folder / "online_retail.xlsx")
    return writing


def pytest_sessionfinish(session: pytest.Session) -> None:
    writing = session.config.stash.get(WORKBOOK, None)
    if writing is not None:
        writing.stop()
        shutil.rmtree(writing.out.parent, ignore_errors=True)


CHROME_FLAGS = (
    "--headless=new",
    "--no-sandbox",  # Chromium refuses to run as root otherwise
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",  # the network is closed: no update/sync pings
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--force-prefers-reduced-motion",  # Bootstrap's smooth scrolling breaks clicks below the fold
    "--window-size=1400,1000",
)
WINDOW = (1400, 1000)


def chrome_options() -> Options:
    """Options for Debian's headless Chromium (also used by tools/smoke_check.py)."""
    options = Options()
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    chromium = shutil.which("chromium")
    if chromium:
        options.binary_location = chromium
    return options


def pytest_setup_options() -> Options:
    # dash's testing plugin reads the browser options from this hook.
    return chrome_options()


class _SharedChromium(DashComposite):
    """``dash_duo`` on an already running Chromium: Dash's Browser asks ``get_webdriver`` for
    its driver, and leaving the test leaves the browser running (see :func:`fresh_tab`)."""

    def __init__(self, server: ThreadedRunner, driver: WebDriver, **kwargs: Any) -> None:
        self._shared_driver = driver
        super().__init__(server, **kwargs)

    def get_webdriver(self) -> WebDriver:
        return self._shared_driver

    def __exit__(self, *exc: object) -> None:
        pass  # the session's fixture quits the browser


def fresh_tab(driver: WebDriver) -> None:
    """Leave the last test's pages (their polling stops), open one empty tab, forget cookies,
    the console log and downloads' folder, and restore the window's size."""
    old = driver.window_handles
    driver.switch_to.new_window("tab")
    new = driver.current_window_handle
    for handle in old:
        driver.switch_to.window(handle)
        driver.close()
    driver.switch_to.window(new)
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "default"})
    driver.set_window_size(*WINDOW)
    driver.get_log("browser")  # read (and so emptied): the next test sees only its own


def _start_chromium(request: pytest.FixtureRequest, download_path: Path) -> Browser:
    return Browser(
        browser=request.config.getoption("webdriver"),
        headless=request.config.getoption("headless"),
        options=request.config.hook.pytest_setup_options(),
        download_path=str(download_path),
        percy_run=False,
    )


@pytest.fixture(scope="session")
def _chromium(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[Browser]]:
    """The session's browser (in a list, so that a test can replace one that broke)."""
    _need_chromium()
    downloads = tmp_path_factory.mktemp("downloads")
    held = [_start_chromium(request, downloads)]
    yield held
    held[0].__exit__(None, None, None)


@pytest.fixture
def dash_duo(
    request: pytest.FixtureRequest,
    dash_thread_server: ThreadedRunner,
    _chromium: list[Browser],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[DashComposite]:
    """Dash's ``dash_duo`` (a server of the test's own, started by ``start_server``) on the
    session's Chromium, in a fresh tab."""
    try:
        fresh_tab(_chromium[0].driver)
    except WebDriverException:
        _chromium[0].__exit__(None, None, None)
        _chromium[0] = _start_chromium(request, tmp_path_factory.mktemp("downloads"))
    duo = _SharedChromium(
        server=dash_thread_server,
        driver=_chromium[0].driver,
        browser=request.config.getoption("webdriver"),
        headless=request.config.getoption("headless"),
        options=request.config.hook.pytest_setup_options(),
        download_path=_chromium[0].download_path,
        percy_run=False,
    )
    yield duo
    # Leave the page before the server stops (no request left in flight); a browser that
    # stopped answering is replaced by the next test's fresh_tab.
    with contextlib.suppress(WebDriverException):
        duo.driver.get("about:blank")


@pytest.fixture(autouse=True, name="_need_chromium")
def _chromium_installed() -> None:
    _need_chromium()


def _need_chromium() -> None:
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        missing("chromium/chromedriver not installed (tools/test.sh installs them with apt-get)")


@pytest.fixture(autouse=True)
def _stopping_the_server_is_not_a_thread_error() -> Iterator[None]:
    """dash.testing stops its threaded server by raising SystemExit in every thread it started
    (``KillerThread.kill``): a request still computing then (a page the test left before its
    fit finished) or an idle background-job thread ends with an "unhandled" SystemExit, which
    pytest reports as an error of the test. Only that exception, from that stop, is ignored;
    any other exception in a thread is still reported."""
    previous = threading.excepthook

    def hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        previous(args)

    threading.excepthook = hook
    yield
    threading.excepthook = previous


def segment_labels(app: Dash, k: int) -> dict[str, int]:
    """Customer -> segment of the default settings with ``k`` segments on ``app``'s default
    data, computed here through the clustering service (what the pages must show)."""
    server = app.server
    with server.app_context():  # type: ignore[attr-defined]
        services = get_services(server)  # type: ignore[arg-type]
        table = session_table(new_state(services), services)
        result = service.segment_customers(
            table.features,
            preprocess=PreprocessConfig(),
            model=ModelConfig(k=k),
            data_key=table.key,
        )
    frame = result.assignments()
    return dict(zip(frame[CUSTOMER].to_list(), frame["segment"].to_list(), strict=True))
