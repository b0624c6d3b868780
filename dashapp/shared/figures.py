"""Pure Plotly figure builders (no callbacks, no app state): data in, ``go.Figure`` out.

Every view colours segments with :func:`segment_color`, so segment 3 has the same colour in
every chart of every page. Data passed to figures is converted to plain Python lists: Plotly 6+
``dcc.Graph`` may drop NumPy ``customdata`` from click and selection events.
"""

from __future__ import annotations

from collections.abc import Iterable

import plotly.graph_objects as go

from core.cleaning import REASON_LABELS, Audit

# Okabe-Ito (colour-blind safe) first, then Tableau-10 tones for larger segmentations.
SEGMENT_PALETTE: tuple[str, ...] = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
    "#4E79A7",
    "#F28E2B",
    "#59A14F",
    "#B07AA1",
    "#9C755F",
    "#EDC948",
    "#76B7B2",
    "#FF9DA7",
)
NOISE_COLOR = "#9E9E9E"  # points a clustering left unassigned (label -1) or excluded customers
KEPT_COLOR = "#198754"  # Bootstrap "success"
DROPPED_COLOR = "#DC3545"  # Bootstrap "danger"
OFF_COLOR = "#ADB5BD"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"


def segment_color(segment: int) -> str:
    """The colour of segment number ``segment`` (stable; negative numbers are "noise")."""
    if segment < 0:
        return NOISE_COLOR
    return SEGMENT_PALETTE[segment % len(SEGMENT_PALETTE)]


def segment_colors(segments: Iterable[int]) -> dict[int, str]:
    """Colour map for a set of segment numbers (for ``color_discrete_map`` and legends)."""
    return {int(s): segment_color(int(s)) for s in sorted(set(segments))}


def base_layout(fig: go.Figure, *, title: str | None = None, height: int = 360) -> go.Figure:
    """Shared look: white background, system font, compact margins."""
    fig.update_layout(
        template="plotly_white",
        title={"text": title, "x": 0, "xanchor": "left"} if title else None,
        font={"family": FONT, "size": 13},
        height=height,
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        hoverlabel={"font": {"family": FONT}},
    )
    return fig


def empty_figure(message: str, *, height: int = 240) -> go.Figure:
    """A blank figure that says why there is nothing to show."""
    fig = go.Figure()
    fig.add_annotation(
        text=message,
        showarrow=False,
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        font={"size": 14, "color": "#6c757d"},
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return base_layout(fig, height=height)


def audit_stages(audit: Audit) -> list[dict[str, object]]:
    """Funnel stages: lines read, then the lines left after each rule, in rule order.

    Each stage has ``label``, ``remaining`` (lines left), ``dropped`` (by this rule),
    ``revenue`` (amount of the dropped lines), ``enabled`` and ``reason`` (None for the first).
    """
    stages: list[dict[str, object]] = [
        {
            "reason": None,
            "label": "Lines read",
            "remaining": audit.rows_in,
            "dropped": 0,
            "revenue": 0.0,
            "enabled": True,
        }
    ]
    remaining = audit.rows_in
    for stat in audit.reasons:
        remaining -= stat.rows
        label = REASON_LABELS.get(stat.reason, stat.reason)
        stages.append(
            {
                "reason": stat.reason,
                "label": label if stat.enabled else f"{label} (rule off)",
                "remaining": remaining,
                "dropped": stat.rows,
                "revenue": float(stat.revenue),
                "enabled": stat.enabled,
            }
        )
    return stages


def audit_funnel(audit: Audit, *, height: int = 380) -> go.Figure:
    """Funnel of lines left after each cleaning rule; hover shows what the rule removed."""
    stages = audit_stages(audit)
    total = max(audit.rows_in, 1)
    labels = [f"{i}. {s['label']}" if i else str(s["label"]) for i, s in enumerate(stages)]
    labels[-1] = f"{labels[-1]}  →  kept"
    colors = [
        "#6C757D" if s["reason"] is None else (KEPT_COLOR if s["enabled"] else OFF_COLOR)
        for s in stages
    ]
    customdata = [
        [int(s["dropped"]), float(s["revenue"]), 100.0 * int(s["dropped"]) / total]  # type: ignore[call-overload]
        for s in stages
    ]
    fig = go.Figure(
        go.Funnel(
            y=labels,
            x=[int(s["remaining"]) for s in stages],  # type: ignore[call-overload]
            textinfo="value+percent initial",
            texttemplate="%{value:,} (%{percentInitial:.1%})",
            marker={"color": colors},
            connector={"fillcolor": "#e9ecef", "line": {"color": "#dee2e6", "width": 1}},
            customdata=customdata,
            hovertemplate=(
                "<b>%{y}</b><br>lines left: %{x:,}<br>"
                "dropped here: %{customdata[0]:,} (%{customdata[2]:.2f}% of all lines)<br>"
                "amount of dropped lines: %{customdata[1]:,.2f}<extra></extra>"
            ),
        )
    )
    base_layout(fig, height=height)
    fig.update_yaxes(automargin=True)
    return fig
