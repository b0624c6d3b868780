"""Model page data: settings validation, the URL round trip, the form's values by name, the
view of a fit that cannot work, progress steps, and segment names kept per session across
refits."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from dash.exceptions import PreventUpdate

from core.clustering import result as result_module
from core.clustering import service, workflow
from core.clustering.fit import match_labels
from core.errors import ConfigError
from dashapp.pages.model import ids
from dashapp.pages.model.view import (
    DONE,
    HDBSCAN_K_LABEL,
    SETTING_NAMES,
    USE_K_LABEL,
    KPanel,
    control_changes,
    model_view,
    progress_of,
)
from dashapp.services import AppServices
from dashapp.shared.loading import session_table
from dashapp.shared.modeling import (
    STAGES,
    ModelSettings,
    NameRecord,
    NameStore,
    SessionModel,
    fit,
    name_store,
    parse_features,
    parse_query,
    parse_settings,
    query_of,
    rename_segment,
    search_string,
    selected_segment,
    settings_of,
    with_segment,
    with_settings,
    workflow_config,
)
from dashapp.shared.urlstate import apply_query
from dashapp.state import new_state, require_state
from tests.dashapp.helpers import as_json, texts

pytestmark = pytest.mark.usefixtures("app_ctx")


# --- settings and URL ------------------------------------------------------------------------


def test_settings_validation_quotes_the_bad_value() -> None:
    base = ModelSettings()
    assert parse_settings({"k": "7"}, base=base).k == 7
    assert parse_settings({"k": 6.0}, base=base).k == 6
    for bad in (1, 31, "seven", True, None, 4.5, [4]):
        with pytest.raises(ConfigError):
            parse_settings({"k": bad}, base=base)
    # parse_features only coerces; the core config refuses what is wrong, naming it.
    with pytest.raises(ConfigError, match="'spend'"):
        parse_settings({"features": "recency_days,spend"}, base=base)
    with pytest.raises(ConfigError, match="no feature"):
        parse_settings({"features": []}, base=base)
    with pytest.raises(ConfigError, match="'dbscan'"):
        parse_settings({"algorithm": "dbscan"}, base=base)
    with pytest.raises(ConfigError):
        parse_settings({"seed": -1}, base=base)
    # Features are kept in canonical order, whatever order they were ticked in.
    assert parse_features(["monetary", "recency_days"]) == ("recency_days", "monetary")
    with pytest.raises(ConfigError):
        ModelSettings(features=("monetary", "recency_days"))


def test_url_round_trip_through_the_query_string(services: AppServices) -> None:
    settings = ModelSettings(
        features=("recency_days", "frequency", "avg_order_value"),
        scaler="robust",
        algorithm="hierarchical",
        linkage="average",
        k=6,
        seed=42,
    )
    state = with_segment(with_settings(new_state(services), settings), 3)
    search = search_string(query_of(state))
    # What Dash Pages hands to layout(**query) for that address.
    parsed = {k: v[0] for k, v in parse_qs(urlsplit(search).query).items()}
    back, segment, errors = parse_query(parsed, base=ModelSettings())
    assert (back, segment, errors) == (settings, 3, [])
    # HDBSCAN has no k in the URL; the stored k survives.
    hdb = parse_settings({"algorithm": "hdbscan"}, base=settings)
    assert "k" not in hdb.to_query()
    assert parse_query(hdb.to_query(), base=settings)[0] == hdb


def test_a_link_with_bad_values_applies_the_rest(services: AppServices) -> None:
    state = new_state(services)
    data, alert = apply_query(
        {"k": "99", "algorithm": "gmm", "features": "monetary,<script>", "segment": "x"},
        state.to_json(),
    )
    new = require_state(data)
    assert settings_of(new).algorithm == "gmm"
    assert settings_of(new).k == ModelSettings().k
    assert settings_of(new).features == ModelSettings().features
    assert selected_segment(new) is None
    shown = texts(as_json(alert))
    assert "k = 99 is out of range" in shown
    assert "'<script>'" in shown
    assert "segment" in shown
    # A repeated parameter (a list) is refused, and an empty link changes nothing.
    _data, alert = apply_query({"k": ["3", "4"]}, state.to_json())
    assert "not a single short value" in texts(as_json(alert))
    with pytest.raises(PreventUpdate):
        apply_query({}, state.to_json())
    data, alert = apply_query({"segment": "all"}, with_segment(state, 2).to_json())
    assert selected_segment(require_state(data)) is None


def test_tampered_stored_settings_fall_back_to_defaults(services: AppServices) -> None:
    state = new_state(services).with_view_settings("model", {"k": "lots", "features": 3})
    assert settings_of(state) == ModelSettings()


# --- the form -----------------------------------------------------------------------------------


def test_control_changes_reads_the_form_by_name() -> None:
    names = list(SETTING_NAMES)
    values = [list(ModelSettings().features), "robust", "gmm", "ward", 5, 1]
    assert control_changes(values, [ids.model_setting(n) for n in names]) == dict(
        zip(names, values, strict=True)
    )
    assert control_changes([5], [ids.model_setting("k")]) == {"k": 5}
    # Anything else than what the form sends is refused as a whole.
    assert control_changes(5, [ids.model_setting("k")]) is None
    assert control_changes([5, 6], [ids.model_setting("k")]) is None
    assert control_changes([1], [{"type": ids.MODEL_SETTING_TYPE, "name": "n_init"}]) is None
    assert control_changes([1], ["k"]) is None
    assert control_changes([0] * 7, [ids.model_setting("k")] * 7) is None


# --- panels and the job -------------------------------------------------------------------------


def test_a_fit_that_cannot_work_has_no_panels(services: AppServices) -> None:
    # The 120 small generated customers have 15 distinct order counts: fewer than k = 30.
    state = with_settings(new_state(services), ModelSettings(features=("frequency",), k=30))
    view = model_view(state, services)
    assert view.fit_error is not None
    assert (view.result, view.k_panel, view.stability, view.status) == (None, None, None, "")
    assert view.empty_message == "Nothing fitted with these settings."
    assert (view.use_k_label, view.use_k_disabled) == (USE_K_LABEL, True)


def test_a_fit_during_the_request_rates_stability_beside_its_profiles(
    services: AppServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page's fit during the request starts its stability refits once it is fitted, while
    its profiles are built (held here until the refits have started): the same report as
    rating the finished result afterwards."""
    started = threading.Event()
    seen: list[bool] = []
    stability, build_profiles = service.stability, result_module.build_profiles

    def signalled_stability(*args: Any, **kwargs: Any) -> Any:
        started.set()
        return stability(*args, **kwargs)

    def held_profiles(*args: Any, **kwargs: Any) -> Any:
        seen.append(started.wait(timeout=5))
        return build_profiles(*args, **kwargs)

    monkeypatch.setattr(service, "stability", signalled_stability)
    monkeypatch.setattr(result_module, "build_profiles", held_profiles)
    state = with_settings(new_state(services), ModelSettings(k=3, seed=5))
    view = model_view(state, services)
    assert seen == [True]
    assert view.result is not None
    assert view.stability is not None
    assert view.stability.report is not None
    table = session_table(state, services)
    config = workflow_config(ModelSettings(k=3, seed=5))
    after = stability(
        table.features,
        preprocess=config.preprocess,
        model=config.model,
        data_key=table.key,
        config=workflow.stability_config(config),
        reference=view.result,
    )
    assert view.stability.report.aris == after.aris


def test_k_panel_button_without_criteria() -> None:
    hdbscan = KPanel(4, finds_k=True)
    assert (hdbscan.button_label, hdbscan.button_disabled) == (HDBSCAN_K_LABEL, True)
    failed = KPanel(4, error=ConfigError("no criteria"))
    assert (failed.button_label, failed.button_disabled) == (USE_K_LABEL, True)


def test_progress_steps_name_the_stage() -> None:
    assert progress_of(0, STAGES[0]) == (0, "0%", f"Step 1 of 4: {STAGES[0]}…")
    assert progress_of(3, STAGES[3]) == (75, "75%", f"Step 4 of 4: {STAGES[3]}…")
    assert DONE == (100, "100%", "Done.")


# --- names kept per session ---------------------------------------------------------------------


def test_names_survive_a_refit_and_stay_per_session(services: AppServices) -> None:
    state = new_state(services)
    other = new_state(services)
    table = session_table(state, services)
    first = fit(table, ModelSettings(k=4), services, state)
    renamed = rename_segment(
        SessionModel(table, ModelSettings(k=4), first), services, state, 2, "Weekend buyers"
    )
    assert renamed.names[2] == "Weekend buyers"
    assert fit(table, ModelSettings(k=4), services, state).names == renamed.names
    assert "Weekend buyers" not in fit(table, ModelSettings(k=4), services, other).names
    refit = fit(table, ModelSettings(k=5), services, state)
    mapping = match_labels(first.segmentation, refit.segmentation)
    continuing = [s for s, prev in mapping.items() if prev == 2]
    assert continuing
    assert refit.names[continuing[0]] == "Weekend buyers"
    assert refit.colors[continuing[0]] == first.colors[2]
    # Another dataset starts with automatic names.
    store = name_store(services)
    record = store.get(state.session_id)
    assert record is not None
    assert "Weekend buyers" in record.names
    store.put(
        state.session_id, NameRecord("elsewhere", record.result_key, record.names, record.colors)
    )
    assert "Weekend buyers" not in fit(table, ModelSettings(k=5), services, state).names


def test_name_store_refuses_bad_ids_and_survives_broken_files(tmp_path: Path) -> None:
    store = NameStore(tmp_path)
    with pytest.raises(ValueError, match="invalid session id"):
        store.get("../../etc/passwd")
    sid = "a" * 32
    (tmp_path / f"{sid}.json").write_text("{not json")
    assert store.get(sid) is None
    store.put(sid, NameRecord("default", "k" * 64, ("A", "B"), (0, 1)))
    assert store.get(sid) == NameRecord("default", "k" * 64, ("A", "B"), (0, 1))
    assert store.prune(max_age_days=1, now=time.time() + 3 * 86400) == 1
    assert store.get(sid) is None
