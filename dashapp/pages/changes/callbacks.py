"""Changes page callbacks: the migration at a cutoff, its flows, and the customers of one.

* :func:`init_changes` (session store) sets the date input's range and, when the page was
  opened without a cutoff, the default (90 days before the analysis date); it names the parts
  of a link it refused;
* :func:`quick_cutoff` (the 30 / 90 / 180 / 365 days buttons) sets the cutoff;
* :func:`render_changes` (cutoff, RFM, the current model or a saved segmentation, size) draws
  the KPI cards, the Sankey and the matrix with their summaries from
  :func:`dashapp.pages.changes.view.session_migration`; :func:`saved_options` lists the
  workspace's saved segmentations to choose from;
* :func:`select_flow` (a Sankey link or a matrix cell clicked) stores the flow's two segment
  names (never a customer list); :func:`render_selection` lists its customers in the grid;
* :func:`export_flow` sends them through the export code (``core.export.to_bytes``);
* :func:`search_of` keeps the address bar in step (cutoff, segments, saved, size, flow).

A bad cutoff or too little data before it is an alert; the charts on screen stay.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from dash import ALL, Dash, Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from core.errors import CustsegError
from core.export import FORMATS, to_bytes
from core.migration import RFM, Migration, purchase_range
from core.workspace import WorkspaceError
from dashapp.pages.changes import figures as fc
from dashapp.pages.changes import ids
from dashapp.pages.changes import view as cv
from dashapp.pages.changes.layout import kpi_cards
from dashapp.services import get_services
from dashapp.shared import chart_text, components, downloads, workspace
from dashapp.shared.ids import SESSION
from dashapp.shared.loading import session_table
from dashapp.shared.urlstate import REPLACE_URL_JS, notice_id
from dashapp.shared.viewkit import (
    InputRejectedError,
    checked_choice,
    data_problem_alert,
    input_alert,
)
from dashapp.state import require_state

log = logging.getLogger(__name__)

SUMMARIES_OF: dict[str, str] = {"sankey": ids.CHANGES_SANKEY, "matrix": ids.CHANGES_MATRIX}
SUMMARIES = tuple(f"{name}_summary" for name in SUMMARIES_OF)


def cutoff_problem(error: CustsegError) -> Any:
    """The alert of a cutoff the data cannot be split at (the charts on screen stay)."""
    return components.error_alert(error, title="The changes at this cutoff cannot be shown")


def init_changes(data: object, current: object, query: object) -> dict[str, Any]:
    """The date input's range and default value; the notice of a link's refused parts."""
    state = require_state(data)
    asked = cv.parse_query(query if isinstance(query, dict) else {})
    notice: Any = []
    if asked.refused:
        items = [html.Li(m) for m in asked.refused]
        notice = components.message_alert(
            [html.Strong("Part of this link was not applied. "), html.Ul(items, className="mb-0")],
            color="warning",
        )
    try:
        table = session_table(state, get_services())
    except CustsegError as exc:
        keep = dict.fromkeys(("cutoff", "first", "last"), no_update)
        return {**keep, "notice": notice, "alert": data_problem_alert(exc)}
    span = purchase_range(table)
    if span is None or table.analysis_date is None:
        raise PreventUpdate
    first, last = span
    value = current if isinstance(current, str) and current else None
    if value is None:
        chosen = max(min(cv.default_cutoff(table.analysis_date), last), first + dt.timedelta(1))
        value = chosen.isoformat()
    return {
        "cutoff": no_update if value == current else value,
        "first": (first + dt.timedelta(days=1)).isoformat(),
        "last": last.isoformat(),
        "notice": notice,
        "alert": [],
    }


def quick_cutoff(_clicks: object, data: object) -> str:
    """The cutoff a quick-choice button names: that many days before the analysis date."""
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not ctx.triggered[0].get("value"):
        raise PreventUpdate
    days = trigger.get("days")
    if days not in cv.QUICK_DAYS:
        raise PreventUpdate
    try:
        table = session_table(require_state(data), get_services())
    except CustsegError as exc:
        raise PreventUpdate from exc  # init_changes shows what is wrong
    if table.analysis_date is None:
        raise PreventUpdate
    return cv.default_cutoff(table.analysis_date, int(days)).isoformat()


def _checked(
    cutoff: object, by: object, size: object, saved: object = None
) -> tuple[dt.date, str, str, str | None]:
    return (
        cv.parse_cutoff(cutoff),
        checked_choice(by, cv.BY_CHOICES, name="segments by"),
        checked_choice(size, cv.SIZE_CHOICES, name="size"),
        cv.parse_saved(saved),
    )


def saved_options(data: object) -> dict[str, Any]:
    """The saved segmentations to choose from (by name), or why there are none."""
    require_state(data)
    try:
        names = workspace.saved_names()
    except CustsegError as exc:
        return {"options": [], "help": f"The library cannot be read: {exc.message}"}
    if not names:
        return {"options": [], "help": "Nothing saved yet: save a segmentation from the "
                "Segments page."}
    return {"options": [{"label": n, "value": n} for n in names],
            "help": "Its model assigns the customers before and after the cutoff."}


def method_text(migration: Migration, saved: str | None = None) -> str:
    """How Before and After were made, in one line (``saved``: the saved segmentation's name
    when its model assigned both)."""
    cutoff = migration.config.cutoff.isoformat()
    after = "" if migration.after_date is None else f", as of {migration.after_date.isoformat()}"
    if saved is not None and migration.model is not None:
        how = (
            f"The saved segmentation {saved!r} ({migration.config.model.algorithm} with "
            f"k = {migration.model.k}) assigns the customers before the cutoff and after it; "
            "nothing refitted"
        )
    elif migration.config.by == RFM:
        how = (
            f"RFM segments ({migration.config.rule_set.name}), each date scored on its own "
            "quantiles"
        )
    else:
        model = migration.config.model
        how = (
            f"{model.algorithm} with k = {model.k} fitted on the customers before the cutoff; "
            "the customers after it assigned by that same model"
        )
    return (
        f"Before: the lines dated before {cutoff}, analysed as of {cutoff}. After: every "
        f"line{after}. {how}."
    )


def render_changes(
    cutoff: object, by: object, size: object, data: object, saved: object = None
) -> dict[str, Any]:
    """KPI cards, Sankey, matrix, their summaries, the method line and the alert."""
    state = require_state(data)
    if cutoff is None:
        raise PreventUpdate  # init_changes sets it
    keep = dict.fromkeys(("kpis", "sankey", "matrix", "method", *SUMMARIES), no_update)
    try:
        day, by_, size_, saved_ = _checked(cutoff, by, size, saved)
        if by_ == cv.SAVED and saved_ is None:
            message = "Choose a saved segmentation to show the changes by its segments."
            return {**keep, "alert": components.message_alert(message, color="info")}
        migration = cv.session_migration(state, get_services(), day, by_, saved_)
    except InputRejectedError as exc:
        return {**keep, "alert": input_alert(exc)}
    except WorkspaceError as exc:
        title = "The saved segmentation cannot be used"
        return {**keep, "alert": components.error_alert(exc, title=title)}
    except CustsegError as exc:
        return {**keep, "alert": cutoff_problem(exc)}
    return {
        "kpis": kpi_cards(cv.kpis(migration)),
        "sankey": fc.sankey(migration, size_),
        "matrix": fc.matrix(migration, size_),
        "method": method_text(migration, saved_ if by_ == cv.SAVED else None),
        "sankey_summary": fc.sankey_summary(migration, size_),
        "matrix_summary": fc.matrix_summary(migration, size_),
        "alert": [],
    }


def _first_point(click: object) -> dict[str, Any] | None:
    if not isinstance(click, dict):
        return None
    points = click.get("points")
    if not isinstance(points, list) or not points or not isinstance(points[0], dict):
        return None
    return points[0]


def flow_of(source: str, sankey_click: object, matrix_click: object) -> dict[str, str] | None:
    """The (from, to) names of a clicked Sankey link or matrix cell (None: clear)."""
    if source == ids.CHANGES_CLEAR:
        return None
    point = _first_point(sankey_click if source == ids.CHANGES_SANKEY else matrix_click)
    if point is None:
        raise PreventUpdate
    if source == ids.CHANGES_SANKEY:
        custom = point.get("customdata")
        if not isinstance(custom, list) or len(custom) < 2:
            raise PreventUpdate
        if point.get("label") != fc.link_label(str(custom[0]), str(custom[1])):
            raise PreventUpdate  # a node (its label is its segment's), not a link
        pair: object = {"from": custom[0], "to": custom[1]}
    else:
        pair = {"from": point.get("y"), "to": point.get("x")}
    try:
        return cv.parse_selection(pair)
    except InputRejectedError as exc:
        log.info("refused selection: %s", exc)
        raise PreventUpdate from exc


def select_flow(sankey_click: object, matrix_click: object, _clear: object) -> Any:
    """The registered callback: which input fired decides the source."""
    source = ctx.triggered_id
    if source not in (ids.CHANGES_SANKEY, ids.CHANGES_MATRIX, ids.CHANGES_CLEAR):
        raise PreventUpdate
    return flow_of(str(source), sankey_click, matrix_click)


def _selected(
    selection: object, cutoff: object, by: object, data: object, saved: object = None
) -> tuple[Migration, dict[str, str] | None]:
    state = require_state(data)
    day, by_, _, saved_ = _checked(cutoff, by, "customers", saved)
    migration = cv.session_migration(state, get_services(), day, by_, saved_)
    return migration, cv.parse_selection(selection)


def render_selection(
    selection: object, cutoff: object, by: object, data: object, saved: object = None
) -> Any:
    """The grid's caption and rows for the selected flow."""
    if cutoff is None:
        raise PreventUpdate
    try:
        migration, chosen = _selected(selection, cutoff, by, data, saved)
    except (InputRejectedError, CustsegError):
        return "Nothing to list.", []
    frame = cv.members(migration, chosen)
    n = 0 if frame is None else frame.height
    return cv.caption(migration, chosen, n), cv.grid_rows(frame)


def export_flow(
    *,
    n_clicks: object,
    selection: object,
    fmt: object,
    cutoff: object,
    by: object,
    data: object,
    saved: object = None,
) -> dict[str, Any]:
    """The selected flow's customers (every CUSTOMERS column) in the chosen format."""
    if not n_clicks:
        raise PreventUpdate
    try:
        fmt_ = checked_choice(fmt, FORMATS, name="format")
        migration, chosen = _selected(selection, cutoff, by, data, saved)
    except CustsegError as exc:
        return {"download": no_update, "alert": downloads.refused(exc)}
    frame = cv.members(migration, chosen)
    if frame is None or chosen is None:
        message = "Select a flow first: click a flow of the Sankey diagram or a matrix cell."
        return {"download": no_update, "alert": components.message_alert(message, color="info")}
    content = to_bytes(frame, fmt_)
    name = cv.export_filename(migration, chosen, fmt_)
    return {"download": downloads.send(content, name, fmt_), "alert": []}


def search_of(
    cutoff: object, by: object, size: object, selection: object, saved: object = None
) -> str:
    """The page's query string (cutoff, segments, saved, size, flow) for the address bar."""
    try:
        day, by_, size_, saved_ = _checked(cutoff, by, size, saved)
        chosen = cv.parse_selection(selection)
    except InputRejectedError as exc:
        raise PreventUpdate from exc
    return cv.search_of(day, by_, size_, chosen, saved_)


def saved_disabled(by: object) -> bool:
    """The saved segmentation's choice is used only when the segments are a saved one's."""
    return by != cv.SAVED


# --- registration -------------------------------------------------------------------------------


def _register_controls(app: Dash) -> None:
    app.callback(
        output={
            "cutoff": Output(ids.CHANGES_CUTOFF, "value", allow_duplicate=True),
            "first": Output(ids.CHANGES_CUTOFF, "min"),
            "last": Output(ids.CHANGES_CUTOFF, "max"),
            "notice": Output(notice_id(ids.CHANGES_QUERY), "children"),
            "alert": Output(ids.CHANGES_ALERT, "children", allow_duplicate=True),
        },
        inputs={"data": Input(SESSION, "data")},
        state={
            "current": State(ids.CHANGES_CUTOFF, "value"),
            "query": State(ids.CHANGES_QUERY, "data"),
        },
        prevent_initial_call="initial_duplicate",
    )(init_changes)
    app.callback(
        Output(ids.CHANGES_CUTOFF, "value", allow_duplicate=True),
        Input({"type": ids.CHANGES_QUICK, "days": ALL}, "n_clicks"),
        State(SESSION, "data"),
        prevent_initial_call=True,
    )(quick_cutoff)


def register(app: Dash) -> None:
    """Attach this page's callbacks to ``app``."""
    _register_controls(app)
    _register_render(app)
    _register_selection(app)
    app.callback(
        Output(ids.CHANGES_SEARCH, "data"),
        Input(ids.CHANGES_CUTOFF, "value"),
        Input(ids.CHANGES_BY, "value"),
        Input(ids.CHANGES_SIZE, "value"),
        Input(ids.CHANGES_SELECTION, "data"),
        Input(ids.CHANGES_SAVED, "value"),
    )(search_of)
    app.callback(
        output={
            "options": Output(ids.CHANGES_SAVED, "options"),
            "help": Output(ids.CHANGES_SAVED_HELP, "children"),
        },
        inputs={"data": Input(SESSION, "data")},
    )(saved_options)
    app.callback(
        Output(ids.CHANGES_SAVED, "disabled"),
        Input(ids.CHANGES_BY, "value"),
    )(saved_disabled)
    app.clientside_callback(
        REPLACE_URL_JS,
        Output(ids.CHANGES_URL_SINK, "children"),
        Input(ids.CHANGES_SEARCH, "data"),
    )


def _register_render(app: Dash) -> None:
    """The KPIs, the Sankey, the matrix and their summaries from the cutoff, method and size."""
    app.callback(
        output={
            "kpis": Output(ids.CHANGES_KPIS, "children"),
            "sankey": Output(ids.CHANGES_SANKEY, "figure"),
            "matrix": Output(ids.CHANGES_MATRIX, "figure"),
            "method": Output(ids.CHANGES_METHOD, "children"),
            **{
                f"{name}_summary": Output(chart_text.summary_id(graph), "children")
                for name, graph in SUMMARIES_OF.items()
            },
            "alert": Output(ids.CHANGES_ALERT, "children", allow_duplicate=True),
        },
        inputs={
            "cutoff": Input(ids.CHANGES_CUTOFF, "value"),
            "by": Input(ids.CHANGES_BY, "value"),
            "size": Input(ids.CHANGES_SIZE, "value"),
            "saved": Input(ids.CHANGES_SAVED, "value"),
        },
        state={"data": State(SESSION, "data")},
        prevent_initial_call="initial_duplicate",
    )(render_changes)


def _register_selection(app: Dash) -> None:
    """A flow picked on the Sankey or the matrix: its customers listed and exported."""
    app.callback(
        Output(ids.CHANGES_SELECTION, "data"),
        Input(ids.CHANGES_SANKEY, "clickData"),
        Input(ids.CHANGES_MATRIX, "clickData"),
        Input(ids.CHANGES_CLEAR, "n_clicks"),
        prevent_initial_call=True,
    )(select_flow)
    app.callback(
        Output(ids.CHANGES_CAPTION, "children"),
        Output(ids.CHANGES_GRID, "rowData"),
        inputs={
            "selection": Input(ids.CHANGES_SELECTION, "data"),
            "cutoff": Input(ids.CHANGES_CUTOFF, "value"),
            "by": Input(ids.CHANGES_BY, "value"),
            "saved": Input(ids.CHANGES_SAVED, "value"),
        },
        state={"data": State(SESSION, "data")},
    )(render_selection)
    app.callback(
        output={
            "download": Output(ids.CHANGES_DOWNLOAD, "data"),
            "alert": Output(ids.CHANGES_EXPORT_ALERT, "children"),
        },
        inputs={"n_clicks": Input(ids.CHANGES_EXPORT, "n_clicks")},
        state={
            "selection": State(ids.CHANGES_SELECTION, "data"),
            "fmt": State(ids.CHANGES_FORMAT, "value"),
            "cutoff": State(ids.CHANGES_CUTOFF, "value"),
            "by": State(ids.CHANGES_BY, "value"),
            "data": State(SESSION, "data"),
            "saved": State(ids.CHANGES_SAVED, "value"),
        },
        prevent_initial_call=True,
    )(export_flow)
