"""The session's predicted value (:mod:`core.clv`), shared by the Value page, the Segments
page's grid and cards and the Export page's lists: one computation, cached per table and
settings, so every page shows the same numbers.

The settings (time unit, horizon, calibration end) live in the session state under
``views["value"]``; the Value page's controls write them. A stored value that is not valid
falls back to its default (the state is the browser's to edit).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import polars as pl

from core import clv
from core.cache import get_or_compute, make_key
from core.codec import register_dataclass
from core.columns import CUSTOMER
from core.errors import CustsegError
from core.pipeline import CustomerTable
from dashapp.services import AppServices
from dashapp.state import SessionState

VIEW = "value"
UNITS: tuple[str, ...] = tuple(clv.UNIT_DAYS)
# The columns the customer grid and the exported lists gain.
PREDICTION_COLUMNS: tuple[str, ...] = ("p_alive", "expected_orders", "predicted_revenue")


def config_of(state: SessionState) -> clv.ClvConfig:
    """The session's prediction settings (defaults where a stored value is not valid)."""
    stored = state.view_settings(VIEW)
    unit = stored.get("time_unit")
    unit = unit if unit in UNITS else clv.DEFAULT_UNIT
    horizon = stored.get("horizon")
    valid_horizon = (
        isinstance(horizon, int | float)
        and not isinstance(horizon, bool)
        and math.isfinite(horizon)
        and horizon > 0
    )
    end = stored.get("calibration_end")
    try:
        day = dt.date.fromisoformat(end) if isinstance(end, str) else None
    except ValueError:
        day = None
    return clv.ClvConfig(
        calibration_end=day,
        time_unit=unit,  # type: ignore[arg-type]
        horizon=float(horizon) if valid_horizon else None,  # type: ignore[arg-type]
    )


def settings_document(config: clv.ClvConfig) -> dict[str, Any]:
    """``config`` as the small JSON the session state keeps."""
    end = config.calibration_end
    return {
        "time_unit": config.time_unit,
        "horizon": config.horizon,
        "calibration_end": None if end is None else end.isoformat(),
    }


def session_clv(
    table: CustomerTable, config: clv.ClvConfig, services: AppServices
) -> clv.ClvResult:
    """The predictions for ``table`` at ``config`` (cached per table and settings)."""
    key = make_key("clv", table.key, config)
    return get_or_compute(
        services.cache, key, lambda: clv.predict_clv(clv.table_lines(table), config)
    )


def predictions_or_none(
    state: SessionState, table: CustomerTable, services: AppServices
) -> pl.DataFrame | None:
    """``customer_id`` and :data:`PREDICTION_COLUMNS` at the session's settings, or None when
    the data cannot be predicted (too little history, ...): the page showing them then shows
    its own figures without the predictions, and the Value page says why."""
    try:
        result = session_clv(table, config_of(state), services)
    except CustsegError:
        return None
    return result.table.select(CUSTOMER, *PREDICTION_COLUMNS)


def with_predictions(frame: pl.DataFrame, predictions: pl.DataFrame | None) -> pl.DataFrame:
    """``frame`` (one row per customer) with :data:`PREDICTION_COLUMNS` joined on by id; empty
    where a customer has none (no purchase before the calibration end, or no predictions)."""
    if predictions is None:
        predictions = pl.DataFrame(
            schema={CUSTOMER: pl.String(), **dict.fromkeys(PREDICTION_COLUMNS, pl.Float64())}
        )
    return frame.join(predictions, on=CUSTOMER, how="left", maintain_order="left")


def segment_value(clv_table: pl.DataFrame, assignments: pl.DataFrame) -> pl.DataFrame:
    """Per segment: customers with a prediction, predicted revenue over the horizon and the
    share likely lost (p_alive below :data:`core.clv.LIKELY_LOST`), by segment number."""
    return (
        assignments.join(clv_table, on=CUSTOMER, how="inner")
        .group_by("segment", "segment_name")
        .agg(
            pl.len().alias("customers"),
            pl.col("predicted_revenue").sum(),
            (pl.col("p_alive") < clv.LIKELY_LOST).mean().alias("likely_lost_share"),
        )
        .sort("segment")
    )


# A prediction is data (parameters, the per-customer table, the holdout figures): the shared
# cache folder keeps it, so the other workers of a deployment reuse it.
for _kind in (clv.ClvConfig, clv.BgNbd, clv.GammaGamma, clv.ClvResult):
    register_dataclass(_kind)
