"""Explore layout: the skeleton and the components the render callback fills in."""

from __future__ import annotations

import dataclasses

import polars as pl

from dashapp.pages.explore import ids
from dashapp.pages.explore import view as es
from dashapp.pages.explore.layout import build, headline, summary_table
from tests.dashapp.helpers import as_json, find_ids, texts


def test_build_renders_without_query_parameters() -> None:
    tree = as_json(build())
    found = find_ids(tree)
    for component_id in (
        ids.EXPLORE_NOTE,
        ids.EXPLORE_ALERT,
        ids.EXPLORE_DISTRIBUTIONS,
        ids.EXPLORE_CORRELATIONS,
        ids.EXPLORE_RF_GRID,
        ids.EXPLORE_ACTIVITY,
        ids.EXPLORE_ACTIVITY_NOTE,
        ids.EXPLORE_COUNTRIES,
        ids.EXPLORE_SUMMARY,
    ):
        assert found.count(component_id) == 1, component_id
    assert "Feature distributions" in texts(tree)
    assert as_json(build(unused="1")) == tree  # query parameters do not change the skeleton


def test_summary_table_has_a_row_per_feature() -> None:
    summary = pl.DataFrame(
        {"feature": ["monetary"], "count": [4], "missing": [1]}
        | {c: [2.5] for c in ("mean", "std", "min", "p25", "median", "p75", "max", "skewness")},
    )
    tree = as_json(summary_table(summary))
    assert tree["props"]["id"] == ids.EXPLORE_SUMMARY_TABLE
    shown = texts(tree)
    assert "Net spend (monetary)" in shown
    assert all(label in shown for _, label in es.STAT_COLUMNS)


def test_headline_names_the_excluded_customers() -> None:
    data = es.ExploreData(
        customers=1200,
        excluded=(("net monetary <= 0", 3),),
        features=(),
        histograms=(),
        correlation=(),
        rf_grid=pl.DataFrame(),
        monthly=None,
        countries=None,
        summary=pl.DataFrame(),
    )
    shown = texts(as_json(headline(data)))
    assert "1,200" in shown
    assert "3 excluded" in shown
    assert "(3 net monetary <= 0)" in shown
    no_exclusions = dataclasses.replace(data, excluded=())
    assert "excluded" not in texts(as_json(headline(no_exclusions)))


def test_headline_of_one_customer_is_singular() -> None:
    data = es.ExploreData(
        customers=1,
        excluded=(),
        features=(),
        histograms=(),
        correlation=(),
        rf_grid=pl.DataFrame(),
        monthly=None,
        countries=None,
        summary=pl.DataFrame(),
    )
    assert " customer described" in texts(as_json(headline(data)))
