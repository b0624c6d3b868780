"""Segments over time: who moved between segments since a cutoff date, and what it is worth.

One cleaned transaction set and a cutoff date C give two customer tables, both from the one
definition of the features (:mod:`core.features`):

* **After**: every line, analysed as of the usual analysis date (or the one given): the
  engine's table (:func:`core.pipeline.build_customer_table`, what ``custseg features`` and
  the app run);
* **Before**: the lines dated before C, analysed as of C (``analysis_date=C``,
  ``window_end=C - 1 day``), as if the export had been taken that morning: the same
  aggregates over the lines After's engine pass kept (:func:`before_table`), which equals the
  engine's table with that :class:`core.features.FeatureConfig` without cleaning every line
  again for each cutoff.

Each customer of After gets ``segment_before`` and ``segment_after``: :data:`NEW` when the
customer bought nothing before C, :data:`EXCLUDED` when the period's net spend is <= 0 (the
feature table's ``excluded``). By RFM each period is scored on its own quantiles with one rule
set (:func:`core.rfm.segment_customers`); by a clustering model the model is fitted on Before
(:func:`core.clustering.service.segment_customers`) and After is assigned with that same
fitted preprocessing and model (:func:`core.clustering.persist.score_customers`: nearest
centre, or the highest posterior for a Gaussian mixture), so a segment means the same thing
on both dates; an already fitted model (a saved segmentation) assigns both periods the same
way, nothing refitted (:func:`fitted_labels`).

``monetary_before`` is the Before table's ``monetary`` (0 for a new customer),
``monetary_after`` the whole-period ``monetary`` minus it: their sum is the whole-period net
spend. Segments are ranked by value: the mean ``monetary_before`` of their Before customers
(1 = highest), :data:`EXCLUDED` below every segment. A move to a better rank is an upgrade,
to a worse one a downgrade; a move to or from a segment nobody held before C is "moved".
A flow is one (from, to) pair; its revenue at risk is the Before net spend of its customers
when it is a downgrade, else 0.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from core import money
from core.cache import ResultCache, get_or_compute, make_key
from core.cleaning import CleaningConfig
from core.clustering.config import ModelConfig, PreprocessConfig
from core.clustering.persist import score_customers
from core.clustering.result import SegmentationResult
from core.clustering.service import segment_customers as fit_segments
from core.columns import CUSTOMER, ROW
from core.errors import ConfigError, DataSufficiencyError
from core.features import FeatureConfig, avg_order_value, features_with_date, return_rate
from core.naming import color_indices
from core.pipeline import CustomerTable, LoadedTransactions, build_customer_table
from core.rfm import RFM11, SEGMENT, RuleSet, sufficiency_warnings
from core.rfm import segment_customers as rfm_segments

NEW = "(new)"
EXCLUDED = "(excluded)"
RFM = "rfm"
MODEL_CHOICES: tuple[str, ...] = ("kmeans", "minibatch", "gmm", "hierarchical")
BY_CHOICES: tuple[str, ...] = (RFM, *MODEL_CHOICES)
MOVES: tuple[str, ...] = ("new", "retained", "upgraded", "downgraded", "moved")
BEFORE, AFTER = "segment_before", "segment_after"
MONEY_BEFORE, MONEY_AFTER = "monetary_before", "monetary_after"
MOVE = "move"
FLOW_FROM, FLOW_TO = "from_segment", "to_segment"
AT_RISK = "revenue_at_risk"
# Float columns are kept to this many decimals: the engine's float sums differ from one run to
# the next in their last bits (summation order), and the same inputs must give the same files.
# Sums of amounts with up to 6 decimals are exact at this precision.
FLOAT_DECIMALS = 6


def steady_features(features: pl.DataFrame) -> pl.DataFrame:
    """A feature table with its sums of money to :data:`FLOAT_DECIMALS` decimals and the
    ratios computed again from them (``core.features``' own expressions), so that every float
    has the same bits on every run: rounding a noisy ratio could land either side of a
    half-unit (a net of 24.691357 over 2 orders is 12.3456785)."""
    sums = [c for c in ("gross", "returns_value", "monetary") if c in features.columns]
    fixed = steady(features.select(CUSTOMER, *sums)).drop(CUSTOMER)
    ratios = [
        expr
        for expr in (avg_order_value(), return_rate())
        if expr.meta.output_name() in features.columns
    ]
    return steady(features.with_columns(fixed).with_columns(ratios))


def exact_sum(column: str) -> pl.Expr:
    """The sum of a money column added as whole millionths (:func:`core.money.exact_sum`): the
    same whatever order a group's values are added in."""
    return money.exact_sum(pl.col(column)).alias(column)


def steady(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every float column rounded to :data:`FLOAT_DECIMALS` decimals (and a
    negative zero, the rounding of a tiny negative noise, made 0)."""
    floats = [name for name, dtype in frame.schema.items() if dtype.is_float()]
    rounded = pl.col(floats).round(FLOAT_DECIMALS)
    # abs() of a zero, as Polars simplifies ``x + 0.0`` to ``x`` (which keeps -0.0).
    return frame.with_columns(pl.when(rounded == 0).then(rounded.abs()).otherwise(rounded))


@dataclass(frozen=True)
class MigrationConfig:
    """What a migration is computed by: the cutoff and RFM or a clustering model.

    ``by`` is ``"rfm"`` (``rule_set`` applies) or a model's algorithm (``model`` applies,
    and its ``algorithm`` must be ``by``). HDBSCAN is not offered: its segments cannot be
    assigned to new customers without re-deciding noise.
    """

    cutoff: dt.date
    by: str = RFM
    rule_set: RuleSet = RFM11
    preprocess: PreprocessConfig = PreprocessConfig()
    model: ModelConfig = ModelConfig()

    def __post_init__(self) -> None:
        if not isinstance(self.cutoff, dt.date) or isinstance(self.cutoff, dt.datetime):
            raise ConfigError(
                f"the cutoff must be a date, got {self.cutoff!r}", "use a date like 2011-09-01"
            )
        if self.by not in BY_CHOICES:
            raise ConfigError(
                f"segments by {self.by!r} are not offered for a migration",
                f"use one of: {', '.join(BY_CHOICES)}",
            )
        if self.by not in (RFM, self.model.algorithm):
            raise ConfigError(
                f"the model's algorithm {self.model.algorithm!r} is not {self.by!r}",
                "give a model config of the algorithm the migration is by",
            )

    @property
    def n_segments(self) -> int:
        """How many segments the Before customers are split into (the rule set's, or k)."""
        if self.by == RFM:
            return len(self.rule_set.segment_names)
        return int(self.model.k or 0)


@dataclass(frozen=True)
class Periods:
    """The Before and After customer tables of one cutoff."""

    before: CustomerTable
    after: CustomerTable
    cutoff: dt.date


def before_config(cutoff: dt.date, features: FeatureConfig = FeatureConfig()) -> FeatureConfig:
    """The feature options of Before: lines dated before ``cutoff``, analysed as of it."""
    return FeatureConfig(
        analysis_date=cutoff,
        use_gross=features.use_gross,
        window_start=features.window_start,
        window_end=cutoff - dt.timedelta(days=1),
    )


def purchase_range(after: CustomerTable) -> tuple[dt.date, dt.date] | None:
    """The first and last purchase dates of a customer table (None: no purchase)."""
    frame = after.features
    if frame.height == 0:
        return None
    first = frame.get_column("first_purchase").min()
    last = frame.get_column("last_purchase").max()
    return first, last  # type: ignore[return-value]


def check_cutoff(after: CustomerTable, cutoff: dt.date) -> None:
    """A cutoff must leave purchases on both sides: after the first day, up to the last."""
    span = purchase_range(after)
    if span is None:
        raise DataSufficiencyError(
            "the data has no purchase line, so no cutoff can split it",
            "load a file with purchases",
        )
    first, last = span
    if not first < cutoff <= last:
        raise ConfigError(
            f"the cutoff {cutoff} is outside the data's range: purchases run from {first} "
            f"to {last}",
            f"choose a cutoff after {first} and on or before {last}",
        )


def period_tables(
    loaded: LoadedTransactions,
    cutoff: dt.date,
    *,
    cleaning: CleaningConfig = CleaningConfig(),
    features: FeatureConfig = FeatureConfig(),
    cache: ResultCache | None = None,
) -> Periods:
    """Before and After of ``loaded`` at ``cutoff`` (``features``: the After options).

    Raises :class:`ConfigError` for a cutoff outside the purchases' dates.
    """
    after = build_customer_table(loaded, cleaning=cleaning, features=features, cache=cache)
    check_cutoff(after, cutoff)
    before = before_table(after, cutoff, features, cache=cache)
    return Periods(before=before, after=after, cutoff=cutoff)


def before_table(
    after: CustomerTable,
    cutoff: dt.date,
    features: FeatureConfig = FeatureConfig(),
    *,
    cache: ResultCache | None = None,
) -> CustomerTable:
    """Before's customer table: the features of the lines After's engine pass kept (purchases
    and returns, read back once per table and process) dated before ``cutoff``, analysed as
    of it, by the engine's own aggregates over frames (:func:`core.features.compute_features`;
    the same table as ``build_customer_table`` with :func:`before_config`, without cleaning
    every line again). Cached under After's key and the cutoff.
    """
    config = before_config(cutoff, features)
    key = make_key("before_table", after.key, config)

    def compute() -> CustomerTable:
        purchases, returns = after.purchases, after.returns
        if purchases is None or returns is None:
            raise ValueError("the After table has no source lines to read back")
        table, _ = features_with_date(purchases, returns, config)
        return CustomerTable(
            features=table,
            audit=after.audit,
            analysis_date=cutoff,
            read=after.read,
            schema=after.schema,
            key=key,
            warnings=tuple(str(w) for w in sufficiency_warnings(table)),
        )

    return get_or_compute(cache, key, compute, lambda hit: isinstance(hit, CustomerTable))


def combine_transactions(parts: Sequence[LoadedTransactions]) -> LoadedTransactions:
    """Several files of one layout read as one transaction set (lines in file order).

    Each file was read and normalized on its own; the lines are numbered on from one file
    to the next (``source_row``), so the cleaning rules (duplicates too) see one set.
    """
    if not parts:
        raise ConfigError("no input file given", "give at least one transaction file")
    if len(parts) == 1:
        return parts[0]
    first = parts[0].mapping.as_dict()
    for index, part in enumerate(parts[1:], start=2):
        roles = part.mapping.as_dict()
        if roles != first:
            raise ConfigError(
                f"input {index} maps its columns differently from input 1 ({roles} vs {first})",
                "give files of one layout, or map the columns with --map",
            )
    lines: list[pl.LazyFrame] = []
    offset = 0
    for part in parts:
        lines.append(part.lines.with_columns(pl.col(ROW) + offset))
        offset += part.schema.n_rows
    return LoadedTransactions(
        read=parts[0].read,
        schema=parts[0].schema,
        fingerprint=make_key("combined", [p.fingerprint for p in parts]),
        lines=pl.concat(lines, how="vertical"),
    )


# --- segments of each period --------------------------------------------------------------------


def _included(features: pl.DataFrame) -> int:
    return int((~features.get_column("excluded").fill_null(False)).sum())


def _check_enough(periods: Periods, config: MigrationConfig, *, fitting: bool = True) -> None:
    have = _included(periods.before.features)
    need = config.n_segments if fitting else 1  # a fitted model assigns any number
    if have < need:
        raise DataSufficiencyError(
            f"the cutoff {periods.cutoff} leaves {have:,} customers with purchases before it, "
            f"fewer than the {need} segments",
            "choose a later cutoff, or fewer segments",
        )


def rfm_labels(features: pl.DataFrame, rule_set: RuleSet) -> pl.DataFrame:
    """``customer_id`` and ``segment`` by RFM on this table's own quantiles."""
    scored = rfm_segments(features, rule_set)
    return scored.select(CUSTOMER, pl.col(SEGMENT).fill_null(EXCLUDED))


def model_labels(
    periods: Periods,
    config: MigrationConfig,
    *,
    cache: ResultCache | None = None,
    previous: SegmentationResult | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, SegmentationResult]:
    """Before's segments from a model fitted on Before; After's assigned by that model."""
    result = fit_segments(
        periods.before.features,
        preprocess=config.preprocess,
        model=config.model,
        data_key=periods.before.key,
        cache=cache,
        previous=previous,
    )
    assigned = result.assignments().select(CUSTOMER, pl.col("segment_name").alias(SEGMENT))
    before = (
        periods.before.features.select(CUSTOMER)
        .join(assigned, on=CUSTOMER, how="left", maintain_order="left")
        .with_columns(pl.col(SEGMENT).fill_null(EXCLUDED))
    )
    scored = score_customers(result, periods.after.features)
    after = scored.select(CUSTOMER, pl.col("segment_name").fill_null(EXCLUDED).alias(SEGMENT))
    return before, after, result


def fitted_labels(
    periods: Periods, fitted: SegmentationResult
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Both periods' segments assigned by an already fitted model (a saved segmentation):
    :func:`~core.clustering.persist.score_customers` on each, nothing fitted."""

    def labels(table: CustomerTable) -> pl.DataFrame:
        scored = score_customers(fitted, table.features)
        return scored.select(CUSTOMER, pl.col("segment_name").fill_null(EXCLUDED).alias(SEGMENT))

    return labels(periods.before), labels(periods.after)


def fitted_config(cutoff: dt.date, fitted: SegmentationResult) -> MigrationConfig:
    """The migration config of a fitted model's own settings (its algorithm, k, features)."""
    seg = fitted.segmentation
    return MigrationConfig(
        cutoff=cutoff,
        by=seg.model_config.algorithm,
        preprocess=seg.preprocess_config,
        model=seg.model_config,
    )


# --- moves, flows and what they are worth -------------------------------------------------------


def customer_moves(
    periods: Periods, before_labels: pl.DataFrame, after_labels: pl.DataFrame
) -> pl.DataFrame:
    """One row per After customer: both segments, both periods' net spend, the After features.

    Sorted by ``customer_id``; ``move`` is added by :func:`with_moves`.
    """
    before = steady_features(periods.before.features).select(
        CUSTOMER, pl.col("monetary").alias(MONEY_BEFORE)
    )
    before = before.join(before_labels.rename({SEGMENT: BEFORE}), on=CUSTOMER, how="left")
    after = steady_features(periods.after.features)
    rest = [c for c in after.columns if c != CUSTOMER]
    return (
        after.join(after_labels.rename({SEGMENT: AFTER}), on=CUSTOMER, how="left")
        .join(before, on=CUSTOMER, how="left")
        .with_columns(
            pl.col(BEFORE).fill_null(NEW),
            pl.col(AFTER).fill_null(EXCLUDED),
            pl.col(MONEY_BEFORE).fill_null(0.0),
        )
        .with_columns((pl.col("monetary") - pl.col(MONEY_BEFORE)).alias(MONEY_AFTER))
        .select(CUSTOMER, BEFORE, AFTER, MONEY_BEFORE, MONEY_AFTER, *rest)
        .sort(CUSTOMER)
        .pipe(steady)
    )


def segment_ranks(customers: pl.DataFrame) -> pl.DataFrame:
    """Segments by value: ``segment``, ``customers`` and ``mean_monetary_before`` of their
    Before customers, ``rank`` (1 = highest mean; ties by name); :data:`EXCLUDED` last."""
    held = (
        customers.filter(~pl.col(BEFORE).is_in([NEW, EXCLUDED]))
        .group_by(BEFORE)
        .agg(
            pl.len().alias("customers"),
            (exact_sum(MONEY_BEFORE) / pl.len()).alias("mean_monetary_before"),
        )
        .rename({BEFORE: "segment"})
        .sort(["mean_monetary_before", "segment"], descending=[True, False])
    )
    excluded = customers.filter(pl.col(BEFORE) == EXCLUDED).select(
        pl.lit(EXCLUDED).alias("segment"),
        pl.len().alias("customers"),
        (exact_sum(MONEY_BEFORE) / pl.len()).alias("mean_monetary_before"),
    )
    parts = [held, excluded] if excluded.item(0, "customers") else [held]
    ranked = pl.concat(parts, how="vertical_relaxed")
    return steady(
        ranked.with_row_index("rank", offset=1).select(
            "segment",
            pl.col("customers").cast(pl.Int64),
            "mean_monetary_before",
            pl.col("rank").cast(pl.Int64),
        )
    )


def with_moves(customers: pl.DataFrame, ranks: pl.DataFrame) -> pl.DataFrame:
    """Add ``move`` after ``monetary_after``: new, retained, upgraded, downgraded or moved."""
    lookup = dict(zip(ranks.get_column("segment"), ranks.get_column("rank"), strict=True))
    lookup.setdefault(EXCLUDED, len(lookup) + 1)  # below every segment, held or not
    rank_before = pl.col(BEFORE).replace_strict(lookup, default=None, return_dtype=pl.Int64)
    rank_after = pl.col(AFTER).replace_strict(lookup, default=None, return_dtype=pl.Int64)
    move = (
        pl.when(pl.col(BEFORE) == NEW)
        .then(pl.lit("new"))
        .when(pl.col(BEFORE) == pl.col(AFTER))
        .then(pl.lit("retained"))
        .when(rank_before.is_null() | rank_after.is_null())
        .then(pl.lit("moved"))
        .when(rank_after < rank_before)
        .then(pl.lit("upgraded"))
        .otherwise(pl.lit("downgraded"))
        .alias(MOVE)
    )
    columns = customers.columns
    at = columns.index(MONEY_AFTER) + 1
    return customers.with_columns(move).select(*columns[:at], MOVE, *columns[at:])


def segment_order(ranks: pl.DataFrame, customers: pl.DataFrame) -> tuple[str, ...]:
    """Every segment label in display order: by rank, then segments only After holds (by
    name), then :data:`EXCLUDED` and :data:`NEW`."""
    ranked = [s for s in ranks.get_column("segment").to_list() if s != EXCLUDED]
    later = sorted(set(customers.get_column(AFTER).unique().to_list()) - {*ranked, EXCLUDED, NEW})
    return (*ranked, *later, EXCLUDED, NEW)


def flows_of(customers: pl.DataFrame, order: Sequence[str]) -> pl.DataFrame:
    """CUSTOMERS grouped by (segment_before, segment_after): ``from_segment``, ``to_segment``,
    ``customers``, ``monetary_before``, ``monetary_after``, ``move``, ``revenue_at_risk``;
    ordered by ``order`` of the from then the to segment."""
    position = {name: i for i, name in enumerate(order)}
    flows = (
        customers.group_by(BEFORE, AFTER)
        .agg(
            pl.len().alias("customers"),
            exact_sum(MONEY_BEFORE),
            exact_sum(MONEY_AFTER),
            pl.col(MOVE).first(),
        )
        .rename({BEFORE: FLOW_FROM, AFTER: FLOW_TO})
        .with_columns(
            pl.when(pl.col(MOVE) == "downgraded")
            .then(pl.col(MONEY_BEFORE))
            .otherwise(0.0)
            .alias(AT_RISK),
            pl.col("customers").cast(pl.Int64),
        )
    )
    keys = [
        pl.col(c).replace_strict(position, return_dtype=pl.Int64).alias(f"_{c}")
        for c in (FLOW_FROM, FLOW_TO)
    ]
    ordered = flows.with_columns(keys).sort(f"_{FLOW_FROM}", f"_{FLOW_TO}")
    return steady(ordered.drop(f"_{FLOW_FROM}", f"_{FLOW_TO}"))


@dataclass(frozen=True)
class MigrationSummary:
    """Headline counts: customers by move, lapsed customers and the revenue at risk."""

    customers: int
    new: int
    retained: int
    upgraded: int
    downgraded: int
    moved: int
    lapsed: int  # bought before the cutoff, not on or after it
    revenue_at_risk: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def summarize(customers: pl.DataFrame, cutoff: dt.date) -> MigrationSummary:
    counts = dict(customers.get_column(MOVE).value_counts().iter_rows())
    lapsed = customers.filter((pl.col(BEFORE) != NEW) & (pl.col("last_purchase") < cutoff))
    at_risk = customers.filter(pl.col(MOVE) == "downgraded").select(exact_sum(MONEY_BEFORE)).item()
    return MigrationSummary(
        customers=customers.height,
        **{move: int(counts.get(move, 0)) for move in MOVES},
        lapsed=lapsed.height,
        revenue_at_risk=round(float(at_risk), FLOAT_DECIMALS),
    )


@dataclass(frozen=True, eq=False)
class Migration:
    """Who moved between segments from Before to After, and what it is worth.

    ``customers`` (CUSTOMERS: one row per After customer, by id), ``flows`` (FLOWS: one row
    per (from, to) pair), ``ranks`` (:func:`segment_ranks`), ``order`` (every label in
    display order), ``colors`` (a palette index per segment name, as the other views colour
    them), ``model`` (the fit on Before; None by RFM).
    """

    config: MigrationConfig
    before_date: dt.date
    after_date: dt.date | None
    customers: pl.DataFrame = field(repr=False)
    flows: pl.DataFrame = field(repr=False)
    ranks: pl.DataFrame = field(repr=False)
    order: tuple[str, ...]
    colors: Mapping[str, int]
    summary: MigrationSummary
    model: SegmentationResult | None = field(default=None, repr=False)

    def members(self, source: str, target: str) -> pl.DataFrame:
        """The CUSTOMERS rows of one flow (empty when nobody made that move)."""
        return self.customers.filter((pl.col(BEFORE) == source) & (pl.col(AFTER) == target))

    def top_downgrades(self, n: int = 3) -> pl.DataFrame:
        """The ``n`` downgrade flows with the most revenue at risk (ties: fewer customers
        last, then by name)."""
        return (
            self.flows.filter(pl.col(MOVE) == "downgraded")
            .sort([AT_RISK, FLOW_FROM, FLOW_TO], descending=[True, False, False])
            .head(n)
        )

    def report(self) -> dict[str, Any]:
        """The JSON report: configuration, dates, summary, ranks and flows."""
        config = self.config
        by: dict[str, Any] = {"by": config.by}
        if config.by == RFM:
            by["rule_set"] = config.rule_set.name
        else:
            by["k"] = config.model.k
            by["seed"] = config.model.random_state
            by["features"] = list(config.preprocess.features)
        return {
            "cutoff": config.cutoff.isoformat(),
            "before_analysis_date": self.before_date.isoformat(),
            "after_analysis_date": None if self.after_date is None else self.after_date.isoformat(),
            **by,
            "summary": self.summary.to_dict(),
            "ranks": self.ranks.to_dicts(),
            "flows": self.flows.to_dicts(),
            "top_downgrades": self.top_downgrades().to_dicts(),
        }


def _colors(config: MigrationConfig, result: SegmentationResult | None) -> dict[str, int]:
    if result is not None:
        return dict(zip(result.names, result.colors, strict=True))
    names = config.rule_set.segment_names
    return dict(zip(names, color_indices(names), strict=True))


def migrate(
    periods: Periods,
    config: MigrationConfig,
    *,
    cache: ResultCache | None = None,
    previous: SegmentationResult | None = None,
    fitted: SegmentationResult | None = None,
) -> Migration:
    """The migration of ``periods`` by ``config``, cached under its inputs' keys.

    ``previous`` (a model fitted on the whole data, the app's current model) lends its
    segment names and colours to the Before segments it matches. ``fitted`` (a saved
    segmentation's model, whatever data it was fitted on; ``config`` from
    :func:`fitted_config`) assigns both periods itself: nothing is fitted.

    Raises
    ------
    ConfigError, DataSufficiencyError
        A cutoff outside the data, or fewer Before customers than segments.
    """
    if config.cutoff != periods.cutoff:
        raise ConfigError(
            f"the periods are cut at {periods.cutoff}, the config at {config.cutoff}",
            "build the periods with the config's cutoff",
        )
    if fitted is not None and config != fitted_config(config.cutoff, fitted):
        raise ConfigError(
            "the migration config is not the fitted model's own",
            "build it with fitted_config(cutoff, model)",
        )
    model = previous if fitted is None else fitted
    identity = None if model is None else (fitted is None, model.key, model.names, model.colors)
    key = make_key("migration", periods.before.key, periods.after.key, config, identity)

    def compute() -> Migration:
        _check_enough(periods, config, fitting=fitted is None)
        result = None
        if fitted is not None:
            before, after = fitted_labels(periods, fitted)
            result = fitted
        elif config.by == RFM:
            # Scored on the steady figures: equal spends tie whatever order they were added in.
            before = rfm_labels(steady_features(periods.before.features), config.rule_set)
            after = rfm_labels(steady_features(periods.after.features), config.rule_set)
        else:
            before, after, result = model_labels(periods, config, cache=cache, previous=previous)
        customers = customer_moves(periods, before, after)
        ranks = segment_ranks(customers)
        customers = with_moves(customers, ranks)
        order = segment_order(ranks, customers)
        return Migration(
            config=config,
            before_date=periods.cutoff,
            after_date=periods.after.analysis_date,
            customers=customers,
            flows=flows_of(customers, order),
            ranks=ranks,
            order=order,
            colors=_colors(config, result),
            summary=summarize(customers, periods.cutoff),
            model=result,
        )

    return get_or_compute(cache, key, compute, lambda hit: isinstance(hit, Migration))
