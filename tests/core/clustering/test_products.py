"""Top products per segment from encoded lines, against a plain Polars oracle of the same
definitions (join the lines to the segments, group by segment and product)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from core.clustering.products import N_PRODUCTS, ProductLines, TopProduct, top_products
from core.errors import SchemaError


def oracle(lines: pl.DataFrame, labelled: pl.DataFrame) -> dict[int, list[tuple]]:
    """Segment -> [(product, description, revenue, share)] by the written definitions."""
    joined = lines.filter(pl.col("product").is_not_null() & pl.col("amount").is_finite()).join(
        labelled.filter(pl.col("segment") >= 0), on="customer_id"
    )
    totals = dict(joined.group_by("segment").agg(pl.col("amount").sum()).iter_rows())
    described = (
        joined.filter(pl.col("description").is_not_null())
        .group_by("product", "description")
        .len()
        .sort(["len", "description"], descending=[True, False])
        .group_by("product", maintain_order=True)
        .first()
    )
    description = dict(described.select("product", "description").iter_rows())
    revenue = (
        joined.group_by("segment", "product")
        .agg(pl.col("amount").sum().alias("revenue"))
        .sort(["segment", "revenue", "product"], descending=[False, True, False])
    )
    out: dict[int, list[tuple]] = {}
    for segment, product, value in revenue.iter_rows():
        picked = out.setdefault(segment, [])
        if len(picked) < N_PRODUCTS:
            total = totals[segment]
            picked.append(
                (product, description.get(product), value, value / total if total else 0.0)
            )
    return out


def random_lines(seed: int, n_lines: int = 3_000) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    customers = np.array([f"C{i:03d}" for i in range(60)])
    products = [f"P{i:02d}" for i in range(25)] + [None]
    descriptions = ["MUG", "CUP", "mug", "", None]
    # Whole amounts make exact revenue ties (broken by product code).
    amounts = rng.integers(-3, 12, n_lines).astype(float)
    amounts[rng.random(n_lines) < 0.01] = np.nan
    lines = pl.DataFrame(
        {
            "customer_id": rng.choice(np.append(customers, "NOT-CLUSTERED"), n_lines),
            "product": rng.choice(np.array(products, dtype=object), n_lines),
            "description": rng.choice(np.array(descriptions, dtype=object), n_lines),
            "amount": amounts,
        },
        schema={
            "customer_id": pl.String,
            "product": pl.String,
            "description": pl.String,
            "amount": pl.Float64,
        },
    )
    labels = rng.integers(-1, 4, customers.size)  # -1: noise, in no segment
    return lines, customers, labels


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_top_products_match_the_oracle(seed: int) -> None:
    lines, customers, labels = random_lines(seed)
    got = top_products(ProductLines(lines), customers, labels, 4)
    expected = oracle(lines, pl.DataFrame({"customer_id": customers, "segment": labels}))
    for segment in range(4):
        want = expected.get(segment, [])
        assert [(p.product, p.description) for p in got[segment]] == [w[:2] for w in want]
        np.testing.assert_allclose([p.revenue for p in got[segment]], [w[2] for w in want])
        np.testing.assert_allclose([p.share for p in got[segment]], [w[3] for w in want])


def test_products_without_revenue_rank_last_only_when_needed() -> None:
    """A segment with fewer products sold at a profit than best sellers lists those whose
    returns cancelled (or outweighed) their sales after them; one with enough lists none."""
    rows = [("A", "P1", 5.0), ("A", "P2", 2.0), ("A", "P2", -2.0), ("A", "P3", -1.0)]
    rows += [("B", f"Q{i}", float(10 - i)) for i in range(6)] + [("B", "P2", 0.0)]
    lines = pl.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "product": [r[1] for r in rows],
            "description": [f"ABOUT {r[1]}" for r in rows],
            "amount": [r[2] for r in rows],
        }
    )
    customers, labels = np.array(["A", "B"]), np.array([0, 1])
    got = top_products(ProductLines(lines), customers, labels, 2)
    assert [(p.product, p.revenue) for p in got[0]] == [("P1", 5.0), ("P2", 0.0), ("P3", -1.0)]
    assert [p.product for p in got[1]] == ["Q0", "Q1", "Q2", "Q3", "Q4"]
    expected = oracle(lines, pl.DataFrame({"customer_id": customers, "segment": labels}))
    assert [[p.product for p in s] for s in got] == [[w[0] for w in expected[s]] for s in (0, 1)]


def test_one_encoding_serves_every_fit() -> None:
    lines, customers, _ = random_lines(5)
    encoded = ProductLines(lines.lazy())
    first = None
    for k in (2, 3, 5):
        labels = np.arange(customers.size) % k
        expected = oracle(lines, pl.DataFrame({"customer_id": customers, "segment": labels}))
        got = top_products(encoded, customers, labels, k)
        first = first or encoded.codes
        assert encoded.codes is first  # encoded once
        assert [[p.product for p in seg] for seg in got] == [
            [w[0] for w in expected.get(s, [])] for s in range(k)
        ]


def test_no_lines_for_a_segment_and_no_description_column() -> None:
    lines = pl.DataFrame({"customer_id": ["A", "A"], "product": ["X", "Y"], "amount": [2.0, 3.0]})
    got = top_products(ProductLines(lines), np.array(["A", "B"]), np.array([1, 0]), 2)
    assert got[0] == ()
    assert got[1] == (
        TopProduct("Y", None, 3.0, 3.0 / 5.0),
        TopProduct("X", None, 2.0, 2.0 / 5.0),
    )


def test_lines_without_a_customer_are_in_no_segment() -> None:
    """As the oracle's join leaves them out (the missing-customer rule may be off): before,
    their index -1 read the alphabetically last customer's segment."""
    lines = pl.DataFrame(
        {
            "customer_id": ["A", "B", None],
            "product": ["X", "Y", "Z"],
            "description": ["EX", "WHY", "ZED"],
            "amount": [2.0, 3.0, 100.0],
        }
    )
    customers, labels = np.array(["A", "B"]), np.array([0, 1])
    got = top_products(ProductLines(lines), customers, labels, 2)
    assert got == [(TopProduct("X", "EX", 2.0, 1.0),), (TopProduct("Y", "WHY", 3.0, 1.0),)]
    expected = oracle(lines, pl.DataFrame({"customer_id": customers, "segment": labels}))
    assert [[p.product for p in s] for s in got] == [[w[0] for w in expected[s]] for s in (0, 1)]


def test_missing_columns_are_named() -> None:
    lines = ProductLines(pl.DataFrame({"customer_id": ["A"], "amount": [1.0]}))
    with pytest.raises(SchemaError, match="'product'"):
        top_products(lines, np.array(["A"]), np.array([0]), 1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_column_is_coded_by_its_sorted_distinct_values(seed: int) -> None:
    from core.clustering.products import _coded

    rng = np.random.default_rng(seed)
    pool = ["b", "a", " b", "B", "é", "", "a b", "10", "9"]
    values = [None if rng.random() < 0.1 else str(rng.choice(pool)) for _ in range(500)]
    column = pl.Series("c", values, dtype=pl.String)
    distinct, codes = _coded(column)
    expected = column.drop_nulls().unique().sort()
    assert distinct.to_list() == expected.to_list()
    position = {v: i for i, v in enumerate(expected.to_list())}
    assert codes.tolist() == [-1 if v is None else position[v] for v in values]


def test_background_encoding_starts_once_and_serves_codes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from core.clustering import products

    calls: list[int] = []
    real = products.encode
    monkeypatch.setattr(products, "encode", lambda lines: calls.append(1) or real(lines))
    lines, _, _ = random_lines(3)
    encoded = ProductLines(lines.lazy())
    assert encoded.encode_in_background() is True
    assert encoded.encode_in_background() is False  # already started
    codes = encoded.codes  # waits for the thread's encoding, or does it first itself
    assert encoded.encoded
    assert encoded.codes is codes
    assert encoded.encode_in_background() is False
    assert calls == [1]


def test_asking_again_while_encoding_does_not_wait_for_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every page that loads the table asks for the encoding to start; the second page's
    # request must return at once, not wait until the first one's encoding is done.
    import threading

    from core.clustering import products

    release = threading.Event()
    entered = threading.Event()
    real = products.encode

    def slow(lines: object) -> object:
        entered.set()
        release.wait(30)
        return real(lines)

    monkeypatch.setattr(products, "encode", slow)
    lines, _, _ = random_lines(3)
    encoded = ProductLines(lines.lazy())
    try:
        assert encoded.encode_in_background() is True
        assert entered.wait(10)  # the thread is encoding now
        answers: list[bool] = []
        asker = threading.Thread(target=lambda: answers.append(encoded.encode_in_background()))
        asker.start()
        asker.join(5)
        assert not asker.is_alive(), "encode_in_background waited for the encoding"
        assert answers == [False]
    finally:
        release.set()
    assert encoded.codes is not None


def test_background_encoding_error_is_raised_by_codes() -> None:
    lines = ProductLines(pl.DataFrame({"customer_id": ["A"], "amount": [1.0]}))
    lines.encode_in_background()
    with pytest.raises(SchemaError, match="'product'"):
        _ = lines.codes
    assert not lines.encoded
