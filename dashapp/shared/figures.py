"""Pure Plotly figure builders (no callbacks, no app state): data in, ``go.Figure`` out.

Every view colours segments with :func:`segment_color`, so segment 3 has the same colour in
every chart of every page. Data passed to figures is converted to plain Python lists: Plotly 6+
``dcc.Graph`` may drop NumPy ``customdata`` from click and selection events.
"""

from __future__ import annotations

from collections.abc import Iterable

import plotly.graph_objects as go

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
