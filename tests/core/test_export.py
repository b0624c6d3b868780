"""Exports are safe to open in a spreadsheet and round-trip their content."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from core.errors import ConfigError
from core.export import XLSX_MONEY_FORMAT, neutralize, neutralize_frame, to_bytes, write_table
from core.money import money_text, round_money

DANGEROUS = ["=1+1", "+44 20", "-cmd", "@SUM(A1)", "\tx", "\rx", "\0x"]


def _frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_id": ["12346", *DANGEROUS, "plain"],
            "monetary": [-12.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
            "frequency": [1, 2, 3, 4, 5, 6, 7, 8, 9],
        }
    )


@pytest.mark.parametrize("text", DANGEROUS)
def test_neutralize_prefixes_formula_starts(text: str) -> None:
    assert neutralize(text) == "'" + text


@pytest.mark.parametrize("text", ["12346", "plain", "", "a=b", "'quoted"])
def test_neutralize_leaves_safe_text(text: str) -> None:
    assert neutralize(text) == text


def test_csv_neutralizes_text_cells_and_headers_but_not_numbers() -> None:
    frame = _frame().rename({"frequency": "=freq"})
    parsed = pl.read_csv(io.BytesIO(to_bytes(frame, "csv")), infer_schema=False)
    assert parsed.columns == ["customer_id", "monetary", "'=freq"]
    assert parsed["customer_id"].to_list() == ["12346", *["'" + t for t in DANGEROUS], "plain"]
    assert parsed["monetary"][0] == "-12.50"  # a real negative number stays a number
    assert neutralize_frame(frame)["monetary"].dtype == pl.Float64


def test_xlsx_keeps_strings_as_strings_and_numbers_as_numbers(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    write_table(_frame(), path)
    sheet = openpyxl.load_workbook(path).active
    assert sheet is not None
    cell = sheet["A3"]  # "=1+1"
    assert cell.value == "=1+1"
    assert cell.data_type == "s"
    assert sheet["B2"].value == -12.5
    assert sheet["B2"].data_type == "n"


def test_parquet_roundtrip_exact(tmp_path: Path) -> None:
    path = tmp_path / "out.parquet"
    write_table(_frame(), path)
    assert pl.read_parquet(path).equals(_frame())


def test_unknown_extension_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unsupported extension"):
        write_table(_frame(), tmp_path / "out.txt")


# Sums of float products carry binary noise; 2.675 is a half cent (stored as 2.67499...).
NOISY = [343.99999999999994, 1868.6399999999999, 2.675, -12.5, None]
CENTS = [344.0, 1868.64, 2.68, -12.5, None]


def _money_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "monetary": NOISY,
            "avg_order_value": [v / 3 if v is not None else None for v in NOISY],
            "return_rate": [1 / 3, 0.0, 0.5, None, 0.25],
        }
    )


def test_csv_writes_money_to_the_cent() -> None:
    parsed = pl.read_csv(io.BytesIO(to_bytes(_money_frame(), "csv")), infer_schema=False)
    assert parsed["monetary"].to_list() == ["344.00", "1868.64", "2.68", "-12.50", None]
    assert parsed["avg_order_value"].to_list() == ["114.67", "622.88", "0.89", "-4.17", None]
    assert parsed["return_rate"][0] == repr(1 / 3)  # not money: full precision


def test_xlsx_writes_money_to_the_cent(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    write_table(_money_frame(), path)
    sheet = openpyxl.load_workbook(path).active
    assert sheet is not None
    assert [sheet.cell(row=r, column=2).value for r in range(2, 7)] == CENTS
    assert {sheet.cell(row=r, column=2).number_format for r in range(2, 6)} == {XLSX_MONEY_FORMAT}
    assert sheet.cell(row=2, column=4).value == 1 / 3


def test_parquet_keeps_money_exact(tmp_path: Path) -> None:
    path = tmp_path / "out.parquet"
    write_table(_money_frame(), path)
    assert pl.read_parquet(path)["monetary"].to_list() == NOISY


def test_one_rounding_for_screens_and_files() -> None:
    rounded = round_money(_money_frame())
    assert rounded["monetary"].to_list() == CENTS
    assert rounded["return_rate"].equals(_money_frame()["return_rate"])
    assert [money_text(v) for v in NOISY] == ["344.00", "1,868.64", "2.68", "-12.50", ""]
    shown = [money_text(v) for v in rounded["avg_order_value"]]
    assert shown == [money_text(v) for v in _money_frame()["avg_order_value"]]


# Text xlsxwriter would turn into a hyperlink, a formula or a number by default.
LINK_LIKE = [
    "http://example.com/a?b=1",
    "https://example.com",
    "ftp://files.example.com/x",
    "file:///etc/passwd",
    "mailto:someone@example.com",
    "external:c:\\windows\\calc.exe",
    "internal:Sheet1!A1",
    "=HYPERLINK(\"http://example.com\",\"click\")",
    "{=SUM(A1:A2)}",
    "=cmd|' /C calc'!A0",
    "00017",
    "1e5",
]


def test_xlsx_writes_every_text_as_the_text_shown(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(len(LINK_LIKE))],
            "segment_name": LINK_LIKE,
            "description": list(reversed(LINK_LIKE)),
            "monetary": [float(i) for i in range(len(LINK_LIKE))],
        }
    )
    path = tmp_path / "out.xlsx"
    write_table(frame, path)
    sheet = openpyxl.load_workbook(path).active
    assert sheet is not None
    rows = list(sheet.iter_rows(min_row=2))
    assert len(rows) == len(LINK_LIKE)
    assert all(cell.hyperlink is None for row in rows for cell in row)
    assert not sheet._hyperlinks  # no link anywhere in the sheet
    for row, expected in zip(rows, frame.iter_rows(), strict=True):
        for cell, value in zip(row[:3], expected[:3], strict=True):
            assert cell.value == value
            assert cell.data_type == "s"
