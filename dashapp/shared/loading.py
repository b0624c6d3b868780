"""What the Data page shows for a session: core pipeline calls, cached, no Dash here.

:func:`data_view` turns a validated :class:`~dashapp.state.SessionState` into a
:class:`DataView`: the source columns and first rows, the detected and the chosen column
mapping, the date format and why, the cleaning audit, the feature table and the
data-sufficiency warnings. A mapping or parsing problem does not raise: the view carries the
error (message + hint) next to what could still be shown, so the user can fix the mapping.

Caching: the customer table is cached by ``core.pipeline`` under a content key in the app's
table cache (its own memory LRU, then the shared disk folder). The cheap read of the
source (columns, preview rows) is cached in memory per dataset key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import polars as pl

from core import feature_source
from core.cache import fingerprint_file, get_or_compute, make_key
from core.errors import CustsegError, InputFileError
from core.io import ReadReport, read_table
from core.pipeline import (
    CustomerTable,
    LoadedTransactions,
    build_customer_table,
    load_transactions,
)
from core.schema import detect_roles
from dashapp.services import DEFAULT_DATASET, AppServices, DatasetSource
from dashapp.shared.components import PREVIEW_ROWS
from dashapp.shared.modeling import prefetch_product_lines
from dashapp.state import SessionState

T = TypeVar("T")


@dataclass(frozen=True)
class SourcePeek:
    """The file as read: its report and first rows (all that mapping needs)."""

    read: ReadReport
    head: pl.DataFrame = field(compare=False, repr=False)


@dataclass(frozen=True)
class DataView:
    """Everything the Data page displays for one session state."""

    filename: str
    is_default: bool
    badge: str | None = None  # label of the startup dataset ("built-in sample")
    columns: tuple[str, ...] = ()
    detected: dict[str, str | None] = field(default_factory=dict)
    mapping: dict[str, str | None] = field(default_factory=dict)
    date_column: str | None = None
    date_format: str | None = None
    date_kind: str | None = None
    date_ambiguous: bool = False
    date_reason: str | None = None
    notes: tuple[str, ...] = ()
    head: pl.DataFrame | None = field(default=None, compare=False, repr=False)
    table: CustomerTable | None = field(default=None, compare=False, repr=False)
    error: CustsegError | None = None
    # Where a feature table came from ("Spark output: 4 part files at PATH"); None for
    # transactions (core.feature_source: no lines, mapping or cleaning on this server).
    provenance: str | None = None

    @property
    def rows(self) -> int | None:
        return None if self.table is None else self.table.audit.rows_in

    @property
    def customers(self) -> int | None:
        return None if self.table is None else self.table.n_customers

    @property
    def warnings(self) -> tuple[str, ...]:
        return () if self.table is None else self.table.warnings


def _memo(services: AppServices, key: str, compute: Callable[[], T]) -> T:
    """``compute`` once per key in this process, also when callbacks ask at the same time."""
    return get_or_compute(services.memo, key, compute)


def peek_source(source: DatasetSource, services: AppServices) -> SourcePeek:
    """Read report and first rows of a dataset (memory-cached per dataset and file)."""

    def compute() -> SourcePeek:
        frame, read = read_table(source.path, filename=source.filename)
        return SourcePeek(read=read, head=frame.head(PREVIEW_ROWS).collect())

    key = make_key("peek", source.key, source.path, source.filename, versions=False)
    return _memo(services, key, compute)


def load_source(
    source: DatasetSource, state: SessionState, services: AppServices
) -> LoadedTransactions:
    """The mapped, still lazy transactions (memory-cached per dataset, mapping, date format)."""
    overrides = state.mapping_overrides()
    key = make_key(
        "loaded",
        source.key,
        source.path,
        source.filename,
        overrides,
        state.date_format,
        versions=False,
    )
    return _memo(
        services,
        key,
        lambda: load_transactions(
            source.path,
            filename=source.filename,
            overrides=overrides,
            date_format=state.date_format,
        ),
    )


def feature_source_table(source: DatasetSource, services: AppServices) -> tuple[str, CustomerTable]:
    """A feature-table source's provenance and customer table (memory-cached per dataset and
    its files' sizes and times; the table is keyed by the files' content)."""
    parts = feature_source.files(source.path)
    stamp = [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in parts]

    def compute() -> tuple[str, CustomerTable]:
        dataset = feature_source.read(source.path)
        key = make_key("feature_source", [fingerprint_file(p) for p in parts])
        return dataset.provenance, feature_source.customer_table(dataset, key=key)

    key = make_key("feature_source", source.key, str(source.path), stamp, versions=False)
    return _memo(services, key, compute)


def _feature_view(
    source: DatasetSource, services: AppServices, *, is_default: bool, badge: str | None
) -> DataView:
    """The Data page's view of a feature table (no mapping, dates or cleaning to show)."""
    try:
        provenance, table = feature_source_table(source, services)
    except CustsegError as exc:
        return DataView(filename=source.filename, is_default=is_default, badge=badge, error=exc)
    except OSError as exc:
        error = InputFileError(
            f"cannot read {source.filename!r} ({exc.strerror or exc}).",
            hint="Check that the server can still read the directory and its files.",
        )
        return DataView(filename=source.filename, is_default=is_default, badge=badge, error=error)
    return DataView(
        filename=source.filename,
        is_default=is_default,
        badge=badge,
        columns=table.read.columns,
        notes=table.schema.notes,
        head=table.features.head(PREVIEW_ROWS),
        table=table,
        provenance=provenance,
    )


def data_view(state: SessionState, services: AppServices) -> DataView:
    """Run (or fetch from cache) the pipeline for ``state`` and collect what the page shows."""
    source = services.source(state.dataset, state.session_id)
    is_default = state.dataset == DEFAULT_DATASET
    if source is None:
        return DataView(
            filename=state.filename or "upload",
            is_default=False,
            error=InputFileError(
                "The uploaded file is no longer stored on the server.",
                hint="Upload it again.",
            ),
        )
    badge = services.default_badge if is_default else None
    if feature_source.is_feature_source(source.path):
        return _feature_view(source, services, is_default=is_default, badge=badge)
    try:
        peek = peek_source(source, services)
    except CustsegError as exc:
        return DataView(filename=source.filename, is_default=is_default, badge=badge, error=exc)
    columns = peek.read.columns
    notes = tuple(n for n in (peek.read.encoding_note, *peek.read.notes) if n)
    detected = detect_roles(columns, require=False).as_dict()
    view = DataView(
        filename=source.filename,
        is_default=is_default,
        badge=badge,
        columns=columns,
        detected=detected,
        mapping=dict(state.mapping) if state.mapping is not None else dict(detected),
        notes=notes,
        head=peek.head,
    )
    try:
        loaded = load_source(source, state, services)
        table = build_customer_table(
            loaded, cleaning=state.cleaning_config(), cache=services.tables, product_lines=True
        )
    except CustsegError as exc:
        return DataView(**{**view.__dict__, "error": exc})
    # Whichever page loads the table first (a Model link opened cold too), its product lines
    # get encoded on a thread meanwhile: the first fit then finds them ready or in progress.
    prefetch_product_lines(table, services)
    schema = table.schema
    mapping = schema.mapping.as_dict()
    return DataView(
        **{
            **view.__dict__,
            "mapping": mapping,
            "date_column": mapping.get("date"),
            "date_format": schema.date.format,
            "date_kind": schema.date.kind,
            "date_ambiguous": schema.date.ambiguous,
            "date_reason": schema.date.reason,
            "notes": notes + tuple(schema.notes),
            "table": table,
        }
    )


def session_table(state: SessionState, services: AppServices) -> CustomerTable:
    """The customer table of a session's dataset, mapping and cleaning (for the views).

    Raises
    ------
    CustsegError
        The dataset is gone, cannot be read, or its mapping does not work yet; views show
        the message and send the user to the Data page.
    """
    view = data_view(state, services)
    if view.error is not None:
        raise view.error
    assert view.table is not None  # no error means the pipeline ran
    return view.table
