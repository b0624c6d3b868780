"""The partial plotly.js bundle the app serves instead of dcc's full one.

``assets/vendor/plotly-partial.min.js`` (built by ``tools/build_plotly.sh``) defines
``window.Plotly`` as a page script, so ``dcc.Graph`` never loads the 4.8 MB ``plotly.min.js``.
It must be the plotly.js version the installed plotly (Python) writes figures for, and hold
every trace type the app's figures use: a type missing from it draws nothing.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import plotly.graph_objects as go
from dash import Dash
from plotly.basedatatypes import BaseTraceType
from plotly.offline import get_plotlyjs_version

from dashapp.app import ASSETS

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ASSETS / "vendor" / "plotly-partial.min.js"
REBUILD = "rebuild it: bash tools/build_plotly.sh (see tools/plotly_bundle/index.js)"


def bundle_trace_types(text: str) -> set[str]:
    """The trace modules registered in a plotly.js bundle (its minified module definitions)."""
    return set(re.findall(r'moduleType:"trace",name:"(\w+)"', text))


def app_trace_types() -> set[str]:
    """Trace types of every ``go.<Trace>(...)`` call in dashapp/."""
    found: set[str] = set()
    for path in (ROOT / "dashapp").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            func = node.func if isinstance(node, ast.Call) else None
            if (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id == "go"
            ):
                cls = getattr(go, func.attr, None)
                if isinstance(cls, type) and issubclass(cls, BaseTraceType):
                    found.add(cls().type)
    return found


def test_bundle_is_the_plotly_js_version_plotly_targets() -> None:
    text = BUNDLE.read_text(encoding="utf-8")
    header = text[: text.index("*/") + 2]
    assert "Licensed under the MIT license" in header
    assert re.search(r"v(\d+\.\d+\.\d+)\n", header)[1] == get_plotlyjs_version(), REBUILD  # type: ignore[index]
    assert f'version="{get_plotlyjs_version()}"' in text, REBUILD
    assert BUNDLE.stat().st_size < 5 * 1024**2


def test_bundle_holds_every_trace_type_the_app_draws() -> None:
    used = app_trace_types()
    assert {"scatter", "bar", "heatmap", "funnel", "sankey", "treemap"} <= used  # the scan works
    assert used - bundle_trace_types(BUNDLE.read_text(encoding="utf-8")) == set(), REBUILD


def test_trace_scan_finds_a_type_missing_from_the_bundle() -> None:
    full = (Path(go.__file__).parents[1] / "package_data" / "plotly.min.js").read_text("utf-8")
    assert "pie" in bundle_trace_types(full)
    assert "pie" not in bundle_trace_types(BUNDLE.read_text(encoding="utf-8"))


def test_every_page_loads_the_bundle_as_a_page_script(app: Dash) -> None:
    html = app.server.test_client().get("/").get_data(as_text=True)
    assert re.search(r'<script src="[^"]*/assets/vendor/plotly-partial\.min\.js', html)
    assert "plotly.min.js" not in html
