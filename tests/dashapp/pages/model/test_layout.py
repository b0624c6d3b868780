"""Model page layout: the skeleton renders on its own and holds every id the callbacks use;
the settings form shows the session's settings."""

from __future__ import annotations

from dataclasses import replace

import flask
import numpy as np
import pytest

from dashapp import pages
from dashapp.pages import model
from dashapp.pages.model import callbacks as page
from dashapp.pages.model import ids
from dashapp.pages.model.layout import build, stability_text
from dashapp.pages.model.view import StabilityPanel, model_view
from dashapp.services import AppServices
from dashapp.shared import ids as app_ids
from dashapp.shared.modeling import ModelSettings, with_settings
from dashapp.state import new_state
from tests.dashapp.helpers import as_json, find_ids, nodes, texts
from tests.dashapp.pages.model.registry import registrations

pytestmark = pytest.mark.usefixtures("app_ctx")


def test_layout_and_controls_render_the_state(services: AppServices) -> None:
    found = find_ids(as_json(build(k="5")))
    for expected in (ids.MODEL_SUMMARY, ids.MODEL_K_FIGURE, ids.MODEL_CANCEL, ids.MODEL_JOB):
        assert expected in found
    assert not [i for i in found if isinstance(i, dict)]  # controls come from the state
    settings = ModelSettings(algorithm="hierarchical", k=7, seed=3)
    tree = as_json(page.render_controls(with_settings(new_state(services), settings).to_json()))
    values = {
        node["props"]["id"]["name"]: node["props"].get("value")
        for node in nodes(tree)
        if isinstance(node["props"].get("id"), dict)
    }
    assert values == settings.to_json()


def test_the_package_is_a_page() -> None:
    assert model in pages.PAGES
    assert (model.PATH, model.NAME, model.ORDER) == ("/model", "Model", 3)
    assert model.layout is build
    assert model.register_callbacks is page.register


def test_build_renders_without_arguments_and_holds_every_callback_id(
    server: flask.Flask,
) -> None:
    tree = set(map(str, find_ids(as_json(build()))))
    used = [
        dependency.component_id
        for registration in registrations(server)
        for dependency in registration.dependencies()
    ]
    single = {i for i in used if isinstance(i, str)}
    assert ids.MODEL_SUMMARY in single  # the page's callbacks were found
    assert single - tree == {app_ids.SESSION}  # app-wide: in the shell, not the page
    # The rest are the settings form's pattern-matching ids (the form is rendered by a callback).
    matching = [i for i in used if not isinstance(i, str)]
    assert matching
    assert all(i["type"] == ids.MODEL_SETTING_TYPE for i in matching)


def test_stability_text_calls_segments_by_their_names(services: AppServices) -> None:
    view = model_view(new_state(services), services)
    assert view.stability is not None
    assert view.stability.report is not None
    assert view.result is not None
    k = view.result.k
    # Every segment below the "stable" line, so the summary lists each one.
    shaky = replace(view.stability.report, per_segment_jaccard=np.full(k, 0.5))
    shown = texts(as_json(stability_text(StabilityPanel(shaky, names=tuple(view.result.names)))))
    for segment, name in enumerate(view.result.names):
        assert f"{name} (unstable, Jaccard 0.50)" in shown
        assert f"segment {segment} (" not in shown
