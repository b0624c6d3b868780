"""The ``custseg`` command line.

Every user-facing failure is a :class:`core.errors.CustsegError`: it is printed as one clear
message plus a hint and the command exits with status 2, never with a traceback. Heavy modules
are imported inside the sub-commands so ``custseg --help`` stays instant.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from core.clustering.cli import add_commands as _add_clustering_commands
from core.errors import ConfigError, CustsegError

EXIT_USAGE = 2


def _parse_mapping(items: Sequence[str] | None) -> dict[str, str]:
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


def _parse_date(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"{option} must be a date like 2011-12-10, got {text!r}", "use the YYYY-MM-DD form"
        ) from None


def _output_path(text: str, allowed: tuple[str, ...], option: str = "--out") -> Path:
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


def _write_table(frame: object, path: Path) -> None:
    import polars as pl  # noqa: PLC0415

    from core.export import write_table  # noqa: PLC0415

    assert isinstance(frame, pl.DataFrame)
    write_table(frame, path)


def _cmd_sample(args: argparse.Namespace) -> int:
    from core.generator import write_transactions  # noqa: PLC0415

    out = _output_path(args.out, (".parquet", ".csv", ".xlsx"))
    if args.customers < 1:
        raise ConfigError(f"--customers must be at least 1, got {args.customers}", "e.g. 5000")
    rows = write_transactions(out, customers=args.customers, seed=args.seed)
    print(f"wrote {rows:,} transaction lines for {args.customers:,} customers to {out}")
    return 0


def _cmd_features(args: argparse.Namespace) -> int:
    from core.cleaning import CleaningConfig  # noqa: PLC0415
    from core.features import FeatureConfig  # noqa: PLC0415
    from core.pipeline import build_customer_table, load_transactions  # noqa: PLC0415

    out = _output_path(args.out, (".parquet", ".csv"))
    audit_path = _output_path(args.audit, (".json",), "--audit") if args.audit else None
    loaded = load_transactions(
        Path(args.input),
        overrides=_parse_mapping(args.map),
        date_format=args.date_format,
        decimal_comma=True if args.decimal_comma else None,
    )
    table = build_customer_table(
        loaded,
        cleaning=CleaningConfig(),
        features=FeatureConfig(
            analysis_date=_parse_date(args.analysis_date, "--analysis-date"),
            use_gross=args.gross,
        ),
        keep_lines=False,  # only the table and the audit are written: stream, hold no line
    )
    _write_table(table.features, out)
    summary = table.summary()
    if audit_path is not None:
        audit_path.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    for note in table.notes():
        print(note, file=sys.stderr)
    print(
        f"{summary['customers']:,} customers ({summary['excluded']:,} excluded) from "
        f"{summary['purchase_rows']:,} purchase lines; analysis date {summary['analysis_date']}; "
        f"wrote {out}"
    )
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    # The web layer sits on top of core; the CLI is the one place that launches it, and it does
    # so lazily so that every other sub-command runs without importing Dash.
    import importlib  # noqa: PLC0415

    serve = importlib.import_module("dashapp.cli").serve
    data = Path(args.data) if args.data else None
    if data is not None and not data.exists():
        raise ConfigError(f"--data {args.data!r} does not exist", "give the path of a data file")
    serve(host=args.host, port=args.port, data=data, debug=args.debug)
    return 0


def _add_mapping_options(parser: argparse.ArgumentParser) -> None:
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="custseg", description="Customer segmentation workbench: features, segments, app."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sample = sub.add_parser("sample", help="write seeded synthetic transactions")
    sample.add_argument("--customers", type=int, default=4000)
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--out", required=True, help="output .parquet, .csv or .xlsx")
    sample.set_defaults(func=_cmd_sample)

    feats = sub.add_parser("features", help="clean transactions and compute customer features")
    feats.add_argument("input", help="transactions: .csv (.gz/.zip), .xlsx or .parquet")
    _add_mapping_options(feats)
    feats.add_argument("--analysis-date", metavar="D", help="YYYY-MM-DD (default: day after last)")
    feats.add_argument("--gross", action="store_true", help="monetary = gross (ignore returns)")
    feats.add_argument("--out", required=True, help="output .parquet or .csv")
    feats.add_argument("--audit", help="write the cleaning audit as JSON")
    feats.set_defaults(func=_cmd_features)

    _add_clustering_commands(sub, _add_mapping_options)  # segment, score

    serve = sub.add_parser("serve", help="start the web app")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8050)
    serve.add_argument("--data", help="open on this transaction file instead of the default data")
    serve.add_argument("--debug", action="store_true", help="Dash debug mode (development only)")
    serve.set_defaults(func=_cmd_serve)

    return parser


def _user_error(exc: CustsegError) -> int:
    print(f"custseg: error: {exc.message}", file=sys.stderr)
    if exc.hint:
        print(f"custseg: how to fix: {exc.hint}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except CustsegError as exc:
        return _user_error(exc)
    except KeyboardInterrupt:
        print("custseg: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        # A bug, not bad input: say so plainly; the traceback is one variable away.
        if os.environ.get("CUSTSEG_DEBUG"):
            raise
        print(
            f"custseg: internal error ({type(exc).__name__}: {exc}). This is a bug, please "
            "report it; set CUSTSEG_DEBUG=1 to see the traceback.",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
