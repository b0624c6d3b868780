"""Read-only tables of many cells as one Dash component (a ``dcc.Markdown`` pipe table).

Every Dash component on a page costs the browser on every store update, and every component
a callback adds updates the store once when it mounts: a table of ``html.Td`` cells costs in
proportion to its cells times all the components on the page (``bench/README.md``, the first
page). A pipe table is one component that renders a plain ``<table>`` (``<thead>`` of
``<th>``, ``<tbody>``). Use it for tables that only show text (a file's first lines, sample
lines); tables with controls, links or a caption stay ``html`` components.

The cells are literal text: every ASCII character other than a letter, a digit or a space
becomes a numeric character reference, so nothing in a file's cell is read as Markdown or
HTML (``|`` does not split the cell, ``<b>`` and ``**`` show as typed, no link is made), and
line breaks become spaces (a table row is one line).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from dash import dcc


def literal(value: object) -> str:
    """``value`` as Markdown that shows exactly its text (``None``: an empty cell)."""
    if value is None:
        return ""
    out = []
    for char in str(value):
        if char.isalnum() or char == " " or ord(char) > 127:
            out.append(char if char.isprintable() else " ")
        elif char.isspace() or not char.isprintable():
            out.append(" ")
        else:
            out.append(f"&#{ord(char)};")
    return "".join(out)


def markdown(
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    numeric: Sequence[bool] | None = None,
    strong: Sequence[bool] | None = None,
) -> str:
    """A pipe table: a header row of ``columns`` (bold where ``strong``), then ``rows``;
    ``numeric`` columns right-aligned."""
    if not columns:
        return ""
    right = list(numeric) if numeric is not None else [False] * len(columns)
    bold = list(strong) if strong is not None else [False] * len(columns)
    head = [
        f"**{literal(c)}**" if b and str(c) else literal(c)
        for c, b in zip(columns, bold, strict=True)
    ]
    lines = [
        "| " + " | ".join(head) + " |",
        "| " + " | ".join("---:" if r else "---" for r in right) + " |",
    ]
    lines.extend("| " + " | ".join(literal(v) for v in row) + " |" for row in rows)
    return "\n".join(lines)


def text_table(
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    numeric: Sequence[bool] | None = None,
    strong: Sequence[bool] | None = None,
    **kwargs: Any,
) -> dcc.Markdown:
    """The table as one ``dcc.Markdown`` component (``kwargs``: its id, className, ...)."""
    return dcc.Markdown(markdown(columns, rows, numeric=numeric, strong=strong), **kwargs)
