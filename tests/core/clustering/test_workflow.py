"""The one segment workflow (CLI and app) and the k-selection config behind its cache keys."""

from __future__ import annotations

import contextvars
import threading
from dataclasses import replace
from typing import Any

import numpy as np
import polars as pl
import pytest

from core.clustering import result as result_module
from core.clustering import service, workflow
from core.clustering.config import ModelConfig, PreprocessConfig, SelectKConfig, StabilityConfig
from core.clustering.result import SegmentationResult, rename
from core.clustering.select_k import choose_k
from core.errors import ConfigError, DataSufficiencyError
from tests.core.clustering.synth import blob_table, feature_table

NO_LOG = PreprocessConfig(log=())
KEY = "e" * 64


class DictCache:
    """A dict-backed ResultCache (the service's abstract dependency)."""

    def __init__(self) -> None:
        self.store: dict[str, Any] = {}

    def get(self, key: str) -> Any | None:
        return self.store.get(key)

    def put(self, key: str, value: Any) -> None:
        self.store[key] = value


# --- SelectKConfig: the one place k-selection options are validated --------------------------


def test_select_k_config_keeps_k_sorted_and_unique() -> None:
    assert SelectKConfig(k_range=(5, 2, 3, 3)).k_range == (2, 3, 5)  # type: ignore[arg-type]
    assert SelectKConfig(k_range=range(2, 5)).k_range == (2, 3, 4)  # type: ignore[arg-type]
    assert hash(SelectKConfig()) == hash(SelectKConfig())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"k_range": (3,)}, "at least two values of k"),
        ({"k_range": (1, 2)}, "k in k_range"),
        ({"algorithm": "hdbscan"}, "cannot sweep k with algorithm 'hdbscan'"),
        ({"linkage": "single"}, "single"),
        ({"n_init": 0}, "n_init"),
        ({"min_share": 0.5}, "min_share must be between 0 and 0.5"),
        ({"min_share": True}, "min_share must be a number"),
        ({"max_segments": 99}, "max_segments"),
        ({"silhouette_sample": 10}, "silhouette_sample must be between 100 and 50,000"),
    ],
)
def test_select_k_config_refuses_bad_options(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        SelectKConfig(**options)


def test_choose_k_takes_a_config_or_its_fields_not_both() -> None:
    table, _ = blob_table(300, centers=3)
    config = SelectKConfig(k_range=(2, 3, 4))
    by_config = choose_k(table, NO_LOG, config)
    by_fields = choose_k(table, NO_LOG, k_range=range(2, 5))
    assert by_config.recommended_k == by_fields.recommended_k == 3
    with pytest.raises(ConfigError, match="both a SelectKConfig and options"):
        choose_k(table, NO_LOG, config, min_share=0.1)


def test_every_select_k_option_is_part_of_the_cache_key() -> None:
    # The key is built from the config object: an option that changes the result can never
    # be served a result computed without it.
    table, _ = blob_table(300, centers=3)
    cache = DictCache()
    base = SelectKConfig(k_range=(2, 3, 4))
    variants = [
        base,
        replace(base, min_share=0.3),
        replace(base, max_segments=2),
        replace(base, random_state=1),
        replace(base, silhouette_sample=200),
    ]
    results = [
        service.select_k(table, preprocess=NO_LOG, data_key=KEY, cache=cache, config=config)
        for config in variants
    ]
    assert len(cache.store) == len(variants)
    assert results[1].recommended_k != results[0].recommended_k or results[1].reason != (
        results[0].reason
    )
    assert results[2].recommended_k == 2


def test_every_stability_option_is_part_of_the_cache_key() -> None:
    table, _ = blob_table(300, centers=3)
    cache = DictCache()
    base = StabilityConfig(n_boot=3)
    for config in (base, replace(base, borderline_threshold=0.2), replace(base, method="seeds")):
        service.stability(
            table,
            preprocess=NO_LOG,
            model=ModelConfig(k=3),
            data_key=KEY,
            cache=cache,
            config=config,
        )
    stability_entries = len(cache.store) - 1  # one entry is the reference fit
    assert stability_entries == 3
    with pytest.raises(ConfigError, match=r"n_boot must be a whole number 2\.\.200, got 1"):
        StabilityConfig(n_boot=1)


# --- the workflow -----------------------------------------------------------------------------


def test_workflow_config_validates_its_options() -> None:
    with pytest.raises(ConfigError, match=r"number of refits 2\.\.200, got 1"):
        workflow.WorkflowConfig(stability_refits=1)
    with pytest.raises(ConfigError, match="got True"):
        workflow.WorkflowConfig(stability_refits=True)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="'hdbscan'"):
        workflow.WorkflowConfig(model=ModelConfig(algorithm="hdbscan", k=None), auto_k=True)
    with pytest.raises(ConfigError, match="needs the k sweep"):
        workflow.WorkflowConfig(auto_k=True, sweep="never")
    with pytest.raises(ConfigError, match="sweep must be"):
        workflow.WorkflowConfig(sweep="sometimes")  # type: ignore[arg-type]


def test_k_axis_extends_to_a_larger_k_and_stops_at_the_distinct_customers() -> None:
    table, _ = blob_table(300, centers=3)
    config = workflow.WorkflowConfig(preprocess=NO_LOG, model=ModelConfig(k=12))
    assert workflow.k_axis(table, config) == range(2, 13)
    assert workflow.k_axis(table, replace(config, model=ModelConfig(k=3))) == range(2, 11)
    few = feature_table(
        {
            "recency_days": np.array([1, 1, 2, 2, 3, 3]),
            "frequency": np.ones(6, dtype=np.int64),
            "monetary": np.array([1.0, 1.0, 2.0, 2.0, 3.0, 3.0]),
        }
    )
    assert workflow.k_axis(few, config) == range(2, 4)
    assert workflow.distinct_customers(few, config) == 3
    two = few.head(4)
    assert workflow.k_axis(two, config) is None


def test_k_axis_counts_every_customer_when_the_first_rows_repeat(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The probe of the first rows sees 1 distinct customer; the full count finds 300.
    table, _ = blob_table(300, centers=3)
    repeated = pl.concat([table.head(1)] * 50 + [table])
    monkeypatch.setattr(workflow, "DISTINCT_PROBE_ROWS", 40)
    config = workflow.WorkflowConfig(preprocess=NO_LOG, model=ModelConfig(k=3))
    assert workflow.k_axis(repeated, config) == range(2, 11)


def test_auto_k_fits_the_recommended_k_and_says_why() -> None:
    table, _ = blob_table(400, centers=4)
    config = workflow.WorkflowConfig(preprocess=NO_LOG, auto_k=True, stability_refits=0)
    done = workflow.run(table, config, data_key=KEY)
    assert done.selection is not None
    assert done.result.k == done.selection.recommended_k == 4
    assert done.k_reason == done.selection.reason
    assert done.stability is None


def test_fixed_k_names_the_recommendation_and_rates_stability() -> None:
    table, _ = blob_table(400, centers=4)
    config = workflow.WorkflowConfig(preprocess=NO_LOG, model=ModelConfig(k=3))
    stages: list[tuple[int, str]] = []
    done = workflow.run(table, config, data_key=KEY, progress=lambda i, s: stages.append((i, s)))
    assert done.result.k == 3
    assert done.k_reason == "k = 3 chosen (the criteria would recommend k = 4)"
    assert done.stability is not None
    assert done.stability.n_runs == 10
    assert stages == list(enumerate(workflow.STAGES))


def test_a_fixed_k_fits_while_the_sweep_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a fixed k the fit does not wait for the sweep: the sweep (held here until the fit
    has run) runs on another thread, in the caller's context, and gives the same results as
    run alone."""
    table, _ = blob_table(300, centers=3)
    config = workflow.WorkflowConfig(preprocess=NO_LOG, model=ModelConfig(k=3))
    alone = workflow.run(table, replace(config, auto_k=True), data_key=KEY)  # sweep, then fit
    fitted = threading.Event()
    seen: list[tuple[bool, str | None]] = []
    context: contextvars.ContextVar[str | None] = contextvars.ContextVar("job", default=None)
    select_k, segment = service.select_k, service.segment_customers

    def held_select_k(*args: Any, **kwargs: Any) -> Any:
        seen.append((fitted.wait(timeout=5), context.get()))
        return select_k(*args, **kwargs)

    def signalled_segment(*args: Any, **kwargs: Any) -> Any:
        result = segment(*args, **kwargs)
        fitted.set()
        return result

    monkeypatch.setattr(service, "select_k", held_select_k)
    monkeypatch.setattr(service, "segment_customers", signalled_segment)
    context.set("job-1")
    stages: list[int] = []
    done = workflow.run(table, config, data_key=KEY, progress=lambda i, _s: stages.append(i))
    assert seen == [(True, "job-1")]  # the fit ran first; the sweep saw the job's context
    assert stages == [0, 1, 2]
    assert done.selection is not None
    assert alone.selection is not None
    assert done.selection.table.equals(alone.selection.table)
    assert done.k_reason == "k = 3 chosen (the criteria would recommend k = 3)"
    np.testing.assert_array_equal(done.result.segmentation.labels, alone.result.segmentation.labels)


def test_the_stability_refits_run_while_the_profiles_are_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The refits need only the fitted segmentation: they start (in the caller's context)
    before its profiles are built (held here until the refits have started), and rate it as
    when run after the whole result."""
    table, _ = blob_table(300, centers=3)
    config = workflow.WorkflowConfig(preprocess=NO_LOG, model=ModelConfig(k=3), sweep="never")
    started = threading.Event()
    seen: list[bool] = []
    contexts: list[str | None] = []
    context: contextvars.ContextVar[str | None] = contextvars.ContextVar("job", default=None)
    stability, build_profiles = service.stability, result_module.build_profiles

    def signalled_stability(*args: Any, **kwargs: Any) -> Any:
        contexts.append(context.get())
        started.set()
        return stability(*args, **kwargs)

    def held_profiles(*args: Any, **kwargs: Any) -> Any:
        seen.append(started.wait(timeout=5))
        return build_profiles(*args, **kwargs)

    monkeypatch.setattr(service, "stability", signalled_stability)
    monkeypatch.setattr(result_module, "build_profiles", held_profiles)
    context.set("job-2")
    done = workflow.run(table, config, data_key=KEY)
    assert seen == [True]
    assert contexts == ["job-2"]
    after = stability(
        table,
        preprocess=NO_LOG,
        model=ModelConfig(k=3),
        data_key=KEY,
        config=workflow.stability_config(config),
        reference=done.result,
    )
    assert done.stability is not None
    assert done.stability.aris == after.aris
    assert done.stability.per_segment.equals(after.per_segment)
    np.testing.assert_array_equal(done.stability.silhouette, after.silhouette)


def test_the_sweep_error_comes_first_when_both_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    table, _ = blob_table(300, centers=3)
    config = workflow.WorkflowConfig(preprocess=NO_LOG, model=ModelConfig(k=3))

    def failing(message: str) -> Any:
        def fail(*_args: Any, **_kwargs: Any) -> Any:
            raise DataSufficiencyError(message, hint="")

        return fail

    monkeypatch.setattr(service, "select_k", failing("the sweep failed"))
    monkeypatch.setattr(service, "segment_customers", failing("the fit failed"))
    with pytest.raises(DataSufficiencyError, match="the sweep failed"):
        workflow.run(table, config, data_key=KEY)


def test_each_stage_is_the_cached_service_result() -> None:
    # The app's panels read one stage later (sweep, stability): the same cache entries.
    table, _ = blob_table(300, centers=3)
    cache = DictCache()
    config = workflow.WorkflowConfig(preprocess=NO_LOG, model=ModelConfig(k=3))
    done = workflow.run(table, config, data_key=KEY, cache=cache)
    entries = len(cache.store)
    assert workflow.sweep(table, config, data_key=KEY, cache=cache) is done.selection
    again = workflow.rate_stability(table, config, done.result, data_key=KEY, cache=cache)
    assert again is done.stability
    direct = service.segment_customers(
        table, preprocess=NO_LOG, model=ModelConfig(k=3), data_key=KEY, cache=cache
    )
    assert direct is done.result
    assert len(cache.store) == entries


def test_finish_step_shapes_the_kept_result() -> None:
    table, _ = blob_table(300, centers=3)
    config = workflow.WorkflowConfig(preprocess=NO_LOG, model=ModelConfig(k=3), sweep="never")

    def finish(result: SegmentationResult) -> SegmentationResult:
        return rename(result, 0, "Kept")

    done = workflow.run(table, config, data_key=KEY, finish=finish)
    assert done.result.names[0] == "Kept"
    assert done.selection is None


def test_cheap_sweep_skips_large_tables_with_a_fixed_k(monkeypatch: pytest.MonkeyPatch) -> None:
    table, _ = blob_table(300, centers=3)
    config = workflow.WorkflowConfig(
        preprocess=NO_LOG, model=ModelConfig(k=3), sweep="cheap", stability_refits=0
    )
    assert workflow.run(table, config, data_key=KEY).selection is not None
    monkeypatch.setattr(workflow, "CHEAP_SWEEP_MAX_N", 100)
    assert workflow.run(table, config, data_key=KEY).selection is None
    auto = replace(config, auto_k=True)
    assert workflow.run(table, auto, data_key=KEY).selection is not None


def test_auto_k_on_too_few_distinct_customers_says_how_to_fix() -> None:
    few = feature_table(
        {
            "recency_days": np.array([1, 1, 2, 2]),
            "frequency": np.ones(4, dtype=np.int64),
            "monetary": np.array([1.0, 1.0, 2.0, 2.0]),
        }
    )
    config = workflow.WorkflowConfig(preprocess=NO_LOG, auto_k=True, stability_refits=0)
    with pytest.raises(DataSufficiencyError, match="only 2 distinct customer"):
        workflow.run(few, config, data_key=KEY)
