"""core.dates: whole-column format detection and parsing."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.dates import (
    DateChoice,
    detect_date_choice,
    native_choice,
    parse_date_expr,
    user_format_choice,
)
from core.errors import ParseError


def parse(values: list[str] | list[int] | list[float], choice: DateChoice) -> list[object]:
    s = pl.Series("d", values)
    return s.to_frame().select(parse_date_expr(pl.col("d"), choice, s.dtype)).to_series().to_list()


def detect(values: list[object]) -> DateChoice:
    return detect_date_choice(pl.Series("d", values).unique(), column="InvoiceDate")


def test_uci_month_first() -> None:
    values = ["12/1/2010 8:26", "12/13/2010 9:01", "1/4/2011 10:00"]
    choice = detect(values)
    assert choice.kind == "format"
    assert choice.format == "%m/%d/%Y %H:%M"
    assert choice.ambiguous is False
    assert "2nd position" in choice.reason
    assert "'12/13/2010 9:01'" in choice.reason
    assert parse(values, choice) == [
        dt.datetime(2010, 12, 1, 8, 26),
        dt.datetime(2010, 12, 13, 9, 1),
        dt.datetime(2011, 1, 4, 10, 0),
    ]


def test_day_first() -> None:
    values = ["01/12/2010 08:26:00", "13/12/2010 09:01:30", "02/01/2011 10:00:00"]
    choice = detect(values)
    assert choice.format == "%d/%m/%Y %H:%M:%S"
    assert choice.ambiguous is False
    assert "1st position" in choice.reason
    assert parse(values, choice) == [
        dt.datetime(2010, 12, 1, 8, 26),
        dt.datetime(2010, 12, 13, 9, 1, 30),
        dt.datetime(2011, 1, 2, 10, 0),
    ]


def test_ambiguous_is_reported_and_defaults_to_month_first() -> None:
    choice = detect(["1/2/2011 10:00", "3/4/2011 11:00"])
    assert choice.ambiguous is True
    assert choice.format == "%m/%d/%Y %H:%M"
    assert "ambiguous" in choice.reason
    assert "--date-format '%d/%m/%Y %H:%M'" in choice.reason
    assert parse(["1/2/2011 10:00"], choice) == [dt.datetime(2011, 1, 2, 10, 0)]


def test_ambiguous_with_dots_defaults_to_day_first() -> None:
    choice = detect(["1.2.2011", "3.4.2011"])
    assert choice.ambiguous is True
    assert choice.format == "%d.%m.%Y"
    assert parse(["1.2.2011"], choice) == [dt.datetime(2011, 2, 1)]


def test_inconsistent_orders_choose_majority_and_say_so() -> None:
    choice = detect(["13/1/2011", "14/1/2011", "1/15/2011"])
    assert choice.format == "%d/%m/%Y"
    assert "inconsistent" in choice.reason
    assert parse(["13/1/2011", "1/15/2011"], choice) == [dt.datetime(2011, 1, 13), None]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2010-12-01", dt.datetime(2010, 12, 1)),
        ("2010-12-01 08:26", dt.datetime(2010, 12, 1, 8, 26)),
        ("2010-12-01 08:26:07", dt.datetime(2010, 12, 1, 8, 26, 7)),
        ("2010-12-01T08:26:07", dt.datetime(2010, 12, 1, 8, 26, 7)),
        ("2010-12-01T08:26:07.25", dt.datetime(2010, 12, 1, 8, 26, 7, 250_000)),
        ("2010-12-01T08:26:07Z", dt.datetime(2010, 12, 1, 8, 26, 7)),
        ("2010-12-01T08:26:07+01:00", dt.datetime(2010, 12, 1, 7, 26, 7)),
        ("2010/12/1", dt.datetime(2010, 12, 1)),
        ("2010-02-30", None),  # no such day
        ("2010-12-01 25:00", None),  # no such hour
    ],
)
def test_iso_variants_mixed_in_one_column(value: str, expected: dt.datetime | None) -> None:
    column = ["2010-12-01", "2010-12-01 08:26:00", "2010-12-01T08:26", value]
    choice = detect(column)
    assert choice.kind == "format"
    assert choice.order == "ymd"
    assert parse([value], choice) == [expected]


def test_am_pm_and_two_digit_years() -> None:
    values = ["12/01/10 8:26 PM", "12/01/10 12:05 am", "12/13/10 12:30 pm", "1/2/69 1:00 AM"]
    choice = detect(values)
    assert choice.format == "%m/%d/%y %I:%M %p"
    assert parse(values, choice) == [
        dt.datetime(2010, 12, 1, 20, 26),
        dt.datetime(2010, 12, 1, 0, 5),
        dt.datetime(2010, 12, 13, 12, 30),
        dt.datetime(1969, 1, 2, 1, 0),
    ]


def test_yyyymmdd_text_and_integers() -> None:
    text = detect(["20101201", "20111209"])
    assert text.kind == "yyyymmdd"
    assert parse(["20101201", "20110230", " 20111209 "], text) == [
        dt.datetime(2010, 12, 1),
        None,
        dt.datetime(2011, 12, 9),
    ]
    ints = detect([20101201, 20111209])
    assert ints.kind == "yyyymmdd"
    assert parse([20101201, 20111209], ints) == [dt.datetime(2010, 12, 1), dt.datetime(2011, 12, 9)]


def test_excel_serials_text_and_floats() -> None:
    # 40513 = 2010-12-01; .35 of a day = 8:24.
    floats = detect([40513.35, 40886.5])
    assert floats.kind == "excel_serial"
    assert parse([40513.35, 40886.5, 40513.0], floats) == [
        dt.datetime(2010, 12, 1, 8, 24),
        dt.datetime(2011, 12, 9, 12, 0),
        dt.datetime(2010, 12, 1),
    ]
    text = detect(["40513.35", "40513"])
    assert text.kind == "excel_serial"
    assert parse(["40513.35", "x"], text) == [dt.datetime(2010, 12, 1, 8, 24), None]


def test_numbers_that_are_not_dates() -> None:
    with pytest.raises(ParseError, match=r"'InvoiceDate' holds numbers .* \(e\.g\. 1\.0, 2\.0"):
        detect([1, 2, 3])


def test_text_that_is_not_dates() -> None:
    with pytest.raises(ParseError, match=r"does not look like dates.*'hello'") as err:
        detect(["hello", "world"])
    assert err.value.hint is not None
    assert "--date-format" in err.value.hint


def test_native_passes_through_and_drops_time_zone() -> None:
    s = pl.Series("d", [dt.datetime(2010, 12, 1, 8, 26)]).dt.replace_time_zone("Europe/London")
    choice = detect_date_choice(s, column="d")
    assert choice == native_choice(s.dtype)
    out = s.to_frame().select(parse_date_expr(pl.col("d"), choice, s.dtype)).to_series()
    assert out.dtype == pl.Datetime("us")
    assert out.to_list() == [dt.datetime(2010, 12, 1, 8, 26)]
    d = pl.Series("d", [dt.date(2010, 12, 1)])
    out = d.to_frame().select(parse_date_expr(pl.col("d"), native_choice(d.dtype), d.dtype))
    assert out.to_series().to_list() == [dt.datetime(2010, 12, 1)]


def test_user_format_is_strict() -> None:
    choice = user_format_choice("%d/%m/%Y %H:%M")
    assert choice.order is None
    assert parse(["1/12/2010 8:26", "12/13/2010 9:01"], choice) == [
        dt.datetime(2010, 12, 1, 8, 26),
        None,
    ]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.datetimes(min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2060, 12, 31)),
        min_size=1,
        max_size=40,
    ),
    st.sampled_from(["mdy", "dmy", "ymd"]),
    st.booleans(),
)
def test_round_trip_property(stamps: list[dt.datetime], order: str, seconds: bool) -> None:
    stamps = [s.replace(microsecond=0, second=s.second if seconds else 0) for s in stamps]
    stamps = [*stamps, dt.datetime(2011, 12, 13, 1, 2, 3 if seconds else 0)]  # day 13 pins order

    def fmt(s: dt.datetime) -> str:
        date = {
            "mdy": f"{s.month}/{s.day}/{s.year}",
            "dmy": f"{s.day}/{s.month}/{s.year}",
            "ymd": f"{s.year}-{s.month:02d}-{s.day:02d}",
        }[order]
        time = f"{s.hour}:{s.minute:02d}" + (f":{s.second:02d}" if seconds else "")
        return f"{date} {time}"

    text = [fmt(s) for s in stamps]
    choice = detect(text)
    assert choice.order == order
    assert choice.ambiguous is False
    assert parse(text, choice) == stamps


@pytest.mark.parametrize(
    ("values", "fmt", "expected"),
    [
        (["01-Dec-2010", "13-Jan-2011"], "%d-%b-%Y", [(2010, 12, 1), (2011, 1, 13)]),
        (["Dec 1, 2010", "January 13, 2011"], "%B %d, %Y", [(2010, 12, 1), (2011, 1, 13)]),
        (["1 December 2010 08:26", "2 Jan 2011 09:00"], "%d %B %Y %H:%M", None),
    ],
)
def test_month_names(
    values: list[str], fmt: str, expected: list[tuple[int, int, int]] | None
) -> None:
    choice = detect(values)
    assert choice.kind == "format"
    assert choice.format == fmt
    assert "month names" in choice.reason
    got = parse(values, choice)
    if expected is None:
        assert got == [dt.datetime(2010, 12, 1, 8, 26), dt.datetime(2011, 1, 2, 9, 0)]
    else:
        assert got == [dt.datetime(*d) for d in expected]
