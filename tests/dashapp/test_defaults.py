"""The app and ``custseg segment`` share one set of defaults (:mod:`core.clustering.defaults`):
the command line without options computes the segments the Model page opens on."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from core.cli import main as cli_main
from core.columns import CUSTOMER
from dashapp.shared.modeling import ModelSettings, SessionModel

pytestmark = pytest.mark.usefixtures("app_ctx")


def test_segment_without_options_gives_the_apps_default_segments(
    model: SessionModel, small_default: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert model.settings == ModelSettings()  # what the Model page opens on
    out = tmp_path / "segments.csv"
    assert cli_main(["segment", str(small_default), "--out", str(out)]) == 0
    capsys.readouterr()
    cli = pl.read_csv(out, schema_overrides={CUSTOMER: pl.String})
    clustered = cli.filter(~pl.col("excluded")).select(CUSTOMER, "segment")
    assert clustered["segment"].n_unique() == model.result.k
    assert clustered.equals(model.result.assignments().select(CUSTOMER, "segment"))
