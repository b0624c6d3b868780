"""Long work is announced: a screen reader reads live regions, so the progress of reading an
upload and of a fit appears in a polite ``role="status"`` region, and an error in
``role="alert"``. A MutationObserver records every text the live regions show (no timing)."""

from __future__ import annotations

from pathlib import Path

import pytest
from dash import Dash
from dash.testing.composite import DashComposite
from selenium.webdriver.common.keys import Keys

from core.generator import DEFAULT_DATA
from dashapp.app import create_app
from tests.dashapp.helpers import sales_csv

TIMEOUT = 60
LIVE = "[role=status], [role=alert], [aria-live]"
RECORD = """
window.announced = [];
const note = () => document.querySelectorAll(arguments[0]).forEach(el => {
    const text = el.textContent.trim();
    const role = el.getAttribute('role') || 'live';
    if (text && !window.announced.some(a => a[0] === role && a[1] === text)) {
        window.announced.push([role, text]);
    }
});
new MutationObserver(note).observe(document.body,
    {subtree: true, childList: true, characterData: true});
"""


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Dash:
    return create_app(cache_dir=tmp_path_factory.mktemp("live-cache"))


def announced(dash_duo: DashComposite) -> list[tuple[str, str]]:
    return [tuple(a) for a in dash_duo.driver.execute_script("return window.announced;")]


def test_reading_an_upload_is_announced_and_a_bad_file_is_an_alert(
    dash_duo: DashComposite, live_app: Dash, tmp_path: Path
) -> None:
    dash_duo.start_server(live_app)
    dash_duo.wait_for_text_to_equal("#dataset-name", DEFAULT_DATA.name, timeout=TIMEOUT)
    dash_duo.driver.execute_script(RECORD, LIVE)
    good = tmp_path / "april.csv"
    good.write_bytes(sales_csv(prefix="A", customers=12))
    dash_duo.find_element("#upload input[type=file]").send_keys(str(good))
    dash_duo.wait_for_text_to_equal("#dataset-name", "april.csv", timeout=TIMEOUT)
    dash_duo.wait_for_contains_text("#upload-alert", "april.csv", timeout=TIMEOUT)
    assert ("status", "Reading the file…") in announced(dash_duo)
    news = dash_duo.find_element("#upload-alert .alert")
    assert news.get_attribute("role") == "status"

    bad = tmp_path / "empty.csv"
    bad.write_bytes(b"")
    dash_duo.find_element("#upload input[type=file]").send_keys(str(bad))
    dash_duo.wait_for_element("#upload-alert [role=alert]", timeout=TIMEOUT)
    assert "could not be used" in dash_duo.find_element("#upload-alert [role=alert]").text
    assert dash_duo.find_element("#dataset-name").text == "april.csv"  # nothing lost


def test_a_fit_is_announced_while_it_runs_and_when_done(
    dash_duo: DashComposite, live_app: Dash
) -> None:
    dash_duo.start_server(live_app)
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/model", timeout=TIMEOUT)
    dash_duo.wait_for_contains_text("#model-headline", "4 segments", timeout=TIMEOUT)
    dash_duo.driver.execute_script(RECORD, LIVE)
    k_box = dash_duo.find_element(".model-k")
    k_box.send_keys(Keys.CONTROL, "a")
    k_box.send_keys("6", Keys.ENTER)
    dash_duo.wait_for_contains_text("#model-headline", "6 segments", timeout=TIMEOUT)
    dash_duo.wait_for_contains_text("#model-status", "k = 6", timeout=TIMEOUT)
    texts = [text for role, text in announced(dash_duo) if role == "status"]
    assert any(text.startswith("Fitting…") for text in texts), texts
    assert any("k = 6" in text for text in texts), texts
    assert (
        dash_duo.find_element("#model-progress-wrap [role=progressbar]").get_attribute("aria-label")
        == "Fit progress"
    )
