"""Cache entries and model files as data bundles (core.codec) against the pickles they replace.

    flock /tmp/bench.lock python3 bench/bench_cache_format.py [--customers 100000] [--rounds 5]

Writes and reads, in memory, one fitted K-means segmentation (k = 4, with profiles) and one
GMM segmentation of ``--customers`` synthetic customers, and the real data's customer table
when ``../shared/data/online_retail.parquet`` exists. Prints each payload's size and the best
of ``--rounds`` write and read times, the bundle's as a ratio of the pickle's (measured in
turn, in one process). The pickle is the baseline only: nothing reads pickles any more.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.synthetic_customers import synthetic_features  # noqa: E402
from core import codec  # noqa: E402
from core.clustering import service  # noqa: E402
from core.clustering.config import ModelConfig, PreprocessConfig  # noqa: E402

REAL = ROOT.parent / "shared" / "data" / "online_retail.parquet"


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def compare(name: str, value: Any, rounds: int) -> None:
    best = {"pickle write": 1e9, "bundle write": 1e9, "pickle read": 1e9, "bundle read": 1e9}
    pickled = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    bundle = codec.dumps(value)
    steps: dict[str, Callable[[], Any]] = {
        "pickle write": lambda: pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL),
        "bundle write": lambda: codec.dumps(value),
        "pickle read": lambda: pickle.loads(pickled),  # the baseline only
        "bundle read": lambda: codec.loads(bundle),
    }
    for _ in range(rounds):  # in turn, so drift falls on both sides of the ratios
        for step, fn in steps.items():
            best[step] = min(best[step], timed(fn)[0])
    ms = {step: t * 1e3 for step, t in best.items()}
    print(
        f"{name}: pickle {len(pickled) / 1e6:.2f} MB, write {ms['pickle write']:.1f} ms, read "
        f"{ms['pickle read']:.1f} ms | bundle {len(bundle) / 1e6:.2f} MB, write "
        f"{ms['bundle write']:.1f} ms (x{ms['bundle write'] / ms['pickle write']:.1f}), read "
        f"{ms['bundle read']:.1f} ms (x{ms['bundle read'] / ms['pickle read']:.1f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    features = synthetic_features(args.customers, seed=0)
    for model in (ModelConfig(k=4), ModelConfig(algorithm="gmm", k=4)):
        result = service.segment_customers(
            features, preprocess=PreprocessConfig(), model=model, data_key="b" * 64
        )
        compare(
            f"{model.algorithm} segmentation, {args.customers:,} customers", result, args.rounds
        )
    if REAL.exists():
        from core.pipeline import build_customer_table, load_transactions

        table = build_customer_table(load_transactions(REAL))
        compare("customer table, real data", table, args.rounds)


if __name__ == "__main__":
    main()
