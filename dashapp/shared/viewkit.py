"""Small helpers shared by the analysis views (Explore, Compare, RFM): input checks and the
alert shown when the session's data cannot be used yet.

Callbacks receive whatever a client posts, so every value is checked here before use; a bad
value raises :class:`InputRejectedError`, whose message the view shows in a ``dbc.Alert``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeVar

import dash_bootstrap_components as dbc
from dash import dcc, html

from core.errors import ConfigError, CustsegError, DataSufficiencyError
from dashapp.shared import components

T = TypeVar("T")


class InputRejectedError(ConfigError):
    """A callback input that is not one of the values the control can send.

    A :class:`~core.errors.ConfigError` like every rejected setting (one exception type, one
    message style: what is wrong, then how to fix it).
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, hint="Use the controls on the page, or reload it.")


def checked_int(value: object, *, low: int, high: int, name: str) -> int:
    """``value`` as an int in ``low..high`` (whole floats such as 4.0 accepted)."""
    whole = isinstance(value, int) or (
        isinstance(value, float) and math.isfinite(value) and value.is_integer()
    )
    if isinstance(value, bool) or not whole:
        raise InputRejectedError(
            f"{name} must be a whole number from {low} to {high}, got {value!r}"
        )
    assert isinstance(value, int | float)
    number = int(value)
    if not low <= number <= high:
        raise InputRejectedError(f"{name} must be from {low} to {high}, got {number}")
    return number


def checked_float(value: object, *, name: str) -> float:
    """``value`` as a finite float."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputRejectedError(f"{name} must be a number, got {value!r}")
    return float(value)


def checked_choice(value: object, choices: Sequence[T], *, name: str) -> T:
    """``value`` if it is one of ``choices``."""
    for choice in choices:
        if value == choice and type(value) is type(choice):
            return choice
    shown = ", ".join(repr(c) for c in choices)
    raise InputRejectedError(f"{name} must be one of {shown}, got {value!r}")


def data_problem_alert(error: CustsegError) -> dbc.Alert:
    """The session's data cannot be analysed: what is wrong, how to fix, where.

    Too little data (a :class:`~core.errors.DataSufficiencyError`) is told apart from data
    that does not load yet (mapping, parsing), since the fix differs.
    """
    if isinstance(error, DataSufficiencyError):
        title = "Not enough data for this view"
        where = ["Load more data on the ", "Data page", "."]
    else:
        title = "The data is not ready for this view"
        where = ["Fix it on the ", "Data page", "."]
    alert = components.error_alert(error, title=title)
    alert.children = [
        *alert.children,
        html.P(
            [where[0], dcc.Link(where[1], href="/", className="alert-link"), where[2]],
            className="mb-0 mt-1",
        ),
    ]
    return alert


def input_alert(error: InputRejectedError) -> dbc.Alert:
    """A rejected control value (normally only a hand-crafted request sends one)."""
    return dbc.Alert(
        [
            html.Strong("That setting was not applied: "),
            error.message,
            f". {error.hint}",
        ],
        color="warning",
        dismissable=True,
        className="mb-2",
    )
