"""A fitted, profiled and named segmentation: the one object every consumer reads.

:class:`SegmentationResult` bundles the fit (:class:`~core.clustering.fit.Segmentation`), the
segment profiles and overall figures (:mod:`core.clustering.profile`), the display names and
colour indices, and the keys that identify it. Sizes, shares, revenue and silhouette are
computed once, when the result is built; the report, the CLI, the app's charts and the exports
all read them from here (:meth:`SegmentationResult.segment_table`, :func:`report`).

Results are immutable: :func:`rename` returns an updated copy, and :func:`carry_identity`
gives a refit the names the user typed for the segments it continues.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import polars as pl

from core.cache import library_versions
from core.clustering.fit import Segmentation, match_labels
from core.clustering.products import ProductLines
from core.clustering.profile import Overview, SegmentProfile, build_profiles
from core.columns import CUSTOMER
from core.errors import ConfigError
from core.naming import color_indices

NOISE_NAME = "Noise (no segment)"
MAX_NAME_LENGTH = 60


@dataclass(frozen=True, eq=False)
class SegmentationResult:
    """A segmentation with its profiles, names and identity.

    Attributes
    ----------
    segmentation:
        The fit (customers sorted by id; segment 0 has the highest mean monetary).
    profiles:
        One :class:`~core.clustering.profile.SegmentProfile` per segment, indexed by segment.
    overview:
        Customers, excluded, noise, total revenue and silhouette of the whole fit.
    names:
        Display name per segment (automatic names, or carried over / edited ones); unique.
    colors:
        Colour index per segment, keyed by its name (:func:`core.naming.color_indices`), so a
        name has one colour in every fit and rule set; a name the user typed keeps the colour
        of the segment it was typed on (the app maps indices to actual colours).
    data_key:
        Identity of the input data (file content + mapping + cleaning + feature configs).
    key:
        Cache key of this result: data key + preprocessing and model configs + library
        versions.
    library_versions:
        Versions of the libraries that produced it.
    previous_segment:
        After :func:`carry_identity`: for each segment, the previous segment it continues
        (None for a new segment); None when no previous result was given.
    """

    segmentation: Segmentation
    profiles: tuple[SegmentProfile, ...]
    overview: Overview
    names: tuple[str, ...]
    colors: tuple[int, ...]
    data_key: str
    key: str
    library_versions: dict[str, str]
    previous_segment: tuple[int | None, ...] | None = None

    @classmethod
    def named(
        cls,
        segmentation: Segmentation,
        features: pl.DataFrame | pl.LazyFrame,
        *,
        data_key: str,
        key: str,
        lines: pl.DataFrame | pl.LazyFrame | ProductLines | None = None,
    ) -> SegmentationResult:
        """A fresh fit with its profiles (:func:`~core.clustering.profile.build_profiles`),
        automatic names and their colours: the one way both engines make a result."""
        profiles, overview = build_profiles(segmentation, features, lines=lines)
        names = tuple(p.auto_name for p in profiles)
        return cls(
            segmentation=segmentation,
            profiles=profiles,
            overview=overview,
            names=names,
            colors=color_indices(names),
            data_key=data_key,
            key=key,
            library_versions=library_versions(),
        )

    @property
    def k(self) -> int:
        """Number of segments (HDBSCAN noise excluded)."""
        return self.segmentation.k

    def name_of(self, segment: int) -> str:
        """Display name of ``segment`` (``NOISE_NAME`` for -1)."""
        if segment == -1 and self.segmentation.n_noise:
            return NOISE_NAME
        _check_segment(self, segment)
        return self.names[segment]

    def segment_table(self) -> pl.DataFrame:
        """One row per segment: the figures every view shows, in canonical order.

        Columns: ``segment``, ``name``, ``color``, ``customers``, ``share``, ``revenue``,
        ``revenue_share``, ``silhouette``, ``auto_name``, ``name_reason``, ``insight``,
        ``action``.
        """
        return pl.DataFrame(
            {
                "segment": [p.segment for p in self.profiles],
                "name": list(self.names),
                "color": list(self.colors),
                "customers": [p.customers for p in self.profiles],
                "share": [p.share for p in self.profiles],
                "revenue": [p.revenue for p in self.profiles],
                "revenue_share": [p.revenue_share for p in self.profiles],
                "silhouette": [p.silhouette for p in self.profiles],
                "auto_name": [p.auto_name for p in self.profiles],
                "name_reason": [p.name_reason for p in self.profiles],
                "insight": [p.insight for p in self.profiles],
                "action": [p.action for p in self.profiles],
            },
            schema={
                "segment": pl.Int64(),
                "name": pl.String(),
                "color": pl.Int64(),
                "customers": pl.Int64(),
                "share": pl.Float64(),
                "revenue": pl.Float64(),
                "revenue_share": pl.Float64(),
                "silhouette": pl.Float64(),
                "auto_name": pl.String(),
                "name_reason": pl.String(),
                "insight": pl.String(),
                "action": pl.String(),
            },
        )

    def assignments(self) -> pl.DataFrame:
        """``customer_id``, ``segment`` (Int64, -1 = noise) and ``segment_name``, by id."""
        seg = self.segmentation
        lookup = np.array([*self.names, NOISE_NAME], dtype=object)
        return pl.DataFrame(
            {
                CUSTOMER: seg.customer_ids,
                "segment": seg.labels,
                "segment_name": lookup[seg.labels].tolist(),
            },
            schema={CUSTOMER: pl.String(), "segment": pl.Int64(), "segment_name": pl.String()},
        )


def _check_segment(result: SegmentationResult, segment: object) -> int:
    if isinstance(segment, bool) or not isinstance(segment, int | np.integer):
        raise ConfigError(
            f"segment must be a segment number, got {segment!r}",
            hint=f"Use 0..{result.k - 1}.",
        )
    if not 0 <= int(segment) < result.k:
        raise ConfigError(
            f"there is no segment {int(segment)} (segments are 0..{result.k - 1})",
            hint=f"Use 0..{result.k - 1}.",
        )
    return int(segment)


def rename(result: SegmentationResult, segment: int, new_name: str) -> SegmentationResult:
    """A copy of ``result`` with ``segment`` displayed as ``new_name``.

    Raises
    ------
    ConfigError
        No such segment; an empty, too long or non-text name; or a name another segment
        already has (compared case-insensitively).
    """
    index = _check_segment(result, segment)
    if not isinstance(new_name, str):
        raise ConfigError(
            f"a segment name must be text, got {new_name!r}", hint="e.g. 'Big spenders'."
        )
    name = " ".join(new_name.split())
    if not name:
        raise ConfigError(
            "a segment name cannot be empty", hint="Type a name, e.g. 'Big spenders'."
        )
    if len(name) > MAX_NAME_LENGTH:
        raise ConfigError(
            f"segment name {name[:20]!r}... is {len(name)} characters long "
            f"(at most {MAX_NAME_LENGTH})",
            hint="Use a shorter name.",
        )
    if name == NOISE_NAME:
        raise ConfigError(f"{NOISE_NAME!r} is reserved", hint="Choose another name.")
    clash = [
        i for i, other in enumerate(result.names) if i != index and other.lower() == name.lower()
    ]
    if clash:
        raise ConfigError(
            f"segment {clash[0]} is already named {result.names[clash[0]]!r}",
            hint="Segment names must be unique; choose another name or rename that one first.",
        )
    names = list(result.names)
    names[index] = name
    return replace(result, names=tuple(names))


def _unique(name: str, taken: set[str]) -> str:
    lowered = {t.lower() for t in taken}
    if name.lower() not in lowered:
        return name
    number = 2
    while f"{name} {number}".lower() in lowered:
        number += 1
    return f"{name} {number}"


def carry_identity(result: SegmentationResult, previous: SegmentationResult) -> SegmentationResult:
    """Give ``result``'s segments the names the user gave the ``previous`` segments they continue.

    Segments are matched with :func:`core.clustering.fit.match_labels` (most shared customers,
    or nearest centres when no customer is shared). A name the user typed carries over with
    its colour; an automatic name never does: it was true of the previous segment's figures,
    and the segment it continues may differ (at k = 2 the cluster holding 86% of the revenue
    is not the previous fit's "Potential Loyalist"), so every other segment keeps its own
    automatic name and its colour keyed by that name (:func:`core.naming.color_indices`).
    """
    mapping = match_labels(previous.segmentation, result.segmentation)
    k = result.k
    names: list[str | None] = [None] * k
    colors: list[int | None] = [None] * k
    for current, prev in mapping.items():
        if prev is not None and previous.names[prev] != previous.profiles[prev].auto_name:
            names[current] = previous.names[prev]
            colors[current] = previous.colors[prev]
    taken_names = {n for n in names if n is not None}
    own = [s for s in range(k) if names[s] is None]
    for s in own:
        names[s] = _unique(result.profiles[s].auto_name, taken_names)
        taken_names.add(names[s])  # type: ignore[arg-type]
    taken = [c for c in colors if c is not None]
    for s, color in zip(own, color_indices([names[s] for s in own], taken=taken), strict=True):  # type: ignore[misc]
        colors[s] = color
    return replace(
        result,
        names=tuple(n for n in names if n is not None),
        colors=tuple(c for c in colors if c is not None),
        previous_segment=tuple(mapping[s] for s in range(k)),
    )


def report(
    result: SegmentationResult,
    *,
    selection: Any | None = None,
    stability: Any | None = None,
    k_reason: str | None = None,
) -> dict[str, Any]:
    """JSON-ready report: method, overall figures, k choice, stability and every profile.

    Parameters
    ----------
    selection:
        A :class:`core.clustering.select_k.KSelection` (its table and recommendation).
    stability:
        A :class:`core.clustering.stability.StabilityReport`.
    k_reason:
        Why this k was used (default: the selection's reason, or "set by the user").
    """
    seg = result.segmentation
    out: dict[str, Any] = {
        "method": seg.method,
        "description": seg.description,
        "algorithm": seg.model_config.algorithm,
        "features": list(seg.preprocessor.features_),
        "features_requested": list(seg.preprocessor.features_in_),
        "dropped_constant_features": list(seg.preprocessor.dropped_constant_),
        "log_features": list(seg.preprocessor.log_features_),
        "scaler": seg.preprocess_config.scaler,
        "k": result.k,
        "customers": result.overview.customers,
        "excluded": result.overview.excluded,
        "noise": result.overview.noise,
        "noise_share": result.overview.noise_share,
        "noise_revenue_share": result.overview.noise_revenue_share,
        "revenue": result.overview.revenue,
        "silhouette": result.overview.silhouette,
        "silhouette_note": result.overview.silhouette_note,
        "warnings": list(seg.warnings),
        "data_key": result.data_key,
        "key": result.key,
        "library_versions": dict(result.library_versions),
    }
    if selection is not None:
        out["k_selection"] = {
            "table": selection.table.to_dicts(),
            "recommended_k": selection.recommended_k,
            "reason": selection.reason,
            "disagreement": selection.disagreement,
            "picks": dict(selection.picks),
            "knee": selection.knee,
            "silhouette_note": selection.silhouette_note,
            "fit_note": selection.fit_note,
        }
    if k_reason is None:
        k_reason = selection.reason if selection is not None else f"k = {result.k} set by the user"
    out["k_reason"] = k_reason
    if stability is not None:
        out["stability"] = {
            "method": stability.method,
            "runs": stability.n_runs,
            "ari_mean": stability.ari_mean,
            "ari_std": stability.ari_std,
            "rating": stability.rating,
            "per_segment": stability.per_segment.to_dicts(),
            "borderline_customers": int(stability.borderline.height),
            "silhouette_kind": stability.silhouette_kind,
            "summary": stability.describe(result.names),
        }
    out["segments"] = [
        {"name": name, "color": color, **profile.to_dict()}
        for name, color, profile in zip(result.names, result.colors, result.profiles, strict=True)
    ]
    return _json_safe(out)


def _json_safe(value: Any) -> Any:
    """Plain JSON values: NaN and infinities become None, numpy scalars Python numbers."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
