"""Read + audit + features: ``custseg features`` against pandas and DuckDB, as ratios in one run.

Usage::

    python3 bench/bench_features.py [--cases real,real10,20m,50m] [--repeats 5]
        [--big-repeats 1] [--warm 5] [--contenders NAME,...] [--cache-dir DIR]

Contenders (``bench/contenders.py``): ``custseg`` (what ``custseg features`` runs),
``custseg-lines`` (the app's path: the same, then the kept lines read back), ``pandas``
(``pandas_reference.py``, the plain statement), ``pandas-tuned`` (``pandas_tuned.py``),
``duckdb-plain`` and ``duckdb-grouped`` (``duckdb_sql.py``). Each measurement is a fresh
subprocess: the child times its own work, from just before reading the file to the finished
feature table, audit and sample lines (imports excluded); the parent reads the child's peak
RSS and CPU time from ``os.wait4``. Contenders are measured in turn (round-robin), so drift in
the machine's state falls on both sides of a ratio.

Every child writes its whole answer (feature table, audit figures, sample rows) after its
clock stops; the parent compares each contender's with ``custseg``'s on every column of every
row (``bench/outputs.py``) and stops with status 1 at the first disagreement.

Cases: ``real`` (the UCI file, 541,909 lines), ``real10`` (the UCI file stacked ten times with
distinct customers and invoices, 5,419,090 lines), ``20m`` and ``50m`` (generated lines, seed
7), ``csv20m`` (informative: ``read_table`` + ``normalize`` of the 20 M lines as CSV);
``--warm N`` also times N calls after a first one in one process on the real file. Targets
(issue 9): on ``real`` custseg >= 4x faster than ``pandas-tuned`` and at least level with
``duckdb-grouped``; on ``20m`` >= 8x faster than ``pandas-tuned`` at <= 1/4 of its peak RSS and
>= 2x faster than ``duckdb-grouped``; on ``50m`` a peak RSS <= 4 GB. Exit status 1 when a
target is missed or an answer differs. Inputs are cached in ``--cache-dir`` (``bench/out/``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "online_retail.parquet"
SEED = 7
CASE_LINES = {"20m": 20_000_000, "50m": 50_000_000, "csv20m": 20_000_000}
CASES = ("real", "real10", "20m", "50m", "csv20m")
ALL = ("custseg", "custseg-lines", "pandas", "pandas-tuned", "duckdb-plain", "duckdb-grouped")
CASE_CONTENDERS: dict[str, tuple[str, ...]] = {
    "real": ALL,
    "real10": ("custseg", "pandas", "pandas-tuned", "duckdb-plain", "duckdb-grouped"),
    "20m": ("custseg", "pandas", "pandas-tuned", "duckdb-plain", "duckdb-grouped"),
    "50m": ("custseg",),
    "csv20m": ("custseg-normalize",),
}
WARM = ("custseg", "pandas-tuned", "duckdb-grouped")
MB = 1024 * 1024


# --- children: one measurement each ----------------------------------------------------------


def _child_normalize(path: Path) -> dict[str, Any]:
    from core.io import read_table
    from core.schema import detect_roles, normalize

    start = time.perf_counter()
    frame, read = read_table(path)
    normalized, report = normalize(frame, detect_roles(read.columns))
    seconds = time.perf_counter() - start
    assert normalized.collect_schema().names()
    return {"seconds": seconds, "rows_in": report.n_rows}


def child(name: str, path: Path, calls: int, out: Path | None) -> dict[str, Any]:
    """Run a contender ``calls`` times in this process; write its last answer to ``out``."""
    if name == "custseg-normalize":
        return _child_normalize(path)
    from bench.contenders import CONTENDERS

    contender = CONTENDERS[name]
    contender.warm_up()
    seconds = []
    for _ in range(calls):
        start = time.perf_counter()
        result = contender.run(path)
        seconds.append(time.perf_counter() - start)
    if out is not None:
        contender.output(result).write(out)
    if calls == 1:
        return {"seconds": seconds[0]}
    return {"seconds": statistics.median(seconds[1:]), "first_seconds": seconds[0]}


# --- parent: inputs, subprocesses, checks, table --------------------------------------------


@dataclass(frozen=True)
class Run:
    seconds: float  # wall time measured by the child around the work
    peak_mb: float  # the child's peak RSS
    cpu: float  # the child's user + system CPU time (whole process, imports included)


def measure(name: str, path: Path, *, calls: int = 1, out: Path | None = None) -> Run:
    """One fresh subprocess; its own wall time, its peak RSS (``ru_maxrss``) and CPU time."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", name, str(path)]
    cmd += ["--calls", str(calls)] + ([] if out is None else ["--out", str(out)])
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    text = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{name} on {path} failed with status {os.waitstatus_to_exitcode(status)}")
    result = json.loads(text.strip().splitlines()[-1])
    return Run(float(result["seconds"]), usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime)


def generated(lines: int, cache_dir: Path, suffix: str) -> Path:
    """The generated input (seed ``SEED``), written once and reused."""
    from core.generator import write_transactions

    path = cache_dir / f"transactions_{lines}_seed{SEED}{suffix}"
    if not path.exists():
        print(f"generating {path} ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        write_transactions(path, seed=SEED, lines=lines)
        print(f"  done in {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    return path


def stacked(times: int, cache_dir: Path) -> Path:
    """The UCI file ``times`` times over, each copy with its own customers and invoices."""
    import polars as pl

    path = cache_dir / f"online_retail_x{times}.parquet"
    if not path.exists():
        raw = pl.read_parquet(REAL)
        parts = [
            raw.with_columns(pl.col("CustomerID") + i * 100_000, pl.col("InvoiceNo") + f"_{i}")
            for i in range(times)
        ]
        pl.concat(parts).write_parquet(path)
    return path


def check(case: str, names: tuple[str, ...], folder: Path) -> None:
    """Compare every contender's answer with custseg's; stop the run on any difference."""
    from bench.outputs import Output, differences

    reference = Output.read(folder / "custseg")
    problems = [
        problem
        for name in names
        if name != "custseg"
        for problem in differences(f"{case} {name}", reference, Output.read(folder / name))
    ]
    if problems:
        print("\n".join(f"[MISMATCH] {p}" for p in problems), file=sys.stderr, flush=True)
        raise SystemExit(f"{case}: answers differ from custseg's (above); no timing reported")
    print(f"  {case}: {len(names) - 1} contenders agree with custseg on every column",
          file=sys.stderr, flush=True)  # fmt: skip


def median_runs(
    case: str, names: tuple[str, ...], path: Path, repeats: int, folder: Path | None
) -> dict[str, Run]:
    """``repeats`` measurements per contender in turn, answers checked after the first."""
    runs: dict[str, list[Run]] = {n: [] for n in names}
    for round_ in range(repeats):
        for name in names:
            out = folder / name if folder is not None and round_ == 0 else None
            runs[name].append(measure(name, path, out=out))
            taken = runs[name][-1]
            print(f"  {case:7s} {name:16s} {taken.seconds:8.2f} s {taken.peak_mb:9.0f} MB "
                  f"{taken.cpu:8.2f} CPU s", file=sys.stderr, flush=True)  # fmt: skip
        if round_ == 0 and folder is not None and "custseg" in names:
            check(case, names, folder)
    return {
        name: Run(
            seconds=statistics.median(r.seconds for r in taken),
            peak_mb=statistics.median(r.peak_mb for r in taken),
            cpu=statistics.median(r.cpu for r in taken),
        )
        for name, taken in runs.items()
    }


@dataclass(frozen=True)
class Target:
    case: str
    text: str
    met: bool


def targets_of(case: str, runs: dict[str, Run]) -> list[Target]:
    """The issue's targets that ``case`` measures (only for contenders that ran)."""
    own, found = runs.get("custseg"), []
    if own is None:
        return found

    def faster(name: str, at_least: float) -> None:
        if name in runs:
            speed = runs[name].seconds / own.seconds
            text = f"custseg >= {at_least:g}x faster than {name} (got {speed:.2f}x)"
            found.append(Target(case, text, speed >= at_least))

    if case == "real":
        faster("pandas-tuned", 4)
        faster("duckdb-grouped", 1)
    if case == "20m":
        faster("pandas-tuned", 8)
        faster("duckdb-grouped", 2)
        if "pandas-tuned" in runs:
            share = own.peak_mb / runs["pandas-tuned"].peak_mb
            text = f"custseg peak <= 1/4 of pandas-tuned's (got {share:.2f})"
            found.append(Target(case, text, share <= 0.25))
    if case == "50m":
        text = f"custseg peak <= 4096 MB (got {own.peak_mb:.0f} MB)"
        found.append(Target(case, text, own.peak_mb <= 4096))
    return found


def print_table(rows: list[tuple[str, str, Run, Run | None]], targets: list[Target]) -> None:
    print(
        f"\n{'case':7s} {'contender':16s} {'seconds':>8s} {'peak MB':>8s} {'CPU s':>7s}"
        "  custseg vs it (wall time, CPU time, peak RSS)"
    )
    for case, name, run, own in rows:
        versus = ""
        if own is not None and name != "custseg":
            versus = (
                f"{run.seconds / own.seconds:5.2f}x faster, {run.cpu / own.cpu:5.2f}x less CPU, "
                f"{own.peak_mb / run.peak_mb:4.2f} of its peak"
            )
        figures = f"{run.seconds:8.2f} {run.peak_mb:8.0f} {run.cpu:7.2f}"
        print(f"{case:7s} {name:16s} {figures}  {versus}")
    print()
    for target in targets:
        print(f"[{'met' if target.met else 'MISSED'}] {target.case}: {target.text}")


def input_of(case: str, cache_dir: Path) -> Path:
    if case in ("real", "real10") and not REAL.exists():
        raise SystemExit(f"real data not found at {REAL}")
    if case == "real":
        return REAL
    if case == "real10":
        return stacked(10, cache_dir)
    return generated(CASE_LINES[case], cache_dir, ".csv" if case == "csv20m" else ".parquet")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="real,real10,20m,50m", help=f"comma list of {CASES}")
    parser.add_argument("--repeats", type=int, default=5, help="runs per contender (real)")
    parser.add_argument("--big-repeats", type=int, default=1, help="runs per contender (others)")
    parser.add_argument("--warm", type=int, default=5, help="real: calls after a first (0: off)")
    parser.add_argument("--contenders", default="", help=f"comma list, default per case {ALL}")
    parser.add_argument("--cache-dir", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--child", nargs=2, metavar=("CONTENDER", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--calls", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], Path(args.child[1]), args.calls, args.out)))
        return 0

    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    chosen = {c.strip() for c in args.contenders.split(",") if c.strip()}
    if set(cases) - set(CASES) or chosen - set(ALL):
        parser.error(f"cases are among {CASES}, contenders among {ALL}")
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, str, Run, Run | None]] = []
    targets: list[Target] = []
    for case in cases:
        path = input_of(case, args.cache_dir)
        names = tuple(n for n in CASE_CONTENDERS[case] if not chosen or n in chosen)
        repeats = args.repeats if case == "real" else args.big_repeats
        folder = None if case == "csv20m" else args.cache_dir / "check" / case
        runs = median_runs(case, names, path, repeats, folder)
        rows.extend((case, n, runs[n], runs.get("custseg")) for n in names)
        targets.extend(targets_of(case, runs))
        if case == "real" and args.warm > 0:
            warm = {n: measure(n, path, calls=args.warm + 1) for n in WARM if n in names}
            rows.extend(("real-w", n, warm[n], warm.get("custseg")) for n in warm)
    print_table(rows, targets)
    return 0 if all(t.met for t in targets) else 1


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
