"""Argument helpers every ``custseg`` command shares: mappings, dates, output paths, tables."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from core.errors import ConfigError

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
