"""Cleaning + features: Polars core against the pandas reference, as a ratio in one process.

Usage::

    python3 bench/bench_clean_features.py [--repeat N] [--rounds R] [--engine auto|streaming]

The real Online Retail file (beside the project root) is stacked ``N`` times with distinct
customer ids and invoices, normalized in memory, then both implementations clean it and build
the feature table. Each side's best of ``R`` rounds is reported, with the pandas/Polars ratio.
The pandas side starts from an already converted pandas frame (conversion not timed).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.pandas_reference import clean_pandas, features_pandas
from core.features import compute_features
from core.pipeline import clean
from core.schema import detect_roles, normalize

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "online_retail.parquet"


def normalized(path: Path, repeat: int) -> pl.DataFrame:
    raw = pl.read_parquet(path)
    parts = [
        raw.with_columns(
            pl.col("CustomerID") + i * 100_000,
            pl.col("InvoiceNo") + f"_{i}",
        )
        for i in range(repeat)
    ]
    stacked = pl.concat(parts)
    # The project's own mapping, so the bench measures what users run.
    frame, _ = normalize(stacked.lazy(), detect_roles(stacked.columns))
    return frame.collect()


def best_of(rounds: int, run: object) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(rounds):
        start = time.perf_counter()
        result = run()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--engine", default="auto")
    args = parser.parse_args()
    if not REAL.exists():
        sys.exit(f"real data not found at {REAL}")
    frame = normalized(REAL, args.repeat)
    pdf = frame.to_pandas()

    def polars_run() -> pl.DataFrame:
        cleaned = clean(frame.lazy(), engine=args.engine)
        return compute_features(cleaned.purchases, cleaned.returns).collect(engine=args.engine)

    def pandas_run() -> object:
        cleaned = clean_pandas(pdf)
        return features_pandas(cleaned.purchases, cleaned.returns)

    t_polars, table = best_of(args.rounds, polars_run)
    t_pandas, _ = best_of(args.rounds, pandas_run)
    print(f"lines: {frame.height:,}  customers: {table.height:,}  engine: {args.engine}")  # type: ignore[union-attr]
    print(f"polars clean+features: {t_polars:.3f} s (best of {args.rounds})")
    print(f"pandas clean+features: {t_pandas:.3f} s (best of {args.rounds})")
    print(f"ratio pandas/polars: {t_pandas / t_polars:.1f}x")


if __name__ == "__main__":
    main()
