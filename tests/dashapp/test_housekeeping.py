"""Pruning while the app runs: due runs prune on a background thread, others cost nothing."""

from __future__ import annotations

import os
import time
from pathlib import Path

import flask
import pytest

from dashapp.housekeeping import Housekeeping
from dashapp.services import AppServices
from dashapp.shared.modeling import NameRecord, name_store

SESSION = "a" * 32
MONTH = 30 * 86400


def _age(path: Path, seconds: float) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


@pytest.fixture
def services(tmp_path: Path, small_default: Path) -> AppServices:
    return AppServices.create(
        secret_key="k",
        cache_dir=tmp_path,
        default_path=small_default,
        max_upload_bytes=1024**2,
    )


def _leave_old_things(services: AppServices, tmp_path: Path) -> Path:
    """An upload, a session and segment names unused for a month; returns the upload's bytes."""
    stored = services.uploads.save(b"a,b\n1,2\n", "old.csv", SESSION)
    services.registry.grant(SESSION, stored.key)
    name_store(services).put(SESSION, NameRecord(stored.key, "r", ("A",), (0,)))
    for path in tmp_path.rglob("*"):
        if path.is_file():
            _age(path, MONTH)
    return stored.path


def test_a_due_run_prunes_on_a_background_thread(services: AppServices, tmp_path: Path) -> None:
    old_bytes = _leave_old_things(services, tmp_path)
    keeping = Housekeeping(services, interval_seconds=3600)
    keeping.maybe_run()  # not due yet: nothing happens
    assert old_bytes.exists()
    keeping = Housekeeping(services, interval_seconds=0)
    keeping.maybe_run()
    deadline = time.monotonic() + 30
    while old_bytes.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not old_bytes.exists()
    assert services.registry.datasets(SESSION) == []
    assert name_store(services).get(SESSION) is None


def test_the_app_prunes_while_it_runs(server: flask.Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    (keeping,) = [
        hook.__self__
        for hook in server.before_request_funcs[None]
        if isinstance(getattr(hook, "__self__", None), Housekeeping)
    ]
    runs: list[str] = []
    monkeypatch.setattr(Housekeeping, "run", lambda _self: runs.append("run") or {})
    monkeypatch.setattr(keeping, "_due", 0.0)  # due now
    with server.test_client() as client:
        client.get("/_dash-layout")
        client.get("/_dash-layout")  # the next run is not due again yet
    deadline = time.monotonic() + 30
    while not runs and time.monotonic() < deadline:
        time.sleep(0.05)
    assert runs == ["run"]
