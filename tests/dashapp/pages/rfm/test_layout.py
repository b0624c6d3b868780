"""RFM page layout: the skeleton renders on its own and holds every id the callbacks use."""

from __future__ import annotations

from dashapp.pages.rfm import ids
from dashapp.pages.rfm.layout import build, controls
from dashapp.pages.rfm.view import DEFAULTS, SETTINGS
from tests.dashapp.helpers import as_json, find_ids


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


def test_controls_carry_the_pattern_matching_ids_of_every_setting() -> None:
    found = find_ids(as_json(controls(dict(DEFAULTS))))
    assert [i for i in found if isinstance(i, dict)] == [ids.rfm_setting(n) for n in SETTINGS]
