"""Date-format detection over a whole column and the matching Polars parse expression.

The format is decided once from the column's unique values (never per row, never with
``try_parse_dates``): ``12/1/2010 8:26`` in a column where some second fields exceed 12 is
1 December 2010, and a column where every day/month fits both orders is reported as
ambiguous rather than silently guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from core.errors import ParseError

# Excel's day 0 (serial 1 = 1900-01-01 with its 1900 leap-year bug; modern dates are exact).
_EXCEL_EPOCH_US = -2_209_161_600_000_000  # 1899-12-30 00:00:00 in µs since the Unix epoch
_SERIAL_MIN, _SERIAL_MAX = 10_000, 99_999.999999  # 1927-05-18 .. 2173-10-14
_YMD8_MIN, _YMD8_MAX = 1000_01_01, 2999_12_31

# Numeric dates with optional time. Rust's regex has no backreferences, so both date
# separators are captured and compared afterwards.
_FLEX = (
    r"^(\d{1,4})([/.\-])(\d{1,2})([/.\-])(\d{1,4})"
    r"(?:(?:[ T]|,\s*)(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:\s*([AaPp])\.?[Mm]\.?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$"
)
_FLEX_FIELDS = ("p1", "s1", "p2", "s2", "p3", "hh", "mi", "ss", "frac", "ampm", "tz")
_YMD8 = r"^\d{8}$"
_SERIAL = r"^\d{5}(?:\.\d+)?$"

KINDS: tuple[str, ...] = ("native", "format", "yyyymmdd", "excel_serial")
ORDERS: tuple[str, ...] = ("mdy", "dmy", "ymd")


@dataclass(frozen=True)
class DateChoice:
    """How a date column is parsed.

    Attributes
    ----------
    kind
        ``"native"`` (already a date/datetime column), ``"format"`` (text dates),
        ``"yyyymmdd"`` (8-digit numbers or strings) or ``"excel_serial"`` (days since
        1899-12-30, fractions are the time of day).
    format
        The strftime format. For detected text dates it describes the most common shape
        (e.g. ``"%m/%d/%Y %H:%M"``); values with or without time or seconds are all accepted
        in the detected field order. For a user-given format (``order`` None) it is applied
        strictly.
    ambiguous
        True when both month/day orders fit every value.
    reason
        Plain-language explanation of the choice.
    order
        ``"mdy"``, ``"dmy"`` or ``"ymd"`` for detected text dates; None otherwise.
    """

    kind: str
    format: str | None
    ambiguous: bool
    reason: str
    order: str | None = None


def user_format_choice(date_format: str) -> DateChoice:
    """The choice for an explicit ``--date-format`` (strict strftime)."""
    return DateChoice(
        kind="format",
        format=date_format,
        ambiguous=False,
        reason=f"format {date_format!r} given explicitly",
    )


def native_choice(dtype: pl.DataType) -> DateChoice:
    """The choice for a column that already holds dates or datetimes."""
    return DateChoice(
        kind="native", format=None, ambiguous=False, reason=f"the column is already {dtype}"
    )


def _examples(values: pl.Series, n: int = 3) -> str:
    return ", ".join(repr(v) for v in values.head(n).to_list())


def detect_date_choice(values: pl.Series, *, column: str) -> DateChoice:
    """Decide how to parse a date column from its unique non-null values.

    Parameters
    ----------
    values
        Unique, non-null values of the column (text or numbers).
    column
        Source column name, used in messages.

    Raises
    ------
    ParseError
        When no supported date representation fits any value.
    """
    dtype = values.dtype
    if dtype.is_temporal():
        return native_choice(dtype)
    if dtype.is_numeric():
        return _detect_numeric(values, column=column)
    text = values.cast(pl.String).str.strip_chars()
    text = text.filter(text.str.len_chars() > 0)
    if text.len() == 0:
        # Nothing to parse: all empty. The caller reports the empty column; any kind works.
        return DateChoice(
            kind="format", format="%Y-%m-%d", ambiguous=False, reason="no values", order="ymd"
        )
    n_flex = int(text.str.contains(_FLEX).sum())
    n_ymd8 = int(text.str.contains(_YMD8).sum())
    n_serial = int(text.str.contains(_SERIAL).sum())
    named = _best_month_name_format(text) if text.str.contains(r"[A-Za-z]{3}").any() else None
    n_named = named[1] if named else 0
    best = max(n_flex, n_ymd8, n_serial, n_named)
    if named is not None and n_named == best and n_named > 0:
        fmt = named[0]
        reason = f"{n_named} of {text.len()} distinct values have month names in the layout {fmt!r}"
        return DateChoice(kind="format", format=fmt, ambiguous=False, reason=reason)
    if best == 0:
        raise ParseError(
            f"Column {column!r} does not look like dates: no value matches a known date "
            f"layout (e.g. {_examples(text)}).",
            hint="pass the layout with --date-format (e.g. --date-format '%d %b %Y') or map "
            "another column with --map date=COLUMN",
        )
    if n_ymd8 == best:
        return DateChoice(
            kind="yyyymmdd",
            format="%Y%m%d",
            ambiguous=False,
            reason=f"{n_ymd8} of {text.len()} distinct values are 8-digit YYYYMMDD numbers",
        )
    if n_serial == best:
        return DateChoice(
            kind="excel_serial",
            format=None,
            ambiguous=False,
            reason=f"{n_serial} of {text.len()} distinct values are Excel serial day numbers "
            f"(e.g. {_examples(text.filter(text.str.contains(_SERIAL)), 1)})",
        )
    return _detect_flex(text.filter(text.str.contains(_FLEX)), total=text.len())


_NAMED_DATES = (
    "%d-%b-%Y", "%d %b %Y", "%d %B %Y", "%d-%b-%y", "%d %b %y", "%b %d, %Y", "%B %d, %Y",
    "%b %d %Y", "%B %d %Y", "%a, %d %b %Y", "%A, %B %d, %Y",
)  # fmt: skip
_NAMED_TIMES = ("", " %H:%M", " %H:%M:%S")


def _best_month_name_format(text: pl.Series) -> tuple[str, int] | None:
    """The month-name layout parsing most values strictly, with its count."""
    best: tuple[str, int] | None = None
    for date in _NAMED_DATES:
        for time in _NAMED_TIMES:
            fmt = date + time
            n = text.str.to_datetime(fmt, strict=False, time_unit="us").is_not_null().sum()
            if n and (best is None or n > best[1]):
                best = (fmt, int(n))
    return best


def _detect_numeric(values: pl.Series, *, column: str) -> DateChoice:
    v = values.cast(pl.Float64).drop_nans()
    if v.len() == 0:
        return DateChoice(
            kind="excel_serial", format=None, ambiguous=False, reason="no values (numeric)"
        )
    integral = v == v.floor()
    n_ymd8 = int((integral & (v >= _YMD8_MIN) & (v <= _YMD8_MAX)).sum())
    n_serial = int(((v >= _SERIAL_MIN) & (v <= _SERIAL_MAX)).sum())
    if n_ymd8 == 0 and n_serial == 0:
        raise ParseError(
            f"Column {column!r} holds numbers that are neither YYYYMMDD dates nor Excel "
            f"serial day numbers (e.g. {_examples(v)}).",
            hint="map the real date column with --map date=COLUMN",
        )
    if n_ymd8 >= n_serial:
        return DateChoice(
            kind="yyyymmdd",
            format="%Y%m%d",
            ambiguous=False,
            reason=f"{n_ymd8} of {v.len()} distinct numbers are 8-digit YYYYMMDD dates",
        )
    return DateChoice(
        kind="excel_serial",
        format=None,
        ambiguous=False,
        reason=f"{n_serial} of {v.len()} distinct numbers are Excel serial day numbers "
        f"(e.g. {v.head(1).to_list()[0]})",
    )


def _flex_parts(expr: pl.Expr) -> pl.Expr:
    return expr.str.extract_groups(_FLEX).struct.rename_fields(list(_FLEX_FIELDS))


def _detect_flex(text: pl.Series, *, total: int) -> DateChoice:
    parts = text.to_frame("v").select(pl.col("v"), _flex_parts(pl.col("v")).alias("g")).unnest("g")
    parts = parts.filter(pl.col("s1") == pl.col("s2"))
    n = parts.height
    ymd = parts.filter(pl.col("p1").str.len_chars() == 4)
    other = parts.filter(pl.col("p1").str.len_chars() <= 2)
    if ymd.height >= other.height:
        order, ambiguous = "ymd", False
        reason = f"the year comes first (e.g. {ymd['v'][0]!r}), so Y-m-d"
        shape_rows = ymd
    else:
        shape_rows = other
        p1 = other["p1"].cast(pl.Int64)
        p2 = other["p2"].cast(pl.Int64)
        over1 = other.filter(p1 > 12)["v"]
        over2 = other.filter(p2 > 12)["v"]
        dot = (other["s1"] == ".").sum() * 2 > other.height
        if over1.len() == 0 and over2.len() == 0:
            ambiguous = True
            order = "dmy" if dot else "mdy"
            other_fmt = _swap_day_month(_describe_format(other, order))
            why = "dot separators are the European layout" if dot else "US default"
            reason = (
                "ambiguous: every day and month value is 12 or less, so the order cannot be "
                f"told apart; chose {'d.m.Y' if dot else 'm/d/Y'} ({why}); pass "
                f"--date-format '{other_fmt}' to override"
            )
        elif over1.len() == 0:
            order, ambiguous = "mdy", False
            reason = f"day values above 12 appear in the 2nd position (e.g. {over2[0]!r}), so m/d/Y"
        elif over2.len() == 0:
            order, ambiguous = "dmy", False
            reason = f"day values above 12 appear in the 1st position (e.g. {over1[0]!r}), so d/m/Y"
        else:
            ambiguous = False
            order = "mdy" if over2.len() >= over1.len() else "dmy"
            bad = over1 if order == "mdy" else over2
            reason = (
                f"inconsistent: values above 12 appear in both the 1st position "
                f"({over1.len()} values, e.g. {over1[0]!r}) and the 2nd "
                f"({over2.len()} values, e.g. {over2[0]!r}); chose "
                f"{'m/d/Y' if order == 'mdy' else 'd/m/Y'} as the majority, "
                f"so values like {bad[0]!r} fail to parse"
            )
    fmt = _describe_format(shape_rows, order)
    if n < total:
        reason += f"; {total - n} of {total} distinct values do not match this layout"
    return DateChoice(kind="format", format=fmt, ambiguous=ambiguous, reason=reason, order=order)


def _describe_format(rows: pl.DataFrame, order: str) -> str:
    """The strftime format of the most common value shape, for display and overrides."""
    if rows.height == 0:
        return {"ymd": "%Y-%m-%d", "mdy": "%m/%d/%Y", "dmy": "%d/%m/%Y"}[order]
    shape = rows.select(
        pl.col("s1"),
        (pl.col("p3").str.len_chars() == 2).alias("yy"),
        pl.col("hh").is_not_null().alias("has_time"),
        pl.col("ss").is_not_null().alias("has_sec"),
        pl.col("frac").is_not_null().alias("has_frac"),
        pl.col("ampm").is_not_null().alias("has_ampm"),
        pl.col("v").str.contains(r"\dT\d").alias("t_sep"),
        pl.col("tz").is_not_null().alias("has_tz"),
    )
    top = (
        shape.group_by(shape.columns)
        .len()
        .sort(["len", *shape.columns], descending=[True, *([False] * len(shape.columns))])
        .row(0, named=True)
    )
    sep = top["s1"]
    year = "%y" if (top["yy"] and order != "ymd") else "%Y"
    date = {
        "ymd": f"%Y{sep}%m{sep}%d",
        "mdy": f"%m{sep}%d{sep}{year}",
        "dmy": f"%d{sep}%m{sep}{year}",
    }[order]
    if not top["has_time"]:
        return date
    hour = "%I" if top["has_ampm"] else "%H"
    time = f"{hour}:%M"
    if top["has_sec"]:
        time += ":%S"
    if top["has_frac"]:
        time += "%.f"
    if top["has_ampm"]:
        time += " %p"
    out = date + ("T" if top["t_sep"] else " ") + time
    if top["has_tz"]:
        out += "%z"
    return out


def _swap_day_month(fmt: str) -> str:
    return fmt.replace("%m", "\0").replace("%d", "%m").replace("\0", "%d")


def parse_date_expr(expr: pl.Expr, choice: DateChoice, dtype: pl.DataType) -> pl.Expr:
    """Expression parsing ``expr`` (of ``dtype``) to Datetime("us"); failures become null.

    The expression never raises on bad values: a non-empty value that yields null is a parse
    failure, which the caller counts.
    """
    if choice.kind == "native":
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
            # Keep the wall-clock time of the zone the data was recorded in.
            expr = expr.dt.replace_time_zone(None)
        return expr.cast(pl.Datetime("us"))
    if choice.kind == "excel_serial":
        num = expr.cast(pl.Float64, strict=False) if dtype.is_numeric() else _text_number(expr)
        ok = (num >= _SERIAL_MIN) & (num <= _SERIAL_MAX)
        # Round to whole seconds: serials store times as binary fractions of a day.
        us = (num * 86_400).round(0).cast(pl.Int64, strict=False) * 1_000_000 + _EXCEL_EPOCH_US
        return pl.when(ok).then(us).otherwise(None).cast(pl.Datetime("us"))
    if choice.kind == "yyyymmdd":
        if dtype.is_numeric():
            num = expr.cast(pl.Float64, strict=False)
            text = (
                pl.when(num == num.floor())
                .then(num.cast(pl.Int64, strict=False).cast(pl.String))
                .otherwise(None)
            )
        else:
            text = expr.cast(pl.String).str.strip_chars()
        text = pl.when(text.str.contains(_YMD8)).then(text).otherwise(None)
        return text.str.to_date("%Y%m%d", strict=False).cast(pl.Datetime("us"))
    if choice.kind != "format":
        raise ValueError(f"unknown date kind {choice.kind!r}")
    text = expr.cast(pl.String).str.strip_chars()
    if choice.order is None:
        if choice.format is None:
            raise ValueError("a 'format' DateChoice needs a format or an order")
        out = text.str.to_datetime(choice.format, strict=False, time_unit="us")
        if "%z" in choice.format or "%:z" in choice.format:
            out = out.dt.replace_time_zone(None)
        return out
    return _flex_expr(text, choice.order)


def _text_number(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)


def _flex_expr(text: pl.Expr, order: str) -> pl.Expr:
    g = _flex_parts(text)
    p1, p2, p3 = g.struct.field("p1"), g.struct.field("p2"), g.struct.field("p3")
    if order == "ymd":
        year, month, day = p1, p2, p3
        year_ok = p1.str.len_chars() == 4
    else:
        month, day = (p1, p2) if order == "mdy" else (p2, p1)
        year = p3
        year_ok = p3.str.len_chars().is_in([2, 4]) & (p1.str.len_chars() <= 2)
    y = year.cast(pl.Int64, strict=False)
    # Two-digit years: 00-68 -> 2000s, 69-99 -> 1900s (the POSIX %y pivot).
    y = pl.when(year.str.len_chars() == 2).then(pl.when(y < 69).then(y + 2000).otherwise(y + 1900))
    y = y.otherwise(year.cast(pl.Int64, strict=False))
    date_text = pl.concat_str(
        [y.cast(pl.String), month, day], separator="-"
    )  # null when any part is null
    date = date_text.str.to_date("%Y-%m-%d", strict=False)
    hh = g.struct.field("hh").cast(pl.Int64, strict=False).fill_null(0)
    mi = g.struct.field("mi").cast(pl.Int64, strict=False).fill_null(0)
    ss = g.struct.field("ss").cast(pl.Int64, strict=False).fill_null(0)
    frac = g.struct.field("frac")
    # First six fractional digits are microseconds.
    us = frac.str.pad_end(6, "0").str.slice(0, 6).cast(pl.Int64, strict=False).fill_null(0)
    ampm = g.struct.field("ampm").str.to_lowercase()
    hour = (
        pl.when(ampm.is_null())
        .then(hh)
        .when(ampm == "a")
        .then(pl.when(hh == 12).then(0).otherwise(hh))
        .otherwise(pl.when(hh == 12).then(12).otherwise(hh + 12))
    )
    time_ok = (
        pl.when(ampm.is_null()).then(hh < 24).otherwise((hh >= 1) & (hh <= 12))
        & (mi < 60)
        & (ss < 60)
    )
    tz = g.struct.field("tz")
    tz_digits = tz.str.replace(":", "", literal=True)
    tz_sign = pl.when(tz_digits.str.starts_with("-")).then(-1).otherwise(1)
    tz_minutes = (
        tz_digits.str.slice(1, 2).cast(pl.Int64, strict=False) * 60
        + tz_digits.str.slice(3, 2).cast(pl.Int64, strict=False)
    ) * tz_sign
    tz_minutes = pl.when(tz.is_null() | (tz == "Z")).then(0).otherwise(tz_minutes)
    stamp = (
        date.cast(pl.Datetime("us"))
        + pl.duration(hours=hour, minutes=mi, seconds=ss, microseconds=us)
        - pl.duration(minutes=tz_minutes)
    )
    ok = (g.struct.field("s1") == g.struct.field("s2")) & year_ok & time_ok
    return pl.when(ok).then(stamp).otherwise(None).cast(pl.Datetime("us"))
