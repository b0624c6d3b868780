"""Segment colours for everyone: apart under simulated colour-vision deficiencies, and text on
every fill readable (WCAG 2.1 AA contrast).

The simulations are Machado, Oliveira & Fernandes (2009) at full severity, from the
colour-science package; distances are CIEDE2000 in CIE Lab. A distance of 10 is an obvious
difference side by side (2 is about the smallest a trained eye sees).
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashapp.shared.figures import (
    DARK_TEXT,
    LIGHT_TEXT,
    NOISE_COLOR,
    SEGMENT_PALETTE,
    contrast_ratio,
    dimmed,
    label_color,
    relative_luminance,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # colour-science warns that matplotlib is not installed
    import colour

MIN_DISTANCE = 9.5  # between any two segment colours
NOISE_DISTANCE = 6.0  # between the noise grey and any segment colour (no grey gets 9.5 from all 16)
DEFICIENCIES = ("Deuteranomaly", "Protanomaly", "Tritanomaly")


def _rgb(color: str) -> np.ndarray:
    return np.array([int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)])


def _lab(color: str, deficiency: str | None) -> np.ndarray:
    linear = colour.models.eotf_sRGB(_rgb(color))
    if deficiency is not None:
        with warnings.catch_warnings():
            # "tritanomaly ... based on the shift paradigm as an approximation": it is the
            # standard simulation all the same (the one Chrome's DevTools uses).
            warnings.simplefilter("ignore", colour.utilities.ColourUsageWarning)
            matrix = colour.blindness.matrix_cvd_Machado2009(deficiency, 1.0)
        linear = np.clip(matrix @ linear, 0, 1)
    return colour.XYZ_to_Lab(colour.sRGB_to_XYZ(colour.models.eotf_inverse_sRGB(linear)))


@pytest.mark.parametrize("deficiency", [None, *DEFICIENCIES])
def test_segment_colours_stay_apart(deficiency: str | None) -> None:
    labs = {c: _lab(c, deficiency) for c in (*SEGMENT_PALETTE, NOISE_COLOR)}

    def distance(a: str, b: str) -> float:
        return float(colour.delta_E(labs[a], labs[b], method="CIE 2000"))

    closest = min((distance(a, b), a, b) for a, b in itertools.combinations(SEGMENT_PALETTE, 2))
    assert closest[0] >= MIN_DISTANCE, closest
    nearest = min((distance(NOISE_COLOR, c), c) for c in SEGMENT_PALETTE)
    assert nearest[0] >= NOISE_DISTANCE, nearest


def test_noise_grey_is_visible_on_white() -> None:
    assert contrast_ratio(NOISE_COLOR, "#FFFFFF") >= 3.0  # WCAG 1.4.11, graphical objects


def test_the_simulation_tells_red_from_green_apart_only_for_normal_vision() -> None:
    # Guard against a simulation that does nothing: red and green collapse for deuteranopes.
    normal = colour.delta_E(_lab("#D00000", None), _lab("#00A000", None), method="CIE 2000")
    deutan = colour.delta_E(
        _lab("#D00000", "Deuteranomaly"), _lab("#00A000", "Deuteranomaly"), method="CIE 2000"
    )
    assert normal > 3 * deutan


@pytest.mark.parametrize("fill", [*SEGMENT_PALETTE, NOISE_COLOR])
@pytest.mark.parametrize("alpha", [1.0, 0.3])
def test_labels_on_segment_fills_reach_aa_contrast(fill: str, alpha: float) -> None:
    shown = dimmed(fill, alpha)
    assert contrast_ratio(label_color(shown), shown) >= 4.5


@given(st.integers(0, 0xFFFFFF))
def test_label_colour_reaches_aa_on_any_fill(value: int) -> None:
    fill = f"#{value:06X}"
    assert contrast_ratio(label_color(fill), fill) >= 4.5


def test_contrast_matches_wcag_reference_values() -> None:
    assert relative_luminance("#FFFFFF") == pytest.approx(1.0)
    assert relative_luminance("#000000") == pytest.approx(0.0)
    assert contrast_ratio(DARK_TEXT, LIGHT_TEXT) == pytest.approx(21.0)
    # WebAIM's checker: #767676 on white is 4.54:1, the lightest grey passing AA.
    assert contrast_ratio("#767676", "#FFFFFF") == pytest.approx(4.54, abs=0.01)
    assert dimmed("#000000", 0.5) == "#808080"
