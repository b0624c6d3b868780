"""The ``custseg`` command line.

Every user-facing failure is a :class:`core.errors.CustsegError`: it is printed as one clear
message plus a hint and the command exits with status 2, never with a traceback.

Commands: ``sample`` and ``features`` (:mod:`core.cli.data`), ``segment`` and ``score``
(:mod:`core.cli.segment`), sharing the argument helpers of :mod:`core.cli.args`. Commands of
other layers register themselves through the ``custseg.commands`` entry-point group (the web app
adds ``serve`` from ``dashapp.cli``), so ``core`` never imports them.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points

from core.cli import data, segment
from core.errors import CustsegError

EXIT_USAGE = 2
COMMAND_GROUP = "custseg.commands"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="custseg", description="Customer segmentation workbench: features, segments, app."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    data.add_commands(sub)
    segment.add_commands(sub)
    for entry in sorted(entry_points(group=COMMAND_GROUP), key=lambda e: e.name):
        entry.load()(sub)
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
