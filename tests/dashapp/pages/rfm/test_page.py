"""RFM page: segment table on a hand-made frame, figures, settings written to the state."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from dash import no_update
from dash.exceptions import PreventUpdate

from core.columns import CUSTOMER
from core.rfm import RF_GRID, RFM11, segment_customers
from dashapp.pages.rfm import callbacks as page
from dashapp.pages.rfm import figures as figures_rfm
from dashapp.pages.rfm import view as rv
from dashapp.services import AppServices
from dashapp.shared import figures, ids
from dashapp.shared.loading import session_table
from dashapp.state import SessionState, new_state, parse_state
from tests.dashapp.helpers import as_json, sales_csv, texts, upload


def features(n: int = 25, *, excluded: int = 0, seed: int = 0) -> pl.DataFrame:
    """``n`` customers with distinct R, F, M values; the last ``excluded`` are excluded."""
    rng = np.random.default_rng(seed)
    flags = [False] * (n - excluded) + [True] * excluded
    return pl.DataFrame(
        {
            CUSTOMER: [f"C{i:03d}" for i in range(n)],
            "recency_days": rng.permutation(n) + 1,
            "frequency": rng.permutation(n) + 1,
            "monetary": [
                (-1.0 if flag else float(v))
                for flag, v in zip(flags, rng.permutation(n) + 10, strict=True)
            ],
            "excluded": flags,
            "exclusion_reason": ["net monetary <= 0" if f else None for f in flags],
            # A year of history, so only the customer count can trigger a warning.
            "first_purchase": [dt.date(2011, 1, 1)] * n,
            "last_purchase": [dt.date(2011, 12, 1)] * n,
        },
        schema={
            CUSTOMER: pl.String(),
            "recency_days": pl.Int64(),
            "frequency": pl.Int64(),
            "monetary": pl.Float64(),
            "excluded": pl.Boolean(),
            "exclusion_reason": pl.String(),
            "first_purchase": pl.Date(),
            "last_purchase": pl.Date(),
        },
    )


def test_segment_table_figures_match_a_direct_computation() -> None:
    frame = features(40, excluded=3)
    segmented = segment_customers(frame, RFM11)
    table = rv.segment_table(segmented, "rfm11")
    assert table.get_column("segment").to_list() == list(RFM11.segment_names)
    assert table.get_column("color").to_list() == list(range(len(RFM11.segments)))
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


def test_treemap_sizes_and_colours() -> None:
    view = rv.rfm_view(features(60, excluded=2), ruleset="rfm11", bins=5)
    fig = figures_rfm.treemap(view.segments, color="segment")
    (tree,) = fig.data
    assert tree.type == "treemap"
    shown = view.segments.filter(pl.col("customers") > 0)
    assert list(tree.labels[:-1]) == shown.get_column("segment").to_list()
    assert list(tree.values[:-1]) == shown.get_column("customers").to_list()
    assert tree.values[-1] == 58  # the root holds every scored customer
    assert list(tree.marker.colors[:-1]) == [
        figures.segment_color(c) for c in shown.get_column("color").to_list()
    ]
    by_revenue = figures_rfm.treemap(view.segments, color="revenue").data[0]
    assert list(by_revenue.marker.colors[:-1]) == shown.get_column("revenue_share").to_list()


def test_score_grid_colours_cells_by_segment_when_named() -> None:
    view = rv.rfm_view(features(50), ruleset="rf_grid", bins=5)
    colors = dict(view.segments.select("segment", "color").iter_rows())
    heat = figures_rfm.score_grid_heatmap(view.grid, bins=5, segment_colors=colors).data[0]
    assert heat.showscale is False
    unnamed = rv.rfm_view(features(50), ruleset="rf_grid", bins=4)
    heat = figures_rfm.score_grid_heatmap(unnamed.grid, bins=4, segment_colors=colors).data[0]
    assert heat.colorscale[0][1] != figures.segment_color(0)  # shaded by customers instead
    assert np.nansum(np.array(heat.z, dtype=float)) == 50


# --- callbacks -------------------------------------------------------------------------------

OUTPUTS = [f"{o.component_id}.{o.component_property}" for o in page.RENDER_OUTPUTS]
SETTING_IDS = [ids.rfm_setting(n) for n in page.SETTINGS]


def render(state: SessionState) -> dict[str, object]:
    return dict(zip(OUTPUTS, page.render(state.to_json()), strict=True))


@pytest.mark.usefixtures("app_ctx")
def test_render_default_then_switch_rule_set(services: AppServices) -> None:
    state = new_state(services)
    out = render(state)
    table = session_table(state, services)
    assert f"{table.n_customers - table.n_excluded:,}" in texts(as_json(out["rfm-note.children"]))
    segment_rows = texts(as_json(out["rfm-table.children"]))
    assert "Champions" in segment_rows
    assert "Can't Lose Them" in segment_rows  # rfm11 by default
    data, alert = page.apply_settings(["rf_grid", 3, "revenue"], SETTING_IDS, state.to_json())
    assert alert == []
    new = parse_state(data, services)
    assert new.view_settings("rfm") == {"ruleset": "rf_grid", "bins": 3, "color": "revenue"}
    out = render(new)
    assert "Can't Lose" in texts(as_json(out["rfm-table.children"]))
    assert "Can't Lose Them" not in texts(as_json(out["rfm-table.children"]))
    assert np.array(out["rfm-grid.figure"].data[0].z, dtype=float).shape == (3, 3)
    assert out["rfm-treemap.figure"].data[0].marker.showscale is True
    controls = as_json(out["rfm-controls.children"])
    assert '"value": "rf_grid"' in str(controls).replace("'", '"')


@pytest.mark.usefixtures("app_ctx")
@pytest.mark.parametrize(
    "values",
    [
        ["rfm99", 5, "segment"],  # unknown rule set
        ["rfm11", 7, "segment"],  # bins no control offers
        ["rfm11", "5", "segment"],  # a string for a number
        ["rfm11", 5, "<script>"],
    ],
)
def test_apply_settings_refuses_values_no_control_sends(
    services: AppServices, values: list[object]
) -> None:
    state = new_state(services)
    data, alert = page.apply_settings(values, SETTING_IDS, state.to_json())
    assert data is no_update
    assert "not applied" in texts(as_json(alert))


@pytest.mark.usefixtures("app_ctx")
def test_apply_settings_ignores_unchanged_and_malformed_requests(services: AppServices) -> None:
    state = new_state(services)
    with pytest.raises(PreventUpdate):
        page.apply_settings(["rfm11", 5, "segment"], SETTING_IDS, state.to_json())  # defaults
    with pytest.raises(PreventUpdate):
        page.apply_settings(["rfm11"], SETTING_IDS, state.to_json())  # lengths differ
    data, alert = page.apply_settings(
        ["rfm11"], [{"type": ids.RFM_SETTING_TYPE, "name": "colour"}], state.to_json()
    )
    assert data is no_update
    assert "unknown RFM setting" in texts(as_json(alert))


@pytest.mark.usefixtures("app_ctx")
def test_tampered_stored_settings_fall_back_to_defaults(services: AppServices) -> None:
    state = new_state(services).with_view_settings("rfm", {"ruleset": "nope", "bins": 99})
    assert page.settings_of(state) == rv.DEFAULTS
    out = render(state)
    assert out["rfm-alert.children"] == []
    assert np.array(out["rfm-grid.figure"].data[0].z, dtype=float).shape == (5, 5)


@pytest.mark.usefixtures("app_ctx")
def test_render_explains_data_that_is_not_ready(services: AppServices) -> None:
    state = new_state(services)
    data = upload(sales_csv(customer_header="Who"), "who.csv", state.to_json()
    )
    out = render(parse_state(data, services))
    assert "How to fix" in texts(as_json(out["rfm-alert.children"]))
    assert "Data page" in out["rfm-treemap.figure"].layout.annotations[0].text
    assert out["rfm-controls.children"]  # the settings stay usable
