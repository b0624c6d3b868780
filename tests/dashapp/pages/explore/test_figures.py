"""Explore figures: structure of each chart built from the default data's view."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from dash import Dash

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


def test_distributions_use_log_axes_exactly_where_skewed(default_view: es.ExploreData) -> None:
    fig = fe.distributions(default_view.histograms)
    assert len(fig.data) == len(default_view.histograms)
    assert all(trace.type == "scatter" and trace.fill == "tozeroy" for trace in fig.data)
    layout = fig.to_plotly_json()["layout"]
    for i, hist in enumerate(default_view.histograms):
        axis = layout[f"xaxis{'' if i == 0 else i + 1}"]
        assert axis["type"] == ("log" if hist.log else "linear"), hist.feature
    logged = {h.feature for h in default_view.histograms if h.log}
    assert "monetary" in logged  # spend is always heavily skewed
    assert "tenure_days" not in logged


def test_constant_features_are_named_not_drawn() -> None:
    # A file without returns: returns value and return rate are 0 for every customer. They were
    # drawn as a one-bin block and left blank rows in the correlations.
    rng = np.random.default_rng(0)
    n = 60
    frame = pl.DataFrame(
        {
            "recency_days": rng.integers(1, 300, n),
            "frequency": rng.integers(1, 9, n),
            "returns_value": [0.0] * n,
            "return_rate": [0.0] * n,
        }
    )
    columns = tuple(frame.columns)
    hists = [es.histogram(c, frame.get_column(c)) for c in columns]
    assert [h.constant for h in hists] == [False, False, True, True]
    fig = fe.distributions(hists)
    assert len(fig.data) == 2  # no block for the constant features
    texts = [str(a.text) for a in fig.layout.annotations]
    for label in ("Returns value", "Return rate"):
        assert any(t.startswith(label) and "constant: not used" in t for t in texts), texts
    assert texts.count(f"{n} customers, all at 0") == 2
    corr = es.spearman(frame, columns)
    matrix = [[None if np.isnan(v) else float(v) for v in row] for row in corr]
    heat = fe.correlation_heatmap(columns, matrix)
    assert list(heat.data[0].y) == ["Recency (days)", "Orders"]
    assert np.array(heat.data[0].z, dtype=float).shape == (2, 2)
    assert "Returns value, Return rate: constant: not used" in [
        a.text for a in heat.layout.annotations
    ]


def test_correlation_heatmap_is_symmetric_on_a_fixed_scale(default_view: es.ExploreData) -> None:
    fig = fe.correlation_heatmap(default_view.features, default_view.correlation)
    (heat,) = fig.data
    assert heat.type == "heatmap"
    assert (heat.zmin, heat.zmax, heat.zmid) == (-1, 1, 0)
    z = np.array(heat.z, dtype=float)
    assert z.shape == (len(default_view.features),) * 2
    assert np.allclose(z, z.T, equal_nan=True)


def test_rf_grid_heatmap_is_five_by_five(default_view: es.ExploreData) -> None:
    fig = fe.rf_grid_heatmap(default_view.rf_grid)
    (heat,) = fig.data
    assert np.array(heat.z, dtype=float).shape == (5, 5)
    counts = np.array(heat.customdata)
    assert counts.sum() == default_view.customers


def test_activity_and_countries_figures(default_view: es.ExploreData) -> None:
    fig = fe.activity_over_time(default_view.monthly)
    assert [t.type for t in fig.data] == ["bar", "scatter"]
    assert fig.data[1].yaxis == "y2"  # orders on the right axis
    assert default_view.monthly is not None
    assert sum(fig.data[0].y) == pytest.approx(default_view.monthly.get_column("revenue").sum())
    fig = fe.countries(default_view.countries)
    assert [t.type for t in fig.data] == ["bar", "bar"]
    assert sum(fig.data[0].x) == default_view.customers
    assert fe.countries(None).data == ()
