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
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from core.cache import fingerprint_bytes
from core.errors import InputFileError
from dashapp.sessions import is_dataset_key

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


_SESSION_ID = re.compile(r"[0-9a-f]{32}")
_CONTENT = ".data"
_RECORDS = "sessions"


class UploadStore:
    """Uploaded files under one folder: the bytes shared by content key, names per session.

    * ``<key>.data`` holds the bytes, written once and shared by every session that uploaded
      them (the content key is also what the core cache keys results on).
    * ``sessions/<session id>/<key>.json`` is one session's record of its upload: the file
      name it gave (which also tells the reader the format) and the size. Its age is that
      session's use of the upload (refreshed by :meth:`get`).

    A session only ever writes or deletes its own records, so the same bytes uploaded by a
    colleague under another name never relabel yours, and refused under an unsupported suffix
    never delete yours. The bytes go when no record refers to them any more.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        (self.directory / _RECORDS).mkdir(parents=True, exist_ok=True)

    def _content_path(self, key: str) -> Path:
        if not is_dataset_key(key):
            raise ValueError(f"invalid dataset key {key!r}")
        return self.directory / f"{key}{_CONTENT}"

    def _record_path(self, key: str, session_id: str) -> Path:
        # Only ids that passed the token check get here; check the shape again anyway, since
        # the id becomes a folder name.
        if not _SESSION_ID.fullmatch(session_id):
            raise ValueError(f"invalid session id {session_id!r}")
        return self._content_path(key).parent / _RECORDS / session_id / f"{key}.json"

    @contextmanager
    def adding(self, data: bytes, filename: str, session_id: str) -> Iterator[StoredUpload]:
        """Store ``data`` for ``session_id`` under ``filename``, once the block accepts it.

        The bytes are written first (once: the same bytes share one file), and the block gets
        the stored upload to check, e.g. that it reads as a table. The session's record is
        written only when the block succeeds; if it raises, the session keeps what it had (even
        an earlier upload of the same bytes under another name), and bytes this call wrote
        are deleted again unless another session's record refers to them.
        """
        key = fingerprint_bytes(data)
        name = display_name(filename)
        path = self._content_path(key)
        record = self._record_path(key, session_id)
        created = not path.exists()
        if created:
            _atomic_write(path, data)
        stored = StoredUpload(key=key, path=path, filename=name, size=len(data))
        try:
            yield stored
        except BaseException:
            if created and not self._referenced(key):
                _unlink(path)
            raise
        record.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(record, json.dumps({"filename": name, "size": len(data)}).encode())

    def save(self, data: bytes, filename: str, session_id: str) -> StoredUpload:
        """Store ``data`` as ``session_id``'s upload named ``filename`` (no check)."""
        with self.adding(data, filename, session_id) as stored:
            return stored

    def get(self, key: str, session_id: str) -> StoredUpload | None:
        """``session_id``'s upload ``key``, or None if it has none (or it was pruned)."""
        record = self._record_path(key, session_id)
        path = self._content_path(key)
        try:
            meta = json.loads(record.read_text(encoding="utf-8"))
            stored = StoredUpload(
                key=key, path=path, filename=display_name(meta["filename"]), size=int(meta["size"])
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not path.exists():
            return None
        with contextlib.suppress(OSError):
            os.utime(record)  # in use: the record's age is the session's last use
        return stored

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
