"""Model page charts: the shared criteria and stability charts for a fit, and a message saying
why when there is nothing to draw."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest

from core.errors import ConfigError
from dashapp.pages.model.figures import LOADING, k_figure, loading_figure, stability_figure
from dashapp.pages.model.view import KPanel, ModelView, StabilityPanel, model_view
from dashapp.services import AppServices
from dashapp.shared import segment_figures
from dashapp.shared.modeling import ModelSettings, SessionModel
from dashapp.state import SessionState
from tests.dashapp.helpers import as_json

pytestmark = pytest.mark.usefixtures("app_ctx")


def message(fig: go.Figure) -> str:
    """The text of a placeholder chart."""
    assert not fig.data
    (annotation,) = fig.layout.annotations
    return str(annotation.text)


def test_charts_of_a_fit_are_the_shared_ones(state: SessionState, services: AppServices) -> None:
    view = model_view(state, services)
    assert view.k_panel is not None
    assert view.k_panel.selection is not None
    assert view.stability is not None
    assert view.stability.report is not None
    assert view.result is not None
    expected_k = segment_figures.k_selection_figure(view.k_panel.selection, current_k=4)
    assert as_json(k_figure(view)) == as_json(expected_k)
    expected = segment_figures.stability_figure(view.stability.report, view.result)
    assert as_json(stability_figure(view)) == as_json(expected)


def test_charts_say_why_they_are_empty(model: SessionModel) -> None:
    settings = ModelSettings()
    no_data = ModelView(settings, "", data_error=ConfigError("no data"))
    assert message(k_figure(no_data)) == "No data to model yet."
    assert message(stability_figure(no_data)) == "No data to model yet."
    no_fit = ModelView(settings, "", table=model.table, fit_error=ConfigError("k too large"))
    assert message(k_figure(no_fit)) == "Nothing fitted with these settings."
    assert message(stability_figure(no_fit)) == "Nothing fitted with these settings."

    def fitted(k_panel: KPanel, stability: StabilityPanel) -> ModelView:
        return ModelView(
            settings, "", model.table, model.result, k_panel=k_panel, stability=stability
        )

    failed = StabilityPanel(error=ConfigError("too few"))
    hdbscan = k_figure(fitted(KPanel(4, finds_k=True), failed))
    assert message(hdbscan) == "No k to choose: HDBSCAN finds k itself."
    assert hdbscan.layout.height == 160
    no_criteria = KPanel(4, error=ConfigError("too few"))
    assert message(k_figure(fitted(no_criteria, failed))) == "No criteria to show."
    assert message(stability_figure(fitted(no_criteria, failed))) == (
        "Stability could not be computed."
    )
    assert message(loading_figure()) == LOADING


def test_stability_band_labels_sit_beside_the_bars_not_on_them(
    state: SessionState, services: AppServices
) -> None:
    view = model_view(state, services)
    fig = stability_figure(view)
    labels = [a for a in fig.layout.annotations if "stable ≥" in str(a.text)]
    assert len(labels) == 2
    for label in labels:
        # Right of the plot area (x = 1 of the x domain, text starting there), in the margin.
        assert label.xref in ("x domain", "paper")
        assert label.x >= 1
        assert label.xanchor == "left"
    assert fig.layout.margin.r >= segment_figures.STABILITY_LABEL_MARGIN
