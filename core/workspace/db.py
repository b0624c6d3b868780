"""Where the workspace lives: its database URL and data folder, the engine, the migrations.

``CUSTSEG_DATABASE_URL`` names the database: by default an SQLite file ``workspace.db`` in the
data folder (``CUSTSEG_DATA_DIR``, else ``$XDG_DATA_HOME/custseg``, else
``~/.local/share/custseg``), created on first use; ``postgresql://USER:PASSWORD@HOST/DB`` for
a team server. The same SQLAlchemy Core code and Alembic migrations serve both. SQLite runs
in WAL mode with a busy timeout, so several server workers and command lines can write to it
(one writer at a time, the others wait up to the timeout); past a handful of concurrent users,
PostgreSQL is the better home.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

from core.errors import ConfigError

DATABASE_ENV = "CUSTSEG_DATABASE_URL"
DATA_DIR_ENV = "CUSTSEG_DATA_DIR"
BUSY_TIMEOUT_S = 30
_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_MIGRATION_LOCK = 0x6375_7374  # PostgreSQL advisory lock id held while migrating


def data_dir() -> Path:
    """The workspace's data folder (dataset bytes, the default SQLite file)."""
    configured = os.environ.get(DATA_DIR_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_DATA_HOME", "").strip() or str(Path.home() / ".local" / "share")
    return Path(base) / "custseg"


def database_url() -> str:
    """``CUSTSEG_DATABASE_URL``, else the SQLite file in :func:`data_dir`."""
    configured = os.environ.get(DATABASE_ENV, "").strip()
    if configured:
        return configured
    return f"sqlite:///{data_dir() / 'workspace.db'}"


def _driver_url(url: str) -> sa.URL:
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise ConfigError(
            f"{DATABASE_ENV} is not a database URL",
            "use postgresql://USER:PASSWORD@HOST/DB, or leave it unset for the SQLite default",
        ) from None
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        return parsed
    raise ConfigError(
        f"the workspace database must be SQLite or PostgreSQL, not {backend!r}",
        f"set {DATABASE_ENV} to postgresql://... or leave it unset",
    )


def create_engine(url: str) -> sa.Engine:
    """An engine for ``url``; an SQLite file (and its folder) is created on first use."""
    parsed = _driver_url(url)
    if parsed.get_backend_name() == "postgresql":
        import psycopg  # noqa: PLC0415  (the driver of postgresql+psycopg, named explicitly)

        return sa.create_engine(
            parsed, module=psycopg, pool_pre_ping=True, pool_size=4, max_overflow=4
        )
    database = parsed.database or ""
    if database and database != ":memory:":
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_S})

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: object, _record: object) -> None:
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


@contextlib.contextmanager
def _sqlite_lock(engine: sa.Engine) -> Iterator[None]:
    """One process migrates an SQLite file at a time (a lock file beside it)."""
    database = engine.url.database or ""
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def migrate(engine: sa.Engine) -> None:
    """Bring the schema to the newest revision (Alembic); a no-op when it is there."""
    from alembic import command  # noqa: PLC0415
    from alembic.config import Config  # noqa: PLC0415

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with _sqlite_lock(engine), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})"))
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def schema_revision(engine: sa.Engine) -> str | None:
    """The Alembic revision the database is at (None before the first migration)."""
    from alembic.migration import MigrationContext  # noqa: PLC0415

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
