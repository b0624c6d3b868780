"""Score a file with a saved segmentation (the Library page), no Dash: the saved model assigns
the customers of the session's data or of an uploaded transaction file, by
:func:`core.scoring.score_table` (what ``custseg score --saved`` runs), and the scored list is
written by the export code (:func:`core.export.to_bytes`).

An uploaded file is kept as an upload of the session (so every worker can read it again for
the download) without becoming the session's data: what is loaded stays loaded. The page keeps
only small JSON (the upload's key and name, what was scored) and scores again on download
(the tables come from the app's cache, the model from the process memo).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from core.errors import ConfigError, InputFileError
from core.io import read_table
from core.pipeline import build_customer_table, load_transactions
from core.scoring import Scored, score_table
from core.workspace import Saved
from dashapp.services import AppServices
from dashapp.sessions import is_dataset_key
from dashapp.shared import workspace
from dashapp.shared.loading import session_table
from dashapp.state import SessionState
from dashapp.uploads import decode_upload, display_name

SESSION_DATA = "session"  # the data the session has loaded (its mapping, dates, cleaning)
UPLOADED = "upload"  # a transaction file uploaded here (detected roles, default cleaning)
DATA_CHOICES: tuple[str, ...] = (SESSION_DATA, UPLOADED)
MAX_NAME = 200


@dataclass(frozen=True)
class Uploaded:
    """A file uploaded to be scored: its upload key and name."""

    key: str
    filename: str

    def to_json(self) -> dict[str, str]:
        return {"key": self.key, "filename": self.filename}


def parse_uploaded(value: object) -> Uploaded | None:
    """The page's stored upload (None: nothing uploaded, or not a stored upload's shape)."""
    if not isinstance(value, Mapping):
        return None
    key, name = value.get("key"), value.get("filename")
    if isinstance(key, str) and is_dataset_key(key) and isinstance(name, str):
        return Uploaded(key=key, filename=display_name(name))
    return None


def store_upload(
    contents: object, filename: object, state: SessionState, services: AppServices
) -> Uploaded:
    """Keep an uploaded file for this session if it reads as a table (the session's data
    stays what it is). Raises ``CustsegError``: not a file, too large, unreadable, no room."""
    name = display_name(filename)
    raw = decode_upload(contents, max_bytes=services.max_upload_bytes, filename=name)
    with services.uploads.adding(raw, name, state.session_id, current=state.dataset) as stored:
        del raw
        frame, _read = read_table(stored.path, filename=stored.filename)
        frame.head(5).collect()
    services.registry.grant(state.session_id, stored.key)
    return Uploaded(key=stored.key, filename=stored.filename)


def rejected_error(rejected: object, max_bytes: int) -> InputFileError | None:
    """The error for a file the browser refused as over the limit (``{"name", "size"}`` from
    ``assets/upload_guard.js``); None when it is not such a report."""
    if not isinstance(rejected, Mapping):
        return None
    size = rejected.get("size")
    if isinstance(size, bool) or not isinstance(size, int | float) or size < 0:
        return None
    return InputFileError(
        f"{display_name(rejected.get('name'))!r} is {size / 1024**2:,.1f} MB; this server "
        f"accepts files up to {max_bytes / 1024**2:,.0f} MB.",
        "score a shorter period, or ask the administrator to raise the upload limit",
    )


@dataclass(frozen=True)
class ScoreRun:
    """What was scored: the saved segmentation and the data (small JSON for the page)."""

    saved: str
    data: str  # one of DATA_CHOICES
    key: str  # the dataset's key (the session's, or the upload's)
    filename: str

    def to_json(self) -> dict[str, str]:
        return {"saved": self.saved, "data": self.data, "key": self.key, "filename": self.filename}


def parse_run(value: object) -> ScoreRun | None:
    if not isinstance(value, Mapping):
        return None
    parts = [value.get(k) for k in ("saved", "data", "key", "filename")]
    if not all(isinstance(p, str) for p in parts) or parts[1] not in DATA_CHOICES:
        return None
    return ScoreRun(*parts)  # type: ignore[arg-type]


def saved_name(value: object) -> str:
    if isinstance(value, str) and 0 < len(value.strip()) <= MAX_NAME:
        return value.strip()
    raise ConfigError(
        "choose a saved segmentation to score with", "the list shows the library's"
    )


def _features(
    state: SessionState, services: AppServices, data: str, uploaded: Uploaded | None
) -> tuple[str, str, pl.DataFrame]:
    """The key, name and customer features of the data to score."""
    if data == SESSION_DATA:
        table = session_table(state, services)
        source = services.source(state.dataset, state.session_id)
        name = source.filename if source is not None else (state.filename or "data")
        return state.dataset, name, table.features
    if data != UPLOADED:
        raise ConfigError("choose the data to score", "this session's data, or a file")
    if uploaded is None:
        raise ConfigError("no file is uploaded to score", "drop a transaction file first")
    source = services.source(uploaded.key, state.session_id)
    if source is None:
        raise InputFileError(
            f"the uploaded file {uploaded.filename!r} is no longer stored on the server",
            "upload it again",
        )
    loaded = load_transactions(source.path, filename=source.filename)
    table = build_customer_table(loaded, cache=services.tables)
    return uploaded.key, source.filename, table.features


def score(
    state: SessionState,
    services: AppServices,
    *,
    saved: object,
    data: object,
    uploaded: Uploaded | None,
) -> tuple[ScoreRun, Saved, Scored]:
    """Score the chosen data with the saved segmentation ``saved``.

    Raises ``CustsegError``: no choice, unknown or damaged saved segmentation, data that does
    not load or lacks the model's features, a lost workspace.
    """
    name = saved_name(saved)
    record, model = workspace.saved_model(services, name)  # checked before the data is read
    key, filename, features = _features(state, services, str(data), uploaded)
    run = ScoreRun(saved=record.name, data=str(data), key=key, filename=filename)
    return run, record, score_table(model, features)


def again(state: SessionState, services: AppServices, run: ScoreRun) -> tuple[Saved, Scored]:
    """Score ``run`` again (for its download): the same data, the same saved model."""
    uploaded = Uploaded(run.key, run.filename) if run.data == UPLOADED else None
    if run.data == SESSION_DATA and run.key != state.dataset:
        raise ConfigError(
            "the session's data changed since it was scored", "score it again, then download"
        )
    _run, record, scored = score(state, services, saved=run.saved, data=run.data, uploaded=uploaded)
    return record, scored


@dataclass(frozen=True)
class SizeRow:
    segment: str
    customers: str
    share: str


def size_rows(scored: Scored) -> list[SizeRow]:
    """Each segment's customers and share of those assigned (segments none got are left out)."""
    total = max(scored.assigned, 1)
    return [
        SizeRow(str(r["segment_name"]), f"{r['customers']:,}", f"{r['customers'] / total:.1%}")
        for r in scored.sizes.iter_rows(named=True)
    ]


def summary(run: ScoreRun, scored: Scored, k: int) -> str:
    return (
        f"Scored {scored.assigned:,} customers of {run.filename} ({scored.excluded:,} excluded) "
        f"with the {k}-segment model saved as {run.saved!r}."
    )


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:40] or "data"


def filename_of(run: ScoreRun, fmt: str) -> str:
    stem = run.filename.rsplit(".", 1)[0]
    return f"scored-{_slug(stem)}-by-{_slug(run.saved)}.{fmt}"


def list_name(run: ScoreRun) -> str:
    """How the export log names the list."""
    return f"scored customers of {run.filename}"

