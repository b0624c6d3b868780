"""Text alternatives of the charts: a described chart, "Show as a table" and the table itself.

Plotly draws SVG that a screen reader cannot read. Each chart therefore sits in a container
with ``role="figure"``, named by its title and described (``aria-describedby``) by a visible
one-sentence summary that a callback fills from the same data as the figure. The main charts
also get a real ``<button>`` ("Show as a table", ``aria-expanded``/``aria-controls``) that
reveals an HTML table of the same numbers (``<caption>``, ``<th scope>``).

The ids of the summary, the table and its button derive from the graph's id
(:func:`summary_id`, :func:`table_id`, :func:`toggle_id`), so a page needs no new constants.
Builders are pure; :func:`register_table_toggle` attaches the (clientside) toggle.
"""

from __future__ import annotations

from collections.abc import Sequence

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, dcc, html
from dash.development.base_component import Component

SHOW_TABLE = "Show as a table"
HIDE_TABLE = "Hide the table"

# Flips the table's ``hidden`` and the button's ``aria-expanded`` and text, in the browser.
TOGGLE_JS = """
function(n_clicks) {
    var open = Boolean(n_clicks) && n_clicks % 2 === 1;
    return [!open, open ? "true" : "false", open ? "HIDE" : "SHOW"];
}
""".replace("HIDE", HIDE_TABLE).replace("SHOW", SHOW_TABLE)


def summary_id(graph_id: str) -> str:
    """Id of the chart's one-sentence summary."""
    return f"{graph_id}-summary"


def table_id(graph_id: str) -> str:
    """Id of the container of the chart's table alternative."""
    return f"{graph_id}-table"


def toggle_id(graph_id: str) -> str:
    """Id of the "Show as a table" button."""
    return f"{graph_id}-table-toggle"


def described_chart(graph: dcc.Graph, *, title: str, with_table: bool = False) -> html.Div:
    """``graph`` in a figure container named ``title`` and described by its summary line.

    The summary (and, ``with_table``, the button and the hidden table) start empty: the page's
    render callback fills them, from the data it draws the figure from.
    """
    graph_id = str(graph.id)
    children: list[Component] = [
        graph,
        html.P(id=summary_id(graph_id), className="chart-summary small mb-1"),
    ]
    if with_table:
        children += [
            html.Button(
                SHOW_TABLE,
                id=toggle_id(graph_id),
                type="button",
                n_clicks=0,
                className="btn btn-link btn-sm p-0 chart-table-toggle",
                **{"aria-expanded": "false", "aria-controls": table_id(graph_id)},
            ),
            html.Div(id=table_id(graph_id), hidden=True, className="chart-table mt-2"),
        ]
    return html.Div(
        children,
        role="figure",
        className="described-chart",
        **{"aria-label": title, "aria-describedby": summary_id(graph_id)},
    )


def data_table(
    caption: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Component | str]],
    *,
    numeric: Sequence[bool] | None = None,
    current: int | None = None,
) -> dbc.Table:
    """An accessible table: a caption, column headers, the first cell of a row its header.

    ``numeric`` right-aligns columns; ``current`` marks a row (``aria-current``), such as the
    selected segment.
    """
    align = list(numeric) if numeric is not None else [False] * len(columns)

    def css(i: int) -> str | None:
        return "text-end" if align[i] else None

    head = html.Thead(
        html.Tr([html.Th(c, scope="col", className=css(i)) for i, c in enumerate(columns)])
    )
    body = []
    for r, row in enumerate(rows):
        cells = [
            html.Th(row[0], scope="row", className=css(0)),
            *[html.Td(v, className=css(i)) for i, v in enumerate(row[1:], start=1)],
        ]
        extra = {"aria-current": "true"} if r == current else {}
        body.append(html.Tr(cells, className="table-active" if r == current else None, **extra))
    return dbc.Table(
        [html.Caption(caption), head, html.Tbody(body)],
        size="sm",
        className="mb-0",
    )


def register_table_toggle(app: Dash, graph_id: str) -> None:
    """Attach the "Show as a table" button of ``graph_id`` (runs in the browser)."""
    app.clientside_callback(
        TOGGLE_JS,
        Output(table_id(graph_id), "hidden"),
        Output(toggle_id(graph_id), "aria-expanded"),
        Output(toggle_id(graph_id), "children"),
        Input(toggle_id(graph_id), "n_clicks"),
    )
