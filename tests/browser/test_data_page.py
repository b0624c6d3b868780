"""The Data page in headless Chromium: default data, uploads, a broken file, a mapping fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from dash import Dash
from dash.testing.composite import DashComposite
from dash.testing.wait import until
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from core.generator import DEFAULT_DATA
from dashapp.app import create_app
from tests.core import cdnow
from tests.dashapp.helpers import sales_csv

TIMEOUT = 30


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Dash:
    # One app per test session: Dash keeps page and callback registries per process.
    return create_app(cache_dir=tmp_path_factory.mktemp("browser-cache"), max_upload_mb=5)


def open_app(dash_duo: DashComposite, app: Dash) -> None:
    dash_duo.start_server(app)
    dash_duo.wait_for_text_to_equal("#dataset-name", DEFAULT_DATA.name, timeout=TIMEOUT)
    dash_duo.wait_for_contains_text("#audit-table", "Kept", timeout=TIMEOUT)


def upload(dash_duo: DashComposite, path: Path) -> None:
    dash_duo.find_element("#upload input[type=file]").send_keys(str(path))


def choose(dash_duo: DashComposite, dropdown: str, option: str) -> None:
    """Open the dropdown ``dropdown`` and click its option reading ``option``. Each step waits
    for its element, and a form re-rendered between the steps is tried again (dash.testing's
    ``select_dcc_dropdown`` looks for the menu once, right after the click)."""

    def attempt(driver: WebDriver) -> bool:
        try:
            driver.find_element(By.CSS_SELECTOR, dropdown).click()
            menu = WebDriverWait(driver, 5).until(
                lambda d: d.find_element(By.CSS_SELECTOR, ".dash-dropdown-options")
            )
            for item in menu.find_elements(By.CSS_SELECTOR, ".dash-dropdown-option"):
                if item.text == option:
                    item.click()
                    return True
            driver.switch_to.active_element.send_keys(Keys.ESCAPE)  # closed for the next try
        except (NoSuchElementException, StaleElementReferenceException, TimeoutException):
            pass
        return False

    WebDriverWait(dash_duo.driver, TIMEOUT).until(attempt, f"no option {option!r} in {dropdown}")


PREVIEW_COLUMN = """
const table = document.querySelector('#preview table');
if (!table) { return []; }
const heads = [...table.querySelectorAll('thead th')].map(th => th.textContent);
const i = heads.findIndex(h => h === arguments[0] || h.startsWith(arguments[0] + ' → '));
if (i < 0) { return []; }
return [...table.querySelectorAll('tbody tr')].map(tr => tr.children[i].textContent);
"""


def preview_cells(dash_duo: DashComposite, column: str) -> list[str]:
    """Texts of the cells of ``column`` in the preview table (its header names the column,
    then the role it is mapped to, if any)."""
    return list(dash_duo.driver.execute_script(PREVIEW_COLUMN, column))


def assert_preview_is(dash_duo: DashComposite, column: str, allowed: set[str]) -> None:
    # The table is drawn once Dash has loaded its Markdown renderer: wait for it.
    until(lambda: preview_cells(dash_duo, column), timeout=TIMEOUT)
    seen = set(preview_cells(dash_duo, column))
    assert seen
    assert seen <= allowed


def test_opens_on_default_data_with_funnel_and_preview(dash_duo: DashComposite, app: Dash) -> None:
    open_app(dash_duo, app)
    dash_duo.wait_for_element("#audit-funnel .funnellayer", timeout=TIMEOUT)
    assert "Lines read" in dash_duo.find_element("#audit-funnel").text
    dash_duo.wait_for_element("#preview table tbody tr", timeout=TIMEOUT)
    assert len(preview_cells(dash_duo, "CustomerID")) == 100
    assert "CustomerID → customer" in dash_duo.find_element("#preview").text
    assert "built-in sample" in dash_duo.find_element("#dataset-summary").text
    assert dash_duo.get_logs() == []


def test_upload_csv_then_broken_file_keeps_the_data(
    dash_duo: DashComposite, app: Dash, tmp_path: Path
) -> None:
    open_app(dash_duo, app)
    good = tmp_path / "march.csv"
    good.write_bytes(sales_csv(prefix="M"))
    upload(dash_duo, good)
    dash_duo.wait_for_text_to_equal("#dataset-name", "march.csv", timeout=TIMEOUT)
    dash_duo.wait_for_contains_text("#audit-table", "36 of 36", timeout=TIMEOUT)
    dash_duo.wait_for_contains_text("#upload-alert", "march.csv loaded", timeout=TIMEOUT)
    assert_preview_is(dash_duo, "Customer", {f"M{c:03d}" for c in range(6)})

    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"\x00\x01\x02\xff" * 500)
    upload(dash_duo, broken)
    dash_duo.wait_for_contains_text("#upload-alert", "How to fix", timeout=TIMEOUT)
    assert "could not be used" in dash_duo.find_element("#upload-alert").text
    # The previously loaded data is still on screen.
    assert dash_duo.find_element("#dataset-name").text == "march.csv"
    assert "36 of 36" in dash_duo.find_element("#audit-table").text
    assert_preview_is(dash_duo, "Customer", {f"M{c:03d}" for c in range(6)})


def test_fix_a_column_mapping(dash_duo: DashComposite, app: Dash, tmp_path: Path) -> None:
    open_app(dash_duo, app)
    path = tmp_path / "who.csv"
    path.write_bytes(sales_csv(customer_header="Who"))
    upload(dash_duo, path)
    dash_duo.wait_for_text_to_equal("#dataset-name", "who.csv", timeout=TIMEOUT)
    dash_duo.wait_for_contains_text("#mapping-alert", "customer", timeout=TIMEOUT)
    assert "How to fix" in dash_duo.find_element("#mapping-alert").text
    choose(dash_duo, ".role-customer", "Who")
    dash_duo.wait_for_contains_text("#audit-table", "36 of 36", timeout=TIMEOUT)
    assert "How to fix" not in dash_duo.find_element("#mapping-alert").text
    assert "changed" in dash_duo.find_element("#mapping-form").text
    assert "Who → customer" in dash_duo.find_element("#preview").text


def test_preview_shows_cells_as_typed(dash_duo: DashComposite, app: Dash, tmp_path: Path) -> None:
    open_app(dash_duo, app)
    note = "<b>x</b> | **y** [z](http://example.com) &amp;"
    path = tmp_path / "notes.csv"
    lines = sales_csv().decode().splitlines()
    rows = [f"{lines[0]},Note"] + [f'{line},"{note}"' for line in lines[1:]]
    path.write_text("\n".join(rows) + "\n")
    upload(dash_duo, path)
    dash_duo.wait_for_contains_text("#audit-table", "36 of 36", timeout=TIMEOUT)
    assert_preview_is(dash_duo, "Note", {note})
    assert not dash_duo.find_elements("#preview b, #preview a, #preview td strong")


def test_toggle_a_cleaning_rule(dash_duo: DashComposite, app: Dash) -> None:
    open_app(dash_duo, app)
    table = dash_duo.find_element("#audit-table")
    assert "off" not in table.text.split()
    switches = dash_duo.find_elements(".cleaning-rules input[type=checkbox]")
    switches[0].click()  # missing customer id
    dash_duo.wait_for_contains_text("#audit-table", "off", timeout=TIMEOUT)
    row = dash_duo.find_elements("#audit-table tbody tr")[1]
    assert row.text.startswith("Missing customer id")
    assert row.text.split()[-2] == "0"  # no line dropped by the switched-off rule


def test_a_file_over_the_limit_is_explained(
    dash_duo: DashComposite, app: Dash, tmp_path: Path
) -> None:
    open_app(dash_duo, app)
    big = tmp_path / "huge.csv"
    big.write_bytes(b"a,b\n" + b"1,2\n" * (6 * 1024**2 // 4))  # 6 MB, limit 5 MB
    upload(dash_duo, big)
    dash_duo.wait_for_contains_text("#upload-alert", "File too large", timeout=TIMEOUT)
    assert "up to 5 MB" in dash_duo.find_element("#upload-alert").text
    assert dash_duo.find_element("#dataset-name").text == DEFAULT_DATA.name


def test_a_reload_keeps_the_session(dash_duo: DashComposite, app: Dash, tmp_path: Path) -> None:
    open_app(dash_duo, app)
    path = tmp_path / "kept.csv"
    path.write_bytes(sales_csv(prefix="K"))
    upload(dash_duo, path)
    dash_duo.wait_for_text_to_equal("#dataset-name", "kept.csv", timeout=TIMEOUT)
    dash_duo.driver.refresh()
    dash_duo.wait_for_text_to_equal("#dataset-name", "kept.csv", timeout=TIMEOUT)
    dash_duo.wait_for_contains_text("#audit-table", "36 of 36", timeout=TIMEOUT)


def test_spaced_text_files_unreadable_kept_out_and_headerless_mapped(
    dash_duo: DashComposite, app: Dash, tmp_path: Path
) -> None:
    open_app(dash_duo, app)
    good = tmp_path / "april.csv"
    good.write_bytes(sales_csv(prefix="A"))
    upload(dash_duo, good)
    dash_duo.wait_for_contains_text("#audit-table", "36 of 36", timeout=TIMEOUT)

    # No delimiter at all: refused, the data on screen stays.
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"just some notes\nnothing tabular here at all\n")
    upload(dash_duo, notes)
    dash_duo.wait_for_contains_text("#upload-alert", "single column", timeout=TIMEOUT)
    assert dash_duo.find_element("#dataset-name").text == "april.csv"
    assert "36 of 36" in dash_duo.find_element("#audit-table").text
    assert_preview_is(dash_duo, "Customer", {f"A{c:03d}" for c in range(6)})

    # The original CDNOW layout: columns aligned by spaces, no header; mapped by number.
    master = tmp_path / "CDNOW_master.txt"
    master.write_bytes(cdnow.master_text())
    upload(dash_duo, master)
    dash_duo.wait_for_text_to_equal("#dataset-name", master.name, timeout=TIMEOUT)
    dash_duo.wait_for_contains_text("#mapping-alert", "column_1", timeout=TIMEOUT)
    assert_preview_is(dash_duo, "column_1", {c for c, *_ in cdnow.LINES})
    # Each choice re-renders the form: wait for it before the next one.
    choose(dash_duo, ".role-customer", "column_1")
    dash_duo.wait_for_contains_text("#mapping-alert", "in the date dropdown", TIMEOUT)
    choose(dash_duo, ".role-date", "column_2")
    dash_duo.wait_for_contains_text("#mapping-alert", "Missing column roles: quantity", TIMEOUT)
    assert "amount dropdown" in dash_duo.find_element("#mapping-alert").text
    choose(dash_duo, ".role-amount", "column_4")
    kept = f"{cdnow.KEPT_LINES} of {len(cdnow.LINES)}"
    dash_duo.wait_for_contains_text("#audit-table", kept, timeout=TIMEOUT)
    assert "How to fix" not in dash_duo.find_element("#mapping-alert").text
    assert f"{cdnow.KEPT_CUSTOMERS} customers" in dash_duo.find_element("#dataset-summary").text
    assert dash_duo.get_logs() == []


def test_an_unclosed_quote_and_a_server_bug_are_explained_and_keep_the_data(
    dash_duo: DashComposite, app: Dash, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_app(dash_duo, app)
    quoted = tmp_path / "quoted.csv"
    quoted.write_bytes(b'Customer,Date,Amount\n"' + b"x" * 140_000 + b"\n")
    upload(dash_duo, quoted)
    dash_duo.wait_for_contains_text("#upload-alert", "How to fix", timeout=TIMEOUT)
    assert "never closed" in dash_duo.find_element("#upload-alert").text
    assert dash_duo.find_element("#dataset-name").text == DEFAULT_DATA.name

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("an unexpected bug")

    # The server runs in this process: make the next upload hit a bug.
    monkeypatch.setattr("dashapp.pages.data.callbacks.save_upload", broken)
    good = tmp_path / "march.csv"
    good.write_bytes(sales_csv(prefix="M"))
    upload(dash_duo, good)
    dash_duo.wait_for_contains_text("#error-notice", "error reference", timeout=TIMEOUT)
    assert "an unexpected bug" not in dash_duo.find_element("#error-notice").text
    assert dash_duo.find_element("#dataset-name").text == DEFAULT_DATA.name
    assert "Kept" in dash_duo.find_element("#audit-table").text
