"""DuckDB SQL of the cleaning and feature definitions: the contenders a speed-minded analyst
would write, for ``bench_features.py``.

Both read a Parquet file in the UCI Online Retail shape (``InvoiceNo``, ``StockCode``,
``Description``, ``Quantity``, ``InvoiceDate``, ``UnitPrice``, ``CustomerID``, ``Country``)
and give the same :class:`bench.outputs.Output` as ``custseg features`` with default options
(the README's definitions; only the non-product codes and the tolerance of a zero net are
taken from ``core``):

* :func:`plain`: the definitions as written. The lines normalized and classified into a
  temporary table, the duplicate rule as ``row_number()`` over a window partitioned by every
  source field, then one query each for the reason totals, the samples and the features.
* :func:`grouped`: the fastest found. Identical lines are grouped first (one ``GROUP BY`` of
  every source field, with the copies' count and smallest source rows): the rules before the
  duplicate rule settle all copies of a group alike, the later ones its first copy, the other
  copies are the duplicates. Then one ``GROUP BY`` customer over the groups (aggregates with
  ``FILTER``), and the main country from a ``GROUP BY`` customer, country.

Text is stripped of ASCII white space (``custseg`` strips Unicode white space too; the data
measured has none other).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.cleaning import REASONS, SAMPLE_SIZE, CleaningConfig
from core.features import EXCLUDED_NET, NET_TOLERANCE

SOURCE_FIELDS = "customer_id, order_date, invoice, product, description, country, quantity, price"
_WS = "' \t\n\r\x0b\x0c'"
_ID_FLOAT = r"'^([+-]?\d+)\.0*$'"


def _text(column: str) -> str:
    return f"nullif(trim({column}, {_WS}), '')"


def _ident(column: str) -> str:
    """Ids as text: stripped, blank -> NULL, ``17850.0`` -> ``17850`` (regex only on dots)."""
    text = _text(column)
    return (
        f"CASE WHEN contains({column}, '.') THEN regexp_replace({text}, {_ID_FLOAT}, '\\1') "
        f"ELSE {text} END"
    )


def _number(expr: str) -> str:
    return f"CASE WHEN isfinite(CAST({expr} AS DOUBLE)) THEN CAST({expr} AS DOUBLE) END"


def normalized(path: Path) -> str:
    """The source lines as ``core.schema.normalize`` maps them (amount = quantity x price)."""
    quoted = str(path).replace("'", "''")
    customer = (
        "CASE WHEN isfinite(CustomerID) AND CustomerID = floor(CustomerID) "
        "THEN CAST(CAST(CustomerID AS BIGINT) AS VARCHAR) "
        "WHEN NOT isnan(CustomerID) THEN CAST(CustomerID AS VARCHAR) END"
    )
    return f"""
    SELECT source_row, customer_id, order_date, invoice, product, description, country,
           quantity, price, quantity * price AS amount
    FROM (
      SELECT file_row_number + 1 AS source_row,
             {customer} AS customer_id,
             CAST(InvoiceDate AS TIMESTAMP) AS order_date,
             {_ident("InvoiceNo")} AS invoice,
             {_ident("StockCode")} AS product,
             {_text("Description")} AS description,
             {_text("Country")} AS country,
             {_number("Quantity")} AS quantity,
             {_number("UnitPrice")} AS price
      FROM read_parquet('{quoted}', file_row_number = true)
    )"""


def _codes() -> str:
    codes = sorted({c.strip().upper() for c in CleaningConfig().non_product_codes})
    return ", ".join("'" + c.replace("'", "''") + "'" for c in codes)


# The rules before the duplicate rule, which every copy of a line meets alike.
EARLY = f"""CASE
  WHEN order_date IS NULL OR amount IS NULL THEN 'unparseable'
  WHEN customer_id IS NULL THEN 'missing_customer'
  WHEN upper(product) IN ({_codes()}) THEN 'non_product'
END"""
# The rules after it, met by a line's first copy.
LATE = """CASE
  WHEN upper(invoice) LIKE 'C%' OR coalesce(quantity, amount) < 0 THEN 'cancellation'
  WHEN CASE WHEN quantity IS NOT NULL AND price IS NOT NULL
            THEN quantity = 0 OR price <= 0 ELSE amount <= 0 END THEN 'non_positive'
END"""


def _finish(aggregates: str, countries: str) -> str:
    """The feature table from per-customer aggregates and each customer's main country."""
    return f"""
    WITH agg AS ({aggregates}),
    net AS (
      SELECT *, CASE WHEN abs(gross - returns_value)
                          <= {NET_TOLERANCE!r} * greatest(abs(gross), abs(returns_value))
                     THEN 0.0 ELSE gross - returns_value END AS monetary
      FROM agg
    ),
    analysis AS (SELECT max(last_purchase) + 1 AS day FROM agg)
    SELECT customer_id,
           analysis.day - last_purchase AS recency_days,
           analysis.day - first_purchase AS tenure_days,
           frequency, gross, returns_value, monetary,
           monetary / frequency AS avg_order_value,
           CASE WHEN product_lines > 0 THEN n_products END AS n_products,
           CASE WHEN frequency > 1
                THEN (last_purchase - first_purchase) / (frequency - 1) END
             AS avg_days_between_orders,
           CASE WHEN gross > 0 THEN returns_value / gross END AS return_rate,
           main.country,
           first_purchase, last_purchase,
           monetary <= 0 AS excluded,
           CASE WHEN monetary <= 0 THEN '{EXCLUDED_NET}' END AS exclusion_reason
    FROM net CROSS JOIN analysis LEFT JOIN ({countries}) AS main USING (customer_id)
    ORDER BY customer_id"""


def _main_country(table: str, purchases: str) -> str:
    """Each customer's country with most purchase lines (ties: alphabetical first)."""
    return f"""
    SELECT customer_id, first(country ORDER BY n DESC, country) AS country
    FROM (SELECT customer_id, country, count(*) AS n FROM {table}
          WHERE {purchases} AND country IS NOT NULL GROUP BY ALL)
    GROUP BY customer_id"""


def _audit(
    totals: list[tuple[Any, ...]], customers_in: int, samples: list[tuple[str, int]]
) -> dict[str, Any]:
    """The audit's figures from (reason, lines, revenue) rows and (reason, source_row) samples."""
    by_reason = {r: (int(n), float(v or 0.0)) for r, n, v in totals}
    kept_rows, kept_revenue = by_reason.get(None, (0, 0.0))
    return {
        "rows_in": sum(n for n, _ in by_reason.values()),
        "rows_kept": kept_rows,
        "revenue_kept": kept_revenue,
        "customers_in": customers_in,
        "dropped": {r: by_reason.get(r, (0, 0.0))[0] for r in REASONS},
        "revenue": {r: by_reason.get(r, (0, 0.0))[1] for r in REASONS},
        "samples": {r: sorted(row for reason, row in samples if reason == r) for r in REASONS},
    }


def _samples(lines: str) -> str:
    """Each reason's first lines (``lines``: reason, source_row, then the line's fields)."""
    return f"""
    SELECT * EXCLUDE (rank) FROM (
      SELECT *, row_number() OVER (PARTITION BY reason ORDER BY source_row) AS rank
      FROM ({lines}))
    WHERE rank <= {SAMPLE_SIZE}"""


def plain(path: Path) -> tuple[Any, dict[str, Any]]:
    """The definitions as written: classify every line, then one query per result."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"""
    CREATE TEMP TABLE lines AS
    SELECT * EXCLUDE (copy),
           coalesce({EARLY}, CASE WHEN copy > 1 THEN 'duplicate' END, {LATE}) AS reason
    FROM (SELECT *, row_number() OVER (PARTITION BY {SOURCE_FIELDS} ORDER BY source_row) AS copy
          FROM ({normalized(path)}))""")
    totals = con.execute("SELECT reason, count(*), sum(amount) FROM lines GROUP BY reason")
    totals_rows = totals.fetchall()
    (customers_in,) = con.execute("SELECT count(DISTINCT customer_id) FROM lines").fetchone()
    samples = con.execute(
        _samples("SELECT reason, * EXCLUDE (reason) FROM lines WHERE reason IS NOT NULL")
    ).fetchall()
    aggregates = """
    SELECT p.*, coalesce(r.returns_value, 0.0) AS returns_value
    FROM (SELECT customer_id,
                 CAST(min(order_date) AS DATE) AS first_purchase,
                 CAST(max(order_date) AS DATE) AS last_purchase,
                 sum(amount) AS gross,
                 count(DISTINCT product) AS n_products, count(product) AS product_lines,
                 count(DISTINCT invoice)
                   + count(DISTINCT order_date) FILTER (WHERE invoice IS NULL) AS frequency
          FROM lines WHERE reason IS NULL GROUP BY customer_id) AS p
    LEFT JOIN (SELECT customer_id, -sum(amount) AS returns_value
               FROM lines WHERE reason = 'cancellation' GROUP BY customer_id) AS r
    USING (customer_id)"""
    table = con.sql(_finish(aggregates, _main_country("lines", "reason IS NULL"))).to_arrow_table()
    audit = _audit(totals_rows, customers_in, [(s[0], s[1]) for s in samples])
    audit["customers_out"] = table.num_rows
    return table, audit


def grouped(path: Path) -> tuple[Any, dict[str, Any]]:
    """Identical lines grouped first; the rules and the features then run on the groups."""
    import duckdb

    con = duckdb.connect()
    # Each group: its fields, its number of lines and its smallest source rows (samples).
    con.execute(f"""
    CREATE TEMP TABLE groups AS
    SELECT *, {EARLY} AS early, {LATE} AS late
    FROM (SELECT *, quantity * price AS amount
          FROM (SELECT {SOURCE_FIELDS}, count(*) AS n,
                       min(source_row, {SAMPLE_SIZE + 1}) AS rows
                FROM ({normalized(path)}) GROUP BY ALL))""")
    # All lines of a group meet its early reason; else its first line its late reason (NULL:
    # kept) and the other lines are duplicates.
    totals = con.execute("""
    SELECT reason, sum(n), sum(n * amount) FROM (
      SELECT early AS reason, n, amount FROM groups WHERE early IS NOT NULL
      UNION ALL SELECT late, 1, amount FROM groups WHERE early IS NULL
      UNION ALL SELECT 'duplicate', n - 1, amount FROM groups WHERE early IS NULL AND n > 1)
    GROUP BY reason""").fetchall()
    (customers_in,) = con.execute("SELECT count(DISTINCT customer_id) FROM groups").fetchone()
    fields = f"{SOURCE_FIELDS}, amount"
    samples = con.execute(
        _samples(f"""
        SELECT early AS reason, unnest(rows) AS source_row, {fields}
          FROM groups WHERE early IS NOT NULL
        UNION ALL SELECT late, rows[1], {fields}
          FROM groups WHERE early IS NULL AND late IS NOT NULL
        UNION ALL SELECT 'duplicate', unnest(rows[2:]), {fields}
          FROM groups WHERE early IS NULL AND n > 1""")
    ).fetchall()
    kept = "early IS NULL AND late IS NULL"
    aggregates = """
    SELECT customer_id,
           CAST(min(order_date) FILTER (WHERE late IS NULL) AS DATE) AS first_purchase,
           CAST(max(order_date) FILTER (WHERE late IS NULL) AS DATE) AS last_purchase,
           sum(amount) FILTER (WHERE late IS NULL) AS gross,
           count(DISTINCT product) FILTER (WHERE late IS NULL) AS n_products,
           count(product) FILTER (WHERE late IS NULL) AS product_lines,
           count(DISTINCT invoice) FILTER (WHERE late IS NULL)
             + count(DISTINCT order_date) FILTER (WHERE late IS NULL AND invoice IS NULL)
             AS frequency,
           coalesce(-sum(amount) FILTER (WHERE late = 'cancellation'), 0.0) AS returns_value
    FROM groups
    WHERE early IS NULL AND (late IS NULL OR late = 'cancellation')
    GROUP BY customer_id
    HAVING count(*) FILTER (WHERE late IS NULL) > 0"""
    table = con.sql(_finish(aggregates, _main_country("groups", kept))).to_arrow_table()
    audit = _audit(totals, customers_in, [(s[0], s[1]) for s in samples])
    audit["customers_out"] = table.num_rows
    return table, audit
