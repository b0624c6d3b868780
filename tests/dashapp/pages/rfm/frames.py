"""A hand-made RFM feature table for the RFM page's tests."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from core.columns import CUSTOMER


def features(n: int = 25, *, excluded: int = 0, seed: int = 0) -> pl.DataFrame:
    """``n`` customers with distinct R, F, M values; the last ``excluded`` are excluded."""
    rng = np.random.default_rng(seed)
    flags = [False] * (n - excluded) + [True] * excluded
    return pl.DataFrame(
        {
            CUSTOMER: [f"C{i:03d}" for i in range(n)],
            "recency_days": rng.permutation(n) + 1,
            "tenure_days": [365] * n,
            "frequency": rng.permutation(n) + 1,
            "monetary": [
                (-1.0 if flag else float(v))
                for flag, v in zip(flags, rng.permutation(n) + 10, strict=True)
            ],
            "excluded": flags,
            "exclusion_reason": ["net monetary <= 0" if f else None for f in flags],
            # A year of history, so only the customer count can trigger a warning.
            "first_purchase": [dt.date(2011, 1, 1)] * n,
            "last_purchase": [dt.date(2011, 12, 1)] * n,
        },
        schema={
            CUSTOMER: pl.String(),
            "recency_days": pl.Int64(),
            "tenure_days": pl.Int64(),
            "frequency": pl.Int64(),
            "monetary": pl.Float64(),
            "excluded": pl.Boolean(),
            "exclusion_reason": pl.String(),
            "first_purchase": pl.Date(),
            "last_purchase": pl.Date(),
        },
    )
