"""The Value page in headless Chromium on the default data, as a user does it: open it and
see the predictions drawn, type an earlier calibration end and see the holdout check follow,
download the valuable-but-slipping list and find the customers the page lists; axe finds no
WCAG 2.1 A/AA violation with every chart drawn."""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl
import pytest
from dash import Dash
from dash.testing.composite import DashComposite
from selenium.webdriver.common.keys import Keys

from core import clv
from dashapp.app import create_app
from dashapp.pages.value import ids
from dashapp.shared.components import dom_id
from tests.browser.test_accessibility import settle, violations

TIMEOUT = 60
END = "2011-10-01"


@pytest.fixture(scope="session")
def value_app(tmp_path_factory: pytest.TempPathFactory) -> Dash:
    return create_app(cache_dir=tmp_path_factory.mktemp("value-browser-cache"))


def wait_until(condition: object, *, timeout: float = TIMEOUT, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def traces(dash_duo: DashComposite, graph: str) -> list[dict[str, object]]:
    return dash_duo.driver.execute_script(  # type: ignore[no-any-return]
        f"const el = document.querySelector('#{graph} .js-plotly-plot');"
        "return el && el.data ? el.data.map(t => ({name: t.name, y: t.y})) : [];"
    )


def text_of(dash_duo: DashComposite, element_id: str) -> str:
    found = dash_duo.driver.find_elements("id", element_id)
    return found[0].text if found else ""


def test_value_page_holdout_and_slipping_list(
    dash_duo: DashComposite, value_app: Dash, tmp_path: Path
) -> None:
    dash_duo.start_server(value_app)
    dash_duo.driver.get(dash_duo.server_url + "/value")
    wait_until(lambda: traces(dash_duo, ids.VALUE_P_ALIVE), what="the p_alive chart")
    assert "no lines after the calibration end" in text_of(dash_duo, f"{ids.VALUE_HOLDOUT}-summary")
    assert "predicted revenue" in text_of(dash_duo, ids.VALUE_NOTE)

    end_box = dash_duo.driver.find_element(
        "css selector", f"[id='{dom_id(ids.value_setting('calibration_end'))}']"
    )
    end_box.send_keys(END, Keys.ENTER)
    wait_until(
        lambda: [t["name"] for t in traces(dash_duo, ids.VALUE_HOLDOUT)] == ["actual", "predicted"],
        what="the holdout tracking plot",
    )
    summary = text_of(dash_duo, f"{ids.VALUE_HOLDOUT}-summary")
    assert "Holdout check, 2011-10-02 to" in summary
    assert f"up to {END}" in text_of(dash_duo, ids.VALUE_NOTE)
    weekly_actual = traces(dash_duo, ids.VALUE_HOLDOUT)[0]["y"]
    assert sum(weekly_actual) > 0  # type: ignore[arg-type]
    settle(dash_duo)
    assert violations(dash_duo) == []  # WCAG 2.1 A/AA (axe) with every chart drawn

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    dash_duo.driver.execute_cdp_cmd(
        "Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    listed = text_of(dash_duo, ids.VALUE_SLIPPING)
    dash_duo.find_element(f"#{ids.VALUE_SLIPPING_BUTTON}").click()
    wait_until(lambda: [p for p in downloads.glob("*.csv") if p.stat().st_size > 0], what="the CSV")
    (path,) = downloads.glob("*.csv")
    assert END in path.name
    frame = pl.read_csv(path, schema_overrides={"customer_id": pl.String})
    assert frame.height > 0
    assert f"{frame.height:,} customers in the top" in listed
    assert (frame["p_alive"] < clv.LIKELY_LOST).all()
    assert frame["customer_id"][0] in listed  # the first row shown is the first downloaded
    assert dash_duo.get_logs() == []
