"""Argument helpers every ``custseg`` command shares: mappings, dates, output paths, tables."""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import ConfigError

if TYPE_CHECKING:
    from core.pipeline import LoadedTransactions
    from core.sources import DatabaseSource

# What a table --out may be: the app's export formats (core.export.FORMATS), written by the same
# code (core.export.write_table). Spelled out here so `custseg --help` imports no polars.
TABLE_SUFFIXES = (".csv", ".xlsx", ".parquet")


def parse_mapping(items: Sequence[str] | None) -> dict[str, str]:
    """Turn repeated ``--map ROLE=COLUMN`` options into a dict, validating their shape."""
    from core.columns import ROLES  # noqa: PLC0415

    mapping: dict[str, str] = {}
    for item in items or ():
        role, sep, column = item.partition("=")
        role = role.strip().lower()
        if not sep or not role or not column:
            raise ConfigError(
                f"--map expects ROLE=COLUMN, got {item!r}",
                f"for example --map customer='Customer ID'; roles: {', '.join(ROLES)}",
            )
        if role in mapping:
            raise ConfigError(f"--map gives the role {role!r} twice", "give each role once")
        mapping[role] = column
    return mapping


def parse_date(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"{option} must be a date like 2011-12-10, got {text!r}", "use the YYYY-MM-DD form"
        ) from None


def output_path(text: str, allowed: tuple[str, ...], option: str = "--out") -> Path:
    path = Path(text)
    suffix = path.suffix.lower()
    if suffix not in allowed:
        raise ConfigError(
            f"{option} {text!r} has an unsupported extension {suffix or '(none)'!r}",
            f"use one of: {', '.join(allowed)}",
        )
    if not path.parent.exists():
        raise ConfigError(
            f"the folder for {option} {text!r} does not exist", "create it or choose another path"
        )
    return path


def write_table(frame: object, path: Path) -> None:
    import polars as pl  # noqa: PLC0415

    from core.export import write_table as write  # noqa: PLC0415

    assert isinstance(frame, pl.DataFrame)
    write(frame, path)


def add_mapping_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--map",
        action="append",
        metavar="ROLE=COLUMN",
        help="map a source column to a role (customer, date, invoice, quantity, price, amount, "
        "product, description, country); repeatable",
    )
    parser.add_argument(
        "--date-format", metavar="F", help="strftime format of the date column, e.g. '%%d/%%m/%%Y'"
    )
    parser.add_argument(
        "--decimal-comma",
        action="store_true",
        help="numbers use a decimal comma (2,55); normally detected from the file",
    )


def add_source_options(parser: argparse.ArgumentParser) -> None:
    """``--table`` / ``--query`` and the limits of a database INPUT (:mod:`core.sources`)."""
    group = parser.add_argument_group(
        "database INPUT",
        "INPUT may be a database URL: postgresql://USER[:PASSWORD]@HOST[:PORT]/DB, "
        "sqlite:///PATH or duckdb:///PATH (four slashes for an absolute path); it is read "
        "read-only and never printed with its password",
    )
    group.add_argument("--table", metavar="NAME", help="read this table (or SCHEMA.TABLE)")
    group.add_argument("--query", metavar="SQL", help="read the result of this SELECT")
    group.add_argument(
        "--row-limit",
        type=int,
        metavar="N",
        help="refuse a result of more than N rows (default 20,000,000)",
    )
    group.add_argument(
        "--timeout", type=float, metavar="S", help="stop a read after S seconds (default 300)"
    )


def database_source(args: argparse.Namespace) -> DatabaseSource | None:
    """The database INPUT of ``args``, or None when INPUT is a file (validated either way)."""
    from core import sources  # noqa: PLC0415

    given = [
        f"--{name.replace('_', '-')}"
        for name in ("table", "query", "row_limit", "timeout")
        if getattr(args, name, None) is not None
    ]
    if sources.database_kind(args.input) is None:
        if given:
            raise ConfigError(
                f"{', '.join(given)} apply only when INPUT is a database URL, and "
                f"{args.input!r} is not one",
                "give a URL such as postgresql://USER@HOST/DB, or leave these options out",
            )
        return None
    return sources.DatabaseSource(
        url=args.input,
        table=args.table,
        query=args.query,
        row_limit=sources.DEFAULT_ROW_LIMIT if args.row_limit is None else args.row_limit,
        timeout_s=sources.DEFAULT_TIMEOUT_S if args.timeout is None else args.timeout,
    )


def load_input(
    args: argparse.Namespace, *, decimal_comma: bool | None = None
) -> LoadedTransactions:
    """INPUT's transactions, from a file or a database, read and mapped the same way."""
    from core.pipeline import load_transactions  # noqa: PLC0415
    from core.sources import load_database  # noqa: PLC0415

    options = {
        "overrides": parse_mapping(args.map),
        "date_format": args.date_format,
        "decimal_comma": decimal_comma,
    }
    source = database_source(args)
    if source is not None:
        return load_database(source, **options)
    return load_transactions(Path(args.input), **options)


# --- the engine (custseg features / segment / score) ------------------------------------------

ENGINES = ("polars", "spark")
DEFAULT_SPARK_MASTER = "local[2]"  # core.spark.session.DEFAULT_MASTER (no pyspark import here)
_MASTER_PATTERN = r"local(\[(\*|\d+)(,\d+)?\])?|yarn|(spark|sc|k8s)://\S+"


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    """``--engine polars|spark`` and ``--spark-master URL`` (one definition for every command
    that can run on Spark)."""
    group = parser.add_argument_group(
        "engine",
        "polars runs on this machine; spark runs the same definitions on a Spark cluster "
        "(pip install 'custseg[spark]' and a Java 17 runtime)",
    )
    group.add_argument(
        "--engine", choices=ENGINES, default="polars", help="computing engine (default polars)"
    )
    group.add_argument(
        "--spark-master",
        metavar="URL",
        help="with --engine spark: local[N], spark://HOST:PORT (standalone cluster) or "
        "sc://HOST:PORT (Spark Connect); default: the master spark-submit gives, else "
        f"{DEFAULT_SPARK_MASTER}",
    )


def spark_master(args: argparse.Namespace) -> str | None:
    """The ``--spark-master`` of ``args``, validated; None: the default (the master
    spark-submit set, else :data:`DEFAULT_SPARK_MASTER`, decided by ``core.spark.session``).

    Callers test ``args.engine == "spark"`` first; ``--spark-master`` without it is an error.
    """
    master: str | None = getattr(args, "spark_master", None)
    if getattr(args, "engine", "polars") != "spark":
        if master is not None:
            raise ConfigError(
                "--spark-master applies only with --engine spark",
                "add --engine spark, or leave --spark-master out",
            )
        return None
    if master is not None and re.fullmatch(_MASTER_PATTERN, master) is None:
        raise ConfigError(
            f"--spark-master {master!r} is not a Spark master URL",
            "use local[N], spark://HOST:PORT (standalone) or sc://HOST:PORT (Spark Connect)",
        )
    return master
