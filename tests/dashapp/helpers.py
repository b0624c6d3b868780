"""Helpers for app tests: upload payloads, JSON views of components, raw callback requests."""

from __future__ import annotations

import base64
import html
import json
from typing import Any

import flask
from dash import Dash
from plotly.io.json import to_json_plotly


def data_url(data: bytes, mime: str = "text/csv") -> str:
    """What dcc.Upload sends as ``contents``."""
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def as_json(value: Any) -> Any:
    """Components and figures as plain JSON, for structural comparisons."""
    return json.loads(to_json_plotly(value))


def find_ids(tree: Any) -> list[Any]:
    """Every component id in a JSON component tree, depth first."""
    found: list[Any] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            props = node.get("props")
            if isinstance(props, dict) and "id" in props:
                found.append(props["id"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(tree)
    return found


def texts(tree: Any) -> str:
    """All strings in a JSON component tree, joined (what a reader would see, roughly)."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, dict):
            props = node.get("props", node)
            if isinstance(props, dict):
                walk(props.get("children"))
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(tree)
    return " ".join(out)


def callback_spec(app: Dash, function_name: str) -> dict[str, Any]:
    """The registered callback whose function is ``function_name`` (from ``app.callback_map``):
    its ``output`` key and its ``inputs`` and ``state`` dependencies."""
    for key, entry in app.callback_map.items():
        func = entry.get("callback")
        if getattr(getattr(func, "__wrapped__", func), "__name__", None) == function_name:
            return {"output": key, "inputs": entry["inputs"], "state": entry["state"]}
    raise KeyError(function_name)


def _output_list(output: str) -> list[dict[str, str]]:
    # Multi-output callbacks are "..a.prop...b.prop..": parts joined by "...".
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    outputs = []
    for part in parts:
        component, _, prop = part.rpartition(".")
        try:
            component_id: Any = json.loads(component)
        except json.JSONDecodeError:
            component_id = component
        outputs.append({"id": component_id, "property": prop})
    return outputs


def callback_body(
    app: Dash,
    function_name: str,
    inputs: list[Any],
    state: list[Any] = (),  # type: ignore[assignment]
) -> dict[str, Any]:
    """The JSON body the browser posts to /_dash-update-component for one callback."""
    spec = callback_spec(app, function_name)
    return {
        "output": spec["output"],
        "outputs": _output_list(spec["output"]),
        "inputs": [
            {**dep, "value": value} for dep, value in zip(spec["inputs"], inputs, strict=True)
        ],
        "state": [{**dep, "value": value} for dep, value in zip(spec["state"], state, strict=True)],
        "changedPropIds": [f"{spec['inputs'][0]['id']}.{spec['inputs'][0]['property']}"],
    }


def post_callback(
    client: flask.testing.FlaskClient,
    app: Dash,
    function_name: str,
    inputs: list[Any],
    state: list[Any] = (),  # type: ignore[assignment]
) -> tuple[int, Any]:
    """POST one callback request as the browser would; returns (status, JSON response)."""
    body = callback_body(app, function_name, inputs, state)
    response = client.post("/_dash-update-component", json=body)
    payload = response.get_json(silent=True)
    return response.status_code, payload


def sales_csv(*, customer_header: str = "Customer", prefix: str = "C", customers: int = 6) -> bytes:
    """A small, valid transactions CSV: ``customers`` customers, 3 orders each, 2 lines each.

    ``prefix`` makes customer ids differ between files (to tell sessions apart).
    """
    lines = [f"Invoice,{customer_header},Date,Product,Qty,UnitPrice,Country"]
    invoice = 5000
    for c in range(customers):
        for order in range(3):
            invoice += 1
            day = 1 + 7 * order + c
            for item, (qty, price) in enumerate(((2, 3.5), (1, 10.0))):
                lines.append(
                    f"{invoice},{prefix}{c:03d},2011-03-{day:02d} 10:{item:02d},P{item},"
                    f"{qty},{price},UK"
                )
    return ("\n".join(lines) + "\n").encode()


def upload(contents: bytes, filename: str, data: Any, mime: str = "text/csv") -> Any:
    """The session data after uploading ``contents`` as ``filename`` on the Data page.

    Other pages' tests load their data through this one function, so the Data page's upload
    callback can change its outputs without touching them.
    """
    from dashapp.pages.data import callbacks as data_page

    return data_page.upload_file(data_url(contents, mime), filename, data)["session"]


def nodes(tree: Any) -> list[dict[str, Any]]:
    """Every component (a dict with ``type`` and ``props``) in a JSON component tree."""
    out: list[dict[str, Any]] = []
    if isinstance(tree, dict):
        if "type" in tree and "props" in tree:
            out.append(tree)
        for value in tree.values():
            out.extend(nodes(value))
    elif isinstance(tree, list):
        for item in tree:
            out.extend(nodes(item))
    return out


def table_cells(markdown: str) -> list[list[str]]:
    """The cells of a pipe table made by :mod:`dashapp.shared.text_table` (header row first,
    without the alignment row), as the browser shows them (entities decoded, no ``**``)."""
    rows = []
    for number, line in enumerate(markdown.splitlines()):
        if number == 1:
            continue  # | --- | ---: |
        cells = line.removeprefix("| ").removesuffix(" |").split(" | ")
        rows.append([html.unescape(c.removeprefix("**").removesuffix("**")) for c in cells])
    return rows
