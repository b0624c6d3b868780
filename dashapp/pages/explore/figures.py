"""Figures of the Explore page (pure builders: :class:`~dashapp.pages.explore.view.ExploreData` in,
``go.Figure`` out). Values are passed to Plotly as plain Python lists."""

from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from core.wording import count
from dashapp.pages.explore.view import Histogram, feature_label
from dashapp.shared.figures import base_layout, empty_figure

BAR_COLOR = "#0072B2"  # the palette's first colour
LINE_COLOR = "#D55E00"
HIST_COLUMNS = 3


def _axis_suffix(i: int) -> str:
    return "" if i == 0 else str(i + 1)


def _bin_label(low: float, high: float, integer_like: bool) -> str:
    if integer_like:
        lo, hi = math.ceil(low), math.ceil(high) - 1
        return f"{lo:,}" if hi <= lo else f"{lo:,}–{hi:,}"
    return f"{low:,.4g} – {high:,.4g}"


def bar_heights(hist: Histogram) -> list[float]:
    """Heights to draw: counts, rescaled to a common bin width on a log axis.

    Geometric bins of an integer feature are rounded to whole numbers, so their widths on the
    log axis differ (the bin [1, 2) is wider than [2, 3)); drawing raw counts would make the
    narrow bins look emptier. Each count is scaled to what a bin of the average log width
    would hold. On a linear axis (equal widths) the heights are the counts.
    """
    counts = [float(c) for c in hist.counts]
    if not hist.log or len(hist.edges) < 2:
        return counts
    logs = [math.log10(e) for e in hist.edges]
    nominal = (logs[-1] - logs[0]) / len(counts)
    return [
        c * nominal / (high - low) if high > low else c
        for c, low, high in zip(counts, logs[:-1], logs[1:], strict=True)
    ]


def _histogram_trace(hist: Histogram) -> go.Scatter:
    """A filled step outline over the bin edges (reads the same on linear and log axes)."""
    edges = list(hist.edges)
    integer_like = all(float(e).is_integer() for e in edges)
    xs: list[float] = []
    ys: list[float] = []
    custom: list[list[object]] = []
    for low, high, n, height in zip(
        edges[:-1], edges[1:], hist.counts, bar_heights(hist), strict=True
    ):
        xs += [low, high]
        ys += [height, height]
        label = _bin_label(low, high, integer_like and hist.log)
        custom += [[label, count(n, "customer")]] * 2
    return go.Scatter(
        x=xs,
        y=ys,
        mode="lines",
        line={"color": BAR_COLOR, "width": 1.2},
        fill="tozeroy",
        fillcolor="rgba(0, 114, 178, 0.35)",
        customdata=custom,
        hovertemplate="%{customdata[0]}: %{customdata[1]}<extra></extra>",
        name=feature_label(hist.feature),
        showlegend=False,
    )


CONSTANT = "constant: not used"
NOTE_STYLE = "font-size:11px;color:#6c757d"


def _histogram_note(hist: Histogram) -> str:
    """Short note after a subplot title: log axis, and what the bins leave out."""
    if hist.constant:
        return f" <span style='{NOTE_STYLE}'>({CONSTANT})</span>"
    parts = ["log"] if hist.log else []
    hidden = []
    if hist.n_nonpositive:
        hidden.append(f"{hist.n_nonpositive:,} at 0")
    if hist.n_missing:
        hidden.append(f"{hist.n_missing:,} empty")
    if hidden:
        parts.append("hidden: " + ", ".join(hidden))
    if not parts:
        return ""
    return f" <span style='{NOTE_STYLE}'>({'; '.join(parts)})</span>"


def _constant_panel(fig: go.Figure, hist: Histogram, i: int, *, row: int, col: int) -> None:
    """A feature with one value for everyone: say so instead of drawing a one-bin block."""
    value = (hist.edges[0] + hist.edges[-1]) / 2
    shown = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.4g}"
    suffix = _axis_suffix(i)
    fig.add_annotation(
        text=f"{count(hist.n_values, 'customer')}, all at {shown}",
        x=0.5,
        y=0.5,
        xref=f"x{suffix} domain",
        yref=f"y{suffix} domain",
        showarrow=False,
        font={"color": "#6c757d"},
    )
    fig.update_xaxes(visible=False, row=row, col=col)
    fig.update_yaxes(visible=False, row=row, col=col)


def distributions(histograms: Sequence[Histogram], *, columns: int = HIST_COLUMNS) -> go.Figure:
    """Small multiples: one histogram per feature, log x axis where the feature is skewed."""
    if not histograms:
        return empty_figure("No numeric feature to show.")
    rows = math.ceil(len(histograms) / columns)
    fig = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=[f"{feature_label(h.feature)}{_histogram_note(h)}" for h in histograms],
        horizontal_spacing=0.06,
        vertical_spacing=0.42 / rows,
    )
    for i, hist in enumerate(histograms):
        row, col = divmod(i, columns)
        if hist.constant:
            _constant_panel(fig, hist, i, row=row + 1, col=col + 1)
            continue
        fig.add_trace(_histogram_trace(hist), row=row + 1, col=col + 1)
        axis: dict[str, object] = {"type": "log" if hist.log else "linear"}
        if hist.log and hist.edges[-1] / hist.edges[0] >= 100:
            axis["dtick"] = 1  # one label per power of ten
            if hist.edges[-1] >= 10_000:
                axis["tickformat"] = "~s"  # 10k, 100k (small values keep 0.01, 0.1)
        fig.update_xaxes(**axis, row=row + 1, col=col + 1)
    fig.update_yaxes(rangemode="tozero", tickformat="~s")
    fig.update_annotations(font_size=12)
    base_layout(fig, height=max(260, 190 * rows))
    fig.update_layout(margin={"t": 30, "b": 10, "l": 10, "r": 10})
    return fig


def correlation_heatmap(
    features: Sequence[str], correlation: Sequence[Sequence[float | None]]
) -> go.Figure:
    """Spearman correlations of the numeric features (diverging scale, -1 to 1, values shown)."""
    if not features:
        return empty_figure("No numeric feature to correlate.")
    # A constant feature correlates with nothing (its own diagonal is undefined): it is named
    # under the chart rather than drawn as an empty row and column.
    kept = [i for i in range(len(features)) if correlation[i][i] is not None]
    constant = [feature_label(features[i]) for i in range(len(features)) if i not in kept]
    if not kept:
        return empty_figure(f"Every feature is constant ({CONSTANT}): nothing to correlate.")
    labels = [feature_label(features[i]) for i in kept]
    z = [[correlation[i][j] for j in kept] for i in kept]
    text = [["" if v is None else f"{v:.2f}" for v in row] for row in z]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=labels,
            y=labels,
            zmin=-1,
            zmax=1,
            zmid=0,
            colorscale="RdBu",
            reversescale=True,
            text=text,
            texttemplate="%{text}",
            textfont={"size": 10},
            hovertemplate="%{y} vs %{x}: ρ = %{z:.3f}<extra></extra>",
            colorbar={"title": {"text": "ρ"}, "thickness": 12},
        )
    )
    base_layout(fig, height=460)
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(tickangle=-35, automargin=True)
    if constant:
        fig.add_annotation(
            text=f"{', '.join(constant)}: {CONSTANT}",
            x=0,
            y=1.0,
            xref="paper",
            yref="paper",
            xanchor="left",
            yanchor="bottom",
            showarrow=False,
            font={"size": 12, "color": "#6c757d"},
        )
        fig.update_layout(margin={"t": 30})
    return fig


def rf_grid_heatmap(grid: pl.DataFrame, *, bins: int = 5) -> go.Figure:
    """R score (x) by F score (y) cells coloured by mean monetary, text = customers.

    Empty cells (ties in frequency skip scores) stay blank.
    """
    if grid.height == 0 or int(grid.get_column("customers").sum()) == 0:
        return empty_figure("No scored customer.")
    scores = list(range(1, bins + 1))
    mean = {(r, f): m for r, f, m in grid.select("r_score", "f_score", "mean_monetary").iter_rows()}
    count = {(r, f): n for r, f, n in grid.select("r_score", "f_score", "customers").iter_rows()}
    z = [[mean.get((r, f)) for r in scores] for f in scores]
    text = [
        [f"{count.get((r, f), 0):,}" if count.get((r, f), 0) else "" for r in scores]
        for f in scores
    ]
    customdata = [[count.get((r, f), 0) for r in scores] for f in scores]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=scores,
            y=scores,
            colorscale="Blues",
            text=text,
            texttemplate="%{text}",
            customdata=customdata,
            hovertemplate=(
                "R score %{x}, F score %{y}<br>%{customdata:,} customers<br>"
                "mean monetary %{z:,.2f}<extra></extra>"
            ),
            colorbar={"title": {"text": "mean<br>monetary"}, "thickness": 12},
            xgap=2,
            ygap=2,
        )
    )
    base_layout(fig, height=380)
    fig.update_xaxes(title_text="Recency score (5 = most recent)", dtick=1)
    fig.update_yaxes(title_text="Frequency score (5 = most orders)", dtick=1)
    return fig


def activity_over_time(monthly: pl.DataFrame | None) -> go.Figure:
    """Monthly revenue (bars, left axis) and orders (line, right axis)."""
    if monthly is None or monthly.height == 0:
        return empty_figure("No dated purchase line to show over time.")
    months = [m.isoformat() for m in monthly.get_column("month").to_list()]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(
        go.Bar(
            x=months,
            y=monthly.get_column("revenue").to_list(),
            name="Revenue",
            marker_color=BAR_COLOR,
            customdata=monthly.get_column("customers").to_list(),
            hovertemplate=(
                "%{x|%b %Y}<br>revenue %{y:,.2f}<br>%{customdata:,} customers<extra></extra>"
            ),
        ),
        secondary_y=False,
    )
    fig.add_trace(
        go.Scatter(
            x=months,
            y=monthly.get_column("orders").to_list(),
            name="Orders",
            mode="lines+markers",
            line={"color": LINE_COLOR, "width": 2},
            hovertemplate="%{x|%b %Y}<br>%{y:,} orders<extra></extra>",
        ),
        secondary_y=True,
    )
    base_layout(fig, height=340)
    fig.update_layout(legend={"orientation": "h", "y": 1.1, "x": 0}, bargap=0.15)
    fig.update_xaxes(type="date", dtick="M1", tickformat="%b\n%Y")
    fig.update_yaxes(title_text="Revenue", tickformat="~s", secondary_y=False, rangemode="tozero")
    fig.update_yaxes(
        title_text="Orders",
        secondary_y=True,
        showgrid=False,
        rangemode="tozero",
        tickmode="auto",
        nticks=6,
        tickformat=",d",
    )
    return fig


def countries(table: pl.DataFrame | None) -> go.Figure:
    """Top countries: customers and revenue side by side (horizontal bars, largest on top)."""
    if table is None or table.height == 0:
        return empty_figure("No country column mapped.")
    names = table.get_column("country").to_list()
    fig = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        subplot_titles=("Customers", "Revenue (net, share of total)"),
        horizontal_spacing=0.04,
    )
    fig.add_trace(
        go.Bar(
            y=names,
            x=table.get_column("customers").to_list(),
            orientation="h",
            marker_color=BAR_COLOR,
            customdata=table.get_column("customer_share").to_list(),
            text=table.get_column("customers").to_list(),
            texttemplate="%{text:,}",
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}: %{x:,} customers (%{customdata:.1%})<extra></extra>",
            showlegend=False,
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Bar(
            y=names,
            x=table.get_column("revenue").to_list(),
            orientation="h",
            marker_color="#009E73",
            customdata=table.get_column("revenue_share").to_list(),
            text=table.get_column("revenue_share").to_list(),
            texttemplate="%{text:.1%}",
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}: %{x:,.2f} (%{customdata:.1%})<extra></extra>",
            showlegend=False,
        ),
        row=1,
        col=2,
    )
    base_layout(fig, height=max(280, 26 * table.height + 70))
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(tickformat="~s")
    # Room for the labels outside the longest bars.
    fig.update_xaxes(range=[0, 1.3 * max(table.get_column("customers").max(), 1)], row=1, col=1)
    top_revenue = max(float(table.get_column("revenue").max() or 0.0), 1.0)
    fig.update_xaxes(range=[0, 1.3 * top_revenue], row=1, col=2)
    fig.update_annotations(font_size=12)
    fig.update_layout(margin={"t": 30})
    return fig


# --- text alternatives: each chart in one sentence, from the data it draws --------------------


def distributions_summary(histograms: Sequence[Histogram]) -> str:
    """The small multiples in one sentence: features drawn, log axes, the most skewed."""
    if not histograms:
        return "Feature distributions: no numeric feature to show."
    drawn = [h for h in histograms if not h.constant]
    text = f"Distributions of {count(len(histograms), 'feature')}, customers per bin"
    logs = sum(1 for h in drawn if h.log)
    if logs:
        text += f", {logs} of them on a log axis"
    skewed = [h for h in drawn if h.skewness is not None]
    if skewed:
        top = max(skewed, key=lambda h: abs(h.skewness or 0.0))
        text += f"; the most skewed is {feature_label(top.feature)} (skewness {top.skewness:.1f})"
    constant = [feature_label(h.feature) for h in histograms if h.constant]
    if constant:
        text += f"; the same for every customer: {', '.join(constant)}"
    return f"{text}."


def correlations_summary(
    features: Sequence[str], correlation: Sequence[Sequence[float | None]]
) -> str:
    """The correlation heatmap in one sentence: the strongest pair of different features."""
    pairs = [
        (abs(v), i, j)
        for i in range(len(features))
        for j in range(i + 1, len(features))
        if (v := correlation[i][j]) is not None
    ]
    text = f"Spearman correlations between {count(len(features), 'feature')}"
    if not pairs:
        return f"{text}: none to show."
    _size, i, j = max(pairs)
    value = correlation[i][j] or 0.0
    return (
        f"{text}; the strongest: {feature_label(features[i])} and "
        f"{feature_label(features[j])} (ρ = {value:.2f})."
    )


def rf_grid_summary(grid: pl.DataFrame) -> str:
    """The R × F grid in one sentence: the cell with the most customers."""
    cells = grid.filter(pl.col("customers") > 0)
    if cells.height == 0:
        return "Recency x frequency scores: no scored customer."
    top = cells.sort(["customers", "r_score", "f_score"], descending=[True, False, False]).row(
        0, named=True
    )
    return (
        f"Recency x frequency scores of {count(int(cells['customers'].sum()), 'customer')}; "
        f"the largest cell, R {top['r_score']} and F {top['f_score']}, holds "
        f"{count(int(top['customers']), 'customer')} (mean monetary {top['mean_monetary']:,.2f})."
    )


def activity_summary(monthly: pl.DataFrame | None) -> str:
    """The monthly chart in one sentence: the months shown and the month of most revenue."""
    if monthly is None or monthly.height == 0:
        return "Revenue and orders per month: no dated purchase line."
    months = monthly.get_column("month")
    top = monthly.sort("revenue", descending=True, nulls_last=True).row(0, named=True)
    return (
        f"Revenue and orders per month from {months.min():%b %Y} to {months.max():%b %Y}; "
        f"the highest revenue, {top['revenue'] or 0:,.2f}, came in {top['month']:%b %Y} "
        f"({count(int(top['orders'] or 0), 'order')})."
    )


def countries_summary(table: pl.DataFrame | None) -> str:
    """The countries chart in one sentence: the country with the most customers, its shares."""
    if table is None or table.height == 0:
        return "Top countries: no country column mapped."
    top = table.sort("customers", descending=True).row(0, named=True)
    return (
        f"Top {count(table.height, 'country')} by customers; the first, {top['country']}, has "
        f"{count(int(top['customers']), 'customer')} ({top['customer_share']:.1%}) and "
        f"{top['revenue_share']:.1%} of the revenue."
    )
