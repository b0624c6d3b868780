"""RFM scores and named segment rule sets.

Scoring
-------
Each of recency, frequency and monetary is scored 1..``bins`` (default 5: quintiles) among the
customers that are not ``excluded``; excluded customers keep their row with null scores, null
``rfm_code`` and a null segment (their ``exclusion_reason`` says why).

The method is rank-based and tie-safe: with ``n`` scored customers and ``rank_min`` the 1-based
rank of a value where ties share their lowest rank,

    score = 1 + floor(bins * (rank_min - 1) / n)

i.e. the score is the bin of the share of customers with a strictly smaller value. Equal values
always get equal scores (many customers with frequency 1 all score 1), scores never decrease as
the value grows, the smallest value scores 1, and with distinct values each score holds n/bins
customers. When one value holds more than a bin's worth of customers, the next score(s) are
skipped rather than splitting the tie. Recency is ranked in descending order of
``recency_days``, so the most recent customers score highest.

``rfm_code`` concatenates the scores ("545"); with 10 bins they are joined by "-" ("10-3-7").

Rule sets
---------
A :class:`RuleSet` maps every score code over its dimensions (R, F, M or just R, F) to exactly
one named segment; construction validates that and a :class:`ConfigError` names the gaps and
the overlaps. Built in: :data:`RULESETS` ``"rfm11"`` (11 segments over the 125 R x F x M codes)
and ``"rf_grid"`` (10 segments on the 25 R x F cells). Custom sets load from JSON or YAML
(:func:`load_ruleset`, format in :func:`parse_ruleset`).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import polars as pl
import yaml

from core.columns import CUSTOMER
from core.errors import ConfigError, SchemaError

DIMENSIONS: tuple[str, ...] = ("r", "f", "m")
SCORE_COLUMNS: Mapping[str, str] = MappingProxyType(
    {"r": "r_score", "f": "f_score", "m": "m_score"}
)
VALUE_COLUMNS: Mapping[str, str] = MappingProxyType(
    {"r": "recency_days", "f": "frequency", "m": "monetary"}
)
CODE = "rfm_code"
SEGMENT = "segment"
MIN_BINS, MAX_BINS = 2, 10

Code = tuple[int, ...]


# --- scoring ---------------------------------------------------------------------------------


def _check_bins(bins: object) -> int:
    if isinstance(bins, bool) or not isinstance(bins, int) or not MIN_BINS <= bins <= MAX_BINS:
        raise ConfigError(
            f"bins must be a whole number from {MIN_BINS} to {MAX_BINS}, got {bins!r}",
            hint="Use 5 for quintiles (the usual RFM scores), or 3, 4 or 10.",
        )
    return bins


def rank_score(value: pl.Expr, *, bins: int, descending: bool = False) -> pl.Expr:
    """Tie-safe 1..bins score of ``value`` among its non-null entries (null stays null)."""
    rank_min = value.rank(method="min", descending=descending)
    n = value.count()
    return ((rank_min.cast(pl.Int64) - 1) * bins // n + 1).cast(pl.Int64)


def _code_expr(bins: int) -> pl.Expr:
    sep = "" if bins < 10 else "-"
    return pl.concat_str(
        [pl.col(SCORE_COLUMNS[d]).cast(pl.String) for d in DIMENSIONS], separator=sep
    ).alias(CODE)


def format_code(code: Code, bins: int) -> str:
    """The ``rfm_code`` string of a score tuple (e.g. (5, 4, 5) -> "545")."""
    return ("" if bins < 10 else "-").join(str(s) for s in code)


def score_rfm(features: pl.DataFrame | pl.LazyFrame, *, bins: int = 5) -> pl.DataFrame:
    """Add ``r_score``, ``f_score``, ``m_score`` (Int64, 1..bins) and ``rfm_code`` (String).

    Only customers with ``excluded == False`` are ranked; excluded customers get nulls.
    Row order is preserved.
    """
    bins = _check_bins(bins)
    lazy = features.lazy()
    needed = [CUSTOMER, *VALUE_COLUMNS.values(), "excluded"]
    missing = [c for c in needed if c not in lazy.collect_schema()]
    if missing:
        raise SchemaError(
            f"the feature table lacks columns {missing} needed for RFM scores",
            hint="Pass the table produced by core.features.compute_features.",
        )
    scored = ~pl.col("excluded").fill_null(False)
    scores = [
        rank_score(
            pl.when(scored).then(pl.col(VALUE_COLUMNS[d])),
            bins=bins,
            descending=(d == "r"),
        ).alias(SCORE_COLUMNS[d])
        for d in DIMENSIONS
    ]
    return lazy.with_columns(scores).with_columns(_code_expr(bins)).collect()


def score_ranges(features: pl.DataFrame | pl.LazyFrame, *, bins: int = 5) -> pl.DataFrame:
    """The values behind each score: what a relative score means on this data.

    One row per ``score`` 1..bins with, per dimension ``d`` of r, f, m, ``{d}_min`` and
    ``{d}_max``: the smallest and largest ``recency_days``, ``frequency`` and ``monetary`` of
    the scored customers with that score (null when none has it: a tie larger than a bin
    skips scores).
    """
    scored = score_rfm(features, bins=bins).filter(pl.col(SCORE_COLUMNS["r"]).is_not_null())
    out = pl.DataFrame({"score": list(range(1, bins + 1))}, schema={"score": pl.Int64()})
    for d in DIMENSIONS:
        value = pl.col(VALUE_COLUMNS[d]).cast(pl.Float64)
        ranges = scored.group_by(pl.col(SCORE_COLUMNS[d]).alias("score")).agg(
            value.min().alias(f"{d}_min"), value.max().alias(f"{d}_max")
        )
        out = out.join(ranges, on="score", how="left", maintain_order="left")
    return out


# --- rule sets -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """A named set of score codes (tuples over the rule set's dimensions)."""

    name: str
    codes: frozenset[Code]
    description: str = ""


def _all_codes(dims: Sequence[str], bins: int) -> list[Code]:
    return list(itertools.product(range(1, bins + 1), repeat=len(dims)))


@dataclass(frozen=True)
class RuleSet:
    """Named segments that partition every score code over ``dims`` with ``bins`` scores.

    Raises :class:`ConfigError` (naming gaps and overlaps) unless each code is in exactly one
    segment.
    """

    name: str
    dims: tuple[str, ...]
    bins: int
    segments: tuple[Segment, ...]

    def __post_init__(self) -> None:
        _check_bins(self.bins)
        if (
            not self.dims
            or any(d not in DIMENSIONS for d in self.dims)
            or (len(set(self.dims)) != len(self.dims))
        ):
            raise ConfigError(
                f"rule set {self.name!r}: dims must be distinct letters from r, f, m, "
                f"got {list(self.dims)}",
                hint='Use ["r", "f", "m"] or ["r", "f"].',
            )
        names = [s.name for s in self.segments]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if not self.segments or repeated or any(not n.strip() for n in names):
            raise ConfigError(
                f"rule set {self.name!r}: segment names must be non-empty and unique"
                + (f"; repeated: {repeated}" if repeated else ""),
                hint="Give every segment its own name.",
            )
        width = len(self.dims)
        bad = sorted(
            {
                format_code(c, self.bins) if len(c) == width else repr(c)
                for s in self.segments
                for c in s.codes
                if len(c) != width or any(not 1 <= v <= self.bins for v in c)
            }
        )
        if bad:
            raise ConfigError(
                f"rule set {self.name!r}: codes outside {width} scores of 1..{self.bins}: "
                + ", ".join(bad),
                hint=f"Each code needs one score from 1 to {self.bins} per dimension "
                f"({', '.join(d.upper() for d in self.dims)}).",
            )
        owners: dict[Code, list[str]] = {}
        for segment in self.segments:
            for code in segment.codes:
                owners.setdefault(code, []).append(segment.name)
        gaps = [c for c in _all_codes(self.dims, self.bins) if c not in owners]
        overlaps = {c: o for c, o in sorted(owners.items()) if len(o) > 1}
        if gaps or overlaps:
            parts = []
            if gaps:
                parts.append(
                    f"{len(gaps)} code(s) in no segment: "
                    + ", ".join(format_code(c, self.bins) for c in gaps)
                )
            if overlaps:
                parts.append(
                    f"{len(overlaps)} code(s) in several segments: "
                    + "; ".join(
                        f"{format_code(c, self.bins)} in {' and '.join(o)}"
                        for c, o in overlaps.items()
                    )
                )
            dims = " x ".join(d.upper() for d in self.dims)
            raise ConfigError(
                f"rule set {self.name!r} is not a partition of the {self.bins}^{width} "
                f"{dims} score codes: " + "; ".join(parts),
                hint="Put every code in exactly one segment.",
            )

    @property
    def segment_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.segments)

    def segment_of(self, code: Code) -> str:
        """The segment holding ``code`` (a tuple over ``dims``)."""
        for segment in self.segments:
            if tuple(code) in segment.codes:
                return segment.name
        raise ConfigError(
            f"code {code!r} is not a {len(self.dims)}-score code of rule set {self.name!r}",
            hint=f"Scores run from 1 to {self.bins}.",
        )

    def to_frame(self) -> pl.DataFrame:
        """One row per code: the score columns of ``dims`` and ``segment``."""
        rows = [(*code, s.name) for s in self.segments for code in sorted(s.codes)]
        schema = {SCORE_COLUMNS[d]: pl.Int64 for d in self.dims} | {SEGMENT: pl.String}
        return pl.DataFrame(rows, schema=schema, orient="row")

    def to_dict(self) -> dict[str, Any]:
        """The JSON/YAML form read by :func:`parse_ruleset` (codes as lists of scores)."""
        return {
            "name": self.name,
            "dims": list(self.dims),
            "bins": self.bins,
            "segments": [
                {
                    "name": s.name,
                    "description": s.description,
                    "codes": [list(c) for c in sorted(s.codes)],
                }
                for s in self.segments
            ],
        }


def _parse_code(raw: object, width: int, where: str) -> Code:
    if isinstance(raw, str):
        text = raw.strip()
        parts = text.split("-") if "-" in text else list(text)
        try:
            code = tuple(int(p) for p in parts)
        except ValueError:
            raise ConfigError(
                f"{where}: cannot read score code {raw!r}",
                hint='Write codes as digit strings ("545"), "10-3-7", or lists [5, 4, 5].',
            ) from None
    elif isinstance(raw, Sequence) and all(
        isinstance(v, int) and not isinstance(v, bool) for v in raw
    ):
        code = tuple(raw)
    elif isinstance(raw, int) and not isinstance(raw, bool):
        return _parse_code(str(raw), width, where)
    else:
        raise ConfigError(
            f"{where}: cannot read score code {raw!r}",
            hint='Write codes as digit strings ("545"), "10-3-7", or lists [5, 4, 5].',
        )
    if len(code) != width:
        raise ConfigError(
            f"{where}: code {raw!r} has {len(code)} score(s), expected {width}",
            hint="Give one score per dimension of the rule set.",
        )
    return code


def _parse_scores(raw: object, bins: int, where: str) -> list[int]:
    """A dimension condition: an int, "a-b", "any"/"*", or a list of those."""
    if raw is None or (isinstance(raw, str) and raw.strip().lower() in ("any", "*")):
        return list(range(1, bins + 1))
    if isinstance(raw, bool):
        pass
    elif isinstance(raw, int):
        return [raw]
    elif isinstance(raw, str):
        text = raw.strip()
        try:
            if "-" in text:
                low, high = (int(p) for p in text.split("-", 1))
                if low <= high:
                    return list(range(low, high + 1))
            else:
                return [int(text)]
        except ValueError:
            pass
    elif isinstance(raw, list):
        return sorted({s for item in raw for s in _parse_scores(item, bins, where)})
    raise ConfigError(
        f"{where}: cannot read score condition {raw!r}",
        hint='Use a score (4), a range ("3-5"), a list ([1, 2]) or "any".',
    )


def _parse_segment(raw: Mapping[str, Any], dims: tuple[str, ...], bins: int, where: str) -> Segment:
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: a segment needs a name", hint='Add  name: "Champions".')
    where = f"{where}, segment {name!r}"
    unknown = sorted(set(raw) - {"name", "description", "codes", *dims})
    if unknown:
        raise ConfigError(
            f"{where}: unknown keys {unknown}",
            hint=f"Allowed: name, description, codes, {', '.join(dims)}.",
        )
    codes: set[Code] = set()
    if "codes" in raw:
        listed = raw["codes"]
        if isinstance(listed, str):
            listed = listed.replace(",", " ").split()
        if not isinstance(listed, list):
            raise ConfigError(f"{where}: codes must be a list", hint='e.g. codes: ["555", "554"]')
        codes |= {_parse_code(c, len(dims), where) for c in listed}
    conditions = [d for d in dims if d in raw]
    if conditions:
        ranges = [_parse_scores(raw.get(d), bins, f"{where}, {d}") for d in dims]
        codes |= set(itertools.product(*ranges))
    if "codes" not in raw and not conditions:
        raise ConfigError(
            f"{where}: no codes and no score conditions",
            hint="List codes, or give score ranges per dimension (r: 4-5).",
        )
    return Segment(
        name=name.strip(), codes=frozenset(codes), description=raw.get("description") or ""
    )


def parse_ruleset(data: object, *, source: str = "rule set") -> RuleSet:
    """Build a validated :class:`RuleSet` from its JSON/YAML structure.

    Format::

        name: My segments
        dims: [r, f, m]      # optional, default [r, f, m]; or [r, f]
        bins: 5              # optional, default 5
        segments:            # a list (kept in order) ...
          - name: Champions
            codes: ["555", "554", [5, 4, 4]]
          - name: Loyal
            r: 3-5           # score conditions: 4, "3-5", [1, 2] or any (omitted = any)
            f: [4, 5]
        # ... or a mapping  segments: {Champions: ["555", "554"], ...}

    A segment may combine ``codes`` and conditions (their union).
    """
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{source}: expected a mapping with 'name' and 'segments', got {type(data).__name__}",
            hint="See core.rfm.parse_ruleset for the format.",
        )
    unknown = sorted(set(data) - {"name", "dims", "bins", "segments", "description"})
    if unknown:
        raise ConfigError(
            f"{source}: unknown keys {unknown}", hint="Allowed: name, dims, bins, segments."
        )
    name = str(data.get("name") or source)
    raw_dims = data.get("dims", list(DIMENSIONS))
    if isinstance(raw_dims, str):
        raw_dims = list(raw_dims.replace(",", "").replace(" ", ""))
    if not isinstance(raw_dims, list):
        raise ConfigError(f"{source}: dims must be a list such as [r, f, m], got {raw_dims!r}")
    dims = tuple(str(d).strip().lower() for d in raw_dims)
    bins = _check_bins(data.get("bins", 5))
    raw_segments = data.get("segments")
    if isinstance(raw_segments, Mapping):
        raw_segments = [{"name": k, "codes": v} for k, v in raw_segments.items()]
    if not isinstance(raw_segments, list) or not raw_segments:
        raise ConfigError(
            f"{source}: 'segments' must be a non-empty list or mapping",
            hint="See core.rfm.parse_ruleset for the format.",
        )
    segments = []
    for i, raw in enumerate(raw_segments, start=1):
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{source}: segment #{i} must be a mapping, got {raw!r}")
        if any(d not in DIMENSIONS for d in dims):
            break  # RuleSet reports the bad dims
        segments.append(_parse_segment(raw, dims, bins, source))
    return RuleSet(name=name, dims=dims, bins=bins, segments=tuple(segments))


def load_ruleset(path: str | Path) -> RuleSet:
    """Read a rule set from a ``.json``, ``.yaml`` or ``.yml`` file (see :func:`parse_ruleset`)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".json", ".yaml", ".yml"):
        raise ConfigError(
            f"rule set file {path.name!r} must end in .json, .yaml or .yml",
            hint="Save the rule set as JSON or YAML.",
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read rule set file {path.name!r}: {exc}") from exc
    try:
        data = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"rule set file {path.name!r} is not valid {suffix[1:].upper()}: {exc}",
            hint="Check the syntax (quotes, indentation, commas).",
        ) from exc
    return parse_ruleset(data, source=path.name)


def _codes(text: str) -> frozenset[Code]:
    return frozenset(tuple(int(ch) for ch in code) for code in text.split())


def _grid(r: Iterable[int], f: Iterable[int]) -> frozenset[Code]:
    return frozenset(itertools.product(r, f))


RFM11 = RuleSet(
    name="RFM 11 segments",
    dims=("r", "f", "m"),
    bins=5,
    segments=(
        Segment("Champions", _codes("555 554 544 545 454 455 445"),
                "Bought recently, buy often and spend a lot."),
        Segment("Loyal Customers", _codes("543 444 435 355 354 345 344 335"),
                "Buy often, spend above typical and bought more recently than most."),
        Segment("Potential Loyalist", _codes(
            "553 551 552 541 542 533 532 531 452 451 442 441 431 453 433 432 423 353 352 351 "
            "342 341 333 323"), "Bought recently, with around-typical orders and spend."),
        Segment("New Customers", _codes("512 511 422 421 412 411 311"),
                "Bought recently, became customers recently, not many orders yet."),
        Segment("Promising", _codes("525 524 523 522 521 515 514 513 425 424 413 414 415 315 "
                                    "314 313"),
                "Bought recently and spend above typical, but order less often."),
        Segment("Need Attention", _codes("535 534 443 434 343 334 325 324"),
                "Order and spend above typical, but last bought only around the typical time."),
        Segment("About To Sleep", _codes("331 321 312 221 213 231 241 251"),
                "Last bought somewhat longer ago than typical; fewer orders than typical."),
        Segment("At Risk", _codes("255 254 245 244 253 252 243 242 235 234 225 224 153 152 145 "
                                  "143 142 135 134 133 125 124"),
                "Ordered and spent above typical, but long ago."),
        Segment("Can't Lose Them", _codes("155 154 144 214 215 115 114 113"),
                "Used to be among the best (many orders, high spend); not seen for a long time."),
        Segment("Hibernating", _codes("332 322 233 232 223 222 132 123 122 212 211"),
                "Last purchase long ago, fewer orders and lower spend than typical."),
        Segment("Lost", _codes("111 112 121 131 141 151"),
                "Not seen for the longest time; fewer orders than typical."),
    ),
)  # fmt: skip

RF_GRID = RuleSet(
    name="RF grid (10 segments)",
    dims=("r", "f"),
    bins=5,
    segments=(
        Segment("Hibernating", _grid((1, 2), (1, 2))),
        Segment("At Risk", _grid((1, 2), (3, 4))),
        Segment("Can't Lose", _grid((1, 2), (5,))),
        Segment("About to Sleep", _grid((3,), (1, 2))),
        Segment("Need Attention", _grid((3,), (3,))),
        Segment("Loyal", _grid((3, 4), (4, 5))),
        Segment("Promising", _grid((4,), (1,))),
        Segment("New", _grid((5,), (1,))),
        Segment("Potential Loyalist", _grid((4, 5), (2, 3))),
        Segment("Champions", _grid((5,), (4, 5))),
    ),
)

RULESETS: Mapping[str, RuleSet] = MappingProxyType({"rfm11": RFM11, "rf_grid": RF_GRID})


def get_ruleset(name: str) -> RuleSet:
    """A built-in rule set by key (``"rfm11"`` or ``"rf_grid"``)."""
    try:
        return RULESETS[name]
    except KeyError:
        raise ConfigError(
            f"unknown rule set {name!r}", hint=f"Built-in rule sets: {', '.join(RULESETS)}."
        ) from None


# --- segments --------------------------------------------------------------------------------


def assign_segments(scored: pl.DataFrame, ruleset: RuleSet) -> pl.DataFrame:
    """Add ``segment`` (String) to a :func:`score_rfm` frame; null for unscored customers.

    The frame must have been scored with ``bins == ruleset.bins`` (:func:`segment_customers`
    does both steps); a score above ``ruleset.bins`` raises :class:`ConfigError`.
    """
    columns = [SCORE_COLUMNS[d] for d in ruleset.dims]
    missing = [c for c in columns if c not in scored.columns]
    if missing:
        raise SchemaError(
            f"the frame lacks score columns {missing}", hint="Score it with score_rfm first."
        )
    top = scored.select(pl.max_horizontal(pl.col(columns).max())).item()
    if top is not None and top > ruleset.bins:
        raise ConfigError(
            f"scores go up to {top} but rule set {ruleset.name!r} expects 1..{ruleset.bins}",
            hint=f"Score with bins={ruleset.bins} for this rule set.",
        )
    if SEGMENT in scored.columns:
        scored = scored.drop(SEGMENT)
    return scored.join(ruleset.to_frame(), on=columns, how="left", maintain_order="left")


def segment_customers(features: pl.DataFrame | pl.LazyFrame, ruleset: RuleSet) -> pl.DataFrame:
    """Score with the rule set's bins and assign its segments."""
    return assign_segments(score_rfm(features, bins=ruleset.bins), ruleset)


# --- data sufficiency --------------------------------------------------------------------------


@dataclass(frozen=True)
class SufficiencyWarning:
    """A reason RFM scores or clusters may be unreliable on this data (shown, not raised)."""

    code: str  # "few_customers" | "short_history" | "mostly_one_time"
    message: str
    value: float
    threshold: float

    def __str__(self) -> str:
        return self.message


def sufficiency_warnings(
    features: pl.DataFrame | pl.LazyFrame,
    *,
    min_customers: int = 50,
    min_history_days: int = 90,
    max_one_time_share: float = 0.5,
) -> list[SufficiencyWarning]:
    """Warnings about the customers that will be scored (``excluded == False``).

    * ``few_customers``: fewer than ``min_customers`` scored customers.
    * ``short_history``: purchases span fewer than ``min_history_days`` days (earliest first
      purchase to latest last purchase).
    * ``mostly_one_time``: more than ``max_one_time_share`` of them ordered once.
    """
    stats = (
        features.lazy()
        .filter(~pl.col("excluded").fill_null(False))
        .select(
            pl.len().alias("n"),
            (pl.col("last_purchase").max() - pl.col("first_purchase").min())
            .dt.total_days()
            .alias("span"),
            (pl.col("frequency") == 1).mean().alias("one_time"),
        )
        .collect()
        .row(0, named=True)
    )
    out: list[SufficiencyWarning] = []
    n = int(stats["n"])
    if n < min_customers:
        out.append(
            SufficiencyWarning(
                "few_customers",
                f"Only {n} customers can be scored (fewer than {min_customers}): "
                "quintile scores and segments will be coarse and unstable.",
                float(n),
                float(min_customers),
            )
        )
    span = stats["span"]
    if n and span is not None and span < min_history_days:
        out.append(
            SufficiencyWarning(
                "short_history",
                f"Purchases span only {span} days (less than {min_history_days}): recency and "
                "frequency cannot separate customers well.",
                float(span),
                float(min_history_days),
            )
        )
    share = stats["one_time"]
    if n and share is not None and share > max_one_time_share:
        out.append(
            SufficiencyWarning(
                "mostly_one_time",
                f"{share:.0%} of customers ordered only once (more than "
                f"{max_one_time_share:.0%}): frequency scores are mostly ties.",
                float(share),
                float(max_one_time_share),
            )
        )
    return out
