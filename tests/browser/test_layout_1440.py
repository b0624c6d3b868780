"""Nothing cut off or overlapping at 1440 px wide (headless Chromium, default data): grid headers
and the cut-height box show their whole text, the size chart's tick labels and the stability
chart's band labels do not run into their neighbours."""

from __future__ import annotations

import time

import pytest
from dash import Dash
from dash.testing.composite import DashComposite
from selenium.webdriver.common.keys import Keys

from dashapp.app import create_app

TIMEOUT = 60
WIDTH, HEIGHT = 1440, 900

# Elements whose text is cut: the text is wider than the box that shows it.
CUT = """
return Array.from(document.querySelectorAll(arguments[0]))
  .filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1)
  .map(e => (e.value !== undefined && e.tagName === 'INPUT') ? e.value : e.textContent);
"""
# Pairs of elements (of two selectors) whose boxes intersect.
OVERLAPS = """
const boxes = sel => Array.from(document.querySelectorAll(sel))
  .map(e => [e.textContent || e.tagName, e.getBoundingClientRect()]);
const a = boxes(arguments[0]), b = boxes(arguments[1]);
const hits = [];
for (const [ta, ra] of a) for (const [tb, rb] of b) {
  if (ra === rb || ra.width === 0 || rb.width === 0) continue;
  const x = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
  const y = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
  if (x > 0 && y > 0 && !(ta === tb && ra.left === rb.left)) hits.push(ta + ' | ' + tb);
}
return hits;
"""


@pytest.fixture(scope="session")
def layout_app(tmp_path_factory: pytest.TempPathFactory) -> Dash:
    return create_app(cache_dir=tmp_path_factory.mktemp("layout-1440-cache"))


def wait_until(condition: object, *, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def open_page(dash_duo: DashComposite, app: Dash, path: str, ready: str) -> None:
    dash_duo.start_server(app)
    dash_duo.driver.set_window_size(WIDTH, HEIGHT)
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}{path}", timeout=TIMEOUT)
    dash_duo.wait_for_element(ready, timeout=TIMEOUT)
    assert dash_duo.driver.execute_script("return window.innerWidth") == WIDTH


def script(dash_duo: DashComposite, code: str, *args: str) -> list[str]:
    return list(dash_duo.driver.execute_script(code, *args))


def test_segments_grid_headers_and_size_ticks(dash_duo: DashComposite, layout_app: Dash) -> None:
    open_page(dash_duo, layout_app, "/segments", "#segments-grid .ag-header-cell-text")
    wait_until(
        lambda: script(dash_duo, "return document.querySelectorAll('#segments-grid .ag-row')"),
        what="grid rows",
    )
    assert script(dash_duo, CUT, "#segments-grid .ag-header-cell-text") == []
    # A long segment name narrows the size chart's panels: their tick labels still keep apart.
    name = dash_duo.find_element(".segment-name-input")
    name.send_keys(Keys.CONTROL, "a")
    name.send_keys("Customers who ordered once and lapsed fifteen months ago", Keys.ENTER)
    dash_duo.wait_for_contains_text("#segments-sizes", "lapsed fifteen", timeout=TIMEOUT)
    ticks = "#segments-sizes .xtick text, #segments-sizes .x2tick text"
    assert len(script(dash_duo, "return document.querySelectorAll(arguments[0])", ticks)) >= 4
    assert script(dash_duo, OVERLAPS, ticks, ticks) == []
    assert dash_duo.get_logs() == []


def test_model_stability_band_labels_stay_off_the_bars(
    dash_duo: DashComposite, layout_app: Dash
) -> None:
    open_page(dash_duo, layout_app, "/model", "#model-stability-figure .trace.bars .point path")
    labels = "#model-stability-figure .annotation-text"
    wait_until(
        lambda: (
            len(script(dash_duo, "return document.querySelectorAll(arguments[0])", labels)) == 2
        ),
        what="the band labels",
    )
    bars = "#model-stability-figure .trace.bars .point path"
    assert script(dash_duo, OVERLAPS, labels, bars) == []
    assert script(dash_duo, OVERLAPS, labels, "#model-stability-figure .bartext") == []
    assert dash_duo.get_logs() == []


def test_compare_cut_height_box_and_grid_headers_show_their_text(
    dash_duo: DashComposite, layout_app: Dash
) -> None:
    open_page(dash_duo, layout_app, "/compare", "#compare-contingency .heatmaplayer")
    box = "#compare-height input"
    wait_until(
        lambda: dash_duo.find_element(box).get_attribute("value") not in (None, ""),
        what="the cut height",
    )
    assert script(dash_duo, CUT, box) == []
    assert script(dash_duo, CUT, "#compare-grid .ag-header-cell-text") == []
    assert dash_duo.get_logs() == []


# dcc.Input (Dash 4) draws its input inside a wrapper that takes the className: inputs wider
# than the wrapper that shows them (a shrink-to-fit wrapper collapses around a date input).
CLIPPED_INPUTS = """
return Array.from(document.querySelectorAll('.dash-input-container'))
  .filter(w => w.offsetParent !== null && w.querySelector('input') !== null)
  .filter(w => w.querySelector('input').getBoundingClientRect().width > w.clientWidth + 1)
  .map(w => w.querySelector('input').id + ' in ' + w.clientWidth + ' px');
"""


def test_changes_cutoff_date_shows_whole(dash_duo: DashComposite, layout_app: Dash) -> None:
    open_page(dash_duo, layout_app, "/changes", "#changes-sankey .sankey")
    box = "input#changes-cutoff"
    wait_until(
        lambda: dash_duo.find_element(box).get_attribute("value") not in (None, ""),
        what="the cutoff date",
    )
    assert script(dash_duo, CLIPPED_INPUTS) == []
    assert dash_duo.get_logs() == []
