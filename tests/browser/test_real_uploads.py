"""The real Online Retail file uploaded in headless Chromium, as .xlsx and as a UCI-style .csv:
the Data page shows the exact cleaning figures of the whole file.

Both files are written from ``online_retail.parquet`` (541,909 lines): the workbook with
Polars (xlsxwriter), in a process of its own started once the session has collected the test
(``tests/browser/workbook.py``: writing it costs more CPU than uploading it); the CSV here, as
the UCI file circulates (ISO-8859-1, ``12/1/2010 8:26`` dates, whole customer ids), so
the month/day order has to be detected from the dates themselves.
"""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl
import pytest
from dash import Dash
from dash.testing.composite import DashComposite

from core.cleaning import REASON_LABELS
from core.generator import DEFAULT_DATA
from dashapp.app import create_app
from tests.browser.conftest import WORKBOOK, start_workbook

pytestmark = [pytest.mark.slow, pytest.mark.realdata]

LINES = 541_909
KEPT = 391_150
CUSTOMERS = 4_334
DROPPED = {
    "unparseable": 0,
    "missing_customer": 135_080,
    "non_product": 1_920,
    "duplicate": 5_220,
    "cancellation": 8_506,
    "non_positive": 33,
}
TIMEOUT = 30
LOAD_TIMEOUT = 300  # reading the upload in the browser, sending it, reading and cleaning it


@pytest.fixture(scope="session")
def real_app(tmp_path_factory: pytest.TempPathFactory) -> Dash:
    # One app per test session: Dash keeps page and callback registries per process. The
    # default upload limit (200 MB): the real file is 18 MB as .xlsx and 45 MB as .csv.
    return create_app(cache_dir=tmp_path_factory.mktemp("real-upload-cache"))


@pytest.fixture(scope="session")
def real_frame(real_data_path: Path) -> pl.DataFrame:
    frame = pl.read_parquet(real_data_path)
    assert frame.height == LINES
    return frame


@pytest.fixture(scope="session")
def real_workbook(request: pytest.FixtureRequest, real_data_path: Path) -> Path:
    """The real file as .xlsx, written by the process the session started (or started now)."""
    writing = request.config.stash.get(WORKBOOK, None)
    if writing is None:  # not started at collection (the session collected no such test)
        writing = start_workbook(request.config, real_data_path)
    return writing.result()


def uci_csv(frame: pl.DataFrame, path: Path) -> None:
    """The CSV as the UCI file circulates: ISO-8859-1, m/d/yyyy h:mm dates, integer ids."""
    text = frame.with_columns(
        pl.col("InvoiceDate").dt.strftime("%-m/%-d/%Y %-H:%M"),
        pl.col("CustomerID").cast(pl.Int64),
    ).write_csv()
    path.write_bytes(text.encode("latin-1"))  # "£" in a few descriptions: one byte each


def open_app(dash_duo: DashComposite, app: Dash) -> None:
    dash_duo.start_server(app)
    dash_duo.wait_for_text_to_equal("#dataset-name", DEFAULT_DATA.name, timeout=TIMEOUT)
    dash_duo.wait_for_contains_text("#audit-table", "Kept", timeout=TIMEOUT)


def upload_and_wait(dash_duo: DashComposite, path: Path) -> float:
    """Upload ``path`` on the Data page; seconds until its audit is on screen."""
    start = time.perf_counter()
    dash_duo.find_element("#upload input[type=file]").send_keys(str(path))
    dash_duo.wait_for_text_to_equal("#dataset-name", path.name, timeout=LOAD_TIMEOUT)
    dash_duo.wait_for_contains_text("#audit-table", f"{KEPT:,} of {LINES:,}", timeout=LOAD_TIMEOUT)
    return time.perf_counter() - start


def dropped_lines(dash_duo: DashComposite) -> dict[str, int]:
    """Lines dropped per rule, read from the audit table (rule label -> count)."""
    out: dict[str, int] = {}
    for row in dash_duo.find_elements("#audit-table tbody tr"):
        cells = [c.text for c in row.find_elements("css selector", "td")]
        if cells[0] != "Kept":
            out[cells[0].replace(" off", "").strip()] = int(cells[1].replace(",", ""))
    return out


def assert_real_figures(dash_duo: DashComposite, name: str) -> None:
    assert dropped_lines(dash_duo) == {REASON_LABELS[r]: n for r, n in DROPPED.items()}
    summary = dash_duo.find_element("#dataset-summary").text
    assert f"{LINES:,} lines" in summary
    assert f"{CUSTOMERS:,} customers after cleaning" in summary
    assert f"{name} loaded" in dash_duo.find_element("#upload-alert").text
    assert "How to fix" not in dash_duo.find_element("#mapping-alert").text
    dash_duo.wait_for_element("#audit-funnel .funnellayer", timeout=TIMEOUT)
    assert dash_duo.get_logs() == []


def test_upload_the_real_file_as_xlsx(
    real_workbook: Path, dash_duo: DashComposite, real_app: Dash
) -> None:
    path = real_workbook
    open_app(dash_duo, real_app)
    seconds = upload_and_wait(dash_duo, path)
    print(f"{path.name}: {path.stat().st_size / 1e6:.1f} MB on screen in {seconds:.1f} s")
    assert_real_figures(dash_duo, path.name)


def test_upload_the_real_file_as_uci_csv(
    real_frame: pl.DataFrame, dash_duo: DashComposite, real_app: Dash, tmp_path: Path
) -> None:
    path = tmp_path / "Online Retail.csv"
    uci_csv(real_frame, path)
    open_app(dash_duo, real_app)
    seconds = upload_and_wait(dash_duo, path)
    print(f"{path.name}: {path.stat().st_size / 1e6:.1f} MB on screen in {seconds:.1f} s")
    assert_real_figures(dash_duo, path.name)
    # 12/1/2010 reads both ways; later dates such as 12/13/2010 tell the order: month first.
    assert "%m/%d/%Y %H:%M" in dash_duo.find_element("#date-info").text
