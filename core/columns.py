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
