"""The Changes page's data, Dash-free: the session's migration at a cutoff (``core.migration``)
and what the charts, the KPI cards, the grid and the link show.

The migration is computed by :func:`core.migration.migrate` from the session's transactions:
After is the session's customer table (a cache hit), Before is the same engine's table at the
cutoff, cached in the app's table cache; the migration itself is cached under both tables'
keys and its configuration, so a cutoff seen before answers from memory.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import polars as pl

from core import wording
from core.clustering.result import SegmentationResult
from core.columns import CUSTOMER
from core.errors import ConfigError, InputFileError
from core.export import Format
from core.migration import (
    AFTER,
    AT_RISK,
    BEFORE,
    EXCLUDED,
    FLOW_FROM,
    FLOW_TO,
    MODEL_CHOICES,
    MONEY_AFTER,
    MONEY_BEFORE,
    MOVE,
    NEW,
    RFM,
    Migration,
    MigrationConfig,
    fitted_config,
    migrate,
    period_tables,
)
from core.money import round_money
from core.rfm import RULESETS
from dashapp.services import AppServices
from dashapp.shared import workspace
from dashapp.shared.figures import NOISE_COLOR, segment_color
from dashapp.shared.loading import load_source, session_table
from dashapp.shared.modeling import fit, is_fitted, settings_of
from dashapp.shared.viewkit import InputRejectedError
from dashapp.state import SessionState

QUICK_DAYS: tuple[int, ...] = (30, 90, 180, 365)
DEFAULT_DAYS = 90
MODEL = "model"
SAVED = "saved"  # a saved segmentation of the workspace, named by the page's ``saved`` choice
BY_CHOICES: tuple[str, ...] = (RFM, MODEL, SAVED)
SIZE_CHOICES: tuple[str, ...] = ("customers", "revenue")
MAX_NAME = 200  # longest segment name a selection or a link may carry
# Rows the grid is sent (a flow may hold tens of thousands of customers; the export has all).
GRID_MAX_ROWS = 1_000
# The CUSTOMERS columns the grid shows (the export holds every column).
GRID_FIELDS: tuple[str, ...] = (
    CUSTOMER,
    BEFORE,
    AFTER,
    MOVE,
    MONEY_BEFORE,
    MONEY_AFTER,
    "recency_days",
    "frequency",
    "monetary",
    "country",
)


# --- the link ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChangesQuery:
    """What a link to the page asks for (each part validated; refused parts named)."""

    cutoff: dt.date | None = None
    by: str = RFM
    size: str = "customers"
    selection: dict[str, str] | None = None
    refused: tuple[str, ...] = ()
    saved: str | None = None


def parse_cutoff(value: object) -> dt.date:
    """A cutoff from a control or a link: ``YYYY-MM-DD`` (a time part is ignored)."""
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            pass
    raise InputRejectedError(f"the cutoff must be a date like 2011-09-01, got {value!r}"[:200])


def parse_saved(value: object) -> str | None:
    """The name of a saved segmentation from the page's choice or a link (None: none)."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and 0 < len(value.strip()) <= MAX_NAME:
        return value.strip()
    raise InputRejectedError(f"a saved segmentation is named by at most {MAX_NAME} characters")


def parse_selection(value: object) -> dict[str, str] | None:
    """A selected flow ``{"from": name, "to": name}``, or None (anything else is refused)."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        source, target = value.get("from"), value.get("to")
        if (
            isinstance(source, str)
            and isinstance(target, str)
            and 0 < len(source) <= MAX_NAME
            and 0 < len(target) <= MAX_NAME
        ):
            return {"from": source, "to": target}
    raise InputRejectedError("a selected flow names the segment it comes from and goes to")


def parse_query(query: Mapping[str, object]) -> ChangesQuery:
    """The page's state from a link's query parameters (cutoff, by, size, from, to)."""
    refused: list[str] = []
    cutoff = None
    if "cutoff" in query:
        try:
            cutoff = parse_cutoff(query["cutoff"])
        except InputRejectedError as exc:
            refused.append(exc.message)
    by = query.get("by", RFM)
    if by not in BY_CHOICES:
        refused.append(f"link parameter by must be one of {', '.join(BY_CHOICES)}")
        by = RFM
    size = query.get("size", "customers")
    if size not in SIZE_CHOICES:
        refused.append(f"link parameter size must be one of {', '.join(SIZE_CHOICES)}")
        size = "customers"
    selection = None
    if "from" in query or "to" in query:
        try:
            selection = parse_selection({"from": query.get("from"), "to": query.get("to")})
        except InputRejectedError as exc:
            refused.append(exc.message)
    saved = None
    try:
        saved = parse_saved(query.get("saved"))
    except InputRejectedError as exc:
        refused.append(exc.message)
    known = {"cutoff", "by", "size", "from", "to", "saved", "data", "file"}
    refused += [f"link parameter {str(k)[:40]} is unknown" for k in query if k not in known]
    return ChangesQuery(cutoff, str(by), str(size), selection, tuple(refused), saved)


def search_of(
    cutoff: dt.date | None,
    by: str,
    size: str,
    selection: Mapping[str, str] | None,
    saved: str | None = None,
) -> str:
    """The query string of the page's state (for the address bar): with the saved
    segmentation's name when the segments are a saved one's."""
    query = {"by": by, **({"saved": saved} if by == SAVED and saved else {}), "size": size}
    if cutoff is not None:
        query = {"cutoff": cutoff.isoformat(), **query}
    if selection:
        query = {**query, "from": selection["from"], "to": selection["to"]}
    return "?" + urlencode(query)


# --- the migration -------------------------------------------------------------------------------


def default_cutoff(analysis_date: dt.date, days: int = DEFAULT_DAYS) -> dt.date:
    """The cutoff ``days`` before the analysis date."""
    return analysis_date - dt.timedelta(days=days)


def migration_config(state: SessionState, by: str, cutoff: dt.date) -> MigrationConfig:
    """RFM with the RFM page's rule set, or the session's model settings (its algorithm)."""
    if by == RFM:
        key = state.view_settings("rfm").get("ruleset", "rfm11")
        return MigrationConfig(cutoff=cutoff, rule_set=RULESETS.get(str(key), RULESETS["rfm11"]))
    settings = settings_of(state)
    model = settings.model_config()
    if model.algorithm not in MODEL_CHOICES:
        raise ConfigError(
            f"the current model is {settings.algorithm!r}, which cannot assign customers of "
            "another date to its segments",
            "show the changes by RFM, or choose K-means, MiniBatch, GMM or hierarchical on "
            "the Model page",
        )
    return MigrationConfig(
        cutoff=cutoff, by=model.algorithm, preprocess=settings.preprocess_config(), model=model
    )


def saved_model(services: AppServices, name: str | None) -> SegmentationResult:
    """The model of the saved segmentation ``name``, if it can assign another date's
    customers (``CustsegError``: no name, unknown, damaged, HDBSCAN or a lost database)."""
    if name is None:
        raise InputRejectedError("choose a saved segmentation to show the changes by")
    _saved, result = workspace.saved_model(services, name)
    algorithm = result.segmentation.model_config.algorithm
    if algorithm not in MODEL_CHOICES:
        raise ConfigError(
            f"the saved segmentation {name!r} is {algorithm!r}, which cannot assign customers "
            "of another date to its segments",
            "show the changes by RFM, or choose a saved K-means, MiniBatch, GMM or "
            "hierarchical segmentation",
        )
    return result


def session_migration(
    state: SessionState,
    services: AppServices,
    cutoff: dt.date,
    by: str,
    saved: str | None = None,
) -> Migration:
    """The session's migration at ``cutoff`` by RFM, the current model or the saved
    segmentation ``saved`` (its model assigns both periods of the session's data), cached.

    Raises
    ------
    CustsegError
        The data does not load, the cutoff is outside it, or too few customers before it;
        the saved segmentation is missing or cannot be used.
    """
    table = session_table(state, services)
    source = services.source(state.dataset, state.session_id)
    if source is None:
        raise InputFileError("The uploaded file is no longer stored on the server.", "Upload it")
    fitted = saved_model(services, saved) if by == SAVED else None
    config = (
        fitted_config(cutoff, fitted) if fitted is not None else migration_config(state, by, cutoff)
    )
    loaded = load_source(source, state, services)
    periods = period_tables(loaded, cutoff, cleaning=state.cleaning_config(), cache=services.tables)
    if fitted is not None:
        return migrate(periods, config, cache=services.cache, fitted=fitted)
    previous = None
    if by == MODEL:
        settings = settings_of(state)
        if is_fitted(table, settings, services):
            previous = fit(table, settings, services, state)  # a cache hit: its names
    return migrate(periods, config, cache=services.cache, previous=previous)


def color_of(migration: Migration, name: str) -> str:
    """A segment's colour as the other pages draw it; grey for (new) and (excluded)."""
    if name in (NEW, EXCLUDED):
        return NOISE_COLOR
    index = migration.colors.get(name)
    return NOISE_COLOR if index is None else segment_color(index)


# --- what the page shows -------------------------------------------------------------------------


@dataclass(frozen=True)
class Kpi:
    label: str
    value: str
    hint: str
    tile_id: str


def kpis(migration: Migration) -> tuple[Kpi, ...]:
    """Retained, upgraded, downgraded, new customers and the revenue at risk."""
    s = migration.summary
    held = max(s.customers - s.new, 1)

    def share(n: int) -> str:
        return f"{n / held:.0%} of those who bought before"

    return (
        Kpi("Retained", f"{s.retained:,}", share(s.retained), "changes-kpi-retained"),
        Kpi("Upgraded", f"{s.upgraded:,}", share(s.upgraded), "changes-kpi-upgraded"),
        Kpi("Downgraded", f"{s.downgraded:,}", share(s.downgraded), "changes-kpi-downgraded"),
        Kpi("New", f"{s.new:,}", "first purchase on or after the cutoff", "changes-kpi-new"),
        Kpi(
            "Revenue at risk",
            f"{s.revenue_at_risk:,.0f}",
            f"spent before by the downgraded; {s.lapsed:,} lapsed",
            "changes-kpi-risk",
        ),
    )


def flow_value(flows: pl.DataFrame, size: str) -> pl.Series:
    """What a flow is sized by: customers, or net spend before the cutoff (never negative)."""
    if size == "revenue":
        return flows.get_column(MONEY_BEFORE).clip(lower_bound=0.0)
    return flows.get_column("customers").cast(pl.Float64)


def members(migration: Migration, selection: Mapping[str, str] | None) -> pl.DataFrame | None:
    """The CUSTOMERS rows of the selected flow (None: no flow selected)."""
    if not selection:
        return None
    return migration.members(selection["from"], selection["to"])


def grid_rows(frame: pl.DataFrame | None) -> list[dict[str, Any]]:
    """The grid's rows: the selected customers with their before and after figures (money to
    the cent, as the export writes it), at most :data:`GRID_MAX_ROWS`, highest spend before
    the cutoff first (ties by id); the export holds them all."""
    if frame is None:
        return []
    shown = frame.sort([MONEY_BEFORE, CUSTOMER], descending=[True, False]).head(GRID_MAX_ROWS)
    return round_money(shown.select(GRID_FIELDS)).to_dicts()


def caption(migration: Migration, selection: Mapping[str, str] | None, n: int) -> str:
    """What the grid lists, in words."""
    if not selection:
        return "Click a flow of the Sankey diagram or a cell of the matrix to list its customers."
    move = f"{selection['from']} → {selection['to']}"
    cutoff = migration.config.cutoff.isoformat()
    if n == 0:
        return f"No customer moved {move} at the cutoff {cutoff}."
    flow = migration.flows.filter(
        (pl.col(FLOW_FROM) == selection["from"]) & (pl.col(FLOW_TO) == selection["to"])
    ).row(0, named=True)
    risk = flow[AT_RISK]
    at_risk = f"; {risk:,.2f} of revenue at risk" if risk else ""
    moved = f"{wording.count(n, 'customer')} moved {move} ({flow[MOVE]})"
    shown = (
        f" The grid shows the {GRID_MAX_ROWS:,} who spent most before it; the export holds all."
        if n > GRID_MAX_ROWS
        else ""
    )
    return f"{moved} at the cutoff {cutoff}{at_risk}.{shown}"


def export_filename(migration: Migration, selection: Mapping[str, str], fmt: Format) -> str:
    """The downloaded list's file name: the flow and the cutoff, in plain characters."""

    def slug(text: str) -> str:
        kept = "".join(c.lower() if c.isalnum() else "-" for c in text)
        return "-".join(part for part in kept.split("-") if part)[:40] or "segment"

    flow = f"{slug(selection['from'])}-to-{slug(selection['to'])}"
    return f"changes-{migration.config.cutoff.isoformat()}-{flow}.{fmt}"
