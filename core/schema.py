"""Map source columns to roles and normalise them to the canonical frame of ``core.columns``.

``detect_roles`` finds the customer, date, quantity, price, amount, invoice, product,
description and country columns from header names (case-, space- and punctuation-insensitive);
explicit overrides always win. ``normalize`` parses the mapped columns explicitly (dates by a
format decided from the whole column, numbers with currency symbols, thousands separators and
decimal commas), marks every value that fails in ``parse_error`` and counts failures, raising
:class:`~core.errors.ParseError` when too many values in a column fail.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from core import columns as cc
from core.dates import (
    DateChoice,
    detect_date_choice,
    native_choice,
    parse_date_expr,
    user_format_choice,
)
from core.errors import ConfigError, InputFileError, ParseError, SchemaError

REQUIRED_TEXT = "customer, date, and either quantity + price or amount"
PARSED_ROLES: tuple[str, ...] = ("date", "quantity", "price", "amount")

# Normalised header spellings (lower case, letters and digits only) for each role. A name
# belongs to one role only; the first matching column in file order wins.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "customer": (
        "customerid",
        "customer",
        "custid",
        "customerno",
        "customernumber",
        "customernr",
        "customercode",
        "customerkey",
        "custno",
        "custnumber",
        "cust",
        "clientid",
        "client",
        "clientno",
        "clientnumber",
        "clientcode",
        "buyerid",
        "buyer",
        "userid",
        "memberid",
        "accountid",
        "accountno",
        "accountnumber",
        "shopperid",
        "contactid",
        "consumerid",
        "kundennummer",
        "kunde",
        "kundenid",
        "idcliente",
        "cliente",
        "clientcustomerid",
    ),
    "date": (
        "invoicedate",
        "date",
        "orderdate",
        "purchasedate",
        "timestamp",
        "transactiondate",
        "datetime",
        "saledate",
        "salesdate",
        "orderdatetime",
        "invoicedatetime",
        "createdat",
        "created",
        "createddate",
        "transactiontime",
        "transactiondatetime",
        "purchasetime",
        "purchasedatetime",
        "ordertime",
        "invoicetime",
        "txndate",
        "txntime",
        "dateofpurchase",
        "orderedat",
        "purchasedat",
        "time",
        "day",
        "datum",
        "fecha",
        "billingdate",
        "documentdate",
        "postingdate",
        "receiptdate",
    ),
    "invoice": (
        "invoiceno",
        "invoice",
        "invoiceid",
        "invoicenumber",
        "invoicenr",
        "orderid",
        "order",
        "orderno",
        "ordernumber",
        "ordernr",
        "transactionid",
        "transaction",
        "transactionno",
        "transactionnumber",
        "txnid",
        "receiptid",
        "receipt",
        "receiptno",
        "receiptnumber",
        "basketid",
        "billno",
        "billnumber",
        "bill",
        "documentno",
        "documentnumber",
        "salesorder",
        "salesorderid",
        "salesorderno",
        "rechnungsnummer",
        "bestellnummer",
    ),
    "quantity": (
        "quantity",
        "qty",
        "units",
        "unitssold",
        "quantitysold",
        "quantityordered",
        "qtyordered",
        "qtysold",
        "numunits",
        "numberofunits",
        "nunits",
        "pieces",
        "pcs",
        "menge",
        "anzahl",
        "cantidad",
    ),
    "price": (
        "unitprice",
        "price",
        "priceeach",
        "priceperunit",
        "itemprice",
        "salesprice",
        "saleprice",
        "sellingprice",
        "unitcost",
        "productprice",
        "listprice",
        "netprice",
        "preis",
        "einzelpreis",
        "precio",
    ),
    "amount": (
        "amount",
        "total",
        "revenue",
        "sales",
        "value",
        "ordertotal",
        "totalamount",
        "totalprice",
        "ordervalue",
        "orderamount",
        "linetotal",
        "lineamount",
        "salesamount",
        "totalsales",
        "turnover",
        "spend",
        "grandtotal",
        "netamount",
        "grossamount",
        "subtotal",
        "totalvalue",
        "amountspent",
        "purchaseamount",
        "transactionamount",
        "invoiceamount",
        "invoicetotal",
        "saleamount",
        "betrag",
        "umsatz",
        "importe",
    ),
    "product": (
        "stockcode",
        "productid",
        "sku",
        "item",
        "itemid",
        "product",
        "productcode",
        "itemcode",
        "itemno",
        "itemnumber",
        "articleno",
        "article",
        "articleid",
        "articlenumber",
        "productno",
        "productnumber",
        "skuid",
        "upc",
        "ean",
        "partno",
        "partnumber",
        "artikelnummer",
        "artikel",
    ),
    "description": (
        "description",
        "productname",
        "itemname",
        "itemdescription",
        "productdescription",
        "productdesc",
        "desc",
        "articlename",
        "producttitle",
        "title",
        "itemtitle",
        "beschreibung",
        "bezeichnung",
        "descripcion",
    ),
    "country": (
        "country",
        "region",
        "countryname",
        "countrycode",
        "market",
        "territory",
        "billingcountry",
        "shippingcountry",
        "shipcountry",
        "customercountry",
        "land",
        "pais",
        "nation",
    ),
}

# Second pass for columns no exact spelling matched: (role, substrings any of which, all of
# which). Checked in this order on still-unassigned columns.
_FUZZY: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("customer", ("customer", "client", "cust"), ("id", "no", "number", "code", "key", "nr")),
    ("invoice", ("invoice",), ()),
    ("invoice", ("order", "transaction", "receipt"), ("id", "no", "number", "nr")),
    ("date", ("date", "timestamp"), ()),
    ("quantity", ("qty", "quantity", "numberof"), ()),
    ("price", ("price",), ()),
    ("amount", (), ()),  # amount_like: see below
    ("product", ("stockcode", "sku", "product", "article"), ("id", "code", "no", "number")),
    ("description", ("description", "desc"), ()),
    ("country", ("country",), ()),
)


def norm_name(name: str) -> str:
    """Lower-case a name, keep letters and digits only (``Customer ID`` -> ``customerid``)."""
    return re.sub(r"[\W_]+", "", name.casefold())


# Words that name a line's total in a header, with any prefix: anywhere in the name, or at
# its end (``net_sales``, ``dollar_value``; not ``salesperson``). A name with a price word
# ("unit_value", "price_total") names a unit price instead.
_AMOUNT_ANYWHERE = ("amount", "total", "revenue", "turnover", "dollar")
_AMOUNT_ENDINGS = ("sales", "value", "spend", "spent", "betrag", "umsatz", "importe")
_PRICE_WORDS = ("price", "unit", "each", "preis", "precio")


def amount_like(name: str) -> bool:
    """Whether a header names a line amount (``dollar_value``, ``Sales``, ``LineTotal``)."""
    key = norm_name(name)
    if key in SYNONYMS["amount"]:
        return True
    if any(word in key for word in _PRICE_WORDS):
        return False
    return any(word in key for word in _AMOUNT_ANYWHERE) or key.endswith(_AMOUNT_ENDINGS)


def mapping_warnings(roles: Mapping[str, str | None]) -> tuple[str, ...]:
    """Warnings about a role mapping that works but may give wrong figures.

    A unit price mapped to a column whose name says it is a line amount makes every line's
    amount quantity x (line total): revenue multiplied by the quantities.
    """
    price = roles.get("price")
    if not price or not amount_like(price):
        return ()
    return (
        f"the unit price is mapped to {price!r}, whose name says it is a line amount (the "
        "line's total). Line amounts are computed as quantity x unit price, so if "
        f"{price!r} already holds the total, every amount is multiplied by the quantity: "
        f"map {price!r} as the line amount and leave the unit price unmapped.",
    )


@dataclass(frozen=True)
class RoleMapping:
    """Which source column plays which role.

    Attributes
    ----------
    roles
        ``(role, source column)`` pairs in the order of ``core.columns.ROLES``.
    notes
        How each role was found (explicit, exact name, partial name match).
    """

    roles: tuple[tuple[str, str], ...]
    notes: tuple[str, ...] = ()

    def get(self, role: str) -> str | None:
        """The source column for ``role``, or None when unmapped."""
        for r, col in self.roles:
            if r == role:
                return col
        return None

    def as_dict(self) -> dict[str, str]:
        """``{role: source column}``."""
        return dict(self.roles)

    def missing_required(self) -> tuple[str, ...]:
        """Required roles that are not mapped (``"price"`` etc. only when no amount)."""
        have = {r for r, _ in self.roles}
        missing = [r for r in ("customer", "date") if r not in have]
        if "amount" not in have:
            missing += [r for r in ("quantity", "price") if r not in have]
        return tuple(missing)


def _closest(role: str, columns: Sequence[str], n: int = 3) -> list[str]:
    scored = []
    for col in columns:
        key = norm_name(col)
        if not key:
            continue
        ratio = max(difflib.SequenceMatcher(None, key, syn).ratio() for syn in SYNONYMS[role])
        if ratio >= 0.5:
            scored.append((-ratio, col))
    return [col for _, col in sorted(scored)[:n]]


def detect_roles(
    columns: Sequence[str],
    overrides: Mapping[str, str] | None = None,
    *,
    require: bool = True,
) -> RoleMapping:
    """Assign roles to columns from their names; explicit overrides always win.

    Parameters
    ----------
    columns
        Source column names in file order.
    overrides
        ``{role: column}`` (CLI ``--map ROLE=COLUMN``). A column is matched exactly, else
        case-, space- and punctuation-insensitively when that is unique. An empty column
        name leaves an optional role unmapped on purpose.
    require
        Raise when a required role is missing (default). With False, return the partial
        mapping (e.g. for a mapping form in the app).

    Raises
    ------
    SchemaError
        Unknown role or column in ``overrides``; a required role not found.
    """
    columns = list(columns)
    assigned: dict[str, str] = {}
    disabled: set[str] = set()
    notes: list[str] = []
    _apply_overrides(columns, dict(overrides or {}), assigned, disabled, notes)
    _match_names(columns, assigned, disabled, notes)
    notes.extend(f"warning: {w}" for w in mapping_warnings(assigned))
    mapping = RoleMapping(
        roles=tuple((r, assigned[r]) for r in cc.ROLES if r in assigned), notes=tuple(notes)
    )
    if require:
        _raise_if_incomplete(mapping, columns)
    return mapping


def _apply_overrides(
    columns: list[str],
    overrides: dict[str, str],
    assigned: dict[str, str],
    disabled: set[str],
    notes: list[str],
) -> None:
    """The roles the user mapped (``--map ROLE=COLUMN``) into ``assigned``, those left
    unmapped on purpose into ``disabled``; a note for each."""
    by_norm: dict[str, list[str]] = {}
    for col in columns:
        by_norm.setdefault(norm_name(col), []).append(col)
    for role, col in overrides.items():
        if role not in cc.ROLES:
            raise SchemaError(
                f"Unknown role {role!r} in the column mapping.",
                hint=f"valid roles: {', '.join(cc.ROLES)}",
            )
        if col is None or col == "":
            if role in ("customer", "date"):
                raise SchemaError(
                    f"The {role} role cannot be left unmapped.",
                    hint=f"map it to a column: --map {role}=COLUMN",
                )
            disabled.add(role)
            notes.append(f"{role}: left unmapped on request")
            continue
        if col in columns:
            assigned[role] = col
            notes.append(f"{role} <- {col!r} (given explicitly)")
            continue
        candidates = by_norm.get(norm_name(col), [])
        if len(candidates) == 1:
            assigned[role] = candidates[0]
            notes.append(f"{role} <- {candidates[0]!r} (given explicitly as {col!r})")
            continue
        close = difflib.get_close_matches(col, columns, n=3, cutoff=0.5)
        raise SchemaError(
            f"The mapping {role}={col!r} names a column that does not exist. Columns found: "
            f"{_listing(columns)}."
            + (f" Closest: {', '.join(repr(c) for c in close)}." if close else ""),
            hint=f"use one of the column names exactly, e.g. --map {role}="
            f"{(close or columns or ['COLUMN'])[0]!r}",
        )


def _match_names(
    columns: list[str], assigned: dict[str, str], disabled: set[str], notes: list[str]
) -> None:
    """The roles still open matched by column name into ``assigned``: exact spellings
    (``SYNONYMS``) first, then partial ones (``_FUZZY``)."""
    used = set(assigned.values())
    # Exact spellings first, across all roles, so that e.g. "order_date" is taken by date
    # before the partial pass could offer it to invoice.
    for col in columns:
        if col in used:
            continue
        key = norm_name(col)
        for role in cc.ROLES:
            if role in assigned or role in disabled:
                continue
            if key in SYNONYMS[role]:
                assigned[role] = col
                used.add(col)
                notes.append(f"{role} <- {col!r} (name match)")
                break
    for role, anys, alls in _FUZZY:
        if role in assigned or role in disabled:
            continue
        for col in columns:
            if col in used:
                continue
            key = norm_name(col)
            if role == "amount":
                found = amount_like(col)
            else:
                found = any(a in key for a in anys) and (not alls or any(b in key for b in alls))
            if found:
                assigned[role] = col
                used.add(col)
                notes.append(f"{role} <- {col!r} (partial name match; check it)")
                break


def _listing(columns: Sequence[str], limit: int = 30) -> str:
    shown = ", ".join(repr(c) for c in columns[:limit])
    return shown + (f", ... ({len(columns)} in all)" if len(columns) > limit else "")


def _raise_if_incomplete(mapping: RoleMapping, columns: Sequence[str]) -> None:
    missing = mapping.missing_required()
    if not missing:
        return
    used = set(mapping.as_dict().values())
    unused = [c for c in columns if c not in used]
    parts = []
    for role in missing:
        close = _candidates(role, unused)
        shown = ", ".join(repr(c) for c in close) if close else "none"
        parts.append(f"{role} (closest: {shown})")
    missing_text = list(missing)
    if "quantity" in missing or "price" in missing:
        missing_text = [
            f"{r} (or an amount column)" if r in ("quantity", "price") else r for r in missing
        ]
    raise SchemaError(
        f"Missing column role{'s' if len(missing) > 1 else ''}: {', '.join(missing_text)}. "
        f"Roles needed: {REQUIRED_TEXT}. Columns found: {_listing(columns)}. "
        f"Closest matches: {'; '.join(parts)}.",
        hint=_incomplete_hint(missing, unused),
    )


def _candidates(role: str, columns: Sequence[str]) -> list[str]:
    """Columns that may play ``role``, best first: amount-like names for the amount, never
    for the unit price (a line total taken as a price multiplies revenue by the quantity)."""
    if role == "amount":
        named = [c for c in columns if amount_like(c)]
        return named + [c for c in _closest(role, columns) if c not in named]
    if role == "price":
        return _closest(role, [c for c in columns if not amount_like(c)])
    return _closest(role, columns)


def _incomplete_hint(missing: Sequence[str], unused: Sequence[str]) -> str:
    """How to complete a mapping; a missing amount names both routes (line amount, or
    quantity x unit price), each with a column to try."""
    steps = [
        f"--map {role}={(_candidates(role, unused) or ['COLUMN'])[0]!r}"
        for role in missing
        if role in ("customer", "date")
    ]
    hint = "map the columns explicitly, e.g. " + " and ".join(steps) if steps else ""
    if "quantity" not in missing and "price" not in missing:
        return hint
    amount = (_candidates("amount", unused) or ["COLUMN"])[0]
    left = [c for c in unused if c != amount]
    route = []
    for role in ("quantity", "price"):
        if role in missing:
            col = (_candidates(role, left) or ["COLUMN"])[0]
            left = [c for c in left if c != col]
            route.append(f"--map {role}={col!r}")
    return (hint + "; " if hint else "") + (
        f"map either the line amount (the line's total) with --map amount={amount!r}, or "
        f"quantity x unit price with {' and '.join(route)}"
    )


# ------------------------------------------------------------------------------ normalize


@dataclass(frozen=True)
class SchemaReport:
    """What :func:`normalize` did.

    Attributes
    ----------
    mapping
        The role mapping used.
    date
        How the date column was parsed.
    parse_failures
        ``(role, rows whose non-empty value failed to parse)`` for each parsed role
        (date, quantity, price, amount), zero counts included.
    bad_examples
        ``(role, first few distinct failing raw values)`` for roles with failures.
    notes
        Other facts worth telling the user.
    n_rows
        Rows in the source.
    empty_customer_rows
        Rows whose customer id is empty.
    """

    mapping: RoleMapping
    date: DateChoice
    parse_failures: tuple[tuple[str, int], ...]
    bad_examples: tuple[tuple[str, tuple[str, ...]], ...]
    notes: tuple[str, ...]
    n_rows: int = 0
    empty_customer_rows: int = 0

    @classmethod
    def of(
        cls, mapping: RoleMapping, sources: SourceRoles, stats: ScanStats, plan: ParsePlan
    ) -> SchemaReport:
        """The report of a normalization from its mapping, source roles, scan and parse plan
        (the Polars engine's :func:`normalize_views` and the Spark engine's alike)."""
        return cls(
            mapping=mapping,
            date=plan.date,
            parse_failures=plan.failures,
            bad_examples=plan.examples,
            notes=(*sources.notes, *plan.notes),
            n_rows=stats.n_rows,
            empty_customer_rows=int(stats.get("empty_customer")),
        )

    def failures(self, role: str) -> int:
        """Failure count of one parsed role (0 when not parsed)."""
        return dict(self.parse_failures).get(role, 0)


_ROW = "__custseg_row"
_ID_FLOAT_TEXT = r"^([+-]?\d+)\.0*$"
_ID_FLOAT_TEXT_COMMA = r"^([+-]?\d+)[.,]0*$"  # decimal-comma files: "17850,0" too


def _has_decimal_mark(text: pl.Expr, decimal_comma: bool) -> pl.Expr:
    """Text ids a whole-number rewrite may apply to (a dot, or also a comma).

    Searched as bytes (the marks are ASCII, so a byte match is a character match): the
    byte search costs about half the text search per value.
    """
    raw = text.cast(pl.Binary)
    dotted = raw.bin.contains(b".")
    return dotted | raw.bin.contains(b",") if decimal_comma else dotted


def _src(role: str) -> str:
    return f"__src_{role}"


def _parsed(role: str) -> str:
    return f"__val_{role}"


def _nonempty(role: str) -> str:
    return f"__has_{role}"


def _text_expr(expr: pl.Expr, dtype: pl.DataType, *, tidy: bool = False) -> pl.Expr:
    """Any column as stripped text, empty -> null.

    ``tidy``: the source pass found no blank or space-padded value in this text column, so
    it is returned as is (the strip and the blank test cost more than the rest of the
    normalisation of a clean Parquet file).
    """
    if tidy and dtype == pl.String:
        return expr
    text = expr if dtype == pl.String else expr.cast(pl.String)
    text = text.str.strip_chars()
    # Not ``replace("", None)``: faster eagerly, but the streaming engine runs it on the
    # whole column in memory, which multiplies the peak memory on large files.
    return pl.when(text.str.len_bytes() > 0).then(text)


# What ``str.strip_chars()`` strips: the characters with Unicode's White_Space property.
WHITESPACE: tuple[str, ...] = (
    *(chr(c) for c in range(0x09, 0x0E)),
    " ",
    "\x85",
    "\xa0",
    "\u1680",
    *(chr(c) for c in range(0x2000, 0x200B)),
    "\u2028",
    "\u2029",
    "\u202f",
    "\u205f",
    "\u3000",
)


def _padded_count(text: pl.Expr) -> pl.Expr:
    """Rows of a text column that are blank or have leading or trailing white space."""
    padded = (text.str.len_bytes() == 0) | (
        text.str.strip_chars().str.len_bytes() != text.str.len_bytes()
    )
    return padded.sum()


def _irregular_ids(text: pl.Expr, decimal_comma: bool) -> pl.Expr:
    """Text ids holding white space or a decimal mark anywhere, or blank: without any, the
    column has no padded id and none a whole-number rewrite applies to (one multi-pattern
    search per value, cheaper than the strip and the search those counts make)."""
    marks = [".", ","] if decimal_comma else ["."]
    return text.str.contains_any([*WHITESPACE, *marks]) | (text.str.len_bytes() == 0)


def _whole_float(expr: pl.Expr) -> pl.Expr:
    """A finite whole number that fits an Int64 (written as an integer id).

    The bounds are those of the non-strict cast to Int64 (-2**63 fits, 2**63 does not); they
    also leave out the infinities and NaN (Polars orders NaN above every number), without the
    cast's Int64 column.
    """
    return (expr == expr.floor()) & (expr >= -(2.0**63)) & (expr < 2.0**63)


def _id_expr(
    expr: pl.Expr,
    dtype: pl.DataType,
    *,
    float_text: bool = True,
    all_whole: bool = False,
    tidy: bool = False,
    decimal_comma: bool = False,
) -> pl.Expr:
    """Identifiers as text: ``17850.0`` (float / Excel) -> ``17850``; ``00017`` kept.

    The source pass tells which rewrites can apply: ``float_text=False`` when no text id
    contains a dot (the ``17850.0`` rewrite, a regex on every value, is then skipped) and
    ``all_whole=True`` when every non-NaN float id is a whole number (no float is formatted).
    Each skip saves most of the per-line cost of its ids. With ``decimal_comma`` (the file
    writes numbers with a decimal comma) ``17850,0`` is the id ``17850`` too.
    """
    if dtype.is_float():
        as_int = pl.when(_whole_float(expr)).then(expr.cast(pl.Int64, strict=False).cast(pl.String))
        if all_whole:
            return as_int
        as_text = pl.when(expr.is_nan()).then(None).otherwise(expr.cast(pl.String))
        return pl.coalesce(as_int, as_text)
    if dtype.is_integer():
        return expr.cast(pl.String)
    text = _text_expr(expr, dtype, tidy=tidy)
    if not float_text:
        return text
    return text.str.replace(_ID_FLOAT_TEXT_COMMA if decimal_comma else _ID_FLOAT_TEXT, "${1}")


def _id_is_empty(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """``_id_expr(expr, dtype).is_null()`` without building the text."""
    if dtype.is_float():
        return expr.is_null() | expr.is_nan()
    if dtype.is_integer():
        return expr.is_null()
    # The float-text rewrite keeps at least one digit, so only blank text becomes null.
    return _text_expr(expr, dtype).is_null()


def _number_expr(
    expr: pl.Expr, dtype: pl.DataType, *, decimal_comma: bool, all_finite: bool = False
) -> pl.Expr:
    """Parse to Float64; anything unreadable or non-finite becomes null.

    ``all_finite``: the source pass found no NaN or infinity in this numeric column.
    """
    if dtype.is_numeric():
        num = expr.cast(pl.Float64)
        if all_finite:
            return num
        return pl.when(num.is_finite()).then(num).otherwise(None)
    t = _text_expr(expr, dtype)
    # Spaces (incl. no-break and narrow no-break) and apostrophes group thousands.
    t = t.str.replace_all(r"[\s\u00a0\u202f'’]", "")
    t = t.str.replace_all(r"[$€£¥₹]", "")
    # Currency codes before or after the number: "USD12.50", "12,50EUR".
    t = t.str.replace(r"^[A-Z]{3}([-+(]?[\d.,])", "${1}")
    t = t.str.replace(r"([\d.,)])[A-Z]{3}$", "${1}")
    negative = t.str.contains(r"^\(.*\)$") | t.str.contains(r"^[\d.,]+-$")
    t = pl.when(negative).then(t.str.replace_all(r"[()\-]", "")).otherwise(t)
    if decimal_comma:
        grouped = t.str.contains(r"^[-+]?\d{1,3}(?:\.\d{3})+(?:,\d*)?$")
        t = pl.when(grouped).then(t.str.replace_all(".", "", literal=True)).otherwise(t)
        t = t.str.replace(",", ".", literal=True)
    else:
        grouped = t.str.contains(r"^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d*)?$")
        t = pl.when(grouped).then(t.str.replace_all(",", "", literal=True)).otherwise(t)
    # Only plain decimal notation is accepted (the cast alone would take "nan" or "inf").
    t = pl.when(t.str.contains(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")).then(t)
    num = t.otherwise(None).cast(pl.Float64, strict=False)
    num = pl.when(negative).then(-num).otherwise(num)
    return pl.when(num.is_finite()).then(num).otherwise(None)


def _nonempty_expr(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.String or not (dtype.is_numeric() or dtype.is_temporal()):
        return _text_expr(expr, dtype).is_not_null()
    return expr.is_not_null()


def _check_mapping(mapping: RoleMapping, schema: pl.Schema) -> None:
    names = list(schema.names())
    for role, col in mapping.roles:
        if role not in cc.ROLES:
            raise SchemaError(
                f"Unknown role {role!r} in the column mapping.",
                hint=f"valid roles: {', '.join(cc.ROLES)}",
            )
        if col not in schema:
            close = difflib.get_close_matches(col, names, n=3, cutoff=0.5)
            raise SchemaError(
                f"The mapping {role}={col!r} names a column that does not exist. Columns "
                f"found: {_listing(names)}."
                + (f" Closest: {', '.join(repr(c) for c in close)}." if close else ""),
                hint=f"use one of the column names exactly, e.g. --map {role}="
                f"{(close or names or ['COLUMN'])[0]!r}",
            )
        dtype = schema[col]
        if isinstance(dtype, pl.List | pl.Array | pl.Struct | pl.Object | pl.Binary):
            raise SchemaError(
                f"Column {col!r} (mapped to {role}) holds {dtype} values, not plain values.",
                hint=f"map another column with --map {role}=COLUMN",
            )
    _raise_if_incomplete(mapping, names)


def _choose_date(
    values: pl.Series | None,
    col: str,
    dtype: pl.DataType,
    date_format: str | None,
    notes: list[str],
) -> DateChoice:
    if dtype.is_temporal():
        if date_format is not None:
            notes.append(
                f"--date-format {date_format!r} ignored: column {col!r} already holds dates"
            )
        return native_choice(dtype)
    if date_format is not None:
        if "%" not in date_format:
            raise ConfigError(
                f"The date format {date_format!r} has no % fields.",
                hint="write it in strftime notation, e.g. '%d/%m/%Y %H:%M'",
            )
        return user_format_choice(date_format)
    assert values is not None
    return detect_date_choice(values, column=col)


def _date_source(expr: pl.Expr, dtype: pl.DataType, choice: DateChoice) -> pl.Expr:
    """Numbers given a strict user format are parsed from their integer digits."""
    if choice.kind == "format" and choice.order is None and dtype.is_numeric():
        num = expr.cast(pl.Float64)
        return (
            pl.when(num == num.floor())
            .then(num.cast(pl.Int64, strict=False).cast(pl.String))
            .otherwise(expr.cast(pl.String))
        )
    return expr


def _fast_number_expr(expr: pl.Expr, *, decimal_comma: bool) -> pl.Expr:
    """Plain numbers only (``2.55``, ``-6``, or ``2,55`` with decimal comma); else null.

    Agrees with :func:`_number_expr` wherever it is not null; the rare rest (currency
    symbols, thousands separators, text) goes through the full parser on distinct values.
    """
    t = expr.str.strip_chars()
    if decimal_comma:
        # A dot is a thousands separator here ("1.500" = 1500): leave those to the full parser.
        t = pl.when(t.str.contains(".", literal=True)).then(None).otherwise(t)
        t = t.str.replace(",", ".", literal=True)
    num = t.cast(pl.Float64, strict=False)
    return pl.when(num.is_finite()).then(num).otherwise(None)


def _swap_dm(fmt: str) -> str:
    return fmt.replace("%m", "\0").replace("%d", "%m").replace("\0", "%d")


def _eager(values: pl.Series, expr_of: Callable[[pl.Expr], pl.Expr]) -> pl.Series:
    return values.to_frame("v").select(expr_of(pl.col("v"))).to_series()


@dataclass(frozen=True)
class _Parsed:
    """Parse outcome of one role over its distinct raw values."""

    mapping_old: pl.Series | None  # raw values looked up ...
    mapping_new: pl.Series | None  # ... and their parsed values
    failures: int
    examples: tuple[str, ...]


def _tally(
    values: pl.Series, parsed: pl.Series, value_counts: list[dict[str, Any]], dtype: pl.DataType
) -> tuple[int, tuple[str, ...]]:
    """Rows and first distinct raw values whose non-empty value parsed to null."""
    if values.len() == 0:
        return 0, ()
    nonempty = _eager(values, lambda e: _nonempty_expr(e, dtype))
    bad = values.filter(nonempty & parsed.is_null())
    if bad.len() == 0:
        return 0, ()
    counts = pl.DataFrame(value_counts, schema={values.name: dtype, "count": pl.UInt64})
    key = values.name
    n = int(counts.filter(pl.col(key).is_in(bad.implode()))["count"].sum())
    return n, tuple(str(v) for v in bad.head(5).to_list())


def normalize(
    lf: pl.LazyFrame,
    mapping: RoleMapping,
    *,
    date_format: str | None = None,
    decimal_comma: bool = False,
    max_failure_share: float = 0.01,
    read_all_columns: bool = True,
) -> tuple[pl.LazyFrame, SchemaReport]:
    """Turn a source frame into the canonical frame of ``core.columns.NORMALIZED_SCHEMA``.

    See :func:`normalize_views`, which also gives the lines as the engine's encoder reads them.
    """
    views = normalize_views(
        lf,
        mapping,
        date_format=date_format,
        decimal_comma=decimal_comma,
        max_failure_share=max_failure_share,
        read_all_columns=read_all_columns,
    )
    return views.lines, views.report


@dataclass(frozen=True)
class EncoderLines:
    """The normalized lines as ``core.pipeline``'s one-pass encoder reads them.

    Two columns may differ from the normalized frame, each to save per-line work:

    * with ``keyed``, ``customer_id`` holds whole-number ids as Int64 keys (``str(key)`` is
      the id), neither formatted nor hashed as text on every line; ``low``/``high`` are the
      smallest and largest key (None when no line has a customer id);
    * the ``raw_text`` columns (product, country, description) hold their source text,
      unstripped: the encoder turns them into categorical codes and normalizes the distinct
      values with :meth:`normalize_values`, which gives exactly what the normalized frame
      holds (a description it does not code is read back from the normalized lines).
    """

    frame: pl.LazyFrame = field(compare=False, repr=False)
    keyed: bool = False
    low: int | None = None
    high: int | None = None
    raw_text: tuple[str, ...] = ()
    float_text: tuple[str, ...] = ()  # raw_text id columns with ``17850.0``-style values
    rows_numbered: bool = False  # source_row is the position plus one (normalize's numbering)
    decimal_comma: bool = False  # the source writes numbers (and whole ids) with a decimal comma

    def normalize_values(self, column: str, values: pl.Series) -> pl.Series:
        """Distinct source values of a ``raw_text`` column, as the normalized frame has them."""
        if column == cc.PRODUCT:
            expr = _id_expr(
                pl.col("v"),
                pl.String(),
                float_text=column in self.float_text,
                decimal_comma=self.decimal_comma,
            )
        else:
            expr = _text_expr(pl.col("v"), pl.String())
        return _eager(values.rename("v"), lambda _: expr).rename(column)


def _customer_key(expr: pl.Expr, dtype: pl.DataType, *, whole: bool = False) -> pl.Expr | None:
    """Customer ids as Int64 keys, if the source column is numeric (None for text).

    Whole floats become their integer (NaN and fractions null: a column with such floats
    makes :func:`normalize_views` give encoder lines that are not keyed, as those ids are
    written as text). ``whole``: the source pass found every float id but NaN whole and
    within Int64 (no ``odd_floats``), so the cast alone gives the keys (NaN null).
    """
    if dtype in _KEYABLE_INTEGERS:
        return expr.cast(pl.Int64)
    if dtype.is_float():
        key = expr.cast(pl.Int64, strict=False)
        return key if whole else pl.when(_whole_float(expr)).then(key)
    return None


_ROLE_COLUMNS = {"product": cc.PRODUCT, "country": cc.COUNTRY, "description": cc.DESCRIPTION}

# Integer customer ids whose Int64 value is exactly the id (written as its decimal digits).
_KEYABLE_INTEGERS = (
    pl.Int8(),
    pl.Int16(),
    pl.Int32(),
    pl.Int64(),
    pl.UInt8(),
    pl.UInt16(),
    pl.UInt32(),
)


# Text columns the encoder normalizes over their distinct values (their padding is not
# counted in the source pass: the encoder does not need it, the lines strip them anyway).
_RAW_TEXT = ("product", "country", "description")


@dataclass(frozen=True)
class NormalizedViews:
    """What :func:`normalize_views` gives: the normalized lines, and the same for the engine.

    ``lines`` is *the* handle for the normalised lines (exactly ``NORMALIZED_SCHEMA``, source
    order, ``source_row`` = position + 1, lazy); ``encoder`` reads the same lines the way the
    engine's encoding pass wants them (:class:`EncoderLines`).
    """

    lines: pl.LazyFrame = field(compare=False, repr=False)
    encoder: EncoderLines = field(compare=False, repr=False)
    report: SchemaReport


@dataclass(frozen=True)
class SourceRoles:
    """The mapped source columns: role -> column and dtype, and which roles are parsed."""

    roles: Mapping[str, str]
    dtypes: Mapping[str, pl.DataType]
    parsed: tuple[str, ...]  # date, quantity, price, amount (those mapped)
    text_numbers: tuple[str, ...]  # numeric roles held as text
    has_qp: bool  # quantity and price mapped (the amount is their product)
    notes: tuple[str, ...]

    @property
    def date_lookup(self) -> bool:
        """The date column is text: parsed over its distinct values, by lookup."""
        return not self.dtypes["date"].is_temporal()


@dataclass(frozen=True)
class ScanStats:
    """The one pass over the source: row counts, failures to check, distinct raw values."""

    n_rows: int
    values: Mapping[str, Any]  # the aggregates by name (see :func:`scan_statistics`)

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)


@dataclass(frozen=True)
class ParsePlan:
    """How each parsed role is read: the date format, and lookups of hard raw values."""

    date: DateChoice
    outcome: Mapping[str, _Parsed]
    failures: tuple[tuple[str, int], ...]
    examples: tuple[tuple[str, tuple[str, ...]], ...]
    notes: tuple[str, ...]

    @property
    def any_failure(self) -> bool:
        return any(n for _, n in self.failures)


def normalize_views(
    lf: pl.LazyFrame,
    mapping: RoleMapping,
    *,
    date_format: str | None = None,
    decimal_comma: bool = False,
    max_failure_share: float = 0.01,
    read_all_columns: bool = True,
) -> NormalizedViews:
    """Turn a source frame into the canonical frame of ``core.columns.NORMALIZED_SCHEMA``.

    Three named steps: :func:`source_roles` (the mapped columns), :func:`scan_statistics`
    (the single pass over the source: it collects the distinct values of a text date column,
    the distinct values a plain number cast cannot read, and the row counts, so the
    report's failure counts are exact), :func:`parse_plan` (the date format, the parsed
    lookups, the failures), then :func:`canonical_lines` builds the lazy lines.

    Parameters
    ----------
    lf
        The source frame (e.g. from ``core.io.read_table``).
    mapping
        Role -> source column (``detect_roles``).
    date_format
        strftime format for the date column, overriding detection.
    decimal_comma
        Numbers use a comma as decimal separator (``2,55``; ``1.234,5``).
    max_failure_share
        Largest tolerated share of non-empty values in a parsed role that fail to parse.
    read_all_columns
        Read every source column in the pass, not only the mapped ones: a CSV scan finds a
        row with extra fields only then. Typed formats (Parquet, Excel) need not.

    Raises
    ------
    SchemaError
        The mapping names missing columns, lacks required roles, or a required column is
        empty throughout.
    ParseError
        More than ``max_failure_share`` of a parsed column's values fail.
    """
    if not 0.0 <= max_failure_share <= 1.0:
        raise ConfigError(
            f"max_failure_share must be between 0 and 1, got {max_failure_share!r}.",
            hint="use e.g. 0.01 for 1 %",
        )
    sources = source_roles(lf, mapping)
    stats = scan_statistics(
        lf, sources, decimal_comma=decimal_comma, read_all_columns=read_all_columns
    )
    plan = parse_plan(
        sources,
        stats,
        date_format=date_format,
        decimal_comma=decimal_comma,
        max_failure_share=max_failure_share,
    )
    lines, encoder = canonical_lines(lf, sources, stats, plan, decimal_comma=decimal_comma)
    report = SchemaReport.of(mapping, sources, stats, plan)
    return NormalizedViews(lines=lines, encoder=encoder, report=report)


def source_roles(lf: pl.LazyFrame, mapping: RoleMapping) -> SourceRoles:
    """Check the mapping against the source columns and say how each role is read."""
    schema = lf.collect_schema()
    _check_mapping(mapping, schema)
    roles = mapping.as_dict()
    notes: list[str] = []
    has_qp = "quantity" in roles and "price" in roles
    if has_qp and "amount" in roles:
        notes.append(
            f"amount computed as quantity x price; the amount column {roles['amount']!r} "
            "is not used"
        )
        del roles["amount"]
    dtypes = {role: schema[col] for role, col in roles.items()}
    if dtypes["date"].is_temporal() and not isinstance(dtypes["date"], pl.Datetime | pl.Date):
        raise SchemaError(
            f"Column {roles['date']!r} (mapped to date) holds {dtypes['date']} values, not dates.",
            hint="map the column with the order dates: --map date=COLUMN",
        )
    parsed = tuple(r for r in PARSED_ROLES if r in roles)
    return SourceRoles(
        roles=roles,
        dtypes=dtypes,
        parsed=parsed,
        text_numbers=tuple(r for r in parsed if r != "date" and not dtypes[r].is_numeric()),
        has_qp=has_qp,
        notes=tuple(notes),
    )


def _src_col(role: str) -> pl.Expr:
    return pl.col(_src(role))


def _scan_aggregates(
    sources: SourceRoles, all_columns: Sequence[str] | None, *, decimal_comma: bool
) -> list[pl.Expr]:
    """The aggregates of the source pass, over the roles' columns renamed by :func:`_src`."""
    roles, dtypes, src = sources.roles, sources.dtypes, _src_col
    aggs: list[pl.Expr] = [
        pl.len().alias("n_rows"),
        _id_is_empty(src("customer"), dtypes["customer"]).sum().alias("empty_customer"),
    ]
    if all_columns is not None:
        # Touch every source column once: a CSV scan checks rows for extra fields (a stray
        # delimiter) only when all columns are read.
        aggs.append(pl.sum_horizontal(pl.col(all_columns).is_null().sum()).alias("__all_nulls"))
    for role in _text_ids(sources):
        # The exact counts follow in a second pass only if these find some (_text_id_counts).
        aggs.append(_irregular_ids(src(role), decimal_comma).sum().alias(f"{role}_irregular"))
    for role in (r for r in ("customer", "invoice", "product") if r in roles):
        if dtypes[role].is_float():
            num = src(role)
            odd = num.is_not_null() & ~num.is_nan() & ~_whole_float(num)
            aggs.append(odd.sum().alias(f"{role}_odd_floats"))
        elif role in _text_ids(sources):
            continue
        elif not dtypes[role].is_integer():
            dotted = _has_decimal_mark(src(role).cast(pl.String), decimal_comma)
            aggs.append(dotted.sum().alias(f"{role}_dotted"))
    for role in ("customer", *sources.parsed):
        aggs.append(_nonempty_expr(src(role), dtypes[role]).sum().alias(f"n_{role}"))
    customer_key = _customer_key(src("customer"), dtypes["customer"])
    if customer_key is not None:
        # Float ids: the column's own extremes (NaN left out), the keys' extremes whenever
        # every id is whole (the lines are keyed only then), without casting every id.
        bounds = src("customer") if dtypes["customer"].is_float() else customer_key
        aggs.append(bounds.min().alias("customer_low"))
        aggs.append(bounds.max().alias("customer_high"))
    if sources.date_lookup:
        d = src("date").drop_nulls()
        aggs.append(d.unique(maintain_order=True).implode().alias("date_values"))
        aggs.append(d.value_counts().implode().alias("date_counts"))
    for role in sources.text_numbers:
        slow = src(role).filter(
            _nonempty_expr(src(role), dtypes[role])
            & _fast_number_expr(src(role).cast(pl.String), decimal_comma=decimal_comma).is_null()
        )
        aggs.append(slow.unique(maintain_order=True).implode().alias(f"{role}_values"))
        aggs.append(slow.value_counts().implode().alias(f"{role}_counts"))
    for role in sources.parsed:
        if role != "date" and dtypes[role].is_integer():
            aggs.append(pl.lit(0, dtype=pl.UInt32).alias(f"{role}_nonfinite"))  # always finite
        elif role != "date" and dtypes[role].is_numeric():
            num = src(role).cast(pl.Float64)
            aggs.append((num.is_not_null() & ~num.is_finite()).sum().alias(f"{role}_nonfinite"))
    return aggs


def _text_ids(sources: SourceRoles) -> tuple[str, ...]:
    """The customer and invoice roles mapped to text columns."""
    return tuple(
        r for r in ("customer", "invoice") if r in sources.roles and sources.dtypes[r] == pl.String
    )


def _text_id_counts(
    renamed: pl.LazyFrame, sources: SourceRoles, values: Mapping[str, Any], *, decimal_comma: bool
) -> dict[str, int]:
    """Per text id role, its padded and dotted ids (and for customers, the ids written like
    ``17850.0``): none when the source pass found no irregular id (:func:`_irregular_ids`),
    else counted in a second pass over those columns."""
    counts: dict[str, int] = {}
    aggs: list[pl.Expr] = []
    for role in _text_ids(sources):
        text = _src_col(role)
        exact = [
            _padded_count(text).alias(f"{role}_padded"),
            _has_decimal_mark(text, decimal_comma).sum().alias(f"{role}_dotted"),
        ]
        if role == "customer":
            whole = r"^[+-]?\d+[.,]0+$" if decimal_comma else r"^[+-]?\d+\.0+$"
            floats = text.str.strip_chars().str.contains(whole)
            exact.append(floats.sum().alias("customer_float_text"))
        if values[f"{role}_irregular"]:
            aggs += exact
        else:
            counts.update(dict.fromkeys((e.meta.output_name() for e in exact), 0))
    if aggs:
        counts.update(renamed.select(aggs).collect().row(0, named=True))
    return counts


def scan_statistics(
    lf: pl.LazyFrame, sources: SourceRoles, *, decimal_comma: bool, read_all_columns: bool
) -> ScanStats:
    """The single pass over the source (:func:`_scan_aggregates`); empty roles are errors."""
    all_columns = lf.collect_schema().names() if read_all_columns else None
    renamed = lf.with_columns([pl.col(c).alias(_src(r)) for r, c in sources.roles.items()])
    aggs = _scan_aggregates(sources, all_columns, decimal_comma=decimal_comma)
    try:
        values = renamed.select(aggs).collect().row(0, named=True)
        values |= _text_id_counts(renamed, sources, values, decimal_comma=decimal_comma)
    except pl.exceptions.ComputeError as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputFileError(
            f"The file cannot be read to the end: {detail}",
            hint="look for a row with more fields than the header (a delimiter inside an "
            "unquoted value) or a quote that is never closed, fix it and load the file again",
        ) from exc
    return require_values(values, sources)


def require_values(values: Mapping[str, Any], sources: SourceRoles) -> ScanStats:
    """The source pass's statistics (``n_rows``, ``n_<role>``, ...) as :class:`ScanStats`;
    a required role empty in every row is an error. Any engine's source pass ends here."""
    n_rows = int(values["n_rows"])
    for role in ("customer", *sources.parsed):
        if values[f"n_{role}"] == 0:
            raise SchemaError(
                f"Column {sources.roles[role]!r} (mapped to {role}) is empty in all "
                f"{n_rows:,} rows.",
                hint=f"map the column that holds the {role} values: --map {role}=COLUMN",
            )
    return ScanStats(n_rows=n_rows, values=values)


def _parse_distinct(
    sources: SourceRoles, stats: ScanStats, date_choice: DateChoice, *, decimal_comma: bool
) -> dict[str, _Parsed]:
    """Each parsed role's distinct hard raw values, parsed, and the failures among them."""
    dtypes = sources.dtypes
    outcome: dict[str, _Parsed] = {"date": _Parsed(None, None, 0, ())}
    if sources.date_lookup:
        values = pl.Series(_src("date"), stats.get("date_values"), dtype=dtypes["date"])
        parsed = _eager(
            values,
            lambda e: parse_date_expr(
                _date_source(e, dtypes["date"], date_choice), date_choice, dtypes["date"]
            ),
        )
        n_fail, bad = _tally(values, parsed, stats.get("date_counts"), dtypes["date"])
        outcome["date"] = _Parsed(values, parsed, n_fail, bad)
    for role in sources.parsed:
        if role == "date":
            continue
        if role in sources.text_numbers:
            values = pl.Series(_src(role), stats.get(f"{role}_values"), dtype=dtypes[role])
            parsed = _eager(
                values, lambda e, r=role: _number_expr(e, dtypes[r], decimal_comma=decimal_comma)
            )
            n_fail, bad = _tally(values, parsed, stats.get(f"{role}_counts"), dtypes[role])
            outcome[role] = _Parsed(values, parsed, n_fail, bad)
        else:
            n_bad = int(stats.get(f"{role}_nonfinite"))
            outcome[role] = _Parsed(None, None, n_bad, ("NaN or infinite",) if n_bad else ())
    return outcome


def parse_plan(
    sources: SourceRoles,
    stats: ScanStats,
    *,
    date_format: str | None,
    decimal_comma: bool,
    max_failure_share: float,
) -> ParsePlan:
    """The date format, the parsed lookups and the failure counts; too many is an error."""
    roles, dtypes = sources.roles, sources.dtypes
    notes: list[str] = []
    date_values = (
        pl.Series(_src("date"), stats.get("date_values"), dtype=dtypes["date"])
        if sources.date_lookup
        else None
    )
    date_choice = _choose_date(date_values, roles["date"], dtypes["date"], date_format, notes)
    outcome = _parse_distinct(sources, stats, date_choice, decimal_comma=decimal_comma)
    failures = tuple((role, outcome[role].failures) for role in sources.parsed)
    examples = tuple(
        (role, outcome[role].examples) for role in sources.parsed if outcome[role].failures
    )
    for role, n_fail in failures:
        n_values = int(stats.get(f"n_{role}"))
        if n_fail and n_fail / n_values > max_failure_share:
            raise _parse_error(
                role,
                roles[role],
                n_fail,
                n_values,
                outcome[role].examples,
                date_choice=date_choice,
                decimal_comma=decimal_comma,
                max_failure_share=max_failure_share,
            )
        if n_fail:
            shown = ", ".join(repr(v) for v in outcome[role].examples[:3])
            notes.append(
                f"{n_fail:,} {role} value(s) in {roles[role]!r} could not be parsed "
                f"(e.g. {shown}); those rows are marked in parse_error"
            )
    if stats.get("customer_float_text"):
        notes.append(
            f"{stats.get('customer_float_text'):,} customer ids written like "
            f"'17850{',' if decimal_comma else '.'}0' were read as '17850'"
        )
    if dtypes["customer"].is_float():
        notes.append("customer ids were stored as decimal numbers; written without '.0'")
    return ParsePlan(date_choice, outcome, failures, examples, tuple(notes))


def _parse_expr(
    role: str, sources: SourceRoles, stats: ScanStats, plan: ParsePlan, *, decimal_comma: bool
) -> pl.Expr:
    """One role's source column parsed to its canonical value (lookups from ``plan``)."""
    dtype, found, src = sources.dtypes[role], plan.outcome.get(role), _src_col(role)
    if role == "date":
        if found is not None and found.mapping_old is not None:
            return src.replace_strict(
                found.mapping_old, found.mapping_new, default=None, return_dtype=pl.Datetime("us")
            )
        return parse_date_expr(_date_source(src, dtype, plan.date), plan.date, dtype)
    # Text found free of padding in the source pass need not be stripped line by line.
    tidy = stats.get(f"{role}_padded", 1) == 0
    if role in ("quantity", "price", "amount"):
        if dtype.is_numeric():
            all_finite = stats.get(f"{role}_nonfinite", 1) == 0
            return _number_expr(src, dtype, decimal_comma=decimal_comma, all_finite=all_finite)
        fast = _fast_number_expr(src.cast(pl.String), decimal_comma=decimal_comma)
        if found is None or found.mapping_old is None or found.mapping_old.len() == 0:
            return fast
        looked_up = src.replace_strict(
            found.mapping_old, found.mapping_new, default=None, return_dtype=pl.Float64
        )
        return pl.coalesce(fast, looked_up)
    if role in ("customer", "invoice", "product"):
        return _id_expr(
            src,
            dtype,
            float_text=bool(stats.get(f"{role}_dotted", 1)),
            all_whole=stats.get(f"{role}_odd_floats", 1) == 0,
            tidy=tidy,
            decimal_comma=decimal_comma,
        )
    return _text_expr(src, dtype, tidy=tidy)


def _select_canonical(
    staged: pl.LazyFrame,
    sources: SourceRoles,
    plan: ParsePlan,
    customer: pl.Expr,
    customer_dtype: pl.DataType,
) -> pl.LazyFrame:
    """The canonical columns from the parsed ones (``customer`` given: text or keys)."""
    roles = sources.roles
    null_f64 = pl.lit(None, dtype=pl.Float64)
    quantity = pl.col(_parsed("quantity")) if "quantity" in roles else null_f64
    price = pl.col(_parsed("price")) if "price" in roles else null_f64
    amount = quantity * price if sources.has_qp else pl.col(_parsed("amount"))
    parse_error = pl.lit(None, dtype=pl.String)
    if plan.any_failure:
        # Otherwise no value failed (the counts are exact): parse_error is null throughout.
        failed = [pl.col(_nonempty(r)) & pl.col(_parsed(r)).is_null() for r in sources.parsed]
        flags = [pl.when(f).then(pl.lit(r)) for f, r in zip(failed, sources.parsed, strict=True)]
        joined = pl.concat_str(flags, separator=",", ignore_nulls=True)
        parse_error = pl.when(joined.str.len_chars() > 0).then(joined).otherwise(None)

    def optional(role: str) -> pl.Expr:
        return pl.col(_parsed(role)) if role in roles else pl.lit(None, dtype=pl.String)

    return staged.select(
        pl.col(_ROW).cast(pl.Int64).alias(cc.ROW),
        customer.alias(cc.CUSTOMER),
        pl.col(_parsed("date")).alias(cc.DATE),
        optional("invoice").alias(cc.INVOICE),
        optional("product").alias(cc.PRODUCT),
        optional("description").alias(cc.DESCRIPTION),
        optional("country").alias(cc.COUNTRY),
        quantity.alias(cc.QUANTITY),
        price.alias(cc.PRICE),
        amount.alias(cc.AMOUNT),
        parse_error.alias(cc.PARSE_ERROR),
    ).cast({**cc.NORMALIZED_SCHEMA, cc.CUSTOMER: customer_dtype})


def canonical_lines(
    lf: pl.LazyFrame,
    sources: SourceRoles,
    stats: ScanStats,
    plan: ParsePlan,
    *,
    decimal_comma: bool,
) -> tuple[pl.LazyFrame, EncoderLines]:
    """The lazy normalized lines, and the same lines as the engine's encoder reads them."""
    roles, dtypes = sources.roles, sources.dtypes
    parsed = [
        _parse_expr(role, sources, stats, plan, decimal_comma=decimal_comma).alias(_parsed(role))
        for role in roles
    ]
    nonempty = [
        _nonempty_expr(_src_col(role), dtypes[role]).alias(_nonempty(role))
        for role in sources.parsed
        if plan.any_failure
    ]
    staged = (
        lf.with_row_index(_ROW, offset=1)
        .select(pl.col(_ROW), *[pl.col(col).alias(_src(role)) for role, col in roles.items()])
        .with_columns(*parsed, *nonempty)
    )
    lines = _select_canonical(staged, sources, plan, pl.col(_parsed("customer")), pl.String())
    whole = stats.get("customer_odd_floats", 0) == 0
    customer_key = _customer_key(_src_col("customer"), dtypes["customer"], whole=whole)
    keyed = customer_key is not None and whole
    raw_text = tuple(r for r in _RAW_TEXT if r in roles and dtypes[r] == pl.String)
    encoder_staged = staged.with_columns(*[_src_col(r).alias(_parsed(r)) for r in raw_text])
    encoder = EncoderLines(
        frame=_select_canonical(
            encoder_staged,
            sources,
            plan,
            customer_key if keyed and customer_key is not None else pl.col(_parsed("customer")),
            pl.Int64() if keyed else pl.String(),
        ),
        keyed=keyed,
        low=_whole_number(stats.get("customer_low")) if keyed else None,
        high=_whole_number(stats.get("customer_high")) if keyed else None,
        raw_text=tuple(_ROLE_COLUMNS[r] for r in raw_text),
        float_text=tuple(_ROLE_COLUMNS[r] for r in raw_text if bool(stats.get(f"{r}_dotted", 1))),
        rows_numbered=True,
        decimal_comma=decimal_comma,
    )
    return lines, encoder


def _whole_number(value: float | None) -> int | None:
    """A key's extreme from the source pass as an int (None: no id; a float id is whole)."""
    return None if value is None or not math.isfinite(value) else int(value)


def _parse_error(
    role: str,
    col: str,
    n_fail: int,
    n_values: int,
    bad: tuple[str, ...],
    *,
    date_choice: DateChoice,
    decimal_comma: bool,
    max_failure_share: float,
) -> ParseError:
    shown = ", ".join(repr(v) for v in bad)
    share = n_fail / n_values
    what = "dates" if role == "date" else "numbers"
    message = (
        f"{n_fail:,} of {n_values:,} values ({share:.1%}) in column {col!r} (mapped to "
        f"{role}) cannot be read as {what}, more than the {max_failure_share:.1%} allowed; "
        f"first bad values: {shown}."
    )
    if role == "date":
        if date_choice.kind == "format" and date_choice.format:
            fmt = date_choice.format
            suggestion = _swap_dm(fmt) if date_choice.ambiguous else fmt
            how = f"(detected: {fmt!r}; {date_choice.reason})"
        else:
            suggestion, how = "%d/%m/%Y %H:%M", f"({date_choice.reason})"
        hint = (
            f"give the date layout explicitly, e.g. --date-format '{suggestion}' {how}, "
            "or map another column with --map date=COLUMN"
        )
    else:
        comma = any(re.fullmatch(r"\s*[-+]?\d+,\d{1,2}\s*", v) for v in bad)
        hint = f"map another column with --map {role}=COLUMN"
        if comma and not decimal_comma:
            hint = (
                "the numbers seem to use a decimal comma: read them with the decimal-comma "
                f"option (CLI: --decimal-comma), or {hint}"
            )
    return ParseError(message, hint=hint)
