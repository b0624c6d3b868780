"""core.schema: role detection, overrides, normalisation, parse failures, real data."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from core import columns as cc
from core.errors import ConfigError, InputFileError, ParseError, SchemaError
from core.io import read_table
from core.schema import (
    SYNONYMS,
    WHITESPACE,
    RoleMapping,
    detect_roles,
    mapping_warnings,
    norm_name,
    normalize,
    normalize_views,
)

UCI = ("InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice")
UCI_COLUMNS = (*UCI, "CustomerID", "Country")


def text_frame(data: dict[str, list[str | None]]) -> pl.LazyFrame:
    return pl.DataFrame(data, schema=dict.fromkeys(data, pl.String)).lazy()


def run(
    data: dict[str, list[str | None]], overrides: dict[str, str] | None = None, **kw: object
) -> tuple[pl.DataFrame, object]:
    lf = text_frame(data)
    mapping = detect_roles(list(data), overrides)
    out, report = normalize(lf, mapping, **kw)  # type: ignore[arg-type]
    return out.collect(), report


# ---------------------------------------------------------------------------- role detection


def test_uci_header_maps_all_eight_roles() -> None:
    mapping = detect_roles(UCI_COLUMNS)
    assert mapping.as_dict() == {
        "customer": "CustomerID",
        "date": "InvoiceDate",
        "invoice": "InvoiceNo",
        "quantity": "Quantity",
        "price": "UnitPrice",
        "product": "StockCode",
        "description": "Description",
        "country": "Country",
    }
    assert mapping.get("amount") is None
    assert [r for r, _ in mapping.roles] == [r for r in cc.ROLES if r != "amount"]
    hash(mapping)  # frozen and hashable (cache keys)


@pytest.mark.parametrize(
    ("header", "role"),
    [
        ("InvoiceNo", "invoice"),
        ("Invoice", "invoice"),
        ("order_id", "invoice"),
        ("Order ID", "invoice"),
        ("invoice_number", "invoice"),
        ("Invoice-Nr.", "invoice"),
        ("CustomerID", "customer"),
        ("Customer ID", "customer"),
        ("cust_id", "customer"),
        ("client_id", "customer"),
        ("CUSTOMER_NUMBER", "customer"),
        ("UnitPrice", "price"),
        ("Price", "price"),
        ("unit_price", "price"),
        ("Price (GBP)", "price"),
        ("InvoiceDate", "date"),
        ("date", "date"),
        ("order_date", "date"),
        ("Purchase Date", "date"),
        ("timestamp", "date"),
        ("Quantity", "quantity"),
        ("qty", "quantity"),
        ("Units", "quantity"),
        ("amount", "amount"),
        ("Total", "amount"),
        ("revenue", "amount"),
        ("Sales", "amount"),
        ("value", "amount"),
        ("order_total", "amount"),
        ("StockCode", "product"),
        ("product_id", "product"),
        ("SKU", "product"),
        ("item", "product"),
        ("Description", "description"),
        ("product_name", "description"),
        ("Country", "country"),
        ("region", "country"),
    ],
)
def test_header_spellings(header: str, role: str) -> None:
    mapping = detect_roles([header], require=False)
    assert mapping.get(role) == header


def test_synonyms_belong_to_one_role_each() -> None:
    seen: dict[str, str] = {}
    for role, names in SYNONYMS.items():
        for name in names:
            assert name == norm_name(name)
            assert seen.setdefault(name, role) == role, f"{name!r} in {seen[name]} and {role}"


def test_generic_shop_export() -> None:
    mapping = detect_roles(["Order ID", "Order Date", "Client ID", "Order Total", "Region"])
    assert mapping.as_dict() == {
        "invoice": "Order ID",
        "date": "Order Date",
        "customer": "Client ID",
        "amount": "Order Total",
        "country": "Region",
    }


def test_first_of_two_matching_columns_wins() -> None:
    mapping = detect_roles(["customer_id", "date", "created_at", "amount"])
    assert mapping.get("date") == "date"


def test_overrides_win_and_may_use_loose_spelling() -> None:
    mapping = detect_roles(UCI_COLUMNS, {"customer": "Country", "country": "customerid"})
    assert mapping.get("customer") == "Country"
    assert mapping.get("country") == "CustomerID"
    assert any("given explicitly" in n for n in mapping.notes)


def test_override_can_unmap_an_optional_role() -> None:
    mapping = detect_roles(UCI_COLUMNS, {"invoice": ""})
    assert mapping.get("invoice") is None
    with pytest.raises(SchemaError, match="customer role cannot be left unmapped"):
        detect_roles(UCI_COLUMNS, {"customer": ""})


def test_override_unknown_role_lists_valid_roles() -> None:
    with pytest.raises(SchemaError, match=r"Unknown role 'client'") as err:
        detect_roles(UCI_COLUMNS, {"client": "CustomerID"})
    assert err.value.hint is not None
    for role in cc.ROLES:
        assert role in err.value.hint


def test_override_unknown_column_lists_columns_and_closest() -> None:
    with pytest.raises(SchemaError, match=r"price='Unit Prize'.*does not exist") as err:
        detect_roles(UCI_COLUMNS, {"price": "Unit Prize"})
    assert "'UnitPrice'" in err.value.message
    assert "Closest: 'UnitPrice'" in err.value.message
    assert "--map price='UnitPrice'" in (err.value.hint or "")


def test_missing_roles_error_content() -> None:
    columns = ["Cust Name", "Day", "Stuff", "Amt"]
    with pytest.raises(SchemaError) as err:
        detect_roles(columns)
    msg = err.value.message
    assert "Missing column roles: customer, quantity (or an amount column), price" in msg
    assert "Roles needed: customer, date, and either quantity + price or amount" in msg
    assert "Columns found: 'Cust Name', 'Day', 'Stuff', 'Amt'" in msg
    assert "customer (closest: 'Cust Name'" in msg
    assert err.value.hint is not None
    assert "--map customer='Cust Name'" in err.value.hint


def test_quantity_without_price_needs_amount() -> None:
    with pytest.raises(SchemaError, match=r"Missing column role: price \(or an amount column\)"):
        detect_roles(["customer", "date", "qty"])
    assert detect_roles(["customer", "date", "qty", "total"]).get("amount") == "total"


@pytest.mark.parametrize(
    "header",
    ["dollar_value", "Dollars", "net_sales", "SalesValue", "Line Total", "gross_revenue",
     "order_value", "amount_paid", "total_spend"],
)  # fmt: skip
def test_amount_like_headers_with_any_prefix_are_the_line_amount(header: str) -> None:
    mapping = detect_roles(["customer_id", "date", header])
    assert mapping.get("amount") == header
    assert mapping.get("price") is None


@pytest.mark.parametrize(
    "header", ["salesperson", "Sales Channel", "unit_value", "value_date", "price_each"]
)
def test_names_that_only_contain_an_amount_word_are_not_amounts(header: str) -> None:
    assert detect_roles(["customer_id", "date", header], require=False).get("amount") is None


def test_cdnow_headers_map_the_dollar_value_as_the_line_amount() -> None:
    mapping = detect_roles(["customer_id", "date", "number_of_cds", "dollar_value"])
    assert mapping.as_dict() == {
        "customer": "customer_id",
        "date": "date",
        "quantity": "number_of_cds",
        "amount": "dollar_value",
    }
    assert not any(n.startswith("warning:") for n in mapping.notes)


def test_missing_amount_hint_names_both_routes() -> None:
    with pytest.raises(SchemaError) as err:
        detect_roles(["customer_id", "date", "cds", "paid"])
    hint = err.value.hint or ""
    assert "line amount" in hint
    assert "--map amount=" in hint
    assert "quantity x unit price" in hint
    assert "--map quantity=" in hint
    assert "--map price=" in hint
    # Quantity mapped, price missing: the hint still offers the line amount.
    with pytest.raises(SchemaError) as err:
        detect_roles(["customer_id", "date", "cds", "paid"], {"quantity": "cds"})
    hint = err.value.hint or ""
    assert "--map amount=" in hint
    assert "--map price=" in hint


def test_a_line_total_is_never_suggested_as_the_unit_price() -> None:
    columns = ["customer_id", "date", "qty", "sale_value"]
    with pytest.raises(SchemaError) as err:
        detect_roles(columns, {"amount": ""})
    assert "price (closest: none)" in err.value.message
    assert "--map price='sale_value'" not in (err.value.hint or "")


def test_a_price_named_like_a_line_amount_is_warned_about() -> None:
    columns = ["customer_id", "date", "number_of_cds", "dollar_value"]
    mapping = detect_roles(columns, {"quantity": "number_of_cds", "price": "dollar_value"})
    warnings = [n for n in mapping.notes if n.startswith("warning:")]
    assert len(warnings) == 1
    assert "'dollar_value'" in warnings[0]
    assert "line amount" in warnings[0]
    assert mapping_warnings(mapping.as_dict()) == (warnings[0].removeprefix("warning: "),)
    assert mapping_warnings({"price": "UnitPrice", "quantity": "Quantity"}) == ()
    assert mapping_warnings({"price": "Sales Price"}) == ()


def test_require_false_returns_partial_mapping() -> None:
    mapping = detect_roles(["customer", "something"], require=False)
    assert mapping.as_dict() == {"customer": "customer"}
    assert mapping.missing_required() == ("date", "quantity", "price")


# ---------------------------------------------------------------------------- normalisation

SMALL = {
    "InvoiceNo": ["536365", "536365", "C536379", "536370"],
    "CustomerID": ["17850.0", " 17850 ", "00017", ""],
    "InvoiceDate": ["12/1/2010 8:26", "12/1/2010 8:26", "12/13/2010 9:41", "1/4/2011 10:00"],
    "Quantity": ["6", "2", "-1", "24"],
    "UnitPrice": ["2.55", "3.39", "27.50", "3.75"],
    "Country": ["United Kingdom", "United Kingdom", " France ", None],
}


def test_normalize_small_uci_frame() -> None:
    df, report = run(SMALL)
    assert df.schema == pl.Schema(cc.NORMALIZED_SCHEMA)
    expected = pl.DataFrame(
        {
            cc.ROW: [1, 2, 3, 4],
            cc.CUSTOMER: ["17850", "17850", "00017", None],
            cc.DATE: [
                dt.datetime(2010, 12, 1, 8, 26),
                dt.datetime(2010, 12, 1, 8, 26),
                dt.datetime(2010, 12, 13, 9, 41),
                dt.datetime(2011, 1, 4, 10, 0),
            ],
            cc.INVOICE: ["536365", "536365", "C536379", "536370"],
            cc.PRODUCT: [None] * 4,
            cc.DESCRIPTION: [None] * 4,
            cc.COUNTRY: ["United Kingdom", "United Kingdom", "France", None],
            cc.QUANTITY: [6.0, 2.0, -1.0, 24.0],
            cc.PRICE: [2.55, 3.39, 27.5, 3.75],
            cc.AMOUNT: [6 * 2.55, 2 * 3.39, -27.5, 24 * 3.75],
            cc.PARSE_ERROR: [None] * 4,
        },
        schema=cc.NORMALIZED_SCHEMA,
    )
    assert_frame_equal(df, expected)
    assert report.parse_failures == (("date", 0), ("quantity", 0), ("price", 0))
    assert report.bad_examples == ()
    assert report.n_rows == 4
    assert report.empty_customer_rows == 1
    assert report.date.format == "%m/%d/%Y %H:%M"
    assert "'12/13/2010 9:41'" in report.date.reason
    assert any("'17850.0' were read as '17850'" in n for n in report.notes)


def test_uci_date_is_first_of_december() -> None:
    df, _ = run({"customer": ["1"], "InvoiceDate": ["12/1/2010 8:26"], "amount": ["1"]})
    # A single value is ambiguous; the US default still gives 1 December.
    assert df[cc.DATE].to_list() == [dt.datetime(2010, 12, 1, 8, 26)]


def test_credit_invoice_after_row_100_through_read_and_normalize() -> None:
    lines = ["InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice"]
    lines += [f"{536000 + i},17850,12/1/2010 8:26,1,1.00" for i in range(200)]
    lines.append("C536379,17850,12/13/2010 9:41,-1,27.50")
    lf, read = read_table("\n".join(lines).encode(), filename="x.csv")
    out, report = normalize(lf, detect_roles(read.columns))
    df = out.collect()
    assert df[cc.INVOICE][-1] == "C536379"
    assert df[cc.ROW][-1] == 201
    assert report.failures("date") == 0


def test_customer_id_variants() -> None:
    ids = ["17850.0", "17850", "17850.00", "00017", " 42 ", "", "   ", None, "A-17", "1.5"]
    df, report = run(
        {"customer": ids, "date": ["2011-01-01"] * len(ids), "amount": ["1"] * len(ids)}
    )
    assert df[cc.CUSTOMER].to_list() == [
        "17850",
        "17850",
        "17850",
        "00017",
        "42",
        None,
        None,
        None,
        "A-17",
        "1.5",
    ]
    assert report.empty_customer_rows == 3


@pytest.mark.parametrize("space", ["", " ", "\t", "\xa0", "\u2003", "\u3000", "\x85"])
def test_ids_padded_by_any_white_space_are_stripped(space: str) -> None:
    # The source pass finds padding with a search for white space before stripping: a
    # value padded by any of the characters strip_chars strips (or left blank) must be found,
    # else the ids would be kept unstripped; white space inside an id is no padding.
    invoices = ["536365", "C536379", f"{space}536370{space}" if space else "", "5 36"]
    customers = ["17850", "12", "13", f"{space}42{space}" if space else ""]
    df, _ = run(
        {
            "InvoiceNo": invoices,
            "CustomerID": customers,
            "InvoiceDate": ["2011-01-01"] * 4,
            "amount": ["1"] * 4,
        }
    )
    assert df[cc.INVOICE].to_list() == ["536365", "C536379", "536370" if space else None, "5 36"]
    assert df[cc.CUSTOMER].to_list() == ["17850", "12", "13", "42" if space else None]


def test_white_space_list_is_what_strip_chars_strips() -> None:
    code_points = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    values = pl.Series([chr(c) + "x" for c in code_points])
    stripped = values.str.strip_chars().str.len_bytes() != values.str.len_bytes()
    assert sorted(code_points[i] for i in stripped.arg_true()) == sorted(map(ord, WHITESPACE))


def test_float_and_integer_customer_columns() -> None:
    lf = pl.LazyFrame(
        {
            "CustomerID": [17850.0, None, float("nan"), 12.5],
            "InvoiceDate": [dt.datetime(2011, 1, 1)] * 4,
            "total": [1.0, 2.0, 3.0, 4.0],
        }
    )
    out, report = normalize(lf, detect_roles(lf.collect_schema().names()))
    assert out.collect()[cc.CUSTOMER].to_list() == ["17850", None, None, "12.5"]
    assert report.date.kind == "native"
    assert report.empty_customer_rows == 2
    lf = pl.LazyFrame({"cust_id": [7, 8], "date": ["20110101", "20110102"], "sales": [1, 2]})
    out, report = normalize(lf, detect_roles(["cust_id", "date", "sales"]))
    df = out.collect()
    assert df[cc.CUSTOMER].to_list() == ["7", "8"]
    assert df[cc.DATE].to_list() == [dt.datetime(2011, 1, 1), dt.datetime(2011, 1, 2)]
    assert report.date.kind == "yyyymmdd"


def test_float_customer_ids_at_the_int64_bounds() -> None:
    # A float id is an integer id when whole and within Int64 (what a non-strict cast keeps):
    # -2**63 is, 2**63 and the infinities are not. With every id whole (NaN aside) the engine's
    # lines carry the ids as Int64 keys, NaN and nulls none.
    below = float(2**63 - 1024)  # the largest float under 2**63
    ids = [-(2.0**63), below, 17850.0, 0.0, None, float("nan")]
    lf = pl.LazyFrame(
        {
            "CustomerID": ids,
            "InvoiceDate": [dt.datetime(2011, 1, 1)] * len(ids),
            "Quantity": [1, 2, 3, 4, 5, 6],
            "UnitPrice": [1.0] * len(ids),
        }
    )
    views = normalize_views(lf, detect_roles(lf.collect_schema().names()))
    lines = views.lines.collect()
    assert lines[cc.CUSTOMER].to_list() == [str(-(2**63)), str(2**63 - 1024), "17850", "0", None,
                                            None]  # fmt: skip
    assert views.encoder.keyed
    keys = views.encoder.frame.collect()[cc.CUSTOMER]
    assert keys.to_list() == [-(2**63), 2**63 - 1024, 17850, 0, None, None]
    assert (views.encoder.low, views.encoder.high) == (-(2**63), 2**63 - 1024)
    assert views.report.parse_failures == (("date", 0), ("quantity", 0), ("price", 0))
    for odd in (2.0**63, float("inf"), float("-inf"), 0.5):
        lf_odd = lf.with_columns(pl.Series("CustomerID", [odd, *ids[1:]]))
        odd_views = normalize_views(lf_odd, detect_roles(lf.collect_schema().names()))
        assert not odd_views.encoder.keyed, odd
        rest = odd_views.lines.collect()[cc.CUSTOMER][1:]
        assert rest.to_list() == lines[cc.CUSTOMER][1:].to_list()


def test_amount_only() -> None:
    df, report = run({"cust": ["a", "b"], "order_date": ["2011-01-01", "2011-01-02"],
                      "order_total": ["10.50", "$1,234.00"]})  # fmt: skip
    assert df[cc.AMOUNT].to_list() == [10.5, 1234.0]
    assert df[cc.QUANTITY].to_list() == [None, None]
    assert df[cc.PRICE].to_list() == [None, None]
    assert df[cc.INVOICE].to_list() == [None, None]
    assert report.parse_failures == (("date", 0), ("amount", 0))


def test_amount_column_ignored_when_quantity_and_price_exist() -> None:
    df, report = run({"customer": ["a"], "date": ["2011-01-01"], "qty": ["3"], "price": ["2"],
                      "total": ["999"]})  # fmt: skip
    assert df[cc.AMOUNT].to_list() == [6.0]
    assert any("'total' is not used" in n for n in report.notes)
    assert [r for r, _ in report.parse_failures] == ["date", "quantity", "price"]


@pytest.mark.parametrize(
    ("raw", "decimal_comma", "expected"),
    [
        ("2.55", False, 2.55),
        (" 2.55 ", False, 2.55),
        ("-6", False, -6.0),
        ("+6", False, 6.0),
        (".5", False, 0.5),
        ("1e3", False, 1000.0),
        ("1,234.50", False, 1234.5),
        ("1,234,567", False, 1234567.0),
        ("£2.55", False, 2.55),
        ("$ 1,000", False, 1000.0),
        ("2.55 €", False, 2.55),
        ("USD 12.50", False, 12.5),
        ("(12.50)", False, -12.5),
        ("12.50-", False, -12.5),
        ("1 234.5", False, 1234.5),
        ("1'234.5", False, 1234.5),
        ("2,55", False, None),
        ("1,23", False, None),
        ("nan", False, None),
        ("inf", False, None),
        ("abc", False, None),
        ("#N/A", False, None),
        ("2,55", True, 2.55),
        ("1.234,5", True, 1234.5),
        ("1.500", True, 1500.0),
        ("1.5", True, 1.5),
        ("-0,5", True, -0.5),
        ("€ 1.234,50", True, 1234.5),
        ("1 234,50", True, 1234.5),
        ("1,234,5", True, None),
    ],
)
def test_number_parsing(raw: str, decimal_comma: bool, expected: float | None) -> None:
    data = {"customer": ["a", "b"], "date": ["2011-01-01"] * 2, "amount": ["1", raw]}
    df, report = run(data, decimal_comma=decimal_comma, max_failure_share=1.0)
    got = df[cc.AMOUNT][1]
    if expected is None:
        assert got is None
        assert df[cc.PARSE_ERROR][1] == "amount"
        assert report.failures("amount") == 1
        assert dict(report.bad_examples)["amount"] == (raw,)
    else:
        assert got == pytest.approx(expected)
        assert df[cc.PARSE_ERROR][1] is None
        assert report.failures("amount") == 0


def test_parse_errors_marked_per_row_and_counted() -> None:
    n = 300
    data = {
        "customer": ["c"] * n,
        "date": ["2011-01-01"] * (n - 2) + ["garbage", "2011-02-30"],
        "qty": ["1"] * (n - 1) + ["x"],
        "price": ["2"] * (n - 1) + ["y"],
    }
    df, report = run(data)  # 2/300 dates and 1/300 numbers: under 1 %
    assert report.parse_failures == (("date", 2), ("quantity", 1), ("price", 1))
    assert dict(report.bad_examples) == {
        "date": ("garbage", "2011-02-30"),
        "quantity": ("x",),
        "price": ("y",),
    }
    assert df[cc.PARSE_ERROR].to_list()[-3:] == [None, "date", "date,quantity,price"]
    assert df[cc.PARSE_ERROR].null_count() == n - 2
    # Empty values are missing, not failures.
    data["qty"][0] = ""
    _, report = run(data)
    assert report.failures("quantity") == 1


def test_too_many_date_failures_raise_with_examples_and_hint() -> None:
    data = {
        "customer": ["a", "b", "c"],
        "InvoiceDate": ["1/2/2011", "3/4/2011", "Tuesday"],
        "amount": ["1", "2", "3"],
    }
    with pytest.raises(ParseError) as err:
        run(data)
    msg = err.value.message
    assert "1 of 3 values (33.3%) in column 'InvoiceDate' (mapped to date)" in msg
    assert "'Tuesday'" in msg
    assert err.value.hint is not None
    assert "--date-format '%d/%m/%Y'" in err.value.hint  # ambiguous: suggest the other order
    _, report = run(data, max_failure_share=0.5)
    assert report.failures("date") == 1


def test_decimal_comma_hint_when_not_told() -> None:
    data = {"customer": ["a", "b"], "date": ["2011-01-01"] * 2, "price": ["2,55", "3,10"],
            "qty": ["1", "2"]}  # fmt: skip
    with pytest.raises(ParseError, match=r"column 'price'.*'2,55', '3,10'") as err:
        run(data)
    assert "decimal comma" in (err.value.hint or "")
    df, _ = run(data, decimal_comma=True)
    assert df[cc.PRICE].to_list() == [2.55, 3.1]


def test_date_format_override() -> None:
    data = {
        "customer": ["a", "b"],
        "date": ["1/2/2011 10:00", "3/4/2011 11:00"],
        "amount": ["1", "2"],
    }
    df, report = run(data, date_format="%d/%m/%Y %H:%M")
    assert df[cc.DATE].to_list() == [dt.datetime(2011, 2, 1, 10), dt.datetime(2011, 4, 3, 11)]
    assert report.date.kind == "format"
    assert report.date.format == "%d/%m/%Y %H:%M"
    with pytest.raises(ParseError, match=r"2 of 2 values"):
        run(data, date_format="%Y-%m-%d")
    with pytest.raises(ConfigError, match="no % fields"):
        run(data, date_format="dd/mm/yyyy")


def test_excel_serial_dates_in_text() -> None:
    data = {"customer": ["a", "b"], "date": ["40513.35", "40886"], "amount": ["1", "2"]}
    df, report = run(data)
    assert report.date.kind == "excel_serial"
    assert df[cc.DATE].to_list() == [dt.datetime(2010, 12, 1, 8, 24), dt.datetime(2011, 12, 9)]


def test_all_empty_customer_column() -> None:
    with pytest.raises(
        SchemaError, match=r"'Customer ID' \(mapped to customer\) is empty in all 2"
    ):
        run({"Customer ID": ["", None], "date": ["2011-01-01"] * 2, "amount": ["1", "2"]})


def test_mapping_naming_a_missing_column() -> None:
    lf = text_frame({"a": ["1"]})
    mapping = RoleMapping(roles=(("customer", "a"), ("date", "nope"), ("amount", "a")))
    with pytest.raises(SchemaError, match=r"date='nope' names a column that does not exist"):
        normalize(lf, mapping)
    with pytest.raises(SchemaError, match=r"Missing column role: date"):
        normalize(lf, RoleMapping(roles=(("customer", "a"), ("amount", "a"))))
    with pytest.raises(ConfigError):
        normalize(lf, mapping, max_failure_share=2.0)


def test_same_column_for_two_roles_and_clashing_names() -> None:
    # A source column named like an internal or canonical column must not clash.
    data = {"source_row": ["x"], "customer_id": ["7"], "date": ["2011-01-01"], "amount": ["5"]}
    overrides = {"customer": "customer_id", "invoice": "customer_id", "description": "source_row"}
    mapping = detect_roles(list(data), overrides)
    df = normalize(text_frame(data), mapping)[0].collect()
    assert df.row(0, named=True) == {
        cc.ROW: 1,
        cc.CUSTOMER: "7",
        cc.DATE: dt.datetime(2011, 1, 1),
        cc.INVOICE: "7",
        cc.PRODUCT: None,
        cc.DESCRIPTION: "x",
        cc.COUNTRY: None,
        cc.QUANTITY: None,
        cc.PRICE: None,
        cc.AMOUNT: 5.0,
        cc.PARSE_ERROR: None,
    }


def test_normalize_is_lazy_and_streaming_matches_in_memory() -> None:
    rows = 2_000
    data = {
        "InvoiceNo": [str(500_000 + i // 3) for i in range(rows)],
        "CustomerID": [f"{12_000 + i % 97}.0" for i in range(rows)],
        "InvoiceDate": [
            f"{1 + i % 12}/{1 + i % 28}/2011 {i % 24}:{i % 60:02d}" for i in range(rows)
        ],
        "Quantity": [str(i % 7 - 1) for i in range(rows)],
        "UnitPrice": [f"{(i % 50) / 4:.2f}" for i in range(rows)],
    }
    out, _ = normalize(text_frame(data), detect_roles(list(data)))
    assert isinstance(out, pl.LazyFrame)
    in_memory = out.collect()
    streaming = out.collect(engine="streaming")
    assert_frame_equal(in_memory, streaming)
    # Same result from the CSV text through read_table (scan) as from the eager frame.
    csv = pl.DataFrame(data).write_csv().encode()
    lf, read = read_table(csv, filename="x.csv")
    assert_frame_equal(normalize(lf, detect_roles(read.columns))[0].collect(), in_memory)
    assert in_memory[cc.ROW].to_list() == list(range(1, rows + 1))


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.decimals(min_value=-(10**7), max_value=10**7, places=2, allow_nan=False),
        min_size=1,
        max_size=30,
    ),
    st.booleans(),
)
def test_formatted_numbers_round_trip(values: list[object], decimal_comma: bool) -> None:
    def fmt(v: object) -> str:
        text = f"{v:,.2f}"  # 1,234,567.89
        if decimal_comma:
            text = text.replace(",", "_").replace(".", ",").replace("_", ".")
        return text

    raw = [fmt(v) for v in values]
    n = len(raw)
    df, report = run(
        {"customer": ["c"] * n, "date": ["2011-01-01"] * n, "amount": raw},
        decimal_comma=decimal_comma,
    )
    assert report.failures("amount") == 0
    assert df[cc.AMOUNT].to_list() == pytest.approx([float(v) for v in values])  # type: ignore[arg-type]


def test_decimal_comma_whole_ids_are_the_same_id() -> None:
    # A spreadsheet writing "17850" as 17850,0 in a decimal-comma, ;-separated export.
    text = (
        "Invoice;CustomerID;Date;StockCode;Quantity;UnitPrice\n"
        "536365;17850;01.12.2010 08:26;85123;6;2,55\n"
        "536366;17850,0;01.12.2010 08:28;85123,0;2;1,85\n"
        "536367;00017,00;01.12.2010 08:34;22633;1;3,00\n"
        "536368;12,5;01.12.2010 08:35;22633;1;3,00\n"
    )
    lf, read = read_table(text.encode(), filename="export.csv")
    assert read.decimal_comma
    out, report = normalize(lf, detect_roles(read.columns), decimal_comma=read.decimal_comma)
    df = out.collect()
    assert df[cc.CUSTOMER].to_list() == ["17850", "17850", "00017", "12,5"]
    assert df[cc.PRODUCT].to_list() == ["85123", "85123", "22633", "22633"]
    assert df[cc.AMOUNT].to_list() == pytest.approx([6 * 2.55, 2 * 1.85, 3.0, 3.0])
    assert any("'17850,0' were read as '17850'" in n for n in report.notes)
    # Without a decimal comma, "17850,0" is not a number written by a spreadsheet: kept.
    out, _ = normalize(lf, detect_roles(read.columns), decimal_comma=False, max_failure_share=1)
    assert out.collect()[cc.CUSTOMER][1] == "17850,0"


# ------------------------------------------------------------------------------ real data


@pytest.mark.realdata
def test_real_parquet(real_data_path: Path) -> None:
    lf, read = read_table(real_data_path)
    mapping = detect_roles(read.columns)
    assert len(mapping.roles) == 8
    assert set(mapping.as_dict().values()) == set(UCI_COLUMNS)
    out, report = normalize(lf, mapping, decimal_comma=read.decimal_comma)
    df = out.collect()
    assert df.height == 541_909
    assert report.n_rows == 541_909
    assert df[cc.CUSTOMER].null_count() == 135_080
    assert report.empty_customer_rows == 135_080
    assert report.parse_failures == (("date", 0), ("quantity", 0), ("price", 0))
    assert df[cc.PARSE_ERROR].null_count() == 541_909
    assert df.filter(pl.col(cc.CUSTOMER) == "17850").height > 0
    assert df.filter(pl.col(cc.CUSTOMER).str.ends_with(".0")).height == 0
    assert report.date.kind == "native"
    first = df.row(0, named=True)
    assert first[cc.INVOICE] == "536365"
    assert first[cc.DATE] == dt.datetime(2010, 12, 1, 8, 26)
    assert first[cc.AMOUNT] == pytest.approx(6 * 2.55)
    assert df.filter(pl.col(cc.INVOICE).str.starts_with("C")).height > 0


def test_stray_delimiter_beyond_the_read_sample_is_reported() -> None:
    # 30,000 good rows push the bad one past the sample that read_table checks itself.
    lines = ["id,customer,date,amount"] + [f"{i},c{i},2011-01-01,1" for i in range(30_000)]
    lines.append("5,x,2011-01-01,1,EXTRA")
    lf, read = read_table("\n".join(lines).encode(), filename="x.csv")
    with pytest.raises(InputFileError, match="more fields than defined") as err:
        normalize(lf, detect_roles(read.columns))
    assert "delimiter inside an unquoted value" in (err.value.hint or "")


def test_xlsx_dates_and_ids_normalize() -> None:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet()
    date_format = wb.add_format({"num_format": "m/d/yyyy h:mm"})
    ws.write_row(0, 0, ["InvoiceNo", "CustomerID", "InvoiceDate", "Quantity", "UnitPrice"])
    ws.write_row(1, 0, [536365, 17850, None, 6, 2.55])
    ws.write_datetime(1, 2, dt.datetime(2010, 12, 1, 8, 26), date_format)
    ws.write_row(2, 0, ["C536379", None, None, -1, 27.5])
    ws.write_datetime(2, 2, dt.datetime(2010, 12, 13, 9, 41), date_format)
    wb.close()
    lf, read = read_table(buf.getvalue(), filename="x.xlsx")
    df = normalize(lf, detect_roles(read.columns))[0].collect()
    assert df[cc.INVOICE].to_list() == ["536365", "C536379"]
    assert df[cc.CUSTOMER].to_list() == ["17850", None]
    assert df[cc.DATE].to_list() == [
        dt.datetime(2010, 12, 1, 8, 26),
        dt.datetime(2010, 12, 13, 9, 41),
    ]
    assert df[cc.AMOUNT].to_list() == pytest.approx([6 * 2.55, -27.5])
