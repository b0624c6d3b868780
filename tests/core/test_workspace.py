"""The workspace database (core.workspace) on SQLite and on a real PostgreSQL: saves, names,
concurrent saves, checked model records, the export log, and the command line."""

from __future__ import annotations

import hashlib
import json
import pickle
import threading
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from core.cli import main
from core.clustering import service
from core.clustering.config import ModelConfig, PreprocessConfig
from core.clustering.persist import model_bytes, score_customers
from core.clustering.result import SegmentationResult
from core.workspace import (
    DamagedRecordError,
    DatasetInput,
    NameTakenError,
    Workspace,
    WorkspaceError,
    db,
)
from core.workspace.tables import segmentations
from tests.core.clustering.synth import blob_table


@pytest.fixture(scope="module")
def table() -> pl.DataFrame:
    return blob_table(300, centers=3, std=0.7, seed=3)[0]


@pytest.fixture(scope="module")
def result(table: pl.DataFrame) -> SegmentationResult:
    return service.segment_customers(
        table, preprocess=PreprocessConfig(log=()), model=ModelConfig(k=3), data_key="d" * 64
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ws' / 'workspace.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def workspace(url: str, tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace(url, data_dir=tmp_path / "data")
    yield ws
    ws.close()


def _dataset(ws: Workspace, content: bytes = b"PAR1 lines", fingerprint: str = "f" * 64):
    return ws.add_dataset(
        DatasetInput(
            fingerprint=fingerprint,
            source="orders.parquet",
            filename="orders.parquet",
            content=content,
            mapping={"customer": "CustomerID"},
            settings={"date_format": None},
        ),
        user="ann",
    )


def test_save_list_open_rename_delete(
    workspace: Workspace, result: SegmentationResult, table: pl.DataFrame
) -> None:
    dataset = _dataset(workspace)
    assert _dataset(workspace).id == dataset.id  # one record per fingerprint
    saved = workspace.save(
        "Q4 2011", result=result, dataset=dataset, configs={"k": 3}, note="first", creator="ann"
    )
    assert (saved.name, saved.note, saved.creator, saved.k) == ("Q4 2011", "first", "ann", 3)
    assert saved.segment_names == list(result.names)
    assert saved.created_at.tzinfo is not None
    assert workspace.dataset_bytes(saved.dataset) == b"PAR1 lines"
    # The model read back scores exactly as the one saved.
    reopened = workspace.model("Q4 2011")
    assert score_customers(reopened, table).equals(score_customers(result, table))
    workspace.save("Churn", result=result, dataset=dataset, configs={}, creator="bob")
    assert [s.name for s in workspace.list(sort="name")] == ["Churn", "Q4 2011"]
    assert [s.name for s in workspace.list(search="BOB")] == ["Churn"]
    assert {s.name for s in workspace.list(search="orders")} == {"Churn", "Q4 2011"}
    workspace.rename("Churn", "Churn 2011")
    with pytest.raises(NameTakenError, match="already called 'Q4 2011'"):
        workspace.rename("Churn 2011", "Q4 2011")
    workspace.delete("Churn 2011")
    assert [s.name for s in workspace.list()] == ["Q4 2011"]
    with pytest.raises(WorkspaceError, match="did you mean 'Q4 2011'"):
        workspace.get("Q4 201")


def test_a_name_clash_is_a_clear_message(workspace: Workspace, result: SegmentationResult) -> None:
    dataset = _dataset(workspace)
    workspace.save("Q4", result=result, dataset=dataset, configs={})
    with pytest.raises(NameTakenError, match="already called 'Q4'"):
        workspace.save(" Q4 ", result=result, dataset=dataset, configs={})
    with pytest.raises(WorkspaceError, match="needs a name"):
        workspace.save("  ", result=result, dataset=dataset, configs={})


def test_concurrent_saves_lose_nothing(
    url: str, tmp_path: Path, result: SegmentationResult
) -> None:
    """Two colleagues (two connections each, on their own engines) save at once: every
    distinct name is kept, and of two saves under one name exactly one wins."""
    first = Workspace(url, data_dir=tmp_path / "data")
    dataset = _dataset(first)
    workers = [Workspace(url, data_dir=tmp_path / "data") for _ in range(2)]
    outcome: dict[str, list[str]] = {"saved": [], "taken": [], "other": []}
    barrier = threading.Barrier(2)

    def colleague(ws: Workspace, who: str) -> None:
        barrier.wait()
        for i in range(6):
            for name in (f"{who} {i}", f"shared {i}"):
                try:
                    ws.save(name, result=result, dataset=dataset, configs={}, creator=who)
                    outcome["saved"].append(name)
                except NameTakenError:
                    outcome["taken"].append(name)
                except Exception as exc:  # noqa: BLE001
                    outcome["other"].append(repr(exc))

    threads = [threading.Thread(target=colleague, args=(ws, w)) for ws, w in zip(
        workers, ("ann", "bob"), strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    names = {s.name for s in first.list()}
    assert outcome["other"] == []
    assert names == set(outcome["saved"])
    assert {f"{w} {i}" for w in ("ann", "bob") for i in range(6)} <= names
    assert sorted(outcome["taken"]) == sorted(f"shared {i}" for i in range(6))
    for ws in (first, *workers):
        ws.close()


class _Planted:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, ...]:
        return (Path.touch, (self.marker,))


def _set_model(ws: Workspace, name: str, blob: bytes) -> None:
    with ws.engine.begin() as conn:
        conn.execute(
            segmentations.update()
            .where(segmentations.c.name == name)
            .values(model=blob, model_sha256=hashlib.sha256(blob).hexdigest())
        )


def _planted_model_file(result: SegmentationResult, marker: Path) -> bytes:
    """A model file whose payload is a pickle, checksums recomputed as anyone can."""
    good = model_bytes(result)
    payload = pickle.dumps(_Planted(marker))
    magic, header, _ = good.split(b"\n", 2)
    head = json.loads(header)
    head.update(payload_bytes=len(payload), payload_sha256=hashlib.sha256(payload).hexdigest())
    return magic + b"\n" + json.dumps(head).encode() + b"\n" + payload


@pytest.mark.parametrize("kind", ["pickle", "planted payload", "flipped byte", "wrong checksum"])
def test_a_planted_or_damaged_model_record_is_refused(
    workspace: Workspace,
    result: SegmentationResult,
    tmp_path: Path,
    kind: str,
    *,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    marker = tmp_path / "ran"
    workspace.save("Q4", result=result, dataset=_dataset(workspace), configs={})
    good = model_bytes(result)
    if kind == "pickle":
        _set_model(workspace, "Q4", pickle.dumps(_Planted(marker)))
    elif kind == "planted payload":
        _set_model(workspace, "Q4", _planted_model_file(result, marker))
    elif kind == "flipped byte":
        _set_model(workspace, "Q4", good[:-10] + bytes([good[-10] ^ 1]) + good[-9:])
    else:
        with workspace.engine.begin() as conn:
            conn.execute(segmentations.update().values(model_sha256="0" * 64))
    with pytest.raises(DamagedRecordError, match="damaged or not a custseg model"):
        workspace.model("Q4")
    # The command line refuses it before reading INPUT (which does not even exist).
    monkeypatch.setenv(db.DATABASE_ENV, workspace.url)
    monkeypatch.setenv(db.DATA_DIR_ENV, str(tmp_path / "data"))
    code = main(["score", str(tmp_path / "absent.csv"), "--saved", "Q4",
                 "--out", str(tmp_path / "o.csv")])
    err = capsys.readouterr().err
    assert code == 2
    assert "damaged or not a custseg model" in err
    assert "not found" not in err
    assert not marker.exists()
    assert not (tmp_path / "o.csv").exists()


def test_export_log_keeps_who_what_when(workspace: Workspace, result: SegmentationResult) -> None:
    workspace.save("Q4", result=result, dataset=_dataset(workspace), configs={})
    workspace.log_export(user="ann", list_name="Champions", fmt="csv", rows=120, segmentation="Q4")
    workspace.log_export(user=None, list_name="all", fmt="xlsx", rows=300)
    logged = workspace.exports("Q4")
    assert [(e["exported_by"], e["list_name"], e["format"], e["rows"]) for e in logged] == [
        ("ann", "Champions", "csv", 120)
    ]
    workspace.delete("Q4")  # the log outlives the segmentation, under its name
    assert workspace.exports("Q4")[0]["segmentation_id"] is None
    assert len(workspace.exports()) == 2


def test_sqlite_default_is_created_on_first_use_in_wal_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(db.DATABASE_ENV, raising=False)
    monkeypatch.setenv(db.DATA_DIR_ENV, str(tmp_path / "custseg"))
    ws = Workspace()
    assert ws.url == f"sqlite:///{tmp_path / 'custseg' / 'workspace.db'}"
    with ws.engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(sa.text("PRAGMA busy_timeout")).scalar() == 30_000
    assert db.schema_revision(ws.engine) == "0001"
    db.migrate(ws.engine)  # again: nothing to do
    ws.close()


def test_an_unreachable_database_is_a_message_without_the_password(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="cannot be reached") as caught:
        Workspace("postgresql://ann:Sup3rSecret@127.0.0.1:1/team", data_dir=tmp_path)
    assert "Sup3rSecret" not in str(caught.value)
    assert "ann:***@127.0.0.1:1/team" in str(caught.value)


def test_cli_save_list_score_on_postgresql(
    postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Done-when of issue 13: with CUSTSEG_DATABASE_URL at PostgreSQL, `segment --save`,
    `workspace list` shows it, `score --saved` scores with it."""
    monkeypatch.setenv(db.DATABASE_ENV, postgres_url)
    monkeypatch.setenv(db.DATA_DIR_ENV, str(tmp_path / "data"))
    src = tmp_path / "t.parquet"
    assert main(["sample", "--customers", "200", "--out", str(src)]) == 0
    seg = ["segment", str(src), "--k", "3", "--stability", "0", "--out", str(tmp_path / "s.csv")]
    assert main([*seg, "--save", "Q4 2011", "--note", "for the mailing"]) == 0
    assert "saved as 'Q4 2011'" in capsys.readouterr().out
    assert main([*seg, "--save", "Q4 2011"]) == 2  # refused before fitting
    assert "already called 'Q4 2011'" in capsys.readouterr().err
    assert main(["workspace", "list"]) == 0
    assert "Q4 2011\t3 segments" in capsys.readouterr().out
    out = tmp_path / "scored.csv"
    assert main(["score", str(src), "--saved", "Q4 2011", "--out", str(out)]) == 0
    scored = pl.read_csv(out, schema_overrides={"customer_id": pl.String})
    segmented = pl.read_csv(tmp_path / "s.csv", schema_overrides={"customer_id": pl.String})
    assert scored["segment"].equals(segmented["segment"])
    assert main(["workspace", "export", "Q4 2011", str(tmp_path / "bundle")]) == 0
    assert sorted(p.name for p in (tmp_path / "bundle").iterdir()) == [
        "README.txt", "config.json", "customers.csv", "model.custseg", "segments.json",
        "t.parquet",
    ]
    assert (tmp_path / "bundle" / "t.parquet").read_bytes() == src.read_bytes()
    config = json.loads((tmp_path / "bundle" / "config.json").read_text())
    assert config["reproduce"]["command"].startswith("custseg segment t.parquet ")
    listed = pl.read_csv(tmp_path / "bundle" / "customers.csv", schema_overrides={
        "customer_id": pl.String})
    assert listed.select("customer_id", "segment").equals(
        segmented.filter(pl.col("segment").is_not_null()).select("customer_id", "segment")
    )
    assert main(["workspace", "delete", "Q4 2011"]) == 0
    capsys.readouterr()
    assert main(["workspace", "show", "Q4 2011"]) == 2


def test_export_of_a_segmentation_saved_from_a_feature_table_says_what_it_needs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, features = tmp_path / "t.parquet", tmp_path / "f.parquet"
    assert main(["sample", "--customers", "150", "--out", str(src)]) == 0
    assert main(["features", str(src), "--out", str(features)]) == 0
    name = f"from features {tmp_path.name}"
    seg = ["segment", str(features), "--k", "3", "--stability", "0"]
    assert main([*seg, "--out", str(tmp_path / "s.csv"), "--save", name]) == 0
    capsys.readouterr()
    assert main(["workspace", "export", name, str(tmp_path / "bundle")]) == 2
    err = capsys.readouterr().err
    assert "saved from a customer feature table" in err
    assert "custseg segment FILE --save NAME" in err
    assert not (tmp_path / "bundle").exists()
