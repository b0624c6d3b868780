"""Canonical column names shared by every stage after column mapping.

``core.schema.normalize`` turns any source frame into a LazyFrame with exactly these columns
(in this order) and dtypes; cleaning, features and RFM only ever see these names.
"""

from __future__ import annotations

import polars as pl

ROW = "source_row"  # Int64, 1-based data-row number in the source file (header excluded)
CUSTOMER = "customer_id"  # String; null when empty. "17850.0" and "17850" are one id; "00017" kept
DATE = "order_date"  # Datetime("us"); null when the source value failed to parse
INVOICE = "invoice"  # String or null (no invoice role: orders = customer x timestamp)
PRODUCT = "product"  # String or null (stock code)
DESCRIPTION = "description"  # String or null
COUNTRY = "country"  # String or null
QUANTITY = "quantity"  # Float64 or null (null throughout when only an amount is mapped)
PRICE = "price"  # Float64 or null (null throughout when only an amount is mapped)
AMOUNT = "amount"  # Float64: quantity * price, or the mapped order amount
PARSE_ERROR = "parse_error"  # String or null: which fields failed to parse, e.g. "date,price"

NORMALIZED_SCHEMA: dict[str, pl.DataType] = {
    ROW: pl.Int64(),
    CUSTOMER: pl.String(),
    DATE: pl.Datetime("us"),
    INVOICE: pl.String(),
    PRODUCT: pl.String(),
    DESCRIPTION: pl.String(),
    COUNTRY: pl.String(),
    QUANTITY: pl.Float64(),
    PRICE: pl.Float64(),
    AMOUNT: pl.Float64(),
    PARSE_ERROR: pl.String(),
}

# Roles a user maps source columns to (CLI: --map ROLE=COLUMN).
ROLES: tuple[str, ...] = (
    "customer",
    "date",
    "invoice",
    "quantity",
    "price",
    "amount",
    "product",
    "description",
    "country",
)
ROLE_TO_COLUMN: dict[str, str] = {
    "customer": CUSTOMER,
    "date": DATE,
    "invoice": INVOICE,
    "quantity": QUANTITY,
    "price": PRICE,
    "amount": AMOUNT,
    "product": PRODUCT,
    "description": DESCRIPTION,
    "country": COUNTRY,
}

# Customer feature table (``core.features``): one row per customer, sorted by customer_id.
FEATURE_SCHEMA: dict[str, pl.DataType] = {
    CUSTOMER: pl.String(),
    "recency_days": pl.Int64(),  # analysis date - last purchase date, in days
    "tenure_days": pl.Int64(),  # analysis date - first purchase date, in days
    "frequency": pl.Int64(),  # distinct purchase orders
    "gross": pl.Float64(),  # sum quantity x price over purchase lines
    "returns_value": pl.Float64(),  # minus the sum over the customer's cancellation lines (>= 0)
    "monetary": pl.Float64(),  # gross - returns_value (net), or gross when gross mode is chosen
    "avg_order_value": pl.Float64(),  # monetary / frequency
    "n_products": pl.Int64(),  # distinct products bought (null when no product role)
    "avg_days_between_orders": pl.Float64(),  # (last - first) / (frequency - 1); null if 1 order
    "return_rate": pl.Float64(),  # returns_value / gross
    COUNTRY: pl.String(),  # the country with most purchase lines (ties: alphabetical first)
    "first_purchase": pl.Date(),
    "last_purchase": pl.Date(),
    "excluded": pl.Boolean(),  # True: not clustered (e.g. net monetary <= 0)
    "exclusion_reason": pl.String(),  # null when not excluded
}
# Numeric features a clustering may use.
NUMERIC_FEATURES: tuple[str, ...] = (
    "recency_days",
    "tenure_days",
    "frequency",
    "gross",
    "returns_value",
    "monetary",
    "avg_order_value",
    "n_products",
    "avg_days_between_orders",
    "return_rate",
)
