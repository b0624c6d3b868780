"""Data page skeleton: what it holds before the render callback fills it."""

from __future__ import annotations

import dashapp.pages.data as data_page
from dashapp.pages.data import ids
from dashapp.pages.data.layout import DEFAULT_MAX_UPLOAD_BYTES, audit_report, build
from dashapp.pages.data.view import negative_amount_note
from dashapp.services import AppServices
from dashapp.shared.loading import data_view
from dashapp.state import new_state
from tests.dashapp.helpers import as_json, find_ids, texts


def test_layout_skeleton_has_no_pre_rendered_controls(services: AppServices, app_ctx: None) -> None:
    tree = as_json(data_page.layout())
    found = find_ids(tree)
    for expected in (ids.UPLOAD, ids.MAPPING_FORM, ids.AUDIT_FUNNEL, ids.PREVIEW, ids.SUFFICIENCY):
        assert expected in found
    # Controls appear only when rendered from the state: no default value can leak into it.
    assert not [i for i in found if isinstance(i, dict)]
    assert f"up to {services.max_upload_bytes // 1024**2} MB" in texts(tree)


def test_build_renders_without_arguments() -> None:
    tree = as_json(build())
    assert ids.UPLOAD_ALERT in find_ids(tree)
    assert f"up to {DEFAULT_MAX_UPLOAD_BYTES // 1024**2} MB" in texts(tree)
    # A query parameter named like the limit is ignored like any other.
    assert as_json(build(max_upload_bytes="1")) == tree  # type: ignore[call-arg]


def test_audit_report_explains_a_negative_amount_dropped(
    services: AppServices, app_ctx: None
) -> None:
    view = data_view(new_state(services), services)
    assert view.table is not None
    negative = [s for s in view.table.audit.reasons if s.rows and s.revenue < 0]
    assert negative  # the default data's cancellations sum to a negative amount
    shown = texts(as_json(audit_report(view)))
    assert negative_amount_note(view.table.audit) in shown
