"""The upload store: bytes shared by content, names and lifetimes per (session, upload)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from core.cache import fingerprint_bytes
from dashapp.uploads import StoredUpload, UploadStore

ALICE = "a" * 32
BOB = "b" * 32
CSV = b"a,b\n1,2\n"


def _age(path: Path, seconds: float) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


def test_the_same_bytes_are_stored_once_and_each_session_keeps_its_name(tmp_path: Path) -> None:
    store = UploadStore(tmp_path)
    mine = store.save(CSV, "march.CSV", ALICE)
    theirs = store.save(CSV, "renamed by bob.txt", BOB)
    assert mine.key == theirs.key == fingerprint_bytes(CSV)
    assert mine.path == theirs.path
    assert mine.path.read_bytes() == CSV
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == [mine.path.name]
    assert store.get(mine.key, ALICE) == mine
    assert store.get(mine.key, ALICE).filename == "march.CSV"  # not relabelled by Bob
    assert store.get(mine.key, BOB).filename == "renamed by bob.txt"
    assert store.get(mine.key, "c" * 32) is None  # a session that did not upload it
    assert store.get("e" * 64, ALICE) is None


def test_a_refused_upload_of_the_same_bytes_deletes_nothing_of_another_session(
    tmp_path: Path,
) -> None:
    store = UploadStore(tmp_path)
    mine = store.save(CSV, "march.csv", ALICE)
    _refuse(store, CSV, "march.exe", BOB)
    assert store.get(mine.key, ALICE) == mine
    assert mine.path.read_bytes() == CSV
    assert store.get(mine.key, BOB) is None


def test_a_refused_upload_keeps_the_sessions_earlier_name_for_the_same_bytes(
    tmp_path: Path,
) -> None:
    store = UploadStore(tmp_path)
    mine = store.save(CSV, "march.csv", ALICE)
    _refuse(store, CSV, "march.exe", ALICE)
    assert store.get(mine.key, ALICE) == mine


def _refuse(store: UploadStore, data: bytes, name: str, session_id: str) -> list[Path]:
    """Add an upload that the check refuses; returns where its bytes were while checked."""
    seen: list[Path] = []

    def check(stored: StoredUpload) -> None:
        seen.append(stored.path)
        assert stored.path.read_bytes() == data  # on disk while it is checked
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"), store.adding(data, name, session_id) as s:
        check(s)
    return seen


def test_a_refused_upload_nobody_else_has_leaves_no_file(tmp_path: Path) -> None:
    store = UploadStore(tmp_path)
    (path,) = _refuse(store, CSV, "x.exe", ALICE)
    assert not path.exists()
    assert store.get(fingerprint_bytes(CSV), ALICE) is None


def test_invalid_keys_and_session_ids_never_become_paths(tmp_path: Path) -> None:
    store = UploadStore(tmp_path)
    with pytest.raises(ValueError, match="session id"):
        store.save(CSV, "x.csv", "../" + "a" * 29)
    with pytest.raises(ValueError, match="dataset key"):
        store.get("../../etc/passwd", ALICE)


def test_prune_forgets_unused_records_then_unreferenced_files(tmp_path: Path) -> None:
    store = UploadStore(tmp_path)
    shared = store.save(b"shared", "s.csv", ALICE)
    store.save(b"shared", "s.csv", BOB)
    old = store.save(b"old", "o.csv", ALICE)
    records = tmp_path / "sessions"
    month = 30 * 86400
    _age(records / ALICE / f"{shared.key}.json", month)  # Alice stopped using it, Bob did not
    _age(records / ALICE / f"{old.key}.json", month)
    for stored in (shared, old):
        _age(stored.path, 2 * 3600)
    legacy = tmp_path / f"{old.key}.csv"  # a copy under the previous layout
    legacy.write_bytes(b"old")
    _age(legacy, 2 * 3600)
    fresh = tmp_path / f"{'f' * 64}.data"  # bytes whose record is about to be written
    fresh.write_bytes(b"new")
    temp = records / BOB / ".tmp-x.part"  # an interrupted write
    temp.write_bytes(b"")
    _age(temp, 2 * 3600)

    assert store.prune() == 5  # two records, the old bytes, the legacy copy, the temp file
    assert store.get(shared.key, ALICE) is None
    assert store.get(shared.key, BOB) is not None
    assert shared.path.exists()
    assert not old.path.exists()
    assert not legacy.exists()
    assert not temp.exists()
    assert fresh.exists()
    assert not (records / ALICE).exists()  # an empty session folder goes too


def test_get_refreshes_the_sessions_record(tmp_path: Path) -> None:
    store = UploadStore(tmp_path)
    stored = store.save(CSV, "x.csv", ALICE)
    record = tmp_path / "sessions" / ALICE / f"{stored.key}.json"
    _age(record, 30 * 86400)
    assert store.get(stored.key, ALICE) is not None
    assert store.prune() == 0
    assert store.get(stored.key, ALICE) is not None
