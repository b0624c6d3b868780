"""Pure figure builders: palette and placeholder."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest

from dashapp.shared.figures import (
    EMPTY_LINE_CHARS,
    NOISE_COLOR,
    SEGMENT_PALETTE,
    empty_figure,
    segment_color,
    segment_colors,
)


def test_palette_is_stable_and_distinct() -> None:
    assert segment_color(0) == SEGMENT_PALETTE[0]
    assert segment_color(3) == segment_color(3 + len(SEGMENT_PALETTE))
    assert len({segment_color(i) for i in range(len(SEGMENT_PALETTE))}) == len(SEGMENT_PALETTE)
    assert segment_color(-1) == NOISE_COLOR
    assert NOISE_COLOR not in SEGMENT_PALETTE
    # The colour of a segment does not depend on which other segments are present.
    assert segment_colors([4, 1]) == {1: segment_color(1), 4: segment_color(4)}
    assert segment_colors([1, 4, 7])[4] == segment_colors([4])[4]


@pytest.mark.parametrize("message", ["Loading…", "Fix the mapping"])
def test_empty_figure_says_why(message: str) -> None:
    fig = empty_figure(message)
    assert fig.data == ()
    assert fig.layout.annotations[0].text == message


def test_a_long_empty_figure_message_is_wrapped_not_cut_off() -> None:
    # Plotly draws an annotation on one line: a long one ran past both edges of the figure.
    message = " ".join(["No cleaning audit here: a customer feature table."] * 3)
    lines = empty_figure(message).layout.annotations[0].text.split("<br>")
    assert len(lines) > 1
    assert max(len(line) for line in lines) <= EMPTY_LINE_CHARS
    assert " ".join(lines) == message


def test_figures_take_the_app_template_without_setting_it_per_figure() -> None:
    """base_layout no longer sets a template; every figure still draws with plotly_white."""
    import plotly.io as pio

    from dashapp.shared.figures import APP_TEMPLATE, base_layout, empty_figure

    white = pio.templates[APP_TEMPLATE].layout
    for fig in (base_layout(go.Figure(go.Bar(x=[1], y=[2]))), empty_figure("nothing")):
        drawn = fig.to_plotly_json()["layout"]["template"]["layout"]
        assert drawn["plot_bgcolor"] == white.plot_bgcolor == "white"
        assert drawn["xaxis"]["gridcolor"] == white.xaxis.gridcolor
