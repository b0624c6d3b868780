"""Content-keyed cache for fitted results: an in-process LRU in front of a shared disk folder.

Every expensive result (cleaned data, feature tables, fitted segmentations) is stored under a
key derived from the *content* of its inputs (data fingerprint + every config + library
versions), so a repeated request is a hit in any worker process that shares the folder.

Disk entries hold data, never pickles: the payload is a data bundle (:mod:`core.codec`: JSON,
NumPy arrays and Arrow tables) of one of the kinds it knows (tables, segmentations, k
selections, stability reports, comparisons, configs, plain values); a value of any other kind
stays in memory only. Anyone who can write the shared folder can plant an entry, so reading one
builds nothing but those kinds from their data. Entries are written atomically (temporary file
+ ``os.replace``) and carry a header with the payload's length and SHA-256. A truncated,
corrupted, foreign or unexpected entry is detected on read, logged, deleted and reported as a
miss, so it is recomputed and never served. The folder is bounded in bytes; the least recently
used entries are evicted (reads refresh an entry's mtime).

The service layer depends on the small :class:`ResultCache` protocol, so tests can pass a
hand-written fake and the app can pass a :class:`TieredCache`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import functools
import hashlib
import itertools
import json
import logging
import os
import sys
import tempfile
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import date, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np
import polars as pl

from core import codec

T = TypeVar("T")
log = logging.getLogger(__name__)

_MAGIC = b"CSEG2\n"  # CSEG1 entries were pickles: never read, deleted on sight
_SUFFIX = ".entry"
_PICKLED_SUFFIX = ".pkl"
_HEADER_LEN = len(_MAGIC) + 8 + 32  # magic, payload length (8 bytes), SHA-256 digest
_KEY_CHARS = frozenset("0123456789abcdef")


class ResultCache(Protocol):
    """What the service layer needs from a cache."""

    def get(self, key: str) -> Any | None:
        """Return the stored value, or None on a miss."""

    def put(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key`` (overwriting)."""


def library_versions() -> dict[str, str]:
    """Versions of the libraries whose behaviour a cached result depends on.

    Read from the installed distributions' metadata (importing scikit-learn only to read its
    version would slow every ``custseg features`` run), once per process: a lookup scans
    the installed packages, and every cache key carries the versions.
    The code a process runs does not change when packages are upgraded under it, so the
    versions it first read remain the right ones.
    """
    return dict(_installed_versions())


@functools.cache
def _installed_versions() -> tuple[tuple[str, str], ...]:
    from core import __version__  # noqa: PLC0415

    versions = {"custseg": __version__}
    for dist in ("polars", "numpy", "scikit-learn", "scipy"):
        try:
            versions[dist] = _distribution_version(metadata.distribution(dist))
        except metadata.PackageNotFoundError:
            versions[dist] = "absent"
    return tuple(versions.items())


def _distribution_version(dist: metadata.Distribution) -> str:
    """The ``Version`` field of ``dist``'s metadata, read from the header lines alone.

    ``Distribution.version`` parses the whole METADATA file with the email parser, long
    descriptions included: most of the cost of the first cache key in a process.
    """
    for line in (dist.read_text("METADATA") or "").splitlines():
        if not line.strip():
            break  # the end of the header fields
        name, _, value = line.partition(":")
        if name.strip().lower() == "version":
            return value.strip()
    return dist.version


def _canonical(obj: object) -> object:
    """Turn configs and plain values into a JSON-serialisable, order-independent form."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields = {f.name: _canonical(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        return {"__type__": type(obj).__qualname__, **fields}
    if isinstance(obj, enum.Enum):
        return _canonical(obj.value)
    if isinstance(obj, dict):
        return {str(k): _canonical(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, (list, tuple)):
        return [_canonical(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted((_canonical(v) for v in obj), key=repr)
    if isinstance(obj, (date, datetime)):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    raise TypeError(f"cannot build a cache key from a {type(obj).__name__}: {obj!r}")


def make_key(*parts: object, versions: bool = True) -> str:
    """SHA-256 hex key of ``parts`` (fingerprints, configs) plus library versions."""
    payload = [_canonical(p) for p in parts]
    if versions:
        payload.append(library_versions())
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()


def fingerprint_bytes(data: bytes) -> str:
    """Content fingerprint of raw bytes (an uploaded file)."""
    return hashlib.sha256(data).hexdigest()


def fingerprint_file(path: str | Path, *, chunk_size: int = 1 << 18) -> str:
    """Content fingerprint of a file, streamed in chunks (files may be gigabytes).

    Read into one reused buffer: a fresh bytes object per chunk made the process fault in
    new pages for every chunk, which cost about as much as the hashing.
    """
    digest = hashlib.sha256()
    buffer = bytearray(chunk_size)
    view = memoryview(buffer)
    with Path(path).open("rb", buffering=0) as handle:
        while size := handle.readinto(buffer):
            digest.update(view[:size])
    return digest.hexdigest()


def _check_key(key: str) -> str:
    # Keys become file names: only accept what make_key produces, so a key can never
    # escape the cache folder whatever a client sends.
    if len(key) != 64 or not set(key) <= _KEY_CHARS:
        raise ValueError(f"invalid cache key {key!r}: expected 64 lowercase hex characters")
    return key


class SingleFlight:
    """Concurrent requests for one key share the first one's computation.

    The first caller of a key computes; callers arriving while it runs wait for its value
    instead of computing the same thing again (two callbacks of one page asking for the same
    customer table, two users fitting the same model). If the first caller fails, each
    waiting caller computes for itself (and gets its own error): no exception object is
    shared between threads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, _Flight] = {}

    def run(self, key: str, compute: Callable[[], T]) -> T:
        with self._lock:
            flight = self._running.get(key)
            leader = flight is None
            if flight is None:
                flight = self._running[key] = _Flight()
        if not leader:
            with self._lock:
                flight.waiting += 1
            flight.done.wait()
            if flight.ok:
                return flight.value  # type: ignore[no-any-return]
            return compute()
        try:
            flight.value = compute()
            flight.ok = True
        finally:
            with self._lock:
                del self._running[key]
            flight.done.set()
        return flight.value  # type: ignore[no-any-return]

    def waiting(self, key: str) -> int:
        """How many callers wait for ``key``'s running computation (0 if none runs)."""
        with self._lock:
            flight = self._running.get(key)
            return 0 if flight is None else flight.waiting


class _Flight:
    __slots__ = ("done", "ok", "value", "waiting")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.ok = False
        self.value: Any = None
        self.waiting = 0


# Containers longer than this are sized from a sample of their first members.
_SAMPLE = 1_000
_MAX_DEPTH = 6
_MAX_VISITS = 20_000  # members looked at by one estimate; beyond, counted by their shell


def estimated_bytes(value: object) -> int:
    """About how many bytes ``value`` holds in memory (for the memory caches' byte budget).

    Tables and arrays count their buffers (``estimated_size``, ``nbytes``); dataclasses,
    containers and plain objects the sum of their members, to a depth of 6 and at most
    20,000 members in all (long containers from a sample of their first 1,000 members). A
    member shared by two values counts in both, so the figure errs high. A lazy query counts
    as its plan only.
    """
    return _Sizer().size(value, 0)


class _Sizer:
    """One estimate's walk, with its count of members visited."""

    def __init__(self) -> None:
        self.visits = 0

    def size(self, value: object, depth: int) -> int:
        self.visits += 1
        if value is None or isinstance(value, bool | int | float | complex):
            return 32
        if isinstance(value, str | bytes | bytearray):
            return sys.getsizeof(value)
        if isinstance(value, pl.DataFrame | pl.Series):
            return int(value.estimated_size())
        if isinstance(value, np.ndarray):
            return int(value.nbytes) + 112
        if isinstance(value, memoryview):
            return value.nbytes
        deep = depth >= _MAX_DEPTH or self.visits > _MAX_VISITS
        if deep or isinstance(value, type | pl.LazyFrame):
            return sys.getsizeof(value)
        members: list[object]
        if dataclasses.is_dataclass(value):
            members = [getattr(value, f.name, None) for f in dataclasses.fields(value)]
        elif isinstance(value, dict):
            members = [*value.keys(), *value.values()]
        elif isinstance(value, list | tuple | set | frozenset):
            members = list(value)
        elif hasattr(value, "__dict__"):
            members = list(vars(value).values())
        else:
            return sys.getsizeof(value)
        sample = members[:_SAMPLE]
        total = sum(self.size(m, depth + 1) for m in sample)
        if len(members) > len(sample):
            total = total * len(members) // len(sample)
        return sys.getsizeof(value) + total


class MemoryBudget:
    """Bytes that the memory caches of one process may hold together.

    Each :class:`MemoryCache` made with this budget counts its entries' sizes
    (:func:`estimated_bytes`); while they add up to more than ``max_bytes``, the least recently
    used entry of any of them is dropped (a value kept on disk too is read back from there on
    its next use). A value larger than the whole budget is not kept in memory at all.
    """

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be >= 1, got {max_bytes}")
        self.max_bytes = max_bytes
        self._caches: list[weakref.ref[MemoryCache]] = []
        self._lock = threading.Lock()  # one eviction pass at a time
        self._clock = itertools.count()

    def stamp(self) -> int:
        """A number larger than every earlier one: when an entry was last used."""
        return next(self._clock)

    def register(self, cache: MemoryCache) -> None:
        with self._lock:
            self._caches = [ref for ref in self._caches if ref() is not None]
            self._caches.append(weakref.ref(cache))

    def _live(self) -> list[MemoryCache]:
        return [c for c in (ref() for ref in self._caches) if c is not None]

    def used(self) -> int:
        """Bytes the caches of this budget hold now (estimated)."""
        return sum(c.nbytes for c in self._live())

    def enforce(self) -> None:
        """Drop the least recently used entries of any cache until the total fits."""
        with self._lock:
            while True:
                caches = self._live()
                if sum(c.nbytes for c in caches) <= self.max_bytes:
                    return
                stamped = [
                    (s, i) for i, c in enumerate(caches) if (s := c.oldest_stamp()) is not None
                ]
                if not stamped:
                    return
                caches[min(stamped)[1]].evict_oldest()


class MemoryCache:
    """Thread-safe in-process LRU bounded by entry count, and by bytes when given a
    :class:`MemoryBudget` (shared with the process's other memory caches)."""

    def __init__(self, *, max_items: int = 32, budget: MemoryBudget | None = None) -> None:
        if max_items < 1:
            raise ValueError(f"max_items must be >= 1, got {max_items}")
        self.max_items = max_items
        self.budget = budget
        self.flight = SingleFlight()
        self._items: OrderedDict[str, tuple[Any, int, int]] = OrderedDict()  # value, bytes, stamp
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.nbytes = 0
        if budget is not None:
            budget.register(self)

    def _stamp(self) -> int:
        return self.budget.stamp() if self.budget is not None else 0

    def get(self, key: str) -> Any | None:
        with self._lock:
            if key in self._items:
                value, size, _ = self._items[key]
                self._items[key] = (value, size, self._stamp())
                self._items.move_to_end(key)
                self.hits += 1
                return value
            self.misses += 1
            return None

    def put(self, key: str, value: Any) -> None:
        size = estimated_bytes(value) if self.budget is not None else 0
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.nbytes -= old[1]
            if self.budget is not None and size > self.budget.max_bytes:
                log.info(
                    "a %d MB value is not kept in memory (budget %d MB)",
                    size >> 20,
                    self.budget.max_bytes >> 20,
                )
                return
            self._items[key] = (value, size, self._stamp())
            self.nbytes += size
            while len(self._items) > self.max_items:
                self.nbytes -= self._items.popitem(last=False)[1][1]
        if self.budget is not None:
            self.budget.enforce()

    def oldest_stamp(self) -> int | None:
        """When this cache's least recently used entry was last used (None: empty)."""
        with self._lock:
            return next(iter(self._items.values()))[2] if self._items else None

    def evict_oldest(self) -> None:
        """Drop this cache's least recently used entry."""
        with self._lock:
            if self._items:
                self.nbytes -= self._items.popitem(last=False)[1][1]

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


class DiskCache:
    """A cache folder shared by several processes: atomic writes, checksums, size bound.

    Values are written as data bundles (:mod:`core.codec`); a value of a kind without one is
    not written (:meth:`put` returns False) and a bad entry is a logged miss.
    """

    def __init__(self, directory: str | Path, *, max_bytes: int = 2 * 1024**3) -> None:
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be >= 1, got {max_bytes}")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.discarded = 0  # bad entries found and deleted (for reports and tests)
        self.skipped = 0  # values not written: no data-only form for their kind
        for stale in self.directory.glob(f"*/*{_PICKLED_SUFFIX}"):
            with contextlib.suppress(OSError):
                stale.unlink()  # written by an older custseg as pickles

    def path_for(self, key: str) -> Path:
        key = _check_key(key)
        return self.directory / key[:2] / f"{key}{_SUFFIX}"

    def get(self, key: str) -> Any | None:
        path = self.path_for(key)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            return None
        payload = self._verified_payload(blob)
        if payload is None:
            self._discard(path, "truncated, corrupted or not a cache entry")
            return None
        try:
            value = codec.loads(payload)
        except codec.BundleError as exc:
            self._discard(path, f"unexpected content: {exc}")
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # refresh recency for LRU eviction
        return value

    def put(self, key: str, value: Any) -> bool:
        """Write ``value`` under ``key``; False (nothing written) when its kind has no
        data-only form (:class:`core.codec.UnsupportedValueError`)."""
        path = self.path_for(key)
        try:
            payload = codec.dumps(value)
        except codec.UnsupportedValueError as exc:
            self.skipped += 1
            log.debug("result %s kept out of the cache folder: %s", key[:12], exc)
            return False
        header = _MAGIC + len(payload).to_bytes(8, "big") + hashlib.sha256(payload).digest()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(header)
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)  # atomic: readers see the old entry or the whole new one
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self.evict()
        return True

    def _verified_payload(self, blob: bytes) -> bytes | None:
        if len(blob) < _HEADER_LEN or not blob.startswith(_MAGIC):
            return None
        size = int.from_bytes(blob[len(_MAGIC) : len(_MAGIC) + 8], "big")
        digest = blob[len(_MAGIC) + 8 : _HEADER_LEN]
        payload = blob[_HEADER_LEN:]
        if len(payload) != size or hashlib.sha256(payload).digest() != digest:
            return None
        return payload

    def _discard(self, path: Path, why: str) -> None:
        log.warning("cache entry %s discarded (treated as a miss): %s", path.name, why)
        self.discarded += 1
        with contextlib.suppress(OSError):
            path.unlink()

    def _entries(self) -> Iterable[tuple[Path, os.stat_result]]:
        for path in self.directory.glob(f"*/*{_SUFFIX}"):
            with contextlib.suppress(FileNotFoundError):
                yield path, path.stat()

    def total_bytes(self) -> int:
        return sum(stat.st_size for _, stat in self._entries())

    def evict(self) -> int:
        """Delete least recently used entries until the folder fits ``max_bytes``."""
        entries = sorted(self._entries(), key=lambda entry: entry[1].st_mtime)
        total = sum(stat.st_size for _, stat in entries)
        removed = 0
        for path, stat in entries:
            if total <= self.max_bytes:
                break
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
            total -= stat.st_size
        return removed


class TieredCache:
    """Memory LRU in front of a shared disk folder; disk hits are promoted to memory."""

    def __init__(self, memory: MemoryCache, disk: DiskCache | None) -> None:
        self.memory = memory
        self.disk = disk
        self.flight = SingleFlight()

    def get(self, key: str) -> Any | None:
        value = self.memory.get(key)
        if value is None and self.disk is not None:
            value = self.disk.get(key)
            if value is not None:
                self.memory.put(key, value)
        return value

    def put(self, key: str, value: Any) -> None:
        self.memory.put(key, value)
        if self.disk is not None:
            self.disk.put(key, value)


def get_or_compute(
    cache: ResultCache | None,
    key: str,
    compute: Callable[[], T],
    valid: Callable[[object], bool] | None = None,
) -> T:
    """Return the cached value for ``key`` or compute, store and return it.

    ``valid`` (optional) says whether a hit is of the expected kind; one that is not counts
    as a miss. A cache with a ``flight`` (:class:`SingleFlight`: the app's caches) computes a
    key once however many threads miss it at the same time.
    """
    if cache is None:
        return compute()

    def lookup() -> Any | None:
        hit = cache.get(key)
        return hit if hit is not None and (valid is None or valid(hit)) else None

    hit = lookup()
    if hit is not None:
        return hit  # type: ignore[no-any-return]

    def store() -> T:
        value = compute()
        cache.put(key, value)
        return value

    flight: SingleFlight | None = getattr(cache, "flight", None)
    if flight is None:
        return store()
    # The caller that just finished may have left it in the cache between our two looks.
    return flight.run(key, lambda: _first_of(lookup, store))


def _first_of(lookup: Callable[[], Any | None], store: Callable[[], T]) -> T:
    hit = lookup()
    return hit if hit is not None else store()  # type: ignore[no-any-return]
