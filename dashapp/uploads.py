"""Uploaded files kept on disk, keyed by the SHA-256 of their content.

The bytes are written once (atomically) under ``<cache dir>/uploads/``, so every worker process
can re-read a session's file and the content-keyed core cache sees the same key everywhere.
The file name is kept per session (:class:`UploadStore`), for display and to tell the reader
the format.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from core.cache import fingerprint_bytes
from core.errors import ConfigError, InputFileError, StorageError, storage_error
from dashapp.auth import signed_in_user
from dashapp.sessions import is_dataset_key

# Environment variables that set the upload allowances (in MB), read by dashapp.app.
QUOTA_ENV = "CUSTSEG_UPLOAD_QUOTA_MB"
TOTAL_QUOTA_ENV = "CUSTSEG_UPLOADS_TOTAL_MB"
# Extensions the readers understand (core.io), offered by the browser's file dialog.
KNOWN_SUFFIXES = frozenset(
    {".csv", ".tsv", ".txt", ".tab", ".psv", ".xlsx", ".xlsm", ".parquet", ".pq", ".gz", ".zip"}
)
ACCEPT = ",".join(sorted(KNOWN_SUFFIXES))  # for dcc.Upload(accept=...)
_UNSAFE = re.compile(r"[^\w .()+-]")
MAX_NAME = 120


def display_name(filename: object) -> str:
    """A file name safe to show and log: no folders, no control characters, bounded length."""
    name = str(filename or "upload").replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip() or "upload"
    if len(name) > MAX_NAME:
        stem, dot, suffix = name.rpartition(".")
        name = (stem[: MAX_NAME - len(suffix) - 1] + dot + suffix) if dot else name[:MAX_NAME]
    return name


def decode_upload(contents: object, *, max_bytes: int, filename: str = "the file") -> bytes:
    """The bytes of a ``dcc.Upload`` data URL, checked against the size limit.

    Raises
    ------
    InputFileError
        Not a base64 data URL, empty, or larger than ``max_bytes``.
    """
    if not isinstance(contents, str) or not contents.startswith("data:"):
        raise InputFileError(
            f"The upload of {filename!r} did not arrive as a file.",
            hint="Drop the file on the upload area again, or choose it with the file dialog.",
        )
    header, sep, payload = contents.partition(",")
    if not sep or not header.endswith(";base64"):
        raise InputFileError(
            f"The upload of {filename!r} is not base64-encoded.",
            hint="Drop the file on the upload area again, or choose it with the file dialog.",
        )
    # Check the size before decoding: base64 is 4 characters per 3 bytes.
    approx = len(payload) * 3 // 4
    if approx > max_bytes + 2:
        raise _too_large(filename, approx, max_bytes)
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputFileError(
            f"The upload of {filename!r} is corrupted (invalid base64: {exc}).",
            hint="Upload the file again.",
        ) from exc
    if len(data) > max_bytes:
        raise _too_large(filename, len(data), max_bytes)
    if not data:
        raise InputFileError(
            f"{filename!r} is empty (0 bytes).",
            hint="Export the data again and check that the file has a header and rows.",
        )
    return data


def _too_large(filename: str, size: int, max_bytes: int) -> InputFileError:
    return InputFileError(
        f"{filename!r} is {size / 1024**2:,.1f} MB; this server accepts files up to "
        f"{max_bytes / 1024**2:,.0f} MB.",
        hint="Export fewer columns or a shorter period, or save the data as Parquet, "
        "which is much smaller than CSV.",
    )


@dataclass(frozen=True)
class StoredUpload:
    """One session's upload: the shared file on disk and that session's name for it."""

    key: str
    path: Path
    filename: str
    size: int
    uploaded_by: str | None = None  # the name signed in when it was uploaded (None: no sign-in)


_SESSION_ID = re.compile(r"[0-9a-f]{32}")
_CONTENT = ".data"
_RECORDS = "sessions"
_DISK_HINT = (
    "try again later; if it keeps failing, ask the administrator to free disk space on the "
    "server. The data already loaded stays available."
)


def _mb(size: float) -> str:
    return f"{size / 1024**2:,.1f} MB"


@dataclass(frozen=True)
class UploadQuota:
    """How many bytes of uploads one session, and all sessions together, may keep."""

    session_bytes: int
    total_bytes: int

    def __post_init__(self) -> None:
        if self.session_bytes < 1 or self.total_bytes < 1:
            raise ValueError(f"upload quotas must be positive, got {self}")


def quota_from_env(directory: Path, max_upload_bytes: int) -> UploadQuota:
    """The upload allowances: :data:`QUOTA_ENV` and :data:`TOTAL_QUOTA_ENV` (MB), else two
    uploads of the largest size per session, and in total 20 GB or half the disk holding
    ``directory``, whichever is less.

    Raises
    ------
    ConfigError
        A variable is set but is not a positive whole number.
    """
    existing = next((d for d in (directory, *directory.parents) if d.exists()), Path("/"))
    try:
        disk = shutil.disk_usage(existing).total
    except OSError:
        disk = 40 * 1024**3
    return UploadQuota(
        session_bytes=_env_mb(QUOTA_ENV, 2 * max_upload_bytes),
        total_bytes=_env_mb(TOTAL_QUOTA_ENV, min(20 * 1024**3, disk // 2)),
    )


def _env_mb(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(
            f"{name}={value!r} is not a number of megabytes.", hint=f"set {name} to e.g. 1000"
        )
    return int(value) * 1024**2


@dataclass(frozen=True)
class _Record:
    key: str
    size: int
    path: Path
    mtime: float


class UploadStore:
    """Uploaded files under one folder: the bytes shared by content key, names per session.

    * ``<key>.data`` holds the bytes, written once and shared by every session that uploaded
      them (the content key is also what the core cache keys results on).
    * ``sessions/<session id>/<key>.json`` is one session's record of its upload: the file
      name it gave (which also tells the reader the format), the size and who uploaded it.
      Its age is that session's use of the upload (refreshed by :meth:`get`).

    A session only ever writes or deletes its own records, so the same bytes uploaded by a
    colleague under another name never relabel yours, and refused under an unsupported suffix
    never delete yours. The bytes go when no record refers to them any more.

    ``quota`` bounds the bytes one session's records add up to and the bytes on disk (checked
    before writing; several workers uploading at the same moment may overshoot it slightly).
    """

    def __init__(self, directory: str | Path, quota: UploadQuota | None = None) -> None:
        self.directory = Path(directory)
        self.quota = quota or UploadQuota(session_bytes=2 * 1024**3, total_bytes=20 * 1024**3)
        (self.directory / _RECORDS).mkdir(parents=True, exist_ok=True)

    def _content_path(self, key: str) -> Path:
        if not is_dataset_key(key):
            raise ValueError(f"invalid dataset key {key!r}")
        return self.directory / f"{key}{_CONTENT}"

    def _session_dir(self, session_id: str) -> Path:
        # Only ids that passed the token check get here; check the shape again anyway, since
        # the id becomes a folder name.
        if not _SESSION_ID.fullmatch(session_id):
            raise ValueError(f"invalid session id {session_id!r}")
        return self.directory / _RECORDS / session_id

    def _record_path(self, key: str, session_id: str) -> Path:
        self._content_path(key)  # checks the key's shape
        return self._session_dir(session_id) / f"{key}.json"

    @contextmanager
    def adding(
        self, data: bytes, filename: str, session_id: str, *, current: str | None = None
    ) -> Iterator[StoredUpload]:
        """Store ``data`` for ``session_id`` under ``filename``, once the block accepts it.

        The record keeps the name signed in on the current request
        (:func:`dashapp.auth.signed_in_user`; none without sign-in) as the uploader.

        The bytes are written first (once: the same bytes share one file), and the block gets
        the stored upload to check, e.g. that it reads as a table. The session's record is
        written only when the block succeeds; if it raises, the session keeps what it had (even
        an earlier upload of the same bytes under another name), and bytes this call wrote
        are deleted again unless another session's record refers to them.

        Room is made first: the session's other uploads, except ``current`` (the dataset it
        shows), are forgotten oldest first while the new file would exceed its allowance.

        Raises
        ------
        StorageError
            Over the session's or the server's allowance, or the disk is full.
        """
        key = fingerprint_bytes(data)
        name = display_name(filename)
        path = self._content_path(key)
        self._make_room(key, len(data), session_id, current=current, name=name)
        created = not path.exists()
        if created:
            self._write(path, data, name)
        by = signed_in_user()
        stored = StoredUpload(key=key, path=path, filename=name, size=len(data), uploaded_by=by)
        try:
            yield stored
            record = self._record_path(key, session_id)
            record.parent.mkdir(parents=True, exist_ok=True)
            meta = json.dumps({"filename": name, "size": len(data), "uploaded_by": by}).encode()
            self._write(record, meta, name)
        except BaseException:
            if created and not self._referenced(key):
                _unlink(path)
            raise

    def _write(self, path: Path, data: bytes, name: str) -> None:
        try:
            _atomic_write(path, data)
        except OSError as exc:
            raise storage_error(exc, f"the upload {name!r}", hint=_DISK_HINT) from exc

    def save(
        self, data: bytes, filename: str, session_id: str, *, current: str | None = None
    ) -> StoredUpload:
        """Store ``data`` as ``session_id``'s upload named ``filename`` (no check)."""
        with self.adding(data, filename, session_id, current=current) as stored:
            return stored

    def get(self, key: str, session_id: str) -> StoredUpload | None:
        """``session_id``'s upload ``key``, or None if it has none (or it was pruned)."""
        record = self._record_path(key, session_id)
        path = self._content_path(key)
        try:
            meta = json.loads(record.read_text(encoding="utf-8"))
            by = meta.get("uploaded_by")
            stored = StoredUpload(
                key=key,
                path=path,
                filename=display_name(meta["filename"]),
                size=int(meta["size"]),
                uploaded_by=by if isinstance(by, str) and by else None,
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not path.exists():
            return None
        with contextlib.suppress(OSError):
            os.utime(record)  # in use: the record's age is the session's last use
        return stored

    def _records(self, session_id: str) -> list[_Record]:
        """The session's upload records, oldest first."""
        records = []
        for path in self._session_dir(session_id).glob("*.json"):
            try:
                size = int(json.loads(path.read_text(encoding="utf-8"))["size"])
                records.append(_Record(path.stem, size, path, path.stat().st_mtime))
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return sorted(records, key=lambda r: r.mtime)

    def _forget(self, record: _Record) -> None:
        _unlink(record.path)
        if not self._referenced(record.key):
            _unlink(self._content_path(record.key))

    def _make_room(
        self, key: str, size: int, session_id: str, *, current: str | None, name: str
    ) -> None:
        """Check the allowances for a new upload of ``size`` bytes (see :meth:`adding`)."""
        records = [r for r in self._records(session_id) if r.key != key]
        used = sum(r.size for r in records)
        for record in [r for r in records if r.key != current]:
            if used + size <= self.quota.session_bytes:
                break
            self._forget(record)
            used -= record.size
        if used + size > self.quota.session_bytes:
            allowance = _mb(self.quota.session_bytes)
            raise StorageError(
                f"{name!r} ({_mb(size)}) and the data this session has loaded ({_mb(used)}) "
                f"are more than one session may keep on this server ({allowance}).",
                hint="upload a smaller file (fewer columns, a shorter period, or Parquet, which "
                "is much smaller than CSV); the administrator can raise the allowance "
                f"({QUOTA_ENV}).",
            )
        if self._content_path(key).exists():
            return
        total = self._content_bytes()
        if total + size > self.quota.total_bytes:
            self.prune()
            total = self._content_bytes()
        if total + size > self.quota.total_bytes:
            raise StorageError(
                f"The server's space for uploads is full ({_mb(total)} of "
                f"{_mb(self.quota.total_bytes)} used), so {name!r} ({_mb(size)}) cannot be "
                "stored now.",
                hint="try again later (uploads nobody has used for two weeks are removed); the "
                f"administrator can raise the limit ({TOTAL_QUOTA_ENV}).",
            )

    def _content_bytes(self) -> int:
        total = 0
        for path in self.directory.glob(f"*{_CONTENT}"):
            with contextlib.suppress(OSError):
                total += path.stat().st_size
        return total

    def _referenced(self, key: str) -> bool:
        return any((self.directory / _RECORDS).glob(f"*/{key}.json"))

    def prune(
        self, *, max_age_seconds: float = 14 * 86400.0, min_age_seconds: float = 3600.0
    ) -> int:
        """Delete records unused for ``max_age_seconds``, then every file no record refers to.

        Unreferenced files (bytes whose records are gone, copies left by an older layout,
        temporary files of interrupted writes) younger than ``min_age_seconds`` are kept: an
        upload's bytes may be written a moment before its record. Returns how many files were
        deleted.
        """
        now = time.time()
        removed = 0
        referenced: set[str] = set()
        for folder in (self.directory / _RECORDS).iterdir():
            for record in folder.iterdir() if folder.is_dir() else ():
                if record.suffix != ".json":  # a temporary file of an interrupted write
                    if _older_than(record, now - min_age_seconds):
                        removed += _unlink(record)
                elif _older_than(record, now - max_age_seconds):
                    removed += _unlink(record)
                else:
                    referenced.add(record.stem)
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty
        keep = {f"{key}{_CONTENT}" for key in referenced}
        for path in self.directory.iterdir():
            if (
                path.is_file()
                and path.name not in keep
                and _older_than(path, now - min_age_seconds)
            ):
                removed += _unlink(path)
        return removed


def _older_than(path: Path, cutoff: float) -> bool:
    try:
        return path.stat().st_mtime < cutoff
    except OSError:
        return False


def _unlink(path: Path) -> int:
    try:
        path.unlink()
    except OSError:
        return 0
    return 1


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
