"""The Compare page's dear work leaves the request threads (issue 12, finding 3): an uncached
tree or K-means above the cost threshold is asked of the app's background job queue (the Model
page's), with progress, Cancel and Retry; cached or cheap work still answers at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from dash import Dash, no_update
from dash.exceptions import PreventUpdate

from dashapp.background import LOST_JOB, SESSION_BUSY, JobCancelledError, with_checkpoints
from dashapp.pages.compare import callbacks as page
from dashapp.pages.compare import view as cm
from dashapp.pages.compare import work
from dashapp.services import AppServices
from dashapp.shared.jobs import DONE, JOBS_EXTENSION, app_jobs
from dashapp.shared.loading import session_table
from dashapp.shared.modeling import BACKGROUND_CONFIG_KEY, ModelSettings, with_settings
from dashapp.state import SessionState, new_state
from tests.dashapp.helpers import as_json, texts

pytestmark = pytest.mark.usefixtures("app_ctx")


@pytest.fixture
def every_fit_in_background(app: Dash) -> Iterator[None]:
    """The threshold at 0 CPU-seconds: any uncached work is dear (as on a large table)."""
    app.server.config[BACKGROUND_CONFIG_KEY] = 0
    yield
    del app.server.config[BACKGROUND_CONFIG_KEY]


def fresh(services: AppServices, seed: int, linkage: str = "average") -> SessionState:
    """A session whose tree and K-means nothing computed yet (a seed no other test uses)."""
    return with_settings(new_state(services), ModelSettings(linkage=linkage, k=3, seed=seed))


def ready(state: SessionState, services: AppServices, k: int) -> tuple[bool, bool]:
    table = session_table(state, services)
    settings = cm.compare_settings(state)
    return (
        cm.tree_ready(table, settings, services.cache),
        cm.kmeans_ready(table, settings, k, services.cache),
    )


@pytest.mark.usefixtures("every_fit_in_background")
def test_an_uncached_dear_comparison_is_queued_not_computed_in_the_request(
    services: AppServices,
) -> None:
    state = fresh(services, seed=9101)
    data = state.to_json()
    out = page.init_compare(data, None, None)
    assert out["job"] == {"view": out["key"], "k": None}  # the tree, and the stored k with it
    assert "in the background" in out["status"]
    assert all(out[name] is no_update for name in page.SLIDER_OUTPUTS)
    # Nothing was fitted during the request, and the charts wait for the job.
    assert ready(state, services, 3) == (False, False)
    with pytest.raises(PreventUpdate):
        page.render_compare(3, out["key"], data)
    with pytest.raises(PreventUpdate):
        page.render_selection(None, 3, out["key"], data)
    with pytest.raises(PreventUpdate):
        page.apply_cut("k", 4, None, None, data)
    assert ready(state, services, 3) == (False, False)

    steps: list[Any] = []
    done = page.run_compare_job(steps.append, out["job"], data, services=services)
    assert done == {"key": out["key"], "k": 3}
    assert [s[0] for s in steps] == [0, 33, 67, 100]
    assert steps[-1] == DONE
    assert "K-means with k = 3" in steps[2][2]
    assert ready(state, services, 3) == (True, True)

    # The job's answer brings the page back: sliders, then the charts, from the cache.
    after = page.init_after_job(done, data, None, out["key"])
    assert after["k"] == 3
    assert "job" not in after  # asks for none: no callback cycle
    drawn = page.render_compare(3, out["key"], data, done)
    assert drawn["job"] is no_update
    assert "cut: k = 3" in str(drawn["dendrogram"].layout)
    assert "cut: k = 3" in str(
        page.render_after_job(done, 3, out["key"], data)["dendrogram"].layout
    )
    # Another view's answer (the settings changed meanwhile) moves nothing.
    with pytest.raises(PreventUpdate):
        page.init_after_job({"key": "other", "k": 3}, data, 3, out["key"])
    with pytest.raises(PreventUpdate):
        page.render_after_job(done, 4, out["key"], data)


@pytest.mark.usefixtures("every_fit_in_background")
def test_a_new_k_not_cached_is_asked_of_a_job_once_the_tree_exists(
    services: AppServices,
) -> None:
    state = fresh(services, seed=9102, linkage="ward")
    data = state.to_json()
    key = page.init_compare(data, None, None)["key"]
    page.run_compare_job(lambda _p: None, {"view": key, "k": None}, data, services=services)
    out = page.render_compare(6, key, data)
    assert out["job"] == {"view": key, "k": 6}
    assert "K-means with k = 6" in out["status"]
    assert out["dendrogram"] is no_update
    assert ready(state, services, 6) == (True, False)
    with pytest.raises(PreventUpdate):
        page.render_selection(None, 6, key, data)
    # The cut itself needs no fit: the sliders still move at once.
    assert page.apply_cut("k", 6, None, None, data)["k"] is no_update
    done = page.run_compare_job(lambda _p: None, out["job"], data, services=services)
    assert done == {"key": key, "k": 6}
    assert ready(state, services, 6) == (True, True)
    assert "cut: k = 6" in str(page.render_after_job(done, 6, key, data)["dendrogram"].layout)
    assert page.render_compare(6, key, data, done)["job"] is no_update


def test_cheap_uncached_work_still_fills_the_page_during_the_request(
    services: AppServices,
) -> None:
    """The default threshold: a small table's tree and K-means cost far less than 2 CPU-s."""
    state = fresh(services, seed=9103)
    data = state.to_json()
    out = page.init_compare(data, None, None)
    assert out["job"] is no_update
    assert out["k"] == 3
    assert page.render_compare(3, out["key"], data)["job"] is no_update
    assert ready(state, services, 3) == (True, True)


def test_the_estimate_counts_only_what_is_not_cached(services: AppServices) -> None:
    state = fresh(services, seed=9104, linkage="complete")
    table = session_table(state, services)
    settings = cm.compare_settings(state)
    both = cm.pending_seconds(table, settings, 3, services.cache)
    assert both > 0
    cm.tree_fit(table, settings, services.cache)
    kmeans_only = cm.pending_seconds(table, settings, 3, services.cache)
    assert 0 < kmeans_only < both
    cm.kmeans_fit(table, settings, 3, services)
    assert cm.pending_seconds(table, settings, 3, services.cache) == 0


def test_a_failed_refused_or_lost_job_is_shown_with_retry(app: Dash, services: AppServices) -> None:
    state = fresh(services, seed=9105)
    data = state.to_json()
    for answer in (SESSION_BUSY, LOST_JOB):
        shown = page.show_job_outcome(dict(answer), None, None, source="done")
        assert answer["error"] in texts(as_json(shown["alert"]))
        assert shown["retry_hidden"] is False
        # The charts' callbacks leave the page as it is (no second request, no loop).
        with pytest.raises(PreventUpdate):
            page.init_compare(data, None, None, dict(answer), from_job=True)
        with pytest.raises(PreventUpdate):
            page.render_compare(3, "key", data, dict(answer), from_job=True)
    failed = {"error": "too few customers", "hint": "load more"}
    shown = page.show_job_outcome(failed, None, None, source="done")
    assert "load more" in texts(as_json(shown["alert"]))
    assert shown["retry_hidden"] is True  # asking again would fail the same way
    assert page.show_job_outcome(None, {}, None, source="job")["retry_hidden"]
    cancelled = page.show_job_outcome(None, None, 1, source="cancel")
    assert cancelled["status"] == page.CANCELLED
    assert cancelled["retry_hidden"] is False

    app.server.config[BACKGROUND_CONFIG_KEY] = 0
    try:
        first = page.retry_compare(1, None, data)
        second = page.retry_compare(2, None, data)
    finally:
        del app.server.config[BACKGROUND_CONFIG_KEY]
    assert first["job"]["k"] is None
    assert "in the background" in first["status"]
    assert first["job"] != second["job"]  # the store changes, so the job starts again
    # Cheap now (the default threshold): marked done, so the page computes it.
    cheap = page.retry_compare(3, 3, data)
    assert cheap["job"] is no_update
    assert work.finished_for(cheap["done"], cm.view_key(state, cm.compare_settings(state)))


def test_a_cancelled_compare_job_stops_before_its_next_step(services: AppServices) -> None:
    """Cancel is seen at the next progress report: here once the table is loaded, so the tree
    is never built."""
    state = fresh(services, seed=9106)
    seen: list[Any] = []

    def report(progress: Any) -> None:
        seen.append(progress)
        if len(seen) == 2:  # cancelled while the table loaded
            raise JobCancelledError

    with pytest.raises(JobCancelledError):
        page.run_compare_job(report, {"view": "x", "k": None}, state.to_json(), services=services)
    assert ready(state, services, 3) == (False, False)


def test_compare_and_model_jobs_share_the_apps_one_queue(app: Dash, services: AppServices) -> None:
    """Two background callbacks (Model, Compare), one manager: its 2 job threads, its bounded
    queue and one active job per session hold across both pages."""
    managers = [e["manager"] for e in app.callback_map.values() if e.get("background")]
    assert len(managers) == 2
    assert all(m is app.server.extensions[JOBS_EXTENSION] for m in managers)
    assert app_jobs(app.server, services) is managers[0]

    manager = managers[0]
    state = fresh(services, seed=9107)
    release = threading.Event()

    def model_fit(set_progress: Any, _request: object, _data: object) -> str:
        with_checkpoints(set_progress)(1)
        release.wait(30)
        return "fitted"

    fit = manager.make_job_fn(model_fit, True)
    first = manager.call_job_fn("model-fit", fit, [{}, state.to_json()], {})
    try:
        job = manager.make_job_fn(lambda _p, _r, _d: "compared", True)
        second = manager.call_job_fn("compare", job, [{"k": None}, state.to_json()], {})
        deadline = time.monotonic() + 30
        while not manager.result_ready("compare") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert manager.get_result("compare", second) == SESSION_BUSY
    finally:
        release.set()
    deadline = time.monotonic() + 30
    while not manager.result_ready("model-fit") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert manager.get_result("model-fit", first) == "fitted"
