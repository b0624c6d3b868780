"""Fit cost benchmark: CPU-seconds of each stage of the Model page's workflow, per algorithm and
k, and of the Compare page's hierarchical tree, at two sizes; prints the constants of
:mod:`dashapp.shared.fit_cost`.

Usage::

    python3 bench/bench_fit_cost.py [--sizes 2000,8000] [--seed 3] [--quick] [--tree-only] \
        [--models kmeans,minibatch]

For each size, the project's generator makes the transactions of that many customers, the
app's pipeline builds the customer table and its product lines (as the app does), then every
stage the Model page runs is timed on its own, without a cache, in CPU-seconds of this process
(``time.process_time``: every thread, so a loaded machine changes the figures less than wall
time would):

* ``sweep``: every criterion over the k axis (2..10, or 2..k above 10), as
  :func:`core.clustering.workflow.sweep` runs it;
* ``fit``: one fit with profiles, names and top products (:func:`service.segment_customers`);
* ``stability``: the page's bootstrap refits (:data:`dashapp.shared.modeling.STABILITY_REFITS`),
  without the report's per-customer silhouette, which is timed on its own (on the fit's
  customers, as the report computes it) and taken out of the stage's time;
* the silhouette on its own, per method (K-means rows): exact and by centroid, each forced at
  both sizes (the report uses exact up to ``EXACT_SILHOUETTE_MAX`` customers, centroid above),
  the centroid one repeated (it takes milliseconds).

The Compare page's tree (:func:`dashapp.pages.compare.view.tree_fit`: one hierarchical fit,
no profiles, whatever k) is timed per linkage and per method at its own two sizes, those where
the page uses it: exact (as "auto" runs it up to the exact limit of the linkage: 30,000
customers for Ward, 10,000 for the others) at a quarter of the limit and at the limit, where
its quadratic cost shows; two-stage (forced, as "auto" runs it above the limit) at 10,000 and
40,000. ``--tree-only`` measures just these (tables above 20,000 customers: run it under
``flock /tmp/bench.lock``).

The last lines are the constants to paste into ``dashapp/shared/fit_cost.py``: the cost of each
(algorithm, stage, k) at the larger size, and the growth exponent with the number of customers
derived from the two sizes; when one of the sizes is the module's ``REFERENCE_CUSTOMERS``, the
costs are given at that size (so rows measured on another day at other sizes, ``--models``,
fit the same table). ``--models`` measures only those models' rows (no tree). The baseline of
the run is a K-means k = 4 fit at the larger size (each row also gives its ratio to it, which is
what to compare between runs).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import polars as pl

from core.clustering import service, workflow
from core.clustering.config import EXACT_PAIRWISE_MAX_N, LINKAGES, ModelConfig
from core.clustering.fit import fit_segmentation
from core.clustering.hierarchical import exact_limit
from core.clustering.products import ProductLines
from core.clustering.stability import SILHOUETTE_METHODS, customer_silhouette, silhouette_method
from core.generator import generate_transactions
from core.pipeline import CustomerTable, build_customer_table, load_transactions
from dashapp.shared.fit_cost import MODELS, REFERENCE_CUSTOMERS, STAGES, TREE_METHODS
from dashapp.shared.modeling import ModelSettings, workflow_config


def cpu(run: Callable[[], object]) -> float:
    """CPU-seconds of ``run`` (all threads of this process)."""
    start = time.process_time()
    run()
    return time.process_time() - start


def customer_table(customers: int, seed: int, folder: Path) -> CustomerTable:
    """The app's customer table of ``customers`` generated customers."""
    path = folder / f"fitcost_{customers}_{seed}.parquet"
    if not path.exists():
        generate_transactions(customers=customers, seed=seed).write_parquet(path)
    return build_customer_table(load_transactions(path))


CENTROID_REPEATS = 20  # the centroid silhouette takes milliseconds: timed over this many calls


def silhouette_costs(segmentation: object, methods: tuple[str, ...]) -> dict[str, float]:
    """CPU-seconds of the stability report's per-customer silhouette by each of ``methods``."""
    out = {}
    for method in methods:
        repeats = CENTROID_REPEATS if method == "centroid" else 1
        start = time.process_time()
        for _ in range(repeats):
            customer_silhouette(segmentation, method)  # type: ignore[arg-type]
        out[f"silhouette/{method}"] = (time.process_time() - start) / repeats
    return out


def stage_costs(table: CustomerTable, lines: ProductLines, settings: ModelSettings) -> dict:
    """CPU-seconds of the sweep, the fit, the stability refits (the report's silhouette taken
    out) and, for K-means, the silhouette by each method."""
    config = workflow_config(settings)
    features, key = table.features, table.key
    costs = {"sweep": 0.0}
    if config.sweeps:
        costs["sweep"] = cpu(lambda: workflow.sweep(features, config, data_key=key))
    result: list = []
    costs["fit"] = cpu(
        lambda: result.append(
            service.segment_customers(
                features,
                preprocess=config.preprocess,
                model=config.model,
                data_key=key,
                lines=lines,
            )
        )
    )
    stability = cpu(lambda: workflow.rate_stability(features, config, result[0], data_key=key))
    segmentation = result[0].segmentation
    ran = silhouette_method(segmentation.X.shape[0])
    methods = SILHOUETTE_METHODS if settings.algorithm == "kmeans" else (ran,)
    costs.update(silhouette_costs(segmentation, methods))
    costs["stability"] = max(stability - costs[f"silhouette/{ran}"], 0.0)
    return costs


def tree_sizes(linkage: str, method: str) -> tuple[int, int]:
    """The two sizes the tree is timed at: exact at a quarter of its limit and at the limit
    (where its quadratic cost matters), two-stage from the pairwise limit to four times it."""
    if method == "exact":
        limit = exact_limit(linkage)
        return limit // 4, limit
    return EXACT_PAIRWISE_MAX_N, 4 * EXACT_PAIRWISE_MAX_N


def tree_cost(table: CustomerTable, linkage: str, method: str, seed: int) -> float:
    """CPU-seconds of the Compare page's tree for ``linkage`` and ``method``, without a cache."""
    config = ModelConfig(
        algorithm="hierarchical",
        k=2,
        linkage=linkage,  # type: ignore[arg-type]
        random_state=seed,
        hierarchical_method=method,  # type: ignore[arg-type]
    )
    preprocess = ModelSettings(seed=seed).preprocess_config()
    return cpu(lambda: fit_segmentation(table.features, preprocess, config))


def measure_trees(seed: int) -> dict:
    """``{(linkage, method): {customers: cpu_seconds}}`` of the Compare page's tree (customers
    included in the fit, the table's excluded ones aside)."""
    folder = Path(__file__).resolve().parent / "out"
    folder.mkdir(exist_ok=True)
    out: dict = {}
    for linkage in LINKAGES:
        for method in TREE_METHODS:
            for n in tree_sizes(linkage, method):
                table = customer_table(n, seed, folder)  # a few customers excluded: <= limit
                included = table.n_customers - table.n_excluded
                seconds = tree_cost(table, linkage, method, seed)
                out.setdefault((linkage, method), {})[included] = seconds
                print(f"{included:>6} tree {linkage:<9} {method:<10} {seconds:6.2f}", flush=True)
    return out


def report_trees(out: dict) -> None:
    """The constants of the tree's cost for dashapp/shared/fit_cost.py."""
    print("TREE_COSTS: dict[tuple[str, str], tuple[int, float, float]] = {")
    for (linkage, method), by_size in out.items():
        (small, a), (large, b) = sorted(by_size.items())
        growth = math.log(b / a) / math.log(large / small) if a > 0 and b > 0 else 1.0
        growth = min(max(growth, 0.0), 3.0)
        print(f'    ("{linkage}", "{method}"): ({large}, {b:.2f}, {growth:.2f}),')
    print("}")


def measure(
    sizes: list[int], seed: int, ks: tuple[int, ...], models: tuple[str, ...] = MODELS
) -> dict:
    """``{(model, k): {size: {stage: cpu_seconds}}}`` for every model of the cost table."""
    folder = Path(__file__).resolve().parent / "out"
    folder.mkdir(exist_ok=True)
    table_of = {n: customer_table(n, seed, folder) for n in sizes}
    out: dict = {}
    for n, table in table_of.items():
        frame = table.product_line_query()
        lines = ProductLines(frame if frame is not None else pl.DataFrame())
        lines.codes  # noqa: B018  (encoded once, as the app keeps them per table)
        for model in models:
            algorithm, _, linkage = model.partition("/")
            for k in (0,) if algorithm == "hdbscan" else ks:
                settings = ModelSettings(
                    algorithm=algorithm, linkage=linkage or "ward", k=k or 4, seed=seed
                )
                costs = stage_costs(table, lines, settings)
                out.setdefault((model, k), {})[n] = costs
                print(
                    f"{n:>6} {model:<22} k={k:<3} "
                    + "  ".join(f"{s} {costs[s]:6.2f}" for s in STAGES)
                    + "".join(f"  {s} {v:7.3f}" for s, v in costs.items() if "/" in s),
                    flush=True,
                )
    return out


def report(out: dict, sizes: list[int], models: tuple[str, ...] = MODELS) -> None:
    """The table against the baseline, then the constants for dashapp/shared/fit_cost.py."""
    small, large = min(sizes), max(sizes)
    at = REFERENCE_CUSTOMERS if REFERENCE_CUSTOMERS in sizes else large
    base = out[("kmeans", 4)][large]["fit"]
    print(f"\nbaseline: K-means k = 4, one fit at {large:,} customers: {base:.2f} CPU-s")
    print(f"{'model':<22} {'k':>3} " + " ".join(f"{s:>16}" for s in STAGES))
    for (model, k), by_size in out.items():
        cells = [f"{by_size[large][s]:7.2f} ({by_size[large][s] / base:5.1f}x)" for s in STAGES]
        print(f"{model:<22} {k:>3} " + " ".join(f"{c:>16}" for c in cells))
    print(f"\nREFERENCE_CUSTOMERS = {at}")
    print("SECONDS: dict[tuple[str, str], dict[int, float]] = {")
    for model in models:
        for stage in STAGES:
            cells = {k: v[at][stage] for (m, k), v in out.items() if m == model}
            body = ", ".join(f"{k}: {c:.2f}" for k, c in cells.items())
            print(f'    ("{model}", "{stage}"): {{{body}}},')
    print("}")
    print("GROWTH: dict[tuple[str, str], float] = {")
    for model in models:
        for stage in STAGES:
            pairs = [(v[small][stage], v[large][stage]) for (m, _), v in out.items() if m == model]
            total_small = sum(a for a, _ in pairs)
            total_large = sum(b for _, b in pairs)
            if total_small <= 0 or total_large <= 0:
                growth = 1.0
            else:
                growth = math.log(total_large / total_small) / math.log(large / small)
            growth = min(max(growth, 0.0), 3.0)  # noise at small sizes cannot make it shrink
            print(f'    ("{model}", "{stage}"): {growth:.2f},')
    print("}")
    report_silhouette(out, small, large, at)


def report_silhouette(out: dict, small: int, large: int, at: int) -> None:
    """The constants of the stability report's silhouette (K-means rows) per method."""
    kmeans = {k: v for (m, k), v in out.items() if m == "kmeans"}
    print("SILHOUETTE_SECONDS: dict[str, dict[int, float]] = {")
    for method in SILHOUETTE_METHODS:
        body = ", ".join(f"{k}: {v[at][f'silhouette/{method}']:.3f}" for k, v in kmeans.items())
        print(f'    "{method}": {{{body}}},')
    print("}")
    growths = []
    for method in SILHOUETTE_METHODS:
        a = sum(v[small][f"silhouette/{method}"] for v in kmeans.values())
        b = sum(v[large][f"silhouette/{method}"] for v in kmeans.values())
        growth = math.log(b / a) / math.log(large / small) if a > 0 and b > 0 else 1.0
        growths.append(f'"{method}": {min(max(growth, 0.0), 3.0):.2f}')
    print(f"SILHOUETTE_GROWTH: dict[str, float] = {{{', '.join(growths)}}}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="2000,8000", help="customers, comma-separated")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="k = 4 only (a smoke run)")
    parser.add_argument("--tree-only", action="store_true", help="the Compare page's tree only")
    parser.add_argument("--models", help="only these models' rows, comma-separated (no tree)")
    args = parser.parse_args(argv)
    models = tuple(args.models.split(",")) if args.models else MODELS
    unknown = sorted(set(models) - set(MODELS))
    if unknown or "kmeans" not in models:
        parser.error(f"--models takes some of {', '.join(MODELS)}, with kmeans (the baseline)")
    sizes = sorted(int(s) for s in args.sizes.split(","))
    if len(sizes) != 2:
        parser.error("give two sizes: the growth is derived from them")
    if not args.models:
        report_trees(measure_trees(args.seed))
    if args.tree_only:
        return 0
    ks = (4,) if args.quick else (4, 10, 30)
    report(measure(sizes, args.seed, ks, models), sizes, models)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
