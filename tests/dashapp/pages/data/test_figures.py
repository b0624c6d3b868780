"""Data page figures: the audit funnel for a view, and its placeholders."""

from __future__ import annotations

import pytest

from dashapp.pages.data import figures
from dashapp.services import AppServices
from dashapp.shared import figures as shared_figures
from dashapp.shared.loading import DataView, data_view
from dashapp.state import new_state
from tests.dashapp.helpers import as_json


def _annotation(fig: object) -> str:
    return as_json(fig)["layout"]["annotations"][0]["text"]


@pytest.mark.usefixtures("app_ctx")
def test_audit_funnel_of_a_view(services: AppServices) -> None:
    view = data_view(new_state(services), services)
    assert view.table is not None
    fig = figures.audit_funnel(view)
    assert as_json(fig) == as_json(shared_figures.audit_funnel(view.table.audit))
    assert fig.data[0].x[0] == view.table.audit.rows_in
    assert fig.data[0].x[-1] == view.table.audit.rows_kept


def test_audit_funnel_without_an_audit_says_why() -> None:
    fig = figures.audit_funnel(DataView(filename="f.csv", is_default=False))
    assert fig.data == ()
    assert _annotation(fig) == figures.NO_AUDIT


def test_loading_funnel() -> None:
    fig = figures.loading_funnel()
    assert fig.data == ()
    assert _annotation(fig) == "Loading…"
