"""Export layout: the skeleton renders without a query and holds every id the page's callbacks
use; the count line and preview table show the view."""

from __future__ import annotations

from dashapp.pages.export import ids
from dashapp.pages.export.layout import build, count_line, preview_table
from dashapp.pages.export.view import ListPreview
from tests.dashapp.helpers import as_json, nodes, texts


def test_build_keeps_the_link_query() -> None:
    tree = as_json(build(k="5"))
    stores = [
        node["props"]
        for node in tree["props"]["children"][0]["props"]["children"]
        if node["props"].get("id") == ids.EXPORT_URL_QUERY
    ]
    assert stores[0]["data"] == {"k": "5"}


def test_count_line_and_preview_table() -> None:
    shown = ListPreview(
        rows=1234, segments=2, columns=("customer_id", "segment"), head=(("C1", "0"),)
    )
    line = as_json(count_line(shown))
    assert line["props"]["id"] == ids.EXPORT_ROW_COUNT
    assert texts(line) == "1,234  customers in 2 segments, 2 columns"
    single = ListPreview(rows=1, segments=1, columns=("a",), head=())
    assert "in 1 segment, 1 columns" in texts(as_json(count_line(single)))
    table = as_json(preview_table(shown))
    assert texts(table) == "customer_ id segment C1 0"  # a name may break after "_"
    assert [n["type"] for n in nodes(table) if n.get("type") in ("Th", "Wbr")] == [
        "Th",
        "Wbr",
        "Th",
    ]


def test_every_download_button_looks_enabled() -> None:
    # The report's button was outline-secondary: grey, which reads as disabled.
    buttons = {
        node["props"]["id"]: node["props"].get("color")
        for node in nodes(as_json(build()))
        if node.get("type") == "Button"
    }
    assert set(buttons) == {
        ids.EXPORT_LIST_BUTTON,
        ids.EXPORT_BUNDLE_BUTTON,
        ids.EXPORT_REPORT_BUTTON,
    }
    assert set(buttons.values()) <= {"primary", "outline-primary"}, buttons
