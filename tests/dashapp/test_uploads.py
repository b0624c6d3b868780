"""The upload store: bytes shared by content, names and lifetimes per (session, upload)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from core.cache import fingerprint_bytes
from core.errors import ConfigError, StorageError
from dashapp.uploads import (
    QUOTA_ENV,
    TOTAL_QUOTA_ENV,
    StoredUpload,
    UploadQuota,
    UploadStore,
    quota_from_env,
)

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


def test_a_session_over_its_allowance_forgets_older_uploads_but_never_its_current_one(
    tmp_path: Path,
) -> None:
    store = UploadStore(tmp_path, UploadQuota(session_bytes=10, total_bytes=1000))
    first = store.save(b"111111", "one.csv", ALICE)
    _age(tmp_path / "sessions" / ALICE / f"{first.key}.json", 60)
    # The dataset on screen stays: the new file does not fit beside it.
    with pytest.raises(StorageError, match=r"more than one session may keep") as err:
        store.save(b"222222", "two.csv", ALICE, current=first.key)
    assert "CUSTSEG_UPLOAD_QUOTA_MB" in (err.value.hint or "")
    assert store.get(first.key, ALICE) == first
    assert [p.name for p in tmp_path.glob("*.data")] == [first.path.name]
    # Not on screen any more (the session shows other data): the older upload makes room.
    second = store.save(b"222222", "two.csv", ALICE, current=None)
    assert store.get(first.key, ALICE) is None
    assert not first.path.exists()
    assert store.get(second.key, ALICE) == second
    # Bob's allowance is his own.
    assert store.save(b"333333", "three.csv", BOB).size == 6


def test_the_servers_upload_space_is_bounded_in_total(tmp_path: Path) -> None:
    store = UploadStore(tmp_path, UploadQuota(session_bytes=100, total_bytes=10))
    mine = store.save(b"111111", "one.csv", ALICE)
    with pytest.raises(StorageError, match=r"space for uploads is full \(0.0 MB of 0.0 MB"):
        store.save(b"222222", "two.csv", BOB)
    assert store.get(mine.key, BOB) is None
    # The same bytes take no more room: Bob may keep his own name for them.
    assert store.save(b"111111", "bob.csv", BOB).filename == "bob.csv"


def test_a_full_disk_while_storing_is_a_storage_error(tmp_path: Path, full_disk: None) -> None:
    store = UploadStore(tmp_path)
    with pytest.raises(StorageError, match=r"'x.csv' could not be stored \(the disk is full\)"):
        store.save(CSV, "x.csv", ALICE)
    assert not any(tmp_path.glob("*.data"))


def test_quotas_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(QUOTA_ENV, raising=False)
    monkeypatch.delenv(TOTAL_QUOTA_ENV, raising=False)
    default = quota_from_env(tmp_path / "new" / "uploads", 5 * 1024**2)
    assert default.session_bytes == 10 * 1024**2  # two uploads of the largest size
    assert 0 < default.total_bytes <= 20 * 1024**3
    monkeypatch.setenv(QUOTA_ENV, "300")
    monkeypatch.setenv(TOTAL_QUOTA_ENV, "4000")
    assert quota_from_env(tmp_path, 5) == UploadQuota(300 * 1024**2, 4000 * 1024**2)
    monkeypatch.setenv(TOTAL_QUOTA_ENV, "lots")
    with pytest.raises(ConfigError, match="CUSTSEG_UPLOADS_TOTAL_MB='lots'"):
        quota_from_env(tmp_path, 5)
