"""The session helper gives a working local session with the settings the engine relies on."""

from __future__ import annotations


def test_local_session_runs_a_job_in_utc(spark) -> None:
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert spark.range(10).selectExpr("sum(id) AS s").collect()[0]["s"] == 45
