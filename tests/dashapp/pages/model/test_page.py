"""Model page: settings validation, the URL round trip, panels against direct core calls, the
background job (as a function and in a real forkserver worker), and segment names kept per
session across refits."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import dill
import diskcache
import numpy as np
import polars as pl
import pytest
from dash import no_update
from dash.exceptions import PreventUpdate

from core.clustering.config import ModelConfig, PreprocessConfig
from core.clustering.fit import match_labels
from core.clustering.select_k import choose_k
from core.clustering.stability import stability
from core.errors import ConfigError
from dashapp.background import ForkserverDiskcacheManager, worker_services
from dashapp.pages.model import callbacks as page
from dashapp.services import AppServices
from dashapp.shared import ids
from dashapp.shared.loading import session_table
from dashapp.shared.modeling import (
    BACKGROUND_CONFIG_KEY,
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
)
from dashapp.shared.urlstate import apply_query
from dashapp.state import SessionState, new_state, require_state
from tests.dashapp.helpers import as_json, find_ids, texts

pytestmark = pytest.mark.usefixtures("app_ctx")

SETTING_IDS = [ids.model_setting(n) for n in page.SETTING_NAMES]


def controls(state: SessionState, **changes: object) -> Any:
    values = {**settings_of(state).to_json(), **changes}
    return page.apply_controls(
        [values[n] for n in page.SETTING_NAMES], SETTING_IDS, state.to_json()
    )


def panels(state: SessionState) -> dict[str, Any]:
    values = page.render(state.to_json())
    names = [f"{o.component_id}.{o.component_property}" for o in page.PANEL_OUTPUTS]
    return dict(zip([*names, "job"], values, strict=True))


# --- settings and URL ------------------------------------------------------------------------


def test_settings_validation_quotes_the_bad_value() -> None:
    base = ModelSettings()
    assert parse_settings({"k": "7"}, base=base).k == 7
    assert parse_settings({"k": 6.0}, base=base).k == 6
    for bad in (1, 31, "seven", True, None, 4.5, [4]):
        with pytest.raises(ConfigError):
            parse_settings({"k": bad}, base=base)
    with pytest.raises(ConfigError, match="'spend'"):
        parse_features("recency_days,spend")
    with pytest.raises(ConfigError, match="no feature"):
        parse_features([])
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


# --- controls ---------------------------------------------------------------------------------


def test_layout_and_controls_render_the_state(services: AppServices) -> None:
    found = find_ids(as_json(page.layout(k="5")))
    for expected in (ids.MODEL_SUMMARY, ids.MODEL_K_FIGURE, ids.MODEL_CANCEL, ids.MODEL_JOB):
        assert expected in found
    assert not [i for i in found if isinstance(i, dict)]  # controls come from the state
    settings = ModelSettings(algorithm="hierarchical", k=7, seed=3)
    tree = as_json(page.render_controls(with_settings(new_state(services), settings).to_json()))
    values = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            props = node.get("props", {})
            if isinstance(props, dict) and isinstance(props.get("id"), dict):
                values[props["id"]["name"]] = props.get("value")
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(tree)
    assert values == settings.to_json()


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
    summary = texts(as_json(out[f"{ids.MODEL_SUMMARY}.children"]))
    assert "4 segments" in summary
    k_text = texts(as_json(out[f"{ids.MODEL_K_TEXT}.children"]))
    assert f"k = {selection.recommended_k}" in k_text
    assert selection.reason in k_text
    assert ("criteria disagree" in k_text) == selection.disagreement
    fig = out[f"{ids.MODEL_K_FIGURE}.figure"]
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
    assert report.rating in texts(as_json(out[f"{ids.MODEL_STABILITY}.children"]))
    stab = out[f"{ids.MODEL_STABILITY_FIGURE}.figure"]
    np.testing.assert_allclose(stab.data[0].y, report.per_segment["jaccard_mean"].to_numpy())
    disabled = out[f"{ids.MODEL_USE_K}.disabled"]
    assert disabled == (selection.recommended_k == 4)


def test_gmm_adds_bic_and_hdbscan_has_no_k_panel(services: AppServices) -> None:
    gmm = with_settings(new_state(services), ModelSettings(algorithm="gmm", k=3))
    fig = panels(gmm)[f"{ids.MODEL_K_FIGURE}.figure"]
    assert "BIC (Gaussian mixture)" in [t.name for t in fig.data]
    hdb = with_settings(new_state(services), ModelSettings(algorithm="hdbscan"))
    out = panels(hdb)
    assert "finds the number of segments itself" in texts(
        as_json(out[f"{ids.MODEL_K_TEXT}.children"])
    )
    assert out[f"{ids.MODEL_USE_K}.disabled"] is True


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
    shown = texts(as_json(out[f"{ids.MODEL_SUMMARY}.children"]))
    assert "cannot be computed" in shown
    assert "How to fix" in shown


# --- background job ---------------------------------------------------------------------------


def test_large_data_requests_a_background_job(app: Any, services: AppServices) -> None:
    state = with_settings(new_state(services), ModelSettings(k=5, seed=11))
    app.server.config[BACKGROUND_CONFIG_KEY] = 0
    try:
        out = panels(state)
    finally:
        del app.server.config[BACKGROUND_CONFIG_KEY]
    assert out["job"]["settings"] == ModelSettings(k=5, seed=11).to_json()
    assert out[f"{ids.MODEL_SUMMARY}.children"] is no_update
    assert "in the background" in out[f"{ids.MODEL_STATUS}.children"]

    steps: list[tuple[int, str, str]] = []
    done = page.run_fit_job(
        steps.append, out["job"], state.to_json(), services=worker_services(services)
    )
    assert [s[0] for s in steps] == [0, 25, 50, 75, 100]
    assert [s[2].split(": ", 1)[1].rstrip("…") for s in steps[:-1]] == list(STAGES)
    table = session_table(state, services)
    assert done == {"key": fit(table, ModelSettings(k=5, seed=11), services, state).key}
    after = page.render_after_job(done, state.to_json())
    assert "5 segments" in texts(as_json(after[1]))
    # A job for settings that changed meanwhile is ignored; a job's error is shown.
    with pytest.raises(PreventUpdate):
        page.render_after_job(done, with_settings(state, ModelSettings(k=6)).to_json())
    failed = page.render_after_job({"error": "too few", "hint": "use less"}, state.to_json())
    assert "use less" in texts(as_json(failed[1]))


def test_jobs_get_the_services_without_the_parents_tables(services: AppServices) -> None:
    session_table(new_state(services), services)  # the parent now holds a table in memory
    worker = worker_services(services)
    shipped = dill.dumps(worker)
    assert len(shipped) < 20_000  # keys and folders, not tables
    assert len(dill.dumps(services)) > 10 * len(shipped)
    assert worker.signer.verify(new_state(services).token) is not None
    for name in ("cache", "tables"):
        tier = getattr(worker, name)
        assert len(tier.memory) == 0
        assert tier.disk is getattr(services, name).disk


def _polars_in_a_worker(value: int) -> int:
    frame = pl.DataFrame({"g": np.arange(200_000) % 7, "v": np.ones(200_000)})
    return int(frame.group_by("g").agg(pl.col("v").sum())["v"].sum()) + value


def test_forkserver_jobs_run_polars_after_the_parent_used_it(tmp_path: Path) -> None:
    """A forked worker would hang in Polars' thread pool; the forkserver worker must not."""
    pl.DataFrame({"a": np.arange(100_000) % 3}).group_by("a").len()  # the parent uses Polars
    manager = ForkserverDiskcacheManager(diskcache.Cache(str(tmp_path / "jobs")))
    job = manager.make_job_fn(_polars_in_a_worker, False)
    pid = manager.call_job_fn("k1", job, [5], {})
    deadline = time.monotonic() + 60
    while not manager.result_ready("k1") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert manager.get_result("k1", pid) == 200_005
    manager.terminate_job(pid)


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
