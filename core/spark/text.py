"""core.schema's per-line text rules as Spark column expressions.

Each function mirrors the ``core.schema`` expression named in its docstring, with the same
outcome: Polars strips Unicode white space (Rust's ``char::is_whitespace``), here
:data:`WHITE_SPACE` (Spark's ``trim`` strips only spaces); in regular expressions ``(?U)``
makes Java's ``\\d`` and ``\\s`` Unicode classes, as they are in Rust's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from pyspark.sql import Column

# Unicode White_Space, what Rust's char::is_whitespace (Polars' strip_chars) strips.
WHITE_SPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_ID_FLOAT_TEXT = r"(?U)^([+-]?\d+)\.0*$"  # core.schema._ID_FLOAT_TEXT
_ID_FLOAT_TEXT_COMMA = r"(?U)^([+-]?\d+)[.,]0*$"  # core.schema._ID_FLOAT_TEXT_COMMA
# Plain decimal notation in ASCII digits: what Spark casts itself. Anything else goes to
# core.schema._number_expr over the distinct values (which reads these the same way).
_PLAIN_NUMBER = r"^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$"
_INT64_BOUND = 9.223372036854775808e18


def _f():  # type: ignore[no-untyped-def]
    from pyspark.sql import functions as sf  # noqa: PLC0415 (optional dependency)

    return sf


def strip(column: Column) -> Column:
    """``str.strip_chars()``: Unicode white space off both ends (``btrim`` with those
    characters: a plain scan, where a regular expression costs several times more)."""
    sf = _f()
    return sf.btrim(column, sf.lit(WHITE_SPACE))


def as_text(column: Column, dtype: pl.DataType) -> Column:
    """``core.schema._text_expr``: stripped text, blank -> null."""
    sf = _f()
    stripped = strip(column if dtype == pl.String else column.cast("string"))
    return sf.when(sf.octet_length(stripped) > 0, stripped)


def finite(column: Column) -> Column:
    """A double that is neither NaN nor infinite (Spark orders NaN above infinity)."""
    sf = _f()
    return ~sf.isnan(column) & (sf.abs(column) != sf.lit(float("inf")))


def finite_or_null(column: Column) -> Column:
    """``core.schema._number_expr`` for a numeric column: non-finite -> null."""
    return _f().when(finite(column), column)


def _whole(column: Column) -> Column:
    """``core.schema._whole_float``: a finite whole number that fits an Int64."""
    sf = _f()
    fits = (column >= -_INT64_BOUND) & (column < _INT64_BOUND)
    return finite(column) & (column == sf.floor(column)) & fits


def identifier(column: Column, dtype: pl.DataType, *, decimal_comma: bool) -> Column:
    """``core.schema._id_expr``: ids as text, ``17850.0`` -> ``17850``, ``00017`` kept."""
    sf = _f()
    if dtype.is_float():
        whole = sf.when(_whole(column), column.cast("long").cast("string"))
        return sf.coalesce(whole, sf.when(~sf.isnan(column), column.cast("string")))
    if dtype.is_integer():
        return column.cast("string")
    pattern = _ID_FLOAT_TEXT_COMMA if decimal_comma else _ID_FLOAT_TEXT
    ids = as_text(column, dtype)
    # The rewrite needs a decimal mark: the regular expression runs only on those ids.
    marked = ids.contains(".") | ids.contains(",") if decimal_comma else ids.contains(".")
    return sf.when(marked, sf.regexp_replace(ids, pattern, "$1")).otherwise(ids)


def id_is_empty(column: Column, dtype: pl.DataType) -> Column:
    """``core.schema._id_is_empty``."""
    sf = _f()
    if dtype.is_float():
        return column.isNull() | sf.isnan(column)
    if dtype.is_integer():
        return column.isNull()
    return as_text(column, dtype).isNull()


def nonempty(column: Column, dtype: pl.DataType) -> Column:
    """``core.schema._nonempty_expr``."""
    if dtype == pl.String or not (dtype.is_numeric() or dtype.is_temporal()):
        return as_text(column, dtype).isNotNull()
    return column.isNotNull()


def fast_number(column: Column, *, decimal_comma: bool) -> Column:
    """``core.schema._fast_number_expr`` on plain decimals; null for anything else."""
    sf = _f()
    t = strip(column)
    if decimal_comma:
        t = sf.when(~t.contains("."), t)
        t = sf.regexp_replace(t, r"^([^,]*),", "$1.")  # the first comma only, as Polars
    plain = sf.when(t.rlike(_PLAIN_NUMBER), t)
    number = plain.try_cast("double")
    return sf.when(finite(number), number)


def native_date(column: Column) -> Column:
    """``core.dates.parse_date_expr`` for a native date or timestamp column: the wall-clock
    time (a zoned timestamp in the session's zone, UTC)."""
    return column.cast("timestamp_ntz")
