"""RFM page view: segment table on a hand-made frame, score grid, sufficiency warnings."""

from __future__ import annotations

import polars as pl
import pytest

from core.naming import color_indices
from core.rfm import RF_GRID, RFM11, segment_customers
from dashapp.pages.rfm import view as rv
from tests.core.clustering.synth import cdnow_like
from tests.dashapp.pages.rfm.frames import features


def test_segment_table_figures_match_a_direct_computation() -> None:
    frame = features(40, excluded=3)
    segmented = segment_customers(frame, RFM11)
    table = rv.segment_table(segmented, "rfm11")
    assert table.get_column("segment").to_list() == list(RFM11.segment_names)
    assert table.get_column("color").to_list() == list(color_indices(RFM11.segment_names))
    assert table.get_column("customers").sum() == 37  # excluded customers are in no segment
    assert table.get_column("share").sum() == pytest.approx(1.0)
    assert table.get_column("revenue_share").sum() == pytest.approx(1.0)
    scored = segmented.filter(pl.col("segment").is_not_null())
    for row in table.filter(pl.col("customers") > 0).iter_rows(named=True):
        members = scored.filter(pl.col("segment") == row["segment"])
        assert row["customers"] == members.height
        assert row["mean_recency"] == pytest.approx(members.get_column("recency_days").mean())
        assert row["mean_frequency"] == pytest.approx(members.get_column("frequency").mean())
        assert row["revenue"] == pytest.approx(members.get_column("monetary").sum())
        assert row["revenue_share"] == pytest.approx(
            members.get_column("monetary").sum() / scored.get_column("monetary").sum()
        )
    empty = table.filter(pl.col("customers") == 0)
    assert empty.get_column("mean_monetary").null_count() == empty.height


def test_rf_grid_cells_name_their_segment_at_the_rule_sets_bins() -> None:
    view = rv.rfm_view(features(50), ruleset="rf_grid", bins=5)
    assert view.grid.height == 25
    assert view.grid.get_column("customers").sum() == 50
    # In the RF grid every cell is exactly one segment.
    for r, f, n, top in view.grid.select(
        "r_score", "f_score", "customers", "top_segment"
    ).iter_rows():
        if n:
            assert top == RF_GRID.segment_of((r, f))
    other = rv.rfm_view(features(50), ruleset="rf_grid", bins=3)
    assert other.grid.height == 9
    assert other.grid.get_column("top_segment").null_count() == 9
    assert other.segments.get_column("customers").sum() == 50  # segments keep 5 scores


def test_sufficiency_warnings_reach_the_view() -> None:
    view = rv.rfm_view(features(20), ruleset="rfm11", bins=5)
    assert any("Only 20 customers" in w for w in view.warnings)


def test_a_segment_name_keeps_its_colour_across_rule_sets() -> None:
    colors = {}
    for key in ("rfm11", "rf_grid"):
        view = rv.rfm_view(features(60), ruleset=key, bins=5)
        colors[key] = dict(view.segments.select("segment", "color").iter_rows())
        assert len(set(colors[key].values())) == len(colors[key])
    for name in ("Champions", "Hibernating", "At Risk", "Need Attention", "Promising"):
        assert colors["rfm11"][name] == colors["rf_grid"][name], name
    # The RF grid's short names are the same segments as RFM 11's.
    assert colors["rf_grid"]["Can't Lose"] == colors["rfm11"]["Can't Lose Them"]
    assert colors["rf_grid"]["Loyal"] == colors["rfm11"]["Loyal Customers"]


def test_names_that_do_not_fit_the_data_are_flagged_with_a_plain_name() -> None:
    # CDNOW's shape: half the customers bought once, all of them in the first quarter.
    view = rv.rfm_view(cdnow_like(), ruleset="rfm11", bins=5)
    rows = {row["segment"]: row for row in view.segments.iter_rows(named=True)}
    cant_lose = rows["Can't Lose Them"]
    assert cant_lose["mean_frequency"] < 1.1  # codes 113-115: one-time buyers
    assert cant_lose["misfit"].startswith("more orders than ")
    assert cant_lose["misfit"].endswith("(needs >= 70%)")
    assert cant_lose["plain_name"] == "One-time buyers, lapsed 17 months"
    new = rows["New Customers"]
    assert new["mean_recency"] > 470
    assert new["misfit"].startswith(f"last order {new['mean_recency']:.0f} days ago (mean)")
    assert rows["Loyal Customers"]["misfit"] is None  # it fits: no note


def test_score_ranges_say_what_each_score_stands_for() -> None:
    view = rv.rfm_view(cdnow_like(), ruleset="rfm11", bins=5)
    texts = rv.range_texts(view.ranges)
    scored = view.ranges
    assert texts["f"][1] == "1 order"
    assert texts["f"][2] == "—"  # half the customers bought once: F = 2 is skipped
    low, high = scored.filter(pl.col("score") == 5).select("r_min", "r_max").row(0)
    assert texts["r"][5] == f"{low:,.0f}–{high:,.0f} days"
