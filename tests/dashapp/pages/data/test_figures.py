"""Data page figures: the cleaning funnel, the funnel for a view, and its placeholders."""

from __future__ import annotations

import polars as pl
import pytest

from core.cleaning import REASON_LABELS, REASONS, Audit, ReasonStat
from dashapp.pages.data import figures
from dashapp.services import AppServices
from dashapp.shared.loading import DataView, data_view
from dashapp.state import new_state
from tests.dashapp.helpers import as_json


def _annotation(fig: object) -> str:
    return as_json(fig)["layout"]["annotations"][0]["text"]


@pytest.mark.usefixtures("app_ctx")
def test_audit_funnel_of_a_view(services: AppServices) -> None:
    view = data_view(new_state(services), services)
    assert view.table is not None
    fig = figures.audit_funnel(view)
    assert as_json(fig) == as_json(figures.cleaning_funnel(view.table.audit))
    assert fig.data[0].x[0] == view.table.audit.rows_in
    assert fig.data[0].x[-1] == view.table.audit.rows_kept


def test_audit_funnel_without_an_audit_says_why() -> None:
    fig = figures.audit_funnel(DataView(filename="f.csv", is_default=False))
    assert fig.data == ()
    assert _annotation(fig) == figures.NO_AUDIT


def test_loading_funnel() -> None:
    fig = figures.loading_funnel()
    assert fig.data == ()
    assert _annotation(fig) == "Loading…"


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


def test_audit_stages_subtract_each_rule_in_order() -> None:
    audit = make_audit({"missing_customer": 200, "duplicate": 30, "non_positive": 5})
    stages = figures.audit_stages(audit)
    assert [s["reason"] for s in stages] == [None, *REASONS]
    assert [s["remaining"] for s in stages] == [1000, 1000, 800, 800, 770, 770, 765]
    assert stages[-1]["remaining"] == audit.rows_kept
    assert [s["dropped"] for s in stages][1:] == [0, 200, 0, 30, 0, 5]
    assert stages[2]["revenue"] == 2000.0


def test_funnel_values_labels_and_off_rules() -> None:
    audit = make_audit({"missing_customer": 200, "cancellation": 50}, off=frozenset({"duplicate"}))
    fig = figures.cleaning_funnel(audit)
    trace = fig.data[0]
    assert list(trace.x) == [1000, 1000, 800, 800, 800, 750, 750]
    assert "(rule off)" in trace.y[4]
    assert trace.y[-1].endswith("kept")
    # A bar counts the lines left after its rule, and its label says so (not the rule's name
    # alone, which reads as the lines the rule removed).
    assert trace.y[0] == "Lines read"
    for number, (label, reason) in enumerate(zip(trace.y[1:], REASONS, strict=True), start=1):
        assert label.startswith(f"Left after rule {number}: {REASON_LABELS[reason]}")
    assert [row[3] for row in as_json(fig)["data"][0]["customdata"][1:]] == [
        REASON_LABELS[r] for r in REASONS
    ]
    assert trace.marker.color[4] == figures.OFF_COLOR
    assert len(set(trace.marker.color[1:4])) == 1  # enabled rules share a colour
    # customdata must reach the browser as plain lists, not base64 typed arrays (Plotly 6
    # drops NumPy customdata from click and selection events).
    sent = as_json(fig)["data"][0]
    assert sent["customdata"][2] == [200, 2000.0, 20.0, REASON_LABELS["missing_customer"]]
    assert isinstance(sent["x"], list)


def test_funnel_of_an_empty_file_does_not_divide_by_zero() -> None:
    audit = make_audit({})
    audit = Audit(**{**audit.__dict__, "rows_in": 0, "rows_kept": 0})
    assert list(figures.cleaning_funnel(audit).data[0].x) == [0] * 7


@pytest.mark.parametrize(
    "dropped",
    [
        {"missing_customer": 200, "duplicate": 30, "non_positive": 5},
        {"missing_customer": 3, "cancellation": 412},
    ],
)
def test_funnel_summary_and_table_say_what_the_funnel_draws(dropped: dict[str, int]) -> None:
    audit = make_audit(dropped)
    trace = figures.cleaning_funnel(audit).data[0]
    text = figures.funnel_summary(audit)
    worst = max(dropped, key=dropped.__getitem__)
    assert text.startswith(f"Cleaning audit: {trace.x[0]:,} lines read, {trace.x[-1]:,} kept")
    assert f"{REASON_LABELS[worst]}, removed {dropped[worst]:,} lines" in text
    assert f"({dropped[worst] / audit.rows_in:.1%})" in text
    for other in set(dropped) - {worst}:
        assert REASON_LABELS[other] not in text
    # The table holds the numbers of the bars, stage by stage.
    rows = figures.funnel_rows(audit)
    assert len(rows) == len(trace.x)
    assert [r[0] for r in rows] == [y.removesuffix("  =  kept") for y in trace.y]
    assert [int(r[1].replace(",", "")) for r in rows] == list(trace.x)
    assert [r[3] for r in rows][1:] == [f"{dropped.get(r, 0):,}" for r in REASONS]


def test_funnel_summary_when_no_rule_dropped_a_line() -> None:
    text = figures.funnel_summary(make_audit({}))
    assert "1,000 lines read, 1,000 kept (100.0%)" in text
    assert text.endswith("no rule dropped a line.")
