"""Callbacks of the Value page.

As on the RFM page: the controls write their choice into the session state
(``views["value"]``, :func:`apply_settings`); one render callback (:func:`render`) reads the
state and rebuilds the controls and every output from it. The prediction is computed once per
table and settings (:func:`dashapp.shared.value.session_clv`, cached), the same one the
Segments page's grid and cards and the Export page's lists show.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from dash import ALL, Dash, Input, Output, State, dcc, no_update
from dash.exceptions import PreventUpdate

from core import clv
from core.errors import CustsegError
from core.export import to_bytes
from dashapp.pages.value import figures as vf
from dashapp.pages.value import ids
from dashapp.pages.value.layout import controls, headline, horizon_text, slipping_table
from dashapp.pages.value.view import ValueView, value_view
from dashapp.services import get_services
from dashapp.shared import chart_text, components, value
from dashapp.shared import ids as shared_ids
from dashapp.shared import segment_figures as fs
from dashapp.shared.figures import empty_figure
from dashapp.shared.loading import session_table
from dashapp.shared.segment_components import load_model
from dashapp.shared.viewkit import (
    InputRejectedError,
    checked_choice,
    checked_float,
    data_problem_alert,
    input_alert,
)
from dashapp.state import SessionState, require_state

log = logging.getLogger(__name__)

RENDER_OUTPUTS: dict[str, Output] = {
    "headline": Output(ids.VALUE_NOTE, "children"),
    "alert": Output(ids.VALUE_ALERT, "children"),
    "controls": Output(ids.VALUE_CONTROLS, "children"),
    "by_segment_figure": Output(ids.VALUE_BY_SEGMENT, "figure"),
    "by_segment_summary": Output(chart_text.summary_id(ids.VALUE_BY_SEGMENT), "children"),
    "p_alive_figure": Output(ids.VALUE_P_ALIVE, "figure"),
    "p_alive_summary": Output(chart_text.summary_id(ids.VALUE_P_ALIVE), "children"),
    "holdout_figure": Output(ids.VALUE_HOLDOUT, "figure"),
    "holdout_summary": Output(chart_text.summary_id(ids.VALUE_HOLDOUT), "children"),
    "slipping": Output(ids.VALUE_SLIPPING, "children"),
}


def view_of(state: SessionState) -> ValueView:
    """The page's view for the session (``CustsegError`` when the data cannot be predicted)."""
    services = get_services()
    table = session_table(state, services)
    result = value.session_clv(table, value.config_of(state), services)
    model, _problem = load_model(state, services)
    if model is None:
        return value_view(result, table.features, None)
    segments = model.result.assignments()
    colors = {int(s): fs.color_of(model.result, int(s)) for s in segments["segment"].unique()}
    return value_view(result, table.features, segments, colors=colors)


def render(data: object) -> dict[str, Any]:
    """Every output of the page, from the session state (keys of :data:`RENDER_OUTPUTS`)."""
    state = require_state(data)
    config = value.config_of(state)
    try:
        view = view_of(state)
    except CustsegError as exc:
        return render_problem(exc, config)
    return render_view(view)


def render_problem(error: CustsegError, config: clv.ClvConfig) -> dict[str, Any]:
    """Why there is no prediction, with the controls to change the settings."""
    message = "No prediction: see the message above."
    return {
        "headline": [],
        "alert": data_problem_alert(error),
        "controls": controls(config, None),
        "by_segment_figure": empty_figure(message),
        "by_segment_summary": "",
        "p_alive_figure": empty_figure(message),
        "p_alive_summary": "",
        "holdout_figure": empty_figure(message),
        "holdout_summary": "",
        "slipping": [],
    }


def render_view(view: ValueView) -> dict[str, Any]:
    """The render outputs for a computed view (pure: tests call it directly)."""
    result = view.result
    horizon = horizon_text(result.config)
    last = None if result.holdout is None else dt.date.fromisoformat(result.holdout["end"])
    return {
        "headline": headline(view),
        "alert": [],
        "controls": controls(result.config, last or result.calibration_end),
        "by_segment_figure": vf.revenue_by_segment(view.by_segment, view.colors, horizon=horizon),
        "by_segment_summary": vf.revenue_by_segment_summary(view.by_segment, horizon=horizon),
        "p_alive_figure": vf.p_alive_chart(view.p_alive_counts),
        "p_alive_summary": vf.p_alive_summary(view.p_alive_counts),
        "holdout_figure": vf.holdout_chart(result.holdout),
        "holdout_summary": vf.holdout_summary(result.holdout),
        "slipping": slipping_table(view.slipping),
    }


def _setting(name: object, raw: object, current: clv.ClvConfig) -> tuple[str, Any]:
    """One control's value, checked; the calibration end as ISO text or None."""
    if name == "time_unit":
        return "time_unit", checked_choice(raw, value.UNITS, name="the time unit")
    if name == "horizon":
        if raw is None or raw == "":
            return "horizon", None
        horizon = checked_float(raw, name="the horizon")
        if horizon <= 0:
            raise InputRejectedError(f"the horizon must be above 0, got {raw!r}")
        return "horizon", horizon
    if name == "calibration_end":
        text = raw.strip() if isinstance(raw, str) else raw
        if text is None or text == "":
            return "calibration_end", None
        try:
            return "calibration_end", dt.date.fromisoformat(str(text)).isoformat()
        except ValueError:
            raise InputRejectedError(
                f"the calibration end must be a date like 2011-09-09, got {raw!r}"
            ) from None
    raise InputRejectedError(f"unknown setting {name!r}")


def apply_settings(values: Sequence[object], setting_ids: Sequence[object], data: object) -> Any:
    """Write the controls' values into ``views["value"]`` (checked first); a changed time unit
    takes that unit's default horizon. Returns the new session data and the page's alert."""
    state = require_state(data)
    if not isinstance(values, list | tuple) or not isinstance(setting_ids, list | tuple):
        raise PreventUpdate
    if len(values) != len(setting_ids) or not values:
        raise PreventUpdate
    config = value.config_of(state)
    current = value.settings_document(config)
    settings = dict(current)
    try:
        for setting_id, raw in zip(setting_ids, values, strict=True):
            name = setting_id.get("name") if isinstance(setting_id, dict) else None
            key, checked = _setting(name, raw, config)
            settings[key] = checked
    except InputRejectedError as exc:
        log.info("refused value settings: %s", exc)
        return no_update, input_alert(exc)
    if settings["time_unit"] != current["time_unit"]:
        settings["horizon"] = None
    elif settings["horizon"] == config.horizon_units and current["horizon"] is None:
        settings["horizon"] = None  # the default, shown in the box: still the default
    if settings == current:
        raise PreventUpdate
    return state.with_view_settings(value.VIEW, settings).to_json(), []


def download_slipping(n_clicks: object, data: object) -> tuple[Any, Any]:
    """The "valuable but slipping" customers as CSV (the app's export code)."""
    if not n_clicks:
        raise PreventUpdate
    state = require_state(data)
    try:
        view = view_of(state)
    except CustsegError as exc:
        return no_update, components.error_alert(exc, title="Nothing was exported")
    content = to_bytes(view.slipping, "csv")
    name = f"valuable_but_slipping_{view.result.calibration_end.isoformat()}.csv"
    return dcc.send_bytes(content, name, type="text/csv"), []


def register(app: Dash) -> None:
    """Attach this page's callbacks to ``app``."""
    app.callback(
        Output(shared_ids.SESSION, "data", allow_duplicate=True),
        Output(ids.VALUE_ALERT, "children", allow_duplicate=True),
        Input({"type": ids.VALUE_SETTING_TYPE, "name": ALL}, "value"),
        State({"type": ids.VALUE_SETTING_TYPE, "name": ALL}, "id"),
        State(shared_ids.SESSION, "data"),
        prevent_initial_call=True,
    )(apply_settings)
    app.callback(
        Output(ids.VALUE_SLIPPING_DOWNLOAD, "data"),
        Output(ids.VALUE_DOWNLOAD_ALERT, "children"),
        Input(ids.VALUE_SLIPPING_BUTTON, "n_clicks"),
        State(shared_ids.SESSION, "data"),
        prevent_initial_call=True,
    )(download_slipping)
    app.callback(output=RENDER_OUTPUTS, inputs={"data": Input(shared_ids.SESSION, "data")})(render)


__all__ = ["RENDER_OUTPUTS", "apply_settings", "download_slipping", "register", "render"]
