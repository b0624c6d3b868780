"""core.io: formats, encodings, delimiters, compression, bad inputs and the Excel bomb."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import os
import re
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import polars as pl
import pytest
import xlsxwriter
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from core.errors import InputFileError
from core.io import (
    DELIMITERS,
    WHITESPACE,
    ReadReport,
    _column_groups,
    _parquet_sample,
    read_table,
    run_excel_child,
)
from tests.core import cdnow

HEADER = ["InvoiceNo", "CustomerID", "InvoiceDate", "Quantity", "UnitPrice"]
ROWS = [
    ["536365", "17850", "12/1/2010 8:26", "6", "2.55"],
    ["C536379", "14527", "12/1/2010 9:41", "-1", "27.50"],
    ["536370", "12583", "12/13/2010 8:45", "24", "3.75"],
]
EXPECTED = pl.DataFrame(
    {name: [row[i] for row in ROWS] for i, name in enumerate(HEADER)},
    schema=dict.fromkeys(HEADER, pl.String),
)


def csv_text(delimiter: str = ",", rows: list[list[str]] | None = None) -> str:
    lines = [delimiter.join(HEADER)] + [delimiter.join(r) for r in rows or ROWS]
    return "\n".join(lines) + "\n"


def read(data: bytes, name: str = "data.csv", **kw: object) -> tuple[pl.DataFrame, ReadReport]:
    lf, report = read_table(data, filename=name, **kw)  # type: ignore[arg-type]
    return lf.collect(), report


# ------------------------------------------------------------------------------ delimiters


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters_detected_and_everything_is_text(delimiter: str) -> None:
    df, report = read(csv_text(delimiter).encode())
    assert report.delimiter == delimiter
    assert report.format == "csv"
    assert report.columns == tuple(HEADER)
    assert_frame_equal(df, EXPECTED)
    assert all(dtype == pl.String for dtype in df.schema.values())


def test_delimiter_inside_quotes_does_not_confuse_detection() -> None:
    text = 'name,"note; with; semicolons",qty\n"a; b","x;y;z",1\n"c","d;e",2\n'
    df, report = read(text.encode())
    assert report.delimiter == ","
    assert df.columns == ["name", "note; with; semicolons", "qty"]
    assert df["name"].to_list() == ["a; b", "c"]


def test_excel_sep_line_names_the_delimiter() -> None:
    df, report = read(("sep=;\n" + csv_text(";")).encode())
    assert report.delimiter == ";"
    assert_frame_equal(df, EXPECTED)
    assert any("sep=;" in n for n in report.notes)


def test_crlf_and_quoted_newlines() -> None:
    text = 'a,b\r\n1,"line one\nline two"\r\n2,x\r\n'
    df, _ = read(text.encode())
    assert df["b"].to_list() == ["line one\nline two", "x"]


# ------------------------------------------------------------------------------- encodings


@pytest.mark.parametrize(
    ("codec", "expected", "bom"),
    [
        ("utf-8", "utf-8", b""),
        ("utf-8-sig", "utf-8-sig", b"\xef\xbb\xbf"),
        ("utf-16", "utf-16", None),
        ("cp1252", "cp1252", b""),
        ("utf-16-le", "utf-16-le", b""),
    ],
)
def test_encodings(codec: str, expected: str, bom: bytes | None) -> None:
    rows = [*ROWS, ["536371", "13047", "12/1/2010 9:00", "1", "£4.95 Café"]]
    data = csv_text(";", rows).encode(codec)
    if bom is not None:
        assert data.startswith(bom) or not bom
    df, report = read(data)
    assert report.encoding == expected
    assert df.columns == HEADER  # no BOM glued to the first name
    assert df["UnitPrice"][-1] == "£4.95 Café"
    assert df.height == 4
    if codec == "cp1252":
        assert report.encoding_note is not None
        assert "cp1252" in report.encoding_note
        assert "not valid UTF-8" in report.encoding_note
    if codec == "utf-8":
        assert report.encoding_note is None


def test_latin1_when_bytes_are_undefined_in_cp1252() -> None:
    # 0x81 is unassigned in cp1252 but a control character in latin-1; 0xE1 is á in both.
    data = b"name;city\nx\x81;Bogot\xe1\n"
    df, report = read(data)
    assert report.encoding == "latin-1"
    assert df["city"][0] == "Bogotá"


def test_path_and_bytes_give_the_same_frame(tmp_path: Path) -> None:
    data = csv_text(";").encode("cp1252")
    path = tmp_path / "sales.csv"
    path.write_bytes(data)
    from_path, r1 = read_table(path)
    from_bytes, r2 = read_table(data, filename="sales.csv")
    assert r1 == r2
    assert_frame_equal(from_path.collect(), from_bytes.collect())


def test_plain_utf8_path_is_scanned_lazily(tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    path.write_text(csv_text())
    lf, _ = read_table(path)
    plan = lf.explain()
    assert "csv" in plan.lower()
    assert str(path) in plan or "sales.csv" in plan
    # Lazy: a filter runs on the scan.
    assert lf.filter(pl.col("Quantity") == "24").collect().height == 1


# --------------------------------------------------------------------------- decimal comma


def test_decimal_comma_detected_with_semicolons() -> None:
    rows = [["1", "17850", "12/1/2010 8:26", "6", "2,55"], ["2", "1", "12/1/2010 8:26", "1", "10"]]
    df, report = read(csv_text(";", rows).encode())
    assert report.decimal_comma is True
    assert df["UnitPrice"].to_list() == ["2,55", "10"]  # still text: normalize parses it
    assert any("2,55" in n for n in report.notes)


def test_no_decimal_comma_for_dot_numbers_or_comma_delimiter() -> None:
    _, semicolon = read(csv_text(";").encode())
    assert semicolon.decimal_comma is False
    _, comma = read(csv_text(",").encode())
    assert comma.decimal_comma is False


# ----------------------------------------------------------------------------- compression


def test_gzip() -> None:
    rows = [*ROWS, ["536371", "13047", "12/1/2010 9:00", "1", "Café"]]
    df, report = read(gzip.compress(csv_text(";", rows).encode("cp1252")), name="sales.csv.gz")
    assert report.compression == "gzip"
    assert report.encoding == "cp1252"
    assert_frame_equal(df.head(3), EXPECTED)
    assert df["UnitPrice"][-1] == "Café"


def test_gzip_detected_by_content_whatever_the_name() -> None:
    df, report = read(gzip.compress(csv_text().encode()), name="upload.bin.csv")
    assert report.compression == "gzip"
    assert_frame_equal(df, EXPECTED)


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_zip_with_one_csv_ignores_mac_metadata() -> None:
    data = zip_bytes(
        {
            "export/sales.csv": csv_text("\t").encode("utf-16"),
            "__MACOSX/export/._sales.csv": b"\x00\x05\x16\x07junk",
            "export/README.md": b"notes",
        }
    )
    df, report = read(data, name="sales.zip")
    assert report.compression == "zip"
    assert report.encoding == "utf-16"
    assert report.delimiter == "\t"
    assert_frame_equal(df, EXPECTED)


def test_zip_without_csv() -> None:
    with pytest.raises(InputFileError, match=r"holds no CSV.*'README\.md'") as err:
        read_table(zip_bytes({"README.md": b"x"}), filename="a.zip")
    assert err.value.hint


def test_zip_with_several_csv_names_them() -> None:
    data = zip_bytes({"a.csv": csv_text().encode(), "b.csv": csv_text().encode()})
    with pytest.raises(InputFileError, match=r"2 data files \('a\.csv', 'b\.csv'\)"):
        read_table(data, filename="two.zip")


def test_gzip_bomb_is_capped() -> None:
    data = gzip.compress(b"a,b\n" + b"1,2\n" * 400_000)  # 1.6 MB unpacked
    with pytest.raises(InputFileError, match="larger than 1 MB"):
        read_table(data, filename="big.csv.gz", max_decoded_mb=1)


# ------------------------------------------------- columns aligned by spaces, and no header


def test_columns_separated_by_runs_of_spaces() -> None:
    text = (
        "customer_id  date       number_of_cds  dollar_value\n"
        "00001        19970101   1              11.77\n"
        "  00002\t19970112\t\t5   77.00  \r\n"
        "00003        19970102  12             141.34\n"
    )
    df, report = read(text.encode(), name="cdnow.txt")
    assert report.delimiter == WHITESPACE
    assert report.columns == ("customer_id", "date", "number_of_cds", "dollar_value")
    assert df.rows() == [
        ("00001", "19970101", "1", "11.77"),
        ("00002", "19970112", "5", "77.00"),
        ("00003", "19970102", "12", "141.34"),
    ]
    assert any("runs of spaces" in n for n in report.notes)


def test_cdnow_master_txt_is_read_without_a_header() -> None:
    df, report = read(cdnow.master_text(), name="CDNOW_master.txt")
    assert report.delimiter == WHITESPACE
    assert df.columns == ["column_1", "column_2", "column_3", "column_4"]
    assert df.height == len(cdnow.LINES)  # the first line is data, not names
    assert df.row(0) == ("00001", "19970101", "1", "11.77")
    assert df["column_1"].to_list() == [c for c, *_ in cdnow.LINES]  # leading zeros kept
    assert any("--map customer=column_1" in n for n in report.notes)


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_a_first_line_of_numbers_and_dates_is_data(delimiter: str) -> None:
    rows = [
        ["536365", "17850", "12/1/2010 8:26", "6", "2.55"],
        ["536366", "13047", "2010-12-01", "-1", "3"],
    ]
    df, report = read("".join(delimiter.join(r) + "\n" for r in rows).encode())
    assert report.columns == tuple(f"column_{i}" for i in range(1, 6))
    assert df.rows() == [tuple(r) for r in rows]
    # A header with one name is a header.
    df, report = read(b"InvoiceNo,17850,2010-12-01\n1,2,3\n")
    assert report.columns == ("InvoiceNo", "17850", "2010-12-01")
    assert df.height == 1


def test_a_row_with_more_fields_than_spaced_columns() -> None:
    with pytest.raises(InputFileError, match="5 fields but the header has 4"):
        read_table(b"a b c d\n" + b"1 2 3 4\n" * 9 + b"1 2 3 4 5\n", filename="x.txt")
    # Beyond the sample read here, the extra field stays in the last column (and fails to
    # parse there, so it is counted).
    lines = [f"{i:05d} 19970101 1 1.00" for i in range(30_000)] + ["00001 19970101 1 1.00 9"]
    df, _ = read("\n".join(lines).encode(), name="x.txt")
    assert df.height == 30_001
    assert df["column_4"][-1] == "1.00\t9"


# ------------------------------------------------------------------------------ bad inputs


@pytest.mark.parametrize(
    ("data", "name", "pattern"),
    [
        (b"", "empty.csv", r"is empty \(0 bytes\)"),
        (b"InvoiceNo,CustomerID\n", "header.csv", r"has a header \('InvoiceNo', 'CustomerID'\)"),
        (b"InvoiceNo,CustomerID\n\n\n", "header2.csv", "but no data rows"),
        (b"  \n \n", "blank.csv", "only blank space"),
        (bytes(range(256)) * 20, "garbage.csv", "binary data"),
        (os.urandom(0) + b"\x89PNG\r\n\x1a\n" + bytes(300), "image.csv", "binary data"),
        (b'{"a": 1}', "data.json", r"unsupported file type '\.json'"),
        (b"a,b\n1,2\n", "sheet.xlsx", "Excel suffix but is not an .xlsx"),
        (b"a,b\n1,2\n", "table.parquet", "Parquet suffix but is not a Parquet file"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "old.xls", r"legacy Excel 97-2003"),
        (b"PAR1 not really parquet PAR1", "x.parquet", "not a readable Parquet file"),
        (b"PK\x03\x04 damaged", "x.zip", "damaged"),
        (gzip.compress(b"a,b\n1,2\n")[:-12], "cut.csv.gz", "truncated gzip|damaged gzip"),
        (b"a,b\n1,2,3\n", "ragged.csv", r"3 fields but the header has 2"),
        (b"just some notes\nnothing tabular here at all\n", "notes.txt", r"has a single column"),
    ],
)
def test_bad_inputs_raise_input_file_error(data: bytes, name: str, pattern: str) -> None:
    with pytest.raises(InputFileError, match=pattern) as err:
        read_table(data, filename=name)
    assert err.value.hint


@pytest.mark.parametrize(
    "data",
    [
        # A quote opened in the first row and never closed: the rest reads as one field.
        b'customer,date,amount\n"' + b"x" * 140_000 + b",2010-01-01,3\n1,2010-01-02,4\n",
        # A header name over the csv module's field limit.
        b"customer,date," + b"y" * 140_000 + b"\n1,2010-01-02,4\n",
        # The same after an Excel "sep=" line (the delimiter is not detected then).
        b'sep=;\ncustomer;"' + b"z" * 140_000 + b"\n1;2\n",
    ],
    ids=["unclosed-quote", "long-header", "sep-line"],
)
def test_a_field_over_the_csv_limit_is_a_clear_error(data: bytes) -> None:
    with pytest.raises(InputFileError, match=r"longer than 131,072 characters") as err:
        read_table(data, filename="long.csv")
    assert "quote" in (err.value.hint or "")


def test_empty_and_duplicate_column_names_say_which() -> None:
    with pytest.raises(InputFileError, match=r"column 2 of 3 has an empty name"):
        read_table(b"a,,c\n1,2,3\n", filename="x.csv")
    with pytest.raises(InputFileError, match=r"columns 3, 4 of 4 have an empty name"):
        read_table(b"a;b;;\n1;2;;\n", filename="x.csv")
    with pytest.raises(InputFileError, match=r"'Price' \(2 times\)"):
        read_table(b"Price,Qty,Price\n1,2,3\n", filename="x.csv")
    # Duplicates after stripping spaces count too.
    with pytest.raises(InputFileError, match=r"'Qty' \(2 times\)"):
        read_table(b"Qty, Qty \n1,2\n", filename="x.csv")


def test_missing_path() -> None:
    with pytest.raises(InputFileError, match="File not found"):
        read_table("/nonexistent/dir/sales.csv")


def test_header_spaces_stripped_and_reported() -> None:
    df, report = read(b" Customer ID ,Qty\n1,2\n")
    assert df.columns == ["Customer ID", "Qty"]
    assert any("' Customer ID '" in n for n in report.notes)


def test_unknown_suffix_but_text_is_read_when_no_suffix() -> None:
    df, report = read(csv_text().encode(), name="export")
    assert report.format == "csv"
    assert_frame_equal(df, EXPECTED)


# ------------------------------------------------------------- CSV: text stays text, lazily


def test_credit_invoice_after_row_100_stays_text() -> None:
    rows = [[str(536000 + i), "17850", "12/1/2010 8:26", "1", "1.00"] for i in range(200)]
    rows.append(["C536379", "17850", "12/1/2010 9:41", "-1", "27.50"])
    df, _ = read(csv_text(",", rows).encode())
    assert df.schema["InvoiceNo"] == pl.String
    assert df["InvoiceNo"][-1] == "C536379"
    assert df["InvoiceNo"][0] == "536000"
    assert df.height == 201


def test_leading_zeros_and_dates_are_not_inferred() -> None:
    df, _ = read(b"CustomerID,InvoiceDate\n00017,12/1/2010 8:26\n017850.0,2010-12-01\n")
    assert df["CustomerID"].to_list() == ["00017", "017850.0"]
    assert df["InvoiceDate"].to_list() == ["12/1/2010 8:26", "2010-12-01"]


def test_large_csv_sampled_beyond_first_chunk() -> None:
    # More than the 256 KiB sample: header/delimiter from the sample, rows from the scan.
    rows = [[str(i), "17850", "12/1/2010 8:26", "1", "1,50"] for i in range(30_000)]
    df, report = read(csv_text(";", rows).encode("cp1252"))
    assert report.delimiter == ";"
    assert report.decimal_comma is True
    assert df.height == 30_000
    assert df["InvoiceNo"][-1] == "29999"


# --------------------------------------------------------------------------------- Parquet


def test_parquet_keeps_native_dtypes(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {"CustomerID": [17850.0, None], "Quantity": [6, 1], "Country": ["UK", "France"]}
    )
    path = tmp_path / "t.parquet"
    frame.write_parquet(path)
    lf, report = read_table(path)
    assert report.format == "parquet"
    assert report.encoding is None
    assert report.delimiter is None
    assert report.columns == ("CustomerID", "Quantity", "Country")
    assert_frame_equal(lf.collect(), frame)
    buf = io.BytesIO()
    frame.write_parquet(buf)
    lf2, report2 = read_table(buf.getvalue(), filename="upload.parquet")
    assert report2 == report
    assert_frame_equal(lf2.collect(), frame)


@pytest.mark.parametrize("threads", [1, 2, 3, 20])
def test_parquet_read_in_column_groups_is_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threads: int
) -> None:
    # Read into memory in groups of columns side by side: the same frame, columns in order.
    frame = pl.DataFrame(
        {
            "id": range(3_000),
            "text": [f"description number {i}" for i in range(3_000)],
            "price": [i / 7 for i in range(3_000)],
            "when": pl.datetime_range(
                pl.datetime(2011, 1, 1), pl.datetime(2011, 1, 1, 0, 49, 59), "1s", eager=True
            ),
            "country": ["UK", None, "France"] * 1_000,
            "nested": [{"a": i, "b": [i, i]} for i in range(3_000)],
        }
    )
    path = tmp_path / "t.parquet"
    frame.write_parquet(path)
    monkeypatch.setattr(pl, "thread_pool_size", lambda: threads)
    lf, _ = read_table(path)
    assert "DF [" in lf.explain()  # held in memory, not scanned
    assert_frame_equal(lf.collect(), frame)
    lf, _ = read_table(path.read_bytes(), filename="upload.parquet")
    assert_frame_equal(lf.collect(), frame)


def test_the_parquet_sample_decodes_only_the_columns_of_varying_width(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The memory check's first rows: text and nested columns as in the file; numbers, dates
    # and Booleans, whose bytes a row their dtype tells, not decoded (nulls of their dtype).
    frame = pl.DataFrame(
        {
            "text": [f"line {i}" for i in range(1_500)],
            "n": range(1_500),
            "x": [i / 3 for i in range(1_500)],
            "when": [dt.date(2011, 1, 1)] * 1_500,
            "flag": [True, None, False] * 500,
            "nested": [[i, i] for i in range(1_500)],
            "price": pl.Series([1] * 1_500, dtype=pl.Decimal(10, 2)),
        }
    )
    path = tmp_path / "t.parquet"
    frame.write_parquet(path)
    asked: list[list[str]] = []
    head = pl.LazyFrame.head

    def spied(lf: pl.LazyFrame, n: int = 5) -> pl.LazyFrame:
        asked.append(lf.collect_schema().names())  # the columns whose first rows are read
        return head(lf, n)

    monkeypatch.setattr(pl.LazyFrame, "head", spied)
    n_rows, sample = _parquet_sample(lambda: path, frame.schema)
    assert n_rows == 1_500
    assert asked == [["text", "nested", "price"]]
    assert sample.schema == frame.schema
    assert_frame_equal(
        sample.select("text", "nested", "price"),
        frame.head(1_000).select("text", "nested", "price"),
    )
    assert sample.select(pl.exclude("text", "nested", "price").null_count()).row(0) == (1_000,) * 4
    # Each fixed-width column weighs at least what its decoded first rows do.
    for name in ("n", "x", "when", "flag"):
        assert sample[name].estimated_size() >= frame[name].head(1_000).estimated_size()
    frame.head(10).write_parquet(path)
    n_rows, sample = _parquet_sample(lambda: path, frame.schema)
    assert (n_rows, sample.height, sample["n"].len()) == (10, 10, 10)


def test_parquet_column_groups_balance_decoding_costs() -> None:
    # A text value costs its 16-byte view (its bytes often shared with the file's
    # dictionary), an Int64 value 8 bytes: one text column weighs two int columns.
    sample = pl.DataFrame({"t": ["x" * 20] * 100, **{c: range(100) for c in "abcd"}})
    assert _column_groups(sample, 2) == [["t", "c"], ["a", "b", "d"]]
    assert _column_groups(sample, 1) == [["t", "a", "b", "c", "d"]]
    assert sorted(c for group in _column_groups(sample, 3) for c in group) == list("abcdt")
    assert len(_column_groups(sample, 9)) == 5


def test_parquet_without_rows(tmp_path: Path) -> None:
    path = tmp_path / "empty.parquet"
    pl.DataFrame({"a": []}, schema={"a": pl.Int64}).write_parquet(path)
    with pytest.raises(InputFileError, match=r"columns \('a'\) but no rows"):
        read_table(path)


def test_real_parquet_columns(real_data_path: Path) -> None:
    lf, report = read_table(real_data_path)
    assert report.format == "parquet"
    assert report.columns == (
        "InvoiceNo",
        "StockCode",
        "Description",
        "Quantity",
        "InvoiceDate",
        "UnitPrice",
        "CustomerID",
        "Country",
    )
    assert lf.select(pl.len()).collect().item() == 541_909


# ----------------------------------------------------------------------------------- Excel


def xlsx_bytes(sheets: dict[str, list[list[object]]]) -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    for name, rows in sheets.items():
        ws = wb.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None:
                    ws.write(r, c, value)
    wb.close()
    return buf.getvalue()


def test_xlsx_read_as_text_with_credit_invoices_past_row_100() -> None:
    rows: list[list[object]] = [["InvoiceNo", "CustomerID", "UnitPrice", "Note"]]
    rows += [[536000 + i, 17850, 2.55, None] for i in range(150)]
    rows.append(["C536379", "", 27.5, "credit"])
    data = xlsx_bytes({"Sales": rows, "Other": [["x"], [1]]})
    df, report = read(data, name="sales.xlsx")
    assert report.format == "xlsx"
    assert report.encoding is None
    assert report.columns == ("InvoiceNo", "CustomerID", "UnitPrice", "Note")
    assert all(dtype == pl.String for dtype in df.schema.values())
    assert df.height == 151
    assert df["InvoiceNo"][0] == "536000"
    assert df["InvoiceNo"][-1] == "C536379"
    assert df["CustomerID"][0] == "17850"
    assert df["UnitPrice"][0] == "2.55"
    assert any("'Other'" in n for n in report.notes)


def test_xlsx_sheet_choice_by_name_and_position() -> None:
    data = xlsx_bytes({"A": [["a"], [1]], "B": [["b"], [2]]})
    df, _ = read(data, name="w.xlsx", sheet="B")
    assert df.columns == ["b"]
    df, _ = read(data, name="w.xlsx", sheet=2)
    assert df.columns == ["b"]
    with pytest.raises(InputFileError, match=r"no sheet named 'C'; sheets: 'A', 'B'"):
        read_table(data, filename="w.xlsx", sheet="C")
    with pytest.raises(InputFileError, match="sheet 3 does not exist"):
        read_table(data, filename="w.xlsx", sheet=3)


def test_xlsx_bad_headers_and_empty_sheets() -> None:
    with pytest.raises(InputFileError, match=r"duplicate column name.*'Qty' \(2 times\)"):
        read_table(xlsx_bytes({"S": [["Qty", "Qty"], [1, 2]]}), filename="d.xlsx")
    with pytest.raises(InputFileError, match="column 2 of 3 has an empty name"):
        read_table(xlsx_bytes({"S": [["a", None, "c"], [1, 2, 3]]}), filename="e.xlsx")
    with pytest.raises(InputFileError, match=r"header \('a', 'b'\) but no data rows"):
        read_table(xlsx_bytes({"S": [["a", "b"]]}), filename="h.xlsx")
    with pytest.raises(InputFileError, match="is empty"):
        read_table(xlsx_bytes({"S": []}), filename="n.xlsx")


def test_damaged_xlsx() -> None:
    good = xlsx_bytes({"S": [["a"], [1]]})
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(buf, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.startswith("xl/worksheets/"):
                data = b"<worksheet><sheetData><row"  # truncated XML
            dst.writestr(item, data)
    with pytest.raises(InputFileError, match=r"'broken\.xlsx'") as err:
        read_table(buf.getvalue(), filename="broken.xlsx")
    assert err.value.hint


def bomb_xlsx(*, keep_dimension: bool) -> bytes:
    """A ~5 KB workbook: a header in A1 and one cell at XFD1048576 (the last cell)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = "header"
    ws["XFD1048576"] = 1
    buf = io.BytesIO()
    wb.save(buf)
    if keep_dimension:
        return buf.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb"<dimension [^>]*/>", b"", data)
            dst.writestr(item.filename, data)
    return out.getvalue()


def test_xlsx_bomb_rejected_by_dimension_precheck() -> None:
    data = bomb_xlsx(keep_dimension=True)
    assert len(data) < 10_000
    with pytest.raises(InputFileError, match=r"XFD1048576 \(16,384 columns x 1,048,576 rows\)"):
        read_table(data, filename="bomb.xlsx")


def test_xlsx_bomb_without_dimension_kills_only_the_child() -> None:
    data = bomb_xlsx(keep_dimension=False)
    assert b"<dimension" not in zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    with pytest.raises(InputFileError, match="memory allowance or crashed") as err:
        read_table(data, filename="bomb.xlsx", excel_memory_limit_mb=1024)
    assert "XFD1048576" in err.value.message
    assert err.value.hint
    # This process survived and can still read workbooks.
    df, _ = read(xlsx_bytes({"S": [["a"], [1]]}), name="ok.xlsx")
    assert df["a"].to_list() == ["1"]


def test_excel_child_timeout() -> None:
    data = xlsx_bytes({"S": [["a"], [1]]})
    # Interpreter start-up alone takes longer than a millisecond.
    with pytest.raises(InputFileError, match=r"took longer than 0\.001 s"):
        run_excel_child(data, sheet=None, memory_limit_bytes=2**31, timeout_s=0.001)


def test_xlsx_matches_csv_of_same_table() -> None:
    rows: list[list[object]] = [HEADER, *ROWS]
    from_xlsx, _ = read(xlsx_bytes({"S": rows}), name="t.xlsx")
    assert_frame_equal(from_xlsx, EXPECTED)


_VALUE_CHARS = "abcXYZ019 éü£€\"'\n.-/"


@settings(max_examples=60, deadline=None)
def _valid_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@given(
    st.integers(min_value=2, max_value=5).flatmap(
        lambda n: st.tuples(
            st.lists(
                st.text("abcdefghij", min_size=1, max_size=6), min_size=n, max_size=n, unique=True
            ),
            st.lists(
                st.tuples(
                    st.text("abcdef", min_size=1, max_size=5),
                    *[st.text(_VALUE_CHARS + ",;\t|", max_size=8) for _ in range(n - 1)],
                ),
                min_size=1,
                max_size=15,
            ),
        )
    ),
    st.sampled_from(DELIMITERS),
    st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]),
    st.sampled_from([None, "gzip", "zip"]),
)
def test_round_trip_property(
    table: tuple[list[str], list[tuple[str, ...]]],
    delimiter: str,
    encoding: str,
    compression: str | None,
) -> None:
    header, rows = table
    # Only the chosen delimiter may appear in values (it gets quoted); another candidate
    # delimiter in every row would make the file genuinely ambiguous.
    others = "".join(d for d in DELIMITERS if d != delimiter)
    rows = [tuple(v.translate({ord(c): None for c in others}) for v in r) for r in rows]
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    data = buf.getvalue().encode(encoding)
    # cp1252 text whose bytes also spell valid UTF-8 ('é££' is b'\xe9\xa3\xa3', the UTF-8
    # of one CJK character) reads as UTF-8, which is tried first: the bytes cannot tell them
    # apart, and real cp1252 text with accents is almost never valid UTF-8.
    assume(encoding != "cp1252" or data.isascii() or not _valid_utf8(data))
    name = "t.csv"
    if compression == "gzip":
        data, name = gzip.compress(data), "t.csv.gz"
    elif compression == "zip":
        data, name = zip_bytes({"t.csv": data}), "t.zip"
    df, report = read(data, name=name)
    assert report.delimiter == delimiter
    assert report.columns == tuple(header)
    assert report.compression == compression
    expected = pl.DataFrame(
        [[v if v != "" else None for v in r] for r in rows],
        schema=dict.fromkeys(header, pl.String),
        orient="row",
    )
    assert_frame_equal(df, expected)


def test_xlsx_and_parquet_inside_zip() -> None:
    workbook = xlsx_bytes({"S": [["a", "b"], [1, "x"]]})
    df, report = read(zip_bytes({"sales.xlsx": workbook}), name="sales.zip")
    assert report.format == "xlsx"
    assert report.compression == "zip"
    assert df.rows() == [("1", "x")]
    buf = io.BytesIO()
    pl.DataFrame({"a": [1]}).write_parquet(buf)
    df, report = read(zip_bytes({"t.parquet": buf.getvalue()}), name="t.zip")
    assert report.format == "parquet"
    assert report.compression == "zip"
    assert df.rows() == [(1,)]


# ------------------------------------------------------------------------------ memory budget


def test_a_packed_workbook_xml_is_refused_before_it_is_read_whole() -> None:
    good = xlsx_bytes({"S": [["a"], [1]]})
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(buf, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/workbook.xml":
                data = data.replace(b"<sheets>", b"<sheets>" + b" " * 8 * 1024**2)
            dst.writestr(item.filename, data, compress_type=zipfile.ZIP_DEFLATED)
    assert len(buf.getvalue()) < 100_000
    with pytest.raises(InputFileError, match=r"'wb\.xlsx': its xl/workbook\.xml unpacks to more"):
        read_table(buf.getvalue(), filename="wb.xlsx")


def test_a_parquet_file_decoding_over_the_budget_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "repeated.parquet"
    pl.DataFrame({"customer": ["x" * 1000] * 20_000, "n": range(20_000)}).write_parquet(path)
    assert path.stat().st_size < 100_000  # 20 MB of text once decoded
    monkeypatch.setenv("CUSTSEG_MEMORY_BUDGET_MB", "5")
    with pytest.raises(InputFileError, match=r"about 19 MB of memory once decoded") as err:
        read_table(path)
    assert "budget for one file (5 MB)" in err.value.message
    assert "CUSTSEG_MEMORY_BUDGET_MB" in (err.value.hint or "")
    monkeypatch.setenv("CUSTSEG_MEMORY_BUDGET_MB", "50")
    frame, _ = read_table(path)
    assert frame.select(pl.len()).collect().item() == 20_000


def test_a_gzip_decoding_over_the_budget_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    data = gzip.compress(b"customer,amount\n" + b"c1,1\n" * (2 * 1024**2 // 5))
    monkeypatch.setenv("CUSTSEG_MEMORY_BUDGET_MB", "1")
    with pytest.raises(InputFileError, match=r"larger than 1 MB once unpacked") as err:
        read_table(data, filename="big.csv.gz")
    assert "CUSTSEG_MEMORY_BUDGET_MB" in (err.value.hint or "")


def test_the_budget_variable_must_be_megabytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUSTSEG_MEMORY_BUDGET_MB", "a lot")
    with pytest.raises(InputFileError, match="CUSTSEG_MEMORY_BUDGET_MB='a lot'"):
        read_table(b"a,b\n1,2\n", filename="x.csv")


def _traced_peak(data: bytes, name: str) -> int:
    """Peak Python memory of reading ``data`` (already in memory, so not counted)."""
    tracemalloc.start()
    try:
        read_table(data, filename=name)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_gzip_is_unpacked_without_a_second_copy() -> None:
    decoded = b"customer,amount\n" + b"c1,1.5\n" * (20 * 1024**2 // 7)
    plain = _traced_peak(decoded, "t.csv")  # the sample's rows, parsed to detect the dialect
    packed = _traced_peak(gzip.compress(decoded), "t.csv.gz")
    # One buffer of the unpacked size, not a growing one and then its copy.
    assert packed - plain < 1.2 * len(decoded)
