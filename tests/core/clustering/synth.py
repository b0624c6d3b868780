"""Synthetic customer feature tables for the clustering tests (FEATURE_SCHEMA columns)."""

from __future__ import annotations

import numpy as np
import polars as pl
from sklearn.datasets import make_blobs

from core.columns import FEATURE_SCHEMA, NUMERIC_FEATURES


def feature_table(
    values: dict[str, np.ndarray],
    *,
    ids: list[str] | None = None,
    excluded: np.ndarray | None = None,
) -> pl.DataFrame:
    """A FEATURE_SCHEMA frame with the given numeric columns (others filled plausibly)."""
    n = len(next(iter(values.values())))
    ids = ids if ids is not None else [f"C{i:06d}" for i in range(n)]
    cols: dict[str, object] = {}
    for name, dtype in FEATURE_SCHEMA.items():
        if name == "customer_id":
            cols[name] = ids
        elif name in values:
            cols[name] = values[name]
        elif name in NUMERIC_FEATURES:
            cols[name] = np.ones(n) if dtype == pl.Float64() else np.ones(n, dtype=np.int64)
        elif name == "country":
            cols[name] = ["United Kingdom"] * n
        elif name in ("first_purchase", "last_purchase"):
            cols[name] = [None] * n
        elif name == "excluded":
            cols[name] = excluded if excluded is not None else np.zeros(n, dtype=bool)
        else:
            cols[name] = [None] * n
    frame = pl.DataFrame(cols)
    return frame.with_columns([pl.col(c).cast(t) for c, t in FEATURE_SCHEMA.items()]).select(
        list(FEATURE_SCHEMA)
    )


def blob_table(
    n: int = 600,
    *,
    centers: int = 4,
    std: float = 0.4,
    seed: int = 0,
    features: tuple[str, ...] = ("recency_days", "frequency", "monetary"),
) -> tuple[pl.DataFrame, np.ndarray]:
    """Well-separated Gaussian blobs as float features (no log: log=() in the configs).

    Returns the table and the true blob of each row.
    """
    x, y = make_blobs(
        n_samples=n,
        centers=centers,
        n_features=len(features),
        cluster_std=std,
        center_box=(-10.0, 10.0),
        random_state=seed,
    )
    values: dict[str, np.ndarray] = {}
    for j, f in enumerate(features):
        col = x[:, j]
        is_int = FEATURE_SCHEMA[f] == pl.Int64()
        values[f] = np.round(col * 1000).astype(np.int64) if is_int else col
    return feature_table(values), y


def cdnow_like(n: int = 3000, *, seed: int = 0, span: int = 545) -> pl.DataFrame:
    """CDNOW's shape: every customer arrives in the first quarter of 18 months, half buy once."""
    rng = np.random.default_rng(seed)
    first = rng.integers(0, 85, n)
    extra = np.where(rng.random(n) < 0.5, 0, rng.geometric(0.35, n))
    last = first.copy()
    for i in np.flatnonzero(extra):
        last[i] = min(span - 1, first[i] + int(rng.exponential(60, extra[i]).sum()))
    frequency = 1 + extra
    return feature_table(
        {
            "recency_days": span - last,
            "tenure_days": span - first,
            "frequency": frequency,
            "monetary": np.round(frequency * rng.lognormal(3.0, 0.8, n), 2),
        }
    )
