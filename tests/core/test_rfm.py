"""RFM scores (tie safety, bins), rule-set partitions, loading and sufficiency warnings."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from core.columns import FEATURE_SCHEMA
from core.errors import ConfigError, SchemaError
from core.features import compute_features
from core.pipeline import clean
from core.rfm import (
    RF_GRID,
    RFM11,
    RULESETS,
    RuleSet,
    Segment,
    assign_segments,
    get_ruleset,
    load_ruleset,
    parse_ruleset,
    rank_score,
    score_ranges,
    score_rfm,
    segment_customers,
    sufficiency_warnings,
)
from tests.core.retail_frames import real_normalized


def feature_table(
    recency: list[int],
    frequency: list[int],
    monetary: list[float],
    excluded: list[bool] | None = None,
) -> pl.DataFrame:
    n = len(recency)
    excluded = excluded or [False] * n
    first = dt.date(2011, 1, 1)
    return pl.DataFrame(
        {
            "customer_id": [f"c{i:03d}" for i in range(n)],
            "recency_days": recency,
            "tenure_days": [r + 200 for r in recency],
            "frequency": frequency,
            "gross": monetary,
            "returns_value": [0.0] * n,
            "monetary": monetary,
            "avg_order_value": [m / f for m, f in zip(monetary, frequency, strict=True)],
            "n_products": [1] * n,
            "avg_days_between_orders": [None] * n,
            "return_rate": [0.0] * n,
            "country": ["UK"] * n,
            "first_purchase": [first] * n,
            "last_purchase": [first + dt.timedelta(days=200)] * n,
            "excluded": excluded,
            "exclusion_reason": [("net <= 0" if e else None) for e in excluded],
        },
        schema=FEATURE_SCHEMA,
    )


def scores_of(values: list[float], bins: int = 5, *, descending: bool = False) -> list[int]:
    frame = pl.DataFrame({"v": values}, schema={"v": pl.Float64})
    return (
        frame.select(rank_score(pl.col("v"), bins=bins, descending=descending))
        .to_series()
        .to_list()
    )


# --- scores ----------------------------------------------------------------------------------


def test_distinct_values_make_equal_quintiles() -> None:
    assert scores_of([float(v) for v in range(10)]) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert scores_of([float(v) for v in range(9, -1, -1)]) == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]


def test_ties_get_equal_scores_and_the_next_value_its_position() -> None:
    # six of ten share the lowest value: all score 1; 7th value has 6/10 below it -> score 4
    values = [1.0] * 6 + [2.0, 3.0, 4.0, 5.0]
    assert scores_of(values) == [1] * 6 + [4, 4, 5, 5]


def test_all_equal_values_score_one() -> None:
    assert scores_of([3.0] * 7) == [1] * 7


def test_nulls_are_not_ranked() -> None:
    assert scores_of([None, 1.0, 2.0, None, 3.0, 4.0], bins=2) == [None, 1, 1, None, 2, 2]


@pytest.mark.parametrize(("bins", "expected"), [(3, [1, 1, 2, 2, 3, 3]), (4, [1, 1, 2, 3, 3, 4])])
def test_other_bin_counts(bins: int, expected: list[int]) -> None:
    assert scores_of([float(v) for v in range(6)], bins=bins) == expected


def test_ten_bins() -> None:
    assert scores_of([float(v) for v in range(20)], bins=10) == [
        s for s in range(1, 11) for _ in "ab"
    ]


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.integers(0, 8), min_size=1, max_size=80),
    bins=st.sampled_from([3, 4, 5, 10]),
)
def test_scores_are_tie_safe_monotone_and_in_range(values: list[int], bins: int) -> None:
    scores = scores_of([float(v) for v in values], bins)
    assert all(1 <= s <= bins for s in scores)
    assert scores[values.index(min(values))] == 1
    for (v1, s1), (v2, s2) in itertools.combinations(zip(values, scores, strict=True), 2):
        if v1 == v2:
            assert s1 == s2
        elif v1 < v2:
            assert s1 <= s2
        else:
            assert s1 >= s2
    # the documented formula: 1 + floor(bins * (number of strictly smaller values) / n)
    n = len(values)
    assert scores == [1 + bins * sum(w < v for w in values) // n for v in values]


def test_score_rfm_recent_scores_high_and_excluded_are_null() -> None:
    table = feature_table(
        recency=[1, 10, 100, 300, 5],
        frequency=[9, 1, 1, 1, 2],
        monetary=[500.0, 20.0, 10.0, 5.0, 0.0],
        excluded=[False, False, False, False, True],
    )
    scored = score_rfm(table, bins=4)
    assert scored.columns == [*FEATURE_SCHEMA, "r_score", "f_score", "m_score", "rfm_code"]
    assert scored.select("r_score", "f_score", "m_score", "rfm_code").rows() == [
        (4, 4, 4, "444"),
        (3, 1, 3, "313"),
        (2, 1, 2, "212"),
        (1, 1, 1, "111"),
        (None, None, None, None),
    ]
    assert_frame_equal(scored, score_rfm(table.lazy(), bins=4))


def test_score_ranges_are_the_values_behind_each_score() -> None:
    # Frequencies 1, 1, 1, 2, 9 in 4 bins: the three 1s (60%) score 1, then 2 scores
    # 1 + floor(4 * 3 / 5) = 3 and 9 scores 4: score 2 is skipped, so it has no values.
    table = feature_table(
        recency=[1, 10, 100, 300, 5, 7],
        frequency=[9, 1, 1, 1, 2, 50],
        monetary=[500.0, 20.0, 10.0, 5.0, 30.0, -1.0],
        excluded=[False, False, False, False, False, True],
    )
    ranges = score_ranges(table, bins=4)
    scored = score_rfm(table, bins=4).filter(~pl.col("excluded"))
    assert ranges["score"].to_list() == [1, 2, 3, 4]
    for d, value in (("r", "recency_days"), ("f", "frequency"), ("m", "monetary")):
        for row in ranges.iter_rows(named=True):
            members = scored.filter(pl.col(f"{d}_score") == row["score"])[value]
            low = None if members.is_empty() else float(members.min())  # type: ignore[arg-type]
            high = None if members.is_empty() else float(members.max())  # type: ignore[arg-type]
            assert (row[f"{d}_min"], row[f"{d}_max"]) == (low, high)
    assert ranges.filter(pl.col("score") == 2).row(0)[3:5] == (None, None)
    assert ranges.filter(pl.col("score") == 4).row(0)[3:5] == (9.0, 9.0)  # not the excluded 50


def test_ten_bin_codes_are_dashed() -> None:
    table = feature_table(list(range(20, 0, -1)), list(range(1, 21)), [float(v) for v in range(20)])
    assert score_rfm(table, bins=10).get_column("rfm_code")[-1] == "10-10-10"


@pytest.mark.parametrize("bins", [1, 11, 5.0, True, "5"])
def test_bad_bins(bins: object) -> None:
    with pytest.raises(ConfigError, match="bins"):
        score_rfm(feature_table([1], [1], [1.0]), bins=bins)  # type: ignore[arg-type]


def test_missing_feature_columns_are_named() -> None:
    with pytest.raises(SchemaError, match=r"\['monetary'\]"):
        score_rfm(feature_table([1], [1], [1.0]).drop("monetary"))


# --- rule sets ----------------------------------------------------------------------------------


def test_builtin_rulesets_are_partitions() -> None:
    all_rfm = set(itertools.product(range(1, 6), repeat=3))
    seen = [c for s in RFM11.segments for c in s.codes]
    assert len(seen) == 125 == len(set(seen))
    assert set(seen) == all_rfm
    assert len(RFM11.segments) == 11
    grid = [c for s in RF_GRID.segments for c in s.codes]
    assert len(grid) == 25 == len(set(grid))
    assert len(RF_GRID.segments) == 10
    assert get_ruleset("rfm11") is RFM11
    assert set(RULESETS) == {"rfm11", "rf_grid"}


@pytest.mark.parametrize(
    ("ruleset", "code", "segment"),
    [
        (RFM11, (5, 5, 5), "Champions"),
        (RFM11, (3, 2, 3), "Potential Loyalist"),
        (RFM11, (2, 1, 3), "About To Sleep"),
        (RFM11, (1, 5, 5), "Can't Lose Them"),
        (RFM11, (1, 1, 1), "Lost"),
        (RF_GRID, (2, 2), "Hibernating"),
        (RF_GRID, (3, 3), "Need Attention"),
        (RF_GRID, (4, 1), "Promising"),
        (RF_GRID, (5, 1), "New"),
        (RF_GRID, (3, 5), "Loyal"),
        (RF_GRID, (5, 3), "Potential Loyalist"),
        (RF_GRID, (1, 5), "Can't Lose"),
    ],
)
def test_segment_lookup(ruleset: RuleSet, code: tuple[int, ...], segment: str) -> None:
    assert ruleset.segment_of(code) == segment


def test_unknown_ruleset() -> None:
    with pytest.raises(ConfigError, match="'nope'") as err:
        get_ruleset("nope")
    assert "rfm11" in (err.value.hint or "")


def test_gaps_and_overlaps_are_named() -> None:
    with pytest.raises(ConfigError) as err:
        RuleSet(
            name="broken",
            dims=("r", "f"),
            bins=3,
            segments=(
                Segment("Low", frozenset({(1, 1), (1, 2), (1, 3), (2, 1)})),
                Segment("High", frozenset({(2, 1), (2, 2), (3, 1), (3, 2), (3, 3)})),
            ),
        )
    message = err.value.message
    assert "1 code(s) in no segment: 23" in message
    assert "21 in Low and High" in message


def test_bad_codes_are_named() -> None:
    with pytest.raises(ConfigError, match=r"outside 2 scores of 1\.\.3: 14"):
        RuleSet("x", ("r", "f"), 3, (Segment("A", frozenset({(1, 4)})),))


def test_repeated_segment_names() -> None:
    codes = frozenset(itertools.product((1, 2), repeat=2))
    with pytest.raises(ConfigError, match="repeated"):
        RuleSet("x", ("r", "f"), 2, (Segment("A", codes), Segment("A", frozenset())))


def test_assign_segments_by_join_preserves_rows() -> None:
    table = feature_table(
        recency=[1, 300, 50, 5],
        frequency=[9, 1, 2, 3],
        monetary=[500.0, 5.0, 20.0, 0.0],
        excluded=[False, False, False, True],
    )
    out = segment_customers(table, RF_GRID)
    assert out.get_column("customer_id").to_list() == table.get_column("customer_id").to_list()
    for r, f, seg in out.select("r_score", "f_score", "segment").rows():
        assert seg == (None if r is None else RF_GRID.segment_of((r, f)))
    assert out.get_column("segment").to_list()[-1] is None
    again = assign_segments(out, RF_GRID)  # idempotent: replaces the segment column
    assert_frame_equal(out, again)


def test_assign_segments_rejects_more_bins() -> None:
    table = feature_table(list(range(10)), list(range(1, 11)), [float(v) for v in range(10)])
    with pytest.raises(ConfigError, match=r"expects 1\.\.5"):
        assign_segments(score_rfm(table, bins=10), RFM11)
    with pytest.raises(SchemaError, match="score columns"):
        assign_segments(table, RFM11)


# --- loading custom rule sets --------------------------------------------------------------------


YAML_RULES = """
name: Three tiers
dims: [r, f]
bins: 3
segments:
  - name: Best
    description: recent and frequent
    r: 3
    f: 2-3
  - name: Rest
    codes: ["11", "12", "13", "21", "22", "23", [3, 1]]
"""


def test_load_yaml_ranges_and_codes(tmp_path: Path) -> None:
    path = tmp_path / "tiers.yaml"
    path.write_text(YAML_RULES, encoding="utf-8")
    rules = load_ruleset(path)
    assert rules.name == "Three tiers"
    assert rules.segment_names == ("Best", "Rest")
    assert rules.segment_of((3, 3)) == "Best"
    assert rules.segment_of((3, 1)) == "Rest"
    assert rules.segments[0].description == "recent and frequent"


def test_json_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "rfm11.json"
    path.write_text(json.dumps(RFM11.to_dict()), encoding="utf-8")
    assert load_ruleset(path) == RFM11


def test_mapping_form_and_any() -> None:
    rules = parse_ruleset(
        {"dims": "rf", "bins": 2, "segments": {"Recent": "21 22", "Old": ["11", "12"]}}
    )
    assert rules.segment_of((2, 1)) == "Recent"
    any_rules = parse_ruleset({"dims": ["r"], "bins": 2, "segments": [{"name": "All", "r": "any"}]})
    assert any_rules.segment_of((1,)) == "All"


def test_loaded_gap_is_named(tmp_path: Path) -> None:
    path = tmp_path / "gap.yml"
    path.write_text(YAML_RULES.replace('"23", ', ""), encoding="utf-8")
    with pytest.raises(ConfigError, match="in no segment: 23"):
        load_ruleset(path)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ([1, 2], "expected a mapping"),
        ({"segments": []}, "non-empty"),
        ({"segments": [{"codes": ["555"]}]}, "needs a name"),
        ({"segments": [{"name": "A", "codes": ["5x5"]}]}, "cannot read score code"),
        ({"segments": [{"name": "A", "codes": ["55"]}]}, "expected 3"),
        ({"segments": [{"name": "A", "r": "5-"}]}, "cannot read score condition"),
        ({"segments": [{"name": "A", "q": 1}]}, r"unknown keys \['q'\]"),
        ({"segments": [{"name": "A"}]}, "no codes"),
        ({"dims": ["r", "x"], "segments": [{"name": "A"}]}, "dims"),
        ({"bins": 12, "segments": [{"name": "A"}]}, "bins"),
        ({"colour": "red", "segments": [{"name": "A"}]}, "unknown keys"),
    ],
)
def test_bad_rule_files(data: object, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_ruleset(data)


def test_bad_rule_file_syntax_and_suffix(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_ruleset(bad)
    txt = tmp_path / "rules.txt"
    txt.write_text("{}", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\.json, \.yaml or \.yml"):
        load_ruleset(txt)


# --- sufficiency -------------------------------------------------------------------------------


def test_sufficiency_warnings() -> None:
    small = feature_table([1, 2, 3], [1, 1, 2], [1.0, 2.0, 3.0])
    codes = {w.code for w in sufficiency_warnings(small)}
    assert codes == {"few_customers", "mostly_one_time"}
    first = sufficiency_warnings(small)[0]
    assert str(first) == first.message
    assert "Only 3 customers" in first.message
    short = small.with_columns(pl.col("last_purchase") - pl.duration(days=150))
    assert "short_history" in {w.code for w in sufficiency_warnings(short)}
    big = feature_table(list(range(60)), [2] * 60, [1.0] * 60)
    assert sufficiency_warnings(big) == []
    assert sufficiency_warnings(big, min_customers=61)[0].code == "few_customers"


def test_sufficiency_ignores_excluded_customers() -> None:
    table = feature_table(list(range(60)), [2] * 60, [1.0] * 60, [i < 15 for i in range(60)])
    assert [w.code for w in sufficiency_warnings(table)] == ["few_customers"]


# --- the real data set -------------------------------------------------------------------------


@pytest.mark.realdata
def test_real_data_scores(real_data_path: Path) -> None:
    cleaned = clean(real_normalized(real_data_path))
    table = compute_features(cleaned.purchases, cleaned.returns).collect()
    out = segment_customers(table, RFM11)
    scored = out.filter(pl.col("r_score").is_not_null())
    assert scored.height == 4_334 - 14
    # Every one-time buyer shares one frequency score: ties are never split.
    one_time = scored.filter(pl.col("frequency") == 1)
    assert one_time.get_column("f_score").unique().to_list() == [1]
    assert scored.get_column("segment").null_count() == 0
    assert set(scored.get_column("segment")) == set(RFM11.segment_names)
    assert sufficiency_warnings(table) == []
    m_sizes = scored.group_by("m_score").len().get_column("len")
    assert np.ptp(m_sizes.to_numpy()) <= 1  # distinct monetary values: equal quintiles
