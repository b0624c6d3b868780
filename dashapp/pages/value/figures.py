"""Figures of the Value page and their one-sentence summaries (pure builders, from the view)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go
import polars as pl

from core import clv
from core.money import money_text
from core.wording import count
from dashapp.shared.figures import base_layout, empty_figure

PREDICTED_COLOR = "#1f5fa8"
ACTUAL_COLOR = "#222222"
P_ALIVE_COLOR = "#4a7fb5"
LOST_COLOR = "#b5484a"


def revenue_by_segment(
    by_segment: pl.DataFrame | None, colors: Mapping[int, str], *, horizon: str
) -> go.Figure:
    """Predicted revenue per segment over the horizon, largest first."""
    if by_segment is None:
        return empty_figure("Fit segments on the Model page to see revenue by segment.")
    rows = by_segment.sort("predicted_revenue", descending=True)
    fig = go.Figure(
        go.Bar(
            x=rows["segment_name"].to_list(),
            y=rows["predicted_revenue"].to_list(),
            marker={"color": [colors.get(int(s), "#888") for s in rows["segment"]]},
            customdata=[
                [int(c), float(s)]
                for c, s in rows.select("customers", "likely_lost_share").iter_rows()
            ],
            hovertemplate=(
                "<b>%{x}</b><br>predicted revenue %{y:,.2f}<br>%{customdata[0]:,} customers, "
                "%{customdata[1]:.0%} likely lost<extra></extra>"
            ),
        )
    )
    fig.update_yaxes(title_text=f"predicted revenue, {horizon}", tickformat=",.0f")
    return base_layout(fig, height=320)


def revenue_by_segment_summary(by_segment: pl.DataFrame | None, *, horizon: str) -> str:
    if by_segment is None or by_segment.height == 0:
        return "Predicted revenue by segment: no segmentation yet."
    top = by_segment.sort("predicted_revenue", descending=True).row(0, named=True)
    total = float(by_segment["predicted_revenue"].sum())
    share = top["predicted_revenue"] / total if total else 0.0
    # The headline's total counts every customer; this one the customers in segments only
    # (excluded customers have predictions but no segment): say so, or the totals disagree.
    customers = count(int(by_segment["customers"].sum()), "customer")
    return (
        f"Predicted revenue by segment over {horizon}: {count(by_segment.height, 'segment')}; "
        f"{top['segment_name']} is expected to bring the most, "
        f"{money_text(top['predicted_revenue'])} ({share:.0%} of {money_text(total)}, "
        f"the predicted revenue of the {customers} in segments)."
    )


def p_alive_chart(counts: tuple[tuple[float, float, int], ...]) -> go.Figure:
    """Customers per p_alive bin; bins below the likely-lost line in the warning colour."""
    fig = go.Figure(
        go.Bar(
            x=[(lo + hi) / 2 for lo, hi, _ in counts],
            y=[n for *_, n in counts],
            width=[hi - lo for lo, hi, _ in counts],
            marker={
                "color": [
                    LOST_COLOR if hi <= clv.LIKELY_LOST else P_ALIVE_COLOR for _, hi, _ in counts
                ]
            },
            customdata=[[lo, hi] for lo, hi, _ in counts],
            hovertemplate="p_alive %{customdata[0]:.2f}–%{customdata[1]:.2f}: %{y:,} customers"
            "<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="p_alive (probability the customer is still active)", range=[0, 1])
    fig.update_yaxes(title_text="customers")
    return base_layout(fig, height=300)


def p_alive_summary(counts: tuple[tuple[float, float, int], ...]) -> str:
    total = sum(n for *_, n in counts)
    lost = sum(n for _, hi, n in counts if hi <= clv.LIKELY_LOST)
    if total == 0:
        return "p_alive distribution: no customer."
    fullest = max(counts, key=lambda c: c[2])
    return (
        f"p_alive distribution: {count(total, 'customer')}; {count(lost, 'customer')} "
        f"({lost / total:.0%}) below {clv.LIKELY_LOST:.1f}, likely lost; the fullest bin is "
        f"{fullest[0]:.2f}–{fullest[1]:.2f} with {fullest[2]:,}."
    )


def holdout_chart(holdout: dict[str, Any] | None) -> go.Figure:
    """Weekly repeat purchase days after the calibration end: predicted against actual."""
    if holdout is None:
        return empty_figure(
            "No lines after the calibration end: choose an earlier one to check the model."
        )
    weeks = holdout["weeks"]
    starts = [w["start"] for w in weeks]
    fig = go.Figure(
        [
            go.Scatter(
                x=starts,
                y=[w["actual"] for w in weeks],
                name="actual",
                mode="lines+markers",
                line={"color": ACTUAL_COLOR},
            ),
            go.Scatter(
                x=starts,
                y=[w["predicted"] for w in weeks],
                name="predicted",
                mode="lines+markers",
                line={"color": PREDICTED_COLOR, "dash": "dash"},
                marker={"symbol": "diamond"},
            ),
        ]
    )
    fig.update_yaxes(title_text="repeat purchase days per week", rangemode="tozero")
    fig.update_layout(legend={"orientation": "h", "y": 1.1})
    return base_layout(fig, height=300)


def holdout_summary(holdout: dict[str, Any] | None) -> str:
    if holdout is None:
        return "Holdout check: no lines after the calibration end."
    error = holdout["error_percent"]
    tail = "" if error is None else f" ({error:+.1f} %)"
    return (
        f"Holdout check, {holdout['start']} to {holdout['end']} "
        f"({count(len(holdout['weeks']), 'week')}): predicted {holdout['predicted']:,.1f} repeat "
        f"purchase days, actual {holdout['actual']:,}{tail}."
    )
