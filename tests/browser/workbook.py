"""The real Online Retail file as an .xlsx workbook, written in a process of its own.

Writing the 541,909-line workbook (Polars ``write_excel``, xlsxwriter) costs about half a
minute of CPU, more than the upload it is made for. ``tests/browser/conftest.py`` starts this
module as a child process at a lower priority as soon as the session has collected a test that
needs the workbook, so it is written while other tests run; the test's fixture waits for it.

Run as ``python -m tests.browser.workbook SOURCE.parquet OUT.xlsx``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[2]
NICENESS = 10  # as the Spark tests beside the main run (tools/test.sh): idle CPU first


def write(source: Path, out: Path) -> None:
    """``source`` (Parquet) as the workbook ``out``, renamed into place once complete."""
    partial = out.with_name(out.name + ".partial")
    pl.read_parquet(source).write_excel(partial, autofit=False)
    partial.replace(out)


class Background:
    """:func:`write` running in a child process started now; :meth:`result` waits for it."""

    def __init__(self, source: Path, out: Path) -> None:
        self.out = out
        command = [sys.executable, "-m", "tests.browser.workbook", str(source), str(out)]
        self.process = subprocess.Popen(
            ["nice", "-n", str(NICENESS), *command],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )

    def result(self) -> Path:
        _, err = self.process.communicate()
        if self.process.returncode != 0:
            raise RuntimeError(f"writing {self.out} failed ({self.process.returncode}): {err}")
        return self.out

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


if __name__ == "__main__":
    write(Path(sys.argv[1]), Path(sys.argv[2]))
