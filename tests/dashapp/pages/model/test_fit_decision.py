"""Which fits run during the page request and which go to the background queue: decided on the
estimated cost of the work not cached yet, not on the number of customers (issue 12,
finding 3)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from dash import no_update

from dashapp.pages.model import callbacks as page
from dashapp.pages.model import view
from dashapp.services import AppServices
from dashapp.shared.loading import session_table
from dashapp.shared.modeling import (
    BACKGROUND_CONFIG_KEY,
    ModelSettings,
    fit,
    pending_seconds,
    pending_stages,
    with_settings,
)
from dashapp.state import SessionState, new_state

pytestmark = pytest.mark.usefixtures("app_ctx")

CHEAP = ModelSettings(k=3, seed=41)
DEAR = ModelSettings(algorithm="gmm", k=30, seed=41)


@pytest.fixture
def threshold(app: Any) -> Iterator[Callable[[float], None]]:
    """Sets the app's cost threshold (CPU-seconds) for one test."""

    def set_to(value: float) -> None:
        app.server.config[BACKGROUND_CONFIG_KEY] = value

    yield set_to
    app.server.config.pop(BACKGROUND_CONFIG_KEY, None)


def _state(services: AppServices, settings: ModelSettings) -> SessionState:
    return with_settings(new_state(services), settings)


def test_a_dear_fit_goes_to_the_background_and_a_cheap_one_on_the_same_data_does_not(
    services: AppServices, threshold: Callable[[float], None]
) -> None:
    cheap_state, dear_state = _state(services, CHEAP), _state(services, DEAR)
    table = session_table(cheap_state, services)
    cheap = pending_seconds(table, CHEAP, services, whole=True)
    dear = pending_seconds(table, DEAR, services, whole=True)
    assert dear > 3 * cheap > 0  # same customers, ten times the segments of a costlier model
    threshold((cheap * dear) ** 0.5)
    request = page.render(dear_state.to_json())
    assert request["job"]["settings"] == DEAR.to_json()
    assert request["summary"] is no_update
    filled = page.render(cheap_state.to_json())
    assert filled["job"] is no_update
    assert "3 segments" in str(filled["summary"])


def test_cached_work_is_served_at_once_whatever_its_cost(
    services: AppServices, threshold: Callable[[float], None]
) -> None:
    settings = ModelSettings(k=4, seed=42)
    state = _state(services, settings)
    threshold(0.0)  # every uncached piece of work is a background job
    request = page.render(state.to_json())
    assert request["job"] is not no_update
    done = page.run_fit_job(lambda _p: None, request["job"], state.to_json(), services=services)
    assert "key" in done
    assert page.render(state.to_json())["job"] is no_update  # cached: filled in the request


def test_the_model_page_counts_the_sweep_and_stability_it_still_needs(
    services: AppServices, threshold: Callable[[float], None]
) -> None:
    """A fit the Segments page made leaves the Model page's sweep and refits to do."""
    settings = ModelSettings(k=5, seed=44)
    state = _state(services, settings)
    table = session_table(state, services)
    assert pending_stages(table, settings, services, whole=True) == ("sweep", "fit", "stability")
    fit(table, settings, services, state)
    assert pending_stages(table, settings, services, whole=False) == ()
    assert pending_stages(table, settings, services, whole=True) == ("sweep", "stability")
    threshold(0.0)
    assert page.render(state.to_json())["job"] is not no_update


def test_the_queue_place_is_worded_for_people() -> None:
    assert (
        view.queue_progress(2, 2)[2] == "Waiting for the server: 2 fits ahead of yours (2 running)…"
    )
    assert (
        view.queue_progress(1, 1)[2] == "Waiting for the server: 1 fit ahead of yours (1 running)…"
    )
    assert "starts next" in view.queue_progress(0, 0)[2]


def test_a_refused_fit_offers_retry(services: AppServices) -> None:
    from dashapp.background import QUEUE_FULL, SESSION_BUSY

    for refusal in (SESSION_BUSY, QUEUE_FULL):
        assert page.show_retry(dict(refusal), None, trigger="done") is False
    shown = page.render_after_job(dict(SESSION_BUSY), new_state(services).to_json())
    assert "already queued or running" in str(shown["summary"])


@pytest.mark.parametrize(
    ("algorithm", "linkage"),
    [
        ("kmeans", "ward"),
        ("minibatch", "ward"),
        ("hierarchical", "average"),
        ("gmm", "ward"),
        ("hdbscan", "ward"),
    ],
)
def test_once_the_page_ran_nothing_is_pending(
    services: AppServices, algorithm: str, linkage: str
) -> None:
    """The stages predicted pending are the ones the workflow stores: after a run, none (or a
    cached page would be sent to the queue again and again)."""
    settings = ModelSettings(algorithm=algorithm, linkage=linkage, k=3, seed=45)
    state = _state(services, settings)
    table = session_table(state, services)
    assert "fit" in pending_stages(table, settings, services, whole=True)
    view.run_job(state, services, lambda _p: None)
    assert pending_stages(table, settings, services, whole=True) == ()
    assert pending_seconds(table, settings, services, whole=True) == 0.0
