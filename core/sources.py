"""Transactions read from a database: PostgreSQL, SQLite or DuckDB, by table or by query.

A database source is read once, read-only, into a Polars frame and kept as a Parquet
snapshot (bytes): from there it takes the very path of an uploaded Parquet file
(:func:`core.pipeline.load_transactions`: role mapping, date handling, cleaning audit), so a
table holding the same lines as a file gives the same audit and the same features, and the
snapshot's content is the data's identity (and what the workspace stores).

Connectors: PostgreSQL through ADBC (``adbc-driver-postgresql``, results as Arrow), DuckDB
through ``duckdb`` itself, SQLite through the standard library. Each read runs read-only
(PostgreSQL: a read-only session; SQLite and DuckDB: the file opened read-only), under a
statement timeout, and with a row limit: the query is wrapped as
``SELECT * FROM (...) LIMIT limit + 1``, so a single SELECT is all it can be, and a result
over the limit is refused rather than silently cut. Credentials in the URL are never shown:
every message names the source by :attr:`DatabaseSource.label` (password replaced by ``***``).
"""

from __future__ import annotations

import dataclasses
import io
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from core.errors import ConfigError, InputFileError

if TYPE_CHECKING:  # polars is imported where it is used: `custseg --help` reads this module
    import polars as pl

    from core.pipeline import LoadedTransactions

SCHEMES: dict[str, str] = {
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "sqlite": "sqlite",
    "duckdb": "duckdb",
}
DEFAULT_ROW_LIMIT = 20_000_000
DEFAULT_TIMEOUT_S = 300.0
_SECRET_PARAMS = frozenset({"password", "passwd", "pwd", "sslpassword"})
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
_SUBQUERY = "custseg_source"


class SourceError(InputFileError):
    """A database source cannot be read: bad URL, unreachable, unknown table, failed query."""


def database_kind(text: str) -> str | None:
    """``"postgresql"``, ``"sqlite"`` or ``"duckdb"`` when ``text`` is a database URL."""
    scheme, sep, _ = text.partition("://")
    if not sep:
        return None
    return SCHEMES.get(scheme.split("+", 1)[0].lower())


def redact(url: str) -> str:
    """``url`` with its password (in the user part or a query parameter) replaced by ``***``."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        name, sep, _password = user.partition(":")
        netloc = f"{name}:***@{host}" if sep else f"{user}@{host}"
    query = urlencode(
        [
            (k, "***" if k.lower() in _SECRET_PARAMS else v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ],
        safe="*",
    )
    if netloc == parts.netloc and query == parts.query:
        return url
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")


def _secrets_of(url: str) -> list[str]:
    parts = urlsplit(url)
    found = [unquote(parts.password)] if parts.password else []
    found += [v for k, v in parse_qsl(parts.query) if k.lower() in _SECRET_PARAMS and v]
    return [s for s in found if s]


@dataclass(frozen=True)
class DatabaseSource:
    """A table or a read-only SELECT in a database, with the limits its read runs under."""

    url: str = dataclasses.field(repr=False)  # may hold credentials: never shown
    table: str | None = None
    query: str | None = None
    row_limit: int = DEFAULT_ROW_LIMIT
    timeout_s: float = DEFAULT_TIMEOUT_S

    def __post_init__(self) -> None:
        if database_kind(self.url) is None:
            raise ConfigError(
                f"{redact(self.url)!r} is not a database URL this can read",
                "use postgresql://USER@HOST/DB, sqlite:///PATH or duckdb:///PATH",
            )
        if (self.table is None) == (self.query is None):
            raise ConfigError(
                f"reading {self.label} needs exactly one of --table NAME or --query SQL",
                "e.g. --table transactions, or --query 'SELECT * FROM sales WHERE year = 2011'",
            )
        if self.row_limit < 1 or self.timeout_s <= 0:
            raise ConfigError(
                f"the row limit ({self.row_limit}) and timeout ({self.timeout_s} s) must be "
                "positive",
                "e.g. --row-limit 20000000 --timeout 300",
            )

    @property
    def kind(self) -> str:
        kind = database_kind(self.url)
        assert kind is not None
        return kind

    @property
    def label(self) -> str:
        """How messages name the source: redacted URL plus table or ``query``."""
        what = f"table {self.table}" if self.table is not None else "query"
        return f"{what} in {redact(self.url)}"

    def select(self) -> str:
        """The SELECT actually run: the table or the query, wrapped with the row limit."""
        if self.table is not None:
            inner = f"SELECT * FROM {quote_table(self.table)}"
        else:
            inner = (self.query or "").strip().rstrip(";").strip()
            if not inner:
                raise ConfigError("--query is empty", "give a SELECT statement")
        return f"SELECT * FROM ({inner}) AS {_SUBQUERY} LIMIT {self.row_limit + 1}"


def quote_table(name: str) -> str:
    """``schema.table`` as quoted identifiers; anything but plain names is refused."""
    parts = name.split(".")
    if not 1 <= len(parts) <= 2 or not all(_IDENTIFIER.match(p) for p in parts):
        raise ConfigError(
            f"--table {name!r} is not a table name (letters, digits and _; optionally SCHEMA.)",
            "give the table's name, or use --query for anything else",
        )
    return ".".join(f'"{p}"' for p in parts)


def read_database(source: DatabaseSource) -> pl.DataFrame:
    """Every row of ``source`` as a frame (read-only, under its timeout and row limit)."""
    reader = _READERS[source.kind]
    started = time.monotonic()
    try:
        frame = reader(source)
    except SourceError:
        raise
    except Exception as exc:  # noqa: BLE001  (each driver has its own error classes)
        raise _driver_error(source, exc, elapsed=time.monotonic() - started) from None
    if frame.height > source.row_limit:
        raise SourceError(
            f"{source.label} has more than {source.row_limit:,} rows (the row limit).",
            hint="narrow it with --query (a date range, a region), or raise --row-limit",
        )
    if frame.height == 0:
        raise SourceError(
            f"{source.label} returned no rows (columns: {', '.join(frame.columns[:8])}).",
            hint="check the table or the query's WHERE clause",
        )
    return frame


def snapshot(frame: pl.DataFrame) -> bytes:
    """The frame as Parquet bytes: what the pipeline reads and the workspace stores."""
    buffer = io.BytesIO()
    frame.write_parquet(buffer, statistics=False)
    return buffer.getvalue()


def load_database(
    source: DatabaseSource,
    *,
    overrides: Mapping[str, str] | None = None,
    date_format: str | None = None,
    decimal_comma: bool | None = None,
) -> LoadedTransactions:
    """Read ``source`` and load it as :func:`core.pipeline.load_transactions` loads a file."""
    return load_snapshot(
        snapshot(read_database(source)),
        source,
        overrides=overrides,
        date_format=date_format,
        decimal_comma=decimal_comma,
    )


def load_snapshot(
    data: bytes,
    source: DatabaseSource,
    *,
    overrides: Mapping[str, str] | None = None,
    date_format: str | None = None,
    decimal_comma: bool | None = None,
) -> LoadedTransactions:
    """A :func:`snapshot` of ``source`` through the uploaded-file path, its report saying
    where the rows came from."""
    from core.pipeline import load_transactions  # noqa: PLC0415  (pipeline imports io only)

    loaded = load_transactions(
        data,
        filename=source.label,
        overrides=overrides,
        date_format=date_format,
        decimal_comma=decimal_comma,
    )
    note = f"read from {source.label}"
    read = dataclasses.replace(loaded.read, format="database", notes=(note, *loaded.read.notes))
    return dataclasses.replace(loaded, read=read)


# ------------------------------------------------------------------------------- connectors


def _read_postgresql(source: DatabaseSource) -> pl.DataFrame:
    import adbc_driver_postgresql.dbapi as pg  # noqa: PLC0415
    import polars as pl  # noqa: PLC0415

    scheme, rest = source.url.split("://", 1)
    uri = "postgresql://" + rest  # libpq knows no "+driver" suffix
    del scheme
    timeout_ms = max(1, round(source.timeout_s * 1000))
    with pg.connect(uri, autocommit=True) as conn, conn.cursor() as cur:
        # Every statement of the session read-only: the wrapped SELECT cannot write, nor
        # can a function it calls.
        cur.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        cur.execute(f"SET statement_timeout = {timeout_ms}")
        cur.execute(source.select())
        table = cur.fetch_arrow_table()
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _file_path(source: DatabaseSource) -> str:
    """The file of ``sqlite:///PATH`` / ``duckdb:///PATH`` (four slashes: an absolute path)."""
    _, _, rest = source.url.partition(":///")
    path = unquote(rest.split("?", 1)[0])
    if not path:
        raise SourceError(
            f"{redact(source.url)!r} names no database file.",
            hint="write sqlite:///relative/file.db or sqlite:////absolute/file.db",
        )
    import pathlib  # noqa: PLC0415

    if not pathlib.Path(path).is_file():
        raise SourceError(
            f"database file {path!r} not found.", hint="check the path in the URL"
        )
    return path


def _with_deadline(timeout_s: float, interrupt: Callable[[], None]) -> threading.Timer:
    timer = threading.Timer(timeout_s, interrupt)
    timer.daemon = True
    timer.start()
    return timer


def _read_sqlite(source: DatabaseSource) -> pl.DataFrame:
    import pathlib  # noqa: PLC0415
    import sqlite3  # noqa: PLC0415

    path = pathlib.Path(_file_path(source)).resolve()
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    timer = _with_deadline(source.timeout_s, conn.interrupt)
    try:
        cur = conn.execute(source.select())
        columns = [d[0] for d in cur.description]
        rows = cur.fetchall()
    finally:
        timer.cancel()
        conn.close()
    return _frame_of_rows(columns, rows)


def _frame_of_rows(columns: list[str], rows: list[tuple[Any, ...]]) -> pl.DataFrame:
    """Rows as columns; a column of mixed types (SQLite allows it) is read as text."""
    import polars as pl  # noqa: PLC0415

    series = []
    for i, name in enumerate(columns):
        values = [row[i] for row in rows]
        try:
            series.append(pl.Series(name, values, strict=True))
        except (TypeError, pl.exceptions.PolarsError):
            text = [None if v is None else str(v) for v in values]
            series.append(pl.Series(name, text, dtype=pl.String))
    return pl.DataFrame(series)


def _read_duckdb(source: DatabaseSource) -> pl.DataFrame:
    import duckdb  # noqa: PLC0415
    import polars as pl  # noqa: PLC0415

    conn = duckdb.connect(_file_path(source), read_only=True)
    timer = _with_deadline(source.timeout_s, conn.interrupt)
    try:
        frame = conn.sql(source.select()).pl()
    finally:
        timer.cancel()
        conn.close()
    assert isinstance(frame, pl.DataFrame)
    return frame


_READERS: dict[str, Callable[[DatabaseSource], pl.DataFrame]] = {
    "postgresql": _read_postgresql,
    "sqlite": _read_sqlite,
    "duckdb": _read_duckdb,
}
_TIMEOUT_WORDS = ("statement timeout", "interrupted", "interrupt")


def _driver_error(source: DatabaseSource, exc: BaseException, *, elapsed: float) -> SourceError:
    text = str(exc).strip()
    for secret in _secrets_of(source.url):
        text = text.replace(secret, "***")
    first = next((line.strip() for line in text.splitlines() if line.strip()), type(exc).__name__)
    if elapsed >= source.timeout_s * 0.9 and any(w in text.lower() for w in _TIMEOUT_WORDS):
        return SourceError(
            f"reading {source.label} took longer than the timeout ({source.timeout_s:g} s) "
            "and was stopped.",
            hint="narrow the query, or raise --timeout",
        )
    return SourceError(
        f"could not read {source.label}: {first}",
        hint="check the URL (host, database, user), that the table exists, and that the query "
        "is a single SELECT",
    )


# ---------------------------------------------------------------------- named sources (app)

SOURCES_ENV = "CUSTSEG_SOURCES_FILE"
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class NamedSource:
    """A database the server's operator configured for the app's users (by name only: the
    URL, with ``${VARIABLE}`` credentials from the server's environment, never reaches a
    browser). ``tables`` lists the tables offered (empty: any table); ``queries`` allows a
    SELECT of the user's own, run read-only under the limits."""

    name: str
    url_template: str = dataclasses.field(repr=False)
    tables: tuple[str, ...] = ()
    queries: bool = True
    row_limit: int = DEFAULT_ROW_LIMIT
    timeout_s: float = DEFAULT_TIMEOUT_S

    def url(self) -> str:
        """The URL with its variables filled in from the environment."""
        import os  # noqa: PLC0415

        def value(match: re.Match[str]) -> str:
            found = os.environ.get(match.group(1))
            if found is None:
                raise ConfigError(
                    f"the source {self.name!r} needs the environment variable "
                    f"{match.group(1)}, which the server does not have",
                    "ask the administrator to set it where the server runs",
                )
            return found

        return _VARIABLE.sub(value, self.url_template)

    def source(self, *, table: str | None = None, query: str | None = None) -> DatabaseSource:
        """The read of ``table`` or ``query`` in this source (what it allows, checked)."""
        if table is not None and self.tables and table not in self.tables:
            raise ConfigError(
                f"the source {self.name!r} offers no table {table!r}",
                f"pick one of: {', '.join(self.tables)}",
            )
        if query is not None and not self.queries:
            raise ConfigError(
                f"the source {self.name!r} does not take queries", "pick one of its tables"
            )
        return DatabaseSource(
            self.url(),
            table=table,
            query=query,
            row_limit=self.row_limit,
            timeout_s=self.timeout_s,
        )


def named_sources(path: str | None = None) -> dict[str, NamedSource]:
    """The sources of the operator's file (``CUSTSEG_SOURCES_FILE``; none when unset)::

        sources:
          warehouse:
            url: postgresql://reader:${WAREHOUSE_PASSWORD}@db.internal/sales
            tables: [transactions, transactions_2011]
            queries: true          # a user may also write a SELECT (read-only)
            row_limit: 5000000
            timeout: 120
    """
    import os  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    import yaml  # noqa: PLC0415

    where = path or os.environ.get(SOURCES_ENV, "").strip()
    if not where:
        return {}
    try:
        document = yaml.safe_load(Path(where).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"the sources file {where!r} cannot be read ({type(exc).__name__})",
            f"check {SOURCES_ENV} and the file's YAML",
        ) from None
    entries = document.get("sources") if isinstance(document, dict) else None
    if not isinstance(entries, dict):
        raise ConfigError(
            f"the sources file {where!r} has no 'sources:' mapping", "see README: named sources"
        )
    return {str(name): _named(str(name), entry) for name, entry in entries.items()}


def _named(name: str, entry: object) -> NamedSource:
    if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
        raise ConfigError(f"the source {name!r} needs a url", "e.g. url: postgresql://...")
    url = entry["url"]
    if database_kind(url) is None:
        raise ConfigError(f"the source {name!r} has no database URL", "postgresql://, sqlite:///")
    password = urlsplit(url).password
    if password and not _VARIABLE.fullmatch(password):
        raise ConfigError(
            f"the source {name!r} writes its password in the file",
            "put it in an environment variable and write ${VARIABLE} in the URL",
        )
    tables = entry.get("tables") or []
    if not isinstance(tables, list) or not all(isinstance(t, str) for t in tables):
        raise ConfigError(f"the tables of the source {name!r} must be a list of names")
    for table in tables:
        quote_table(table)
    return NamedSource(
        name=name,
        url_template=url,
        tables=tuple(tables),
        queries=bool(entry.get("queries", True)),
        row_limit=int(entry.get("row_limit", DEFAULT_ROW_LIMIT)),
        timeout_s=float(entry.get("timeout", DEFAULT_TIMEOUT_S)),
    )
