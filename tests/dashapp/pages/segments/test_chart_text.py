"""Segments page: each chart's one-sentence summary and table alternative say what the chart
draws, computed from the same data (hand-made rows, and the fitted model of the small data)."""

from __future__ import annotations

import pytest
from dash.exceptions import PreventUpdate

from core.wording import count
from dashapp.pages.segments import callbacks as page
from dashapp.pages.segments import figures, ids, view
from dashapp.pages.segments.layout import sizes_table
from dashapp.shared import segment_figures as fs
from dashapp.shared.modeling import SessionModel, selected_segment, with_segment
from dashapp.state import SessionState, require_state
from tests.dashapp.helpers import as_json, nodes

pytestmark = pytest.mark.usefixtures("app_ctx")


def row(segment: int, name: str, customers: int, revenue: float) -> fs.SegmentRow:
    return fs.SegmentRow(segment, name, "#000000", customers, 0.0, revenue, 0.0)


def with_shares(rows: list[fs.SegmentRow]) -> list[fs.SegmentRow]:
    people, money = sum(r.customers for r in rows), sum(r.revenue for r in rows)
    return [
        fs.SegmentRow(
            r.segment,
            r.name,
            r.color,
            r.customers,
            r.customers / people,
            r.revenue,
            r.revenue / money,
        )
        for r in rows
    ]


@pytest.mark.parametrize(
    ("customers", "revenue"),
    [((10, 300, 40), (500.0, 100.0, 900.0)), ((700, 20, 5), (9000.0, 50.0, 10.0))],
)
def test_sizes_summary_names_the_largest_and_the_top_earner(
    customers: tuple[int, ...], revenue: tuple[float, ...]
) -> None:
    rows = with_shares(
        [
            row(s, f"Group {s}", c, r)
            for s, (c, r) in enumerate(zip(customers, revenue, strict=True))
        ]
    )
    text = fs.sizes_summary(rows)
    largest = max(rows, key=lambda r: r.customers)
    richest = max(rows, key=lambda r: r.revenue)
    assert text.startswith(f"Segment sizes: {len(rows)} segments; the largest, {largest.name}")
    assert f"has {count(largest.customers, 'customer')} ({largest.share:.0%})" in text
    assert richest.name in text
    assert f"{richest.revenue_share:.0%}" in text
    assert sum(r.name in text for r in rows) == len({largest.name, richest.name})


def test_sizes_summary_without_segments() -> None:
    assert fs.sizes_summary([]) == "Segment sizes: no segments."


def test_sizes_summary_and_table_follow_the_bars(model: SessionModel) -> None:
    rows = fs.segment_rows(model.result)
    fig = fs.sizes_figure(rows)
    largest = max(range(len(rows)), key=lambda i: fig.data[0].x[i])
    assert f"the largest, {fig.data[0].y[largest]}" in fs.sizes_summary(rows)
    cells = [fs.sizes_cells(r) for r in rows]
    assert [c[0] for c in cells] == list(fig.data[0].y)
    assert [c[1].split(" ")[0] for c in cells] == [t.split(" · ")[0] for t in fig.data[0].text]


def test_the_sizes_table_selects_like_a_bar(state: SessionState, model: SessionModel) -> None:
    shown = view.segments_view(with_segment(state, 1), model)
    tree = as_json(sizes_table(shown))
    assert next(n for n in nodes(tree) if n["type"] == "Caption")["props"]["children"]
    headers = [n for n in nodes(tree) if n["type"] == "Th"]
    assert {h["props"]["scope"] for h in headers} == {"col", "row"}
    buttons = [n["props"] for n in nodes(tree) if n["type"] == "Button"]
    assert [b["id"] for b in buttons] == [ids.segment_table_pick(s) for s in range(model.result.k)]
    assert [b["children"] for b in buttons] == [f"Select {n}" for n in model.result.names]
    current = [n["props"] for n in nodes(tree) if n["props"].get("aria-current") == "true"]
    assert len(current) == 1
    assert model.result.names[1] in str(current[0]["children"])


def test_profile_summary_names_the_most_distinct_cell(model: SessionModel) -> None:
    features, z, _means = fs.profile_matrix(model.result, model.table.features)
    size, s, f = max(
        (abs(v), s, f) for s, r in enumerate(z) for f, v in enumerate(r) if v is not None
    )
    text = fs.profile_summary(model.result, model.table.features)
    assert f"the most distinct is {model.result.names[s]}" in text
    assert fs.FEATURE_SHORT[features[f]].lower() in text
    assert f"{size:.1f} sd" in text
    columns, rows = fs.profile_rows(model.result, model.table.features)
    assert columns[1:] == [fs.FEATURE_SHORT[c] for c in features]
    assert [r[0] for r in rows] == list(model.result.names)
    assert rows[s][f + 1].endswith(f"({z[s][f]:+.1f} sd)")


def test_projection_summary_counts_the_points_drawn(
    state: SessionState, model: SessionModel
) -> None:
    shown = view.segments_view(state, model)
    fig, _ = figures.projection(shown)
    n = model.result.segmentation.n
    assert f"{count(n, 'customer')} drawn" in figures.projection_summary(shown, fig)
    sample, _ = fs.projection_figure(model.result, max_points=60)
    assert f"60 of {n:,} customers drawn" in figures.projection_summary(shown, sample)


def test_a_select_button_of_the_table_stores_what_a_bar_click_stores(
    state: SessionState, model: SessionModel
) -> None:
    data = state.to_json()
    bar = {"points": [{"customdata": [2]}]}
    by_bar = page.select_segment(bar, None, [], None, data, trigger=(ids.SEGMENTS_SIZES, bar))
    pick = ids.segment_table_pick(2)
    by_table = page.select_segment(None, None, [], None, data, [0, 0, 1, 0], trigger=(pick, 1))
    assert selected_segment(require_state(by_table)) == 2
    assert require_state(by_table) == require_state(by_bar)
    with pytest.raises(PreventUpdate):  # a re-rendered button, not a click
        page.select_segment(None, None, [], None, data, [None] * 4, trigger=(pick, None))
    with pytest.raises(PreventUpdate):  # selecting the selected segment again changes nothing
        page.select_segment(None, None, [], None, by_table, [0, 0, 2, 0], trigger=(pick, 2))


def test_the_heatmap_its_table_and_its_summary_share_one_profile_matrix(
    state: SessionState, model: SessionModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 100,000 customers the matrix took ~60 ms, and a render asked for it three times."""
    calls: list[int] = []
    real = view.profile_matrix

    def counted(*args: object) -> fs.ProfileMatrix:
        calls.append(1)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(view, "profile_matrix", counted)
    monkeypatch.setattr(fs, "profile_matrix", counted)
    from dashapp.pages.segments.layout import profiles_table

    shown = view.segments_view(state, model)
    figures.profiles(shown)
    profiles_table(shown)
    summary = figures.profiles_summary(shown)
    assert len(calls) == 1
    assert summary == fs.profile_summary(model.result, model.table.features)
