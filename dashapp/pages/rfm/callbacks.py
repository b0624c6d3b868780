"""Callbacks of the RFM page.

Flow (as on the Data page): the controls write their choice into the session state
(``views["rfm"]``, :func:`apply_settings`); one render callback (:func:`render`) reads the state
and rebuilds the controls and every output from it, so the controls always show what is applied.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from dash import ALL, Dash, Input, Output, State, no_update
from dash.exceptions import PreventUpdate

from core.cache import get_or_compute, make_key
from core.errors import CustsegError
from dashapp.pages.rfm import figures as rfm_figures
from dashapp.pages.rfm import ids
from dashapp.pages.rfm.layout import (
    controls,
    grid_note,
    headline,
    segment_table,
    warnings_panel,
)
from dashapp.pages.rfm.view import CHOICES, DEFAULTS, SETTINGS, RfmView, range_texts, rfm_view
from dashapp.services import get_services
from dashapp.shared import chart_text
from dashapp.shared import ids as shared_ids
from dashapp.shared.figures import empty_figure
from dashapp.shared.loading import session_table
from dashapp.shared.viewkit import (
    InputRejectedError,
    checked_choice,
    data_problem_alert,
    input_alert,
)
from dashapp.state import SessionState, require_state

log = logging.getLogger(__name__)

VIEW = "rfm"

# What :func:`render` fills in, by name (its returned dict has exactly these keys).
RENDER_OUTPUTS: dict[str, Output] = {
    "headline": Output(ids.RFM_NOTE, "children"),
    "alert": Output(ids.RFM_ALERT, "children"),
    "controls": Output(ids.RFM_CONTROLS, "children"),
    "warnings": Output(ids.RFM_WARNINGS, "children"),
    "treemap_figure": Output(ids.RFM_TREEMAP, "figure"),
    "segment_table": Output(ids.RFM_TABLE, "children"),
    "grid_figure": Output(ids.RFM_GRID, "figure"),
    "grid_note": Output(ids.RFM_GRID_NOTE, "children"),
    "treemap_summary": Output(chart_text.summary_id(ids.RFM_TREEMAP), "children"),
    "grid_summary": Output(chart_text.summary_id(ids.RFM_GRID), "children"),
}


def settings_of(state: SessionState) -> dict[str, Any]:
    """The page's settings from the state; a stored value that is not valid is replaced by
    its default (the state is the browser's to edit)."""
    stored = state.view_settings(VIEW)
    out: dict[str, Any] = {}
    for name in SETTINGS:
        try:
            out[name] = checked_choice(stored.get(name, DEFAULTS[name]), CHOICES[name], name=name)
        except InputRejectedError:
            out[name] = DEFAULTS[name]
    return out


def view_for(state: SessionState, settings: dict[str, Any]) -> RfmView:
    """The view of the session's table at ``settings`` (cached per table and settings)."""
    services = get_services()
    table = session_table(state, services)
    key = make_key("rfm_view", table.key, settings["ruleset"], settings["bins"])
    return get_or_compute(
        services.cache,
        key,
        lambda: rfm_view(table.features, ruleset=settings["ruleset"], bins=settings["bins"]),
    )


def render(data: object) -> dict[str, Any]:
    """Every output of the page, from the session state (keys of :data:`RENDER_OUTPUTS`)."""
    state = require_state(data)
    settings = settings_of(state)
    try:
        view = view_for(state, settings)
    except CustsegError as exc:
        return render_problem(exc, settings)
    return render_view(view, settings)


def render_problem(error: CustsegError, settings: dict[str, Any]) -> dict[str, Any]:
    """The render outputs when the session's data cannot be scored: why, and the controls."""
    message = "Fix the data on the Data page to see the RFM segments."
    return {
        "headline": [],
        "alert": data_problem_alert(error),
        "controls": controls(settings),
        "warnings": [],
        "treemap_figure": empty_figure(message),
        "segment_table": [],
        "grid_figure": empty_figure(message),
        "grid_note": "",
        "treemap_summary": "",
        "grid_summary": "",
    }


def render_view(view: RfmView, settings: dict[str, Any]) -> dict[str, Any]:
    """The render outputs for a computed view (pure: tests call it directly)."""
    return {
        "headline": headline(view),
        "alert": [],
        "controls": controls(settings),
        "warnings": warnings_panel(view),
        "treemap_figure": rfm_figures.treemap(view.segments, color=settings["color"]),
        "segment_table": segment_table(view),
        "grid_figure": rfm_figures.score_grid_heatmap(
            view.grid,
            bins=view.bins,
            segment_colors=dict(view.segments.select("segment", "color").iter_rows()),
            ranges=range_texts(view.ranges),
        ),
        "grid_note": grid_note(view),
        "treemap_summary": rfm_figures.treemap_summary(view.segments),
        "grid_summary": rfm_figures.score_grid_summary(view.grid, bins=view.bins),
    }


def apply_settings(values: Sequence[object], setting_ids: Sequence[object], data: object) -> Any:
    """Write the controls' values into ``views["rfm"]`` of the state (checked first).

    Returns the new session data and the page's alert. A value no control can send (a
    hand-made request) leaves the state unchanged and shows why in the alert.
    """
    state = require_state(data)
    if not isinstance(values, list | tuple) or not isinstance(setting_ids, list | tuple):
        raise PreventUpdate
    if len(values) != len(setting_ids) or not values:
        raise PreventUpdate
    current = settings_of(state)
    settings = dict(current)
    try:
        for setting_id, value in zip(setting_ids, values, strict=True):
            name = setting_id.get("name") if isinstance(setting_id, dict) else None
            if name not in CHOICES:
                raise InputRejectedError(f"unknown RFM setting {name!r}")
            settings[name] = checked_choice(value, CHOICES[name], name=name)
    except InputRejectedError as exc:
        log.info("refused RFM settings: %s", exc)
        return no_update, input_alert(exc)
    if settings == current:
        raise PreventUpdate  # e.g. the controls were just rendered from the state
    return state.with_view_settings(VIEW, settings).to_json(), []


def register(app: Dash) -> None:
    """Attach this page's callbacks to ``app``."""
    # Two outputs: positional (session data, alert).
    app.callback(
        Output(shared_ids.SESSION, "data", allow_duplicate=True),
        Output(ids.RFM_ALERT, "children", allow_duplicate=True),
        Input({"type": ids.RFM_SETTING_TYPE, "name": ALL}, "value"),
        State({"type": ids.RFM_SETTING_TYPE, "name": ALL}, "id"),
        State(shared_ids.SESSION, "data"),
        prevent_initial_call=True,
    )(apply_settings)
    app.callback(output=RENDER_OUTPUTS, inputs={"data": Input(shared_ids.SESSION, "data")})(render)


__all__ = ["RENDER_OUTPUTS", "apply_settings", "register", "render", "render_view"]
