"""``custseg clv``: predicted customer value (BG/NBD + Gamma-Gamma, :mod:`core.clv`).

INPUT is a transaction file, read, mapped and cleaned as ``custseg features`` does; the
models are fitted on its cleaned lines up to the calibration end. The table (``--out``) has
:data:`core.clv.CLV_COLUMNS`, written by the app's export code; ``--report`` holds the fitted
parameters, the time unit, E, H and the holdout check. Heavy modules are imported inside the
handler so ``custseg --help`` stays instant.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from core.cli.args import add_mapping_options, output_path, parse_date, parse_mapping, write_table

CLV_SUFFIXES = (".csv", ".parquet")
UNITS = ("day", "week", "month")


def _cmd_clv(args: argparse.Namespace) -> int:
    from core import clv  # noqa: PLC0415
    from core.pipeline import build_customer_table, load_transactions  # noqa: PLC0415

    out = output_path(args.out, CLV_SUFFIXES)
    report_path = output_path(args.report, (".json",), "--report") if args.report else None
    config = clv.ClvConfig(
        calibration_end=parse_date(args.calibration_end, "--calibration-end"),
        time_unit=args.time_unit,
        horizon=args.horizon,
    )
    loaded = load_transactions(
        Path(args.input),
        overrides=parse_mapping(args.map),
        date_format=args.date_format,
        decimal_comma=True if args.decimal_comma else None,
    )
    table = build_customer_table(loaded)
    result = clv.predict_clv(clv.table_lines(table), config)
    write_table(result.table, out)
    report = result.report()
    if report_path is not None:
        report_path.write_text(json.dumps(report, indent=2) + "\n")
    for note in table.notes():
        print(note, file=sys.stderr)
    print(_summary(report, out))
    return 0


def _summary(report: dict[str, Any], out: Path) -> str:
    bg, gg, unit = report["bgnbd"], report["gamma_gamma"], report["time_unit"]
    lines = [
        f"{report['customers']:,} customers up to {report['calibration_end']}; predicted "
        f"revenue over {report['horizon']:g} {unit}s: {report['predicted_revenue']:,.2f}",
        f"BG/NBD r={bg['r']:.4g} alpha={bg['alpha']:.4g} a={bg['a']:.4g} b={bg['b']:.4g} "
        f"(log-likelihood {bg['log_likelihood']:.1f}); Gamma-Gamma p={gg['p']:.4g} "
        f"q={gg['q']:.4g} gamma={gg['gamma']:.4g} on {gg['customers']:,} repeat customers"
        + (f" ({gg['left_out']:,} left out: repeat spend not positive)" if gg["left_out"] else ""),
    ]
    holdout = report["holdout"]
    if holdout is not None:
        lines.append(
            f"holdout {holdout['start']} to {holdout['end']}: predicted "
            f"{holdout['predicted']:,.1f} repeat purchase days, actual {holdout['actual']:,}"
        )
    lines.append(f"wrote {out}")
    return "\n".join(lines)


def add_commands(sub: Any) -> None:
    """Register ``clv`` on the ``custseg`` sub-parsers."""
    cmd = sub.add_parser(
        "clv", help="predict each customer's purchases and revenue (BG/NBD + Gamma-Gamma)"
    )
    cmd.add_argument("input", help="transactions: .csv (.gz/.zip), .xlsx or .parquet")
    add_mapping_options(cmd)
    cmd.add_argument(
        "--calibration-end",
        metavar="DATE",
        help="YYYY-MM-DD, included; the fit uses lines up to it (default: the last purchase day)",
    )
    cmd.add_argument("--time-unit", choices=UNITS, default="week", help="default: week")
    cmd.add_argument(
        "--horizon",
        type=float,
        metavar="N",
        help="prediction horizon in time units (default: one year: 365, 52 or 12)",
    )
    cmd.add_argument("--out", required=True, help="output .csv or .parquet")
    cmd.add_argument("--report", help="write the fits and the holdout check as JSON")
    cmd.set_defaults(func=_cmd_clv)
