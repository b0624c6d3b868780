"""RFM page: named RFM segments of a built-in rule set, as a treemap and a table, with the
R x F score grid and the data-sufficiency warnings.

Flow (as on the Data page): the controls write their choice into the session state
(``views["rfm"]``); one render callback reads the state and rebuilds the controls and every
output from it, so the controls always show what is applied.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import dash_bootstrap_components as dbc
from dash import ALL, Dash, Input, Output, State, dcc, html, no_update
from dash.development.base_component import Component
from dash.exceptions import PreventUpdate

from core.cache import get_or_compute, make_key
from core.errors import CustsegError
from core.rfm import RULESETS
from dashapp.pages.rfm import figures as figures_rfm
from dashapp.pages.rfm.view import (
    BIN_CHOICES,
    COLOR_MODES,
    DEFAULTS,
    RULESET_KEYS,
    RfmView,
    rfm_view,
)
from dashapp.services import get_services
from dashapp.shared import components, figures, ids
from dashapp.shared.loading import session_table
from dashapp.shared.viewkit import (
    InputRejectedError,
    checked_choice,
    data_problem_alert,
    input_alert,
)
from dashapp.state import SessionState, require_state

log = logging.getLogger(__name__)

PATH = "/rfm"
NAME = "RFM"
ORDER = 2
TITLE = "RFM segments · custseg"
DESCRIPTION = "Named RFM segments (rule sets), treemap, table and sufficiency warnings."

VIEW = "rfm"
GRAPH_CONFIG = {"displayModeBar": False}
SETTINGS: tuple[str, ...] = ("ruleset", "bins", "color")
CHOICES: dict[str, Sequence[Any]] = {
    "ruleset": RULESET_KEYS,
    "bins": BIN_CHOICES,
    "color": COLOR_MODES,
}
RULESET_LABELS = {key: rules.name for key, rules in RULESETS.items()}


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


def controls(settings: dict[str, Any]) -> list[Component]:
    """Rule set, score bins and treemap colour, showing ``settings``."""
    return [
        dbc.Row(
            [
                dbc.Col(
                    [
                        html.Label("Rule set", className="form-label small fw-semibold mb-1"),
                        dbc.RadioItems(
                            id=ids.rfm_setting("ruleset"),
                            options=[
                                {"label": RULESET_LABELS[k], "value": k} for k in RULESET_KEYS
                            ],
                            value=settings["ruleset"],
                            inline=True,
                        ),
                    ],
                    md=5,
                ),
                dbc.Col(
                    [
                        html.Label(
                            "Score bins (grid)", className="form-label small fw-semibold mb-1"
                        ),
                        dbc.RadioItems(
                            id=ids.rfm_setting("bins"),
                            options=[{"label": str(b), "value": b} for b in BIN_CHOICES],
                            value=settings["bins"],
                            inline=True,
                        ),
                    ],
                    md=3,
                ),
                dbc.Col(
                    [
                        html.Label("Treemap colour", className="form-label small fw-semibold mb-1"),
                        dbc.RadioItems(
                            id=ids.rfm_setting("color"),
                            options=[
                                {"label": "Segment", "value": "segment"},
                                {"label": "Revenue share", "value": "revenue"},
                            ],
                            value=settings["color"],
                            inline=True,
                        ),
                    ],
                    md=4,
                ),
            ],
            className="g-3",
        )
    ]


def layout(**_query: str) -> Component:
    """The page skeleton; :func:`render` fills it from the session store."""
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(html.H4("RFM segments", className="mb-0"), width="auto"),
                    dbc.Col(html.Div(id=ids.RFM_NOTE), className="align-self-center"),
                ],
                className="mb-2 g-3",
            ),
            html.Div(id=ids.RFM_ALERT),
            components.card("Settings", html.Div(id=ids.RFM_CONTROLS)),
            html.Div(id=ids.RFM_WARNINGS),
            dbc.Row(
                [
                    dbc.Col(
                        components.card(
                            "Segments by customers",
                            dcc.Loading(
                                dcc.Graph(
                                    id=ids.RFM_TREEMAP,
                                    figure=figures.empty_figure("Loading…"),
                                    config=GRAPH_CONFIG,
                                ),
                                type="circle",
                            ),
                        ),
                        lg=7,
                    ),
                    dbc.Col(
                        components.card(
                            "Recency x frequency score grid",
                            [
                                dcc.Graph(
                                    id=ids.RFM_GRID,
                                    figure=figures.empty_figure("Loading…"),
                                    config=GRAPH_CONFIG,
                                ),
                                html.Div(id=ids.RFM_GRID_NOTE, className="small text-muted"),
                            ],
                        ),
                        lg=5,
                    ),
                ]
            ),
            components.card("Segment table", html.Div(id=ids.RFM_TABLE)),
        ]
    )


def _mean(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def segment_table(view: RfmView) -> dbc.Table:
    """Customers, shares and mean R/F/M per segment, in rule-set order; empty segments muted."""
    header = html.Thead(
        html.Tr(
            [
                html.Th("Segment"),
                html.Th("Customers", className="text-end"),
                html.Th("Share", className="text-end"),
                html.Th("Revenue share", className="text-end"),
                html.Th("Mean recency (days)", className="text-end"),
                html.Th("Mean orders", className="text-end"),
                html.Th("Mean monetary", className="text-end"),
            ]
        )
    )
    rows = []
    for row in view.segments.iter_rows(named=True):
        empty = row["customers"] == 0
        swatch = html.Span(
            className="segment-swatch me-2",
            style={"backgroundColor": figures.segment_color(int(row["color"]))},
        )
        rows.append(
            html.Tr(
                [
                    html.Td(
                        [
                            swatch,
                            html.Span(row["segment"], className="fw-semibold"),
                            html.Div(row["description"], className="small text-muted"),
                        ]
                    ),
                    html.Td(f"{row['customers']:,}", className="text-end"),
                    html.Td(f"{row['share']:.1%}", className="text-end"),
                    html.Td(f"{row['revenue_share']:.1%}", className="text-end"),
                    html.Td(_mean(row["mean_recency"]), className="text-end"),
                    html.Td(_mean(row["mean_frequency"]), className="text-end"),
                    html.Td(_mean(row["mean_monetary"], 2), className="text-end"),
                ],
                className="text-muted" if empty else "",
            )
        )
    foot = [
        html.Tr(
            [
                html.Td(html.Strong("Scored customers")),
                html.Td(html.Strong(f"{view.scored:,}"), className="text-end"),
                html.Td("100%", className="text-end"),
                html.Td("100%", className="text-end"),
                html.Td(colSpan=3),
            ]
        )
    ]
    if view.excluded:
        foot.append(
            html.Tr(
                [
                    html.Td("Excluded (not scored, in no segment)", className="text-muted"),
                    html.Td(f"{view.excluded:,}", className="text-end text-muted"),
                    html.Td(colSpan=5),
                ]
            )
        )
    return dbc.Table(
        [header, html.Tbody(rows), html.Tfoot(foot)],
        size="sm",
        hover=True,
        responsive=True,
        className="mb-0 align-middle",
        id=ids.RFM_SEGMENT_TABLE,
    )


def warnings_panel(view: RfmView) -> list[Component]:
    """Sufficiency warnings as alerts (nothing when the data is sufficient)."""
    return [
        dbc.Alert(
            [html.Strong("Data sufficiency: "), text],
            color="warning",
            className="mb-2 py-2",
        )
        for text in view.warnings
    ]


def headline(view: RfmView) -> list[Component | str]:
    parts: list[Component | str] = [
        html.Strong(f"{view.scored:,}"),
        html.Span(f" customers scored · {view.ruleset_name}", className="text-muted"),
    ]
    if view.excluded:
        parts.append(dbc.Badge(f"{view.excluded:,} excluded", color="secondary", className="ms-2"))
    return parts


def grid_note(view: RfmView) -> str:
    """What the grid shows and how the bins relate to the named segments."""
    if view.bins == view.ruleset_bins:
        return (
            f"Scores 1-{view.bins}; each cell has the colour of its most common segment (the "
            "rule set also uses the monetary score, so a cell can hold several segments: hover "
            "for details). The number counts the cell's customers."
            if len(RULESETS[view.ruleset].dims) == 3
            else f"Scores 1-{view.bins}; each cell has its segment's colour and counts its "
            "customers."
        )
    return (
        f"Scores 1-{view.bins}. The named segments always use the rule set's own "
        f"{view.ruleset_bins} scores (its rules are written for quintiles), so the cells do "
        "not name segments at this resolution."
    )


def view_for(data: object) -> tuple[SessionState, dict[str, Any], RfmView]:
    """The session state, its RFM settings and the view (cached per table and settings)."""
    state = require_state(data)
    settings = settings_of(state)
    services = get_services()
    table = session_table(state, services)
    key = make_key("rfm_view", table.key, settings["ruleset"], settings["bins"])
    view = get_or_compute(
        services.cache,
        key,
        lambda: rfm_view(table.features, ruleset=settings["ruleset"], bins=settings["bins"]),
    )
    return state, settings, view


def render(data: object) -> tuple[Any, ...]:
    """Every output of the page, from the session state."""
    state = require_state(data)
    current = settings_of(state)
    settings = dict(current)
    try:
        _, _, view = view_for(data)
    except CustsegError as exc:
        message = "Fix the data on the Data page to see the RFM segments."
        return (
            [],
            data_problem_alert(exc),
            controls(settings),
            [],
            figures.empty_figure(message),
            [],
            figures.empty_figure(message),
            "",
        )
    return render_view(view, settings)


def render_view(view: RfmView, settings: dict[str, Any]) -> tuple[Any, ...]:
    """The render outputs for a computed view (pure: tests call it directly)."""
    return (
        headline(view),
        [],
        controls(settings),
        warnings_panel(view),
        figures_rfm.treemap(view.segments, color=settings["color"]),
        segment_table(view),
        figures_rfm.score_grid_heatmap(
            view.grid,
            bins=view.bins,
            segment_colors=dict(view.segments.select("segment", "color").iter_rows()),
        ),
        grid_note(view),
    )


def apply_settings(values: Sequence[object], setting_ids: Sequence[object], data: object) -> Any:
    """Write the controls' values into ``views["rfm"]`` of the state (checked first).

    A value no control can send (a hand-made request) leaves the state unchanged and shows
    why in the page's alert.
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


RENDER_OUTPUTS = (
    Output(ids.RFM_NOTE, "children"),
    Output(ids.RFM_ALERT, "children"),
    Output(ids.RFM_CONTROLS, "children"),
    Output(ids.RFM_WARNINGS, "children"),
    Output(ids.RFM_TREEMAP, "figure"),
    Output(ids.RFM_TABLE, "children"),
    Output(ids.RFM_GRID, "figure"),
    Output(ids.RFM_GRID_NOTE, "children"),
)


def register_callbacks(app: Dash) -> None:
    """Attach this page's callbacks to ``app``."""
    app.callback(
        Output(ids.SESSION, "data", allow_duplicate=True),
        Output(ids.RFM_ALERT, "children", allow_duplicate=True),
        Input({"type": ids.RFM_SETTING_TYPE, "name": ALL}, "value"),
        State({"type": ids.RFM_SETTING_TYPE, "name": ALL}, "id"),
        State(ids.SESSION, "data"),
        prevent_initial_call=True,
    )(apply_settings)
    app.callback(*RENDER_OUTPUTS, Input(ids.SESSION, "data"))(render)


__all__ = ["apply_settings", "layout", "register_callbacks", "render", "render_view"]
