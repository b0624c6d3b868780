"""Customer segmentation core: pure Polars / scikit-learn library (never imports dash or plotly).

Data flows one way: file -> LazyFrame (``core.io``) -> mapped, typed frame (``core.schema``)
-> audit + clean frames (``core.cleaning``) -> customer features (``core.features``)
-> RFM scores and named segments (``core.rfm``) -> clustering (``core.clustering``).
"""

__version__ = "0.1.0"
