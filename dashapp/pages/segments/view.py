"""What the Segments page shows, computed without Dash: the session's segmentation with its
selected segment, the customers the grid lists, one customer's orders, the names' revision.

The selected segment is stored in the session state (:func:`modeling.selected_segment`). A
stored selection the current segmentation does not have (a segment above k, or the HDBSCAN
noise after a refit without noise) counts as no selection.

The grid's rows come from :mod:`dashapp.pages.segments.grid`: the selection (segment, region
drawn on the projection, quick search) and the grid's sort and filters are applied on the
server, over every clustered customer.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from core import wording
from core.clustering.result import SegmentationResult
from core.columns import CUSTOMER
from dashapp.pages.segments import grid
from dashapp.shared import value
from dashapp.shared.modeling import SessionModel, query_of, search_string, selected_segment
from dashapp.shared.segment_figures import ProfileMatrix, profile_matrix
from dashapp.state import SessionState


class NoChange(Exception):  # noqa: N818 (a signal, not an error)
    """The event leaves the page as it is (the callback answers with ``PreventUpdate``)."""


def valid_selected(state: SessionState, model: SessionModel) -> int | None:
    """The session's selected segment if ``model`` has it (-1: the noise), else None."""
    segment = selected_segment(state)
    if segment is None:
        return None
    if segment == -1:
        return -1 if model.result.segmentation.n_noise else None
    return segment if segment < model.result.k else None


@dataclass(frozen=True)
class SegmentsView:
    """The session's segmentation as the page's charts, cards and summary show it."""

    result: SegmentationResult
    features: pl.DataFrame  # the customers' features (the profiles' input)
    selected: int | None  # the segment shown alone (-1: the noise); None: all segments
    seed: int  # the model's seed: the projection samples large segmentations with it
    settings: str  # the model settings, in words
    model_search: str  # query string opening the Model page on these settings
    # Per segment: predicted revenue over the horizon and the share likely lost
    # (dashapp.shared.value.segment_value); None without predictions.
    value: pl.DataFrame | None = None
    horizon: str = ""  # the predictions' horizon in words ("52 weeks")

    @functools.cached_property
    def profiles(self) -> ProfileMatrix:
        """The profiles' matrix (:func:`profile_matrix`), computed once for the heatmap, its
        table and its summary."""
        return profile_matrix(self.result, self.features)

    @property
    def summary(self) -> str:
        """How many segments of how many customers."""
        customers = wording.count(self.result.overview.customers, "customer")
        return f"{wording.count(self.result.k, 'segment')} of {customers}"


def segments_view(
    state: SessionState, model: SessionModel, *, predictions: pl.DataFrame | None = None
) -> SegmentsView:
    """The page's view of ``model`` for the session ``state`` (``predictions``: the session's
    predicted value per customer, :func:`dashapp.shared.value.predictions_or_none`)."""
    config = value.config_of(state)
    return SegmentsView(
        result=model.result,
        features=model.table.features,
        selected=valid_selected(state, model),
        seed=model.settings.seed,
        settings=model.settings.describe(),
        model_search=search_string(query_of(state)),
        value=None
        if predictions is None
        else value.segment_value(predictions, model.result.assignments()),
        horizon=f"{config.horizon_units:g} {config.time_unit}s",
    )


def next_selection(current: int | None, chosen: object, order: Sequence[int]) -> int | None:
    """The segment to select once the user chose ``chosen`` (None: all segments).

    ``order`` holds the segments the page shows. Choosing is idempotent: choosing the selected
    segment again (a double click on a bar or a card's button) keeps it selected; "show all"
    is the way back to every segment.
    Raises :class:`NoChange` for a segment the page does not show or an unchanged selection.
    """
    if chosen is not None and (
        isinstance(chosen, bool) or not isinstance(chosen, int) or chosen not in order
    ):
        raise NoChange
    if chosen == current:
        raise NoChange
    return chosen


# --- the customer grid ----------------------------------------------------------------------


def region_ids(region_store: object, result: SegmentationResult) -> tuple[str, ...] | None:
    """Customers inside the stored region, if it was drawn on this segmentation (else None)."""
    if not isinstance(region_store, dict) or region_store.get("key") != result.key:
        return None
    try:
        region = grid.parse_region({"lassoPoints": region_store.get("region")})
    except grid.GridRequestError:
        return None
    if region is None:
        return None
    return tuple(grid.region_members(result, region))


def grid_selection(
    state: SessionState, model: SessionModel, region_store: object, search: object
) -> grid.Selection:
    """What the grid lists: the selected segment, the drawn region's members, the search.

    Raises :class:`grid.GridRequestError` for a search the field never sends.
    """
    return grid.Selection(
        segment=valid_selected(state, model),
        region_ids=region_ids(region_store, model.result),
        search=grid.parse_search(search),
    )


def grid_block(
    model: SessionModel,
    selection: grid.Selection,
    request: object,
    predictions: pl.DataFrame | None = None,
) -> tuple[dict[str, Any], int]:
    """The grid's block of rows for ``request`` and how many customers ``selection`` holds
    (with the predicted-value columns, empty without ``predictions``).

    Raises :class:`grid.GridRequestError` for a request the grid never sends.
    """
    members = grid.members_frame(model.result, model.table.features, predictions)
    frame = grid.select(members, selection)
    return grid.rows_block(frame, request), frame.height


# --- a customer's orders --------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerOrders:
    """One customer's purchase lines (newest first) and their totals."""

    customer: str
    segment: str  # the name of the customer's segment
    lines: pl.DataFrame
    summary: dict[str, Any]  # orders, lines, amount (grid.orders_summary) and SPEND_COLUMNS


# The customer's spend as the grid and the exports show it (their feature row), not re-summed.
SPEND_COLUMNS: tuple[str, ...] = ("gross", "returns_value", "monetary")


def customer_spend(features: pl.DataFrame, customer: str) -> dict[str, float]:
    """Gross spend, returned value and net spend of ``customer`` (from the feature table)."""
    row = features.filter(pl.col(CUSTOMER) == customer).select(SPEND_COLUMNS)
    return {c: float(row.item(0, c) or 0.0) for c in SPEND_COLUMNS} if row.height else {}


class OrdersUnavailable(Exception):  # noqa: N818 (carries the message the page shows)
    """The customer's orders cannot be shown; the message says why."""


def customer_orders(model: SessionModel, customer: str) -> CustomerOrders:
    """The purchase lines of ``customer`` (from the session's cleaned lines, on the server)."""
    seg = model.result.segmentation
    position = int(np.searchsorted(seg.customer_ids, customer))
    if position >= seg.n or seg.customer_ids[position] != customer:
        raise OrdersUnavailable(f"Customer {customer!r} is not in this segmentation.")
    purchases = model.table.purchases
    if purchases is None:
        raise OrdersUnavailable("The order lines are not available.")
    return CustomerOrders(
        customer=customer,
        segment=model.result.name_of(int(seg.labels[position])),
        lines=grid.customer_orders(purchases, customer),
        summary={
            **grid.orders_summary(purchases, customer),
            **customer_spend(model.table.features, customer),
        },
    )


# --- names ----------------------------------------------------------------------------------


def same_name(value: object, current: str) -> bool:
    """Whether ``value`` is ``current`` once its spaces are collapsed (a re-rendered field)."""
    return isinstance(value, str) and " ".join(value.split()) == current


def names_revision(names: Sequence[str]) -> str:
    """A short digest of the segment names: the charts and cards redraw when it changes."""
    return hashlib.sha256("\x1f".join(names).encode()).hexdigest()[:16]
