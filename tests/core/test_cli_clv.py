"""``custseg clv``: the table and the report from a transaction file; bad input in one message."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from core import clv
from core.cli import main
from tests.core.test_clv import synthetic_rows


def _transactions(tmp_path: Path) -> Path:
    """The synthetic histories as a plain transaction CSV (customer, date, amount)."""
    rows = synthetic_rows(300, seed=5)
    path = tmp_path / "t.csv"
    body = "\n".join(f"{c},{d} 10:00,{a:.2f}" for c, d, a in rows)
    path.write_text("customer_id,order_date,amount\n" + body + "\n")
    return path


def test_clv_writes_the_table_and_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, out, report = _transactions(tmp_path), tmp_path / "clv.csv", tmp_path / "r.json"
    argv = ["clv", str(src), "--calibration-end", "2024-05-01", "--time-unit", "week"]
    code = main([*argv, "--horizon", "26", "--out", str(out), "--report", str(report)])
    stdout = capsys.readouterr().out
    assert code == 0, stdout
    table = pl.read_csv(out, schema_overrides={"customer_id": pl.String})
    assert table.columns == list(clv.CLV_COLUMNS)
    data = json.loads(report.read_text())
    assert set(data["bgnbd"]) == {"r", "alpha", "a", "b", "log_likelihood"}
    assert {"p", "q", "gamma"} <= set(data["gamma_gamma"])
    assert (data["time_unit"], data["calibration_end"], data["horizon"]) == (
        "week",
        "2024-05-01",
        26,
    )
    holdout = data["holdout"]
    assert holdout["start"] == "2024-05-02"
    assert holdout["actual"] == sum(w["actual"] for w in holdout["weeks"])
    # The figures are those of core.clv on the same file's cleaned lines.
    assert data["customers"] == table.height
    assert table["predicted_revenue"].sum() == pytest.approx(
        data["predicted_revenue"], abs=0.01 * table.height
    )
    assert "predicted revenue over 26 weeks" in stdout


def test_clv_parquet_keeps_full_precision(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, out = _transactions(tmp_path), tmp_path / "clv.parquet"
    assert main(["clv", str(src), "--out", str(out)]) == 0
    table = pl.read_parquet(out)
    assert table["p_alive"].is_between(0, 1).all()
    assert table["predicted_revenue"].to_list() == pytest.approx(
        (table["expected_orders"] * table["expected_avg_order_value"]).to_list()
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--calibration-end", "2030-01-01"], "outside the data"),
        (["--calibration-end", "2024-13-01"], "must be a date"),
        (["--calibration-end", "2024-01-03"], "customer(s) bought on more than one day"),
        (["--horizon", "0"], "horizon must be a positive"),
    ],
)
def test_clv_bad_input_is_one_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    src = _transactions(tmp_path)
    code = main(["clv", str(src), *extra, "--out", str(tmp_path / "o.csv")])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "o.csv").exists()


def test_clv_refuses_an_xlsx_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["clv", str(_transactions(tmp_path)), "--out", str(tmp_path / "o.xlsx")])
    assert code == 2
    assert "unsupported extension" in capsys.readouterr().err


def test_the_default_calibration_end_is_the_last_day(tmp_path: Path, capsys) -> None:
    src, report = _transactions(tmp_path), tmp_path / "r.json"
    assert main(["clv", str(src), "--out", str(tmp_path / "o.csv"), "--report", str(report)]) == 0
    data = json.loads(report.read_text())
    last = max(dt.date.fromisoformat(d[:10]) for _, d, _ in synthetic_rows(300, seed=5))
    assert data["calibration_end"] == last.isoformat()
    assert data["holdout"] is None
