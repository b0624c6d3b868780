"""A saved segmentation used elsewhere, in headless Chromium: saved in one browser session,
then in another session the Changes page shows the changes by it (its names in the Sankey,
its name in the address), and the Library page scores an uploaded file with it (sizes shown,
the scored customers downloaded)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

import polars as pl
import pytest
from dash import Dash
from dash.testing.composite import DashComposite
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.select import Select

from core.columns import CUSTOMER
from core.generator import DEFAULT_DATA, write_transactions
from dashapp.app import create_app
from tests.browser.test_library import token
from tests.browser.test_segments_flow import TIMEOUT, bar_names, card_names, wait_until


@pytest.fixture(scope="session")
def saved_app(tmp_path_factory: pytest.TempPathFactory) -> Dash:
    return create_app(cache_dir=tmp_path_factory.mktemp("saved-elsewhere-cache"))


def save_in_a_session(dash_duo: DashComposite, name: str, first_name: str) -> str:
    """Save the Segments page's segmentation (its first segment renamed) as ``name``, then
    start another session (empty session storage, as a colleague's tab); the first token."""
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/segments", timeout=TIMEOUT)
    wait_until(lambda: len(card_names(dash_duo)) == 4, what="four cards")
    box = dash_duo.find_element(".segment-name-input")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(first_name, Keys.ENTER)
    wait_until(lambda: bar_names(dash_duo)[:1] == [first_name], what="the new name")
    dash_duo.find_element("#segments-save-name").send_keys(name)
    dash_duo.find_element("#segments-save-button").click()
    dash_duo.wait_for_contains_text("#segments-save-alert", "Saved as", timeout=TIMEOUT)
    first = token(dash_duo)
    dash_duo.driver.execute_script("window.sessionStorage.clear()")
    return first


def sankey_labels(dash_duo: DashComposite) -> list[str]:
    return dash_duo.driver.execute_script(  # type: ignore[no-any-return]
        "const el = document.querySelector('#changes-sankey .js-plotly-plot');"
        "return el && el.data && el.data.length && el.data[0].node"
        " ? Array.from(el.data[0].node.label) : [];"
    )


def test_changes_by_a_segmentation_saved_in_another_session(
    dash_duo: DashComposite, saved_app: Dash
) -> None:
    dash_duo.start_server(saved_app)
    first = save_in_a_session(dash_duo, "Saved for changes", "Saved best")
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/changes", timeout=TIMEOUT)
    wait_until(lambda: token(dash_duo) not in ("", first), what="a new session")
    wait_until(lambda: sankey_labels(dash_duo), what="the RFM Sankey")
    assert not any("Saved best" in label for label in sankey_labels(dash_duo))
    dash_duo.find_element("#changes-by input[value='saved']").click()
    choice = dash_duo.find_element("#changes-saved")
    wait_until(choice.is_enabled, what="the saved choice enabled")
    wait_until(
        lambda: "Saved for changes" in [o.text for o in Select(choice).options],
        what="the saved segmentation offered",
    )
    Select(choice).select_by_visible_text("Saved for changes")
    dash_duo.wait_for_contains_text(
        "#changes-method", "The saved segmentation 'Saved for changes'", timeout=TIMEOUT
    )
    wait_until(
        lambda: any("Saved best" in label for label in sankey_labels(dash_duo)),
        what="the saved names in the Sankey",
    )
    query = parse_qs(urlparse(dash_duo.driver.current_url).query)
    assert query["by"] == ["saved"]
    assert query["saved"] == ["Saved for changes"]
    assert dash_duo.get_logs() == []


def test_score_a_file_with_a_segmentation_saved_in_another_session(
    dash_duo: DashComposite, saved_app: Dash, tmp_path: Path
) -> None:
    dash_duo.start_server(saved_app)
    save_in_a_session(dash_duo, "Saved for scoring", "Scored best")
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/library", timeout=TIMEOUT)
    choice = dash_duo.find_element("#library-score-saved")
    wait_until(
        lambda: "Saved for scoring" in [o.text for o in Select(choice).options],
        what="the saved segmentation offered",
    )
    Select(choice).select_by_visible_text("Saved for scoring")
    new_month = tmp_path / "new month.csv"
    write_transactions(new_month, seed=31, customers=60)
    dash_duo.find_element("#library-score-upload input[type=file]").send_keys(str(new_month))
    dash_duo.wait_for_contains_text("#library-score-alert", "ready to score", timeout=TIMEOUT)
    dash_duo.find_element("#library-score-button").click()
    dash_duo.wait_for_contains_text(
        "#library-score-result", "saved as 'Saved for scoring'", timeout=TIMEOUT
    )
    assert "Scored best" in dash_duo.find_element("#library-score-result").text

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    dash_duo.driver.execute_cdp_cmd(
        "Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    dash_duo.find_element("#library-score-export").click()
    wait_until(
        lambda: [p for p in downloads.glob("*.csv") if p.stat().st_size > 0],
        what="the downloaded CSV",
    )
    (path,) = downloads.glob("*.csv")
    scored = pl.read_csv(path, schema_overrides={CUSTOMER: pl.String})
    shown = dash_duo.find_element("#library-score-result").text
    for name, count in scored.drop_nulls("segment_name").group_by("segment_name").len().rows():
        assert f"{name} {count:,}" in shown
    # The session's own data is still the default data: the upload was only scored.
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/", timeout=TIMEOUT)
    dash_duo.wait_for_contains_text("#data-header", DEFAULT_DATA.name, timeout=TIMEOUT)
    assert "new month" not in dash_duo.find_element("#data-header").text
    assert dash_duo.get_logs() == []


@pytest.fixture(scope="session")
def small_limit_app(tmp_path_factory: pytest.TempPathFactory) -> Dash:
    return create_app(cache_dir=tmp_path_factory.mktemp("score-limit-cache"), max_upload_mb=1)


def test_a_file_over_the_limit_to_score_is_a_message(
    dash_duo: DashComposite, small_limit_app: Dash, tmp_path: Path
) -> None:
    dash_duo.start_server(small_limit_app)
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/library", timeout=TIMEOUT)
    big = tmp_path / "big.csv"
    write_transactions(big, seed=21, customers=300)
    # Far enough over that the request itself is refused (base64 + the server's slack).
    assert big.stat().st_size > 2 * 1024**2
    dash_duo.find_element("#library-score-upload input[type=file]").send_keys(str(big))
    dash_duo.wait_for_contains_text("#library-score-alert", "File too large", timeout=TIMEOUT)
    assert "accepts files up to 1 MB" in dash_duo.find_element("#library-score-alert").text
    assert dash_duo.get_logs() == []
