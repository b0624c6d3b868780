"""Clustering speed: k sweep, exact and two-stage Ward, against a plain K-means baseline.

Usage::

    python3 bench/bench_clustering.py [--n 100000] [--ward-n 20000] [--seed 0]

Synthetic RFM-like customers (recency uniform 0-700 days, geometric frequency, log-normal
monetary) go through the real entry points:

* ``choose_k`` over k = 2..10 with every criterion (silhouette on its stratified sample);
* baseline in the same run: a bare scikit-learn K-means loop k = 2..10 (one thread, same
  data already scaled), so the sweep's overhead reads as a ratio that does not depend on how
  busy the machine is;
* ``fit_segmentation`` with exact Ward on ``--ward-n`` customers and two-stage Ward on ``--n``.

The 1-minute load average is printed: other processes on a 2-core machine distort absolute
times.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

from core.clustering.config import ModelConfig, PreprocessConfig
from core.clustering.fit import fit_segmentation
from core.clustering.preprocess import FeaturePreprocessor, prepare_customers
from core.clustering.select_k import choose_k


def customers(n: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "customer_id": [f"C{i:08d}" for i in range(n)],
            "recency_days": rng.integers(0, 700, n),
            "frequency": rng.geometric(0.3, n),
            "monetary": rng.lognormal(6.0, 1.2, n),
            "excluded": np.zeros(n, dtype=bool),
        }
    )


def timed(label: str, fn: object) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()  # type: ignore[operator]
    elapsed = time.perf_counter() - start
    print(f"{label:<58} {elapsed:8.2f} s   (load {os.getloadavg()[0]:.2f})")
    return elapsed, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--ward-n", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    table = customers(args.n, args.seed)
    cfg = PreprocessConfig()
    frame, _ = prepare_customers(table, cfg.features)
    x = FeaturePreprocessor(cfg).fit_transform(frame)

    def baseline() -> None:
        with threadpool_limits(limits=1):
            for k in range(2, 11):
                KMeans(n_clusters=k, n_init="auto", random_state=0).fit(x)

    t_base, _ = timed(f"baseline: bare KMeans k=2..10, n={args.n:,}", baseline)
    t_sweep, sel = timed(
        f"choose_k k=2..10, all criteria, n={args.n:,}", lambda: choose_k(table, cfg)
    )
    print(f"  ratio sweep / baseline: {t_sweep / t_base:.2f}; {sel.silhouette_note}")  # type: ignore[union-attr]
    print(f"  recommended k = {sel.recommended_k}: {sel.reason}")  # type: ignore[union-attr]

    ward_table = table.head(args.ward_n)
    timed(
        f"exact Ward (fastcluster.linkage_vector), n={args.ward_n:,}",
        lambda: fit_segmentation(
            ward_table, cfg, ModelConfig(algorithm="hierarchical", k=4, hierarchical_method="exact")
        ),
    )
    _, seg = timed(
        f"two-stage Ward (1,000 micro-clusters), n={args.n:,}",
        lambda: fit_segmentation(
            table, cfg, ModelConfig(algorithm="hierarchical", k=4, hierarchical_method="two_stage")
        ),
    )
    print(f"  method: {seg.description}")  # type: ignore[union-attr]


if __name__ == "__main__":
    main()
