"""Segments over time (core.migration): periods, labels, moves, flows, on hand-made data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from core.clustering.config import ModelConfig, PreprocessConfig
from core.errors import ConfigError, DataSufficiencyError
from core.migration import (
    AFTER,
    BEFORE,
    EXCLUDED,
    MONEY_AFTER,
    MONEY_BEFORE,
    MOVE,
    NEW,
    MigrationConfig,
    before_config,
    combine_transactions,
    flows_of,
    migrate,
    period_tables,
    segment_order,
    segment_ranks,
    steady_features,
    with_moves,
)
from core.pipeline import build_customer_table, load_transactions
from core.rfm import parse_ruleset

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
CUTOFF = dt.date(2011, 2, 1)
# Two segments on R alone: recent half and the rest (so a dozen customers are enough).
TWO = parse_ruleset(
    {
        "name": "two",
        "dims": ["r", "f"],
        "bins": 2,
        "segments": {"Recent": ["21", "22"], "Older": ["11", "12"]},
    }
)


def _line(invoice: str, customer: str, day: str, qty: int, price: float) -> str:
    return f"{invoice},P1,THING,{qty},{day} 10:00,{price},{customer},UK\n"


def _transactions() -> tuple[str, dict[str, float], dict[str, float]]:
    """Lines of 12 customers, and each one's net spend before and from the cutoff."""
    rows, before, after = [], {}, {}
    for i in range(10):  # bought before (on day i+1 of January) and, for the even ones, after
        cid = str(100 + i)
        rows.append(_line(f"A{i}", cid, f"1/{i + 1}/2011", i + 1, 10.0))
        before[cid] = (i + 1) * 10.0
        if i % 2 == 0:
            rows.append(_line(f"B{i}", cid, "3/1/2011", 2, 5.0))
            after[cid] = 10.0
    # 200: new (first purchase on the cutoff day itself, which belongs to After)
    rows.append(_line("N1", "200", "2/1/2011", 3, 4.0))
    after["200"] = 12.0
    # 201: bought and returned everything before: excluded Before, buys again after
    rows.append(_line("X1", "201", "1/20/2011", 1, 20.0))
    rows.append(_line("CX1", "201", "1/21/2011", -1, 20.0))
    rows.append(_line("X2", "201", "3/2/2011", 1, 7.0))
    before["201"], after["201"] = 0.0, 7.0
    return HEADER + "".join(rows), before, after


@pytest.fixture
def loaded(tmp_path: Path):
    text, _, _ = _transactions()
    path = tmp_path / "t.csv"
    path.write_text(text)
    return load_transactions(path)


def test_periods_split_the_lines_at_the_cutoff(loaded) -> None:
    _, before, _after = _transactions()
    periods = period_tables(loaded, CUTOFF)
    got = dict(periods.before.features.select("customer_id", "monetary").iter_rows())
    assert got == pytest.approx(before)
    assert periods.before.analysis_date == CUTOFF
    # Recency Before is measured from the cutoff: customer 109 bought on 10 January.
    row = periods.before.features.filter(pl.col("customer_id") == "109").row(0, named=True)
    assert row["recency_days"] == (CUTOFF - dt.date(2011, 1, 10)).days
    assert periods.after.analysis_date == dt.date(2011, 3, 3)


def test_customers_get_new_excluded_and_both_periods_money(loaded) -> None:
    _, before, after = _transactions()
    config = MigrationConfig(cutoff=CUTOFF, rule_set=TWO)
    result = migrate(period_tables(loaded, CUTOFF), config)
    rows = {r["customer_id"]: r for r in result.customers.iter_rows(named=True)}
    assert set(rows) == set(before) | set(after)
    assert rows["200"][BEFORE] == NEW
    assert rows["200"][MOVE] == "new"
    assert rows["201"][BEFORE] == EXCLUDED
    assert rows["201"][AFTER] != EXCLUDED
    assert rows["201"][MOVE] == "upgraded"  # out of (excluded), the lowest rank
    for cid, row in rows.items():
        assert row[MONEY_BEFORE] == pytest.approx(before.get(cid, 0.0))
        assert row[MONEY_AFTER] == pytest.approx(after.get(cid, 0.0))
    # The odd customers bought nothing from the cutoff on.
    assert result.summary.lapsed == 5
    assert result.summary.new == 1


def test_flows_are_the_customers_grouped(loaded) -> None:
    result = migrate(period_tables(loaded, CUTOFF), MigrationConfig(cutoff=CUTOFF, rule_set=TWO))
    expected = (
        result.customers.group_by(BEFORE, AFTER)
        .agg(pl.len().alias("n"), pl.col(MONEY_BEFORE).sum().alias("b"))
        .sort(BEFORE, AFTER)
    )
    got = result.flows.sort("from_segment", "to_segment")
    assert got["customers"].to_list() == expected["n"].to_list()
    assert got["monetary_before"].to_list() == pytest.approx(expected["b"].to_list())
    assert result.flows["customers"].sum() == result.customers.height


def _hand_customers() -> pl.DataFrame:
    # Gold's mean Before spend 100, Silver's 40: Gold ranks first.
    return pl.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e", "f"],
            BEFORE: ["Gold", "Gold", "Silver", "Silver", NEW, "Silver"],
            AFTER: ["Gold", "Silver", "Gold", EXCLUDED, "Silver", "Bronze"],
            MONEY_BEFORE: [120.0, 80.0, 50.0, 30.0, 0.0, 40.0],
            MONEY_AFTER: [1.0, 2.0, 3.0, -4.0, 5.0, 6.0],
        }
    )


def test_ranks_moves_and_revenue_at_risk_by_hand() -> None:
    customers = _hand_customers()
    ranks = segment_ranks(customers)
    assert ranks["segment"].to_list() == ["Gold", "Silver"]
    assert ranks["mean_monetary_before"].to_list() == pytest.approx([100.0, 40.0])
    moved = with_moves(customers, ranks)
    assert moved[MOVE].to_list() == [
        "retained",
        "downgraded",  # Gold -> Silver
        "upgraded",  # Silver -> Gold
        "downgraded",  # Silver -> (excluded), below every segment
        "new",
        "moved",  # Bronze: nobody held it before, so it has no rank
    ]
    order = segment_order(ranks, moved)
    assert order == ("Gold", "Silver", "Bronze", EXCLUDED, NEW)
    flows = flows_of(moved, order)
    risk = dict(
        zip(
            zip(flows["from_segment"], flows["to_segment"], strict=True),
            flows["revenue_at_risk"],
            strict=True,
        )
    )
    assert risk[("Gold", "Silver")] == 80.0
    assert risk[("Silver", EXCLUDED)] == 30.0
    assert risk[("Silver", "Gold")] == 0.0
    assert flows["from_segment"].to_list()[0] == "Gold"


def test_a_cutoff_outside_the_data_is_refused(loaded) -> None:
    for cutoff in (dt.date(2010, 12, 1), dt.date(2011, 1, 1), dt.date(2011, 3, 3)):
        with pytest.raises(ConfigError, match="outside the data's range"):
            period_tables(loaded, cutoff)


def test_fewer_customers_before_than_segments_is_refused(loaded) -> None:
    periods = period_tables(loaded, dt.date(2011, 1, 3))  # two customers bought before
    model = ModelConfig(algorithm="kmeans", k=3, random_state=0)
    config = MigrationConfig(cutoff=dt.date(2011, 1, 3), by="kmeans", model=model)
    with pytest.raises(DataSufficiencyError, match="leaves 2 customers"):
        migrate(periods, config)


def test_a_model_fitted_before_assigns_after(loaded) -> None:
    model = ModelConfig(algorithm="kmeans", k=2, random_state=3)
    # Every customer bought once before the cutoff: frequency would be a constant feature.
    preprocess = PreprocessConfig(features=("recency_days", "monetary"))
    config = MigrationConfig(cutoff=CUTOFF, by="kmeans", model=model, preprocess=preprocess)
    result = migrate(period_tables(loaded, CUTOFF), config)
    assert result.model is not None
    names = set(result.model.names)
    assert set(result.customers[BEFORE]) <= names | {NEW, EXCLUDED}
    assert set(result.customers[AFTER]) <= names | {EXCLUDED}
    assert set(result.colors) == names


def test_model_config_must_match_by() -> None:
    with pytest.raises(ConfigError, match="is not 'gmm'"):
        MigrationConfig(cutoff=CUTOFF, by="gmm", model=ModelConfig(algorithm="kmeans"))
    with pytest.raises(ConfigError, match="not offered"):
        MigrationConfig(cutoff=CUTOFF, by="hdbscan")


def test_several_files_are_one_set(tmp_path: Path) -> None:
    text, _, _ = _transactions()
    lines = text.splitlines(keepends=True)
    body = lines[1:]
    one, two, whole = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "w.csv"
    # The second file repeats the first file's last line: a duplicate across files.
    one.write_text(HEADER + "".join(body[:8]))
    two.write_text(HEADER + body[7] + "".join(body[8:]))
    whole.write_text(HEADER + "".join(body[:8]) + body[7] + "".join(body[8:]))
    combined = combine_transactions([load_transactions(one), load_transactions(two)])
    periods = period_tables(combined, CUTOFF)
    reference = period_tables(load_transactions(whole), CUTOFF)
    assert periods.after.audit.to_dict() == reference.after.audit.to_dict()
    assert periods.after.features.equals(reference.after.features)
    assert periods.before.features.equals(reference.before.features)
    dup = {s.reason: s.rows for s in periods.after.audit.reasons}["duplicate"]
    assert dup == 1


def test_before_is_the_engines_table_at_the_cutoff(loaded) -> None:
    # Before is computed from After's kept lines; the engine run with Before's feature options
    # gives the same table.
    periods = period_tables(loaded, CUTOFF)
    engine = build_customer_table(loaded, features=before_config(CUTOFF))
    assert_frame_equal(periods.before.features, engine.features)
    assert periods.before.analysis_date == engine.analysis_date == CUTOFF
    assert periods.before.warnings == engine.warnings


def test_noise_in_the_last_bits_does_not_change_the_written_figures() -> None:
    # Two runs of the engine may add a customer's amounts in another order: the same net
    # differs in its last bits, and a ratio of it may straddle a half-unit of the rounding.
    def table(noise: float) -> pl.DataFrame:
        net = 24.691357 + noise
        return pl.DataFrame(
            {
                "customer_id": ["a"],
                "gross": [net],
                "returns_value": [0.0],
                "monetary": [net],
                "frequency": [2],
                "avg_order_value": [net / 2],
                "return_rate": [0.0],
            }
        )

    quiet, noisy = steady_features(table(0.0)), steady_features(table(4e-15))
    assert noisy.row(0) == quiet.row(0)
    assert (
        noisy["avg_order_value"].to_numpy().tobytes()
        == quiet["avg_order_value"].to_numpy().tobytes()
    )
