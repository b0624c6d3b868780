"""Files as users have them, read end to end (read, map, clean, features, the lines read back):
CDNOW's amount-only lines (as a CSV with a header, and as the original whitespace-aligned,
headerless CDNOW_master.txt) and a decimal-comma export whose ids a spreadsheet wrote as
``17850,0``. The figures are computed by hand from the lines (tests/core/cdnow.py).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from core.io import WHITESPACE
from core.pipeline import CustomerTable, build_customer_table, load_transactions
from tests.core import cdnow

CDNOW_MAP = {"customer": "column_1", "date": "column_2", "quantity": "column_3",
             "amount": "column_4"}  # fmt: skip


def table_of(path: Path, overrides: dict[str, str] | None = None) -> CustomerTable:
    return build_customer_table(load_transactions(path, overrides=overrides))


def assert_cdnow_figures(table: CustomerTable) -> None:
    # Revenue is the sum of the dollar values, not number_of_cds x dollar_value.
    assert table.audit.revenue_in == pytest.approx(cdnow.REVENUE)
    assert table.audit.revenue_kept == pytest.approx(cdnow.REVENUE)
    assert table.audit.revenue_kept != pytest.approx(cdnow.QUANTITY_TIMES_VALUE)
    assert table.audit.rows_kept == cdnow.KEPT_LINES
    assert table.n_customers == cdnow.KEPT_CUSTOMERS
    features = table.features.sort("customer_id")
    assert features["customer_id"].to_list() == ["00001", "00002", "00003", "00004", "00005",
                                                 "00010", "00011"]  # fmt: skip
    assert features["monetary"].sum() == pytest.approx(cdnow.REVENUE)
    assert features.filter(pl.col("customer_id") == "00002")["monetary"][0] == pytest.approx(89)
    assert table.purchases is not None
    assert table.purchases["amount"].sum() == pytest.approx(cdnow.REVENUE)


def test_cdnow_csv_reads_the_dollar_value_as_the_line_amount(tmp_path: Path) -> None:
    path = tmp_path / "cdnow.csv"
    path.write_bytes(cdnow.csv_text())
    table = table_of(path)
    assert table.schema.mapping.get("amount") == "dollar_value"
    assert table.schema.mapping.get("price") is None
    assert_cdnow_figures(table)


def test_cdnow_master_txt_read_without_a_header(tmp_path: Path) -> None:
    path = tmp_path / "CDNOW_master.txt"
    path.write_bytes(cdnow.master_text())
    table = table_of(path, CDNOW_MAP)
    assert table.read.delimiter == WHITESPACE
    assert table.read.columns == ("column_1", "column_2", "column_3", "column_4")
    assert_cdnow_figures(table)


def test_decimal_comma_ids_are_one_customer(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(
        b"Invoice;CustomerID;Date;StockCode;Quantity;UnitPrice\n"
        b"536365;17850;01.12.2010 08:26;85123;6;2,55\n"
        b"536366;17850,0;02.12.2010 08:28;85123,0;2;1,85\n"
        b"536367;13047,0;03.12.2010 08:34;22633;1;3,00\n"
    )
    table = table_of(path)
    assert table.read.decimal_comma
    features = table.features.sort("customer_id")
    assert features["customer_id"].to_list() == ["13047", "17850"]
    assert features["frequency"].to_list() == [1, 2]
    assert features["monetary"].to_list() == pytest.approx([3.0, 6 * 2.55 + 2 * 1.85])
    assert features["n_products"].to_list() == [1, 1]
    assert table.purchases is not None  # the lines read back: the same ids
    assert sorted(set(table.purchases["customer_id"])) == ["13047", "17850"]
    assert sorted(set(table.purchases["product"])) == ["22633", "85123"]
