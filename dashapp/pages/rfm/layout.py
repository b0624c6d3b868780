"""Components of the RFM page (pure builders): the skeleton :func:`build`, the settings
controls, and what the render callback fills in from an :class:`~dashapp.pages.rfm.view.RfmView`.
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html
from dash.development.base_component import Component

from core.rfm import RULESETS
from dashapp.pages.rfm import ids
from dashapp.pages.rfm.view import BIN_CHOICES, RULESET_KEYS, RfmView, range_texts
from dashapp.shared import chart_text, components
from dashapp.shared.figures import empty_figure, segment_color

GRAPH_CONFIG = {"displayModeBar": False}
RULESET_LABELS = {key: rules.name for key, rules in RULESETS.items()}
LABEL_CLASS = "form-label small fw-semibold mb-1"


def _radio(name: str, label: str, options: list[dict[str, Any]], value: object) -> list[Component]:
    """A labelled inline radio group whose id is the setting ``name``."""
    return [
        html.Label(label, className=LABEL_CLASS),
        dbc.RadioItems(id=ids.rfm_setting(name), options=options, value=value, inline=True),
    ]


def controls(settings: dict[str, Any]) -> list[Component]:
    """Rule set, score bins and treemap colour, showing ``settings``."""
    rulesets = [{"label": RULESET_LABELS[k], "value": k} for k in RULESET_KEYS]
    bins = [{"label": str(b), "value": b} for b in BIN_CHOICES]
    colors = [
        {"label": "Segment", "value": "segment"},
        {"label": "Revenue share", "value": "revenue"},
    ]
    return [
        dbc.Row(
            [
                dbc.Col(_radio("ruleset", "Rule set", rulesets, settings["ruleset"]), md=5),
                dbc.Col(_radio("bins", "Score bins (grid)", bins, settings["bins"]), md=3),
                dbc.Col(_radio("color", "Treemap colour", colors, settings["color"]), md=4),
            ],
            className="g-3",
        )
    ]


TREEMAP_TITLE = "Segments by customers"
GRID_TITLE = "Recency x frequency score grid"


def _graph(graph_id: str, title: str) -> Component:
    """An empty graph waiting for the render callback (which fills its summary too)."""
    return chart_text.described_chart(
        dcc.Graph(id=graph_id, figure=empty_figure("Loading…"), config=GRAPH_CONFIG), title=title
    )


def build(**_query: str) -> Component:
    """The page skeleton; the render callback fills it from the session store."""
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(html.H4("RFM segments", className="mb-0"), width="auto"),
                    dbc.Col(html.Div(id=ids.RFM_NOTE), className="align-self-center"),
                ],
                className="mb-2 g-3",
            ),
            html.Div(id=ids.RFM_ALERT),
            components.card("Settings", html.Div(id=ids.RFM_CONTROLS)),
            html.Div(id=ids.RFM_WARNINGS),
            dbc.Row(
                [
                    dbc.Col(
                        components.card(
                            TREEMAP_TITLE,
                            components.loading(_graph(ids.RFM_TREEMAP, TREEMAP_TITLE)),
                        ),
                        lg=7,
                    ),
                    dbc.Col(
                        components.card(
                            GRID_TITLE,
                            [
                                _graph(ids.RFM_GRID, GRID_TITLE),
                                html.Div(id=ids.RFM_GRID_NOTE, className="small text-muted"),
                            ],
                        ),
                        lg=5,
                    ),
                ]
            ),
            components.card("Segment table", html.Div(id=ids.RFM_TABLE)),
        ]
    )


def _mean(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


TABLE_HEADERS = (
    "Customers",
    "Share",
    "Revenue share",
    "Mean recency (days)",
    "Mean orders",
    "Mean monetary",
)


def _segment_row(row: dict[str, Any]) -> html.Tr:
    """One segment's line of the table; an empty segment is muted."""
    swatch = html.Span(
        className="segment-swatch me-2",
        style={"backgroundColor": segment_color(int(row["color"]))},
    )
    return html.Tr(
        [
            html.Td(
                [
                    swatch,
                    html.Span(row["segment"], className="fw-semibold"),
                    html.Div(row["description"], className="small text-muted"),
                    *_misfit(row),
                ]
            ),
            html.Td(f"{row['customers']:,}", className="text-end"),
            html.Td(f"{row['share']:.1%}", className="text-end"),
            html.Td(f"{row['revenue_share']:.1%}", className="text-end"),
            html.Td(_mean(row["mean_recency"]), className="text-end"),
            html.Td(_mean(row["mean_frequency"]), className="text-end"),
            html.Td(_mean(row["mean_monetary"], 2), className="text-end"),
        ],
        className="text-muted" if row["customers"] == 0 else "",
    )


def _misfit(row: dict[str, Any]) -> list[Component]:
    """Why a segment does not fit its name on this data, and what its figures say instead."""
    if row.get("misfit") is None:
        return []
    return [
        html.Div(
            [
                html.Strong("Does not fit its name on this data: "),
                f"{row['misfit']}. From its figures: {row['plain_name']}.",
            ],
            className="small text-danger rfm-misfit",
        )
    ]


def score_ranges_table(view: RfmView) -> dbc.Table:
    """What each score means on this data: the days, orders and spend behind it."""
    texts = range_texts(view.ranges)
    rows = [
        html.Tr(
            [
                html.Td(str(score), className="text-end"),
                html.Td(texts["r"][score], className="text-end"),
                html.Td(texts["f"][score], className="text-end"),
                html.Td(texts["m"][score], className="text-end"),
            ]
        )
        for score in sorted(texts["r"])
    ]
    header = html.Thead(
        html.Tr(
            [
                html.Th(title, className="text-end")
                for title in ("Score", "Recency (days ago)", "Orders", "Net spend")
            ]
        )
    )
    return dbc.Table(
        [header, html.Tbody(rows)],
        size="sm",
        className="mb-0 mt-2 small",
        id=ids.RFM_RANGES,
    )


def _table_foot(view: RfmView) -> list[html.Tr]:
    """The scored total, then the excluded customers (when there are any)."""
    foot = [
        html.Tr(
            [
                html.Td(html.Strong("Scored customers")),
                html.Td(html.Strong(f"{view.scored:,}"), className="text-end"),
                html.Td("100%", className="text-end"),
                html.Td("100%", className="text-end"),
                html.Td(colSpan=3),
            ]
        )
    ]
    if view.excluded:
        foot.append(
            html.Tr(
                [
                    html.Td("Excluded (not scored, in no segment)", className="text-muted"),
                    html.Td(f"{view.excluded:,}", className="text-end text-muted"),
                    html.Td(colSpan=5),
                ]
            )
        )
    return foot


def segment_table(view: RfmView) -> dbc.Table:
    """Customers, shares and mean R/F/M per segment, in rule-set order; empty segments muted."""
    header = html.Thead(
        html.Tr(
            [html.Th("Segment")] + [html.Th(title, className="text-end") for title in TABLE_HEADERS]
        )
    )
    rows = [_segment_row(row) for row in view.segments.iter_rows(named=True)]
    return dbc.Table(
        [header, html.Tbody(rows), html.Tfoot(_table_foot(view))],
        size="sm",
        hover=True,
        responsive=True,
        className="mb-0 align-middle",
        id=ids.RFM_SEGMENT_TABLE,
    )


def warnings_panel(view: RfmView) -> list[Component]:
    """Sufficiency warnings as alerts (nothing when the data is sufficient)."""
    return [
        dbc.Alert(
            [html.Strong("Data sufficiency: "), text],
            color="warning",
            className="mb-2 py-2",
        )
        for text in view.warnings
    ]


def headline(view: RfmView) -> list[Component | str]:
    """Scored customers and the rule set's name, with a badge counting the excluded ones."""
    parts: list[Component | str] = [
        html.Strong(f"{view.scored:,}"),
        html.Span(f" customers scored · {view.ruleset_name}", className="text-muted"),
    ]
    if view.excluded:
        parts.append(dbc.Badge(f"{view.excluded:,} excluded", color="secondary", className="ms-2"))
    return parts


def grid_note(view: RfmView) -> list[Component | str]:
    """What the grid shows, and the values behind each score on this data."""
    return [
        _grid_text(view),
        html.Div(
            f"Scores are relative ({view.bins} groups of customers, {view.bins} = best): on "
            "this data they stand for these values.",
            className="mt-2",
        ),
        score_ranges_table(view),
    ]


def _grid_text(view: RfmView) -> str:
    """What the grid shows and how the bins relate to the named segments."""
    if view.bins == view.ruleset_bins:
        return (
            f"Scores 1-{view.bins}; each cell has the colour of its most common segment (the "
            "rule set also uses the monetary score, so a cell can hold several segments: hover "
            "for details). The number counts the cell's customers."
            if len(RULESETS[view.ruleset].dims) == 3
            else f"Scores 1-{view.bins}; each cell has its segment's colour and counts its "
            "customers."
        )
    return (
        f"Scores 1-{view.bins}. The named segments always use the rule set's own "
        f"{view.ruleset_bins} scores (its rules are written for quintiles), so the cells do "
        "not name segments at this resolution."
    )
