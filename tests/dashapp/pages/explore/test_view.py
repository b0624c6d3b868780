"""Explore view: statistics on hand-made frames (with oracles), and the texts the page shows."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr

from core.columns import AMOUNT, COUNTRY, CUSTOMER, DATE, INVOICE
from dashapp.pages.explore import figures as fe
from dashapp.pages.explore import view as es


def customers(
    recency: list[int],
    frequency: list[int],
    monetary: list[float],
    *,
    excluded: list[bool] | None = None,
    country: list[str | None] | None = None,
) -> pl.DataFrame:
    """A feature table with the columns the Explore statistics read."""
    n = len(recency)
    excluded = excluded or [False] * n
    return pl.DataFrame(
        {
            CUSTOMER: [f"C{i:03d}" for i in range(n)],
            "recency_days": recency,
            "frequency": frequency,
            "monetary": monetary,
            "excluded": excluded,
            "exclusion_reason": ["net monetary <= 0" if e else None for e in excluded],
            COUNTRY: country or ["UK"] * n,
        },
        schema={
            CUSTOMER: pl.String(),
            "recency_days": pl.Int64(),
            "frequency": pl.Int64(),
            "monetary": pl.Float64(),
            "excluded": pl.Boolean(),
            "exclusion_reason": pl.String(),
            COUNTRY: pl.String(),
        },
    )


# --- statistics -------------------------------------------------------------------------------


def test_skewed_feature_gets_geometric_bins_and_a_log_axis() -> None:
    values = pl.Series([1.0, 1.5, 2.0, 2.0, 3.0, 4.0, 5.0, 8.0, 1000.0, 0.0, 0.0, None])
    hist = es.histogram("monetary", values, bins=10)
    assert hist.log
    assert hist.skewness is not None
    assert hist.skewness > es.LOG_SKEW
    assert hist.edges[0] == 1.0
    assert hist.edges[-1] == pytest.approx(1000.0)
    ratios = np.diff(np.log(hist.edges))
    assert np.allclose(ratios, ratios[0])  # geometric
    assert sum(hist.counts) == 9  # the positive values
    assert hist.n_nonpositive == 2  # the zeros a log axis cannot show
    assert hist.n_missing == 1


def test_symmetric_feature_keeps_a_linear_axis() -> None:
    values = pl.Series(np.linspace(10.0, 20.0, 101))
    hist = es.histogram("tenure_days", values, bins=10)
    assert not hist.log
    assert hist.edges == tuple(np.linspace(10.0, 20.0, 11))
    assert hist.counts == (10,) * 9 + (11,)  # the last bin is closed


def test_small_integer_range_gets_one_bin_per_value() -> None:
    values = pl.Series([1, 2, 2, 3, 3, 3, 4, 4, 4, 4], dtype=pl.Int64)
    hist = es.histogram("frequency", values)
    assert not hist.log
    assert hist.edges == (0.5, 1.5, 2.5, 3.5, 4.5)
    assert hist.counts == (1, 2, 3, 4)


def test_skewed_integers_get_whole_number_edges() -> None:
    values = pl.Series([1] * 50 + [2] * 20 + [3] * 10 + [5, 8, 13, 40, 90, 200], dtype=pl.Int64)
    hist = es.histogram("frequency", values, bins=12)
    assert hist.log
    assert all(float(e).is_integer() for e in hist.edges)
    assert hist.counts[0] == 50  # [1, 2) holds exactly the ones
    assert sum(hist.counts) == values.len()
    # Drawn heights rescale the unequal log widths; the counts stay in the hover text.
    heights = fe.bar_heights(hist)
    logs = np.log10(hist.edges)
    nominal = (logs[-1] - logs[0]) / len(hist.counts)
    assert heights[0] == pytest.approx(50 * nominal / math.log10(2))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False),
        min_size=1,
        max_size=80,
    )
)
def test_histogram_counts_every_finite_value_once(values: list[float]) -> None:
    hist = es.histogram("gross", pl.Series(values, dtype=pl.Float64))
    assert sum(hist.counts) + hist.n_nonpositive == len(values)
    assert len(hist.edges) == len(hist.counts) + 1
    assert list(hist.edges) == sorted(hist.edges)


def test_spearman_matches_scipy_on_complete_and_pairwise_complete_data() -> None:
    rng = np.random.default_rng(3)
    a = rng.normal(size=200)
    b = a**3 + rng.normal(scale=0.5, size=200)
    c = np.round(rng.exponential(size=200), 1)  # ties
    frame = pl.DataFrame({"a": a, "b": b, "c": c})
    got = es.spearman(frame, ("a", "b", "c"))
    expected = spearmanr(np.column_stack([a, b, c])).statistic
    assert np.allclose(got, expected)
    # With missing values each pair uses its complete rows.
    b_missing = b.copy()
    b_missing[:30] = np.nan
    frame = pl.DataFrame({"a": a, "b": pl.Series(b_missing).fill_nan(None)})
    got = es.spearman(frame, ("a", "b"))
    assert got[0, 1] == pytest.approx(spearmanr(a[30:], b[30:]).statistic)
    assert got[0, 0] == 1.0


def test_spearman_of_a_constant_column_is_undefined() -> None:
    frame = pl.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "k": [5.0] * 4})
    got = es.spearman(frame, ("a", "k"))
    assert np.isnan(got[0, 1])
    assert np.isnan(got[1, 1])


def test_rf_grid_scores_included_customers_only() -> None:
    # Ten customers with distinct recency and frequency; the eleventh is excluded.
    recency = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 5]
    frequency = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 50]
    monetary = [100.0 * (i + 1) for i in range(10)] + [-5.0]
    features = customers(recency, frequency, monetary, excluded=[False] * 10 + [True])
    grid = es.rf_grid(features)
    assert grid.height == 25
    assert grid.get_column("customers").sum() == 10
    # Recency 10 and 20 (most recent) score R=5; their frequencies 10 and 9 score F=5.
    top = grid.filter((pl.col("r_score") == 5) & (pl.col("f_score") == 5))
    assert top.get_column("customers").item() == 2
    assert top.get_column("mean_monetary").item() == pytest.approx(150.0)
    empty = grid.filter((pl.col("r_score") == 5) & (pl.col("f_score") == 1))
    assert empty.get_column("customers").item() == 0
    assert empty.get_column("mean_monetary").item() is None


def test_monthly_activity_counts_orders_and_fills_empty_months() -> None:
    purchases = pl.DataFrame(
        {
            CUSTOMER: ["A", "A", "B", "B", "A"],
            DATE: [
                dt.datetime(2011, 1, 3, 9),
                dt.datetime(2011, 1, 3, 9),
                dt.datetime(2011, 1, 20, 10),
                dt.datetime(2011, 3, 1, 11),
                dt.datetime(2011, 3, 2, 12),
            ],
            INVOICE: ["1", "1", "2", None, None],  # no invoice: customer x timestamp
            AMOUNT: [10.0, 5.0, 7.5, 2.0, 3.0],
        }
    )
    monthly = es.monthly_activity(purchases)
    assert monthly.get_column("month").to_list() == [
        dt.date(2011, 1, 1),
        dt.date(2011, 2, 1),
        dt.date(2011, 3, 1),
    ]
    assert monthly.get_column("revenue").to_list() == [22.5, 0.0, 5.0]
    assert monthly.get_column("orders").to_list() == [2, 0, 2]
    assert monthly.get_column("customers").to_list() == [2, 0, 2]


def test_country_table_keeps_the_top_countries_and_groups_the_rest() -> None:
    country = ["UK"] * 5 + ["DE"] * 3 + ["FR"] * 2 + ["ES", None]
    features = customers([1] * 12, [1] * 12, [10.0] * 12, country=country)
    table = es.country_table(features, top=2)
    assert table.get_column(COUNTRY).to_list() == ["UK", "DE", "Other countries (3)"]
    assert table.get_column("customers").to_list() == [5, 3, 4]
    assert table.get_column("revenue").to_list() == [50.0, 30.0, 40.0]
    assert table.get_column("customer_share").sum() == pytest.approx(1.0)
    full = es.country_table(features, top=10)
    assert es.UNKNOWN_COUNTRY in full.get_column(COUNTRY).to_list()


def test_summary_statistics_match_numpy() -> None:
    features = customers([1, 5, 9, 40], [1, 2, 2, 7], [10.0, 20.0, 30.0, 1000.0])
    summary = es.summary_statistics(features, ("recency_days", "monetary"))
    row = summary.row(1, named=True)
    values = np.array([10.0, 20.0, 30.0, 1000.0])
    assert row["feature"] == "monetary"
    assert row["count"] == 4
    assert row["mean"] == pytest.approx(values.mean())
    assert row["std"] == pytest.approx(values.std(ddof=1))
    assert row["median"] == 25.0
    assert row["p25"] == pytest.approx(np.quantile(values, 0.25))
    assert row["max"] == 1000.0


def test_excluded_customers_are_counted_and_left_out() -> None:
    features = customers(
        [1, 2, 3, 4], [1, 1, 2, 3], [10.0, -3.0, 0.0, 8.0], excluded=[False, True, True, False]
    )
    assert es.exclusion_counts(features) == (("net monetary <= 0", 2),)
    kept = es.included(features)
    assert kept.get_column(CUSTOMER).to_list() == ["C000", "C003"]


# --- texts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "—"),
        (12345.6, "12,346"),
        (-2500.0, "-2,500"),
        (42.0, "42"),
        (3.14159, "3.14"),
        (0.012345, "0.0123"),
        (0.0, "0"),
    ],
)
def test_format_number(value: float | None, text: str) -> None:
    assert es.format_number(value) == text


def test_summary_rows_follow_the_stat_columns() -> None:
    features = customers([1, 5, 9, 40], [1, 2, 2, 7], [10.0, 20.0, 30.0, 1000.0])
    summary = es.summary_statistics(features, ("recency_days", "monetary"))
    rows = es.summary_rows(summary)
    assert [label for label, _ in rows] == ["Recency (days)", "Net spend (monetary)"]
    cells = rows[1][1]
    assert len(cells) == len(es.STAT_COLUMNS)
    keys = [key for key, _ in es.STAT_COLUMNS]
    assert cells[keys.index("count")] == "4"
    assert cells[keys.index("max")] == "1,000"
    assert cells[keys.index("median")] == "25"


def test_exclusion_text_and_activity_note() -> None:
    features = customers(
        [1, 2, 3, 4], [1, 1, 2, 3], [10.0, -3.0, 0.0, 8.0], excluded=[False, True, True, False]
    )
    data = es.ExploreData(
        customers=2,
        excluded=es.exclusion_counts(features),
        features=(),
        histograms=(),
        correlation=(),
        rf_grid=pl.DataFrame(),
        monthly=None,
        countries=None,
        summary=pl.DataFrame(),
        last_date=dt.date(2011, 12, 9),
    )
    assert data.n_excluded == 2
    assert es.exclusion_text(data) == "2 net monetary <= 0"
    note = es.activity_note(data)
    assert "orders = distinct invoices" in note
    assert "Data ends on 2011-12-09" in note
    undated = dataclasses.replace(data, last_date=None)
    assert "Data ends" not in es.activity_note(undated)
