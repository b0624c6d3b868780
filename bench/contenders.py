"""The contenders of ``bench_features.py``: one file in, the feature table and audit out.

Each contender is a ``run(path)`` that does the work (timed by the benchmark, from reading
the file to the finished table, audit and sample lines) and an ``output(result)`` that turns
its native result into a :class:`bench.outputs.Output` (not timed). Every contender reads a
Parquet file in the UCI Online Retail shape (the real file and the generated ones).

* ``custseg``: what ``custseg features`` runs (``load_transactions`` then
  ``build_customer_table``).
* ``custseg-lines``: the same, then the kept lines and returns read back
  (``CustomerTable.product_lines``, as the app's pages ask).
* ``pandas``: ``pandas_reference.py`` (the plain statement of the rules, the tests' oracle).
* ``pandas-tuned``: ``pandas_tuned.py`` (categorical reason codes, group-bys for revenue).
* ``duckdb-plain`` and ``duckdb-grouped``: ``duckdb_sql.py`` (a window over every source field
  for duplicates; identical lines grouped first, then one group-by per customer).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.outputs import Output, feature_frame


@dataclass(frozen=True)
class Contender:
    name: str
    run: Callable[[Path], Any]
    output: Callable[[Any], Output]
    warm_up: Callable[[], None]  # imports done before the clock starts


def _custseg_run(path: Path, *, keep_lines: bool) -> Any:
    from core.pipeline import build_customer_table, load_transactions

    table = build_customer_table(load_transactions(path))
    if keep_lines:
        _ = table.product_lines  # the app's path: the kept lines and returns read back
    return table


def _custseg_output(table: Any) -> Output:
    from core.cleaning import REASONS

    audit = table.audit
    return Output(
        features=feature_frame(table.features),
        audit={
            "rows_in": audit.rows_in,
            "rows_kept": audit.rows_kept,
            "revenue_kept": audit.revenue_kept,
            "customers_in": audit.customers_in,
            "customers_out": audit.customers_out,
            "dropped": {r.reason: r.rows for r in audit.reasons},
            "revenue": {r.reason: r.revenue for r in audit.reasons},
            "samples": {r: audit.samples[r].get_column("source_row").to_list() for r in REASONS},
        },
    )


def normalized_pandas(raw: Any) -> Any:
    """The UCI columns mapped to the normalized columns, as ``core.schema.normalize`` does."""
    import numpy as np
    import pandas as pd

    def text(values: pd.Series) -> pd.Series:
        stripped = values.astype("string").str.strip()
        return stripped.mask(stripped == "")

    def ident(values: pd.Series) -> pd.Series:
        return text(values).str.replace(r"^([+-]?\d+)\.0*$", r"\1", regex=True)

    def number(values: pd.Series) -> pd.Series:
        num = values.astype("float64")
        return num.where(np.isfinite(num))

    cid = raw["CustomerID"].astype("float64")
    whole = np.isfinite(cid) & (cid == np.floor(cid))
    customer = cid.where(whole).astype("Int64").astype("string")
    quantity, price = number(raw["Quantity"]), number(raw["UnitPrice"])
    # Non-finite numbers count as parse failures, flagged in parse_error like normalize does.
    bad_q = raw["Quantity"].notna() & quantity.isna()
    bad_p = raw["UnitPrice"].notna() & price.isna()
    parse_error = pd.Series(None, index=raw.index, dtype=object)
    parse_error[bad_q.to_numpy()] = "quantity"
    parse_error[bad_p.to_numpy()] = "price"
    parse_error[(bad_q & bad_p).to_numpy()] = "quantity,price"
    return pd.DataFrame(
        {
            "source_row": np.arange(1, len(raw) + 1, dtype=np.int64),
            "customer_id": customer,
            "order_date": raw["InvoiceDate"].astype("datetime64[us]"),
            "invoice": ident(raw["InvoiceNo"]),
            "product": ident(raw["StockCode"]),
            "description": text(raw["Description"]),
            "country": text(raw["Country"]),
            "quantity": quantity,
            "price": price,
            "amount": quantity * price,
            "parse_error": parse_error,
        }
    )


def _pandas_run(path: Path) -> Any:
    import pandas as pd

    from bench.pandas_reference import clean_pandas, features_pandas
    from core.cleaning import REASONS, SAMPLE_SIZE

    lines = normalized_pandas(pd.read_parquet(path))
    cleaned = clean_pandas(lines)
    samples = {
        r: lines[(cleaned.reasons == r).to_numpy()].nsmallest(SAMPLE_SIZE, "source_row")
        for r in REASONS
    }
    table = features_pandas(cleaned.purchases, cleaned.returns)
    audit = {
        "rows_in": len(lines),
        "rows_kept": cleaned.counts["kept"],
        "revenue_kept": float(cleaned.purchases["amount"].sum()),
        "customers_in": int(lines["customer_id"].nunique()),
        "customers_out": int(cleaned.purchases["customer_id"].nunique()),
        "dropped": {r: cleaned.counts[r] for r in REASONS},
        "revenue": {r: cleaned.revenue[r] for r in REASONS},
        "samples": {r: samples[r]["source_row"].tolist() for r in REASONS},
    }
    return table, audit


def _pandas_tuned_run(path: Path) -> Any:
    import pandas as pd

    from bench.pandas_tuned import clean_and_features

    return clean_and_features(normalized_pandas(pd.read_parquet(path)))


def _pair_output(result: Any) -> Output:
    table, audit = result
    return Output(features=feature_frame(table), audit=audit)


def _duckdb(name: str) -> Callable[[Path], Any]:
    def run(path: Path) -> Any:
        from bench import duckdb_sql

        return getattr(duckdb_sql, name)(path)

    return run


def _import_pandas() -> None:
    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401  (read_parquet imports it on first use)

    import bench.pandas_reference
    import bench.pandas_tuned  # noqa: F401


def _import_polars() -> None:
    import core.pipeline  # noqa: F401


def _import_duckdb() -> None:
    import duckdb  # noqa: F401

    import bench.duckdb_sql  # noqa: F401


CONTENDERS: dict[str, Contender] = {
    c.name: c
    for c in (
        Contender(
            "custseg",
            lambda p: _custseg_run(p, keep_lines=False),
            _custseg_output,
            _import_polars,
        ),
        Contender(
            "custseg-lines",
            lambda p: _custseg_run(p, keep_lines=True),
            _custseg_output,
            _import_polars,
        ),
        Contender("pandas", _pandas_run, _pair_output, _import_pandas),
        Contender("pandas-tuned", _pandas_tuned_run, _pair_output, _import_pandas),
        Contender("duckdb-plain", _duckdb("plain"), _pair_output, _import_duckdb),
        Contender("duckdb-grouped", _duckdb("grouped"), _pair_output, _import_duckdb),
    )
}
