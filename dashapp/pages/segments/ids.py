"""Component ids of the Segments page (app-wide ids, such as the session store, are in
:mod:`dashapp.shared.ids`).

Plain strings for singletons; the segment cards' repeated widgets use pattern-matching dict ids
built by the functions below (matched with ``ALL``), whose ``type`` values are the ``*_TYPE``
constants. The string values are what browser tests, bench scripts and the page's clientside
code look up, so they never change.
"""

from __future__ import annotations

# The URL sync (dashapp.shared.urlstate): the query the page was opened with, the query the
# session state describes, and a hidden sink for the clientside callback writing the URL.
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
# Inside the clicked customer's orders panel (rendered by a callback, not in the skeleton).
SEGMENTS_ORDERS_GRID = "segments-orders-grid"
ORDERS_CUSTOMER = "orders-customer"  # the customer id shown above their orders

SEGMENT_NAME_TYPE = "segment-name"
SEGMENT_PICK_TYPE = "segment-pick"
SEGMENT_EXEMPLAR_TYPE = "segment-exemplar"
SEGMENT_TABLE_PICK_TYPE = "segment-table-pick"


def segment_name(segment: int) -> dict[str, str | int]:
    """Id of the name field on a segment's card."""
    return {"type": SEGMENT_NAME_TYPE, "segment": segment}


def segment_pick(segment: int) -> dict[str, str | int]:
    """Id of the "show these customers" button on a segment's card."""
    return {"type": SEGMENT_PICK_TYPE, "segment": segment}


def segment_table_pick(segment: int) -> dict[str, str | int]:
    """Id of the "Select <segment>" button in a row of the sizes chart's table alternative."""
    return {"type": SEGMENT_TABLE_PICK_TYPE, "segment": segment}


def segment_exemplar(customer: str) -> dict[str, str]:
    """Id of an exemplar customer's button on a segment card (shows their orders)."""
    return {"type": SEGMENT_EXEMPLAR_TYPE, "customer": customer}


def orders_spend(column: str) -> str:
    """Id of one spend figure above a customer's orders (gross, returns_value, monetary)."""
    return f"orders-spend-{column}"

# The Save control (dashapp.pages.segments.save).
SEGMENTS_SAVE_NAME = "segments-save-name"
SEGMENTS_SAVE_NOTE = "segments-save-note"
SEGMENTS_SAVE_BUTTON = "segments-save-button"
SEGMENTS_SAVE_ALERT = "segments-save-alert"
