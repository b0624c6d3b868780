"""Pure component builders."""

from __future__ import annotations

import pytest

from core.errors import InputFileError
from dashapp.shared import components
from tests.dashapp.helpers import as_json, nodes, texts


def test_error_alert_shows_message_and_hint() -> None:
    alert = as_json(
        components.error_alert(InputFileError("No rows in 'x.csv'.", hint="Export again."))
    )
    assert alert["props"]["color"] == "danger"
    shown = texts(alert)
    assert "No rows in 'x.csv'." in shown
    assert "How to fix:" in shown
    assert "Export again." in shown
    no_hint = texts(as_json(components.error_alert(InputFileError("Bad."))))
    assert "How to fix" not in no_hint


def test_navbar_lists_pages_in_order() -> None:
    pages = [
        {"name": "Data", "relative_path": "/"},
        {"name": "Explore", "relative_path": "/explore"},
    ]
    links = [n for n in nodes(as_json(components.navbar(pages))) if n["type"] == "NavLink"]
    assert [(n["props"]["children"], n["props"]["href"]) for n in links] == [
        ("Data", "/"),
        ("Explore", "/explore"),
    ]


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        (
            "map it to a column: --map customer=COLUMN",
            "map it to a column in the customer dropdown under Column mapping",
        ),
        (
            "map the columns explicitly, e.g. --map customer='Who'",
            "map the columns explicitly, e.g. in the customer dropdown under Column mapping",
        ),
        (
            "give the date layout explicitly, e.g. --date-format '%d/%m/%Y' (detected), "
            "or map another column with --map date=COLUMN",
            "give the date layout explicitly, e.g. by typing '%d/%m/%Y' in the Dates override "
            "field (detected), or map another column in the date dropdown under Column mapping",
        ),
        ("save the data as CSV", "save the data as CSV"),
    ],
)
def test_app_hint_speaks_of_the_page_not_cli_flags(hint: str, expected: str) -> None:
    assert components.app_hint(hint) == expected
    shown = texts(as_json(components.error_alert(InputFileError("x", hint=hint))))
    assert "--map" not in shown
    assert "--date-format" not in shown


def test_news_is_a_polite_status_and_problems_are_alerts() -> None:
    """A screen reader reads news when idle (role="status"); warnings and errors interrupt it
    (dbc.Alert renders role="alert")."""
    for color in ("success", "info"):
        news = as_json(components.message_alert("Saved.", color=color))
        assert news["type"] == "Div"
        assert news["props"]["role"] == "status"
        assert f"alert-{color}" in news["props"]["className"]
    warning = as_json(components.message_alert("Check the mapping.", color="warning"))
    assert (warning["type"], warning["namespace"]) == ("Alert", "dash_bootstrap_components")
    assert as_json(components.error_alert(InputFileError("Bad.")))["type"] == "Alert"
    region = as_json(components.live_status("x-status"))
    assert region["props"]["role"] == "status"
