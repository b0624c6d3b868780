"""The two-step classification the feature pipeline runs equals :func:`classify`.

``staged_reasons`` gives every line its reason but ``duplicate`` (and, deferred, but
``non_product``) one line at a time, so it streams; ``settle_reasons`` then settles both on
the collected lines (duplicates from sorted keys, non-product codes from the distinct stock
codes). ``stripped=True`` rule variants skip stripping on frames that ``normalize`` wrote.
"""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from polars.testing.parametric import column, dataframes

from core.cleaning import (
    DUPLICATE_KEY,
    REASON,
    CleaningConfig,
    classify,
    duplicate_positions,
    non_product_categories,
    settle_reasons,
    staged_reasons,
)
from core.columns import COUNTRY, CUSTOMER, DESCRIPTION, INVOICE, NORMALIZED_SCHEMA, PRODUCT
from tests.core.retail_frames import random_lines

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
    codes: bool,
    defer: bool,
    stripped: bool = False,
) -> pl.DataFrame:
    staged = staged_reasons(
        frame, config, codes=codes, stripped=stripped, defer_non_product=defer
    ).collect()
    non_product = None
    if defer and config.non_product:
        products = staged.get_column(PRODUCT)
        distinct = products.unique()
        flagged = distinct.filter(non_product_categories(distinct, config.non_product_codes))
        non_product = products.is_in(flagged.implode()).fill_null(False)
    return settle_reasons(staged, non_product)


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
@pytest.mark.parametrize("codes", [False, True])
@pytest.mark.parametrize("defer", [False, True])
def test_two_steps_equal_classify(
    config: CleaningConfig, seed: int, codes: bool, defer: bool
) -> None:
    frame = random_lines(seed, 600)
    want = classify(frame, config, codes=codes).collect()
    assert_frame_equal(two_step(frame, config, codes=codes, defer=defer), want)


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stripped_rule_variants_agree_on_normalized_text(config: CleaningConfig, seed: int) -> None:
    frame = tidy(random_lines(seed, 600))
    want = classify(frame, config).collect()
    got = two_step(frame, config, codes=False, defer=True, stripped=True)
    assert_frame_equal(got, want)
    # the generic rules did see padded and blank values before tidying
    raw = random_lines(seed, 600)
    assert raw.get_column(PRODUCT).str.contains(r"^\s|\s$").any()
    assert (raw.get_column(CUSTOMER).str.strip_chars() == "").any()


@settings(max_examples=60, deadline=None)
@given(frame=dataframes([column(n, dtype=t) for n, t in NORMALIZED_SCHEMA.items()], max_size=40))
def test_two_steps_equal_classify_on_any_frame(frame: pl.DataFrame) -> None:
    want = classify(frame, codes=True).collect()
    assert_frame_equal(two_step(frame, CleaningConfig(), codes=True, defer=True), want)


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


def test_staged_key_only_where_the_duplicate_rule_can_still_apply() -> None:
    frame = random_lines(5, 400)
    staged = staged_reasons(frame, CleaningConfig()).collect()
    open_lines = staged.get_column(REASON).is_null() | staged.get_column(REASON).is_in(
        ["cancellation", "non_positive"]
    )
    assert (staged.get_column(DUPLICATE_KEY).is_not_null() == open_lines).all()
    without = staged_reasons(frame, CleaningConfig(duplicate=False))
    assert DUPLICATE_KEY not in without.collect_schema()


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.none(),
            st.sampled_from([0, 2**62 - 1, 2**62, 2**63 - 1, 2**63, 3 * 2**62, 2**64 - 1]),
            st.integers(0, 2**64 - 1),
        ),
        max_size=200,
    ),
)
def test_duplicate_positions_sorted_in_parts_of_the_key_range(values: list[int | None]) -> None:
    keys = pl.Series("k", values, dtype=pl.UInt64)
    want = (~keys.is_first_distinct() & keys.is_not_null()).arg_true()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("core.cleaning._PARTED_FROM", 0)
        assert duplicate_positions(keys).to_list() == want.to_list()
