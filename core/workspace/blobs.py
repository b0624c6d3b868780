"""A content-addressed store of dataset bytes: ``<root>/sha256/ab/abcdef...``, written once.

The name is the SHA-256 of the content, so two saves of the same data share one file, a file
is never rewritten, and reading checks the content still has its name.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from core.errors import StorageError, storage_error

_CHUNK = 1024 * 1024


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, digest: str) -> Path:
        if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
            raise StorageError(f"{digest!r} is not a SHA-256 name", "the record is damaged")
        return self.root / "sha256" / digest[:2] / digest

    def put(self, content: bytes | Path) -> tuple[str, int]:
        """Store ``content`` (bytes, or a file copied in chunks); its SHA-256 and size."""
        folder = self.root / "sha256"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".part-")
            digest, size = hashlib.sha256(), 0
            with os.fdopen(fd, "wb") as out:
                for chunk in _chunks(content):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
            target = self.path(digest.hexdigest())
            target.parent.mkdir(exist_ok=True)
            os.replace(tmp, target)  # same content, same name: a race writes the same bytes
        except OSError as exc:
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(tmp)
            raise storage_error(exc, "the dataset", hint="free some disk space") from exc
        return digest.hexdigest(), size

    def get(self, digest: str) -> bytes:
        try:
            data = self.path(digest).read_bytes()
        except FileNotFoundError:
            raise StorageError(
                f"the stored data {digest[:12]}... is missing from {self.root}",
                "the data folder (CUSTSEG_DATA_DIR) was moved or cleaned: restore it",
            ) from None
        if hashlib.sha256(data).hexdigest() != digest:
            raise StorageError(
                f"the stored data {digest[:12]}... is damaged (its content changed)",
                "restore the data folder from a backup, or save the segmentation again",
            )
        return data


def _chunks(content: bytes | Path) -> Iterator[bytes]:
    if isinstance(content, bytes | bytearray | memoryview):
        yield bytes(content)
        return
    with open(content, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            yield chunk
