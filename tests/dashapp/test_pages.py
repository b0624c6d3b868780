"""Every page: its skeleton renders with no query, and holds every plain id its callbacks use
(the rest are the app shell's); pattern-matching ids are rendered later, from the state."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
from dash import Dash

from dashapp.app import shell_layout
from dashapp.pages import PAGES
from dashapp.services import AppServices
from tests.dashapp.helpers import as_json, find_ids


def _plain(component_id: Any) -> bool:
    # Pattern-matching ids are dicts (or their JSON text in the callback map).
    return isinstance(component_id, str) and not component_id.startswith("{")


def page_callback_ids(app: Dash, page: ModuleType) -> set[str]:
    """Plain ids of every Output, Input and State of ``page``'s callbacks on ``app``."""
    found: set[str] = set()
    for entry in app.callback_map.values():
        func = getattr(entry.get("callback"), "__wrapped__", None)  # None: clientside
        if not getattr(func, "__module__", "").startswith(f"{page.__name__}."):
            continue
        outputs = entry["output"] if isinstance(entry["output"], list) else [entry["output"]]
        deps = [o.component_id for o in outputs]
        deps += [dep["id"] for dep in (*entry["inputs"], *entry["state"])]
        found.update(d for d in deps if _plain(d))
    return found


@pytest.mark.usefixtures("app_ctx")
@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.__name__.rsplit(".", 1)[1])
def test_every_callback_id_is_in_the_page_or_the_shell(
    page: ModuleType, app: Dash, services: AppServices
) -> None:
    used = page_callback_ids(app, page)
    assert used, f"no callback of {page.__name__} found"
    skeleton = as_json(page.layout())
    in_page = set(map(str, find_ids(skeleton)))
    in_shell = set(map(str, find_ids(as_json(shell_layout(services)()))))
    assert used <= in_page | in_shell, used - in_page - in_shell
