"""Pure figure builders: palette and cleaning funnel."""

from __future__ import annotations

import polars as pl
import pytest

from core.cleaning import REASONS, Audit, ReasonStat
from dashapp.shared.figures import (
    NOISE_COLOR,
    OFF_COLOR,
    SEGMENT_PALETTE,
    audit_funnel,
    audit_stages,
    empty_figure,
    segment_color,
    segment_colors,
)
from tests.dashapp.helpers import as_json


def make_audit(dropped: dict[str, int], *, off: frozenset[str] = frozenset()) -> Audit:
    rows_in = 1000
    reasons = tuple(
        ReasonStat(
            reason=r, rows=dropped.get(r, 0), revenue=10.0 * dropped.get(r, 0), enabled=r not in off
        )
        for r in REASONS
    )
    kept = rows_in - sum(dropped.values())
    return Audit(
        rows_in=rows_in,
        rows_kept=kept,
        revenue_in=5000.0,
        revenue_kept=4000.0,
        reasons=reasons,
        customers_in=50,
        customers_out=40,
        samples={r: pl.DataFrame() for r in REASONS},
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


def test_audit_stages_subtract_each_rule_in_order() -> None:
    audit = make_audit({"missing_customer": 200, "duplicate": 30, "non_positive": 5})
    stages = audit_stages(audit)
    assert [s["reason"] for s in stages] == [None, *REASONS]
    assert [s["remaining"] for s in stages] == [1000, 1000, 800, 800, 770, 770, 765]
    assert stages[-1]["remaining"] == audit.rows_kept
    assert [s["dropped"] for s in stages][1:] == [0, 200, 0, 30, 0, 5]
    assert stages[2]["revenue"] == 2000.0


def test_funnel_values_labels_and_off_rules() -> None:
    audit = make_audit({"missing_customer": 200, "cancellation": 50}, off=frozenset({"duplicate"}))
    fig = audit_funnel(audit)
    trace = fig.data[0]
    assert list(trace.x) == [1000, 1000, 800, 800, 800, 750, 750]
    assert "(rule off)" in trace.y[4]
    assert trace.y[-1].endswith("kept")
    assert trace.marker.color[4] == OFF_COLOR
    assert len(set(trace.marker.color[1:4])) == 1  # enabled rules share a colour
    # customdata must reach the browser as plain lists, not base64 typed arrays (Plotly 6
    # drops NumPy customdata from click and selection events).
    sent = as_json(fig)["data"][0]
    assert sent["customdata"][2] == [200, 2000.0, 20.0]
    assert isinstance(sent["x"], list)


def test_funnel_of_an_empty_file_does_not_divide_by_zero() -> None:
    audit = make_audit({})
    audit = Audit(**{**audit.__dict__, "rows_in": 0, "rows_kept": 0})
    assert list(audit_funnel(audit).data[0].x) == [0] * 7


@pytest.mark.parametrize("message", ["Loading…", "Fix the mapping"])
def test_empty_figure_says_why(message: str) -> None:
    fig = empty_figure(message)
    assert fig.data == ()
    assert fig.layout.annotations[0].text == message
