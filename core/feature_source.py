"""A customer feature table as a dataset: a Parquet directory of part files (as Spark writes
``custseg features --engine spark`` or ``segment --engine spark`` output) or one Parquet file
written by ``custseg features``.

Such a dataset has no transaction lines: its mapping, dates and cleaning were applied where it
was written. :func:`customer_table` wraps it in a :class:`~core.pipeline.CustomerTable` (an
empty line audit, no lines) so every view that works from customer features (explore, RFM,
model, segments, export) reads it like a table computed here. A segment table is a feature
table with segment columns: those are left out (the app fits its own segments).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from core.cleaning import Audit
from core.columns import FEATURE_SCHEMA
from core.dates import DateChoice
from core.errors import InputFileError
from core.io import ReadReport
from core.pipeline import CustomerTable, is_feature_table
from core.schema import RoleMapping, SchemaReport

PARQUET = ".parquet"
_HINT = (
    "Point to a directory of Parquet part files holding a customer feature table (written by "
    "`custseg features --engine spark` or `custseg segment --engine spark`), or to a feature "
    "table file written by `custseg features`."
)


def parquet_parts(path: Path) -> tuple[Path, ...]:
    """The Parquet part files of a directory as Spark writes it (``part-*.parquet``; markers
    such as ``_SUCCESS``, checksums and hidden files skipped), sorted by name."""
    return tuple(
        sorted(
            p
            for p in path.iterdir()
            if p.is_file() and p.suffix == PARQUET and not p.name.startswith(("_", "."))
        )
    )


def files(path: Path) -> tuple[Path, ...]:
    """The files of a feature source: a directory's part files, or the file itself."""
    return parquet_parts(path) if path.is_dir() else (path,)


def is_feature_source(path: Path) -> bool:
    """True for a directory with Parquet part files, or a Parquet file whose columns are a
    feature table's (what :func:`read` opens)."""
    if path.is_dir():
        return bool(parquet_parts(path))
    if path.is_file() and path.suffix.lower() == PARQUET:
        try:
            return is_feature_table(pl.read_parquet_schema(path).names())
        except (pl.exceptions.PolarsError, OSError):
            return False
    return False


@dataclass(frozen=True)
class FeatureDataset:
    """A feature table read from ``path`` with where it came from."""

    path: Path
    parts: int  # Parquet part files (1 for a single file)
    features: pl.DataFrame = field(compare=False, repr=False)
    columns: tuple[str, ...] = ()  # every column of the source, segment columns included

    @property
    def provenance(self) -> str:
        """Where the data came from, as the Data page says it."""
        if self.path.is_dir():
            files = "part file" if self.parts == 1 else "part files"
            return f"Spark output: {self.parts:,} {files} at {self.path}"
        return f"feature table file at {self.path}"


def read(path: Path) -> FeatureDataset:
    """Read the feature table of a Parquet directory or file (typed as ``FEATURE_SCHEMA``,
    sorted by customer id). Raises :class:`InputFileError` when it is not one."""
    parts = files(path)
    if not parts:
        raise InputFileError(f"{str(path)!r} holds no Parquet part file.", hint=_HINT)
    try:
        schema = pl.read_parquet_schema(parts[0])
        frame = pl.read_parquet(list(parts))
    except (pl.exceptions.PolarsError, OSError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InputFileError(f"cannot read {str(path)!r} as Parquet: {first}", hint=_HINT) from None
    if not is_feature_table(schema.names()):
        missing = [c for c in FEATURE_SCHEMA if c not in schema.names()]
        raise InputFileError(
            f"{str(path)!r} is not a customer feature table (missing {', '.join(missing)}).",
            hint=_HINT,
        )
    ids = frame.get_column("customer_id")
    if ids.null_count() or ids.is_duplicated().any():
        raise InputFileError(
            f"{str(path)!r} has empty or repeated customer ids: a feature table has one row "
            "per customer.",
            hint=_HINT,
        )
    features = frame.select(pl.col(c).cast(t) for c, t in FEATURE_SCHEMA.items()).sort(
        "customer_id"
    )
    return FeatureDataset(path, len(parts), features, tuple(schema.names()))


def analysis_date(features: pl.DataFrame) -> dt.date | None:
    """The analysis date the table was computed at: last purchase + recency (same for all)."""
    value = features.select(
        (pl.col("last_purchase") + pl.duration(days=pl.col("recency_days"))).max()
    ).item()
    return value


def customer_table(dataset: FeatureDataset, *, key: str) -> CustomerTable:
    """``dataset`` as a :class:`CustomerTable` without lines (audit of zero lines; the
    customers are counted in and excluded ones out)."""
    features = dataset.features
    n = features.height
    excluded = int(features.get_column("excluded").fill_null(False).sum())
    note = f"customer feature table ({dataset.provenance}): mapping, dates and cleaning were "
    note += "applied where it was written"
    return CustomerTable(
        features=features,
        audit=Audit(
            rows_in=0,
            rows_kept=0,
            revenue_in=0.0,
            revenue_kept=0.0,
            reasons=(),
            customers_in=n,
            customers_out=excluded,
            samples={},
        ),
        analysis_date=analysis_date(features),
        read=ReadReport.binary("parquet", compression=None, columns=dataset.columns, notes=()),
        schema=SchemaReport(
            mapping=RoleMapping(roles=()),
            date=DateChoice(kind="native", format=None, ambiguous=False, reason=note),
            parse_failures=(),
            bad_examples=(),
            notes=(note,),
            n_rows=n,
        ),
        key=key,
    )
