"""Save a segmentation as a model file, load it back, and score the customers of a new period.

File layout (format version 2)::

    CUSTSEG-MODEL\\n                 magic line
    {"format_version": 2, ...}\\n    one line of JSON: payload length and SHA-256, library
                                    versions, data key, algorithm, k, names, creation time
    <payload>                       the SegmentationResult as a data bundle (core.codec): JSON
                                    and NumPy / Arrow members, no pickle

The payload holds what scoring needs and what the report shows: the features, the fitted
preprocessing parameters (medians, clip bounds, log flags, scaler and PCA parameters), the
model's parameters (K-means centres, mixture weights / means / covariances, hierarchical tree
arrays), segment centres, names, colours, profiles, configs and library versions. Reading it
builds those objects from their parameters; nothing in the file can run code. Anything
unexpected (a pickle, version 1 files were pickles, an unknown kind, a bad member) is refused.

The checksum detects truncated or corrupted files; the magic line recognises foreign files.
Either gives a :class:`ModelFileError` that says so.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from sklearn.mixture import GaussianMixture

from core import codec
from core.cache import library_versions
from core.clustering.fit import Segmentation, predict
from core.clustering.preprocess import EXCLUDED, ClusteringWarning, FeaturePreprocessor
from core.clustering.result import SegmentationResult
from core.columns import CUSTOMER
from core.errors import ConfigError, InputFileError, SchemaError

MAGIC = b"CUSTSEG-MODEL\n"
FORMAT_VERSION = 2
PICKLE_FORMAT_VERSION = 1  # model files written as pickles: refused, never unpickled
EXCLUSION_REASON = "exclusion_reason"


class ModelFileError(InputFileError):
    """A model file is missing, foreign, corrupted or from an incompatible version."""


class ModelVersionWarning(ClusteringWarning):
    """A model file was written with other library versions than the running ones."""


def save_model(result: SegmentationResult, path: str | Path) -> Path:
    """Write ``result`` to ``path`` atomically (see the module docstring for the layout)."""
    if not isinstance(result, SegmentationResult):
        raise ConfigError(
            f"save_model expects a SegmentationResult, got {type(result).__name__}",
            hint="Save the result of core.clustering.service.segment_customers.",
        )
    path = Path(path)
    if not path.parent.is_dir():
        raise ConfigError(
            f"the folder of the model file {str(path)!r} does not exist",
            hint="Create the folder or choose another path.",
        )
    blob = model_bytes(result)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(blob)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def model_bytes(result: SegmentationResult) -> bytes:
    """The model file's content (magic line, JSON header, data bundle): what
    :func:`save_model` writes and the workspace stores (``core.workspace``)."""
    payload = codec.dumps(result)
    header = {
        "format_version": FORMAT_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "payload_bytes": len(payload),
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
        "library_versions": library_versions(),
        "data_key": result.data_key,
        "key": result.key,
        "algorithm": result.segmentation.model_config.algorithm,
        "method": result.segmentation.method,
        "k": result.k,
        "names": list(result.names),
        "features": list(result.segmentation.preprocessor.features_in_),
    }
    line = json.dumps(header, sort_keys=True).encode() + b"\n"
    return MAGIC + line + payload


def read_header(path: str | Path) -> dict[str, Any]:
    """The JSON header of a model file (without reading the payload)."""
    return _split(Path(path))[0]


def _split(path: Path) -> tuple[dict[str, Any], bytes]:
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        raise ModelFileError(
            f"model file {str(path)!r} not found",
            hint="Check the path; model files are written by `custseg segment --model`.",
        ) from None
    except IsADirectoryError:
        raise ModelFileError(
            f"{str(path)!r} is a folder, not a model file", hint="Give the model file's path."
        ) from None
    return split_bytes(blob, path.name)


def split_bytes(blob: bytes, name: str) -> tuple[dict[str, Any], bytes]:
    """Header and checked payload of a model file's content (``name`` for messages)."""
    if not blob.startswith(MAGIC):
        raise ModelFileError(
            f"{name!r} is not a custseg model file",
            hint="Use a file written by `custseg segment --model` (or save_model).",
        )
    end = blob.find(b"\n", len(MAGIC))
    try:
        header = json.loads(blob[len(MAGIC) : end]) if end > 0 else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        header = None
    if not isinstance(header, dict) or not isinstance(header.get("format_version"), int):
        raise ModelFileError(
            f"model file {name!r} is corrupted (unreadable header)",
            hint="Save the model again with `custseg segment --model`.",
        )
    if header["format_version"] <= PICKLE_FORMAT_VERSION:
        raise ModelFileError(
            f"model file {name!r} was written by an older custseg as a pickle, which is not "
            "read (a pickle can run code)",
            hint="Refit and save the model again with `custseg segment --model`.",
        )
    if header["format_version"] > FORMAT_VERSION:
        raise ModelFileError(
            f"model file {name!r} uses format version {header['format_version']}, newer than "
            f"this custseg understands ({FORMAT_VERSION})",
            hint="Upgrade custseg, or refit the model with this version.",
        )
    payload = blob[end + 1 :]
    if len(payload) != header.get("payload_bytes") or (
        hashlib.sha256(payload).hexdigest() != header.get("payload_sha256")
    ):
        raise ModelFileError(
            f"model file {name!r} is corrupted or truncated (checksum mismatch)",
            hint="Save the model again with `custseg segment --model`.",
        )
    return header, payload


def load_model(path: str | Path) -> SegmentationResult:
    """Read a model file written by :func:`save_model`.

    Emits :class:`ModelVersionWarning` when it was written with other library versions
    (it usually still works; refit if scores look wrong).

    Raises
    ------
    ModelFileError
        Missing, foreign, corrupted or incompatible file.
    """
    path = Path(path)
    return model_from_bytes(*_split(path), name=path.name)


def model_from_bytes(
    header: dict[str, Any], payload: bytes, *, name: str
) -> SegmentationResult:
    """The segmentation of a checked header and payload (:func:`split_bytes`): built from
    data only (:mod:`core.codec`); anything else is refused with :class:`ModelFileError`."""
    try:
        result = codec.loads(payload)
    except codec.BundleError as exc:
        raise ModelFileError(
            f"model file {name!r} holds unexpected content and was not loaded ({exc}; "
            f"written with {_versions_text(header.get('library_versions'))})",
            hint="Use a file written by `custseg segment --model`, or refit the model with "
            "this version of custseg.",
        ) from None
    if not isinstance(result, SegmentationResult) or not _scorable(result):
        raise ModelFileError(
            f"model file {name!r} does not hold a segmentation",
            hint="Use a file written by `custseg segment --model` (or save_model).",
        )
    saved = header.get("library_versions")
    current = library_versions()
    if isinstance(saved, dict) and saved != current:
        changed = ", ".join(
            f"{lib} {saved.get(lib, 'absent')} -> {current.get(lib, 'absent')}"
            for lib in sorted(set(saved) | set(current))
            if saved.get(lib) != current.get(lib)
        )
        warnings.warn(
            ModelVersionWarning(
                f"model file {name!r} was written with other library versions ({changed})"
            ),
            stacklevel=2,
        )
    return result


def _scorable(result: SegmentationResult) -> bool:
    """What scoring relies on is there and consistent (the file could be edited by hand)."""
    seg = result.segmentation
    centres = seg.centers_scaled
    return (
        isinstance(seg, Segmentation)
        and isinstance(seg.preprocessor, FeaturePreprocessor)
        and isinstance(centres, np.ndarray)
        and centres.shape == (seg.k, len(seg.preprocessor.features_))
        and len(result.names) == seg.k
        and all(isinstance(name, str) for name in result.names)
        and (seg.model_config.algorithm != "gmm" or isinstance(seg.model, GaussianMixture))
    )


def _versions_text(versions: object) -> str:
    if not isinstance(versions, dict):
        return "unknown library versions"
    return ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))


def score_customers(
    model: SegmentationResult, features: pl.DataFrame | pl.LazyFrame
) -> pl.DataFrame:
    """Assign the customers of a new period to the saved segments.

    Each included customer is transformed with the model's fitted preprocessing and assigned
    like :func:`core.clustering.fit.predict` does: the highest posterior for Gaussian
    mixtures, the nearest segment centre in the scaled space otherwise (hierarchical and
    HDBSCAN use their segments' member means; HDBSCAN scoring never yields noise).

    Returns
    -------
    DataFrame
        ``customer_id``, ``segment`` (Int64; null when excluded), ``segment_name`` (null when
        excluded), ``excluded`` (Boolean) and ``exclusion_reason`` (why a customer was kept
        out), sorted by ``customer_id``.

    Raises
    ------
    SchemaError, ConfigError
        No ``customer_id``, or a feature of the model missing from the table.
    """
    lf = features.lazy()
    names = lf.collect_schema().names()
    if CUSTOMER not in names:
        raise SchemaError(
            f"the feature table has no {CUSTOMER!r} column (columns: {', '.join(names)})",
            hint="Pass the customer feature table produced by core.features.",
        )
    frame = lf.sort(CUSTOMER).collect()
    segment = predict(model.segmentation, frame)
    excluded = (
        frame.get_column(EXCLUDED).fill_null(False)
        if EXCLUDED in names
        else pl.Series(EXCLUDED, [False] * frame.height)
    )
    reason = (
        frame.get_column(EXCLUSION_REASON).cast(pl.String)
        if EXCLUSION_REASON in names
        else pl.Series(EXCLUSION_REASON, [None] * frame.height, dtype=pl.String)
    )
    lookup = dict(enumerate(model.names))
    return pl.DataFrame(
        {
            CUSTOMER: frame.get_column(CUSTOMER).cast(pl.String),
            "segment": pl.Series(segment, dtype=pl.Int64),
            EXCLUDED: excluded,
            EXCLUSION_REASON: reason,
        }
    ).select(
        CUSTOMER,
        pl.when(~pl.col(EXCLUDED)).then(pl.col("segment")).alias("segment"),
        pl.when(~pl.col(EXCLUDED))
        .then(pl.col("segment").replace_strict(lookup, default=None, return_dtype=pl.String))
        .alias("segment_name"),
        pl.col(EXCLUDED),
        pl.when(pl.col(EXCLUDED))
        .then(pl.col(EXCLUSION_REASON).fill_null("excluded"))
        .alias(EXCLUSION_REASON),
    )
