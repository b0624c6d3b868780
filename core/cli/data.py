"""``custseg sample`` and ``custseg features``: seeded data, and customer features from a file.

Heavy modules are imported inside the handlers so ``custseg --help`` stays instant.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from core.cli.args import (
    TABLE_SUFFIXES,
    add_engine_options,
    add_mapping_options,
    add_source_options,
    database_source,
    load_input,
    output_path,
    parse_date,
    parse_mapping,
    spark_master,
    write_table,
)
from core.errors import ConfigError


def _cmd_sample(args: argparse.Namespace) -> int:
    from core.generator import write_transactions  # noqa: PLC0415

    out = output_path(args.out, (".parquet", ".csv", ".xlsx"))
    if args.customers < 1:
        raise ConfigError(f"--customers must be at least 1, got {args.customers}", "e.g. 5000")
    rows = write_transactions(out, customers=args.customers, seed=args.seed)
    print(f"wrote {rows:,} transaction lines for {args.customers:,} customers to {out}")
    return 0


def _cmd_features(args: argparse.Namespace) -> int:
    from core.cleaning import CleaningConfig  # noqa: PLC0415
    from core.features import FeatureConfig  # noqa: PLC0415
    from core.pipeline import build_customer_table  # noqa: PLC0415

    out = output_path(args.out, TABLE_SUFFIXES)
    audit_path = output_path(args.audit, (".json",), "--audit") if args.audit else None
    master = spark_master(args)
    features = FeatureConfig(
        analysis_date=parse_date(args.analysis_date, "--analysis-date"),
        use_gross=args.gross,
    )
    decimal_comma = True if args.decimal_comma else None
    ran_on = ""
    if args.engine == "spark":
        table = _spark_table(args, master, features, decimal_comma)
        from core.spark.session import active_master  # noqa: PLC0415

        ran_on = f"on Spark master {active_master()}; "
    else:
        loaded = load_input(args, decimal_comma=decimal_comma)
        table = build_customer_table(loaded, cleaning=CleaningConfig(), features=features)
    write_table(table.features, out)
    summary = table.summary()
    if audit_path is not None:
        audit_path.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    for note in table.notes():
        print(note, file=sys.stderr)
    print(
        f"{summary['customers']:,} customers ({summary['excluded']:,} excluded) from "
        f"{summary['purchase_rows']:,} purchase lines; analysis date {summary['analysis_date']}; "
        f"{ran_on}wrote {out}"
    )
    return 0


def _spark_table(
    args: argparse.Namespace, master: str | None, features: Any, decimal_comma: bool | None
) -> Any:
    """The customer table computed by Spark (``core.spark.table``) from INPUT's files."""
    if database_source(args) is not None:
        raise ConfigError(
            "--engine spark reads files (Parquet or CSV, local or s3a://, abfss://, hdfs://), "
            "not a database URL",
            "leave --engine spark out to read the database, or export the table to Parquet",
        )
    from core.spark.session import require_spark  # noqa: PLC0415

    require_spark()
    from core.spark.table import spark_customer_table  # noqa: PLC0415

    return spark_customer_table(
        [args.input],
        master=master,
        overrides=parse_mapping(args.map),
        date_format=args.date_format,
        decimal_comma=decimal_comma,
        features=features,
    )


def add_commands(sub: Any) -> None:
    """Register ``sample`` and ``features`` on the ``custseg`` sub-parsers."""
    sample = sub.add_parser("sample", help="write seeded synthetic transactions")
    sample.add_argument("--customers", type=int, default=4000)
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--out", required=True, help="output .parquet, .csv or .xlsx")
    sample.set_defaults(func=_cmd_sample)

    feats = sub.add_parser("features", help="clean transactions and compute customer features")
    feats.add_argument(
        "input",
        help="transactions: .csv (.gz/.zip), .xlsx, .parquet, or a database URL; with "
        "--engine spark, Parquet or CSV paths, globs or directories (s3a://, abfss://, hdfs:// "
        "as the cluster reads them)",
    )
    add_mapping_options(feats)
    add_source_options(feats)
    add_engine_options(feats)
    feats.add_argument("--analysis-date", metavar="D", help="YYYY-MM-DD (default: day after last)")
    feats.add_argument("--gross", action="store_true", help="monetary = gross (ignore returns)")
    feats.add_argument("--out", required=True, help="output .parquet, .csv or .xlsx")
    feats.add_argument("--audit", help="write the cleaning audit as JSON")
    feats.set_defaults(func=_cmd_features)
