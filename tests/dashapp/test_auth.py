"""Sign-in: the users file (hashed passwords), the gate in front of every data request, the
sign-in page, and the rule of when ``custseg serve`` requires it."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import flask
import pytest
from dash import Dash

from core.errors import ConfigError
from dashapp.app import create_app
from dashapp.auth import SIGN_IN, UsersFile
from dashapp.cli import sign_in_users
from dashapp.services import get_services
from dashapp.sessions import SECRET_ENV
from dashapp.shared import ids
from dashapp.state import new_state

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"


def test_users_file_stores_hashes_and_checks_passwords(tmp_path: Path) -> None:
    users = UsersFile(tmp_path / "users")
    assert users.users() == {}
    assert users.add("alice", PASSWORD) is True
    assert users.add("bob@example.org", "another password") is True
    text = (tmp_path / "users").read_text()
    assert PASSWORD not in text
    assert re.fullmatch(r"alice:scrypt:\S+\nbob@example\.org:scrypt:\S+\n", text), text
    assert stat.S_IMODE((tmp_path / "users").stat().st_mode) == 0o600
    assert users.check("alice", PASSWORD)
    assert not users.check("alice", "wrong password")
    assert not users.check("carol", PASSWORD)
    # A new password replaces the old one (read again: the file changed).
    assert users.add("alice", "a new password") is False
    assert not users.check("alice", PASSWORD)
    assert users.check("alice", "a new password")


@pytest.mark.parametrize(
    ("name", "password"), [("al:ice", PASSWORD), ("", PASSWORD), ("a", "short")]
)
def test_users_file_refuses_bad_names_and_short_passwords(
    tmp_path: Path, name: str, password: str
) -> None:
    with pytest.raises(ConfigError):
        UsersFile(tmp_path / "users").add(name, password)
    assert not (tmp_path / "users").exists()


@pytest.fixture(scope="module")
def signed_app(small_default: Path, tmp_path_factory: pytest.TempPathFactory) -> Dash:
    folder = tmp_path_factory.mktemp("signed")
    UsersFile(folder / "users").add("alice", PASSWORD)
    return create_app(data_path=small_default, cache_dir=folder, users_file=folder / "users")


def _callback_body(server: flask.Flask) -> dict[str, object]:
    state = new_state(get_services(server)).to_json()
    return {
        "output": f"{ids.DATA_HEADER}.children",
        "outputs": {"id": ids.DATA_HEADER, "property": "children"},
        "inputs": [{"id": ids.SESSION, "property": "data", "value": state}],
        "changedPropIds": [f"{ids.SESSION}.data"],
    }


def _sign_in(client: flask.testing.FlaskClient, password: str) -> flask.Response:
    page = client.get(SIGN_IN).get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    form = {"name": "alice", "password": password, "csrf": csrf.group(1), "next": "/segments"}
    return client.post(SIGN_IN, data=form)


def test_without_sign_in_no_data_is_served(signed_app: Dash) -> None:
    server = signed_app.server
    client = server.test_client()
    page = client.get("/segments?x=1")
    assert page.status_code == 302
    assert page.headers["Location"] == "/sign-in?next=/segments%3Fx%3D1"
    for path in ("/_dash-layout", "/_dash-dependencies"):
        assert client.get(path).status_code == 401, path
    refused = client.post("/_dash-update-component", json=_callback_body(server))
    assert refused.status_code == 401
    assert "Sign in" in refused.get_json()["error"]
    # Static files are public: the sign-in page needs the CSS.
    with client.get("/assets/vendor/bootstrap-5.3.8.min.css") as css:
        assert css.status_code == 200
    assert client.get(SIGN_IN).status_code == 200


def test_sign_in_then_data_then_sign_out(signed_app: Dash) -> None:
    server = signed_app.server
    client = server.test_client()
    wrong = _sign_in(client, "wrong password")
    assert wrong.status_code == 401
    assert "Wrong name or password" in wrong.get_data(as_text=True)
    assert client.get("/_dash-layout").status_code == 401
    signed = _sign_in(client, PASSWORD)
    assert (signed.status_code, signed.headers["Location"]) == (302, "/segments")
    cookie = signed.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert client.get("/segments").status_code == 200
    assert client.get("/_dash-layout").status_code == 200
    answered = client.post("/_dash-update-component", json=_callback_body(server))
    assert answered.status_code == 200
    assert "small_default" in json.dumps(answered.get_json())
    assert client.post("/sign-out").status_code == 302
    assert client.get("/_dash-layout").status_code == 401


def test_a_forged_or_stale_form_is_refused(signed_app: Dash) -> None:
    client = signed_app.server.test_client()
    client.get(SIGN_IN)
    form = {"name": "alice", "password": PASSWORD, "csrf": "forged", "next": "/"}
    assert client.post(SIGN_IN, data=form).status_code == 400
    assert client.get("/_dash-layout").status_code == 401


def test_sign_in_never_redirects_to_another_site(signed_app: Dash) -> None:
    client = signed_app.server.test_client()
    page = client.get(f"{SIGN_IN}?next=//evil.example/x").get_data(as_text=True)
    assert 'name="next" value="/"' in page


def test_a_removed_user_loses_access(small_default: Path, tmp_path: Path) -> None:
    users = UsersFile(tmp_path / "users")
    users.add("alice", PASSWORD)
    app = create_app(data_path=small_default, cache_dir=tmp_path, users_file=users.path)
    client = app.server.test_client()
    assert _sign_in(client, PASSWORD).status_code == 302
    assert client.get("/_dash-layout").status_code == 200
    users.path.write_text("bob:" + users.path.read_text().split(":", 1)[1])
    assert client.get("/_dash-layout").status_code == 401


def test_when_serve_requires_sign_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTSEG_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("CUSTSEG_USERS_FILE", raising=False)
    loopback = {"host": "127.0.0.1", "workers": None, "no_sign_in": False}
    assert sign_in_users(**loopback, users=None) is None  # off by default on one machine
    for team in ({"host": "127.0.0.1", "workers": 2}, {"host": "0.0.0.0", "workers": None}):
        with pytest.raises(ConfigError, match="sign-in is required"):
            sign_in_users(**team, users=None, no_sign_in=False)
        assert sign_in_users(**team, users=None, no_sign_in=True) is None
    UsersFile(tmp_path / "users").add("alice", PASSWORD)  # the default file
    assert sign_in_users(host="0.0.0.0", workers=2, users=None, no_sign_in=False) == (
        tmp_path / "users"
    )


def test_users_add_command_and_serve_refusal(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CUSTSEG_USERS_FILE"}
    env.update({"CUSTSEG_CACHE_DIR": str(tmp_path), SECRET_ENV: "k" * 64})
    serve = [sys.executable, "-m", "core.cli", "serve", "--workers", "2", "--port", "1"]
    refused = subprocess.run(serve, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert refused.returncode == 2, refused.stderr
    assert "sign-in is required with --workers" in refused.stderr
    assert "custseg users add NAME" in refused.stderr
    added = subprocess.run(
        [sys.executable, "-m", "core.cli", "users", "add", "alice", "--password-stdin"],
        input=PASSWORD + "\n",
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    assert "Added alice" in added.stdout
    assert UsersFile(tmp_path / "users").check("alice", PASSWORD)
