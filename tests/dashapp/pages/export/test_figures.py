"""Export figures: the report's charts and their HTML fragments (Plotly inlined once)."""

from __future__ import annotations

from dashapp.pages.export import figures
from dashapp.shared import segment_figures as fs
from dashapp.shared.modeling import SessionModel


def test_report_charts_without_diagnostics(model: SessionModel) -> None:
    charts = figures.report_charts(
        model.result, model.table.features, model.settings, selection=None, stability=None
    )
    headings = [heading for heading, _fig in charts]
    assert headings[0] == "Size and revenue of each segment"
    assert headings[1].startswith("Customers in two dimensions")
    assert headings[2] == "Profiles (standard deviations from all customers)"
    assert len(charts) == 3
    assert figures.segment_colors(model.result) == [
        fs.color_of(model.result, p.segment) for p in model.result.profiles
    ]


def test_charts_html_inlines_plotly_once(model: SessionModel) -> None:
    charts = figures.report_charts(
        model.result, model.table.features, model.settings, selection=None, stability=None
    )
    fragments = figures.charts_html(charts)
    assert [heading for heading, _html in fragments] == [heading for heading, _fig in charts]
    joined = "\n".join(fragment for _heading, fragment in fragments)
    assert joined.count("plotly.js v") == 1
    assert "plotly.js v" in fragments[0][1]
    assert joined.count("Plotly.newPlot") == len(charts)
    assert 'src="http' not in joined
