"""Every component id of the app, in one place.

Plain strings for singletons. Repeated widgets use pattern-matching dict ids built by the
functions below, so callbacks can match them with ``ALL`` / ``MATCH``; the ``type`` values are
the ``*_TYPE`` constants. A new view adds its ids here, prefixed with the page name.
"""

from __future__ import annotations

# App shell (dashapp.app).
SESSION = "session-store"  # dcc.Store(storage_type="session"): token + small JSON state
NAVBAR = "navbar"
SESSION_NOTICE = "session-notice"  # alert shown when a session had to be reset

# Data page (dashapp.pages.data).
UPLOAD = "upload"
UPLOAD_GUARD = "upload-guard"  # wrapper carrying data-max-bytes for the browser-side check
UPLOAD_REJECTED = "upload-rejected"  # dcc.Store the browser-side size check writes to
UPLOAD_ALERT = "upload-alert"
DATASET_SUMMARY = "dataset-summary"
MAPPING_FORM = "mapping-form"
MAPPING_ALERT = "mapping-alert"
DATE_INFO = "date-info"
DATE_FORMAT = "date-format"
CLEANING_FORM = "cleaning-form"
CLEANING_RULES = "cleaning-rules"
AUDIT_FUNNEL = "audit-funnel"
AUDIT_TABLE = "audit-table"
SUFFICIENCY = "sufficiency"
PREVIEW = "preview"
PREVIEW_CAPTION = "preview-caption"

ROLE_TYPE = "role-dropdown"


def role_dropdown(role: str) -> dict[str, str]:
    """Id of the column-mapping dropdown for ``role`` (one per role in ``core.columns.ROLES``)."""
    return {"type": ROLE_TYPE, "role": role}
