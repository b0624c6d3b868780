"""A throwaway PostgreSQL server for the tests: Debian's binaries on a temporary folder.

One server per test session (``postgres_server`` in ``tests/conftest.py``); each test that
needs one gets its own database on it (``postgres_url``). PostgreSQL refuses to run as root,
so as root the data folder is given to the ``postgres`` user and the server runs as that user
(``runuser``); it listens on 127.0.0.1 only, on a free port, with trust authentication.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

SEARCH = (
    "/usr/lib/postgresql/15/bin",
    *sorted(map(str, Path("/usr/lib/postgresql").glob("*/bin")), reverse=True),
)
SUPERUSER = "postgres"


def binaries() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``, or None where PostgreSQL is not installed."""
    for folder in SEARCH:
        path = Path(folder)
        if (path / "initdb").is_file() and (path / "pg_ctl").is_file():
            return path
    found = shutil.which("pg_ctl")
    return Path(found).parent if found and shutil.which("initdb") else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(*args: object, check: bool = True) -> None:
    command = [str(a) for a in args]
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        command = ["runuser", "-u", SUPERUSER, "--", *command]
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip()}")


@contextlib.contextmanager
def running_server(bindir: Path) -> Iterator[str]:
    """Start a server, yield its superuser URL (``postgresql://postgres@127.0.0.1:PORT``),
    stop it and remove its folder."""
    root = Path(tempfile.mkdtemp(prefix="custseg-pg-"))
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, SUPERUSER)
        shutil.chown(sockets, SUPERUSER)
    port = _free_port()
    try:
        _run(bindir / "initdb", "-D", data, "-A", "trust", "-U", SUPERUSER, "-E", "UTF8",
             "--no-sync")
        options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
        _run(bindir / "pg_ctl", "-D", data, "-o", options, "-l", root / "server.log", "-w",
             "start")
        try:
            yield f"postgresql://{SUPERUSER}@127.0.0.1:{port}"
        finally:
            _run(bindir / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop", check=False)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def create_database(server_url: str, name: str) -> str:
    """A new empty database on the server; its URL."""
    drop, create = f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"'
    execute(f"{server_url}/postgres", drop, create)
    return f"{server_url}/{name}"


def execute(url: str, *statements: str) -> list[tuple[object, ...]]:
    """Run ``statements`` (autocommit) on the database at ``url``; the last one's rows."""
    import adbc_driver_postgresql.dbapi as pg

    rows: list[tuple[object, ...]] = []
    with pg.connect(url, autocommit=True) as conn, conn.cursor() as cur:
        for statement in statements:
            cur.execute(statement)
            rows = cur.fetchall() if cur.description else []
    return rows
