"""``custseg features --engine spark`` against a real standalone cluster (a master and two
workers, each its own JVM) gives exactly the Polars engine's feature table and audit JSON:
on the real UCI file and on a generated file with every awkward case. The command runs in a
child process, as a user runs it (the real file with ``custseg ... --spark-master``, the
generated one through ``spark-submit`` and core/spark/submit.py): its own driver, executors
in the workers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from core.cli import main
from core.generator import write_transactions
from tests.spark.cluster import spark_env
from tests.spark.parity import assert_same_audit, assert_same_table


def _features(
    source: Path, folder: Path, *command: str, extra: tuple[str, ...] = ()
) -> tuple[pl.DataFrame, dict[str, object], str]:
    """Run ``features`` in this process, or (``command``: the launcher) in a child process
    with the cluster's environment; the table, the audit and the child's stdout + stderr."""
    out, audit = folder / "features.parquet", folder / "audit.json"
    argv = ["features", str(source), "--out", str(out), "--audit", str(audit), *extra]
    if command:
        env = spark_env(folder)
        # spark-submit starts the driver with PYSPARK_DRIVER_PYTHON (else python3): this one.
        env["PYSPARK_PYTHON"] = env["PYSPARK_DRIVER_PYTHON"] = sys.executable
        done = subprocess.run(
            [*command, *argv],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        output = done.stdout + done.stderr
    else:
        assert main(argv) == 0
        output = ""
    return pl.read_parquet(out), json.loads(audit.read_text()), output


def _compare(
    source: Path, tmp_path: Path, url: str, command: tuple[str, ...], extra: tuple[str, ...] = ()
) -> dict[str, object]:
    """The Spark engine's table and audit, run by ``command`` on the cluster at ``url``, are
    the Polars engine's; the command says it ran on that master."""
    (tmp_path / "polars").mkdir()
    (tmp_path / "spark").mkdir()
    want, want_audit, _ = _features(source, tmp_path / "polars")
    got, got_audit, output = _features(
        source, tmp_path / "spark", *command, extra=("--engine", "spark", *extra)
    )
    assert_same_table(got, want)
    assert_same_audit(got_audit, want_audit)
    assert f"on Spark master {url}; wrote " in output
    assert "Traceback" not in output
    return got_audit


@pytest.mark.realdata
def test_real_file_on_the_standalone_cluster(
    spark_cluster: str, real_data_path: Path, tmp_path: Path
) -> None:
    custseg = (sys.executable, "-m", "core.cli")
    audit = _compare(
        real_data_path, tmp_path, spark_cluster, custseg, ("--spark-master", spark_cluster)
    )
    assert audit["customers"] == 4334
    assert audit["excluded"] == 14


def test_generated_file_through_spark_submit(spark_cluster: str, tmp_path: Path) -> None:
    """spark-submit (pyspark's own launcher) runs core/spark/submit.py, the file the README
    gives; without --spark-master the command runs on the master spark-submit was given."""
    source = tmp_path / "lines.parquet"
    write_transactions(source, customers=300, seed=16)
    import pyspark

    import core.spark.submit

    submit = Path(pyspark.__file__).parent / "bin" / "spark-submit"
    command = (str(submit), "--master", spark_cluster, core.spark.submit.__file__)
    audit = _compare(source, tmp_path, spark_cluster, command)
    assert audit["duplicate"] > 0
    assert audit["cancellation"] > 0
