"""The team workspace: datasets, saved segmentations and the export log, in one database.

:class:`Workspace` is the one service the command line and the app call. Names are unique
(the database enforces it, so two colleagues saving the same name at once get one save and
one clear clash); every other save goes through, whoever saves at the same time. A saved
model is the model file's content (:mod:`core.clustering.persist`), checked on the way out
(its SHA-256 as recorded, the file's own checksum, then built from data only by
:mod:`core.codec`): a planted or damaged record is refused before anything runs. A database
that cannot be reached is a :class:`WorkspaceError` saying so, never a traceback.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import hashlib
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from core.errors import CustsegError
from core.workspace import db
from core.workspace.blobs import BlobStore
from core.workspace.tables import NAME_LENGTH, datasets, export_log, segmentations

if TYPE_CHECKING:
    from core.clustering.result import SegmentationResult

SORTS = ("updated", "name", "created")


class WorkspaceError(CustsegError):
    """The workspace cannot do what was asked: unknown name, clash, damaged record, offline."""


class NameTakenError(WorkspaceError):
    """A saved segmentation already has this name."""


class DamagedRecordError(WorkspaceError):
    """A stored model or dataset is not what was saved (planted, edited or damaged)."""


@dataclass(frozen=True)
class DatasetInput:
    """Transactions to keep with a saved segmentation (what :meth:`Workspace.add_dataset`
    stores): the content goes to the content-addressed store, the rest to ``datasets``."""

    fingerprint: str
    source: str  # a description without credentials: a file name, a redacted URL and table
    filename: str
    content: bytes | Path = field(repr=False)
    mapping: Mapping[str, Any]
    settings: Mapping[str, Any]


@dataclass(frozen=True)
class Dataset:
    id: int
    fingerprint: str
    source: str
    filename: str
    content_sha256: str
    size_bytes: int
    mapping: dict[str, Any]
    settings: dict[str, Any]
    created_by: str | None
    created_at: dt.datetime


@dataclass(frozen=True)
class Saved:
    """A saved segmentation as listed (its model stays in the database until asked for)."""

    id: int
    name: str
    note: str
    creator: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    dataset: Dataset
    configs: dict[str, Any]
    seed: int
    k: int
    segment_names: list[str]
    segment_colors: list[int]


def check_name(name: str) -> str:
    """A segmentation name: stripped, 1..200 printable characters."""
    text = unicodedata.normalize("NFC", (name or "").strip())
    if not text:
        raise WorkspaceError("a saved segmentation needs a name", 'e.g. "Q4 2011"')
    if len(text) > NAME_LENGTH or any(unicodedata.category(c).startswith("C") for c in text):
        raise WorkspaceError(
            f"the name {text[:40]!r} is too long or holds control characters",
            f"use at most {NAME_LENGTH} printable characters",
        )
    return text


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _utc(row: Mapping[str, Any]) -> dict[str, Any]:
    """Times as UTC-aware values (SQLite hands them back naive)."""
    return {
        k: v.replace(tzinfo=dt.UTC) if isinstance(v, dt.datetime) and v.tzinfo is None else v
        for k, v in row.items()
    }


class Workspace:
    """Datasets, saved segmentations and exports in the database at ``url``."""

    def __init__(self, url: str | None = None, *, data_dir: Path | None = None) -> None:
        from core.sources import redact  # noqa: PLC0415

        self.url = url or db.database_url()
        self.label = redact(self.url)  # how messages name it: no password
        self.blobs = BlobStore((data_dir or db.data_dir()) / "datasets")
        with self._reachable():
            self.engine = db.create_engine(self.url)
            db.migrate(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _reachable(self) -> Iterator[None]:
        """A lost or refused connection is a message and a retry, not a traceback."""
        try:
            yield
        except sa.exc.OperationalError as exc:
            cause = str(exc.orig or exc).strip().splitlines()[0]
            for secret in _password_of(self.url):
                cause = cause.replace(secret, "***")
            raise WorkspaceError(
                f"the workspace database {self.label} cannot be reached or is busy ({cause})",
                "try again in a moment; if it persists, check the database server and "
                f"{db.DATABASE_ENV}",
            ) from None

    # ---------------------------------------------------------------------------- datasets

    def add_dataset(self, data: DatasetInput, *, user: str | None) -> Dataset:
        """Store ``data`` (once per fingerprint; a second save of it reuses the first)."""
        found = self._dataset_where(datasets.c.fingerprint == data.fingerprint)
        if found is not None:
            return found
        digest, size = self.blobs.put(data.content)
        row = {
            "fingerprint": data.fingerprint,
            "source": data.source,
            "filename": data.filename,
            "content_sha256": digest,
            "size_bytes": size,
            "mapping": dict(data.mapping),
            "settings": dict(data.settings),
            "created_by": user,
            "created_at": _now(),
        }
        with self._reachable():
            try:
                with self.engine.begin() as conn:
                    conn.execute(datasets.insert().values(**row))
            except sa.exc.IntegrityError:
                pass  # saved by someone else meanwhile: theirs is the same data
        found = self._dataset_where(datasets.c.fingerprint == data.fingerprint)
        assert found is not None
        return found

    def _dataset_where(self, condition: Any) -> Dataset | None:
        with self._reachable(), self.engine.connect() as conn:
            row = conn.execute(sa.select(datasets).where(condition)).mappings().first()
        return None if row is None else Dataset(**_utc(row))

    def dataset_bytes(self, dataset: Dataset) -> bytes:
        """The dataset's content, checked against its recorded SHA-256."""
        return self.blobs.get(dataset.content_sha256)

    # ------------------------------------------------------------------------ segmentations

    def save(
        self,
        name: str,
        *,
        result: SegmentationResult,
        dataset: Dataset,
        configs: Mapping[str, Any],
        note: str = "",
        creator: str | None = None,
    ) -> Saved:
        """Save ``result`` under ``name``; :class:`NameTakenError` when the name is taken."""
        from core.clustering.persist import model_bytes  # noqa: PLC0415

        name = check_name(name)
        model = model_bytes(result)
        now = _now()
        row = {
            "name": name,
            "note": note.strip(),
            "creator": creator,
            "created_at": now,
            "updated_at": now,
            "dataset_id": dataset.id,
            "configs": dict(configs),
            "seed": int(result.segmentation.model_config.random_state),
            "k": int(result.k),
            "segment_names": list(result.names),
            "segment_colors": [int(c) for c in result.colors],
            "model": model,
            "model_sha256": hashlib.sha256(model).hexdigest(),
        }
        with self._reachable():
            try:
                with self.engine.begin() as conn:
                    conn.execute(segmentations.insert().values(**row))
            except sa.exc.IntegrityError:
                raise self._taken(name) from None
        return self.get(name)

    def _taken(self, name: str) -> NameTakenError:
        return NameTakenError(
            f"a saved segmentation is already called {name!r}",
            "choose another name, or delete or rename the saved one first",
        )

    def name_free(self, name: str) -> bool:
        with self._reachable(), self.engine.connect() as conn:
            query = sa.select(segmentations.c.id).where(segmentations.c.name == check_name(name))
            return conn.execute(query).first() is None

    def _listing(self) -> sa.Select[Any]:
        columns = [c for c in segmentations.c if c.name not in ("model", "model_sha256")]
        dataset_columns = [c.label(f"ds_{c.name}") for c in datasets.c]
        return sa.select(*columns, *dataset_columns).join(
            datasets, segmentations.c.dataset_id == datasets.c.id
        )

    @staticmethod
    def _saved(row: Mapping[str, Any]) -> Saved:
        values = _utc(row)
        dataset = Dataset(
            **{key[3:]: values.pop(key) for key in list(values) if key.startswith("ds_")}
        )
        values.pop("dataset_id")
        return Saved(dataset=dataset, **values)

    def list(self, *, search: str = "", sort: str = "updated") -> list[Saved]:
        """Saved segmentations whose name, note, creator or source holds ``search``."""
        if sort not in SORTS:
            raise WorkspaceError(f"unknown sort {sort!r}", f"use one of: {', '.join(SORTS)}")
        query = self._listing()
        if search.strip():
            pattern = f"%{search.strip().lower()}%"
            fields = (segmentations.c.name, segmentations.c.note, segmentations.c.creator,
                      datasets.c.source)
            query = query.where(sa.or_(*(sa.func.lower(f).like(pattern) for f in fields)))
        order = {
            "updated": segmentations.c.updated_at.desc(),
            "created": segmentations.c.created_at.desc(),
            "name": segmentations.c.name,
        }[sort]
        with self._reachable(), self.engine.connect() as conn:
            rows = conn.execute(query.order_by(order, segmentations.c.id)).mappings().all()
        return [self._saved(r) for r in rows]

    def get(self, name: str) -> Saved:
        with self._reachable(), self.engine.connect() as conn:
            row = conn.execute(
                self._listing().where(segmentations.c.name == name.strip())
            ).mappings().first()
            if row is None:
                names = conn.execute(sa.select(segmentations.c.name)).scalars().all()
        if row is None:
            close = difflib.get_close_matches(name, names, n=3)
            raise WorkspaceError(
                f"no saved segmentation is called {name!r} in {self.label}",
                (f"did you mean {', '.join(map(repr, close))}? " if close else "")
                + "`custseg workspace list` shows the saved ones",
            )
        return self._saved(row)

    def model(self, name: str) -> SegmentationResult:
        """The saved model, checked (recorded SHA-256, file checksum, data-only decoding)."""
        from core.clustering import persist  # noqa: PLC0415

        saved = self.get(name)
        with self._reachable(), self.engine.connect() as conn:
            blob, digest = conn.execute(
                sa.select(segmentations.c.model, segmentations.c.model_sha256).where(
                    segmentations.c.id == saved.id
                )
            ).one()
        blob = bytes(blob)
        label = f"saved segmentation {saved.name!r}"
        try:
            if hashlib.sha256(blob).hexdigest() != digest:
                raise persist.ModelFileError(f"{label} does not match its recorded checksum")
            return persist.model_from_bytes(*persist.split_bytes(blob, label), name=label)
        except persist.ModelFileError as exc:
            raise DamagedRecordError(
                f"the model of {label} is damaged or not a custseg model, and was not used "
                f"({exc.message})",
                "delete it and save the segmentation again",
            ) from None

    def rename(self, old: str, new: str) -> Saved:
        saved, new = self.get(old), check_name(new)
        with self._reachable():
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        segmentations.update()
                        .where(segmentations.c.id == saved.id)
                        .values(name=new, updated_at=_now())
                    )
            except sa.exc.IntegrityError:
                raise self._taken(new) from None
        return self.get(new)

    def delete(self, name: str) -> None:
        saved = self.get(name)
        with self._reachable(), self.engine.begin() as conn:
            conn.execute(
                export_log.update()
                .where(export_log.c.segmentation_id == saved.id)
                .values(segmentation_id=None)
            )
            conn.execute(segmentations.delete().where(segmentations.c.id == saved.id))

    # ---------------------------------------------------------------------------- exports

    def log_export(
        self,
        *,
        user: str | None,
        list_name: str,
        fmt: str,
        rows: int,
        segmentation: str | None = None,
    ) -> None:
        """Record that ``user`` exported ``rows`` rows of ``list_name`` (of ``segmentation``,
        a saved one's name, when the list came from one)."""
        saved_id = None
        if segmentation is not None:
            with contextlib.suppress(WorkspaceError):
                saved_id = self.get(segmentation).id
        with self._reachable(), self.engine.begin() as conn:
            conn.execute(
                export_log.insert().values(
                    exported_at=_now(),
                    exported_by=user,
                    segmentation_id=saved_id,
                    segmentation_name=segmentation,
                    list_name=list_name,
                    format=fmt,
                    rows=int(rows),
                )
            )

    def exports(self, segmentation: str | None = None) -> list[dict[str, Any]]:
        query = sa.select(export_log).order_by(export_log.c.exported_at.desc(), export_log.c.id)
        if segmentation is not None:
            query = query.where(export_log.c.segmentation_name == segmentation)
        with self._reachable(), self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings().all()]


def _password_of(url: str) -> list[str]:
    with contextlib.suppress(sa.exc.ArgumentError):
        password = sa.make_url(url).password
        if password:
            return [str(password)]
    return []
