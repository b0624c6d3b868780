"""Browser sessions: signed tokens and the server-side record of who uploaded what.

A session token is ``<session id>.<issued at>.<HMAC-SHA256 of both with the server's secret
key>``. The id is random (128 bits); the signature proves the server issued it, so a client
cannot invent an id or change its age. Every callback verifies the token. A session idle for
longer than the server's limit expires: its last use is the token's issue time or, once it is
older than :data:`_TOUCH_AFTER` seconds, the time of a marker file the registry refreshes on
each use (so a page load that never makes a callback writes nothing to disk).

Which datasets a session uploaded is recorded on disk (one empty marker file per
session x dataset under ``<cache dir>/sessions/<id>/``), so every worker process that shares the
cache folder agrees, and two concurrent uploads never race on a shared file. A dataset key a
client sends is accepted only if such a marker exists, or if it is the public default dataset.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import secrets
import shutil
import time
from pathlib import Path

from core.errors import ConfigError

log = logging.getLogger(__name__)

SECRET_ENV = "CUSTSEG_SECRET_KEY"
_ID_CHARS = frozenset("0123456789abcdef")
_ID_LEN = 32
_SIG_LEN = 64
_TIME_LEN = 8  # issue time: seconds since the epoch as 8 hex digits
_TOKEN_LEN = _ID_LEN + 1 + _TIME_LEN + 1 + _SIG_LEN
_TOUCH_AFTER = 60.0  # a token younger than this needs no activity record
_SEEN = ".seen"  # marker file of a session's last use, in its registry folder
DEFAULT_IDLE_MINUTES = 480.0  # idle sessions expire after a working day
_KEY_LEN = 64  # dataset keys are SHA-256 hex digests (core.cache.fingerprint_bytes)


def secret_key_from_env() -> tuple[str, bool]:
    """The secret key from ``CUSTSEG_SECRET_KEY``, or a fresh random one.

    Returns the key and whether it came from the environment. A generated key differs per
    process, so tokens issued by one gunicorn worker would be rejected by another: deployments
    with several workers must set the variable.
    """
    value = os.environ.get(SECRET_ENV, "").strip()
    if value:
        return value, True
    log.warning(
        "%s is not set: generated a random secret key for this process. Sessions will not "
        "survive a restart, and a deployment with several worker processes must set %s "
        "(the same value for every worker).",
        SECRET_ENV,
        SECRET_ENV,
    )
    return secrets.token_hex(32), False


def require_secret_key(what: str) -> None:
    """Refuse to go on without ``CUSTSEG_SECRET_KEY`` (``what`` names what needs it).

    Several processes would otherwise each sign session tokens with their own random key and
    refuse each other's tokens (uploads "lost" at random); a restart would end every session.
    """
    if os.environ.get(SECRET_ENV, "").strip():
        return
    raise ConfigError(
        f"{SECRET_ENV} is not set: {what} needs one secret key shared by every worker process "
        "(it signs the browser sessions)",
        "set it to a long random value kept between restarts, e.g. "
        f"export {SECRET_ENV}=$(python3 -c 'import secrets; print(secrets.token_hex(32))')",
    )


def _is_hex(value: str, length: int) -> bool:
    return len(value) == length and set(value) <= _ID_CHARS


def is_dataset_key(value: object) -> bool:
    """Whether ``value`` has the shape of an uploaded dataset's key (64 lowercase hex)."""
    return isinstance(value, str) and _is_hex(value, _KEY_LEN)


class TokenSigner:
    """Issues and verifies session tokens with one secret key.

    With ``activity`` (the session registry) and ``idle_seconds``, a token whose session was
    not used for ``idle_seconds`` is refused; each accepted use counts as activity.
    """

    def __init__(
        self,
        secret_key: str,
        *,
        activity: SessionRegistry | None = None,
        idle_seconds: float | None = None,
    ) -> None:
        if not secret_key:
            raise ValueError("secret_key must not be empty")
        if idle_seconds is not None and idle_seconds <= 0:
            raise ValueError(f"idle_seconds must be > 0, got {idle_seconds}")
        self._key = secret_key.encode()
        self._activity = activity
        self._idle_seconds = idle_seconds

    def _sign(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode(), hashlib.sha256).hexdigest()

    def issue(self, *, now: float | None = None) -> str:
        """A new token for a new session."""
        session_id = secrets.token_hex(_ID_LEN // 2)
        issued = f"{int(time.time() if now is None else now):0{_TIME_LEN}x}"
        payload = f"{session_id}.{issued}"
        return f"{payload}.{self._sign(payload)}"

    def verify(self, token: object, *, now: float | None = None) -> str | None:
        """The session id of a valid, unexpired token, or None (wrong type, shape, signature,
        or idle for too long)."""
        if not isinstance(token, str) or len(token) != _TOKEN_LEN:
            return None
        session_id, dot1, issued, dot2, signature = (
            token[:_ID_LEN],
            token[_ID_LEN],
            token[_ID_LEN + 1 : _ID_LEN + 1 + _TIME_LEN],
            token[_ID_LEN + 1 + _TIME_LEN],
            token[-_SIG_LEN:],
        )
        if not (
            dot1 == dot2 == "."
            and _is_hex(session_id, _ID_LEN)
            and _is_hex(issued, _TIME_LEN)
            and _is_hex(signature, _SIG_LEN)
        ):
            return None
        if not hmac.compare_digest(signature, self._sign(f"{session_id}.{issued}")):
            return None
        if self._activity is not None and self._idle_seconds is not None:
            now = time.time() if now is None else now
            if not self._activity.active(session_id, int(issued, 16), self._idle_seconds, now):
                return None
        return session_id


class SessionRegistry:
    """On-disk record of the datasets each session uploaded (shared by worker processes)."""

    def __init__(self, directory: str | Path, *, max_age_days: float = 14.0) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.max_age_seconds = max_age_days * 86400.0

    def _session_dir(self, session_id: str) -> Path:
        # Only ids that passed TokenSigner.verify get here, but check the shape again: the
        # id becomes a folder name and must never escape the registry folder.
        if not _is_hex(session_id, _ID_LEN):
            raise ValueError(f"invalid session id {session_id!r}")
        return self.directory / session_id

    def grant(self, session_id: str, dataset_key: str) -> None:
        """Record that ``session_id`` uploaded ``dataset_key``."""
        if not is_dataset_key(dataset_key):
            raise ValueError(f"invalid dataset key {dataset_key!r}")
        folder = self._session_dir(session_id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / dataset_key).touch()

    def owns(self, session_id: str, dataset_key: str) -> bool:
        """Whether ``session_id`` uploaded ``dataset_key`` (refreshes the record's age)."""
        if not is_dataset_key(dataset_key):
            return False
        marker = self._session_dir(session_id) / dataset_key
        if not marker.exists():
            return False
        with contextlib.suppress(OSError):
            os.utime(marker)
        return True

    def active(self, session_id: str, issued: float, idle_seconds: float, now: float) -> bool:
        """Whether the session was used within ``idle_seconds``; records this use if so.

        A token younger than :data:`_TOUCH_AFTER` is active without touching the disk.
        """
        if now - issued <= min(_TOUCH_AFTER, idle_seconds):
            return True
        seen = self._session_dir(session_id) / _SEEN
        try:
            last = max(issued, seen.stat().st_mtime)
        except OSError:
            last = issued
        if now - last > idle_seconds:
            return False
        with contextlib.suppress(OSError):
            seen.parent.mkdir(parents=True, exist_ok=True)
            seen.touch()
            os.utime(seen, (now, now))
        return True

    def datasets(self, session_id: str) -> list[str]:
        """Keys of the datasets ``session_id`` uploaded, most recently used first."""
        folder = self._session_dir(session_id)
        if not folder.is_dir():
            return []
        entries = [p for p in folder.iterdir() if is_dataset_key(p.name)]
        entries.sort(key=lambda p: p.stat().st_mtime, reverse=True)
        return [p.name for p in entries]

    def all_datasets(self) -> set[str]:
        """Keys of every dataset some recorded session uploaded."""
        return {
            marker.name
            for marker in self.directory.glob("*/*")
            if _is_hex(marker.parent.name, _ID_LEN) and is_dataset_key(marker.name)
        }

    def prune(self, *, now: float | None = None) -> int:
        """Forget sessions unused for longer than ``max_age_days``; returns how many."""
        cutoff = (time.time() if now is None else now) - self.max_age_seconds
        removed = 0
        for folder in self.directory.iterdir():
            if not (folder.is_dir() and _is_hex(folder.name, _ID_LEN)):
                continue
            mtimes = [p.stat().st_mtime for p in folder.iterdir()] or [folder.stat().st_mtime]
            if max(mtimes) < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        return removed
