"""Uploaded files kept on disk, keyed by the SHA-256 of their content.

The bytes are written once (atomically) under ``<cache dir>/uploads/``, so every worker process
can re-read a session's file and the content-keyed core cache sees the same key everywhere.
The original file name is kept only for display and to tell the reader the format.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from core.cache import fingerprint_bytes
from dashapp.sessions import is_dataset_key

# Extensions the readers understand; anything else is stored without an extension and the
# reader sniffs the content.
KNOWN_SUFFIXES = frozenset({".csv", ".tsv", ".txt", ".xlsx", ".xls", ".parquet", ".pq"})
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
        suffix = Path(name).suffix.lower()
        path = self.directory / f"{key}{suffix if suffix in KNOWN_SUFFIXES else ''}"
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
