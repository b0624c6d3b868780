"""wording.count: a counted noun agrees with its number ("1 customer", never "1 customers")."""

from __future__ import annotations

import pytest

from core.wording import count, noun, plural


@pytest.mark.parametrize(
    ("n", "word", "expected"),
    [
        (0, "customer", "0 customers"),
        (1, "customer", "1 customer"),
        (2, "customer", "2 customers"),
        (2995, "customer", "2,995 customers"),
        (1, "purchase line", "1 purchase line"),
        (3, "purchase line", "3 purchase lines"),
        (1, "branch", "1 branch"),
        (30, "branch", "30 branches"),
        (-1, "segment", "-1 segments"),
    ],
)
def test_count(n: int, word: str, expected: str) -> None:
    assert count(n, word) == expected


def test_noun_and_plural() -> None:
    assert noun(1, "order") == "order"
    assert noun(5, "order") == "orders"
    assert noun(2, "datum", "data") == "data"
    assert count(2, "datum", "data") == "2 data"
    assert plural("country") == "countries"
