"""Server-side validation of the browser's session state."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.cleaning import CleaningConfig
from dashapp.services import DEFAULT_DATASET, AppServices
from dashapp.shared.modeling import (
    SEGMENTS_VIEW,
    ModelSettings,
    selected_segment,
    settings_of,
    with_segment,
    with_settings,
)
from dashapp.state import (
    SELECTION_VIEWS,
    TOGGLEABLE_RULES,
    StateError,
    new_state,
    parse_state,
)


@pytest.fixture
def services(tmp_path: Path) -> AppServices:
    return AppServices.create(
        secret_key="test-key",
        cache_dir=tmp_path,
        default_path=tmp_path / "default.parquet",
        max_upload_bytes=1000,
    )


def test_new_state_round_trips(services: AppServices) -> None:
    state = new_state(services)
    assert state.dataset == DEFAULT_DATASET
    parsed = parse_state(state.to_json(), services)
    assert parsed == state
    assert parsed.cleaning_config() == CleaningConfig()
    assert parsed.mapping_overrides() is None


def test_choices_round_trip(services: AppServices) -> None:
    state = new_state(services)
    stored = services.uploads.save(b"customer,date\n", "x.csv", state.session_id)
    services.registry.grant(state.session_id, stored.key)
    state = state.with_dataset(stored.key, "x.csv").evolve(
        mapping={"customer": "client", "date": None},
        date_format="%d/%m/%Y",
        cleaning={**dict.fromkeys(TOGGLEABLE_RULES, True), "duplicate": False},
        views={"model": {"k": 4}},
    )
    parsed = parse_state(state.to_json(), services)
    assert parsed == state
    assert parsed.cleaning_config() == CleaningConfig(duplicate=False)
    assert parsed.mapping_overrides() == {"customer": "client", "date": None}


def test_new_dataset_resets_mapping_and_date_format(services: AppServices) -> None:
    state = new_state(services).evolve(mapping={"customer": "c"}, date_format="%Y")
    moved = state.with_dataset("f" * 64, "y.csv")
    assert moved.mapping is None
    assert moved.date_format is None
    assert moved.cleaning == state.cleaning


def test_new_dataset_clears_selections_and_keeps_settings(services: AppServices) -> None:
    assert SEGMENTS_VIEW in SELECTION_VIEWS
    chosen = with_segment(with_settings(new_state(services), ModelSettings(k=5)), 2)
    chosen = chosen.with_view_settings("rfm", {"bins": 4}).with_view_settings("compare", {"k": 3})
    assert selected_segment(chosen) == 2
    moved = chosen.with_dataset("f" * 64, "y.csv")
    assert selected_segment(moved) is None
    assert SEGMENTS_VIEW not in moved.views
    assert settings_of(moved) == ModelSettings(k=5)
    assert moved.view_settings("rfm") == {"bins": 4}
    assert moved.view_settings("compare") == {"k": 3}


def test_token_from_other_server_is_refused(services: AppServices, tmp_path: Path) -> None:
    other = AppServices.create(
        secret_key="other-key",
        cache_dir=tmp_path / "other",
        default_path=tmp_path / "d.parquet",
        max_upload_bytes=1,
    )
    with pytest.raises(StateError, match="token"):
        parse_state(new_state(other).to_json(), services)


def test_dataset_of_another_session_is_refused(services: AppServices) -> None:
    owner, intruder = new_state(services), new_state(services)
    stored = services.uploads.save(b"secret data", "theirs.csv", owner.session_id)
    services.registry.grant(owner.session_id, stored.key)
    assert parse_state(owner.with_dataset(stored.key, "t").to_json(), services).dataset == (
        stored.key
    )
    with pytest.raises(StateError, match="does not belong"):
        parse_state(intruder.with_dataset(stored.key, "t").to_json(), services)


@pytest.mark.parametrize(
    "patch",
    [
        {"dataset": "../../etc/passwd"},
        {"dataset": 5},
        {"mapping": {"nonsense": "x"}},
        {"mapping": ["customer"]},
        {"mapping": {"customer": 3}},
        {"mapping": {"customer": "x" * 300}},
        {"date_format": "%d\x00"},
        {"cleaning": {"unparseable": False}},
        {"cleaning": {"duplicate": "no"}},
        {"views": {"big": "x" * 40_000}},
        {"views": [1]},
    ],
)
def test_invalid_fields_are_refused(services: AppServices, patch: dict[str, object]) -> None:
    data = {**new_state(services).to_json(), **patch}
    with pytest.raises(StateError):
        parse_state(data, services)


@pytest.mark.parametrize("data", [None, "token", [], {}])
def test_missing_state_is_refused(services: AppServices, data: object) -> None:
    with pytest.raises(StateError):
        parse_state(data, services)


def test_view_settings_round_trip_and_are_isolated(services: AppServices) -> None:
    state = new_state(services).with_view_settings("model", {"k": 4, "features": ["recency"]})
    state = state.with_view_settings("rfm", {"ruleset": "rfm11"})
    parsed = parse_state(state.to_json(), services)
    assert parsed.view_settings("model") == {"k": 4, "features": ["recency"]}
    assert parsed.view_settings("rfm") == {"ruleset": "rfm11"}
    assert parsed.view_settings("export") == {}
    copy = parsed.view_settings("model")
    copy["k"] = 9
    assert parsed.view_settings("model")["k"] == 4


def test_app_cache_survives_a_failing_disk_write(
    services: AppServices, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = services.cache.disk
    assert disk is not None
    key = "ab" * 32
    with monkeypatch.context() as patch, caplog.at_level("WARNING"):
        patch.setattr(disk, "put", _full_disk)
        services.cache.put(key, {"ok": 0})
    assert services.cache.get(key) == {"ok": 0}  # still served from memory
    assert "not written to the shared cache folder" in caplog.text
    services.cache.put("cd" * 32, {"ok": 1})
    assert disk.get("cd" * 32) == {"ok": 1}
    services.cache.put("ef" * 32, lambda: None)  # no data-only form: kept in memory only
    assert services.cache.get("ef" * 32) is not None
    assert disk.get("ef" * 32) is None


def _full_disk(key: str, value: object) -> bool:
    raise OSError(28, "No space left on device")
