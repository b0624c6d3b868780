"""Model page callbacks: settings validation, panels by name against direct core calls, the
background job (as a function, and through its job manager on a thread of this process), and
outputs registered by the names the callbacks return."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import diskcache
import flask
import numpy as np
import pytest
from dash import no_update
from dash.exceptions import PreventUpdate

from core.clustering.config import ModelConfig, PreprocessConfig
from core.clustering.select_k import choose_k
from core.clustering.stability import stability
from dashapp.background import (
    ThreadJobManager,
    checkpoint,
    with_checkpoints,
)
from dashapp.pages.model import callbacks as page
from dashapp.pages.model import ids
from dashapp.pages.model.view import SETTING_NAMES
from dashapp.services import AppServices
from dashapp.shared.loading import session_table
from dashapp.shared.modeling import (
    BACKGROUND_CONFIG_KEY,
    STAGES,
    ModelSettings,
    fit,
    settings_of,
    with_settings,
)
from dashapp.state import SessionState, new_state, require_state
from tests.dashapp.helpers import as_json, texts
from tests.dashapp.pages.model.registry import registration_of, registrations

pytestmark = pytest.mark.usefixtures("app_ctx")

SETTING_IDS = [ids.model_setting(n) for n in SETTING_NAMES]


def controls(state: SessionState, **changes: object) -> Any:
    values = {**settings_of(state).to_json(), **changes}
    return page.apply_controls([values[n] for n in SETTING_NAMES], SETTING_IDS, state.to_json())


def panels(state: SessionState) -> dict[str, Any]:
    """The render callback's outputs, by name."""
    return page.render(state.to_json())


# --- controls ---------------------------------------------------------------------------------


def test_apply_controls_stores_valid_and_explains_refused_values(services: AppServices) -> None:
    state = new_state(services)
    data, alert = controls(state, k=6, algorithm="gmm", features=["monetary", "frequency"])
    stored = settings_of(require_state(data))
    assert (stored.k, stored.algorithm, stored.features) == (6, "gmm", ("frequency", "monetary"))
    assert alert == []
    for bad in ({"k": None}, {"k": 40}, {"features": []}, {"scaler": "log"}):
        data, alert = controls(state, **bad)
        assert data is no_update
        assert "How to fix" in texts(as_json(alert))
    with pytest.raises(PreventUpdate):  # nothing changed
        controls(state)
    with pytest.raises(PreventUpdate):  # an id no control has
        page.apply_controls(
            [1], [{"type": ids.MODEL_SETTING_TYPE, "name": "n_init"}], state.to_json()
        )


# --- panels -------------------------------------------------------------------------------------


def test_panels_show_what_core_computes(services: AppServices) -> None:
    state = new_state(services)
    out = panels(state)
    assert out["job"] is no_update
    table = session_table(state, services)
    pre = PreprocessConfig()
    selection = choose_k(table.features, pre, k_range=range(2, 11), random_state=0)
    summary = texts(as_json(out["summary"]))
    assert "4 segments" in summary
    k_text = texts(as_json(out["k_text"]))
    assert f"k = {selection.recommended_k}" in k_text
    assert selection.reason in k_text
    assert ("criteria disagree" in k_text) == selection.disagreement
    fig = out["k_figure"]
    curves = [t for t in fig.data if t.mode == "lines+markers"]
    assert [t.name for t in curves] == [
        "Inertia (within-segment spread)",
        "Silhouette",
        "Calinski-Harabasz",
        "Davies-Bouldin",
    ]
    np.testing.assert_allclose(curves[1].y, selection.table["silhouette"].to_numpy())
    assert list(curves[0].x) == list(range(2, 11))
    report = stability(table.features, pre, ModelConfig(), n_boot=10, random_state=0)
    assert report.rating in texts(as_json(out["stability"]))
    stab = out["stability_figure"]
    np.testing.assert_allclose(stab.data[0].y, report.per_segment["jaccard_mean"].to_numpy())
    disabled = out["use_k_disabled"]
    assert disabled == (selection.recommended_k == 4)


def test_gmm_adds_bic_and_hdbscan_has_no_k_panel(services: AppServices) -> None:
    gmm = with_settings(new_state(services), ModelSettings(algorithm="gmm", k=3))
    fig = panels(gmm)["k_figure"]
    assert "BIC (Gaussian mixture)" in [t.name for t in fig.data]
    hdb = with_settings(new_state(services), ModelSettings(algorithm="hdbscan"))
    out = panels(hdb)
    assert "finds the number of segments itself" in texts(as_json(out["k_text"]))
    assert out["use_k_disabled"] is True


def test_use_recommended_k(services: AppServices) -> None:
    state = new_state(services)
    table = session_table(state, services)
    best = choose_k(table.features, PreprocessConfig(), k_range=range(2, 11)).recommended_k
    settings = ModelSettings(k=9 if best != 9 else 8)
    data = page.use_recommended_k(1, with_settings(state, settings).to_json())
    assert settings_of(require_state(data)).k == best
    with pytest.raises(PreventUpdate):
        page.use_recommended_k(None, state.to_json())


def test_a_fit_that_cannot_work_says_why(services: AppServices) -> None:
    # The 120 small generated customers have 15 distinct order counts: fewer than k = 30.
    state = with_settings(new_state(services), ModelSettings(features=("frequency",), k=30))
    out = panels(state)
    shown = texts(as_json(out["summary"]))
    assert "cannot be computed" in shown
    assert "How to fix" in shown


def test_outputs_are_registered_by_the_names_the_callbacks_return(
    server: flask.Flask, services: AppServices
) -> None:
    found = registrations(server)
    render = registration_of(found, page.render).kwargs["output"]
    assert set(render) == set(panels(new_state(services)))
    after = registration_of(found, page.render_after_job).kwargs["output"]
    assert set(after) == set(page.PANEL_OUTPUTS) == set(render) - {"job"}
    for name, output in after.items():
        assert output.component_id == render[name].component_id
        assert output.component_property == render[name].component_property
        assert output.allow_duplicate


# --- background job ---------------------------------------------------------------------------


def test_large_data_requests_a_background_job(app: Any, services: AppServices) -> None:
    state = with_settings(new_state(services), ModelSettings(k=5, seed=11))
    app.server.config[BACKGROUND_CONFIG_KEY] = 0
    try:
        out = panels(state)
    finally:
        del app.server.config[BACKGROUND_CONFIG_KEY]
    assert out["job"]["settings"] == ModelSettings(k=5, seed=11).to_json()
    assert out["summary"] is no_update
    assert "in the background" in out["status"]

    steps: list[tuple[int, str, str]] = []
    done = page.run_fit_job(steps.append, out["job"], state.to_json(), services=services)
    assert [s[0] for s in steps] == [0, 25, 50, 75, 100]
    assert [s[2].split(": ", 1)[1].rstrip("…") for s in steps[:-1]] == list(STAGES)
    table = session_table(state, services)
    assert done == {"key": fit(table, ModelSettings(k=5, seed=11), services, state).key}
    after = page.render_after_job(done, state.to_json())
    assert "5 segments" in texts(as_json(after["summary"]))
    # A job for settings that changed meanwhile is ignored; a job's error is shown.
    with pytest.raises(PreventUpdate):
        page.render_after_job(done, with_settings(state, ModelSettings(k=6)).to_json())
    failed = page.render_after_job({"error": "too few", "hint": "use less"}, state.to_json())
    assert "use less" in texts(as_json(failed["summary"]))


def test_a_cheap_fit_waits_in_the_queue_while_the_request_slots_are_taken(
    services: AppServices,
) -> None:
    """Other users' fits hold every request slot: a fit cheap enough for the request goes to
    the background queue; once cached, it renders while the slots are still taken; a render
    gives its slot back."""
    state = with_settings(new_state(services), ModelSettings(k=3, seed=31))
    slots = services.request_slots
    held = [slots.slot() for _ in range(slots.size)]
    assert all(h.__enter__() for h in held)  # every slot taken, as by concurrent fits
    try:
        queued = panels(state)
        assert queued["job"]["settings"] == ModelSettings(k=3, seed=31).to_json()
        assert queued["summary"] is no_update
        done = page.run_fit_job(lambda _p: None, queued["job"], state.to_json(), services=services)
        cached = panels(state)  # from the cache: no slot needed
        assert cached["job"] is no_update
        assert "3 segments" in texts(as_json(cached["summary"]))
        after = page.render_after_job(done, state.to_json())
        assert as_json(after["summary"]) == as_json(cached["summary"])
    finally:
        for h in held:
            h.__exit__(None, None, None)
    fresh = with_settings(state, ModelSettings(k=4, seed=31))
    assert panels(fresh)["job"] is no_update  # a slot is free: fitted during the request
    with slots.slot() as free:
        assert free  # and given back


def _run_registered_job(services: AppServices, server: flask.Flask, *args: object) -> Any:
    """Run the Model page's background callback through its job manager, as Dash does."""
    (job,) = [r for r in registrations(server) if r.kwargs.get("background")]
    manager = job.kwargs["manager"]
    job_fn = manager.make_job_fn(job.function, True)
    pid = manager.call_job_fn("job-result", job_fn, list(args), {})
    deadline = time.monotonic() + 120
    while not manager.result_ready("job-result") and time.monotonic() < deadline:
        time.sleep(0.05)
    return manager.get_result("job-result", pid)


def test_a_background_job_uses_the_table_the_server_holds(
    services: AppServices, server: flask.Flask
) -> None:
    """The job must not read back from disk the customer table this process holds in memory
    (a disk read refreshes the entry's modification time)."""
    state = with_settings(new_state(services), ModelSettings(k=3, seed=23))
    table = session_table(state, services)  # the server process now holds it
    assert services.tables.disk is not None
    entries = list(services.tables.disk.directory.glob("*/*.entry"))
    assert entries
    for path in entries:
        os.utime(path, (1_000_000_000, 1_000_000_000))
    request = {"settings": ModelSettings(k=3, seed=23).to_json(), "dataset": state.dataset}
    done = _run_registered_job(services, server, request, state.to_json())
    assert done == {"key": fit(table, ModelSettings(k=3, seed=23), services, state).key}
    assert {p.stat().st_mtime for p in entries if p.exists()} == {1_000_000_000}


def _loop_until_cancelled(set_progress: Any, steps: int) -> str:
    report = with_checkpoints(set_progress)  # what the Model page's job reports through
    for step in range(steps):
        report(step)
        time.sleep(0.02)
    return "finished"


def test_a_cancelled_job_stops_at_its_next_checkpoint(tmp_path: Path) -> None:
    manager = ThreadJobManager(diskcache.Cache(str(tmp_path / "jobs")))
    job_fn = manager.make_job_fn(_loop_until_cancelled, True)
    job = manager.call_job_fn("slow", job_fn, [10_000], {})
    deadline = time.monotonic() + 30
    while manager.get_progress("slow") is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert manager.job_running(job)
    manager.terminate_job(job)
    while manager.job_running(job) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not manager.job_running(job)
    assert manager.get_result("slow", job) is manager.UNDEFINED  # nothing left behind

    quick = manager.call_job_fn("quick", job_fn, [3], {})
    while not manager.result_ready("quick") and time.monotonic() < deadline:
        time.sleep(0.01)
    # Finished but not collected: still "running", so a poll in between never drops it.
    assert manager.job_running(quick)
    assert manager.get_result("quick", quick) == "finished"
    assert not manager.job_running(quick)
    # A job of a process that is gone is not running.
    assert not manager.job_running("999999999-1")
    checkpoint()  # outside a job: nothing to stop
