"""Counted nouns in the texts the app and the command line show: "1 customer", "2,995 customers".

One helper (:func:`count`) so that no text says "1 customers" or "1 segments".
"""

from __future__ import annotations

# Nouns whose plural is not the noun + "s".
IRREGULAR: dict[str, str] = {"branch": "branches", "company": "companies", "country": "countries"}


def plural(noun: str) -> str:
    """The plural of ``noun`` (English; irregular ones from :data:`IRREGULAR`)."""
    return IRREGULAR.get(noun, f"{noun}s")


def count(n: int, noun: str, many: str | None = None) -> str:
    """``n`` with thousands separators and ``noun``, in the plural unless ``n`` is 1.

    >>> count(1, "customer"), count(2995, "customer"), count(0, "line")
    ('1 customer', '2,995 customers', '0 lines')
    >>> count(3, "purchase line"), count(1, "branch"), count(2, "branch")
    ('3 purchase lines', '1 branch', '2 branches')
    """
    return f"{n:,} {noun if n == 1 else (many or plural(noun))}"


def noun(n: int, singular: str, many: str | None = None) -> str:
    """The noun alone, agreeing with ``n`` (for texts that show the number apart, e.g. bold)."""
    return singular if n == 1 else (many or plural(singular))
