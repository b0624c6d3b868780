"""Pure component builders (no callbacks, no app state): values in, Dash components out.

Pages compose these; callbacks call them to build their outputs, so tests can compare what a
callback returns with what these functions build from the same values.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html
from dash.development.base_component import Component

from core.errors import CustsegError
from dashapp.shared import ids

PREVIEW_ROWS = 100  # first rows of a file kept for the Data page's preview


_MAP_FLAG = re.compile(r"\s*(?:with |: )?--map (\w+)=[^\s,]+")
_DATE_FLAG = re.compile(r"(?:with )?--date-format '([^']*)'")
_DATE_FLAG_BARE = re.compile(r"with --date-format\b")


def app_hint(hint: str) -> str:
    """A core hint in the app's words: CLI flags become the page's controls."""
    hint = _MAP_FLAG.sub(r" in the \1 dropdown under Column mapping", hint)
    hint = _DATE_FLAG.sub(r"by typing '\1' in the Dates override field", hint)
    return _DATE_FLAG_BARE.sub("in the Dates override field", hint)


def error_alert(error: CustsegError, *, title: str = "This file could not be used") -> dbc.Alert:
    """A red alert that says what is wrong and how to fix it (hint in the app's words)."""
    body: list[Component] = [
        html.H6(title, className="alert-heading mb-1"),
        html.P(error.message, className="mb-1", style={"whiteSpace": "pre-wrap"}),
    ]
    if error.hint:
        body.append(html.P([html.Strong("How to fix: "), app_hint(error.hint)], className="mb-0"))
    return dbc.Alert(body, color="danger", dismissable=True, className="mb-2")


POLITE = {"aria-live": "polite"}  # a region whose changes a screen reader reads out when idle


def message_alert(
    text: str | Sequence[Component | str], *, color: str = "info"
) -> dbc.Alert | html.Div:
    """A plain alert: a warning interrupts a screen reader (``role="alert"``, as errors do);
    news (success, info) is a polite ``role="status"`` message."""
    if color in ("success", "info"):
        return html.Div(text, className=f"alert alert-{color} mb-2", role="status")
    return dbc.Alert(text, color=color, dismissable=True, className="mb-2")


SPINNER_CLASS = "app-spinner"
SPINNER_LABEL_CLASS = "app-spinner-label"
SPINNER_TEXT = "Loading…"


def loading(children: Component | Sequence[Component], **kwargs: Any) -> dcc.Loading:
    """``dcc.Loading`` with the app's spinner (``.app-spinner`` in assets/app.css): a ring that
    turns in eight steps a second. dcc's own spinners animate every frame, which costs the
    browser a share of a core for as long as a callback runs, taken from the server when both
    share a machine (bench/README.md, the first page).

    The ring carries the text "Loading…": hidden on screen but read by a screen reader that
    reaches it, and shown in place of the turning ring to someone who asked their system for
    reduced motion (``prefers-reduced-motion``). Not a live region: the pages' own status
    regions (:func:`live_status`) announce long work once, in words that say what runs.
    """
    spinner = html.Div(
        html.Span(SPINNER_TEXT, className=SPINNER_LABEL_CLASS), className=SPINNER_CLASS
    )
    return dcc.Loading(children, custom_spinner=spinner, **kwargs)


def live_status(component_id: str, **kwargs: Any) -> html.Div:
    """A polite live region (``role="status"``) that callbacks fill with the progress of long
    work; a screen reader reads each change, after what it is saying."""
    return html.Div(id=component_id, role="status", **kwargs)


LANGUAGE = "en"


def dom_id(component_id: str | Mapping[str, Any]) -> str:
    """The ``id`` attribute Dash gives a component in the page (for ``<label for=...>``).

    A dict (pattern-matching) id becomes JSON with sorted keys and no spaces, as dash-renderer
    writes it.
    """
    if isinstance(component_id, str):
        return component_id
    return json.dumps(dict(component_id), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def label_for(
    text: str | Sequence[Component | str],
    component_id: str | Mapping[str, Any],
    *,
    name: str | None = None,
    **kwargs: Any,
) -> html.Label:
    """A ``<label>`` naming the control ``component_id`` for screen readers and axe.

    Plain inputs are named natively. Dash widgets that render their control inside a wrapper
    (sliders, dropdowns, the upload area) are named by ``assets/a11y.js`` from this label:
    ``name`` (the ``data-name`` attribute) when the label's text carries badges or marks.
    """
    extra = {"data-name": name} if name else {}
    return html.Label(text, htmlFor=dom_id(component_id), **extra, **kwargs)


def skip_link() -> html.A:
    """The first focusable element: jumps past the navigation bar to the page's content."""
    return html.A("Skip to content", href=f"#{ids.MAIN}", className="skip-link")


def navbar(pages: Iterable[Mapping[str, Any]], *, brand: str = "custseg") -> dbc.Navbar:
    """Top bar with one link per registered page (``dash.page_registry`` values, in order)."""
    links = [
        dbc.NavItem(dbc.NavLink(page["name"], href=page["relative_path"], active="exact"))
        for page in pages
    ]
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand(brand, href="/", className="fw-semibold"),
                dbc.Nav(links, navbar=True, className="me-auto"),
                html.Span("customer segmentation workbench", className="navbar-text small"),
            ],
            fluid=True,
        ),
        id=ids.NAVBAR,
        color="dark",
        dark=True,
        className="mb-3",
    )


# What the app's money words mean (README "Customer features"); the labels are FEATURE_SHORT's.
SPEND_HELP: dict[str, str] = {
    "gross": "Gross spend (gross): quantity × unit price summed over the purchase lines.",
    "returns_value": (
        "Returned value (returns_value): the amount of the cancellation lines (returns)."
    ),
    "monetary": (
        "Net spend (monetary): gross spend − returned value. Segments, revenue shares and "
        "exports use it."
    ),
    "avg_order_value": "Avg order value: net spend / orders.",
}

ANALYSIS_DATE_HELP = (
    "Recency and tenure are counted back from this day: the calendar day after the latest "
    "purchase in the data."
)


def data_header(
    name: str, first: dt.date | None, last: dt.date | None, analysis_date: dt.date | None
) -> list[Component]:
    """The line under the navbar: which data, its purchase dates and the analysis date."""
    parts: list[Component] = [html.Span("Data: ", className="text-muted"), html.Strong(name)]
    if first is not None and last is not None:
        parts += [
            html.Span(" · purchases ", className="text-muted"),
            html.Span(f"{first.isoformat()} to {last.isoformat()}", id=ids.DATA_HEADER_RANGE),
        ]
    if analysis_date is not None:
        parts += [
            html.Span(" · analysis date ", className="text-muted"),
            html.Span(
                analysis_date.isoformat(),
                id=ids.DATA_HEADER_ANALYSIS_DATE,
                title=ANALYSIS_DATE_HELP,
                className="text-decoration-underline",
                style={"textDecorationStyle": "dotted", "cursor": "help"},
            ),
        ]
    return parts


def field(label: str, control: Component, *extra: Component, md: int) -> dbc.Col:
    """A form row's column: a visible label tied to ``control`` (by its id), then ``extra``."""
    return dbc.Col([dbc.Label(label, html_for=control.id), control, *extra], md=md)


def form_row(fields: Sequence[dbc.Col], *, button: str, button_id: str) -> dbc.Row:
    """A row of form fields ended by its button (full width, level with the fields' bottom)."""
    action = dbc.Col(
        dbc.Button(button, id=button_id, className="w-100"),
        md=2,
        className="d-flex align-items-end",
    )
    return dbc.Row([*fields, action], className="g-2")


def card(title: str | Component, body: Component | Sequence[Component], **kwargs: Any) -> dbc.Card:
    """A titled card (the building block of every page)."""
    return dbc.Card(
        [dbc.CardHeader(title, className="fw-semibold"), dbc.CardBody(body)],
        className=kwargs.pop("className", "mb-3"),
        **kwargs,
    )
