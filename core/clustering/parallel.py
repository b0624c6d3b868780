"""Independent model fits side by side, on the cores the machine gives this process.

The k sweep fits one model per k and the stability check one per refit: each fit depends only
on its inputs and its seed, so running two at once on two threads gives exactly the results of
running them one after the other (each fit keeps one native thread, see
:func:`core.clustering.config.n_threads`; results are collected in input order). The numeric
code of the fits (scikit-learn's Lloyd iterations, NumPy, BLAS) releases the GIL.

Task-level threads, unlike native threads inside one fit, do not synchronise at every
iteration, so they do not lose when the other core is busy; they are used only when a fit is
long enough to be worth a thread (:data:`PARALLEL_MIN_N` customers) and never beyond
:data:`MAX_WORKERS` or the cores this process may run on.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

MAX_WORKERS = 2  # the servers this app is sized for have two cores
PARALLEL_MIN_N = 20_000  # below, a whole sweep takes a fraction of a second on one thread

Checkpoint = Callable[[], None]


def cores() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def workers_for(n: int) -> int:
    """Threads for independent fits on ``n`` customers: 1 below :data:`PARALLEL_MIN_N`, else
    up to :data:`MAX_WORKERS` and the cores available."""
    if n < PARALLEL_MIN_N:
        return 1
    return max(1, min(MAX_WORKERS, cores()))


def ordered_map(
    fn: Callable[[T], R],
    items: Iterable[T],
    *,
    workers: int,
    checkpoint: Checkpoint | None = None,
) -> list[R]:
    """``[fn(item) for item in items]``, up to ``workers`` at a time, in input order.

    ``items`` is consumed lazily, at most ``workers`` ahead of the results collected (so a
    generator of large bootstrap draws holds few at once). ``checkpoint`` is called before
    each item is started; an exception it raises (a cancelled job) stops the map after the
    items already running.
    """
    check = checkpoint or (lambda: None)
    if workers <= 1:
        out = []
        for item in items:
            check()
            out.append(fn(item))
        return out
    results: list[R] = []
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="custseg-fit") as pool:
        pending: list[Future[R]] = []
        for item in items:
            check()
            pending.append(pool.submit(fn, item))
            if len(pending) >= workers:
                results.append(pending.pop(0).result())
        results.extend(f.result() for f in pending)
    return results
