"""Data page view: uploads, refused files, control values, and the session's customer table."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.cache import fingerprint_bytes
from core.cleaning import REASON_LABELS
from core.columns import ROLES
from core.errors import InputFileError, SchemaError
from dashapp.pages.data import ids
from dashapp.pages.data.view import (
    TOO_LARGE_HINT,
    control_changes,
    negative_amount_note,
    problem_title,
    rejected_file_error,
    save_upload,
)
from dashapp.services import AppServices
from dashapp.shared.loading import DataView, data_view, session_table
from dashapp.state import TOGGLEABLE_RULES, SessionState, StateError, new_state, parse_state
from tests.dashapp.helpers import data_url, sales_csv, upload
from tests.dashapp.pages.data.test_figures import make_audit

pytestmark = pytest.mark.usefixtures("app_ctx")

ROLE_IDS = [ids.role_dropdown(r) for r in ROLES]


def test_save_upload_keeps_a_readable_file(services: AppServices, state: SessionState) -> None:
    uploaded = save_upload(data_url(sales_csv()), "dir/march sales.csv", services, state.session_id)
    assert uploaded.filename == "march sales.csv"  # folders dropped
    assert (uploaded.format, uploaded.columns) == ("csv", 7)
    assert services.uploads.get(uploaded.key, state.session_id) is not None


def test_save_upload_discards_an_unreadable_file(
    services: AppServices, state: SessionState
) -> None:
    content = b"Invoice,Customer,Date\n"
    with pytest.raises(InputFileError, match="no data rows"):
        save_upload(data_url(content), "header.csv", services, state.session_id)
    assert services.uploads.get(fingerprint_bytes(content), state.session_id) is None
    assert not (services.uploads.directory / f"{fingerprint_bytes(content)}.data").exists()
    with pytest.raises(InputFileError, match="base64"):
        save_upload("data:text/csv,abc", "plain.csv", services, state.session_id)


def test_rejected_file_error() -> None:
    error = rejected_file_error({"name": "../huge.csv", "size": 3 * 1024**2}, 1024**2)
    assert error is not None
    assert error.message == "'huge.csv' is 3.0 MB; this server accepts files up to 1 MB."
    assert error.hint == TOO_LARGE_HINT
    for bad in (None, [], {"name": "x"}, {"name": "x", "size": "big"}, {"size": -1}):
        assert rejected_file_error(bad, 1024**2) is None


def test_control_changes_detects_only_when_the_mapping_is_shown(services: AppServices) -> None:
    state = new_state(services)

    def never() -> dict[str, str] | None:
        raise AssertionError("detection is not needed without mapping dropdowns")

    changes = control_changes(state, [], [" %d/%m/%Y "], [["duplicate"]], [], detect=never)
    assert changes["date_format"] == "%d/%m/%Y"
    assert changes["cleaning"] == {rule: rule == "duplicate" for rule in TOGGLEABLE_RULES}
    assert "mapping" not in changes
    detected = data_view(state, services).detected
    values = [detected.get(r) for r in ROLES]
    same = control_changes(state, values, [], [], ROLE_IDS, detect=lambda: detected)
    assert same == {"mapping": None}  # the detected mapping stays "detect"
    with pytest.raises(StateError):
        control_changes(state, values, [], [["drop_tables"]], ROLE_IDS, detect=lambda: detected)


def test_problem_title() -> None:
    assert problem_title(DataView(filename="f", is_default=False)) == (
        "This file could not be used"
    )
    assert problem_title(DataView(filename="f", is_default=False, columns=("a",))) == (
        "This mapping does not work yet"
    )


def test_negative_amount_note_names_the_rules_and_says_why() -> None:
    audit = make_audit({"missing_customer": 20, "non_product": 3})
    assert negative_amount_note(audit) is None  # every dropped amount is positive
    reasons = tuple(
        replace(r, revenue=-150.0) if r.reason in ("non_product", "duplicate") else r
        for r in audit.reasons
    )
    note = negative_amount_note(replace(audit, reasons=reasons))
    assert note is not None
    # Only rules that dropped lines: "duplicate" dropped none, so its amount is not explained.
    assert f"“{REASON_LABELS['non_product']}”" in note
    assert REASON_LABELS["duplicate"] not in note
    assert "discounts" in note
    assert "raises the kept total" in note


def test_session_table_for_views(services: AppServices) -> None:
    state = new_state(services)
    table = session_table(state, services)
    assert table.n_customers == data_view(state, services).customers
    data = upload(sales_csv(customer_header="Who"), "who.csv", state.to_json())
    with pytest.raises(SchemaError, match="customer"):
        session_table(parse_state(data, services), services)


def test_customer_tables_reach_the_shared_disk_cache(services: AppServices) -> None:
    """Other workers reuse a session's table through the disk tier of the cache."""
    state = new_state(services)
    table = session_table(state, services)
    assert services.cache.disk is not None
    stored = services.cache.disk.get(table.key)
    assert stored is not None
    assert stored.audit == table.audit
