"""Transactions read from a database (core.sources): same audit and features as the file,
read-only, under a row limit and a timeout, credentials never shown."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from core.cli import main
from core.errors import ConfigError
from core.pipeline import build_customer_table, load_transactions
from core.sources import DatabaseSource, SourceError, load_database, read_database, redact
from tests import postgres

# UCI-shaped lines: a cancellation, a missing customer, a duplicate, a non-product code.
ROWS = [
    ("536365", "85123A", "WHITE HANGING HEART", 6, "2010-12-01 08:26:00", 2.55, 17850.0, "UK"),
    ("536365", "85123A", "WHITE HANGING HEART", 6, "2010-12-01 08:26:00", 2.55, 17850.0, "UK"),
    ("536366", "22633", "HAND WARMER", 6, "2010-12-01 08:28:00", 1.85, 17850.0, "UK"),
    ("536367", "84879", "BIRD ORNAMENT", 32, "2010-12-13 08:34:00", 1.69, 13047.0, "UK"),
    ("536368", "POST", "POSTAGE", 1, "2010-12-13 08:35:00", 18.0, 13047.0, "France"),
    ("536369", "22752", "SET 7 BABUSHKA", 2, "2010-12-14 09:00:00", 7.65, None, "UK"),
    ("C536379", "D", "Discount", -1, "2010-12-14 09:41:00", 27.5, 14527.0, "UK"),
    ("536380", "22728", "ALARM CLOCK", 4, "2011-01-05 10:00:00", 3.75, 14527.0, "EIRE"),
]
COLUMNS = [
    "InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
    "CustomerID", "Country",
]


def retail_frame() -> pl.DataFrame:
    frame = pl.DataFrame(ROWS, schema=COLUMNS, orient="row")
    return frame.with_columns(pl.col("InvoiceDate").str.to_datetime())


def _from_file(tmp_path: Path, frame: pl.DataFrame) -> tuple[pl.DataFrame, dict]:
    path = tmp_path / "t.parquet"
    frame.write_parquet(path)
    table = build_customer_table(load_transactions(path))
    return table.features, table.audit.to_dict()


def _same_as_file(tmp_path: Path, source: DatabaseSource, frame: pl.DataFrame) -> None:
    features, audit = _from_file(tmp_path, frame)
    table = build_customer_table(load_database(source))
    assert table.read.format == "database"
    assert table.audit.to_dict() == audit
    assert_frame_equal(table.features, features)


def _sqlite_file(tmp_path: Path, frame: pl.DataFrame) -> Path:
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE transactions (InvoiceNo TEXT, StockCode TEXT, Description TEXT, "
            "Quantity INTEGER, InvoiceDate TEXT, UnitPrice REAL, CustomerID REAL, Country TEXT)"
        )
        conn.executemany(
            "INSERT INTO transactions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            frame.with_columns(pl.col("InvoiceDate").dt.to_string("%Y-%m-%d %H:%M:%S")).rows(),
        )
    conn.close()
    return path


def test_sqlite_table_gives_the_files_audit_and_features(tmp_path: Path) -> None:
    frame = retail_frame()
    path = _sqlite_file(tmp_path, frame)
    _same_as_file(tmp_path, DatabaseSource(f"sqlite:///{path}", table="transactions"), frame)


def test_duckdb_query_gives_the_files_audit_and_features(tmp_path: Path) -> None:
    frame = retail_frame()
    path = tmp_path / "shop.duckdb"
    with duckdb.connect(str(path)) as conn:
        conn.register("frame", frame.to_arrow())
        conn.execute("CREATE TABLE sales AS SELECT * FROM frame")
    source = DatabaseSource(f"duckdb:///{path}", query="SELECT * FROM sales ORDER BY rowid")
    _same_as_file(tmp_path, source, frame)


def test_sqlite_mixed_type_column_is_read_as_text(tmp_path: Path) -> None:
    path = tmp_path / "mixed.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (invoice)")
        conn.executemany("INSERT INTO t VALUES (?)", [(536365,), ("C536379",)])
    conn.close()
    frame = read_database(DatabaseSource(f"sqlite:///{path}", table="t"))
    assert frame["invoice"].to_list() == ["536365", "C536379"]


def test_a_result_over_the_row_limit_is_refused(tmp_path: Path) -> None:
    path = _sqlite_file(tmp_path, retail_frame())
    with pytest.raises(SourceError, match=r"more than 7 rows \(the row limit\)"):
        read_database(DatabaseSource(f"sqlite:///{path}", table="transactions", row_limit=7))
    assert read_database(
        DatabaseSource(f"sqlite:///{path}", table="transactions", row_limit=8)
    ).height == 8


def test_sqlite_file_is_opened_read_only(tmp_path: Path) -> None:
    path = _sqlite_file(tmp_path, retail_frame())
    source = DatabaseSource(
        f"sqlite:///{path}", query="SELECT * FROM transactions; DELETE FROM transactions"
    )
    with pytest.raises(SourceError, match="could not read query in sqlite"):
        read_database(source)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM transactions").fetchone() == (8,)
    conn.close()


@pytest.mark.parametrize(
    ("table", "query"), [(None, None), ("t", "SELECT 1"), ("t; DROP TABLE t", None)]
)
def test_table_or_query_is_required_and_checked(table: str | None, query: str | None) -> None:
    with pytest.raises(ConfigError):
        DatabaseSource("sqlite:///x.db", table=table, query=query).select()


def test_redact_hides_passwords_in_user_part_and_parameters() -> None:
    assert redact("postgresql://ann:s3cr%40t@db:5432/shop") == "postgresql://ann:***@db:5432/shop"
    assert "hunter2" not in redact("postgresql://db/shop?user=ann&password=hunter2")
    assert redact("sqlite:///data/shop.db") == "sqlite:///data/shop.db"


def test_cli_database_options_need_a_database_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "f.csv"
    assert main(["features", "t.csv", "--table", "x", "--out", str(out)]) == 2
    assert "--table apply only when INPUT is a database URL" in capsys.readouterr().err
    assert main(["features", "sqlite:///t.db", "--out", str(out)]) == 2
    assert "needs exactly one of --table NAME or --query SQL" in capsys.readouterr().err


def test_cli_features_from_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _sqlite_file(tmp_path, retail_frame())
    out, audit = tmp_path / "f.parquet", tmp_path / "a.json"
    argv = ["features", f"sqlite:///{path}", "--table", "transactions", "--out", str(out)]
    assert main([*argv, "--audit", str(audit)]) == 0, capsys.readouterr().err
    features, _ = _from_file(tmp_path, retail_frame())
    assert_frame_equal(pl.read_parquet(out), features)
    assert json.loads(audit.read_text())["file"]["format"] == "database"


# ---------------------------------------------------------------------- real PostgreSQL


def _load_postgres(url: str, frame: pl.DataFrame, table: str = "transactions") -> None:
    frame.write_database(table, url, engine="adbc", if_table_exists="replace")


def test_postgresql_table_gives_the_files_audit_and_features(
    tmp_path: Path, postgres_url: str
) -> None:
    frame = retail_frame()
    _load_postgres(postgres_url, frame)
    _same_as_file(tmp_path, DatabaseSource(postgres_url, table="transactions"), frame)


def test_postgresql_reads_in_a_read_only_session(postgres_url: str) -> None:
    postgres.execute(postgres_url, "CREATE SEQUENCE s")
    source = DatabaseSource(postgres_url, query="SELECT nextval('s') AS n")
    with pytest.raises(SourceError, match="read-only transaction"):
        read_database(source)
    rows = postgres.execute(postgres_url, "SELECT last_value, is_called FROM s")
    assert rows == [(1, False)]  # never advanced


def test_postgresql_statement_timeout(postgres_url: str) -> None:
    source = DatabaseSource(postgres_url, query="SELECT pg_sleep(30) AS x", timeout_s=0.3)
    with pytest.raises(SourceError, match=r"took longer than the timeout \(0.3 s\)"):
        read_database(source)


def test_postgresql_password_never_shown(
    postgres_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with_password = postgres_url.replace("postgres@", "postgres:Sup3rSecret@")
    argv = ["features", with_password, "--table", "missing", "--out", str(tmp_path / "f.csv")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Sup3rSecret" not in err
    assert "postgres:***@" in err
    assert "missing" in err
    # A server that cannot be reached: the driver's message names the host, not the password.
    closed = "postgresql://ann:Sup3rSecret@127.0.0.1:1/shop"
    assert main(["features", closed, "--table", "t", "--out", str(tmp_path / "f.csv")]) == 2
    err = capsys.readouterr().err
    assert "Sup3rSecret" not in err
    assert "could not read table t in postgresql://ann:***@127.0.0.1:1/shop" in err


def _to_micro_units(value: object) -> object:
    """Sums of money compared to a millionth: the two reads chunk the lines differently,
    and a float sum in another order differs in its last bits (9747747.933999998 vs .934)."""
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: _to_micro_units(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_micro_units(v) for v in value]
    return value


@pytest.mark.slow
def test_uci_lines_in_postgresql_give_the_parquet_audit_and_features(
    real_data_path: Path, postgres_url: str, tmp_path: Path
) -> None:
    """Done-when of issue 13: the UCI lines in a PostgreSQL table `transactions`, read with
    `custseg features URL --table transactions`, give the Parquet file's audit and features."""
    _load_postgres(postgres_url, pl.read_parquet(real_data_path))
    outputs = {}
    for name, argv in {
        "file": [str(real_data_path)],
        "db": [postgres_url, "--table", "transactions"],
    }.items():
        out, audit = tmp_path / f"{name}.parquet", tmp_path / f"{name}.json"
        assert main(["features", *argv, "--out", str(out), "--audit", str(audit)]) == 0
        summary = json.loads(audit.read_text())
        assert summary["file"].pop("format") == ("database" if name == "db" else "parquet")
        outputs[name] = (pl.read_parquet(out), _to_micro_units(summary))
    assert outputs["db"][1] == outputs["file"][1]
    assert outputs["db"][1]["customers"] == 4334
    assert_frame_equal(outputs["db"][0], outputs["file"][0])


# ------------------------------------------------------------ named sources (the app's)


def _sources_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "sources.yaml"
    path.write_text(text)
    return str(path)


def test_named_sources_take_credentials_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.sources import named_sources

    path = _sources_file(
        tmp_path,
        "sources:\n  warehouse:\n    url: postgresql://reader:${WH_PASSWORD}@db/sales\n"
        "    tables: [transactions]\n    queries: false\n    row_limit: 10\n",
    )
    found = named_sources(path)["warehouse"]
    assert "WH_PASSWORD" not in repr(found)
    assert "postgresql" not in repr(found)
    monkeypatch.delenv("WH_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match="needs the environment variable WH_PASSWORD"):
        found.source(table="transactions")
    monkeypatch.setenv("WH_PASSWORD", "s3cret")
    source = found.source(table="transactions")
    assert source.url == "postgresql://reader:s3cret@db/sales"
    assert source.row_limit == 10
    assert "s3cret" not in source.label
    with pytest.raises(ConfigError, match="offers no table 'customers'"):
        found.source(table="customers")
    with pytest.raises(ConfigError, match="does not take queries"):
        found.source(query="SELECT 1")


def test_a_password_written_in_the_sources_file_is_refused(tmp_path: Path) -> None:
    from core.sources import named_sources

    path = _sources_file(tmp_path, "sources:\n  w:\n    url: postgresql://ann:plain@db/x\n")
    with pytest.raises(ConfigError, match="writes its password in the file"):
        named_sources(path)
