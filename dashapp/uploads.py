"""Uploaded files kept on disk, keyed by the SHA-256 of their content.

The bytes are written once (atomically) under ``<cache dir>/uploads/``, so every worker process
can re-read a session's file and the content-keyed core cache sees the same key everywhere.
The original file name is kept only for display and to tell the reader the format.
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
from dataclasses import dataclass
from pathlib import Path

from core.cache import fingerprint_bytes
from core.errors import InputFileError
from dashapp.sessions import is_dataset_key

# Extensions the readers understand (core.io); anything else is stored without an extension
# and the reader sniffs the content.
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


def stored_suffix(name: str) -> str:
    """The known extensions at the end of ``name`` ("sales.csv.gz" -> ".csv.gz"), lower-cased."""
    suffixes = [s.lower() for s in Path(name).suffixes[-2:]]
    while suffixes and suffixes[0] not in KNOWN_SUFFIXES:
        suffixes.pop(0)
    return "".join(suffixes) if all(s in KNOWN_SUFFIXES for s in suffixes) else ""


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
    """One uploaded file on disk."""

    key: str
    path: Path
    filename: str
    size: int


class UploadStore:
    """Uploaded files under one folder, addressed by content key."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def _meta_path(self, key: str) -> Path:
        if not is_dataset_key(key):
            raise ValueError(f"invalid dataset key {key!r}")
        return self.directory / f"{key}.json"

    def save(self, data: bytes, filename: str) -> StoredUpload:
        """Store ``data`` (idempotent: the same bytes give the same key and file)."""
        key = fingerprint_bytes(data)
        name = display_name(filename)
        path = self.directory / f"{key}{stored_suffix(name)}"
        if not path.exists():
            _atomic_write(path, data)
        _atomic_write(
            self._meta_path(key),
            json.dumps({"filename": name, "size": len(data), "file": path.name}).encode(),
        )
        return StoredUpload(key=key, path=path, filename=name, size=len(data))

    def get(self, key: str) -> StoredUpload | None:
        """The stored upload for ``key``, or None if unknown (or evicted)."""
        try:
            meta = json.loads(self._meta_path(key).read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        path = self.directory / str(meta.get("file", ""))
        if path.parent != self.directory or not path.name.startswith(key) or not path.exists():
            return None
        return StoredUpload(
            key=key, path=path, filename=str(meta["filename"]), size=int(meta["size"])
        )

    def prune(self, keep: set[str], *, min_age_seconds: float = 3600.0) -> int:
        """Delete uploads no session refers to any more (``keep``: keys still referenced).

        Files younger than ``min_age_seconds`` are kept: an upload is stored a moment before
        its session is granted access. Returns how many uploads were deleted.
        """
        cutoff = time.time() - min_age_seconds
        removed = 0
        for meta in self.directory.glob("*.json"):
            key = meta.stem
            if not is_dataset_key(key) or key in keep:
                continue
            with contextlib.suppress(FileNotFoundError):
                if meta.stat().st_mtime < cutoff:
                    self.discard(key)
                    removed += 1
        return removed

    def discard(self, key: str) -> None:
        """Delete an upload (one that could not be read: nobody is granted access to it)."""
        stored = self.get(key)
        with contextlib.suppress(OSError):
            self._meta_path(key).unlink()
        if stored is not None:
            with contextlib.suppress(OSError):
                stored.path.unlink()


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
