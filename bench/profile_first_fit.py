"""The cold first fit, stage by stage, in CPU-seconds: the Model page opened straight on a table
(issue 9). Optionally the same steps with another checkout's code, in the same run.

Usage::

    flock /tmp/bench.lock python3 bench/profile_first_fit.py [--data FILE] [--k 4] \\
        [--repeats 1] [--roots ROOT[,ROOT...]]

Each measurement is a fresh child process of this script, run with the code of one ``ROOT`` (a
checkout of the repository; default: this one), in turn (round-robin over ``--repeats``). The
child builds the customer table in-process as the app does (``load_transactions`` +
``build_customer_table``, with ``product_lines=True`` where the code has it, no disk
cache), holds its product lines as the Model page does
(:func:`dashapp.shared.modeling.product_lines`: a ``ProductLines`` per table), then runs the
Model page's workflow (:func:`core.clustering.workflow.run` with
:func:`dashapp.shared.modeling.workflow_config`: k sweep, fit with profiles and top products,
stability refits) at ``--k`` with an in-memory result cache, and then a new k (``k + 1``, the
sweep cached). Each step is timed with ``time.process_time`` (every thread of the process);
``encode`` is the CPU time of the process while the fit waited for the product lines
(``core.clustering.products.ProductLines.codes``: encoding them, or waiting for the thread
that loading the table started), ``rss_table`` and ``rss_fit`` the resident memory after the
table and after the first fit, ``*_wall`` wall seconds (what a user waits, noisier).

Default data: ``bench/out/app_100000_customers_seed11.parquet`` (``bench/bench_app.py`` writes
it: 100,000 customers, 10.9M lines).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from inspect import signature
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
DEFAULT_DATA = HERE / "bench" / "out" / "app_100000_customers_seed11.parquet"
STEPS = ("table", "sweep", "fit", "encode", "stability", "first_fit", "new_k")
WALL = ("first_fit_wall", "new_k_wall")


def rss_mb() -> float:
    """Resident memory of this process now, in MB."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def child(data: Path, k: int, *, prefetch: bool) -> dict[str, float]:
    """Time the app's cold path on ``data`` with the code found first on ``sys.path``."""
    from core.cache import MemoryCache
    from core.clustering import products, workflow
    from core.pipeline import build_customer_table, load_transactions
    from dashapp.services import AppCache
    from dashapp.shared.modeling import ModelSettings, workflow_config

    out: dict[str, float] = {}
    # As dashapp.shared.loading builds it: with the product lines' codes where this code has
    # them (issue 9, step 2).
    asked = (
        {"product_lines": True}
        if "product_lines" in signature(build_customer_table).parameters
        else {}
    )
    start = time.process_time()
    table = build_customer_table(load_transactions(data), **asked)
    out["table"] = time.process_time() - start
    out["rss_table"] = rss_mb()
    encoded: list[float] = []
    original = products.ProductLines.codes.fget  # type: ignore[attr-defined]

    def timed_codes(self: products.ProductLines) -> products.LineCodes:
        t0 = time.process_time()
        codes = original(self)
        encoded.append(time.process_time() - t0)
        return codes

    products.ProductLines.codes = property(timed_codes)  # type: ignore[method-assign,assignment]
    lines = _product_lines(table, prefetch=prefetch)
    cache = AppCache(MemoryCache(max_items=64), None)
    marks: list[float] = []
    settings = ModelSettings(k=k, seed=0)
    wall = time.perf_counter()
    start = time.process_time()
    workflow.run(
        table.features,
        workflow_config(settings),
        data_key=table.key,
        cache=cache,
        lines=lines,
        progress=lambda _stage, _label: marks.append(time.process_time()),
    )
    end = time.process_time()
    out["first_fit_wall"] = time.perf_counter() - wall
    out["sweep"] = marks[1] - marks[0]
    out["fit"] = marks[2] - marks[1]
    out["encode"] = sum(encoded)
    out["stability"] = end - marks[2]
    out["first_fit"] = end - start
    out["rss_fit"] = rss_mb()
    wall = time.perf_counter()
    start = time.process_time()
    workflow.run(
        table.features,
        workflow_config(ModelSettings(k=k + 1, seed=0)),
        data_key=table.key,
        cache=cache,
        lines=lines,
    )
    out["new_k"] = time.process_time() - start
    out["new_k_wall"] = time.perf_counter() - wall
    return out


def _product_lines(table: object, *, prefetch: bool) -> object:
    """The table's product lines as :func:`dashapp.shared.modeling.product_lines` gives them,
    their encoding started as loading the table starts it in this code (since issue 9's
    step 3, :func:`dashapp.shared.loading.data_view` does, whichever page asks; before, only
    the Data page did, which a Model link opened cold never shows)."""
    from core.cache import MemoryCache
    from dashapp.shared import loading, modeling

    class _Services:  # the one service product_lines uses
        product_lines = MemoryCache(max_items=2)

    services = _Services()
    if prefetch and hasattr(loading, "prefetch_product_lines"):
        modeling.prefetch_product_lines(table, services)  # type: ignore[arg-type]
    return modeling.product_lines(table, services)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--roots", default=str(HERE), help="checkouts to compare, comma-separated")
    parser.add_argument(
        "--no-prefetch",
        action="store_true",
        help="encode the product lines on the fit's first use only, never on a thread",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.path.insert(0, args.child)
        print(json.dumps(child(args.data, args.k, prefetch=not args.no_prefetch)))
        return
    sys.path.insert(0, str(HERE))
    from bench.checkouts import load_average, round_robin, run_child

    child_args = ["--data", str(args.data), "--k", str(args.k)]
    child_args += ["--no-prefetch"] if args.no_prefetch else []
    runs = round_robin(
        args.roots, args.repeats, args.data, lambda root: run_child(__file__, root, child_args)
    )
    columns = (*STEPS, *WALL, "rss_table", "rss_fit")
    print("root".ljust(30) + "".join(c.rjust(15) for c in columns))
    for root, results in runs.items():
        medians = [statistics.median(r[c] for r in results) for c in columns]
        print(str(root)[-30:].ljust(30) + "".join(f"{m:15.2f}" for m in medians))
    print(f"load average at end: {load_average()}")
    print("CPU-seconds (time.process_time), medians; *_wall: wall seconds; rss in MB")


if __name__ == "__main__":
    main()
