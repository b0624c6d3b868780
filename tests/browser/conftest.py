"""Headless Chromium for dash_duo: Debian's chromium + chromium-driver, run as root, offline."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator

import pytest
from dash import Dash
from selenium.webdriver.chrome.options import Options

from core.clustering import service
from core.clustering.config import ModelConfig, PreprocessConfig
from core.columns import CUSTOMER
from dashapp.services import get_services
from dashapp.shared.loading import session_table
from dashapp.state import new_state
from tests.conftest import missing

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


@pytest.fixture(autouse=True)
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
