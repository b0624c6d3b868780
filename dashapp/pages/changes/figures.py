"""The Changes page's figures (pure): the Sankey of flows, the migration matrix, and the
one-sentence summary of each, built from the same flows."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from core import wording
from core.migration import FLOW_FROM, FLOW_TO, NEW, Migration
from dashapp.pages.changes.view import color_of, flow_value
from dashapp.shared.figures import base_layout


def link_label(source: str, target: str) -> str:
    """A Sankey link's label: what a click on it carries besides its number."""
    return f"{source} → {target}"


def _rgba(color: str, alpha: float) -> str:
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _amount(value: float, size: str) -> str:
    if size == "revenue":
        return f"{value:,.0f} spent before the cutoff"
    return wording.count(round(value), "customer")


def _drawn(migration: Migration, size: str) -> pl.DataFrame:
    """The flows with their drawn ``value`` (those of value 0 left out)."""
    flows = migration.flows.with_columns(flow_value(migration.flows, size).alias("value"))
    return flows.filter(pl.col("value") > 0)


def sankey(migration: Migration, size: str) -> go.Figure:
    """Segments before the cutoff (left) to segments after (right), each link sized by
    customers or net spend before the cutoff; a link's ``[from, to]`` is the trace's
    customdata at its number, and its label :func:`link_label`, for clicks."""
    flows = _drawn(migration, size)
    left = [s for s in migration.order if s in set(flows.get_column(FLOW_FROM))]
    right = [s for s in migration.order if s in set(flows.get_column(FLOW_TO))]
    position = {("L", s): i for i, s in enumerate(left)}
    position.update({("R", s): len(left) + i for i, s in enumerate(right)})
    rows = flows.to_dicts()
    fig = go.Figure(
        go.Sankey(
            arrangement="snap",
            # A click reaches Dash with the trace's customdata at the link's number (not the
            # link's own) and the link's label; a node click carries the node's label instead.
            customdata=[[r[FLOW_FROM], r[FLOW_TO]] for r in rows],
            node={
                "label": [f"{s} (before)" for s in left] + [f"{s} (after)" for s in right],
                "color": [color_of(migration, s) for s in (*left, *right)],
                "pad": 12,
                "thickness": 14,
                "line": {"color": "#fff", "width": 0.5},
                "hovertemplate": "%{label}<extra></extra>",
            },
            link={
                "label": [link_label(r[FLOW_FROM], r[FLOW_TO]) for r in rows],
                "source": [position[("L", r[FLOW_FROM])] for r in rows],
                "target": [position[("R", r[FLOW_TO])] for r in rows],
                "value": [float(r["value"]) for r in rows],
                "color": [_rgba(color_of(migration, r[FLOW_FROM]), 0.35) for r in rows],
                # Plain lists: click events drop NumPy customdata.
                "customdata": [[r[FLOW_FROM], r[FLOW_TO], _amount(r["value"], size)] for r in rows],
                "hovertemplate": (
                    "%{customdata[0]} → %{customdata[1]}: %{customdata[2]}<br>"
                    "click to list them<extra></extra>"
                ),
            },
        )
    )
    base_layout(fig, height=max(320, 30 * max(len(left), len(right)) + 80))
    return fig


def matrix(migration: Migration, size: str) -> go.Figure:
    """Rows: the segment before the cutoff; columns: after. A cell click carries its names."""
    flows = migration.flows.with_columns(flow_value(migration.flows, size).alias("value"))
    rows = [s for s in migration.order if s in set(flows.get_column(FLOW_FROM))]
    cols = [s for s in migration.order if s != NEW and s in set(flows.get_column(FLOW_TO))]
    cell = {(r[FLOW_FROM], r[FLOW_TO]): r["value"] for r in flows.to_dicts()}
    z = [[float(cell.get((a, b), 0.0)) for b in cols] for a in rows]
    text = [[_cell_text(v, size) for v in line] for line in z]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=cols,
            y=rows,
            colorscale="Blues",
            text=text,
            texttemplate="%{text}",
            hovertemplate="%{y} → %{x}: %{text}<br>click to list them<extra></extra>",
            xgap=2,
            ygap=2,
            showscale=False,
        )
    )
    base_layout(fig, height=max(320, 30 * len(rows) + 140))
    # One slant for the names: at its own angle Plotly staggered a dozen of them in two rows.
    fig.update_xaxes(title_text="after", side="top", type="category", tickangle=-45)
    fig.update_yaxes(title_text="before the cutoff", autorange="reversed", type="category")
    return fig


def _cell_text(value: float, size: str) -> str:
    if not value:
        return ""
    return f"{value:,.0f}" if size == "revenue" else f"{round(value):,}"


def _largest(migration: Migration, size: str, *, moves_only: bool) -> dict[str, object] | None:
    flows = _drawn(migration, size)
    if moves_only:
        flows = flows.filter(pl.col(FLOW_FROM) != pl.col(FLOW_TO))
    if flows.height == 0:
        return None
    return flows.sort(["value", FLOW_FROM, FLOW_TO], descending=[True, False, False]).row(
        0, named=True
    )


def sankey_summary(migration: Migration, size: str) -> str:
    """The Sankey in one sentence: what it draws and its largest flow."""
    cutoff = migration.config.cutoff.isoformat()
    top = _largest(migration, size, moves_only=False)
    what = "customers" if size == "customers" else "net spend before the cutoff"
    text = f"Flows of {what} from the segments before {cutoff} to the segments after it"
    if top is None:
        return f"{text}: none to draw."
    new = "" if size == "customers" else " (new customers spent nothing before it: not drawn)"
    return (
        f"{text}{new}; the largest, {top[FLOW_FROM]} to {top[FLOW_TO]}, carries "
        f"{_amount(float(top['value']), size)}."  # type: ignore[arg-type]
    )


def matrix_summary(migration: Migration, size: str) -> str:
    """The matrix in one sentence: its size and its largest move between two segments."""
    rows = len([s for s in migration.order if s in set(migration.flows.get_column(FLOW_FROM))])
    cols = len([s for s in migration.order if s in set(migration.flows.get_column(FLOW_TO))])
    top = _largest(migration, size, moves_only=True)
    text = f"Migration matrix, {rows} segments before the cutoff by {cols} after"
    if top is None:
        return f"{text}; nobody changed segment."
    return (
        f"{text}; the largest move, {top[FLOW_FROM]} to {top[FLOW_TO]}, holds "
        f"{_amount(float(top['value']), size)}."  # type: ignore[arg-type]
    )
