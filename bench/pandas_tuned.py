"""The cleaning and feature definitions in pandas, written for speed: a contender of
``bench_features.py``, where ``pandas_reference.py`` is the plain statement of the rules.

What a pandas user who cares about speed would do, the definitions unchanged: each line's
reason as an ``int8`` code (a ``Categorical``), every rule a NumPy mask over the lines not yet
settled; the duplicate check only on the lines that reach it (an earlier rule settles all
copies of a line alike); lines and revenue per reason from one ``groupby`` of the codes;
samples from the codes' first positions; the features from one named-aggregation
``groupby`` (plus small ones for returns, orders without an invoice and the main country).
Input: the normalized lines as a pandas frame in source order (``normalized_pandas``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from core.cleaning import REASONS, SAMPLE_SIZE, SOURCE_FIELDS, CleaningConfig
from core.columns import FEATURE_SCHEMA
from core.features import EXCLUDED_NET, NET_TOLERANCE

KEPT = len(REASONS)  # the code of a kept line; reasons are coded by their position
_CODES = sorted({c.strip().upper() for c in CleaningConfig().non_product_codes})


def reason_codes(lines: pd.DataFrame) -> np.ndarray:
    """Each line's reason code (``KEPT`` when kept), the first matching rule winning."""
    codes = np.full(len(lines), KEPT, dtype=np.int8)
    qty = lines["quantity"].to_numpy(dtype=float, na_value=np.nan)
    price = lines["price"].to_numpy(dtype=float, na_value=np.nan)
    amount = lines["amount"].to_numpy(dtype=float, na_value=np.nan)
    early = [
        lines["parse_error"].notna().to_numpy()
        | lines["order_date"].isna().to_numpy()
        | np.isnan(amount),
        lines["customer_id"].isna().to_numpy(),
        lines["product"].str.upper().isin(_CODES).to_numpy(dtype=bool, na_value=False),
    ]
    open_ = np.ones(len(lines), dtype=bool)
    for code, mask in enumerate(early):
        hit = open_ & mask
        codes[hit] = code
        open_ &= ~hit
    rest = np.flatnonzero(open_)
    copies = lines.iloc[rest].duplicated(subset=list(SOURCE_FIELDS), keep="first").to_numpy()
    codes[rest[copies]] = REASONS.index("duplicate")
    rest = rest[~copies]
    invoice_c = lines["invoice"].iloc[rest].str.upper().str.startswith("C")
    qty_or_amount = np.where(np.isnan(qty[rest]), amount[rest], qty[rest])
    cancel = invoice_c.to_numpy(dtype=bool, na_value=False) | (qty_or_amount < 0)
    codes[rest[cancel]] = REASONS.index("cancellation")
    rest = rest[~cancel]
    q, p, a = qty[rest], price[rest], amount[rest]
    both = ~np.isnan(q) & ~np.isnan(p)
    non_positive = np.where(both, (q == 0) | (p <= 0), a <= 0)
    codes[rest[non_positive]] = REASONS.index("non_positive")
    return codes


def features_tuned(purchases: pd.DataFrame, returns: pd.DataFrame) -> pd.DataFrame:
    """The feature table (``FEATURE_SCHEMA`` columns) with default options."""
    frame = purchases
    out = frame.groupby("customer_id", sort=True).agg(
        first=("order_date", "min"),
        last=("order_date", "max"),
        gross=("amount", "sum"),
        products=("product", "nunique"),
        product_lines=("product", "count"),
        invoices=("invoice", "nunique"),
    )
    no_invoice = frame[frame["invoice"].isna()]
    uninvoiced = no_invoice.groupby("customer_id")["order_date"].nunique()
    frequency = out["invoices"] + uninvoiced.reindex(out.index, fill_value=0)
    returned = -returns.groupby("customer_id")["amount"].sum()
    returns_value = returned.reindex(out.index, fill_value=0.0).astype(float)
    sizes = frame.groupby(["customer_id", "country"], sort=False).size().rename("n").reset_index()
    sizes = sizes.sort_values(["customer_id", "n", "country"], ascending=[True, False, True])
    country = sizes.drop_duplicates("customer_id").set_index("customer_id")["country"]
    out["first"], out["last"] = out["first"].dt.normalize(), out["last"].dt.normalize()
    gross = out["gross"]
    net = gross - returns_value
    scale = np.maximum(gross.abs(), returns_value.abs())
    monetary = net.where(net.abs() > NET_TOLERANCE * scale, 0.0)
    analysis = out["last"].max() + pd.Timedelta(days=1)
    excluded = monetary <= 0
    table = pd.DataFrame(
        {
            "customer_id": out.index,
            "recency_days": (analysis - out["last"]).dt.days,
            "tenure_days": (analysis - out["first"]).dt.days,
            "frequency": frequency,
            "gross": gross,
            "returns_value": returns_value,
            "monetary": monetary,
            "avg_order_value": monetary / frequency,
            "n_products": out["products"].where(out["product_lines"] > 0, None),
            "avg_days_between_orders": (
                (out["last"] - out["first"]).dt.days / (frequency - 1)
            ).where(frequency > 1, None),
            "return_rate": (returns_value / gross).where(gross > 0, None),
            "country": country.reindex(out.index),
            "first_purchase": out["first"].dt.date,
            "last_purchase": out["last"].dt.date,
            "excluded": excluded,
            "exclusion_reason": pd.Series(EXCLUDED_NET, index=out.index).where(excluded, None),
        }
    )
    return table.reset_index(drop=True)[list(FEATURE_SCHEMA)]


def clean_and_features(lines: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The feature table and the audit's figures of normalized lines."""
    codes = reason_codes(lines)
    reason = pd.Categorical.from_codes(codes, categories=[*REASONS, "kept"])
    by_reason = lines["amount"].groupby(reason, observed=False).agg(["size", "sum"])
    firsts = {name: np.flatnonzero(codes == i)[:SAMPLE_SIZE] for i, name in enumerate(REASONS)}
    sample_lines = lines.iloc[np.concatenate(list(firsts.values()))]
    kept = codes == KEPT
    purchases = lines[kept]
    returns = lines[codes == REASONS.index("cancellation")]
    table = features_tuned(purchases, returns)
    assert len(sample_lines) <= SAMPLE_SIZE * len(REASONS)
    audit = {
        "rows_in": len(lines),
        "rows_kept": int(by_reason.loc["kept", "size"]),
        "revenue_kept": float(by_reason.loc["kept", "sum"]),
        "customers_in": int(lines["customer_id"].nunique()),
        "customers_out": len(table),
        "dropped": {r: int(by_reason.loc[r, "size"]) for r in REASONS},
        "revenue": {r: float(by_reason.loc[r, "sum"]) for r in REASONS},
        "samples": {r: lines["source_row"].iloc[firsts[r]].tolist() for r in REASONS},
    }
    return table, audit
