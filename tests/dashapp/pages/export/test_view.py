"""Export view: the segment choices, the list preview, file names, the report's facts and HTML
(pure functions, no Dash)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from core.columns import CUSTOMER
from core.errors import ConfigError
from core.money import money_text
from dashapp.pages.export import view as ex
from dashapp.shared.modeling import SessionModel


def test_parse_refuses_what_is_not_a_segment_or_format(model: SessionModel) -> None:
    with pytest.raises(ConfigError):
        ex.parse_segments([True], model.result)
    with pytest.raises(ConfigError, match="no segment is chosen"):
        ex.parse_segments([], model.result)
    assert ex.parse_segments([3, 0, 3], model.result) == (0, 3)
    with pytest.raises(ConfigError, match="unknown export format"):
        ex.parse_format("xlsb")


def test_segment_choices_tick_the_selected_segment_else_all(model: SessionModel) -> None:
    result = model.result
    choices = ex.segment_choices(result, 2)
    assert choices.ticked == [2]
    assert [c.segment for c in choices.choices] == [0, 1, 2, 3]
    assert [c.customers for c in choices.choices] == [p.customers for p in result.profiles]
    assert [c.name for c in choices.choices] == [result.name_of(s) for s in range(4)]
    assert (choices.k, choices.customers) == (result.k, result.overview.customers)
    assert ex.segment_choices(result, None).ticked == [0, 1, 2, 3]
    assert ex.segment_choices(result, 9).ticked == [0, 1, 2, 3]


def test_list_preview_shows_the_first_rows_as_text(model: SessionModel) -> None:
    frame = ex.export_frame(model.result, model.table.features, (0, 2))
    shown = ex.list_preview(frame, (0, 2))
    assert (shown.rows, shown.segments) == (frame.height, 2)
    assert shown.columns == tuple(frame.columns)
    assert len(shown.head) == min(ex.PREVIEW_ROWS, frame.height)
    assert shown.head[0][frame.columns.index(CUSTOMER)] == frame[CUSTOMER][0]
    assert [ex.cell_text(v) for v in (None, 1234.5, 1 / 3, 7, "a")] == [
        "",
        "1,234.5",
        "0.3333",
        "7",
        "a",
    ]
    monetary = frame.columns.index("monetary")
    assert shown.head[0][monetary] == f"{round(frame['monetary'][0] + 1e-9, 2):,.2f}"


def test_file_names(model: SessionModel) -> None:
    result = model.result
    assert ex.list_filename(result, (1, 3), "csv") == f"segments-2-of-{result.k}.csv"
    assert ex.list_filename(result, (1,), "parquet") == (
        f"segments-{ex.slug(result.name_of(1))}.parquet"
    )
    assert ex.bundle_filename(result, (0, 1)) == f"segments-2-of-{result.k}-bundle.zip"
    assert ex.report_filename(result).startswith("segments-report-")
    assert ex.report_filename(result).endswith(".html")


def test_report_facts_and_html_escape_user_text(model: SessionModel) -> None:
    facts = dict(
        ex.report_facts(
            filename="<b>sales</b>.csv",
            table=model.table,
            settings=model.settings,
            result=model.result,
            selection=None,
            stability=None,
        )
    )
    assert facts["Choice of k"] == "set by the model (HDBSCAN)"
    assert "Stability" not in facts
    assert facts["Data"].startswith("<b>sales</b>.csv · ")
    page = ex.report_html(
        title=ex.report_title("<b>sales</b>.csv"),
        subtitle=ex.report_subtitle(dt.datetime(2024, 5, 1, 9, 30)),
        result=model.result,
        colors=["#000000"] * len(model.result.profiles),
        charts=[("A <chart>", "<div>fragment</div>")],
        facts=list(facts.items()),
    )
    assert "<b>sales</b>" not in page
    assert "Customer segments · &lt;b&gt;sales&lt;/b&gt;.csv" in page
    assert "custseg report generated 2024-05-01 09:30" in page
    assert "<h2>A &lt;chart&gt;</h2>\n<div>fragment</div>" in page
    assert page.count("<tr><td>") == len(model.result.profiles)


def test_export_frame_holds_the_features(model: SessionModel) -> None:
    frame = ex.export_frame(model.result, model.table.features, (1,))
    assert frame[CUSTOMER].is_sorted()
    assert set(frame["segment"]) == {1}
    assert {"segment_name", "monetary", "frequency"} <= set(frame.columns)
    assert frame.height == model.result.profiles[1].customers
    assert isinstance(frame, pl.DataFrame)


def test_report_profile_table_shows_median_spend_to_the_cent(model: SessionModel) -> None:
    # The report rounded the median spend to whole units (1,869) where the files say 1,868.64.
    result = model.result
    rows = ex.profile_rows(result, ["#000000"] * len(result.profiles))
    for profile in result.profiles:
        spend = profile.medians["monetary"]
        assert f'<td class="num">{money_text(spend)}</td>' in rows, spend
