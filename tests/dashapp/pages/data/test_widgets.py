"""Generic builders of the Data page (pure: values in, components out)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from core.columns import ROLES
from dashapp.pages.data import ids, widgets
from dashapp.shared.components import PREVIEW_ROWS
from tests.dashapp.helpers import as_json, find_ids, nodes, table_cells, texts


def test_mapping_form_has_one_dropdown_per_role_prefilled() -> None:
    columns = ["client", "when", "qty", "unit", "sku"]
    mapping = {"customer": "client", "date": "when", "quantity": "qty", "price": "unit"}
    detected = {"date": "when", "quantity": "qty", "price": "unit"}
    tree = as_json(widgets.mapping_form(columns, mapping, detected))
    dropdown_ids = [i for i in find_ids(tree) if isinstance(i, dict)]
    assert dropdown_ids == [ids.role_dropdown(r) for r in ROLES]
    dropdowns = {
        node["props"]["id"]["role"]: node["props"]
        for node in nodes(tree)
        if node.get("type") == "Dropdown"
    }
    assert dropdowns["customer"]["value"] == "client"
    assert dropdowns["product"]["value"] is None
    assert [o["value"] for o in dropdowns["customer"]["options"]] == columns
    assert dropdowns["customer"]["clearable"] is False  # required
    assert dropdowns["country"]["clearable"] is True
    # Only the customer role differs from detection: exactly one "changed" badge.
    assert texts(tree).count("changed") == 1


def test_preview_table_text_for_dates_and_mapped_headers() -> None:
    frame = pl.DataFrame(
        {
            "CustomerID": [17850.0, None],
            "InvoiceDate": [dt.datetime(2010, 12, 1, 8, 26), dt.datetime(2011, 1, 2)],
            "Note.with.dots": ["a | b", "<b>c</b>"],
            "Price": [2.55, 1e20],
            "Flag": [True, None],
        }
    )
    table = widgets.preview_table(frame, {"customer": "CustomerID", "date": None})
    assert table_cells(table) == [
        ["CustomerID → customer", "InvoiceDate", "Note.with.dots", "Price", "Flag"],
        ["17850", "2010-12-01 08:26:00", "a | b", "2.55", "true"],
        ["", "2011-01-02 00:00:00", "<b>c</b>", "1e+20", ""],
    ]
    header, alignment = table.splitlines()[:2]
    assert header.startswith("| **CustomerID")  # a mapped column's header is bold
    assert "**" not in header.split(" | ", 1)[1]
    assert alignment == "| ---: | --- | --- | ---: | --- |"  # numbers right-aligned


def test_preview_is_capped() -> None:
    rows = table_cells(widgets.preview_table(pl.DataFrame({"a": range(1000)})))
    assert len(rows) == 1 + PREVIEW_ROWS


def test_preview_area_scrolls_and_is_named_by_its_caption() -> None:
    area = as_json(widgets.preview_table_area())
    assert area["props"]["className"] == "preview-scroll"
    assert area["props"]["tabIndex"] == "0"  # a keyboard user can scroll it
    assert area["props"]["aria-labelledby"] == ids.PREVIEW_CAPTION
    assert area["props"]["children"]["type"] == "Markdown"
    assert area["props"]["children"]["props"]["id"] == ids.PREVIEW


def test_upload_area_states_the_limit() -> None:
    tree = as_json(widgets.upload_area(200 * 1024**2))
    assert tree["props"]["data-max-bytes"] == str(200 * 1024**2)
    label, upload = tree["props"]["children"]
    assert upload["props"]["max_size"] == 200 * 1024**2
    # The upload's file input is named for screen readers (assets/a11y.js reads the label).
    assert label["props"]["htmlFor"] == upload["props"]["id"]
    assert "up to 200 MB" in texts(tree)


def test_date_panel_names_native_dates() -> None:
    shown = texts(
        as_json(
            widgets.date_panel(
                column="InvoiceDate",
                chosen=None,
                reason="already Datetime",
                override=None,
                kind="native",
            )
        )
    )
    assert "already stored as dates" in shown
    assert "already Datetime" in shown
    detected = texts(
        as_json(
            widgets.date_panel(
                column="d", chosen="%m/%d/%Y %H:%M", reason="r", override=None, kind="format"
            )
        )
    )
    assert "%m/%d/%Y %H:%M" in detected
    assert "both as day/month" not in detected
    ambiguous = texts(
        as_json(
            widgets.date_panel(
                column="d",
                chosen="%d/%m/%Y",
                reason="r",
                override=None,
                kind="format",
                ambiguous=True,
            )
        )
    )
    assert "both as day/month" in ambiguous


def test_sufficiency_alerts() -> None:
    assert "Enough data" in texts(as_json(widgets.sufficiency_alerts([])))
    tree = as_json(widgets.sufficiency_alerts(["Only 12 customers.", "One month of data."]))
    assert [n["props"]["color"] for n in tree] == ["warning", "warning"]


@pytest.mark.parametrize(
    ("size", "text"), [(812, "812 bytes"), (4300, "4.2 KB"), (13_107_200, "12.5 MB")]
)
def test_format_size(size: int, text: str) -> None:
    assert widgets.format_size(size) == text


def test_audit_samples_list_each_rules_first_lines_with_file_rows() -> None:
    from dash import html as h

    from core.pipeline import clean
    from dashapp.pages.data.widgets import audit_samples
    from tests.core.retail_frames import lines

    audit = clean(
        lines(
            {"customer_id": None},
            {"customer_id": "A", "product": "POST"},
            {"customer_id": "A"},
            {"customer_id": "B"},
        )
    ).audit
    details = [c for c in audit_samples(audit) if isinstance(c, h.Details)]
    summaries = [d.children[0].children for d in details]
    assert summaries == [
        "Missing customer id: first 1 of 1 lines",
        "Non-product line (postage, fees, adjustments): first 1 of 1 lines",
    ]
    tables = [table_cells(d.children[1].children.children) for d in details]
    assert [t[0][0] for t in tables] == ["Row in file", "Row in file"]
    assert [t[1][0] for t in tables] == ["1", "2"]  # rows in the file
    assert tables[1][1][4] == "POST"  # the product column
    assert audit_samples(clean(lines({"customer_id": "A"})).audit) == []
