"""``custseg segment FEATURES --engine spark`` and ``custseg score --engine spark``.

FEATURES is a customer feature table (a Parquet file or a directory of part files written by
``custseg features``, or its CSV). The fit runs on Spark (:mod:`core.spark.segment`); the
printed summary, OUT (:func:`core.scoring.customer_rows`, written by the app's export
code) and the report come from the same core code as the default engine. ``--model`` is a
directory (:mod:`core.spark.model`).
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.cli.args import TABLE_SUFFIXES, output_path, write_table
from core.clustering.defaults import DEFAULT_LINKAGE, DEFAULT_SCALER
from core.errors import ConfigError


def _refuse(args: argparse.Namespace, options: dict[str, bool], why: str) -> None:
    given = [name for name, present in options.items() if present]
    if given:
        raise ConfigError(
            f"{', '.join(given)} cannot be used with --engine spark ({why})",
            "leave them out, or run without --engine spark",
        )


def _check_common(args: argparse.Namespace) -> None:
    _refuse(
        args,
        {
            "--map": bool(args.map),
            "--date-format": args.date_format is not None,
            "--decimal-comma": bool(args.decimal_comma),
            "--table": args.table is not None,
            "--query": args.query is not None,
            "--row-limit": args.row_limit is not None,
            "--timeout": args.timeout is not None,
        },
        "INPUT is a customer feature table: write it with `custseg features` first",
    )


@contextmanager
def _session(master: str | None) -> Iterator[Any]:
    from core.spark.session import get_session  # noqa: PLC0415

    with warnings.catch_warnings():
        # pyspark 4.3 checks its pandas support while starting and warns about pandas 3,
        # which the Spark engine does not use (it collects through Arrow into Polars).
        warnings.filterwarnings(
            "ignore", "PySpark does not yet fully support pandas", category=FutureWarning
        )
        spark = get_session(master)
    spark.sparkContext.setLogLevel("ERROR")
    yield spark


def segment(args: argparse.Namespace, master: str | None) -> int:
    """Handler of ``custseg segment --engine spark``; ``master``: ``core.cli.args.spark_master``."""
    from core.cli.segment import _parse_features, _parse_k, _print_summary  # noqa: PLC0415
    from core.clustering.defaults import DEFAULT_FEATURES, DEFAULT_K  # noqa: PLC0415
    from core.clustering.result import report  # noqa: PLC0415
    from core.scoring import customer_rows  # noqa: PLC0415
    from core.spark import model as spark_model  # noqa: PLC0415
    from core.spark.segment import SparkSegmentConfig, read_features  # noqa: PLC0415
    from core.spark.segment import segment as fit  # noqa: PLC0415
    from core.spark.session import running_master  # noqa: PLC0415

    _check_common(args)
    _refuse(
        args,
        {
            "--save": args.save is not None,
            "--note": args.note is not None,
            "--stability": args.stability is not None,
            "--scaler": args.scaler != DEFAULT_SCALER,
            "--linkage": args.linkage != DEFAULT_LINKAGE,
        },
        "the Spark engine fits K-means or bisecting K-means on standard-scaled features, "
        "without bootstrap refits or the workspace",
    )
    out = output_path(args.out, TABLE_SUFFIXES)
    report_path = output_path(args.report, (".json",), "--report") if args.report else None
    model_dir = Path(args.model) if args.model else None
    if model_dir is not None and not model_dir.parent.is_dir():
        raise ConfigError(
            f"the folder for --model {args.model!r} does not exist",
            "create it or choose another path",
        )
    config = SparkSegmentConfig(
        features=_parse_features(args.features) or DEFAULT_FEATURES,
        algorithm=args.algorithm,
        k=DEFAULT_K if args.k is None else _parse_k(args.k),
        seed=args.seed,
    )
    with _session(master) as spark:
        ran_on = running_master(spark)
        features = read_features(spark, args.input)
        done = fit(features, config, data_key=_data_key(args.input))
        if model_dir is not None:
            spark_model.save(done, model_dir)
    result = done.result
    for note in result.segmentation.warnings:
        print(f"custseg: warning: {note}", file=sys.stderr)
    write_table(customer_rows(result.assignments(), done.features), out)
    if report_path is not None:
        content = report(result, k_reason=done.k_reason)
        content["engine"] = {"name": "spark", "master": ran_on}
        content["algorithm"] = config.algorithm
        if done.sweep is not None:
            content["k_selection"] = done.sweep.to_dict()
        report_path.write_text(json.dumps(content, indent=2, default=str, allow_nan=False) + "\n")
    _print_summary(result, k_reason=done.k_reason, stability=None)
    written = [str(out)] + [str(p) for p in (model_dir, report_path) if p is not None]
    print(f"wrote {', '.join(written)}")
    return 0


def _data_key(text: str) -> str:
    """Identity of FEATURES: a local file's content, else its path (a directory or URI)."""
    from core.cache import fingerprint_file, make_key  # noqa: PLC0415

    path = Path(text)
    if "://" not in text and path.is_file():
        return make_key("feature_table", fingerprint_file(path))
    return make_key("feature_table_path", text)


def score(args: argparse.Namespace, master: str | None) -> int:
    """Handler of ``custseg score --engine spark``: the model is checked before INPUT is read;
    ``master``: ``core.cli.args.spark_master``."""
    import polars as pl  # noqa: PLC0415

    from core.scoring import customer_rows  # noqa: PLC0415
    from core.spark import model as spark_model  # noqa: PLC0415
    from core.spark.segment import read_features, to_polars  # noqa: PLC0415

    _check_common(args)
    if args.saved is not None:
        raise ConfigError(
            "--saved cannot be used with --engine spark (the workspace keeps models of the "
            "default engine)",
            "give the Spark model directory with --model",
        )
    out = output_path(args.out, TABLE_SUFFIXES)
    with _session(master) as spark:
        model = spark_model.load(args.model)
        features = read_features(spark, args.input)
        scores = spark_model.score(model, features)
        table = to_polars(features)
    write_table(customer_rows(scores, table), out)
    counts = (
        scores.filter(pl.col("segment").is_not_null())
        .group_by("segment", "segment_name")
        .agg(pl.len().alias("customers"))
        .sort("segment")
    )
    n_excluded = int(scores.get_column("excluded").sum())
    print(
        f"scored {scores.height - n_excluded:,} customers ({n_excluded:,} excluded) with the "
        f"{model.k}-segment Spark model {Path(args.model).name!r}"
    )
    for row in counts.iter_rows(named=True):
        print(f"{row['segment']:>3}  {row['segment_name']}: {row['customers']:,}")
    print(f"wrote {out}")
    return 0
