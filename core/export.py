"""Customer lists written safely for spreadsheets: CSV, XLSX and Parquet.

CSV: a text cell (or header) starting with ``=``, ``+``, ``-``, ``@``, tab, carriage return or
NUL would be run as a formula by Excel or LibreOffice (CSV injection). Such cells get a leading
single quote. Only text columns are touched: real numbers, negatives included, stay numbers.
XLSX: text is written as text cells, displayed exactly as the app shows it: never turned into a
formula, a hyperlink (``http://``, ``file://``, ``mailto:``, ``external:`` ...) or a number
(:data:`XLSX_WORKBOOK_OPTIONS`); a text cell is never evaluated, so it needs no quote. Numbers
are written as numbers.
Money (:data:`core.money.MONEY_COLUMNS`) is written to the cent in CSV (``344.00``, not
``343.99999999999994``) and XLSX (rounded values shown as ``#,##0.00``), by the rounding the
screens use (:func:`core.money.round_money`); Parquet keeps full precision for programs.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Literal

import polars as pl
import xlsxwriter

from core.errors import ConfigError
from core.money import MONEY_DECIMALS, money_columns, round_money

Format = Literal["csv", "xlsx", "parquet"]
FORMATS: tuple[Format, ...] = ("csv", "xlsx", "parquet")
_DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\0")
_DANGEROUS_PATTERN = r"^[=+\-@\t\r\x00]"
XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit minus the header row
XLSX_MONEY_FORMAT = "#,##0.00"
# xlsxwriter turns text that looks like a formula, a URL or a number into one by default.
XLSX_WORKBOOK_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "nan_inf_to_errors": True,
    "default_date_format": "yyyy-mm-dd",
}


def neutralize(text: str) -> str:
    """Prefix a quote to text a spreadsheet would evaluate as a formula."""
    return "'" + text if text.startswith(_DANGEROUS_PREFIXES) else text


def neutralize_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Neutralise every text cell and every header of ``frame`` (numbers are left alone)."""
    text_columns = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    safe = frame.with_columns(
        pl.when(pl.col(name).str.contains(_DANGEROUS_PATTERN))
        .then(pl.lit("'") + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name in text_columns
    )
    return safe.rename({name: neutralize(name) for name in safe.columns})


def to_bytes(frame: pl.DataFrame, fmt: Format, *, created: dt.datetime | None = None) -> bytes:
    """Serialise ``frame`` for download in the given format (``created``: the XLSX
    workbook's creation time, default now; a fixed one makes the same frame the same bytes)."""
    buffer = io.BytesIO()
    if fmt == "csv":
        neutralize_frame(_money_in_cents(frame)).write_csv(buffer)
    elif fmt == "parquet":
        frame.write_parquet(buffer)
    elif fmt == "xlsx":
        if frame.height > XLSX_MAX_ROWS:
            raise ConfigError(
                f"{frame.height:,} rows do not fit in one Excel sheet ({XLSX_MAX_ROWS:,} max)",
                "export as CSV or Parquet, or select fewer customers",
            )
        _write_xlsx(frame, buffer, created)
    else:
        raise ConfigError(f"unknown export format {fmt!r}", f"use one of: {', '.join(FORMATS)}")
    return buffer.getvalue()


def _write_xlsx(frame: pl.DataFrame, buffer: io.BytesIO, created: dt.datetime | None) -> None:
    """One sheet through a workbook that keeps text as text (:data:`XLSX_WORKBOOK_OPTIONS`)."""
    money_formats: dict[str, str] = dict.fromkeys(money_columns(frame), XLSX_MONEY_FORMAT)
    with xlsxwriter.Workbook(buffer, XLSX_WORKBOOK_OPTIONS) as workbook:
        if created is not None:
            workbook.set_properties({"created": created})
        round_money(frame).write_excel(
            workbook,
            worksheet="customers",
            autofit=frame.height <= 10_000,
            column_formats=money_formats,  # type: ignore[arg-type]
        )


def _money_in_cents(frame: pl.DataFrame) -> pl.DataFrame:
    """Money columns rounded to the cent and written with exactly two decimals (``344.00``)."""
    money = pl.Decimal(38, MONEY_DECIMALS)
    return round_money(frame).with_columns(pl.col(c).cast(money) for c in money_columns(frame))


def format_for_path(path: Path) -> Format:
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise ConfigError(
            f"cannot write {path.name!r}: unsupported extension {path.suffix or '(none)'!r}",
            "use .csv, .xlsx or .parquet",
        )
    return suffix  # type: ignore[return-value]


def write_table(frame: pl.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` in the format its extension names."""
    path.write_bytes(to_bytes(frame, format_for_path(path)))
