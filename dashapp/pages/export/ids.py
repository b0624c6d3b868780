"""Component ids of the Export page (app-wide ids, e.g. the session store, are in
:mod:`dashapp.shared.ids`). Browser tests and saved links rely on these exact strings."""

from __future__ import annotations

# The URL sync (see dashapp.shared.urlstate): the link's query, the query to show, a sink.
EXPORT_URL_QUERY = "export-url-query"
EXPORT_URL_SEARCH = "export-url-search"
EXPORT_URL_SINK = "export-url-sink"

EXPORT_ALERT = "export-alert"
EXPORT_STATUS = "export-status"  # live region: "Preparing …" while a download is built
EXPORT_SUMMARY = "export-summary"
EXPORT_SEGMENTS = "export-segments"
EXPORT_FORMAT = "export-format"
EXPORT_COUNT = "export-count"
EXPORT_ROW_COUNT = "export-row-count"  # the count line inside EXPORT_COUNT
EXPORT_PREVIEW = "export-preview"
EXPORT_LIST_BUTTON = "export-list-button"
EXPORT_BUNDLE_BUTTON = "export-bundle-button"
EXPORT_REPORT_BUTTON = "export-report-button"
EXPORT_DOWNLOAD_LIST = "export-download-list"
EXPORT_DOWNLOAD_BUNDLE = "export-download-bundle"
EXPORT_DOWNLOAD_REPORT = "export-download-report"
