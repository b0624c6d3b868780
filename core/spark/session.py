"""Getting a SparkSession for ``--spark-master``, with a clear message when Spark is missing."""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING

from core.errors import ConfigError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEFAULT_MASTER = "local[2]"
_CONNECT_PREFIX = "sc://"
# Set by spark-submit (and pyspark's shells) for the Python driver it starts.
_SUBMIT_GATEWAY = "PYSPARK_GATEWAY_PORT"


def require_spark() -> None:
    """pyspark is importable, else a clear error saying how to install it."""
    try:
        import pyspark  # noqa: F401, PLC0415 (optional dependency)
    except ImportError as error:
        raise ConfigError(
            "--engine spark needs pyspark, which is not installed.",
            "pip install 'custseg[spark]' and a Java 17 runtime "
            "(Debian: openjdk-17-jre-headless).",
        ) from error


def get_session(master: str | None = DEFAULT_MASTER, *, app_name: str = "custseg") -> SparkSession:
    """The SparkSession for ``master``: ``local[N]``, ``spark://HOST:PORT`` (a standalone
    cluster) or ``sc://HOST:PORT`` (Spark Connect); None: the master spark-submit gave (its
    ``--master``), else :data:`DEFAULT_MASTER`. An active session for the same master is
    reused. The web UI and the console progress bar are off, the session time zone is UTC
    (the engine's dates are wall-clock times) and, in local mode, shuffles use 8
    partitions; on a cluster Spark's own default (200, coalesced by adaptive execution) or
    the user's ``spark.sql.shuffle.partitions`` applies."""
    require_spark()
    from pyspark.sql import SparkSession  # noqa: PLC0415 (optional dependency)

    if master is not None and master.startswith(_CONNECT_PREFIX):
        return SparkSession.builder.remote(master).appName(app_name).getOrCreate()
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise ConfigError(
            "--engine spark needs a Java runtime (17 or 21) and none is on PATH.",
            "Install one, for example: apt-get install openjdk-17-jre-headless.",
        )
    builder = SparkSession.builder.appName(app_name)
    if master is None and _SUBMIT_GATEWAY not in os.environ:  # spark-submit sets the master
        master = DEFAULT_MASTER
    if master is not None:
        builder = builder.master(master)
    if master is not None and master.startswith("local"):
        # A few cores: Spark's 200 shuffle partitions would be mostly scheduling overhead.
        builder = builder.config("spark.sql.shuffle.partitions", "8")
    return (
        builder.config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )


def running_master(spark: SparkSession) -> str:
    """The master ``spark`` runs on: the one asked for, or the one spark-submit gave."""
    return str(spark.conf.get("spark.master"))


def active_master() -> str | None:
    """The master of this thread's active session (:func:`running_master`), None without one."""
    from pyspark.sql import SparkSession  # noqa: PLC0415 (optional dependency)

    spark = SparkSession.getActiveSession()
    return None if spark is None else running_master(spark)
