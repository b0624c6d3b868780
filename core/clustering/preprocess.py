"""Customer feature table -> the scaled matrix a clustering model sees, as a fitted pipeline.

Steps (each a scikit-learn transformer, chained in a :class:`~sklearn.pipeline.Pipeline`):

1. ``impute``: missing or infinite values -> the fitted median of the feature (counted);
2. ``cap``: optional clipping to fitted ``1 - q`` / ``q`` quantiles;
3. ``drop_constant``: features with a single value (after capping) are dropped, with a
   :class:`ConstantFeatureWarning`;
4. ``log``: ``log1p`` of the skewed features (``"auto"``: skewness > 1 and all values >= 0)
   or of an explicit list;
5. ``scale``: standard, robust or min-max scaling.

A PCA fitted on the scaled matrix gives the 2-dist projection used by plots. All fitted state
lives on the :class:`FeaturePreprocessor`, so new customers are transformed exactly like the
fitted ones. Excluded customers (``excluded == True``) are removed by :func:`prepare_customers`
before any of this and never reach the pipeline.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Self

import numpy as np
import polars as pl
from scipy.stats import skew
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

from core.clustering.config import PreprocessConfig
from core.columns import CUSTOMER, NUMERIC_FEATURES
from core.errors import ConfigError, DataSufficiencyError, SchemaError

EXCLUDED = "excluded"
# Skewness above which "auto" applies log1p.
AUTO_LOG_SKEW = 1.0


class ClusteringWarning(UserWarning):
    """Base class of the warnings the clustering layer emits about the user's data."""


class ConstantFeatureWarning(ClusteringWarning):
    """A selected feature has one value for every customer and was dropped."""


def prepare_customers(
    features: pl.DataFrame | pl.LazyFrame, columns: Sequence[str]
) -> tuple[pl.DataFrame, int]:
    """Keep the customers to cluster, checked and sorted by customer id.

    Parameters
    ----------
    features:
        Customer feature table (``core.columns.FEATURE_SCHEMA``); ``excluded`` is optional
        (absent or null = included).
    columns:
        Feature columns that must be present (they are kept with ``customer_id``).

    Returns
    -------
    (frame, n_excluded):
        ``customer_id`` + ``columns`` for the included customers, sorted by ``customer_id``
        so that fits do not depend on the input row order; and how many were excluded.

    Raises
    ------
    SchemaError
        ``customer_id`` missing, null or duplicated.
    ConfigError
        A requested feature is not a column of the table (the message lists those that are).
    """
    lf = features.lazy()
    available = lf.collect_schema().names()
    if CUSTOMER not in available:
        raise SchemaError(
            f"the feature table has no {CUSTOMER!r} column (columns: {', '.join(available)})",
            hint="Pass the customer feature table produced by core.features.",
        )
    missing = [c for c in columns if c not in available]
    if missing:
        present = [c for c in NUMERIC_FEATURES if c in available]
        raise ConfigError(
            f"feature(s) {', '.join(map(repr, missing))} not in the feature table",
            hint=f"Available features: {', '.join(present) or '(none)'}.",
        )
    keep = [CUSTOMER, *dict.fromkeys(columns)]
    if EXCLUDED in available:
        is_excluded = pl.col(EXCLUDED).fill_null(False)
        frame, n_excl = pl.collect_all(
            [
                lf.filter(~is_excluded).select(keep).sort(CUSTOMER),
                lf.select(is_excluded.sum().alias("n")),
            ]
        )
        n_excluded = int(n_excl.item())
    else:
        frame = lf.select(keep).sort(CUSTOMER).collect()
        n_excluded = 0
    ids = frame.get_column(CUSTOMER)
    if ids.null_count():
        raise SchemaError(
            f"{ids.null_count()} customer(s) have a null {CUSTOMER}",
            hint="Drop rows without a customer id before clustering.",
        )
    # Sorted, so duplicates are adjacent.
    dup_mask = ids.is_duplicated()
    if dup_mask.any():
        dups = ids.filter(dup_mask).unique(maintain_order=True).head(5).to_list()
        raise SchemaError(
            f"customer ids appear more than once in the feature table: {dups}",
            hint="The feature table must have one row per customer.",
        )
    return frame, n_excluded


def feature_matrix(frame: pl.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Float64 matrix of ``columns`` (nulls -> NaN), C-contiguous."""
    return np.ascontiguousarray(
        frame.select(pl.col(list(columns)).cast(pl.Float64)).to_numpy(), dtype=np.float64
    )


class MedianImputer(TransformerMixin, BaseEstimator):
    """Replace NaN and +-inf by the fitted median of each column."""

    def fit(self, x: np.ndarray, y: object = None) -> Self:
        x = np.asarray(x, dtype=np.float64)
        finite = np.isfinite(x)
        all_missing = np.flatnonzero(~finite.any(axis=0))
        if all_missing.size:
            raise DataSufficiencyError(
                f"feature column(s) at position(s) {all_missing.tolist()} have no finite value",
                hint="Choose features that have values for at least some customers.",
            )
        masked = np.where(finite, x, np.nan)
        self.medians_ = np.nanmedian(masked, axis=0)
        self.n_imputed_ = (~finite).sum(axis=0)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        x = np.array(x, dtype=np.float64, copy=True)
        bad = ~np.isfinite(x)
        if bad.any():
            x[bad] = np.broadcast_to(self.medians_, x.shape)[bad]
        return x


class QuantileCapper(TransformerMixin, BaseEstimator):
    """Clip each column to its fitted ``1 - q`` and ``q`` quantiles (no-op when q is None)."""

    def __init__(self, quantile: float | None = None) -> None:
        self.quantile = quantile

    def fit(self, x: np.ndarray, y: object = None) -> Self:
        x = np.asarray(x, dtype=np.float64)
        if self.quantile is None:
            self.lower_ = np.full(x.shape[1], -np.inf)
            self.upper_ = np.full(x.shape[1], np.inf)
        else:
            q = float(self.quantile)
            self.lower_, self.upper_ = np.quantile(x, [1.0 - q, q], axis=0)
        self.n_capped_ = ((x < self.lower_) | (x > self.upper_)).sum(axis=0)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(x, dtype=np.float64), self.lower_, self.upper_)


class ConstantDropper(TransformerMixin, BaseEstimator):
    """Drop columns with a single value; raise when every column is constant."""

    def fit(self, x: np.ndarray, y: object = None) -> Self:
        x = np.asarray(x, dtype=np.float64)
        if x.shape[0] == 0:
            raise DataSufficiencyError(
                "no customers to cluster",
                hint="Check that the feature table is not empty and not every customer "
                "is excluded.",
            )
        # A spread too small for its variance to be represented (subnormal values such as 5e-324
        # next to 0) is constant too: scaling would map it to zeros, or divide by zero.
        with np.errstate(under="ignore"):
            constant = (np.ptp(x, axis=0) == 0) | ~(np.std(x, axis=0) > 0)
        if constant.all():
            raise DataSufficiencyError(
                f"all {x.shape[0]} customers are identical on the chosen features; "
                "nothing to segment",
                hint="Choose features that vary between customers or check the data.",
            )
        self.constant_ = constant
        self.constant_values_ = x[0]
        self.keep_ = np.flatnonzero(~constant)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=np.float64)[:, self.keep_]


def auto_log_mask(skewness: np.ndarray, minimum: np.ndarray) -> np.ndarray:
    """The features ``log="auto"`` transforms with ``log1p``: skewness above
    :data:`AUTO_LOG_SKEW` and no negative value (NaN skewness: not logged). Every engine
    decides with this rule (the Spark engine from its own aggregates)."""
    return (np.asarray(skewness, dtype=np.float64) > AUTO_LOG_SKEW) & (
        np.asarray(minimum, dtype=np.float64) >= 0
    )


class Log1pColumns(TransformerMixin, BaseEstimator):
    """``log1p`` of selected columns.

    ``columns="auto"`` picks the columns with skewness > ``AUTO_LOG_SKEW`` and no negative
    value; otherwise a boolean mask. Values below 0 at transform time (never seen at fit) are
    clipped to 0 first so the result stays finite.
    """

    def __init__(self, columns: str | tuple[bool, ...] = "auto") -> None:
        self.columns = columns

    def fit(self, x: np.ndarray, y: object = None) -> Self:
        x = np.asarray(x, dtype=np.float64)
        with warnings.catch_warnings():
            # Nearly identical values: scipy warns that the moments lost precision. Such a
            # skewness (or NaN) is not trusted: the column is logged only when clearly skewed.
            warnings.simplefilter("ignore", RuntimeWarning)
            self.skewness_ = np.asarray(skew(x, axis=0, bias=True), dtype=np.float64)
        self.min_ = x.min(axis=0)
        if isinstance(self.columns, str):
            self.mask_ = auto_log_mask(self.skewness_, self.min_)
        else:
            self.mask_ = np.asarray(self.columns, dtype=bool)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        x = np.array(x, dtype=np.float64, copy=True)
        if self.mask_.any():
            x[:, self.mask_] = np.log1p(np.maximum(x[:, self.mask_], 0.0))
        return x


def _make_scaler(name: str) -> StandardScaler | RobustScaler | MinMaxScaler:
    if name == "standard":
        return StandardScaler()
    if name == "robust":
        return RobustScaler()
    return MinMaxScaler()


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _check_loggable(raw: np.ndarray, names: Sequence[str], log: Sequence[str]) -> None:
    """Refuse to log-transform a feature of ``log`` with negative values (naming it)."""
    explicit = np.array([f in log for f in names])
    for j in np.flatnonzero(explicit):
        finite = raw[np.isfinite(raw[:, j]), j]
        if finite.size and finite.min() < 0:
            raise ConfigError(
                f"cannot log-transform {names[j]!r}: it has negative values "
                f"(minimum {_fmt(float(finite.min()))})",
                hint=f"Remove {names[j]!r} from log or use log='auto'.",
            )


def _impute(imputer: MedianImputer, raw: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """``raw`` with missing values imputed; a feature with no value at all is named."""
    try:
        return imputer.fit_transform(raw)
    except DataSufficiencyError as exc:
        empty = [names[j] for j in range(len(names)) if not np.isfinite(raw[:, j]).any()]
        raise DataSufficiencyError(
            f"feature(s) {', '.join(map(repr, empty))} have no value for any customer"
            if raw.shape[0]
            else "no customers to cluster",
            hint="Choose features that have values for the customers being clustered.",
        ) from exc


class FeaturePreprocessor(TransformerMixin, BaseEstimator):
    """Fitted customer-table preprocessing: polars frame in, scaled numpy matrix out.

    Fitted attributes
    -----------------
    features_in_ : tuple[str, ...]
        Configured features, in order.
    features_ : tuple[str, ...]
        Features actually used (constant ones dropped); columns of the output matrix.
    dropped_constant_ : tuple[str, ...]
        Constant features dropped.
    log_features_ : tuple[str, ...]
        Features transformed with ``log1p``.
    medians_ : dict[str, float]
        Imputation values.
    n_imputed_ : dict[str, int]
        Missing / infinite values replaced at fit, per configured feature.
    caps_ : dict[str, tuple[float, float]]
        Capping bounds (only when ``cap_quantile`` is set).
    pipeline_ : sklearn.pipeline.Pipeline
        The numeric steps (impute, cap, drop_constant, log, scale).
    pca_ : sklearn.decomposition.PCA
        2-dist projection of the scaled matrix (1 component when a single feature is used).
    warnings_ : tuple[str, ...]
        Plain-language notes (imputed values, dropped constant features).
    """

    def __init__(self, config: PreprocessConfig | None = None) -> None:
        self.config = config

    @property
    def _config(self) -> PreprocessConfig:
        return self.config if self.config is not None else PreprocessConfig()

    def fit(self, x: pl.DataFrame, y: object = None) -> Self:
        self.fit_transform(x)
        return self

    def fit_transform(self, x: pl.DataFrame, y: object = None, **_: object) -> np.ndarray:  # type: ignore[override]
        """Fit on the (already prepared) customer frame and return the scaled matrix."""
        config = self._config
        names = config.features
        raw = feature_matrix(x, names)
        n_bad = (~np.isfinite(raw)).sum(axis=0)
        if config.log != "auto":
            _check_loggable(raw, names, config.log)
        imputer = MedianImputer()
        capper = QuantileCapper(config.cap_quantile)
        dropper = ConstantDropper()
        imputed = _impute(imputer, raw, names)
        capped = capper.fit_transform(imputed)
        kept = dropper.fit_transform(capped)
        used = tuple(names[j] for j in dropper.keep_)
        if config.log == "auto":
            log = Log1pColumns("auto")
        else:
            log = Log1pColumns(tuple(f in config.log for f in used))
        logged = log.fit_transform(kept)
        scaler = _make_scaler(config.scaler)
        scaled = scaler.fit_transform(logged)
        self.pipeline_ = Pipeline(
            [
                ("impute", imputer),
                ("cap", capper),
                ("drop_constant", dropper),
                ("log", log),
                ("scale", scaler),
            ]
        )
        self.features_in_ = tuple(names)
        self.features_ = used
        self.dropped_constant_ = tuple(names[j] for j in np.flatnonzero(dropper.constant_))
        self.log_features_ = tuple(f for f, m in zip(used, log.mask_, strict=True) if m)
        self.medians_ = {f: float(m) for f, m in zip(names, imputer.medians_, strict=True)}
        self.n_imputed_ = {f: int(c) for f, c in zip(names, n_bad, strict=True)}
        self.caps_ = (
            {
                f: (float(lo), float(hi))
                for f, lo, hi in zip(names, capper.lower_, capper.upper_, strict=True)
            }
            if config.cap_quantile is not None
            else {}
        )
        notes: list[str] = []
        for f, c in self.n_imputed_.items():
            if c:
                notes.append(
                    f"{f}: {c} missing or infinite value(s) replaced by the median "
                    f"({_fmt(self.medians_[f])})"
                )
        for j in np.flatnonzero(dropper.constant_):
            msg = (
                f"feature {names[j]!r} has the same value ({_fmt(dropper.constant_values_[j])}) "
                f"for every customer and was dropped"
            )
            notes.append(msg)
            warnings.warn(ConstantFeatureWarning(msg), stacklevel=2)
        self.warnings_ = tuple(notes)
        n_comp = min(2, scaled.shape[1])
        self.pca_ = PCA(n_components=n_comp, svd_solver="full").fit(scaled)
        self.n_features_in_ = len(names)
        return scaled

    def transform_with_report(self, x: pl.DataFrame) -> tuple[np.ndarray, dict[str, int]]:
        """Scaled matrix of new customers and the number of values imputed per feature."""
        raw = feature_matrix(x, self.features_in_)
        n_bad = (~np.isfinite(raw)).sum(axis=0)
        scaled = self.pipeline_.transform(raw)
        return scaled, {f: int(c) for f, c in zip(self.features_in_, n_bad, strict=True)}

    def transform(self, x: pl.DataFrame) -> np.ndarray:
        """Scaled matrix of new customers, transformed with the fitted state."""
        return self.transform_with_report(x)[0]

    def project(self, x_scaled: np.ndarray) -> np.ndarray:
        """2-dist PCA coordinates (n x 2; second column 0 when a single feature is used)."""
        coords = self.pca_.transform(x_scaled)
        if coords.shape[1] == 1:
            coords = np.column_stack([coords, np.zeros(coords.shape[0])])
        return coords

    @property
    def explained_variance_ratio_(self) -> np.ndarray:
        """Share of the scaled variance captured by each projection axis."""
        return self.pca_.explained_variance_ratio_
