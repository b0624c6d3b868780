"""``custseg migrate``: the real file's migration checked against a plain Polars oracle, reruns
byte-identical, and bad input as one clear message (exit 2)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from core.cli import main

CUTOFF = "2011-09-01"
# The cleaning rules as the README's Definitions state them, written here independently.
NON_PRODUCT = ("POST", "DOT", "M", "D", "C2", "BANK CHARGES", "AMAZONFEE", "PADS", "CRUK", "S", "B")
SOURCE = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
          "CustomerID", "Country"]  # fmt: skip


def _oracle_lines(path: Path) -> tuple[pl.DataFrame, dict[str, int]]:
    """Each raw line's reason (null: kept purchase line) by plain Polars, and reason counts."""
    raw = pl.read_parquet(path).with_row_index("row")
    code = pl.col("StockCode").str.strip_chars().str.to_uppercase()
    reason = (
        pl.when(pl.col("CustomerID").is_null())
        .then(pl.lit("missing_customer"))
        .when(code.is_in(NON_PRODUCT))
        .then(pl.lit("non_product"))
        .when(~pl.struct(SOURCE).is_first_distinct())
        .then(pl.lit("duplicate"))
        .when(pl.col("InvoiceNo").str.starts_with("C") | (pl.col("Quantity") < 0))
        .then(pl.lit("cancellation"))
        .when((pl.col("Quantity") == 0) | (pl.col("UnitPrice") <= 0))
        .then(pl.lit("non_positive"))
    )
    lines = raw.with_columns(
        reason.alias("reason"),
        pl.col("CustomerID").cast(pl.Int64).cast(pl.String).alias("customer_id"),
        (pl.col("Quantity") * pl.col("UnitPrice")).alias("amount"),
        pl.col("InvoiceDate").dt.date().alias("day"),
    )
    counts = dict(lines.get_column("reason").drop_nulls().value_counts().iter_rows())
    return lines, {k: int(v) for k, v in counts.items()}


def _net(lines: pl.DataFrame, when: pl.Expr) -> pl.DataFrame:
    """Net spend (purchases + cancellations) of the lines ``when`` picks, per customer."""
    counted = lines.filter(pl.col("reason").is_null() | (pl.col("reason") == "cancellation"))
    return counted.filter(when).group_by("customer_id").agg(pl.col("amount").sum().alias("net"))


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


def _migrate(real: Path, out: Path, *extra: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    flows, customers = out / "flows.parquet", out / "customers.parquet"
    code = main(["migrate", str(real), "--cutoff", CUTOFF, *extra, "--out", str(flows),
                 "--customers", str(customers)])  # fmt: skip
    assert code == 0
    return pl.read_parquet(flows), pl.read_parquet(customers)


@pytest.fixture(scope="module")
def oracle(real_data_path: Path, tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    lines, counts = _oracle_lines(real_data_path)
    # The oracle's cleaning agrees with the engine's audit, reason by reason.
    audit_path = tmp_path_factory.mktemp("audit") / "a.json"
    features = tmp_path_factory.mktemp("features") / "f.parquet"
    assert main(["features", str(real_data_path), "--out", str(features),
                 "--audit", str(audit_path)]) == 0  # fmt: skip
    audit = json.loads(audit_path.read_text())
    for reason, rows in counts.items():
        assert audit[reason] == rows, reason
    assert audit["purchase_rows"] == lines.filter(pl.col("reason").is_null()).height
    return lines


@pytest.mark.parametrize("extra", [(), ("--by", "kmeans", "--k", "4", "--seed", "7")])
def test_migration_of_the_real_file_matches_the_oracle(
    oracle: pl.DataFrame,
    real_data_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: tuple[str, ...],
) -> None:
    flows, customers = _migrate(real_data_path, tmp_path, *extra)
    cutoff = dt.date.fromisoformat(CUTOFF)
    bought_before = oracle.filter(pl.col("reason").is_null() & (pl.col("day") < cutoff))
    before_ids = set(bought_before.get_column("customer_id").unique())
    # Customers with a segment before the cutoff: exactly those with a purchase line before it.
    held = customers.filter(pl.col("segment_before") != "(new)")
    assert set(held.get_column("customer_id")) == before_ids
    # Every customer with a kept purchase line is in CUSTOMERS.
    all_ids = set(oracle.filter(pl.col("reason").is_null()).get_column("customer_id"))
    assert set(customers.get_column("customer_id")) == all_ids
    before = dict(_net(oracle, pl.col("day") < cutoff).iter_rows())
    whole = dict(_net(oracle, pl.lit(True)).iter_rows())
    for row in customers.iter_rows(named=True):
        cid = row["customer_id"]
        if cid in before_ids:
            assert _close(row["monetary_before"], before[cid]), cid
            # (excluded) before: net spend <= 0 before the cutoff.
            excluded = row["segment_before"] == "(excluded)"
            assert excluded == (before[cid] <= 1e-6 * abs(before[cid]) + 1e-9), cid
        assert _close(row["monetary_before"] + row["monetary_after"], whole[cid]), cid
    # FLOWS is CUSTOMERS grouped by (before, after).
    grouped = customers.group_by("segment_before", "segment_after").agg(
        pl.len().cast(pl.Int64).alias("customers"),
        pl.col("monetary_before").sum(),
        pl.col("monetary_after").sum(),
    )
    joined = flows.join(
        grouped,
        left_on=["from_segment", "to_segment"],
        right_on=["segment_before", "segment_after"],
        how="full",
    )
    assert joined.height == flows.height == grouped.height
    assert (joined["customers"] == joined["customers_right"]).all()
    for a, b in zip(joined["monetary_before"], joined["monetary_before_right"], strict=True):
        assert _close(a, b)
    out = capsys.readouterr().out
    assert "retained" in out
    assert "lapsed" in out


def test_reruns_write_identical_bytes(real_data_path: Path, tmp_path: Path) -> None:
    outputs = []
    for run in ("a", "b"):
        folder = tmp_path / run
        folder.mkdir()
        flows, customers, report = folder / "f.csv", folder / "c.parquet", folder / "r.json"
        argv = ["migrate", str(real_data_path), "--cutoff", CUTOFF, "--by", "kmeans", "--k", "4",
                "--seed", "7", "--out", str(flows), "--customers", str(customers),
                "--report", str(report)]  # fmt: skip
        assert main(argv) == 0
        outputs.append({p.name: p.read_bytes() for p in (flows, customers, report)})
    for name, content in outputs[0].items():
        assert content == outputs[1][name], name


def _uci(tmp_path: Path) -> Path:
    path = tmp_path / "t.csv"
    path.write_text(
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
        + "".join(
            f"{500 + i},P{i % 3},THING,{i + 1},{1 + i % 12}/3/2011 9:00,2.5,{100 + i},=1+2\n"
            for i in range(40)
        )
    )
    return path


@pytest.mark.parametrize(
    ("cutoff", "message"),
    [
        ("2012-01-01", "outside the data's range"),
        ("2011-01-03", "outside the data's range"),
        ("2011-02-30", "--cutoff must be a date"),
        ("2011-01-04", "fewer than the 11 segments"),
    ],
)
def test_a_bad_cutoff_is_one_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cutoff: str, message: str
) -> None:
    src = _uci(tmp_path)
    flows, customers = tmp_path / "f.csv", tmp_path / "c.csv"
    code = main(["migrate", str(src), "--cutoff", cutoff, "--out", str(flows),
                 "--customers", str(customers)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "how to fix" in err
    assert "Traceback" not in err
    assert not flows.exists()


def test_text_is_written_injection_safe(tmp_path: Path) -> None:
    src = _uci(tmp_path)
    flows, customers = tmp_path / "f.csv", tmp_path / "c.csv"
    argv = ["migrate", str(src), "--cutoff", "2011-06-01", "--by", "kmeans", "--k", "2",
            "--features", "recency_days,monetary", "--out", str(flows),
            "--customers", str(customers)]  # fmt: skip
    assert main(argv) == 0
    text = customers.read_text()
    assert "customer_id,segment_before,segment_after,monetary_before,monetary_after" in text
    # The country, text from the file, is written so that a spreadsheet shows it as text.
    assert pl.read_csv(customers)["country"].unique().to_list() == ["'=1+2"]
    assert pl.read_csv(flows)["customers"].sum() == 40
