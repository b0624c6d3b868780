"""RFM page layout: the skeleton renders on its own and holds every id the callbacks use."""

from __future__ import annotations

from typing import Any

import pytest
from dash import Dash

from dashapp.app import shell_layout
from dashapp.pages.rfm import callbacks, ids
from dashapp.pages.rfm.layout import build, controls
from dashapp.pages.rfm.view import DEFAULTS, SETTINGS
from dashapp.services import AppServices
from dashapp.shared.ids import SESSION
from tests.dashapp.helpers import as_json, find_ids


def _plain(component_id: object) -> bool:
    """A string id (pattern-matching ids are dicts, or their JSON text in the callback map)."""
    return isinstance(component_id, str) and not component_id.startswith("{")


def callback_ids(app: Dash) -> set[Any]:
    """Plain ids of every Output, Input and State of this page's callbacks on ``app``."""
    found: set[Any] = set()
    for entry in app.callback_map.values():
        func = getattr(entry.get("callback"), "__wrapped__", None)  # None: clientside
        if getattr(func, "__module__", None) != callbacks.__name__:
            continue
        outputs = entry["output"] if isinstance(entry["output"], list) else [entry["output"]]
        deps = [o.component_id for o in outputs]
        deps += [dep["id"] for dep in (*entry["inputs"], *entry["state"])]
        found.update(d for d in deps if _plain(d))
    return found


def test_build_renders_without_query_parameters() -> None:
    tree = as_json(build())
    assert {
        ids.RFM_NOTE,
        ids.RFM_ALERT,
        ids.RFM_CONTROLS,
        ids.RFM_WARNINGS,
        ids.RFM_TREEMAP,
        ids.RFM_TABLE,
        ids.RFM_GRID,
        ids.RFM_GRID_NOTE,
    } <= set(map(str, find_ids(tree)))


@pytest.mark.usefixtures("app_ctx")
def test_every_callback_id_is_in_the_page_or_the_shell(app: Dash, services: AppServices) -> None:
    used = callback_ids(app)
    assert ids.RFM_NOTE in used  # the page's callbacks were found
    assert SESSION in used
    page = set(map(str, find_ids(as_json(build()))))
    shell = set(map(str, find_ids(as_json(shell_layout(services)()))))
    assert used <= page | shell, used - page - shell


def test_controls_carry_the_pattern_matching_ids_of_every_setting() -> None:
    found = find_ids(as_json(controls(dict(DEFAULTS))))
    assert [i for i in found if isinstance(i, dict)] == [ids.rfm_setting(n) for n in SETTINGS]
