"""Repeated failed sign-ins are refused for a growing time, per name and per client address,
in state that every worker process of a deployment shares (issue 12: sign-in)."""

from __future__ import annotations

import re
from pathlib import Path

import flask
import pytest

from dashapp import auth
from dashapp.app import create_app
from dashapp.auth import SIGN_IN, SignInThrottle, UsersFile

PASSWORD = "correct horse battery"


def _attempt(
    client: flask.testing.FlaskClient, name: str, password: str, address: str = "10.0.0.1"
) -> flask.Response:
    environ = {"REMOTE_ADDR": address}
    page = client.get(SIGN_IN, environ_base=environ).get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    form = {"name": name, "password": password, "csrf": csrf.group(1), "next": "/"}
    return client.post(SIGN_IN, data=form, environ_base=environ)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The time the throttle sees: ``clock[0]``, moved by the test."""
    now = [1_000_000.0]
    monkeypatch.setattr(auth.time, "time", lambda: now[0])
    return now


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    UsersFile(tmp_path / "users").add("alice", PASSWORD)
    return tmp_path


def _app_client(small_default: Path, folder: Path) -> flask.testing.FlaskClient:
    """A worker of the deployment: its own app over the shared folder."""
    app = create_app(data_path=small_default, cache_dir=folder, users_file=folder / "users")
    return app.server.test_client()


def test_failed_sign_ins_lock_the_name_out_for_a_growing_time_in_every_worker(
    small_default: Path, folder: Path, clock: list[float]
) -> None:
    one, two = _app_client(small_default, folder), _app_client(small_default, folder)
    for attempt in range(5):  # the first worker sees the first five guesses
        assert _attempt(one, "alice", f"guess {attempt}").status_code == 401
    # The right password is now refused unchecked, by the other worker too, with a message.
    locked = _attempt(two, "alice", PASSWORD, address="10.0.0.2")
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) == 30
    text = locked.get_data(as_text=True)
    assert "Too many failed sign-ins for this name" in text
    assert "Try again in 1 minute" in text
    assert two.get("/_dash-layout").status_code == 401
    # After the wait one more guess is allowed; failing it doubles the wait.
    clock[0] += 31
    assert _attempt(two, "alice", "guess 6").status_code == 401
    assert int(_attempt(one, "alice", PASSWORD).headers["Retry-After"]) == 60
    clock[0] += 61
    assert _attempt(one, "alice", PASSWORD).status_code == 302
    # Success cleared the name's count: one wrong password is not a lockout.
    other = _app_client(small_default, folder)
    assert _attempt(other, "alice", "typo").status_code == 401
    assert _attempt(other, "alice", PASSWORD).status_code == 302


def test_one_address_trying_many_names_is_locked_out(
    small_default: Path, folder: Path, clock: list[float]
) -> None:
    client = _app_client(small_default, folder)
    for attempt in range(20):
        assert _attempt(client, f"user{attempt}", "guess").status_code == 401
    locked = _attempt(client, "alice", PASSWORD)
    assert locked.status_code == 429
    assert "from your network address" in locked.get_data(as_text=True)
    # Another address is not concerned.
    assert _attempt(client, "alice", PASSWORD, address="10.0.0.9").status_code == 302


def test_the_waits_double_up_to_a_limit_and_old_failures_are_forgotten(tmp_path: Path) -> None:
    throttle = SignInThrottle(tmp_path / "sign-in.db", name_failures=2, max_wait=100.0)
    now = 0.0
    waits = []
    for _ in range(6):
        lockout = throttle.lockout("bob", "a", now=now)
        now += lockout.seconds if lockout else 0.0
        throttle.failed("bob", "a", now=now)
        after = throttle.lockout("bob", "a", now=now)
        waits.append(after.seconds if after else 0.0)
    assert waits == [0.0, 30.0, 60.0, 100.0, 100.0, 100.0]
    assert throttle.lockout("BOB", "b", now=now) is not None  # names are not case-sensitive
    # A day after the last failure the count starts again.
    later = now + throttle.forget_after + 1
    assert throttle.lockout("bob", "a", now=later) is None
    throttle.failed("bob", "a", now=later)
    assert throttle.lockout("bob", "a", now=later) is None
