"""Pure Plotly figure builders (no callbacks, no app state): data in, ``go.Figure`` out.

Every view colours segments with :func:`segment_color`, so segment 3 has the same colour in
every chart of every page. Data passed to figures is converted to plain Python lists: Plotly 6+
``dcc.Graph`` may drop NumPy ``customdata`` from click and selection events.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable

import plotly.graph_objects as go
import plotly.io as pio

# Every figure of the app uses Plotly's "plotly_white" look. Set as the process's default once
# (a constant, the same for every session): a new ``go.Figure`` then takes the already-validated
# template without copying it, where ``update_layout(template=...)`` deep-copied and validated the
# whole template on every figure (about a third of a Segments render at 100,000 customers).
APP_TEMPLATE = "plotly_white"
pio.templates.default = APP_TEMPLATE

# Okabe-Ito first, then eight colours picked (greedily, farthest first) to stay apart from every
# earlier one and from NOISE_COLOR for people with deuteranopia, protanopia or tritanopia:
# tests/dashapp/shared/test_palette.py holds the distances under simulated colour-vision
# deficiencies. Beyond 16 segments colours repeat; every chart also names the segments.
SEGMENT_PALETTE: tuple[str, ...] = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
    "#783C2D",
    "#B4D296",
    "#5A3C69",
    "#3C00E1",
    "#8778FF",
    "#FFB4D2",
    "#B43C0F",
    "#A54B78",
)
# Points a clustering left unassigned (label -1) or excluded customers: a grey 3.9:1 against
# white, and as far from the segment colours as a grey gets under colour-vision deficiencies.
NOISE_COLOR = "#808080"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"


def segment_color(segment: int) -> str:
    """The colour of segment number ``segment`` (stable; negative numbers are "noise")."""
    if segment < 0:
        return NOISE_COLOR
    return SEGMENT_PALETTE[segment % len(SEGMENT_PALETTE)]


DARK_TEXT = (
    "#000000"  # black, not Bootstrap grey: with white, one of the two reaches 4.5:1 on any fill
)
LIGHT_TEXT = "#FFFFFF"
PAGE_WHITE = "#FFFFFF"


def _rgb(color: str) -> tuple[float, float, float]:
    value = color.lstrip("#")
    if len(value) != 6:
        raise ValueError(f"expected a colour as #RRGGBB, got {color!r}")
    return (int(value[0:2], 16) / 255, int(value[2:4], 16) / 255, int(value[4:6], 16) / 255)


def _hex(rgb: Iterable[float]) -> str:
    return "#" + "".join(f"{round(min(max(c, 0.0), 1.0) * 255):02X}" for c in rgb)


def relative_luminance(color: str) -> float:
    """WCAG 2.1 relative luminance of ``#RRGGBB`` (0 black to 1 white)."""

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in _rgb(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG 2.1 contrast ratio of two colours (1 to 21; text needs 4.5 at level AA)."""
    lighter, darker = sorted(
        (relative_luminance(foreground), relative_luminance(background)), reverse=True
    )
    return (lighter + 0.05) / (darker + 0.05)


def dimmed(color: str, alpha: float, background: str = PAGE_WHITE) -> str:
    """``color`` drawn at opacity ``alpha`` over ``background``, as one opaque colour.

    Charts dim unselected segments with this rather than with marker opacity, so the colour a
    label sits on is known and :func:`label_color` can pick a readable text colour for it.
    """
    front, back = _rgb(color), _rgb(background)
    return _hex(alpha * f + (1 - alpha) * b for f, b in zip(front, back, strict=True))


def label_color(fill: str) -> str:
    """Dark or white text, whichever contrasts more with ``fill`` (>= 4.5:1 for any fill)."""
    dark, light = contrast_ratio(DARK_TEXT, fill), contrast_ratio(LIGHT_TEXT, fill)
    return DARK_TEXT if dark >= light else LIGHT_TEXT


def segment_colors(segments: Iterable[int]) -> dict[int, str]:
    """Colour map for a set of segment numbers (for ``color_discrete_map`` and legends)."""
    return {int(s): segment_color(int(s)) for s in sorted(set(segments))}


def base_layout(fig: go.Figure, *, title: str | None = None, height: int = 360) -> go.Figure:
    """Shared look: white background, system font, compact margins."""
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left"} if title else None,
        font={"family": FONT, "size": 13},
        height=height,
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        hoverlabel={"font": {"family": FONT}},
    )
    return fig


EMPTY_LINE_CHARS = 60  # a message's line on a blank figure: it fits a narrow card at 1440 px


def empty_figure(message: str, *, height: int = 240) -> go.Figure:
    """A blank figure that says why there is nothing to show (wrapped: Plotly draws an
    annotation on one line, cut off at the figure's edges)."""
    lines = textwrap.wrap(message, EMPTY_LINE_CHARS) or [""]
    fig = go.Figure()
    fig.add_annotation(
        text="<br>".join(lines),
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
