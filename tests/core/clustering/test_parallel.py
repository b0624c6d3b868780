"""Independent fits side by side: the k sweep and the stability refits run on two threads on
large data, with exactly the results of running them one after the other."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from polars.testing import assert_frame_equal

import core.clustering.fit as fit_module
import core.clustering.select_k as select_k_module
import core.clustering.stability as stability_module
from core.clustering import parallel
from core.clustering.config import ModelConfig, PreprocessConfig
from core.clustering.parallel import ordered_map, workers_for
from core.clustering.select_k import choose_k
from core.clustering.stability import stability
from tests.core.clustering.synth import blob_table

NO_LOG = PreprocessConfig(log=())


class StopError(Exception):
    pass


def test_ordered_map_keeps_input_order_and_draws_few_items_ahead() -> None:
    drawn: list[int] = []
    done: list[int] = []

    def items() -> Iterator[int]:
        for i in range(12):
            # Never more than `workers` items drawn beyond the results collected.
            assert len(drawn) - len(done) <= 2
            drawn.append(i)
            yield i

    def work(i: int) -> int:
        done.append(i)
        return i * i

    assert ordered_map(work, items(), workers=2) == [i * i for i in range(12)]
    assert ordered_map(work, range(5), workers=1) == [0, 1, 4, 9, 16]


def test_ordered_map_stops_at_a_raising_checkpoint() -> None:
    started: list[int] = []
    calls = iter(range(100))

    def check() -> None:
        if next(calls) == 3:
            raise StopError

    with pytest.raises(StopError):
        ordered_map(started.append, range(10), workers=2, checkpoint=check)
    assert sorted(started) == [0, 1, 2]


def test_workers_only_for_large_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "cores", lambda: 2)
    assert workers_for(parallel.PARALLEL_MIN_N - 1) == 1
    assert workers_for(parallel.PARALLEL_MIN_N) == 2
    monkeypatch.setattr(parallel, "cores", lambda: 1)
    assert workers_for(10**7) == 1


@pytest.fixture
def fit_threads(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The names of the threads model fits ran on (fit_raw wrapped where it is called)."""
    names: set[str] = set()
    original = fit_module.fit_raw

    def recorded(*args: Any, **kwargs: Any) -> Any:
        names.add(threading.current_thread().name)
        return original(*args, **kwargs)

    monkeypatch.setattr(select_k_module, "fit_raw", recorded)
    monkeypatch.setattr(stability_module, "fit_raw", recorded)
    return names


def _serial_then_parallel(monkeypatch: pytest.MonkeyPatch, run: Any) -> tuple[Any, Any]:
    monkeypatch.setattr(parallel, "cores", lambda: 1)
    serial = run()
    monkeypatch.setattr(parallel, "cores", lambda: 2)
    monkeypatch.setattr(parallel, "PARALLEL_MIN_N", 500)
    return serial, run()


@pytest.mark.parametrize("algorithm", ["kmeans", "gmm"])
def test_the_sweep_runs_on_two_threads_with_the_same_results(
    monkeypatch: pytest.MonkeyPatch, fit_threads: set[str], algorithm: str
) -> None:
    table, _ = blob_table(1500, centers=4, std=1.5, seed=3)
    serial, both = _serial_then_parallel(
        monkeypatch,
        lambda: choose_k(
            table, NO_LOG, k_range=range(2, 9), algorithm=algorithm, silhouette_sample=600
        ),
    )
    assert any(name.startswith("custseg-fit") for name in fit_threads)
    assert_frame_equal(serial.table, both.table, check_exact=True)
    assert (serial.recommended_k, serial.reason, serial.silhouette_note) == (
        both.recommended_k,
        both.reason,
        both.silhouette_note,
    )


@pytest.mark.parametrize("method", ["bootstrap", "seeds"])
def test_the_refits_run_on_two_threads_with_the_same_results(
    monkeypatch: pytest.MonkeyPatch, fit_threads: set[str], method: str
) -> None:
    table, _ = blob_table(1500, centers=4, std=2.0, seed=5)
    model = ModelConfig(k=4, random_state=3)
    serial, both = _serial_then_parallel(
        monkeypatch,
        lambda: stability(table, NO_LOG, model, n_boot=7, method=method, random_state=9),
    )
    assert any(name.startswith("custseg-fit") for name in fit_threads)
    assert serial.aris == both.aris
    np.testing.assert_array_equal(serial.per_segment_jaccard, both.per_segment_jaccard)
    assert_frame_equal(serial.per_segment, both.per_segment, check_exact=True)
    assert serial.summary == both.summary
