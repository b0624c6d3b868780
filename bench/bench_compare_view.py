"""Compare view benchmark: moving the cut / changing k with the models cached.

Usage::

    python3 bench/bench_compare_view.py [--customers N] [--rounds R]

The issue's target: with 100,000 customers loaded and the model cached, moving the cut or
changing k answers within 300 ms on the server. This script times the server work of the Compare
page's callbacks (everything after the session's customer table is found, which is a cache hit)
on a synthetic feature table (:mod:`bench.synthetic_customers`):

* ``cut move``: the sync callback's work (tree from the cache, k for a height, snapped height);
* ``render at k``: what ``render_compare`` computes for a k whose K-means is cached (cut the
  tree, compare, dendrogram geometry, the four figures);
* ``list a cell``: what ``render_selection`` computes for a clicked contingency cell (members,
  grid rows, projection scatter).

Baselines in the same run: the cold paths they avoid (fitting the tree; refitting the
hierarchical model at a new k through the service, which a page without the tree cache would
do; a K-means fit at a new k). Timings are the median of ``R`` rounds. Exits 1 when a cached
path misses its target.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.synthetic_customers import synthetic_features
from core.clustering import service
from core.clustering.config import ModelConfig
from core.generator import DEFAULT_DATA
from dashapp.pages.compare import figures as fc
from dashapp.pages.compare import view as cm
from dashapp.pages.compare.layout import metrics_panel
from dashapp.services import AppServices
from dashapp.state import new_state

TARGET_S = 0.300


def timed(fn: Callable[[], Any], rounds: int) -> tuple[float, Any]:
    times = []
    out = None
    for _ in range(rounds):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    features = synthetic_features(args.customers, seed=0)
    table: Any = SimpleNamespace(
        features=features, purchases=None, key=f"bench-compare-{args.customers}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        services = AppServices.create(
            secret_key="bench",
            cache_dir=Path(tmp),
            default_path=DEFAULT_DATA,
            max_upload_bytes=1024**2,
        )
        state = new_state(services)
        settings = cm.compare_settings(state)

        cold_tree, tree = timed(lambda: cm.tree_fit(table, settings, services.cache), 1)
        cold_kmeans, _ = timed(lambda: cm.kmeans_fit(table, settings, 6, services), 1)
        refit, _ = timed(
            lambda: service.segment_customers(
                features,
                preprocess=settings.preprocess,
                model=ModelConfig(algorithm="hierarchical", k=6, random_state=0),
                data_key=table.key,
                cache=None,
            ),
            1,
        )

        height = tree.height(5)[0]

        def cut_move() -> int:
            fit = cm.tree_fit(table, settings, services.cache)
            k = fit.k_at(height)
            fit.height(k)
            return k

        def render(k: int) -> None:
            cmp = cm.compare_at(table, settings, k, services, state)
            plot = cm.dendrogram_plot(cmp.tree, k)
            fc.dendrogram(plot, k=k, h_colors=cmp.h_colors)
            fc.sizes(cmp)
            fc.contingency(cmp)
            fc.sankey(cmp)
            metrics_panel(cmp)

        def list_cell() -> int:
            cmp = cm.compare_at(table, settings, 6, services, state)
            members = cmp.comparison.cell_members(0, cmp.h_match[0] or 0)
            rows = cm.grid_rows(members, cmp, features)
            km = cmp.kmeans.segmentation
            fc.selection_scatter(
                km.projection,
                km.labels,
                names=cmp.km_names,
                colors=cmp.km_colors,
                selected=np.isin(km.customer_ids, members),
            )
            return len(rows)

        render(6)  # warm the K-means of k = 6 (already fitted above) and imports
        move_s, _ = timed(cut_move, args.rounds)
        render_s, _ = timed(lambda: render(6), args.rounds)
        list_s, _ = timed(list_cell, args.rounds)

    n = f"{args.customers:,}"
    method = "two-stage" if tree.two_stage else "exact"
    print(f"Compare view, {n} customers ({method} tree of {tree.n_leaves:,} leaves)")
    print(f"  cold: tree fit {cold_tree:.2f} s, K-means k=6 {cold_kmeans:.2f} s")
    print(f"  baseline: hierarchical refit at a new k via the service {refit:.2f} s")
    rows = (("cut move", move_s), ("render at k (cached)", render_s), ("list a cell", list_s))
    failed = False
    for label, seconds in rows:
        ok = seconds <= TARGET_S
        failed |= not ok
        print(
            f"  {label:<22} {seconds * 1000:8.2f} ms  target {TARGET_S * 1000:.0f} ms  "
            f"{'ok' if ok else 'MISSED'}  ({refit / max(seconds, 1e-9):,.0f}x faster than a refit)"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
