"""RFM page layout: the skeleton renders on its own and holds every id the callbacks use."""

from __future__ import annotations

from dashapp.pages.rfm import callbacks as page
from dashapp.pages.rfm import ids
from dashapp.pages.rfm import view as rv
from dashapp.pages.rfm.layout import build, controls
from dashapp.pages.rfm.view import DEFAULTS, SETTINGS
from tests.core.clustering.synth import cdnow_like
from tests.dashapp.helpers import as_json, find_ids, texts


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


def test_the_page_shows_what_each_score_stands_for_and_flags_misfit_names() -> None:
    view = rv.rfm_view(cdnow_like(), ruleset="rfm11", bins=5)
    out = page.render_view(view, dict(DEFAULTS))
    texts_ = rv.range_texts(view.ranges)
    note = as_json(out["grid_note"])
    assert ids.RFM_RANGES in set(map(str, find_ids(note)))
    shown = texts(note)
    for d in ("r", "f", "m"):
        for score in range(1, 6):
            assert texts_[d][score] in shown
    axes = out["grid_figure"].layout
    recency = [f"{s}<br>{texts_['r'][s]}".replace(" ", "<br>", 1) for s in range(1, 6)]
    assert list(axes.xaxis.ticktext) == recency
    assert list(axes.yaxis.ticktext) == [f"{s}: {texts_['f'][s]}" for s in range(1, 6)]
    table = texts(as_json(out["segment_table"]))
    assert "Does not fit its name on this data" in table
    assert "From its figures: One-time buyers, lapsed 17 months." in table
