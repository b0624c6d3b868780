"""The Segments page's customer grid, served block by block (AG Grid infinite row model).

The browser asks for rows ``startRow..endRow`` with the grid's sort and column filters; the
server filters (selected segment, lasso region, quick search, column filters), sorts and slices
the segmentation's members in Polars and sends only that block. So the grid scrolls through
100,000 customers while the browser holds a few hundred rows. Every part of a request is
checked: unknown columns, filter types or values are refused (:class:`GridRequestError`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from core.clustering.result import SegmentationResult
from core.columns import CUSTOMER
from core.money import round_money
from dashapp.shared.components import SPEND_HELP
from dashapp.shared.segment_figures import FEATURE_SHORT
from dashapp.shared.value import with_predictions

MAX_BLOCK = 1_000  # rows per request (the grid asks for cacheBlockSize = 200)
MAX_SEARCH = 100
MAX_POLYGON = 5_000
ORDERS_MAX_LINES = 5_000

GRID_COLUMNS: tuple[str, ...] = (
    CUSTOMER,
    "segment",
    "segment_name",
    "recency_days",
    "frequency",
    "monetary",
    "avg_order_value",
    "n_products",
    "tenure_days",
    "return_rate",
    "country",
    "last_purchase",
    # predicted value (dashapp.shared.value.PREDICTION_COLUMNS); empty without predictions
    "p_alive",
    "expected_orders",
    "predicted_revenue",
)
TEXT_COLUMNS = frozenset({CUSTOMER, "segment_name", "country", "last_purchase"})
NUMBER_COLUMNS = frozenset(c for c in GRID_COLUMNS if c not in TEXT_COLUMNS)
TEXT_FILTERS = frozenset(
    {"contains", "notContains", "equals", "notEqual", "startsWith", "endsWith", "blank", "notBlank"}
)
NUMBER_FILTERS = frozenset(
    {
        "equals",
        "notEqual",
        "lessThan",
        "lessThanOrEqual",
        "greaterThan",
        "greaterThanOrEqual",
        "inRange",
        "blank",
        "notBlank",
    }
)


PREDICTION_HELP = {
    "p_alive": "Probability the customer is still active (BG/NBD; see the Value page)",
    "expected_orders": "Expected purchase days over the Value page's horizon",
    "predicted_revenue": "Expected orders x expected spend per order over the horizon",
}


class GridRequestError(ValueError):
    """A grid request the grid itself would not send (unknown column, filter or value)."""


def column_defs() -> list[dict[str, Any]]:
    """Column definitions: numbers right-aligned with number filters, text with text filters."""
    headers = {
        CUSTOMER: "Customer",
        "segment": "Seg.",
        "segment_name": "Segment",
        "country": "Country",
        "last_purchase": "Last order",
        **FEATURE_SHORT,
        "p_alive": "p_alive",
        "expected_orders": "Expected orders",
        "predicted_revenue": "Predicted revenue",
    }
    defs: list[dict[str, Any]] = []
    for column in GRID_COLUMNS:
        col: dict[str, Any] = {"field": column, "headerName": headers.get(column, column)}
        if column in NUMBER_COLUMNS:
            col["type"] = "numericColumn"
            col["filter"] = "agNumberColumnFilter"
            if column in {"monetary", "avg_order_value"}:
                col["valueFormatter"] = {"function": "d3.format(',.2f')(params.value)"}
                col["headerTooltip"] = SPEND_HELP[column]
            elif column in PREDICTION_HELP:
                col["valueFormatter"] = {
                    "function": "params.value == null ? '' : d3.format(',.2f')(params.value)"
                }
                col["headerTooltip"] = PREDICTION_HELP[column]
            elif column == "return_rate":
                col["valueFormatter"] = {"function": "d3.format('.1%')(params.value)"}
        else:
            col["filter"] = "agTextColumnFilter"
        if column == "segment":
            col["maxWidth"] = 90
        elif column in (CUSTOMER, "country", "last_purchase"):
            col["minWidth"] = 110
        elif column == "segment_name":
            col["minWidth"] = 170
        defs.append(col)
    return defs


def members_frame(
    result: SegmentationResult, features: pl.DataFrame, predictions: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Every clustered customer with its segment, name and features (sorted by id), money to
    the cent as the exported lists write it (:func:`core.money.round_money`), and the
    predicted value (empty without ``predictions``, :mod:`dashapp.shared.value`)."""
    features = with_predictions(features, predictions)
    present = [c for c in GRID_COLUMNS if c in features.columns and c != CUSTOMER]
    return round_money(
        result.assignments()
        .join(features.select(CUSTOMER, *present), on=CUSTOMER, how="left")
        .with_columns(pl.col("last_purchase").cast(pl.String))
        .select(CUSTOMER, "segment", "segment_name", *[c for c in present if c != "segment"])
    )


# --- selection ------------------------------------------------------------------------------


def _points(values: object, what: str) -> np.ndarray:
    if not isinstance(values, list) or not 0 < len(values) <= MAX_POLYGON:
        raise GridRequestError(f"{what} must be a list of 1..{MAX_POLYGON} numbers")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise GridRequestError(f"{what} holds a value that is not a number: {v!r}")
        out.append(float(v))
    return np.asarray(out)


def parse_region(selected: object) -> dict[str, list[float]] | None:
    """The lasso polygon or box of a ``selectedData`` event, checked (None: no region)."""
    if not isinstance(selected, dict):
        return None
    lasso = selected.get("lassoPoints")
    if isinstance(lasso, dict):
        x, y = _points(lasso.get("x"), "lasso x"), _points(lasso.get("y"), "lasso y")
        if x.size != y.size or x.size < 3:
            raise GridRequestError("a lasso needs the same number (>= 3) of x and y points")
        return {"x": x.tolist(), "y": y.tolist()}
    box = selected.get("range")
    if isinstance(box, dict):
        x, y = _points(box.get("x"), "box x"), _points(box.get("y"), "box y")
        if x.size != 2 or y.size != 2:
            raise GridRequestError("a box needs two x and two y bounds")
        x0, x1 = sorted(x.tolist())
        y0, y1 = sorted(y.tolist())
        return {"x": [x0, x1, x1, x0], "y": [y0, y0, y1, y1]}
    return None


def inside_polygon(
    px: np.ndarray, py: np.ndarray, vx: Sequence[float], vy: Sequence[float]
) -> np.ndarray:
    """Boolean mask of points inside the polygon (even-odd ray casting, vectorised)."""
    inside = np.zeros(px.shape[0], dtype=bool)
    n = len(vx)
    j = n - 1
    for i in range(n):
        xi, yi, xj, yj = vx[i], vy[i], vx[j], vy[j]
        crosses = (yi > py) != (yj > py)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_cross = (xj - xi) * (py - yi) / (yj - yi) + xi
        inside ^= crosses & (px < x_cross)
        j = i
    return inside


def region_members(result: SegmentationResult, region: Mapping[str, Sequence[float]]) -> list[str]:
    """Ids of every clustered customer whose projection point lies in ``region``.

    All customers count, not only the sampled points on screen.
    """
    seg = result.segmentation
    mask = inside_polygon(seg.projection[:, 0], seg.projection[:, 1], region["x"], region["y"])
    return seg.customer_ids[mask].tolist()


@dataclass(frozen=True)
class Selection:
    """What the grid shows: a segment (None = all), a region's members, a quick search."""

    segment: int | None = None
    region_ids: tuple[str, ...] | None = None
    search: str | None = None


def parse_search(value: object) -> str | None:
    """The quick-search text (stripped, at most ``MAX_SEARCH`` characters) or None."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_SEARCH:
        raise GridRequestError(f"the search must be text of at most {MAX_SEARCH} characters")
    value = value.strip()
    return value or None


def select(frame: pl.DataFrame, selection: Selection) -> pl.DataFrame:
    """Rows of ``frame`` in the selection (segment, region, search over id/name/country)."""
    out = frame
    if selection.segment is not None:
        out = out.filter(pl.col("segment") == selection.segment)
    if selection.region_ids is not None:
        out = out.filter(pl.col(CUSTOMER).is_in(list(selection.region_ids)))
    if selection.search:
        needle = selection.search.lower()
        searched = [c for c in (CUSTOMER, "segment_name", "country") if c in out.columns]
        out = out.filter(
            pl.any_horizontal(
                pl.col(c).str.to_lowercase().str.contains(needle, literal=True).fill_null(False)
                for c in searched
            )
        )
    return out


# --- column filters and sorting -----------------------------------------------------------------


def _number(value: object, column: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise GridRequestError(f"filter on {column}: {value!r} is not a number")
    return float(value)


def _text(value: object, column: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_SEARCH:
        raise GridRequestError(f"filter on {column}: expected short text, got {value!r}")
    return value.lower()


def _condition(column: str, spec: Mapping[str, Any]) -> pl.Expr:
    kind = spec.get("type")
    col = pl.col(column)
    if kind == "blank":
        return col.is_null()
    if kind == "notBlank":
        return col.is_not_null()
    if column in NUMBER_COLUMNS:
        if kind not in NUMBER_FILTERS:
            raise GridRequestError(f"unknown number filter {kind!r} on {column}")
        value = _number(spec.get("filter"), column)
        if kind == "inRange":
            high = _number(spec.get("filterTo"), column)
            return col.is_between(min(value, high), max(value, high))
        ops = {
            "equals": col == value,
            "notEqual": col != value,
            "lessThan": col < value,
            "lessThanOrEqual": col <= value,
            "greaterThan": col > value,
            "greaterThanOrEqual": col >= value,
        }
        return ops[kind].fill_null(False)
    if kind not in TEXT_FILTERS:
        raise GridRequestError(f"unknown text filter {kind!r} on {column}")
    text = _text(spec.get("filter"), column)
    low = col.cast(pl.String).str.to_lowercase()
    ops = {
        "contains": low.str.contains(text, literal=True),
        "notContains": ~low.str.contains(text, literal=True),
        "equals": low == text,
        "notEqual": low != text,
        "startsWith": low.str.starts_with(text),
        "endsWith": low.str.ends_with(text),
    }
    return ops[kind].fill_null(False)


def filter_expr(filter_model: object) -> pl.Expr | None:
    """A Polars predicate for an AG Grid ``filterModel`` (simple or two-condition filters)."""
    if filter_model in (None, {}):
        return None
    if not isinstance(filter_model, dict) or len(filter_model) > len(GRID_COLUMNS):
        raise GridRequestError("the filter model must be an object keyed by column")
    parts: list[pl.Expr] = []
    for column, spec in filter_model.items():
        if column not in GRID_COLUMNS:
            raise GridRequestError(f"unknown column {str(column)[:40]!r} in the filter")
        if not isinstance(spec, dict):
            raise GridRequestError(f"the filter on {column} must be an object")
        conditions = spec.get("conditions")
        if conditions is not None:
            if not isinstance(conditions, list) or not 1 <= len(conditions) <= 2:
                raise GridRequestError(f"the filter on {column} has 1 or 2 conditions")
            if not all(isinstance(c, dict) for c in conditions):
                raise GridRequestError(f"the conditions on {column} must be objects")
            exprs = [_condition(column, c) for c in conditions]
            operator = spec.get("operator", "AND")
            if operator not in ("AND", "OR"):
                raise GridRequestError(f"unknown operator {operator!r} on {column}")
            parts.append(
                pl.all_horizontal(exprs) if operator == "AND" else pl.any_horizontal(exprs)
            )
        else:
            parts.append(_condition(column, spec))
    return pl.all_horizontal(parts)


def sort_columns(sort_model: object) -> tuple[list[str], list[bool]]:
    """Columns and descending flags of an AG Grid ``sortModel`` (customer id breaks ties)."""
    if sort_model in (None, []):
        return [CUSTOMER], [False]
    if not isinstance(sort_model, list) or len(sort_model) > len(GRID_COLUMNS):
        raise GridRequestError("the sort model must be a list of columns")
    columns: list[str] = []
    descending: list[bool] = []
    for item in sort_model:
        if not isinstance(item, dict):
            raise GridRequestError("each sort entry must be an object")
        column, direction = item.get("colId"), item.get("sort")
        if column not in GRID_COLUMNS or direction not in ("asc", "desc"):
            raise GridRequestError(f"cannot sort by {str(column)[:40]!r} {str(direction)[:10]!r}")
        if column not in columns:
            columns.append(column)
            descending.append(direction == "desc")
    if CUSTOMER not in columns:
        columns.append(CUSTOMER)
        descending.append(False)
    return columns, descending


def rows_block(frame: pl.DataFrame, request: object) -> dict[str, Any]:
    """The ``getRowsResponse`` for an infinite-model ``getRowsRequest``."""
    if not isinstance(request, dict):
        raise GridRequestError("a grid request must be an object")
    start, end = request.get("startRow"), request.get("endRow")
    if (
        isinstance(start, bool)
        or isinstance(end, bool)
        or not isinstance(start, int)
        or not isinstance(end, int)
        or not 0 <= start <= end
        or end - start > MAX_BLOCK
    ):
        raise GridRequestError(f"rows {start!r}..{end!r} are not a block of at most {MAX_BLOCK}")
    predicate = filter_expr(request.get("filterModel"))
    if predicate is not None:
        frame = frame.filter(predicate)
    columns, descending = sort_columns(request.get("sortModel"))
    frame = frame.sort(columns, descending=descending, nulls_last=True)
    block = frame.slice(start, end - start)
    return {"rowData": block.to_dicts(), "rowCount": frame.height}


def customer_orders(purchases: pl.DataFrame, customer: str) -> pl.DataFrame:
    """A customer's purchase lines, newest first (at most ``ORDERS_MAX_LINES``).

    Only the columns the file has: a role the mapping leaves out (the unit price of a file
    with line amounts only) is empty on every line and is not shown.
    """
    columns = [
        c
        for c in ("invoice", "order_date", "product", "description", "quantity", "price", "amount")
        if c in purchases.columns and purchases.get_column(c).null_count() < purchases.height
    ]
    return (
        purchases.filter(pl.col(CUSTOMER) == customer)
        .select(columns)
        .sort("order_date", descending=True, nulls_last=True)
        .head(ORDERS_MAX_LINES)
    )


def orders_summary(purchases: pl.DataFrame, customer: str) -> dict[str, Any]:
    """Orders, lines and spend of one customer's purchase lines."""
    lines = purchases.filter(pl.col(CUSTOMER) == customer)
    # Without an invoice column an order is a customer's purchase time (as in core.features).
    key = "invoice" if lines.get_column("invoice").null_count() < lines.height else "order_date"
    orders = lines.get_column(key).n_unique() if lines.height else 0
    return {
        "lines": lines.height,
        "orders": orders,
        "amount": float(lines.get_column("amount").sum()) if lines.height else 0.0,
    }


__all__ = [
    "GRID_COLUMNS",
    "GridRequestError",
    "Selection",
    "column_defs",
    "customer_orders",
    "filter_expr",
    "inside_polygon",
    "members_frame",
    "orders_summary",
    "parse_region",
    "parse_search",
    "region_members",
    "rows_block",
    "select",
    "sort_columns",
]
