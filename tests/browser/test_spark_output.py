"""The app opened on a directory of Parquet part files (a feature table as Spark writes it):
the Data page says where it came from and the Segments page draws its segments."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from dash import Dash
from dash.testing.composite import DashComposite

from core.cli import main
from core.clustering.config import ModelConfig, PreprocessConfig
from core.clustering.service import segment_customers
from core.feature_source import customer_table, read
from core.generator import DEFAULT_DATA
from dashapp.app import create_app
from tests.core.test_feature_source import spark_layout

TIMEOUT = 60


@pytest.fixture(scope="session")
def spark_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("spark-output")
    features = folder / "features.parquet"
    assert main(["features", str(DEFAULT_DATA), "--out", str(features)]) == 0
    return spark_layout(pl.read_parquet(features), folder / "features_by_spark", parts=4)


@pytest.fixture(scope="session")
def spark_app(spark_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Dash:
    return create_app(data_path=spark_dir, cache_dir=tmp_path_factory.mktemp("spark-app-cache"))


def test_open_spark_output_then_its_segments(
    dash_duo: DashComposite, spark_app: Dash, spark_dir: Path
) -> None:
    dash_duo.start_server(spark_app)
    dash_duo.wait_for_text_to_equal(
        "#data-provenance", f"Spark output: 4 part files at {spark_dir}", timeout=TIMEOUT
    )
    dash_duo.wait_for_contains_text(
        "#preview-caption", "customers, one row each, by customer id", timeout=TIMEOUT
    )
    page = dash_duo.find_element("#main-content").text
    assert "A customer feature table: one row per customer" in page
    # Nothing of the transaction mapping: no "* = required" help, no "Not mapped" caption.
    assert "required" not in page
    assert "Not mapped" not in page
    assert dash_duo.find_element("#mapping-title").text == "Dataset"
    dash_duo.find_element("#navbar a[href='/segments']").click()
    dash_duo.wait_for_element(".segment-name-input", timeout=TIMEOUT)
    # The default fit (K-means, k = 4) of the directory's features, named by core.
    expected = segment_customers(
        read(spark_dir).features,
        preprocess=PreprocessConfig(),
        model=ModelConfig(),
        data_key="spark-output",
    ).names
    cards = [e.get_attribute("value") for e in dash_duo.find_elements(".segment-name-input")]
    assert cards == list(expected)
    sizes = dash_duo.driver.execute_script(
        "const el = document.querySelector('#segments-sizes .js-plotly-plot');"
        "return el && el.data ? el.data[0].y : [];"
    )
    assert list(sizes) == list(expected)
    # The other pages that work from customer features show their headline on it.
    table = customer_table(read(spark_dir), key="k")
    included = f"{table.n_customers - table.n_excluded:,}"
    for path, selector, text in (
        ("/explore", "#explore-note", f"{included} customers described"),
        ("/rfm", "#rfm-note", f"{included} customers scored"),
        ("/model", "#model-headline", "4 segments"),
        ("/export", "#export-row-count", f"{included} customers in 4 segments"),
    ):
        dash_duo.driver.get(dash_duo.server_url + path)
        dash_duo.wait_for_contains_text(selector, text, timeout=TIMEOUT)
        assert dash_duo.find_elements("#main-content .alert-danger") == [], path
    assert dash_duo.get_logs() == []
