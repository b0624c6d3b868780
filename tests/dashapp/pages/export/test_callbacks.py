"""Export page callbacks: the lists equal the segments' members in every format, CSV is
neutralised, the bundle's config reproduces the list (through the command line), the HTML report
is self-contained and escapes user text."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import json
import shlex
import zipfile
from pathlib import Path
from typing import Any

import flask
import openpyxl
import polars as pl
import pytest
from dash import Dash, no_update
from dash.exceptions import PreventUpdate

from core.cleaning import CleaningConfig
from core.cli import main as cli_main
from core.columns import CUSTOMER
from dashapp.pages.export import callbacks as page
from dashapp.pages.export import ids
from dashapp.pages.export import view as ex
from dashapp.pages.segments.grid import members_frame
from dashapp.services import AppServices, get_services
from dashapp.shared import ids as app_ids
from dashapp.shared.loading import session_table
from dashapp.shared.modeling import (
    ModelSettings,
    SessionModel,
    fit,
    rename_segment,
    with_segment,
    with_settings,
)
from dashapp.state import SessionState
from tests.dashapp.helpers import as_json, texts

pytestmark = pytest.mark.usefixtures("app_ctx")


def members(model: SessionModel, segments: list[int]) -> set[str]:
    seg = model.result.segmentation
    mask = pl.Series(seg.labels).is_in(segments).to_numpy()
    return set(seg.customer_ids[mask].tolist())


def read_back(content: bytes, fmt: str) -> pl.DataFrame:
    if fmt == "csv":
        return pl.read_csv(io.BytesIO(content), schema_overrides={CUSTOMER: pl.String})
    if fmt == "parquet":
        return pl.read_parquet(io.BytesIO(content))
    return pl.read_excel(io.BytesIO(content), schema_overrides={CUSTOMER: pl.String})


def downloaded(sent: dict[str, Any]) -> bytes:
    """The bytes ``dcc.send_bytes`` hands to the browser."""
    assert sent["base64"] is True
    return base64.b64decode(sent["content"])


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
@pytest.mark.parametrize("segments", [[0], [1, 3], [0, 1, 2, 3]])
def test_exported_rows_are_exactly_the_segment_members(
    state: SessionState, model: SessionModel, fmt: str, segments: list[int]
) -> None:
    sent, alert = page.download_list(1, segments, fmt, state.to_json())
    assert alert == []
    assert sent["filename"].endswith(f".{fmt}")
    back = read_back(downloaded(sent), fmt)
    assert back.height == len(members(model, segments))
    assert set(back[CUSTOMER]) == members(model, segments)
    assert back[CUSTOMER].is_unique().all()
    expected = model.result.assignments().select(CUSTOMER, "segment", "segment_name")
    joined = back.select(CUSTOMER, "segment", "segment_name").join(
        expected, on=CUSTOMER, suffix="_model"
    )
    assert (joined["segment"] == joined["segment_model"]).all()
    assert (joined["segment_name"] == joined["segment_name_model"]).all()
    # Features come through unchanged.
    features = model.table.features.select(CUSTOMER, "monetary", "frequency")
    check = back.select(CUSTOMER, "monetary", "frequency").join(features, on=CUSTOMER, suffix="_f")
    assert (check["frequency"] == check["frequency_f"]).all()
    assert ((check["monetary"] - check["monetary_f"]).abs() < 1e-6).all()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_exported_money_equals_what_the_screens_show(
    state: SessionState, model: SessionModel, fmt: str
) -> None:
    # The lists carried float noise (343.99999999999994) where the screens show 344.00.
    everyone = list(range(model.result.k))
    raw = model.table.features
    # Sums of money are exact to the cent (core.money.exact_sum); ratios are not.
    assert (raw["avg_order_value"] != raw["avg_order_value"].round(2)).any()
    sent, _ = page.download_list(1, everyone, fmt, state.to_json())
    back = read_back(downloaded(sent), fmt)
    money = ("gross", "returns_value", "monetary", "avg_order_value")
    # The Segments grid: its values formatted as d3.format(',.2f') shows them.
    grid = members_frame(model.result, raw).select(CUSTOMER, "monetary", "avg_order_value")
    joined = back.join(grid, on=CUSTOMER, suffix="_grid")
    assert joined.height == back.height
    for column in ("monetary", "avg_order_value"):
        shown = [float(f"{v:.2f}") for v in joined[f"{column}_grid"]]
        assert joined[column].to_list() == shown
    # The Export page's preview: its first rows as text.
    listed = page._features(state, get_services(), model)  # with the predicted value
    preview = ex.list_preview(ex.export_frame(model.result, listed, everyone), everyone)
    shown = back.select(preview.columns).head(len(preview.head))
    for row, values in zip(preview.head, shown.iter_rows(), strict=True):
        for column, text, value in zip(preview.columns, row, values, strict=True):
            if column in money:
                assert float(text.replace(",", "")) == value, column
    if fmt == "csv":  # written with two decimals, never more
        text = pl.read_csv(io.BytesIO(downloaded(sent)), infer_schema=False)
        for column in money:
            assert text[column].str.contains(r"^-?\d+\.\d\d$").all(), column


def test_csv_neutralises_formulas_and_xlsx_keeps_text(
    state: SessionState, model: SessionModel, services: AppServices
) -> None:
    rename_segment(model, services, state, 1, '=HYPERLINK("http://x","win")')
    sent, _ = page.download_list(1, [1], "csv", state.to_json())
    back = read_back(downloaded(sent), "csv")
    assert set(back["segment_name"]) == {'\'=HYPERLINK("http://x","win")'}
    sent, _ = page.download_list(1, [1], "xlsx", state.to_json())
    sheet = openpyxl.load_workbook(io.BytesIO(downloaded(sent))).active
    header = [c.value for c in sheet[1]]
    cell = sheet.cell(row=2, column=header.index("segment_name") + 1)
    assert cell.data_type == "s"  # a string, not a formula
    assert cell.value == '=HYPERLINK("http://x","win")'


def test_refused_choices_are_explained(state: SessionState, model: SessionModel) -> None:
    _sent, alert = page.download_list(1, [], "csv", state.to_json())
    assert "no segment is chosen" in texts(as_json(alert))
    _sent, alert = page.download_list(1, [0, 7], "csv", state.to_json())
    assert "there is no segment 7" in texts(as_json(alert))
    sent, alert = page.download_list(1, [0], "xlsb", state.to_json())
    assert sent is no_update
    assert "unknown export format" in texts(as_json(alert))
    with pytest.raises(PreventUpdate):
        page.download_list(None, [0], "csv", state.to_json())


def test_render_ticks_the_selected_segment_and_preview_counts(
    state: SessionState, model: SessionModel
) -> None:
    out = page.render(with_segment(state, 2).to_json())
    assert out["ticked_segments"] == [2]
    assert [o["value"] for o in out["segment_options"]] == [0, 1, 2, 3]
    out = page.render(state.to_json())
    assert out["ticked_segments"] == [0, 1, 2, 3]
    assert out["alert"] == []
    assert f"{model.result.k} segments of" in texts(as_json(out["summary"]))
    count, _preview = page.preview([0, 2], "csv", state.to_json())
    assert f"{len(members(model, [0, 2])):,}" in texts(as_json(count))


def test_render_answers_a_browser_request_by_output(
    app: Dash, server: flask.Flask, state: SessionState, model: SessionModel
) -> None:
    """The named outputs reach the right components: one request as the browser posts it."""
    key, entry = next(
        (k, v) for k, v in app.callback_map.items() if f"{ids.EXPORT_SUMMARY}.children" in k
    )
    body = {
        "output": key,
        "outputs": [
            {"id": o.component_id, "property": o.component_property} for o in entry["output"]
        ],
        "inputs": [{**entry["inputs"][0], "value": state.to_json()}],
        "state": [],
        "changedPropIds": [f"{app_ids.SESSION}.data"],
    }
    response = server.test_client().post("/_dash-update-component", json=body)
    assert response.status_code == 200
    shown = response.get_json()["response"]
    assert shown[ids.EXPORT_SEGMENTS]["value"] == [0, 1, 2, 3]
    assert [o["value"] for o in shown[ids.EXPORT_SEGMENTS]["options"]] == [0, 1, 2, 3]
    assert f"{model.result.k} segments of" in texts(shown[ids.EXPORT_SUMMARY]["children"])
    assert shown[ids.EXPORT_ALERT]["children"] == []


def test_bundle_config_reproduces_the_list(
    state: SessionState,
    services: AppServices,
    small_default: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = ModelSettings(features=("recency_days", "frequency", "monetary"), k=5, seed=3)
    chosen = with_settings(state, settings)
    table = session_table(chosen, services)
    result = fit(table, settings, services, chosen)
    sent, _ = page.download_bundle(1, [1, 4], "parquet", chosen.to_json())
    archive = zipfile.ZipFile(io.BytesIO(downloaded(sent)))
    assert sorted(archive.namelist()) == [
        "README.txt",
        "config.json",
        "customers.parquet",
        "segments.json",
    ]
    data = archive.read("customers.parquet")
    config = json.loads(archive.read("config.json"))
    assert config["list"] == {
        "format": "parquet",
        "rows": len(pl.read_parquet(io.BytesIO(data))),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    assert config["data"]["file_sha256"] == hashlib.sha256(small_default.read_bytes()).hexdigest()
    assert config["data"]["data_key"] == table.key
    assert config["preprocess"]["features"] == list(settings.features)
    assert config["model"]["k"] == 5
    assert config["model"]["random_state"] == 3
    assert config["seed"] == 3
    assert config["result_key"] == result.key
    assert config["mapping"]["customer"] == "CustomerID"
    default = json.loads(json.dumps(dataclasses.asdict(CleaningConfig()), default=str))
    assert config["cleaning"] == default
    listed = pl.read_parquet(io.BytesIO(data))
    seg = result.segmentation
    assert set(listed[CUSTOMER]) == set(seg.customer_ids[(seg.labels == 1) | (seg.labels == 4)])
    report = json.loads(archive.read("segments.json"))
    assert [s["customers"] for s in report["segments"]] == [p.customers for p in result.profiles]

    # The recorded command computes the same segments from the file.
    command = shlex.split(config["reproduce"]["command"])
    out = tmp_path / "segments.csv"
    command[2] = str(small_default)
    command[command.index("--out") + 1] = str(out)
    assert cli_main(command[1:]) == 0
    capsys.readouterr()
    cli = pl.read_csv(out, schema_overrides={CUSTOMER: pl.String}).select(CUSTOMER, "segment")
    joined = listed.select(CUSTOMER, "segment").join(cli, on=CUSTOMER, suffix="_cli")
    assert joined.height == listed.height
    assert (joined["segment"] == joined["segment_cli"]).all()


def test_bundle_says_when_the_command_line_cannot_reproduce(
    state: SessionState, services: AppServices
) -> None:
    changed = state.evolve(cleaning={**state.cleaning, "duplicate": False})
    sent, alert = page.download_bundle(1, [0], "csv", changed.to_json())
    assert alert == []
    config = json.loads(zipfile.ZipFile(io.BytesIO(downloaded(sent))).read("config.json"))
    assert config["reproduce"]["command"] is None
    assert "default rules" in config["reproduce"]["note"]
    assert config["cleaning"]["duplicate"] is False


def test_html_report_is_self_contained_and_escapes_names(
    state: SessionState, model: SessionModel, services: AppServices
) -> None:
    rename_segment(model, services, state, 0, "</script><script>alert(1)</script>")
    sent, alert = page.download_report(1, state.to_json())
    assert alert == []
    assert sent["filename"].endswith(".html")
    page_html = sent["content"]
    assert "<script>alert(1)</script>" not in page_html
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page_html
    assert 'src="http' not in page_html  # nothing loaded from a CDN: works offline
    assert page_html.count("Plotly.newPlot") >= 4  # sizes, projection, heatmap, k, stability
    assert page_html.count("plotly.js v") == 1  # the library inlined once
    for name in model.result.names[1:]:
        assert name in page_html
    assert "Choosing k" in page_html
    assert "Stability per segment" in page_html
