"""Synthetic customer feature tables (FEATURE_SCHEMA) drawn to look like real RFM data.

Used by the clustering benchmarks: generating 1,000,000 customers' transactions with
``core.generator`` and cleaning them takes minutes, while the models only see the feature
table. Customers belong to latent groups (champions, loyal, new, at risk, hibernating) whose
recency, order count and order value follow gamma / geometric / log-normal laws with the
skew and the correlations of the UCI Online Retail customers (frequency 1 for about a third,
spend heavy-tailed, recent customers ordering more).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from core.columns import FEATURE_SCHEMA

# group: (share, recency mean days, mean extra orders, log order value mean)
_GROUPS: tuple[tuple[float, float, float, float], ...] = (
    (0.10, 10.0, 12.0, 6.2),  # champions
    (0.20, 40.0, 4.0, 5.9),  # loyal
    (0.15, 20.0, 0.3, 5.6),  # new
    (0.20, 120.0, 2.0, 5.8),  # at risk
    (0.35, 220.0, 0.2, 5.4),  # hibernating
)
_COUNTRIES = ("United Kingdom", "Germany", "France", "EIRE", "Spain", "Netherlands")
_COUNTRY_P = (0.89, 0.03, 0.03, 0.02, 0.02, 0.01)
ANALYSIS_DATE = dt.date(2011, 12, 10)


def synthetic_features(n: int, *, seed: int = 0) -> pl.DataFrame:
    """A FEATURE_SCHEMA table of ``n`` customers (ids ``S0000001``...), sorted by id."""
    rng = np.random.default_rng(seed)
    shares = np.array([g[0] for g in _GROUPS])
    group = rng.choice(len(_GROUPS), size=n, p=shares / shares.sum())
    rec_mean = np.array([g[1] for g in _GROUPS])[group]
    extra = np.array([g[2] for g in _GROUPS])[group]
    log_aov = np.array([g[3] for g in _GROUPS])[group]
    recency = np.minimum(np.round(rng.gamma(1.5, rec_mean / 1.5)), 373).astype(np.int64)
    frequency = 1 + rng.poisson(rng.gamma(1.0, np.maximum(extra, 1e-9)))
    frequency = frequency.astype(np.int64)
    gaps = rng.gamma(2.0, 20.0, size=n)
    tenure = np.minimum(recency + np.round((frequency - 1) * gaps), 373).astype(np.int64)
    aov = np.exp(rng.normal(log_aov, 0.7))
    gross = np.round(aov * frequency, 2)
    returned = np.where(rng.random(n) < 0.3, np.round(gross * rng.beta(1, 12, size=n), 2), 0.0)
    # About 0.3% returned everything: excluded from clustering, as in the real data.
    returned = np.where(rng.random(n) < 0.003, gross, returned)
    monetary = np.round(gross - returned, 2)
    days_between = np.where(
        frequency > 1, (tenure - recency) / np.maximum(frequency - 1, 1), np.nan
    )
    n_products = np.maximum(1, np.round(frequency * rng.gamma(3.0, 6.0, size=n))).astype(np.int64)
    country = np.array(_COUNTRIES)[rng.choice(len(_COUNTRIES), size=n, p=_COUNTRY_P)]
    excluded = monetary <= 0
    last = np.datetime64(ANALYSIS_DATE) - recency.astype("timedelta64[D]")
    first = np.datetime64(ANALYSIS_DATE) - tenure.astype("timedelta64[D]")
    frame = pl.DataFrame(
        {
            "customer_id": pl.int_range(1, n + 1, eager=True).cast(pl.String).str.zfill(7),
            "recency_days": recency,
            "tenure_days": tenure,
            "frequency": frequency,
            "gross": gross,
            "returns_value": returned,
            "monetary": monetary,
            "avg_order_value": monetary / frequency,
            "n_products": n_products,
            "avg_days_between_orders": days_between,
            "return_rate": np.where(gross > 0, returned / gross, np.nan),
            "country": country,
            "first_purchase": first,
            "last_purchase": last,
            "excluded": excluded,
        }
    ).with_columns(
        ("S" + pl.col("customer_id")).alias("customer_id"),
        pl.col("avg_days_between_orders").fill_nan(None),
        pl.col("return_rate").fill_nan(None),
        pl.when(pl.col("excluded"))
        .then(pl.lit("net monetary value <= 0"))
        .otherwise(None)
        .alias("exclusion_reason"),
    )
    return frame.select([pl.col(c).cast(t) for c, t in FEATURE_SCHEMA.items()])
