"""The reproducible bundle of a segmentation: its customer list, the config that produced it,
the segment report and a README. One definition for the app's Export page (a zip) and
``custseg workspace export NAME DIR`` (the same files in a folder).

* :class:`SegmentationSettings` is what a segmentation's settings are, as core's own configs:
  cleaning, features, preprocessing and model (with its seed).
* :func:`segment_list` is the list: exactly the members of the chosen segments (id, segment,
  name and every feature), sorted by id; the bundle's (:func:`bundle_list`) holds the steady
  features (:func:`core.migration.steady_features`: sums of money to 6 decimals, ratios
  computed again from them), so that the same segmentation gives the same file even where
  float sums can differ in their last bits from run to run (amounts beyond the range
  :func:`core.money.exact_sum` adds exactly).
* :func:`config_document` is ``config.json``: the data file's SHA-256, the mapping, date
  format, every config, the cache keys, library versions and the ``custseg segment`` command
  that computes the same segments (:func:`reproduce_command`). It holds no time of creation
  (nor does the XLSX list: :data:`XLSX_CREATED`), so the same segmentation gives the same
  files wherever and whenever they are made; the zip's entries carry the time it was made.
* :func:`diagnostics` is the k choice and stability the report carries (the app's Model page
  workflow: every k scored, :data:`~core.clustering.defaults.DEFAULT_STABILITY_REFITS` refits;
  cached when a cache is given). ``segments.json`` keeps its floats to
  :data:`REPORT_DIGITS` significant digits: criteria computed again (another process, its
  own thread pool) can differ in their last bits.
* :func:`bundle_files` gives every file by name; :func:`zip_bytes` zips them,
  :func:`write_files` writes them to a folder.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
import logging
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from core import __version__
from core.cache import ResultCache
from core.cleaning import CleaningConfig
from core.clustering import workflow
from core.clustering.config import ModelConfig, PreprocessConfig
from core.clustering.defaults import DEFAULT_STABILITY_REFITS
from core.clustering.result import SegmentationResult, report
from core.clustering.select_k import KSelection
from core.clustering.stability import StabilityReport
from core.columns import CUSTOMER, FEATURE_SCHEMA
from core.errors import ConfigError, CustsegError
from core.export import Format, to_bytes
from core.features import FeatureConfig
from core.migration import steady_features
from core.pipeline import CustomerTable

log = logging.getLogger(__name__)

# The list's columns after id, segment and name: every customer feature.
LIST_COLUMNS: tuple[str, ...] = tuple(
    c for c in FEATURE_SCHEMA if c not in (CUSTOMER, "excluded", "exclusion_reason")
)
# The XLSX list's creation time: fixed (the date xlsxwriter gives its own zip entries), so the
# same segmentation gives the same bytes wherever and whenever its bundle is made.
XLSX_CREATED = dt.datetime(1980, 1, 31, tzinfo=dt.UTC)
# Significant digits of the floats in segments.json: criteria computed again can differ in
# their last bits.
REPORT_DIGITS = 10
CONFIG = "config.json"
SEGMENTS = "segments.json"
README = "README.txt"


@dataclass(frozen=True)
class SegmentationSettings:
    """What a segmentation's settings are: core's cleaning, feature, preprocessing and model
    configs (the model's ``random_state`` is the seed)."""

    cleaning: CleaningConfig = CleaningConfig()
    preprocess: PreprocessConfig = PreprocessConfig()
    model: ModelConfig = ModelConfig()
    features: FeatureConfig = FeatureConfig()

    @property
    def seed(self) -> int:
        return int(self.model.random_state)

    @property
    def default_cleaning(self) -> bool:
        """Whether the cleaning is the command line's (its rules have no switches there)."""
        return self.cleaning == CleaningConfig()

    def workflow(self) -> workflow.WorkflowConfig:
        """The workflow behind the report's k choice and stability (the Model page's)."""
        return workflow.WorkflowConfig(
            preprocess=self.preprocess,
            model=self.model,
            sweep="always",
            stability_refits=DEFAULT_STABILITY_REFITS,
        )


def cleaning_of(saved: Mapping[str, Any]) -> CleaningConfig:
    """The cleaning config a saved record holds: the app's rule toggles, or every field of
    the config as the command line saves it (lists for tuples); missing fields are defaults."""
    names = {f.name for f in dataclasses.fields(CleaningConfig)}
    values = {
        k: tuple(v) if isinstance(v, list) else v for k, v in saved.items() if k in names
    }
    return CleaningConfig(**values)


def default_segments(result: SegmentationResult) -> tuple[int, ...]:
    """Every segment (not the noise): what a bundle holds unless told otherwise."""
    return tuple(range(result.k))


def check_segments(result: SegmentationResult, segments: Sequence[int]) -> tuple[int, ...]:
    """``segments`` sorted and distinct, each one of ``result``'s (-1: the noise, if any)."""
    valid = set(range(result.k)) | ({-1} if result.segmentation.n_noise else set())
    wrong = [s for s in segments if s not in valid]
    if wrong or not segments:
        raise ConfigError(
            f"there is no segment {wrong[0]!r} in this segmentation"
            if wrong
            else "no segment is chosen",
            hint=f"choose among the segments 0..{result.k - 1}"
            + (" and -1 (the noise)" if -1 in valid else ""),
        )
    return tuple(sorted(set(segments)))


def segment_list(
    result: SegmentationResult,
    features: pl.DataFrame,
    segments: Sequence[int],
    extra: Sequence[str] = (),
) -> pl.DataFrame:
    """The members of ``segments``: id, segment, name, every feature (then the ``extra``
    columns ``features`` holds), sorted by id."""
    members = result.assignments().filter(pl.col("segment").is_in(list(segments)))
    columns = [c for c in (*LIST_COLUMNS, *extra) if c in features.columns]
    return members.join(features.select(CUSTOMER, *columns), on=CUSTOMER, how="left").sort(CUSTOMER)


def bundle_list(
    result: SegmentationResult, table: CustomerTable, segments: Sequence[int]
) -> pl.DataFrame:
    """The bundle's list: :func:`segment_list` of the table's steady features."""
    return segment_list(result, steady_features(table.features), segments)


def _rounded(value: Any) -> Any:
    """JSON-ready data with every float to :data:`REPORT_DIGITS` significant digits."""
    if isinstance(value, float):
        return float(f"{value:.{REPORT_DIGITS}g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    """JSON-ready: dataclasses to dicts, dates to ISO text, tuples to lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def _shell(text: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_.,=/%:+-]+", text):
        return text
    return "'" + text.replace("'", "'\"'\"'") + "'"


def reproduce_command(
    table: CustomerTable, settings: SegmentationSettings, filename: str
) -> str | None:
    """The ``custseg segment`` command computing the same segments from ``filename`` (None
    when it cannot: the command line has no switches for the cleaning rules)."""
    if not settings.default_cleaning:
        return None
    model, preprocess = settings.model, settings.preprocess
    parts = ["custseg", "segment", _shell(filename)]
    for role, column in table.schema.mapping.as_dict().items():
        if column is not None:
            parts += ["--map", _shell(f"{role}={column}")]
    if table.schema.date.kind == "format" and table.schema.date.format:
        parts += ["--date-format", _shell(table.schema.date.format)]
    parts += ["--algorithm", model.algorithm]
    if model.k is not None:
        parts += ["--k", str(model.k)]
    if model.algorithm == "hierarchical":
        parts += ["--linkage", model.linkage]
    parts += ["--features", ",".join(preprocess.features), "--scaler", preprocess.scaler]
    parts += ["--seed", str(settings.seed), "--out", "segments.csv"]
    return " ".join(parts)


def _data_part(table: CustomerTable, filename: str, file_sha256: str) -> dict[str, Any]:
    return {
        "file": filename,
        "file_sha256": file_sha256,
        "lines_read": table.audit.rows_in,
        "lines_kept": table.audit.rows_kept,
        "customers": table.n_customers,
        "excluded_customers": table.n_excluded,
        "analysis_date": None if table.analysis_date is None else table.analysis_date.isoformat(),
        "data_key": table.key,
    }


def config_document(
    *,
    table: CustomerTable,
    settings: SegmentationSettings,
    result: SegmentationResult,
    segments: Sequence[int],
    filename: str,
    file_sha256: str,
    list_format: Format,
    list_data: bytes,
    rows: int,
) -> dict[str, Any]:
    """``config.json``: the data fingerprint and every setting behind the list."""
    schema = table.schema
    command = reproduce_command(table, settings, filename)
    return {
        "custseg_version": __version__,
        "data": _data_part(table, filename, file_sha256),
        "mapping": schema.mapping.as_dict(),
        "date_format": {
            "kind": schema.date.kind,
            "format": schema.date.format,
            "reason": schema.date.reason,
        },
        "decimal_comma": table.read.decimal_comma,
        "cleaning": _plain(settings.cleaning),
        # Features with the default options (analysis date: the day after the last purchase,
        # recorded above), as the app and the command line compute them.
        "features": _plain(settings.features),
        "preprocess": _plain(settings.preprocess),
        "model": _plain(settings.model),
        "seed": settings.seed,
        "result_key": result.key,
        "library_versions": dict(result.library_versions),
        "segments": [
            {
                "segment": p.segment,
                "name": result.names[p.segment],
                "customers": p.customers,
                "exported": p.segment in segments,
            }
            for p in result.profiles
        ],
        "exported_segments": list(segments),
        "list": {
            "format": list_format,
            "rows": rows,
            "sha256": hashlib.sha256(list_data).hexdigest(),
        },
        "reproduce": {
            "command": command,
            "note": "The command computes every customer's segment with the same data, "
            "mapping and settings; the list holds the members of the exported segments."
            if command is not None
            else "Cleaning rules were changed in the app; the command line applies the "
            "default rules, so recompute in the app with this config.",
        },
    }


def diagnostics(
    table: CustomerTable,
    settings: SegmentationSettings,
    result: SegmentationResult,
    *,
    cache: ResultCache | None = None,
) -> tuple[KSelection | None, StabilityReport | None]:
    """The k selection and stability of ``result`` (each None when it cannot be computed)."""
    config = settings.workflow()
    try:
        selection = workflow.sweep(table.features, config, data_key=table.key, cache=cache)
    except CustsegError as exc:
        log.info("k selection left out of the bundle: %s", exc.message)
        selection = None
    try:
        stability = workflow.rate_stability(
            table.features, config, result, data_key=table.key, cache=cache
        )
    except CustsegError as exc:
        log.info("stability left out of the bundle: %s", exc.message)
        stability = None
    return selection, stability


def readme(list_format: Format, rows: int) -> str:
    return (
        "custseg export bundle\n\n"
        f"customers.{list_format}  the customers of the exported segments ({rows:,} rows)\n"
        "config.json     the data fingerprint (file SHA-256) and every setting that produced "
        "the list\n"
        "segments.json   the segment report (profiles, names, k choice, stability)\n"
    )


def bundle_files(
    *,
    table: CustomerTable,
    settings: SegmentationSettings,
    result: SegmentationResult,
    segments: Sequence[int],
    list_format: Format,
    filename: str,
    file_sha256: str,
    frame: pl.DataFrame | None = None,
    selection: KSelection | None = None,
    stability: StabilityReport | None = None,
) -> dict[str, bytes]:
    """Every file of the bundle by name: ``customers.<fmt>``, ``config.json``,
    ``segments.json`` and ``README.txt``. ``frame`` is the list (default:
    :func:`bundle_list`)."""
    chosen = check_segments(result, segments)
    if frame is None:
        frame = bundle_list(result, table, chosen)
    data = to_bytes(frame, list_format, created=XLSX_CREATED)
    config = config_document(
        table=table,
        settings=settings,
        result=result,
        segments=chosen,
        filename=filename,
        file_sha256=file_sha256,
        list_format=list_format,
        list_data=data,
        rows=frame.height,
    )
    segment_report = _rounded(report(result, selection=selection, stability=stability))
    return {
        f"customers.{list_format}": data,
        CONFIG: json.dumps(config, indent=2, allow_nan=False).encode(),
        SEGMENTS: json.dumps(segment_report, indent=2, default=str).encode(),
        README: readme(list_format, frame.height).encode(),
    }


def zip_bytes(files: Mapping[str, bytes]) -> bytes:
    """The files as one zip (deflated), in the order given."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def write_files(files: Mapping[str, bytes], folder: Path) -> None:
    """Write the files into ``folder`` (created when missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_bytes(content)
