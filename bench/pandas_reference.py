"""A plain pandas implementation of the cleaning and feature definitions.

It is written independently of ``core.cleaning`` / ``core.features`` (only the config classes
and constants are shared), row by row where that is the clearest statement of a rule, so it
serves as a test oracle and as the benchmark baseline. Inputs are pandas frames with the
normalized columns (``core.columns.NORMALIZED_SCHEMA``), in source order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.cleaning import REASONS, SOURCE_FIELDS, CleaningConfig
from core.columns import FEATURE_SCHEMA
from core.features import EXCLUDED_GROSS, EXCLUDED_NET, NET_TOLERANCE, FeatureConfig


@dataclass
class PandasClean:
    """Outputs of :func:`clean_pandas`."""

    reasons: pd.Series  # object: reason name or None, aligned with the input
    purchases: pd.DataFrame
    returns: pd.DataFrame
    counts: dict[str, int]  # rows per reason, plus "kept"
    revenue: dict[str, float]
    rows_capped: int
    revenue_removed: float


def _blank(values: pd.Series) -> pd.Series:
    return values.isna() | (values.astype("string").str.strip() == "")


def _starts_with_c(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip().str.upper()
    return text.str.startswith("C").fillna(False).astype(bool)


def classify_pandas(df: pd.DataFrame, config: CleaningConfig | None = None) -> pd.Series:
    """The drop reason of every line (None when kept), first matching enabled rule wins."""
    config = config or CleaningConfig()
    codes = {c.strip().upper() for c in config.non_product_codes}
    product = df["product"].astype("string").str.strip().str.upper()
    qty, price, amount = df["quantity"], df["price"], df["amount"]
    qty_or_amount = qty.where(qty.notna(), amount)
    has_qty_price = qty.notna() & price.notna()
    rules = {
        "unparseable": df["parse_error"].notna() | df["order_date"].isna() | amount.isna(),
        "missing_customer": _blank(df["customer_id"]),
        "non_product": product.isin(codes).fillna(False).astype(bool),
        "duplicate": df.duplicated(subset=list(SOURCE_FIELDS), keep="first"),
        "cancellation": _starts_with_c(df["invoice"]) | (qty_or_amount < 0).fillna(False),
        "non_positive": np.where(has_qty_price, (qty == 0) | (price <= 0), amount <= 0),
    }
    reason = pd.Series([None] * len(df), index=df.index, dtype=object)
    for name in reversed(REASONS):  # later rules first, so earlier ones overwrite them
        if name == "unparseable" or getattr(config, name):
            mask = np.asarray(rules[name], dtype=bool)
            reason[mask] = name
    return reason


def clean_pandas(df: pd.DataFrame, config: CleaningConfig | None = None) -> PandasClean:
    """Reasons, purchases (capped if configured), returns and per-reason counts."""
    config = config or CleaningConfig()
    reason = classify_pandas(df, config)
    purchases = df[reason.isna()].copy()
    returns = df[(reason == "cancellation").to_numpy()].copy()
    counts = {name: int((reason == name).sum()) for name in REASONS}
    counts["kept"] = len(purchases)
    revenue = {name: float(df.loc[(reason == name).to_numpy(), "amount"].sum()) for name in REASONS}
    rows_capped, removed = 0, 0.0
    if config.cap_quantile is not None and len(purchases):
        q = config.cap_quantile
        before = purchases["amount"].copy()
        if "quantity" in config.cap_columns:
            q_cap = purchases["quantity"].quantile(q, interpolation="linear")
            over = purchases["quantity"] > q_cap
            recomputed = q_cap * purchases["price"]
            purchases.loc[over, "amount"] = recomputed[over].where(
                recomputed[over].notna(), purchases.loc[over, "amount"]
            )
            purchases.loc[over, "quantity"] = q_cap
        if "amount" in config.cap_columns:
            a_cap = before.quantile(q, interpolation="linear")
            purchases["amount"] = purchases["amount"].where(~(purchases["amount"] > a_cap), a_cap)
        rows_capped = int((purchases["amount"] != before).sum())
        removed = float(before.sum() - purchases["amount"].sum())
    return PandasClean(reason, purchases, returns, counts, revenue, rows_capped, removed)


def _window(df: pd.DataFrame, config: FeatureConfig) -> pd.DataFrame:
    keep = ~_blank(df["customer_id"]) & df["order_date"].notna()
    day = df["order_date"].dt.normalize()
    if config.window_start is not None:
        keep &= day >= pd.Timestamp(config.window_start)
    if config.window_end is not None:
        keep &= day <= pd.Timestamp(config.window_end)
    if config.analysis_date is not None:
        keep &= day <= pd.Timestamp(config.analysis_date)
    return df[keep.to_numpy()]


def features_pandas(
    purchases: pd.DataFrame, returns: pd.DataFrame, config: FeatureConfig | None = None
) -> pd.DataFrame:
    """The customer feature table with pandas group-bys (columns of ``FEATURE_SCHEMA``)."""
    config = config or FeatureConfig()
    lines = _window(purchases, config)
    back = _window(returns, config)
    columns = list(FEATURE_SCHEMA)
    if lines.empty:
        return pd.DataFrame({c: [] for c in columns})
    if config.analysis_date is not None:
        analysis = pd.Timestamp(config.analysis_date)
    else:
        analysis = lines["order_date"].max().normalize() + pd.Timedelta(days=1)

    by_customer = lines.groupby("customer_id", sort=True)
    out = pd.DataFrame(
        {
            "first": by_customer["order_date"].min().dt.normalize(),
            "last": by_customer["order_date"].max().dt.normalize(),
            "gross": by_customer["amount"].sum(),
            "products": by_customer["product"].nunique(),
            "product_lines": by_customer["product"].count(),
            "invoices": by_customer["invoice"].nunique(),
        }
    )
    uninvoiced = lines[lines["invoice"].isna()].groupby("customer_id")["order_date"].nunique()
    out["frequency"] = out["invoices"] + uninvoiced.reindex(out.index, fill_value=0)
    returned = -back.groupby("customer_id")["amount"].sum()
    out["returns_value"] = returned.reindex(out.index, fill_value=0.0).astype(float)

    countries = lines.dropna(subset=["country"]).groupby(["customer_id", "country"]).size()
    countries = countries.rename("n").reset_index()
    countries = countries.sort_values(
        ["customer_id", "n", "country"], ascending=[True, False, True]
    )
    main = countries.drop_duplicates("customer_id").set_index("customer_id")["country"]

    net = out["gross"] - out["returns_value"]
    scale = np.maximum(out["gross"].abs(), out["returns_value"].abs())
    net = net.where((net.abs() > NET_TOLERANCE * scale), 0.0)
    monetary = out["gross"] if config.use_gross else net
    span = (out["last"] - out["first"]).dt.days
    excluded = monetary <= 0
    reason = EXCLUDED_GROSS if config.use_gross else EXCLUDED_NET
    table = pd.DataFrame(
        {
            "customer_id": out.index,
            "recency_days": (analysis - out["last"]).dt.days,
            "tenure_days": (analysis - out["first"]).dt.days,
            "frequency": out["frequency"],
            "gross": out["gross"],
            "returns_value": out["returns_value"],
            "monetary": monetary,
            "avg_order_value": monetary / out["frequency"],
            "n_products": out["products"].where(out["product_lines"] > 0, None),
            "avg_days_between_orders": (span / (out["frequency"] - 1)).where(
                out["frequency"] > 1, None
            ),
            "return_rate": (out["returns_value"] / out["gross"]).where(out["gross"] > 0, None),
            "country": main.reindex(out.index),
            "first_purchase": out["first"].dt.date,
            "last_purchase": out["last"].dt.date,
            "excluded": excluded,
            "exclusion_reason": pd.Series(reason, index=out.index).where(excluded, None),
        }
    )
    return table.reset_index(drop=True)[columns]
