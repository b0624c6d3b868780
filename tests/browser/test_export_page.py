"""The Export page at the browser tests' window size (1400 x 1000): the list preview is not cut
off on the right, and the HTML report button looks as enabled as the other downloads."""

from __future__ import annotations

import pytest
from dash import Dash
from dash.testing.composite import DashComposite
from selenium.webdriver.support.ui import WebDriverWait

from dashapp.app import create_app
from dashapp.pages.export import ids

TIMEOUT = 60
MEASURE = f"""
const box = document.querySelector('#{ids.EXPORT_PREVIEW} table').parentElement;
const look = id => {{
  const style = getComputedStyle(document.getElementById(id));
  return [style.color, style.borderColor];
}};
return {{
  shown: box.clientWidth, needed: box.scrollWidth,
  columns: box.querySelectorAll('th').length,
  report: look('{ids.EXPORT_REPORT_BUTTON}'), bundle: look('{ids.EXPORT_BUNDLE_BUTTON}'),
}};
"""


@pytest.fixture(scope="session")
def export_app(tmp_path_factory: pytest.TempPathFactory) -> Dash:
    return create_app(cache_dir=tmp_path_factory.mktemp("export-page-cache"))


def test_export_preview_fits_and_every_download_looks_enabled(
    dash_duo: DashComposite, export_app: Dash
) -> None:
    dash_duo.start_server(export_app)
    dash_duo.driver.get(dash_duo.server_url + "/export")
    WebDriverWait(dash_duo.driver, TIMEOUT).until(
        lambda d: d.execute_script(
            f"return document.querySelectorAll('#{ids.EXPORT_PREVIEW} tbody tr').length"
        )
        > 0
    )
    seen = dash_duo.driver.execute_script(MEASURE)
    assert seen["columns"] == 16
    assert seen["needed"] <= seen["shown"], seen  # every column in view, none cut off
    assert seen["report"] == seen["bundle"], seen  # not the grey of a disabled button
    assert dash_duo.get_logs() == []
