"""Explore page callbacks: one render callback fills every chart and text from the session store.

The figures' data is computed once per customer table and cached under its content key
(:func:`dashapp.pages.explore.view.explore_data`); the callback only builds the outputs.
"""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output

from core.cache import get_or_compute, make_key
from core.errors import CustsegError
from dashapp.pages.explore import figures as figures_explore
from dashapp.pages.explore import ids
from dashapp.pages.explore.layout import headline, summary_table
from dashapp.pages.explore.view import ExploreData, activity_note, explore_data
from dashapp.services import get_services
from dashapp.shared import chart_text, figures
from dashapp.shared import ids as app_ids
from dashapp.shared.loading import session_table
from dashapp.shared.viewkit import data_problem_alert
from dashapp.state import require_state

# The render callback's outputs, by name: what it returns is a dict with these keys.
RENDER_OUTPUTS: dict[str, Output] = {
    "headline": Output(ids.EXPLORE_NOTE, "children"),
    "alert": Output(ids.EXPLORE_ALERT, "children"),
    "distributions_figure": Output(ids.EXPLORE_DISTRIBUTIONS, "figure"),
    "correlations_figure": Output(ids.EXPLORE_CORRELATIONS, "figure"),
    "rf_grid_figure": Output(ids.EXPLORE_RF_GRID, "figure"),
    "activity_figure": Output(ids.EXPLORE_ACTIVITY, "figure"),
    "countries_figure": Output(ids.EXPLORE_COUNTRIES, "figure"),
    "activity_note": Output(ids.EXPLORE_ACTIVITY_NOTE, "children"),
    "summary": Output(ids.EXPLORE_SUMMARY, "children"),
}
# Each chart's one-sentence summary, by the name of its figure output.
SUMMARY_OUTPUTS: dict[str, Output] = {
    f"{name.removesuffix('_figure')}_summary": Output(
        chart_text.summary_id(str(output.component_id)), "children"
    )
    for name, output in RENDER_OUTPUTS.items()
    if name.endswith("_figure")
}
RENDER_OUTPUTS.update(SUMMARY_OUTPUTS)
FIGURE_OUTPUTS = tuple(name for name in RENDER_OUTPUTS if name.endswith("_figure"))


def explore_for(data: object) -> ExploreData:
    """The Explore data of the session (cached per customer table).

    Raises ``PreventUpdate`` for an invalid session state (``require_state``) and
    :class:`~core.errors.CustsegError` when the data cannot be described.
    """
    state = require_state(data)
    services = get_services()
    table = session_table(state, services)
    return get_or_compute(
        services.cache, make_key("explore", table.key), lambda: explore_data(table)
    )


def render(data: object) -> dict[str, Any]:
    """Every output of the page (keys of :data:`RENDER_OUTPUTS`), from the session state.

    When the data cannot be described, the alert says why and every chart says where to fix
    it (never a blank chart).
    """
    try:
        view = explore_for(data)
    except CustsegError as exc:
        message = "Fix the data on the Data page to see this chart."
        return {
            "headline": [],
            "alert": data_problem_alert(exc),
            **{name: figures.empty_figure(message) for name in FIGURE_OUTPUTS},
            **dict.fromkeys(SUMMARY_OUTPUTS, ""),
            "activity_note": "",
            "summary": [],
        }
    return render_view(view)


def render_view(view: ExploreData) -> dict[str, Any]:
    """The render outputs for computed Explore data (pure: no session, no services)."""
    return {
        "headline": headline(view),
        "alert": [],
        "distributions_figure": figures_explore.distributions(view.histograms),
        "correlations_figure": figures_explore.correlation_heatmap(view.features, view.correlation),
        "rf_grid_figure": figures_explore.rf_grid_heatmap(view.rf_grid),
        "activity_figure": figures_explore.activity_over_time(view.monthly),
        "countries_figure": figures_explore.countries(view.countries),
        "distributions_summary": figures_explore.distributions_summary(view.histograms),
        "correlations_summary": figures_explore.correlations_summary(
            view.features, view.correlation
        ),
        "rf_grid_summary": figures_explore.rf_grid_summary(view.rf_grid),
        "activity_summary": figures_explore.activity_summary(view.monthly),
        "countries_summary": figures_explore.countries_summary(view.countries),
        "activity_note": activity_note(view),
        "summary": summary_table(view.summary),
    }


def register(app: Dash) -> None:
    """Attach this page's callbacks to ``app``."""
    app.callback(output=RENDER_OUTPUTS, inputs={"data": Input(app_ids.SESSION, "data")})(render)
