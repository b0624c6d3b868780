"""The ``custseg`` command line.

Every user-facing failure is a :class:`core.errors.CustsegError`: it is printed as one clear
message plus a hint and the command exits with status 2, never with a traceback. Any other
exception is a bug: one line with its type, message and a short reference, status 2 as well;
``custseg --debug COMMAND`` (or ``CUSTSEG_DEBUG=1``) adds the traceback on standard error.

Commands: ``sample`` and ``features`` (:mod:`core.cli.data`), ``segment`` and ``score``
(:mod:`core.cli.segment`), ``clv`` (:mod:`core.cli.clv`), ``migrate`` (:mod:`core.cli.migrate`),
sharing the argument helpers of :mod:`core.cli.args`. Commands of other layers register
themselves through the ``custseg.commands`` entry-point group (the web app adds ``serve`` from
``dashapp.cli``), so ``core`` never imports them.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points

from core.cli import clv, data, migrate, segment, workspace
from core.errors import (
    CustsegError,
    StorageError,
    os_cause,
    report_unexpected,
    summary_line,
)

EXIT_USAGE = 2
COMMAND_GROUP = "custseg.commands"
DEBUG_ENV = "CUSTSEG_DEBUG"
log = logging.getLogger("custseg.cli")
# Without logging set up, the log record is dropped rather than printed by Python's last-resort
# handler: a plain command shows only its one line unless --debug is given.
log.addHandler(logging.NullHandler())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="custseg", description="Customer segmentation workbench: features, segments, app."
    )
    parser.add_argument(
        "--debug",
        dest="show_traceback",  # not "debug": ``serve --debug`` means Dash's dev tools
        action="store_true",
        help=f"print the traceback of an internal error (also: {DEBUG_ENV}=1)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    data.add_commands(sub)
    segment.add_commands(sub)
    clv.add_commands(sub)
    migrate.add_commands(sub)
    workspace.add_commands(sub)
    for entry in sorted(entry_points(group=COMMAND_GROUP), key=lambda e: e.name):
        entry.load()(sub)
    return parser


def _user_error(exc: CustsegError) -> int:
    print(f"custseg: error: {exc.message}", file=sys.stderr)
    if exc.hint:
        print(f"custseg: how to fix: {exc.hint}", file=sys.stderr)
    return EXIT_USAGE


def _internal_error(exc: Exception, *, command: str, show_traceback: bool) -> int:
    """A bug, not bad input: one line with a reference, and the traceback only when asked
    (it also goes to the log where logging is set up, as ``serve`` does)."""
    reference = report_unexpected(exc, log, f"custseg {command}")
    print(
        f"custseg: internal error {reference} ({summary_line(exc)}). This is a bug: please "
        "report it with this line; run `custseg --debug ...` to see the traceback.",
        file=sys.stderr,
    )
    if show_traceback:
        traceback.print_exception(exc, file=sys.stderr)
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
    except OSError as exc:
        # The machine's, not the input's or a bug: a full disk, a missing permission.
        where = f" {exc.filename}" if exc.filename else " a file"
        return _user_error(
            StorageError(
                f"cannot read or write{where} ({os_cause(exc)}).",
                "check the path, its permissions and the free space on its disk, then run the "
                "command again",
            )
        )
    except Exception as exc:  # noqa: BLE001  (the outer edge: any bug becomes one line)
        show = bool(args.show_traceback or os.environ.get(DEBUG_ENV))
        return _internal_error(exc, command=args.command, show_traceback=show)


if __name__ == "__main__":
    sys.exit(main())
