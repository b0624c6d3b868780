"""The engine's two-step classification equals the pandas oracle's reasons.

``staged_reasons`` gives every line its reason but ``duplicate`` (and
``non_product``) one line at a time, so it streams; ``settle_reasons`` then settles both on
the collected lines (duplicates from sorted keys, non-product codes from the distinct stock
codes). ``stripped=True`` rule variants skip stripping on frames that ``normalize`` wrote.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from polars.testing.parametric import column, dataframes

from bench.pandas_reference import classify_pandas
from core.cleaning import (
    DUPLICATE_KEY,
    REASON,
    REASON_CODES,
    REASONS,
    CleaningConfig,
    duplicate_positions,
    non_product_categories,
    settle_reasons,
    staged_reasons,
)
from core.columns import (
    AMOUNT,
    COUNTRY,
    CUSTOMER,
    DATE,
    DESCRIPTION,
    INVOICE,
    NORMALIZED_SCHEMA,
    PARSE_ERROR,
    PRICE,
    PRODUCT,
    QUANTITY,
)
from tests.core.retail_frames import random_lines, to_pandas

CONFIGS = [
    CleaningConfig(),
    CleaningConfig(missing_customer=False, cancellation=False),
    CleaningConfig(duplicate=False, non_product_codes=("A",)),
    CleaningConfig(non_product=False, non_positive=False),
    CleaningConfig(missing_customer=False, non_product_codes=(" b ", "post")),
]


def two_step(
    frame: pl.DataFrame,
    config: CleaningConfig,
    *,
    stripped: bool = False,
) -> pl.DataFrame:
    staged = staged_reasons(frame, config, stripped=stripped).collect()
    non_product = None
    if config.non_product:
        products = staged.get_column(PRODUCT)
        distinct = products.unique()
        flagged = distinct.filter(non_product_categories(distinct, config.non_product_codes))
        non_product = products.is_in(flagged.implode()).fill_null(False)
    return settle_reasons(staged, non_product)


def oracle(frame: pl.DataFrame, config: CleaningConfig = CleaningConfig()) -> list[str | None]:
    return classify_pandas(to_pandas(frame), config).tolist()


def reasons(staged: pl.DataFrame) -> list[str | None]:
    return staged.get_column(REASON).cast(pl.String).to_list()


def tidy(frame: pl.DataFrame) -> pl.DataFrame:
    """Text columns stripped with blanks made null, as ``core.schema.normalize`` writes them."""
    text = [CUSTOMER, INVOICE, PRODUCT, DESCRIPTION, COUNTRY]
    stripped = [pl.col(c).str.strip_chars() for c in text]
    return frame.with_columns(
        [
            pl.when(s.str.len_bytes() > 0).then(s).alias(c)
            for s, c in zip(stripped, text, strict=True)
        ]
    )


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_two_steps_equal_the_oracle(config: CleaningConfig, seed: int) -> None:
    frame = random_lines(seed, 600)
    got = two_step(frame, config)
    assert_frame_equal(got.drop(REASON), frame)
    assert reasons(got) == oracle(frame, config)


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stripped_rule_variants_agree_on_normalized_text(config: CleaningConfig, seed: int) -> None:
    frame = tidy(random_lines(seed, 600))
    got = two_step(frame, config, stripped=True)
    assert reasons(got) == oracle(frame, config)
    # the generic rules did see padded and blank values before tidying
    raw = random_lines(seed, 600)
    assert raw.get_column(PRODUCT).str.contains(r"^\s|\s$").any()
    assert (raw.get_column(CUSTOMER).str.strip_chars() == "").any()


def test_a_nan_amount_is_unparseable_before_a_missing_customer() -> None:
    # Found by the property test below: pandas' isna() counts NaN as missing, polars'
    # is_null() did not, so the engine fell through to the next rule.
    frame = random_lines(5, n=4).with_columns(
        pl.Series(AMOUNT, [float("nan"), 1.0, float("nan"), 2.0]),
        pl.Series(CUSTOMER, [None, None, "C1", "C2"], dtype=pl.String),
        pl.lit(dt.datetime(2011, 1, 1)).alias(DATE),
        pl.lit(None, dtype=pl.String).alias(PARSE_ERROR),
    )
    got = reasons(two_step(frame, CleaningConfig()))
    assert got[:3] == ["unparseable", "missing_customer", "unparseable"]
    assert got == oracle(frame)


def test_a_nan_quantity_or_price_is_missing_for_the_amount_rules() -> None:
    # Found by the property test below: pandas' notna() counts NaN as missing, so the
    # cancellation and non-positive rules fall back to the amount; polars' is_not_null() and
    # coalesce() took the NaN as a value (-1.0 with a NaN quantity was non_positive).
    nan = float("nan")
    frame = random_lines(6, n=4).with_columns(
        pl.Series(QUANTITY, [nan, nan, 3.0, 2.0]),
        pl.Series(PRICE, [None, 2.0, nan, nan]),
        pl.Series(AMOUNT, [-1.0, 0.0, 5.0, -4.0]),
        pl.Series(CUSTOMER, ["C1", "C2", "C3", "C4"], dtype=pl.String),
        pl.lit("536365").alias(INVOICE),
        pl.lit("85123A").alias(PRODUCT),
        pl.lit(dt.datetime(2011, 1, 1)).alias(DATE),
        pl.lit(None, dtype=pl.String).alias(PARSE_ERROR),
    )
    got = reasons(two_step(frame, CleaningConfig()))
    assert got == ["cancellation", "non_positive", None, "non_positive"]
    assert got == oracle(frame)


@settings(max_examples=60, deadline=None)
@given(frame=dataframes([column(n, dtype=t) for n, t in NORMALIZED_SCHEMA.items()], max_size=40))
def test_two_steps_equal_the_oracle_on_any_frame(frame: pl.DataFrame) -> None:
    got = two_step(frame, CleaningConfig())
    assert reasons(got) == oracle(frame)


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.integers(0, 12)), max_size=300),
)
def test_duplicate_positions_equal_first_distinct(values: list[int | None]) -> None:
    keys = pl.Series("k", values, dtype=pl.UInt64)
    want = (~keys.is_first_distinct() & keys.is_not_null()).arg_true()
    assert duplicate_positions(keys).to_list() == want.to_list()


def test_duplicate_positions_of_large_distinct_keys() -> None:
    keys = pl.Series("k", [2**64 - 1, 0, 2**63, 0, None, 2**64 - 1, 2**63 + 1], dtype=pl.UInt64)
    assert duplicate_positions(keys).to_list() == [3, 5]
    assert duplicate_positions(pl.Series("k", [], dtype=pl.UInt64)).to_list() == []
    assert duplicate_positions(pl.Series("k", [None, None], dtype=pl.UInt64)).to_list() == []


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(
        st.tuples(
            st.one_of(
                st.none(), st.sampled_from(["unparseable", "missing_customer", *REASONS[4:]])
            ),
            st.one_of(st.none(), st.booleans()),
            st.booleans(),
        ),
        max_size=60,
    ),
)
def test_settled_reason_is_the_first_rule_that_holds(
    lines: list[tuple[str | None, bool | None, bool]],
) -> None:
    staged = pl.DataFrame(
        {REASON: [r for r, _, _ in lines], "other": list(range(len(lines)))},
        schema={REASON: REASON_CODES, "other": pl.Int64},
    )
    before = staged.clone()
    non_product = pl.Series([n for _, n, _ in lines], dtype=pl.Boolean)
    copies = pl.Series([i for i, (_, _, c) in enumerate(lines) if c], dtype=pl.UInt32)
    got = settle_reasons(staged, non_product, copies)
    want = []
    for reason, flagged, copy in lines:
        held = [reason, "non_product" if flagged else None, "duplicate" if copy else None]
        want.append(min((r for r in held if r), key=REASONS.index, default=None))
    assert reasons(got) == want
    assert got.get_column("other").to_list() == list(range(len(lines)))
    assert_frame_equal(staged, before)  # the staged lines' reasons are left as they were


def test_staged_key_only_where_no_source_field_settles_the_line() -> None:
    # No date, amount or customer: an earlier rule drops the line and all its copies. A line
    # flagged only through parse_error (not a source field) keeps its key.
    frame = random_lines(5, 400).with_columns(pl.lit("price").alias("parse_error"))
    staged = staged_reasons(frame, CleaningConfig()).collect()
    open_lines = staged.select(
        pl.col("order_date").is_not_null()
        & pl.col("amount").is_not_null()
        & pl.col(CUSTOMER).is_not_null()
    ).to_series()
    assert (~open_lines).any()
    assert open_lines.any()
    assert (staged.get_column(DUPLICATE_KEY).is_not_null() == open_lines).all()
    assert (staged.get_column(REASON) == "unparseable").all()
    without = staged_reasons(frame, CleaningConfig(duplicate=False))
    assert DUPLICATE_KEY not in without.collect_schema()


_THIRD = 2**64 // 3  # the bounds of three parts


@pytest.mark.parametrize("parts", [2, 3, 4])
@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.none(),
            st.sampled_from(
                [0, 2**62 - 1, 2**62, 2**63 - 1, 2**63, 3 * 2**62, 2**64 - 1, _THIRD, 2 * _THIRD]
            ),
            st.integers(0, 2**64 - 1),
        ),
        max_size=200,
    ),
)
def test_duplicate_positions_sorted_in_parts_of_the_key_range(
    parts: int, values: list[int | None]
) -> None:
    keys = pl.Series("k", values, dtype=pl.UInt64)
    want = (~keys.is_first_distinct() & keys.is_not_null()).arg_true()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("core.cleaning._PARTED_FROM", 0)
        patch.setattr("core.cleaning._KEY_PARTS", parts)
        assert duplicate_positions(keys).to_list() == want.to_list()
