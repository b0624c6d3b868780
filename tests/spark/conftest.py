"""One SparkSession (``local[2]``) for the whole test run, shared by every test under
``tests/spark`` (all marked ``spark``), and a real standalone cluster (``spark_cluster``: a
master and two workers on loopback, :mod:`tests.spark.cluster`), which the tests reach
through the command line in a child process (its own driver: one SparkContext per
process). pyspark and Java come from ``tools/test.sh``; where either is missing the tests
are skipped with the reason (a failure in CI)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.conftest import missing

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

SPARK_DIR = __file__.rsplit("/", 1)[0]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if str(item.fspath).startswith(SPARK_DIR):
            item.add_marker(pytest.mark.spark)


def _require_spark() -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        missing("pyspark is not installed (pip install 'custseg[spark]'; tools/test.sh does)")
    if shutil.which("java") is None:
        missing("no Java runtime on PATH (tools/test.sh installs openjdk-17-jre-headless)")


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``spark://127.0.0.1:PORT`` of a standalone master with two registered workers."""
    _require_spark()
    from tests.spark.cluster import standalone_cluster

    with standalone_cluster(tmp_path_factory.mktemp("spark-cluster")) as url:
        yield url


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    _require_spark()
    from core.spark.session import get_session

    # colour-science (imported by tests/dashapp/shared/test_palette.py) puts a MagicMock in
    # sys.modules["matplotlib"] when matplotlib is missing; pyspark asks importlib for
    # matplotlib's spec while the session starts, which raises ValueError on that stand-in.
    stand_in = sys.modules.get("matplotlib")
    if stand_in is not None and getattr(stand_in, "__spec__", None) is None:
        del sys.modules["matplotlib"]
    try:
        session = get_session("local[2]", app_name="custseg-tests")
    finally:
        if stand_in is not None:
            sys.modules.setdefault("matplotlib", stand_in)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
