"""Getting a SparkSession for ``--spark-master``, with a clear message when Spark is missing."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from core.errors import ConfigError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEFAULT_MASTER = "local[2]"
_CONNECT_PREFIX = "sc://"


def _require_spark() -> None:
    try:
        import pyspark  # noqa: F401, PLC0415 (optional dependency)
    except ImportError as error:
        raise ConfigError(
            "--engine spark needs pyspark, which is not installed.",
            "pip install 'custseg[spark]' and a Java 17 runtime "
            "(Debian: openjdk-17-jre-headless).",
        ) from error


def get_session(master: str = DEFAULT_MASTER, *, app_name: str = "custseg") -> SparkSession:
    """The SparkSession for ``master``: ``local[N]``, ``spark://HOST:PORT`` (a standalone
    cluster) or ``sc://HOST:PORT`` (Spark Connect). An active session for the same master is
    reused. The web UI is off and shuffles use few partitions unless the caller's Spark
    configuration (spark-defaults, spark-submit) says otherwise."""
    _require_spark()
    from pyspark.sql import SparkSession  # noqa: PLC0415 (optional dependency)

    if master.startswith(_CONNECT_PREFIX):
        return SparkSession.builder.remote(master).appName(app_name).getOrCreate()
    if shutil.which("java") is None:
        raise ConfigError(
            "--engine spark needs a Java runtime (17 or 21) and none is on PATH.",
            "Install one, for example: apt-get install openjdk-17-jre-headless.",
        )
    return (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
