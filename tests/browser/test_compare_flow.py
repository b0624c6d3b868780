"""The Compare page in headless Chromium on the default data: the cut and k drive each other,
and a contingency cell lists its customers."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from dash import Dash
from dash.testing.composite import DashComposite
from selenium.webdriver.common.actions.action_builder import ActionBuilder
from selenium.webdriver.common.keys import Keys

from core.clustering.hierarchical import height_for_k
from dashapp.app import create_app
from dashapp.background import MAX_JOBS
from dashapp.pages.compare import view as cm
from dashapp.services import get_services
from dashapp.shared.jobs import app_jobs
from dashapp.shared.loading import session_table
from dashapp.shared.modeling import BACKGROUND_CONFIG_KEY
from dashapp.state import new_state

TIMEOUT = 30


@pytest.fixture(scope="session")
def compare_app(tmp_path_factory: pytest.TempPathFactory) -> Dash:
    # One app per test session: Dash keeps page and callback registries per process.
    return create_app(cache_dir=tmp_path_factory.mktemp("compare-browser-cache"))


@pytest.fixture(scope="session")
def expected(compare_app: Dash) -> dict[str, Any]:
    """The tree and comparisons the page should show (default settings, computed here)."""
    server = compare_app.server
    with server.app_context():  # type: ignore[attr-defined]
        services = get_services(server)  # type: ignore[arg-type]
        state = new_state(services)
        table = session_table(state, services)
        settings = cm.compare_settings(state)
        tree = cm.tree_fit(table, settings, services.cache)
        at4 = cm.compare_at(table, settings, 4, services, state)
    return {"tree": tree, "at4": at4}


def open_compare(dash_duo: DashComposite, app: Dash) -> None:
    dash_duo.start_server(app)
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/compare", timeout=TIMEOUT)
    dash_duo.wait_for_element("#compare-contingency .heatmaplayer", timeout=TIMEOUT)
    dash_duo.wait_for_contains_text("#compare-dendrogram", "cut: k = 4", timeout=TIMEOUT)


def cut_line_height(dash_duo: DashComposite) -> float:
    return float(
        dash_duo.driver.execute_script(
            "return document.querySelector('#compare-dendrogram .js-plotly-plot')"
            ".layout.shapes[0].y0"
        )
    )


def click_plot(dash_duo: DashComposite, graph: str, fx: float, fy: float) -> None:
    """Click a graph's plot area at fractions of its width and height (from the top left).

    Viewport coordinates: the origin of element offsets differs between Selenium versions.
    """
    driver = dash_duo.driver
    element = dash_duo.find_element(graph)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    left, top, width, height = driver.execute_script(
        "const r = arguments[0].querySelector('.nsewdrag').getBoundingClientRect();"
        "return [r.left, r.top, r.width, r.height];",
        element,
    )
    action = ActionBuilder(driver)
    action.pointer_action.move_to_location(int(left + fx * width), int(top + fy * height))
    action.pointer_action.click()
    action.perform()


def type_into(dash_duo: DashComposite, selector: str, value: str) -> None:
    """Type into a slider's number box; the slider takes the value when the box loses focus."""
    box = dash_duo.find_element(selector)
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(value, Keys.TAB)


def test_cut_and_k_drive_each_other(
    dash_duo: DashComposite, compare_app: Dash, expected: dict[str, Any]
) -> None:
    open_compare(dash_duo, compare_app)
    z = expected["tree"].linkage
    assert cut_line_height(dash_duo) == pytest.approx(height_for_k(z, 4))
    assert dash_duo.find_element("#compare-k input").get_attribute("value") == "4"

    # Move the cut: a height inside the band that gives 6 segments.
    n = z.shape[0] + 1
    inside6 = (2 * z[n - 7, 2] + z[n - 6, 2]) / 3
    type_into(dash_duo, "#compare-height input", f"{inside6:.4f}")
    dash_duo.wait_for_contains_text("#compare-dendrogram", "cut: k = 6", timeout=TIMEOUT)
    dash_duo.wait_for_element("#compare-k input[value='6']", timeout=TIMEOUT)
    assert cut_line_height(dash_duo) == pytest.approx(height_for_k(z, 6))

    # Change k: the cut line moves to k = 3's height.
    type_into(dash_duo, "#compare-k input", "3")
    dash_duo.wait_for_contains_text("#compare-dendrogram", "cut: k = 3", timeout=TIMEOUT)
    assert cut_line_height(dash_duo) == pytest.approx(height_for_k(z, 3))
    assert dash_duo.get_logs() == []


def test_enter_applies_a_typed_k(
    dash_duo: DashComposite, compare_app: Dash, expected: dict[str, Any]
) -> None:
    open_compare(dash_duo, compare_app)
    box = dash_duo.find_element("#compare-k input")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("5", Keys.ENTER)  # no Tab: the box keeps the focus
    dash_duo.wait_for_contains_text("#compare-dendrogram", "cut: k = 5", timeout=TIMEOUT)
    z = expected["tree"].linkage
    assert cut_line_height(dash_duo) == pytest.approx(height_for_k(z, 5))
    assert dash_duo.driver.switch_to.active_element == box  # ready for the next value
    assert dash_duo.get_logs() == []


def test_clicking_a_contingency_cell_lists_its_customers(
    dash_duo: DashComposite, compare_app: Dash, expected: dict[str, Any]
) -> None:
    open_compare(dash_duo, compare_app)
    at4: cm.CutComparison = expected["at4"]
    # The top-left cell: the first row (hierarchical segment matched to K-means segment 0)
    # and the first column (K-means segment 0).
    h = at4.h_match.index(0)
    members = set(at4.comparison.cell_members(h, 0).tolist())
    click_plot(dash_duo, "#compare-contingency", 0.125, 0.125)
    dash_duo.wait_for_contains_text(
        "#compare-selection-caption",
        f"{len(members):,} customers in hierarchical H{h + 1}",
        timeout=TIMEOUT,
    )
    dash_duo.wait_for_element("#compare-grid .ag-row", timeout=TIMEOUT)
    shown = {c.text for c in dash_duo.find_elements("#compare-grid .ag-cell[col-id='customer_id']")}
    assert shown
    assert shown <= members
    scatter_names = dash_duo.driver.execute_script(
        "return document.querySelector('#compare-scatter .js-plotly-plot').data.map(t => t.name)"
    )
    assert f"selected ({len(members):,})" in scatter_names
    assert dash_duo.get_logs() == []


@pytest.fixture(scope="module")
def background_app(tmp_path_factory: pytest.TempPathFactory) -> Dash:
    """An app whose every uncached fit is dear (threshold 0 CPU-s), as on a large table, over
    a cache of its own (nothing computed yet)."""
    app = create_app(cache_dir=tmp_path_factory.mktemp("compare-background-cache"))
    app.server.config[BACKGROUND_CONFIG_KEY] = 0  # type: ignore[attr-defined]
    return app


def test_a_dear_comparison_waits_in_the_queue_then_draws(
    dash_duo: DashComposite, background_app: Dash
) -> None:
    """Compare on a table forced to the background: the tree is not built in the request; the
    page shows the job's place in the server's queue (both job threads are busy with other
    work here), with Cancel, then the dendrogram and the comparison once it ran."""
    server = background_app.server
    manager = app_jobs(server, get_services(server))  # type: ignore[arg-type]
    release = threading.Event()
    busy = manager.make_job_fn(lambda: release.wait(120), False)
    for n in range(MAX_JOBS):  # other sessions' fits hold both job threads
        manager.call_job_fn(f"other-fit-{n}", busy, [], {})
    try:
        dash_duo.start_server(background_app)
        dash_duo.wait_for_page(url=f"{dash_duo.server_url}/compare", timeout=TIMEOUT)
        dash_duo.wait_for_contains_text(
            "#compare-progress-text", "2 fits ahead of yours", timeout=TIMEOUT
        )
        wrap = dash_duo.find_element("#compare-progress-wrap")
        assert wrap.value_of_css_property("display") == "block"
        assert dash_duo.find_element("#compare-cancel").is_enabled()
        assert "in the background" in dash_duo.find_element("#compare-status").text
        assert "cut: k" not in dash_duo.find_element("#compare-dendrogram").text
    finally:
        release.set()
    dash_duo.wait_for_contains_text("#compare-dendrogram", "cut: k = 4", timeout=TIMEOUT)
    dash_duo.wait_for_element("#compare-contingency .heatmaplayer", timeout=TIMEOUT)
    dash_duo.wait_for_text_to_equal("#compare-status", "", timeout=TIMEOUT)
    assert dash_duo.find_element("#ari").text != ""  # the metrics of the comparison
    assert wrap.value_of_css_property("display") == "none"
    assert dash_duo.get_logs() == []
