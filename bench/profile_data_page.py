"""The cold Data page, step by step, in CPU-seconds, system seconds and page faults: the first
load of a file as the app's server does it (issue 9). Optionally the same steps with another
checkout's code, in the same run.

Usage::

    flock /tmp/bench.lock python3 bench/profile_data_page.py [--data FILE] [--repeats 1] \\
        [--roots ROOT[,ROOT...]]

Each measurement is a fresh child process of this script, run with the code of one ``ROOT`` (a
checkout of the repository; default: this one), in turn (round-robin over ``--repeats``). The
child makes the app's services over an empty cache folder with ``--data`` as the startup
dataset (:meth:`dashapp.services.AppServices.create`) and runs what the Data page's render
callback runs for a new session, step by step:

* ``peek``: :func:`dashapp.shared.loading.peek_source` (columns and first rows);
* ``load``: :func:`dashapp.shared.loading.load_source` (role detection and the source pass of
  :func:`core.schema.normalize_views`);
* ``table``: :func:`dashapp.shared.loading.data_view` on the loaded source: the engine
  (:func:`core.pipeline.build_customer_table` with the product lines where the code has them),
  the disk-cache write of the table (``disk_put``, also timed on its own) and the start of the
  product lines' encoding on a thread;
* ``render``: :func:`dashapp.pages.data.callbacks.render_view` of that view;
* ``page``: the four together, what a user waits for (``page_wall``: its wall seconds);
* ``background``: the CPU time after the page of the work it started on a thread (the product
  lines' encoding), waited for.

Each step's ``user`` and ``sys`` CPU-seconds (``getrusage``: every thread of the process) and
minor page faults (``flt``, thousands); this machine's page faults are slow, so ``sys`` is
counted apart from ``user``. ``rss`` is the peak resident memory of the child (MB).

Default data: ``bench/out/app_100000_customers_seed11.parquet`` (``bench/bench_app.py`` writes
it: 100,000 customers, 10.9M lines).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[1]
DEFAULT_DATA = HERE / "bench" / "out" / "app_100000_customers_seed11.parquet"
STEPS = ("peek", "load", "table", "render", "page", "background")


def _usage() -> tuple[float, float, int, float]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime, r.ru_minflt, time.perf_counter()


def _step(out: dict[str, float], name: str, run: Callable[[], Any]) -> Any:
    """Run ``run``, adding its user and system CPU-seconds, minor faults and wall seconds."""
    before = _usage()
    value = run()
    after = _usage()
    for field, i in (("user", 0), ("sys", 1), ("flt", 2), ("wall", 3)):
        delta = after[i] - before[i]
        out[f"{name}_{field}"] = out.get(f"{name}_{field}", 0.0) + delta / (
            1000 if field == "flt" else 1
        )
    return value


def child(data: Path) -> dict[str, float]:
    """The Data page's first load of ``data`` with the code found first on ``sys.path``."""
    from dashapp.pages.data.callbacks import render_view
    from dashapp.services import AppServices
    from dashapp.shared import loading
    from dashapp.state import SessionState

    out: dict[str, float] = {}
    services = AppServices.create(
        secret_key="bench" * 8,
        cache_dir=Path(tempfile.mkdtemp(prefix="custseg-bench-page-")),
        default_path=data,
        max_upload_bytes=1 << 30,
    )
    disk = services.tables.disk
    assert disk is not None
    put = disk.put

    def timed_put(key: str, value: object) -> bool:
        return bool(_step(out, "disk_put", lambda: put(key, value)))

    disk.put = timed_put  # type: ignore[method-assign]
    state = SessionState(token="bench", session_id="bench")
    source = services.source(state.dataset, state.session_id)
    assert source is not None
    start = _usage()
    _step(out, "peek", lambda: loading.peek_source(source, services))
    _step(out, "load", lambda: loading.load_source(source, state, services))
    view = _step(out, "table", lambda: loading.data_view(state, services))
    if view.error is not None:
        raise SystemExit(f"the Data page shows an error: {view.error}")
    _step(out, "render", lambda: render_view(view, state))
    end = _usage()
    out["page_user"], out["page_sys"] = end[0] - start[0], end[1] - start[1]
    out["page_flt"], out["page_wall"] = (end[2] - start[2]) / 1000, end[3] - start[3]
    lines = view.table.product_codes if view.table is not None else None
    _step(out, "background", lambda: None if lines is None else lines.codes)
    out["rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def _table(runs: dict[Path, list[dict[str, float]]]) -> None:
    """Medians per root: each step's user, sys, faults (thousands) and wall seconds."""
    for root, results in runs.items():
        print(f"\n{root}  ({len(results)} run(s); medians)")
        print("step".ljust(12) + "".join(c.rjust(10) for c in ("user", "sys", "flt_k", "wall")))
        for step in (*STEPS, "disk_put"):
            cells = [
                statistics.median(r.get(f"{step}_{f}", 0.0) for r in results)
                for f in ("user", "sys", "flt", "wall")
            ]
            print(step.ljust(12) + "".join(f"{c:10.2f}" for c in cells))
        print("peak rss".ljust(12) + f"{statistics.median(r['rss'] for r in results):10.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--roots", default=str(HERE), help="checkouts to compare, comma-separated")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.path.insert(0, args.child)
        print(json.dumps(child(args.data.resolve())))
        return
    sys.path.insert(0, str(HERE))
    from bench.checkouts import load_average, round_robin, run_child

    data = args.data.resolve()
    runs = round_robin(
        args.roots,
        args.repeats,
        data,
        lambda root: run_child(__file__, root, ["--data", str(data)]),
    )
    _table(runs)
    print(f"\nload average at end: {load_average()}")
    print("user, sys: CPU-seconds of every thread (getrusage); flt_k: minor page faults / 1000")


if __name__ == "__main__":
    main()
