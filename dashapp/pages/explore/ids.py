"""Component ids of the Explore page (app-wide ids are in :mod:`dashapp.shared.ids`).

The string values are what the browser sees (callback requests, tests that select elements):
keep them when renaming a constant.
"""

from __future__ import annotations

EXPLORE_NOTE = "explore-note"  # headline: customers described, excluded customers
EXPLORE_ALERT = "explore-alert"  # what is wrong with the data, when it cannot be described
EXPLORE_DISTRIBUTIONS = "explore-distributions"
EXPLORE_CORRELATIONS = "explore-correlations"
EXPLORE_RF_GRID = "explore-rf-grid"
EXPLORE_ACTIVITY = "explore-activity"
EXPLORE_ACTIVITY_NOTE = "explore-activity-note"
EXPLORE_COUNTRIES = "explore-countries"
EXPLORE_SUMMARY = "explore-summary"  # holds the summary table
EXPLORE_SUMMARY_TABLE = "explore-summary-table"
