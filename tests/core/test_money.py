"""core.money's exact sums and their bounds, on a column and through both feature paths."""

from __future__ import annotations

import math

import polars as pl
import pytest

from core.cleaning import REASONS
from core.features import FeatureConfig, compute_features
from core.money import SUM_DECIMALS, LineAmounts, exact_sum, to_units
from core.pipeline import run_engine
from tests.core.retail_frames import lines, random_lines

EMPTY = lines().clear()


def total(values: list[float | None]) -> float:
    return pl.select(exact_sum(pl.Series(values, dtype=pl.Float64))).item()


def test_amounts_beyond_a_trillion_are_added_as_floats() -> None:
    # 0.1 + 0.2 as whole millionths is 0.3; the amount beyond 1e12 is added to that as a float.
    assert total([1e13 + 0.5, 0.1, 0.2]) == 0.3 + (1e13 + 0.5)
    assert total([-2e12, 0.1, 0.2]) == 0.3 - 2e12


def test_amounts_not_finite_stay_so() -> None:
    assert math.isnan(total([float("nan"), 1.0]))
    assert total([float("inf"), 1.0]) == float("inf")
    assert total([None, None]) == 0.0
    assert total([]) == 0.0


def test_finer_fractions_are_rounded_to_the_millionth() -> None:
    assert total([0.0000004] * 3) == 0.0  # floats would add up to 1.2e-06
    assert total([0.1234564, 0.0000006]) == 0.123457


def test_line_amounts_sum_in_128_bits_when_int64_could_overflow() -> None:
    units = pl.Series("u", [10**18] * 4 + [-(10**18)] * 4, dtype=pl.Int64)
    assert LineAmounts.of_units(units).wide  # |units| add up to 8e18 > 2**62
    assert not LineAmounts.of_units(units.head(4)).wide  # 4e18 < 2**62


def test_line_amounts_wide_only_when_the_magnitudes_add_up_beyond_the_limit() -> None:
    # Lines x the largest |units| goes beyond 2**62 but the magnitudes do not: Int64 sums.
    one_large = pl.Series("u", [-(2**61)] + [1] * 5 + [None], dtype=pl.Int64)
    assert not LineAmounts.of_units(one_large).wide  # 7 lines x 2**61 > 2**62 >= 2**61 + 5
    beyond = one_large.extend_constant(2**61 + 2**60, 1)
    assert LineAmounts.of_units(beyond).wide  # 2**62 + 2**60 + 5
    for empty in ([], [None, None]):
        assert not LineAmounts.of_units(pl.Series("u", empty, dtype=pl.Int64)).wide


@pytest.mark.parametrize("held", ["floats", "units", "wide units"])
def test_line_amounts_sum_the_same_picked_by_filter_or_by_when(held: str) -> None:
    # A select's sums (filtered: reason_totals) and a group-by's (when: masked_aggregates)
    # are the same exact sums, also for a mask that picks no line or only null amounts.
    amounts = [0.1, 0.2, None, 1e13 + 0.5, -3.3, None, 2.675]
    frame = pl.DataFrame({"amount": amounts, "m": [1, 1, 2, 1, 3, 2, 3]})
    frame = frame.with_columns(to_units(pl.col("amount")).alias("u"))
    how = {
        "floats": LineAmounts(),
        "units": LineAmounts(units="u"),
        "wide units": LineAmounts(units="u", wide=True),
    }[held]
    if held != "floats":
        frame = frame.filter(pl.col("amount").abs() < 1e12)  # units hold every amount
    for mask in (pl.col("m") == 1, pl.col("m") == 2, pl.col("m") == 4, pl.col("m") > 0):
        picked = frame.select(how.sum(mask, filtered=True)).item()
        masked = frame.select(how.sum(mask)).item()
        assert picked == masked
        assert type(picked) is float


def gross_of(frame: pl.DataFrame) -> tuple[list[float], list[float]]:
    """Each customer's gross by the engine and by the frames path (compute_features)."""
    engine = run_engine(frame).features.get_column("gross").to_list()
    frames = compute_features(frame, EMPTY, FeatureConfig()).collect()
    return engine, frames.get_column("gross").to_list()


def test_engine_sums_an_amount_beyond_a_trillion_as_a_float() -> None:
    frame = lines({"price": 0.1}, {"price": 0.2}, {"price": 2e12 + 0.25, "invoice": "2"})
    assert gross_of(frame) == ([0.3 + (2e12 + 0.25)], [0.3 + (2e12 + 0.25)])
    # Keeping the product lines, the pass holds the floats too: the sums take them.
    with_products = run_engine(frame, product_lines=True)
    assert with_products.features.get_column("gross").to_list() == [0.3 + (2e12 + 0.25)]
    assert with_products.product_lines is not None
    assert with_products.product_lines.lines.get_column("amount").to_list() == [
        0.1,
        0.2,
        2e12 + 0.25,
    ]


def test_engine_sums_of_large_amounts_do_not_overflow() -> None:
    # Eleven amounts of 9e11 are 9.9e18 millionths in all: beyond Int64 (9.22e18).
    frame = lines(*({"price": 9e11, "invoice": str(i)} for i in range(11)))
    assert gross_of(frame) == ([9.9e12], [9.9e12])


@pytest.mark.parametrize("extreme", [None, 1e13 + 0.5, float("nan"), 0.0000004])
def test_engine_revenue_per_reason_is_the_exact_sum_of_its_lines(extreme: float | None) -> None:
    frame = random_lines(5, 300).with_columns(pl.col("amount") * 1.0000001)
    if extreme is not None:
        amount = frame.get_column("amount").scatter([3, 200], extreme)
        frame = frame.with_columns(amount)
    result = run_engine(frame)
    reasons = result.reasons.cast(pl.String)
    amounts = frame.get_column("amount")
    for stat in result.audit.reasons:
        want = total(amounts.filter(reasons == stat.reason).to_list())
        assert stat.revenue == want or (math.isnan(want) and math.isnan(stat.revenue))
    assert [s.reason for s in result.audit.reasons] == list(REASONS)
    assert result.audit.revenue_kept == total(amounts.filter(reasons.is_null()).to_list())


@pytest.mark.parametrize("wide", [False, True])
def test_to_units_at_the_bounds_of_its_range(wide: bool) -> None:
    # The cast wraps (saturates, for floats) without a range test: the bound alone must keep
    # every value it lets through within Int64, and give null beyond it.
    top = 1e12
    assert int(top) * 10**SUM_DECIMALS < 2**63
    beyond = math.nextafter(top, math.inf)
    amounts = [top, -top, beyond, -beyond, 1e13, 1e19, math.inf, -math.inf, math.nan, None]
    frame = pl.DataFrame({"amount": amounts}, schema={"amount": pl.Float64})
    units = frame.select(to_units(pl.col("amount"), wide=wide)).to_series().to_list()
    assert units == [10**18, -(10**18)] + [None] * 8
