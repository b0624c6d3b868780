"""Data-only files for results read back from disk: JSON, NumPy arrays and Arrow tables.

Model files and shared cache entries used to be pickles: whoever could write one (a planted
model file, a shared cache folder) could run code in the process that read it, checksum or
not. A *bundle* holds data only, and reading one builds nothing but plain values, arrays,
tables and the registered kinds below, from their fields:

* a ZIP archive, members stored (not compressed, so a member is never larger than the file):
  ``document.json`` (the value), ``a<i>.npy`` (NumPy arrays, read with ``allow_pickle=False``:
  numbers, booleans and fixed-width text only) and ``t<i>.arrow`` (Polars frames and series as
  Arrow IPC);
* in ``document.json``, JSON values stand for themselves except objects, which are tagged:
  ``{"$": "tuple" | "dict" | "array" | "frame" | "series" | "date" | "datetime" | "number"
  | "object", ...}``; an object names a registered kind and lists its fields.

Kinds (:func:`kinds`): the dataclasses of core's results (segmentation, profiles, configs,
k selection, stability, comparison, customer table and audit, ...), each written field by
field and rebuilt through its constructor (so configs are validated again); the fitted
scikit-learn steps, written as their parameters plus an explicit list of fitted arrays
(scaler mean and scale, clip bounds, log flags, PCA axes, K-means centres, mixture weights,
means and covariances, ...) and rebuilt by setting those. A value of any other kind cannot be
written (:class:`UnsupportedValueError`: the cache keeps it in memory only); a file with anything
unexpected (another kind, a member or tag it does not know, an object array, a field a kind
does not have) is refused with :class:`BundleError`, before any object is built from it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import io
import json
import re
import zipfile
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import polars as pl

DOCUMENT = "document.json"
_MEMBER = re.compile(r"(a\d+\.npy|t\d+\.arrow)")
_NUMBER_KINDS = frozenset("biuf")  # bool, signed, unsigned, float
_ARRAY_KINDS = frozenset("biufUM")  # + fixed-width text and datetime64


class BundleError(ValueError):
    """A bundle is not one this code wrote: unreadable, or with unexpected content."""


class UnsupportedValueError(TypeError):
    """A value of a kind that has no data-only form (it is not written)."""


@dataclasses.dataclass(frozen=True)
class Kind:
    """How one class is written (its fields) and rebuilt from them."""

    name: str
    cls: type
    fields: Callable[[Any], dict[str, Any]]
    build: Callable[[dict[str, Any]], Any]


# ------------------------------------------------------------------------------------------
# Kinds


def _dataclass_kind(cls: type, *, skip: tuple[str, ...] = ()) -> Kind:
    """A frozen dataclass: every field but ``skip`` (left at its default on reading)."""
    names = tuple(f.name for f in dataclasses.fields(cls) if f.name not in skip)
    init = {f.name for f in dataclasses.fields(cls) if f.init}

    def fields(obj: Any) -> dict[str, Any]:
        return {name: getattr(obj, name) for name in names}

    def build(values: dict[str, Any]) -> Any:
        unknown = set(values) - set(names)
        if unknown:
            raise BundleError(f"{cls.__name__} has no field(s) {sorted(unknown)}")
        obj = cls(**{k: v for k, v in values.items() if k in init})
        for k, v in values.items():
            if k not in init:
                object.__setattr__(obj, k, v)
        return obj

    return Kind(_name(cls), cls, fields, build)


def _estimator_kind(cls: type, fitted: tuple[str, ...]) -> Kind:
    """A fitted scikit-learn step: its parameters, then the fitted attributes named."""

    def fields(obj: Any) -> dict[str, Any]:
        values = {"params": obj.get_params(deep=False)}
        values["fitted"] = {a: getattr(obj, a) for a in fitted if hasattr(obj, a)}
        return values

    def build(values: dict[str, Any]) -> Any:
        params, state = values.get("params"), values.get("fitted")
        if set(values) != {"params", "fitted"} or not isinstance(params, dict):
            raise BundleError(f"{cls.__name__}: expected its params and fitted attributes")
        if not isinstance(state, dict) or not set(state) <= set(fitted):
            raise BundleError(f"{cls.__name__}: unexpected fitted attributes")
        obj = cls(**params)
        for name, value in state.items():
            setattr(obj, name, value)
        return obj

    return Kind(_name(cls), cls, fields, build)


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _frozen_mapping_kind() -> Kind:
    from core.cleaning import FrozenMapping  # noqa: PLC0415

    def build(values: dict[str, Any]) -> Any:
        if set(values) != {"items"} or not isinstance(values["items"], dict):
            raise BundleError("FrozenMapping: expected its items")
        return FrozenMapping(values["items"])

    return Kind(_name(FrozenMapping), FrozenMapping, lambda obj: {"items": dict(obj)}, build)


_EXTRA: dict[str, Kind] = {}


def register_dataclass(cls: type, *, skip: tuple[str, ...] = ()) -> None:
    """Let bundles hold ``cls`` (a dataclass of plain values, arrays, frames and kinds).

    For results defined outside ``core`` (the app's cached page views); called once, when
    the module defining them is imported.
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls.__name__} is not a dataclass")
    kind = _dataclass_kind(cls, skip=skip)
    _EXTRA[kind.name] = kind


def _result_kinds() -> list[Kind]:
    """core's result dataclasses (imported here: these modules use the cache, which uses this
    module)."""
    from core import cleaning, dates, io, pipeline, schema  # noqa: PLC0415
    from core.clustering import (  # noqa: PLC0415
        compare,
        config,
        fit,
        hierarchical,
        profile,
        result,
        select_k,
        stability,
    )
    from core.features import FeatureConfig  # noqa: PLC0415

    classes = [
        result.SegmentationResult,
        fit.Segmentation,
        hierarchical.HierarchicalTree,
        profile.Overview,
        profile.SegmentProfile,
        profile.FeatureEffect,
        profile.TopProduct,
        profile.AutoName,
        config.PreprocessConfig,
        config.ModelConfig,
        config.SelectKConfig,
        config.StabilityConfig,
        select_k.KSelection,
        stability.StabilityReport,
        compare.Comparison,
        cleaning.CleaningConfig,
        cleaning.Audit,
        cleaning.ReasonStat,
        cleaning.CappingStat,
        dates.DateChoice,
        io.ReadReport,
        schema.RoleMapping,
        schema.SchemaReport,
        FeatureConfig,
    ]
    kinds = [_dataclass_kind(cls) for cls in classes]
    # The lines a table's reasons belong to are attached again by the reader; its product
    # lines' codes stay in the process that computed them (the reader reads lines back).
    kinds.append(_dataclass_kind(pipeline.CustomerTable, skip=("source", "product_codes")))
    kinds.append(_frozen_mapping_kind())
    return kinds


def _estimator_kinds() -> list[Kind]:
    """The fitted steps a segmentation holds, each with the fitted attributes it is rebuilt from."""
    from sklearn.cluster import HDBSCAN, KMeans, MiniBatchKMeans  # noqa: PLC0415
    from sklearn.decomposition import PCA  # noqa: PLC0415
    from sklearn.mixture import GaussianMixture  # noqa: PLC0415
    from sklearn.pipeline import Pipeline  # noqa: PLC0415
    from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler  # noqa: PLC0415

    from core.clustering import preprocess  # noqa: PLC0415

    kmeans = ("cluster_centers_", "labels_", "inertia_", "n_iter_", "n_features_in_")
    kmeans += ("_n_threads", "_n_features_out")
    estimators: dict[type, tuple[str, ...]] = {
        KMeans: kmeans,
        MiniBatchKMeans: (*kmeans, "n_steps_"),
        GaussianMixture: (
            *("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"),
            *("converged_", "n_iter_", "lower_bound_", "lower_bounds_", "n_features_in_"),
        ),
        HDBSCAN: ("labels_", "probabilities_", "n_features_in_"),
        StandardScaler: ("mean_", "var_", "scale_", "n_samples_seen_", "n_features_in_"),
        RobustScaler: ("center_", "scale_", "n_features_in_"),
        MinMaxScaler: (
            *("min_", "scale_", "data_min_", "data_max_", "data_range_"),
            *("n_samples_seen_", "n_features_in_"),
        ),
        PCA: (
            *("components_", "mean_", "explained_variance_", "explained_variance_ratio_"),
            *("singular_values_", "noise_variance_", "n_components_", "n_samples_"),
            *("n_features_in_", "_fit_svd_solver"),
        ),
        Pipeline: (),
        preprocess.MedianImputer: ("medians_", "n_imputed_"),
        preprocess.QuantileCapper: ("lower_", "upper_", "n_capped_"),
        preprocess.ConstantDropper: ("constant_", "constant_values_", "keep_"),
        preprocess.Log1pColumns: ("skewness_", "min_", "mask_"),
        preprocess.FeaturePreprocessor: (
            *("features_in_", "features_", "dropped_constant_", "log_features_"),
            *("medians_", "n_imputed_", "caps_", "pipeline_", "pca_", "warnings_"),
            "n_features_in_",
        ),
    }
    return [_estimator_kind(cls, fitted) for cls, fitted in estimators.items()]


@functools.cache
def _core_kinds() -> dict[str, Kind]:
    return {kind.name: kind for kind in (*_result_kinds(), *_estimator_kinds())}


def kinds() -> dict[str, Kind]:
    """Every kind a bundle may hold, by name."""
    return {**_core_kinds(), **_EXTRA}


def _kind_of(obj: object) -> Kind | None:
    return kinds().get(_name(type(obj)))


# ------------------------------------------------------------------------------------------
# Writing


class _Writer:
    def __init__(self) -> None:
        self.members: dict[str, bytes] = {}

    def member(self, prefix: str, suffix: str, data: bytes) -> str:
        name = f"{prefix}{len(self.members)}{suffix}"
        self.members[name] = data
        return name

    def encode(self, value: Any) -> Any:
        if value is None or isinstance(value, bool | str):
            return value
        if isinstance(value, int | float) and type(value) in (int, float):
            return value
        if isinstance(value, np.generic) and value.dtype.kind in _NUMBER_KINDS:
            return {"$": "number", "dtype": value.dtype.str, "value": value.item()}
        if isinstance(value, np.ndarray):
            return {"$": "array", "member": self.member("a", ".npy", _npy(value))}
        if isinstance(value, pl.DataFrame):
            return {"$": "frame", "member": self.member("t", ".arrow", _ipc(value))}
        if isinstance(value, pl.Series):
            data = _ipc(value.to_frame())
            return {"$": "series", "member": self.member("t", ".arrow", data)}
        if isinstance(value, dt.datetime):
            return {"$": "datetime", "iso": value.isoformat()}
        if isinstance(value, dt.date):
            return {"$": "date", "iso": value.isoformat()}
        if type(value) is list:
            return [self.encode(v) for v in value]
        if type(value) is tuple:
            return {"$": "tuple", "items": [self.encode(v) for v in value]}
        if type(value) is dict:
            items = [[self.encode(k), self.encode(v)] for k, v in value.items()]
            return {"$": "dict", "items": items}
        kind = _kind_of(value)
        if kind is None:
            raise UnsupportedValueError(f"a {type(value).__name__} has no data-only form")
        fields = {k: self.encode(v) for k, v in kind.fields(value).items()}
        return {"$": "object", "kind": kind.name, "fields": fields}


def _npy(array: np.ndarray) -> bytes:
    if array.dtype.kind not in _ARRAY_KINDS:
        raise UnsupportedValueError(f"an array of {array.dtype} has no data-only form")
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _ipc(frame: pl.DataFrame) -> bytes:
    if any(dtype == pl.Object for dtype in frame.dtypes):
        raise UnsupportedValueError("a frame with Python objects has no data-only form")
    buffer = io.BytesIO()
    frame.write_ipc(buffer)
    return buffer.getvalue()


def dumps(value: Any) -> bytes:
    """The bundle of ``value``.

    Raises
    ------
    UnsupportedValueError
        ``value`` or something it holds is of a kind bundles cannot hold.
    """
    writer = _Writer()
    document = json.dumps(writer.encode(value), allow_nan=True, separators=(",", ":"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(DOCUMENT, document.encode())
        for name, data in writer.members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------
# Reading


def loads(blob: bytes) -> Any:
    """The value of a bundle written by :func:`dumps`.

    Raises
    ------
    BundleError
        Not a bundle, or anything in it that :func:`dumps` does not write (nothing is built
        from a value of a kind it does not know).
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(blob))
        infos = archive.infolist()
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001  (zipfile raises many kinds on damaged input)
        raise BundleError(f"not a data bundle ({type(exc).__name__}: {exc})") from None
    names = [info.filename for info in infos]
    if DOCUMENT not in names or len(set(names)) != len(names):
        raise BundleError("not a data bundle (no single document)")
    for info in infos:
        if info.filename != DOCUMENT and not _MEMBER.fullmatch(info.filename):
            raise BundleError(f"unexpected member {info.filename!r}")
        if info.compress_type != zipfile.ZIP_STORED:
            raise BundleError(f"member {info.filename!r} is compressed")
    try:
        document = json.loads(archive.read(DOCUMENT))
        return _Reader(archive).decode(document, 0)
    except (BundleError, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001  (damaged members: zipfile, json, numbers)
        raise BundleError(f"unreadable bundle ({type(exc).__name__}: {exc})") from None


class _Reader:
    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive

    def member(self, value: dict[str, Any], suffix: str) -> io.BytesIO:
        _expect(value, member=str)
        name = value["member"]
        if not isinstance(name, str) or not name.endswith(suffix) or not _MEMBER.fullmatch(name):
            raise BundleError(f"bad member name {name!r}")
        try:
            return io.BytesIO(self.archive.read(name))
        except KeyError:
            raise BundleError(f"missing member {name!r}") from None

    def decode(self, value: Any, depth: int) -> Any:
        if depth > 200:
            raise BundleError("values nested too deeply")
        if value is None or isinstance(value, bool | str | int | float):
            return value
        if isinstance(value, list):
            return [self.decode(v, depth + 1) for v in value]
        if not isinstance(value, dict):
            raise BundleError(f"unexpected value {value!r}")
        tag = value.get("$")
        if tag == "tuple":
            _expect(value, items=list)
            return tuple(self.decode(v, depth + 1) for v in value["items"])
        if tag == "dict":
            _expect(value, items=list)
            return dict(self._pair(item, depth) for item in value["items"])
        if tag == "number":
            return _number(value)
        if tag == "array":
            return _array(self.member(value, ".npy"))
        if tag in ("frame", "series"):
            frame = _frame(self.member(value, ".arrow"))
            if tag == "frame":
                return frame
            if frame.width != 1:
                raise BundleError("a series member must hold one column")
            return frame.to_series()
        if tag in ("date", "datetime"):
            _expect(value, iso=str)
            parse = dt.datetime if tag == "datetime" else dt.date
            return parse.fromisoformat(value["iso"])
        if tag == "object":
            return self._object(value, depth)
        raise BundleError(f"unknown tag {tag!r}")

    def _pair(self, item: Any, depth: int) -> tuple[Any, Any]:
        if not isinstance(item, list) or len(item) != 2:
            raise BundleError("a dict item must be a [key, value] pair")
        key = self.decode(item[0], depth + 1)
        if not isinstance(key, str | int | float | bool | tuple | None):
            raise BundleError(f"unexpected dict key {key!r}")
        return key, self.decode(item[1], depth + 1)

    def _object(self, value: dict[str, Any], depth: int) -> Any:
        _expect(value, kind=str, fields=dict)
        kind = kinds().get(value["kind"])
        if kind is None:
            raise BundleError(f"unknown kind {value['kind']!r}")
        fields = {
            str(name): self.decode(field, depth + 1) for name, field in value["fields"].items()
        }
        try:
            return kind.build(fields)
        except BundleError:
            raise
        except Exception as exc:  # noqa: BLE001  (any failure to rebuild means unexpected content)
            raise BundleError(f"cannot rebuild a {kind.cls.__name__}: {exc}") from None


def _expect(tag: Mapping[str, Any], **keys: type) -> None:
    """``tag`` has exactly ``keys`` besides ``$``, each of the type given."""
    if set(tag) != {"$", *keys}:
        raise BundleError(f"tag {tag.get('$')!r} with unexpected keys {sorted(tag)}")
    for key, kind in keys.items():
        if not isinstance(tag[key], kind):
            raise BundleError(f"tag {tag.get('$')!r}: {key!r} is not a {kind.__name__}")


def _number(value: dict[str, Any]) -> np.generic:
    _expect(value, dtype=str, value=object)
    try:
        dtype = np.dtype(value["dtype"])
    except TypeError:
        dtype = None
    number = value["value"]
    if dtype is None or dtype.kind not in _NUMBER_KINDS or isinstance(number, list | dict | str):
        raise BundleError(f"unexpected number {value!r}")
    return dtype.type(number)  # type: ignore[no-any-return]


def _array(buffer: io.BytesIO) -> np.ndarray:
    try:
        array = np.lib.format.read_array(buffer, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise BundleError(f"unreadable array ({exc})") from None
    if array.dtype.kind not in _ARRAY_KINDS:
        raise BundleError(f"unexpected array of {array.dtype}")
    return array


def _frame(buffer: io.BytesIO) -> pl.DataFrame:
    try:
        return pl.read_ipc(buffer)
    except Exception as exc:  # noqa: BLE001  (Polars and Arrow raise many kinds of errors)
        raise BundleError(f"unreadable table ({type(exc).__name__})") from None
