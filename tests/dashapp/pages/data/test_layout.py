"""Data page skeleton: what it holds before the render callback fills it."""

from __future__ import annotations

import dashapp.pages.data as data_page
from dashapp.pages.data import ids
from dashapp.pages.data.layout import DEFAULT_MAX_UPLOAD_BYTES, build
from dashapp.services import AppServices
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
