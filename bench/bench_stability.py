"""The stability check with and without the bootstrap cap, in one process: CPU-seconds and
what it reports (mean ARI, per-segment Jaccard, rating).

    flock /tmp/bench.lock python bench/bench_stability.py [FILE] [--k 4] [--caps none,20000]

FILE (default: the 100,000-customer file bench_app.py writes, else the real UCI file) goes
through the app's pipeline (``load_transactions``, ``build_customer_table``); one reference
K-means fit, then :func:`core.clustering.stability.stability` with each ``bootstrap_max`` in
turn, on the same reference, with the default 10 refits on up to two threads. CPU-seconds are
``time.process_time`` (every thread of the process). Figures go to bench/README.md
("stability").
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from core.clustering.config import ModelConfig, PreprocessConfig
from core.clustering.fit import fit_segmentation
from core.clustering.stability import stability
from core.pipeline import build_customer_table, load_transactions

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILES = (
    ROOT / "bench" / "out" / "app_100000_customers_seed11.parquet",
    ROOT.parent / "shared" / "data" / "online_retail.parquet",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--caps", default="none,50000,20000,10000")
    args = parser.parse_args()
    path = args.file or next((p for p in DEFAULT_FILES if p.is_file()), None)
    if path is None:
        sys.exit("no input: pass a transactions file (run bench/bench_app.py once to make one)")
    features = build_customer_table(load_transactions(path)).features
    reference = fit_segmentation(features, PreprocessConfig(), ModelConfig(k=args.k))
    print(f"{path.name}: {features.height:,} customers, k = {args.k}")
    print(f"{'bootstrap_max':>14} {'CPU s':>7} {'ARI mean':>9} {'ARI sd':>7}  rating  Jaccard")
    for text in args.caps.split(","):
        cap = None if text == "none" else int(text)
        start = time.process_time()
        report = stability(features, reference=reference, bootstrap_max=cap)
        cpu = time.process_time() - start
        jaccard = " ".join(f"{v:.3f}" for v in np.asarray(report.per_segment_jaccard))
        print(
            f"{text:>14} {cpu:7.2f} {report.ari_mean:9.3f} {report.ari_std:7.3f}  "
            f"{report.rating:<6}  {jaccard}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
