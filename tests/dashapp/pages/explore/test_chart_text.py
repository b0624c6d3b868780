"""Explore charts' one-sentence summaries: each says what its chart draws, from the same data
(the default data's view, and hand-made frames where a case needs one)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from dash import Dash

from core.wording import count
from dashapp.pages.explore import callbacks
from dashapp.pages.explore import figures as fe
from dashapp.pages.explore import view as es
from dashapp.services import get_services
from dashapp.shared.loading import session_table
from dashapp.state import new_state


@pytest.fixture(scope="module")
def default_view(app: Dash) -> es.ExploreData:
    server = app.server
    services = get_services(server)  # type: ignore[arg-type]
    with server.app_context():
        table = session_table(new_state(services), services)
    return es.explore_data(table)


def test_every_chart_gets_its_summary(default_view: es.ExploreData) -> None:
    out = callbacks.render_view(default_view)
    for name in callbacks.FIGURE_OUTPUTS:
        summary = out[name.replace("_figure", "_summary")]
        assert summary.endswith(".")
        assert len(summary.split(". ")) == 1  # one sentence


def test_distributions_summary_names_log_axes_and_the_most_skewed(
    default_view: es.ExploreData,
) -> None:
    text = fe.distributions_summary(default_view.histograms)
    assert text.startswith(f"Distributions of {len(default_view.histograms)} features")
    logs = sum(1 for h in default_view.histograms if h.log and not h.constant)
    assert f", {logs} of them on a log axis" in text
    skewed = max(
        (h for h in default_view.histograms if h.skewness is not None),
        key=lambda h: abs(h.skewness or 0.0),
    )
    assert f"most skewed is {es.feature_label(skewed.feature)}" in text


def test_correlations_summary_names_the_strongest_pair(default_view: es.ExploreData) -> None:
    features, rho = default_view.features, default_view.correlation
    pairs = {
        (i, j): abs(rho[i][j] or 0.0)
        for i in range(len(features))
        for j in range(i + 1, len(features))
    }
    i, j = max(pairs, key=pairs.__getitem__)
    text = fe.correlations_summary(features, rho)
    assert f"{es.feature_label(features[i])} and {es.feature_label(features[j])}" in text
    assert f"ρ = {rho[i][j]:.2f}" in text


def test_rf_grid_summary_names_the_fullest_cell() -> None:
    grid = pl.DataFrame(
        {
            "r_score": [1, 1, 2, 5],
            "f_score": [1, 2, 1, 5],
            "customers": [40, 7, 300, 0],
            "mean_monetary": [10.0, 20.0, 99.5, None],
        }
    )
    text = fe.rf_grid_summary(grid)
    assert text.startswith(f"Recency x frequency scores of {count(347, 'customer')}")
    assert "R 2 and F 1, holds 300 customers (mean monetary 99.50)" in text


def test_activity_summary_names_the_best_month() -> None:
    monthly = pl.DataFrame(
        {
            "month": [dt.date(2011, 1, 1), dt.date(2011, 2, 1), dt.date(2011, 3, 1)],
            "revenue": [100.0, 2500.0, 900.0],
            "orders": [3, 41, 12],
            "customers": [2, 20, 9],
        }
    )
    text = fe.activity_summary(monthly)
    assert "from Jan 2011 to Mar 2011" in text
    assert "2,500.00, came in Feb 2011 (41 orders)" in text
    assert fe.activity_summary(None).endswith("no dated purchase line.")


def test_countries_summary_names_the_first_country(default_view: es.ExploreData) -> None:
    table = default_view.countries
    assert table is not None
    fig = fe.countries(table)
    text = fe.countries_summary(table)
    top = max(range(table.height), key=lambda i: fig.data[0].x[i])
    assert f"the first, {fig.data[0].y[top]}, has {count(fig.data[0].x[top], 'customer')}" in text
    assert f"{table['revenue_share'][top]:.1%} of the revenue" in text
