"""Concurrent misses of one key compute it once (core.cache.SingleFlight via get_or_compute)."""

from __future__ import annotations

import threading
import time

import pytest

from core.cache import MemoryCache, TieredCache, get_or_compute


def _two_callers(cache, key: str, compute, probe=None) -> list[object]:
    """Start a first caller; start a second once the first computes; release the first only
    when the second waits for it, or has started computing itself (the old behaviour)."""
    probe = compute if probe is None else probe  # what counts the computations
    results: list[object] = [None, None]

    def call(slot: int) -> None:
        try:
            results[slot] = (
                compute() if probe is not compute else get_or_compute(cache, key, compute)
            )
        except ValueError:
            results[slot] = None

    first = threading.Thread(target=call, args=(0,))
    second = threading.Thread(target=call, args=(1,))
    first.start()
    probe.entered[0].wait(10)
    second.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if cache.flight.waiting(key) == 1 or probe.calls == 2:
            break
        time.sleep(0.005)
    probe.release.set()
    first.join(10)
    second.join(10)
    return results


class _Blocking:
    """A computation that blocks until released and counts its calls."""

    def __init__(self, fail_first: bool = False) -> None:
        self.calls = 0
        self.lock = threading.Lock()
        self.entered = [threading.Event()]
        self.release = threading.Event()
        self.fail_first = fail_first

    def __call__(self) -> object:
        with self.lock:
            self.calls += 1
            call = self.calls
        self.entered[0].set()
        self.release.wait(10)
        if self.fail_first and call == 1:
            raise ValueError("first caller fails")
        return {"computed by call": call}


@pytest.mark.parametrize("tiered", [False, True])
def test_a_key_missed_by_two_threads_at_once_is_computed_once(tiered: bool) -> None:
    cache = TieredCache(MemoryCache(max_items=4), None) if tiered else MemoryCache(max_items=4)
    compute = _Blocking()
    results = _two_callers(cache, "k" * 64, compute)
    assert compute.calls == 1
    assert results[0] is results[1]  # the waiting caller got the very value computed
    assert cache.get("k" * 64) is results[0]


def test_when_the_first_caller_fails_the_waiting_one_computes_for_itself() -> None:
    cache = MemoryCache(max_items=4)
    compute = _Blocking(fail_first=True)
    results = _two_callers(cache, "e" * 64, compute)
    assert compute.calls == 2
    assert results[0] is None  # the first caller's thread raised
    assert results[1] == {"computed by call": 2}


def test_a_finished_key_is_no_longer_running() -> None:
    cache = MemoryCache(max_items=4)
    assert get_or_compute(cache, "a" * 64, lambda: 1) == 1
    assert cache.flight.waiting("a" * 64) == 0
    assert get_or_compute(cache, "a" * 64, lambda: 2) == 1  # a plain hit now


def test_identical_fits_asked_for_at_once_are_fitted_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two users (or two callbacks) asking for the same uncached segmentation share one fit."""
    from core.clustering import service
    from core.clustering.config import ModelConfig, PreprocessConfig
    from tests.core.clustering.synth import blob_table

    table = blob_table(300, centers=3, std=0.8, seed=3)[0]
    real_fit = service.fit_segmentation
    blocking = _Blocking()

    def counted_fit(*args: object, **kwargs: object) -> object:
        blocking()  # counts, then waits to be released
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(service, "fit_segmentation", counted_fit)
    cache = TieredCache(MemoryCache(max_items=8), None)
    preprocess, model = PreprocessConfig(log=()), ModelConfig(k=3)
    key = service.segmentation_key("d" * 64, preprocess, model, with_lines=False)

    def segment() -> object:
        return service.segment_customers(
            table, preprocess=preprocess, model=model, data_key="d" * 64, cache=cache
        )

    results = _two_callers(cache, key, segment, blocking)
    assert blocking.calls == 1
    assert results[0] is results[1]
