"""Model page charts in one sentence: the choose-k chart's recommendation and picks, the
stability chart's least and most stable segments, from the data each chart draws."""

from __future__ import annotations

import pytest

from core.clustering.select_k import CRITERIA_LABELS
from dashapp.pages.model.figures import k_figure, k_summary, stability_figure, stability_summary
from dashapp.pages.model.view import model_view
from dashapp.services import AppServices
from dashapp.shared.modeling import ModelSettings, with_settings
from dashapp.state import SessionState

pytestmark = pytest.mark.usefixtures("app_ctx")


@pytest.mark.parametrize("k", [3, 5])
def test_k_summary_says_what_the_chart_marks(
    state: SessionState, services: AppServices, k: int
) -> None:
    view = model_view(with_settings(state, ModelSettings(k=k)), services)
    assert view.k_panel is not None
    selection = view.k_panel.selection
    assert selection is not None
    text = k_summary(view)
    fig = k_figure(view)
    ks = [x for t in fig.data if t.mode == "lines+markers" for x in t.x]
    assert text.startswith(f"k criteria for k = {min(ks)} to {max(ks)}")
    assert f"(in use: k = {k})" in text
    if selection.recommended_k is not None:
        assert f"recommended k = {selection.recommended_k}" in text
    for criterion, pick in selection.picks.items():
        assert f"{CRITERIA_LABELS[criterion]} picks {pick}" in text


def test_stability_summary_names_the_least_and_most_stable(
    state: SessionState, services: AppServices
) -> None:
    view = model_view(state, services)
    assert view.result is not None
    fig = stability_figure(view)
    bars = dict(zip(fig.data[0].x, fig.data[0].y, strict=True))
    low, high = min(bars, key=bars.__getitem__), max(bars, key=bars.__getitem__)
    text = stability_summary(view)
    assert f"{bars[low]:.2f} ({low}, the least stable) to {bars[high]:.2f} ({high})" in text


def test_no_summary_where_the_chart_shows_a_message(
    state: SessionState, services: AppServices
) -> None:
    view = model_view(with_settings(state, ModelSettings(algorithm="hdbscan")), services)
    assert k_summary(view) == ""
