"""Session tokens, the on-disk ownership registry and upload file names (the upload store:
test_uploads.py)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from core.cache import fingerprint_bytes
from dashapp.sessions import SECRET_ENV, SessionRegistry, TokenSigner, secret_key_from_env
from dashapp.uploads import display_name


def test_token_round_trip_and_distinct_ids() -> None:
    signer = TokenSigner("k1")
    tokens = {signer.issue() for _ in range(50)}
    assert len(tokens) == 50
    ids = {signer.verify(t) for t in tokens}
    assert None not in ids
    assert len(ids) == 50


def test_token_from_another_key_or_tampered_is_refused() -> None:
    token = TokenSigner("k1").issue()
    assert TokenSigner("k2").verify(token) is None
    session_id, _, signature = token.partition(".")
    other_id = ("0" if session_id[0] != "0" else "1") + session_id[1:]
    assert TokenSigner("k1").verify(f"{other_id}.{signature}") is None
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    assert TokenSigner("k1").verify(f"{session_id}.{flipped}") is None


@pytest.mark.parametrize(
    "token", [None, 3, "", "abc", "x" * 97, "../" * 40, {"token": "a"}, "A" * 32 + "." + "b" * 64]
)
def test_malformed_tokens_are_refused(token: object) -> None:
    assert TokenSigner("k").verify(token) is None


def test_idle_sessions_expire_and_use_keeps_them_alive(tmp_path: Path) -> None:
    registry = SessionRegistry(tmp_path)
    signer = TokenSigner("k", activity=registry, idle_seconds=3600)
    start = 1_800_000_000.0
    token = signer.issue(now=start)
    session_id = signer.verify(token, now=start)
    assert session_id is not None
    assert not (tmp_path / session_id).exists()  # a fresh token writes nothing
    # Used every 50 minutes, the session lives on well past an hour after it was issued.
    for minutes in (50, 100, 150):
        assert signer.verify(token, now=start + minutes * 60) == session_id
    # Idle for more than an hour after its last use: refused, and stays refused.
    assert signer.verify(token, now=start + 150 * 60 + 3601) is None
    assert signer.verify(token, now=start + 150 * 60 + 3700) is None
    # A token never used after it was issued expires an hour after issue.
    unused = signer.issue(now=start)
    assert signer.verify(unused, now=start + 3599) is not None
    assert signer.verify(signer.issue(now=start), now=start + 3601) is None
    # Without an idle limit nothing expires (the token's age is still signed).
    assert TokenSigner("k").verify(token, now=start + 10 * 365 * 86400) == session_id


def test_token_age_cannot_be_forged() -> None:
    signer = TokenSigner("k", activity=None, idle_seconds=None)
    token = signer.issue(now=1_800_000_000.0)
    session_id, issued, signature = token.split(".")
    younger = f"{int(issued, 16) + 86400:08x}"
    assert signer.verify(f"{session_id}.{younger}.{signature}") is None


def test_secret_from_env_or_generated_with_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(SECRET_ENV, "from-env")
    assert secret_key_from_env() == ("from-env", True)
    monkeypatch.delenv(SECRET_ENV)
    with caplog.at_level("WARNING"):
        first, from_env = secret_key_from_env()
    assert not from_env
    assert len(first) == 64
    assert "several worker" in caplog.text
    assert secret_key_from_env()[0] != first


def test_registry_grants_are_per_session(tmp_path: Path) -> None:
    registry = SessionRegistry(tmp_path)
    a, b = "a" * 32, "b" * 32
    key = fingerprint_bytes(b"file")
    assert not registry.owns(a, key)
    registry.grant(a, key)
    assert registry.owns(a, key)
    assert not registry.owns(b, key)
    # A second registry object over the same folder (another worker) agrees.
    assert SessionRegistry(tmp_path).owns(a, key)
    assert registry.datasets(a) == [key]
    assert registry.datasets(b) == []


def test_registry_refuses_path_like_ids_and_keys(tmp_path: Path) -> None:
    registry = SessionRegistry(tmp_path / "s")
    with pytest.raises(ValueError, match="invalid session id"):
        registry.grant("../" + "a" * 29, "c" * 64)
    with pytest.raises(ValueError, match="invalid dataset key"):
        registry.grant("a" * 32, "../../etc/passwd")
    assert not registry.owns("a" * 32, "../x")
    assert not (tmp_path / "etc").exists()


def test_registry_prunes_old_sessions_only(tmp_path: Path) -> None:
    registry = SessionRegistry(tmp_path, max_age_days=1)
    old, new = "a" * 32, "b" * 32
    registry.grant(old, "c" * 64)
    registry.grant(new, "d" * 64)
    past = time.time() - 3 * 86400
    os.utime(tmp_path / old / ("c" * 64), (past, past))
    assert registry.prune() == 1
    assert not registry.owns(old, "c" * 64)
    assert registry.owns(new, "d" * 64)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("C:\\Users\\me\\sales.csv", "sales.csv"),
        ("../../etc/passwd", "passwd"),
        ("a\x00b<script>.csv", "a_b_script_.csv"),
        ("", "upload"),
        (None, "upload"),
        ("x" * 300 + ".xlsx", "x" * 115 + ".xlsx"),
    ],
)
def test_display_name(raw: object, shown: str) -> None:
    assert display_name(raw) == shown
