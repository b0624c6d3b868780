"""The default segmentation settings: the app's Model page opens on them and ``custseg segment``
uses them for every option left out, so both give the same segments for the same data.

Plain constants without imports: the command line reads them while building its parser, which
must not load NumPy or Polars (``custseg --help`` stays instant).
"""

from __future__ import annotations

from typing import Final

DEFAULT_FEATURES: Final[tuple[str, ...]] = ("recency_days", "frequency", "monetary")
DEFAULT_SCALER: Final = "standard"
DEFAULT_ALGORITHM: Final = "kmeans"
DEFAULT_K: Final = 4
DEFAULT_LINKAGE: Final = "ward"
DEFAULT_SEED: Final = 0
DEFAULT_STABILITY_REFITS: Final = 10  # bootstrap refits rating stability (0 skips)
