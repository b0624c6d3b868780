"""The Spark segmentation model on disk, and ``custseg score --engine spark``.

``segment --engine spark --model DIR`` writes a directory:

* ``pipeline/``: the fitted MLlib :class:`~pyspark.ml.PipelineModel` as MLlib saves it
  (JSON metadata and Parquet data: the preprocessing SQL, the assembler, the cluster centres);
* ``custseg-model.json``: what core needs to name the segments (format, algorithm, features,
  MLlib cluster -> canonical segment, names, colours, versions), the fitted preprocessing's
  figures for a reader (the pipeline holds them as SQL), and the SHA-256 of every file under
  ``pipeline/``.

Loading checks the manifest before Spark reads anything: a missing, unlisted (planted) or
altered file, or a manifest that is not ours, is a :class:`ModelFileError` (exit status 2).
Nothing is unpickled: MLlib reads JSON and Parquet only. ``DIR`` is a local directory (the
driver hashes its files).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from core.clustering.persist import ModelFileError
from core.clustering.preprocess import EXCLUDED
from core.columns import CUSTOMER
from core.errors import ConfigError
from core.spark.segment import RAW_SEGMENT, SparkSegmented, included, to_polars

if TYPE_CHECKING:
    from pyspark.ml import PipelineModel
    from pyspark.sql import DataFrame

MANIFEST = "custseg-model.json"
PIPELINE = "pipeline"
FORMAT = "custseg-spark-model"
VERSION = 1
EXCLUSION_REASON = "exclusion_reason"
_HINT = "Write the model again with `custseg segment --engine spark --model DIR`."


@dataclass(frozen=True)
class SparkModel:
    """A loaded Spark model: the MLlib pipeline and what core needs to name its segments."""

    pipeline: PipelineModel
    algorithm: str
    features: tuple[str, ...]
    raw_to_segment: dict[int, int]
    names: tuple[str, ...]
    colors: tuple[int, ...]

    @property
    def k(self) -> int:
        return len(self.names)


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _files(root: Path) -> dict[str, str]:
    """Every file under ``root`` (relative POSIX path -> SHA-256), symbolic links refused."""
    out: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            raise ModelFileError(f"the model directory holds a symbolic link: {path}", _HINT)
        if path.is_file():
            out[path.relative_to(root).as_posix()] = _digest(path)
    return out


def save(done: SparkSegmented, directory: str | Path) -> Path:
    """Write the fitted pipeline and its manifest to ``directory`` (created; a previous Spark
    model there is replaced; any other non-empty directory is refused)."""
    import pyspark  # noqa: PLC0415

    from core.cache import library_versions  # noqa: PLC0415

    root = Path(directory)
    if root.exists():
        if not root.is_dir():
            raise ConfigError(f"--model {str(root)!r} is a file", "give a directory path")
        if any(root.iterdir()) and not (root / MANIFEST).is_file():
            raise ConfigError(
                f"--model {str(root)!r} is a non-empty directory that holds no Spark model",
                "choose a new or empty directory",
            )
        shutil.rmtree(root)
    root.mkdir(parents=True)
    done.pipeline.write().save(str(root / PIPELINE))
    result = done.result
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "algorithm": "kmeans" if result.segmentation.method == "spark-kmeans" else "bisecting",
        "features": list(done.preprocessing.features_in),
        "preprocessing": {
            "features_used": list(done.preprocessing.features),
            "log_features": list(done.preprocessing.log_features),
            "dropped_constant": list(done.preprocessing.dropped_constant),
            "medians": done.preprocessing.medians,
            "means": done.preprocessing.means,
            "scales": done.preprocessing.scales,
        },
        "raw_to_segment": {str(r): c for r, c in result.segmentation.raw_to_segment.items()},
        "names": list(result.names),
        "colors": list(result.colors),
        "versions": {"pyspark": pyspark.__version__, **library_versions()},
        "files": _files(root / PIPELINE),
    }
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return root


def _manifest(root: Path) -> dict[str, Any]:
    if not root.is_dir():
        raise ModelFileError(
            f"--model {str(root)!r} is not a directory written by `custseg segment --engine spark`",
            _HINT,
        )
    try:
        manifest = json.loads((root / MANIFEST).read_text())
    except FileNotFoundError:
        raise ModelFileError(f"{str(root)!r} has no {MANIFEST}: not a Spark model", _HINT) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{MANIFEST} in {str(root)!r} is damaged ({exc})", _HINT) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFileError(f"{MANIFEST} in {str(root)!r} is not a custseg Spark model", _HINT)
    if manifest.get("version") != VERSION:
        raise ModelFileError(
            f"the Spark model in {str(root)!r} has format version {manifest.get('version')!r}; "
            f"this custseg reads version {VERSION}",
            _HINT,
        )
    return manifest


def _check_files(root: Path, listed: object) -> None:
    if not isinstance(listed, dict):
        raise ModelFileError(f"{MANIFEST} in {str(root)!r} lists no files", _HINT)
    found = _files(root / PIPELINE) if (root / PIPELINE).is_dir() else {}
    extra = sorted(set(found) - set(listed))
    missing = sorted(set(listed) - set(found))
    changed = sorted(f for f in set(found) & set(listed) if found[f] != listed[f])
    problems = [
        f"{what}: {', '.join(names[:3])}" + (" ..." if len(names) > 3 else "")
        for what, names in (("unexpected", extra), ("missing", missing), ("altered", changed))
        if names
    ]
    extra_top = sorted(p.name for p in root.iterdir() if p.name not in (MANIFEST, PIPELINE))
    if extra_top:
        problems.append(f"unexpected: {', '.join(extra_top[:3])}")
    if problems:
        raise ModelFileError(
            f"the Spark model in {str(root)!r} is not as written ({'; '.join(problems)}); it is "
            "not used",
            _HINT,
        )


def load(directory: str | Path) -> SparkModel:
    """The Spark model in ``directory``, checked against its manifest before MLlib reads it."""
    from pyspark.errors import PySparkException  # noqa: PLC0415
    from pyspark.ml import PipelineModel  # noqa: PLC0415

    root = Path(directory)
    manifest = _manifest(root)
    _check_files(root, manifest.get("files"))
    try:
        names = tuple(str(n) for n in manifest["names"])
        raw = {int(r): int(c) for r, c in manifest["raw_to_segment"].items()}
        model = SparkModel(
            pipeline=None,  # type: ignore[arg-type]
            algorithm=str(manifest["algorithm"]),
            features=tuple(str(f) for f in manifest["features"]),
            raw_to_segment=raw,
            names=names,
            colors=tuple(int(c) for c in manifest["colors"]),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelFileError(
            f"{MANIFEST} in {str(root)!r} is incomplete ({exc!r})", _HINT
        ) from None
    if sorted(raw.values()) != list(range(len(names))):
        raise ModelFileError(f"{MANIFEST} in {str(root)!r} numbers its segments wrongly", _HINT)
    try:
        pipeline = PipelineModel.load(str(root / PIPELINE))
    except PySparkException as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelFileError(
            f"MLlib cannot read the model in {str(root)!r}: {first}", _HINT
        ) from None
    return SparkModel(
        pipeline, model.algorithm, model.features, model.raw_to_segment, model.names, model.colors
    )


def score(model: SparkModel, features: DataFrame) -> pl.DataFrame:
    """Assign the customers of ``features`` (a Spark feature table) to the model's segments,
    on Spark; the result has the columns of :func:`core.clustering.persist.score_customers`
    (``customer_id``, ``segment``, ``segment_name``, ``excluded``, ``exclusion_reason``)."""
    missing = [f for f in model.features if f not in features.columns]
    if missing:
        raise ConfigError(
            f"feature(s) {', '.join(map(repr, missing))} not in the new customers' table",
            hint=f"The model was fitted on: {', '.join(model.features)}.",
        )
    raw = to_polars(model.pipeline.transform(included(features)).select(CUSTOMER, RAW_SEGMENT))
    flags = to_polars(features.select(CUSTOMER, EXCLUDED, EXCLUSION_REASON))
    lookup = dict(model.raw_to_segment)
    names = dict(enumerate(model.names))
    segment = pl.col(RAW_SEGMENT).cast(pl.Int64).replace_strict(lookup, return_dtype=pl.Int64)
    assigned = raw.select(pl.col(CUSTOMER).cast(pl.String), segment.alias("segment"))
    excluded = pl.col(EXCLUDED).fill_null(False)
    return (
        flags.with_columns(pl.col(CUSTOMER).cast(pl.String))
        .join(assigned, on=CUSTOMER, how="left")
        .sort(CUSTOMER)
        .select(
            CUSTOMER,
            pl.when(~excluded).then(pl.col("segment")).alias("segment"),
            pl.when(~excluded)
            .then(pl.col("segment").replace_strict(names, default=None, return_dtype=pl.String))
            .alias("segment_name"),
            excluded.alias(EXCLUDED),
            pl.when(excluded)
            .then(pl.col(EXCLUSION_REASON).cast(pl.String).fill_null("excluded"))
            .alias(EXCLUSION_REASON),
        )
    )
