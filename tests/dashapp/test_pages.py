"""Every page: its skeleton renders with no query, and holds every plain id its callbacks use
(the rest are the app shell's); pattern-matching ids are rendered later, from the state.

The app runs with ``suppress_callback_exceptions=True`` (see ``create_app``), so dash-renderer
no longer checks the callbacks against every page's layout on each page load; the same check
is made here, once: every id a callback names exists, with the property named.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from types import ModuleType
from typing import Any

import pytest
from dash import Dash, dcc, html
from dash._utils import split_callback_id
from dash.development.base_component import Component

from dashapp.app import shell_layout
from dashapp.pages import PAGES
from dashapp.services import AppServices
from dashapp.shared import components
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


def _components(component: Component) -> Iterator[Component]:
    """``component`` and every component in its props (children and any other)."""
    yield component
    for name in component._prop_names:
        value = getattr(component, name, None)
        for item in value if isinstance(value, list | tuple) else [value]:
            if isinstance(item, Component):
                yield from _components(item)


def _dependencies(callback: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(kind, id, property) of each Output, Input, State and ``running`` output of a callback,
    as the browser gets them (``/_dash-dependencies``)."""
    outputs = split_callback_id(callback["output"])
    for output in outputs if isinstance(outputs, list) else [outputs]:
        yield "Output", output["id"], output["property"]
    for kind in ("inputs", "state"):
        for dep in callback[kind]:
            yield kind.title().removesuffix("s"), dep["id"], dep["property"]
    for key in (callback.get("running") or {}).get("running", {}):
        component_id, prop = key.rsplit(".", 1)
        yield "running Output", component_id, prop


def dependency_errors(
    callbacks: Iterable[Mapping[str, Any]], layouts: Iterable[Component]
) -> list[str]:
    """What dash-renderer's check of the callbacks against every page's layout reports: an id
    in no layout, or a property its component does not have (pattern-matching ids skipped:
    their components are rendered later, from the state)."""
    by_id = {str(c.id): c for layout in layouts for c in _components(layout) if hasattr(c, "id")}
    errors = []
    for callback in callbacks:
        for kind, component_id, named in _dependencies(callback):
            if not _plain(component_id):
                continue
            prop = named.split("@")[0]  # allow_duplicate outputs carry a suffix
            component = by_id.get(component_id)
            if component is None:
                errors.append(f"{kind} {component_id}.{prop}: no component with this id")
            elif prop not in component._prop_names and not any(
                prop.startswith(w) for w in getattr(component, "_valid_wildcard_attributes", [])
            ):
                errors.append(
                    f"{kind} {component_id}.{prop}: a {type(component).__name__} has no {prop}"
                )
    return errors


def every_layout(services: AppServices) -> list[Component]:
    return [shell_layout(services)(), *(page.layout() for page in PAGES)]


@pytest.mark.usefixtures("app_ctx")
def test_every_callback_names_ids_and_properties_of_the_layouts(
    app: Dash, services: AppServices
) -> None:
    assert len(app._callback_list) > 50
    assert dependency_errors(app._callback_list, every_layout(services)) == []


@pytest.mark.usefixtures("app_ctx")
def test_a_missing_id_or_property_is_reported(services: AppServices) -> None:
    broken = [
        {
            "output": "..nowhere.children...session-store.data@abc..",
            "inputs": [{"id": "session-store", "property": "value"}],
            "state": [{"id": '{"type":"role-dropdown","role":["ALL"]}', "property": "nope"}],
            "running": {"running": {"upload-status.colour": "x"}, "runningOff": {}},
        }
    ]
    assert dependency_errors(broken, every_layout(services)) == [
        "Output nowhere.children: no component with this id",
        "Input session-store.value: a Store has no value",
        "running Output upload-status.colour: a Div has no colour",
    ]


@pytest.mark.usefixtures("app_ctx")
@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.__name__.rsplit(".", 1)[1])
def test_no_id_twice_in_the_shell_and_a_page(page: ModuleType, services: AppServices) -> None:
    layouts = (shell_layout(services)(), page.layout())
    found = [str(c.id) for layout in layouts for c in _components(layout) if hasattr(c, "id")]
    assert len(found) == len(set(found)), sorted(i for i in set(found) if found.count(i) > 1)


@pytest.mark.usefixtures("app_ctx")
def test_every_loading_indicator_is_the_app_spinner(services: AppServices) -> None:
    loadings = [
        c
        for layout in every_layout(services)
        for c in _components(layout)
        if isinstance(c, dcc.Loading)
    ]
    assert len(loadings) >= 10
    for loading in loadings:  # dcc's own spinners redraw every frame (components.loading)
        spinner = getattr(loading, "custom_spinner", None)
        assert isinstance(spinner, html.Div), loading
        assert spinner.className == components.SPINNER_CLASS
        # Its words, for screen readers and for reduced motion (assets/app.css).
        label = spinner.children
        assert isinstance(label, html.Span), loading
        assert label.className == components.SPINNER_LABEL_CLASS
        assert label.children == components.SPINNER_TEXT == "Loading…"
