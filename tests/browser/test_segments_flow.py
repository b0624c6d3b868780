"""Model -> Segments -> Export in headless Chromium on the default data, as a user does it:
change k and see every chart follow, click a segment and see the grid filter, export and
compare the downloaded file with the segment's members; a background fit opened from a link."""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl
import pytest
from dash import Dash
from dash.testing.composite import DashComposite
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from core.columns import CUSTOMER
from core.generator import DEFAULT_DATA, write_transactions
from dashapp.app import create_app
from dashapp.shared.modeling import BACKGROUND_CONFIG_KEY
from tests.browser.conftest import segment_labels

TIMEOUT = 30


@pytest.fixture(scope="session")
def segments_app(tmp_path_factory: pytest.TempPathFactory) -> Dash:
    # One app per test session: Dash keeps page and callback registries per process.
    return create_app(cache_dir=tmp_path_factory.mktemp("segments-browser-cache"))


@pytest.fixture(scope="session")
def labels(segments_app: Dash) -> dict[str, int]:
    """Customer -> segment of the default settings (K-means, k = 4), computed here."""
    return segment_labels(segments_app, 4)


@pytest.fixture
def download_dir(tmp_path: Path) -> Path:
    """An empty folder for the browser's downloads (set per test through DevTools)."""
    folder = tmp_path / "downloads"
    folder.mkdir()
    return folder


def texts_of(dash_duo: DashComposite, selector: str) -> list[str]:
    return [e.text for e in dash_duo.find_elements(selector)]


def figure_data(dash_duo: DashComposite, graph: str) -> list[dict[str, object]]:
    """The traces a ``dcc.Graph`` has drawn (read from the Plotly element in the page)."""
    return dash_duo.driver.execute_script(  # type: ignore[no-any-return]
        f"const el = document.querySelector('#{graph} .js-plotly-plot');"
        "return el && el.data ? el.data.map(t => ({name: t.name, y: t.y, "
        "color: t.marker && t.marker.color})) : [];"
    )


def bar_names(dash_duo: DashComposite) -> list[str]:
    """Segment names of the sizes chart's bars, in segment order."""
    data = figure_data(dash_duo, "segments-sizes")
    return list(data[0]["y"]) if data else []  # type: ignore[call-overload]


def card_names(dash_duo: DashComposite) -> list[str]:
    return [e.get_attribute("value") for e in dash_duo.find_elements(".segment-name-input")]


def legend_names(dash_duo: DashComposite) -> list[str]:
    return [str(t["name"]) for t in figure_data(dash_duo, "segments-scatter")]


def wait_until(condition: object, *, timeout: float = TIMEOUT, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_change_k_on_the_model_page_and_every_chart_follows(
    dash_duo: DashComposite, segments_app: Dash
) -> None:
    dash_duo.start_server(segments_app)
    dash_duo.wait_for_text_to_equal("#dataset-name", DEFAULT_DATA.name, timeout=TIMEOUT)
    dash_duo.find_element("#navbar a[href='/model']").click()
    dash_duo.wait_for_contains_text("#model-headline", "4 segments", timeout=TIMEOUT)
    k_box = dash_duo.find_element(".model-k")
    k_box.send_keys(Keys.CONTROL, "a")
    k_box.send_keys("5", Keys.ENTER)
    dash_duo.wait_for_contains_text("#model-headline", "5 segments", timeout=TIMEOUT)
    dash_duo.wait_for_contains_text("#model-k-text", "in use: k = 5", timeout=TIMEOUT)
    assert "k=5" in dash_duo.driver.current_url

    dash_duo.find_element("#model-to-segments").click()
    wait_until(lambda: len(bar_names(dash_duo)) == 5, what="five bars")
    wait_until(lambda: len(card_names(dash_duo)) == 5, what="five cards")
    wait_until(lambda: len(legend_names(dash_duo)) == 5, what="five legend entries")
    # One segment, one name and one colour in every chart.
    assert bar_names(dash_duo) == card_names(dash_duo) == legend_names(dash_duo)
    assert list(figure_data(dash_duo, "segments-heatmap")[0]["y"]) == card_names(dash_duo)
    bar_colors = figure_data(dash_duo, "segments-sizes")[0]["color"]
    assert bar_colors == [t["color"] for t in figure_data(dash_duo, "segments-scatter")]
    assert len(set(bar_colors)) == 5
    assert "k=5" in dash_duo.driver.current_url
    assert dash_duo.get_logs() == []


def test_the_projection_draws_every_customer_without_webgl(
    dash_duo: DashComposite, segments_app: Dash, labels: dict[str, int]
) -> None:
    # A WebGL chart showed "WebGL is not supported" here (headless Chromium, as on machines
    # without a usable GPU): the points are SVG, one per customer of the default data.
    dash_duo.start_server(segments_app)
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/segments", timeout=TIMEOUT)
    points = "#segments-scatter .scatterlayer .point"
    wait_until(
        lambda: len(dash_duo.find_elements(points)) == len(labels),
        what=f"{len(labels):,} points in the projection",
    )
    assert not dash_duo.find_elements("#segments-scatter .no-webgl")
    assert "WebGL" not in dash_duo.find_element("#segments-scatter").text


def test_click_a_segment_filters_the_grid_and_its_export_equals_its_members(
    dash_duo: DashComposite, segments_app: Dash, labels: dict[str, int], download_dir: Path
) -> None:
    dash_duo.start_server(segments_app)
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/segments", timeout=TIMEOUT)
    wait_until(lambda: len(bar_names(dash_duo)) == 4, what="four bars")
    names = bar_names(dash_duo)
    bars = dash_duo.find_elements("#segments-sizes .trace.bars .point path")
    # Plotly's drag layer lies over the bars: click at the bar's position, as a mouse does.
    ActionChains(dash_duo.driver).move_to_element(bars[2]).click().perform()
    dash_duo.wait_for_contains_text("#segments-selection", names[2], timeout=TIMEOUT)
    expected = {c for c, s in labels.items() if s == 2}
    assert f"{len(expected):,} customers in" in dash_duo.find_element("#segments-selection").text
    wait_until(
        lambda: set(texts_of(dash_duo, "#segments-grid .ag-cell[col-id='segment']")) == {"2"},
        what="the grid to list segment 2 only",
    )
    shown = texts_of(dash_duo, "#segments-grid .ag-cell[col-id='customer_id']")
    assert shown
    assert set(shown) <= expected
    assert "segment=2" in dash_duo.driver.current_url

    # A customer's orders, then the export of the selected segment.
    dash_duo.find_elements("#segments-grid .ag-cell[col-id='customer_id']")[0].click()
    dash_duo.wait_for_contains_text("#orders-customer", shown[0], timeout=TIMEOUT)
    dash_duo.find_element("#navbar a[href='/export']").click()
    dash_duo.wait_for_contains_text("#export-row-count", f"{len(expected):,}", timeout=TIMEOUT)
    checked = dash_duo.driver.find_elements(By.CSS_SELECTOR, "#export-segments input:checked")
    assert len(checked) == 1
    # Headless Chromium saves downloads only where DevTools allows it.
    dash_duo.driver.execute_cdp_cmd(
        "Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(download_dir)}
    )
    dash_duo.find_element("#export-list-button").click()
    wait_until(
        lambda: [p for p in download_dir.glob("*.csv") if p.stat().st_size > 0],
        what="the downloaded CSV",
    )
    (path,) = download_dir.glob("*.csv")
    exported = pl.read_csv(path, schema_overrides={CUSTOMER: pl.String})
    assert exported.height == len(expected)
    assert set(exported[CUSTOMER]) == expected
    assert set(exported["segment"]) == {2}
    assert set(exported["segment_name"]) == {names[2]}


def text_of(dash_duo: DashComposite, selector: str) -> str:
    """The element's text, or "" while it is missing or being re-rendered."""
    try:
        return str(dash_duo.driver.find_element(By.CSS_SELECTOR, selector).text)
    except (NoSuchElementException, StaleElementReferenceException):
        return ""


def settled(dash_duo: DashComposite) -> bool:
    """No callback is waiting for its answer (every click so far has been handled)."""
    return dash_duo.redux_state_rqs == []


def test_a_double_click_on_show_these_customers_keeps_the_segment(
    dash_duo: DashComposite, segments_app: Dash
) -> None:
    dash_duo.start_server(segments_app)
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/segments", timeout=TIMEOUT)
    wait_until(lambda: len(card_names(dash_duo)) == 4, what="four cards")
    name = card_names(dash_duo)[1]
    ActionChains(dash_duo.driver).double_click(dash_duo.find_elements(".segment-pick")[1]).perform()
    dash_duo.wait_for_contains_text("#segments-selection", name, timeout=TIMEOUT)
    wait_until(lambda: settled(dash_duo), what="the clicks to be handled")
    # Once more on the re-rendered button ("Selected: ..."): it stays selected.
    dash_duo.find_elements(".segment-pick")[1].click()
    wait_until(lambda: settled(dash_duo), what="the click to be handled")
    assert name in dash_duo.find_element("#segments-selection").text
    assert "Selected" in dash_duo.find_elements(".segment-pick")[1].text
    assert "segment=1" in dash_duo.driver.current_url
    # "Show all segments" is the way back.
    dash_duo.find_element("#segments-clear").click()
    dash_duo.wait_for_contains_text("#segments-selection", "in all segments", timeout=TIMEOUT)
    assert dash_duo.get_logs() == []


def test_a_new_dataset_clears_the_selection(
    dash_duo: DashComposite, segments_app: Dash, tmp_path: Path
) -> None:
    other = tmp_path / "other.parquet"
    write_transactions(other, seed=3, customers=150)
    dash_duo.start_server(segments_app)
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/segments", timeout=TIMEOUT)
    # The first fit of the session's app can take a while on a busy machine.
    wait_until(lambda: len(card_names(dash_duo)) == 4, timeout=120, what="four cards")
    name = card_names(dash_duo)[2]
    dash_duo.find_elements(".segment-pick")[2].click()
    dash_duo.wait_for_contains_text("#segments-selection", name, timeout=TIMEOUT)
    wait_until(
        lambda: set(texts_of(dash_duo, "#segments-grid .ag-cell[col-id='segment']")) == {"2"},
        what="the grid to list segment 2 only",
    )
    wait_until(lambda: settled(dash_duo), what="the grid to settle")
    dash_duo.find_elements("#segments-grid .ag-cell[col-id='customer_id']")[0].click()
    dash_duo.wait_for_element("#orders-customer", timeout=TIMEOUT)

    dash_duo.find_element("#navbar a[href='/']").click()
    wait_until(lambda: text_of(dash_duo, "#dataset-name") == DEFAULT_DATA.name, what="Data page")
    dash_duo.find_element("#upload input[type=file]").send_keys(str(other))
    wait_until(lambda: text_of(dash_duo, "#dataset-name") == "other.parquet", what="the upload")
    dash_duo.find_element("#navbar a[href='/segments']").click()
    wait_until(lambda: len(card_names(dash_duo)) == 4, timeout=120, what="the new data's cards")
    dash_duo.wait_for_contains_text("#segments-selection", "in all segments", timeout=TIMEOUT)
    wait_until(lambda: settled(dash_duo), what="the page to settle")
    assert "in all segments" in dash_duo.find_element("#segments-selection").text
    assert not [t for t in texts_of(dash_duo, ".segment-pick") if "Selected" in t]
    assert "segment=" not in dash_duo.driver.current_url
    assert not dash_duo.find_elements("#orders-customer")
    assert dash_duo.find_element("#segments-search").get_attribute("value") == ""
    assert dash_duo.get_logs() == []


def test_a_link_made_on_other_data_says_so_and_names_a_bad_feature(
    dash_duo: DashComposite, segments_app: Dash
) -> None:
    dash_duo.start_server(segments_app)
    query = "k=3&features=recency_days,frequency,frequncy&segment=1&data=0123456789ab&file=q3.csv"
    dash_duo.wait_for_page(url=f"{dash_duo.server_url}/segments?{query}", timeout=TIMEOUT)
    wait_until(lambda: len(card_names(dash_duo)) == 3, timeout=120, what="three cards")
    wait_until(lambda: settled(dash_duo), what="the page to settle")
    notice = text_of(dash_duo, "#segments-url-query-notice")
    assert "This link was made on the file ‘q3.csv’ (dataset 0123456789ab)" in notice
    assert "not loaded in this session" in notice
    assert "'frequncy'" in notice
    assert "in all segments" in dash_duo.find_element("#segments-selection").text
    assert "data=default" in dash_duo.driver.current_url  # the URL now names the data shown
    assert dash_duo.get_logs() == []


def test_a_link_reopens_a_view_fitted_in_the_background(
    dash_duo: DashComposite, segments_app: Dash
) -> None:
    segments_app.server.config[BACKGROUND_CONFIG_KEY] = 0  # every uncached fit is a job
    try:
        dash_duo.start_server(segments_app)
        query = "algorithm=gmm&k=3&features=recency_days,frequency,monetary&seed=5"
        dash_duo.wait_for_page(url=f"{dash_duo.server_url}/model?{query}", timeout=TIMEOUT)
        dash_duo.wait_for_contains_text("#model-headline", "3 segments", timeout=60)
        assert "Gaussian mixture" in dash_duo.find_element("#model-summary").text
        assert "BIC" in dash_duo.find_element("#model-k-figure").text
        assert dash_duo.find_element("#model-progress-wrap").value_of_css_property("display") == (
            "none"
        )
        url = dash_duo.driver.current_url
        for part in ("algorithm=gmm", "k=3", "seed=5"):
            assert part in url
        dash_duo.wait_for_page(url=f"{dash_duo.server_url}/segments?{query}&segment=1")
        wait_until(lambda: len(bar_names(dash_duo)) == 3, what="three bars")
        dash_duo.wait_for_contains_text("#segments-selection", bar_names(dash_duo)[1])
        assert "Selected" in dash_duo.find_elements(".segment-pick")[1].text
    finally:
        del segments_app.server.config[BACKGROUND_CONFIG_KEY]
