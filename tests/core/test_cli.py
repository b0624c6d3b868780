"""The ``custseg`` command line: real-data figures, and every bad input as one clear message."""

from __future__ import annotations

import errno
import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from core.cli import build_parser, main
from core.cli.args import TABLE_SUFFIXES
from core.export import FORMATS
from tests.core import cdnow

UCI_HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
UCI_LINES = (
    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom\n"
    "536366,22633,HAND WARMER UNION JACK,6,12/1/2010 8:28,1.85,17850,United Kingdom\n"
    "536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,12/13/2010 8:34,1.69,13047,United Kingdom\n"
    "C536379,D,Discount,-1,12/13/2010 9:41,27.5,14527,United Kingdom\n"
)


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def test_features_on_a_small_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _write(tmp_path, "t.csv", UCI_HEADER + UCI_LINES)
    out, audit = tmp_path / "f.csv", tmp_path / "a.json"
    code, stdout, _ = _run(["features", str(src), "--out", str(out), "--audit", str(audit)], capsys)
    assert code == 0, stdout
    table = pl.read_csv(out, schema_overrides={"customer_id": pl.String})
    assert table["customer_id"].to_list() == ["13047", "17850"]
    summary = json.loads(audit.read_text())
    assert summary["non_product"] == 1  # the "D" discount line comes before cancellation
    assert summary["purchase_rows"] == 3
    assert summary["analysis_date"] == "2010-12-14"  # 12/13 is 13 December: m/d/Y
    row = table.filter(pl.col("customer_id") == "17850").row(0, named=True)
    assert row["frequency"] == 2
    assert row["monetary"] == pytest.approx(6 * 2.55 + 6 * 1.85)
    assert row["recency_days"] == 13


def test_features_writes_xlsx_with_the_app_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Every table --out takes the app's export formats; a country that looks like a link stays
    # text (core.export), not a live hyperlink.
    lines = UCI_LINES.replace("17850,United Kingdom", "17850,http://example.com/uk")
    src = _write(tmp_path, "t.csv", UCI_HEADER + lines)
    out = tmp_path / "f.xlsx"
    code, stdout, stderr = _run(["features", str(src), "--out", str(out)], capsys)
    assert code == 0, stderr
    assert str(out) in stdout
    sheet = openpyxl.load_workbook(out).active
    assert sheet is not None
    header = [cell.value for cell in sheet[1]]
    rows = list(sheet.iter_rows(min_row=2))
    ids = [row[header.index("customer_id")].value for row in rows]
    countries = [row[header.index("country")].value for row in rows]
    assert ids == ["13047", "17850"]
    assert countries == ["United Kingdom", "http://example.com/uk"]
    assert all(cell.hyperlink is None for row in rows for cell in row)
    assert {f".{fmt}" for fmt in FORMATS} == set(TABLE_SUFFIXES)


def test_features_gross_and_analysis_date(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _write(tmp_path, "t.csv", UCI_HEADER + UCI_LINES)
    out = tmp_path / "f.parquet"
    code, _, _ = _run(
        ["features", str(src), "--out", str(out), "--gross", "--analysis-date", "2011-01-01"],
        capsys,
    )
    assert code == 0
    row = pl.read_parquet(out).filter(pl.col("customer_id") == "13047").row(0, named=True)
    assert row["recency_days"] == 19


def test_features_with_explicit_mapping(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (
        "who;when;how many;each\nA1;2011-03-01;2;1,50\nA1;2011-03-05;1;4,00\nB2;2011-03-02;3;2,00\n"
    )
    src = _write(tmp_path, "odd.csv", text)
    out = tmp_path / "f.csv"
    argv = ["features", str(src), "--out", str(out)]
    argv += ["--map", "customer=who", "--map", "date=when"]
    argv += ["--map", "quantity=how many", "--map", "price=each"]
    code, _, err = _run(argv, capsys)
    assert code == 0, err
    table = pl.read_csv(out, schema_overrides={"customer_id": pl.String})
    assert table.filter(pl.col("customer_id") == "A1")["monetary"].item() == pytest.approx(7.0)


@pytest.mark.realdata
def test_features_real_data_figures(
    real_data_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, audit = tmp_path / "f.parquet", tmp_path / "a.json"
    code, _, err = _run(
        ["features", str(real_data_path), "--out", str(out), "--audit", str(audit)], capsys
    )
    assert code == 0, err
    summary = json.loads(audit.read_text())
    expected = {
        "missing_customer": 135_080,
        "non_product": 1_920,
        "duplicate": 5_220,
        "cancellation": 8_506,
        "non_positive": 33,
        "purchase_rows": 391_150,
        "customers": 4_334,
        # 11 customers have a negative net and 3 returned exactly what they bought (net 0 in
        # exact arithmetic); "net <= 0" therefore excludes 14. The figure 12 seen elsewhere
        # comes from float summation noise deciding the sign of those zeros.
        "excluded": 14,
        "analysis_date": "2011-12-10",
    }
    assert {k: summary[k] for k in expected} == expected
    assert summary["audit"]["rows_in"] == 541_909
    table = pl.read_parquet(out)
    assert table.height == 4_334
    assert table["customer_id"].is_sorted()


BAD_INPUTS: list[tuple[str, bytes, str]] = [
    ("empty.csv", b"", "empty"),
    ("header.csv", UCI_HEADER.encode(), "no data rows"),
    ("garbage.csv", bytes(range(256)) * 40, "binary"),
    (
        "nocust.csv",
        b"InvoiceNo,InvoiceDate,Quantity,UnitPrice\n1,2011-01-01,1,2.0\n",
        "customer",
    ),
    (
        "noids.csv",
        b"CustomerID,InvoiceDate,Quantity,UnitPrice\n,2011-01-01,1,2.0\n ,2011-01-02,1,2.0\n",
        "customer",
    ),
    (
        "baddates.csv",
        b"CustomerID,InvoiceDate,Quantity,UnitPrice\n1,yesterday,1,2.0\n2,soon,1,2.0\n",
        "yesterday",
    ),
    (
        "badprice.csv",
        b"CustomerID,InvoiceDate,Quantity,UnitPrice\n1,2011-01-01,1,cheap\n2,2011-01-02,1,free\n",
        "cheap",
    ),
    ("unknown.txt", b"hello world", "no data rows"),
    ("report.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n" * 20, "pdf"),
    ("broken.xlsx", b"PK\x03\x04 this is not really a zip", "xlsx"),
    ("broken.parquet", b"PAR1 not really parquet", "parquet"),
    # A quote never closed: the rest of the file is one value over the csv module's limit.
    ("quote.csv", UCI_HEADER.encode() + b'"' + b"x" * 140_000 + b"\n", "quote"),
]


@pytest.mark.parametrize(("name", "content", "needle"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_exits_2_with_one_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: bytes, needle: str
) -> None:
    src = _write(tmp_path, name, content)
    code, out, err = _run(["features", str(src), "--out", str(tmp_path / "f.csv")], capsys)
    assert code == 2, (out, err)
    assert "Traceback" not in err
    assert err.startswith("custseg: error: ")
    assert needle.lower() in err.lower()
    assert "how to fix" in err
    assert not (tmp_path / "f.csv").exists()


@pytest.mark.parametrize(
    ("argv_tail", "needle"),
    [
        (["--map", "customer"], "ROLE=COLUMN"),
        (["--map", "shoe=CustomerID"], "shoe"),
        (["--map", "customer=NoSuchColumn"], "NoSuchColumn"),
        (["--analysis-date", "10/12/2011"], "YYYY-MM-DD"),
        (["--date-format", "%Y-%m-%d"], "date"),
    ],
)
def test_bad_options_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv_tail: list[str], needle: str
) -> None:
    src = _write(tmp_path, "t.csv", UCI_HEADER + UCI_LINES)
    argv = ["features", str(src), "--out", str(tmp_path / "f.csv"), *argv_tail]
    code, _, err = _run(argv, capsys)
    assert code == 2, err
    assert needle.lower() in err.lower()
    assert "Traceback" not in err


def _boom(*_args: object, **_kwargs: object) -> int:
    raise RuntimeError("the generator broke\nsecond line of the message")


@pytest.mark.parametrize("debug", [False, True])
def test_an_internal_error_exits_2_with_one_line_and_a_reference(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    debug: bool,
) -> None:
    monkeypatch.delenv("CUSTSEG_DEBUG", raising=False)
    monkeypatch.setattr("core.generator.write_transactions", _boom)
    argv = ["sample", "--customers", "5", "--out", str(tmp_path / "s.parquet")]
    code, _, err = _run(["--debug", *argv] if debug else argv, capsys)
    assert code == 2
    first, *rest = err.splitlines()
    match = re.fullmatch(
        r"custseg: internal error [0-9a-f]{8} "
        r"\(RuntimeError: the generator broke\)\. .*--debug.*",
        first,
    )
    assert match, first
    if debug:
        assert rest[0].startswith("Traceback")
        assert "second line of the message" in err
    else:
        assert rest == []


def test_a_full_disk_is_a_clear_error_not_a_bug(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "s.parquet"

    def full(*_args: object, **_kwargs: object) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(out))

    monkeypatch.setattr("core.generator.write_transactions", full)
    code, _, err = _run(["sample", "--customers", "5", "--out", str(out)], capsys)
    assert code == 2
    assert err.startswith(f"custseg: error: cannot read or write {out} (the disk is full).")
    assert "how to fix: check the path" in err
    assert "internal error" not in err


def test_missing_file_and_bad_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["features", str(tmp_path / "nope.csv"), "--out", "x.csv"], capsys)
    assert code == 2
    assert "not found" in err
    src = _write(tmp_path, "t.csv", UCI_HEADER + UCI_LINES)
    code, _, err = _run(["features", str(src), "--out", str(tmp_path / "f.txt")], capsys)
    assert code == 2
    assert "extension" in err


def test_gzip_csv_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _write(tmp_path, "t.csv.gz", gzip.compress((UCI_HEADER + UCI_LINES).encode()))
    code, _, err = _run(["features", str(src), "--out", str(tmp_path / "f.csv")], capsys)
    assert code == 0, err


def test_sample_then_features_roundtrip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sample = tmp_path / "s.parquet"
    code, out, _ = _run(
        ["sample", "--customers", "300", "--seed", "7", "--out", str(sample)], capsys
    )
    assert code == 0
    assert "300 customers" in out
    code, _, err = _run(["features", str(sample), "--out", str(tmp_path / "f.parquet")], capsys)
    assert code == 0, err
    table = pl.read_parquet(tmp_path / "f.parquet")
    assert 0 < table.height <= 300


def test_console_script_runs_without_traceback(tmp_path: Path) -> None:
    src = _write(tmp_path, "empty.csv", b"")
    proc = subprocess.run(
        [sys.executable, "-m", "core.cli", "features", str(src), "--out", str(tmp_path / "f.csv")],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "custseg: error:" in proc.stderr


def test_importing_core_loads_no_dash() -> None:
    # Building the parser loads the commands other layers register (serve), still without Dash.
    code = (
        "import sys, core.pipeline, core.cli, core.export; core.cli.build_parser(); "
        "print(any(m == 'dash' or m.startswith(('dash.', 'dashapp.app')) for m in sys.modules))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.stdout.strip() == "False"


def test_serve_is_a_command_registered_by_the_app() -> None:
    # core finds serve through the custseg.commands entry point; it never imports dashapp.
    parser = build_parser()
    args = parser.parse_args(["serve", "--port", "8061"])
    assert args.port == 8061
    assert args.func.__module__ == "dashapp.cli"


def test_decimal_comma_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Semicolons and decimal commas; the option forces what detection would also find.
    text = "CustomerID;InvoiceDate;Quantity;UnitPrice\n1;2011-01-01;2;1,25\n2;2011-01-02;1;3,50\n"
    src = _write(tmp_path, "eu.csv", text)
    out = tmp_path / "f.csv"
    code, _, err = _run(["features", str(src), "--out", str(out), "--decimal-comma"], capsys)
    assert code == 0, err
    table = pl.read_csv(out, schema_overrides={"customer_id": pl.String})
    assert table["monetary"].to_list() == [2.5, 3.5]


def test_headerless_spaced_file_mapped_by_column_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _write(tmp_path, "CDNOW_master.txt", cdnow.master_text())
    out = tmp_path / "f.csv"
    code, _, err = _run(["features", str(src), "--out", str(out)], capsys)
    assert code == 2
    assert "column_1" in err
    assert "Traceback" not in err
    argv = ["features", str(src), "--out", str(out), "--map", "customer=column_1"]
    argv += ["--map", "date=column_2", "--map", "quantity=column_3", "--map", "amount=column_4"]
    code, _, err = _run(argv, capsys)
    assert code == 0, err
    table = pl.read_csv(out, schema_overrides={"customer_id": pl.String})
    assert table.filter(~pl.col("excluded"))["customer_id"].to_list()[0] == "00001"
    assert table["monetary"].sum() == pytest.approx(cdnow.REVENUE)


def test_a_price_named_like_a_line_amount_is_warned_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _write(tmp_path, "cdnow.csv", cdnow.csv_text())
    out = tmp_path / "f.csv"
    argv = ["features", str(src), "--out", str(out)]
    argv += ["--map", "quantity=number_of_cds", "--map", "price=dollar_value"]
    code, _, err = _run(argv, capsys)
    assert code == 0, err
    assert "warning: the unit price is mapped to 'dollar_value'" in err
    assert "line amount" in err
