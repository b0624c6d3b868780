"""Cleaning rules, audit arithmetic, oracle agreement and the real data set's figures."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from polars.testing.parametric import column, dataframes

from bench.pandas_reference import clean_pandas
from core.cleaning import (
    REASONS,
    SAMPLE_SIZE,
    CleaningConfig,
)
from core.columns import NORMALIZED_SCHEMA
from core.errors import ConfigError, SchemaError
from core.pipeline import classify, clean
from tests.core.retail_frames import lines, random_lines, real_normalized, to_pandas


def reasons_of(frame: pl.DataFrame, config: CleaningConfig | None = None) -> list[str | None]:
    return classify(frame, config or CleaningConfig()).collect().get_column("reason").to_list()


# --- each rule on hand-made lines ------------------------------------------------------------


def test_clean_line_is_kept() -> None:
    assert reasons_of(lines({})) == [None]


@pytest.mark.parametrize(
    "row",
    [
        {"parse_error": "date"},
        {"order_date": None},
        {"quantity": None, "price": None, "amount": None},
    ],
)
def test_unparseable(row: dict) -> None:
    assert reasons_of(lines(row)) == ["unparseable"]


@pytest.mark.parametrize("customer", [None, "", "   "])
def test_missing_customer(customer: str | None) -> None:
    assert reasons_of(lines({"customer_id": customer})) == ["missing_customer"]


def test_customer_id_with_leading_zeros_is_a_customer() -> None:
    assert reasons_of(lines({"customer_id": "00017"})) == [None]


@pytest.mark.parametrize("code", ["POST", " post ", "Bank Charges", "C2", "m", "AMAZONFEE"])
def test_non_product_default_codes(code: str) -> None:
    assert reasons_of(lines({"product": code})) == ["non_product"]


def test_non_product_does_not_match_prefixes_or_nulls() -> None:
    frame = lines({"product": "POSTAGE"}, {"product": "MM"}, {"product": None})
    assert reasons_of(frame) == [None, None, None]


def test_non_product_custom_codes() -> None:
    config = CleaningConfig(non_product_codes=("gift", "POSTAGE"))
    frame = lines({"product": "POST"}, {"product": " Gift"}, {"product": "postage"})
    assert reasons_of(frame, config) == [None, "non_product", "non_product"]


def test_duplicate_keeps_first_copy_only() -> None:
    frame = lines({}, {}, {"quantity": 2.0}, {}, {"description": None}, {"description": None})
    assert reasons_of(frame) == [None, "duplicate", None, "duplicate", None, "duplicate"]


def test_duplicate_ignores_source_row_but_sees_every_source_field() -> None:
    base = {"invoice": "9"}
    variants = [
        {"customer_id": "C2"},
        {"order_date": dt.datetime(2011, 1, 1, 10, 1)},
        {"invoice": "10"},
        {"product": "P2"},
        {"description": "OTHER"},
        {"country": "FR"},
        {"quantity": 2.0, "price": 0.5},  # same amount, different quantity
        {"price": 2.0},
        {"amount": 1.5},
    ]
    frame = lines(base, *({**base, **v} for v in variants), {**base, "source_row": 99})
    assert reasons_of(frame) == [None] * (1 + len(variants)) + ["duplicate"]


def test_duplicate_null_and_empty_string_differ() -> None:
    frame = lines({"description": None}, {"description": ""})
    assert reasons_of(frame) == [None, None]


@pytest.mark.parametrize("invoice", ["C536379", "c1", "  C9", "Cx"])
def test_cancellation_by_invoice(invoice: str) -> None:
    assert reasons_of(lines({"invoice": invoice})) == ["cancellation"]


def test_cancellation_by_negative_quantity_or_amount() -> None:
    frame = lines(
        {"quantity": -2.0},
        {"quantity": None, "price": None, "amount": -5.0},
        {"invoice": "A1C"},
        {"invoice": None},
    )
    assert reasons_of(frame) == ["cancellation", "cancellation", None, None]


def test_non_positive() -> None:
    frame = lines(
        {"quantity": 0.0},
        {"price": 0.0},
        {"price": -3.0, "invoice": "1"},
        {"quantity": None, "price": None, "amount": 0.0},
        {"quantity": None, "price": None, "amount": 4.0},
    )
    assert reasons_of(frame) == ["non_positive"] * 4 + [None]


def test_first_matching_reason_wins() -> None:
    frame = lines(
        {"parse_error": "price", "customer_id": None},
        {"customer_id": None, "product": "POST", "invoice": "C1"},
        {"product": "POST", "invoice": "C1"},
        {"product": "POST", "invoice": "C1"},  # a copy of the line above, still non_product
        {"invoice": "C1", "quantity": 0.0},
        {"invoice": "C1", "quantity": 0.0},
    )
    assert reasons_of(frame) == [
        "unparseable",
        "missing_customer",
        "non_product",
        "non_product",
        "cancellation",
        "duplicate",
    ]


def test_disabled_rules_fall_through() -> None:
    frame = lines(
        {"customer_id": None, "product": "POST"},
        {"product": "POST", "invoice": "C7"},
        {"invoice": "C7", "price": 0.0},
        {"invoice": "C7", "price": 0.0},
        {"price": 0.0},
    )
    assert reasons_of(frame, CleaningConfig(missing_customer=False)) == [
        "non_product",
        "non_product",
        "cancellation",
        "duplicate",
        "non_positive",
    ]
    everything_off = CleaningConfig(
        missing_customer=False,
        non_product=False,
        duplicate=False,
        cancellation=False,
        non_positive=False,
    )
    assert reasons_of(frame, everything_off) == [None] * 5
    only_positive = CleaningConfig(non_product=False, duplicate=False, cancellation=False)
    assert reasons_of(frame, only_positive) == [
        "missing_customer",
        None,
        "non_positive",
        "non_positive",
        "non_positive",
    ]


# --- the audit --------------------------------------------------------------------------------


@pytest.fixture
def mixed() -> pl.DataFrame:
    return lines(
        {"customer_id": "A", "quantity": 2.0, "price": 3.0},  # kept, 6
        {"customer_id": "A", "quantity": 2.0, "price": 3.0},  # duplicate, 6
        {"customer_id": None, "price": 7.0},  # missing_customer, 7
        {"customer_id": "B", "invoice": "C1", "quantity": -1.0, "price": 4.0},  # cancel, -4
        {"customer_id": "C", "product": "POST", "price": 10.0},  # non_product, 10
        {"customer_id": "D", "price": 0.0},  # non_positive, 0
        {"customer_id": "E", "quantity": 5.0},  # kept, 5
        {"customer_id": " ", "price": 2.0},  # missing_customer, 2
    )


def test_audit_counts_revenue_and_customers(mixed: pl.DataFrame) -> None:
    result = clean(mixed)
    audit = result.audit
    assert audit.rows_in == 8
    assert audit.rows_kept == 2
    got = {r.reason: (r.rows, r.revenue, r.enabled) for r in audit.reasons}
    assert got == {
        "unparseable": (0, 0.0, True),
        "missing_customer": (2, 9.0, True),
        "non_product": (1, 10.0, True),
        "duplicate": (1, 6.0, True),
        "cancellation": (1, -4.0, True),
        "non_positive": (1, 0.0, True),
    }
    assert audit.rows_in == audit.rows_kept + audit.rows_dropped
    assert audit.revenue_in == pytest.approx(6 + 6 + 7 - 4 + 10 + 0 + 5 + 2)
    assert audit.revenue_kept == pytest.approx(11.0)
    assert audit.customers_in == 5  # A B C D E
    assert audit.customers_out == 2  # A E
    assert audit.dropped("duplicate") == 1
    assert result.purchases.get_column("source_row").to_list() == [1, 7]
    assert result.returns.get_column("source_row").to_list() == [4]
    assert result.purchases.schema == pl.Schema(NORMALIZED_SCHEMA)
    assert result.returns.schema == pl.Schema(NORMALIZED_SCHEMA)


def test_audit_disabled_rule_is_reported_as_disabled(mixed: pl.DataFrame) -> None:
    audit = clean(mixed, CleaningConfig(duplicate=False)).audit
    stat = next(r for r in audit.reasons if r.reason == "duplicate")
    assert (stat.rows, stat.enabled) == (0, False)
    assert audit.rows_kept == 3


def test_samples_are_the_first_five_lines_per_reason() -> None:
    frame = lines(*({"customer_id": None, "source_row": r} for r in (9, 3, 12, 5, 7, 1, 20)))
    audit = clean(frame).audit
    sample = audit.samples["missing_customer"]
    assert sample.get_column("source_row").to_list() == [1, 3, 5, 7, 9]
    assert sample.columns == list(NORMALIZED_SCHEMA)
    assert set(audit.samples) == set(REASONS)
    assert audit.samples["duplicate"].height == 0


def test_to_dict_is_json_safe(mixed: pl.DataFrame) -> None:
    audit = clean(mixed, CleaningConfig(cap_quantile=0.5)).audit
    data = json.loads(json.dumps(audit.to_dict()))
    assert data["dropped"] == {
        "unparseable": 0,
        "missing_customer": 2,
        "non_product": 1,
        "duplicate": 1,
        "cancellation": 1,
        "non_positive": 1,
    }
    assert data["rows_in"] == 8
    assert data["rows_kept"] == 2
    assert data["samples"]["duplicate"][0]["order_date"] == "2011-01-01T10:00:00"
    assert data["capping"]["rows_capped"] == 1


def test_eager_and_lazy_inputs_agree(mixed: pl.DataFrame) -> None:
    eager, lazy = clean(mixed), clean(mixed.lazy())
    assert_frame_equal(eager.purchases, lazy.purchases)
    assert_frame_equal(eager.returns, lazy.returns)
    assert eager.audit == lazy.audit
    assert_frame_equal(classify(mixed).collect(), classify(mixed.lazy()).collect())


def test_streaming_engine_agrees(mixed: pl.DataFrame) -> None:
    default, streaming = clean(mixed, engine="auto"), clean(mixed, engine="streaming")
    assert_frame_equal(default.purchases, streaming.purchases)
    assert default.audit == streaming.audit


def test_empty_input() -> None:
    empty = pl.DataFrame(schema=NORMALIZED_SCHEMA)
    result = clean(empty)
    assert (result.audit.rows_in, result.audit.rows_kept, result.audit.customers_in) == (0, 0, 0)
    assert result.purchases.height == 0


# --- capping ---------------------------------------------------------------------------------


def test_capping_amount_at_quantile() -> None:
    frame = lines(
        *({"price": p, "invoice": str(i)} for i, p in enumerate([1.0, 2.0, 3.0, 4.0, 100.0]))
    )
    result = clean(frame, CleaningConfig(cap_quantile=0.75))
    # linear quantile of [1, 2, 3, 4, 100] at 0.75 is 4.0
    assert result.purchases.get_column("amount").to_list() == [1.0, 2.0, 3.0, 4.0, 4.0]
    capping = result.audit.capping
    assert capping is not None
    assert capping.thresholds == (("amount", 4.0),)
    assert capping.rows_capped == 1
    assert capping.revenue_removed == pytest.approx(96.0)
    assert result.audit.rows_kept == 5  # capped, not dropped
    assert result.audit.revenue_kept == pytest.approx(14.0)


def test_capping_quantity_recomputes_amount() -> None:
    qty = [1.0, 2.0, 3.0, 10.0]
    frame = lines(*({"quantity": q, "price": 2.0, "invoice": str(q)} for q in qty))
    result = clean(frame, CleaningConfig(cap_quantile=0.5, cap_columns=("quantity",)))
    # linear quantile of [1, 2, 3, 10] at 0.5 is 2.5
    assert result.purchases.get_column("quantity").to_list() == [1.0, 2.0, 2.5, 2.5]
    assert result.purchases.get_column("amount").to_list() == [2.0, 4.0, 5.0, 5.0]
    assert result.audit.capping is not None
    assert result.audit.capping.rows_capped == 2
    assert result.audit.capping.revenue_removed == pytest.approx(1.0 + 15.0)


def test_no_capping_by_default(mixed: pl.DataFrame) -> None:
    assert clean(mixed).audit.capping is None


# --- validation ------------------------------------------------------------------------------


def test_wrong_columns_are_named() -> None:
    frame = lines({}).drop("country").with_columns(pl.lit(1).alias("extra"))
    with pytest.raises(SchemaError, match=r"missing \['country'\], unexpected \['extra'\]"):
        clean(frame)


def test_wrong_dtype_is_named() -> None:
    frame = lines({}).with_columns(pl.col("quantity").cast(pl.Int64))
    with pytest.raises(SchemaError, match="quantity: Int64"):
        classify(frame)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"cap_quantile": 1.0},
        {"cap_quantile": 0.0},
        {"cap_quantile": "0.9"},
        {"cap_columns": ("price",)},
        {"cap_columns": ()},
        {"non_product_codes": "POST"},
    ],
)
def test_bad_config(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        CleaningConfig(**kwargs)


def test_config_is_hashable() -> None:
    assert hash(CleaningConfig()) == hash(CleaningConfig())


# --- properties and the pandas oracle ---------------------------------------------------------

CONFIGS = [
    CleaningConfig(),
    CleaningConfig(missing_customer=False, cancellation=False),
    CleaningConfig(duplicate=False, non_product_codes=("A",)),
    CleaningConfig(non_product=False, non_positive=False, cap_quantile=0.9),
    CleaningConfig(cap_quantile=0.8, cap_columns=("amount", "quantity")),
]


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("amount_only", [False, True])
def test_matches_pandas_oracle(config: CleaningConfig, seed: int, amount_only: bool) -> None:
    frame = random_lines(seed, amount_only=amount_only)
    got = clean(frame, config)
    want = clean_pandas(to_pandas(frame), config)
    assert reasons_of(frame, config) == want.reasons.tolist()
    assert {r.reason: r.rows for r in got.audit.reasons} == {r: want.counts[r] for r in REASONS}
    for stat in got.audit.reasons:
        assert stat.revenue == pytest.approx(want.revenue[stat.reason], abs=1e-9)
    assert got.audit.rows_kept == want.counts["kept"]
    assert got.purchases.get_column("amount").to_list() == pytest.approx(
        want.purchases["amount"].tolist(), nan_ok=True
    )
    assert got.returns.get_column("source_row").to_list() == want.returns["source_row"].tolist()
    if config.cap_quantile is not None:
        assert got.audit.capping is not None
        assert got.audit.capping.rows_capped == want.rows_capped
        assert got.audit.capping.revenue_removed == pytest.approx(want.revenue_removed)


def test_random_lines_exercise_every_rule() -> None:
    counts = {r.reason: r.rows for r in clean(random_lines(0)).audit.reasons}
    assert all(counts[r] > 0 for r in REASONS), counts


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(0, 120), perm_seed=st.integers(0, 10_000))
def test_audit_adds_up_and_shuffling_changes_nothing(seed: int, n: int, perm_seed: int) -> None:
    frame = random_lines(seed, n)
    result = clean(frame)
    audit = result.audit
    assert audit.rows_in == frame.height == audit.rows_kept + audit.rows_dropped
    assert result.purchases.height == audit.rows_kept
    assert result.returns.height == audit.dropped("cancellation")
    assert audit.customers_out <= audit.customers_in
    assert all(s.height <= SAMPLE_SIZE for s in audit.samples.values())

    order = np.random.default_rng(perm_seed).permutation(frame.height)
    shuffled = clean(frame[order])
    assert [(r.reason, r.rows) for r in shuffled.audit.reasons] == [
        (r.reason, r.rows) for r in audit.reasons
    ]
    for before, after in zip(audit.reasons, shuffled.audit.reasons, strict=True):
        assert after.revenue == pytest.approx(before.revenue)
    assert (shuffled.audit.rows_kept, shuffled.audit.customers_out) == (
        audit.rows_kept,
        audit.customers_out,
    )
    # Which copy of a duplicate survives may change; the kept source fields may not.
    fields = [c for c in NORMALIZED_SCHEMA if c != "source_row"]
    assert_frame_equal(
        result.purchases.select(fields).sort(fields, nulls_last=True),
        shuffled.purchases.select(fields).sort(fields, nulls_last=True),
    )


normalized_frames = dataframes(
    [column(name, dtype=dtype) for name, dtype in NORMALIZED_SCHEMA.items()],
    max_size=30,
)


@settings(max_examples=40, deadline=None)
@given(frame=normalized_frames)
def test_any_normalized_frame_is_fully_accounted_for(frame: pl.DataFrame) -> None:
    result = clean(frame)
    audit = result.audit
    assert audit.rows_in == frame.height == audit.rows_kept + audit.rows_dropped
    assert result.purchases.height == audit.rows_kept


# --- the real data set -------------------------------------------------------------------------


@pytest.mark.realdata
def test_real_data_figures(real_data_path) -> None:
    result = clean(real_normalized(real_data_path))
    audit = result.audit
    assert audit.rows_in == 541_909
    assert {r.reason: r.rows for r in audit.reasons} == {
        "unparseable": 0,
        "missing_customer": 135_080,
        "non_product": 1_920,
        "duplicate": 5_220,
        "cancellation": 8_506,
        "non_positive": 33,
    }
    assert audit.rows_kept == 391_150
    assert result.purchases.height == 391_150
    assert result.returns.height == 8_506
    assert audit.customers_in == 4_372
    assert audit.customers_out == 4_334


@pytest.mark.realdata
def test_real_data_matches_pandas_oracle(real_data_path) -> None:
    frame = real_normalized(real_data_path).collect()
    want = clean_pandas(to_pandas(frame))
    got = reasons_of(frame)
    assert got == want.reasons.tolist()


def test_clean_result_pickles_for_the_shared_disk_cache() -> None:
    import pickle

    from tests.core.retail_frames import lines

    result = clean(lines({}))
    again = pickle.loads(pickle.dumps(result))
    assert again.audit == result.audit
    assert again.purchases.equals(result.purchases)
