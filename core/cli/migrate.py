"""``custseg migrate``: who moved between segments since a cutoff date (:mod:`core.migration`).

Reads one or several transaction files of one layout as one set, builds the Before and After
customer tables with the one feature engine, segments both periods (by RFM, or by a model
fitted on Before) and writes FLOWS (one row per (from, to) pair) and CUSTOMERS (one row per
customer) through the app's export code. Heavy modules are imported inside the handler so
``custseg --help`` stays instant.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any

from core.cli.args import (
    TABLE_SUFFIXES,
    add_mapping_options,
    output_path,
    parse_date,
    parse_mapping,
    write_table,
)
from core.clustering.defaults import DEFAULT_FEATURES, DEFAULT_K, DEFAULT_SCALER, DEFAULT_SEED
from core.errors import ConfigError

BY_CHOICES = ("rfm", "kmeans", "minibatch", "gmm", "hierarchical")  # core.migration.BY_CHOICES


def _rule_set(text: str) -> Any:
    from core.rfm import RULESETS, load_ruleset  # noqa: PLC0415

    if text in RULESETS:
        return RULESETS[text]
    if not Path(text).is_file():
        raise ConfigError(
            f"--rule-set {text!r} is neither a built-in rule set nor a file",
            f"use one of {', '.join(RULESETS)}, or the path of a JSON or YAML rule set",
        )
    return load_ruleset(text)


def _features(text: str | None) -> tuple[str, ...]:
    if text is None:
        return DEFAULT_FEATURES
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    if not names:
        raise ConfigError(
            f"--features needs at least one feature name, got {text!r}",
            "e.g. --features recency_days,frequency,monetary",
        )
    return names


def _config(args: argparse.Namespace, cutoff: Any) -> Any:
    from core.clustering.config import ModelConfig, PreprocessConfig  # noqa: PLC0415
    from core.migration import RFM, MigrationConfig  # noqa: PLC0415

    if args.by == RFM:
        if args.k is not None or args.features is not None:
            raise ConfigError(
                "--k and --features apply to a clustering model, not to --by rfm",
                "leave them out, or use --by kmeans (or minibatch, gmm, hierarchical)",
            )
        return MigrationConfig(cutoff=cutoff, by=RFM, rule_set=_rule_set(args.rule_set))
    if args.rule_set != "rfm11":
        raise ConfigError(f"--rule-set applies to --by rfm, not to --by {args.by}", "leave it out")
    return MigrationConfig(
        cutoff=cutoff,
        by=args.by,
        preprocess=PreprocessConfig(features=_features(args.features), scaler=DEFAULT_SCALER),
        model=ModelConfig(
            algorithm=args.by,
            k=DEFAULT_K if args.k is None else args.k,
            random_state=args.seed,
        ),
    )


def cmd_migrate(args: argparse.Namespace) -> int:
    """Handler of ``custseg migrate``."""
    from core.cli.segment import _replay  # noqa: PLC0415
    from core.clustering.preprocess import ClusteringWarning  # noqa: PLC0415
    from core.features import FeatureConfig  # noqa: PLC0415
    from core.migration import combine_transactions, migrate, period_tables  # noqa: PLC0415
    from core.pipeline import load_transactions  # noqa: PLC0415

    flows_path = output_path(args.out, TABLE_SUFFIXES)
    customers_path = output_path(args.customers, TABLE_SUFFIXES, "--customers")
    report_path = output_path(args.report, (".json",), "--report") if args.report else None
    cutoff = parse_date(args.cutoff, "--cutoff")
    config = _config(args, cutoff)
    mapping = parse_mapping(args.map)
    loaded = combine_transactions(
        [
            load_transactions(
                Path(text),
                overrides=mapping,
                date_format=args.date_format,
                decimal_comma=True if args.decimal_comma else None,
            )
            for text in args.inputs
        ]
    )
    analysis = parse_date(args.analysis_date, "--analysis-date")
    periods = period_tables(loaded, config.cutoff, features=FeatureConfig(analysis_date=analysis))
    for note in periods.after.notes():
        print(note, file=sys.stderr)
    for warning in periods.before.warnings:
        print(f"custseg: warning: before the cutoff: {warning}", file=sys.stderr)
    shown: set[str] = set()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ClusteringWarning)
        result = migrate(periods, config)
    _replay(caught, shown)
    write_table(result.flows, flows_path)
    write_table(result.customers, customers_path)
    if report_path is not None:
        text = json.dumps(result.report(), indent=2, default=str, allow_nan=False)
        report_path.write_text(text + "\n")
    _print_summary(result)
    written = [str(flows_path), str(customers_path)]
    if report_path is not None:
        written.append(str(report_path))
    print(f"wrote {', '.join(written)}")
    return 0


def _print_summary(result: Any) -> None:
    from core.money import money_text  # noqa: PLC0415

    s = result.summary
    print(
        f"{s.customers:,} customers, cutoff {result.config.cutoff} (Before analysed as of it, "
        f"After as of {result.after_date}), by {result.config.by}: retained {s.retained:,}, "
        f"upgraded {s.upgraded:,}, downgraded {s.downgraded:,}, new {s.new:,}, "
        f"lapsed {s.lapsed:,}" + (f", moved {s.moved:,}" if s.moved else "")
    )
    print(f"revenue at risk (Before net spend of the downgraded): {money_text(s.revenue_at_risk)}")
    for row in result.top_downgrades().iter_rows(named=True):
        print(
            f"  {row['from_segment']} -> {row['to_segment']}: {row['customers']:,} customers, "
            f"{money_text(row['revenue_at_risk'])} at risk"
        )


def add_commands(sub: Any) -> None:
    """Register ``migrate`` on the ``custseg`` sub-parsers."""
    migrate = sub.add_parser(
        "migrate", help="who moved between segments since a cutoff date, and what it is worth"
    )
    migrate.add_argument(
        "inputs", nargs="+", metavar="INPUT", help="transaction files of one layout, read as one"
    )
    add_mapping_options(migrate)
    migrate.add_argument("--cutoff", required=True, metavar="DATE", help="YYYY-MM-DD")
    migrate.add_argument(
        "--analysis-date", metavar="D", help="After's analysis date (default: day after last)"
    )
    migrate.add_argument(
        "--by", default="rfm", choices=BY_CHOICES, help="RFM, or a model fitted on Before"
    )
    migrate.add_argument("--k", type=int, help=f"segments of the model (default {DEFAULT_K})")
    migrate.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})"
    )
    migrate.add_argument(
        "--features",
        metavar="A,B,C",
        help=f"features of the model (default {','.join(DEFAULT_FEATURES)})",
    )
    migrate.add_argument(
        "--rule-set",
        default="rfm11",
        metavar="rfm11|rf_grid|FILE",
        help="RFM rule set: built-in name or a JSON/YAML file (default rfm11)",
    )
    migrate.add_argument("--out", required=True, help="FLOWS: .csv, .xlsx or .parquet")
    migrate.add_argument("--customers", required=True, help="CUSTOMERS: .csv, .xlsx or .parquet")
    migrate.add_argument("--report", help="write the JSON report here")
    migrate.set_defaults(func=cmd_migrate)
