"""Component ids of the Library page (app-wide ids are in :mod:`dashapp.shared.ids`)."""

from __future__ import annotations

from typing import Any

LIBRARY_ALERT = "library-alert"
LIBRARY_SEARCH = "library-search"
LIBRARY_SORT = "library-sort"
LIBRARY_TABLE = "library-table"
LIBRARY_VERSION = "library-version"  # bumped after a rename or a delete: the list is redrawn
LIBRARY_PENDING = "library-pending"  # {"action": "rename" | "delete", "name": ...} or None
LIBRARY_RENAME_PANEL = "library-rename-panel"
LIBRARY_RENAME_INPUT = "library-rename-input"
LIBRARY_RENAME_APPLY = "library-rename-apply"
LIBRARY_DELETE_PANEL = "library-delete-panel"
LIBRARY_DELETE_TEXT = "library-delete-text"
LIBRARY_DELETE_CONFIRM = "library-delete-confirm"
LIBRARY_CANCEL_RENAME = "library-cancel-rename"
LIBRARY_CANCEL_DELETE = "library-cancel-delete"
LIBRARY_OPENED_LINK = "library-opened-link"

OPEN = "library-open"
RENAME = "library-rename"
DELETE = "library-delete"


def row_button(kind: str, name: str) -> dict[str, Any]:
    """The pattern-matching id of a row's Open / Rename / Delete button."""
    return {"type": kind, "name": name}

# Reading transactions from an operator-configured database source (core.sources).
LIBRARY_SOURCE = "library-source"
LIBRARY_SOURCE_HELP = "library-source-help"
LIBRARY_SOURCE_TABLE = "library-source-table"
LIBRARY_SOURCE_QUERY = "library-source-query"
LIBRARY_SOURCE_READ = "library-source-read"
LIBRARY_SOURCE_ALERT = "library-source-alert"

# Scoring a file with a saved segmentation (dashapp.pages.library.score).
LIBRARY_SCORE_SAVED = "library-score-saved"
LIBRARY_SCORE_DATA = "library-score-data"
LIBRARY_SCORE_UPLOAD = "library-score-upload"
LIBRARY_SCORE_REJECTED = "library-score-rejected"  # a file over the limit (upload_guard.js)
LIBRARY_SCORE_FILE = "library-score-file"  # {"key", "filename"} of the uploaded file
LIBRARY_SCORE_BUTTON = "library-score-button"
LIBRARY_SCORE_ALERT = "library-score-alert"
LIBRARY_SCORE_RESULT = "library-score-result"
LIBRARY_SCORE_RUN = "library-score-run"  # what was scored: {"saved", "data", "key", "filename"}
LIBRARY_SCORE_FORMAT = "library-score-format"
LIBRARY_SCORE_EXPORT = "library-score-export"
LIBRARY_SCORE_DOWNLOAD = "library-score-download"
