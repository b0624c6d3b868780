"""Component ids of the Data page (app-wide ids such as the session store are in
:mod:`dashapp.shared.ids`).

The values are part of the app's interface: browser tests and the upload guard script
(``assets/upload_guard.js``) find components by them, so they never change.
"""

from __future__ import annotations

UPLOAD = "upload"
UPLOAD_GUARD = "upload-guard"  # wrapper carrying data-max-bytes for the browser-side check
UPLOAD_REJECTED = "upload-rejected"  # dcc.Store the browser-side size check writes to
UPLOAD_ALERT = "upload-alert"
UPLOAD_STATUS = "upload-status"  # live region: "Reading the file…" while an upload is read
DATASET_SUMMARY = "dataset-summary"
MAPPING_TITLE = "mapping-title"  # "Column mapping", or "Dataset" for a feature table
MAPPING_HELP = "mapping-help"  # how to map (transactions) or what the dataset is (features)
MAPPING_FORM = "mapping-form"
MAPPING_ALERT = "mapping-alert"
DATE_INFO = "date-info"
CLEANING_FORM = "cleaning-form"
AUDIT_FUNNEL = "audit-funnel"
AUDIT_TABLE = "audit-table"
AUDIT_TABLE_WRAP = "audit-table-wrap"
SUFFICIENCY = "sufficiency"
PREVIEW = "preview"
PREVIEW_CAPTION = "preview-caption"

# Controls rendered from the session state. They are pattern-matching ids even when single
# (matched with ALL), so they exist only once rendered: the page skeleton holds no placeholder
# whose default value could be mistaken for a user's choice.
ROLE_TYPE = "role-dropdown"
DATE_FORMAT_TYPE = "date-format"
CLEANING_RULES_TYPE = "cleaning-rules"

PROVENANCE = "data-provenance"  # where a feature table came from (Spark output, ...)

def role_dropdown(role: str) -> dict[str, str]:
    """Id of the column-mapping dropdown for ``role`` (one per role in ``core.columns.ROLES``)."""
    return {"type": ROLE_TYPE, "role": role}


def date_format_input() -> dict[str, str | int]:
    """Id of the date-format override field."""
    return {"type": DATE_FORMAT_TYPE, "index": 0}


def cleaning_rules() -> dict[str, str | int]:
    """Id of the cleaning-rule checklist."""
    return {"type": CLEANING_RULES_TYPE, "index": 0}
