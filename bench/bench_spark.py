"""Spark local[2] vs Polars for ``custseg features`` on generated lines: wall time, peak
memory and output digests.

Each engine runs the real command in a child process (``python -m core.cli features FILE
--out OUT.parquet [--engine spark --spark-master local[2]]``); peak memory is the largest
sum of RSS over that process and all its descendants (the JVM for Spark), sampled every
100 ms with psutil. The outputs must agree: the digest is the SHA-256 of the feature table's
columns other than floats and the audit JSON's counts must be equal; the floats are
compared by their largest relative gap (the engines may differ in the last bit of a sum,
see :func:`largest_gap`).

    flock /tmp/bench.lock python bench/bench_spark.py --lines 5000000 20000000

Generated files are cached in --folder (default /tmp/custseg-bench-spark). The Spark driver
gets ``--driver-memory`` (default 4g) through PYSPARK_SUBMIT_ARGS. Figures go to
bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import psutil

from core.generator import write_transactions

COUNTS = ("rows_in", "rows_kept", "customers_in", "customers_out", "dropped")


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    for member in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += member.memory_info().rss
    return total


def run(argv: list[str], env: dict[str, str], log: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of the process tree of ``argv`` (its output in
    ``log``: a pipe left unread would stall a chatty JVM)."""
    start = time.perf_counter()
    with log.open("wb") as out:
        child = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
        peak = _watch(child)
    wall = time.perf_counter() - start
    if child.returncode != 0:
        raise RuntimeError(f"{argv} failed: {log.read_text()[-2000:]}")
    return wall, peak


def _watch(child: subprocess.Popen[bytes]) -> int:
    watched = psutil.Process(child.pid)
    peak = 0
    while child.poll() is None:
        with contextlib.suppress(psutil.Error):
            peak = max(peak, _tree_rss(watched))
        time.sleep(0.1)
    return peak


def digest(path: Path) -> str:
    """SHA-256 of the table's columns other than floats (ids, counts, days, dates, country,
    exclusion); the floats are compared by :func:`largest_gap`."""
    table = pl.read_parquet(path)
    exact = table.select(c for c, t in table.schema.items() if not t.is_float())
    return hashlib.sha256(exact.write_csv().encode()).hexdigest()[:16]


def largest_gap(spark: Path, polars: Path) -> float:
    """The largest relative difference between the two tables' floats (the rest must be
    equal). Both engines add money as whole millionths, but the Polars engine's group-by
    turns them back into floats one unit in the last place off now and then, so a value
    on a rounding boundary (avg_order_value at a half cent) can round either way."""
    a, b = pl.read_parquet(spark), pl.read_parquet(polars)
    floats = [c for c, t in a.schema.items() if t.is_float()]
    if not a.drop(floats).equals(b.drop(floats)):
        return float("inf")
    gaps = [
        ((a[c] - b[c]).abs() / b[c].abs().clip(lower_bound=1e-300)).max() or 0.0 for c in floats
    ]
    return float(max(gaps))


def counts(path: Path) -> dict[str, object]:
    audit = json.loads(path.read_text())["audit"]
    return {k: audit[k] for k in COUNTS}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[5_000_000, 20_000_000])
    parser.add_argument("--folder", type=Path, default=Path("/tmp/custseg-bench-spark"))
    parser.add_argument("--driver-memory", default="4g")
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PYSPARK_SUBMIT_ARGS": f"--driver-memory {args.driver_memory} pyspark-shell",
    }
    print(f"load average before: {os.getloadavg()}")
    print(f"{'lines':>12} {'engine':>7} {'wall s':>8} {'peak MB':>8} {'digest':>17}")
    for lines in args.lines:
        source = args.folder / f"lines-{lines}.parquet"
        if not source.exists():
            write_transactions(source, lines=lines, seed=args.seed)
        results = {}
        for engine in ("polars", "spark"):
            out = args.folder / f"features-{lines}-{engine}.parquet"
            audit = args.folder / f"audit-{lines}-{engine}.json"
            argv = [sys.executable, "-m", "core.cli", "features", str(source)]
            argv += ["--out", str(out), "--audit", str(audit)]
            if engine == "spark":
                argv += ["--engine", "spark", "--spark-master", "local[2]"]
            wall, peak = run(argv, env, args.folder / f"log-{lines}-{engine}.txt")
            results[engine] = (digest(out), counts(audit))
            print(
                f"{lines:>12,} {engine:>7} {wall:>8.1f} {peak / 2**20:>8,.0f} "
                f"{results[engine][0]:>17}",
                flush=True,
            )
        same = results["polars"] == results["spark"]
        gap = largest_gap(
            *(args.folder / f"features-{lines}-{e}.parquet" for e in ("spark", "polars"))
        )
        print(
            f"{'':>12} same ids, counts, dates and audit counts: {same}; "
            f"largest relative gap between the floats: {gap:.1e}"
        )
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
