"""Keyboard only, in headless Chromium: every step is a key sent to the focused element (Tab,
Shift+Tab, Enter, Space, arrows, Escape), never a click or a script setting a value.

The issue's "done when": change k on Model (type into the number box, Enter), move k on
Compare with an arrow key, select a segment from the size chart's table alternative on
Segments, export that segment's customers on Export (the downloaded file holds exactly its
customers). Along the way the focused control shows a focus ring, the customer grid moves its
focused row with the arrow keys, and Tab or Escape leaves an open dropdown.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from dash import Dash
from dash.testing.composite import DashComposite
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from core.columns import CUSTOMER
from dashapp.app import create_app
from tests.browser.conftest import segment_labels

TIMEOUT = 60
MAX_TABS = 250
FOCUS_RING = (
    "const s = getComputedStyle(arguments[0]);return [s.outlineStyle, s.outlineWidth, s.boxShadow];"
)


@pytest.fixture(scope="session")
def keyboard_app(tmp_path_factory: pytest.TempPathFactory) -> Dash:
    return create_app(cache_dir=tmp_path_factory.mktemp("keyboard-cache"))


@pytest.fixture(scope="session")
def labels_k5(keyboard_app: Dash) -> dict[str, int]:
    """Customer -> segment of the default settings with k = 5, computed here."""
    return segment_labels(keyboard_app, 5)


def press(driver: WebDriver, *keys: str) -> None:
    """Send keys to whatever has the focus (as a keyboard does)."""
    ActionChains(driver).send_keys(*keys).perform()


def shift_tab(driver: WebDriver) -> None:
    ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT).perform()


def focused(driver: WebDriver) -> WebElement:
    return driver.switch_to.active_element


def matches(driver: WebDriver, css: str) -> bool:
    return bool(driver.execute_script("return document.activeElement.matches(arguments[0])", css))


def tab_to(
    driver: WebDriver,
    css: str,
    *,
    backwards: bool = False,
    text: str | None = None,
) -> WebElement:
    """Press Tab (Shift+Tab) until the focused element matches ``css`` (and shows ``text``)."""
    for _ in range(MAX_TABS):
        if matches(driver, css) and (text is None or focused(driver).text == text):
            return focused(driver)
        if backwards:
            shift_tab(driver)
        else:
            press(driver, Keys.TAB)
    raise AssertionError(f"{css} {text or ''} not reached with {MAX_TABS} key presses")


def assert_focus_ring(driver: WebDriver) -> None:
    """The focused element draws a focus indicator: an outline or a box shadow."""
    style, width, shadow = driver.execute_script(FOCUS_RING, focused(driver))
    assert (style != "none" and width != "0px") or shadow != "none", (style, width, shadow)


def wait_until(condition: Callable[[], object], *, what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except Exception:  # noqa: BLE001 (an element re-rendered while read: try again)
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def text_of(driver: WebDriver, selector: str) -> str:
    return str(
        driver.execute_script(
            "const el = document.querySelector(arguments[0]); return el ? el.textContent : '';",
            selector,
        )
    )


def go_to_page(driver: WebDriver, path: str) -> None:
    """Shift+Tab back to the navbar's link to ``path`` and follow it with Enter."""
    tab_to(driver, f"#navbar a[href='{path}']", backwards=True)
    assert_focus_ring(driver)
    press(driver, Keys.ENTER)
    wait_until(lambda: driver.current_url.split("?")[0].endswith(path), what=f"page {path}")


def change_k_on_model(driver: WebDriver) -> None:
    wait_until(lambda: "4 segments" in text_of(driver, "#model-headline"), what="the first fit")
    tab_to(driver, ".model-k")
    assert_focus_ring(driver)
    ActionChains(driver).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).perform()
    press(driver, "5", Keys.ENTER)
    wait_until(lambda: "5 segments" in text_of(driver, "#model-headline"), what="k = 5")


def move_k_on_compare(driver: WebDriver) -> None:
    thumb = "#compare-k [role=slider]"
    wait_until(lambda: "cut: k =" in text_of(driver, "#compare-dendrogram"), what="the tree")
    tab_to(driver, thumb)
    assert_focus_ring(driver)
    before = int(focused(driver).get_attribute("aria-valuenow") or 0)
    press(driver, Keys.ARROW_RIGHT)
    wait_until(
        lambda: f"cut: k = {before + 1}" in text_of(driver, "#compare-dendrogram"),
        what=f"the tree cut at k = {before + 1}",
    )
    assert focused(driver).get_attribute("aria-valuenow") == str(before + 1)


def select_from_the_sizes_table(driver: WebDriver, segment: int) -> str:
    """Open the sizes chart's table and press "Select <name>" of ``segment``; its name."""
    wait_until(lambda: text_of(driver, "#segments-sizes-summary"), what="the sizes summary")
    toggle = tab_to(driver, "#segments-sizes-table-toggle")
    assert_focus_ring(driver)
    assert toggle.get_attribute("aria-expanded") == "false"
    press(driver, Keys.ENTER)
    wait_until(lambda: toggle.get_attribute("aria-expanded") == "true", what="the table")
    buttons = driver.find_elements("css selector", "#segments-sizes-table .segment-table-pick")
    assert len(buttons) == 5
    label = buttons[segment].text
    tab_to(driver, ".segment-table-pick", text=label)
    assert_focus_ring(driver)
    press(driver, Keys.SPACE)
    name = label.removeprefix("Select ")
    wait_until(lambda: name in text_of(driver, "#segments-selection"), what="the selection")
    return name


def arrow_down_the_grid(driver: WebDriver) -> None:
    """Tab into the customer grid; the arrow keys move the focused row."""
    tab_to(driver, "#segments-grid .ag-header-cell, #segments-grid .ag-cell")
    rows = []
    for _ in range(2):
        press(driver, Keys.ARROW_DOWN)
        assert matches(driver, "#segments-grid .ag-cell")
        assert_focus_ring(driver)
        rows.append(focused(driver).find_element("xpath", "..").get_attribute("row-index"))
    assert rows == ["0", "1"]


def test_keyboard_only_from_k_to_an_exported_segment(
    dash_duo: DashComposite, keyboard_app: Dash, labels_k5: dict[str, int], tmp_path: Path
) -> None:
    driver = dash_duo.driver
    dash_duo.start_server(keyboard_app)
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/model", timeout=TIMEOUT)
    change_k_on_model(driver)

    go_to_page(driver, "/compare")
    move_k_on_compare(driver)

    go_to_page(driver, "/segments")
    name = select_from_the_sizes_table(driver, 2)
    expected = {c for c, s in labels_k5.items() if s == 2}
    wait_until(
        lambda: f"{len(expected):,} customers in" in text_of(driver, "#segments-selection"),
        what="the selection's count",
    )
    assert "segment=2" in driver.current_url
    arrow_down_the_grid(driver)

    go_to_page(driver, "/export")
    wait_until(
        lambda: f"{len(expected):,}" in text_of(driver, "#export-row-count"), what="the count"
    )
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver.execute_cdp_cmd(
        "Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    tab_to(driver, "#export-list-button")
    assert_focus_ring(driver)
    press(driver, Keys.ENTER)
    wait_until(lambda: [p for p in downloads.glob("*.csv") if p.stat().st_size > 0], what="the CSV")
    (path,) = downloads.glob("*.csv")
    exported = pl.read_csv(path, schema_overrides={CUSTOMER: pl.String})
    assert set(exported[CUSTOMER]) == expected
    assert exported.height == len(expected)
    assert set(exported["segment_name"]) == {name}
    assert dash_duo.get_logs() == []


def test_tab_and_escape_leave_an_open_dropdown(dash_duo: DashComposite, keyboard_app: Dash) -> None:
    driver = dash_duo.driver
    dash_duo.start_server(keyboard_app)
    dash_duo.wait_for_element("button.role-customer", timeout=TIMEOUT)
    listbox = ".dash-dropdown-content"
    customer = tab_to(driver, "button.role-customer")
    assert_focus_ring(driver)
    chosen = customer.text

    def is_open() -> bool:
        # Not find_elements: with Dash's 2 s implicit wait, each "closed" answer took 2 s.
        return bool(driver.execute_script("return !!document.querySelector(arguments[0])", listbox))

    press(driver, Keys.ARROW_DOWN)
    wait_until(is_open, what="the list to open")
    assert driver.execute_script(f"return !!document.activeElement.closest('{listbox}')")
    press(driver, Keys.ESCAPE)
    wait_until(lambda: not is_open(), what="Escape to close the list")
    assert matches(driver, "button.role-customer")

    press(driver, Keys.ARROW_DOWN)
    wait_until(is_open, what="the list to open again")
    press(driver, Keys.TAB)
    wait_until(lambda: not is_open(), what="Tab to close the list")
    wait_until(lambda: matches(driver, "button.role-date"), what="Tab to reach the next control")

    press(driver, Keys.ARROW_DOWN)
    wait_until(is_open, what="the date list to open")
    shift_tab(driver)
    wait_until(lambda: not is_open(), what="Shift+Tab to close the list")
    wait_until(lambda: matches(driver, "button.role-customer"), what="Shift+Tab to go back")
    assert focused(driver).text == chosen  # leaving chose nothing
    assert dash_duo.get_logs() == []
