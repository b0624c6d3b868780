"""The team workspace in the app: save the session's segmentation, open a saved one in any
session, log exports (:mod:`core.workspace` does the storing).

One :class:`core.workspace.Workspace` per app, opened on first use (``CUSTSEG_DATABASE_URL``,
else the SQLite file in ``CUSTSEG_DATA_DIR``) and kept on the Flask app like the other
services, never in module state. The creator and exporter is the signed-in name
(:func:`dashapp.auth.signed_in_user`), None without sign-in (everyone shares the workspace).

Opening a saved segmentation stores its dataset as an upload of the opening session, sets the
mapping, date format, cleaning rules and model settings it was saved with, puts its model in
the app's cache under its key and its segment names in the session's name record: the pages
then show it as saved, without a refit.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import flask

from core.cleaning import REASONS
from core.clustering.result import SegmentationResult
from core.workspace import Saved, Workspace
from dashapp.auth import signed_in_user
from dashapp.services import AppServices
from dashapp.shared.modeling import (
    ModelSettings,
    NameRecord,
    SessionModel,
    name_store,
    parse_settings,
    with_settings,
)
from dashapp.state import SessionState

EXTENSION = "custseg.workspace"
LIBRARY_VIEW = "library"  # the session's view settings: the saved segmentation it opened
_LOCK = EXTENSION + ".lock"


def workspace(server: flask.Flask | None = None) -> Workspace:
    """The app's workspace, opened (and migrated) on first use."""
    app = server if server is not None else flask.current_app
    found = app.extensions.get(EXTENSION)
    if found is None:
        with app.extensions.setdefault(_LOCK, threading.Lock()):
            found = app.extensions.get(EXTENSION)
            if found is None:
                found = Workspace()
                app.extensions[EXTENSION] = found
    return found  # type: ignore[no-any-return]


def current_user() -> str | None:
    return signed_in_user()


def opened_name(state: SessionState) -> str | None:
    """The saved segmentation this session opened last (None if it has not opened one)."""
    name = state.view_settings(LIBRARY_VIEW).get("opened")
    return name if isinstance(name, str) else None


def save_session(
    state: SessionState, services: AppServices, model: SessionModel, *, name: str, note: str
) -> Saved:
    """Save the session's segmentation (and its dataset) under ``name``.

    Raises ``core.workspace.NameTakenError`` when the name is taken, ``WorkspaceError`` when
    the database cannot be reached, ``ConfigError`` when the data file is gone.
    """
    from core.errors import ConfigError  # noqa: PLC0415
    from core.workspace import DatasetInput  # noqa: PLC0415

    source = services.source(state.dataset, state.session_id)
    if source is None:
        raise ConfigError("the dataset's file is no longer on the server", "upload it again")
    ws = workspace()
    user = current_user()
    dataset = ws.add_dataset(
        DatasetInput(
            fingerprint=model.table.key,
            source=source.filename,
            filename=source.filename,
            content=source.path,
            mapping=model.table.schema.mapping.as_dict(),
            settings={"date_format": state.date_format, "cleaning": dict(state.cleaning)},
        ),
        user=user,
    )
    configs = {
        "app": model.settings.to_json(),
        "preprocess": _plain(model.settings.preprocess_config()),
        "model": _plain(model.settings.model_config()),
    }
    return ws.save(
        name, result=model.result, dataset=dataset, configs=configs, note=note, creator=user
    )


def _plain(config: object) -> dict[str, Any]:
    import dataclasses  # noqa: PLC0415

    assert dataclasses.is_dataclass(config)
    assert not isinstance(config, type)
    return {
        f.name: list(v) if isinstance(v := getattr(config, f.name), tuple) else v
        for f in dataclasses.fields(config)
    }


def settings_of_saved(saved: Saved) -> ModelSettings:
    """The Model page settings a saved segmentation was fitted with (CLI or app)."""
    configs = saved.configs
    if isinstance(configs.get("app"), dict):
        values = dict(configs["app"])
    else:
        pre, model = configs.get("preprocess") or {}, configs.get("model") or {}
        values = {
            "features": pre.get("features"),
            "scaler": pre.get("scaler"),
            "algorithm": model.get("algorithm"),
            "linkage": model.get("linkage"),
            "seed": model.get("random_state", saved.seed),
        }
    values = {k: v for k, v in values.items() if v is not None}
    if values.get("algorithm") != "hdbscan":
        values["k"] = saved.k
    return parse_settings(values, base=ModelSettings())


@dataclass(frozen=True)
class Opened:
    state: SessionState
    saved: Saved


def open_saved(state: SessionState, services: AppServices, name: str) -> Opened:
    """``state`` switched to the saved segmentation ``name``: its dataset (stored as this
    session's upload), mapping, dates, cleaning and settings; its model and names ready.

    The model is checked first (``core.workspace.DamagedRecordError``): a damaged record
    changes nothing in the session.
    """
    ws = workspace()
    saved = ws.get(name)
    result = ws.model(saved.name)
    data = ws.dataset_bytes(saved.dataset)
    stored = services.uploads.save(
        data, saved.dataset.filename, state.session_id, current=state.dataset
    )
    services.registry.grant(state.session_id, stored.key)
    settings = saved.dataset.settings
    cleaning = settings.get("cleaning") if isinstance(settings.get("cleaning"), dict) else {}
    toggles = {r: bool(cleaning[r]) for r in REASONS if r != "unparseable" and r in cleaning}
    mapping = {role: col for role, col in saved.dataset.mapping.items() if col is not None}
    new = state.with_dataset(stored.key, stored.filename).evolve(
        mapping=mapping or None,
        date_format=settings.get("date_format"),
        cleaning={**dict(state.cleaning), **toggles},
    )
    new = with_settings(new, settings_of_saved(saved))
    new = new.with_view_settings(LIBRARY_VIEW, {"opened": saved.name})
    services.cache.put(result.key, result)
    name_store(services).put(
        state.session_id,
        NameRecord(stored.key, result.key, tuple(result.names), tuple(result.colors)),
    )
    return Opened(state=new, saved=saved)


def saved_names() -> list[str]:
    """The saved segmentations' names, sorted (what the pages offer to choose from)."""
    return [saved.name for saved in workspace().list(sort="name")]


def saved_model(services: AppServices, name: str) -> tuple[Saved, SegmentationResult]:
    """The saved segmentation ``name`` and its model, checked
    (``core.workspace.DamagedRecordError``) and decoded once per process: a saved model never
    changes, so its record's id and creation time key it in the process memo."""
    from core.cache import get_or_compute, make_key  # noqa: PLC0415

    ws = workspace()
    saved = ws.get(name)
    key = make_key(
        "saved-model",
        saved.id,
        saved.created_at.isoformat(),
        saved.dataset.fingerprint,
        saved.segment_names,
        versions=False,
    )
    result = get_or_compute(
        services.memo,
        key,
        lambda: ws.model(saved.name),
        lambda hit: isinstance(hit, SegmentationResult),
    )
    return saved, result


def log_export(
    state: SessionState,
    *,
    list_name: str,
    fmt: str,
    rows: int,
    segmentation: str | None = None,
) -> None:
    """Record an export in the workspace's log (of ``segmentation``, a saved one's name, else
    the saved segmentation the session opened, if any). A workspace that cannot be reached
    does not stop the download: it is logged."""
    import logging  # noqa: PLC0415

    from core.workspace import WorkspaceError  # noqa: PLC0415

    try:
        workspace().log_export(
            user=current_user(),
            list_name=list_name,
            fmt=fmt,
            rows=rows,
            segmentation=segmentation if segmentation is not None else opened_name(state),
        )
    except WorkspaceError as exc:
        logging.getLogger(__name__).warning("export not logged: %s", exc.message)
