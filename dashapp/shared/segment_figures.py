"""Figures of the Model and Segments views (pure builders: results in, ``go.Figure`` out).

Every segment is drawn in :func:`dashapp.shared.figures.segment_color` of its colour index
(``SegmentationResult.colors``), which a refit carries over, so a segment keeps its colour in
every chart and across refits. Data reaches Plotly as plain Python lists (``customdata``
included): Plotly 6+ ``dcc.Graph`` may drop NumPy arrays from click and selection events.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from core.clustering.result import NOISE_NAME, SegmentationResult
from core.clustering.select_k import CRITERIA_LABELS, KSelection, stratified_sample
from core.clustering.stability import FAIRLY_STABLE, STABLE, StabilityReport
from core.columns import CUSTOMER, NUMERIC_FEATURES
from core.wording import count
from dashapp.shared.figures import (
    DARK_TEXT,
    NOISE_COLOR,
    base_layout,
    dimmed,
    label_color,
    segment_color,
)

# Above this many customers the projection shows a sample stratified by segment. The points are
# SVG, not WebGL: a WebGL chart showed only "WebGL is not supported" in headless Chromium and
# wherever the browser has no usable GPU (remote desktops, locked-down machines), and SVG
# draws this many points smoothly. The sample also bounds the size of the figure JSON.
MAX_SCATTER_POINTS = 5_000

FEATURE_SHORT: dict[str, str] = {
    "recency_days": "Recency (days)",
    "tenure_days": "Tenure (days)",
    "frequency": "Orders",
    "gross": "Gross spend",
    "returns_value": "Returned value",
    "monetary": "Net spend",
    "avg_order_value": "Avg order value",
    "n_products": "Distinct products",
    "avg_days_between_orders": "Days between orders",
    "return_rate": "Return rate",
}


def color_of(result: SegmentationResult, segment: int) -> str:
    """Colour of ``segment`` of ``result`` (grey for noise, -1)."""
    if segment < 0:
        return NOISE_COLOR
    return segment_color(result.colors[segment])


@dataclass(frozen=True)
class SegmentRow:
    """One bar of the sizes chart (a segment, or the HDBSCAN noise)."""

    segment: int
    name: str
    color: str
    customers: int
    share: float
    revenue: float
    revenue_share: float


def segment_rows(result: SegmentationResult) -> list[SegmentRow]:
    """Segments in order, then the noise (HDBSCAN) with its customers and revenue if any."""
    table = result.segment_table()
    rows = [
        SegmentRow(
            segment=int(r["segment"]),
            name=str(r["name"]),
            color=color_of(result, int(r["segment"])),
            customers=int(r["customers"]),
            share=float(r["share"]),
            revenue=float(r["revenue"]),
            revenue_share=float(r["revenue_share"]),
        )
        for r in table.iter_rows(named=True)
    ]
    overview = result.overview
    if overview.noise:
        rows.append(
            SegmentRow(
                segment=-1,
                name=NOISE_NAME,
                color=NOISE_COLOR,
                customers=overview.noise,
                share=overview.noise_share,
                revenue=overview.noise_revenue_share * overview.revenue,
                revenue_share=overview.noise_revenue_share,
            )
        )
    return rows


def _short_money(value: float) -> str:
    magnitude = abs(value)
    if magnitude >= 1e6:
        return f"{value / 1e6:,.1f}M"
    if magnitude >= 1e3:
        return f"{value / 1e3:,.1f}k"
    return f"{value:,.0f}"


SHARE_STEPS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5)
TICK_FREE_END = 0.2  # the last fifth of a share axis has no tick label


def share_axis(top_share: float) -> dict[str, object]:
    """Range and ticks of a share axis of the sizes chart.

    The two panels sit side by side, so a label at the right end of the left axis ran into the
    "0%" of the right one ("40%0%"): ticks stop short of the end (:data:`TICK_FREE_END`).
    """
    top = max(top_share * 1.12, 0.05)
    step = next((s for s in SHARE_STEPS if top / s <= 5), 0.5)
    last = top * (1 - TICK_FREE_END)
    ticks = [round(i * step, 4) for i in range(int(last / step) + 1)]
    return {"range": [0, top], "tickvals": ticks}


def _bar_marker(rows: Sequence[SegmentRow], selected: int | None) -> dict[str, Any]:
    """Bar fills and outlines: unselected segments pale, the selected one outlined too, so a
    selection does not rest on colour alone; labels on any fill stay readable (label_color)."""
    chosen = [selected is not None and r.segment == selected for r in rows]
    fills = [
        r.color if selected is None or c else dimmed(r.color, 0.3)
        for r, c in zip(rows, chosen, strict=True)
    ]
    return {
        "color": fills,
        "line": {
            "color": [DARK_TEXT if c else fill for c, fill in zip(chosen, fills, strict=True)],
            "width": [3 if c else 0 for c in chosen],
        },
    }


def sizes_figure(rows: Sequence[SegmentRow], *, selected: int | None = None) -> go.Figure:
    """Customers and revenue per segment, side by side (shares; click a bar to select)."""
    fig = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        horizontal_spacing=0.08,
        subplot_titles=("Customers", "Revenue (net spend)"),
    )
    names = [_escape(r.name) for r in rows]
    marker = _bar_marker(rows, selected)
    customdata = [[r.segment] for r in rows]
    fig.add_trace(
        go.Bar(
            y=names,
            x=[r.share for r in rows],
            orientation="h",
            marker=marker,
            insidetextfont={"color": [label_color(c) for c in marker["color"]]},
            outsidetextfont={"color": DARK_TEXT},
            text=[f"{r.customers:,} · {r.share:.0%}" for r in rows],
            textposition="auto",
            customdata=customdata,
            hovertemplate="<b>%{y}</b><br>%{text} of the customers<extra></extra>",
            name="customers",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Bar(
            y=names,
            x=[r.revenue_share for r in rows],
            orientation="h",
            marker=marker,
            insidetextfont={"color": [label_color(c) for c in marker["color"]]},
            outsidetextfont={"color": DARK_TEXT},
            text=[f"{_short_money(r.revenue)} · {r.revenue_share:.0%}" for r in rows],
            textposition="auto",
            customdata=customdata,
            hovertemplate="<b>%{y}</b><br>%{text} of the revenue<extra></extra>",
            name="revenue",
        ),
        row=1,
        col=2,
    )
    base_layout(fig, height=max(220, 60 + 42 * len(rows)))
    fig.update_layout(showlegend=False, bargap=0.25, clickmode="event")
    fig.update_xaxes(tickformat=".0%", showgrid=True)
    for col, shares in ((1, [r.share for r in rows]), (2, [r.revenue_share for r in rows])):
        fig.update_xaxes(**share_axis(max(shares, default=0.0)), row=1, col=col)
    # Long names wrap over lines: on one line they would leave the bars no room.
    fig.update_yaxes(
        autorange="reversed", automargin=True, tickvals=names, ticktext=[_lines(n) for n in names]
    )
    fig.update_layout(margin={"t": 30})
    return fig


def sizes_summary(rows: Sequence[SegmentRow]) -> str:
    """The sizes chart in one sentence: how many segments, the largest, the top earner."""
    if not rows:
        return "Segment sizes: no segments."
    segments = sum(1 for r in rows if r.segment >= 0)
    largest = max(rows, key=lambda r: r.customers)
    richest = max(rows, key=lambda r: r.revenue_share)
    text = (
        f"Segment sizes: {count(segments, 'segment')}; the largest, {largest.name}, has "
        f"{count(largest.customers, 'customer')} ({largest.share:.0%})"
    )
    if richest is largest:
        return f"{text} and {richest.revenue_share:.0%} of the revenue."
    return f"{text}; {richest.name} brings the most revenue ({richest.revenue_share:.0%})."


SIZES_COLUMNS: tuple[str, ...] = ("Segment", "Customers (share)", "Revenue, net spend (share)")


def sizes_cells(row: SegmentRow) -> list[str]:
    """A segment's row of the sizes table (:data:`SIZES_COLUMNS`), the numbers of its bars."""
    return [
        row.name,
        f"{row.customers:,} ({row.share:.1%})",
        f"{row.revenue:,.2f} ({row.revenue_share:.1%})",
    ]


def _lines(text: str, width: int = 20) -> str:
    """``text`` broken at spaces into lines of about ``width`` characters (``<br>``)."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


def projection_figure(
    result: SegmentationResult,
    *,
    selected: int | None = None,
    max_points: int = MAX_SCATTER_POINTS,
    seed: int = 0,
) -> tuple[go.Figure, str | None]:
    """2-D PCA projection of the customers, one SVG trace per segment (then the noise).

    Returns the figure and, when only a sample is drawn, a notice saying so. The sample is
    stratified by segment (each keeps its share) and seeded. Each point's ``customdata`` is
    ``[customer_id]``. The legend's click shows only that segment (``toggleothers``); the
    selected segment, if any, is drawn alone with the others greyed out in the legend.
    """
    seg = result.segmentation
    n = seg.n
    rows = np.arange(n)
    notice = None
    if n > max_points:
        rows = stratified_sample(seg.labels, max_points, random_state=seed)
        notice = (
            f"Showing {rows.size:,} of {n:,} customers: a random sample stratified by segment "
            f"(seed {seed}), above {max_points:,} points. A lasso or box still selects every "
            "customer inside it."
        )
    ratio = seg.preprocessor.explained_variance_ratio_
    labels = seg.labels[rows]
    coords = seg.projection[rows]
    ids = seg.customer_ids[rows]
    fig = go.Figure()
    # Trace order: the segments, then the noise (legend click events give the trace index).
    order = [*range(result.k), *([-1] if seg.n_noise else [])]
    for segment in order:
        mask = labels == segment
        name = result.name_of(segment)
        visible: bool | str = True
        if selected is not None and segment != selected:
            visible = "legendonly"
        # NumPy arrays, not lists: Plotly validates a list element by element (slow for
        # thousands of points, on every selection change); float32 halves the x/y sent (typed
        # arrays).
        fig.add_trace(
            go.Scatter(
                x=coords[mask, 0].astype(np.float32),
                y=coords[mask, 1].astype(np.float32),
                mode="markers",
                name=_escape(name),
                visible=visible,
                marker={"color": color_of(result, segment), "size": 5, "opacity": 0.75},
                customdata=ids[mask].astype(str).reshape(-1, 1),
                hovertemplate="customer %{customdata[0]}<br>%{fullData.name}<extra></extra>",
            )
        )
    base_layout(fig, height=460)
    x_title = f"PC1 ({ratio[0]:.0%} of the variance)" if ratio.size else "PC1"
    y_title = f"PC2 ({ratio[1]:.0%} of the variance)" if ratio.size > 1 else "(one feature)"
    fig.update_layout(
        dragmode="lasso",
        legend={
            "itemclick": "toggleothers",
            "itemdoubleclick": False,
            "orientation": "h",
            "y": -0.12,
            "x": 0,
        },
        uirevision=f"{result.key}:{selected}",
        xaxis_title=x_title,
        yaxis_title=y_title,
        margin={"t": 10},
    )
    return fig, notice


def projection_summary(result: SegmentationResult, shown: int | None = None) -> str:
    """The projection in one sentence: customers drawn, segments, variance the axes explain.

    ``shown``: how many points are drawn when the chart shows a sample.
    """
    seg = result.segmentation
    ratio = seg.preprocessor.explained_variance_ratio_
    drawn = count(seg.n, "customer") if shown is None else f"{shown:,} of {seg.n:,} customers"
    text = (
        f"Customers in two dimensions: {drawn} drawn in the colour of their segment "
        f"({count(result.k, 'segment')}" + (f", {seg.n_noise:,} as noise)" if seg.n_noise else ")")
    )
    if ratio.size > 1:
        return f"{text}; the two axes explain {float(ratio[0] + ratio[1]):.0%} of the variance."
    return f"{text}."


def _escape(text: str) -> str:
    # Plotly renders a subset of HTML in hover text and ticks; segment names are user text.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


ProfileMatrix = tuple[list[str], list[list[float | None]], list[list[float | None]]]


def profile_matrix(result: SegmentationResult, features: pl.DataFrame) -> ProfileMatrix:
    """Standardised feature means per segment: (features, z per segment, mean per segment).

    z = (segment mean - mean of the clustered customers) / their standard deviation, in
    original units, for every numeric feature; None where a feature has no values or no spread.
    """
    clustered = features.filter(
        pl.col(CUSTOMER).is_in(result.segmentation.customer_ids.tolist())
    ).select(NUMERIC_FEATURES)
    stats = clustered.select(
        *[pl.col(f).cast(pl.Float64).mean().alias(f"{f}__mean") for f in NUMERIC_FEATURES],
        *[pl.col(f).cast(pl.Float64).std().alias(f"{f}__std") for f in NUMERIC_FEATURES],
    ).row(0, named=True)
    z_rows: list[list[float | None]] = []
    mean_rows: list[list[float | None]] = []
    for profile in result.profiles:
        z_row: list[float | None] = []
        mean_row: list[float | None] = []
        for f in NUMERIC_FEATURES:
            mean = profile.means.get(f)
            overall, sd = stats[f"{f}__mean"], stats[f"{f}__std"]
            ok = mean is not None and math.isfinite(mean)
            mean_row.append(float(mean) if ok else None)  # type: ignore[arg-type]
            if ok and overall is not None and sd is not None and sd > 0:
                z_row.append((float(mean) - overall) / sd)  # type: ignore[arg-type]
            else:
                z_row.append(None)
        z_rows.append(z_row)
        mean_rows.append(mean_row)
    return list(NUMERIC_FEATURES), z_rows, mean_rows


def _fmt_value(value: float | None) -> str:
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:,.1f}"
    return f"{value:.2f}"


def _wrap(label: str, width: int = 12) -> str:
    """Break a long axis label over two lines (heatmap columns are narrow)."""
    if len(label) <= width or " " not in label:
        return label
    words = label.split(" ")
    best = min(range(1, len(words)), key=lambda i: abs(len(" ".join(words[:i])) - len(label) / 2))
    return " ".join(words[:best]) + "<br>" + " ".join(words[best:])


def profile_heatmap(
    result: SegmentationResult,
    features: pl.DataFrame,
    *,
    selected: int | None = None,
    matrix: ProfileMatrix | None = None,
) -> go.Figure:
    """Heatmap of standardised feature means (rows: segments; columns: features).

    Cells show the segment mean in original units; colour is how many standard deviations it
    lies above (red) or below (blue) the mean of all clustered customers. Features the model
    used are marked with a dot. ``matrix``: :func:`profile_matrix` of the same arguments, when
    the caller has it already.
    """
    names, z, means = matrix or profile_matrix(result, features)
    used = set(result.segmentation.preprocessor.features_)
    x = [f"{'● ' if f in used else ''}{_wrap(FEATURE_SHORT.get(f, f))}" for f in names]
    y = [_escape(n) for n in result.names]
    text = [[_fmt_value(v) for v in row] for row in means]
    clipped = [[None if v is None else max(-2.5, min(2.5, v)) for v in row] for row in z]
    raw_z = [[None if v is None else round(v, 2) for v in row] for row in z]
    fig = go.Figure(
        go.Heatmap(
            z=clipped,
            x=x,
            y=y,
            text=text,
            texttemplate="%{text}",
            customdata=raw_z,
            colorscale="RdBu_r",
            zmid=0,
            zmin=-2.5,
            zmax=2.5,
            xgap=2,
            ygap=2,
            colorbar={"title": {"text": "sd from<br>average"}, "thickness": 12},
            hovertemplate="<b>%{y}</b><br>%{x}: mean %{text}<br>"
            "%{customdata:+.2f} sd from the average customer<extra></extra>",
        )
    )
    base_layout(fig, height=max(220, 90 + 46 * result.k))
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(side="top", automargin=True, tickangle=0)
    if selected is not None and 0 <= selected < result.k:
        fig.add_shape(
            type="rect",
            xref="paper",
            x0=0,
            x1=1,
            yref="y",
            y0=selected - 0.5,
            y1=selected + 0.5,
            line={"color": "#212529", "width": 2},
        )
    fig.update_layout(margin={"t": 60})
    return fig


def profile_summary(
    result: SegmentationResult, features: pl.DataFrame, matrix: ProfileMatrix | None = None
) -> str:
    """The profiles heatmap in one sentence: its size and the cell furthest from average."""
    names, z, means = matrix or profile_matrix(result, features)
    cells = [(abs(v), s, f) for s, row in enumerate(z) for f, v in enumerate(row) if v is not None]
    text = (
        f"Profiles: the mean of {count(len(names), 'feature')} in "
        f"{count(len(z), 'segment')}, in standard deviations from all customers"
    )
    if not cells:
        return f"{text}."
    distance, s, f = max(cells, key=lambda c: c[0])
    sign = "+" if (z[s][f] or 0.0) >= 0 else "-"
    label = FEATURE_SHORT.get(names[f], names[f]).lower()
    return (
        f"{text}; the most distinct is {result.names[s]}: mean {label} "
        f"{_fmt_value(means[s][f])} ({sign}{distance:.1f} sd)."
    )


def profile_rows(
    result: SegmentationResult, features: pl.DataFrame, matrix: ProfileMatrix | None = None
) -> tuple[list[str], list[list[str]]]:
    """The profiles heatmap as a table: column headers, then a row per segment whose cells
    are each feature's mean and its distance from average (the heatmap's text and colour)."""
    names, z, means = matrix or profile_matrix(result, features)
    columns = ["Segment", *[FEATURE_SHORT.get(f, f) for f in names]]
    rows = [
        [
            result.names[s],
            *[
                _fmt_value(m) if d is None else f"{_fmt_value(m)} ({d:+.1f} sd)"
                for m, d in zip(means[s], z[s], strict=True)
            ],
        ]
        for s in range(len(z))
    ]
    return columns, rows


K_PANELS: tuple[tuple[str, str, str], ...] = (
    # column, title, which way is better
    ("inertia", "Inertia (within-segment spread)", "elbow"),
    ("silhouette", "Silhouette", "higher is better"),
    ("calinski_harabasz", "Calinski-Harabasz", "higher is better"),
    ("davies_bouldin", "Davies-Bouldin", "lower is better"),
    ("bic", "BIC (Gaussian mixture)", "lower is better"),
)
CURRENT_K_COLOR = "#212529"
STABILITY_LABEL_MARGIN = 110  # px right of the stability bars for the band labels
RECOMMENDED_COLOR = "#198754"


def k_selection_figure(selection: KSelection, *, current_k: int | None = None) -> go.Figure:
    """Every criterion against k in small multiples sharing the k axis.

    Each panel marks the k its criterion picks (a ring); the inertia panel marks the elbow.
    The recommended k is a dashed green line across all panels, the k in use a grey band.
    BIC is shown for Gaussian mixtures only.
    """
    table = selection.table
    panels = [p for p in K_PANELS if p[0] != "bic" or table.get_column("bic").null_count() == 0]
    fig = make_subplots(
        rows=len(panels),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.06,
        subplot_titles=[f"{title} · {how}" for _, title, how in panels],
    )
    ks = table.get_column("k").to_list()
    eligible = table.get_column("eligible").to_list()
    for i, (column, title, _how) in enumerate(panels, start=1):
        values = [None if v is None or not math.isfinite(v) else float(v) for v in table[column]]
        fig.add_trace(
            go.Scatter(
                x=ks,
                y=values,
                mode="lines+markers",
                line={"color": "#4E79A7", "width": 2},
                marker={
                    "size": 7,
                    "color": ["#4E79A7" if ok else "#ADB5BD" for ok in eligible],
                },
                name=title,
                hovertemplate=f"k = %{{x}}<br>{title}: %{{y:,.4g}}<extra></extra>",
                showlegend=False,
            ),
            row=i,
            col=1,
        )
        pick = selection.knee if column == "inertia" else selection.picks.get(column)
        if pick is not None and pick in ks:
            ring = _pick_ring(pick, values[ks.index(pick)], title, elbow=column == "inertia")
            fig.add_trace(ring, row=i, col=1)
    if current_k is not None and current_k in ks:
        fig.add_vrect(
            x0=current_k - 0.35,
            x1=current_k + 0.35,
            fillcolor="#6c757d",
            opacity=0.12,
            line_width=0,
            row="all",
            col=1,
        )
    if selection.recommended_k is not None:
        fig.add_vline(
            x=selection.recommended_k,
            line={"color": RECOMMENDED_COLOR, "dash": "dash", "width": 1.5},
            row="all",
            col=1,
        )
    base_layout(fig, height=130 * len(panels) + 60)
    fig.update_xaxes(dtick=1, showgrid=True)
    fig.update_xaxes(title_text="number of segments k", row=len(panels), col=1)
    fig.update_yaxes(automargin=True, nticks=4)
    fig.update_annotations(font_size=12, x=0, xanchor="left")
    fig.update_layout(margin={"t": 30})
    return fig


def _pick_ring(pick: int, y: float | None, title: str, *, elbow: bool) -> go.Scatter:
    """A green ring on the k a criterion (``title``) picks, labelled "elbow" or "best"."""
    return go.Scatter(
        x=[pick],
        y=[y],
        mode="markers+text",
        marker={
            "size": 15,
            "color": "rgba(0,0,0,0)",
            "line": {"color": RECOMMENDED_COLOR, "width": 2.5},
        },
        text=["elbow" if elbow else "best"],
        textposition="middle right",
        textfont={"color": RECOMMENDED_COLOR, "size": 11},
        hovertemplate=f"{title} picks k = {pick}<extra></extra>",
        showlegend=False,
    )


def criteria_summary(selection: KSelection) -> list[tuple[str, int]]:
    """(criterion label, k it picks), elbow included, in a fixed order."""
    order = ("silhouette", "calinski_harabasz", "davies_bouldin", "knee", "bic")
    return [(CRITERIA_LABELS[c], selection.picks[c]) for c in order if c in selection.picks]


def k_summary(selection: KSelection, current_k: int | None = None) -> str:
    """The choose-k chart in one sentence: the k range, the recommendation, each pick."""
    ks = selection.table.get_column("k").to_list()
    text = f"k criteria for k = {min(ks)} to {max(ks)}" if ks else "k criteria"
    if selection.recommended_k is not None:
        text += f": recommended k = {selection.recommended_k}"
    if current_k is not None:
        text += f" (in use: k = {current_k})"
    picks = ", ".join(f"{label} picks {k}" for label, k in criteria_summary(selection))
    return f"{text}; {picks}." if picks else f"{text}."


def stability_summary(report: StabilityReport, result: SegmentationResult) -> str:
    """The stability chart in one sentence: the least and the most stable segment."""
    per = report.per_segment.sort("segment")
    if per.height == 0:
        return "Stability: no segment to rate."
    rows = list(zip(per["segment"].to_list(), per["jaccard_mean"].to_list(), strict=True))
    low, high = min(rows, key=lambda r: r[1]), max(rows, key=lambda r: r[1])
    return (
        f"Stability over {count(report.n_runs, 'refit')}: mean Jaccard from "
        f"{low[1]:.2f} ({result.name_of(int(low[0]))}, the least stable) to "
        f"{high[1]:.2f} ({result.name_of(int(high[0]))}); {STABLE} and above is stable."
    )


def stability_figure(report: StabilityReport, result: SegmentationResult) -> go.Figure:
    """Per-segment bootstrap Jaccard (mean, with the worst refit), against the rating bands."""
    per = report.per_segment.sort("segment")
    segments = per.get_column("segment").to_list()
    names = [_escape(result.name_of(int(s))) for s in segments]
    means = per.get_column("jaccard_mean").to_list()
    mins = per.get_column("jaccard_min").to_list()
    fig = go.Figure(
        go.Bar(
            x=names,
            y=means,
            marker={"color": [color_of(result, int(s)) for s in segments]},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [0.0] * len(means),
                "arrayminus": [m - lo for m, lo in zip(means, mins, strict=True)],
                "color": "#495057",
            },
            text=[f"{m:.2f}" for m in means],
            textposition="outside",
            customdata=[[r] for r in per.get_column("rating").to_list()],
            hovertemplate="<b>%{x}</b><br>Jaccard %{y:.2f} (%{customdata[0]})<extra></extra>",
        )
    )
    # The band labels sit right of the plot area, beside their lines: inside it, they ran
    # into the first bar (whose top is often above the "stable" line).
    for level, label in ((STABLE, "stable"), (FAIRLY_STABLE, "fairly stable")):
        fig.add_hline(
            y=level,
            line={"color": "#adb5bd", "dash": "dot", "width": 1},
            annotation_text=f"{label} ≥ {level}",
            annotation_position="right",
            annotation_font={"size": 11, "color": "#6c757d"},
        )
    base_layout(fig, height=260)
    fig.update_yaxes(range=[0, 1.08], title_text="Jaccard with refits", automargin=True)
    fig.update_layout(showlegend=False, margin={"t": 10, "r": STABILITY_LABEL_MARGIN})
    return fig
