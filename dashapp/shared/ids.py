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
CLEANING_FORM = "cleaning-form"
AUDIT_FUNNEL = "audit-funnel"
AUDIT_TABLE = "audit-table"
AUDIT_TABLE_WRAP = "audit-table-wrap"
SUFFICIENCY = "sufficiency"
PREVIEW = "preview"
PREVIEW_CAPTION = "preview-caption"

# Controls the Data page renders from the session state. They are pattern-matching ids even
# when single (matched with ALL), so they exist only once rendered: the page skeleton holds no
# placeholder whose default value could be mistaken for a user's choice.
ROLE_TYPE = "role-dropdown"
DATE_FORMAT_TYPE = "date-format"
CLEANING_RULES_TYPE = "cleaning-rules"


def role_dropdown(role: str) -> dict[str, str]:
    """Id of the column-mapping dropdown for ``role`` (one per role in ``core.columns.ROLES``)."""
    return {"type": ROLE_TYPE, "role": role}


def date_format_input() -> dict[str, str | int]:
    """Id of the date-format override field."""
    return {"type": DATE_FORMAT_TYPE, "index": 0}


def cleaning_rules() -> dict[str, str | int]:
    """Id of the cleaning-rule checklist."""
    return {"type": CLEANING_RULES_TYPE, "index": 0}


# --- Explore, Compare and RFM pages (dashapp.pages.explore / compare / rfm) -----------------

# Explore page.
EXPLORE_NOTE = "explore-note"
EXPLORE_ALERT = "explore-alert"
EXPLORE_DISTRIBUTIONS = "explore-distributions"
EXPLORE_CORRELATIONS = "explore-correlations"
EXPLORE_RF_GRID = "explore-rf-grid"
EXPLORE_ACTIVITY = "explore-activity"
EXPLORE_ACTIVITY_NOTE = "explore-activity-note"
EXPLORE_COUNTRIES = "explore-countries"
EXPLORE_SUMMARY = "explore-summary"
EXPLORE_SUMMARY_TABLE = "explore-summary-table"

# Compare page: the k and cut-height sliders drive each other (one callback); the stores hold
# the identity of the data + settings compared and the user's selection (keys, never frames).
COMPARE_K = "compare-k"
COMPARE_HEIGHT = "compare-height"
COMPARE_KEY = "compare-key"
COMPARE_SELECTION = "compare-selection"
COMPARE_ALERT = "compare-alert"
COMPARE_METHOD = "compare-method"
COMPARE_DENDROGRAM = "compare-dendrogram"
COMPARE_SIZES = "compare-sizes"
COMPARE_METRICS = "compare-metrics"
COMPARE_CONTINGENCY = "compare-contingency"
COMPARE_SANKEY = "compare-sankey"
COMPARE_CLEAR = "compare-clear"
COMPARE_SELECTION_CAPTION = "compare-selection-caption"
COMPARE_GRID = "compare-grid"
COMPARE_SCATTER = "compare-scatter"

# RFM page. Its controls are rendered from the session state (pattern-matching ids, as on the
# Data page), so they always show the stored choice.
RFM_NOTE = "rfm-note"
RFM_ALERT = "rfm-alert"
RFM_CONTROLS = "rfm-controls"
RFM_WARNINGS = "rfm-warnings"
RFM_TREEMAP = "rfm-treemap"
RFM_TABLE = "rfm-table"
RFM_SEGMENT_TABLE = "rfm-segment-table"
RFM_GRID = "rfm-grid"
RFM_GRID_NOTE = "rfm-grid-note"
RFM_SETTING_TYPE = "rfm-setting"


def rfm_setting(name: str) -> dict[str, str]:
    """Id of an RFM page control: ``"ruleset"``, ``"bins"`` or ``"color"``."""
    return {"type": RFM_SETTING_TYPE, "name": name}


# --- Model, Segments and Export pages (dashapp.pages.model / segments / export) -------------

# Each of these pages keeps the URL in step with the session state: a store with the query the
# page was opened with (applied to the state once, validated), a store with the query string
# the state describes, and a hidden sink for the clientside callback that writes it to the URL.
MODEL_URL_QUERY = "model-url-query"
MODEL_URL_SEARCH = "model-url-search"
MODEL_URL_SINK = "model-url-sink"
MODEL_ALERT = "model-alert"
MODEL_CONTROLS = "model-controls"
MODEL_SUMMARY = "model-summary"
MODEL_K_FIGURE = "model-k-figure"
MODEL_K_TEXT = "model-k-text"
MODEL_USE_K = "model-use-k"
MODEL_STABILITY = "model-stability"
MODEL_STABILITY_FIGURE = "model-stability-figure"
MODEL_JOB = "model-job"  # dcc.Store: a fit request for the background job (settings, no data)
MODEL_JOB_DONE = "model-job-done"  # dcc.Store: what the job computed (cache keys only)
MODEL_PROGRESS_WRAP = "model-progress-wrap"
MODEL_PROGRESS = "model-progress"
MODEL_PROGRESS_TEXT = "model-progress-text"
MODEL_CANCEL = "model-cancel"
MODEL_STATUS = "model-status"
MODEL_SETTING_TYPE = "model-setting"

SEGMENTS_URL_QUERY = "segments-url-query"
SEGMENTS_URL_SEARCH = "segments-url-search"
SEGMENTS_URL_SINK = "segments-url-sink"
SEGMENTS_ALERT = "segments-alert"
SEGMENTS_SUMMARY = "segments-summary"
SEGMENTS_SCATTER = "segments-scatter"
SEGMENTS_SCATTER_NOTE = "segments-scatter-note"
SEGMENTS_SIZES = "segments-sizes"
SEGMENTS_HEATMAP = "segments-heatmap"
SEGMENTS_CARDS = "segments-cards"
SEGMENTS_NAME_ALERT = "segments-name-alert"
SEGMENTS_NAMES_REV = "segments-names-rev"  # dcc.Store: bumped when a name is saved
SEGMENTS_LASSO = "segments-lasso"  # dcc.Store: the lasso/box region drawn (coordinates only)
SEGMENTS_SELECTION = "segments-selection"
SEGMENTS_CLEAR = "segments-clear"
SEGMENTS_SEARCH = "segments-search"
SEGMENTS_GRID = "segments-grid"
SEGMENTS_GRID_SINK = "segments-grid-sink"
SEGMENTS_ORDERS = "segments-orders"
SEGMENT_NAME_TYPE = "segment-name"
SEGMENT_PICK_TYPE = "segment-pick"
SEGMENT_EXEMPLAR_TYPE = "segment-exemplar"

EXPORT_URL_QUERY = "export-url-query"
EXPORT_URL_SEARCH = "export-url-search"
EXPORT_URL_SINK = "export-url-sink"
EXPORT_ALERT = "export-alert"
EXPORT_SUMMARY = "export-summary"
EXPORT_SEGMENTS = "export-segments"
EXPORT_FORMAT = "export-format"
EXPORT_COUNT = "export-count"
EXPORT_PREVIEW = "export-preview"
EXPORT_LIST_BUTTON = "export-list-button"
EXPORT_BUNDLE_BUTTON = "export-bundle-button"
EXPORT_REPORT_BUTTON = "export-report-button"
EXPORT_DOWNLOAD_LIST = "export-download-list"
EXPORT_DOWNLOAD_BUNDLE = "export-download-bundle"
EXPORT_DOWNLOAD_REPORT = "export-download-report"


def model_setting(name: str) -> dict[str, str]:
    """Id of a Model page control: ``features``, ``scaler``, ``algorithm``, ``linkage``, ``k``
    or ``seed`` (rendered from the session state, matched with ``ALL``)."""
    return {"type": MODEL_SETTING_TYPE, "name": name}


def segment_name(segment: int) -> dict[str, str | int]:
    """Id of the name field on a segment's card."""
    return {"type": SEGMENT_NAME_TYPE, "segment": segment}


def segment_pick(segment: int) -> dict[str, str | int]:
    """Id of the "show these customers" button on a segment's card."""
    return {"type": SEGMENT_PICK_TYPE, "segment": segment}


def segment_exemplar(customer: str) -> dict[str, str]:
    """Id of an exemplar customer's button on a segment card (shows their orders)."""
    return {"type": SEGMENT_EXEMPLAR_TYPE, "customer": customer}
