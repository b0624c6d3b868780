"""Component ids of the Changes page (app-wide ones, such as the session store, are in
:mod:`dashapp.shared.ids`). Browser tests and saved URLs rely on these strings: keep them."""

from __future__ import annotations

CHANGES_CUTOFF = "changes-cutoff"
CHANGES_QUICK = "changes-quick"  # pattern-matching: {"type": CHANGES_QUICK, "days": N}
CHANGES_BY = "changes-by"
CHANGES_SAVED = "changes-saved"  # the saved segmentation (by name) when the segments are one's
CHANGES_SAVED_HELP = "changes-saved-help"
CHANGES_SIZE = "changes-size"
CHANGES_ALERT = "changes-alert"
CHANGES_METHOD = "changes-method"
CHANGES_KPIS = "changes-kpis"
CHANGES_SANKEY = "changes-sankey"
CHANGES_MATRIX = "changes-matrix"
CHANGES_SELECTION = "changes-selection"
CHANGES_CLEAR = "changes-clear"
CHANGES_CAPTION = "changes-caption"
CHANGES_GRID = "changes-grid"
CHANGES_FORMAT = "changes-format"
CHANGES_EXPORT = "changes-export"
CHANGES_DOWNLOAD = "changes-download"
CHANGES_EXPORT_ALERT = "changes-export-alert"
# The URL sync: the query the page was opened with, the query to show, and the clientside sink.
CHANGES_QUERY = "changes-query"
CHANGES_SEARCH = "changes-search"
CHANGES_URL_SINK = "changes-url-sink"
