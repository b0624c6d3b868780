"""Figures of the Data page (pure builders): the cleaning-audit funnel.

:func:`cleaning_funnel` draws the funnel of an audit; :func:`audit_funnel` picks what the
graph shows for a view, including the placeholder while there is no audit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import plotly.graph_objects as go

from core.cleaning import REASON_LABELS, Audit
from core.wording import count
from dashapp.shared import figures as shared_figures

if TYPE_CHECKING:
    from dashapp.shared.loading import DataView

LOADING = "Loading…"
NO_AUDIT = "Fix the column mapping to see the cleaning audit."
KEPT_COLOR = "#198754"  # Bootstrap "success"
OFF_COLOR = "#ADB5BD"


def loading_funnel() -> go.Figure:
    """What the funnel graph shows before the first render."""
    return shared_figures.empty_figure(LOADING)


def audit_funnel(view: DataView) -> go.Figure:
    """Lines left after each cleaning rule, or a note while the mapping does not work."""
    if view.table is None:
        return shared_figures.empty_figure(NO_AUDIT)
    return cleaning_funnel(view.table.audit)


def audit_stages(audit: Audit) -> list[dict[str, object]]:
    """Funnel stages: lines read, then the lines left after each rule, in rule order.

    Each stage has ``label`` (what the bar counts: the lines left after the rule, not the rule's
    own lines), ``rule`` (the rule's name), ``remaining`` (lines left), ``dropped`` (by this
    rule), ``revenue`` (amount of the dropped lines), ``enabled`` and ``reason`` (None for the
    first).
    """
    stages: list[dict[str, object]] = [
        {
            "reason": None,
            "label": "Lines read",
            "rule": None,
            "remaining": audit.rows_in,
            "dropped": 0,
            "revenue": 0.0,
            "enabled": True,
        }
    ]
    remaining = audit.rows_in
    for number, stat in enumerate(audit.reasons, start=1):
        remaining -= stat.rows
        rule = REASON_LABELS.get(stat.reason, stat.reason)
        label = f"Left after rule {number}: {rule}"
        stages.append(
            {
                "reason": stat.reason,
                "rule": rule,
                "label": label if stat.enabled else f"{label} (rule off)",
                "remaining": remaining,
                "dropped": stat.rows,
                "revenue": float(stat.revenue),
                "enabled": stat.enabled,
            }
        )
    return stages


def cleaning_funnel(audit: Audit, *, height: int = 380) -> go.Figure:
    """Funnel of lines left after each cleaning rule; hover shows what the rule removed."""
    stages = audit_stages(audit)
    total = max(audit.rows_in, 1)
    labels = [str(s["label"]) for s in stages]
    labels[-1] = f"{labels[-1]}  =  kept"
    colors = [
        "#6C757D" if s["reason"] is None else (KEPT_COLOR if s["enabled"] else OFF_COLOR)
        for s in stages
    ]
    customdata = [
        [
            int(s["dropped"]),  # type: ignore[call-overload]
            float(s["revenue"]),  # type: ignore[arg-type]
            100.0 * int(s["dropped"]) / total,  # type: ignore[call-overload]
            str(s["rule"] or "none (the file as read)"),
        ]
        for s in stages
    ]
    fig = go.Figure(
        go.Funnel(
            y=labels,
            x=[int(s["remaining"]) for s in stages],  # type: ignore[call-overload]
            textinfo="value+percent initial",
            texttemplate="%{value:,} (%{percentInitial:.1%})",
            marker={"color": colors},
            connector={"fillcolor": "#e9ecef", "line": {"color": "#dee2e6", "width": 1}},
            customdata=customdata,
            hovertemplate=(
                "<b>%{y}</b><br>lines left: %{x:,}<br>"
                "rule: %{customdata[3]}<br>"
                "dropped by it: %{customdata[0]:,} (%{customdata[2]:.2f}% of all lines)<br>"
                "amount of the lines it dropped: %{customdata[1]:,.2f}<extra></extra>"
            ),
        )
    )
    shared_figures.base_layout(fig, height=height)
    fig.update_yaxes(automargin=True)
    return fig


def funnel_summary(audit: Audit) -> str:
    """The funnel in one sentence: lines read and kept, and the rule that dropped the most."""
    stages = audit_stages(audit)
    total = max(audit.rows_in, 1)
    kept = int(stages[-1]["remaining"])  # type: ignore[call-overload]
    text = (
        f"Cleaning audit: {count(audit.rows_in, 'line')} read, {kept:,} kept ({kept / total:.1%})"
    )
    worst = max(stages[1:], key=lambda s: int(s["dropped"]), default=None)  # type: ignore[call-overload]
    if worst is None or not worst["dropped"]:
        return f"{text}; no rule dropped a line."
    dropped = int(worst["dropped"])  # type: ignore[call-overload]
    return (
        f"{text}; the rule that dropped the most, {worst['rule']}, removed "
        f"{count(dropped, 'line')} ({dropped / total:.1%})."
    )


FUNNEL_COLUMNS: tuple[str, ...] = (
    "Stage",
    "Lines left",
    "Share of the lines read",
    "Dropped by this rule",
    "Amount of the dropped lines",
)


def funnel_rows(audit: Audit) -> list[list[str]]:
    """The funnel as table rows (:data:`FUNNEL_COLUMNS`): the numbers its bars and hovers show."""
    total = max(audit.rows_in, 1)
    return [
        [
            str(s["label"]),
            f"{int(s['remaining']):,}",  # type: ignore[call-overload]
            f"{int(s['remaining']) / total:.1%}",  # type: ignore[call-overload]
            "" if s["reason"] is None else f"{int(s['dropped']):,}",  # type: ignore[call-overload]
            "" if s["reason"] is None else f"{float(s['revenue']):,.2f}",  # type: ignore[arg-type]
        ]
        for s in audit_stages(audit)
    ]
