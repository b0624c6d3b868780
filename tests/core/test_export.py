"""Exports are safe to open in a spreadsheet and round-trip their content."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from core.errors import ConfigError
from core.export import neutralize, neutralize_frame, to_bytes, write_table

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
    assert parsed["monetary"][0] == "-12.5"  # a real negative number stays a number
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
