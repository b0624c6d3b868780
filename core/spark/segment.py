"""``custseg segment FEATURES --engine spark``: K-means and bisecting K-means with MLlib.

The fit runs on Spark as one MLlib :class:`~pyspark.ml.PipelineModel`:

1. a :class:`~pyspark.ml.feature.SQLTransformer` holding the fitted preprocessing of
   :mod:`core.clustering.preprocess` (median imputation of missing / infinite values,
   constant features dropped, ``log1p`` of the features :func:`auto_log_mask` picks, standard
   scaling with the population standard deviation, as scikit-learn's ``StandardScaler``);
   its statistics come from two Spark aggregations over the included customers;
2. a :class:`~pyspark.ml.feature.VectorAssembler`;
3. MLlib ``KMeans`` (k-means|| initialisation) or ``BisectingKMeans`` (the divisive
   hierarchical counterpart), seeded.

``k = auto`` fits every k of :data:`core.clustering.workflow.K_AXIS` on a seeded Bernoulli
sample of about :data:`K_SAMPLE` customers and scores it with what MLlib offers: the
silhouette of ``ClusteringEvaluator`` (squared Euclidean) and the training cost (elbow by
core's knee finder). The recommended k has the highest silhouette.

Profiles, names, insights and the report are then computed by the existing core code
(:func:`core.clustering.fit.assemble`, :func:`core.clustering.profile.build_profiles`) from the
collected assignment: one row per customer (the feature table, its scaled vectors and raw
segment), never the transaction lines. So a name means the same thing on every engine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from core.clustering.defaults import DEFAULT_FEATURES, DEFAULT_K, DEFAULT_SEED
from core.clustering.preprocess import EXCLUDED, auto_log_mask
from core.columns import CUSTOMER, FEATURE_SCHEMA, NUMERIC_FEATURES
from core.errors import ConfigError, DataSufficiencyError, InputFileError

if TYPE_CHECKING:
    from pyspark.ml import PipelineModel
    from pyspark.sql import DataFrame, SparkSession

    from core.clustering.result import SegmentationResult

SPARK_ALGORITHMS: tuple[str, ...] = ("kmeans", "bisecting")
# Customers in the seeded sample the k = auto sweep fits and scores every k on.
K_SAMPLE = 20_000
MAX_ITER = 100
SCALED = "features_scaled"  # the vector column the model sees
RAW_SEGMENT = "raw_segment"  # MLlib's cluster index (before core's canonical numbering)
MONETARY = "monetary"
_SPARK_TYPES = {
    "String": "string",
    "Int64": "bigint",
    "Float64": "double",
    "Boolean": "boolean",
    "Date": "date",
}


@dataclass(frozen=True)
class SparkSegmentConfig:
    """What ``segment --engine spark`` fits: features, algorithm, k (None = auto), seed."""

    features: tuple[str, ...] = DEFAULT_FEATURES
    algorithm: str = "kmeans"
    k: int | None = DEFAULT_K
    seed: int = DEFAULT_SEED

    def __post_init__(self) -> None:
        from core.clustering.config import validate_k  # noqa: PLC0415

        if self.algorithm not in SPARK_ALGORITHMS:
            raise ConfigError(
                f"--algorithm {self.algorithm!r} is not available with --engine spark",
                hint=f"Use one of {', '.join(SPARK_ALGORITHMS)} (bisecting: MLlib's divisive "
                "hierarchical K-means); the other algorithms run with the default engine.",
            )
        if self.k is not None:
            validate_k(self.k)
        unknown = [f for f in self.features if f not in NUMERIC_FEATURES]
        if unknown or not self.features:
            raise ConfigError(
                f"unknown feature(s) {', '.join(map(repr, unknown)) or '(none given)'}",
                hint=f"Choose among {', '.join(NUMERIC_FEATURES)}.",
            )


def read_features(spark: SparkSession, text: str) -> DataFrame:
    """FEATURES as a Spark DataFrame with the columns and types of ``custseg features``: a
    Parquet file or a directory of part files (local, or a URI the cluster reads such as
    ``s3a://``, ``abfss://``, ``hdfs://``), or a CSV file written by ``custseg features``."""
    from pyspark.errors import PySparkException  # noqa: PLC0415

    from core.pipeline import is_feature_table, read_feature_table  # noqa: PLC0415

    remote = "://" in text
    path = Path(text)
    if not remote and not path.exists():
        raise InputFileError(f"File not found: {text!r}.", hint="check the path and the file name")
    hint = (
        "Give the customer feature table written by `custseg features` (a Parquet file or "
        "directory, or its CSV); with --engine spark, transactions go through `custseg "
        "features --engine spark` first."
    )
    if not remote and path.is_file() and path.suffix.lower() == ".csv":
        frame = read_feature_table(path)
        if frame is None:
            raise InputFileError(f"{path.name!r} is not a customer feature table.", hint=hint)
        df = spark.createDataFrame(frame.to_arrow())
    else:
        try:
            df = spark.read.parquet(text)
        except PySparkException as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise InputFileError(f"cannot read {text!r} as Parquet: {first}", hint=hint) from None
    if not is_feature_table(df.columns):
        missing = [c for c in FEATURE_SCHEMA if c not in df.columns]
        raise InputFileError(
            f"{text!r} is not a customer feature table (missing {', '.join(missing)}).",
            hint=hint,
        )
    types = {c: _SPARK_TYPES[type(t).__name__] for c, t in FEATURE_SCHEMA.items()}
    return df.selectExpr(*(f"CAST(`{c}` AS {t}) AS `{c}`" for c, t in types.items()))


def included(features: DataFrame) -> DataFrame:
    """The customers to cluster: ``excluded`` false or null."""
    return features.where(f"NOT coalesce(`{EXCLUDED}`, false)")


def to_polars(df: DataFrame) -> pl.DataFrame:
    """Collect a (customer-level) Spark DataFrame to the driver as Polars, through Arrow."""
    return pl.from_arrow(df.toArrow())  # type: ignore[return-value]


def _double(value: float) -> str:
    """A float as a Spark SQL double literal that reads back exactly."""
    return f"CAST('{value!r}' AS DOUBLE)"


def _finite(column: str) -> str:
    x = f"CAST(`{column}` AS DOUBLE)"
    return (
        f"(CASE WHEN {x} IS NULL OR isnan({x}) OR abs({x}) = double('inf') THEN NULL ELSE {x} END)"
    )


@dataclass(frozen=True)
class SparkPreprocessing:
    """The fitted preprocessing (core's rules, Spark's aggregates) as SQL for the pipeline."""

    features_in: tuple[str, ...]
    features: tuple[str, ...]  # used: constant features dropped
    log_features: tuple[str, ...]
    medians: dict[str, float]
    means: dict[str, float]  # of each used feature after log1p where logged
    scales: dict[str, float]  # population standard deviations, as StandardScaler
    dropped_constant: tuple[str, ...]
    n: int

    def imputed(self, column: str) -> str:
        return f"coalesce({_finite(column)}, {_double(self.medians[column])})"

    def statement(self) -> str:
        parts = []
        for f in self.features:
            value = self.imputed(f)
            if f in self.log_features:
                value = f"log1p(greatest({value}, CAST(0 AS DOUBLE)))"
            parts.append(
                f"({value} - {_double(self.means[f])}) / {_double(self.scales[f])} "
                f"AS `__scaled_{f}`"
            )
        return f"SELECT *, {', '.join(parts)} FROM __THIS__"

    def stages(self) -> list[Any]:
        from pyspark.ml.feature import SQLTransformer, VectorAssembler  # noqa: PLC0415

        return [
            SQLTransformer(statement=self.statement()),
            VectorAssembler(inputCols=[f"__scaled_{f}" for f in self.features], outputCol=SCALED),
        ]


def fit_preprocessing(customers: DataFrame, features: tuple[str, ...]) -> SparkPreprocessing:
    """Fit core's preprocessing (impute, drop constant, auto log, standard scale) on the
    included ``customers`` with two Spark aggregations; the log rule is core's own
    (:func:`core.clustering.preprocess.auto_log_mask`)."""
    from pyspark.sql import functions as F  # noqa: N812, PLC0415

    first = customers.agg(
        F.count(F.lit(1)).alias("n"),
        *(F.expr(f"percentile({_finite(f)}, 0.5)").alias(f"median:{f}") for f in features),
        *(F.expr(f"count({_finite(f)})").alias(f"finite:{f}") for f in features),
    ).collect()[0]
    n = int(first["n"])
    if n == 0:
        raise DataSufficiencyError(
            "no customers to cluster",
            hint="Check that the feature table is not empty and not every customer is excluded.",
        )
    empty = [f for f in features if not first[f"finite:{f}"]]
    if empty:
        raise DataSufficiencyError(
            f"feature(s) {', '.join(map(repr, empty))} have no value for any customer",
            hint="Choose features that have values for the customers being clustered.",
        )
    medians = {f: float(first[f"median:{f}"]) for f in features}
    probe = SparkPreprocessing(features, features, (), medians, {}, {}, (), n)
    stats = (
        customers.select(*(F.expr(probe.imputed(f)).alias(f) for f in features))
        .agg(
            *(
                agg(expr).alias(f"{name}:{f}")
                for f in features
                for name, agg, expr in (
                    ("min", F.min, F.col(f)),
                    ("max", F.max, F.col(f)),
                    ("skew", F.skewness, F.col(f)),
                    ("mean", F.avg, F.col(f)),
                    ("sd", F.stddev_pop, F.col(f)),
                    ("logmean", F.avg, F.log1p(F.greatest(F.col(f), F.lit(0.0)))),
                    ("logsd", F.stddev_pop, F.log1p(F.greatest(F.col(f), F.lit(0.0)))),
                )
            )
        )
        .collect()[0]
    )
    constant = [
        f
        for f in features
        if not (stats[f"max:{f}"] > stats[f"min:{f}"] and (stats[f"sd:{f}"] or 0) > 0)
    ]
    used = tuple(f for f in features if f not in constant)
    if not used:
        raise DataSufficiencyError(
            f"all {n} customers are identical on the chosen features; nothing to segment",
            hint="Choose features that vary between customers or check the data.",
        )
    skew = np.array([_nan(stats[f"skew:{f}"]) for f in used])
    minimum = np.array([float(stats[f"min:{f}"]) for f in used])
    logged = tuple(f for f, m in zip(used, auto_log_mask(skew, minimum), strict=True) if m)
    prefix = {f: "log" if f in logged else "" for f in used}
    return SparkPreprocessing(
        features_in=features,
        features=used,
        log_features=logged,
        medians=medians,
        means={f: float(stats[f"{prefix[f]}mean:{f}"]) for f in used},
        scales={f: float(stats[f"{prefix[f]}sd:{f}"]) for f in used},
        dropped_constant=tuple(constant),
        n=n,
    )


def _nan(value: object) -> float:
    return math.nan if value is None else float(value)  # type: ignore[arg-type]


def estimator(algorithm: str, k: int, seed: int) -> Any:
    """The MLlib estimator of ``algorithm`` (``kmeans`` or ``bisecting``) at ``k``."""
    from pyspark.ml.clustering import BisectingKMeans, KMeans  # noqa: PLC0415

    cls = KMeans if algorithm == "kmeans" else BisectingKMeans
    return cls(k=k, seed=seed, maxIter=MAX_ITER, featuresCol=SCALED, predictionCol=RAW_SEGMENT)


def describe(algorithm: str, seed: int) -> tuple[str, str]:
    """Method code and plain description of an MLlib fit."""
    if algorithm == "kmeans":
        return "spark-kmeans", f"MLlib K-means on Spark (k-means|| initialisation, seed {seed})"
    return (
        "spark-bisecting",
        f"MLlib bisecting K-means on Spark (divisive hierarchical, seed {seed})",
    )


@dataclass(frozen=True)
class KSweep:
    """The k = auto sweep: per k its silhouette, training cost and smallest segment share."""

    table: pl.DataFrame
    recommended_k: int
    knee: int | None
    sample_size: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table.to_dicts(),
            "recommended_k": self.recommended_k,
            "knee": self.knee,
            "sample_size": self.sample_size,
            "reason": self.reason,
        }


def sweep_k(
    prepared: DataFrame, *, algorithm: str, seed: int, n: int, ks: range | None = None
) -> KSweep:
    """Fit ``algorithm`` at every k of ``ks`` (default :data:`K_AXIS`) on a seeded sample of
    about :data:`K_SAMPLE` of the ``n`` prepared customers; recommend the best silhouette."""
    from pyspark.ml.evaluation import ClusteringEvaluator  # noqa: PLC0415

    from core.clustering.select_k import _knee  # noqa: PLC0415
    from core.clustering.workflow import K_AXIS  # noqa: PLC0415

    fraction = min(1.0, K_SAMPLE / max(n, 1))
    sample = prepared.select(SCALED).sample(fraction=fraction, seed=seed).cache()
    try:
        size = sample.count()
        evaluator = ClusteringEvaluator(featuresCol=SCALED, predictionCol=RAW_SEGMENT)
        rows = []
        for k in ks or K_AXIS:
            if k >= size:
                break
            model = estimator(algorithm, k, seed).fit(sample)
            sizes = model.summary.clusterSizes
            silhouette = evaluator.evaluate(model.transform(sample)) if len(sizes) > 1 else None
            rows.append(
                {
                    "k": k,
                    "silhouette": silhouette,
                    "training_cost": float(model.summary.trainingCost),
                    "min_share": min(sizes) / size,
                }
            )
    finally:
        sample.unpersist()
    scored = [r for r in rows if r["silhouette"] is not None]
    if len(scored) < 2:
        raise DataSufficiencyError(
            f"too few customers ({size:,} in the sample) to choose k automatically",
            hint="Give the number of segments with --k.",
        )
    best = max(scored, key=lambda r: (r["silhouette"], -r["k"]))
    knee = _knee([r["k"] for r in rows], [r["training_cost"] for r in rows])
    where = "all" if fraction >= 1.0 else f"a seeded sample (seed {seed}) of {size:,} of {n:,}"
    reason = (
        f"k = {best['k']} is recommended (silhouette {best['silhouette']:.2f}): the highest "
        f"MLlib silhouette (squared Euclidean) over k = {rows[0]['k']}..{rows[-1]['k']}, "
        f"on {where} customers"
        + (f"; the training-cost elbow is at k = {knee}" if knee is not None else "")
        + "."
    )
    table = pl.DataFrame(
        rows,
        schema={
            "k": pl.Int64,
            "silhouette": pl.Float64,
            "training_cost": pl.Float64,
            "min_share": pl.Float64,
        },
    )
    return KSweep(table, int(best["k"]), knee, size, reason)


@dataclass(frozen=True)
class SparkSegmented:
    """A Spark fit: core's result (profiles, names), the MLlib pipeline, the sweep, why k."""

    result: SegmentationResult
    pipeline: PipelineModel
    preprocessing: SparkPreprocessing
    sweep: KSweep | None
    k_reason: str
    features: pl.DataFrame  # every customer of FEATURES, collected (for OUT)


def segment(
    features: DataFrame, config: SparkSegmentConfig, *, data_key: str, ks: range | None = None
) -> SparkSegmented:
    """Fit ``config`` on the included customers of ``features`` with MLlib, then profile and
    name the segments with core (see the module docstring)."""
    from pyspark.ml import PipelineModel  # noqa: PLC0415
    from pyspark.ml.functions import vector_to_array  # noqa: PLC0415

    customers = included(features)
    prep = fit_preprocessing(customers, config.features)
    prepared = PipelineModel(stages=prep.stages()).transform(customers).select(CUSTOMER, SCALED)
    prepared = prepared.cache()
    try:
        sweep = None
        if config.k is None:
            sweep = sweep_k(prepared, algorithm=config.algorithm, seed=config.seed, n=prep.n, ks=ks)
        k = sweep.recommended_k if sweep is not None else int(config.k)  # type: ignore[arg-type]
        if prep.n < k:
            raise DataSufficiencyError(
                f"{prep.n:,} customer(s) to cluster, fewer than k = {k}",
                hint="Choose a smaller k or provide more customers.",
            )
        model = estimator(config.algorithm, k, config.seed).fit(prepared)
    finally:
        prepared.unpersist()
    pipeline = PipelineModel(stages=[*prep.stages(), model])
    table = to_polars(features)
    assigned = to_polars(
        pipeline.transform(customers).select(
            CUSTOMER, RAW_SEGMENT, vector_to_array(SCALED).alias(SCALED)
        )
    )
    result = core_result(table, assigned, prep, model, config, data_key=data_key)
    k_reason = sweep.reason if sweep is not None else f"k = {k} set with --k"
    return SparkSegmented(result, pipeline, prep, sweep, k_reason, table)


def core_result(
    table: pl.DataFrame,
    assigned: pl.DataFrame,
    prep: SparkPreprocessing,
    model: Any,
    config: SparkSegmentConfig,
    *,
    data_key: str,
) -> SegmentationResult:
    """Core's :class:`SegmentationResult` of an MLlib fit: canonical numbering, profiles,
    names and colours by the same code as every other fit, from the collected assignment."""
    from core.cache import make_key  # noqa: PLC0415
    from core.clustering.config import ModelConfig, PreprocessConfig  # noqa: PLC0415
    from core.clustering.fit import RawFit, assemble  # noqa: PLC0415
    from core.clustering.preprocess import FeaturePreprocessor, prepare_customers  # noqa: PLC0415
    from core.clustering.result import SegmentationResult  # noqa: PLC0415

    # Core's preprocessor with Spark's log decision: the feature names, PCA projection and
    # notes the profiles and charts read (its scaling agrees with Spark's SQL to rounding).
    preprocess = PreprocessConfig(features=config.features, log=prep.log_features)
    frame, n_excluded = prepare_customers(table, (*config.features, MONETARY))
    pre = FeaturePreprocessor(preprocess)
    pre.fit(frame)
    assigned = assigned.with_columns(pl.col(CUSTOMER).cast(pl.String)).sort(CUSTOMER)
    if not assigned.get_column(CUSTOMER).equals(frame.get_column(CUSTOMER).cast(pl.String)):
        raise DataSufficiencyError(
            "the customers Spark assigned are not the included customers of FEATURES",
            hint="Check that customer ids are unique in the feature table.",
        )
    x = np.asarray(assigned.get_column(SCALED).to_list(), dtype=np.float64)
    centers = np.asarray([np.asarray(c) for c in model.clusterCenters()], dtype=np.float64)
    method, description = describe(config.algorithm, config.seed)
    raw = RawFit(
        assigned.get_column(RAW_SEGMENT).to_numpy().astype(np.int64),
        None,
        centers,
        method,
        description,
        None,
        (),
    )
    model_config = ModelConfig(
        algorithm="kmeans" if config.algorithm == "kmeans" else "hierarchical",
        k=len(centers),
        random_state=config.seed,
    )
    segmentation = assemble(
        frame=frame,
        x=x,
        pre=pre,
        preprocess=preprocess,
        model=model_config,
        raw=raw,
        monetary=frame.get_column(MONETARY).cast(pl.Float64).fill_null(np.nan).to_numpy(),
        n_excluded=n_excluded,
    )
    return SegmentationResult.named(
        segmentation,
        table,
        data_key=data_key,
        key=make_key("spark-segmentation", data_key, config.__dict__),
    )
