"""WCAG 2.1 A and AA checks by axe-core in headless Chromium, page by page and state by state.

axe-core is the engine behind most accessibility checkers; the ``axe-core-python`` package
bundles it (``axe.min.js``, no download at run time). Each test asserts that axe finds no
violation of the WCAG 2.0/2.1 level A and AA rules on one page in one state: the default data,
after loading a file, after a fit on Model, with a segment selected, with Compare open.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from axe_core_python.base import AXE_SCRIPT
from dash import Dash
from dash.testing.composite import DashComposite
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from core.generator import DEFAULT_DATA
from dashapp.app import create_app
from dashapp.pages import PAGES
from tests.dashapp.helpers import sales_csv

TIMEOUT = 60
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
DRAWN = (
    "return Array.from(document.querySelectorAll('.js-plotly-plot'))"
    ".filter(el => el.data && el.data.length > 0).length;"
)
BUSY = "return document.querySelectorAll('[data-dash-is-loading=\"true\"]').length;"
RUN_AXE = (
    "const done = arguments[arguments.length - 1];"
    "axe.run(document, %s).then(r => done(r.violations)).catch(e => done(String(e)));"
)


@pytest.fixture(scope="session")
def a11y_app(tmp_path_factory: pytest.TempPathFactory) -> Dash:
    return create_app(cache_dir=tmp_path_factory.mktemp("a11y-cache"))


def settle(dash_duo: DashComposite, *, charts: bool = True) -> None:
    """Wait until the page content is there, its charts are drawn and no callback is running."""
    dash_duo.wait_for_element("#_pages_content", timeout=TIMEOUT)
    wait = WebDriverWait(dash_duo.driver, TIMEOUT, poll_frequency=0.25)
    if charts:
        wait.until(lambda d: d.execute_script(DRAWN) > 0)
    wait.until(lambda d: d.execute_script(BUSY) == 0)


def violations(dash_duo: DashComposite) -> list[str]:
    """axe's WCAG 2.1 A/AA violations on the page as it is now, one line per failing element."""
    driver = dash_duo.driver
    driver.set_script_timeout(TIMEOUT)
    driver.execute_script(AXE_SCRIPT)
    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
    found: Any = driver.execute_async_script(RUN_AXE % json.dumps(options))
    assert not isinstance(found, str), f"axe failed to run: {found}"
    return [
        f"{v['id']} ({v['impact']}): {node['target']} {node['html'][:120]}"
        for v in found
        for node in v["nodes"]
    ]


@pytest.mark.parametrize("path", [page.PATH for page in PAGES])
def test_no_axe_violations_on_the_default_data(
    dash_duo: DashComposite, a11y_app: Dash, path: str
) -> None:
    dash_duo.start_server(a11y_app)
    dash_duo.driver.get(dash_duo.server_url + path)
    settle(dash_duo, charts=path not in ("/export", "/library"))
    assert violations(dash_duo) == []


def test_no_axe_violations_after_loading_a_file(
    dash_duo: DashComposite, a11y_app: Dash, tmp_path: Path
) -> None:
    dash_duo.start_server(a11y_app)
    dash_duo.wait_for_text_to_equal("#dataset-name", DEFAULT_DATA.name, timeout=TIMEOUT)
    path = tmp_path / "april.csv"
    path.write_bytes(sales_csv(prefix="A", customers=12))
    dash_duo.find_element("#upload input[type=file]").send_keys(str(path))
    dash_duo.wait_for_text_to_equal("#dataset-name", "april.csv", timeout=TIMEOUT)
    settle(dash_duo)
    assert violations(dash_duo) == []


def test_no_axe_violations_after_a_fit_on_model(dash_duo: DashComposite, a11y_app: Dash) -> None:
    dash_duo.start_server(a11y_app)
    dash_duo.driver.get(dash_duo.server_url + "/model?k=5")
    dash_duo.wait_for_contains_text("#model-headline", "5 segments", timeout=TIMEOUT)
    settle(dash_duo)
    assert violations(dash_duo) == []


def test_no_axe_violations_with_a_segment_selected(dash_duo: DashComposite, a11y_app: Dash) -> None:
    dash_duo.start_server(a11y_app)
    dash_duo.driver.get(dash_duo.server_url + "/segments")
    settle(dash_duo)
    bars = dash_duo.find_elements("#segments-sizes .trace.bars .point path")
    ActionChains(dash_duo.driver).move_to_element(bars[1]).click().perform()
    dash_duo.wait_for_contains_text("#segments-selection", "customers in", timeout=TIMEOUT)
    settle(dash_duo)
    assert violations(dash_duo) == []


def test_no_axe_violations_on_compare_after_moving_k(
    dash_duo: DashComposite, a11y_app: Dash
) -> None:
    dash_duo.start_server(a11y_app)
    dash_duo.driver.get(dash_duo.server_url + "/compare")
    settle(dash_duo)
    thumb = dash_duo.find_element("#compare-k [role=slider]")
    thumb.send_keys("\ue014")  # arrow right: k + 1
    WebDriverWait(dash_duo.driver, TIMEOUT).until(
        lambda _: thumb.get_attribute("aria-valuenow") == "5"
    )
    settle(dash_duo)
    assert violations(dash_duo) == []


@pytest.mark.parametrize(
    ("path", "graph"), [("/", "audit-funnel"), ("/segments", "segments-sizes")]
)
def test_no_axe_violations_with_a_chart_shown_as_a_table(
    dash_duo: DashComposite, a11y_app: Dash, path: str, graph: str
) -> None:
    dash_duo.start_server(a11y_app)
    dash_duo.driver.get(dash_duo.server_url + path)
    settle(dash_duo)
    toggle = dash_duo.find_element(f"#{graph}-table-toggle")
    toggle.send_keys(Keys.ENTER)
    WebDriverWait(dash_duo.driver, TIMEOUT).until(
        lambda _: toggle.get_attribute("aria-expanded") == "true"
    )
    dash_duo.wait_for_element(f"#{graph}-table table caption", timeout=TIMEOUT)
    assert violations(dash_duo) == []


def test_no_axe_violations_with_a_segment_selected_from_the_table(
    dash_duo: DashComposite, a11y_app: Dash
) -> None:
    dash_duo.start_server(a11y_app)
    dash_duo.driver.get(dash_duo.server_url + "/segments")
    settle(dash_duo)
    dash_duo.find_element("#segments-sizes-table-toggle").send_keys(Keys.ENTER)
    dash_duo.find_element("#segments-heatmap-table-toggle").send_keys(Keys.ENTER)
    picks = dash_duo.find_elements("#segments-sizes-table .segment-table-pick")
    name = picks[1].text.removeprefix("Select ")
    picks[1].send_keys(Keys.ENTER)
    dash_duo.wait_for_contains_text("#segments-selection", name, timeout=TIMEOUT)
    dash_duo.wait_for_element("#segments-sizes-table tr[aria-current=true]", timeout=TIMEOUT)
    settle(dash_duo)
    assert violations(dash_duo) == []


def test_no_axe_violations_on_changes_with_a_flow_selected(
    dash_duo: DashComposite, a11y_app: Dash
) -> None:
    # The link opens the page at a cutoff with a flow listed in the grid.
    dash_duo.start_server(a11y_app)
    query = "cutoff=2011-06-01&by=rfm&size=revenue&from=Champions&to=Champions"
    dash_duo.driver.get(f"{dash_duo.server_url}/changes?{query}")
    settle(dash_duo)
    dash_duo.wait_for_contains_text("#changes-caption", "Champions → Champions", timeout=TIMEOUT)
    assert violations(dash_duo) == []
