"""``--engine`` / ``--spark-master``: validated before any work, and every way Spark can be
missing or misused is one clear message (exit 2), never a traceback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from core.cli import main

CSV = "InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID\n1,A,1,2011-01-01,2.5,7\n"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    _, err = capsys.readouterr()
    return code, err


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "t.csv"
    path.write_text(CSV)
    return path


def test_spark_master_without_the_spark_engine_is_refused(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "f.parquet"
    code, err = _run(
        ["features", str(source), "--spark-master", "local[2]", "--out", str(out)], capsys
    )
    assert code == 2
    assert "--spark-master applies only with --engine spark" in err
    assert not out.exists()


def test_a_master_that_is_no_spark_url_is_refused(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["features", str(source), "--engine", "spark", "--spark-master", "localhost:7077"]
    code, err = _run([*argv, "--out", str(tmp_path / "f.parquet")], capsys)
    assert code == 2
    assert "is not a Spark master URL" in err
    assert "spark://HOST:PORT" in err


def test_an_unknown_engine_is_a_usage_error(source: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["features", str(source), "--engine", "dask", "--out", str(tmp_path / "f.csv")])
    assert exit_.value.code == 2


def test_spark_reads_files_not_databases(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["features", "sqlite:///nowhere.db", "--table", "t", "--engine", "spark"]
    code, err = _run([*argv, "--out", str(tmp_path / "f.parquet")], capsys)
    assert code == 2
    assert "--engine spark reads files" in err


def test_a_missing_input_is_named_before_spark_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nothing-*.parquet"
    code, err = _run(
        ["features", str(missing), "--engine", "spark", "--out", str(tmp_path / "f.parquet")],
        capsys,
    )
    assert code == 2
    assert "File not found" in err
    assert "nothing-*.parquet" in err


def test_an_input_spark_cannot_read_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = tmp_path / "t.xlsx"
    book.write_bytes(b"PK")
    code, err = _run(
        ["features", str(book), "--engine", "spark", "--out", str(tmp_path / "f.parquet")], capsys
    )
    assert code == 2
    assert "reads Parquet or CSV files" in err


def test_no_pyspark_says_how_to_install_it(
    source: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark -> ImportError
    code, err = _run(
        ["features", str(source), "--engine", "spark", "--out", str(tmp_path / "f.parquet")], capsys
    )
    assert code == 2
    assert "needs pyspark" in err
    assert "custseg[spark]" in err


def test_no_java_says_how_to_install_it(
    source: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("pyspark")
    monkeypatch.setattr("shutil.which", lambda name: None)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    code, err = _run(
        ["features", str(source), "--engine", "spark", "--out", str(tmp_path / "f.parquet")], capsys
    )
    assert code == 2
    assert "needs a Java runtime" in err
    assert "openjdk-17-jre-headless" in err


# `segment` and `score` take the same options through core.cli.args.spark_master, checked
# before INPUT, the model or Spark is touched.
_COMMANDS = {
    "segment": ["segment", "{input}", "--k", "2", "--stability", "0"],
    "score": ["score", "{input}", "--model", "{model}"],
}


def _argv(command: str, source: Path, tmp_path: Path, *extra: str) -> list[str]:
    fill = {"input": str(source), "model": str(tmp_path / "model")}
    argv = [part.format(**fill) for part in _COMMANDS[command]]
    return [*argv, *extra, "--out", str(tmp_path / "out.csv")]


@pytest.mark.parametrize("command", sorted(_COMMANDS))
def test_segment_and_score_refuse_a_master_without_the_spark_engine(
    command: str, source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _run(_argv(command, source, tmp_path, "--spark-master", "local[2]"), capsys)
    assert code == 2
    assert "--spark-master applies only with --engine spark" in err
    assert "add --engine spark, or leave --spark-master out" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("command", sorted(_COMMANDS))
def test_segment_and_score_refuse_a_master_that_is_no_spark_url(
    command: str,
    source: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Were the URL not checked first, Spark would be asked for a session: make that fail loudly.
    def no_session(*_: object, **__: object) -> None:
        raise AssertionError("a Spark session was asked for")

    monkeypatch.setattr("core.spark.session.get_session", no_session)
    argv = _argv(command, source, tmp_path, "--engine", "spark", "--spark-master", "host:7077")
    code, err = _run(argv, capsys)
    assert code == 2
    assert "--spark-master 'host:7077' is not a Spark master URL" in err
    assert "spark://HOST:PORT" in err
    assert "Traceback" not in err
