"""Compare a generated sample with the real UCI Online Retail file on cleaning-relevant figures.

Usage: python3 bench/generator_realism.py [--customers 4372] [--seed 1] [--real PATH]
       [--pipeline /tmp/sample.parquet]

The definitions mirror the cleaning rules: rows missing a customer, non-product stock codes
(anything not starting with five digits), exact duplicate rows, cancellations (invoice starting
with "C"), negative quantities, zero prices; then per-customer RFM-like figures on the rows
that survive (customer present, not a cancellation, product code, price > 0, deduplicated).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.generator import generate_transactions

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "online_retail.parquet"
QS = (0.1, 0.25, 0.5, 0.75, 0.9, 0.99)


def figures(df: pl.DataFrame) -> dict[str, object]:
    n = df.height
    is_c = pl.col("InvoiceNo").str.starts_with("C")
    product = pl.col("StockCode").str.contains(r"^\d{5}")
    out: dict[str, object] = {
        "lines": n,
        "customers": df["CustomerID"].n_unique() - 1,
        "invoices": df["InvoiceNo"].n_unique(),
        "missing customer %": 100 * df["CustomerID"].null_count() / n,
        "cancellation (C) %": 100 * df.filter(is_c).height / n,
        "negative quantity %": 100 * (df["Quantity"] < 0).sum() / n,
        "non-product code %": 100 * df.filter(~product).height / n,
        "exact duplicates (redundant copies) %": 100 * (n - df.unique().height) / n,
        "zero price %": 100 * (df["UnitPrice"] == 0).sum() / n,
        "home country % of lines": 100 * df["Country"].value_counts(sort=True)["count"][0] / n,
        "countries": df["Country"].n_unique(),
        "products": df.filter(product)["StockCode"].n_unique(),
    }
    sales = df.filter(~is_c & product & (pl.col("UnitPrice") > 0) & (pl.col("Quantity") > 0))
    inv = sales.group_by("InvoiceNo").len()
    out["lines/invoice q"] = [inv["len"].quantile(q) for q in QS]
    out["quantity q"] = [sales["Quantity"].quantile(q) for q in QS]
    out["unit price q"] = [sales["UnitPrice"].quantile(q) for q in QS]
    clean = df.filter(
        pl.col("CustomerID").is_not_null() & ~is_c & product & (pl.col("UnitPrice") > 0)
    ).unique()
    end = df["InvoiceDate"].max()
    per = clean.group_by("CustomerID").agg(
        pl.col("InvoiceNo").n_unique().alias("f"),
        (pl.col("Quantity") * pl.col("UnitPrice")).sum().alias("m"),
        ((end - pl.col("InvoiceDate").max()).dt.total_days()).alias("r"),
        ((end - pl.col("InvoiceDate").min()).dt.total_days()).alias("t"),
    )
    out["clean lines % kept"] = 100 * clean.height / n
    out["one-time buyers %"] = 100 * (per["f"] == 1).mean()
    out["frequency q"] = [per["f"].quantile(q) for q in QS] + [per["f"].max()]
    out["monetary q"] = [round(per["m"].quantile(q)) for q in QS]
    out["recency days q"] = [per["r"].quantile(q) for q in QS]
    out["tenure days q"] = [per["t"].quantile(q) for q in QS]
    months = (
        df.filter(~is_c)
        .group_by(pl.col("InvoiceDate").dt.month().alias("m"))
        .agg(pl.col("InvoiceNo").n_unique().alias("n"))
        .sort("m")
    )
    out["invoices by month (Jan..Dec)"] = months["n"].to_list()
    wd = (
        df.group_by(pl.col("InvoiceDate").dt.weekday().alias("d"))
        .agg(pl.col("InvoiceNo").n_unique().alias("n"))
        .sort("d")
    )
    out["invoices by weekday"] = dict(zip(wd["d"].to_list(), wd["n"].to_list(), strict=True))
    return out


def pipeline_figures(path: Path) -> dict[str, object]:
    """Run the project's own loading, cleaning audit and feature table on ``path``."""
    from core.pipeline import build_customer_table, load_transactions

    table = build_customer_table(load_transactions(path))
    audit, feats = table.audit, table.features
    out: dict[str, object] = {
        f"audit: {r.reason} %": 100 * r.rows / audit.rows_in for r in audit.reasons
    }
    out["audit: kept %"] = 100 * audit.rows_kept / audit.rows_in
    out["audit: customers in / out"] = f"{audit.customers_in} / {audit.customers_out}"
    for col in ("frequency", "recency_days", "monetary", "avg_order_value", "return_rate"):
        out[f"features: {col} q"] = [round(feats[col].quantile(q), 2) for q in QS]
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=4372)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--real", type=Path, default=REAL)
    parser.add_argument(
        "--pipeline",
        type=Path,
        metavar="TMP.parquet",
        help="also write the sample there and compare core.pipeline's audit and features",
    )
    args = parser.parse_args()
    frame = generate_transactions(customers=args.customers, seed=args.seed)
    synth = figures(frame)
    real = figures(pl.read_parquet(args.real)) if args.real.exists() else {}
    if args.pipeline is not None:
        frame.write_parquet(args.pipeline)
        synth |= pipeline_figures(args.pipeline)
        if args.real.exists():
            real |= pipeline_figures(args.real)

    def fmt(v: object) -> str:
        if isinstance(v, float):
            return f"{v:.2f}"
        if isinstance(v, list):
            return "[" + ", ".join(fmt(x) for x in v) + "]"
        return str(v)

    print(f"{'figure':40s} | {'generated':40s} | real")
    for key, value in synth.items():
        print(f"{key:40s} | {fmt(value):40s} | {fmt(real.get(key, '-'))}")


if __name__ == "__main__":
    main()
