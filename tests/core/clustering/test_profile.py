"""Segment profiles: hand-computed figures, effect-size oracle, RFM names, real-data profiles."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.clustering.config import ModelConfig, PreprocessConfig
from core.clustering.fit import fit_segmentation
from core.clustering.profile import (
    ACTIONS,
    MIN_EFFECT,
    build_profiles,
    clustered_frame,
    name_segments,
    nearest_code,
)
from core.errors import ConfigError, SchemaError
from core.naming import DIMS, Figures, Reference, color_indices
from core.rfm import RFM11
from tests.core.clustering.synth import blob_table, feature_table

NO_LOG = PreprocessConfig(log=())


@pytest.fixture(scope="module")
def tiny() -> pl.DataFrame:
    """Two obvious groups: A/B/C spend ~1000 recently and often, D/E/F spend ~10 long ago."""
    table = feature_table(
        {
            "recency_days": np.array([1, 2, 3, 300, 310, 320]),
            "frequency": np.array([10, 12, 14, 1, 1, 2]),
            "monetary": np.array([900.0, 1000.0, 1100.0, 10.0, 20.0, 30.0]),
        },
        ids=["A", "B", "C", "D", "E", "F"],
    )
    return table.with_columns(
        pl.Series("country", ["France", "France", "Spain", "Spain", "Spain", "Spain"])
    )


@pytest.fixture(scope="module")
def tiny_lines() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_id": ["A", "A", "B", "C", "D", "D", "E", "Z"],
            "product": ["P1", "P2", "P1", "P3", "P9", "P9", "P8", "P1"],
            "description": ["MUG", "JUG", "MUG RED", "CUP", "PEN", "PEN", "INK", "MUG"],
            "amount": [500.0, 400.0, 1000.0, 1100.0, 5.0, 5.0, 20.0, 9999.0],
        }
    )


def test_tiny_profile_figures(tiny: pl.DataFrame, tiny_lines: pl.DataFrame) -> None:
    seg = fit_segmentation(tiny, NO_LOG, ModelConfig(k=2))
    profiles, overview = build_profiles(seg, tiny, lines=tiny_lines)
    big, small = profiles
    assert seg.labels.tolist() == [0, 0, 0, 1, 1, 1]  # sorted ids; segment 0 spends most
    assert (big.customers, small.customers) == (3, 3)
    assert big.share == pytest.approx(0.5)
    assert big.revenue == pytest.approx(3000.0)
    assert small.revenue == pytest.approx(60.0)
    assert big.revenue_share == pytest.approx(3000.0 / 3060.0)
    assert overview.revenue == pytest.approx(3060.0)
    assert big.means["frequency"] == pytest.approx(12.0)
    assert small.medians["recency_days"] == pytest.approx(310.0)
    assert big.top_countries == (("France", pytest.approx(2 / 3)), ("Spain", pytest.approx(1 / 3)))
    assert small.top_countries == (("Spain", 1.0),)
    # Segment 0 lines: P1 500 + 1000, P3 1100, P2 400 (Z is not a clustered customer).
    assert [(p.product, p.revenue) for p in big.top_products] == [
        ("P1", 1500.0),
        ("P3", 1100.0),
        ("P2", 400.0),
    ]
    assert big.top_products[0].share == pytest.approx(1500.0 / 3000.0)
    # P1 is described "MUG" by A and "MUG RED" by B (Z is not clustered, so its line does not
    # count): the tie goes to the alphabetically first description.
    assert big.top_products[0].description == "MUG"
    assert [(p.product, p.revenue) for p in small.top_products] == [("P8", 20.0), ("P9", 10.0)]
    assert big.exemplars[0] == "B"  # the middle customer is the nearest to the centre
    assert set(big.exemplars) == {"A", "B", "C"}
    assert overview.customers == 6
    assert overview.noise == 0
    assert "all 6 customers" in overview.silhouette_note
    assert "3 customers (50%) bring 98% of revenue" in big.insight
    assert "ordered 12.0 times on average, last 2 days ago (median)" in big.insight


def test_tiny_names_reasons_and_actions(tiny: pl.DataFrame) -> None:
    seg = fit_segmentation(tiny, NO_LOG, ModelConfig(k=2))
    profiles, _ = build_profiles(seg, tiny)
    big, small = profiles
    # RFM scores over the 6 customers: score = 1 + floor(5 * (rank_min - 1) / 6).
    # Recency is ranked from the oldest (F: rank 1) so A, B, C (ranks 6, 5, 4) score 5, 4, 3;
    # frequency and monetary rank A, B, C 4th..6th too: every dimension averages 4.0.
    assert big.rfm_scores == pytest.approx((4.0, 4.0, 4.0))
    assert big.rfm_code == "444"
    assert big.base_name == "Loyal Customers"
    assert big.auto_name == "Loyal Customers"
    # Standings among the 6 customers (ties count half): A, B, C's mean and median recency
    # (2 days) beat 4.5 of 6 customers = 75%; so do their orders (12) and spend (1,000).
    assert big.name_reason == (
        "mean scores R 4.0, F 4.0, M 4.0: nearest to the Loyal Customers code 444. "
        "Loyal Customers: bought more recently than 75% (mean) / 75% (median) of customers "
        "(needs > 50%); more orders than 75% (mean) / 75% (median) of customers (needs >= 60%); "
        "spend more than 75% (mean) / 75% (median) of customers (needs > 50%)"
    )
    assert big.action == ACTIONS["Loyal Customers"]
    # D, E, F: R 2, 1, 1; F 1, 1, 2 (two tied at rank 1); M 1, 1, 2 -> 1.33 each -> 111, the
    # Lost code; but "Lost" needs a recency beating at most 20% of customers, and their 310
    # days (mean and median) beat 1.5 of 6 = 25%: the nearest name that fits is Hibernating.
    assert small.rfm_scores == pytest.approx((4 / 3, 4 / 3, 4 / 3))
    assert small.auto_name == "Hibernating"
    assert small.rfm_code == "211"
    assert small.name_reason.startswith(
        "mean scores R 1.3, F 1.3, M 1.3: nearest to the Lost code 111, but Lost does not fit: "
        "bought more recently than 25% (mean) / 25% (median) of customers (needs <= 20%); "
        "the nearest name that fits is Hibernating (code 211). Hibernating: "
    )
    assert small.top_products == ()  # no lines given


def test_effect_sizes_match_a_direct_computation() -> None:
    table, _ = blob_table(500, centers=3, std=1.0, seed=5)
    seg = fit_segmentation(table, NO_LOG, ModelConfig(k=3))
    profiles, _ = build_profiles(seg, table)
    x = seg.X
    for p in profiles:
        inside = seg.labels == p.segment
        for e in p.distinguishing:
            j = seg.preprocessor.features_.index(e.feature)
            a, b = x[inside, j], x[~inside, j]
            pooled = np.sqrt(
                ((a.size - 1) * a.var(ddof=1) + (b.size - 1) * b.var(ddof=1))
                / (a.size + b.size - 2)
            )
            assert e.effect == pytest.approx((a.mean() - b.mean()) / pooled, rel=1e-9)
            assert abs(e.effect) >= MIN_EFFECT
            raw = table.sort("customer_id").get_column(e.feature).cast(pl.Float64).to_numpy()
            assert e.rest_median == pytest.approx(float(np.median(raw[~inside])))
        # Listed by decreasing strength.
        sizes = [abs(e.effect) for e in p.distinguishing]
        assert sizes == sorted(sizes, reverse=True)


def test_exemplars_are_the_members_nearest_the_centre() -> None:
    table, _ = blob_table(400, centers=4, std=1.0, seed=8)
    seg = fit_segmentation(table, NO_LOG, ModelConfig(k=4))
    profiles, _ = build_profiles(seg, table)
    for p in profiles:
        members = np.flatnonzero(seg.labels == p.segment)
        d = ((seg.X[members] - seg.centers_scaled[p.segment]) ** 2).sum(axis=1)
        expected = seg.customer_ids[members[np.argsort(d, kind="stable")[:3]]].tolist()
        assert list(p.exemplars) == expected


def test_profile_rejects_a_table_the_fit_did_not_see(tiny: pl.DataFrame) -> None:
    seg = fit_segmentation(tiny, NO_LOG, ModelConfig(k=2))
    with pytest.raises(ConfigError, match="not the 6 customers"):
        clustered_frame(tiny.head(5), seg)
    with pytest.raises(SchemaError, match="'product'"):
        build_profiles(seg, tiny, lines=pl.DataFrame({"customer_id": ["A"], "amount": [1.0]}))


def test_excluded_and_noise_are_kept_out_of_segment_figures() -> None:
    table, _ = blob_table(300, centers=3, std=0.3, seed=4)
    excluded = np.zeros(300, dtype=bool)
    excluded[:30] = True
    table = table.with_columns(excluded=pl.Series(excluded))
    seg = fit_segmentation(table, NO_LOG, ModelConfig(k=3))
    profiles, overview = build_profiles(seg, table)
    assert overview.customers == 270
    assert overview.excluded == 30
    assert sum(p.customers for p in profiles) == 270
    assert sum(p.share for p in profiles) == pytest.approx(1.0)
    assert sum(p.revenue_share for p in profiles) == pytest.approx(1.0)


# --- names -------------------------------------------------------------------------------------


_CODES = [(code, s.name) for s in RFM11.segments for code in s.codes]


@settings(max_examples=200, deadline=None)
@given(st.tuples(*[st.floats(1.0, 5.0, allow_nan=False)] * 3))
def test_nearest_code_is_the_nearest_rfm11_code(point: tuple[float, float, float]) -> None:
    name, code = nearest_code(point)
    best = min(sum((c - p) ** 2 for c, p in zip(code2, point, strict=True)) for code2, _ in _CODES)
    assert sum((c - p) ** 2 for c, p in zip(code, point, strict=True)) == pytest.approx(best)
    assert RFM11.segment_of(code) == name


def test_nearest_code_on_exact_codes() -> None:
    for code, name in _CODES:
        assert nearest_code(tuple(float(v) for v in code)) == (name, code)  # type: ignore[arg-type]


def _ref(**columns: list[float]) -> Reference:
    return Reference.of(pl.DataFrame({DIMS[d][0]: v for d, v in columns.items()}))


def _fig(recency: float, orders: float, spend: float, tenure: float = 300.0) -> Figures:
    values = {"recency": recency, "orders": orders, "spend": spend, "new": tenure}
    return Figures(mean=values, median=values)


# 100 customers: recency 1..100 days, orders 1..100, spend 10..1000, tenure 365.
REF = _ref(
    recency=list(range(1, 101)),
    orders=list(range(1, 101)),
    spend=[10.0 * i for i in range(1, 101)],
    new=[365.0] * 100,
)


def test_standing_counts_ties_half() -> None:
    ref = _ref(orders=[1, 1, 1, 2], recency=[10, 20, 30, 40])
    assert ref.standing("orders", 1) == pytest.approx(1.5 / 4)
    assert ref.standing("orders", 2) == pytest.approx(3.5 / 4)
    assert ref.standing("orders", 1.5) == pytest.approx(3 / 4)
    # Recency: fewer days is better, so 10 days beats the 3.5 customers who bought longer ago.
    assert ref.standing("recency", 10) == pytest.approx(3.5 / 4)


def test_segments_sharing_a_name_are_told_apart_by_what_differs() -> None:
    champions = (4.8, 4.6, 4.9)
    names = name_segments(
        [champions, champions, (1.0, 1.0, 1.0)],
        [_fig(5, 90, 950), _fig(8, 85, 700), _fig(98, 2, 20)],
        REF,
    )
    # Their recency and orders standings differ by 3 and 5 points, their spend by 25.
    assert [n.name for n in names] == [
        "Champions, higher spend",
        "Champions, lower spend",
        "Lost",
    ]
    assert names[0].reason.endswith("; higher spend than the other Champions segment")


def test_three_segments_sharing_a_name_quote_their_figure() -> None:
    point = (4.8, 4.6, 4.9)
    names = name_segments(
        [point, point, point],
        [_fig(5, 90, 950), _fig(8, 85, 700), _fig(6, 80, 800)],
        REF,
    )
    assert [n.name for n in names] == [
        "Champions, spend 950",
        "Champions, spend 700",
        "Champions, spend 800",
    ]


def test_segments_nothing_tells_apart_fall_back_to_plain_names_with_their_spend() -> None:
    # Same median orders and recency; one has the higher mean spend, the other the higher
    # median spend: no comparative is true of both, so plain names, which add the spend.
    def fig(mean_spend: float, median_spend: float) -> Figures:
        common = {"recency": 5.0, "orders": 90.0, "new": 300.0}
        return Figures(
            mean={**common, "spend": mean_spend}, median={**common, "spend": median_spend}
        )

    point = (4.8, 4.6, 4.9)
    names = name_segments([point, point], [fig(990, 700), fig(800, 900)], REF)
    assert [n.name for n in names] == [
        "90-order buyers, last order 5 days ago, spend 700",
        "90-order buyers, last order 5 days ago, spend 900",
    ]
    assert all(n.base == "Champions" for n in names)  # their test holds: the action applies


def test_a_name_that_does_not_fit_gives_way_to_a_plain_one() -> None:
    # Many orders, low spend, last order around the typical time: "Potential Loyalist" (the
    # nearest code, 341) needs a more recent last order than most customers, "Need Attention"
    # spend above typical, "About To Sleep" fewer orders than typical: no standard name fits.
    names = name_segments([(3.0, 4.0, 1.0), None], [_fig(56, 80, 100), None], REF)
    assert [n.name for n in names] == ["80-order buyers, last order 56 days ago", "Empty segment"]
    assert names[0].reason == (
        "mean scores R 3.0, F 4.0, M 1.0: nearest to the Potential Loyalist code 341, but "
        "Potential Loyalist does not fit: bought more recently than 44% (mean) / 44% (median) "
        "of customers (needs > 50%); no standard name fits: named after its figures"
    )
    assert names[0].code is None


def test_recently_needs_the_latest_quarter_of_the_history() -> None:
    # 1,000 days of history; everyone else bought 500+ days ago, this segment 474 days ago:
    # more recently than all of them, but not "recently".
    ref = _ref(
        recency=[474.0] * 10 + [500.0 + i for i in range(90)],
        orders=[1.0] * 100,
        spend=[10.0 * i for i in range(1, 101)],
        new=[474.0] * 10 + [1000.0] * 90,
    )
    names = name_segments([(4.0, 1.0, 1.0)], [_fig(474, 1, 50, tenure=474)], ref)
    assert names[0].name == "One-time buyers, lapsed 16 months"
    assert "last order 474 days ago (mean) in 1,000 days of history" in names[0].reason


def test_colours_are_keyed_by_name() -> None:
    assert color_indices(["Champions", "Lost"]) == color_indices(["Lost", "Champions"])[::-1]
    assert color_indices(["Champions"]) == color_indices(["Champions, higher spend"])
    # The RF grid's "Can't Lose" is the RFM 11 "Can't Lose Them".
    assert color_indices(["Can't Lose"]) == color_indices(["Can't Lose Them"])
    many = color_indices([f"plain name {i}" for i in range(16)])
    assert len(set(many)) == 16
    assert len(set(color_indices(["Champions, higher spend", "Champions, lower spend"]))) == 2


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([1.0, 3.0, 5.0]),
            st.sampled_from([1.0, 5.0]),
            st.sampled_from([1.0, 50.0, 99.0]),
            st.sampled_from([2.0, 60.0, 99.0]),
        ),
        min_size=2,
        max_size=12,
    )
)
def test_names_are_always_unique(rows: list[tuple[float, float, float, float]]) -> None:
    scores = [(r, f, 3.0) for r, f, _, _ in rows]
    figures: list[Figures | None] = [
        _fig(100 - r * 19, f * 19, s * 10, tenure=t) for r, f, s, t in rows
    ]
    names = [n.name for n in name_segments(scores, figures, REF)]
    assert len({n.lower() for n in names}) == len(names)


# --- real data ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_table(real_data_path):  # type: ignore[no-untyped-def]
    from core.pipeline import build_customer_table, load_transactions

    return build_customer_table(load_transactions(real_data_path))


@pytest.mark.realdata
def test_real_data_profiles(real_table) -> None:  # type: ignore[no-untyped-def]
    features = real_table.features
    seg = fit_segmentation(features, PreprocessConfig(), ModelConfig(k=4))
    profiles, overview = build_profiles(seg, features, lines=real_table.product_lines)
    names = [p.auto_name for p in profiles]
    # Segment 1's median recency (52 days) is the median of all customers: not more recent
    # than most, so not "Loyal Customers" (its nearest code, 344) but "Need Attention".
    assert names == ["Champions", "Need Attention", "New Customers", "Hibernating"]
    assert [p.customers for p in profiles] == [705, 1183, 883, 1549]
    assert [p.rfm_code for p in profiles] == ["555", "334", "422", "212"]
    # Revenue shares against an independent group-by of the labelled table.
    labelled = (
        features.filter(~pl.col("excluded"))
        .sort("customer_id")
        .with_columns(pl.Series("segment", seg.labels))
    )
    revenue = labelled.group_by("segment").agg(pl.col("monetary").sum()).sort("segment")
    expected = (revenue["monetary"] / labelled["monetary"].sum()).to_list()
    assert [p.revenue_share for p in profiles] == pytest.approx(expected, rel=1e-12)
    assert profiles[0].insight == (
        "705 customers (16%) bring 64% of revenue; they ordered 13.7 times on average, "
        "last 9 days ago (median)."
    )
    assert overview.customers == 4320
    assert overview.excluded == 14
    assert sum(p.share for p in profiles) == pytest.approx(1.0)
    assert sum(p.revenue_share for p in profiles) == pytest.approx(1.0)
    included = features.filter(~pl.col("excluded"))
    assert overview.revenue == pytest.approx(float(included["monetary"].sum()))
    by_id = dict(zip(seg.customer_ids.tolist(), seg.labels.tolist(), strict=True))
    for p in profiles:
        assert len(p.exemplars) == 3
        assert all(by_id[c] == p.segment for c in p.exemplars)
        assert p.top_products
        assert all(tp.description for tp in p.top_products)
        assert p.top_countries[0][0] == "United Kingdom"
        assert p.name_reason.startswith("mean scores R ")
        assert p.action == ACTIONS[p.base_name]
    # Product revenue is net of returns: the 80,995-unit "PAPER CRAFT, LITTLE BIRDIE" order
    # (23843), cancelled in full the same day, is nobody's best seller; on gross lines it is.
    assert all(tp.product != "23843" for p in profiles for tp in p.top_products)
    gross, _ = build_profiles(seg, features, lines=real_table.purchases)
    assert any(tp.product == "23843" for p in gross for tp in p.top_products)
    # Segment 0 (highest mean spend) is the Champions of this shop.
    assert profiles[0].auto_name == "Champions"
    assert profiles[0].revenue_share > 0.5
    means = [p.means["monetary"] for p in profiles]
    assert means == sorted(means, reverse=True)  # type: ignore[type-var]


def test_every_rfm11_name_has_an_action() -> None:
    assert set(ACTIONS) == set(RFM11.segment_names)
