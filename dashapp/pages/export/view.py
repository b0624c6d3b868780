"""What the Export page shows and sends: the segment choices, the list preview, customer lists,
a reproducible bundle and an HTML report. No Dash, no Plotly.

* :func:`segment_choices` is the checklist: every segment (and the noise, when there is any),
  the session's selected segment ticked, else every segment.
* :func:`export_frame` is the list: exactly the members of the chosen segments (ids, segment,
  name and every feature: :func:`core.bundle.segment_list`, with the predicted value), written
  by :func:`core.export.to_bytes` (CSV with formula-like text neutralised, XLSX with strings
  kept as strings, Parquet); :func:`list_preview` its first rows.
* The reproducible bundle is core's (:mod:`core.bundle`, the files ``custseg workspace export``
  writes too): :func:`bundle_settings` turns the page's settings into core's.
* :func:`report_html` is a self-contained page: the facts (:func:`report_facts`), a profile
  table and the charts, given as HTML fragments (:func:`dashapp.pages.export.figures.chart_html`
  inlines Plotly once: no CDN, works offline); every user-supplied text is HTML-escaped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from core.bundle import SegmentationSettings, segment_list
from core.cleaning import CleaningConfig
from core.clustering.result import SegmentationResult
from core.clustering.select_k import KSelection
from core.clustering.stability import StabilityReport
from core.errors import ConfigError
from core.export import FORMATS, Format, to_bytes
from core.money import money_columns, money_text
from core.pipeline import CustomerTable
from dashapp.shared.modeling import ModelSettings
from dashapp.shared.value import PREDICTION_COLUMNS

REPORT_SCATTER_POINTS = 5_000  # the report's projection: a smaller stratified sample
PREVIEW_ROWS = 8  # rows of the list shown on the page


@dataclass(frozen=True)
class SegmentChoice:
    """One segment of the checklist (-1: the noise)."""

    segment: int
    name: str
    customers: int


@dataclass(frozen=True)
class SegmentChoices:
    """The checklist and what it ticks, with the segmentation's size for the summary."""

    choices: tuple[SegmentChoice, ...]
    ticked: list[int]
    k: int
    customers: int


def segment_choices(result: SegmentationResult, selected: int | None) -> SegmentChoices:
    """Every segment (then the noise, if any); ``selected`` ticked when it is one, else all
    segments (not the noise)."""
    segments = list(range(result.k)) + ([-1] if result.segmentation.n_noise else [])
    choices = tuple(
        SegmentChoice(segment=s, name=result.name_of(s), customers=members(result, s))
        for s in segments
    )
    ticked = [selected] if selected in segments else [s for s in segments if s >= 0]
    return SegmentChoices(
        choices=choices, ticked=ticked, k=result.k, customers=result.overview.customers
    )


def members(result: SegmentationResult, segment: int) -> int:
    """How many customers ``segment`` holds (-1: the noise)."""
    if segment == -1:
        return result.overview.noise
    return result.profiles[segment].customers


def parse_format(value: object) -> Format:
    """One of ``csv``, ``xlsx``, ``parquet``."""
    if not isinstance(value, str) or value not in FORMATS:
        raise ConfigError(
            f"unknown export format {str(value)[:20]!r}", hint=f"Use one of {', '.join(FORMATS)}."
        )
    return value  # type: ignore[return-value]


def parse_segments(value: object, result: SegmentationResult) -> tuple[int, ...]:
    """The chosen segment numbers (sorted, distinct), each one of ``result``'s (-1: noise)."""
    valid = set(range(result.k)) | ({-1} if result.segmentation.n_noise else set())
    if not isinstance(value, list | tuple) or len(value) > len(valid) + 1:
        raise ConfigError("the chosen segments must be a list", hint="Tick segments in the list.")
    chosen: set[int] = set()
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int) or item not in valid:
            raise ConfigError(
                f"there is no segment {repr(item)[:20]} in this segmentation",
                hint="Tick segments in the list (it follows the Model page).",
            )
        chosen.add(item)
    if not chosen:
        raise ConfigError("no segment is chosen", hint="Tick at least one segment to export.")
    return tuple(sorted(chosen))


def export_frame(
    result: SegmentationResult, features: pl.DataFrame, segments: Sequence[int]
) -> pl.DataFrame:
    """The members of ``segments``: id, segment, name and every feature (core's list,
    :func:`core.bundle.segment_list`), then the predicted value when ``features`` carry it."""
    return segment_list(result, features, segments, extra=PREDICTION_COLUMNS)


@dataclass(frozen=True)
class ListPreview:
    """The list's size and its first rows as display text."""

    rows: int
    segments: int
    columns: tuple[str, ...]
    head: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...] = ()  # per column: a number (shown right-aligned)


def list_preview(frame: pl.DataFrame, segments: Sequence[int]) -> ListPreview:
    """The first :data:`PREVIEW_ROWS` rows of the list ``frame`` of ``segments``, money to the
    cent as the files write it (:func:`core.money.round_money`). The predicted-value columns
    are in the file, not in the preview (the page's width holds the customer features)."""
    head = frame.head(PREVIEW_ROWS).drop(PREDICTION_COLUMNS, strict=False)
    money = set(money_columns(head))
    return ListPreview(
        rows=frame.height,
        segments=len(segments),
        columns=tuple(head.columns),
        head=tuple(
            tuple(
                money_text(v) if c in money else cell_text(v)
                for c, v in zip(head.columns, row, strict=True)
            )
            for row in head.iter_rows()
        ),
        numeric=tuple(dtype.is_numeric() for dtype in head.schema.values()),
    )


def cell_text(value: object) -> str:
    """A preview cell that is not money: empty for missing, other floats with up to four
    decimals (rates, days between orders), the rest as text."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.4f}".rstrip("0").rstrip(".")
    return str(value)


def slug(text: str) -> str:
    """A file-name-safe version of ``text`` (letters, digits, dashes)."""
    cleaned = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return cleaned[:40] or "segments"


def file_stem(result: SegmentationResult, segments: Sequence[int]) -> str:
    """``segments-<name>`` for one segment, ``segments-<n>-of-<k>`` for several."""
    if len(segments) == 1:
        return f"segments-{slug(result.name_of(segments[0]))}"
    return f"segments-{len(segments)}-of-{result.k}"


def list_filename(result: SegmentationResult, segments: Sequence[int], fmt: Format) -> str:
    """The downloaded list's file name."""
    return f"{file_stem(result, segments)}.{fmt}"


def bundle_filename(result: SegmentationResult, segments: Sequence[int]) -> str:
    """The downloaded bundle's file name."""
    return f"{file_stem(result, segments)}-bundle.zip"


def report_filename(result: SegmentationResult) -> str:
    """The downloaded report's file name (told apart by the segmentation's key)."""
    digest = hashlib.sha256(result.key.encode()).hexdigest()[:8]
    return f"segments-report-{digest}.html"


def list_bytes(frame: pl.DataFrame, fmt: Format) -> bytes:
    """The list in ``fmt`` (core writer: CSV neutralised against formulas)."""
    return to_bytes(frame, fmt)


def bundle_settings(settings: ModelSettings, cleaning: CleaningConfig) -> SegmentationSettings:
    """The session's settings as core's: its cleaning rules and the Model page's choices."""
    return SegmentationSettings(
        cleaning=cleaning,
        preprocess=settings.preprocess_config(),
        model=settings.model_config(),
    )


# --- HTML report -------------------------------------------------------------------------------

_REPORT_CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif;
       margin: 2rem auto; max-width: 1200px; color: #212529; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #dee2e6; }
.muted { color: #6c757d; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #dee2e6; padding: 0.35rem 0.5rem; text-align: left;
         vertical-align: top; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.wide { min-width: 15rem; }
.swatch { display: inline-block; width: 0.8rem; height: 0.8rem; border-radius: 2px;
          margin-right: 0.35rem; vertical-align: -0.05rem; }
"""


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def profile_rows(result: SegmentationResult, colors: Sequence[str]) -> str:
    """The report's profile table rows (escaped)."""
    rows = []
    for profile, color in zip(result.profiles, colors, strict=True):
        med = profile.medians
        products = ", ".join(
            html.escape(p.description or p.product) for p in profile.top_products[:3]
        )
        rows.append(
            "<tr>"
            f'<td><span class="swatch" style="background:{html.escape(color)}"></span>'
            f"{html.escape(result.names[profile.segment])}</td>"
            f'<td class="num">{profile.customers:,}</td>'
            f'<td class="num">{profile.share:.1%}</td>'
            f'<td class="num">{profile.revenue_share:.1%}</td>'
            f'<td class="num">{_number(med.get("recency_days"))}</td>'
            f'<td class="num">{_number(med.get("frequency"))}</td>'
            f'<td class="num">{money_text(med.get("monetary")) or "—"}</td>'
            f'<td class="wide">{html.escape(profile.insight)}<br>'
            f'<span class="muted">{html.escape(profile.name_reason)}</span></td>'
            f'<td class="wide">{html.escape(profile.action)}</td>'
            f'<td class="wide">{products}</td>'
            "</tr>"
        )
    return "\n".join(rows)


def report_facts(
    *,
    filename: str,
    table: CustomerTable,
    settings: ModelSettings,
    result: SegmentationResult,
    selection: KSelection | None,
    stability: StabilityReport | None,
) -> list[tuple[str, str]]:
    """The report's facts table: data, settings, method, sizes, silhouette, k, stability."""
    overview = result.overview
    facts = [
        ("Data", f"{filename} · {table.audit.rows_in:,} lines, {table.n_customers:,} customers"),
        ("Settings", settings.describe()),
        ("Method", result.segmentation.description),
        (
            "Customers clustered",
            f"{overview.customers:,} ({overview.excluded:,} excluded"
            + (f", {overview.noise:,} noise" if overview.noise else "")
            + ")",
        ),
        (
            "Silhouette",
            ("—" if overview.silhouette is None else f"{overview.silhouette:.2f}")
            + f" ({overview.silhouette_note})",
        ),
        (
            "Choice of k",
            selection.reason if selection is not None else "set by the model (HDBSCAN)",
        ),
    ]
    if stability is not None:
        facts.append(("Stability", stability.describe(result.names)))
    return facts


def report_title(filename: str) -> str:
    """The report's title."""
    return f"Customer segments · {filename}"


def report_subtitle(now: dt.datetime) -> str:
    """The report's subtitle: when it was generated."""
    return f"custseg report generated {now:%Y-%m-%d %H:%M}"


def report_html(
    *,
    title: str,
    subtitle: str,
    result: SegmentationResult,
    colors: Sequence[str],
    charts: Sequence[tuple[str, str]],
    facts: Sequence[tuple[str, str]],
) -> str:
    """A self-contained HTML page: facts, the profile table, then the charts.

    ``charts`` are (heading, HTML fragment) pairs, the first fragment carrying Plotly's library
    (:func:`dashapp.pages.export.figures.chart_html`).
    """
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{_REPORT_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="muted">{html.escape(subtitle)}</p>',
        "<table>",
        *(
            f"<tr><th>{html.escape(label)}</th><td>{html.escape(value)}</td></tr>"
            for label, value in facts
        ),
        "</table>",
        "<h2>Segment profiles</h2>",
        "<table><thead><tr><th>Segment</th><th class='num'>Customers</th>"
        "<th class='num'>Share</th><th class='num'>Revenue share</th>"
        "<th class='num'>Median recency (days)</th><th class='num'>Median orders</th>"
        "<th class='num'>Median spend</th><th>Insight</th><th>Action</th>"
        "<th>Top products</th></tr></thead><tbody>",
        profile_rows(result, colors),
        "</tbody></table>",
    ]
    for heading, fragment in charts:
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        parts.append(fragment)
    parts.append("</body></html>")
    return "\n".join(parts)
