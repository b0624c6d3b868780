"""Tables of text as one Markdown component: cells shown exactly as typed."""

from __future__ import annotations

import html
import re

from hypothesis import given
from hypothesis import strategies as st

from dashapp.shared import text_table
from tests.dashapp.helpers import table_cells

# What literal() may emit: letters, digits, spaces, non-ASCII text, numeric references.
SAFE = re.compile(r"(?:[A-Za-z0-9 ]|[^\x00-\x7f]|&#[0-9]+;)*")


def shown(value: object) -> str:
    """What a browser shows for ``literal(value)`` (numeric references decoded)."""
    return html.unescape(text_table.literal(value))


def test_markdown_and_html_in_a_cell_show_as_typed() -> None:
    for text in (
        "<b>bold</b>",
        "<script>alert(1)</script>",
        "**not bold** _nor this_ `code`",
        "[a link](http://example.com) <http://example.com> http://example.com",
        "a | b",
        "&amp; &#60; \\| \\*",
        "# heading? > quote? - item?",
        "{curly} $dollar$ ~~strike~~ ![img](x.png)",
    ):
        literal = text_table.literal(text)
        assert SAFE.fullmatch(literal), literal
        assert html.unescape(literal) == text


def test_line_breaks_and_control_characters_become_spaces() -> None:
    assert shown("two\nlines\r\nand\ta tab\x00") == "two lines  and a tab "
    assert shown("line\u2028separator") == "line separator"


def test_none_is_an_empty_cell_and_values_are_text() -> None:
    assert text_table.literal(None) == ""
    assert shown(2.5) == "2.5"
    assert shown(-3) == "-3"
    assert shown("Café → Zürich") == "Café → Zürich"


@given(st.text())
def test_any_text_is_safe_and_reads_back(text: str) -> None:
    literal = text_table.literal(text)
    assert SAFE.fullmatch(literal)
    expected = "".join(
        c if c.isprintable() and (c == " " or not c.isspace()) else " " for c in text
    )
    assert html.unescape(literal) == expected


def test_markdown_pipe_table_header_alignment_rows() -> None:
    table = text_table.markdown(
        ["Name", "Amount"], [["a|b", 1.5], [None, -2]], numeric=[False, True], strong=[True, False]
    )
    assert table.splitlines() == [
        "| **Name** | Amount |",
        "| --- | ---: |",
        "| a&#124;b | 1&#46;5 |",
        "|  | &#45;2 |",
    ]
    assert table_cells(table) == [["Name", "Amount"], ["a|b", "1.5"], ["", "-2"]]


def test_no_columns_no_table() -> None:
    assert text_table.markdown([], []) == ""


def test_text_table_is_one_markdown_component() -> None:
    component = text_table.text_table(["x"], [[1], [2]], id="t", className="text-table")
    assert type(component).__name__ == "Markdown"
    assert component.id == "t"
    assert table_cells(component.children) == [["x"], ["1"], ["2"]]
