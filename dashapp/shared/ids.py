"""Component ids of the app shell, used by every page.

Each page keeps its own ids in ``dashapp/pages/<page>/ids.py`` (prefixed with the page name;
repeated widgets use pattern-matching dict ids built by functions there).
``tests/dashapp/test_ids.py`` checks that no two modules give the same id string.
"""

from __future__ import annotations

SESSION = "session-store"  # dcc.Store(storage_type="session"): token + small JSON state
NAVBAR = "navbar"
SESSION_NOTICE = "session-notice"  # alert shown when a session had to be reset
ERROR_NOTICE = "error-notice"  # alert of an error no callback expected (dashapp.errors)
DATA_HEADER = "data-header"  # the data shown and its dates, under the navbar on every page
DATA_HEADER_RANGE = "data-header-range"
DATA_HEADER_ANALYSIS_DATE = "data-header-analysis-date"
MAIN = "main-content"  # the page content; the "Skip to content" link jumps here
