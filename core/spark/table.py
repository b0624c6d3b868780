"""``custseg features --engine spark``: the customer table of files read by Spark.

The result is a :class:`core.pipeline.CustomerTable` (feature table, audit, analysis date,
read and mapping reports), so the command writes the same files and the same audit JSON
(``CustomerTable.summary``) as with the Polars engine. The per-line work runs where
``master`` says (local threads, a standalone cluster, Spark Connect); the per-customer rows
and the audit come back to this process (the driver), which finishes them with core's code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from core.cache import make_key
from core.cleaning import CleaningConfig
from core.features import FeatureConfig
from core.pipeline import CustomerTable
from core.rfm import sufficiency_warnings
from core.spark.engine import customer_features
from core.spark.session import get_session
from core.spark.source import check_local, input_format, normalized_lines


def spark_customer_table(
    paths: Sequence[str],
    *,
    master: str | None,
    overrides: Mapping[str, str] | None = None,
    date_format: str | None = None,
    decimal_comma: bool | None = None,
    cleaning: CleaningConfig = CleaningConfig(),
    features: FeatureConfig = FeatureConfig(),
) -> CustomerTable:
    """Read ``paths`` (Parquet or CSV files, globs, remote URLs) on Spark and compute the
    audit and the feature table as ``core.pipeline.build_customer_table`` does."""
    input_format(paths)  # bad paths fail before a session starts
    check_local(paths)
    spark = get_session(master)
    lines = normalized_lines(
        spark,
        paths,
        overrides=dict(overrides or {}),
        date_format=date_format,
        decimal_comma=decimal_comma,
    )
    result = customer_features(lines.lines, cleaning=cleaning, features=features)
    return CustomerTable(
        features=result.features,
        audit=result.audit,
        analysis_date=result.analysis_date,
        read=lines.read,
        schema=lines.schema,
        key=make_key("spark_customer_table", list(paths), cleaning, features),
        warnings=tuple(str(w) for w in sufficiency_warnings(result.features)),
    )
