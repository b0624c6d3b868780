"""WCAG 2.1 A and AA checks by axe-core in headless Chromium, state by state.

Each test asserts that axe finds no violation of the WCAG 2.0/2.1 level A and AA rules on one
page in one state: after loading a file, after a fit on Model, with a segment selected, with
Compare open, with a chart shown as a table, with a flow selected on Changes. Every page on the
default data is checked in the every-page walk (``test_every_page``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from dash import Dash
from dash.testing.composite import DashComposite
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from core.generator import DEFAULT_DATA
from dashapp.app import create_app
from dashapp.shared import components
from tests.browser.axe import TIMEOUT, settle, violations
from tests.dashapp.helpers import sales_csv


@pytest.fixture(scope="session")
def a11y_app(tmp_path_factory: pytest.TempPathFactory) -> Dash:
    return create_app(cache_dir=tmp_path_factory.mktemp("a11y-cache"))


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


SPINNER_STYLE = """
const ring = document.createElement('div');
ring.className = arguments[0];
const label = document.createElement('span');
label.className = arguments[1];
label.textContent = arguments[2];
ring.appendChild(label);
document.body.appendChild(ring);
const box = label.getBoundingClientRect();
const name = getComputedStyle(ring).animationName;
ring.remove();
return [name, Math.round(box.width), Math.round(box.height)];
"""


def spinner_style(dash_duo: DashComposite) -> tuple[str, int, int]:
    """The app spinner's animation and its text's size on screen, as the page's CSS draws the
    markup of ``components.loading``'s spinner."""
    spinner = components.loading([]).custom_spinner
    (label,) = spinner.children if isinstance(spinner.children, list) else [spinner.children]
    args = (spinner.className, label.className, label.children)
    name, width, height = dash_duo.driver.execute_script(SPINNER_STYLE, *args)
    return name, width, height


def test_the_spinner_stands_still_and_says_loading_under_reduced_motion(
    dash_duo: DashComposite, a11y_app: Dash
) -> None:
    """WCAG 2.3.3: someone whose system asks for reduced motion sees "Loading…" where the
    ring would turn; everyone else sees the turning ring, its text there for screen readers.
    (The browser tests run Chromium with ``--force-prefers-reduced-motion``; the second check
    emulates the default through the DevTools protocol.)"""
    dash_duo.start_server(a11y_app)
    dash_duo.wait_for_text_to_equal("#dataset-name", DEFAULT_DATA.name, timeout=TIMEOUT)
    driver = dash_duo.driver
    assert driver.execute_script("return matchMedia('(prefers-reduced-motion: reduce)').matches")
    name, width, height = spinner_style(dash_duo)
    assert name == "none"
    assert width > 20, width  # the words take a line
    assert height > 8, height

    motion = [{"name": "prefers-reduced-motion", "value": "no-preference"}]
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": motion})
    try:
        assert not driver.execute_script(
            "return matchMedia('(prefers-reduced-motion: reduce)').matches"
        )
        name, width, height = spinner_style(dash_duo)
        assert name == "app-spinner-turn"
        assert width <= 1, width  # visually hidden
        assert height <= 1, height
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
