"""``custseg features --engine spark`` against a real standalone cluster (a master and two
workers, each its own JVM) gives exactly the Polars engine's feature table and audit JSON:
on the real UCI file and on a generated file with every awkward case. The command runs in a
child process, as a user runs it: its own driver, executors in the workers."""

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
    source: Path, folder: Path, *extra: str
) -> tuple[pl.DataFrame, dict[str, object], str]:
    out, audit = folder / "features.parquet", folder / "audit.json"
    argv = ["features", str(source), "--out", str(out), "--audit", str(audit), *extra]
    if extra:
        done = subprocess.run(
            [sys.executable, "-m", "core.cli", *argv],
            capture_output=True,
            text=True,
            env=spark_env(folder),
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        stderr = done.stderr
    else:
        assert main(argv) == 0
        stderr = ""
    return pl.read_parquet(out), json.loads(audit.read_text()), stderr


def _compare(source: Path, tmp_path: Path, url: str) -> dict[str, object]:
    (tmp_path / "polars").mkdir()
    (tmp_path / "spark").mkdir()
    want, want_audit, _ = _features(source, tmp_path / "polars")
    got, got_audit, stderr = _features(
        source, tmp_path / "spark", "--engine", "spark", "--spark-master", url
    )
    assert_same_table(got, want)
    assert_same_audit(got_audit, want_audit)
    assert "Traceback" not in stderr
    return got_audit


@pytest.mark.realdata
def test_real_file_on_the_standalone_cluster(
    spark_cluster: str, real_data_path: Path, tmp_path: Path
) -> None:
    audit = _compare(real_data_path, tmp_path, spark_cluster)
    assert audit["customers"] == 4334
    assert audit["excluded"] == 14


def test_generated_file_on_the_standalone_cluster(spark_cluster: str, tmp_path: Path) -> None:
    source = tmp_path / "lines.parquet"
    write_transactions(source, customers=300, seed=16)
    audit = _compare(source, tmp_path, spark_cluster)
    assert audit["duplicate"] > 0
    assert audit["cancellation"] > 0
