"""The engine's money sums: this checkout's ``core`` against a baseline commit's, in one process.

Usage::

    flock /tmp/bench.lock python3 bench/bench_money_sums.py [--baseline REV] [--rounds 3] \
        [--product-lines] [FILE]

``FILE`` (default ``bench/out/app_100000_customers_seed11.parquet``) is loaded once by each
side (``core.pipeline.load_transactions``: lazy, nothing read yet), then both run the engine
(``run_engine`` as ``build_customer_table`` calls it; with ``--product-lines`` as the app's
loading calls it) alternately ``--rounds`` times; each run's CPU seconds
(``time.process_time``: every thread of the process) are printed, and the medians with their
ratio. The baseline's ``core`` package is taken from git (``git archive REV core``) into a
temporary folder and imported under its own ``sys.modules`` entries, swapped in while it
runs. The last run of each side must give the same feature table and audit to the bit (the
floats' 64-bit patterns; the audit JSON as text), else the script exits with status 1.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_FILE = ROOT / "bench" / "out" / "app_100000_customers_seed11.parquet"


class CoreVersion:
    """One ``core`` package: its modules, swapped into ``sys.modules`` while it runs (a
    function importing inside its body then finds its own version)."""

    def __init__(self, label: str, root: Path) -> None:
        self.label = label
        saved = _take_core_modules()
        sys.path.insert(0, str(root))
        try:
            self.pipeline = importlib.import_module("core.pipeline")
        finally:
            sys.path.remove(str(root))
            self.modules = _take_core_modules()
            sys.modules.update(saved)

    @contextlib.contextmanager
    def active(self) -> Iterator[ModuleType]:
        saved = _take_core_modules()
        sys.modules.update(self.modules)
        try:
            yield self.pipeline
        finally:
            self.modules = _take_core_modules()
            sys.modules.update(saved)


def _take_core_modules() -> dict[str, ModuleType]:
    names = [n for n in sys.modules if n == "core" or n.startswith("core.")]
    return {n: sys.modules.pop(n) for n in names}


def _extract(rev: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "core"], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def _run(
    version: CoreVersion, path: Path, *, product_lines: bool
) -> tuple[float, Any, dict[str, Any]]:
    with version.active() as pipeline:
        loaded = pipeline.load_transactions(path)
        options = {"product_lines": True} if product_lines else {}
        start = time.process_time()
        result = pipeline.run_engine(loaded.lines, stripped=True, encoder=loaded.encoder, **options)
        cpu = time.process_time() - start
        audit = result.audit.to_dict()
        audit.pop("samples", None)
    return cpu, result.features, audit


def _bits(table: Any) -> Any:
    """``table`` with each float column as its 64-bit patterns (nulls kept): 0.0 and -0.0,
    or two NaNs, are told apart."""
    floats = [c for c, t in table.schema.items() if t == pl.Float64]
    return table.with_columns(
        pl.Series(c, table[c].fill_null(0.0).to_numpy().view(np.int64)).alias(c) for c in floats
    ).with_columns(
        pl.when(table[c].is_null()).then(None).otherwise(pl.col(c)).alias(c) for c in floats
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--baseline", default="6aea42f", help="git revision of the old core")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--product-lines",
        action="store_true",
        help="run_engine(product_lines=True), as the app loads a table (baseline 8b83581 on)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old = CoreVersion(f"baseline {args.baseline}", _extract(args.baseline, Path(tmp)))
        new = CoreVersion("this checkout", ROOT)
        times: dict[str, list[float]] = {old.label: [], new.label: []}
        outputs = {}
        for _ in range(args.rounds):
            for version in (old, new):
                cpu, table, audit = _run(version, args.file, product_lines=args.product_lines)
                times[version.label].append(cpu)
                outputs[version.label] = (table, json.dumps(audit, sort_keys=True))
                print(f"{version.label:>20}: {cpu:7.2f} CPU-s", flush=True)
        (old_table, old_audit), (new_table, new_audit) = outputs.values()
        same = _bits(old_table).equals(_bits(new_table)) and old_audit == new_audit
        print(f"feature table and audit bit-identical: {same}")
        old_cpu, new_cpu = (statistics.median(t) for t in times.values())
        print(f"median CPU-s: baseline {old_cpu:.2f}, this checkout {new_cpu:.2f}, "
              f"ratio {old_cpu / new_cpu:.2f}x")  # fmt: skip
        if not same:
            sys.exit(1)


if __name__ == "__main__":
    main()
