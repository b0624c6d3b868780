"""Components of the Value page (pure builders): the skeleton :func:`build`, the settings
controls, the headline and the "valuable but slipping" table."""

from __future__ import annotations

import datetime as dt

import dash_bootstrap_components as dbc
import polars as pl
from dash import dcc, html
from dash.development.base_component import Component

from core import clv
from core.money import money_text
from core.wording import count
from dashapp.pages.value import ids
from dashapp.pages.value.view import SHOWN_SLIPPING, TOP_SPEND_SHARE, ValueView
from dashapp.shared import chart_text, components
from dashapp.shared.figures import empty_figure

GRAPH_CONFIG = {"displayModeBar": False}
LABEL_CLASS = "form-label small fw-semibold mb-1"
BY_SEGMENT_TITLE = "Predicted revenue by segment"
P_ALIVE_TITLE = "Who is still a customer (p_alive)"
HOLDOUT_TITLE = "Holdout check: weekly repeat purchases"
UNIT_LABELS = {"day": "Days", "week": "Weeks", "month": "Months"}


def horizon_text(config: clv.ClvConfig) -> str:
    """``52 weeks``: the horizon in words."""
    h = config.horizon_units
    return f"{h:g} {config.time_unit}{'' if h == 1 else 's'}"


def controls(config: clv.ClvConfig, last_day: dt.date | None) -> list[Component]:
    """Time unit, horizon and calibration end, showing ``config`` (the end: as chosen, or
    empty for the last purchase day)."""
    end = config.calibration_end
    end_input = "calibration_end"
    horizon_input = "horizon"
    return [
        dbc.Row(
            [
                dbc.Col(
                    [
                        html.Label("Time unit", className=LABEL_CLASS),
                        dbc.RadioItems(
                            id=ids.value_setting("time_unit"),
                            options=[{"label": UNIT_LABELS[u], "value": u} for u in UNIT_LABELS],
                            value=config.time_unit,
                            inline=True,
                        ),
                    ],
                    md=4,
                ),
                dbc.Col(
                    [
                        components.label_for(
                            f"Horizon ({config.time_unit}s)",
                            ids.value_setting(horizon_input),
                            className=LABEL_CLASS,
                        ),
                        dbc.Input(
                            id=ids.value_setting(horizon_input),
                            type="number",
                            min=1,
                            step="any",
                            value=config.horizon_units,
                            debounce=True,
                        ),
                    ],
                    md=3,
                ),
                dbc.Col(
                    [
                        components.label_for(
                            "Calibration end (YYYY-MM-DD, included)",
                            ids.value_setting(end_input),
                            className=LABEL_CLASS,
                        ),
                        dbc.Input(
                            id=ids.value_setting(end_input),
                            type="text",
                            value="" if end is None else end.isoformat(),
                            placeholder=(
                                "last purchase day" if last_day is None else last_day.isoformat()
                            ),
                            debounce=True,
                        ),
                    ],
                    md=5,
                ),
            ],
            className="g-3",
        ),
        html.P(
            "Leave the calibration end empty to fit on everything; an earlier date keeps the "
            "lines after it for the holdout check. A number or date applies on Enter.",
            className="small text-muted mb-0 mt-2",
        ),
    ]


def headline(view: ValueView) -> Component:
    """Fits, E, the total predicted revenue and how many customers are likely lost."""
    result = view.result
    bg, gg = result.bgnbd, result.gamma_gamma
    customers = result.table.height
    lost = view.likely_lost
    return html.Div(
        [
            html.Span(
                f"{count(customers, 'customer')} up to {result.calibration_end.isoformat()}: "
                f"predicted revenue {money_text(view.predicted_revenue)} over the next "
                f"{horizon_text(result.config)} (undiscounted); {lost:,} "
                f"({lost / customers:.0%}) likely lost (p_alive < {clv.LIKELY_LOST:g}).",
                className="me-2",
            ),
            html.Span(
                f"BG/NBD r={bg.r:.3g}, alpha={bg.alpha:.3g}, a={bg.a:.3g}, b={bg.b:.3g}; "
                f"Gamma-Gamma p={gg.p:.3g}, q={gg.q:.3g}, gamma={gg.gamma:.3g} on "
                f"{count(gg.customers, 'repeat customer')}"
                + (f" ({gg.left_out:,} left out: repeat spend not positive)" if gg.left_out else "")
                + ".",
                className="small text-muted",
            ),
        ],
        id="value-headline",
    )


def slipping_table(frame: pl.DataFrame) -> Component:
    """The first :data:`SHOWN_SLIPPING` valuable customers likely lost, and how many in all."""
    if frame.height == 0:
        return html.P(
            f"No customer in the top {TOP_SPEND_SHARE:.0%} of past spend has p_alive below "
            f"{clv.LIKELY_LOST:g}.",
            className="mb-0",
        )
    shown = frame.head(SHOWN_SLIPPING)
    rows = [
        [
            str(r["customer_id"]),
            r["segment_name"] or "",
            money_text(r["monetary"]),
            f"{r['frequency']:,}",
            f"{r['p_alive']:.2f}",
            f"{r['expected_orders']:.2f}",
            money_text(r["predicted_revenue"]),
        ]
        for r in shown.iter_rows(named=True)
    ]
    table = chart_text.data_table(
        f"Valuable but slipping: {shown.height} of {frame.height:,}, by past spend",
        (
            "Customer",
            "Segment",
            "Past spend",
            "Repeat purchases",
            "p_alive",
            "Expected orders",
            "Predicted revenue",
        ),
        rows,
        numeric=(False, False, True, True, True, True, True),
    )
    return html.Div(
        [
            html.P(
                f"{count(frame.height, 'customer')} in the top {TOP_SPEND_SHARE:.0%} of past "
                f"spend with p_alive below {clv.LIKELY_LOST:g}.",
                className="small mb-2",
            ),
            table,
        ]
    )


def _graph(graph_id: str, title: str) -> Component:
    return chart_text.described_chart(
        dcc.Graph(id=graph_id, figure=empty_figure("Loading…"), config=GRAPH_CONFIG), title=title
    )


def build(**_query: str) -> Component:
    """The page skeleton; the render callback fills it from the session store."""
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(html.H4("Predicted value", className="mb-0"), width="auto"),
                    dbc.Col(
                        components.loading(html.Div(id=ids.VALUE_NOTE)),
                        className="align-self-center",
                    ),
                ],
                className="mb-2 g-3",
            ),
            html.Div(id=ids.VALUE_ALERT),
            components.card("Settings", html.Div(id=ids.VALUE_CONTROLS)),
            dbc.Row(
                [
                    dbc.Col(
                        components.card(
                            BY_SEGMENT_TITLE, _graph(ids.VALUE_BY_SEGMENT, BY_SEGMENT_TITLE)
                        ),
                        lg=6,
                    ),
                    dbc.Col(
                        components.card(P_ALIVE_TITLE, _graph(ids.VALUE_P_ALIVE, P_ALIVE_TITLE)),
                        lg=6,
                    ),
                ]
            ),
            components.card(
                "Valuable but slipping",
                [
                    html.Div(id=ids.VALUE_SLIPPING),
                    html.Div(id=ids.VALUE_DOWNLOAD_ALERT),
                    dbc.Button(
                        "Download the list (CSV)",
                        id=ids.VALUE_SLIPPING_BUTTON,
                        color="primary",
                        outline=True,
                        size="sm",
                        className="mt-2",
                    ),
                    dcc.Download(id=ids.VALUE_SLIPPING_DOWNLOAD),
                ],
            ),
            components.card(HOLDOUT_TITLE, _graph(ids.VALUE_HOLDOUT, HOLDOUT_TITLE)),
        ]
    )


__all__: list[str] = ["build", "controls", "headline", "horizon_text", "slipping_table"]
