"""The Changes page in headless Chromium on the default data, as a user does it: open it, move
the cutoff, click a flow of the Sankey diagram, export its customers, and the downloaded rows
are exactly that flow's members."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import polars as pl
import pytest
from dash import Dash
from dash.testing.composite import DashComposite
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.actions.action_builder import ActionBuilder
from selenium.webdriver.common.by import By

from core.columns import CUSTOMER
from core.migration import Migration
from dashapp.app import create_app
from dashapp.pages.changes import view as cv
from dashapp.services import get_services
from dashapp.shared.loading import session_table
from dashapp.state import new_state

TIMEOUT = 30


@pytest.fixture(scope="session")
def changes_app(tmp_path_factory: pytest.TempPathFactory) -> Dash:
    # One app per test session: Dash keeps page and callback registries per process.
    return create_app(cache_dir=tmp_path_factory.mktemp("changes-browser-cache"))


def migration_at(app: Dash, days: int) -> tuple[dt.date, Migration]:
    """The cutoff ``days`` before the default data's analysis date, and its RFM migration."""
    server = app.server
    with server.app_context():  # type: ignore[attr-defined]
        services = get_services(server)  # type: ignore[arg-type]
        state = new_state(services)
        analysis = session_table(state, services).analysis_date
        assert analysis is not None
        cutoff = analysis - dt.timedelta(days=days)
        return cutoff, cv.session_migration(state, services, cutoff, "rfm")


def wait_until(condition: object, *, timeout: float = TIMEOUT, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def cutoff_shown(dash_duo: DashComposite) -> str:
    """The cutoff input's value, or "" while it is not drawn yet."""
    found = dash_duo.driver.find_elements(By.CSS_SELECTOR, "input#changes-cutoff")
    try:
        return str(found[0].get_attribute("value")) if found else ""
    except StaleElementReferenceException:
        return ""


# The middle of a link's band, in viewport coordinates: a band's outline runs along its top
# edge, then back along its bottom edge, so the points at a quarter and three quarters of the
# outline face each other across the band.
BAND_MIDDLE = """
const [from, to] = [arguments[0], arguments[1]];
const path = Array.from(document.querySelectorAll('#changes-sankey .sankey-link')).find(
    p => p.__data__ && p.__data__.link.customdata[0] === from
        && p.__data__.link.customdata[1] === to);
path.scrollIntoView({block: 'center'});
const length = path.getTotalLength();
const a = path.getPointAtLength(length / 4), b = path.getPointAtLength(3 * length / 4);
const x = (a.x + b.x) / 2, y = (a.y + b.y) / 2, m = path.getScreenCTM();
return [m.a * x + m.c * y + m.e, m.b * x + m.d * y + m.f];
"""


def click_link(dash_duo: DashComposite, source: str, target: str) -> None:
    """Click the Sankey link of the flow ``source`` -> ``target``, as a mouse does."""
    x, y = dash_duo.driver.execute_script(BAND_MIDDLE, source, target)
    action = ActionBuilder(dash_duo.driver)
    action.pointer_action.move_to_location(int(x), int(y))
    action.pointer_action.click()
    action.perform()


def test_move_the_cutoff_click_a_flow_and_export_exactly_its_members(
    dash_duo: DashComposite, changes_app: Dash, tmp_path: Path
) -> None:
    first, _ = migration_at(changes_app, 90)
    cutoff, migration = migration_at(changes_app, 180)
    dash_duo.start_server(changes_app)
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/changes", timeout=TIMEOUT)
    wait_until(lambda: cutoff_shown(dash_duo) == first.isoformat(), what="the default cutoff")
    dash_duo.wait_for_element("#changes-sankey .sankey-link", timeout=TIMEOUT)

    # Move the cutoff with a quick choice: the charts follow.
    button = dash_duo.driver.find_element(By.XPATH, "//button[normalize-space()='180 days']")
    button.click()
    wait_until(lambda: cutoff_shown(dash_duo) == cutoff.isoformat(), what="the new cutoff")
    dash_duo.wait_for_contains_text(
        "#changes-sankey-summary", f"before {cutoff.isoformat()}", timeout=TIMEOUT
    )

    # Click the widest flow's band in the Sankey diagram, in the middle of the band.
    widest = migration.flows.sort("customers", descending=True, maintain_order=True).row(
        0, named=True
    )
    wait_until(
        lambda: (
            len(dash_duo.find_elements("#changes-sankey .sankey-link")) == migration.flows.height
        ),
        what="the Sankey diagram at the new cutoff",
    )
    click_link(dash_duo, widest["from_segment"], widest["to_segment"])
    move = f"{widest['from_segment']} → {widest['to_segment']}"
    dash_duo.wait_for_contains_text("#changes-caption", move, timeout=TIMEOUT)
    members = set(migration.members(widest["from_segment"], widest["to_segment"])[CUSTOMER])
    assert f"{len(members):,} customer" in dash_duo.find_element("#changes-caption").text
    dash_duo.wait_for_element("#changes-grid .ag-row", timeout=TIMEOUT)
    query = parse_qs(urlparse(dash_duo.driver.current_url).query)
    assert query["cutoff"] == [cutoff.isoformat()]
    assert query["from"] == [widest["from_segment"]]
    assert query["to"] == [widest["to_segment"]]

    # Export: the downloaded rows are exactly the flow's members.
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    dash_duo.driver.execute_cdp_cmd(
        "Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    dash_duo.find_element("#changes-export").click()
    wait_until(
        lambda: [p for p in downloads.glob("*.csv") if p.stat().st_size > 0],
        what="the downloaded CSV",
    )
    (path,) = downloads.glob("*.csv")
    exported = pl.read_csv(path, schema_overrides={CUSTOMER: pl.String})
    assert exported.height == len(members)
    assert set(exported[CUSTOMER]) == members
    assert set(exported["segment_before"]) == {widest["from_segment"]}
    assert set(exported["segment_after"]) == {widest["to_segment"]}
    assert dash_duo.get_logs() == []
