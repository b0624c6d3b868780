"""Segment profiles, automatic names and every summary metric, computed once.

For each segment of a fitted :class:`~core.clustering.fit.Segmentation`:

* size, share of the clustered customers and of their revenue (net ``monetary``);
* mean and median of every numeric feature of the table, in original units;
* top countries (share of the segment's customers) and, when the transaction lines are given,
  top products (code + most frequent description) by revenue;
* the features that distinguish it most: the standardised effect size
  ``(segment mean - rest mean) / pooled sd`` on the clustering scale, with plain words;
* exemplar customers: the members nearest the segment centre in the scaled space;
* an automatic name that holds for its own figures: from its position in RFM score space
  (mean R, F, M scores of its members, :func:`core.rfm.score_rfm` with 5 bins over the same
  customers), the 11 names of :data:`core.rfm.RFM11` are ranked by their nearest code, and the
  first whose test (:data:`core.naming.NAME_TESTS`) holds for the segment's figures is taken;
  when none does, a plain name from its figures. Segments sharing a name get what tells them
  apart ("Champions, higher spend" / "Champions, lower spend"); never a number. With the
  reason, a one-sentence insight and an action.

The overall silhouette is computed here too (exact up to ``SILHOUETTE_SAMPLE`` customers, on a
seeded sample stratified by segment above), so the report, the CLI, the app charts and the
exports all show the same figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from core.clustering.config import SILHOUETTE_SAMPLE
from core.clustering.fit import Segmentation
from core.clustering.preprocess import EXCLUDED
from core.clustering.products import ProductLines, TopProduct, top_products
from core.clustering.select_k import silhouette_values, stratified_sample
from core.columns import (
    COUNTRY,
    CUSTOMER,
    NUMERIC_FEATURES,
)
from core.errors import ConfigError, SchemaError
from core.naming import (
    DIMS,
    Figures,
    Reference,
    descriptive_name,
    failed_conditions,
    name_holds,
    qualifiers,
    why,
)
from core.rfm import RFM11, RuleSet, format_code, score_rfm

SEGMENT = "segment"
MONETARY = "monetary"
N_COUNTRIES = 3
N_EXEMPLARS = 3
N_DISTINGUISHING = 3
# Effect sizes below this are not a distinguishing feature (Cohen's "small" threshold).
MIN_EFFECT = 0.2

# Plain words for a feature being higher / lower than for the other customers.
FEATURE_WORDS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "recency_days": ("bought longer ago", "bought more recently"),
        "tenure_days": ("have been customers for longer", "are newer customers"),
        "frequency": ("order more often", "order less often"),
        "gross": ("spend more before returns", "spend less before returns"),
        "returns_value": ("return more value", "return less value"),
        "monetary": ("spend more", "spend less"),
        "avg_order_value": ("place larger orders", "place smaller orders"),
        "n_products": ("buy a wider range of products", "buy fewer distinct products"),
        "avg_days_between_orders": ("wait longer between orders", "reorder sooner"),
        "return_rate": ("return a larger share of what they buy", "return a smaller share"),
    }
)

# How features are named in sentences.
FEATURE_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "recency_days": "days since the last order",
        "tenure_days": "days since the first order",
        "frequency": "orders",
        "gross": "spend before returns",
        "returns_value": "returned value",
        "monetary": "spend",
        "avg_order_value": "order value",
        "n_products": "distinct products",
        "avg_days_between_orders": "days between orders",
        "return_rate": "return rate",
    }
)

# Suggested marketing action per RFM11 segment name.
ACTIONS: Mapping[str, str] = MappingProxyType(
    {
        "Champions": "Reward them: loyalty perks, early access to new products, ask for reviews "
        "and referrals.",
        "Loyal Customers": "Upsell higher-value products, invite them to a loyalty programme, ask "
        "for reviews.",
        "Potential Loyalist": "Offer a membership or loyalty programme and recommend related "
        "products to turn them into regulars.",
        "New Customers": "Onboard them: a welcome series, an incentive for the second purchase, "
        "early support.",
        "Promising": "Build awareness of the range: personalised recommendations, free trials or "
        "samples.",
        "Need Attention": "Time-limited offers based on past purchases, before they slip away.",
        "About To Sleep": "Reconnect: share popular products and useful content, with a modest "
        "discount.",
        "At Risk": "Win-back: personalised emails with offers on what they used to buy, and a "
        "reason to return now.",
        "Can't Lose Them": "Win them back personally: a strong offer, a call or survey asking what "
        "went wrong.",
        "Hibernating": "Low-cost reactivation with relevant offers on popular products; otherwise "
        "keep contact light.",
        "Lost": "Try one low-cost broad revival campaign, then stop spending on them.",
    }
)


@dataclass(frozen=True)
class FeatureEffect:
    """How one clustering feature sets a segment apart from the other customers.

    ``effect`` is ``(segment mean - rest mean) / pooled sd`` on the clustering scale (after
    log and scaling), so skewed features are compared as the model saw them; the plain-words
    text quotes medians in original units, which agree in direction with it far more often
    than raw means of skewed features do.
    """

    feature: str
    effect: float
    segment_median: float | None
    rest_median: float | None
    text: str


@dataclass(frozen=True, eq=False)
class SegmentProfile:
    """Everything shown about one segment (figures in original units).

    ``auto_name`` is the automatic, unique name; the display name lives on the result
    (:attr:`core.clustering.result.SegmentationResult.names`) because users may edit it.
    """

    segment: int
    customers: int
    share: float
    revenue: float
    revenue_share: float
    silhouette: float | None
    means: dict[str, float | None]
    medians: dict[str, float | None]
    top_countries: tuple[tuple[str, float], ...]
    top_products: tuple[TopProduct, ...]
    distinguishing: tuple[FeatureEffect, ...]
    exemplars: tuple[str, ...]
    rfm_scores: tuple[float, float, float] | None
    rfm_code: str | None
    base_name: str
    auto_name: str
    name_reason: str
    insight: str
    action: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (used by the report)."""
        return {
            "segment": self.segment,
            "auto_name": self.auto_name,
            "base_name": self.base_name,
            "name_reason": self.name_reason,
            "customers": self.customers,
            "share": self.share,
            "revenue": self.revenue,
            "revenue_share": self.revenue_share,
            "silhouette": self.silhouette,
            "rfm_scores": None
            if self.rfm_scores is None
            else dict(zip(("r", "f", "m"), self.rfm_scores, strict=True)),
            "rfm_code": self.rfm_code,
            "insight": self.insight,
            "action": self.action,
            "means": self.means,
            "medians": self.medians,
            "top_countries": [{"country": c, "share": s} for c, s in self.top_countries],
            "top_products": [
                {
                    "product": p.product,
                    "description": p.description,
                    "revenue": p.revenue,
                    "share": p.share,
                }
                for p in self.top_products
            ],
            "distinguishing": [
                {
                    "feature": e.feature,
                    "effect": e.effect,
                    "segment_median": e.segment_median,
                    "rest_median": e.rest_median,
                    "text": e.text,
                }
                for e in self.distinguishing
            ],
            "exemplars": list(self.exemplars),
        }


@dataclass(frozen=True)
class Overview:
    """Figures about the whole segmentation."""

    customers: int  # clustered (noise included)
    excluded: int
    noise: int
    revenue: float  # total monetary of the clustered customers
    noise_share: float  # of the clustered customers that HDBSCAN left as noise (0 otherwise)
    noise_revenue_share: float  # of the revenue that those noise customers bring
    silhouette: float | None
    silhouette_note: str


# --- helpers ---------------------------------------------------------------------------------


def _pct(share: float) -> str:
    """A share as a percentage that never shows a non-zero share as 0%."""
    if share == 0 or share >= 0.01:
        return f"{share:.0%}"
    return f"{share:.1%}"


def _num(value: float) -> str:
    if not np.isfinite(value):
        return "n/a"
    if float(value).is_integer() or abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _float_or_none(value: object) -> float | None:
    if value is None:
        return None
    out = float(value)  # type: ignore[arg-type]
    return out if np.isfinite(out) else None


def clustered_frame(
    features: pl.DataFrame | pl.LazyFrame, segmentation: Segmentation
) -> pl.DataFrame:
    """The feature rows of the segmentation's customers, in its order, with ``segment``.

    Raises
    ------
    ConfigError
        The table's included customers are not those the segmentation was fitted on.
    """
    lf = features.lazy()
    names = lf.collect_schema().names()
    if EXCLUDED in names:
        lf = lf.filter(~pl.col(EXCLUDED).fill_null(False))
    frame = lf.sort(CUSTOMER).collect()
    ids = frame.get_column(CUSTOMER).cast(pl.String)
    if frame.height != segmentation.n or not ids.equals(
        pl.Series(CUSTOMER, segmentation.customer_ids, dtype=pl.String)
    ):
        raise ConfigError(
            f"the feature table has {frame.height:,} included customers that are not the "
            f"{segmentation.n:,} customers the segmentation was fitted on",
            hint="Profile a segmentation with the feature table it was fitted on.",
        )
    return frame.with_columns(pl.Series(SEGMENT, segmentation.labels, dtype=pl.Int64))


def _effects(
    x: np.ndarray, labels: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per segment and clustering feature: effect size, and the raw-free sums it comes from.

    Returns ``(effect, seg_mean, rest_mean)`` (k x d, on the clustering scale). ``rest`` is
    every other clustered customer (HDBSCAN noise included).
    """
    n, d = x.shape
    valid = labels >= 0
    lab = labels[valid]
    cnt = np.bincount(lab, minlength=k).astype(np.float64)
    s = np.empty((k, d))
    s2 = np.empty((k, d))
    for j in range(d):
        s[:, j] = np.bincount(lab, weights=x[valid, j], minlength=k)
        s2[:, j] = np.bincount(lab, weights=x[valid, j] ** 2, minlength=k)
    tot = x.sum(axis=0)
    tot2 = (x**2).sum(axis=0)
    n_rest = n - cnt
    with np.errstate(invalid="ignore", divide="ignore"):
        m1 = s / cnt[:, None]
        m2 = (tot[None, :] - s) / n_rest[:, None]
        ss1 = np.maximum(s2 - cnt[:, None] * m1**2, 0.0)
        ss2 = np.maximum((tot2[None, :] - s2) - n_rest[:, None] * m2**2, 0.0)
        pooled = np.sqrt((ss1 + ss2) / (n - 2))
        effect = np.where(pooled > 0, (m1 - m2) / pooled, 0.0)
    effect = np.where(np.isfinite(effect), effect, 0.0)
    return effect, m1, m2


def _strength(effect: float) -> str:
    size = abs(effect)
    if size >= 1.2:
        return "very large"
    if size >= 0.8:
        return "large"
    if size >= 0.5:
        return "moderate"
    return "small"


def _effect_text(
    feature: str, effect: float, seg_median: float | None, rest_median: float | None
) -> str:
    higher, lower = FEATURE_WORDS.get(
        feature, (f"have a higher {feature}", f"have a lower {feature}")
    )
    phrase = higher if effect > 0 else lower
    label = FEATURE_LABELS.get(feature, feature)
    figures = (
        f"median {label} {_num(seg_median)} vs {_num(rest_median)}; "
        if seg_median is not None and rest_median is not None
        else ""
    )
    return (
        f"{phrase[0].upper()}{phrase[1:]} than the other customers ({_strength(effect)} "
        f"difference: {figures}effect size {effect:+.1f} sd)"
    )


def _exemplars(
    x: np.ndarray, labels: np.ndarray, centres: np.ndarray, ids: np.ndarray, k: int
) -> list[tuple[str, ...]]:
    valid = np.flatnonzero(labels >= 0)
    lab = labels[valid]
    d2 = ((x[valid] - centres[lab]) ** 2).sum(axis=1)
    # Nearest first within each segment; ties by customer id (rows are sorted by id).
    order = np.lexsort((valid, d2, lab))
    lab_sorted = lab[order]
    starts = np.searchsorted(lab_sorted, np.arange(k), side="left")
    ends = np.searchsorted(lab_sorted, np.arange(k), side="right")
    return [
        tuple(ids[valid[order[s : min(e, s + N_EXEMPLARS)]]].tolist())
        for s, e in zip(starts, ends, strict=True)
    ]


def _silhouette(
    x: np.ndarray, labels: np.ndarray, k: int, *, random_state: int
) -> tuple[float | None, np.ndarray, str]:
    """Overall silhouette, its per-segment means, and how it was computed (noise left out)."""
    valid = np.flatnonzero(labels >= 0)
    per_segment = np.full(k, np.nan)
    lab = labels[valid]
    if np.unique(lab).size < 2:
        return None, per_segment, "silhouette undefined (fewer than two non-empty segments)"
    n = valid.size
    if n > SILHOUETTE_SAMPLE:
        rows = stratified_sample(lab, SILHOUETTE_SAMPLE, random_state=random_state)
        note = (
            f"silhouette computed on a sample of {rows.size:,} of {n:,} customers, stratified "
            f"by segment (seed {random_state})"
        )
    else:
        rows = np.arange(n)
        note = f"silhouette computed on all {n:,} customers"
    with threadpool_limits(limits=1):
        values = silhouette_values(x[valid[rows]], lab[rows])
    sums = np.bincount(lab[rows], weights=values, minlength=k)
    counts = np.bincount(lab[rows], minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_segment = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return float(values.mean()), per_segment, note


# --- names -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AutoName:
    """An automatic segment name and why it was chosen."""

    name: str
    base: str
    code: str | None
    reason: str


def ranked_names(
    scores: tuple[float, float, float], ruleset: RuleSet = RFM11
) -> list[tuple[str, tuple[int, ...]]]:
    """Every segment of ``ruleset`` with its code nearest (Euclidean) to mean scores ``(r, f, m)``,
    nearest first (ties: the segment listed first in the rule set, then the smallest code)."""
    point = np.asarray(scores, dtype=np.float64)
    best: list[tuple[float, int, tuple[int, ...], str]] = []
    for rank, segment in enumerate(ruleset.segments):
        dist, code = min(
            (round(float(np.sum((np.asarray(c, dtype=np.float64) - point) ** 2)), 12), c)
            for c in segment.codes
        )
        best.append((dist, rank, code, segment.name))
    return [(name, code) for _, _, code, name in sorted(best)]


def nearest_code(
    scores: tuple[float, float, float], ruleset: RuleSet = RFM11
) -> tuple[str, tuple[int, ...]]:
    """The rule-set segment and code nearest (Euclidean) to mean scores ``(r, f, m)``.

    Ties go to the segment listed first in the rule set, then the smallest code.
    """
    return ranked_names(scores, ruleset)[0]


def _first_name(
    scores: tuple[float, float, float] | None, figures: Figures | None, ref: Reference
) -> AutoName:
    """The nearest standard name whose test holds, else a plain name from the figures."""
    if figures is None:
        return AutoName("Empty segment", "Empty segment", None, "no customer is in this segment")
    if scores is None:
        plain = descriptive_name(figures)
        return AutoName(plain, plain, None, "RFM scores are not available; named after its figures")
    position = f"mean scores R {scores[0]:.1f}, F {scores[1]:.1f}, M {scores[2]:.1f}"
    ranked = ranked_names(scores)
    nearest, code = ranked[0]
    reason = f"{position}: nearest to the {nearest} code {format_code(code, RFM11.bins)}"
    failed = failed_conditions(nearest, figures, ref)
    if failed:
        reason += f", but {nearest} does not fit: {failed[0]}"
    for name, code in ranked:
        if name_holds(name, figures, ref):
            text = format_code(code, RFM11.bins)
            if name != nearest:
                reason += f"; the nearest name that fits is {name} (code {text})"
            return AutoName(name, name, text, f"{reason}. {name}: {why(name, figures, ref)}")
    plain = descriptive_name(figures)
    return AutoName(plain, plain, None, f"{reason}; no standard name fits: named after its figures")


def name_segments(
    rfm_scores: Sequence[tuple[float, float, float] | None],
    figures: Sequence[Figures | None],
    ref: Reference,
) -> list[AutoName]:
    """Unique automatic names for segments, each true of the segment's own figures.

    ``figures`` is None for an empty segment. Each segment gets the standard name nearest
    to its mean R, F, M scores whose test holds (:data:`core.naming.NAME_TESTS`), else a plain
    name from its figures. Segments sharing a standard name get what tells them apart
    (:func:`core.naming.qualifiers`, "Champions, higher spend" / "Champions, lower spend"),
    or plain names when nothing does; plain names that still collide add the spend, then
    the segment number.
    """
    names = [_first_name(s, f, ref) for s, f in zip(rfm_scores, figures, strict=True)]
    groups: dict[str, list[int]] = {}
    for i, auto in enumerate(names):
        groups.setdefault(auto.name.lower(), []).append(i)
    for members in groups.values():
        if len(members) < 2 or names[members[0]].code is None:
            continue
        group = [figures[i] for i in members]
        found = qualifiers([g for g in group if g is not None], ref)
        for i, qualifier in zip(members, found or [None] * len(members), strict=True):
            old, fig = names[i], figures[i]
            assert fig is not None  # only non-empty segments have a code
            if qualifier is None:
                plain = descriptive_name(fig)
                names[i] = replace(
                    old,
                    name=plain,
                    reason=f"{old.reason}; named after its median figures because "
                    f"{len(members)} segments fit {old.base} alike",
                )
            else:
                detail = (
                    f"{qualifier} than the other {old.base} segment"
                    if len(members) == 2
                    else f"{qualifier} (median), unlike the other {old.base} segments"
                )
                names[i] = replace(
                    old, name=f"{old.base}, {qualifier}", reason=f"{old.reason}; {detail}"
                )
    return _unique_names(names, figures)


def _unique_names(names: list[AutoName], figures: Sequence[Figures | None]) -> list[AutoName]:
    """Plain names that collide add the spend, then (last resort) the segment number."""
    for detail in (2, 3):
        counts: dict[str, int] = {}
        for auto in names:
            counts[auto.name.lower()] = counts.get(auto.name.lower(), 0) + 1
        for i, auto in enumerate(names):
            if counts[auto.name.lower()] < 2:
                continue
            fig = figures[i]
            if detail == 2 and fig is not None and auto.name == descriptive_name(fig):
                plain = descriptive_name(fig, detail=2)
                base = plain if auto.base == auto.name else auto.base
                names[i] = replace(auto, name=plain, base=base)
            elif detail == 3:
                names[i] = replace(auto, name=f"{auto.name} (segment {i})")
    return names


def _insight(
    customers: int,
    share: float,
    revenue_share: float,
    means: dict[str, float | None],
    medians: dict[str, float | None],
) -> str:
    text = f"{customers:,} customers ({_pct(share)}) bring {_pct(revenue_share)} of revenue"
    freq = means.get("frequency")
    recency = medians.get("recency_days")
    parts = []
    if freq is not None:
        parts.append(f"they ordered {freq:.1f} times on average")
    if recency is not None:
        parts.append(f"last {recency:.0f} days ago (median)")
    if parts:
        text += "; " + ", ".join(parts)
    return text + "."


# --- profiles --------------------------------------------------------------------------------


def build_profiles(
    segmentation: Segmentation,
    features: pl.DataFrame | pl.LazyFrame,
    *,
    lines: pl.DataFrame | pl.LazyFrame | ProductLines | None = None,
) -> tuple[tuple[SegmentProfile, ...], Overview]:
    """Profile every segment of ``segmentation`` and compute the overall figures.

    Parameters
    ----------
    segmentation:
        A fit of ``features`` (same included customers).
    features:
        The customer feature table it was fitted on (``core.columns.FEATURE_SCHEMA``; needs
        ``monetary``).
    lines:
        Optional transaction lines (``customer_id``, ``product``, ``description``, ``amount``)
        for the top products: ``CustomerTable.product_lines`` (purchases and returns) ranks
        products by net revenue; or those lines in a :class:`ProductLines`, which a caller
        profiling several fits of one table keeps so as to encode them once.
    """
    frame = clustered_frame(features, segmentation)
    if MONETARY not in frame.columns:
        raise SchemaError(
            f"the feature table has no {MONETARY!r} column, needed for revenue shares",
            hint="Pass the customer feature table produced by core.features.",
        )
    k = segmentation.k
    labels = segmentation.labels
    numeric = [c for c in NUMERIC_FEATURES if c in frame.columns]
    in_segment = frame.filter(pl.col(SEGMENT) >= 0)
    by_segment = _segment_stats(in_segment, numeric)
    total_revenue = float(frame.get_column(MONETARY).sum())
    countries = _top_countries(in_segment, segmentation)
    products: list[tuple[TopProduct, ...]] = [() for _ in range(k)]
    if lines is not None:
        encoded = lines if isinstance(lines, ProductLines) else ProductLines(lines)
        products = top_products(encoded, segmentation.customer_ids, labels, k)
    rfm_scores = _rfm_positions(frame, k)
    x = segmentation.X
    sil, sil_seg, sil_note = _silhouette(
        x, labels, k, random_state=segmentation.model_config.random_state
    )
    exemplars = _exemplars(x, labels, segmentation.centers_scaled, segmentation.customer_ids, k)
    auto = name_segments(rfm_scores, _figures(by_segment, k), Reference.of(frame))
    moments = [_moments(by_segment.get(s), numeric) for s in range(k)]
    distinguishing = _distinguishing(frame, segmentation, [medians for _, medians in moments])
    profiles: list[SegmentProfile] = []
    for s, name in enumerate(auto):
        size = int(segmentation.sizes[s])
        revenue = float(by_segment[s]["__revenue"]) if s in by_segment else 0.0
        means, medians = moments[s]
        share = size / frame.height if frame.height else 0.0
        revenue_share = revenue / total_revenue if total_revenue else 0.0
        profiles.append(
            SegmentProfile(
                segment=s,
                customers=size,
                share=share,
                revenue=revenue,
                revenue_share=revenue_share,
                silhouette=_float_or_none(sil_seg[s]),
                means=means,
                medians=medians,
                top_countries=tuple(countries[s]),
                top_products=products[s],
                distinguishing=distinguishing[s],
                exemplars=exemplars[s],
                rfm_scores=rfm_scores[s],
                rfm_code=name.code,
                base_name=name.base,
                auto_name=name.name,
                name_reason=name.reason,
                insight=_insight(size, share, revenue_share, means, medians),
                action=ACTIONS.get(name.base, "Review this segment's profile to decide an action."),
            )
        )
    overview = _overview(frame, segmentation, total_revenue, sil, sil_note)
    return tuple(profiles), overview


def _segment_stats(in_segment: pl.DataFrame, numeric: list[str]) -> dict[int, dict[str, Any]]:
    """Per segment: ``__n``, ``__revenue`` and the mean and median of each ``numeric``."""
    stats = (
        in_segment.lazy()
        .group_by(SEGMENT)
        .agg(
            pl.len().alias("__n"),
            pl.col(MONETARY).sum().alias("__revenue"),
            *[pl.col(c).cast(pl.Float64).mean().alias(f"mean:{c}") for c in numeric],
            *[pl.col(c).cast(pl.Float64).median().alias(f"median:{c}") for c in numeric],
        )
        .sort(SEGMENT)
        .collect()
    )
    return {row[SEGMENT]: row for row in stats.iter_rows(named=True)}


def _moments(
    row: Mapping[str, Any] | None, numeric: list[str]
) -> tuple[dict[str, float | None], dict[str, float | None]]:
    """A segment's means and medians from its :func:`_segment_stats` row (None: empty)."""
    means = {c: _float_or_none(row[f"mean:{c}"]) if row else None for c in numeric}
    medians = {c: _float_or_none(row[f"median:{c}"]) if row else None for c in numeric}
    return means, medians


def _top_countries(
    in_segment: pl.DataFrame, segmentation: Segmentation
) -> list[list[tuple[str, float]]]:
    """Each segment's :data:`N_COUNTRIES` most frequent countries with their share."""
    countries: list[list[tuple[str, float]]] = [[] for _ in range(segmentation.k)]
    if COUNTRY not in in_segment.columns:
        return countries
    top_c = (
        in_segment.lazy()
        .filter(pl.col(COUNTRY).is_not_null())
        .group_by(SEGMENT, COUNTRY)
        .agg(pl.len().alias("__c"))
        .sort([SEGMENT, "__c", COUNTRY], descending=[False, True, False])
        .group_by(SEGMENT, maintain_order=True)
        .head(N_COUNTRIES)
        .collect()
    )
    for row in top_c.iter_rows(named=True):
        size = segmentation.sizes[row[SEGMENT]]
        countries[row[SEGMENT]].append((str(row[COUNTRY]), float(row["__c"] / size)))
    return countries


def _rfm_positions(frame: pl.DataFrame, k: int) -> list[tuple[float, float, float] | None]:
    """Each segment's mean R, F and M scores, ranked among exactly the clustered customers
    (None without the RFM columns or for an empty segment)."""
    rfm_cols = ("recency_days", "frequency", MONETARY)
    rfm_scores: list[tuple[float, float, float] | None] = [None] * k
    if not all(c in frame.columns for c in rfm_cols):
        return rfm_scores
    scored = score_rfm(
        frame.select(CUSTOMER, *rfm_cols, SEGMENT).with_columns(pl.lit(False).alias(EXCLUDED))
    )
    rfm = (
        scored.lazy()
        .filter(pl.col(SEGMENT) >= 0)
        .group_by(SEGMENT)
        .agg(pl.col("r_score", "f_score", "m_score").cast(pl.Float64).mean())
        .collect()
    )
    for row in rfm.iter_rows(named=True):
        rfm_scores[row[SEGMENT]] = (row["r_score"], row["f_score"], row["m_score"])
    return rfm_scores


def _distinguishing(
    frame: pl.DataFrame,
    segmentation: Segmentation,
    medians: Sequence[Mapping[str, float | None]],
) -> list[tuple[FeatureEffect, ...]]:
    """Each segment's :data:`N_DISTINGUISHING` strongest effects of at least
    :data:`MIN_EFFECT`, with the segment's and the rest's medians (``medians``: the
    segments')."""
    k = segmentation.k
    effect, _, _ = _effects(segmentation.X, segmentation.labels, k)
    used = segmentation.preprocessor.features_
    top_effects = [
        [
            int(j)
            for j in np.argsort(-np.abs(effect[s]), kind="stable")[:N_DISTINGUISHING]
            if abs(effect[s, j]) >= MIN_EFFECT
        ]
        for s in range(k)
    ]
    rest_medians = _rest_medians(frame, [(s, used[j]) for s in range(k) for j in top_effects[s]])
    return [
        tuple(
            FeatureEffect(
                feature=used[j],
                effect=float(effect[s, j]),
                segment_median=medians[s].get(used[j]),
                rest_median=rest_medians.get((s, used[j])),
                text=_effect_text(
                    used[j],
                    float(effect[s, j]),
                    medians[s].get(used[j]),
                    rest_medians.get((s, used[j])),
                ),
            )
            for j in top_effects[s]
        )
        for s in range(k)
    ]


def _overview(
    frame: pl.DataFrame,
    segmentation: Segmentation,
    total_revenue: float,
    silhouette: float | None,
    note: str,
) -> Overview:
    """The overall figures of the clustered customers (``frame``: :func:`clustered_frame`)."""
    n = frame.height
    noise_revenue = float(frame.filter(pl.col(SEGMENT) < 0).get_column(MONETARY).sum())
    return Overview(
        customers=n,
        excluded=segmentation.n_excluded,
        noise=segmentation.n_noise,
        noise_share=segmentation.n_noise / n if n else 0.0,
        noise_revenue_share=noise_revenue / total_revenue if total_revenue else 0.0,
        revenue=total_revenue,
        silhouette=silhouette,
        silhouette_note=note,
    )


def _figures(by_segment: Mapping[int, dict[str, Any]], k: int) -> list[Figures | None]:
    """Each segment's mean and median per naming dimension (None for an empty segment)."""
    out: list[Figures | None] = []
    for s in range(k):
        row = by_segment.get(s)
        if row is None:
            out.append(None)
            continue
        stats = {
            stat: {
                dim: float(row[f"{stat}:{column}"])
                for dim, (column, _) in DIMS.items()
                if row.get(f"{stat}:{column}") is not None
            }
            for stat in ("mean", "median")
        }
        out.append(Figures(mean=stats["mean"], median=stats["median"]))
    return out


def _rest_medians(
    frame: pl.DataFrame, pairs: list[tuple[int, str]]
) -> dict[tuple[int, str], float | None]:
    """Median of each feature over the clustered customers outside each segment (one query)."""
    if not pairs:
        return {}
    row = frame.select(
        pl.col(feature)
        .filter(pl.col(SEGMENT) != segment)
        .cast(pl.Float64)
        .median()
        .alias(f"{segment}:{feature}")
        for segment, feature in pairs
    ).row(0)
    return {pair: _float_or_none(v) for pair, v in zip(pairs, row, strict=True)}
