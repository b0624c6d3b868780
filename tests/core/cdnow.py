"""A small CDNOW-like file: the music store's log of amount-only lines, for reading tests.

The original ``CDNOW_master.txt`` has no header; its columns (customer id with leading zeros,
date as YYYYMMDD, number of CDs, dollar value of the line) are aligned by runs of spaces:
``00001 19970101  1  11.77``. The same lines are also written as the CSV the issue's user
loaded (``customer_id,date,number_of_cds,dollar_value``).
"""

from __future__ import annotations

# (customer id, date, number of CDs, dollar value: the line's total, not a unit price)
LINES: tuple[tuple[str, str, int, float], ...] = (
    ("00001", "19970101", 1, 11.77),
    ("00002", "19970112", 1, 12.00),
    ("00002", "19970112", 5, 77.00),
    ("00003", "19970102", 2, 20.76),
    ("00003", "19970330", 2, 20.76),
    ("00003", "19970402", 2, 19.54),
    ("00004", "19970101", 2, 29.33),
    ("00004", "19970118", 2, 29.73),
    ("00004", "19970803", 1, 14.96),
    ("00005", "19970101", 2, 29.33),
    ("00005", "19970114", 1, 13.97),
    ("00005", "19970204", 3, 38.90),
    ("00010", "19970121", 1, 13.97),
    ("00011", "19970101", 4, 54.96),
    ("00011", "19970301", 12, 141.34),
    ("00012", "19970301", 1, 0.00),  # a free line: dropped as non-positive
)
HEADER = ("customer_id", "date", "number_of_cds", "dollar_value")
KEPT_LINES = 15  # all but the free line
KEPT_CUSTOMERS = 7  # 00012 bought only the free line
REVENUE = round(sum(v for *_, v in LINES), 2)  # 528.32: the sum of the dollar values
QUANTITY_TIMES_VALUE = round(sum(n * v for *_, n, v in LINES), 2)  # the 4.5x-style trap


def master_text() -> bytes:
    """The lines as in CDNOW_master.txt: no header, columns aligned by runs of spaces."""
    rows = [f"{c} {d} {n:>2d} {v:>6.2f}" for c, d, n, v in LINES]
    return ("\n".join(rows) + "\n").encode()


def csv_text(header: tuple[str, ...] = HEADER) -> bytes:
    """The lines as a comma-separated file with a header."""
    rows = [",".join(header)] + [f"{c},{d},{n},{v:.2f}" for c, d, n, v in LINES]
    return ("\n".join(rows) + "\n").encode()
