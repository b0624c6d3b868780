"""Figures of the Compare page (pure builders). Hierarchical segment i is drawn in the colour
of the K-means segment it is matched to (``CutComparison.h_colors``), so one colour means the
best-matching pair in every chart of the page."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from core import wording
from dashapp.pages.compare.view import CutComparison, DendrogramPlot, h_label
from dashapp.shared.figures import NOISE_COLOR, base_layout, segment_color

CUT_COLOR = "#DC3545"
MIXED_COLOR = "#8C8C8C"
SCATTER_SAMPLE = 4_000
SELECTED_SAMPLE = 3_000


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r}, {g}, {b}, {alpha})"


def _node_color(segment: int, h_colors: Sequence[int]) -> str:
    return MIXED_COLOR if segment < 0 else segment_color(h_colors[segment])


def _add_branches(fig: go.Figure, plot: DendrogramPlot, h_colors: Sequence[int]) -> None:
    """The U-shaped links, one line trace per segment (grey above the cut)."""
    groups: dict[int, tuple[list[float | None], list[float | None]]] = {}
    for link in plot.links:
        xs, ys = groups.setdefault(link.segment, ([], []))
        xs += [*link.xs, None]
        ys += [*link.ys, None]
    for segment in sorted(groups, key=lambda s: (s < 0, s)):
        xs, ys = groups[segment]
        width = 1.6 if segment >= 0 else 1.2
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                line={"color": _node_color(segment, h_colors), "width": width},
                hoverinfo="skip",
                showlegend=False,
                name=h_label(segment) if segment >= 0 else "above the cut",
            )
        )


def _add_clickable_nodes(
    fig: go.Figure, plot: DendrogramPlot, k: int, h_colors: Sequence[int]
) -> None:
    """Markers on the merges ("branches") and the leaves; customdata ``[node, customers,
    label, customers in words]`` tells a click which node it hit."""

    def label(segment: int) -> str:
        return h_label(segment) if segment >= 0 else f"spans several of the {k} segments"

    nodes = plot.links
    fig.add_trace(
        go.Scatter(
            x=[(lk.xs[1] + lk.xs[2]) / 2 for lk in nodes],
            y=[lk.ys[1] for lk in nodes],
            mode="markers",
            marker={
                "size": 7,
                "color": [_node_color(lk.segment, h_colors) for lk in nodes],
                "line": {"color": "#fff", "width": 1},
            },
            customdata=[
                [lk.node, lk.customers, label(lk.segment), wording.count(lk.customers, "customer")]
                for lk in nodes
            ],
            hovertemplate=(
                "branch of %{customdata[3]}<br>%{customdata[2]}<br>"
                "height %{y:.3g} · click to list them<extra></extra>"
            ),
            showlegend=False,
            name="branches",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[leaf.x for leaf in plot.leaves],
            y=[0.0] * len(plot.leaves),
            mode="markers",
            marker={
                "size": 8,
                "symbol": "square",
                "color": [_node_color(leaf.segment, h_colors) for leaf in plot.leaves],
            },
            customdata=[
                [
                    leaf.node,
                    leaf.customers,
                    label(leaf.segment),
                    wording.count(leaf.customers, "customer"),
                ]
                for leaf in plot.leaves
            ],
            hovertemplate=(
                "%{customdata[3]}<br>%{customdata[2]}<br>click to list them<extra></extra>"
            ),
            showlegend=False,
            name="leaves",
        )
    )


def _add_cut_line(fig: go.Figure, plot: DendrogramPlot, k: int) -> None:
    """The draggable (editable) horizontal cut line and its "cut: k = …" label."""
    fig.add_shape(
        type="line",
        xref="paper",
        x0=0,
        x1=1,
        y0=plot.cut_height,
        y1=plot.cut_height,
        line={"color": CUT_COLOR, "width": 2, "dash": "dash"},
        editable=True,
        name="cut",
    )
    fig.add_annotation(
        xref="paper",
        x=1,
        y=plot.cut_height,
        xanchor="right",
        yanchor="bottom",
        text=f"cut: k = {k}" + ("" if plot.cut_exact else " (tied merges)"),
        showarrow=False,
        font={"color": CUT_COLOR, "size": 12},
    )


def dendrogram(
    plot: DendrogramPlot,
    *,
    k: int,
    h_colors: Sequence[int],
    linkage: str = "ward",
    revision: str | None = None,
) -> go.Figure:
    """Truncated dendrogram: branches below the cut in their segment's colour, a draggable
    horizontal cut line at ``plot.cut_height``, and clickable node markers (customdata
    ``[node, customers, label]``)."""
    fig = go.Figure()
    _add_branches(fig, plot, h_colors)
    _add_clickable_nodes(fig, plot, k, h_colors)
    _add_cut_line(fig, plot, k)
    name = "Ward" if linkage == "ward" else linkage.capitalize()
    leaf_what = "micro-clusters" if plot.two_stage else "customers"
    base_layout(fig, height=420)
    fig.update_layout(
        uirevision=revision,
        hovermode="closest",
        dragmode="pan",
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
    )
    fig.update_yaxes(
        title_text=f"{name} merge height", range=[0, plot.max_height * 1.05], zeroline=False
    )
    fig.update_xaxes(
        title_text=(
            f"{len(plot.leaves)} branches shown (customers under each)"
            if not plot.two_stage
            else f"{len(plot.leaves)} branches of {plot.n_leaves:,} {leaf_what} "
            "(customers under each)"
        ),
        tickvals=[leaf.x for leaf in plot.leaves],
        ticktext=[f"{leaf.customers:,}" for leaf in plot.leaves],
        tickangle=-90,
        tickfont={"size": 9},
        showgrid=False,
        zeroline=False,
    )
    return fig


def _h_order(cmp: CutComparison) -> list[int]:
    """Hierarchical segments in their own order, H1, H2, ... (as the dendrogram and the grid
    name them; ordering them by their K-means match read as H1, H2, H4, H3)."""
    return list(range(cmp.k))


def contingency(cmp: CutComparison) -> go.Figure:
    """Customers in each (hierarchical, K-means) pair; cells carry ``[h, kmeans]`` for clicks."""
    comp = cmp.comparison
    a_index = {int(v): i for i, v in enumerate(comp.a_labels)}
    b_index = {int(v): j for j, v in enumerate(comp.b_labels)}
    rows = _h_order(cmp)
    cols = list(range(cmp.kmeans.k))
    counts = np.zeros((len(rows), len(cols)), dtype=np.int64)
    for i, h in enumerate(rows):
        for j, b in enumerate(cols):
            if h in a_index and b in b_index:
                counts[i, j] = comp.counts[a_index[h], b_index[b]]
    row_tot = np.maximum(counts.sum(axis=1, keepdims=True), 1)
    col_tot = np.maximum(counts.sum(axis=0, keepdims=True), 1)
    custom = [
        [
            [
                h,
                b,
                float(counts[i, j] / row_tot[i, 0]),
                float(counts[i, j] / col_tot[0, j]),
                cmp.km_names[b],
                wording.count(int(counts[i, j]), "customer"),
            ]
            for j, b in enumerate(cols)
        ]
        for i, h in enumerate(rows)
    ]
    # Click events of heatmaps carry x and y but not customdata: x is the K-means segment
    # number (names as tick labels) and y the hierarchical label "H<n>".
    y_labels = [h_label(h) for h in rows]
    fig = go.Figure(
        go.Heatmap(
            z=counts.tolist(),
            x=cols,
            y=y_labels,
            colorscale="Blues",
            text=[[f"{c:,}" if c else "" for c in row] for row in counts.tolist()],
            texttemplate="%{text}",
            customdata=custom,
            hovertemplate=(
                "%{y} and %{customdata[4]}: %{customdata[5]}<br>%{customdata[2]:.0%} of %{y}, "
                "%{customdata[3]:.0%} of %{customdata[4]}<br>click to list them<extra></extra>"
            ),
            xgap=2,
            ygap=2,
            colorbar={"title": {"text": "customers"}, "thickness": 12},
        )
    )
    base_layout(fig, height=max(300, 34 * len(rows) + 120))
    fig.update_yaxes(
        autorange="reversed", title_text="Hierarchical (cut)", automargin=True, type="category"
    )
    fig.update_xaxes(
        title_text="K-means",
        tickangle=-30,
        automargin=True,
        tickvals=cols,
        ticktext=[cmp.km_names[b] for b in cols],
        showgrid=False,
        zeroline=False,
    )
    return fig


def sankey(cmp: CutComparison) -> go.Figure:
    """Flows from hierarchical segments (left) to K-means segments (right)."""
    comp = cmp.comparison
    k_h, k_b = cmp.k, cmp.kmeans.k
    h_sizes = np.bincount(cmp.h_labels, minlength=k_h)
    b_sizes = cmp.kmeans.segmentation.sizes
    order = _h_order(cmp)
    labels = [f"{h_label(h)} ({int(h_sizes[h]):,})" for h in order] + [
        f"{cmp.km_names[b]} ({int(b_sizes[b]):,})" for b in range(k_b)
    ]
    colors = [segment_color(cmp.h_colors[h]) for h in order] + [
        segment_color(cmp.km_colors[b]) for b in range(k_b)
    ]
    position = {h: i for i, h in enumerate(order)}
    source, target, value, link_colors = [], [], [], []
    for i, a in enumerate(comp.a_labels.tolist()):
        for j, b in enumerate(comp.b_labels.tolist()):
            count = int(comp.counts[i, j])
            if count and a >= 0 and b >= 0:
                source.append(position[a])
                target.append(k_h + b)
                value.append(count)
                link_colors.append(_rgba(segment_color(cmp.h_colors[a]), 0.35))
    fig = go.Figure(
        go.Sankey(
            arrangement="snap",
            node={
                "label": labels,
                "color": colors,
                "pad": 12,
                "thickness": 14,
                "line": {"color": "#fff", "width": 0.5},
                "hovertemplate": "%{label}<extra></extra>",
            },
            link={
                "source": source,
                "target": target,
                "value": value,
                "color": link_colors,
                "customdata": [wording.count(v, "customer") for v in value],
                "hovertemplate": "%{source.label} → %{target.label}: %{customdata}<extra></extra>",
            },
        )
    )
    base_layout(fig, height=max(300, 34 * max(k_h, k_b) + 80))
    return fig


def sizes(cmp: CutComparison) -> go.Figure:
    """Customers per K-means segment beside its matched hierarchical segment."""
    k_b = cmp.kmeans.k
    b_sizes = cmp.kmeans.segmentation.sizes
    h_sizes = np.bincount(cmp.h_labels, minlength=cmp.k)
    matched_h: dict[int, int] = {b: h for h, b in enumerate(cmp.h_match) if b is not None}
    names = [cmp.km_names[b] for b in range(k_b)]
    colors = [segment_color(cmp.km_colors[b]) for b in range(k_b)]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            y=names,
            x=[int(s) for s in b_sizes],
            orientation="h",
            name="K-means",
            marker={"color": colors},
            hovertemplate="K-means %{y}: %{x:,} customers<extra></extra>",
        )
    )
    fig.add_trace(
        go.Bar(
            y=names,
            x=[int(h_sizes[matched_h[b]]) if b in matched_h else 0 for b in range(k_b)],
            orientation="h",
            name="matched hierarchical",
            marker={
                "color": [_rgba(c, 0.45) for c in colors],
                "pattern": {"shape": "/", "fgcolor": "#fff", "size": 6},
                "line": {"color": colors, "width": 1},
            },
            text=[h_label(matched_h[b]) if b in matched_h else "" for b in range(k_b)],
            textposition="inside",
            insidetextanchor="start",
            hovertemplate="%{text}: %{x:,} customers (matched to %{y})<extra></extra>",
        )
    )
    base_layout(fig, height=max(260, 46 * k_b + 80))
    fig.update_layout(barmode="group", legend={"orientation": "h", "y": 1.08, "x": 0}, bargap=0.25)
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(title_text="customers", tickformat="~s")
    return fig


def selection_scatter(
    projection: np.ndarray,
    labels: np.ndarray,
    *,
    names: Sequence[str],
    colors: Sequence[int],
    selected: np.ndarray | None,
    seed: int = 0,
) -> go.Figure:
    """Customers on the model's two PCA axes by K-means segment; the selection on top.

    At most :data:`SCATTER_SAMPLE` background points and :data:`SELECTED_SAMPLE` selected
    ones are drawn (a seeded sample: the picture does not change between requests).
    """
    n = projection.shape[0]
    rng = np.random.default_rng(seed)
    background = np.sort(rng.permutation(n)[:SCATTER_SAMPLE]) if n > SCATTER_SAMPLE else None
    idx = np.arange(n) if background is None else background
    fig = go.Figure()
    dim = selected is not None and bool(selected.any())
    for b in range(len(names)):
        members = idx[labels[idx] == b]
        fig.add_trace(
            go.Scatter(
                x=projection[members, 0].tolist(),
                y=projection[members, 1].tolist(),
                mode="markers",
                name=names[b],
                marker={
                    "size": 4,
                    "color": segment_color(colors[b]),
                    "opacity": 0.18 if dim else 0.6,
                },
                hoverinfo="skip",
            )
        )
    noise = idx[labels[idx] < 0]
    if noise.size:
        fig.add_trace(
            go.Scatter(
                x=projection[noise, 0].tolist(),
                y=projection[noise, 1].tolist(),
                mode="markers",
                name="no segment",
                marker={"size": 4, "color": NOISE_COLOR, "opacity": 0.3},
                hoverinfo="skip",
            )
        )
    if selected is not None and selected.any():
        chosen = np.flatnonzero(selected)
        shown = chosen
        if chosen.size > SELECTED_SAMPLE:
            shown = np.sort(rng.permutation(chosen)[:SELECTED_SAMPLE])
        fig.add_trace(
            go.Scatter(
                x=projection[shown, 0].tolist(),
                y=projection[shown, 1].tolist(),
                mode="markers",
                name=f"selected ({chosen.size:,})",
                marker={
                    "size": 7,
                    "color": [
                        segment_color(colors[lab]) if lab >= 0 else NOISE_COLOR
                        for lab in labels[shown]
                    ],
                    "line": {"color": "#000", "width": 1.2},
                },
                hoverinfo="skip",
            )
        )
    base_layout(fig, height=380)
    fig.update_layout(legend={"orientation": "h", "y": -0.12, "x": 0, "font": {"size": 11}})
    fig.update_xaxes(title_text="component 1", zeroline=False, showticklabels=False)
    fig.update_yaxes(title_text="component 2", zeroline=False, showticklabels=False)
    return fig


# --- text alternatives: each chart in one sentence, from the data it draws --------------------


def _largest(sizes: Sequence[int]) -> int:
    return max(range(len(sizes)), key=lambda i: int(sizes[i]))


def dendrogram_summary(cmp: CutComparison) -> str:
    """The dendrogram in one sentence: the cut and the largest hierarchical segment."""
    h_sizes = np.bincount(cmp.h_labels[cmp.h_labels >= 0], minlength=cmp.k)
    total = max(int(h_sizes.sum()), 1)
    top = _largest(h_sizes.tolist())
    return (
        f"Hierarchical tree of {wording.count(int(h_sizes.sum()), 'customer')} cut into "
        f"{wording.count(cmp.k, 'segment')}; the largest, {h_label(top)}, has "
        f"{wording.count(int(h_sizes[top]), 'customer')} ({h_sizes[top] / total:.0%})."
    )


def sizes_summary(cmp: CutComparison) -> str:
    """The K-means sizes chart in one sentence: the largest segment, the matched pairs."""
    b_sizes = [int(s) for s in cmp.kmeans.segmentation.sizes]
    top = _largest(b_sizes)
    matched = sum(1 for b in cmp.h_match if b is not None)
    return (
        f"K-means with k = {cmp.kmeans.k}: the largest segment, {cmp.km_names[top]}, has "
        f"{wording.count(b_sizes[top], 'customer')}; {matched} of {cmp.kmeans.k} are matched "
        "to a hierarchical segment."
    )


def _largest_pair(cmp: CutComparison) -> tuple[int, int, int]:
    """(hierarchical, K-means, customers) of the largest cell of the contingency table (the
    first in reading order on a tie)."""
    comp = cmp.comparison
    cells = [
        (int(comp.counts[i, j]), int(a), int(b))
        for i, a in enumerate(comp.a_labels.tolist())
        for j, b in enumerate(comp.b_labels.tolist())
        if a >= 0 and b >= 0
    ]
    customers, a, b = max(sorted(cells, key=lambda c: c[1:]), key=lambda c: c[0], default=(0, 0, 0))
    return a, b, customers


def contingency_summary(cmp: CutComparison) -> str:
    """The contingency table in one sentence: its size and its largest cell."""
    a, b, customers = _largest_pair(cmp)
    return (
        f"Customers in both segmentations, {cmp.k} hierarchical by {cmp.kmeans.k} K-means "
        f"segments; the largest cell, {h_label(a)} and {cmp.km_names[b]}, holds "
        f"{wording.count(customers, 'customer')}."
    )


def sankey_summary(cmp: CutComparison) -> str:
    """The Sankey diagram in one sentence: the largest flow."""
    a, b, customers = _largest_pair(cmp)
    return (
        f"Flows from {cmp.k} hierarchical to {cmp.kmeans.k} K-means segments; the largest, "
        f"{h_label(a)} to {cmp.km_names[b]}, carries {wording.count(customers, 'customer')}."
    )


def selection_summary(cmp: CutComparison, selected: np.ndarray | None) -> str:
    """The selection scatter in one sentence: what is drawn and how many are selected."""
    text = (
        f"Customers on two principal axes in the colour of their K-means segment "
        f"({wording.count(cmp.kmeans.k, 'segment')})"
    )
    chosen = 0 if selected is None else int(selected.sum())
    if chosen:
        return f"{text}; {wording.count(chosen, 'selected customer')} drawn on top."
    return f"{text}; no customer selected."
